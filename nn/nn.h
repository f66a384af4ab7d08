/* facet's neural-network layer: the transformer ops that the FQGAN adapters (tokenizer/fqgan.c)
 * and the text encoders (language/text_encoder.c) share, and the convolutional ops of LPIPS's
 * backbones (lpips/lpips.c), implemented once per device: the CPU (OpenBLAS +
 * OpenMP, nn/nn.c) and CUDA (cuBLAS + kernels, nn/cuda/nn.cu; nn/nn_none.c without CUDA). The
 * per-element math of both is nn/nn_ops.h.
 *
 * A facet_nn is a context on one device: its cuBLAS handle, the precision of its products and its
 * workspaces (attention scores, bf16 operands). Every tensor pointer passed to an op is memory of
 * that device (host memory for FACET_NN_CPU, device memory for FACET_NN_CUDA). Tensors are
 * float32, row-major: a "row" is the contiguous last dimension (images are NCHW: batch, channel,
 * row, column, the column contiguous, as torch). Every op runs in order on the
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

/* How a context multiplies matrices. CUDA: FP32, TF32 or BF16. CPU: FP32, or SPLIT; any other
 * value gives a CPU context FP32 products. */
typedef enum facet_nn_precision {
    FACET_NN_FP32 = 0,  /* fp32 cuBLAS; on the CPU nn/gemm.h's fp32 kernels */
    FACET_NN_TF32 = 1,  /* TF32 tensor cores, fp32 accumulation */
    FACET_NN_BF16 = 2,  /* bf16 operands (weights converted once, see facet_nn_params), fp32
                         * accumulation */
    FACET_NN_SPLIT = 3, /* CPU with AVX-512 BF16: the linear layers whose weights were declared
                         * with facet_nn_prepare_linear run split products, three bf16 products
                         * with float32-grade error (nn/gemm_bf16.h; they pay where the AMX
                         * kernel runs); every other product in fp32. Without AVX-512 BF16: FP32 */
} facet_nn_precision;

/* Element-wise activations (nn_ops.h). */
typedef enum facet_nn_activation {
    FACET_NN_IDENTITY = 0,
    FACET_NN_GELU = 1,       /* exact: x/2 (1 + erf(x / sqrt 2)) (BERT, OpenCLIP, FQGAN) */
    FACET_NN_QUICK_GELU = 2, /* x sigmoid(1.702 x) (OpenAI CLIP weights) */
    FACET_NN_RELU = 3,       /* max(x, 0), NaN kept (torch.relu) */
} facet_nn_activation;

/* A window sliding over the rows and columns of an NCHW image (a convolution's kernel, a pooling
 * window): its size, its step and the padding on each side (top and bottom, left and right).
 * Output sides are floor((in + 2 pad - kernel) / stride) + 1, torch's floor mode
 * (facet_nn_window_out in nn_ops.h). */
typedef struct facet_nn_window {
    int kernel_h, kernel_w; /* >= 1 */
    int stride_h, stride_w; /* >= 1 */
    int pad_h, pad_w;       /* >= 0 */
} facet_nn_window;

typedef struct facet_nn facet_nn;

/* A context on `device`; `precision` applies to FACET_NN_CUDA. FACET_ERR_CUDA when facet was
 * built without CUDA or no CUDA device is usable. */
facet_status facet_nn_create(facet_nn **out, facet_nn_device device, facet_nn_precision precision);
void facet_nn_destroy(facet_nn *nn);

/* Allocates the workspaces now (they otherwise grow on first use): attention over up to `heads`
 * heads of `len` tokens and `width` channels, and (BF16 only) activation operands of up to
 * `operand_elems` elements. */
facet_status facet_nn_reserve(facet_nn *nn, int heads, int len, int width, size_t operand_elems);

/* Declares `params[count]` (device memory) to hold weights: a BF16 context makes its bf16 copy
 * now and multiplies by it whenever an operand lies inside `params`. No-op otherwise. Call again
 * after the weights change. */
facet_status facet_nn_params(facet_nn *nn, const float *params, size_t count);

/* Declares the weights w [out, in] of a linear layer (memory of the context's device) constant
 * from now on: a FACET_NN_SPLIT CPU context packs them for its split products and uses the pack
 * whenever facet_nn_linear gets this w with this shape. No-op on other contexts. */
facet_status facet_nn_prepare_linear(facet_nn *nn, const float *w, int in, int out);

/* Bytes the context holds (workspaces, the bf16 weight copy, prepared linear weights). */
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

/* 2-D convolution (torch.nn.Conv2d, dilation 1, groups 1): y [batch, out, oh, ow] with
 *   y[n, o, oy, ox] = act(b[o] + sum_{c, i, j} W[o, c, i, j] x[n, c, yi, xj]),
 *   yi = oy sh - ph + i,  xj = ox sw - pw + j  (sh, sw the strides, ph, pw the padding)
 * for x [batch, in, h, w], W [out, in, kernel_h, kernel_w], b [out] or NULL; positions outside x
 * read 0 (zero padding); oh, ow from facet_nn_window_output. Computed as im2col + one matrix
 * product per block of output pixels (the CPU: OpenBLAS sgemm per OpenMP task; CUDA: an im2col
 * kernel + cuBLAS), after y = b, then the activation; a 1x1 kernel with stride 1 and no padding
 * multiplies x directly. FACET_ERR_INVALID_ARGUMENT when the window is malformed or does not fit
 * (an output side below 1). y never aliases x. */
facet_status facet_nn_conv2d(facet_nn *nn, const float *x, int batch, int in, int h, int w,
                             const float *weight, const float *bias, int out,
                             const facet_nn_window *window, facet_nn_activation act, float *y);

/* The output sides of `window` over an h x w input; FACET_ERR_INVALID_ARGUMENT, the message
 * starting with `what` ("nn conv2d"), when a kernel, stride or padding is out of range or the
 * window does not fit (an output side below 1). */
facet_status facet_nn_window_output(const facet_nn_window *window, int h, int w, int *oh, int *ow,
                                    const char *what);

/* Max pooling (torch.nn.MaxPool2d, dilation 1, floor mode): each of `planes` (batch x channels)
 * planes x [planes, h, w] gives y [planes, oh, ow], y = the maximum of x over the window's
 * positions inside the plane (padding never wins, as torch's -inf padding); a NaN in the window
 * gives NaN (torch propagates NaN). torch's rule pad <= kernel / 2 holds
 * (FACET_ERR_INVALID_ARGUMENT otherwise), so every window holds at least one position. */
facet_status facet_nn_max_pool2d(facet_nn *nn, const float *x, int planes, int h, int w,
                                 const facet_nn_window *window, float *y);

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
