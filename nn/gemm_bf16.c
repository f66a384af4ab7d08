/* bfloat16 products (nn/gemm_bf16.h). The AVX-512 BF16 kernel has the shape of nn/gemm.c's
 * float32 one: a block of MR = 6 rows by up to 64 columns, 6 x 4 zmm accumulators, per pair of k
 * one 32-bit broadcast of each row's A pair and four loads of B's pair row, 24 VDPBF16PS. Blocks:
 * 64 columns of B by KC2 = 128 pairs (32 KB, in L1/L2 while every panel of A passes over it). */
#include "nn/gemm_bf16.h"

#include "core/half.h"
#include "nn/gemm_block.h"
#include "nn/gemm_dispatch.h"

#include <immintrin.h>
#include <string.h>

enum { MR = 6, KC2 = 128, NB = 64 };

/* inlined in the packing loops (the exported symbol could be interposed, so calls to it are
 * not), which then vectorise */
static inline uint32_t pair_of(float even, float odd) {
    return (uint32_t)facet_f32_to_bf16(even) | (uint32_t)facet_f32_to_bf16(odd) << 16;
}

uint32_t facet_bf16_pair(float even, float odd) {
    return pair_of(even, odd);
}

void facet_bf16_pack_a(const float *a, int lda, int m, int k, uint32_t *out, int ldo) {
    for (int r = 0; r < m; r++) {
        const float *row = a + (size_t)r * lda;
        uint32_t *o = out + (size_t)r * ldo;
        for (int p = 0; p < k / 2; p++) o[p] = pair_of(row[2 * p], row[2 * p + 1]);
        if (k % 2) o[k / 2] = pair_of(row[k - 1], 0.0f);
    }
}

void facet_bf16_pack_b(const float *b, int ldb, int k, int n, uint32_t *out, int ldo) {
    for (int p = 0; p < (k + 1) / 2; p++) {
        const float *even = b + (size_t)(2 * p) * ldb, *odd = even + ldb;
        uint32_t *o = out + (size_t)p * ldo;
        if (2 * p + 1 < k)
            for (int j = 0; j < n; j++) o[j] = pair_of(even[j], odd[j]);
        else
            for (int j = 0; j < n; j++) o[j] = pair_of(even[j], 0.0f);
    }
}

/* One block: C[rows, cols] (+)= A[rows, k2 pairs] B[k2 pairs, cols], rows <= MR, cols <= NB; C
 * is loaded first when load_c. */
typedef void (*block_fn)(const uint32_t *a, int lda, const uint32_t *b, int ldb, int k2, float *c,
                         int ldc, int rows, int cols, int load_c);

static float bf16_lo(uint32_t pair) {
    return facet_bf16_to_f32((uint16_t)(pair & 0xffffu));
}

static float bf16_hi(uint32_t pair) {
    return facet_bf16_to_f32((uint16_t)(pair >> 16));
}

/* ---- portable C: the reference ----------------------------------------------------------- */

static void block_c(const uint32_t *a, int lda, const uint32_t *b, int ldb, int k2, float *c,
                    int ldc, int rows, int cols, int load_c) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            float acc = load_c ? c[(size_t)r * ldc + j] : 0.0f;
            for (int p = 0; p < k2; p++) {
                const uint32_t x = a[(size_t)r * lda + p], y = b[(size_t)p * ldb + j];
                acc += bf16_lo(x) * bf16_lo(y); /* exact products, one rounding per add */
                acc += bf16_hi(x) * bf16_hi(y);
            }
            c[(size_t)r * ldc + j] = acc;
        }
}

/* ---- AVX-512 BF16 ------------------------------------------------------------------------ */

#define BF16 __attribute__((target("avx512f,avx512bf16")))

/* clang 16 crashes (a segfault at -O1 and up) when it folds a broadcast into VDPBF16PS; an empty
 * asm keeps the broadcast a separate instruction there. GCC needs nothing. */
#if defined(__clang__)
#define KEEP_BROADCAST(x) __asm__("" : "+v"(x))
#else
#define KEEP_BROADCAST(x) ((void)0)
#endif
/* The register block of nn/gemm_block.h; per pair of k, each row's A pair broadcast (32 bits)
 * and dotted with B's pair row. */
