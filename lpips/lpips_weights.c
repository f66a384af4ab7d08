/* LPIPS weights: the backbones' layer tables, names, the checked loader of facet-lpips files
 * (docs/formats.md, "LPIPS weights") and the random-backbone writer of the tests. */
#include "lpips/lpips_internal.h"

#include "core/alloc.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the backbones ----------------------------------------------------------------------------
 */

#define CONV(index, in, out, k, stride, pad, tap)                                                  \
    { 0, index, in, out, {k, k, stride, stride, pad, pad}, tap }
#define POOL(k, stride)                                                                            \
    { 1, -1, 0, 0, {k, k, stride, stride, 0, 0}, -1 }

/* torchvision alexnet().features[0..11]: taps after features.1, 4, 7, 9, 11 */
static const lpips_layer ALEX_LAYERS[] = {
    CONV(0, 3, 64, 11, 4, 2, 0),    POOL(3, 2),
    CONV(3, 64, 192, 5, 1, 2, 1),   POOL(3, 2),
    CONV(6, 192, 384, 3, 1, 1, 2),  CONV(8, 384, 256, 3, 1, 1, 3),
    CONV(10, 256, 256, 3, 1, 1, 4),
};

/* torchvision vgg16().features[0..29]: taps after features.3, 8, 15, 22, 29 */
static const lpips_layer VGG16_LAYERS[] = {
    CONV(0, 3, 64, 3, 1, 1, -1),
    CONV(2, 64, 64, 3, 1, 1, 0),
    POOL(2, 2),
    CONV(5, 64, 128, 3, 1, 1, -1),
    CONV(7, 128, 128, 3, 1, 1, 1),
    POOL(2, 2),
    CONV(10, 128, 256, 3, 1, 1, -1),
    CONV(12, 256, 256, 3, 1, 1, -1),
    CONV(14, 256, 256, 3, 1, 1, 2),
    POOL(2, 2),
    CONV(17, 256, 512, 3, 1, 1, -1),
    CONV(19, 512, 512, 3, 1, 1, -1),
    CONV(21, 512, 512, 3, 1, 1, 3),
    POOL(2, 2),
    CONV(24, 512, 512, 3, 1, 1, -1),
    CONV(26, 512, 512, 3, 1, 1, -1),
    CONV(28, 512, 512, 3, 1, 1, 4),
};

static const lpips_arch ARCHS[] = {
    {FACET_LPIPS_ALEX,
     (int)(sizeof ALEX_LAYERS / sizeof *ALEX_LAYERS),
     ALEX_LAYERS,
     {64, 192, 384, 256, 256}},
    {FACET_LPIPS_VGG16,
     (int)(sizeof VGG16_LAYERS / sizeof *VGG16_LAYERS),
     VGG16_LAYERS,
     {64, 128, 256, 512, 512}},
};

const lpips_arch *lpips_arch_of(facet_lpips_net net) {
    return net == FACET_LPIPS_VGG16 ? &ARCHS[1] : &ARCHS[0];
}

int lpips_arch_sizes(const lpips_arch *arch, int h, int w, int sizes[][2]) {
    for (int i = 0; i < arch->layer_count; i++) {
        const facet_nn_window *win = &arch->layers[i].window;
        const int span_h = h + 2 * win->pad_h - win->kernel_h;
        const int span_w = w + 2 * win->pad_w - win->kernel_w;
        if (span_h < 0 || span_w < 0) return 0;
        h = span_h / win->stride_h + 1;
        w = span_w / win->stride_w + 1;
        sizes[i][0] = h;
        sizes[i][1] = w;
    }
    return 1;
}

const char *facet_lpips_net_name(facet_lpips_net net) {
    return net == FACET_LPIPS_ALEX ? "alex" : net == FACET_LPIPS_VGG16 ? "vgg16" : NULL;
}

