/* Text-encoder parity (tests/gpu/parity.h): the CUDA backend of language/text_encoder.h (a CUDA
 * nn context: cuBLAS products + kernels around the per-row functions of nn/nn_ops.h and
 * language/ops.h) against the CPU backend (OpenBLAS + the same per-row functions), on
 *
 *   language.clip_tiny.embedding      the tiny open_clip text tower of tests/fixtures/language
 *                                     (width 16, 2 heads, 2 layers, the real 49408-token
 *                                     vocabulary, context 77, causal, end-of-text pooling), fed
 *                                     the reference tokenizer's ids of every string of
 *                                     tokenizers.json (327 texts, 2 to 77 tokens);
 *   language.minilm_small.embedding   a BERT encoder of the all-MiniLM-L6-v2 architecture
 *                                     (post-LN, GELU, mean pooling, L2 normalisation, eps 1e-12,
 *                                     30522-token WordPiece vocabulary, 512 positions, max_length
 *                                     256) at 2 layers, width 64, 4 heads, ffn 128, written here
 *                                     with random weights and a generated vocabulary (below),
 *                                     fed the texts of tokenizers.json and encoders.json through
 *                                     its WordPiece tokenizer (349 texts, up to 256 tokens:
 *                                     [UNK], ## continuations, truncation).
 *
 * The real MiniLM (models/minilm.safetensors, 90 MB) is git-ignored and absent on the device
 * machine; the generated one has its layout at a size the emulated build runs in seconds. The
 * CLIP merges file (models/, git-ignored too) only feeds the tokenizer, which the clip case
 * bypasses (it encodes the fixture's ids): a generated merges file lets the encoder load without
 * it. Timings (ms per sentence) are the benchmark's business, not this harness's.
 *
 * Tolerances. Every step but the matrix products runs the same per-element code on both backends
 * (nn/nn_ops.h), so the products' summation order (cuBLAS's blocking and FMAs against OpenBLAS's)
 * is the main source of the difference; the row reductions add a smaller one (LayerNorm
 * statistics in double on the CPU, in float over a warp on CUDA; softmax sums sequential on the
 * CPU, over a block on CUDA): a dot product of k random-signed terms summed in another order
 * differs by ~sqrt(k) u times a term's magnitude (u = 2^-24; worst case k u), i.e. as if each term
 * were perturbed by a relative ~sqrt(k) u. k <= max(head width, width, ffn, tokens): 77 for
 * clip_tiny (context), 256 for minilm_small (max_length). How such perturbations reach the
 * embedding was measured as its sensitivity to a random relative perturbation +-delta of every
 * weight (every product term then moves by ~delta): kappa = max |d embedding| / delta over these
 * texts, on the CPU, linear in delta over 1e-5..1e-3, three draws: clip_tiny 15.4-16.5 (embedding
 * values up to 3.0), minilm_small 1.9-2.6 (unit embeddings, values up to 0.5). The expected CUDA -
 * CPU difference is kappa sqrt(k) u; the bound is 10x that (a summation error may reach a few
 * sigma, and kappa is a max over three draws):
 *   clip_tiny:    abs = 10 * 17 * sqrt(77) * 2^-24  = 8.9e-5
 *   minilm_small: abs = 10 * 3 * sqrt(256) * 2^-24  = 2.9e-5
 * and no relative term (an element's error is relative to the scale of the vector, not to its own
 * value). In the emulated build the products are the very same OpenBLAS calls (the emulator's
 * cuBLAS forwards to it with the same transposes), so there the difference is the row reductions'
 * order and the FMA contraction of the per-element code (measured: 1.5e-6 and 1.5e-7; 1.4e-6 and
 * 1.6e-7 in the exact build); same_code stays 0 because on a GPU the products are cuBLAS's own
 * sums. */
#include "parity.h"

#include "core/alloc.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "language/text_encoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The measured sensitivities (above), rounded up. */
#define KAPPA_CLIP 17.0
#define KAPPA_MINILM 3.0
static const double U = 1.0 / 16777216.0; /* 2^-24 */

/* ---- inputs --------------------------------------------------------------------------------- */

