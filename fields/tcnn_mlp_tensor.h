/* A network's fp16 form (fields/tcnn_mlp_half.h) on the GPU's tensor cores, over host arrays: the
 * kernel the CUDA LiveScene renderer runs and the training kernels (forward keeping activations,
 * backward, weight gradients: fields/tcnn_mlp_half_backward.h) of fields/cuda/tcnn_mlp_tensor.cuh,
 * callable from C for tests and tools. */
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

/* The fp16 backward pass (fields/tcnn_mlp_half_backward.h) of `net` over rows points: in
 * [rows][width[0]] and dout [rows][width[layers]] (dL/d output) on the host. Adds the weight and
 * bias0 gradients, fp32, to grad (a host facet_mlp whose weight[l] and bias0 point to arrays
 * shaped like net's) and, when dinput is not NULL, writes dL/d in to dinput[rows][width[0]].
 * loss_scale: a power of two from 1 to 2^24 (facet_mlp_half_loss_scale_valid). Errors as
 * facet_mlp_tensor_forward, and FACET_ERR_INVALID_ARGUMENT for another loss scale or an output
 * wider than FACET_MLP_MAX_WIDTH. */
facet_status facet_mlp_tensor_backward(const facet_mlp *net, const float *in, const float *dout,
                                       int64_t rows, float loss_scale, const facet_mlp *grad,
                                       float *dinput);

#ifdef __cplusplus
}
#endif
#endif