int facet_lpips_net_from_name(const char *name) {
    if (!strcmp(name, "alex")) return FACET_LPIPS_ALEX;
    if (!strcmp(name, "vgg16") || !strcmp(name, "vgg")) return FACET_LPIPS_VGG16;
    return -1;
}

const char *facet_lpips_convention_name(facet_lpips_convention convention) {
    return convention == FACET_LPIPS_NERFSTUDIO ? "nerfstudio"
           : convention == FACET_LPIPS_RISESDF  ? "risesdf"
                                                : NULL;
}

int facet_lpips_convention_from_name(const char *name) {
    if (!strcmp(name, "nerfstudio")) return FACET_LPIPS_NERFSTUDIO;
    if (!strcmp(name, "risesdf")) return FACET_LPIPS_RISESDF;
    return -1;
}

int facet_lpips_min_side(facet_lpips_net net) {
    const lpips_arch *arch = lpips_arch_of(net);
    int sizes[LPIPS_MAX_LAYERS][2];
    int side = 1;
    while (!lpips_arch_sizes(arch, side, side, sizes)) side++;
    return side;
}

/* ---- tensor names and shapes ------------------------------------------------------------------
 */

static void conv_names(const lpips_layer *l, char *weight, char *bias, size_t size) {
    snprintf(weight, size, "features.%d.weight", l->index);
    snprintf(bias, size, "features.%d.bias", l->index);
}

static void conv_shape(const lpips_layer *l, int64_t shape[4]) {
    shape[0] = l->out;
    shape[1] = l->in;
    shape[2] = l->window.kernel_h;
    shape[3] = l->window.kernel_w;
}

static void head_shape(const lpips_arch *arch, int tap, int64_t shape[4]) {
    shape[0] = 1;
    shape[1] = arch->tap_channels[tap];
    shape[2] = shape[3] = 1;
}

/* The net and the backbone flag of a facet-lpips file's config. */
static facet_status read_config(const facet_safetensors *st, facet_lpips_net *net,
                                int *has_backbone) {
    const char *config;
    facet_status s =
        facet_safetensors_check_header(st, "LPIPS", FACET_LPIPS_FORMAT, FACET_LPIPS_VERSION,
                                       "convert with tools/convert_lpips.py", &config);
    if (s != FACET_OK) return s;
    facet_doc doc = {0};
    char *name = facet_format("%s (__metadata__.config)", st->path);
    if (!name) return facet_last_status();
    s = facet_json_parse(&doc, config, name);
    const char *net_name = NULL;
    if (s == FACET_OK) s = facet_json_object(&doc, doc.root, "config");
    if (s == FACET_OK) s = facet_json_get_string(&doc, doc.root, "net", "net", &net_name);
    if (s == FACET_OK) {
        const cJSON *backbone = cJSON_GetObjectItemCaseSensitive(doc.root, "backbone");
        *has_backbone = !cJSON_IsFalse(backbone);
        const int found = facet_lpips_net_from_name(net_name);
        if (found < 0)
            s = facet_fail(FACET_ERR_UNSUPPORTED,
                           "%s: LPIPS net '%s' is not supported (facet reads alex and vgg16)",
                           st->path, net_name);
        else
            *net = (facet_lpips_net)found;
    }
    facet_doc_free(&doc);
    free(name);
    return s;
}

/* Counts the tensors of `st` the arch names (backbone when `backbone`, heads always) and fails
 * naming the first other one. */
static facet_status check_no_extra_tensors(const facet_safetensors *st, const lpips_arch *arch,
                                           int backbone) {
    for (int e = 0; e < st->count; e++) {
        const char *name = st->entries[e].name;
        int known = 0;
        char a[64], b[64];
        for (int i = 0; backbone && !known && i < arch->layer_count; i++) {
            if (arch->layers[i].pool) continue;
            conv_names(&arch->layers[i], a, b, sizeof a);
            known = !strcmp(name, a) || !strcmp(name, b);
        }
        for (int k = 0; !known && k < FACET_LPIPS_TAPS; k++) {
            snprintf(a, sizeof a, "lin%d.weight", k);
            known = !strcmp(name, a);
        }
        if (!known)
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: unexpected tensor '%s' in LPIPS %s weights (a file of another "
                              "net or format?)",
                              st->path, name, facet_lpips_net_name(arch->net));
    }
    return FACET_OK;
}

