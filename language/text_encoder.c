/* Text encoders: loading (language/text_encoder_format.md), the forward pass written once over a
 * facet_text_backend and its nn context (nn/nn.h), and the CPU backend (loops over
 * language/ops.h). CUDA twin: language/cuda/text_encoder.cu. */
#include "text_encoder.h"

#include "ops.h"
#include "text_backend.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/safetensors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TEXT_FORMAT_VERSION = 1, MAX_TENSOR_NAME = 96 };

#ifndef FACET_MODELS_DIR_DEFAULT
#define FACET_MODELS_DIR_DEFAULT "models"
#endif

const char *facet_language_models_dir(void) {
    const char *dir = getenv("FACET_MODELS_DIR");
    return dir && *dir ? dir : FACET_MODELS_DIR_DEFAULT;
}

/* ---- loading -------------------------------------------------------------------------------- */

typedef struct expected_tensor {
    char name[MAX_TENSOR_NAME];
    int ndim;
    int64_t shape[2];
    const float **slot; /* where the view goes */
} expected_tensor;

typedef struct tensor_list {
    expected_tensor *items;
    int count, capacity;
} tensor_list;

static facet_status expect(tensor_list *list, const float **slot, int ndim, int64_t d0, int64_t d1,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static facet_status expect(tensor_list *list, const float **slot, int ndim, int64_t d0, int64_t d1,
                           const char *fmt, ...) {
    if (list->count == list->capacity) {
        int capacity = list->capacity ? list->capacity * 2 : 64;
        expected_tensor *items = facet_realloc(list->items, (size_t)capacity, sizeof *items);
        if (!items) return facet_last_status();
        list->items = items;
        list->capacity = capacity;
    }
    expected_tensor *t = &list->items[list->count++];
    va_list args;
    va_start(args, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, args);
    va_end(args);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->slot = slot;
    return FACET_OK;
}

/* The tensors the config calls for, each bound to its place in e->host. */
static facet_status expected_tensors(facet_text_encoder *e, tensor_list *list) {
    const facet_text_config *c = &e->config;
    facet_text_weights *w = &e->host;
    const int64_t W = c->width, F = c->ffn;
    const int bert = c->arch == FACET_TEXT_BERT;
    facet_status s = expect(list, &w->token_embedding, 2, c->vocab_size, W, "token_embedding");
    if (s == FACET_OK)
        s = expect(list, &w->position_embedding, 2, c->max_positions, W, "position_embedding");
    if (s == FACET_OK && bert) s = expect(list, &w->token_type, 1, W, 0, "token_type_embedding");
    if (s == FACET_OK && bert) s = expect(list, &w->embed_norm_w, 1, W, 0, "embedding_norm.weight");
    if (s == FACET_OK && bert) s = expect(list, &w->embed_norm_b, 1, W, 0, "embedding_norm.bias");
    for (int i = 0; s == FACET_OK && i < c->layers; i++) {
        facet_text_layer *l = &w->layers[i];
        const char *p = "layers";
        s = expect(list, &l->norm1_w, 1, W, 0, "%s.%d.norm1.weight", p, i);
        if (s == FACET_OK) s = expect(list, &l->norm1_b, 1, W, 0, "%s.%d.norm1.bias", p, i);
        if (s == FACET_OK) s = expect(list, &l->qkv_w, 2, 3 * W, W, "%s.%d.qkv.weight", p, i);
        if (s == FACET_OK) s = expect(list, &l->qkv_b, 1, 3 * W, 0, "%s.%d.qkv.bias", p, i);
        if (s == FACET_OK) s = expect(list, &l->out_w, 2, W, W, "%s.%d.out.weight", p, i);
        if (s == FACET_OK) s = expect(list, &l->out_b, 1, W, 0, "%s.%d.out.bias", p, i);
        if (s == FACET_OK) s = expect(list, &l->norm2_w, 1, W, 0, "%s.%d.norm2.weight", p, i);
        if (s == FACET_OK) s = expect(list, &l->norm2_b, 1, W, 0, "%s.%d.norm2.bias", p, i);
        if (s == FACET_OK) s = expect(list, &l->fc1_w, 2, F, W, "%s.%d.fc1.weight", p, i);
        if (s == FACET_OK) s = expect(list, &l->fc1_b, 1, F, 0, "%s.%d.fc1.bias", p, i);
        if (s == FACET_OK) s = expect(list, &l->fc2_w, 2, W, F, "%s.%d.fc2.weight", p, i);
        if (s == FACET_OK) s = expect(list, &l->fc2_b, 1, W, 0, "%s.%d.fc2.bias", p, i);
    }
    if (s == FACET_OK && !bert) s = expect(list, &w->final_norm_w, 1, W, 0, "final_norm.weight");
    if (s == FACET_OK && !bert) s = expect(list, &w->final_norm_b, 1, W, 0, "final_norm.bias");
    if (s == FACET_OK && !bert)
        s = expect(list, &w->projection, 2, c->embed_dim, W, "projection.weight");
    return s;
}

static facet_status config_int(const facet_doc *doc, const cJSON *root, const char *key, int lo,
                               int hi, int *out) {
    double v = 0;
    facet_status s = facet_json_get_number(doc, root, key, "config", &v);
    if (s != FACET_OK) return s;
    if (v != (double)(int)v || v < lo || v > hi)
        return facet_fail(FACET_ERR_FORMAT, "%s: key 'config.%s': expected an integer in [%d, %d]",
                          doc->path, key, lo, hi);
    *out = (int)v;
    return FACET_OK;
}

static facet_status parse_config(const facet_doc *doc, facet_text_config *c) {
    static const char *const keys[] = {"architecture", "vocab_size", "width",          "heads",
                                       "layers",       "ffn",        "max_positions",  "max_length",
                                       "embed_dim",    "activation", "layer_norm_eps", NULL};
    const cJSON *root = doc->root;
    facet_status s = facet_json_object(doc, root, "config");
    if (s == FACET_OK) s = facet_json_check_keys(doc, root, "config", keys);
    const char *arch = NULL, *activation = NULL;
    if (s == FACET_OK) s = facet_json_get_string(doc, root, "architecture", "config", &arch);
    if (s == FACET_OK) {
        if (!strcmp(arch, "clip"))
            c->arch = FACET_TEXT_CLIP;
        else if (!strcmp(arch, "bert"))
            c->arch = FACET_TEXT_BERT;
        else
            s = facet_fail(FACET_ERR_UNSUPPORTED,
                           "%s: key 'config.architecture': '%s' (expected clip or bert)", doc->path,
                           arch);
    }
    if (s == FACET_OK) s = config_int(doc, root, "vocab_size", 1, 1 << 22, &c->vocab_size);
    if (s == FACET_OK) s = config_int(doc, root, "width", 1, 1 << 14, &c->width);
    if (s == FACET_OK) s = config_int(doc, root, "heads", 1, 1 << 10, &c->heads);
    if (s == FACET_OK) s = config_int(doc, root, "layers", 0, 256, &c->layers);
    if (s == FACET_OK) s = config_int(doc, root, "ffn", 1, 1 << 16, &c->ffn);
    if (s == FACET_OK) s = config_int(doc, root, "max_positions", 1, 1 << 14, &c->max_positions);
    if (s == FACET_OK) s = config_int(doc, root, "max_length", 2, c->max_positions, &c->max_length);
    if (s == FACET_OK) s = config_int(doc, root, "embed_dim", 1, 1 << 14, &c->embed_dim);
    if (s == FACET_OK && c->width % c->heads)
        s = facet_fail(FACET_ERR_FORMAT, "%s: config: width %d is not a multiple of heads %d",
                       doc->path, c->width, c->heads);
    if (s == FACET_OK && c->arch == FACET_TEXT_BERT && c->embed_dim != c->width)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: config: a bert encoder's embed_dim (%d) is its width "
                       "(%d)",
                       doc->path, c->embed_dim, c->width);
    if (s == FACET_OK && c->arch == FACET_TEXT_CLIP && c->vocab_size < FACET_CLIP_VOCAB)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: config: a clip encoder needs vocab_size >= %d (the BPE vocabulary), "
                       "got %d",
                       doc->path, FACET_CLIP_VOCAB, c->vocab_size);
    if (s == FACET_OK) s = facet_json_get_string(doc, root, "activation", "config", &activation);
    if (s == FACET_OK) {
        if (!strcmp(activation, "gelu"))
            c->activation = FACET_NN_GELU;
        else if (!strcmp(activation, "quick_gelu"))
            c->activation = FACET_NN_QUICK_GELU;
        else
            s = facet_fail(FACET_ERR_UNSUPPORTED,
                           "%s: key 'config.activation': '%s' (expected gelu or quick_gelu)",
                           doc->path, activation);
    }
    double eps = 0;
    if (s == FACET_OK) s = facet_json_get_number(doc, root, "layer_norm_eps", "config", &eps);
    if (s == FACET_OK && !(eps > 0 && eps < 1))
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: key 'config.layer_norm_eps': expected a number in "
                       "(0, 1)",
                       doc->path);
    c->layer_norm_eps = (float)eps;
    return s;
}

