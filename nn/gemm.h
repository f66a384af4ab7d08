/* Single-threaded float32 matrix products with the inner kernel chosen at run time from the
 * CPU's features: AVX-512F, else AVX2 + FMA, else portable C. The choice never depends on
 * environment variables or on the flags facet was compiled with (each kernel is compiled for its
 * own target), so one binary runs the same kernels on every machine with the same CPU features.
 *
 *     C[m, n] (+)= A[m, k] B[k, n]       all row-major with row strides lda, ldb, ldc
 *
 * Callers parallelise over products (one per thread); a product runs on the calling thread.
 * Summation order: over k in ascending blocks of FACET_GEMM_KC, each block accumulated in order
 * into C; results differ from OpenBLAS's by rounding. */
#ifndef FACET_NN_GEMM_H
#define FACET_NN_GEMM_H

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_GEMM_MR = 6, FACET_GEMM_KC = 256 };

/* C = A B, or C + A B when accumulate is 1. m, k, n >= 0; lda >= k, ldb >= n, ldc >= n. */
void facet_gemm(const float *a, int lda, int m, int k, const float *b, int ldb, int n, float *c,
                int ldc, int accumulate);

/* The kernel facet_gemm uses on this CPU: "avx512", "avx2" or "c". */
const char *facet_gemm_kernel_name(void);

/* Forces a kernel ("avx512", "avx2", "c"; NULL: back to the detected one) for tests that compare
 * the kernels; FACET_ERR_UNSUPPORTED when this CPU lacks its instructions. Not thread-safe. */
facet_status facet_gemm_force_kernel(const char *name);

#ifdef __cplusplus
}
#endif
#endif
