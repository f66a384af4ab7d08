/* The matrix-product kernels of nn/ on one core: GFLOP/s of every kernel this CPU runs, fp32
 * (nn/gemm.h: avx512, avx2, c) and bf16 (nn/gemm_bf16.h: amx, avx512bf16, c), each forced in turn,
 * over shapes from the FQGAN convolutions (a Winograd point of the decoder, an im2col chunk) and a
 * large square-ish one.
 *
 *   bench_gemm [--seconds S]      (default 0.5 per kernel and shape; best of 5 such runs)
 *
 * Prints one JSON line per kernel and shape: {"kernel", "precision", "m", "k", "n", "gflops"}. The
 * portable C kernels are slow references, timed on the smallest shape only.
 *
 * Where AMX runs, also split products (nn/gemm_bf16.h) as a Winograd conv's task runs them: 36
 * points, each its own weights A [m = cout, k = cin] and V [k, n = 64], one after another, so
 * the 36 weight matrices (2.4-38 MB) stream from L3 as in the conv. The weights as packed rows
 * and as tiles, interleaved: {"kernel": "amx", "precision": "split", "layout": "rows" | "tiled",
 * "points", "m", "k", "n", "gflops"}, with gflops counting the float32 product's 2 m k n per
 * point (three bf16 products run for it). Where AMX-INT8 runs, the same products as fixed-point
 * int8 digits (nn/gemm_i8.h) in the same interleaving: {"precision": "i8x2", "layout": "tiled"}. */
#include "core/rng.h"
#include "core/status.h"
#include "nn/gemm.h"
#include "nn/gemm_bf16.h"
#include "nn/gemm_i8.h"

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

/* The split products of one Winograd conv task (see the top): prints the rows and the tiled
 * layout's rates; 1 when memory runs out. */
static int time_split_layer(int m, int k, double seconds, facet_rng *rng) {
    enum { POINTS = 36, N = 64 };
    const int k2 = (k + 1) / 2, row_pairs = facet_bf16_split_row_pairs(k);
    const size_t a_words = (size_t)m * row_pairs, t_words = facet_bf16_tiled_split_words(m, k2),
                 b_words = (size_t)2 * k2 * N;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * N);
    /* cache-line aligned, as the FQGAN backend allocates (a tile row is one line) */
    float *c = aligned_alloc(64, sizeof(float) * POINTS * m * N);
    uint32_t *rows = aligned_alloc(64, sizeof(uint32_t) * POINTS * a_words),
             *tiles = aligned_alloc(64, sizeof(uint32_t) * POINTS * t_words),
             *v = aligned_alloc(64, sizeof(uint32_t) * POINTS * b_words);
    const int i8 = facet_gemm_i8x2_pays();
    const size_t qa_bytes = facet_i8_tiled_a_bytes(m, k), qb_bytes = facet_i8_b_bytes(k, N);
    int8_t *qa = aligned_alloc(64, POINTS * qa_bytes), *qb = aligned_alloc(64, POINTS * qb_bytes);
    float *sa = malloc(sizeof(float) * POINTS * m), *sb = malloc(sizeof(float) * POINTS * N);
    if (!a || !b || !c || !rows || !tiles || !v || !qa || !qb || !sa || !sb) return 1;
    for (int x = 0; x < POINTS; x++) {
        for (int i = 0; i < m * k; i++) a[i] = 2.0f * facet_rng_uniform(rng) - 1.0f;
        for (int i = 0; i < k * N; i++) b[i] = 2.0f * facet_rng_uniform(rng) - 1.0f;
        facet_bf16_pack_a_split(a, k, m, k, rows + x * a_words, row_pairs);
        facet_bf16_tile_split(rows + x * a_words, row_pairs, m, k2, tiles + x * t_words);
        facet_bf16_pack_b_split(b, N, k, N, v + x * b_words, N);
        facet_i8_pack_a(a, k, m, k, qa + x * qa_bytes, sa + x * m);
        facet_i8_pack_b(b, N, k, N, qb + x * qb_bytes, N, sb + x * N);
    }
    double best[3] = {1e30, 1e30, 1e30};
    const int layouts = i8 ? 3 : 2;
    for (int run = 0; run < 5 * layouts; run++) /* the layouts interleaved, best of 5 each */
        for (int tiled = 0; tiled < layouts; tiled++) {
            int calls = 0;
            const double t0 = now();
            do {
                for (int x = 0; x < POINTS; x++) {
                    float *cx = c + (size_t)x * m * N;
                    if (tiled == 2)
                        facet_gemm_i8x2(qa + x * qa_bytes, sa + x * m, m, k, qb + x * qb_bytes, N,
                                        sb + x * N, N, cx, N, 0);
                    else if (tiled)
                        facet_gemm_bf16_split_tiled(tiles + x * t_words, m, k2, v + x * b_words, N,
                                                    N, cx, N, 0);
                    else
                        facet_gemm_bf16_split(rows + x * a_words, row_pairs, m, k2, v + x * b_words,
                                              N, N, cx, N, 0);
                }
                calls++;
            } while (now() - t0 < seconds / 5);
            const double t = (now() - t0) / calls;
            best[tiled] = t < best[tiled] ? t : best[tiled];
        }
    for (int tiled = 0; tiled < layouts; tiled++)
        printf("{\"kernel\": \"amx\", \"precision\": \"%s\", \"layout\": \"%s\", "
               "\"points\": %d, \"m\": %d, \"k\": %d, \"n\": %d, \"gflops\": %.1f}\n",
               tiled == 2 ? "i8x2" : "split", tiled ? "tiled" : "rows", POINTS, m, k, N,
               2.0 * POINTS * m * k * N / best[tiled] * 1e-9);
    fflush(stdout);
    free(a), free(b), free(c), free(rows), free(tiles), free(v), free(qa), free(qb), free(sa),
        free(sb);
    return 0;
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
    if (facet_gemm_bf16_split_pays()) {
        const int layers[][2] = {{128, 128}, {256, 256}, {512, 512}};
        for (size_t s = 0; s < sizeof layers / sizeof *layers; s++)
            if (time_split_layer(layers[s][0], layers[s][1], seconds, &rng) != 0) return 1;
    }
    return 0;
}
