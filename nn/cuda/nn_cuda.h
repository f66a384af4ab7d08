/* The matrix products of a CUDA nn context (nn/cuda/nn.cu), for CUDA code of other modules that
 * multiplies in the context's precision (FQGAN's convolutions and spatial attention,
 * tokenizer/cuda/fqgan_backend.cu). CUDA C++ only. */
#ifndef FACET_NN_CUDA_NN_CUDA_H
#define FACET_NN_CUDA_NN_CUDA_H

#include "nn/nn.h"

/* A product operand in the context's precision: fp32 data as is, or its bf16 version (the bf16
 * copy of facet_nn_params for weights, a conversion into operand slot `slot` (0 or 1) for
 * activations). *out points to `count` elements of 2 (bf16) or 4 bytes
 * (facet_nn_cuda_operand_bytes). */
facet_status facet_nn_cuda_operand(facet_nn *nn, const float *p, size_t count, int slot,
                                   const void **out);
size_t facet_nn_cuda_operand_bytes(const facet_nn *nn);

/* Row-major C[m, n] = alpha op(A)[m, k] op(B)[k, n] + beta C for `batch` matrices at the given
 * element strides; A and B are operands of the context's precision, C is fp32. */
facet_status facet_nn_cuda_gemm(facet_nn *nn, bool trans_a, bool trans_b, int m, int n, int k,
                                float alpha, const void *a, int lda, long long stride_a,
                                const void *b, int ldb, long long stride_b, float beta, float *c,
                                int ldc, long long stride_c, int batch);

#endif
