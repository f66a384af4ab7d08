/* Loading facet LiveScene weights (fields/livescene_format.md) into a facet_livescene_field. */
#include "livescene.h"

#include "core/alloc.h"
#include "core/half.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LS_FORMAT_VERSION = 1, LS_MAX_RESOLUTION = 8192 };

/* Reads tensors from `st`, or, when st is NULL, creates zero-filled ones of the config's shapes
 * with the official network sizes (facet_livescene_create). */
typedef struct loader {
    const facet_safetensors *st;
    facet_livescene_model *model;
    facet_plane_storage storage;
    unsigned char *used; /* per tensor: referenced by the format */
} loader;

/* Official hidden layers (width 64) of the networks, for creation from a config. */
enum { SIGMA_HIDDEN = 1, COLOR_HIDDEN = 2, DENSITY_HIDDEN = 1, SEMANTIC_HIDDEN = 1 };

/* A zeroed allocation owned by the model, recorded as tensor `name` with its file-layout shape:
 * [out, in] for weights, [C, res_b, res_a] for planes, [n] for biases. */
static void *keep(loader *ld, const char *name, int ndim, const int64_t *shape, size_t size) {
    facet_livescene_model *m = ld->model;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)shape[i];
    void *p = facet_alloc_table(count, size);
    if (!p) return NULL;
    void **list = facet_realloc(m->buffers, (size_t)m->buffer_count + 1, sizeof *list);
    if (list) m->buffers = list;
    facet_livescene_buffer *info =
        list ? facet_realloc(m->buffer_info, (size_t)m->buffer_count + 1, sizeof *info) : NULL;
    if (info) m->buffer_info = info;
    if (!list || !info) {
        free(p);
        return NULL;
    }
    facet_livescene_buffer *b = &info[m->buffer_count];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->ndim = ndim;
    for (int i = 0; i < ndim; i++) b->shape[i] = shape[i];
    b->count = count;
    b->bytes = count * size;
    list[m->buffer_count++] = p;
    return p;
}

static const facet_tensor *tensor(loader *ld, const char *name) {
    if (!ld->st) return NULL;
    for (int i = 0; i < ld->st->count; i++)
        if (!strcmp(ld->st->entries[i].name, name)) {
            ld->used[i] = 1;
            return &ld->st->entries[i].tensor;
        }
    facet_fail(FACET_ERR_FORMAT, "%s: missing tensor '%s'", ld->st->path, name);
    return NULL;
}

static int is_float(facet_dtype d) {
    return d == FACET_DTYPE_F32 || d == FACET_DTYPE_F16 || d == FACET_DTYPE_BF16;
}

static facet_status expect_shape(loader *ld, const char *name, const facet_tensor *t, int ndim,
                                 const int64_t *shape) {
    int ok = is_float(t->dtype) && t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (ok) return FACET_OK;
    char want[96], got[96];
    facet_shape_string(ndim, shape, want, sizeof want);
    facet_shape_string(t->ndim, t->shape, got, sizeof got);
    return facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s': expected a float tensor %s, got %s %s",
                      ld->st->path, name, want, facet_dtype_name(t->dtype), got);
}

/* Plane [C, res_b, res_a] -> channels-last storage. */
static facet_status load_plane(loader *ld, const char *name, int channels, int res_a, int res_b,
                               const void **out) {
    const facet_tensor *t = tensor(ld, name);
    if (!t && ld->st) return facet_last_status();
    const int64_t shape[3] = {channels, res_b, res_a};
    facet_status s = t ? expect_shape(ld, name, t, 3, shape) : FACET_OK;
    if (s != FACET_OK) return s;
    const size_t n = (size_t)channels * res_a * res_b;
    const size_t element = ld->storage == FACET_PLANE_F32 ? 4 : 2;
    unsigned char *dst = keep(ld, name, 3, shape, element);
    if (!dst) return facet_last_status();
    *out = dst;
    ld->model->parameter_count += (int64_t)n;
    if (!t) return FACET_OK;
    for (int c = 0; c < channels; c++)
        for (int64_t yx = 0; yx < (int64_t)res_a * res_b; yx++) {
            float v = facet_tensor_get_f32(t, (int64_t)c * res_a * res_b + yx);
            size_t at = (size_t)yx * channels + c;
            if (ld->storage == FACET_PLANE_F32)
                ((float *)dst)[at] = v;
            else if (ld->storage == FACET_PLANE_F16)
                ((uint16_t *)dst)[at] = facet_f32_to_f16(v);
            else
                ((uint16_t *)dst)[at] = facet_f32_to_bf16(v);
        }
    return FACET_OK;
}

