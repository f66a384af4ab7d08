/* nn/ internals: the context shared by the device dispatch (nn/nn.c) and the CUDA backend
 * (nn/cuda/nn.cu, stubbed by nn/nn_none.c). Not for callers outside nn/. */
#ifndef FACET_NN_NN_INTERNAL_H
#define FACET_NN_NN_INTERNAL_H

#include "nn/nn.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_nn_cuda facet_nn_cuda;

/* A linear layer's weights w [out, in] as W^T in B's split pairs (nn/gemm_bf16.h), in panels
 * of 64 columns, [ceil(out / 64)][2 ceil(in / 2)][64]: hi pair rows, then lo. */
typedef struct facet_nn_split_linear {
    const float *w; /* the caller's weights, the key */
    int in, out;
    uint32_t *pairs;
} facet_nn_split_linear;

struct facet_nn {
    facet_nn_device device;
    facet_nn_precision precision;
    /* CPU: OpenMP threads, each with its own rows of attention scores */
    int threads;
    float *scores; /* threads x score_floats */
    size_t score_floats;
    float *cols; /* threads x col_floats: each thread's im2col block (conv2d) */
    size_t col_floats;
    float *linear; /* threads x linear_floats: each thread's X^T and W X^T blocks, or (split) X W^T
                    * and X's packed rows (linear) */
    size_t linear_floats;
    /* FACET_NN_SPLIT: the weights declared with facet_nn_prepare_linear, as split pairs */
    facet_nn_split_linear *prepared;
    int prepared_count, prepared_capacity;
    /* CUDA: the device state (nn/cuda/nn.cu) */
    facet_nn_cuda *cuda;
};

/* The CUDA backend (nn/cuda/nn.cu; FACET_ERR_CUDA from nn/nn_none.c without CUDA). Arguments as
 * the public functions of nn.h, on nn->cuda. */
facet_status facet_nn_cuda_create(facet_nn *nn);
void facet_nn_cuda_destroy(facet_nn *nn);
facet_status facet_nn_cuda_reserve(facet_nn *nn, int heads, int len, size_t operand_elems);
facet_status facet_nn_cuda_params(facet_nn *nn, const float *params, size_t count);
size_t facet_nn_cuda_memory_bytes(const facet_nn *nn);
facet_status facet_nn_cuda_linear(facet_nn *nn, const float *x, int rows, int in, const float *w,
                                  const float *b, int out, facet_nn_activation act, int accumulate,
                                  float *y);
facet_status facet_nn_cuda_layer_norm(facet_nn *nn, const float *x, const float *residual, int rows,
                                      int n, const float *gamma, const float *beta, float eps,
                                      float *y);
facet_status facet_nn_cuda_softmax(facet_nn *nn, float *x, int rows, int n);
/* conv2d with its output sides already checked (facet_nn_window_output). */
facet_status facet_nn_cuda_conv2d(facet_nn *nn, const float *x, int batch, int in, int h, int w,
                                  const float *weight, const float *bias, int out,
                                  const facet_nn_window *window, int oh, int ow,
                                  facet_nn_activation act, float *y);
facet_status facet_nn_cuda_max_pool2d(facet_nn *nn, const float *x, int planes, int h, int w,
                                      const facet_nn_window *window, int oh, int ow, float *y);
facet_status facet_nn_cuda_attention(facet_nn *nn, const float *qkv, int batch, int len, int width,
                                     int heads, int causal, float *y);

#ifdef __cplusplus
}
#endif
#endif
