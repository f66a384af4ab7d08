/* GPU parity for FQGAN: the CUDA backend (fp32) against the CPU backend on the small fixture
 * configs (tests/fixtures/fqgan) and on the default Dual-16 size: indices equal on >= 99.9% of
 * positions, pre-quantisation features within 1e-3 of the CPU's relative to their largest
 * magnitude, decoded images within 40 dB PSNR of the CPU's (data range 2). TF32 and BF16 are
 * reported (token agreement with fp32, feature error, PSNR), not gated. Exits 77 without a
 * usable GPU. */
#include "core/alloc.h"
#include "core/cuda/device.h"
#include "core/json.h"
#include "core/npy.h"
#include "core/rng.h"
#include "tokenizer/fqgan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SKIP = 77 };

typedef struct run {
    uint16_t *indices[FACET_FQGAN_MAX_BRANCHES];
    float *features[FACET_FQGAN_MAX_BRANCHES];
    float *images;
    double seconds;
} run;

static int fail(const char *what) {
    fprintf(stderr, "FAIL %s: %s\n", what, facet_last_error());
    return 1;
}

/* Encodes `images` and decodes the CPU's tokens (`tokens`, or its own when NULL). */
static int run_backend(const char *weights, facet_fqgan_backend backend, const float *images,
                       int batch, uint16_t *const *tokens, run *out) {
    facet_fqgan *m = NULL;
    if (facet_fqgan_load(&m, weights, backend, batch) != FACET_OK) return fail("load");
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    const size_t n_tok = (size_t)batch * c->grid * c->grid;
    for (int k = 0; k < c->branch_count; k++) {
        out->indices[k] = facet_alloc(n_tok, sizeof(uint16_t));
        out->features[k] = facet_alloc(n_tok * c->codebook_dim, sizeof(float));
    }
    out->images = facet_alloc((size_t)batch * 3 * c->image_size * c->image_size, sizeof(float));
    if (facet_fqgan_encode(m, images, batch, out->indices, out->features) != FACET_OK ||
        facet_fqgan_decode(m, (const uint16_t *const *)(tokens ? tokens : out->indices), batch,
                           out->images) != FACET_OK) {
        facet_fqgan_free(m);
        return fail(facet_fqgan_backend_name(backend));
    }
    facet_fqgan_free(m);
    return 0;
}

static void run_free(run *r, int branches) {
    for (int k = 0; k < branches; k++) {
        free(r->indices[k]);
        free(r->features[k]);
    }
    free(r->images);
}

/* Compares `other` with the CPU run; returns 1 when an fp32 bound is broken. */
static int compare(const char *label, const facet_fqgan_config *c, int batch, const run *cpu,
                   const run *other, int gated) {
    const size_t n_tok = (size_t)batch * c->grid * c->grid;
    const size_t n_feat = n_tok * c->codebook_dim;
    const size_t n_pix = (size_t)batch * 3 * c->image_size * c->image_size;
    size_t equal = 0;
    double worst = 0.0, peak = 0.0, se = 0.0;
    for (int k = 0; k < c->branch_count; k++) {
        for (size_t i = 0; i < n_tok; i++) equal += cpu->indices[k][i] == other->indices[k][i];
        for (size_t i = 0; i < n_feat; i++) {
            worst = fmax(worst, fabs(cpu->features[k][i] - other->features[k][i]));
            peak = fmax(peak, fabs(cpu->features[k][i]));
        }
    }
    for (size_t i = 0; i < n_pix; i++)
        se += ((double)cpu->images[i] - other->images[i]) * (cpu->images[i] - other->images[i]);
    const double agreement = (double)equal / (double)(n_tok * c->branch_count);
    const double rel = worst / peak, psnr = se == 0.0 ? INFINITY : 10 * log10(4.0 / (se / n_pix));
    const int ok = !gated || (agreement >= 0.999 && rel <= 1e-3 && psnr >= 40.0);
    printf("%s %s: tokens equal to CPU %.4f, feature error %.3g relative, decode PSNR %.1f dB%s\n",
           gated ? (ok ? "ok  " : "FAIL") : "info", label, agreement, rel, psnr,
           gated ? "" : " (reported)");
    return !ok;
}