typedef struct texts {
    facet_doc tokenizers, encoders; /* tests/fixtures/language: tokenizers.json, encoders.json */
    const cJSON *strings, *clip_ids, *sentences;
} texts;

static void texts_free(texts *t) {
    facet_doc_free(&t->tokenizers);
    facet_doc_free(&t->encoders);
}

static facet_status texts_load(texts *t) {
    memset(t, 0, sizeof *t);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/language/tokenizers.json", parity_source_dir());
    facet_status s = facet_json_load(&t->tokenizers, path);
    if (s != FACET_OK) return s;
    snprintf(path, sizeof path, "%s/tests/fixtures/language/encoders.json", parity_source_dir());
    s = facet_json_load(&t->encoders, path);
    if (s != FACET_OK) return s;
    t->strings = cJSON_GetObjectItemCaseSensitive(t->tokenizers.root, "strings");
    t->clip_ids = cJSON_GetObjectItemCaseSensitive(t->tokenizers.root, "clip");
    t->sentences = cJSON_GetObjectItemCaseSensitive(t->encoders.root, "sentences");
    if (!cJSON_IsArray(t->strings) || !cJSON_IsArray(t->clip_ids) || !cJSON_IsArray(t->sentences) ||
        cJSON_GetArraySize(t->strings) != cJSON_GetArraySize(t->clip_ids))
        return facet_fail(FACET_ERR_FORMAT, "%s: expected strings, clip and sentences arrays",
                          path);
    return FACET_OK;
}

/* ---- comparison ----------------------------------------------------------------------------- */

/* The inputs of a case: the fixture's CLIP ids, or texts (tokenizers.json's strings, then
 * encoders.json's sentences) for the encoder's own tokenizer. */
typedef struct case_inputs {
    const texts *t;
    int clip; /* 1: ids of tokenizers.json "clip"; 0: strings then sentences as text */
} case_inputs;

static int case_count(const case_inputs *in) {
    return in->clip ? cJSON_GetArraySize(in->t->clip_ids)
                    : cJSON_GetArraySize(in->t->strings) + cJSON_GetArraySize(in->t->sentences);
}

static facet_status encode_input(facet_text_encoder *e, const case_inputs *in, int i, int cuda,
                                 float *out) {
    if (!in->clip) {
        const int n = cJSON_GetArraySize(in->t->strings);
        const cJSON *item = i < n ? cJSON_GetArrayItem(in->t->strings, i)
                                  : cJSON_GetArrayItem(in->t->sentences, i - n);
        if (!cJSON_IsString(item))
            return facet_fail(FACET_ERR_FORMAT, "text %d is not a string", i);
        return facet_text_encoder_encode(e, item->valuestring, cuda, out);
    }
    const cJSON *list = cJSON_GetArrayItem(in->t->clip_ids, i);
    int32_t ids[128];
    const int length = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list) || length < 1 || length > 128)
        return facet_fail(FACET_ERR_FORMAT, "clip ids %d: expected 1 to 128 ids", i);
    for (int k = 0; k < length; k++) ids[k] = (int32_t)cJSON_GetArrayItem(list, k)->valueint;
    return facet_text_encoder_encode_ids(e, ids, length, cuda, out);
}

/* Embeds every input on both backends, compares [inputs, embed_dim]. */
static int compare_encoder(const char *name, const char *weights, const char *merges,
                           const case_inputs *in, double bound) {
    facet_text_encoder e;
    if (facet_text_encoder_load(&e, weights, merges) != FACET_OK) return parity_error(name, "load");
    const int count = case_count(in), dim = e.config.embed_dim;
    float *ref = facet_alloc((size_t)count * dim, sizeof(float));
    float *got = facet_alloc((size_t)count * dim, sizeof(float));
    int failures = 0;
    if (!ref || !got) failures = parity_error(name, "out of memory");
    for (int i = 0; i < count && !failures; i++) {
        if (encode_input(&e, in, i, 0, ref + (size_t)i * dim) != FACET_OK)
            failures = parity_error(name, "cpu");
        else if (encode_input(&e, in, i, 1, got + (size_t)i * dim) != FACET_OK)
            failures = parity_error(name, "cuda");
    }
    if (!failures) {
        const parity_tolerance tol = {.abs = bound};
        failures = parity_check(name, ref, got, (size_t)count * dim, &tol);
    }
    free(ref);
    free(got);
    facet_text_encoder_free(&e);
    return failures;
}

