/* nn/gemm_i8.h: fixed-point split products on int8 digits.
 *
 * - The digits reconstruct every value within 1.01 s / 256 of it (s = max |x| / 127), and the
 *   packs place each digit where the layouts say, with the k padding zero.
 * - Every kernel's product is within the derived bound of a double-precision product of the
 *   float32 operands, k amax_a amax_b FACET_I8X2_ERROR + 2^-21 |C| (docs/math.md), on shapes that
 *   cross the kernels' edges (rows not a multiple of 16, columns not a multiple of 32 or under
 *   16, k not a multiple of 64, k = 0), overwriting and accumulating; a packed A with one digit
 *   flipped fails that bound.
 * - The AMX kernel (where this CPU and OS run it) gives the C reference's result, bit for bit. */
#include "core/rng.h"
#include "nn/gemm_i8.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Values of mixed magnitude and sign: uniform in (-1, 1) times 2^[-e, e). */
static void fill(facet_rng *rng, float *x, size_t n, float e) {
    for (size_t i = 0; i < n; i++)
        x[i] = (2.0f * facet_rng_uniform(rng) - 1.0f) *
               exp2f(e * (2.0f * facet_rng_uniform(rng) - 1.0f));
}

Test(gemm_i8, digits_reconstruct_every_value_within_the_bound) {
    facet_rng rng = facet_rng_seed(5, 1);
    enum { N = 777 };
    float x[N];
    int8_t hi[2 * N], lo[2 * N];
    for (int trial = 0; trial < 40; trial++) {
        const int n = trial == 0 ? 1 : 1 + (int)(facet_rng_uniform(&rng) * N);
        fill(&rng, x, (size_t)n, trial % 2 ? 6.0f : 1.0f);
        if (trial == 2) x[n / 2] = 0.0f;
        if (trial == 3) /* exact halves of the scale's grid: hi's ties, and lo's clamp at 128 */
            for (int i = 0; i < n; i++) x[i] = i == 0 ? 127.0f : (float)(i % 254 - 127) + 0.5f;
        const float s = facet_i8_digits(x, 1, n, hi, lo, 2);
        float amax = 0.0f;
        for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
        cr_assert_eq(s, amax / 127.0f, "trial %d: scale %.9g for max %.9g", trial, s, amax);
        for (int i = 0; i < n; i++) {
            const int h = hi[2 * i], l = lo[2 * i];
            cr_assert(h >= -127 && h <= 127 && l >= -127 && l <= 127, "digits %d %d", h, l);
            const double back = (double)s * (h + l / 256.0);
            cr_assert_leq(fabs(back - x[i]), 1.01 * s / 256.0, "trial %d: x[%d] = %.9g -> %.9g",
                          trial, i, x[i], back);
        }
    }
    /* an all-zero vector: scale 0, zero digits */
    memset(x, 0, sizeof x);
    memset(hi, 1, sizeof hi);
    cr_assert_eq(facet_i8_digits(x, 1, 9, hi, lo, 1), 0.0f);
    for (int i = 0; i < 9; i++) cr_assert(hi[i] == 0 && lo[i] == 0);
}

/* pack_a and pack_b against facet_i8_digits per row / column, at the documented offsets; the
 * padding of k zero; nothing written past the documented sizes. */
static void check_packs(int m, int k, int n, const float *a, int lda, const float *b, int ldb_in,
                        const int8_t *ap, const float *sa, const int8_t *bp, int ldb,
                        const float *sb) {
    const int padded = facet_i8_groups(k) * FACET_I8_GROUP;
    const size_t block = facet_i8_tiled_block_bytes(k), half = (size_t)16 * ldb * 4;
    int8_t hi[padded + 1], lo[padded + 1];
    for (int r = 0; r < m; r++) {
        cr_assert_eq(sa[r], facet_i8_digits(a + (size_t)r * lda, 1, k, hi, lo, 1));
        for (int i = 0; i < padded; i++) {
            const size_t at = (size_t)(r / 16) * block + (size_t)(i / 64) * 2048 +
                              (size_t)(r % 16) * 64 + (size_t)(i % 64);
            cr_assert_eq(ap[at], i < k ? hi[i] : 0, "A hi [%d, %d]", r, i);
            cr_assert_eq(ap[at + 1024], i < k ? lo[i] : 0, "A lo [%d, %d]", r, i);
        }
    }
    for (int j = 0; j < n; j++) {
        cr_assert_eq(sb[j], facet_i8_digits(b + j, (size_t)ldb_in, k, hi, lo, 1), "sb[%d]", j);
        for (int i = 0; i < padded; i++) {
            const size_t at = (size_t)(i / 64) * 2 * half + ((size_t)(i % 64 / 4) * ldb + j) * 4 +
                              (size_t)(i % 4);
            cr_assert_eq(bp[at], i < k ? hi[i] : 0, "B hi [%d, %d]", i, j);
            cr_assert_eq(bp[at + half], i < k ? lo[i] : 0, "B lo [%d, %d]", i, j);
        }
    }
}

