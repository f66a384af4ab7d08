/* FQGAN model: configuration from the weights' metadata, validated loading, the forward pass
 * (written once over a backend's ops, tokenizer/fqgan_internal.h), random weights identical to
 * tools/reference/fqgan_ref.py's, and the official post-processing. */
#include "tokenizer/fqgan.h"

#include "core/alloc.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/safetensors.h"
#include "tokenizer/fqgan_internal.h"
#include "tokenizer/fqgan_ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ACT_BUFFERS = 4, NAME_SIZE = 160 };

struct facet_fqgan {
    facet_fqgan_config config;
    fqgan_arch arch;
    int max_batch;
    fqgan_backend *be;
    float *params;       /* backend memory: every tensor, packed in builder order */
    size_t param_floats; /* floats in the pack (with alignment padding) */

    fqgan_conv enc_conv_in;
    fqgan_level enc_levels[FQGAN_MAX_LEVELS];
    fqgan_resblock enc_mid_res[2];
    fqgan_attnblock enc_mid_attn;
    fqgan_branch branches[FACET_FQGAN_MAX_BRANCHES];
    fqgan_block *blocks; /* branch_count * adapter_layers */
    fqgan_conv post_quant_conv, dec_conv_in;
    fqgan_resblock dec_mid_res[2];
    fqgan_attnblock dec_mid_attn;
    fqgan_level dec_levels[FQGAN_MAX_LEVELS]; /* execution order: lowest resolution first */
    fqgan_norm dec_norm_out;
    fqgan_conv dec_conv_out;

    float *act[ACT_BUFFERS]; /* activation buffers of act_floats each */
    int act_busy[ACT_BUFFERS];
    size_t act_floats;
    uint16_t *tokens; /* backend [branch_count, max_batch, grid^2] */
    size_t memory_bytes;
};

/* ---- configuration --------------------------------------------------------------------------- */

static const char *const DUAL_BRANCHES[] = {"vis", "sem"};
static const char *const TRIPLE_BRANCHES[] = {"vis", "sem_mid", "sem_high"};

/* The encoder attribute holding a branch's adapter (official module names). */
static const char *head_name(const char *branch) {
    if (strcmp(branch, "vis") == 0) return "visual_head";
    if (strcmp(branch, "sem") == 0) return "semantic_head";
    if (strcmp(branch, "sem_mid") == 0) return "semantic_head_mid";
    return "semantic_head_high";
}

static facet_status get_int(const facet_doc *doc, const cJSON *root, const char *key, int lo,
                            int hi, int *out) {
    double v;
    facet_status s = facet_json_get_number(doc, root, key, key, &v);
    if (s != FACET_OK) return s;
    if (v != floor(v) || v < lo || v > hi)
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected an integer in [%d, %d], got %g",
                          doc->path, key, lo, hi, v);
    *out = (int)v;
    return FACET_OK;
}

static facet_status parse_arch(const facet_doc *doc, fqgan_arch *a) {
    static const char *const keys[] = {"variant",        "branches",
                                       "image_size",     "downsample",
                                       "grid",           "ch",
                                       "ch_mult",        "z_channels",
                                       "enc_res_blocks", "dec_res_blocks",
                                       "adapter_width",  "adapter_layers",
                                       "adapter_heads",  "codebook_size",
                                       "codebook_dim",   NULL};
    memset(a, 0, sizeof *a);
    const cJSON *root = doc->root;
    if (!cJSON_IsObject(root))
        return facet_fail(FACET_ERR_FORMAT, "%s: expected a JSON object, got %s", doc->path,
                          facet_json_type_name(root));
    facet_status s = facet_json_check_keys(doc, root, "", keys);
    const char *variant = NULL;
    if (s == FACET_OK) s = facet_json_get_string(doc, root, "variant", "variant", &variant);
    if (s != FACET_OK) return s;
    const char *const *expected;
    if (strcmp(variant, "dual") == 0) {
        a->branch_count = 2;
        expected = DUAL_BRANCHES;
    } else if (strcmp(variant, "triple") == 0) {
        a->branch_count = 3;
        expected = TRIPLE_BRANCHES;
    } else {
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: unknown variant '%s' (expected \"dual\" or \"triple\")", doc->path,
                          variant);
    }
    snprintf(a->variant, sizeof a->variant, "%s", variant);
    const cJSON *branches = cJSON_GetObjectItemCaseSensitive(root, "branches");
    int ok = cJSON_IsArray(branches) && cJSON_GetArraySize(branches) == a->branch_count;
    for (int i = 0; ok && i < a->branch_count; i++) {
        const cJSON *b = cJSON_GetArrayItem(branches, i);
        ok = cJSON_IsString(b) && strcmp(b->valuestring, expected[i]) == 0;
    }
    if (!ok)
        return facet_fail(
            FACET_ERR_FORMAT, "%s: key 'branches' must be %s for variant '%s'", doc->path,
            a->branch_count == 2 ? "[\"vis\", \"sem\"]" : "[\"vis\", \"sem_mid\", \"sem_high\"]",
            variant);
    for (int i = 0; i < a->branch_count; i++)
        snprintf(a->branch_names[i], sizeof a->branch_names[i], "%s", expected[i]);

    const cJSON *mult = cJSON_GetObjectItemCaseSensitive(root, "ch_mult");
    if (!cJSON_IsArray(mult) || cJSON_GetArraySize(mult) < 1 ||
        cJSON_GetArraySize(mult) > FQGAN_MAX_LEVELS)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key 'ch_mult': expected an array of 1 to %d integers, got %s",
                          doc->path, FQGAN_MAX_LEVELS, facet_json_type_name(mult));
    a->levels = cJSON_GetArraySize(mult);
    for (int i = 0; i < a->levels; i++) {
        const cJSON *m = cJSON_GetArrayItem(mult, i);
        if (!cJSON_IsNumber(m) || m->valuedouble != floor(m->valuedouble) || m->valuedouble < 1 ||
            m->valuedouble > 64)
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key 'ch_mult[%d]': expected an integer in [1, 64]", doc->path,
                              i);
        a->ch_mult[i] = (int)m->valuedouble;
    }
    if ((s = get_int(doc, root, "image_size", 1, 8192, &a->image_size)) != FACET_OK ||
        (s = get_int(doc, root, "downsample", 1, 1 << 12, &a->downsample)) != FACET_OK ||
        (s = get_int(doc, root, "grid", 1, 1024, &a->grid)) != FACET_OK ||
        (s = get_int(doc, root, "ch", 1, 4096, &a->ch)) != FACET_OK ||
        (s = get_int(doc, root, "z_channels", 1, 8192, &a->z_channels)) != FACET_OK ||
        (s = get_int(doc, root, "enc_res_blocks", 1, FQGAN_MAX_RES_BLOCKS, &a->enc_res_blocks)) !=
            FACET_OK ||
        (s = get_int(doc, root, "dec_res_blocks", 1, FQGAN_MAX_RES_BLOCKS, &a->dec_res_blocks)) !=
            FACET_OK ||
        (s = get_int(doc, root, "adapter_width", 1, 1 << 16, &a->adapter_width)) != FACET_OK ||
        (s = get_int(doc, root, "adapter_layers", 0, 256, &a->adapter_layers)) != FACET_OK ||
        (s = get_int(doc, root, "adapter_heads", 1, 1024, &a->adapter_heads)) != FACET_OK ||
        (s = get_int(doc, root, "codebook_size", 1, 65536, &a->codebook_size)) != FACET_OK ||
        (s = get_int(doc, root, "codebook_dim", 1, 1024, &a->codebook_dim)) != FACET_OK)
        return s;
    if (a->downsample != 1 << (a->levels - 1))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: downsample %d does not match %d levels of ch_mult (expected %d)",
                          doc->path, a->downsample, a->levels, 1 << (a->levels - 1));
    if (a->grid * a->downsample != a->image_size)
        return facet_fail(FACET_ERR_FORMAT, "%s: grid %d x downsample %d != image_size %d",
                          doc->path, a->grid, a->downsample, a->image_size);
    for (int i = 0; i < a->levels; i++)
        if ((a->ch * a->ch_mult[i]) % FQGAN_GROUPS != 0)
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: level %d has %d channels, not a multiple of the %d GroupNorm "
                              "groups",
                              doc->path, i, a->ch * a->ch_mult[i], FQGAN_GROUPS);
    if (a->ch % FQGAN_GROUPS != 0)
        return facet_fail(FACET_ERR_FORMAT, "%s: ch %d is not a multiple of %d", doc->path, a->ch,
                          FQGAN_GROUPS);
    if (a->adapter_width != a->ch * a->ch_mult[a->levels - 1])
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: adapter_width %d must equal the encoder's last width %d", doc->path,
                          a->adapter_width, a->ch * a->ch_mult[a->levels - 1]);
    if (a->adapter_width % a->adapter_heads != 0)
        return facet_fail(FACET_ERR_FORMAT, "%s: adapter_width %d is not divisible by %d heads",
                          doc->path, a->adapter_width, a->adapter_heads);
    return FACET_OK;
}