/* ---- clip_tiny ------------------------------------------------------------------------------ */

/* A CLIP merges file the tokenizer accepts (a header line and 48894 merges, each joining two
 * symbols it already has into a new one: every 2-letter string of a-z, every 3-letter one, then
 * 4-letter ones), plain text (gzopen reads it as is). It stands in for
 * bpe_simple_vocab_16e6.txt.gz, which only the tokenizer would use. */
static facet_status write_merges(const char *path) {
    enum { MERGES = 49152 - 256 - 2 };
    FILE *f = fopen(path, "w");
    if (!f) return facet_fail(FACET_ERR_IO, "%s: cannot write", path);
    fprintf(f, "#version: 0.2 (generated by tests/gpu/parity_language.c)\n");
    int written = 0;
    for (int len = 2; written < MERGES; len++) {
        long total = 1;
        for (int i = 0; i < len; i++) total *= 26;
        for (long v = 0; v < total && written < MERGES; v++, written++) {
            char word[8];
            long x = v;
            for (int i = len - 1; i >= 0; i--, x /= 26) word[i] = (char)('a' + x % 26);
            fprintf(f, "%.*s %c\n", len - 1, word, word[len - 1]);
        }
    }
    return fclose(f) == 0 ? FACET_OK : facet_fail(FACET_ERR_IO, "%s: write failed", path);
}

/* ---- minilm_small --------------------------------------------------------------------------- */

enum {
    BERT_VOCAB = 30522,
    BERT_WIDTH = 64,
    BERT_HEADS = 4,
    BERT_LAYERS = 2,
    BERT_FFN = 128,
    BERT_POSITIONS = 512,
    BERT_MAX_LENGTH = 256,
};

/* Whole words and pieces of the fixture texts; words of the texts not here split into these,
 * the characters and their ## continuations, or become [UNK]. */
static const char *const BERT_WORDS[] = {
    "the",  "open",   "drawer", "close", "door",  "pull", "all",   "way",   "out",    "shut",
    "cab",  "##ine",  "##t",    "half",  "##way", "set",  "to",    "it",    "a",      "bit",
    "more", "and",    "top",    "of",    "white", "wood", "##en",  "ward",  "##robe", "photo",
    "cat",  "object", "thing",  "##s",   "stuff", "text", "##ure", "quick", "brown",  "fox",
    "jump", "over",   "lazy",   "dog",   "isn",   "caf",  "na",    "##ive", "quote",  "##d",
    "emo",  "##ji",   "you",    "we",    "they",  "re",   "##ll",  "##ing", "light",  "lamp",
};
enum { BERT_WORD_COUNT = sizeof BERT_WORDS / sizeof *BERT_WORDS };

/* vocab.txt in BERT's layout: [PAD], [unused0..98], [UNK] (100), [CLS], [SEP], [MASK], the
 * printable ASCII characters but upper case letters, a few non-ASCII ones of the texts, ## and a
 * lower case letter or digit, [unused] fillers, and BERT_WORDS as the last ids (so that the ids
 * span the whole embedding table). Returns a malloc'ed buffer of *size bytes. */
static char *bert_vocab(size_t *size) {
    static const char *const extra[] = {"\xc3\x9f", "\xe6\x97\xa5", "\xe6\x9c\xac", "\xe2\x80\x93",
                                        "\xe3\x81\xae"};
    const size_t capacity = (size_t)BERT_VOCAB * 24;
    char *v = facet_alloc(capacity, 1);
    if (!v) return NULL;
    size_t n = 0;
    int count = 0, unused = 0;
#define LINE(...) (n += (size_t)snprintf(v + n, capacity - n, __VA_ARGS__), count++)
    LINE("[PAD]\n");
    while (count < 100) LINE("[unused%d]\n", unused++);
    LINE("[UNK]\n");
    LINE("[CLS]\n");
    LINE("[SEP]\n");
    LINE("[MASK]\n");
    for (int c = 33; c < 127; c++)
        if (c < 'A' || c > 'Z') LINE("%c\n", c);
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) LINE("%s\n", extra[i]);
    for (int c = 0; c < 36; c++) LINE("##%c\n", c < 26 ? 'a' + c : '0' + c - 26);
    while (count < BERT_VOCAB - BERT_WORD_COUNT) LINE("[unused%d]\n", unused++);
    for (int i = 0; i < BERT_WORD_COUNT; i++) LINE("%s\n", BERT_WORDS[i]);