static facet_status load_kplanes(loader *ld, const char *prefix, int dims, const int *resolution,
                                 int channels, facet_kplanes *k) {
    memset(k, 0, sizeof *k);
    k->dims = dims;
    k->channels = channels;
    k->storage = ld->storage;
    for (int i = 0; i < dims; i++) k->resolution[i] = resolution[i];
    for (int p = 0; p < facet_kplanes_plane_count(dims); p++) {
        int a, b;
        facet_kplanes_axes(dims, p, &a, &b);
        char name[128];
        snprintf(name, sizeof name, "%s.plane.%d", prefix, p);
        facet_status s =
            load_plane(ld, name, channels, resolution[a], resolution[b], &k->planes[p]);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}

/* NAME.{l}.weight for l = 0.. while present, plus NAME.0.bias; checks the widths chain from
 * `inputs` to `outputs`. Creating (no file): `hidden_layers` layers of width 64. */
static facet_status load_mlp(loader *ld, const char *prefix, int inputs, int outputs,
                             int hidden_layers, facet_activation hidden, facet_activation output,
                             facet_mlp *m) {
    memset(m, 0, sizeof *m);
    m->hidden = hidden;
    m->output = output;
    m->width[0] = inputs;
    for (int l = 0; l < FACET_MLP_MAX_LAYERS; l++) {
        char name[128];
        snprintf(name, sizeof name, "%s.%d.weight", prefix, l);
        if (!ld->st) {
            if (l > hidden_layers) break;
            const int64_t shape[2] = {l == hidden_layers ? outputs : 64, m->width[l]};
            float *w = keep(ld, name, 2, shape, sizeof *w);
            if (!w) return facet_last_status();
            m->weight[l] = w;
            m->width[l + 1] = (int)shape[0];
            m->layers = l + 1;
            ld->model->parameter_count += shape[0] * shape[1];
            continue;
        }
        if (l > 0 && !facet_safetensors_get(ld->st, name)) break;
        const facet_tensor *t = tensor(ld, name);
        if (!t) return facet_last_status();
        if (!is_float(t->dtype) || t->ndim != 2 || t->shape[1] != m->width[l] || t->shape[0] < 1 ||
            t->shape[0] > FACET_MLP_MAX_WIDTH) {
            char got[96];
            facet_shape_string(t->ndim, t->shape, got, sizeof got);
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: tensor '%s': expected a float [out <= %d, %d] matrix, got %s %s",
                              ld->st->path, name, FACET_MLP_MAX_WIDTH, m->width[l],
                              facet_dtype_name(t->dtype), got);
        }
        const int64_t n = t->shape[0] * t->shape[1], rows = t->shape[0], cols = t->shape[1];
        float *w = keep(ld, name, 2, t->shape, sizeof *w);
        if (!w) return facet_last_status();
        for (int64_t r = 0; r < rows; r++) /* [out, in] -> transposed [in, out] */
            for (int64_t c = 0; c < cols; c++)
                w[c * rows + r] = facet_tensor_get_f32(t, r * cols + c);
        m->weight[l] = w;
        m->width[l + 1] = (int)t->shape[0];
        m->layers = l + 1;
        ld->model->parameter_count += n;
    }
    facet_clear_error();
    if (m->width[m->layers] != outputs)
        return facet_fail(FACET_ERR_FORMAT, "%s: network '%s' has %d outputs, the config needs %d",
                          ld->st->path, prefix, m->width[m->layers], outputs);
    char name[128];
    snprintf(name, sizeof name, "%s.0.bias", prefix);
    const facet_tensor *t = tensor(ld, name);
    if (!t && ld->st) return facet_last_status();
    const int64_t shape[1] = {m->width[1]};
    facet_status s = t ? expect_shape(ld, name, t, 1, shape) : FACET_OK;
    if (s != FACET_OK) return s;
    float *b = keep(ld, name, 1, shape, sizeof *b);
    if (!b) return facet_last_status();
    for (int i = 0; t && i < m->width[1]; i++) b[i] = facet_tensor_get_f32(t, i);
    m->bias0 = b;
    ld->model->parameter_count += m->width[1];
    return FACET_OK;
}

/* ---- config ------------------------------------------------------------------------------- */

static facet_status int_array(const facet_doc *doc, const cJSON *obj, const char *key,
                              const char *path, int *out, int min_count, int max_count, int lo,
                              int hi, int *count) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    char full[160];
    facet_key_path(full, sizeof full, path, key);
    if (!cJSON_IsArray(a))
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected an array of integers",
                          doc->path, full);
    int n = cJSON_GetArraySize(a);
    if (n < min_count || n > max_count)
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected %d to %d entries, got %d",
                          doc->path, full, min_count, max_count, n);
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
            v->valuedouble > hi)
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s[%d]': expected an integer in [%d, %d]",
                              doc->path, full, i, lo, hi);
        out[i++] = (int)v->valuedouble;
    }
    if (count) *count = n;
    return FACET_OK;
}