static facet_status load_tensors(facet_text_encoder *e, const facet_safetensors *st) {
    tensor_list list = {0};
    e->host.layers = facet_alloc_zeroed((size_t)e->config.layers + 1, sizeof *e->host.layers);
    facet_status s = e->host.layers ? expected_tensors(e, &list) : facet_last_status();
    unsigned char *used = s == FACET_OK ? facet_alloc_zeroed((size_t)st->count + 1, 1) : NULL;
    if (s == FACET_OK && !used) s = facet_last_status();
    int64_t total = 0;
    for (int i = 0; s == FACET_OK && i < list.count; i++)
        total += list.items[i].shape[0] * (list.items[i].ndim == 2 ? list.items[i].shape[1] : 1);
    if (s == FACET_OK && !(e->storage = facet_alloc((size_t)total, sizeof(float))))
        s = facet_last_status();
    e->parameter_count = total;
    int64_t offset = 0;
    for (int i = 0; s == FACET_OK && i < list.count; i++) {
        const expected_tensor *x = &list.items[i];
        int index = -1;
        for (int k = 0; k < st->count && index < 0; k++)
            if (!strcmp(st->entries[k].name, x->name)) index = k;
        if (index < 0) {
            s = facet_fail(FACET_ERR_FORMAT, "%s: missing tensor '%s'", e->path, x->name);
            break;
        }
        used[index] = 1;
        const facet_tensor *t = &st->entries[index].tensor;
        int ok = (t->dtype == FACET_DTYPE_F32 || t->dtype == FACET_DTYPE_F16 ||
                  t->dtype == FACET_DTYPE_BF16) &&
                 t->ndim == x->ndim;
        for (int d = 0; ok && d < x->ndim; d++) ok = t->shape[d] == x->shape[d];
        if (!ok) {
            char want[64], got[64];
            facet_shape_string(x->ndim, x->shape, want, sizeof want);
            facet_shape_string(t->ndim, t->shape, got, sizeof got);
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: tensor '%s': expected a float tensor %s, got %s %s", e->path,
                           x->name, want, facet_dtype_name(t->dtype), got);
            break;
        }
        float *dst = e->storage + offset;
        int64_t n = facet_tensor_numel(t);
        for (int64_t k = 0; k < n; k++) dst[k] = facet_tensor_get_f32(t, k);
        *x->slot = dst;
        offset += n;
    }
    if (s == FACET_OK && e->config.arch == FACET_TEXT_BERT) {
        const facet_tensor *vocab = NULL;
        for (int k = 0; k < st->count; k++)
            if (!strcmp(st->entries[k].name, "tokenizer.vocab")) {
                vocab = &st->entries[k].tensor;
                used[k] = 1;
            }
        if (!vocab || vocab->dtype != FACET_DTYPE_U8 || vocab->ndim != 1)
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: a bert encoder needs the tensor 'tokenizer.vocab' (U8, the "
                           "WordPiece vocab.txt)",
                           e->path);
        else
            s = facet_wordpiece_load(&e->wordpiece, vocab->data, (size_t)vocab->shape[0], e->path);
        if (s == FACET_OK && e->wordpiece.count != e->config.vocab_size)
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: the WordPiece vocabulary has %d tokens, config.vocab_size is %d",
                           e->path, e->wordpiece.count, e->config.vocab_size);
    }
    for (int k = 0; s == FACET_OK && k < st->count; k++)
        if (!used[k])
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: unexpected tensor '%s' (not in format version %d)", e->path,
                           st->entries[k].name, TEXT_FORMAT_VERSION);
    free(used);
    free(list.items);
    return s;
}

