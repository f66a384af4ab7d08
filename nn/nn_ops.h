/* Per-element and per-row math of nn/ (nn/nn.h), written once for the CPU launcher (nn/nn.c) and
 * the CUDA kernels (nn/cuda/nn.cu), and used by the model-specific ops of tokenizer/ and
 * language/. Valid C11 and CUDA C++; FACET_HD makes every function callable from device code.
 * Matrix products are not here: they go to nn/gemm.h and OpenBLAS / cuBLAS.
 *
 * Conventions follow PyTorch's float32 kernels where it matters for parity:
 * - normalisations (LayerNorm, FQGAN's GroupNorm) apply y = x * scale + shift with
 *   scale = gamma / sqrt(var + eps), shift = beta - mean * scale (biased variance);
 * - GELU exact: 0.5 x (1 + erf(x / sqrt 2)), computed as 0.5 x erfc(-x / sqrt 2); QuickGELU: x
 * sigmoid(1.702 x);
 * - softmax rows subtract the row maximum before exp and multiply by the reciprocal of the sum;
 * - ReLU and max pooling keep NaN (torch.relu, torch.nn.MaxPool2d);
 * - convolutions and pooling windows use torch's floor mode for the output size. */
#ifndef FACET_NN_NN_OPS_H
#define FACET_NN_NN_OPS_H

#include "core/fastmath.h"
#include "core/hd.h"
#include "nn/nn.h"

#include <math.h>

/* exp(x) for the networks' activations (swish, softmax): facet_expf_core (core/fastmath.h) with
 * the input clamped to [-87.33, 88.72]: below it the result is ~1.2e-38 instead of a subnormal or
 * 0, above it ~1.7e38 instead of inf. NaN in gives NaN out. */
static inline FACET_HD float facet_nn_expf(float x) {
    const float in = x;
    x = x > -87.33f ? x : -87.33f; /* NaN becomes -87.33 here and is restored at the end */
    x = x < 88.72f ? x : 88.72f;
    const float e = facet_expf_core(x);
    return in == in ? e : in;
}

/* GELU as 0.5 x erfc(-x / sqrt 2) (= 0.5 x (1 + erf(x / sqrt 2))): erfc keeps the relative
 * precision for x < 0 that 1 + erf loses to cancellation, and facet_erfcf vectorises. */
static inline FACET_HD float facet_nn_gelu(float x) {
    return 0.5f * x * facet_erfcf(-x * 0.70710678118654752440f);
}

static inline FACET_HD float facet_nn_quick_gelu(float x) {
    return x / (1.0f + expf(-1.702f * x));
}

/* max(x, 0); NaN stays NaN. */
static inline FACET_HD float facet_nn_relu(float x) {
    return x < 0.0f ? 0.0f : x;
}

/* act (facet_nn_activation) of x. */
static inline FACET_HD float facet_nn_activate_one(float x, int act) {
    if (act == FACET_NN_GELU) return facet_nn_gelu(x);
    if (act == FACET_NN_QUICK_GELU) return facet_nn_quick_gelu(x);
    if (act == FACET_NN_RELU) return facet_nn_relu(x);
    return x;
}

/* Affine coefficients of a normalisation from the statistics of its group or row. */
static inline FACET_HD void facet_nn_norm_coefficients(float mean, float var, float eps,
                                                       float gamma, float beta, float *scale,
                                                       float *shift) {
    float rstd = 1.0f / sqrtf(var + eps);
    *scale = gamma * rstd;
    *shift = beta - mean * *scale;
}

/* One normalised element. */
static inline FACET_HD float facet_nn_norm_apply(float x, float scale, float shift) {
    return x * scale + shift;
}

/* Element i of a LayerNorm input: x + residual (residual may be NULL). */
static inline FACET_HD float facet_nn_norm_input(const float *x, const float *residual, int i) {
    return residual ? x[i] + residual[i] : x[i];
}

/* One softmax numerator: exp(x - row maximum). */
static inline FACET_HD float facet_nn_softmax_term(float x, float row_max) {
    return facet_expf(x - row_max);
}

/* In-place softmax of row[0..valid); entries valid..n (masked: the causal mask's future keys)
 * become 0. valid >= 1. */
static inline FACET_HD void facet_nn_softmax_row(float *row, int valid, int n) {
    float max = row[0], sum = 0.0f;
    for (int j = 1; j < valid; j++) max = row[j] > max ? row[j] : max;
    for (int j = 0; j < valid; j++) {
        row[j] = facet_nn_softmax_term(row[j], max);
        sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < valid; j++) row[j] *= inv;
    for (int j = valid; j < n; j++) row[j] = 0.0f;
}

/* Keys query row i of `len` sees: all, or i + 1 under the causal mask. */
static inline FACET_HD int facet_nn_visible_keys(int i, int len, int causal) {
    return causal ? i + 1 : len;
}

/* ---- sliding windows (conv2d, max pooling) ----------------------------------------------------
 */

/* Output side of a window of `kernel` moving by `stride` over `in` positions padded by `pad` on
 * both ends: floor((in + 2 pad - kernel) / stride) + 1, or 0 when the window does not fit. */
static inline FACET_HD int facet_nn_window_out(int in, int kernel, int stride, int pad) {
    const int span = in + 2 * pad - kernel;
    return span < 0 ? 0 : span / stride + 1;
}

/* The input coordinate that output coordinate o reads through kernel tap t (0 .. kernel - 1) along
 * one axis of n positions: o stride - pad + t, or -1 in the padding. */
static inline FACET_HD int facet_nn_window_source(int o, int t, int stride, int pad, int n) {
    const int i = o * stride - pad + t;
    return i >= 0 && i < n ? i : -1;
}

/* One element of the im2col matrix [in kernel_h kernel_w, oh ow] of an image x [in, h, w]: row
 * (c kernel_h + i) kernel_w + j (W's [out, in, kernel_h, kernel_w] layout), column oy ow + ox (an
 * output pixel), value x[c, oy stride_h - pad_h + i, ox stride_w - pad_w + j], 0 in the padding. */
static inline FACET_HD float facet_nn_im2col_element(const float *x, int h, int w,
                                                     facet_nn_window win, int c, int i, int j,
                                                     int oy, int ox) {
    const int y = facet_nn_window_source(oy, i, win.stride_h, win.pad_h, h);
    const int xx = facet_nn_window_source(ox, j, win.stride_w, win.pad_w, w);
    return y < 0 || xx < 0 ? 0.0f : x[((size_t)c * h + y) * w + xx];
}

/* Output (oy, ox) of max pooling one plane [h, w]: the maximum over the window's positions inside
 * the plane; NaN as soon as one of them is NaN (torch). The window holds at least one position
 * when pad <= kernel / 2 (facet_nn_max_pool2d checks it). */
static inline FACET_HD float facet_nn_max_pool_element(const float *plane, int h, int w,
                                                       facet_nn_window win, int oy, int ox) {
    const int y0 = oy * win.stride_h - win.pad_h, x0 = ox * win.stride_w - win.pad_w;
    float m = -INFINITY;
    for (int i = 0; i < win.kernel_h; i++) {
        const int y = y0 + i;
        if (y < 0 || y >= h) continue;
        for (int j = 0; j < win.kernel_w; j++) {
            const int x = x0 + j;
            if (x < 0 || x >= w) continue;
            const float v = plane[(size_t)y * w + x];
            if (v > m || v != v) m = v;
        }
    }
    return m;
}

#endif
