/* GPU parity: the text encoders' CUDA backend (cuBLAS + the per-row functions of language/ops.h)
 * computes the same embeddings as the CPU backend (OpenBLAS), for MiniLM (models/, from
 * scripts/setup.sh) and the tiny open_clip text tower fixture, and the time per sentence on each.
 * Exits 77 (ctest: skipped) without a usable GPU. */
#include "core/cuda/device.h"
#include "language/text_encoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SKIP = 77 };

static const char *const SENTENCES[] = {
    "open the drawer",
    "pull the drawer all the way out",
    "the top drawer of the white cabinet",
    "close it a bit more",
    "the quick brown fox jumps over the lazy dog the quick brown fox jumps over the lazy dog",
    "日本語のテキスト",
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const char *label, const char *weights, const char *merges) {
    facet_text_encoder e;
    if (facet_text_encoder_load(&e, weights, merges) != FACET_OK) {
        fprintf(stderr, "%s: %s\n", label, facet_last_error());
        return 1;
    }
    const int dim = e.config.embed_dim, n = (int)(sizeof SENTENCES / sizeof *SENTENCES);
    float *a = malloc((size_t)dim * sizeof *a), *b = malloc((size_t)dim * sizeof *b);
    double worst_cos = 1.0, worst_diff = 0.0, cpu_s = 0.0, gpu_s = 0.0;
    int failed = !a || !b;
    for (int i = 0; i < n && !failed; i++) {
        if (facet_text_encoder_encode(&e, SENTENCES[i], 1, b) != FACET_OK) { /* warm up */
            fprintf(stderr, "%s: %s\n", label, facet_last_error());
            failed = 1;
            break;
        }
        double t0 = now();
        failed |= facet_text_encoder_encode(&e, SENTENCES[i], 0, a) != FACET_OK;
        double t1 = now();
        failed |= facet_text_encoder_encode(&e, SENTENCES[i], 1, b) != FACET_OK;
        double t2 = now();
        cpu_s += t1 - t0;
        gpu_s += t2 - t1;
        double ab = 0, aa = 0, bb = 0;
        for (int k = 0; k < dim; k++) {
            ab += (double)a[k] * b[k];
            aa += (double)a[k] * a[k];
            bb += (double)b[k] * b[k];
            worst_diff = fmax(worst_diff, fabs((double)a[k] - b[k]));
        }
        worst_cos = fmin(worst_cos, ab / sqrt(aa * bb));
    }
    int ok = !failed && worst_cos >= 0.99999 && worst_diff <= 1e-4;
    printf("%s %s: CUDA vs CPU over %d sentences: min cosine %.8f, max |diff| %.3g; "
           "%.2f ms/sentence CPU, %.2f ms/sentence CUDA\n",
           ok ? "OK  " : "FAIL", label, n, worst_cos, worst_diff, 1e3 * cpu_s / n, 1e3 * gpu_s / n);
    free(a);
    free(b);
    facet_text_encoder_free(&e);
    return ok ? 0 : 1;
}

int main(void) {
    if (!facet_cuda_available()) {
        printf("skipped: no usable CUDA device\n");
        return SKIP;
    }
    char minilm[4096], merges[4096], clip[4096];
    snprintf(minilm, sizeof minilm, "%s/models/minilm.safetensors", FACET_SOURCE_DIR);
    snprintf(merges, sizeof merges, "%s/models/bpe_simple_vocab_16e6.txt.gz", FACET_SOURCE_DIR);
    snprintf(clip, sizeof clip, "%s/tests/fixtures/language/clip_tiny.safetensors",
             FACET_SOURCE_DIR);
    int failures = compare("minilm", minilm, NULL);
    failures += compare("clip_tiny", clip, merges);
    const char *full = getenv("FACET_CLIP_FULL_DIR"); /* ViT-B-16 shape, generated on demand */
    if (full) {
        char path[4096];
        snprintf(path, sizeof path, "%s/clip_vitb16_random.safetensors", full);
        failures += compare("clip_vitb16", path, merges);
    }
    return failures ? 1 : 0;
}