/* ---- parameter builder: one walk over the official module tree --------------------------------
 * Lists every inference tensor (official name and shape) in a fixed order. The loader walks it to
 * validate the file, to pack the tensors into one buffer and to point the layer tables at that
 * buffer; the random writer walks it to generate tensors. q, k, v of an AttnBlock are taken
 * consecutively (weights, then biases) so that they form one [3C, C] matrix in the pack. */

typedef enum { BUILD_CHECK, BUILD_PACK, BUILD_POINT, BUILD_RANDOM } build_mode;

typedef struct builder {
    build_mode mode;
    facet_status status;
    const facet_safetensors *st; /* CHECK, PACK */
    float *base;                 /* PACK (host pack), POINT (backend params) */
    size_t offset;               /* floats used so far */
    int64_t parameters;          /* elements listed */
    char **names;                /* CHECK: every name listed (for unknown-tensor checks) */
    int name_count, name_capacity;
    facet_safetensors_writer *writer; /* RANDOM */
    facet_tensor *generated;          /* RANDOM: tensors kept alive until written */
    int generated_count, generated_capacity;
    uint64_t seed;
} builder;

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The hash weights of tools/reference/fqgan_ref.py (its docstring states the rule). */
static void hash_fill(float *out, const char *name, int ndim, const int64_t *shape, int64_t n,
                      uint64_t seed) {
    float offset = 0.0f, scale;
    if (ends_with(name, "positional_embedding") || ends_with(name, "class_embedding")) {
        scale = 0.5f;
    } else if (ends_with(name, "embedding.weight")) {
        scale = 1.0f;
    } else if (ndim == 1) {
        int weight = ends_with(name, "weight");
        offset = weight ? 1.0f : 0.0f;
        scale = weight ? 0.25f : 0.1f;
    } else {
        int64_t fan_in = 1;
        for (int d = 1; d < ndim; d++) fan_in *= shape[d];
        scale = 1.0f / sqrtf((float)fan_in);
    }
    const uint64_t base = facet_hash_base(seed, name);
    for (int64_t i = 0; i < n; i++) out[i] = offset + scale * facet_hash_signed(base, i);
}

static facet_status builder_note_name(builder *b, const char *name) {
    if (b->name_count == b->name_capacity) {
        int cap = b->name_capacity ? 2 * b->name_capacity : 256;
        char **grown = facet_realloc(b->names, (size_t)cap, sizeof *grown);
        if (!grown) return facet_last_status();
        b->names = grown;
        b->name_capacity = cap;
    }
    b->names[b->name_count] = facet_strdup(name);
    if (!b->names[b->name_count]) return facet_last_status();
    b->name_count++;
    return FACET_OK;
}

static facet_status builder_generate(builder *b, const char *name, int ndim, const int64_t *shape) {
    if (b->generated_count == b->generated_capacity) {
        int cap = b->generated_capacity ? 2 * b->generated_capacity : 256;
        facet_tensor *grown = facet_realloc(b->generated, (size_t)cap, sizeof *grown);
        if (!grown) return facet_last_status();
        b->generated = grown;
        b->generated_capacity = cap;
    }
    facet_tensor *t = &b->generated[b->generated_count];
    facet_status s = facet_tensor_alloc(t, FACET_DTYPE_F32, ndim, shape);
    if (s != FACET_OK) return s;
    b->generated_count++;
    hash_fill(t->data, name, ndim, shape, facet_tensor_numel(t), b->seed);
    return facet_safetensors_writer_add(b->writer, name, t);
}

