/* The text-encoder steps of a forward pass that are not nn/'s, implemented once per device: the
 * CPU (loops, language/text_encoder.c) and CUDA (kernels, language/cuda/text_encoder.cu;
 * language/text_encoder_none.c without CUDA). LayerNorm, the linear layers, the activations and
 * the attention are nn/nn.h's, on the backend's nn context. The forward pass itself (the order of
 * the steps) is written once, in text_encoder.c. Pointers are in the backend's memory except
 * where noted. */
#ifndef FACET_LANGUAGE_TEXT_BACKEND_H
#define FACET_LANGUAGE_TEXT_BACKEND_H

#include "nn/nn.h"
#include "text_encoder.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_text_backend {
    void *ctx;
    facet_nn *nn; /* linear layers, LayerNorm, activations, attention (same device) */
    /* A workspace of `floats` floats, valid until the next call (owned by the backend). */
    facet_status (*workspace)(void *ctx, size_t floats, float **out);
    /* x[t] = embeddings of ids[t] (ids in host memory), t < count. */
    facet_status (*embed)(void *ctx, const facet_text_weights *w, const int32_t *ids, int count,
                          int width, float *x);
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
