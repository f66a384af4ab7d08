/* FQGAN runtime: the CPU backend against the PyTorch reference (tools/reference/fqgan_ref.py
 * fixtures in tests/fixtures/fqgan: four small configs covering Dual and Triple on the VQ-16 and
 * VQ-8 trunks), the official post-processing, the default Dual-16 sizes, and malformed weights.
 *
 * The fixture weights are not committed: facet_fqgan_write_random computes the same hash weights
 * as the reference from (config, seed) in meta.json, so these tests also check that the two
 * generators agree. */
#include "helpers.h"

#include "core/alloc.h"
#include "core/cuda/device.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "core/rng.h"
#include "nn/gemm_bf16.h"
#include "nn/gemm_i8.h"
#include "tokenizer/fqgan.h"
#include "tokenizer/fqgan_internal.h"
#include "tokenizer/fqgan_ops.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures -------------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[512];
    char *config_json; /* meta.json "config", serialised */
    int seed, batch;
    long long parameter_count;
} fixture;

static void fixture_open(fixture *f, const char *name) {
    snprintf(f->dir, sizeof f->dir, "%s/tests/fixtures/fqgan/%s", FACET_SOURCE_DIR, name);
    char path[600];
    snprintf(path, sizeof path, "%s/meta.json", f->dir);
    facet_doc doc;
    cr_assert_eq(facet_json_load(&doc, path), FACET_OK, "%s", facet_last_error());
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(doc.root, "config");
    f->config_json = cJSON_PrintUnformatted(config);
    f->seed = cJSON_GetObjectItemCaseSensitive(doc.root, "seed")->valueint;
    f->batch = cJSON_GetObjectItemCaseSensitive(doc.root, "batch")->valueint;
    f->parameter_count =
        (long long)cJSON_GetObjectItemCaseSensitive(doc.root, "parameter_count")->valuedouble;
    facet_doc_free(&doc);
}

static void fixture_close(fixture *f) {
    free(f->config_json);
}

static void read_npy(facet_tensor *t, const char *dir, const char *file) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cr_assert_eq(facet_npy_read(t, path), FACET_OK, "%s", facet_last_error());
}

/* Writes the fixture's hash weights to a scratch file and loads them on a CPU backend. */
static facet_fqgan *load_fixture_on(const fixture *f, const char *scratch, int max_batch,
                                    facet_fqgan_backend backend) {
    char *path = facet_path_join(test_scratch_dir(scratch), "weights.safetensors");
    cr_assert_eq(facet_fqgan_write_random(path, f->config_json, (uint64_t)f->seed), FACET_OK, "%s",
                 facet_last_error());
    facet_fqgan *m = NULL;
    cr_assert_eq(facet_fqgan_load(&m, path, backend, max_batch), FACET_OK, "%s",
                 facet_last_error());
    free(path);
    return m;
}

static facet_fqgan *load_fixture_model(const fixture *f, const char *scratch, int max_batch) {
    return load_fixture_on(f, scratch, max_batch, FACET_FQGAN_CPU);
}

/* PSNR of a against b with the decoder's [-1, 1] output range (peak-to-peak 2). */
static double psnr_range2(const float *a, const float *b, size_t n) {
    double se = 0.0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    const double mse = se / (double)n;
    return mse == 0.0 ? INFINITY : 10.0 * log10(4.0 / mse);
}

/* Encodes the fixture inputs and decodes the reference indices; checks the bounds:
 * indices identical on >= 99.9% of positions, pre-quantisation features within 1e-4 of the
 * reference relative to its largest magnitude, reconstruction PSNR >= 50 dB. */
static void check_parity(const char *name) {
    fixture f;
    fixture_open(&f, name);
    facet_fqgan *m = load_fixture_model(&f, name, f.batch);
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    cr_assert_eq(c->parameter_count, f.parameter_count, "parameters: %lld, reference %lld",
                 (long long)c->parameter_count, f.parameter_count);
    facet_tensor inputs;
    char root[600];
    snprintf(root, sizeof root, "%s/tests/fixtures/fqgan", FACET_SOURCE_DIR);
    read_npy(&inputs, root, "inputs.npy");
    cr_assert_eq(inputs.shape[0], f.batch);
    cr_assert_eq(inputs.shape[2], c->image_size);
    const size_t len = (size_t)c->grid * c->grid, n_tok = (size_t)f.batch * len;
    const size_t n_feat = n_tok * c->codebook_dim;
    uint16_t *indices[3];
    float *features[3];
    for (int k = 0; k < c->branch_count; k++) {
        indices[k] = facet_alloc(n_tok, sizeof(uint16_t));
        features[k] = facet_alloc(n_feat, sizeof(float));
    }
    cr_assert_eq(facet_fqgan_encode(m, inputs.data, f.batch, indices, features), FACET_OK, "%s",
                 facet_last_error());
    uint16_t *ref_indices[3];
    for (int k = 0; k < c->branch_count; k++) {
        char file[64];
        facet_tensor ref_f, ref_i;
        snprintf(file, sizeof file, "features_%s.npy", c->branch_names[k]);
        read_npy(&ref_f, f.dir, file);
        snprintf(file, sizeof file, "indices_%s.npy", c->branch_names[k]);
        read_npy(&ref_i, f.dir, file);
        cr_assert_eq((size_t)facet_tensor_numel(&ref_f), n_feat);
        cr_assert_eq((size_t)facet_tensor_numel(&ref_i), n_tok);
        double worst = 0.0, peak = 0.0;
        for (size_t i = 0; i < n_feat; i++) {
            const double r = facet_tensor_get_f64(&ref_f, i);
            worst = fmax(worst, fabs(features[k][i] - r));
            peak = fmax(peak, fabs(r));
        }
        size_t equal = 0;
        ref_indices[k] = facet_alloc(n_tok, sizeof(uint16_t));
        for (size_t i = 0; i < n_tok; i++) {
            ref_indices[k][i] = (uint16_t)facet_tensor_get_f64(&ref_i, i);
            equal += indices[k][i] == ref_indices[k][i];
        }
        const double agreement = (double)equal / (double)n_tok;
        cr_log_info("%s %s: index agreement %.4f (%zu/%zu), feature error %.3g relative", name,
                    c->branch_names[k], agreement, equal, n_tok, worst / peak);
        cr_expect(agreement >= 0.999, "%s %s: indices agree on %.4f", name, c->branch_names[k],
                  agreement);
        cr_expect(worst <= 1e-4 * peak, "%s %s: feature error %.3g relative", name,
                  c->branch_names[k], worst / peak);
        facet_tensor_free(&ref_f);
        facet_tensor_free(&ref_i);
    }
    facet_tensor ref_recon;
    read_npy(&ref_recon, f.dir, "reconstruction.npy");
    const size_t n_pix = (size_t)facet_tensor_numel(&ref_recon);
    float *recon = facet_alloc(n_pix, sizeof(float));
    cr_assert_eq(facet_fqgan_decode(m, (const uint16_t *const *)ref_indices, f.batch, recon),
                 FACET_OK, "%s", facet_last_error());
    const double psnr = psnr_range2(recon, ref_recon.data, n_pix);
    cr_log_info("%s: reconstruction PSNR %.1f dB against the reference", name, psnr);
    cr_expect(psnr >= 50.0, "%s: reconstruction PSNR %.1f dB", name, psnr);
    for (int k = 0; k < c->branch_count; k++) {
        free(indices[k]);
        free(features[k]);
        free(ref_indices[k]);
    }
    free(recon);
    facet_tensor_free(&ref_recon);
    facet_tensor_free(&inputs);
    facet_fqgan_free(m);
    fixture_close(&f);
}

/* cpu-bf16 on the small Dual-16 fixture (64x64: its decoder's 64^2 and 32^2 convs are marked):
 * the encoder gives the cpu backend's tokens, and its features bit for bit (or, where AMX runs
 * the split products, within SPLIT_FEATURE_TOLERANCE); the decoder differs from
 * float32 (bf16 ran) and stays above 35 dB against the PyTorch reconstruction. Each marked conv's
 * error is bounded exactly in fqgan_cpu.bf16_convolutions_stay_within_the_bf16_rounding_bound;
 * here the whole decoder measures 38.6 dB (these random weights amplify errors more than trained
 * ones would), and the 35 dB floor (rms error 1.8% of the [-1, 1] range) catches a wrongly packed
 * or wrongly marked conv: one that mixes up Winograd blocks gives 12 dB. */
/* The split encoder's features against float32's, as a fraction of the largest feature: 8x what
 * split products measure here (2.4e-4 through the encoder's random weights, each product within
 * 3 2^-16 of its float32 value), 1/60 of what plain bf16 products give (0.12). */
