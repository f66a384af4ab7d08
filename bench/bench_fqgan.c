/* FQGAN throughput: images/s of encode (image -> tokens) and decode (tokens -> image) for a
 * weights file, on one backend, at the weights' image size (256x256 for the official models).
 *
 *   bench_fqgan WEIGHTS [--device cpu|cuda-fp32|cuda-tf32|cuda-bf16] [--batch N] [--iters N]
 *
 * Inputs are a fixed pseudo-random image batch in [-1, 1]; one untimed warm-up call precedes the
 * timed ones. Prints one JSON line per operation with the best and median time of the iterations
 * (bench/run_fqgan.sh runs it beside the PyTorch reference). */
#include "core/alloc.h"
#include "core/rng.h"
#include "tokenizer/fqgan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_fqgan WEIGHTS [--device cpu|cuda-fp32|cuda-tf32|cuda-bf16] "
                    "[--batch N] [--iters N]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *weights = argv[1], *device = "cpu";
    int batch = 1, iters = 3;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = atoi(argv[++i]);
        else
            return usage();
    }
    if (batch < 1 || iters < 1) return usage();
    facet_fqgan_backend backend;
    facet_fqgan *m = NULL;
    if (facet_fqgan_backend_parse(device, &backend) != FACET_OK ||
        facet_fqgan_load(&m, weights, backend, batch) != FACET_OK) {
        fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
        return 1;
    }
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    const size_t pixels = (size_t)batch * 3 * c->image_size * c->image_size;
    const size_t tokens = (size_t)batch * c->grid * c->grid;
    float *images = facet_alloc(pixels, sizeof(float)), *out = facet_alloc(pixels, sizeof(float));
    uint16_t *indices[FACET_FQGAN_MAX_BRANCHES] = {0};
    for (int k = 0; k < c->branch_count; k++) indices[k] = facet_alloc(tokens, sizeof(uint16_t));
    double *times = facet_alloc((size_t)iters, sizeof(double));
    facet_rng rng = facet_rng_seed(1, 0);
    for (size_t i = 0; i < pixels; i++) images[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    int status = 0;
    for (int op = 0; op < 2 && status == 0; op++) {
        for (int it = -1; it < iters && status == 0; it++) {
            const double t0 = now();
            facet_status s =
                op == 0 ? facet_fqgan_encode(m, images, batch, indices, NULL)
                        : facet_fqgan_decode(m, (const uint16_t *const *)indices, batch, out);
            if (s != FACET_OK) {
                fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
                status = 1;
            }
            if (it >= 0) times[it] = now() - t0;
        }
        if (status) break;
        qsort(times, (size_t)iters, sizeof *times, compare);
        printf("{\"implementation\": \"facet\", \"variant\": \"%s-%d\", \"op\": \"%s\", "
               "\"device\": \"%s\", \"batch\": %d, \"image_size\": %d, \"seconds_best\": %.4f, "
               "\"seconds_median\": %.4f, \"images_per_sec\": %.3f, \"memory_mb\": %.1f}\n",
               c->variant, c->downsample, op == 0 ? "encode" : "decode",
               facet_fqgan_backend_name(backend), batch, c->image_size, times[0], times[iters / 2],
               batch / times[0], (double)facet_fqgan_memory_bytes(m) / (1024.0 * 1024.0));
        fflush(stdout);
    }
    for (int k = 0; k < c->branch_count; k++) free(indices[k]);
    free(times);
    free(images);
    free(out);
    facet_fqgan_free(m);
    return status;
}