static facet_status int_value(const facet_doc *doc, const cJSON *obj, const char *key,
                              const char *path, int lo, int hi, int *out) {
    double v;
    facet_status s = facet_json_get_number(doc, obj, key, path, &v);
    if (s != FACET_OK) return s;
    char full[160];
    if (v != floor(v) || v < lo || v > hi)
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected an integer in [%d, %d]",
                          doc->path, facet_key_path(full, sizeof full, path, key), lo, hi);
    *out = (int)v;
    return FACET_OK;
}

typedef struct ls_config {
    int base[4], multiscale[FACET_LIVESCENE_MAX_SCALES], scales, channels, geo;
    int proposal_res[FACET_LIVESCENE_MAX_PROPOSALS][4],
        proposal_channels[FACET_LIVESCENE_MAX_PROPOSALS];
    int prob_res[3], prob_channels;
} ls_config;

static facet_status parse_config(const facet_doc *doc, facet_livescene_model *m, ls_config *c) {
    const cJSON *root = doc->root;
    static const char *const keys[] = {"aabb",
                                       "grid_base_resolution",
                                       "multiscale_res",
                                       "grid_feature_dim",
                                       "geo_feat_dim",
                                       "proposals",
                                       "probability",
                                       "num_proposal_samples",
                                       "num_samples",
                                       "near_plane",
                                       "background_color",
                                       "objects",
                                       "dataparser_transform",
                                       "dataparser_scale",
                                       NULL};
    facet_status s = facet_json_object(doc, root, "config");
    if (s == FACET_OK) s = facet_json_check_keys(doc, root, "", keys);
    const cJSON *aabb = cJSON_GetObjectItemCaseSensitive(root, "aabb");
    if (s == FACET_OK && (!cJSON_IsArray(aabb) || cJSON_GetArraySize(aabb) != 2))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key 'aabb': expected [[x0,y0,z0],[x1,y1,z1]]",
                       doc->path);
    if (s == FACET_OK) {
        double lo[3], hi[3];
        cJSON *first = cJSON_GetArrayItem(aabb, 0), *second = cJSON_GetArrayItem(aabb, 1);
        cJSON *wrap = cJSON_CreateObject();
        cJSON_AddItemReferenceToObject(wrap, "min", first);
        cJSON_AddItemReferenceToObject(wrap, "max", second);
        s = facet_json_get_numbers(doc, wrap, "min", "aabb", lo, 3);
        if (s == FACET_OK) s = facet_json_get_numbers(doc, wrap, "max", "aabb", hi, 3);
        cJSON_Delete(wrap);
        for (int i = 0; s == FACET_OK && i < 3; i++) {
            if (!(hi[i] > lo[i]))
                s = facet_fail(FACET_ERR_FORMAT, "%s: key 'aabb': empty along axis %d", doc->path,
                               i);
            m->field.aabb_min[i] = (float)lo[i];
            m->field.aabb_max[i] = (float)hi[i];
        }
    }
    if (s == FACET_OK)
        s = int_array(doc, root, "grid_base_resolution", "", c->base, 4, 4, 2, LS_MAX_RESOLUTION,
                      NULL);
    if (s == FACET_OK)
        s = int_array(doc, root, "multiscale_res", "", c->multiscale, 1, FACET_LIVESCENE_MAX_SCALES,
                      1, 64, &c->scales);
    if (s == FACET_OK)
        s = int_value(doc, root, "grid_feature_dim", "", 1, FACET_KPLANES_MAX_CHANNELS,
                      &c->channels);
    if (s == FACET_OK)
        s = int_value(doc, root, "geo_feat_dim", "", 1, FACET_LIVESCENE_MAX_GEO, &c->geo);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(root, "proposals");
    if (s == FACET_OK && (!cJSON_IsArray(props) || cJSON_GetArraySize(props) < 1 ||
                          cJSON_GetArraySize(props) > FACET_LIVESCENE_MAX_PROPOSALS))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key 'proposals': expected 1 to %d entries", doc->path,
                       FACET_LIVESCENE_MAX_PROPOSALS);
    if (s == FACET_OK) {
        m->field.proposals = cJSON_GetArraySize(props);
        for (int i = 0; s == FACET_OK && i < m->field.proposals; i++) {
            char path[32];
            snprintf(path, sizeof path, "proposals[%d]", i);
            const cJSON *p = cJSON_GetArrayItem(props, i);
            s = facet_json_object(doc, p, path);
            if (s == FACET_OK)
                s = int_array(doc, p, "resolution", path, c->proposal_res[i], 4, 4, 2,
                              LS_MAX_RESOLUTION, NULL);
            if (s == FACET_OK)
                s = int_value(doc, p, "feature_dim", path, 1, FACET_KPLANES_MAX_CHANNELS,
                              &c->proposal_channels[i]);
        }
    }
    const cJSON *prob = cJSON_GetObjectItemCaseSensitive(root, "probability");
    if (s == FACET_OK) s = facet_json_object(doc, prob, "probability");
    if (s == FACET_OK)
        s = int_array(doc, prob, "resolution", "probability", c->prob_res, 3, 3, 2,
                      LS_MAX_RESOLUTION, NULL);
    if (s == FACET_OK)
        s = int_value(doc, prob, "feature_dim", "probability", 1, FACET_KPLANES_MAX_CHANNELS,
                      &c->prob_channels);
    int count = 0;
    if (s == FACET_OK)
        s = int_array(doc, root, "num_proposal_samples", "", m->num_proposal_samples,
                      m->field.proposals, m->field.proposals, 1, FACET_LIVESCENE_MAX_SAMPLES,
                      &count);
    if (s == FACET_OK)
        s = int_value(doc, root, "num_samples", "", 1, FACET_LIVESCENE_MAX_SAMPLES,
                      &m->num_samples);
    double near = 0.0, bg[3] = {1, 1, 1}, scale = 1.0;
    if (s == FACET_OK) s = facet_json_opt_number(doc, root, "near_plane", "", &near);
    if (s == FACET_OK) s = facet_json_opt_numbers(doc, root, "background_color", "", bg, 3);
    if (s == FACET_OK) s = facet_json_opt_number(doc, root, "dataparser_scale", "", &scale);
    if (s == FACET_OK && !(scale > 0))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key 'dataparser_scale': must be positive", doc->path);
    m->near_plane = (float)near;
    m->dataparser_scale = (float)scale;
    for (int i = 0; i < 3; i++) m->background[i] = (float)bg[i];
    for (int i = 0; i < 12; i++) m->dataparser_transform[i] = (i % 5 == 0) ? 1.0f : 0.0f;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(root, "dataparser_transform");
    if (s == FACET_OK && dt) {
        int rows = cJSON_IsArray(dt) ? cJSON_GetArraySize(dt) : 0;
        if (rows != 3)
            s = facet_fail(FACET_ERR_FORMAT, "%s: key 'dataparser_transform': expected 3 rows of 4",
                           doc->path);
        for (int r = 0; s == FACET_OK && r < 3; r++) {
            double row[4];
            cJSON *wrap = cJSON_CreateObject();
            cJSON_AddItemReferenceToObject(wrap, "row", cJSON_GetArrayItem(dt, r));
            s = facet_json_get_numbers(doc, wrap, "row", "dataparser_transform", row, 4);
            cJSON_Delete(wrap);
            for (int k = 0; k < 4; k++) m->dataparser_transform[r * 4 + k] = (float)row[k];
        }
    }
    const cJSON *objects = cJSON_GetObjectItemCaseSensitive(root, "objects");
    if (s == FACET_OK && (!cJSON_IsArray(objects) || cJSON_GetArraySize(objects) < 1 ||
                          cJSON_GetArraySize(objects) > FACET_LIVESCENE_MAX_OBJECTS))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key 'objects': expected 1 to %d object names",
                       doc->path, FACET_LIVESCENE_MAX_OBJECTS);
    if (s == FACET_OK) {
        const cJSON *o;
        cJSON_ArrayForEach(o, objects) {
            if (!cJSON_IsString(o) || !o->valuestring[0])
                return facet_fail(FACET_ERR_FORMAT, "%s: key 'objects[%d]': expected a name",
                                  doc->path, m->field.objects);
            m->object_names[m->field.objects] = facet_strdup(o->valuestring);
            if (!m->object_names[m->field.objects]) return facet_last_status();
            m->field.objects++;
        }
    }
    return s;
}