/* Lists one tensor; returns where it lives (PACK, POINT) or NULL. `fmt` builds the name. */
static float *take(builder *b, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static float *take(builder *b, int ndim, const int64_t *shape, const char *fmt, ...) {
    if (b->status != FACET_OK) return NULL;
    char name[NAME_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    b->parameters += n;
    float *at = b->base ? b->base + b->offset : NULL;
    b->offset += ((size_t)n + 3) & ~(size_t)3; /* 16-byte aligned starts */
    const facet_tensor *t = NULL;
    switch (b->mode) {
    case BUILD_CHECK:
        b->status = facet_safetensors_expect(b->st, name, FACET_DTYPE_F32, ndim, shape, &t);
        if (b->status == FACET_OK) b->status = builder_note_name(b, name);
        break;
    case BUILD_PACK:
        t = facet_safetensors_get(b->st, name);
        if (!t) {
            b->status = facet_last_status();
            break;
        }
        memcpy(at, t->data, (size_t)n * sizeof(float));
        break;
    case BUILD_POINT:
        break;
    case BUILD_RANDOM:
        b->status = builder_generate(b, name, ndim, shape);
        break;
    }
    return at;
}

/* A module path into p[NAME_SIZE] (official names are far shorter). */
static void pathf(char *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, NAME_SIZE, fmt, ap);
    va_end(ap);
}

static void take_conv(builder *b, fqgan_conv *c, int cin, int cout, int k, fqgan_conv_mode mode,
                      int out_size, const char *prefix) {
    const int64_t ws[4] = {cout, cin, k, k}, bs[1] = {cout};
    c->cin = cin;
    c->cout = cout;
    c->k = k;
    c->mode = mode;
    c->out_size = out_size;
    c->reduced_precision = c->fixed_point = 0; /* mark_reduced_precision decides */
    c->w = take(b, 4, ws, "%s.weight", prefix);
    c->b = take(b, 1, bs, "%s.bias", prefix);
}

static void take_norm(builder *b, fqgan_norm *n, int channels, const char *prefix) {
    const int64_t s[1] = {channels};
    n->channels = channels;
    n->gamma = take(b, 1, s, "%s.weight", prefix);
    n->beta = take(b, 1, s, "%s.bias", prefix);
}

static void take_linear(builder *b, fqgan_linear *l, int in, int out, const char *prefix) {
    const int64_t ws[2] = {out, in}, bs[1] = {out};
    l->in = in;
    l->out = out;
    l->w = take(b, 2, ws, "%s.weight", prefix);
    l->b = take(b, 1, bs, "%s.bias", prefix);
}

static void take_resblock(builder *b, fqgan_resblock *r, int cin, int cout, int size,
                          const char *prefix) {
    char p[NAME_SIZE];
    pathf(p, "%s.norm1", prefix);
    take_norm(b, &r->norm1, cin, p);
    pathf(p, "%s.conv1", prefix);
    take_conv(b, &r->conv1, cin, cout, 3, FQGAN_CONV_SAME, size, p);
    pathf(p, "%s.norm2", prefix);
    take_norm(b, &r->norm2, cout, p);
    pathf(p, "%s.conv2", prefix);
    take_conv(b, &r->conv2, cout, cout, 3, FQGAN_CONV_SAME, size, p);
    r->has_shortcut = cin != cout;
    if (r->has_shortcut) {
        pathf(p, "%s.nin_shortcut", prefix);
        take_conv(b, &r->nin_shortcut, cin, cout, 1, FQGAN_CONV_SAME, size, p);
    }
}

static void take_attnblock(builder *b, fqgan_attnblock *a, int c, int size, const char *prefix) {
    char p[NAME_SIZE];
    pathf(p, "%s.norm", prefix);
    take_norm(b, &a->norm, c, p);
    const int64_t ws[4] = {c, c, 1, 1}, bs[1] = {c};
    float *w[3], *bias[3];
    static const char *const qkv[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) w[i] = take(b, 4, ws, "%s.%s.weight", prefix, qkv[i]);
    for (int i = 0; i < 3; i++) bias[i] = take(b, 1, bs, "%s.%s.bias", prefix, qkv[i]);
    if (b->base && b->status == FACET_OK &&
        (w[1] != w[0] + (size_t)c * c || w[2] != w[1] + (size_t)c * c || bias[1] != bias[0] + c ||
         bias[2] != bias[1] + c))
        b->status = facet_fail(FACET_ERR_INTERNAL, "%s: q, k, v are not contiguous", prefix);
    a->qkv = (fqgan_conv){c, 3 * c, 1, FQGAN_CONV_SAME, size, w[0], bias[0], 0, 0, NULL};
    pathf(p, "%s.proj_out", prefix);
    take_conv(b, &a->proj_out, c, c, 1, FQGAN_CONV_SAME, size, p);
}

static void take_adapter(builder *b, const fqgan_arch *a, fqgan_branch *br, const char *prefix) {
    const int d = a->adapter_width, len = a->grid * a->grid;
    const int64_t pos[2] = {len, d}, in_w[2] = {3 * d, d}, in_b[1] = {3 * d};
    char p[NAME_SIZE];
    br->positional_embedding = take(b, 2, pos, "%s.positional_embedding", prefix);
    pathf(p, "%s.ln_pre", prefix);
    take_norm(b, &br->ln_pre, d, p);
    for (int l = 0; l < a->adapter_layers; l++) {
        fqgan_block *blk = &br->blocks[l];
        pathf(p, "%s.transformer.%d.ln_1", prefix, l);
        take_norm(b, &blk->ln_1, d, p);
        blk->in_proj.in = d;
        blk->in_proj.out = 3 * d;
        blk->in_proj.w = take(b, 2, in_w, "%s.transformer.%d.attn.in_proj_weight", prefix, l);
        blk->in_proj.b = take(b, 1, in_b, "%s.transformer.%d.attn.in_proj_bias", prefix, l);
        pathf(p, "%s.transformer.%d.attn.out_proj", prefix, l);
        take_linear(b, &blk->out_proj, d, d, p);
        pathf(p, "%s.transformer.%d.ln_2", prefix, l);
        take_norm(b, &blk->ln_2, d, p);
        pathf(p, "%s.transformer.%d.mlp.c_fc", prefix, l);
        take_linear(b, &blk->c_fc, d, 4 * d, p);
        pathf(p, "%s.transformer.%d.mlp.c_proj", prefix, l);
        take_linear(b, &blk->c_proj, 4 * d, d, p);
    }
    pathf(p, "%s.ln_post", prefix);
    take_norm(b, &br->ln_post, d, p);
}

/* The whole model, in the order the pack stores it. */
static void build(builder *b, facet_fqgan *m) {
    const fqgan_arch *a = &m->arch;
    char p[NAME_SIZE];
    const int ch = a->ch, top = ch * a->ch_mult[a->levels - 1], S = a->image_size, g = a->grid;
    take_conv(b, &m->enc_conv_in, 3, ch, 3, FQGAN_CONV_SAME, S, "encoder.conv_in");
    int block_in = ch;
    for (int i = 0; i < a->levels; i++) {
        fqgan_level *lv = &m->enc_levels[i];
        const int out = ch * a->ch_mult[i], last = i == a->levels - 1;
        lv->res_count = a->enc_res_blocks;
        lv->attn_count = last ? a->enc_res_blocks : 0;
        for (int r = 0; r < a->enc_res_blocks; r++) {
            pathf(p, "encoder.conv_blocks.%d.res.%d", i, r);
            take_resblock(b, &lv->res[r], block_in, out, S >> i, p);
            block_in = out;
            if (last) {
                pathf(p, "encoder.conv_blocks.%d.attn.%d", i, r);
                take_attnblock(b, &lv->attn[r], out, S >> i, p);
            }
        }
        lv->has_resample = !last;
        if (!last) {
            pathf(p, "encoder.conv_blocks.%d.downsample.conv", i);
            take_conv(b, &lv->resample, out, out, 3, FQGAN_CONV_DOWNSAMPLE, S >> (i + 1), p);
        }
    }
    take_resblock(b, &m->enc_mid_res[0], top, top, g, "encoder.mid.0");
    take_attnblock(b, &m->enc_mid_attn, top, g, "encoder.mid.1");
    take_resblock(b, &m->enc_mid_res[1], top, top, g, "encoder.mid.2");
    for (int k = 0; k < a->branch_count; k++) {
        fqgan_branch *br = &m->branches[k];
        const char *name = a->branch_names[k];
        br->blocks = m->blocks + (size_t)k * a->adapter_layers;
        pathf(p, "encoder.%s.0", head_name(name));
        take_adapter(b, a, br, p);
        pathf(p, "encoder.norm_out_%s", name);
        take_norm(b, &br->norm_out, top, p);
        pathf(p, "encoder.conv_out_%s", name);
        take_conv(b, &br->conv_out, top, a->z_channels, 3, FQGAN_CONV_SAME, g, p);
        pathf(p, "quant_conv_%s", name);
        take_conv(b, &br->quant_conv, a->z_channels, a->codebook_dim, 1, FQGAN_CONV_SAME, g, p);
        const int64_t cb[2] = {a->codebook_size, a->codebook_dim};
        br->codebook = take(b, 2, cb, "quantize_%s.embedding.weight", name);
    }
    take_conv(b, &m->post_quant_conv, a->branch_count * a->codebook_dim, a->z_channels, 1,
              FQGAN_CONV_SAME, g, "post_quant_conv");
    take_conv(b, &m->dec_conv_in, a->z_channels, top, 3, FQGAN_CONV_SAME, g, "decoder.conv_in");
    take_resblock(b, &m->dec_mid_res[0], top, top, g, "decoder.mid.0");
    take_attnblock(b, &m->dec_mid_attn, top, g, "decoder.mid.1");
    take_resblock(b, &m->dec_mid_res[1], top, top, g, "decoder.mid.2");
    block_in = top;
    for (int j = 0; j < a->levels; j++) {
        const int i = a->levels - 1 - j, out = ch * a->ch_mult[i], lowest = j == 0;
        fqgan_level *lv = &m->dec_levels[j];
        lv->res_count = a->dec_res_blocks;
        lv->attn_count = lowest ? lv->res_count : 0;
        for (int r = 0; r < lv->res_count; r++) {
            pathf(p, "decoder.conv_blocks.%d.res.%d", j, r);
            take_resblock(b, &lv->res[r], block_in, out, S >> i, p);
            block_in = out;
            if (lowest) {
                pathf(p, "decoder.conv_blocks.%d.attn.%d", j, r);
                take_attnblock(b, &lv->attn[r], out, S >> i, p);
            }
        }
        lv->has_resample = i != 0;
        if (i != 0) {
            pathf(p, "decoder.conv_blocks.%d.upsample.conv", j);
            take_conv(b, &lv->resample, out, out, 3, FQGAN_CONV_UPSAMPLE, S >> (i - 1), p);
        }
    }
    take_norm(b, &m->dec_norm_out, block_in, "decoder.norm_out");
    take_conv(b, &m->dec_conv_out, block_in, 3, 3, FQGAN_CONV_SAME, S, "decoder.conv_out");
}

static void builder_free(builder *b) {
    for (int i = 0; i < b->name_count; i++) free(b->names[i]);
    free(b->names);
    for (int i = 0; i < b->generated_count; i++) facet_tensor_free(&b->generated[i]);
    free(b->generated);
}

/* ---- loading --------------------------------------------------------------------------------- */

static facet_status read_arch(const facet_safetensors *st, fqgan_arch *arch) {
    const char *format = facet_safetensors_metadata(st, "format");
    const char *version = facet_safetensors_metadata(st, "version");
    const char *variant = facet_safetensors_metadata(st, "variant");
    const char *config = facet_safetensors_metadata(st, "config");
    if (!format || strcmp(format, "facet-fqgan") != 0)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: not facet FQGAN weights (metadata 'format' is %s%s%s, expected "
                          "'facet-fqgan'; convert official checkpoints with "
                          "tools/convert_fqgan.py)",
                          st->path, format ? "'" : "", format ? format : "missing",
                          format ? "'" : "");
    if (!version || strcmp(version, "1") != 0)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: FQGAN weights format version %s, this facet reads version 1",
                          st->path, version ? version : "(missing)");
    if (!config) return facet_fail(FACET_ERR_FORMAT, "%s: metadata 'config' is missing", st->path);
    char name[512];
    snprintf(name, sizeof name, "%s: metadata 'config'", st->path);
    facet_doc doc;
    facet_status s = facet_json_parse(&doc, config, name);
    if (s == FACET_OK) s = parse_arch(&doc, arch);
    facet_doc_free(&doc);
    if (s != FACET_OK) return s;
    if (!variant || strcmp(variant, arch->variant) != 0)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: metadata 'variant' is %s%s%s but the config describes '%s'",
                          st->path, variant ? "'" : "", variant ? variant : "missing",
                          variant ? "'" : "", arch->variant);
    return FACET_OK;
}