#define SPLIT_FEATURE_TOLERANCE 2e-3
Test(fqgan, cpu_bf16_encodes_as_cpu_and_decodes_above_35_db) {
    if (!facet_gemm_bf16_native()) cr_skip_test("this CPU has no AVX-512 BF16");
    fixture f;
    fixture_open(&f, "small-dual16");
    facet_fqgan *m32 = load_fixture_on(&f, "fq_bf16_a", f.batch, FACET_FQGAN_CPU);
    facet_fqgan *m16 = load_fixture_on(&f, "fq_bf16_b", f.batch, FACET_FQGAN_CPU_BF16);
    const facet_fqgan_config *c = facet_fqgan_config_of(m32);
    facet_tensor inputs, ref_recon;
    char root[600];
    snprintf(root, sizeof root, "%s/tests/fixtures/fqgan", FACET_SOURCE_DIR);
    read_npy(&inputs, root, "inputs.npy");
    read_npy(&ref_recon, f.dir, "reconstruction.npy");
    const size_t n_tok = (size_t)f.batch * c->grid * c->grid, n_feat = n_tok * c->codebook_dim;
    const size_t n_pix = (size_t)facet_tensor_numel(&ref_recon);
    uint16_t *idx[2][2];
    float *feat[2][2];
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < 2; k++) {
            idx[v][k] = facet_alloc(n_tok, sizeof(uint16_t));
            feat[v][k] = facet_alloc(n_feat, sizeof(float));
        }
    cr_assert_eq(facet_fqgan_encode(m32, inputs.data, f.batch, idx[0], feat[0]), FACET_OK);
    cr_assert_eq(facet_fqgan_encode(m16, inputs.data, f.batch, idx[1], feat[1]), FACET_OK);
    /* split products (where AMX runs them) move the features by float32-grade amounts; without
     * them the encoder is float32's, bit for bit */
    const int split = facet_gemm_bf16_split_pays();
    for (int k = 0; k < 2; k++) {
        double diff = 0.0, scale = 0.0;
        for (size_t i = 0; i < n_feat; i++) {
            diff = fmax(diff, fabs((double)feat[0][k][i] - feat[1][k][i]));
            scale = fmax(scale, fabs((double)feat[0][k][i]));
        }
        cr_log_info("branch %d: features differ by %.3g of their largest %.3g (split %d)", k, diff,
                    scale, split);
        if (split)
            cr_expect(diff > 0 && diff <= SPLIT_FEATURE_TOLERANCE * scale,
                      "branch %d: split features off by %.3g of %.3g", k, diff, scale);
        else
            cr_assert_eq(memcmp(feat[0][k], feat[1][k], n_feat * sizeof(float)), 0);
        cr_assert_eq(memcmp(idx[0][k], idx[1][k], n_tok * sizeof(uint16_t)), 0);
    }
    float *r32 = facet_alloc(n_pix, sizeof(float)), *r16 = facet_alloc(n_pix, sizeof(float));
    cr_assert_eq(facet_fqgan_decode(m32, (const uint16_t *const *)idx[0], f.batch, r32), FACET_OK);
    cr_assert_eq(facet_fqgan_decode(m16, (const uint16_t *const *)idx[0], f.batch, r16), FACET_OK);
    const double psnr32 = psnr_range2(r32, ref_recon.data, n_pix);
    const double psnr16 = psnr_range2(r16, ref_recon.data, n_pix);
    cr_log_info("small-dual16 decode PSNR against PyTorch: fp32 %.1f dB, bf16 %.1f dB", psnr32,
                psnr16);
    cr_expect(isfinite(psnr16) && psnr16 < psnr32, "bf16 decoded the float32 image: not in bf16?");
    cr_expect_geq(psnr16, 35.0, "bf16 decode PSNR %.1f dB", psnr16);
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < 2; k++) free(idx[v][k]), free(feat[v][k]);
    free(r32), free(r16);
    facet_tensor_free(&inputs);
    facet_tensor_free(&ref_recon);
    facet_fqgan_free(m32);
    facet_fqgan_free(m16);
    fixture_close(&f);
}

Test(fqgan, dual16_matches_reference) {
    check_parity("small-dual16");
}

Test(fqgan, dual8_matches_reference) {
    check_parity("small-dual8");
}

Test(fqgan, triple16_matches_reference) {
    check_parity("small-triple16");
}

Test(fqgan, triple8_matches_reference) {
    check_parity("small-triple8");
}

Test(fqgan, config_reports_variant_and_sizes_from_metadata) {
    fixture f;
    fixture_open(&f, "small-triple8");
    facet_fqgan *m = load_fixture_model(&f, "fq_config", 1);
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    cr_assert_str_eq(c->variant, "triple");
    cr_assert_eq(c->branch_count, 3);
    cr_assert_str_eq(c->branch_names[0], "vis");
    cr_assert_str_eq(c->branch_names[1], "sem_mid");
    cr_assert_str_eq(c->branch_names[2], "sem_high");
    cr_assert_eq(c->downsample, 8);
    cr_assert_eq(c->image_size, 64);
    cr_assert_eq(c->grid, 8);
    cr_assert_eq(c->codebook_size, 512);
    cr_assert_eq(c->codebook_dim, 8);
    /* at least the weights (4 bytes per parameter) plus activations */
    cr_assert_gt(facet_fqgan_memory_bytes(m), (size_t)c->parameter_count * 4);
    facet_fqgan_free(m);
    fixture_close(&f);
}

/* A batch is the same computation as its images one at a time. */
Test(fqgan, batch_encodes_each_image_as_alone) {
    fixture f;
    fixture_open(&f, "small-dual8");
    facet_fqgan *m = load_fixture_model(&f, "fq_batch", 2);
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    facet_tensor inputs;
    char root[600];
    snprintf(root, sizeof root, "%s/tests/fixtures/fqgan", FACET_SOURCE_DIR);
    read_npy(&inputs, root, "inputs.npy");
    const size_t len = (size_t)c->grid * c->grid, image = (size_t)3 * 64 * 64;
    uint16_t both[2][128], one[2][64];
    uint16_t *both_p[2] = {both[0], both[1]};
    cr_assert_eq(facet_fqgan_encode(m, inputs.data, 2, both_p, NULL), FACET_OK);
    for (int b = 0; b < 2; b++) {
        uint16_t *one_p[2] = {one[0], one[1]};
        cr_assert_eq(facet_fqgan_encode(m, (const float *)inputs.data + b * image, 1, one_p, NULL),
                     FACET_OK);
        for (int k = 0; k < 2; k++)
            cr_assert_arr_eq(one[k], both[k] + b * len, len * sizeof(uint16_t));
    }
    facet_tensor_free(&inputs);
    facet_fqgan_free(m);
    fixture_close(&f);
}

Test(fqgan, batch_beyond_max_batch_and_bad_tokens_are_rejected) {
    fixture f;
    fixture_open(&f, "small-dual16");
    facet_fqgan *m = load_fixture_model(&f, "fq_limits", 1);
    float image[3 * 64 * 64] = {0};
    uint16_t a[32], b[32];
    uint16_t *idx[2] = {a, b};
    cr_assert_eq(facet_fqgan_encode(m, image, 2, idx, NULL), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "batch 2 outside [1, 1]"), "%s", facet_last_error());
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    b[5] = 512; /* the codebook has 512 codes: 0..511 */
    float out[3 * 64 * 64];
    cr_assert_eq(facet_fqgan_decode(m, (const uint16_t *const *)idx, 1, out),
                 FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "branch 'sem' token 5 is 512, the codebook has 512"), "%s",
              facet_last_error());
    facet_fqgan_free(m);
    fixture_close(&f);
}

/* ---- post-processing ------------------------------------------------------------------------- */

/* The reference's torch.clamp(127.5 x + 128, 0, 255).to(uint8) of its own reconstructions. */
Test(fqgan, to_uint8_matches_pytorch_on_reference_reconstructions) {
    static const char *const names[] = {"small-dual16", "small-dual8", "small-triple16",
                                        "small-triple8"};
    for (int i = 0; i < 4; i++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/tests/fixtures/fqgan/%s", FACET_SOURCE_DIR, names[i]);
        facet_tensor recon, u8;
        read_npy(&recon, dir, "reconstruction.npy");
        read_npy(&u8, dir, "reconstruction_u8.npy");
        const int batch = (int)recon.shape[0], h = (int)recon.shape[2], w = (int)recon.shape[3];
        uint8_t *out = facet_alloc((size_t)batch * h * w * 3, 1);
        for (int b = 0; b < batch; b++)
            facet_fqgan_to_uint8((const float *)recon.data + (size_t)b * 3 * h * w, w, h,
                                 out + (size_t)b * h * w * 3);
        cr_assert_arr_eq(out, u8.data, (size_t)batch * h * w * 3, "%s", names[i]);
        free(out);
        facet_tensor_free(&recon);
        facet_tensor_free(&u8);
    }
}