/* Builds every tensor of the config (from the file, or zeroed when ld->st is NULL). */
static facet_status build(loader *ld, const ls_config *cfg) {
    const ls_config c = *cfg;
    facet_livescene_model *model = ld->model;
    facet_status s = FACET_OK;
    facet_livescene_field *f = &model->field;
    if (s == FACET_OK) {
        f->geo_feat_dim = c.geo;
        f->scales = c.scales;
    }
    for (int i = 0; s == FACET_OK && i < c.scales; i++) {
        int res[4] = {c.base[0] * c.multiscale[i], c.base[1] * c.multiscale[i],
                      c.base[2] * c.multiscale[i], c.base[3]};
        char prefix[64];
        snprintf(prefix, sizeof prefix, "field.grids.%d", i);
        s = load_kplanes(ld, prefix, 4, res, c.channels, &f->grids[i]);
    }
    if (s == FACET_OK)
        s = load_mlp(ld, "field.sigma_net", c.channels * c.scales, c.geo + 1, SIGMA_HIDDEN,
                     FACET_ACTIVATION_RELU, FACET_ACTIVATION_NONE, &f->sigma_net);
    if (s == FACET_OK)
        s = load_mlp(ld, "field.color_net", 16 + c.geo, 3, COLOR_HIDDEN, FACET_ACTIVATION_RELU,
                     FACET_ACTIVATION_SIGMOID, &f->color_net);
    for (int i = 0; s == FACET_OK && i < f->proposals; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "proposal.%d", i);
        s = load_kplanes(ld, prefix, 4, c.proposal_res[i], c.proposal_channels[i],
                         &f->proposal_grids[i]);
        snprintf(prefix, sizeof prefix, "proposal.%d.density_net", i);
        if (s == FACET_OK)
            s = load_mlp(ld, prefix, c.proposal_channels[i], 1, DENSITY_HIDDEN,
                         FACET_ACTIVATION_RELU, FACET_ACTIVATION_NONE, &f->density_net[i]);
    }
    if (s == FACET_OK)
        s = load_kplanes(ld, "probability", 3, c.prob_res, c.prob_channels, &f->probability_grid);
    if (s == FACET_OK)
        s = load_mlp(ld, "probability.semantic_net", c.prob_channels + f->objects, f->objects + 1,
                     SEMANTIC_HIDDEN, FACET_ACTIVATION_RELU, FACET_ACTIVATION_NONE,
                     &f->semantic_net);
    return s;
}

