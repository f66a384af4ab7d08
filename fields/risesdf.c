#include "risesdf.h"

#include "core/alloc.h"
#include "core/json.h"
#include "core/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- config -------------------------------------------------------------------------------- */

typedef struct rs_config {
    double radius, per_level_scale, fd_eps;
    int levels, features, log2_table, base_resolution, feature_dim, frequencies;
} rs_config;

static facet_status int_in(const facet_doc *doc, const cJSON *root, const char *key, int lo, int hi,
                           int *out) {
    double v;
    facet_status s = facet_json_get_number(doc, root, key, "", &v);
    if (s != FACET_OK) return s;
    if (!(v >= lo && v <= hi) || v != floor(v))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key '%s': expected a whole number in [%d, %d], got %g", doc->path,
                          key, lo, hi, v);
    *out = (int)v;
    return FACET_OK;
}

static facet_status positive(const facet_doc *doc, const cJSON *root, const char *key,
                             double *out) {
    facet_status s = facet_json_get_number(doc, root, key, "", out);
    if (s == FACET_OK && !(*out > 0.0 && *out < 1e6))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected a positive number, got %g",
                       doc->path, key, *out);
    return s;
}

static facet_status parse_config(const facet_doc *doc, rs_config *c) {
    static const char *const keys[] = {"radius",
                                       "n_levels",
                                       "n_features_per_level",
                                       "log2_hashmap_size",
                                       "base_resolution",
                                       "per_level_scale",
                                       "feature_dim",
                                       "n_frequencies",
                                       "finite_difference_eps",
                                       NULL};
    const cJSON *root = doc->root;
    facet_status s = facet_json_object(doc, root, "config");
    if (s == FACET_OK) s = facet_json_check_keys(doc, root, "", keys);
    if (s == FACET_OK) s = positive(doc, root, "radius", &c->radius);
    if (s == FACET_OK) s = int_in(doc, root, "n_levels", 1, FACET_HASHGRID_MAX_LEVELS, &c->levels);
    if (s == FACET_OK)
        s = int_in(doc, root, "n_features_per_level", 1, FACET_HASHGRID_MAX_FEATURES, &c->features);
    if (s == FACET_OK) s = int_in(doc, root, "log2_hashmap_size", 1, 30, &c->log2_table);
    if (s == FACET_OK) s = int_in(doc, root, "base_resolution", 2, 1 << 16, &c->base_resolution);
    if (s == FACET_OK) s = positive(doc, root, "per_level_scale", &c->per_level_scale);
    if (s == FACET_OK && c->per_level_scale < 1.0)
        s = facet_fail(FACET_ERR_FORMAT, "%s: key 'per_level_scale': expected >= 1, got %g",
                       doc->path, c->per_level_scale);
    if (s == FACET_OK)
        s = int_in(doc, root, "feature_dim", 1, FACET_RISESDF_MAX_WIDTH, &c->feature_dim);
    if (s == FACET_OK)
        s = int_in(doc, root, "n_frequencies", 0, FACET_RISESDF_MAX_FREQUENCIES, &c->frequencies);
    if (s == FACET_OK) s = positive(doc, root, "finite_difference_eps", &c->fd_eps);
    if (s == FACET_OK && 3 + c->levels * c->features > FACET_RISESDF_MAX_WIDTH)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: the geometry input has %d values (3 + n_levels * "
                       "n_features_per_level), at most %d are supported",
                       doc->path, 3 + c->levels * c->features, FACET_RISESDF_MAX_WIDTH);
    if (s == FACET_OK && c->feature_dim + 6 * c->frequencies > FACET_RISESDF_MAX_WIDTH)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: the material input has %d values (feature_dim + 6 n_frequencies), "
                       "at most %d are supported",
                       doc->path, c->feature_dim + 6 * c->frequencies, FACET_RISESDF_MAX_WIDTH);
    return s;
}

/* ---- tensors ------------------------------------------------------------------------------- */

typedef struct loader {
    const facet_safetensors *st;
    unsigned char *used;   /* per entry */
    float *memory;         /* f32 arena */
    size_t capacity, size; /* floats */
} loader;

static int is_float(facet_dtype d) {
    return d == FACET_DTYPE_F32 || d == FACET_DTYPE_F16 || d == FACET_DTYPE_BF16;
}