/* The merges file for a CLIP encoder: explicit, beside the weights, or in the models folder. */
static facet_status load_merges(facet_text_encoder *e, const char *merges_path) {
    static const char name[] = "bpe_simple_vocab_16e6.txt.gz";
    if (merges_path) return facet_clip_tokenizer_load(&e->clip, merges_path);
    char *beside = facet_path_relative_to_file(e->path, name);
    if (!beside) return facet_last_status();
    char *in_models =
        facet_is_file(beside) ? NULL : facet_path_join(facet_language_models_dir(), name);
    facet_status s = facet_clip_tokenizer_load(&e->clip, in_models ? in_models : beside);
    free(beside);
    free(in_models);
    return s;
}

facet_status facet_text_encoder_load(facet_text_encoder *e, const char *path,
                                     const char *merges_path) {
    memset(e, 0, sizeof *e);
    e->path = facet_strdup(path);
    if (!e->path) return facet_last_status();
    facet_safetensors st;
    facet_status s = facet_safetensors_open(&st, path);
    if (s != FACET_OK) {
        facet_text_encoder_free(e);
        return s;
    }
    facet_safetensors_warn_nonfinite(&st);
    const char *config = NULL;
    s = facet_safetensors_check_header(
        &st, "text-encoder", "facet-text-encoder", TEXT_FORMAT_VERSION,
        "convert with tools/convert_clip_text.py or tools/convert_minilm.py", &config);
    facet_doc doc = {0};
    if (s == FACET_OK) {
        char name[1100];
        snprintf(name, sizeof name, "%s (__metadata__.config)", path);
        s = facet_json_parse(&doc, config, name);
    }
    if (s == FACET_OK) s = parse_config(&doc, &e->config);
    facet_doc_free(&doc);
    if (s == FACET_OK) s = load_tensors(e, &st);
    facet_safetensors_close(&st);
    if (s == FACET_OK && e->config.arch == FACET_TEXT_CLIP) s = load_merges(e, merges_path);
    if (s != FACET_OK) facet_text_encoder_free(e);
    return s;
}