/* The optional language tensors (fields/livescene_format.md, "Language"): marked used when
 * present, NULL when absent. */
static const facet_tensor *optional_tensor(loader *ld, const char *name) {
    for (int i = 0; i < ld->st->count; i++)
        if (!strcmp(ld->st->entries[i].name, name)) {
            ld->used[i] = 1;
            return &ld->st->entries[i].tensor;
        }
    return NULL;
}

static facet_status load_language(loader *ld) {
    facet_livescene_model *m = ld->model;
    const char *path = ld->st->path;
    for (int o = 0; o < m->field.objects; o++) {
        char name[64];
        snprintf(name, sizeof name, "language.semantic_mapping.%d", o);
        const facet_tensor *t = optional_tensor(ld, name);
        if (!t && o == 0) break;
        if (!t)
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: missing tensor '%s' (with language.semantic_mapping.0 present, "
                              "every object needs one)",
                              path, name);
        if (!is_float(t->dtype) || t->ndim != 2 || t->shape[0] < 2 || t->shape[1] < 1 ||
            (o > 0 && (t->shape[0] != m->language_rows || t->shape[1] != m->language_dim))) {
            char got[96];
            facet_shape_string(t->ndim, t->shape, got, sizeof got);
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: tensor '%s': expected a float tensor [rows >= 2, dim] shaped "
                              "like language.semantic_mapping.0, got %s %s",
                              path, name, facet_dtype_name(t->dtype), got);
        }
        const int64_t rows = t->shape[0], dim = t->shape[1];
        float *dst = keep(ld, name, 2, t->shape, sizeof *dst);
        if (!dst) return facet_last_status();
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < dim; c++)
                dst[c * rows + r] = facet_tensor_get_f32(t, r * dim + c);
        m->language_rows = (int)rows;
        m->language_dim = (int)dim;
        m->semantic_mapping[o] = dst;
    }
    const facet_tensor *ids = optional_tensor(ld, "language.frame_ids");
    if (!ids) return FACET_OK;
    if (!m->language_rows)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: tensor 'language.frame_ids' without language.semantic_mapping.0",
                          path);
    if (!is_float(ids->dtype) || ids->ndim != 1 || ids->shape[0] < 1)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: tensor 'language.frame_ids': expected a float tensor [frames]",
                          path);
    float *dst = keep(ld, "language.frame_ids", 1, ids->shape, sizeof *dst);
    if (!dst) return facet_last_status();
    for (int64_t i = 0; i < ids->shape[0]; i++) {
        dst[i] = facet_tensor_get_f32(ids, i);
        if (!(dst[i] >= 0.0f && dst[i] <= 1.0f))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: tensor 'language.frame_ids': entry %lld is %g, expected a "
                              "normalised frame id in [0, 1]",
                              path, (long long)i, dst[i]);
    }
    m->language_frame_ids = dst;
    m->language_frame_count = (int)ids->shape[0];
    return FACET_OK;
}