/* Floats of each activation buffer: the largest tensor any step holds, for `batch` images. */
static size_t activation_floats(const fqgan_arch *a, int batch) {
    size_t most = (size_t)3 * a->image_size * a->image_size;
    for (int i = 0; i < a->levels; i++) {
        size_t res = (size_t)(a->image_size >> i), c = (size_t)a->ch * a->ch_mult[i];
        size_t c_prev = (size_t)a->ch * (i ? a->ch_mult[i - 1] : 1);
        size_t c_next = (size_t)a->ch * a->ch_mult[i < a->levels - 1 ? i + 1 : i];
        size_t widest = c > c_prev ? c : c_prev;
        if (c_next > widest) widest = c_next;
        if (widest * res * res > most) most = widest * res * res;
    }
    size_t len = (size_t)a->grid * a->grid, d = (size_t)a->adapter_width;
    if (4 * d * len > most) most = 4 * d * len; /* MLP hidden [L, 4D]; AttnBlock q|k|v: 3D */
    if ((size_t)a->z_channels * len > most) most = (size_t)a->z_channels * len;
    return most * (size_t)batch;
}

static void fill_config(facet_fqgan *m) {
    const fqgan_arch *a = &m->arch;
    facet_fqgan_config *c = &m->config;
    c->branch_count = a->branch_count;
    for (int i = 0; i < a->branch_count; i++) c->branch_names[i] = a->branch_names[i];
    c->downsample = a->downsample;
    c->image_size = a->image_size;
    c->grid = a->grid;
    c->codebook_size = a->codebook_size;
    c->codebook_dim = a->codebook_dim;
    c->variant = a->variant;
}

/* Normalises the codebook rows in the host pack (F.normalize, p = 2, eps 1e-12). */
static void normalize_codebooks(facet_fqgan *m) {
    for (int k = 0; k < m->arch.branch_count; k++) {
        float *cb = m->branches[k].codebook;
        const int dim = m->arch.codebook_dim;
        for (int j = 0; j < m->arch.codebook_size; j++) {
            float *row = cb + (size_t)j * dim, ss = 0.0f;
            for (int d = 0; d < dim; d++) ss += row[d] * row[d];
            const float div = fqgan_l2_divisor(ss);
            for (int d = 0; d < dim; d++) row[d] /= div;
        }
    }
}

static facet_status prepare_resblock(facet_fqgan *m, fqgan_resblock *r) {
    const fqgan_backend_ops *op = m->be->ops;
    facet_status s = op->prepare_conv(m->be, &r->conv1);
    if (s == FACET_OK) s = op->prepare_conv(m->be, &r->conv2);
    if (s == FACET_OK && r->has_shortcut) s = op->prepare_conv(m->be, &r->nin_shortcut);
    return s;
}