/* The tensor `name` as float with the given shape (ndim 1 or 2), marked used. */
static facet_status get(loader *ld, const char *name, int ndim, const int64_t *shape,
                        const facet_tensor **out) {
    const facet_tensor *t = NULL;
    for (int i = 0; i < ld->st->count && !t; i++)
        if (!strcmp(ld->st->entries[i].name, name)) {
            ld->used[i] = 1;
            t = &ld->st->entries[i].tensor;
        }
    if (!t) return facet_fail(FACET_ERR_FORMAT, "%s: missing tensor '%s'", ld->st->path, name);
    int ok = is_float(t->dtype) && t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96], got[96];
        facet_shape_string(ndim, shape, want, sizeof want);
        facet_shape_string(t->ndim, t->shape, got, sizeof got);
        return facet_fail(
            FACET_ERR_FORMAT,
            "%s: tensor '%s': expected a float (F32, F16 or BF16) tensor %s, got %s %s",
            ld->st->path, name, want, facet_dtype_name(t->dtype), got);
    }
    for (int64_t i = 0, n = facet_tensor_numel(t); i < n; i++)
        if (!isfinite(facet_tensor_get_f32(t, i)))
            return facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s': element %lld is not finite",
                              ld->st->path, name, (long long)i);
    *out = t;
    return FACET_OK;
}

static float *take(loader *ld, size_t n) {
    float *p = ld->memory + ld->size;
    ld->size += n;
    return p;
}

/* A tensor that exists with any float shape: its first dimension (rows), or -1 when absent. */
static int64_t rows_of(const loader *ld, const char *name) {
    for (int i = 0; i < ld->st->count; i++)
        if (!strcmp(ld->st->entries[i].name, name)) {
            const facet_tensor *t = &ld->st->entries[i].tensor;
            return t->ndim == 2 ? t->shape[0] : 0;
        }
    return -1;
}

/* PREFIX.{l}.weight (or weight_v + weight_g when weight_norm) and PREFIX.{l}.bias for l = 0.. while
 * present; widths chain from `inputs` and end at `outputs`. */
static facet_status load_mlp(loader *ld, const char *prefix, int inputs, int outputs,
                             int weight_norm, int softplus, facet_risesdf_mlp *m) {
    memset(m, 0, sizeof *m);
    m->softplus = softplus;
    m->width[0] = inputs;
    const char *wname = weight_norm ? "weight_v" : "weight";
    for (int l = 0; l <= FACET_RISESDF_MAX_LAYERS; l++) {
        char name[128];
        snprintf(name, sizeof name, "%s.%d.%s", prefix, l, wname);
        const int64_t rows = rows_of(ld, name);
        if (rows < 0 && l > 0) break;
        if (l == FACET_RISESDF_MAX_LAYERS)
            return facet_fail(FACET_ERR_FORMAT, "%s: network '%s' has more than %d layers",
                              ld->st->path, prefix, FACET_RISESDF_MAX_LAYERS);
        if (rows < 1 || rows > FACET_RISESDF_MAX_WIDTH) {
            if (rows < 0)
                return facet_fail(FACET_ERR_FORMAT, "%s: missing tensor '%s'", ld->st->path, name);
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: tensor '%s': expected a float [out, %d] matrix with 1 <= out "
                              "<= %d",
                              ld->st->path, name, m->width[l], FACET_RISESDF_MAX_WIDTH);
        }
        const int n_in = m->width[l], n_out = (int)rows;
        const int64_t wshape[2] = {n_out, n_in}, bshape[1] = {n_out};
        const facet_tensor *w, *g = NULL, *b;
        facet_status s = get(ld, name, 2, wshape, &w);
        if (s == FACET_OK && weight_norm) {
            snprintf(name, sizeof name, "%s.%d.weight_g", prefix, l);
            s = get(ld, name, 1, bshape, &g);
        }
        snprintf(name, sizeof name, "%s.%d.bias", prefix, l);
        if (s == FACET_OK) s = get(ld, name, 1, bshape, &b);
        if (s != FACET_OK) return s;
        float *wt = take(ld, (size_t)n_in * n_out), *bias = take(ld, (size_t)n_out);
        for (int o = 0; o < n_out; o++) {
            double scale = 1.0;
            if (g) { /* torch weight_norm, dim 0: W[o] = g[o] v[o] / |v[o]| */
                double norm = 0.0;
                for (int i = 0; i < n_in; i++) {
                    const double v = facet_tensor_get_f32(w, (int64_t)o * n_in + i);
                    norm += v * v;
                }
                if (!(norm > 0.0))
                    return facet_fail(FACET_ERR_FORMAT,
                                      "%s: tensor '%s.%d.weight_v': row %d is zero (weight norm "
                                      "undefined)",
                                      ld->st->path, prefix, l, o);
                scale = facet_tensor_get_f32(g, o) / sqrt(norm);
            }
            for (int i = 0; i < n_in; i++)
                wt[(size_t)i * n_out + o] =
                    (float)(facet_tensor_get_f32(w, (int64_t)o * n_in + i) * scale);
            bias[o] = facet_tensor_get_f32(b, o);
        }
        m->weight[l] = wt;
        m->bias[l] = bias;
        m->width[l + 1] = n_out;
        m->layers = l + 1;
    }
    if (m->width[m->layers] != outputs)
        return facet_fail(FACET_ERR_FORMAT, "%s: network '%s' has %d outputs, expected %d",
                          ld->st->path, prefix, m->width[m->layers], outputs);
    return FACET_OK;
}

