/* FQGAN's own per-element math, written once for the CPU (tokenizer/fqgan_backend.c) and CUDA
 * (tokenizer/cuda/fqgan_backend.cu) backends; what FQGAN shares with the text encoders (GELU,
 * the normalisation coefficients, softmax) is nn/nn_ops.h. Valid C11 and CUDA C++; FACET_HD makes
 * every function callable from device code.
 *
 * Conventions follow PyTorch's float32 kernels where it matters for parity:
 * - GroupNorm(32, eps 1e-6) and LayerNorm(eps 1e-5) apply y = x * scale + shift with
 *   scale = gamma / sqrt(var + eps), shift = beta - mean * scale (biased variance,
 *   facet_nn_norm_coefficients);
 * - swish(x) = x * sigmoid(x);
 * - F.normalize(v) = v / max(||v||, 1e-12), element by element (a division, not a reciprocal);
 * - codebook lookup: with z and the codebook rows L2-normalised, argmin of |z|^2 + |e|^2 - 2 z.e
 *   is the argmax of z.e; ties go to the lower index (torch.argmin returns the first minimum). */
#ifndef FACET_TOKENIZER_FQGAN_OPS_H
#define FACET_TOKENIZER_FQGAN_OPS_H

#include "core/hd.h"
#include "nn/nn_ops.h"
#include "tokenizer/fqgan_internal.h"

#include <math.h>

#define FQGAN_GROUPS 32
#define FQGAN_GROUP_NORM_EPS 1e-6f
#define FQGAN_LAYER_NORM_EPS 1e-5f
#define FQGAN_NORMALIZE_EPS 1e-12f

/* 1 / (1 + e^-x) with nn/'s vectorisable exp (swish runs over every activation of the trunk). */
static inline FACET_HD float fqgan_sigmoid(float x) {
    return 1.0f / (1.0f + facet_nn_expf(-x));
}

static inline FACET_HD float fqgan_swish(float x) {
    return x * fqgan_sigmoid(x);
}

/* One normalised element, optionally followed by swish (GroupNorm + swish of the trunk). */
static inline FACET_HD float fqgan_norm_apply(float x, float scale, float shift, int swish) {
    float y = facet_nn_norm_apply(x, scale, shift);
    return swish ? fqgan_swish(y) : y;
}

/* The divisor F.normalize uses for a vector with this sum of squares. */
static inline FACET_HD float fqgan_l2_divisor(float sum_squares) {
    return fmaxf(sqrtf(sum_squares), FQGAN_NORMALIZE_EPS);
}

/* z . e over `dim` components (e a normalised codebook row). */
static inline FACET_HD float fqgan_code_score(const float *z, const float *row, int dim) {
    float s = 0.0f;
    for (int d = 0; d < dim; d++) s += z[d] * row[d];
    return s;
}

/* 1 when (score, index) beats (best, best_index): higher score, or equal score and lower index. */
static inline FACET_HD int fqgan_code_better(float score, int index, float best, int best_index) {
    return score > best || (score == best && index < best_index);
}

/* Index of the codebook row nearest to the normalised vector z (codebook [count, dim]). */
static inline FACET_HD int fqgan_nearest_code(const float *z, const float *codebook, int count,
                                              int dim) {
    float best = -INFINITY;
    int best_index = 0;
    for (int j = 0; j < count; j++) {
        float s = fqgan_code_score(z, codebook + (long)j * dim, dim);
        if (fqgan_code_better(s, j, best, best_index)) {
            best = s;
            best_index = j;
        }
    }
    return best_index;
}

/* Input coordinate feeding output coordinate o through tap t (0..2) of a 3x3 kernel applied in
 * `mode` (fqgan_internal.h) to an input of n pixels along that axis, or -1 for the zero padding. */
static inline FACET_HD int fqgan_conv_source(fqgan_conv_mode mode, int o, int t, int n) {
    int i;
    switch (mode) {
    case FQGAN_CONV_SAME:
        i = o + t - 1;
        return i >= 0 && i < n ? i : -1;
    case FQGAN_CONV_DOWNSAMPLE:
        i = 2 * o + t;
        return i < n ? i : -1;
    case FQGAN_CONV_UPSAMPLE:
        i = o + t - 1;
        return i >= 0 && i < 2 * n ? i / 2 : -1;
    }
    return -1;
}

#endif