void facet_text_encoder_free(facet_text_encoder *e) {
    facet_text_cuda_free(e);
    free(e->path);
    free(e->storage);
    free(e->host.layers);
    if (e->clip.tokens) facet_clip_tokenizer_free(&e->clip);
    if (e->wordpiece.tokens) facet_wordpiece_free(&e->wordpiece);
    memset(e, 0, sizeof *e);
}

facet_status facet_text_encoder_tokenize(const facet_text_encoder *e, const char *text,
                                         int32_t *ids, int *length) {
    if (e->config.arch == FACET_TEXT_CLIP)
        return facet_clip_tokenize(&e->clip, text, e->config.max_length, ids, length);
    return facet_wordpiece_tokenize(&e->wordpiece, text, e->config.max_length, ids, length);
}

/* ---- the forward pass ----------------------------------------------------------------------- */

/* Runs the encoder over ids[count] on `be` and leaves the (unnormalised) embedding in
 * out_host[embed_dim]. */
static facet_status forward(const facet_text_encoder *e, const facet_text_weights *w,
                            const facet_text_backend *be, const int32_t *ids, int count,
                            float *out_host) {
    const facet_text_config *c = &e->config;
    const int T = count, W = c->width, F = c->ffn;
    const int clip = c->arch == FACET_TEXT_CLIP;
    const float eps = c->layer_norm_eps;
    const facet_nn_activation act = (facet_nn_activation)c->activation;
    facet_nn *nn = be->nn;
    size_t floats =
        (size_t)T * W * 3 + (size_t)T * 3 * W + (size_t)T * F + (size_t)W + (size_t)c->embed_dim;
    float *base;
    facet_status s = be->workspace(be->ctx, floats, &base);
    if (s != FACET_OK) return s;
    float *x = base, *h = x + (size_t)T * W, *attn = h + (size_t)T * W;
    float *qkv = attn + (size_t)T * W, *ffn = qkv + (size_t)T * 3 * W;
    float *pooled = ffn + (size_t)T * F, *projected = pooled + W;

    s = be->embed(be->ctx, w, ids, T, W, x);
    if (s == FACET_OK && !clip)
        s = facet_nn_layer_norm(nn, x, NULL, T, W, w->embed_norm_w, w->embed_norm_b, eps, x);
    for (int i = 0; s == FACET_OK && i < c->layers; i++) {
        const facet_text_layer *l = &w->layers[i];
        if (clip) { /* pre-LN: x += attn(LN1 x); x += mlp(LN2 x) */
            s = facet_nn_layer_norm(nn, x, NULL, T, W, l->norm1_w, l->norm1_b, eps, h);
            if (s == FACET_OK)
                s = facet_nn_linear(nn, h, T, W, l->qkv_w, l->qkv_b, 3 * W, FACET_NN_IDENTITY, 0,
                                    qkv);
            if (s == FACET_OK) s = facet_nn_attention(nn, qkv, 1, T, W, c->heads, 1, attn);
            if (s == FACET_OK)
                s = facet_nn_linear(nn, attn, T, W, l->out_w, l->out_b, W, FACET_NN_IDENTITY, 1, x);
            if (s == FACET_OK)
                s = facet_nn_layer_norm(nn, x, NULL, T, W, l->norm2_w, l->norm2_b, eps, h);
            if (s == FACET_OK) s = facet_nn_linear(nn, h, T, W, l->fc1_w, l->fc1_b, F, act, 0, ffn);
            if (s == FACET_OK)
                s = facet_nn_linear(nn, ffn, T, F, l->fc2_w, l->fc2_b, W, FACET_NN_IDENTITY, 1, x);
        } else { /* post-LN: x = LN1(x + attn x); x = LN2(x + mlp x) */
            s = facet_nn_linear(nn, x, T, W, l->qkv_w, l->qkv_b, 3 * W, FACET_NN_IDENTITY, 0, qkv);
            if (s == FACET_OK) s = facet_nn_attention(nn, qkv, 1, T, W, c->heads, 0, attn);
            if (s == FACET_OK)
                s = facet_nn_linear(nn, attn, T, W, l->out_w, l->out_b, W, FACET_NN_IDENTITY, 0, h);
            if (s == FACET_OK)
                s = facet_nn_layer_norm(nn, h, x, T, W, l->norm1_w, l->norm1_b, eps, x);
            if (s == FACET_OK) s = facet_nn_linear(nn, x, T, W, l->fc1_w, l->fc1_b, F, act, 0, ffn);
            if (s == FACET_OK)
                s = facet_nn_linear(nn, ffn, T, F, l->fc2_w, l->fc2_b, W, FACET_NN_IDENTITY, 0, h);
            if (s == FACET_OK)
                s = facet_nn_layer_norm(nn, h, x, T, W, l->norm2_w, l->norm2_b, eps, x);
        }
    }
    if (s != FACET_OK) return s;
    if (!clip) {
        s = be->pool(be->ctx, x, T, W, -1, pooled);
        return s == FACET_OK ? be->download(be->ctx, pooled, out_host, (size_t)W) : s;
    }
    /* open_clip's argmax pooling: the first position holding the largest id (end of text) */
    int eot = 0;
    for (int t = 1; t < T; t++)
        if (ids[t] > ids[eot]) eot = t;
    s = facet_nn_layer_norm(nn, x, NULL, T, W, w->final_norm_w, w->final_norm_b, eps, x);
    if (s == FACET_OK) s = be->pool(be->ctx, x, T, W, eot, pooled);
    if (s == FACET_OK)
        s = facet_nn_linear(nn, pooled, 1, W, w->projection, NULL, c->embed_dim, FACET_NN_IDENTITY,
                            0, projected);
    if (s == FACET_OK) s = be->download(be->ctx, projected, out_host, (size_t)c->embed_dim);
    return s;
}