static facet_status prepare_attnblock(facet_fqgan *m, fqgan_attnblock *a) {
    facet_status s = m->be->ops->prepare_conv(m->be, &a->qkv);
    return s == FACET_OK ? m->be->ops->prepare_conv(m->be, &a->proj_out) : s;
}

static facet_status prepare_level(facet_fqgan *m, fqgan_level *lv) {
    facet_status s = FACET_OK;
    for (int r = 0; r < lv->res_count && s == FACET_OK; r++) {
        s = prepare_resblock(m, &lv->res[r]);
        if (s == FACET_OK && r < lv->attn_count) s = prepare_attnblock(m, &lv->attn[r]);
    }
    if (s == FACET_OK && lv->has_resample) s = m->be->ops->prepare_conv(m->be, &lv->resample);
    return s;
}

/* Which convs a reduced-precision backend (cpu-bf16) may run in its precision: the decoder's
 * 3x3 convs whose output is at least image_size / REDUCED_MIN_DIVISOR wide, except conv_out
 * (which writes the image). Errors made there pass through few layers before the image; errors
 * made early in the decoder pass through all of them, and any made in the encoder move tokens
 * (bench/RESULTS.md has the measurements behind this placement). Every decoder conv may run as
 * fixed-point int8 digits (fqgan_conv.fixed_point): 16-bit fixed point costs the decoded image
 * nothing measurable next to the bf16 convs (46.64 dB against 46.67), but in the encoder it flips
 * 8x the tokens split bf16 does (89 against 11 of 36,864). */
enum { REDUCED_MIN_DIVISOR = 2 };

static void mark_reduced(fqgan_conv *c, int min_size) {
    c->reduced_precision = c->k == 3 && c->out_size >= min_size;
}

static void mark_fixed_point_resblock(fqgan_resblock *r) {
    r->conv1.fixed_point = r->conv2.fixed_point = r->nin_shortcut.fixed_point = 1;
}

static void mark_fixed_point_attnblock(fqgan_attnblock *a) {
    a->qkv.fixed_point = a->proj_out.fixed_point = 1;
}

static void mark_reduced_precision(facet_fqgan *m) {
    const int min_size = m->arch.image_size / REDUCED_MIN_DIVISOR;
    for (int j = 0; j < m->arch.levels; j++) {
        fqgan_level *lv = &m->dec_levels[j];
        for (int r = 0; r < lv->res_count; r++) {
            mark_reduced(&lv->res[r].conv1, min_size);
            mark_reduced(&lv->res[r].conv2, min_size);
            mark_fixed_point_resblock(&lv->res[r]);
        }
        for (int r = 0; r < lv->attn_count; r++) mark_fixed_point_attnblock(&lv->attn[r]);
        if (lv->has_resample) mark_reduced(&lv->resample, min_size);
        lv->resample.fixed_point = 1;
    }
    m->post_quant_conv.fixed_point = m->dec_conv_in.fixed_point = m->dec_conv_out.fixed_point = 1;
    for (int i = 0; i < 2; i++) mark_fixed_point_resblock(&m->dec_mid_res[i]);
    mark_fixed_point_attnblock(&m->dec_mid_attn);
}

/* Lets the backend prepare every convolution (fqgan_backend_ops.prepare_conv) and its nn context
 * the adapters' linear layers (facet_nn_prepare_linear). */
static facet_status prepare_convs(facet_fqgan *m) {
    const fqgan_backend_ops *op = m->be->ops;
    mark_reduced_precision(m);
    facet_status s = op->prepare_conv(m->be, &m->enc_conv_in);
    for (int i = 0; i < m->arch.levels && s == FACET_OK; i++)
        s = prepare_level(m, &m->enc_levels[i]);
    for (int i = 0; i < 2 && s == FACET_OK; i++) s = prepare_resblock(m, &m->enc_mid_res[i]);
    if (s == FACET_OK) s = prepare_attnblock(m, &m->enc_mid_attn);
    for (int k = 0; k < m->arch.branch_count && s == FACET_OK; k++) {
        fqgan_branch *br = &m->branches[k];
        for (int l = 0; l < m->arch.adapter_layers && s == FACET_OK; l++) {
            const fqgan_linear *layer[] = {&br->blocks[l].in_proj, &br->blocks[l].out_proj,
                                           &br->blocks[l].c_fc, &br->blocks[l].c_proj};
            for (int i = 0; i < 4 && s == FACET_OK; i++)
                s = facet_nn_prepare_linear(m->be->nn, layer[i]->w, layer[i]->in, layer[i]->out);
        }
        if (s == FACET_OK) s = op->prepare_conv(m->be, &br->conv_out);
        if (s == FACET_OK) s = op->prepare_conv(m->be, &br->quant_conv);
    }
    if (s == FACET_OK) s = op->prepare_conv(m->be, &m->post_quant_conv);
    if (s == FACET_OK) s = op->prepare_conv(m->be, &m->dec_conv_in);
    for (int i = 0; i < 2 && s == FACET_OK; i++) s = prepare_resblock(m, &m->dec_mid_res[i]);
    if (s == FACET_OK) s = prepare_attnblock(m, &m->dec_mid_attn);
    for (int j = 0; j < m->arch.levels && s == FACET_OK; j++)
        s = prepare_level(m, &m->dec_levels[j]);
    if (s == FACET_OK) s = op->prepare_conv(m->be, &m->dec_conv_out);
    return s;
}

static facet_status check_tensors(facet_fqgan *m, const facet_safetensors *st) {
    builder b = {0};
    b.mode = BUILD_CHECK;
    b.st = st;
    build(&b, m);
    facet_status s = b.status;
    if (s == FACET_OK) {
        m->config.parameter_count = b.parameters;
        m->param_floats = b.offset;
        for (int i = 0; i < st->count && s == FACET_OK; i++) {
            int known = 0;
            for (int j = 0; j < b.name_count && !known; j++)
                known = strcmp(st->entries[i].name, b.names[j]) == 0;
            if (!known)
                s = facet_fail(FACET_ERR_FORMAT,
                               "%s: unexpected tensor '%s' (not part of the %s-%d model)", st->path,
                               st->entries[i].name, m->arch.variant, m->arch.downsample);
        }
    }
    builder_free(&b);
    return s;
}