/* Floats the arena needs: every float tensor's element count (an upper bound). */
static size_t arena_floats(const facet_safetensors *st) {
    size_t n = 0;
    for (int i = 0; i < st->count; i++) n += (size_t)facet_tensor_numel(&st->entries[i].tensor);
    return n;
}

static facet_status build(loader *ld, const rs_config *c, facet_risesdf_model *model) {
    facet_risesdf_field *f = &model->field;
    f->radius = (float)c->radius;
    f->fd_eps = (float)c->fd_eps;
    f->frequencies = c->frequencies;
    f->feature_dim = c->feature_dim;
    const uint64_t n_params = facet_hashgrid_init(&f->grid, c->levels, c->features, c->log2_table,
                                                  c->base_resolution, (float)c->per_level_scale);
    if (n_params == 0 || n_params > ((uint64_t)1 << 31))
        return facet_fail(FACET_ERR_FORMAT, "%s: hash grid config out of range", ld->st->path);
    const int64_t pshape[1] = {(int64_t)n_params};
    const facet_tensor *t;
    facet_status s = get(ld, "geometry.encoding.params", 1, pshape, &t);
    if (s != FACET_OK) return s;
    float *params = take(ld, (size_t)n_params);
    for (uint64_t i = 0; i < n_params; i++) params[i] = facet_tensor_get_f32(t, (int64_t)i);
    f->grid.params = params;

    const int geo_in = 3 + c->levels * c->features, mat_in = c->feature_dim + 6 * c->frequencies;
    s = load_mlp(ld, "geometry.network", geo_in, c->feature_dim, 1, 1, &f->geometry);
    if (s == FACET_OK) s = load_mlp(ld, "texture.albedo", mat_in, 6, 0, 0, &f->albedo);
    if (s == FACET_OK) s = load_mlp(ld, "texture.roughness", mat_in, 1, 0, 0, &f->roughness);
    if (s == FACET_OK) s = load_mlp(ld, "texture.metallic", mat_in, 2, 0, 0, &f->metallic);
    const facet_risesdf_mlp *nets[4] = {&f->geometry, &f->albedo, &f->roughness, &f->metallic};
    for (int k = 0; k < 4 && s == FACET_OK; k++)
        for (int l = 0; l <= nets[k]->layers; l++)
            f->width = nets[k]->width[l] > f->width ? nets[k]->width[l] : f->width;
    const int64_t vshape[1] = {1};
    if (s == FACET_OK) s = get(ld, "variance", 1, vshape, &t);
    if (s == FACET_OK) f->variance = facet_tensor_get_f32(t, 0);
    model->parameter_count = (int64_t)ld->size;
    return s;
}

facet_status facet_risesdf_load(facet_risesdf_model *model, const char *path) {
    memset(model, 0, sizeof *model);
    facet_safetensors st;
    facet_status s = facet_safetensors_open(&st, path);
    if (s != FACET_OK) return s;
    facet_safetensors_warn_nonfinite(&st);
    const char *config_text = NULL;
    s = facet_safetensors_check_header(
        &st, "RISE-SDF", "facet-risesdf", FACET_RISESDF_FORMAT_VERSION,
        "convert official checkpoints with tools/convert_risesdf.py", &config_text);
    rs_config c;
    memset(&c, 0, sizeof c);
    facet_doc doc = {0};
    if (s == FACET_OK) {
        char name[1100];
        snprintf(name, sizeof name, "%s (__metadata__.config)", path);
        s = facet_json_parse(&doc, config_text, name);
    }
    if (s == FACET_OK) s = parse_config(&doc, &c);
    facet_doc_free(&doc);

    loader ld = {&st, NULL, NULL, 0, 0};
    if (s == FACET_OK) {
        ld.capacity = arena_floats(&st);
        ld.used = facet_alloc_zeroed((size_t)st.count + 1, 1);
        ld.memory = facet_alloc(ld.capacity + 1, sizeof(float));
        if (!ld.used || !ld.memory) s = facet_last_status();
    }
    if (s == FACET_OK) s = build(&ld, &c, model);
    for (int i = 0; s == FACET_OK && i < st.count; i++)
        if (!ld.used[i])
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: unexpected tensor '%s' (not in format version %d)", path,
                           st.entries[i].name, FACET_RISESDF_FORMAT_VERSION);
    free(ld.used);
    facet_safetensors_close(&st);
    if (s != FACET_OK) {
        free(ld.memory);
        memset(model, 0, sizeof *model);
        return s;
    }
    model->memory = ld.memory;
    model->memory_bytes = ld.size * sizeof(float);
    return FACET_OK;
}

void facet_risesdf_free(facet_risesdf_model *model) {
    free(model->memory);
    memset(model, 0, sizeof *model);
}