#define ROW_DOT(r)                                                                                 \
    do {                                                                                           \
        __m512i ar = _mm512_set1_epi32((int)a##r[p]);                                              \
        KEEP_BROADCAST(ar);                                                                        \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, (__m512bh)ar, b0);                                     \
        if (nv > 1) c##r##1 = _mm512_dpbf16_ps(c##r##1, (__m512bh)ar, b1);                         \
        if (nv > 2) c##r##2 = _mm512_dpbf16_ps(c##r##2, (__m512bh)ar, b2);                         \
        if (nv > 3) c##r##3 = _mm512_dpbf16_ps(c##r##3, (__m512bh)ar, b3);                         \
    } while (0)
/* B's pair row, vector v (zero past nv; the select on integer vectors, as clang has no ?: on
 * vectors of __bf16) */
#define B_LOAD(v)                                                                                  \
    ((__m512bh)(nv > (v) ? _mm512_maskz_loadu_epi32(mk[v], bp + 16 * (v)) : _mm512_setzero_si512()))

BF16 static inline __attribute__((always_inline)) void
block_bf16_nv(const uint32_t *a, int lda, const uint32_t *b, int ldb, int k2, float *c, int ldc,
              int rows, int cols, int load_c, const int nv) {
    FACET_GEMM_A_ROWS(uint32_t);
    FACET_GEMM_COLUMN_MASKS(cols);
    ROW_INIT(0);
    ROW_INIT(1);
    ROW_INIT(2);
    ROW_INIT(3);
    ROW_INIT(4);
    ROW_INIT(5);
    for (int p = 0; p < k2; p++) {
        const uint32_t *bp = b + (size_t)p * ldb;
        const __m512bh b0 = B_LOAD(0), b1 = B_LOAD(1), b2 = B_LOAD(2), b3 = B_LOAD(3);
        ROW_DOT(0);
        ROW_DOT(1);
        ROW_DOT(2);
        ROW_DOT(3);
        ROW_DOT(4);
        ROW_DOT(5);
    }
    ROW_STORE(0);
    ROW_STORE(1);
    ROW_STORE(2);
    ROW_STORE(3);
    ROW_STORE(4);
    ROW_STORE(5);
}

BF16 static void block_bf16(const uint32_t *a, int lda, const uint32_t *b, int ldb, int k2,
                            float *c, int ldc, int rows, int cols, int load_c) {
    FACET_GEMM_BY_VECTORS(cols, block_bf16_nv, a, lda, b, ldb, k2, c, ldc, rows, cols, load_c);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static const char *const KERNEL_NAMES[] = {"avx512bf16", "c"};
static const block_fn KERNELS[] = {block_bf16, block_c};

int facet_gemm_bf16_native(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}

static int supported(int index) {
    return KERNELS[index] == block_c || facet_gemm_bf16_native();
}

static facet_gemm_dispatch dispatch = {"bf16 GEMM", KERNEL_NAMES, 2, supported, 0};

const char *facet_gemm_bf16_kernel_name(void) {
    return KERNEL_NAMES[facet_gemm_dispatch_current(&dispatch)];
}

facet_status facet_gemm_bf16_force_kernel(const char *name) {
    return facet_gemm_dispatch_force(&dispatch, name);
}

/* ---- the product ------------------------------------------------------------------------- */

void facet_gemm_bf16(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb, int n,
                     float *c, int ldc, int accumulate) {
    const block_fn block = KERNELS[facet_gemm_dispatch_current(&dispatch)];
    if (k2 == 0) {
        if (!accumulate)
            for (int r = 0; r < m; r++) memset(c + (size_t)r * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
    for (int j0 = 0; j0 < n; j0 += NB) {
        const int cols = n - j0 < NB ? n - j0 : NB;
        for (int p0 = 0; p0 < k2; p0 += KC2) {
            const int kc = k2 - p0 < KC2 ? k2 - p0 : KC2;
            for (int r0 = 0; r0 < m; r0 += MR) {
                const int rows = m - r0 < MR ? m - r0 : MR;
                block(a + (size_t)r0 * lda + p0, lda, b + (size_t)p0 * ldb + j0, ldb, kc,
                      c + (size_t)r0 * ldc + j0, ldc, rows, cols, accumulate || p0 > 0);
            }
        }
    }
}
