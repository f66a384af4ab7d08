/* Internal to nn/gemm.c and nn/gemm_bf16.c: the AVX-512 register block both product kernels use,
 * C[6 rows, nv x 16 columns] in 6 x nv zmm accumulators c<r><v>. The macros expect in scope:
 * float *c and int ldc (C's block), int rows (<= 6; rows past it go through an all-zero mask,
 * nothing is read or written there), int load_c (start from C's values, else from 0), a
 * constant nv (1..4: each inlined copy keeps its accumulators in named registers; an array of
 * them would live on the stack) and __mmask16 mk[4] (FACET_GEMM_COLUMN_MASKS). The macros that
 * touch zmm registers belong in functions compiled for AVX-512F. */
#ifndef FACET_NN_GEMM_BLOCK_H
#define FACET_NN_GEMM_BLOCK_H

#include <immintrin.h>
#include <stddef.h>

/* a0..a5: the 6 row pointers of a block's A (row stride lda, `rows` of them real; the rest
 * repeat the last row, whose results are dropped) */
#define FACET_GEMM_A_ROWS(type)                                                                    \
    const type *a0 = a, *a1 = a + (size_t)(rows > 1 ? 1 : 0) * lda,                                \
               *a2 = a + (size_t)(rows > 2 ? 2 : rows - 1) * lda,                                  \
               *a3 = a + (size_t)(rows > 3 ? 3 : rows - 1) * lda,                                  \
               *a4 = a + (size_t)(rows > 4 ? 4 : rows - 1) * lda,                                  \
               *a5 = a + (size_t)(rows > 5 ? 5 : rows - 1) * lda

/* lanes [0, w) of a 16-lane vector */
static inline __mmask16 facet_gemm_mask16(int w) {
    return w >= 16 ? (__mmask16)0xFFFF : w <= 0 ? (__mmask16)0 : (__mmask16)((1u << w) - 1);
}

#define FACET_GEMM_COLUMN_MASKS(cols)                                                              \
    const __mmask16 mk[4] = {facet_gemm_mask16(cols), facet_gemm_mask16((cols)-16),                \
                             facet_gemm_mask16((cols)-32), facet_gemm_mask16((cols)-48)}
#define ROW_MASK(r, v) ((r) < rows ? mk[v] : (__mmask16)0)
#define ROW_LOAD(r, v)                                                                             \
    _mm512_maskz_loadu_ps(load_c ? ROW_MASK(r, v) : 0, c + (size_t)(r)*ldc + 16 * (v))
#define ROW_INIT(r)                                                                                \
    __m512 c##r##0 = ROW_LOAD(r, 0), c##r##1 = nv > 1 ? ROW_LOAD(r, 1) : _mm512_setzero_ps(),      \
           c##r##2 = nv > 2 ? ROW_LOAD(r, 2) : _mm512_setzero_ps(),                                \
           c##r##3 = nv > 3 ? ROW_LOAD(r, 3) : _mm512_setzero_ps()
#define ROW_STORE(r)                                                                               \
    do {                                                                                           \
        float *cr = c + (size_t)(r)*ldc;                                                           \
        _mm512_mask_storeu_ps(cr, ROW_MASK(r, 0), c##r##0);                                        \
        if (nv > 1) _mm512_mask_storeu_ps(cr + 16, ROW_MASK(r, 1), c##r##1);                       \
        if (nv > 2) _mm512_mask_storeu_ps(cr + 32, ROW_MASK(r, 2), c##r##2);                       \
        if (nv > 3) _mm512_mask_storeu_ps(cr + 48, ROW_MASK(r, 3), c##r##3);                       \
    } while (0)

/* Calls fn(args..., nv) with nv = the 16-column vectors of `cols` (1..4) as a constant. */
#define FACET_GEMM_BY_VECTORS(cols, fn, ...)                                                       \
    do {                                                                                           \
        switch (((cols) + 15) / 16) {                                                              \
        case 1:                                                                                    \
            fn(__VA_ARGS__, 1);                                                                    \
            break;                                                                                 \
        case 2:                                                                                    \
            fn(__VA_ARGS__, 2);                                                                    \
            break;                                                                                 \
        case 3:                                                                                    \
            fn(__VA_ARGS__, 3);                                                                    \
            break;                                                                                 \
        default:                                                                                   \
            fn(__VA_ARGS__, 4);                                                                    \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

#endif
