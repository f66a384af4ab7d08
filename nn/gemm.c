/* Float32 products (nn/gemm.h). Each kernel computes one block of C: MR = 6 rows by up to 64
 * columns over kc <= KC values of k, accumulators in registers (AVX-512: 6 x 4 zmm, 24 of the 32
 * registers; AVX2: 6 x 2 ymm over 16-column chunks), B rows read once per block, one element of
 * each of A's MR rows broadcast per k (six sequential streams: as fast as a packed copy of A on
 * this Zen 4, 110 GFLOP/s per core either way). Blocks: 64 columns of B (kc x 64 floats: 64 KB
 * at kc = 256, held in L2 while every panel of A passes over it). */
#include "nn/gemm.h"
#include "nn/gemm_block.h"
#include "nn/gemm_dispatch.h"

#include <immintrin.h>
#include <string.h>

#define MR FACET_GEMM_MR
#define KC FACET_GEMM_KC
#define NB 64 /* columns per block */

/* One block: C[rows, cols] (+)= A[rows, kc] B[kc, cols], rows <= MR, cols <= NB; C is loaded
 * first when load_c. Rows r >= rows of the register block read A's row rows - 1; their results
 * are dropped. */
typedef void (*block_fn)(const float *a, int lda, const float *b, int ldb, int kc, float *c,
                         int ldc, int rows, int cols, int load_c);

/* ---- portable C ---------------------------------------------------------------------------- */

static void block_c(const float *a, int lda, const float *b, int ldb, int kc, float *c, int ldc,
                    int rows, int cols, int load_c) {
    float acc[MR][NB];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < cols; j++) acc[r][j] = load_c && r < rows ? c[(size_t)r * ldc + j] : 0;
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (size_t)k * ldb;
        for (int r = 0; r < rows; r++) {
            const float ar = a[(size_t)r * lda + k];
            for (int j = 0; j < cols; j++) acc[r][j] += ar * bk[j];
        }
    }
    for (int r = 0; r < rows; r++)
        memcpy(c + (size_t)r * ldc, acc[r], (size_t)cols * sizeof(float));
}

/* ---- AVX2 + FMA ------------------------------------------------------------------------------ */

#define AVX2 __attribute__((target("avx2,fma")))

/* lanes [0, w) of an 8-float vector, as _mm256_maskload_ps wants them */
AVX2 static __m256i mask8(int w) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(w < 0 ? 0 : w), lane);
}

/* 16-column chunks; 6 x 2 accumulators in named registers (see block_avx512_nv). Rows past
 * `rows` are computed on a copy of the last row and never loaded or stored. */
#define ROW2_INIT(r)                                                                               \
    __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();                           \
    if (load_c && (r) < rows) {                                                                    \
        c##r##0 = _mm256_maskload_ps(c + (size_t)(r)*ldc + j0, m0);                                \
        c##r##1 = _mm256_maskload_ps(c + (size_t)(r)*ldc + j0 + 8, m1);                            \
    }
#define ROW2_FMA(r)                                                                                \
    do {                                                                                           \
        const __m256 ar = _mm256_broadcast_ss(a##r + k);                                           \
        c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);                                                \
        c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);                                                \
    } while (0)
