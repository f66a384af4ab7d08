/* A network's fp16 form (fields/tcnn_mlp_half.h) on the GPU's tensor cores, over host arrays: the
 * kernel the CUDA LiveScene renderer runs (fields/cuda/tcnn_mlp_tensor.cuh), callable from C for
 * tests and tools. */
#ifndef FACET_FIELDS_TCNN_MLP_TENSOR_H
#define FACET_FIELDS_TCNN_MLP_TENSOR_H

#include "tcnn_mlp.h"

#include "core/status.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* out[rows][width[layers]] = the fp16 network `net` of in[rows][width[0]] (host arrays; net on
 * the host with its weights and its fp16 pack, net->half, set). The inputs are rounded to half on
 * the device, as the renderer's stages do. FACET_ERR_CUDA without CUDA or on a CUDA error;
 * FACET_ERR_INVALID_ARGUMENT when net has no pack or a hidden layer is wider than
 * FACET_MLP_MAX_WIDTH. */
facet_status facet_mlp_tensor_forward(const facet_mlp *net, const float *in, int64_t rows,
                                      float *out);

#ifdef __cplusplus
}
#endif
#endif