Test(fqgan, to_uint8_clamps_truncates_and_does_not_fuse) {
    /* x = -0.98823529... (bits 0xBF7CFCFD): 127.5 x rounds to float as -125.99999 + 128 -> 2.0
     * in two roundings (PyTorch); one fused rounding gives 1.99999 -> 1. */
    union {
        uint32_t u;
        float f;
    } boundary = {0xBF7CFCFDu};
    const float xs[8] = {-1.0f, 1.0f, 0.0f, -2.0f, 0.5f, 3.0f, NAN, boundary.f};
    const uint8_t expected[8] = {0, 255, 128, 0, 191, 255, 0, 2};
    float chw[3 * 8];
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 8; i++) chw[c * 8 + i] = xs[i];
    uint8_t hwc[8 * 3];
    facet_fqgan_to_uint8(chw, 8, 1, hwc);
    for (int i = 0; i < 8; i++)
        for (int c = 0; c < 3; c++)
            cr_assert_eq(hwc[i * 3 + c], expected[i], "x = %.9g -> %d, expected %d", xs[i],
                         hwc[i * 3 + c], expected[i]);
}

/* ---- default configuration ------------------------------------------------------------------- */

/* The official Dual-16 size: 111,294,355 inference parameters (counted from the module tree by
 * `tools/reference/fqgan_ref.py params --config dual16`; 150.4M with the training-only
 * feature-prediction head), and parity with the reference at that size (fixture dual16: hash
 * weights of seed 3, one 256x256 formula image): the Winograd convolutions of the 256/128/64
 * levels and the 16384-code lookups at full depth. */
Test(fqgan, default_dual16_has_official_sizes_and_matches_reference, .timeout = 240) {
    char config[1024];
    cr_assert_eq(facet_fqgan_default_config("dual", 16, config, sizeof config), FACET_OK);
    char *path = facet_path_join(test_scratch_dir("fq_default"), "dual16.safetensors");
    cr_assert_eq(facet_fqgan_write_random(path, config, 3), FACET_OK, "%s", facet_last_error());
    facet_fqgan *m = NULL;
    cr_assert_eq(facet_fqgan_load(&m, path, FACET_FQGAN_CPU, 1), FACET_OK, "%s",
                 facet_last_error());
    remove(path);
    free(path);
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    cr_assert_eq(c->parameter_count, 111294355LL, "%lld", (long long)c->parameter_count);
    cr_assert_eq(c->grid, 16);
    cr_assert_eq(c->codebook_size, 16384);
    /* formula_image of the reference: 0.75 sin(0.045 i + 0.03 (c + 1) j + c) cos(0.02 (i - j)) */
    const int size = 256;
    float *image = facet_alloc((size_t)3 * size * size, sizeof(float));
    for (int ch = 0; ch < 3; ch++)
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
                image[((size_t)ch * size + i) * size + j] =
                    (float)(0.75 * sin(0.045 * i + 0.03 * (ch + 1) * j + ch) * cos(0.02 * (i - j)));
    uint16_t tokens[2][256];
    float features[2][8 * 256];
    uint16_t *idx[2] = {tokens[0], tokens[1]};
    float *feat[2] = {features[0], features[1]};
    cr_assert_eq(facet_fqgan_encode(m, image, 1, idx, feat), FACET_OK, "%s", facet_last_error());
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/fqgan/dual16", FACET_SOURCE_DIR);
    for (int k = 0; k < 2; k++) {
        char file[64];
        facet_tensor ref_f, ref_i;
        snprintf(file, sizeof file, "features_%s.npy", c->branch_names[k]);
        read_npy(&ref_f, dir, file);
        snprintf(file, sizeof file, "indices_%s.npy", c->branch_names[k]);
        read_npy(&ref_i, dir, file);
        double worst = 0.0, peak = 0.0;
        for (int i = 0; i < 8 * 256; i++) {
            const double r = facet_tensor_get_f64(&ref_f, i);
            worst = fmax(worst, fabs(features[k][i] - r));
            peak = fmax(peak, fabs(r));
        }
        int equal = 0;
        for (int i = 0; i < 256; i++) equal += tokens[k][i] == facet_tensor_get_f64(&ref_i, i);
        cr_log_info("dual16 %s: index agreement %d/256, feature error %.3g relative",
                    c->branch_names[k], equal, worst / peak);
        cr_expect(equal >= 256 * 0.999, "dual16 %s: %d/256 indices agree", c->branch_names[k],
                  equal);
        cr_expect(worst <= 1e-4 * peak, "dual16 %s: feature error %.3g relative",
                  c->branch_names[k], worst / peak);
        facet_tensor_free(&ref_f);
        facet_tensor_free(&ref_i);
    }
    /* decode the reference's tokens; compare the central crop */
    uint16_t ref_tokens[2][256];
    for (int k = 0; k < 2; k++) {
        char file[64];
        facet_tensor ref_i;
        snprintf(file, sizeof file, "indices_%s.npy", c->branch_names[k]);
        read_npy(&ref_i, dir, file);
        for (int i = 0; i < 256; i++) ref_tokens[k][i] = (uint16_t)facet_tensor_get_f64(&ref_i, i);
        facet_tensor_free(&ref_i);
    }
    const uint16_t *ref_idx[2] = {ref_tokens[0], ref_tokens[1]};
    cr_assert_eq(facet_fqgan_decode(m, ref_idx, 1, image), FACET_OK, "%s", facet_last_error());
    facet_tensor crop;
    read_npy(&crop, dir, "reconstruction_crop.npy");
    const int lo = (size - 64) / 2;
    float *mine = facet_alloc((size_t)3 * 64 * 64, sizeof(float));
    for (int ch = 0; ch < 3; ch++)
        for (int i = 0; i < 64; i++)
            for (int j = 0; j < 64; j++)
                mine[(ch * 64 + i) * 64 + j] = image[((size_t)ch * size + lo + i) * size + lo + j];
    const double psnr = psnr_range2(mine, crop.data, (size_t)3 * 64 * 64);
    cr_log_info("dual16: reconstruction PSNR %.1f dB against the reference (central crop)", psnr);
    cr_expect(psnr >= 50.0, "dual16: reconstruction PSNR %.1f dB", psnr);
    facet_tensor_free(&crop);
    free(mine);
    free(image);
    facet_fqgan_free(m);
}

Test(fqgan, default_configs_cover_the_official_variants) {
    char config[1024];
    cr_assert_eq(facet_fqgan_default_config("triple", 8, config, sizeof config), FACET_OK);
    cr_assert(strstr(config, "\"grid\": 32"), "%s", config);
    cr_assert(strstr(config, "\"ch_mult\": [1, 2, 2, 4]"), "%s", config);
    cr_assert(strstr(config, "\"sem_high\""), "%s", config);
    cr_assert_eq(facet_fqgan_default_config("quad", 16, config, sizeof config),
                 FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "no official FQGAN config 'quad'"), "%s",
              facet_last_error());
}

/* ---- malformed weights ----------------------------------------------------------------------- */

/* Writes the small Dual-16 weights, then rewrites them with `variant` and `config` metadata,
 * without tensor `skip`, with tensor `reshape` given a wrong shape, and with an extra tensor
 * when `extra`. Returns the path of the rewritten file (static buffer). */
static const char *write_variant(const char *variant, const char *config, const char *skip,
                                 const char *reshape, int extra) {
    static char path[600];
    fixture f;
    fixture_open(&f, "small-dual16");
    const char *dir = test_scratch_dir("fq_bad");
    char *good = facet_path_join(dir, "good.safetensors");
    cr_assert_eq(facet_fqgan_write_random(good, f.config_json, 1), FACET_OK);
    facet_safetensors in;
    cr_assert_eq(facet_safetensors_open(&in, good), FACET_OK);
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_safetensors_writer_metadata(&w, "format", "facet-fqgan");
    facet_safetensors_writer_metadata(&w, "version", "1");
    facet_safetensors_writer_metadata(&w, "variant", variant);
    facet_safetensors_writer_metadata(&w, "config", config ? config : f.config_json);
    facet_tensor reshaped;
    for (int i = 0; i < in.count; i++) {
        const facet_safetensors_entry *e = &in.entries[i];
        if (skip && strcmp(e->name, skip) == 0) continue;
        if (reshape && strcmp(e->name, reshape) == 0) {
            reshaped = e->tensor;
            reshaped.ndim = 2;
            reshaped.shape[0] = e->tensor.shape[0] / 2;
            reshaped.shape[1] = facet_tensor_numel(&e->tensor) / reshaped.shape[0];
            facet_safetensors_writer_add(&w, e->name, &reshaped);
            continue;
        }
        facet_safetensors_writer_add(&w, e->name, &e->tensor);
    }
    float four[4] = {0};
    facet_tensor t = {FACET_DTYPE_F32, 1, {4}, four, FACET_MEMORY_HOST, 0};
    if (extra) facet_safetensors_writer_add(&w, "feat_pred_head.ln_pre.weight", &t);
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors_close(&in);
    free(good);
    fixture_close(&f);
    return path;
}