facet_status facet_fqgan_load(facet_fqgan **model, const char *path, facet_fqgan_backend backend,
                              int max_batch) {
    *model = NULL;
    if (max_batch < 1 || max_batch > 4096)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "FQGAN max_batch %d outside [1, 4096]",
                          max_batch);
    facet_fqgan *m = facet_alloc_zeroed(1, sizeof *m);
    if (!m) return facet_last_status();
    m->max_batch = max_batch;
    facet_safetensors st;
    facet_status s = facet_safetensors_open(&st, path);
    if (s != FACET_OK) {
        free(m);
        return s;
    }
    facet_safetensors_warn_nonfinite(&st);
    float *pack = NULL;
    s = read_arch(&st, &m->arch);
    if (s == FACET_OK) {
        m->blocks = facet_alloc_zeroed((size_t)m->arch.branch_count * m->arch.adapter_layers + 1,
                                       sizeof *m->blocks);
        if (!m->blocks) s = facet_last_status();
    }
    if (s == FACET_OK) s = check_tensors(m, &st);
    if (s == FACET_OK) {
        pack = facet_alloc(m->param_floats, sizeof *pack);
        if (!pack) s = facet_last_status();
    }
    if (s == FACET_OK) {
        builder b = {0};
        b.mode = BUILD_PACK;
        b.st = &st;
        b.base = pack;
        build(&b, m);
        s = b.status;
        if (s == FACET_OK) normalize_codebooks(m);
    }
    facet_safetensors_close(&st);
    fill_config(m);
    if (s == FACET_OK) {
        if (backend == FACET_FQGAN_CPU || backend == FACET_FQGAN_CPU_BF16)
            s = fqgan_cpu_backend_create(&m->be, &m->arch, max_batch,
                                         backend == FACET_FQGAN_CPU_BF16 ? FQGAN_CPU_BF16
                                                                         : FQGAN_CPU_FP32);
        else if (backend == FACET_FQGAN_CUDA_FP32 || backend == FACET_FQGAN_CUDA_TF32 ||
                 backend == FACET_FQGAN_CUDA_BF16)
            s = fqgan_cuda_backend_create(&m->be, &m->arch, max_batch, backend);
        else
            s = facet_fail(FACET_ERR_INVALID_ARGUMENT, "unknown FQGAN backend %d", (int)backend);
    }
    const size_t param_bytes = m->param_floats * sizeof(float);
    if (s == FACET_OK) s = m->be->ops->alloc(m->be, param_bytes, (void **)&m->params);
    if (s == FACET_OK) s = m->be->ops->upload(m->be, m->params, pack, param_bytes);
    free(pack);
    if (s == FACET_OK) {
        builder b = {0};
        b.mode = BUILD_POINT;
        b.base = m->params;
        build(&b, m);
        s = b.status;
    }
    if (s == FACET_OK) s = m->be->ops->prepare(m->be, m->params, m->param_floats);
    if (s == FACET_OK) s = prepare_convs(m);
    m->act_floats = activation_floats(&m->arch, max_batch);
    for (int i = 0; i < ACT_BUFFERS && s == FACET_OK; i++)
        s = m->be->ops->alloc(m->be, m->act_floats * sizeof(float), (void **)&m->act[i]);
    const size_t token_bytes =
        (size_t)m->arch.branch_count * max_batch * m->arch.grid * m->arch.grid * sizeof(uint16_t);
    if (s == FACET_OK) s = m->be->ops->alloc(m->be, token_bytes, (void **)&m->tokens);
    if (s != FACET_OK) {
        facet_fqgan_free(m);
        return s;
    }
    m->memory_bytes = m->be->ops->memory_bytes(m->be);
    *model = m;
    return FACET_OK;
}

void facet_fqgan_free(facet_fqgan *model) {
    if (!model) return;
    if (model->be) model->be->ops->destroy(model->be);
    free(model->blocks);
    free(model);
}

const facet_fqgan_config *facet_fqgan_config_of(const facet_fqgan *model) {
    return &model->config;
}

size_t facet_fqgan_memory_bytes(const facet_fqgan *model) {
    return model->memory_bytes;
}

/* ---- forward --------------------------------------------------------------------------------- */

static int buf_get(facet_fqgan *m) {
    for (int i = 0; i < ACT_BUFFERS; i++)
        if (!m->act_busy[i]) {
            m->act_busy[i] = 1;
            return i;
        }
    return -1; /* the forward pass never holds more than ACT_BUFFERS buffers */
}

static void buf_put(facet_fqgan *m, int i) {
    m->act_busy[i] = 0;
}

/* ResnetBlock on buffer x ([B, cin, h, w]); returns the buffer holding the result. */
static facet_status resblock(facet_fqgan *m, const fqgan_resblock *r, int batch, int h, int w,
                             int *x) {
    const fqgan_backend_ops *op = m->be->ops;
    const int hw = h * w, a = buf_get(m), t = buf_get(m);
    float *X = m->act[*x], *A = m->act[a], *T = m->act[t];
    facet_status s = op->group_norm(m->be, &r->norm1, X, batch, hw, 1, A);
    if (s == FACET_OK) s = op->conv(m->be, &r->conv1, A, batch, h, w, NULL, T);
    if (s == FACET_OK) s = op->group_norm(m->be, &r->norm2, T, batch, hw, 1, T);
    if (r->has_shortcut) {
        if (s == FACET_OK) s = op->conv(m->be, &r->nin_shortcut, X, batch, h, w, NULL, A);
        if (s == FACET_OK) s = op->conv(m->be, &r->conv2, T, batch, h, w, A, A);
        buf_put(m, *x);
        *x = a;
    } else {
        if (s == FACET_OK) s = op->conv(m->be, &r->conv2, T, batch, h, w, X, X);
        buf_put(m, a);
    }
    buf_put(m, t);
    return s;
}

/* AttnBlock in place on buffer x ([B, C, h, w]). */
static facet_status attnblock(facet_fqgan *m, const fqgan_attnblock *ab, int batch, int h, int w,
                              int x) {
    const fqgan_backend_ops *op = m->be->ops;
    const int hw = h * w, c = ab->proj_out.cin, a = buf_get(m), t = buf_get(m);
    float *X = m->act[x], *A = m->act[a], *T = m->act[t];
    facet_status s = op->group_norm(m->be, &ab->norm, X, batch, hw, 0, A);
    if (s == FACET_OK) s = op->conv(m->be, &ab->qkv, A, batch, h, w, NULL, T);
    if (s == FACET_OK) s = op->spatial_attention(m->be, T, batch, c, hw, A);
    if (s == FACET_OK) s = op->conv(m->be, &ab->proj_out, A, batch, h, w, X, X);
    buf_put(m, a);
    buf_put(m, t);
    return s;
}

static facet_status level(facet_fqgan *m, const fqgan_level *lv, int batch, int *h, int *w,
                          int *x) {
    facet_status s = FACET_OK;
    for (int r = 0; r < lv->res_count && s == FACET_OK; r++) {
        s = resblock(m, &lv->res[r], batch, *h, *w, x);
        if (s == FACET_OK && r < lv->attn_count) s = attnblock(m, &lv->attn[r], batch, *h, *w, *x);
    }
    if (s == FACET_OK && lv->has_resample) {
        const int y = buf_get(m);
        s = m->be->ops->conv(m->be, &lv->resample, m->act[*x], batch, *h, *w, NULL, m->act[y]);
        buf_put(m, *x);
        *x = y;
        if (lv->resample.mode == FQGAN_CONV_DOWNSAMPLE) {
            *h /= 2;
            *w /= 2;
        } else {
            *h *= 2;
            *w *= 2;
        }
    }
    return s;
}

static facet_status mid(facet_fqgan *m, const fqgan_resblock res[2], const fqgan_attnblock *attn,
                        int batch, int h, int w, int *x) {
    facet_status s = resblock(m, &res[0], batch, h, w, x);
    if (s == FACET_OK) s = attnblock(m, attn, batch, h, w, *x);
    if (s == FACET_OK) s = resblock(m, &res[1], batch, h, w, x);
    return s;
}