#undef LINE
    *size = n;
    return v;
}

/* Uniform random values of standard deviation `sd` around `mean`. */
static void fill(facet_rng *rng, float *x, size_t n, float mean, float sd) {
    const float half_width = sd * 1.7320508f; /* uniform on [-h, h]: sd = h / sqrt(3) */
    for (size_t i = 0; i < n; i++)
        x[i] = mean + half_width * (2.0f * facet_rng_uniform(rng) - 1.0f);
}

/* Writes the minilm_small weights (language/text_encoder_format.md, architecture bert). The
 * scales keep every activation O(1) (linear layers at sd 1/sqrt(fan in), q and k at 1.5x that
 * so that the attention is neither uniform nor one-hot), and perturb every LayerNorm gain and
 * bias and every bias so that they matter. */
static facet_status write_minilm_small(const char *path, uint64_t seed) {
    const int V = BERT_VOCAB, W = BERT_WIDTH, F = BERT_FFN, P = BERT_POSITIONS;
    /* tensor shapes in the format's order: name, rows, cols (0: a vector), kind */
    enum { EMBED, NORM_GAIN, BIAS, LINEAR, QKV };
    typedef struct spec {
        char name[48];
        int rows, cols, kind;
        float fan_in;
    } spec;
    spec specs[8 + 12 * BERT_LAYERS];
    int count = 0;
#define SPEC(r, c, k, fan, ...)                                                                    \
    do {                                                                                           \
        snprintf(specs[count].name, sizeof specs[count].name, __VA_ARGS__);                        \
        specs[count].rows = (r), specs[count].cols = (c), specs[count].kind = (k);                 \
        specs[count].fan_in = (float)(fan);                                                        \
        count++;                                                                                   \
    } while (0)
    SPEC(V, W, EMBED, 1, "token_embedding");
    SPEC(P, W, EMBED, 4, "position_embedding");
    SPEC(W, 0, EMBED, 4, "token_type_embedding");
    SPEC(W, 0, NORM_GAIN, 0, "embedding_norm.weight");
    SPEC(W, 0, BIAS, 0, "embedding_norm.bias");
    for (int l = 0; l < BERT_LAYERS; l++) {
        SPEC(W, 0, NORM_GAIN, 0, "layers.%d.norm1.weight", l);
        SPEC(W, 0, BIAS, 0, "layers.%d.norm1.bias", l);
        SPEC(3 * W, W, QKV, W, "layers.%d.qkv.weight", l);
        SPEC(3 * W, 0, BIAS, 0, "layers.%d.qkv.bias", l);
        SPEC(W, W, LINEAR, W, "layers.%d.out.weight", l);
        SPEC(W, 0, BIAS, 0, "layers.%d.out.bias", l);
        SPEC(W, 0, NORM_GAIN, 0, "layers.%d.norm2.weight", l);
        SPEC(W, 0, BIAS, 0, "layers.%d.norm2.bias", l);
        SPEC(F, W, LINEAR, W, "layers.%d.fc1.weight", l);
        SPEC(F, 0, BIAS, 0, "layers.%d.fc1.bias", l);
        SPEC(W, F, LINEAR, F, "layers.%d.fc2.weight", l);
        SPEC(W, 0, BIAS, 0, "layers.%d.fc2.bias", l);
    }
#undef SPEC
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_tensor tensors[8 + 12 * BERT_LAYERS + 1];
    memset(tensors, 0, sizeof tensors);
    facet_rng rng = facet_rng_seed(seed, 11);
    facet_status s = FACET_OK;
    for (int i = 0; i < count && s == FACET_OK; i++) {
        const spec *p = &specs[i];
        const int64_t shape[2] = {p->rows, p->cols};
        s = facet_tensor_alloc(&tensors[i], FACET_DTYPE_F32, p->cols ? 2 : 1, shape);
        if (s != FACET_OK) break;
        float *x = tensors[i].data;
        const size_t n = (size_t)facet_tensor_numel(&tensors[i]);
        switch (p->kind) {
        case EMBED:
            fill(&rng, x, n, 0.0f, 1.0f / sqrtf(p->fan_in));
            break;
        case NORM_GAIN:
            fill(&rng, x, n, 1.0f, 0.1f);
            break;
        case BIAS:
            fill(&rng, x, n, 0.0f, 0.1f);
            break;
        case LINEAR:
            fill(&rng, x, n, 0.0f, 1.0f / sqrtf(p->fan_in));
            break;
        case QKV: /* q and k rows at 1.5x, v rows at 1x */
            fill(&rng, x, (size_t)2 * W * W, 0.0f, 1.5f / sqrtf(p->fan_in));
            fill(&rng, x + (size_t)2 * W * W, (size_t)W * W, 0.0f, 1.0f / sqrtf(p->fan_in));
            break;
        }
        s = facet_safetensors_writer_add(&w, p->name, &tensors[i]);
    }
    size_t vocab_size = 0;
    char *vocab = s == FACET_OK ? bert_vocab(&vocab_size) : NULL;
    if (s == FACET_OK && !vocab) s = facet_last_status();
    if (s == FACET_OK) {
        facet_tensor *t = &tensors[count];
        t->dtype = FACET_DTYPE_U8;
        t->ndim = 1;
        t->shape[0] = (int64_t)vocab_size;
        t->data = vocab;
        s = facet_safetensors_writer_add(&w, "tokenizer.vocab", t);
    }
    char config[512];
    snprintf(config, sizeof config,
             "{\"architecture\": \"bert\", \"vocab_size\": %d, \"width\": %d, \"heads\": %d, "
             "\"layers\": %d, \"ffn\": %d, \"max_positions\": %d, \"max_length\": %d, "
             "\"embed_dim\": %d, \"activation\": \"gelu\", \"layer_norm_eps\": 1e-12}",
             V, W, BERT_HEADS, BERT_LAYERS, F, P, BERT_MAX_LENGTH, W);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "format", "facet-text-encoder");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "version", "1");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "config", config);
    if (s == FACET_OK)
        s = facet_safetensors_writer_metadata(&w, "source",
                                              "tests/gpu/parity_language.c: random weights");
    if (s == FACET_OK) s = facet_safetensors_write(&w, path);
    facet_safetensors_writer_free(&w);
    for (int i = 0; i < count; i++) facet_tensor_free(&tensors[i]);
    free(vocab);
    return s;
}