static void expect_load_error(const char *path, const char *fragment) {
    facet_fqgan *m = NULL;
    cr_assert_neq(facet_fqgan_load(&m, path, FACET_FQGAN_CPU, 1), FACET_OK);
    cr_assert_null(m);
    cr_assert(strstr(facet_last_error(), fragment), "message '%s' lacks '%s'", facet_last_error(),
              fragment);
    cr_assert(strstr(facet_last_error(), "bad.safetensors"), "names the file: %s",
              facet_last_error());
}

Test(fqgan, missing_tensor_is_named) {
    expect_load_error(
        write_variant("dual", NULL, "decoder.conv_blocks.1.res.0.nin_shortcut.bias", NULL, 0),
        "no tensor 'decoder.conv_blocks.1.res.0.nin_shortcut.bias'");
}

Test(fqgan, misshaped_tensor_is_named) {
    expect_load_error(
        write_variant("dual", NULL, NULL, "encoder.semantic_head.0.transformer.1.mlp.c_fc.weight",
                      0),
        "'encoder.semantic_head.0.transformer.1.mlp.c_fc.weight': expected F32 [512,128], got "
        "F32 [256,256]");
}

Test(fqgan, unexpected_tensor_is_named) {
    /* training-only heads are dropped by tools/convert_fqgan.py, never loaded */
    expect_load_error(write_variant("dual", NULL, NULL, NULL, 1),
                      "unexpected tensor 'feat_pred_head.ln_pre.weight'");
}

Test(fqgan, variant_metadata_disagreeing_with_config_is_rejected) {
    expect_load_error(write_variant("triple", NULL, NULL, NULL, 0),
                      "metadata 'variant' is 'triple' but the config describes 'dual'");
}

/* `config` with `key` set to the JSON `value` (a fresh allocation). */
static char *config_with(const char *config, const char *key, const char *value) {
    cJSON *root = cJSON_Parse(config), *v = cJSON_Parse(value);
    cr_assert(root && v);
    cJSON_ReplaceItemInObjectCaseSensitive(root, key, v);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

Test(fqgan, triple_config_on_dual_tensors_names_the_missing_branch) {
    fixture f;
    fixture_open(&f, "small-dual16");
    char *triple = config_with(f.config_json, "variant", "\"triple\"");
    char *config = config_with(triple, "branches", "[\"vis\", \"sem_mid\", \"sem_high\"]");
    expect_load_error(write_variant("triple", config, NULL, NULL, 0),
                      "no tensor 'encoder.semantic_head_mid.0.positional_embedding'");
    free(triple);
    free(config);
    fixture_close(&f);
}

Test(fqgan, unknown_variant_is_rejected) {
    fixture f;
    fixture_open(&f, "small-dual16");
    char *config = config_with(f.config_json, "variant", "\"quad\"");
    expect_load_error(write_variant("quad", config, NULL, NULL, 0),
                      "unknown variant 'quad' (expected \"dual\" or \"triple\")");
    free(config);
    fixture_close(&f);
}

Test(fqgan, inconsistent_sizes_are_rejected) {
    fixture f;
    fixture_open(&f, "small-dual16");
    char *config = config_with(f.config_json, "downsample", "8");
    expect_load_error(write_variant("dual", config, NULL, NULL, 0),
                      "downsample 8 does not match 5 levels of ch_mult (expected 16)");
    free(config);
    char *wide = config_with(f.config_json, "adapter_width", "256");
    expect_load_error(write_variant("dual", wide, NULL, NULL, 0),
                      "adapter_width 256 must equal the encoder's last width 128");
    free(wide);
    fixture_close(&f);
}

Test(fqgan, other_safetensors_are_rejected_with_a_hint) {
    const char *dir = test_scratch_dir("fq_other");
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    float one = 1.0f;
    facet_tensor t = {FACET_DTYPE_F32, 1, {1}, &one, FACET_MEMORY_HOST, 0};
    facet_safetensors_writer_add(&w, "x", &t);
    char *path = facet_path_join(dir, "bad.safetensors");
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK);
    facet_safetensors_writer_free(&w);
    expect_load_error(path, "not facet FQGAN weights (metadata 'format' is missing");
    cr_assert(strstr(facet_last_error(), "tools/convert_fqgan.py"), "%s", facet_last_error());
    free(path);
}

Test(fqgan, cuda_backend_without_a_gpu_fails_cleanly) {
    if (facet_cuda_available()) cr_skip_test("a CUDA device is present");
    fixture f;
    fixture_open(&f, "small-dual16");
    char *path = facet_path_join(test_scratch_dir("fq_cuda"), "w.safetensors");
    cr_assert_eq(facet_fqgan_write_random(path, f.config_json, 1), FACET_OK);
    facet_fqgan *m = NULL;
    cr_assert_eq(facet_fqgan_load(&m, path, FACET_FQGAN_CUDA_BF16, 1), FACET_ERR_CUDA);
    cr_assert_null(m);
    cr_assert(strstr(facet_last_error(), "CUDA"), "%s", facet_last_error());
    free(path);
    fixture_close(&f);
}

Test(fqgan, backend_names_round_trip) {
    facet_fqgan_backend b;
    cr_assert_eq(facet_fqgan_backend_parse("cuda-bf16", &b), FACET_OK);
    cr_assert_eq(b, FACET_FQGAN_CUDA_BF16);
    cr_assert_str_eq(facet_fqgan_backend_name(FACET_FQGAN_CUDA_TF32), "cuda-tf32");
    cr_assert_eq(facet_fqgan_backend_parse("cuda", &b), FACET_OK);
    cr_assert_eq(b, FACET_FQGAN_CUDA_FP32);
    cr_assert_eq(facet_fqgan_backend_parse("cpu-bf16", &b), FACET_OK);
    cr_assert_eq(b, FACET_FQGAN_CPU_BF16);
    cr_assert_eq(facet_fqgan_backend_for(NULL, "bf16", &b), FACET_OK);
    cr_assert_eq(b, FACET_FQGAN_CPU_BF16);
    cr_assert_eq(facet_fqgan_backend_for("cuda", NULL, &b), FACET_OK);
    cr_assert_eq(b, FACET_FQGAN_CUDA_FP32);
    cr_assert_eq(facet_fqgan_backend_for("cuda", "tf32", &b), FACET_OK);
    cr_assert_eq(b, FACET_FQGAN_CUDA_TF32);
    cr_assert_eq(facet_fqgan_backend_for("cpu", "tf32", &b), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "tf32"), "%s", facet_last_error());
    cr_assert_eq(facet_fqgan_backend_for("cpu", "fp8", &b), FACET_ERR_INVALID_ARGUMENT);
    cr_assert_eq(facet_fqgan_backend_for("tpu", NULL, &b), FACET_ERR_INVALID_ARGUMENT);
    cr_assert_eq(facet_fqgan_backend_parse("tpu", &b), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "unknown FQGAN backend 'tpu'"), "%s", facet_last_error());
}

/* ---- the CPU backend's convolutions against a direct double-precision sum ---------------------
 * Every path of cpu_conv: Winograd F(4x4) (tile rows grouped per task, output channels split
 * between tasks, partial tiles at 36x36, runs of 64 tiles on a 300-wide image), F(2x2) (below
 * 32x32, partial tiles at 13x13), im2col (under 16 input channels, below 8x8, stride 2) and 1x1,
 * each with and without a residual, at batch 1 to 3. Bound: Winograd
 * F(4x4, 3x3)'s transforms scale fp32 rounding by at most ~100 (the sums of |coefficients|), so
 * |y - exact| <= 100 * 2^-24 * 9 * (sum |w x| + |b| + |add|), about 5e-5 of the magnitude. */
/* product_factor: the products' own relative error bound (0 in float32; split products: see
 * fqgan_cpu.split_convolutions_stay_within_the_split_bound), on top of the float32 bound. */
