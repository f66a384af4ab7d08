/* The matrix-product kernels of nn/ on one core: GFLOP/s of every kernel this CPU runs, fp32
 * (nn/gemm.h: avx512, avx2, c) and bf16 (nn/gemm_bf16.h: amx, avx512bf16, c), each forced in turn,
 * over shapes from the FQGAN convolutions (a Winograd point of the decoder, an im2col chunk) and a
 * large square-ish one.
 *
 *   bench_gemm [--seconds S]      (default 0.5 per kernel and shape; best of 5 such runs)
 *
 * Prints one JSON line per kernel and shape: {"kernel", "precision", "m", "k", "n", "gflops"}. The
 * portable C kernels are slow references, timed on the smallest shape only. */
#include "core/rng.h"
#include "core/status.h"
#include "nn/gemm.h"
#include "nn/gemm_bf16.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct problem {
    int m, k, n;
    float *a, *b, *c;
    uint32_t *ap, *bp;
} problem;

/* Seconds per call of the product at its best over 5 runs of about `seconds` each. */
static double time_product(const problem *p, int bf16, double seconds) {
    double best = 1e30;
    const int k2 = (p->k + 1) / 2;
    for (int run = 0; run < 5; run++) {
        int calls = 0;
        const double t0 = now();
        do {
            if (bf16)
                facet_gemm_bf16(p->ap, k2, p->m, k2, p->bp, p->n, p->n, p->c, p->n, 0);
            else
                facet_gemm(p->a, p->k, p->m, p->k, p->b, p->n, p->n, p->c, p->n, 0);
            calls++;
        } while (now() - t0 < seconds / 5);
        const double t = (now() - t0) / calls;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv) {
    double seconds = 0.5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc && atof(argv[i + 1]) > 0) {
            seconds = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_gemm [--seconds S]\n");
            return 2;
        }
    }
    const int shapes[][3] = {
        {128, 128, 64}, {128, 256, 64}, {64, 256, 48}, {128, 1152, 224}, {512, 512, 256}};
    const char *fp32[] = {"avx512", "avx2", "c"}, *bf16[] = {"amx", "avx512bf16", "c"};
    facet_rng rng = facet_rng_seed(7, 0);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        problem p = {shapes[s][0], shapes[s][1], shapes[s][2], NULL, NULL, NULL, NULL, NULL};
        const int k2 = (p.k + 1) / 2;
        p.a = malloc(sizeof(float) * p.m * p.k);
        p.b = malloc(sizeof(float) * p.k * p.n);
        p.c = malloc(sizeof(float) * p.m * p.n);
        p.ap = malloc(sizeof(uint32_t) * p.m * k2);
        p.bp = malloc(sizeof(uint32_t) * k2 * p.n);
        if (!p.a || !p.b || !p.c || !p.ap || !p.bp) return 1;
        for (int i = 0; i < p.m * p.k; i++) p.a[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
        for (int i = 0; i < p.k * p.n; i++) p.b[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
        facet_bf16_pack_a(p.a, p.k, p.m, p.k, p.ap, k2);
        facet_bf16_pack_b(p.b, p.n, p.k, p.n, p.bp, p.n);
        for (int precision = 0; precision < 2; precision++)
            for (int i = 0; i < 3; i++) {
                const char *name = precision ? bf16[i] : fp32[i];
                if (!strcmp(name, "c") && s > 0) continue;
                if ((precision ? facet_gemm_bf16_force_kernel(name)
                               : facet_gemm_force_kernel(name)) != FACET_OK)
                    continue; /* not on this CPU */
                const double t = time_product(&p, precision, seconds);
                printf(
                    "{\"kernel\": \"%s\", \"precision\": \"%s\", \"m\": %d, \"k\": %d, \"n\": %d, "
                    "\"gflops\": %.1f}\n",
                    name, precision ? "bf16" : "fp32", p.m, p.k, p.n,
                    2.0 * p.m * p.k * p.n / t * 1e-9);
                fflush(stdout);
            }
        facet_gemm_force_kernel(NULL);
        facet_gemm_bf16_force_kernel(NULL);
        free(p.a), free(p.b), free(p.c), free(p.ap), free(p.bp);
    }
    return 0;
}