/* The product of random operands on `kernel`, checked against the bound; returns the worst
 * error over the bound's k amax_a amax_b FACET_I8X2_ERROR part. C's result goes to c_out. */
static double check_product(const char *kernel, int m, int k, int n, int accumulate, float *c_out,
                            int flip) {
    const int lda = k + 3, ldb_in = n + 5, ldc = n + 7, ldb = facet_i8_b_columns(n) + 32;
    facet_rng rng = facet_rng_seed(17, (uint64_t)(m * 10007 + k * 101 + n));
    float *a = malloc(sizeof(float) * ((size_t)m * lda + 1)),
          *b = malloc(sizeof(float) * ((size_t)k * ldb_in + 1)),
          *c = malloc(sizeof(float) * (size_t)m * ldc),
          *c0 = malloc(sizeof(float) * (size_t)m * ldc);
    const size_t a_bytes = facet_i8_tiled_a_bytes(m, k), b_bytes = facet_i8_b_bytes(k, ldb);
    int8_t *ap = aligned_alloc(64, a_bytes + 64), *bp = aligned_alloc(64, b_bytes + 64);
    float *sa = malloc(sizeof(float) * (size_t)(m + 1)),
          *sb = malloc(sizeof(float) * (size_t)(n + 1));
    cr_assert(a && b && c && c0 && ap && bp && sa && sb);
    fill(&rng, a, (size_t)m * lda, 2.0f);
    fill(&rng, b, (size_t)k * ldb_in, 3.0f);
    for (int i = 0; i < m * ldc; i++) c0[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    memcpy(c, c0, sizeof(float) * (size_t)m * ldc);
    memset(ap, 0x5a, a_bytes + 64);
    memset(bp, 0x5a, b_bytes + 64);
    facet_i8_pack_a(a, lda, m, k, ap, sa);
    facet_i8_pack_b(b, ldb_in, k, n, bp, ldb, sb);
    for (int i = 0; i < 64; i++) {
        cr_assert_eq(ap[a_bytes + i], 0x5a, "pack_a wrote past its bytes");
        cr_assert_eq(bp[b_bytes + i], 0x5a, "pack_b wrote past its bytes");
    }
    check_packs(m, k, n, a, lda, b, ldb_in, ap, sa, bp, ldb, sb);
    if (flip) ap[0] = (int8_t)(ap[0] > 0 ? -127 : 127); /* A[0][0]'s hi digit */
    cr_assert_eq(facet_gemm_i8x2_force_kernel(kernel), FACET_OK);
    facet_gemm_i8x2(ap, sa, m, k, bp, ldb, sb, n, c, ldc, accumulate);
    facet_gemm_i8x2_force_kernel(NULL);
    double worst = 0.0;
    for (int r = 0; r < m; r++) {
        double amax_a = 0.0;
        for (int i = 0; i < k; i++) amax_a = fmax(amax_a, fabs(a[(size_t)r * lda + i]));
        for (int j = 0; j < n; j++) {
            double amax_b = 0.0, want = accumulate ? c0[(size_t)r * ldc + j] : 0.0;
            for (int i = 0; i < k; i++) {
                const double bij = b[(size_t)i * ldb_in + j];
                amax_b = fmax(amax_b, fabs(bij));
                want += (double)a[(size_t)r * lda + i] * bij;
            }
            const float got = c[(size_t)r * ldc + j];
            const double fixed = k * amax_a * amax_b * FACET_I8X2_ERROR;
            const double err = fabs(got - want), bound = fixed + 0x1p-21 * fabs(want);
            if (flip) {
                if (!isfinite(got) || err > bound) worst = INFINITY;
                continue;
            }
            cr_assert(isfinite(got) && err <= bound,
                      "%s %dx%dx%d acc %d: C[%d,%d] = %.9g, want %.9g (bound %.3g)", kernel, m, k,
                      n, accumulate, r, j, got, want, bound);
            if (fixed > 0 && err / fixed > worst) worst = err / fixed;
        }
        for (int j = n; j < ldc; j++) /* the row's padding is untouched */
            cr_assert_eq(c[(size_t)r * ldc + j], c0[(size_t)r * ldc + j]);
    }
    if (c_out) memcpy(c_out, c, sizeof(float) * (size_t)m * ldc);
    free(a), free(b), free(c), free(c0), free(ap), free(bp), free(sa), free(sb);
    return worst;
}

static const int SHAPES[][3] = {{16, 64, 32},   {1, 1, 1},     {13, 300, 70},  {7, 513, 129},
                                {128, 128, 64}, {5, 9, 17},    {3, 0, 5},      {33, 33, 33},
                                {40, 31, 16},   {17, 512, 96}, {64, 1152, 40}, {70, 200, 50}};

Test(gemm_i8, every_kernel_stays_within_the_derived_bound) {
    const char *kernels[] = {"amx", "c"};
    int ran = 0;
    for (int i = 0; i < 2; i++) {
        if (facet_gemm_i8x2_force_kernel(kernels[i]) != FACET_OK) continue; /* not on this CPU */
        facet_gemm_i8x2_force_kernel(NULL);
        ran++;
        double worst = 0.0;
        for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++)
            for (int acc = 0; acc < 2; acc++) {
                const double w = check_product(kernels[i], SHAPES[s][0], SHAPES[s][1], SHAPES[s][2],
                                               acc, NULL, 0);
                worst = w > worst ? w : worst;
            }
        /* the bound is not loose by orders of magnitude: the worst element uses a real part */
        cr_expect_gt(worst, 0.01, "%s: worst error %.3g of the bound", kernels[i], worst);
        cr_expect_leq(worst, 1.0);
    }
    cr_expect_geq(ran, 1);
    cr_expect_eq(facet_gemm_i8x2_force_kernel("sse9"), FACET_ERR_INVALID_ARGUMENT);
}

