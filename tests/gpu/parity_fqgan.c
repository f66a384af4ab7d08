/* FQGAN parity (tests/gpu/parity.h): the CUDA backend of the tokenizer against the CPU backend,
 * per precision the CUDA backend offers (cuda-fp32, cuda-tf32, cuda-bf16), on the small fixture
 * configs of tests/fixtures/fqgan (64x64 images, batch 2 from inputs.npy, the hash weights of
 * meta.json's config and seed), plus the quantiser alone. Cases:
 *
 *   fqgan.quantize                        both backends' quantisation op on the same features
 *                                         and a 16384 x 8 codebook (the official size)
 *   fqgan.<config>.<precision>.features   encode: pre-quantisation features, every branch
 *   fqgan.<config>.<precision>.indices    encode: tokens, every branch (flips: differing tokens)
 *   fqgan.<config>.<precision>.decode     decode of the CPU's tokens on both backends
 *
 * Configs: fp32 on all four (small-dual16, small-dual8, small-triple16, small-triple8); TF32 and
 * BF16 on small-dual16 and small-triple8, which between them cover both trunks (VQ-16, VQ-8) and
 * both variants (Dual, Triple): every kernel and product shape of the other two, whose trunks
 * are the same. That keeps the suite near one minute of CPU in the emulated build (a CUDA run of
 * one config costs ~7 s there). Not here: timings (bench/), and the official Dual-16 size
 * (256x256, ch 128: minutes per precision under emulation; the small configs run the same code).
 *
 * Tolerances: |cuda - cpu| <= abs, with abs in units of the largest |cpu| value of the output
 * (features of all branches, resp. the image): the error of a layer's output is relative to the
 * scale of the activations that feed it, not to its own value (the last convolution cancels), so
 * no per-element relative term. Error model: each matrix product sum_k a_i b_i of the CUDA
 * backend differs from the CPU's by rounding only, with a relative error per product (against
 * the sum of k random-signed terms) of
 *   fp32: summation order (cuBLAS against OpenBLAS; the CPU's Winograd F(4x4, 3x3) against the
 *         CUDA im2col product for the high-resolution 3x3 convolutions): sigma ~ sqrt(k) u,
 *         u = 2^-24, k <= 9 * 128 = 1152 here: sigma = 2.0e-6 (worst case k u = 6.9e-5);
 *   TF32: both operands rounded to 10 mantissa bits, 2^-11 each, uniform: the term's relative
 *         error has std sqrt(2/3) 2^-11 = 4.0e-4, and so has the sum, whatever k;
 *   BF16: both operands rounded to 7 mantissa bits, 2^-8 each: sqrt(2/3) 2^-8 = 3.2e-3.
 * Either path is ~45 products deep (encoder: conv_in, 2 res blocks x 2 convs on 5 levels, 4
 * downsamplings, the mid block with attention, conv_out, 2 adapter layers x 6 products,
 * quant_conv; decoder likewise with 3 res blocks per level), with a GroupNorm or LayerNorm after
 * every few products that keeps the error relative to the activations' scale, so independent
 * errors add in quadrature: sqrt(45) = 6.7 sigma, times the amplification A of the normalisations
 * and residual sums, fitted from the emulated TF32 and BF16 runs (their rounding is emulated
 * exactly): A <= 2 for both precisions. The bound is 3x that estimate: abs = 3 * 6.7 * 2 sigma =
 * 40 sigma:
 *   fp32: 40 * 2.0e-6 = 8e-5 -> 1e-4   (measured under emulation: features <= 5.5e-6, decode
 *         <= 6.7e-6: the Winograd transforms and FMA contraction only)
 *   TF32: 40 * 4.0e-4 = 1.6e-2, x1.5 -> 2.5e-2: the tensor cores may truncate the operands
 *         instead of rounding them, adding a bias of up to 2^-11 per operand (measured: features
 *         <= 4.2e-3, decode <= 5.3e-3)
 *   BF16: 40 * 3.2e-3 = 1.3e-1          (measured: features <= 2.6e-2, decode <= 4.1e-2)
 *
 * Tokens: a token is the argmax over the codebook of the normalised feature's dot product with
 * each normalised code; where the best two codes are closer than the feature error, other
 * rounding picks the other one, so the flip fraction is ~ (density of best-two gaps near 0) x
 * (feature error). Measured under emulation: fp32 0 of 704 tokens over the four configs (the
 * fixtures' smallest best-two distance gap, 4.7e-5, is ~10x the fp32 feature error), TF32 1 of
 * 448, BF16 14 of 448 (3.4% of small-triple8's 384). Bounds, ~3x the measured rate for the
 * GPU's errors of up to 3x the emulated ones: fp32 2% (one token of small-dual16's 64 for an
 * unlucky near-tie in the GPU's summation order), TF32 5%, BF16 10%. The decode cases take the
 * CPU's tokens on both sides, so a flipped token never reaches them. */