static void check_cpu_conv_within(fqgan_backend *be, fqgan_conv_mode mode, int k, int cin, int cout,
                                  int h, int w, int batch, int residual, double product_factor,
                                  int fixed_point, double fixed) {
    int ho = h, wo = w;
    if (mode == FQGAN_CONV_DOWNSAMPLE) ho = (h - 2) / 2 + 1, wo = (w - 2) / 2 + 1;
    if (mode == FQGAN_CONV_UPSAMPLE) ho = 2 * h, wo = 2 * w;
    fqgan_conv c = {.cin = cin, .cout = cout, .k = k, .mode = mode, .out_size = ho};
    const size_t nw = (size_t)cout * cin * k * k, nx = (size_t)batch * cin * h * w,
                 ny = (size_t)batch * cout * ho * wo;
    float *wt = malloc(nw * sizeof *wt), *b = malloc(cout * sizeof *b), *x = malloc(nx * sizeof *x);
    float *y = malloc(ny * sizeof *y), *add = malloc(ny * sizeof *add);
    facet_rng rng = facet_rng_seed(12345, (uint64_t)(mode * 100 + cin));
    for (size_t i = 0; i < nw; i++) wt[i] = (2 * facet_rng_uniform(&rng) - 1) / sqrtf(9.0f * cin);
    for (int i = 0; i < cout; i++) b[i] = facet_rng_uniform(&rng) - 0.5f;
    for (size_t i = 0; i < nx; i++) x[i] = 4 * facet_rng_uniform(&rng) - 2;
    for (size_t i = 0; i < ny; i++) add[i] = 2 * facet_rng_uniform(&rng) - 1;
    c.w = wt, c.b = b, c.fixed_point = fixed_point;
    cr_assert_eq(be->ops->prepare_conv(be, &c), FACET_OK);
    cr_assert_eq(be->ops->conv(be, &c, x, batch, h, w, residual ? add : NULL, y), FACET_OK, "%s",
                 facet_last_error());
    for (int bi = 0; bi < batch; bi++)
        for (int o = 0; o < cout; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    const size_t at = (((size_t)bi * cout + o) * ho + oy) * wo + ox;
                    double sum = b[o], mag = fabs(b[o]), w_max = 0.0, col_max = 0.0;
                    if (residual) sum += add[at], mag += fabs(add[at]);
                    for (int ci = 0; ci < cin; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                const double wv = wt[((size_t)o * cin + ci) * k * k + ky * k + kx];
                                w_max = fmax(w_max, fabs(wv));
                                const int iy = k == 1 ? oy : fqgan_conv_source(mode, oy, ky, h);
                                const int ix = k == 1 ? ox : fqgan_conv_source(mode, ox, kx, w);
                                if (iy < 0 || ix < 0) continue;
                                const double xv = x[(((size_t)bi * cin + ci) * h + iy) * w + ix];
                                col_max = fmax(col_max, fabs(xv));
                                sum += wv * xv, mag += fabs(wv * xv);
                            }
                    /* fixed point: k_rows amax_a amax_b of the product's row (the weights of
                     * output o) and column (the pixel's im2col column) */
                    const double err = fabs(y[at] - sum),
                                 bound = (100 * 0x1p-24 * 9 + product_factor) * mag +
                                         fixed * cin * k * k * w_max * col_max;
                    cr_assert(isfinite(y[at]) && err <= bound,
                              "mode %d k %d %dx%d->%dx%d batch %d: y[%d,%d,%d,%d] = %.8g, want "
                              "%.8g (bound %.3g)",
                              mode, k, h, w, ho, wo, batch, bi, o, oy, ox, y[at], sum, bound);
                }
    free(wt), free(b), free(x), free(y), free(add);
}

static void check_cpu_conv(fqgan_backend *be, fqgan_conv_mode mode, int k, int cin, int cout, int h,
                           int w, int batch, int residual) {
    check_cpu_conv_within(be, mode, k, cin, cout, h, w, batch, residual, 0.0, 0, 0.0);
}

Test(fqgan_cpu, convolutions_match_a_direct_double_sum_on_every_path) {
    fqgan_arch arch = {
        .ch = 16, .levels = 1, .ch_mult = {4}, .z_channels = 8, .grid = 4, .adapter_heads = 1};
    fqgan_backend *be = NULL;
    cr_assert_eq(fqgan_cpu_backend_create(&be, &arch, 3, 0), FACET_OK);
    for (int residual = 0; residual < 2; residual++) {
        /* Winograd: partial tiles, grouped rows, split channels (batch 1), 20 channels */
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 16, 20, 36, 36, 1, residual);
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 16, 20, 36, 36, 3, residual);
        check_cpu_conv(be, FQGAN_CONV_UPSAMPLE, 3, 24, 14, 18, 18, 1, residual);
        /* Winograd: a 300-wide row is two runs of tiles (the first in 16-window vector
         * blocks, the second in the scalar tail) */
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 16, 7, 40, 300, 1, residual);
        /* Winograd: grouped rows of 18 windows (a vector block and a tail, each row from an
         * unaligned window), directly and upsampled */
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 16, 6, 70, 70, 1, residual);
        check_cpu_conv(be, FQGAN_CONV_UPSAMPLE, 3, 16, 5, 20, 36, 1, residual);
        /* Winograd F(2x2): below 32x32, even and odd (partial tiles), split channels, and a
         * 100-wide strip (50 windows: vector blocks and a tail) */
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 16, 13, 20, 20, 3, residual);
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 20, 30, 13, 13, 1, residual);
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 16, 9, 10, 100, 1, residual);
        /* im2col: under 16 input channels, below 8x8, stride 2, 1x1 */
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 8, 13, 20, 20, 2, residual);
        check_cpu_conv(be, FQGAN_CONV_SAME, 3, 16, 5, 7, 7, 1, residual);
        check_cpu_conv(be, FQGAN_CONV_DOWNSAMPLE, 3, 16, 8, 37, 37, 2, residual);
        check_cpu_conv(be, FQGAN_CONV_UPSAMPLE, 3, 8, 9, 7, 7, 1, residual);
        check_cpu_conv(be, FQGAN_CONV_SAME, 1, 24, 10, 33, 33, 2, residual);
    }
    be->ops->destroy(be);
}

/* ---- the cpu-bf16 backend's convolutions ------------------------------------------------------
 * A conv marked reduced_precision on the cpu-bf16 backend runs its F(4x4) products on bf16
 * operands. Bound, from the algorithm: y = A^T [sum_ci U . V] A + bias (+ add), U = G g G^T,
 * V = B^T d B per 6x6 window. Rounding U and V to bf16 (2^-9 relative each) moves each product
 * by at most 2^-8 (1 + 2^-9) |U V|, so output (i, j) of a tile moves by at most
 *     2^-8 (1 + 2^-9) sum_{p,q} |A^T[i][p]| |A^T[j][q]| sum_ci |U_pq| |V_pq|
 * (U and V taken in double here: their float versions differ by float rounding, covered by the
 * 1 + 2^-9), plus the float32 bound of check_cpu_conv. An unmarked conv on the same backend must
 * give the cpu backend's bits. */