/* Keeps the config text for facet_livescene_save. */
static facet_status keep_config(facet_livescene_model *model, const char *config_text) {
    model->config_json = facet_strdup(config_text);
    return model->config_json ? FACET_OK : facet_last_status();
}

static facet_status fail_and_free(facet_livescene_model *model, facet_status s) {
    char message[2048];
    snprintf(message, sizeof message, "%s", facet_last_error());
    facet_livescene_free(model);
    return facet_fail(s, "%s", message);
}

facet_status facet_livescene_load(facet_livescene_model *model, const char *path,
                                  facet_plane_storage storage) {
    memset(model, 0, sizeof *model);
    facet_safetensors st;
    facet_status s = facet_safetensors_open(&st, path);
    if (s != FACET_OK) return s;
    facet_safetensors_warn_nonfinite(&st);
    const char *config_text = NULL;
    s = facet_safetensors_check_header(
        &st, "LiveScene", "facet-livescene", LS_FORMAT_VERSION,
        "convert official checkpoints with tools/convert_livescene.py", &config_text);
    ls_config c;
    facet_doc doc = {0};
    if (s == FACET_OK) {
        char name[1100];
        snprintf(name, sizeof name, "%s (__metadata__.config)", path);
        s = facet_json_parse(&doc, config_text, name);
    }
    if (s == FACET_OK) s = parse_config(&doc, model, &c);
    facet_doc_free(&doc);
    if (s == FACET_OK) s = keep_config(model, config_text);

    loader ld = {&st, model, storage, NULL};
    if (s == FACET_OK && !(ld.used = facet_alloc_zeroed((size_t)st.count + 1, 1)))
        s = facet_last_status();
    if (s == FACET_OK) s = build(&ld, &c);
    if (s == FACET_OK) s = load_language(&ld);
    for (int i = 0; s == FACET_OK && i < st.count; i++)
        if (!ld.used[i])
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: unexpected tensor '%s' (not in format version %d)", path,
                           st.entries[i].name, LS_FORMAT_VERSION);
    free(ld.used);
    facet_safetensors_close(&st);
    return s == FACET_OK ? FACET_OK : fail_and_free(model, s);
}

facet_status facet_livescene_create(facet_livescene_model *model, const char *config_json) {
    memset(model, 0, sizeof *model);
    facet_doc doc;
    ls_config c;
    facet_status s = facet_json_parse(&doc, config_json, "config");
    if (s == FACET_OK) s = parse_config(&doc, model, &c);
    facet_doc_free(&doc);
    if (s == FACET_OK) s = keep_config(model, config_json);
    loader ld = {NULL, model, FACET_PLANE_F32, NULL};
    if (s == FACET_OK) s = build(&ld, &c);
    return s == FACET_OK ? FACET_OK : fail_and_free(model, s);
}

facet_status facet_livescene_save(const facet_livescene_model *model, const char *path,
                                  const char *source) {
    if (model->field.grids[0].storage != FACET_PLANE_F32)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "saving needs a model with f32 planes");
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_tensor *tensors = facet_alloc_zeroed((size_t)model->buffer_count + 1, sizeof *tensors);
    facet_status s = tensors ? FACET_OK : facet_last_status();
    for (int i = 0; s == FACET_OK && i < model->buffer_count; i++) {
        const facet_livescene_buffer *b = &model->buffer_info[i];
        s = facet_tensor_alloc(&tensors[i], FACET_DTYPE_F32, b->ndim, b->shape);
        if (s != FACET_OK) break;
        const float *src = model->buffers[i];
        float *dst = tensors[i].data;
        if (b->ndim == 3) { /* channels-last -> [C, res_b, res_a] */
            const int64_t channels = b->shape[0], texels = b->shape[1] * b->shape[2];
            for (int64_t c = 0; c < channels; c++)
                for (int64_t t = 0; t < texels; t++) dst[c * texels + t] = src[t * channels + c];
        } else if (b->ndim == 2) { /* transposed [in, out] -> [out, in] */
            const int64_t rows = b->shape[0], cols = b->shape[1];
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < cols; c++) dst[r * cols + c] = src[c * rows + r];
        } else {
            memcpy(dst, src, b->bytes);
        }
        s = facet_safetensors_writer_add(&w, b->name, &tensors[i]);
    }
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "format", "facet-livescene");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "version", "1");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "config", model->config_json);
    if (s == FACET_OK)
        s = facet_safetensors_writer_metadata(&w, "source", source ? source : "facet");
    if (s == FACET_OK) s = facet_safetensors_write(&w, path);
    facet_safetensors_writer_free(&w);
    for (int i = 0; tensors && i < model->buffer_count; i++) facet_tensor_free(&tensors[i]);
    free(tensors);
    return s;
}