#include "parity.h"

#include "core/alloc.h"
#include "core/json.h"
#include "core/npy.h"
#include "core/rng.h"
#include "tokenizer/fqgan.h"
#include "tokenizer/fqgan_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per precision: abs bound of features and decode in units of the output's largest |cpu|
 * value, and the fraction of tokens allowed to differ (derivation above). */
typedef struct precision_spec {
    facet_fqgan_backend backend;
    const char *name;
    double bound;
    double token_flips;
} precision_spec;

static const precision_spec PRECISIONS[] = {
    {FACET_FQGAN_CUDA_FP32, "fp32", 1e-4, 0.02},
    {FACET_FQGAN_CUDA_TF32, "tf32", 2.5e-2, 0.05},
    {FACET_FQGAN_CUDA_BF16, "bf16", 1.3e-1, 0.10},
};
enum { PRECISION_COUNT = sizeof PRECISIONS / sizeof *PRECISIONS };

/* The fixture configs, and how many of PRECISIONS each runs (fp32 first). */
static const struct {
    const char *name;
    int precisions;
} CONFIGS[] = {
    {"small-dual16", PRECISION_COUNT},
    {"small-dual8", 1},
    {"small-triple16", 1},
    {"small-triple8", PRECISION_COUNT},
};
enum { CONFIG_COUNT = sizeof CONFIGS / sizeof *CONFIGS };

/* One backend's outputs: tokens and features per branch, the decoded image. */
typedef struct outputs {
    uint16_t *indices[FACET_FQGAN_MAX_BRANCHES];
    float *features[FACET_FQGAN_MAX_BRANCHES];
    float *images;
} outputs;

static void outputs_free(outputs *o) {
    for (int k = 0; k < FACET_FQGAN_MAX_BRANCHES; k++) {
        free(o->indices[k]);
        free(o->features[k]);
    }
    free(o->images);
    memset(o, 0, sizeof *o);
}

/* Encodes `images` and decodes `tokens` (the CPU's; NULL: its own) on `backend`. */
static facet_status run(const char *weights, facet_fqgan_backend backend, const float *images,
                        int batch, uint16_t *const *tokens, outputs *out) {
    facet_fqgan *m = NULL;
    facet_status s = facet_fqgan_load(&m, weights, backend, batch);
    if (s != FACET_OK) return s;
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    const size_t n_tok = (size_t)batch * c->grid * c->grid;
    for (int k = 0; k < c->branch_count && s == FACET_OK; k++) {
        out->indices[k] = facet_alloc(n_tok, sizeof(uint16_t));
        out->features[k] = facet_alloc(n_tok * (size_t)c->codebook_dim, sizeof(float));
        if (!out->indices[k] || !out->features[k]) s = facet_last_status();
    }
    out->images = facet_alloc((size_t)batch * 3 * c->image_size * c->image_size, sizeof(float));
    if (s == FACET_OK && !out->images) s = facet_last_status();
    if (s == FACET_OK) s = facet_fqgan_encode(m, images, batch, out->indices, out->features);
    if (s == FACET_OK)
        s = facet_fqgan_decode(m, (const uint16_t *const *)(tokens ? tokens : out->indices), batch,
                               out->images);
    facet_fqgan_free(m);
    return s;
}