/* ---- CPU backend ---------------------------------------------------------------------------- */

typedef struct cpu_context {
    float *buffer;
    size_t capacity;
} cpu_context;

static facet_status cpu_workspace(void *ctx, size_t floats, float **out) {
    cpu_context *c = ctx;
    if (floats > c->capacity) {
        float *b = facet_realloc(c->buffer, floats, sizeof *b);
        if (!b) return facet_last_status();
        c->buffer = b;
        c->capacity = floats;
    }
    *out = c->buffer;
    return FACET_OK;
}

static facet_status cpu_embed(void *ctx, const facet_text_weights *w, const int32_t *ids, int count,
                              int width, float *x) {
    (void)ctx;
    for (int t = 0; t < count; t++)
        facet_lang_embed_row(w->token_embedding + (size_t)ids[t] * width,
                             w->position_embedding + (size_t)t * width, w->token_type, width,
                             x + (size_t)t * width);
    return FACET_OK;
}

static facet_status cpu_pool(void *ctx, const float *x, int count, int width, int row, float *out) {
    (void)ctx;
    if (row >= 0) {
        memcpy(out, x + (size_t)row * width, (size_t)width * sizeof *out);
        return FACET_OK;
    }
    for (int i = 0; i < width; i++) {
        float sum = 0.0f;
        for (int t = 0; t < count; t++) sum += x[(size_t)t * width + i];
        out[i] = sum / (float)count;
    }
    return FACET_OK;
}