/* The adapters' ops, on the backend's nn context (nn/nn.h). */
static facet_status layer_norm(const facet_fqgan *m, const fqgan_norm *n, const float *x, int rows,
                               float *y) {
    return facet_nn_layer_norm(m->be->nn, x, NULL, rows, n->channels, n->gamma, n->beta,
                               FQGAN_LAYER_NORM_EPS, y);
}

/* y [rows, out] (+)= GELU?(x [rows, in] W^T + b); `accumulate` adds to y (the residual). */
static facet_status linear(const facet_fqgan *m, const fqgan_linear *l, const float *x, int rows,
                           int gelu, int accumulate, float *y) {
    return facet_nn_linear(m->be->nn, x, rows, l->in, l->w, l->b, l->out,
                           gelu ? FACET_NN_GELU : FACET_NN_IDENTITY, accumulate, y);
}

/* One branch head on the trunk output x (kept): adapter, norm_out, swish, conv_out, quant_conv.
 * Returns the buffer holding the features [B, dim, grid, grid]. */
static facet_status branch_head(facet_fqgan *m, const fqgan_branch *br, int batch, int x,
                                int *features) {
    const fqgan_backend_ops *op = m->be->ops;
    const fqgan_arch *a = &m->arch;
    const int g = a->grid, len = g * g, d = a->adapter_width, rows = batch * len;
    const int t = buf_get(m), u = buf_get(m), v = buf_get(m);
    float *T = m->act[t], *U = m->act[u], *V = m->act[v];
    facet_status s = op->to_tokens(m->be, m->act[x], br->positional_embedding, batch, d, len, T);
    if (s == FACET_OK) s = layer_norm(m, &br->ln_pre, T, rows, T);
    for (int l = 0; l < a->adapter_layers && s == FACET_OK; l++) {
        const fqgan_block *blk = &br->blocks[l];
        s = layer_norm(m, &blk->ln_1, T, rows, U);
        if (s == FACET_OK) s = linear(m, &blk->in_proj, U, rows, 0, 0, V);
        if (s == FACET_OK)
            s = facet_nn_attention(m->be->nn, V, batch, len, d, a->adapter_heads, 0, U);
        if (s == FACET_OK) s = linear(m, &blk->out_proj, U, rows, 0, 1, T);
        if (s == FACET_OK) s = layer_norm(m, &blk->ln_2, T, rows, U);
        if (s == FACET_OK) s = linear(m, &blk->c_fc, U, rows, 1, 0, V);
        if (s == FACET_OK) s = linear(m, &blk->c_proj, V, rows, 0, 1, T);
    }
    if (s == FACET_OK) s = layer_norm(m, &br->ln_post, T, rows, U);
    if (s == FACET_OK) s = op->from_tokens(m->be, U, batch, d, len, T);
    if (s == FACET_OK) s = op->group_norm(m->be, &br->norm_out, T, batch, len, 1, T);
    if (s == FACET_OK) s = op->conv(m->be, &br->conv_out, T, batch, g, g, NULL, U);
    if (s == FACET_OK) s = op->conv(m->be, &br->quant_conv, U, batch, g, g, NULL, T);
    buf_put(m, u);
    buf_put(m, v);
    *features = t;
    return s;
}

static facet_status check_batch(const facet_fqgan *m, int batch) {
    if (batch < 1 || batch > m->max_batch)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "FQGAN batch %d outside [1, %d] (max_batch)",
                          batch, m->max_batch);
    return FACET_OK;
}

facet_status facet_fqgan_encode(facet_fqgan *model, const float *images, int batch,
                                uint16_t *const *indices, float *const *features) {
    facet_fqgan *m = model;
    facet_status s = check_batch(m, batch);
    if (s != FACET_OK) return s;
    const fqgan_backend_ops *op = m->be->ops;
    const fqgan_arch *a = &m->arch;
    const int size = a->image_size, len = a->grid * a->grid;
    memset(m->act_busy, 0, sizeof m->act_busy);
    const int in = buf_get(m);
    s = op->upload(m->be, m->act[in], images, (size_t)batch * 3 * size * size * sizeof(float));
    int x = buf_get(m), h = size, w = size;
    if (s == FACET_OK)
        s = op->conv(m->be, &m->enc_conv_in, m->act[in], batch, h, w, NULL, m->act[x]);
    buf_put(m, in);
    for (int i = 0; i < a->levels && s == FACET_OK; i++)
        s = level(m, &m->enc_levels[i], batch, &h, &w, &x);
    if (s == FACET_OK) s = mid(m, m->enc_mid_res, &m->enc_mid_attn, batch, h, w, &x);
    for (int k = 0; k < a->branch_count && s == FACET_OK; k++) {
        const fqgan_branch *br = &m->branches[k];
        uint16_t *tokens = m->tokens + (size_t)k * m->max_batch * len;
        int f = -1;
        s = branch_head(m, br, batch, x, &f);
        if (s == FACET_OK)
            s = op->quantize(m->be, m->act[f], batch, a->codebook_dim, len, br->codebook,
                             a->codebook_size, tokens);
        if (s == FACET_OK)
            s = op->download(m->be, indices[k], tokens, (size_t)batch * len * sizeof(uint16_t));
        if (s == FACET_OK && features && features[k])
            s = op->download(m->be, features[k], m->act[f],
                             (size_t)batch * a->codebook_dim * len * sizeof(float));
        if (f >= 0) buf_put(m, f);
    }
    if (s != FACET_OK) return facet_error_context("FQGAN encode (%s)", op->name);
    return FACET_OK;
}

facet_status facet_fqgan_decode(facet_fqgan *model, const uint16_t *const *indices, int batch,
                                float *images) {
    facet_fqgan *m = model;
    facet_status s = check_batch(m, batch);
    if (s != FACET_OK) return s;
    const fqgan_backend_ops *op = m->be->ops;
    const fqgan_arch *a = &m->arch;
    const int g = a->grid, len = g * g, channels = a->branch_count * a->codebook_dim;
    for (int k = 0; k < a->branch_count; k++)
        for (size_t i = 0; i < (size_t)batch * len; i++)
            if (indices[k][i] >= a->codebook_size)
                return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                                  "FQGAN decode: branch '%s' token %zu is %u, the codebook has %d "
                                  "codes",
                                  a->branch_names[k], i, (unsigned)indices[k][i], a->codebook_size);
    memset(m->act_busy, 0, sizeof m->act_busy);
    const int q = buf_get(m);
    for (int k = 0; k < a->branch_count && s == FACET_OK; k++) {
        uint16_t *tokens = m->tokens + (size_t)k * m->max_batch * len;
        s = op->upload(m->be, tokens, indices[k], (size_t)batch * len * sizeof(uint16_t));
        if (s == FACET_OK)
            s = op->embed(m->be, tokens, batch, len, m->branches[k].codebook, a->codebook_dim,
                          k * a->codebook_dim, channels, m->act[q]);
    }
    int z = buf_get(m), x = buf_get(m), h = g, w = g;
    if (s == FACET_OK)
        s = op->conv(m->be, &m->post_quant_conv, m->act[q], batch, h, w, NULL, m->act[z]);
    if (s == FACET_OK)
        s = op->conv(m->be, &m->dec_conv_in, m->act[z], batch, h, w, NULL, m->act[x]);
    buf_put(m, q);
    buf_put(m, z);
    if (s == FACET_OK) s = mid(m, m->dec_mid_res, &m->dec_mid_attn, batch, h, w, &x);
    for (int j = 0; j < a->levels && s == FACET_OK; j++)
        s = level(m, &m->dec_levels[j], batch, &h, &w, &x);
    const int out = buf_get(m);
    if (s == FACET_OK)
        s = op->group_norm(m->be, &m->dec_norm_out, m->act[x], batch, h * w, 1, m->act[x]);
    if (s == FACET_OK)
        s = op->conv(m->be, &m->dec_conv_out, m->act[x], batch, h, w, NULL, m->act[out]);
    if (s == FACET_OK)
        s = op->download(m->be, images, m->act[out], (size_t)batch * 3 * h * w * sizeof(float));
    if (s != FACET_OK) return facet_error_context("FQGAN decode (%s)", op->name);
    return FACET_OK;
}