static double max_abs_of(const float *x, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && fabs((double)x[i]) > m) m = fabs((double)x[i]);
    return m;
}

/* The three cases of one precision on one config. */
static int compare(const char *config, const precision_spec *p, const facet_fqgan_config *c,
                   int batch, const outputs *cpu, const outputs *gpu) {
    const size_t n_tok = (size_t)batch * c->grid * c->grid;
    const size_t n_feat = n_tok * (size_t)c->codebook_dim;
    const size_t n_img = (size_t)batch * 3 * c->image_size * c->image_size;
    const int branches = c->branch_count;
    /* every branch side by side: [branch][elements] */
    float *fr = facet_alloc(n_feat * (size_t)branches, sizeof(float));
    float *fg = facet_alloc(n_feat * (size_t)branches, sizeof(float));
    uint16_t *ir = facet_alloc(n_tok * (size_t)branches, sizeof(uint16_t));
    uint16_t *ig = facet_alloc(n_tok * (size_t)branches, sizeof(uint16_t));
    char name[128];
    if (!fr || !fg || !ir || !ig) {
        free(fr), free(fg), free(ir), free(ig);
        snprintf(name, sizeof name, "fqgan.%s.%s", config, p->name);
        return parity_error(name, "out of memory");
    }
    for (int k = 0; k < branches; k++) {
        memcpy(fr + k * n_feat, cpu->features[k], n_feat * sizeof(float));
        memcpy(fg + k * n_feat, gpu->features[k], n_feat * sizeof(float));
        memcpy(ir + k * n_tok, cpu->indices[k], n_tok * sizeof(uint16_t));
        memcpy(ig + k * n_tok, gpu->indices[k], n_tok * sizeof(uint16_t));
    }
    int failures = 0;
    const double feature_scale = max_abs_of(fr, n_feat * (size_t)branches);
    const parity_tolerance feature_tol = {.abs = p->bound * feature_scale};
    snprintf(name, sizeof name, "fqgan.%s.%s.features", config, p->name);
    failures += parity_check(name, fr, fg, n_feat * (size_t)branches, &feature_tol);

    const parity_tolerance token_tol = {.max_flips = p->token_flips};
    const parity_stats tokens = parity_compare_u16(ir, ig, n_tok * (size_t)branches);
    snprintf(name, sizeof name, "fqgan.%s.%s.indices", config, p->name);
    failures += parity_report(name, &tokens, &token_tol);

    const double image_scale = max_abs_of(cpu->images, n_img);
    const parity_tolerance decode_tol = {.abs = p->bound * image_scale};
    snprintf(name, sizeof name, "fqgan.%s.%s.decode", config, p->name);
    failures += parity_check(name, cpu->images, gpu->images, n_img, &decode_tol);
    free(fr), free(fg), free(ir), free(ig);
    return failures;
}

/* meta.json's config (serialised) and seed of a fixture; NULL on failure. */
static char *fixture_config(const char *name, int *seed) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/fqgan/%s/meta.json", parity_source_dir(), name);
    facet_doc doc;
    if (facet_json_load(&doc, path) != FACET_OK) return NULL;
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(doc.root, "config");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc.root, "seed");
    char *text = config && cJSON_IsNumber(s) ? cJSON_PrintUnformatted(config) : NULL;
    *seed = cJSON_IsNumber(s) ? s->valueint : 0;
    facet_doc_free(&doc);
    if (!text) facet_fail(FACET_ERR_FORMAT, "%s: no config or seed", path);
    return text;
}