static const double T_G[6][3] = {{1.0 / 4, 0, 0},
                                 {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                 {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                 {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                 {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                 {0, 0, 1}};
static const double T_BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                  {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double T_AT[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
/* F(2x2, 3x3), the CPU's form below 32x32, in the same 6-point arrays (rows and columns past 4
 * unused) */
static const double T2_G[6][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double T2_BT[6][6] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const double T2_AT[4][6] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

/* x at row Y, column X of the conv's (upsampled, for FQGAN_CONV_UPSAMPLE) input, 0 outside */
static double virtual_input(const float *plane, fqgan_conv_mode mode, int h, int w, int Y, int X) {
    const int up = mode == FQGAN_CONV_UPSAMPLE, hh = up ? 2 * h : h, ww = up ? 2 * w : w;
    if (Y < 0 || X < 0 || Y >= hh || X >= ww) return 0.0;
    return up ? plane[(size_t)(Y / 2) * w + X / 2] : plane[(size_t)Y * w + X];
}

/* Checks conv (cin -> cout at h x w, marked reduced_precision or not) on `be` against a direct
 * double sum, within `factor` sum_{p,q} |A^T[i][p]| |A^T[j][q]| sum_ci |U_pq| |V_pq| plus the
 * float32 bound, with the transforms of the Winograd form the backend uses at that size (F(4x4)
 * from 32x32 up, F(2x2) below). With plain_is_fp32, the same conv unmarked must give the fp32
 * backend's bits. *worst: the largest error in units of the float32 bound. */
static void check_cpu_conv_bounded(fqgan_backend *be, fqgan_backend *fp32, fqgan_conv_mode mode,
                                   int cin, int cout, int h, int w, int residual, int marked,
                                   double factor, int fixed_point, double fixed, int plain_is_fp32,
                                   double *worst) {
    const int up = mode == FQGAN_CONV_UPSAMPLE, ho = up ? 2 * h : h, wo = up ? 2 * w : w;
    const size_t nw = (size_t)cout * cin * 9, nx = (size_t)cin * h * w, ny = (size_t)cout * ho * wo;
    float *wt = malloc(nw * sizeof *wt), *b = malloc(cout * sizeof *b), *x = malloc(nx * sizeof *x);
    float *y = malloc(ny * sizeof *y), *y32 = malloc(ny * sizeof *y),
          *add = malloc(ny * sizeof *add);
    double *U = malloc(sizeof(double) * 36 * cout * cin), *V = malloc(sizeof(double) * 36 * cin);
    const int a = ho * wo >= 32 * 32 ? 6 : 4, m = a - 2; /* window and tile sides */
    const double(*G)[3] = a == 6 ? T_G : T2_G, (*BT)[6] = a == 6 ? T_BT : T2_BT,
          (*AT)[6] = a == 6 ? T_AT : T2_AT;
    facet_rng rng = facet_rng_seed(777, (uint64_t)(mode * 100 + cin));
    for (size_t i = 0; i < nw; i++) wt[i] = (2 * facet_rng_uniform(&rng) - 1) / sqrtf(9.0f * cin);
    for (int i = 0; i < cout; i++) b[i] = facet_rng_uniform(&rng) - 0.5f;
    for (size_t i = 0; i < nx; i++) x[i] = 4 * facet_rng_uniform(&rng) - 2;
    for (size_t i = 0; i < ny; i++) add[i] = 2 * facet_rng_uniform(&rng) - 1;
    fqgan_conv c = {
        .cin = cin, .cout = cout, .k = 3, .mode = mode, .out_size = ho, .w = wt, .b = b};
    fqgan_conv plain = c;
    c.reduced_precision = marked;
    c.fixed_point = fixed_point;
    cr_assert_eq(be->ops->prepare_conv(be, &c), FACET_OK);
    cr_assert_eq(be->ops->conv(be, &c, x, 1, h, w, residual ? add : NULL, y), FACET_OK);
    fqgan_conv plain32 = plain;
    cr_assert_eq(fp32->ops->prepare_conv(fp32, &plain32), FACET_OK);
    cr_assert_eq(fp32->ops->conv(fp32, &plain32, x, 1, h, w, residual ? add : NULL, y32), FACET_OK);
    cr_assert_neq(memcmp(y, y32, ny * sizeof *y32), 0, "the conv gave float32's bits");
    float *y_plain = malloc(ny * sizeof *y_plain);
    if (plain_is_fp32) { /* unmarked: the float32 path, bit for bit */
        cr_assert_eq(be->ops->prepare_conv(be, &plain), FACET_OK);
        cr_assert_eq(be->ops->conv(be, &plain, x, 1, h, w, residual ? add : NULL, y_plain),
                     FACET_OK);
        cr_assert_eq(memcmp(y_plain, y32, ny * sizeof *y32), 0,
                     "an unmarked conv changed on cpu-bf16");
    }
    for (int o = 0; o < cout; o++)
        for (int ci = 0; ci < cin; ci++) {
            const float *g = wt + ((size_t)o * cin + ci) * 9;
            for (int p = 0; p < a; p++)
                for (int q = 0; q < a; q++) {
                    double u = 0.0;
                    for (int r = 0; r < 3; r++)
                        for (int s = 0; s < 3; s++) u += G[p][r] * g[3 * r + s] * G[q][s];
                    U[((size_t)(p * a + q) * cout + o) * cin + ci] = u;
                }
        }
    for (int ty = 0; ty < (ho + m - 1) / m; ty++)
        for (int tx = 0; tx < (wo + m - 1) / m; tx++) {
            for (int ci = 0; ci < cin; ci++) {
                const float *plane = x + (size_t)ci * h * w;
                for (int p = 0; p < a; p++)
                    for (int q = 0; q < a; q++) {
                        double v = 0.0;
                        for (int r = 0; r < a; r++)
                            for (int s = 0; s < a; s++)
                                v += BT[p][r] * BT[q][s] *
                                     virtual_input(plane, mode, h, w, m * ty - 1 + r,
                                                   m * tx - 1 + s);
                        V[(size_t)(p * a + q) * cin + ci] = v;
                    }
            }
            for (int o = 0; o < cout; o++) {
                double mag_w[36], mag_fixed[36]; /* sum_ci |U_pq| |V_pq|; cin max |U| max |V| */
                for (int pq = 0; pq < a * a; pq++) {
                    double u_max = 0.0, v_max = 0.0;
                    mag_w[pq] = 0.0;
                    for (int ci = 0; ci < cin; ci++) {
                        const double u = U[((size_t)pq * cout + o) * cin + ci],
                                     v = V[(size_t)pq * cin + ci];
                        mag_w[pq] += fabs(u * v);
                        u_max = fmax(u_max, fabs(u)), v_max = fmax(v_max, fabs(v));
                    }
                    mag_fixed[pq] = cin * u_max * v_max;
                }
                for (int i = 0; i < m && m * ty + i < ho; i++)
                    for (int j = 0; j < m && m * tx + j < wo; j++) {
                        const int oy = m * ty + i, ox = m * tx + j;
                        const size_t at = ((size_t)o * ho + oy) * wo + ox;
                        double sum = b[o], mag = fabs(b[o]), bf = 0.0, bq = 0.0;
                        if (residual) sum += add[at], mag += fabs(add[at]);
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    const double t =
                                        (double)wt[((size_t)o * cin + ci) * 9 + ky * 3 + kx] *
                                        virtual_input(x + (size_t)ci * h * w, mode, h, w,
                                                      oy - 1 + ky, ox - 1 + kx);
                                    sum += t, mag += fabs(t);
                                }
                        for (int p = 0; p < a; p++)
                            for (int q = 0; q < a; q++) {
                                bf += fabs(AT[i][p] * AT[j][q]) * mag_w[p * a + q];
                                bq += fabs(AT[i][p] * AT[j][q]) * mag_fixed[p * a + q];
                            }
                        const double fp_bound = 100 * 0x1p-24 * 9 * mag;
                        const double bound = factor * bf + fixed * bq + fp_bound;
                        const double err = fabs(y[at] - sum);
                        cr_assert(isfinite(y[at]) && err <= bound,
                                  "marked %d mode %d %d->%d %dx%d: y[%d,%d,%d] = %.8g, want %.8g "
                                  "(bound %.3g)",
                                  marked, mode, cin, cout, h, w, o, oy, ox, y[at], sum, bound);
                        if (err / fp_bound > *worst) *worst = err / fp_bound;
                    }
            }
        }
    free(wt), free(b), free(x), free(y), free(y32), free(y_plain), free(add), free(U), free(V);
}

static void check_cpu_conv_reduced(fqgan_backend *be, fqgan_backend *fp32, fqgan_conv_mode mode,
                                   int cin, int cout, int h, int w, int residual, int marked,
                                   double factor, int plain_is_fp32, double *worst) {
    check_cpu_conv_bounded(be, fp32, mode, cin, cout, h, w, residual, marked, factor, 0, 0.0,
                           plain_is_fp32, worst);
}

/* The small arch of the cpu-bf16 conv tests, and a backend of `precision` for it (batches up to
 * max_batch); where this CPU has no AVX-512 BF16 the backend must be refused, and the test is
 * skipped. */
static const fqgan_arch BF16_TEST_ARCH = {
    .ch = 16, .levels = 1, .ch_mult = {4}, .z_channels = 8, .grid = 4, .adapter_heads = 1};

static fqgan_backend *cpu_bf16_backend_or_skip(fqgan_cpu_precision precision, int max_batch) {
    fqgan_backend *be = NULL;
    if (!facet_gemm_bf16_native()) {
        cr_assert_eq(fqgan_cpu_backend_create(&be, &BF16_TEST_ARCH, 1, precision),
                     FACET_ERR_UNSUPPORTED);
        cr_skip_test("this CPU has no AVX-512 BF16: the cpu-bf16 backend is refused");
    }
    cr_assert_eq(fqgan_cpu_backend_create(&be, &BF16_TEST_ARCH, max_batch, precision), FACET_OK);
    return be;
}

Test(fqgan_cpu, bf16_convolutions_stay_within_the_bf16_rounding_bound) {
    fqgan_backend *be = cpu_bf16_backend_or_skip(FQGAN_CPU_BF16_NO_SPLIT, 1), *fp32 = NULL;
    cr_assert_eq(fqgan_cpu_backend_create(&fp32, &BF16_TEST_ARCH, 1, FQGAN_CPU_FP32), FACET_OK);
    double worst = 0.0; /* largest error in units of the float32 bound: > 1 shows bf16 ran */
    const double bf16 = 0x1p-8 * (1 + 0x1p-9);
    for (int residual = 0; residual < 2; residual++) {
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 32, 20, 36, 36, residual, 1, bf16, 1,
                               &worst);
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_UPSAMPLE, 24, 14, 18, 18, residual, 1, bf16, 1,
                               &worst);
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 16, 7, 32, 300, residual, 1, bf16, 1,
                               &worst);
    }
    cr_log_info("bf16 convolutions: worst error %.1f x the float32 bound", worst);
    cr_expect_gt(worst, 1.0, "the marked convs ran within the float32 bound: not in bf16?");
    be->ops->destroy(be);
    fp32->ops->destroy(fp32);
}

/* The split products (cpu-bf16 where the AMX kernel runs; forced here on any bf16 kernel): every
 * unmarked conv, on each path, within the split bound of nn/gemm_bf16.h carried through the
 * transforms as for bf16 above: u^2 (3 + 2u) (1 + 2^-9) per Winograd-domain product (u = 2^-8;
 * the 1 + 2^-9 covers U and V taken in double), plus the float32 sums of 3 cin terms instead of
 * cin, (3 cin + 2) 2^-24 (1 + 2u)^3; im2col and 1x1 products: the same on the direct sum's
 * magnitudes with k_rows = cin k^2. Marked convs stay bf16. Plain bf16 in place of the split
 * (the cross terms dropped) breaks the bound at the first case by 3.5x. */
/* The im2col and 1x1 convs of the split and fixed-point tests: under 16 channels, below 8x8,
 * stride 2, upsampling below 8x8, and 1x1; each with at least 32 rows of k
 * (IM2COL_SPLIT_MIN_ROWS), so that the products run split or as digits. */
typedef struct direct_case {
    fqgan_conv_mode mode;
    int k, cin, cout, h, w, batch;
} direct_case;

static const direct_case DIRECT_CASES[] = {{FQGAN_CONV_SAME, 3, 8, 13, 20, 20, 2},
                                           {FQGAN_CONV_SAME, 3, 16, 5, 7, 7, 1},
                                           {FQGAN_CONV_DOWNSAMPLE, 3, 16, 8, 37, 37, 2},
                                           {FQGAN_CONV_UPSAMPLE, 3, 8, 9, 7, 7, 1},
                                           {FQGAN_CONV_SAME, 1, 40, 10, 33, 33, 2}};

static double split_factor(int terms) {
    const double u = 0x1p-8;
    return u * u * (3 + 2 * u) * (1 + 0x1p-9) + (3.0 * terms + 2) * 0x1p-24 * pow(1 + 2 * u, 3);
}

Test(fqgan_cpu, split_convolutions_stay_within_the_split_bound) {
    fqgan_backend *be = cpu_bf16_backend_or_skip(FQGAN_CPU_BF16_SPLIT, 3), *fp32 = NULL;
    cr_assert_eq(fqgan_cpu_backend_create(&fp32, &BF16_TEST_ARCH, 3, FQGAN_CPU_FP32), FACET_OK);
    double worst = 0.0;
    const double bf16 = 0x1p-8 * (1 + 0x1p-9);
    for (int residual = 0; residual < 2; residual++) {
        /* F(4x4): unmarked split, marked bf16 */
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 32, 20, 36, 36, residual, 0,
                               split_factor(32), 0, &worst);
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_UPSAMPLE, 24, 14, 18, 18, residual, 0,
                               split_factor(24), 0, &worst);
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 16, 7, 32, 300, residual, 0,
                               split_factor(16), 0, &worst);
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 16, 6, 70, 70, residual, 0,
                               split_factor(16), 0, &worst);
        double marked = 0.0;
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 32, 20, 36, 36, residual, 1, bf16, 0,
                               &marked);
        /* F(2x2), even and odd sizes */
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 16, 13, 20, 20, residual, 0,
                               split_factor(16), 0, &worst);
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 20, 30, 13, 13, residual, 0,
                               split_factor(20), 0, &worst);
        check_cpu_conv_reduced(be, fp32, FQGAN_CONV_SAME, 16, 9, 10, 100, residual, 0,
                               split_factor(16), 0, &worst);
        for (size_t i = 0; i < sizeof DIRECT_CASES / sizeof *DIRECT_CASES; i++) {
            const direct_case *d = &DIRECT_CASES[i];
            check_cpu_conv_within(be, d->mode, d->k, d->cin, d->cout, d->h, d->w, d->batch,
                                  residual, split_factor(d->cin * d->k * d->k), 0, 0.0);
        }
    }
    cr_log_info("split convolutions: worst error %.1f x the float32 bound", worst);
    be->ops->destroy(be);
    fp32->ops->destroy(fp32);
}