void facet_livescene_free(facet_livescene_model *model) {
    for (int i = 0; i < model->buffer_count; i++) free(model->buffers[i]);
    free(model->buffers);
    free(model->buffer_info);
    free(model->config_json);
    for (int i = 0; i < FACET_LIVESCENE_MAX_OBJECTS; i++) free(model->object_names[i]);
    memset(model, 0, sizeof *model);
}

/* ---- random weights ------------------------------------------------------------------------ */

typedef struct random_writer {
    facet_safetensors_writer w;
    facet_tensor *tensors;
    int count, capacity;
    facet_rng rng;
} random_writer;

static facet_status random_tensor(random_writer *rw, int ndim, const int64_t *shape, float lo,
                                  float hi) {
    if (rw->count == rw->capacity) {
        int capacity = rw->capacity ? rw->capacity * 2 : 64;
        facet_tensor *t = facet_realloc(rw->tensors, (size_t)capacity, sizeof *t);
        if (!t) return facet_last_status();
        rw->tensors = t; /* the writer takes the tensors only once all exist */
        rw->capacity = capacity;
    }
    facet_tensor *t = &rw->tensors[rw->count];
    facet_status s = facet_tensor_alloc(t, FACET_DTYPE_F16, ndim, shape);
    if (s != FACET_OK) return s;
    rw->count++;
    uint16_t *data = t->data;
    for (int64_t i = 0; i < facet_tensor_numel(t); i++)
        data[i] = facet_f32_to_f16(lo + (hi - lo) * facet_rng_uniform(&rw->rng));
    return FACET_OK;
}

static facet_status random_planes(random_writer *rw, char (*names)[96], int *n, const char *prefix,
                                  int dims, const int *res, int channels) {
    for (int p = 0; p < facet_kplanes_plane_count(dims); p++) {
        int a, b;
        facet_kplanes_axes(dims, p, &a, &b);
        snprintf(names[(*n)++], 96, "%s.plane.%d", prefix, p);
        const int64_t shape[3] = {channels, res[b], res[a]};
        int kappa_plane = dims == 4 && b == 3;
        facet_status s =
            random_tensor(rw, 3, shape, kappa_plane ? 0.7f : 0.1f, kappa_plane ? 1.3f : 0.5f);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}

static facet_status random_mlp(random_writer *rw, char (*names)[96], int *n, const char *prefix,
                               int inputs, int hidden, int outputs) {
    int in = inputs;
    for (int l = 0; l <= hidden; l++) {
        int out = l == hidden ? outputs : 64;
        snprintf(names[(*n)++], 96, "%s.%d.weight", prefix, l);
        const int64_t shape[2] = {out, in};
        float bound = 1.0f / sqrtf((float)in);
        facet_status s = random_tensor(rw, 2, shape, -bound, bound);
        if (s != FACET_OK) return s;
        in = out;
    }
    snprintf(names[(*n)++], 96, "%s.0.bias", prefix);
    const int64_t shape[1] = {hidden ? 64 : outputs};
    return random_tensor(rw, 1, shape, -0.1f, 0.1f);
}

facet_status facet_livescene_write_random(const char *path, const char *config_json,
                                          uint64_t seed) {
    facet_livescene_model m;
    memset(&m, 0, sizeof m);
    facet_doc doc;
    ls_config c;
    facet_status s = facet_json_parse(&doc, config_json, "config");
    if (s == FACET_OK) s = parse_config(&doc, &m, &c);
    facet_doc_free(&doc);
    const int objects = m.field.objects, proposals = m.field.proposals;
    facet_livescene_free(&m);
    if (s != FACET_OK) return s;
    random_writer rw;
    memset(&rw, 0, sizeof rw);
    rw.rng = facet_rng_seed(seed, 17);
    char names[128][96];
    int n = 0;
    for (int i = 0; s == FACET_OK && i < c.scales; i++) {
        int res[4] = {c.base[0] * c.multiscale[i], c.base[1] * c.multiscale[i],
                      c.base[2] * c.multiscale[i], c.base[3]};
        char prefix[32];
        snprintf(prefix, sizeof prefix, "field.grids.%d", i);
        s = random_planes(&rw, names, &n, prefix, 4, res, c.channels);
    }
    if (s == FACET_OK)
        s = random_mlp(&rw, names, &n, "field.sigma_net", c.channels * c.scales, 1, c.geo + 1);
    if (s == FACET_OK) s = random_mlp(&rw, names, &n, "field.color_net", 16 + c.geo, 2, 3);
    for (int i = 0; s == FACET_OK && i < proposals; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "proposal.%d", i);
        s = random_planes(&rw, names, &n, prefix, 4, c.proposal_res[i], c.proposal_channels[i]);
        snprintf(prefix, sizeof prefix, "proposal.%d.density_net", i);
        if (s == FACET_OK) s = random_mlp(&rw, names, &n, prefix, c.proposal_channels[i], 1, 1);
    }
    if (s == FACET_OK)
        s = random_planes(&rw, names, &n, "probability", 3, c.prob_res, c.prob_channels);
    if (s == FACET_OK)
        s = random_mlp(&rw, names, &n, "probability.semantic_net", c.prob_channels + objects, 1,
                       objects + 1);
    facet_safetensors_writer_init(&rw.w);
    for (int i = 0; s == FACET_OK && i < n; i++)
        s = facet_safetensors_writer_add(&rw.w, names[i], &rw.tensors[i]);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&rw.w, "format", "facet-livescene");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&rw.w, "version", "1");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&rw.w, "config", config_json);
    if (s == FACET_OK)
        s = facet_safetensors_writer_metadata(&rw.w, "source", "facet_livescene_write_random");
    if (s == FACET_OK) s = facet_safetensors_write(&rw.w, path);
    facet_safetensors_writer_free(&rw.w);
    for (int i = 0; i < rw.count; i++) facet_tensor_free(&rw.tensors[i]);
    free(rw.tensors);
    return s;
}