/* ---- random weights and default configurations ----------------------------------------------- */

facet_status facet_fqgan_write_random(const char *path, const char *config_json, uint64_t seed) {
    facet_fqgan m;
    memset(&m, 0, sizeof m);
    facet_doc doc;
    facet_status s = facet_json_parse(&doc, config_json, "FQGAN config");
    if (s == FACET_OK) s = parse_arch(&doc, &m.arch);
    facet_doc_free(&doc);
    if (s != FACET_OK) return s;
    m.blocks = facet_alloc_zeroed((size_t)m.arch.branch_count * m.arch.adapter_layers + 1,
                                  sizeof *m.blocks);
    if (!m.blocks) return facet_last_status();
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    s = facet_safetensors_writer_metadata(&w, "format", "facet-fqgan");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "version", "1");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "variant", m.arch.variant);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "config", config_json);
    char source[96];
    snprintf(source, sizeof source, "facet_fqgan_write_random seed %llu", (unsigned long long)seed);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "source", source);
    builder b = {0};
    b.mode = BUILD_RANDOM;
    b.writer = &w;
    b.seed = seed;
    b.status = s;
    build(&b, &m);
    s = b.status;
    if (s == FACET_OK) s = facet_safetensors_write(&w, path);
    builder_free(&b);
    facet_safetensors_writer_free(&w);
    free(m.blocks);
    return s;
}

facet_status facet_fqgan_default_config(const char *variant, int downsample, char *buf,
                                        size_t size) {
    const int triple = strcmp(variant, "triple") == 0;
    if ((!triple && strcmp(variant, "dual") != 0) || (downsample != 16 && downsample != 8))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "no official FQGAN config '%s' with downsample %d (dual or triple, 16 "
                          "or 8)",
                          variant, downsample);
    int n = snprintf(
        buf, size,
        "{\"variant\": \"%s\", \"branches\": %s, \"image_size\": 256, \"downsample\": %d, "
        "\"grid\": %d, \"ch\": 128, \"ch_mult\": %s, \"z_channels\": 256, \"enc_res_blocks\": 2, "
        "\"dec_res_blocks\": 3, \"adapter_width\": 512, \"adapter_layers\": 6, "
        "\"adapter_heads\": 8, \"codebook_size\": 16384, \"codebook_dim\": 8}",
        variant, triple ? "[\"vis\", \"sem_mid\", \"sem_high\"]" : "[\"vis\", \"sem\"]", downsample,
        256 / downsample, downsample == 16 ? "[1, 1, 2, 2, 4]" : "[1, 2, 2, 4]");
    if (n < 0 || (size_t)n >= size)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "FQGAN config buffer of %zu bytes too small",
                          size);
    return FACET_OK;
}

const char *facet_fqgan_backend_name(facet_fqgan_backend backend) {
    switch (backend) {
    case FACET_FQGAN_CPU:
        return "cpu";
    case FACET_FQGAN_CUDA_FP32:
        return "cuda-fp32";
    case FACET_FQGAN_CUDA_TF32:
        return "cuda-tf32";
    case FACET_FQGAN_CUDA_BF16:
        return "cuda-bf16";
    case FACET_FQGAN_CPU_BF16:
        return "cpu-bf16";
    }
    return "unknown";
}

facet_status facet_fqgan_backend_parse(const char *name, facet_fqgan_backend *out) {
    static const facet_fqgan_backend all[] = {FACET_FQGAN_CPU, FACET_FQGAN_CUDA_FP32,
                                              FACET_FQGAN_CUDA_TF32, FACET_FQGAN_CUDA_BF16,
                                              FACET_FQGAN_CPU_BF16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, facet_fqgan_backend_name(all[i])) == 0) {
            *out = all[i];
            return FACET_OK;
        }
    if (strcmp(name, "cuda") == 0) {
        *out = FACET_FQGAN_CUDA_FP32;
        return FACET_OK;
    }
    return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                      "unknown FQGAN backend '%s' (cpu, cpu-bf16, cuda, cuda-fp32, cuda-tf32, "
                      "cuda-bf16)",
                      name);
}

facet_status facet_fqgan_backend_for(const char *device, const char *precision,
                                     facet_fqgan_backend *out) {
    if (!device) device = "cpu";
    if (!precision) precision = "fp32";
    if (strcmp(device, "cpu") && strcmp(device, "cuda"))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "unknown device '%s' (cpu or cuda)", device);
    if (strcmp(precision, "fp32") && strcmp(precision, "tf32") && strcmp(precision, "bf16"))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "unknown precision '%s' (fp32, tf32 or bf16)",
                          precision);
    const int cuda = !strcmp(device, "cuda");
    if (!cuda && !strcmp(precision, "tf32"))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "precision tf32 is CUDA's tensor-core mode: on the CPU use fp32 or bf16");
    char name[32];
    snprintf(name, sizeof name, cuda ? "cuda-%s" : "cpu%s",
             cuda                        ? precision
             : strcmp(precision, "bf16") ? ""
                                         : "-bf16");
    return facet_fqgan_backend_parse(name, out);
}

/* ---- post-processing ------------------------------------------------------------------------- */

void facet_fqgan_to_uint8(const float *chw, int width, int height, uint8_t *hwc) {
    const size_t plane = (size_t)width * height;
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < 3; c++) {
            /* volatile: the product is rounded to float before the addition, as PyTorch's two
             * element-wise kernels do; a fused multiply-add would round once and move pixels
             * sitting on an integer boundary. */
            volatile float scaled = 127.5f * chw[(size_t)c * plane + p];
            float v = scaled + 128.0f;
            v = v > 0.0f ? v : 0.0f; /* NaN -> 0 */
            v = v < 255.0f ? v : 255.0f;
            hwc[p * 3 + (size_t)c] = (uint8_t)v;
        }
}