static int check(const char *name, const char *config_json, int seed, const float *images,
                 int batch, const char *dir) {
    char weights[600];
    snprintf(weights, sizeof weights, "%s/%s.safetensors", dir, name);
    if (facet_fqgan_write_random(weights, config_json, (uint64_t)seed) != FACET_OK)
        return fail("write weights");
    facet_fqgan *probe = NULL;
    if (facet_fqgan_load(&probe, weights, FACET_FQGAN_CPU, 1) != FACET_OK) return fail("load");
    facet_fqgan_config c = *facet_fqgan_config_of(probe);
    run cpu = {0};
    int failures = run_backend(weights, FACET_FQGAN_CPU, images, batch, NULL, &cpu);
    static const facet_fqgan_backend gpus[] = {FACET_FQGAN_CUDA_FP32, FACET_FQGAN_CUDA_TF32,
                                               FACET_FQGAN_CUDA_BF16};
    for (int g = 0; g < 3 && !failures; g++) {
        run gpu = {0};
        char label[128];
        snprintf(label, sizeof label, "%s %s", name, facet_fqgan_backend_name(gpus[g]));
        failures += run_backend(weights, gpus[g], images, batch, cpu.indices, &gpu);
        if (!failures) failures += compare(label, &c, batch, &cpu, &gpu, g == 0);
        run_free(&gpu, c.branch_count);
    }
    run_free(&cpu, c.branch_count);
    facet_fqgan_free(probe);
    remove(weights);
    return failures;
}

static char *fixture_config(const char *name, int *seed) {
    char path[600];
    snprintf(path, sizeof path, "%s/tests/fixtures/fqgan/%s/meta.json", FACET_SOURCE_DIR, name);
    facet_doc doc;
    if (facet_json_load(&doc, path) != FACET_OK) return NULL;
    char *config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(doc.root, "config"));
    *seed = cJSON_GetObjectItemCaseSensitive(doc.root, "seed")->valueint;
    facet_doc_free(&doc);
    return config;
}

int main(void) {
    if (!facet_cuda_available()) {
        printf("no usable CUDA device: skipped\n");
        return SKIP;
    }
    char device[256];
    if (facet_cuda_device_name(device, sizeof device) == FACET_OK) printf("device: %s\n", device);
    char dir[] = "/tmp/facet-fqgan-gpu-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int failures = 0;
    facet_tensor inputs;
    if (facet_npy_read(&inputs, FACET_SOURCE_DIR "/tests/fixtures/fqgan/inputs.npy") != FACET_OK)
        return fail("fixture inputs");
    static const char *const small[] = {"small-dual16", "small-dual8", "small-triple16",
                                        "small-triple8"};
    for (int i = 0; i < 4; i++) {
        int seed = 0;
        char *config = fixture_config(small[i], &seed);
        if (!config) return fail(small[i]);
        failures += check(small[i], config, seed, inputs.data, (int)inputs.shape[0], dir);
        free(config);
    }
    facet_tensor_free(&inputs);
    /* the official Dual-16 size, 4 smooth random images */
    char config[1024];
    facet_fqgan_default_config("dual", 16, config, sizeof config);
    const int batch = 4;
    const size_t n = (size_t)batch * 3 * 256 * 256;
    float *images = facet_alloc(n, sizeof(float));
    facet_rng rng = facet_rng_seed(11, 0);
    for (size_t i = 0; i < n; i++)
        images[i] = 0.6f * sinf(0.02f * (float)(i % 65536) + (float)(i / 65536)) +
                    0.3f * (2.0f * facet_rng_uniform(&rng) - 1.0f);
    failures += check("dual16", config, 3, images, batch, dir);
    free(images);
    rmdir(dir);
    printf("%s\n", failures ? "FAILED" : "all CUDA parity checks passed");
    return failures ? 1 : 0;
}
