/* The steps of a text-encoder forward pass, implemented once per device: the CPU (OpenBLAS + loops,
 * language/text_encoder.c) and CUDA (cuBLAS + kernels,
 * language/cuda/text_encoder_cuda.cu). The forward pass itself (the order of the steps) is
 * written once, in text_encoder.c. Pointers are in the backend's memory except where noted. */
#ifndef FACET_LANGUAGE_TEXT_BACKEND_H
#define FACET_LANGUAGE_TEXT_BACKEND_H

#include "text_encoder.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_text_backend {
    void *ctx;
    /* A workspace of `floats` floats, valid until the next call (owned by the backend). */
    facet_status (*workspace)(void *ctx, size_t floats, float **out);
    /* x[t] = embeddings of ids[t] (ids in host memory), t < count. */
    facet_status (*embed)(void *ctx, const facet_text_weights *w, const int32_t *ids, int count,
                          int width, float *x);
    /* y[rows, out] = x[rows, in] W[out, in]^T + b (b may be NULL). */
    facet_status (*linear)(void *ctx, const float *x, int rows, int in, const float *w,
                           const float *b, int out, float *y);
    /* out[count, width] = multi-head attention of qkv[count, 3 width] (q | k | v, heads of
     * width / heads), causal or not; scores is scratch of heads * count * count floats. */
    facet_status (*attention)(void *ctx, const float *qkv, int count, int width, int heads,
                              int causal, float *scores, float *out);
    /* y[r] = LayerNorm(x[r] + residual[r]) per row (residual may be NULL; y may alias x). */
    facet_status (*layernorm)(void *ctx, const float *x, const float *residual, int rows, int n,
                              const float *g, const float *b, float eps, float *y);
    /* x = activation(x) elementwise. */
    facet_status (*activate)(void *ctx, float *x, size_t count, int kind);
    /* x += y elementwise. */
    facet_status (*add)(void *ctx, float *x, const float *y, size_t count);
    /* out[width] = row `row` of x[count, width], or (row < 0) the mean of the rows. */
    facet_status (*pool)(void *ctx, const float *x, int count, int width, int row, float *out);
    /* Copies count floats from backend memory to the host. */
    facet_status (*download)(void *ctx, const float *src, float *host, size_t count);
} facet_text_backend;

/* The CUDA backend and the device copy of e's weights (uploaded on the first call). Without CUDA:
 * FACET_ERR_CUDA. */
facet_status facet_text_cuda_backend(facet_text_encoder *e, facet_text_backend *backend,
                                     const facet_text_weights **weights);
void facet_text_cuda_free(facet_text_encoder *e);

#ifdef __cplusplus
}
#endif
#endif