static int config_cases(const char *config_name, int precisions, const float *images, int batch) {
    char name[128], weights[1024];
    snprintf(name, sizeof name, "fqgan.%s", config_name);
    int seed = 0;
    char *config = fixture_config(config_name, &seed);
    if (!config) return parity_error(name, "fixture");
    snprintf(weights, sizeof weights, "%s/fqgan-%s.safetensors", parity_scratch_dir(), config_name);
    const facet_status written = facet_fqgan_write_random(weights, config, (uint64_t)seed);
    free(config);
    if (written != FACET_OK) return parity_error(name, "write weights");
    facet_fqgan *probe = NULL;
    if (facet_fqgan_load(&probe, weights, FACET_FQGAN_CPU, batch) != FACET_OK)
        return parity_error(name, "cpu load");
    const facet_fqgan_config c = *facet_fqgan_config_of(probe);
    outputs cpu = {0};
    int failures = 0;
    if (run(weights, FACET_FQGAN_CPU, images, batch, NULL, &cpu) != FACET_OK) {
        failures = parity_error(name, "cpu");
    } else {
        for (int p = 0; p < precisions; p++) {
            outputs gpu = {0};
            if (run(weights, PRECISIONS[p].backend, images, batch, cpu.indices, &gpu) != FACET_OK) {
                snprintf(name, sizeof name, "fqgan.%s.%s", config_name, PRECISIONS[p].name);
                failures += parity_error(name, facet_fqgan_backend_name(PRECISIONS[p].backend));
            } else {
                failures += compare(config_name, &PRECISIONS[p], &c, batch, &cpu, &gpu);
            }
            outputs_free(&gpu);
        }
    }
    outputs_free(&cpu);
    facet_fqgan_free(probe); /* the config's branch names live in the model */
    remove(weights);
    return failures;
}

/* ---- the quantiser alone ----------------------------------------------------------------------
 *
 * Both backends' quantize op on the same z [1, 8, PIXELS] and the same normalised codebook of the
 * official size (16384 x 8): the same per-element code (fqgan_l2_divisor, fqgan_code_score, the
 * lower-index tie rule), the CPU as one scan per pixel, the CUDA kernel as per-thread scans and
 * warp and block reductions. The last QUANT_DUPLICATES rows copy earlier rows (exact ties: the
 * lower index must win on both, whichever thread holds it); one pixel in 16 is a scaled copy of
 * such a row (a tie at the best score), one in 16 is zero (every score 0: index 0), the rest are
 * random. same_code: bit identical in the exact build. With FMA contraction a score moves by a
 * few ulps of 1 (~1e-7); measured on these inputs, 0.75% of the random pixels have a best-two
 * gap below 1e-4 and none below 1e-5 (besides the exact ties, which stay exact), so < 1 flip in
 * 10^4 pixels is expected: measured 0, bound 0.1% (4 of 4096). */
enum { QUANT_CODES = 16384, QUANT_DIM = 8, QUANT_PIXELS = 4096, QUANT_DUPLICATES = 256 };

static facet_status quantize_on(fqgan_backend *be, const float *z, const float *codebook,
                                uint16_t *indices) {
    const size_t z_bytes = (size_t)QUANT_DIM * QUANT_PIXELS * sizeof(float);
    const size_t cb_bytes = (size_t)QUANT_CODES * QUANT_DIM * sizeof(float);
    const size_t idx_bytes = (size_t)QUANT_PIXELS * sizeof(uint16_t);
    void *dz = NULL, *dcb = NULL, *didx = NULL;
    facet_status s = be->ops->alloc(be, z_bytes, &dz);
    if (s == FACET_OK) s = be->ops->alloc(be, cb_bytes, &dcb);
    if (s == FACET_OK) s = be->ops->alloc(be, idx_bytes, &didx);
    if (s == FACET_OK) s = be->ops->upload(be, dz, z, z_bytes);
    if (s == FACET_OK) s = be->ops->upload(be, dcb, codebook, cb_bytes);
    if (s == FACET_OK)
        s = be->ops->quantize(be, dz, 1, QUANT_DIM, QUANT_PIXELS, dcb, QUANT_CODES, didx);
    if (s == FACET_OK) s = be->ops->download(be, indices, didx, idx_bytes);
    return s;
}