/* conv on backends `a` and `b` (fixed_point as given, never reduced_precision): 1 when both give
 * the same bits. */
static int same_conv_bits(fqgan_backend *a, fqgan_backend *b, fqgan_conv_mode mode, int k, int cin,
                          int cout, int h, int w, int fixed_point) {
    int ho = h, wo = w;
    if (mode == FQGAN_CONV_DOWNSAMPLE) ho = (h - 2) / 2 + 1, wo = (w - 2) / 2 + 1;
    if (mode == FQGAN_CONV_UPSAMPLE) ho = 2 * h, wo = 2 * w;
    const size_t nw = (size_t)cout * cin * k * k, nx = (size_t)cin * h * w,
                 ny = (size_t)cout * ho * wo;
    float *wt = malloc(nw * sizeof *wt), *bias = malloc(cout * sizeof *bias),
          *x = malloc(nx * sizeof *x), *ya = malloc(ny * sizeof *ya), *yb = malloc(ny * sizeof *yb);
    facet_rng rng = facet_rng_seed(31, (uint64_t)(cin * 100 + cout));
    for (size_t i = 0; i < nw; i++) wt[i] = (2 * facet_rng_uniform(&rng) - 1) / sqrtf(9.0f * cin);
    for (int i = 0; i < cout; i++) bias[i] = facet_rng_uniform(&rng) - 0.5f;
    for (size_t i = 0; i < nx; i++) x[i] = 4 * facet_rng_uniform(&rng) - 2;
    fqgan_conv ca = {.cin = cin,
                     .cout = cout,
                     .k = k,
                     .mode = mode,
                     .out_size = ho,
                     .w = wt,
                     .b = bias,
                     .fixed_point = fixed_point};
    fqgan_conv cb = ca;
    cr_assert_eq(a->ops->prepare_conv(a, &ca), FACET_OK);
    cr_assert_eq(b->ops->prepare_conv(b, &cb), FACET_OK);
    cr_assert_eq(a->ops->conv(a, &ca, x, 1, h, w, NULL, ya), FACET_OK);
    cr_assert_eq(b->ops->conv(b, &cb, x, 1, h, w, NULL, yb), FACET_OK);
    const int same = memcmp(ya, yb, ny * sizeof *ya) == 0;
    free(wt), free(bias), free(x), free(ya), free(yb);
    return same;
}

/* Convs marked fixed_point on a backend that runs them as int8 digits (cpu-bf16 where AMX-INT8
 * runs; forced here on the C kernel elsewhere): within nn/gemm_i8.h's bound carried through the
 * transforms. Per Winograd-domain product of row (point, o) and column (tile, point) the error is
 * at most cin max_ci |U| max_ci |V| FACET_I8X2_ERROR + 2^-21 |M|, with U and V's maxima taken in
 * double here ((1 + 2^-9)^2 covers their float versions), so output (i, j) of a tile moves by
 * at most sum_{p,q} |A^T[i][p]| |A^T[j][q]| of that, plus the float32 bound; im2col and 1x1:
 * k_rows max |w| max |column| FACET_I8X2_ERROR. The bound is a worst case: errors reach 1/10 to
 * 1/50 of it (at 1/50 the test fails), and hi digits alone (lo dropped: 128x the error) break
 * it. Unmarked convs on the same backend give the split backend's bits, and marked ones differ
 * from them (the digits ran). */