static facet_status cpu_download(void *ctx, const float *src, float *host, size_t count) {
    (void)ctx;
    memmove(host, src, count * sizeof *host);
    return FACET_OK;
}

facet_status facet_text_encoder_encode_ids(facet_text_encoder *e, const int32_t *ids, int length,
                                           int cuda, float *out) {
    if (length < 1 || length > e->config.max_length)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: %d tokens (expected 1 to %d)", e->path,
                          length, e->config.max_length);
    for (int t = 0; t < length; t++)
        if (ids[t] < 0 || ids[t] >= e->config.vocab_size)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "%s: token id %d at position %d is outside the vocabulary (%d)",
                              e->path, ids[t], t, e->config.vocab_size);
    facet_status s;
    if (cuda) {
        facet_text_backend be;
        const facet_text_weights *w = NULL;
        s = facet_text_cuda_backend(e, &be, &w);
        if (s == FACET_OK) s = forward(e, w, &be, ids, length, out);
    } else {
        cpu_context ctx = {0};
        facet_text_backend be = {&ctx, NULL, cpu_workspace, cpu_embed, cpu_pool, cpu_download};
        s = facet_nn_create(&be.nn, FACET_NN_CPU, FACET_NN_FP32);
        if (s == FACET_OK) s = forward(e, &e->host, &be, ids, length, out);
        facet_nn_destroy(be.nn);
        free(ctx.buffer);
    }
    if (s != FACET_OK || e->config.arch != FACET_TEXT_BERT) return s;
    /* sentence-transformers Normalize: x / max(|x|, 1e-12) */
    float norm = 0.0f;
    for (int i = 0; i < e->config.embed_dim; i++) norm += out[i] * out[i];
    norm = fmaxf(sqrtf(norm), 1e-12f);
    for (int i = 0; i < e->config.embed_dim; i++) out[i] /= norm;
    return FACET_OK;
}

facet_status facet_text_encoder_encode(facet_text_encoder *e, const char *text, int cuda,
                                       float *out) {
    int32_t *ids = facet_alloc((size_t)e->config.max_length, sizeof *ids);
    if (!ids) return facet_last_status();
    int length = 0;
    facet_status s = facet_text_encoder_tokenize(e, text, ids, &length);
    if (s == FACET_OK) s = facet_text_encoder_encode_ids(e, ids, length, cuda, out);
    free(ids);
    return s;
}
