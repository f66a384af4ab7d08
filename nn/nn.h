/* facet's transformer layer: the ops that the FQGAN adapters (tokenizer/fqgan.c) and the text
 * encoders (language/text_encoder.c) share, implemented once per device: the CPU (OpenBLAS +
 * OpenMP, nn/nn.c) and CUDA (cuBLAS + kernels, nn/cuda/nn.cu; nn/nn_none.c without CUDA). The
 * per-element math of both is nn/nn_ops.h.
 *
 * A facet_nn is a context on one device: its cuBLAS handle, the precision of its products and its
 * workspaces (attention scores, bf16 operands). Every tensor pointer passed to an op is memory of
 * that device (host memory for FACET_NN_CPU, device memory for FACET_NN_CUDA). Tensors are
 * float32, row-major: a "row" is the contiguous last dimension. Every op runs in order on the
 * device's default stream and fails with a message naming the operation. A context is not
 * thread-safe: one caller at a time. */
#ifndef FACET_NN_NN_H
#define FACET_NN_NN_H

#include "core/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_nn_device {
    FACET_NN_CPU = 0,
    FACET_NN_CUDA = 1,
} facet_nn_device;

/* How CUDA contexts multiply matrices (the CPU always uses fp32 sgemm). */
typedef enum facet_nn_precision {
    FACET_NN_FP32 = 0, /* fp32 cuBLAS */
    FACET_NN_TF32 = 1, /* TF32 tensor cores, fp32 accumulation */
    FACET_NN_BF16 = 2, /* bf16 operands (weights converted once, see facet_nn_params), fp32
                        * accumulation */
} facet_nn_precision;

/* Element-wise activations (nn_ops.h). */
typedef enum facet_nn_activation {
    FACET_NN_IDENTITY = 0,
    FACET_NN_GELU = 1,       /* exact: x/2 (1 + erf(x / sqrt 2)) (BERT, OpenCLIP, FQGAN) */
    FACET_NN_QUICK_GELU = 2, /* x sigmoid(1.702 x) (OpenAI CLIP weights) */
} facet_nn_activation;

typedef struct facet_nn facet_nn;

/* A context on `device`; `precision` applies to FACET_NN_CUDA. FACET_ERR_CUDA when facet was
 * built without CUDA or no CUDA device is usable. */
facet_status facet_nn_create(facet_nn **out, facet_nn_device device, facet_nn_precision precision);
void facet_nn_destroy(facet_nn *nn);

/* Allocates the workspaces now (they otherwise grow on first use): attention over up to `heads`
 * heads of `len` tokens, and (BF16 only) activation operands of up to `operand_elems` elements.
 */
facet_status facet_nn_reserve(facet_nn *nn, int heads, int len, size_t operand_elems);

/* Declares `params[count]` (device memory) to hold weights: a BF16 context makes its bf16 copy
 * now and multiplies by it whenever an operand lies inside `params`. No-op otherwise. Call again
 * after the weights change. */
facet_status facet_nn_params(facet_nn *nn, const float *params, size_t count);

/* Bytes the context holds (workspaces and the bf16 weight copy). */
size_t facet_nn_memory_bytes(const facet_nn *nn);

/* OpenBLAS on one thread while facet's own OpenMP loop splits the work (each task runs a small
 * product): returns the previous thread count, to hand back to facet_nn_blas_serial_end. */
int facet_nn_blas_serial_begin(void);
void facet_nn_blas_serial_end(int previous);

/* y [rows, out] = act(x [rows, in] W^T + b), W [out, in] (nn.Linear), b [out] or NULL. With
 * `accumulate` (act must be FACET_NN_IDENTITY: FACET_ERR_INVALID_ARGUMENT otherwise) the result is
 * added to y: y += x W^T + b (a residual). Computed as y = b (+ y), then y += x W^T (one product,
 * beta 1), then the activation. y never aliases x. */
facet_status facet_nn_linear(facet_nn *nn, const float *x, int rows, int in, const float *w,
                             const float *b, int out, facet_nn_activation act, int accumulate,
                             float *y);

/* y [rows, n] = LayerNorm(x + residual) over each row with gain gamma [n], bias beta [n] and
 * `eps` (biased variance, as torch.nn.LayerNorm); residual [rows, n] may be NULL; y may alias x
 * or residual. The CPU accumulates the statistics in double, CUDA in float (one warp per row). */
facet_status facet_nn_layer_norm(facet_nn *nn, const float *x, const float *residual, int rows,
                                 int n, const float *gamma, const float *beta, float eps, float *y);

/* Softmax of each row of x [rows, n] in place (subtracting the row maximum first). */
facet_status facet_nn_softmax(facet_nn *nn, float *x, int rows, int n);

/* Scaled dot-product multi-head attention (the core of nn.MultiheadAttention, without the
 * projections): qkv [batch, len, 3 width] holds q | k | v per token, head h owning channels
 * [h dh, (h + 1) dh) of each (dh = width / heads). y [batch, len, width] gets per head
 * softmax_j(q_i . k_j / sqrt(dh)) v_j, heads concatenated. With `causal`, query i sees keys
 * j <= i only (CLIP's text tower); masked weights are exactly 0. No padding mask: the callers
 * attend over whole sequences (the text encoders encode one unpadded sequence at a time). */
facet_status facet_nn_attention(facet_nn *nn, const float *qkv, int batch, int len, int width,
                                int heads, int causal, float *y);

#ifdef __cplusplus
}
#endif
#endif