Test(fqgan_cpu, fixed_point_convolutions_stay_within_the_int8_digit_bound) {
    fqgan_backend *be = cpu_bf16_backend_or_skip(FQGAN_CPU_BF16_I8, 3), *split = NULL, *fp32 = NULL;
    cr_assert_eq(fqgan_cpu_backend_create(&split, &BF16_TEST_ARCH, 3, FQGAN_CPU_BF16_SPLIT),
                 FACET_OK);
    cr_assert_eq(fqgan_cpu_backend_create(&fp32, &BF16_TEST_ARCH, 3, FQGAN_CPU_FP32), FACET_OK);
    const double fixed = FACET_I8X2_ERROR * (1 + 0x1p-9) * (1 + 0x1p-9), rel = 0x1p-21;
    double worst = 0.0;
    for (int residual = 0; residual < 2; residual++) {
        /* F(4x4): one segment, upsampling, runs along wide rows; F(2x2), even and odd */
        const int wino[][5] = {{FQGAN_CONV_SAME, 32, 20, 36, 36},
                               {FQGAN_CONV_UPSAMPLE, 24, 14, 18, 18},
                               {FQGAN_CONV_SAME, 16, 7, 32, 300},
                               {FQGAN_CONV_SAME, 17, 33, 13, 13},
                               {FQGAN_CONV_SAME, 16, 13, 20, 20}};
        for (size_t i = 0; i < sizeof wino / sizeof *wino; i++)
            check_cpu_conv_bounded(be, fp32, (fqgan_conv_mode)wino[i][0], wino[i][1], wino[i][2],
                                   wino[i][3], wino[i][4], residual, 0, rel, 1, fixed, 0, &worst);
        for (size_t i = 0; i < sizeof DIRECT_CASES / sizeof *DIRECT_CASES; i++) {
            const direct_case *d = &DIRECT_CASES[i];
            check_cpu_conv_within(be, d->mode, d->k, d->cin, d->cout, d->h, d->w, d->batch,
                                  residual, rel, 1, fixed);
        }
    }
    cr_log_info("fixed-point convolutions: worst error %.1f x the float32 bound", worst);
    cr_expect_gt(worst, 1.0, "the marked convs ran within the float32 bound: not as digits?");
    /* unmarked: split bf16's bits; marked: not (Winograd F(4x4) and F(2x2), im2col, 1x1) */
    cr_expect(same_conv_bits(be, split, FQGAN_CONV_SAME, 3, 32, 20, 36, 36, 0));
    cr_expect(same_conv_bits(be, split, FQGAN_CONV_SAME, 1, 40, 10, 33, 33, 0));
    cr_expect(!same_conv_bits(be, split, FQGAN_CONV_SAME, 3, 32, 20, 36, 36, 1));
    cr_expect(!same_conv_bits(be, split, FQGAN_CONV_SAME, 3, 17, 33, 13, 13, 1));
    cr_expect(!same_conv_bits(be, split, FQGAN_CONV_DOWNSAMPLE, 3, 16, 8, 37, 37, 1));
    cr_expect(!same_conv_bits(be, split, FQGAN_CONV_SAME, 1, 40, 10, 33, 33, 1));
    be->ops->destroy(be);
    split->ops->destroy(split);
    fp32->ops->destroy(fp32);
}

/* The CPU GroupNorm (+ swish) against statistics in double on the same float input: groups of
 * 2 x 1,500 elements (one full 1,024-element block and a partial one, not a multiple of the 16
 * lanes), batch 2, data centred at 3 with unit spread and a per-block drift, so the merge of the
 * blocks' means and deviations matters. Bound: a lane sums 64 values below 8 in float (error at
 * most 64 ulp(512) / 2 = 2e-3), so each block mean is off by under 2e-3 * 16 / 1024 = 3e-5 of
 * the unit spread, the variance by O(that^2); the apply step adds a few ulp of |y| < 8. Hence
 * |y - y_double| <= 5e-5 (swish is 1-Lipschitz in this range; its facet_expf adds < 1e-6). */
Test(fqgan_cpu, group_norm_matches_double_statistics_over_partial_blocks) {
    enum { BATCH = 2, CHANNELS = 64, HW = 1500 };
    fqgan_arch arch = {
        .ch = 16, .levels = 1, .ch_mult = {4}, .z_channels = 8, .grid = 4, .adapter_heads = 1};
    fqgan_backend *be = NULL;
    cr_assert_eq(fqgan_cpu_backend_create(&be, &arch, 3, 0), FACET_OK);
    const size_t n = (size_t)BATCH * CHANNELS * HW;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    float gamma[CHANNELS], beta[CHANNELS];
    facet_rng rng = facet_rng_seed(9, 4);
    for (size_t i = 0; i < n; i++)
        x[i] = 3.0f + 0.5f * (float)((i / 1024) % 3) + 2 * facet_rng_uniform(&rng) - 1;
    for (int c = 0; c < CHANNELS; c++)
        gamma[c] = 0.5f + facet_rng_uniform(&rng), beta[c] = facet_rng_uniform(&rng) - 0.5f;
    const fqgan_norm norm = {.channels = CHANNELS, .gamma = gamma, .beta = beta};
    const int per_group = CHANNELS / FQGAN_GROUPS;
    for (int swish = 0; swish < 2; swish++) {
        cr_assert_eq(be->ops->group_norm(be, &norm, x, BATCH, HW, swish, y), FACET_OK);
        for (int bg = 0; bg < BATCH * FQGAN_GROUPS; bg++) {
            const size_t start = (size_t)bg * per_group * HW, count = (size_t)per_group * HW;
            double mean = 0.0, var = 0.0;
            for (size_t i = 0; i < count; i++) mean += x[start + i];
            mean /= (double)count;
            for (size_t i = 0; i < count; i++) var += (x[start + i] - mean) * (x[start + i] - mean);
            var /= (double)count;
            for (size_t i = 0; i < count; i++) {
                const int c = (bg % FQGAN_GROUPS) * per_group + (int)(i / HW);
                double want =
                    (x[start + i] - mean) / sqrt(var + FQGAN_GROUP_NORM_EPS) * gamma[c] + beta[c];
                if (swish) want = want / (1.0 + exp(-want));
                const float got = y[start + i];
                cr_assert(isfinite(got) && fabs(got - want) <= 5e-5,
                          "swish %d group %d element %zu: %.8g, want %.8g", swish, bg, i, got,
                          want);
            }
        }
    }
    free(x), free(y);
    be->ops->destroy(be);
}

/* The CPU quantiser's lanes (16 codebook rows at a time) give fqgan_nearest_code's index on every
 * position: a codebook that is not a multiple of 16 rows, exact ties between duplicated rows (the
 * lower index wins), a zero vector (every score 0: index 0) and a NaN vector (index 0). */
Test(fqgan_cpu, quantiser_lanes_pick_the_reference_code_ties_included) {
    enum { COUNT = 1007, DIM = 8, HW = 300, BATCH = 2 };
    fqgan_arch arch = {
        .ch = 16, .levels = 1, .ch_mult = {4}, .z_channels = 8, .grid = 4, .adapter_heads = 1};
    fqgan_backend *be = NULL;
    cr_assert_eq(fqgan_cpu_backend_create(&be, &arch, 3, 0), FACET_OK);
    facet_rng rng = facet_rng_seed(5, 17);
    float *codes = malloc(sizeof(float) * COUNT * DIM),
          *z = malloc(sizeof(float) * BATCH * DIM * HW);
    uint16_t *got = malloc(sizeof(uint16_t) * BATCH * HW);
    cr_assert(codes && z && got);
    for (int j = 0; j < COUNT; j++) {
        float ss = 0.0f;
        for (int d = 0; d < DIM; d++) {
            codes[j * DIM + d] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
            ss += codes[j * DIM + d] * codes[j * DIM + d];
        }
        for (int d = 0; d < DIM; d++) codes[j * DIM + d] /= sqrtf(ss);
    }
    const int dup_of[][2] = {{20, 500}, {3, 1000}, {999, 1006}, {40, 41}}; /* {kept, copy} */
    for (int i = 0; i < 4; i++)
        memcpy(codes + dup_of[i][1] * DIM, codes + dup_of[i][0] * DIM, sizeof(float) * DIM);
    for (int i = 0; i < BATCH * DIM * HW; i++) z[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    for (int p = 0; p < 8; p++) /* positions pointing exactly at a duplicated row */
        for (int d = 0; d < DIM; d++) z[d * HW + p] = codes[dup_of[p % 4][1] * DIM + d];
    for (int d = 0; d < DIM; d++) z[d * HW + 9] = 0.0f, z[(DIM + d) * HW + 10] = NAN;
    cr_assert_eq(be->ops->quantize(be, z, BATCH, DIM, HW, codes, COUNT, got), FACET_OK);
    for (int b = 0; b < BATCH; b++)
        for (int p = 0; p < HW; p++) {
            float v[DIM], ss = 0.0f;
            for (int d = 0; d < DIM; d++) {
                v[d] = z[((size_t)b * DIM + d) * HW + p];
                ss += v[d] * v[d];
            }
            for (int d = 0; d < DIM; d++) v[d] /= fqgan_l2_divisor(ss);
            const int want = fqgan_nearest_code(v, codes, COUNT, DIM);
            cr_assert_eq(got[b * HW + p], want, "batch %d position %d: code %d, want %d", b, p,
                         got[b * HW + p], want);
        }
    for (int p = 0; p < 8; p++) cr_expect_eq(got[p], dup_of[p % 4][0]);
    cr_expect_eq(got[9], 0);
    cr_expect_eq(got[HW + 10], 0);
    free(codes), free(z), free(got);
    be->ops->destroy(be);
}