/* ---- loading ----------------------------------------------------------------------------------
 */

/* Copies tensor `name` (F32, `shape`) of st to params + *offset. */
static facet_status take(const facet_safetensors *st, const char *name, int ndim,
                         const int64_t *shape, float *params, size_t *offset, const float **where) {
    const facet_tensor *t;
    facet_status s = facet_safetensors_expect(st, name, FACET_DTYPE_F32, ndim, shape, &t);
    if (s != FACET_OK) return s;
    const size_t n = (size_t)facet_tensor_numel(t);
    memcpy(params + *offset, t->data, n * sizeof(float));
    *where = params + *offset;
    *offset += n;
    return FACET_OK;
}

static size_t arch_param_count(const lpips_arch *arch) {
    size_t n = 0;
    for (int i = 0; i < arch->layer_count; i++) {
        const lpips_layer *l = &arch->layers[i];
        if (!l->pool)
            n += (size_t)l->out * l->in * l->window.kernel_h * l->window.kernel_w + l->out;
    }
    for (int k = 0; k < FACET_LPIPS_TAPS; k++) n += (size_t)arch->tap_channels[k];
    return n;
}

facet_status lpips_weights_load(facet_lpips *m, const char *path) {
    facet_safetensors st;
    facet_status s = facet_safetensors_open(&st, path);
    if (s != FACET_OK) return s;
    int has_backbone = 1;
    s = read_config(&st, &m->net, &has_backbone);
    if (s == FACET_OK && !has_backbone)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: holds only the LPIPS heads (tools/convert_lpips.py --heads-only); "
                       "convert a torchvision backbone with them",
                       path);
    if (s == FACET_OK) {
        m->arch = lpips_arch_of(m->net);
        s = check_no_extra_tensors(&st, m->arch, 1);
    }
    if (s == FACET_OK) {
        m->param_count = arch_param_count(m->arch);
        m->params = facet_alloc(m->param_count, sizeof(float));
        if (!m->params) s = facet_last_status();
    }
    size_t offset = 0;
    for (int i = 0; s == FACET_OK && i < m->arch->layer_count; i++) {
        const lpips_layer *l = &m->arch->layers[i];
        if (l->pool) continue;
        char wname[64], bname[64];
        int64_t shape[4];
        conv_names(l, wname, bname, sizeof wname);
        conv_shape(l, shape);
        s = take(&st, wname, 4, shape, m->params, &offset, &m->weight[i]);
        if (s == FACET_OK) s = take(&st, bname, 1, shape, m->params, &offset, &m->bias[i]);
    }
    for (int k = 0; s == FACET_OK && k < FACET_LPIPS_TAPS; k++) {
        char name[32];
        int64_t shape[4];
        snprintf(name, sizeof name, "lin%d.weight", k);
        head_shape(m->arch, k, shape);
        s = take(&st, name, 4, shape, m->params, &offset, &m->head[k]);
    }
    if (s == FACET_OK) facet_safetensors_warn_nonfinite(&st);
    facet_safetensors_close(&st);
    return s;
}

/* ---- random backbones (tests) -----------------------------------------------------------------
 */

/* The hash rule of tools/reference/lpips_reference.py: r in [-1, 1) from core/hash.h, then
 *   features.<i>.weight [out, in, kh, kw]: r sqrt(6 / (in kh kw))  (Kaiming-uniform for ReLU)
 *   features.<i>.bias   [out]:             0.1 r
 *   lin<k>.weight (hash heads only):       0.25 + 0.25 r            (in [0, 0.5), like the real
 *                                                                    heads: non-negative) */
