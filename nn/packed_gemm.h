/* Single-threaded float32 matrix products against a pre-packed left operand (a layer's
 * weights), with the inner kernel chosen at run time from the CPU's features: AVX-512F, else
 * AVX2 + FMA, else portable C. The choice never depends on environment variables or on the
 * flags facet was compiled with (each kernel is compiled for its own target), so one binary runs
 * the same kernels on every machine with the same CPU features.
 *
 *     C[m, n] (+)= A[m, k] B[k, n]       all row-major; A packed once, B and C strided
 *
 * The packed layout: A in panels of FACET_GEMM_MR rows, each panel k-major (the MR values of one
 * column k contiguous), rows past m zero. Callers parallelise over products (one per thread); a
 * product runs on the calling thread. Summation order: over k in ascending blocks of
 * FACET_GEMM_KC, each block accumulated in order; results differ from OpenBLAS's by rounding. */
#ifndef FACET_NN_PACKED_GEMM_H
#define FACET_NN_PACKED_GEMM_H

#include "core/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_GEMM_MR = 6, FACET_GEMM_KC = 256 };

typedef struct facet_packed_a {
    int m, k;
    float *data; /* ceil(m / MR) * MR * k floats, 64-byte aligned */
} facet_packed_a;

/* Packs A [m, k] (row stride lda) into a fresh buffer; release with facet_packed_a_free. */
facet_status facet_packed_a_create(facet_packed_a *out, const float *a, int lda, int m, int k);
void facet_packed_a_free(facet_packed_a *p);
/* Bytes held by a packed matrix. */
size_t facet_packed_a_bytes(const facet_packed_a *p);

/* C [a->m, n] (row stride ldc) = A B, or C + A B when accumulate is 1; B [a->k, n] (row stride
 * ldb). n >= 0 is any width. */
void facet_gemm_packed(const facet_packed_a *a, const float *b, int ldb, int n, float *c, int ldc,
                       int accumulate);

/* The kernel facet_gemm_packed uses on this CPU: "avx512", "avx2" or "c". */
const char *facet_gemm_kernel_name(void);

/* Forces a kernel ("avx512", "avx2", "c"; NULL: back to the detected one) for tests that compare
 * the kernels; FACET_ERR_UNSUPPORTED when this CPU lacks its instructions. */
facet_status facet_gemm_force_kernel(const char *name);

#ifdef __cplusplus
}
#endif
#endif