const char *facet_livescene_default_config(int objects, char *buf, size_t size) {
    size_t used = (size_t)snprintf(
        buf, size,
        "{\"aabb\": [[-2, -2, -2], [2, 2, 2]], \"grid_base_resolution\": [128, 128, 128, 32], "
        "\"multiscale_res\": [1, 2, 4], \"grid_feature_dim\": 32, \"geo_feat_dim\": 15, "
        "\"proposals\": [{\"resolution\": [64, 64, 64, 32], \"feature_dim\": 8}, "
        "{\"resolution\": [128, 128, 128, 32], \"feature_dim\": 8}], "
        "\"probability\": {\"resolution\": [128, 128, 128], \"feature_dim\": 8}, "
        "\"num_proposal_samples\": [256, 128], \"num_samples\": 48, \"near_plane\": 0.0, "
        "\"background_color\": [1, 1, 1], \"objects\": [");
    for (int i = 0; i < objects && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s\"object%d\"", i ? ", " : "", i);
    if (used < size) snprintf(buf + used, size - used, "]}");
    return buf;
}

/* ---- re-basing the field view (fields/livescene.h) ------------------------------------------- */

static void *buffer_over(const facet_livescene_model *m, void *const *buffers, const void *p) {
    for (int i = 0; i < m->buffer_count; i++)
        if (m->buffers[i] == p) return buffers[i];
    return NULL;
}

facet_livescene_field facet_livescene_field_over(const facet_livescene_model *m,
                                                 void *const *buffers) {
    facet_livescene_field g = m->field;
    facet_kplanes *grids[FACET_LIVESCENE_MAX_SCALES + FACET_LIVESCENE_MAX_PROPOSALS + 1];
    int n = 0;
    for (int s = 0; s < g.scales; s++) grids[n++] = &g.grids[s];
    for (int i = 0; i < g.proposals; i++) grids[n++] = &g.proposal_grids[i];
    grids[n++] = &g.probability_grid;
    for (int k = 0; k < n; k++)
        for (int p = 0; p < facet_kplanes_plane_count(grids[k]->dims); p++)
            grids[k]->planes[p] = buffer_over(m, buffers, grids[k]->planes[p]);
    facet_mlp *mlps[FACET_LIVESCENE_MAX_NETWORKS];
    const int q = facet_livescene_networks(&g, mlps);
    for (int k = 0; k < q; k++) {
        for (int l = 0; l < mlps[k]->layers; l++)
            mlps[k]->weight[l] = buffer_over(m, buffers, mlps[k]->weight[l]);
        mlps[k]->bias0 = buffer_over(m, buffers, mlps[k]->bias0);
        mlps[k]->half = NULL; /* fp16 packs belong to their holder (nodes/livescene_node.c) */
    }
    return g;
}