/* ---- the suite ------------------------------------------------------------------------------ */

int parity_suite_language(void) {
    texts t;
    if (texts_load(&t) != FACET_OK) {
        texts_free(&t);
        return parity_error("language", "fixture texts");
    }
    int failures = 0;
    char clip[1024], merges[1024], minilm[1024];
    snprintf(clip, sizeof clip, "%s/tests/fixtures/language/clip_tiny.safetensors",
             parity_source_dir());
    snprintf(merges, sizeof merges, "%s/clip_merges.txt", parity_scratch_dir());
    snprintf(minilm, sizeof minilm, "%s/minilm_small.safetensors", parity_scratch_dir());

    const case_inputs clip_in = {&t, 1};
    if (write_merges(merges) != FACET_OK)
        failures += parity_error("language.clip_tiny.embedding", "merges");
    else
        failures += compare_encoder("language.clip_tiny.embedding", clip, merges, &clip_in,
                                    10.0 * KAPPA_CLIP * sqrt(77.0) * U);
    remove(merges);

    const case_inputs bert_in = {&t, 0};
    if (write_minilm_small(minilm, 7) != FACET_OK)
        failures += parity_error("language.minilm_small.embedding", "write weights");
    else
        failures += compare_encoder("language.minilm_small.embedding", minilm, NULL, &bert_in,
                                    10.0 * KAPPA_MINILM * sqrt((double)BERT_MAX_LENGTH) * U);
    remove(minilm);
    texts_free(&t);
    return failures;
}