Test(gemm_i8, a_flipped_digit_fails_the_bound) {
    cr_assert_eq(check_product("c", 16, 64, 32, 0, NULL, 1), INFINITY);
}

Test(gemm_i8, amx_gives_the_c_reference_bit_for_bit) {
    if (facet_gemm_i8x2_force_kernel("amx") != FACET_OK)
        cr_skip_test("this CPU or OS does not run AMX-INT8");
    facet_gemm_i8x2_force_kernel(NULL);
    cr_expect(facet_gemm_i8x2_pays());
    for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++)
        for (int acc = 0; acc < 2; acc++) {
            const int m = SHAPES[s][0], k = SHAPES[s][1], n = SHAPES[s][2], ldc = n + 7;
            float *amx = malloc(sizeof(float) * (size_t)m * ldc),
                  *ref = malloc(sizeof(float) * (size_t)m * ldc);
            check_product("amx", m, k, n, acc, amx, 0);
            check_product("c", m, k, n, acc, ref, 0);
            cr_expect_eq(memcmp(amx, ref, sizeof(float) * (size_t)m * ldc), 0, "%dx%dx%d acc %d", m,
                         k, n, acc);
            free(amx), free(ref);
        }
}

/* A NaN or an infinity in a column of B (or a row of A) makes that column's (row's) products NaN,
 * as float32 products would not be finite; the other elements stay finite. */
Test(gemm_i8, non_finite_values_give_non_finite_products) {
    enum { M = 20, K = 70, N = 40 };
    facet_rng rng = facet_rng_seed(3, 3);
    float a[M * K], b[K * N], c[M * N], sa[M], sb[N];
    fill(&rng, a, M * K, 1.0f);
    fill(&rng, b, K * N, 1.0f);
    b[5 * N + 7] = NAN;
    b[9 * N + 30] = INFINITY;
    a[3 * K + 11] = -INFINITY;
    const int ldb = facet_i8_b_columns(N);
    int8_t *ap = aligned_alloc(64, facet_i8_tiled_a_bytes(M, K)),
           *bp = aligned_alloc(64, facet_i8_b_bytes(K, ldb));
    facet_i8_pack_a(a, K, M, K, ap, sa);
    facet_i8_pack_b(b, N, K, N, bp, ldb, sb);
    const char *kernels[] = {"amx", "c"};
    for (int i = 0; i < 2; i++) {
        if (facet_gemm_i8x2_force_kernel(kernels[i]) != FACET_OK) continue;
        facet_gemm_i8x2(ap, sa, M, K, bp, ldb, sb, N, c, N, 0);
        facet_gemm_i8x2_force_kernel(NULL);
        for (int r = 0; r < M; r++)
            for (int j = 0; j < N; j++) {
                const int poisoned = r == 3 || j == 7 || j == 30;
                cr_assert_eq(isfinite(c[r * N + j]), !poisoned, "%s: C[%d,%d] = %g", kernels[i], r,
                             j, c[r * N + j]);
            }
    }
    free(ap), free(bp);
}