#define ROW2_STORE(r)                                                                              \
    if ((r) < rows) {                                                                              \
        _mm256_maskstore_ps(c + (size_t)(r)*ldc + j0, m0, c##r##0);                                \
        _mm256_maskstore_ps(c + (size_t)(r)*ldc + j0 + 8, m1, c##r##1);                            \
    }

AVX2 static void block_avx2(const float *a, int lda, const float *b, int ldb, int kc, float *c,
                            int ldc, int rows, int cols, int load_c) {
    FACET_GEMM_A_ROWS(float);
    for (int j0 = 0; j0 < cols; j0 += 16) {
        const __m256i m0 = mask8(cols - j0), m1 = mask8(cols - j0 - 8);
        ROW2_INIT(0)
        ROW2_INIT(1)
        ROW2_INIT(2)
        ROW2_INIT(3)
        ROW2_INIT(4)
        ROW2_INIT(5)
        for (int k = 0; k < kc; k++) {
            const float *bk = b + (size_t)k * ldb + j0;
            const __m256 b0 = _mm256_maskload_ps(bk, m0), b1 = _mm256_maskload_ps(bk + 8, m1);
            ROW2_FMA(0);
            ROW2_FMA(1);
            ROW2_FMA(2);
            ROW2_FMA(3);
            ROW2_FMA(4);
            ROW2_FMA(5);
        }
        ROW2_STORE(0)
        ROW2_STORE(1)
        ROW2_STORE(2)
        ROW2_STORE(3)
        ROW2_STORE(4)
        ROW2_STORE(5)
    }
}

/* ---- AVX-512F -------------------------------------------------------------------------------- */

#define AVX512 __attribute__((target("avx512f,fma")))

/* The register block of nn/gemm_block.h; per k, each row's element of A broadcast times B's
 * row. */
#define ROW_FMA(r)                                                                                 \
    do {                                                                                           \
        const __m512 ar = _mm512_set1_ps(a##r[k]);                                                 \
        c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);                                                \
        if (nv > 1) c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);                                    \
        if (nv > 2) c##r##2 = _mm512_fmadd_ps(ar, b2, c##r##2);                                    \
        if (nv > 3) c##r##3 = _mm512_fmadd_ps(ar, b3, c##r##3);                                    \
    } while (0)

AVX512 static inline __attribute__((always_inline)) void
block_avx512_nv(const float *a, int lda, const float *b, int ldb, int kc, float *c, int ldc,
                int rows, int cols, int load_c, const int nv) {
    FACET_GEMM_A_ROWS(float);
    FACET_GEMM_COLUMN_MASKS(cols);
    ROW_INIT(0);
    ROW_INIT(1);
    ROW_INIT(2);
    ROW_INIT(3);
    ROW_INIT(4);
    ROW_INIT(5);
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (size_t)k * ldb;
        const __m512 b0 = _mm512_maskz_loadu_ps(mk[0], bk);
        const __m512 b1 = nv > 1 ? _mm512_maskz_loadu_ps(mk[1], bk + 16) : _mm512_setzero_ps();
        const __m512 b2 = nv > 2 ? _mm512_maskz_loadu_ps(mk[2], bk + 32) : _mm512_setzero_ps();
        const __m512 b3 = nv > 3 ? _mm512_maskz_loadu_ps(mk[3], bk + 48) : _mm512_setzero_ps();
        ROW_FMA(0);
        ROW_FMA(1);
        ROW_FMA(2);
        ROW_FMA(3);
        ROW_FMA(4);
        ROW_FMA(5);
    }
    ROW_STORE(0);
    ROW_STORE(1);
    ROW_STORE(2);
    ROW_STORE(3);
    ROW_STORE(4);
    ROW_STORE(5);
}

AVX512 static void block_avx512(const float *a, int lda, const float *b, int ldb, int kc, float *c,
                                int ldc, int rows, int cols, int load_c) {
    FACET_GEMM_BY_VECTORS(cols, block_avx512_nv, a, lda, b, ldb, kc, c, ldc, rows, cols, load_c);
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static const char *const KERNEL_NAMES[] = {"avx512", "avx2", "c"};
static const block_fn KERNELS[] = {block_avx512, block_avx2, block_c};

static int supported(int index) {
    __builtin_cpu_init();
    if (KERNELS[index] == block_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    if (KERNELS[index] == block_avx2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 1;
}

static facet_gemm_dispatch dispatch = {"GEMM", KERNEL_NAMES, 3, supported, 0};

const char *facet_gemm_kernel_name(void) {
    return KERNEL_NAMES[facet_gemm_dispatch_current(&dispatch)];
}

facet_status facet_gemm_force_kernel(const char *name) {
    return facet_gemm_dispatch_force(&dispatch, name);
}

/* ---- the product ----------------------------------------------------------------------------- */

static int panels(int m) {
    return (m + MR - 1) / MR;
}

/* Over blocks: 64 columns of B, KC values of k, MR rows of A. */
void facet_gemm(const float *a, int lda, int m, int k, const float *b, int ldb, int n, float *c,
                int ldc, int accumulate) {
    const block_fn block = KERNELS[facet_gemm_dispatch_current(&dispatch)];
    if (k == 0) {
        if (!accumulate)
            for (int r = 0; r < m; r++) memset(c + (size_t)r * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
    for (int j0 = 0; j0 < n; j0 += NB) {
        const int cols = n - j0 < NB ? n - j0 : NB;
        for (int k0 = 0; k0 < k; k0 += KC) {
            const int kc = k - k0 < KC ? k - k0 : KC;
            for (int pn = 0; pn < panels(m); pn++) {
                const int rows = m - pn * MR < MR ? m - pn * MR : MR;
                block(a + (size_t)pn * MR * lda + k0, lda, b + (size_t)k0 * ldb + j0, ldb, kc,
                      c + (size_t)pn * MR * ldc + j0, ldc, rows, cols, accumulate || k0 > 0);
            }
        }
    }
}