static int quantize_case(void) {
    const char *name = "fqgan.quantize";
    float *codebook = facet_alloc((size_t)QUANT_CODES * QUANT_DIM, sizeof(float));
    float *z = facet_alloc((size_t)QUANT_DIM * QUANT_PIXELS, sizeof(float));
    uint16_t *ref = facet_alloc(QUANT_PIXELS, sizeof(uint16_t));
    uint16_t *got = facet_alloc(QUANT_PIXELS, sizeof(uint16_t));
    if (!codebook || !z || !ref || !got) {
        free(codebook), free(z), free(ref), free(got);
        return parity_error(name, "out of memory");
    }
    facet_rng rng = facet_rng_seed(2024, 7);
    for (int j = 0; j < QUANT_CODES; j++) {
        float *row = codebook + (size_t)j * QUANT_DIM;
        if (j >= QUANT_CODES - QUANT_DUPLICATES) { /* a copy of an earlier row */
            const int from = (int)facet_rng_below(&rng, QUANT_CODES - QUANT_DUPLICATES);
            memcpy(row, codebook + (size_t)from * QUANT_DIM, QUANT_DIM * sizeof(float));
            continue;
        }
        float ss = 0.0f;
        for (int d = 0; d < QUANT_DIM; d++) {
            row[d] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
            ss += row[d] * row[d];
        }
        const float div = sqrtf(ss);
        for (int d = 0; d < QUANT_DIM; d++) row[d] /= div;
    }
    for (int p = 0; p < QUANT_PIXELS; p++) { /* z [1, dim, pixels] */
        const int kind = p % 16;
        const int source = QUANT_CODES - QUANT_DUPLICATES + (int)facet_rng_below(&rng, 256);
        const float scale = 0.5f + 3.0f * facet_rng_uniform(&rng);
        for (int d = 0; d < QUANT_DIM; d++) {
            float v = 4.0f * facet_rng_uniform(&rng) - 2.0f;
            if (kind == 0) v = scale * codebook[(size_t)source * QUANT_DIM + d];
            if (kind == 1) v = 0.0f;
            z[(size_t)d * QUANT_PIXELS + p] = v;
        }
    }
    fqgan_arch arch = {.branch_count = 2,
                       .image_size = 64,
                       .downsample = 16,
                       .grid = 4,
                       .ch = 32,
                       .levels = 5,
                       .ch_mult = {1, 1, 2, 2, 4},
                       .z_channels = 32,
                       .enc_res_blocks = 2,
                       .dec_res_blocks = 3,
                       .adapter_width = 128,
                       .adapter_layers = 2,
                       .adapter_heads = 8,
                       .codebook_size = QUANT_CODES,
                       .codebook_dim = QUANT_DIM};
    fqgan_backend *cpu = NULL, *gpu = NULL;
    int failures = 0;
    if (fqgan_cpu_backend_create(&cpu, &arch, 1, 0) != FACET_OK ||
        quantize_on(cpu, z, codebook, ref) != FACET_OK) {
        failures = parity_error(name, "cpu");
    } else if (fqgan_cuda_backend_create(&gpu, &arch, 1, FACET_FQGAN_CUDA_FP32) != FACET_OK ||
               quantize_on(gpu, z, codebook, got) != FACET_OK) {
        failures = parity_error(name, "cuda");
    } else {
        const parity_tolerance tol = {.max_flips = 0.001, .same_code = 1};
        const parity_stats s = parity_compare_u16(ref, got, QUANT_PIXELS);
        failures = parity_report(name, &s, &tol);
    }
    if (cpu) cpu->ops->destroy(cpu);
    if (gpu) gpu->ops->destroy(gpu);
    free(codebook), free(z), free(ref), free(got);
    return failures;
}

int parity_suite_fqgan(void) {
    int failures = quantize_case();
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/fqgan/inputs.npy", parity_source_dir());
    facet_tensor inputs;
    if (facet_npy_read(&inputs, path) != FACET_OK) return failures + parity_error("fqgan", path);
    for (int i = 0; i < CONFIG_COUNT; i++)
        failures +=
            config_cases(CONFIGS[i].name, CONFIGS[i].precisions, inputs.data, (int)inputs.shape[0]);
    facet_tensor_free(&inputs);
    return failures;
}