static facet_status hash_tensor(facet_safetensors_writer *w, facet_tensor *t, const char *name,
                                int ndim, const int64_t *shape, uint64_t seed, float offset,
                                float scale) {
    facet_status s = facet_tensor_alloc(t, FACET_DTYPE_F32, ndim, shape);
    if (s != FACET_OK) return s;
    float *data = t->data;
    const uint64_t base = facet_hash_base(seed, name);
    for (int64_t i = 0; i < facet_tensor_numel(t); i++)
        data[i] = offset + scale * facet_hash_signed(base, i);
    return facet_safetensors_writer_add(w, name, t);
}

facet_status facet_lpips_write_random(const char *path, facet_lpips_net net, uint64_t seed,
                                      const char *heads_path) {
    const lpips_arch *arch = lpips_arch_of(net);
    facet_safetensors heads = {0};
    int heads_open = 0;
    facet_status s = FACET_OK;
    if (heads_path) {
        facet_lpips_net heads_net;
        int backbone;
        s = facet_safetensors_open(&heads, heads_path);
        heads_open = s == FACET_OK;
        if (s == FACET_OK) s = read_config(&heads, &heads_net, &backbone);
        if (s == FACET_OK && heads_net != net)
            s = facet_fail(FACET_ERR_FORMAT, "%s: heads of LPIPS %s, expected %s", heads_path,
                           facet_lpips_net_name(heads_net), facet_lpips_net_name(net));
    }
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_tensor tensors[2 * LPIPS_MAX_LAYERS] = {0};
    int count = 0;
    for (int i = 0; s == FACET_OK && i < arch->layer_count; i++) {
        const lpips_layer *l = &arch->layers[i];
        if (l->pool) continue;
        char wname[64], bname[64];
        int64_t shape[4];
        conv_names(l, wname, bname, sizeof wname);
        conv_shape(l, shape);
        const float bound = sqrtf(6.0f / (float)(l->in * l->window.kernel_h * l->window.kernel_w));
        s = hash_tensor(&w, &tensors[count++], wname, 4, shape, seed, 0.0f, bound);
        if (s == FACET_OK)
            s = hash_tensor(&w, &tensors[count++], bname, 1, shape, seed, 0.0f, 0.1f);
    }
    facet_tensor head_tensors[FACET_LPIPS_TAPS] = {0};
    for (int k = 0; s == FACET_OK && k < FACET_LPIPS_TAPS; k++) {
        char name[32];
        int64_t shape[4];
        snprintf(name, sizeof name, "lin%d.weight", k);
        head_shape(arch, k, shape);
        if (heads_path) {
            const facet_tensor *t;
            s = facet_safetensors_expect(&heads, name, FACET_DTYPE_F32, 4, shape, &t);
            if (s == FACET_OK) s = facet_safetensors_writer_add(&w, name, t);
        } else {
            s = hash_tensor(&w, &head_tensors[k], name, 4, shape, seed, 0.25f, 0.25f);
        }
    }
    char config[160], seed_text[32];
    snprintf(config, sizeof config, "{\"net\":\"%s\",\"lpips_version\":\"0.1\",\"backbone\":true}",
             facet_lpips_net_name(net));
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "format", FACET_LPIPS_FORMAT);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "version", "1");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "config", config);
    if (s == FACET_OK)
        s = facet_safetensors_writer_metadata(&w, "source_backbone", "hash rule, seed");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "seed", seed_text);
    if (s == FACET_OK)
        s = facet_safetensors_writer_metadata(&w, "source_heads",
                                              heads_path ? heads_path : "hash rule");
    if (s == FACET_OK) s = facet_safetensors_write(&w, path);
    facet_safetensors_writer_free(&w);
    for (int i = 0; i < count; i++) facet_tensor_free(&tensors[i]);
    for (int k = 0; k < FACET_LPIPS_TAPS; k++) facet_tensor_free(&head_tensors[k]);
    if (heads_open) facet_safetensors_close(&heads);
    return s;
}
