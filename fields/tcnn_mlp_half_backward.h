/* The backward pass of a network's fp16 form (fields/tcnn_mlp_half.h): what tiny-cuda-nn's
 * fully fused MLP computes when it trains in half precision, with fp32 master weights. The CUDA
 * kernels (fields/cuda/tcnn_mlp_tensor.cuh) run it as warp matrix products; this header is its
 * per-point reference on the host, and holds the per-element functions both use.
 *
 * The gradients flow in half, multiplied by a loss scale S (a power of two, as in tcnn and
 * PyTorch's GradScaler: a gradient of 1e-7 is a subnormal in half, 1e-5 scaled by 128 is not):
 *   output:   g_L[o] = f16(dout[o] act_out'(y[o]) S) for o < width[layers], 0 in the padding
 *   layer l:  s[i] = sum_o g_l[o] W^T_l[i][o], o ascending over pad16(width[l + 1]), each
 *             addition rounded to fp32 (a product of two halves is exact in fp32);
 *             hidden input (l > 0): g_{l-1}[i] = f16(s[i] act_hidden'(x_l[i])), x_l the kept half
 *             activation; network input (l = 0): dinput[i] = s[i] / S in fp32
 *   weights:  dW^T_l[i][o] = sum over points of x_l[i] g_l[o] / S; bias0: sum of g_0[o] / S.
 * S is a power of two, so dividing by it is exact (for results above 2^-126 S); only the order of
 * the sums over points differs between this reference (point after point) and the kernels (tiles
 * of 16 points, then chunks). The sums over o follow the header's order: the kernels add a tile's
 * products in the emulator's (tools/cuemu/include/mma.h) documented order and match dinput and
 * every g bit for bit there; on a GPU the order is NVIDIA's. */
#ifndef FACET_FIELDS_TCNN_MLP_HALF_BACKWARD_H
#define FACET_FIELDS_TCNN_MLP_HALF_BACKWARD_H

#include "tcnn_mlp.h"

#include <stddef.h>

/* The output layer's gradient in half (as a float): f16(dout act'(y) S). */
static inline FACET_HD float facet_mlp_half_output_gradient(facet_activation output, float y,
                                                            float dout, float scale) {
    return facet_f16_round(dout * facet_activation_derivative(output, y) * scale);
}

/* A hidden unit's gradient in half (as a float) from s, the sum over the layer's outputs, and x,
 * the unit's kept activation (a half): f16(s act'(x)). */
static inline FACET_HD float facet_mlp_half_hidden_gradient(facet_activation hidden, float x,
                                                            float s) {
    return facet_f16_round(s * facet_activation_derivative(hidden, x));
}

/* Whether S is a loss scale the backward pass takes: a power of two from 1 to 2^24. */
static inline int facet_mlp_half_loss_scale_valid(float scale) {
    int e = 0;
    return scale >= 1.0f && scale <= 16777216.0f && frexpf(scale, &e) == 0.5f;
}

/* Floats of scratch facet_mlp_half_backward_scratch takes: every layer's padded input, the
 * output, and two gradient rows of the widest padded layer. */
static inline FACET_HD int facet_mlp_half_backward_scratch_floats(const facet_mlp *m) {
    int total = m->width[m->layers], widest = 0;
    for (int l = 0; l <= m->layers; l++) {
        const int pad = facet_mlp_pad16(m->width[l]);
        if (l < m->layers) total += pad;
        if (pad > widest) widest = pad;
    }
    return total + 2 * widest;
}

/* The header's backward pass for one point: adds its weight and bias0 gradients to grad (a
 * facet_mlp whose weight[l] and bias0 point to float arrays shaped like m's: W^T [width[l]]
 * [width[l + 1]], bias0 [width[1]]) through FACET_GRAD_ADD and, when dinput is not NULL, writes
 * dL/d in[width[0]]. m->half set; scale: a valid loss scale (facet_mlp_half_loss_scale_valid).
 * facet_mlp_backward_scratch (fields/livescene_backward.h) runs it for a network with a pack. */
static inline FACET_HD void facet_mlp_half_backward_scratch(const facet_mlp *m,
                                                            const facet_mlp *grad, const float *in,
                                                            const float *dout, float scale,
                                                            float *dinput, float *scratch) {
    float *x[FACET_MLP_MAX_LAYERS]; /* x[l]: layer l's input, pad16(width[l]) halves as floats */
    float *at = scratch;
    for (int l = 0; l < m->layers; l++) {
        x[l] = at;
        at += facet_mlp_pad16(m->width[l]);
    }
    float *y = at;
    at += m->width[m->layers];
    int widest = 0;
    for (int l = 0; l <= m->layers; l++)
        if (facet_mlp_pad16(m->width[l]) > widest) widest = facet_mlp_pad16(m->width[l]);
    float *g = at, *next = at + widest;
    for (int i = 0; i < facet_mlp_pad16(m->width[0]); i++)
        x[0][i] = i < m->width[0] ? facet_f16_round(in[i]) : 0.0f;
    for (int l = 0; l < m->layers; l++) {
        float *out = l == m->layers - 1 ? y : x[l + 1];
        facet_mlp_half_layer(m, l, x[l], out);
        if (l < m->layers - 1)
            for (int o = m->width[l + 1]; o < facet_mlp_pad16(m->width[l + 1]); o++) out[o] = 0.0f;
    }
    const int top = m->width[m->layers];
    for (int o = 0; o < facet_mlp_pad16(top); o++)
        g[o] = o < top ? facet_mlp_half_output_gradient(m->output, y[o], dout[o], scale) : 0.0f;
    const float inverse = 1.0f / scale;
    for (int l = m->layers - 1; l >= 0; l--) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const int in_pad = facet_mlp_pad16(n_in), out_pad = facet_mlp_pad16(n_out);
        const uint16_t *w = facet_mlp_half_weights(m, l);
        float *gw = (float *)grad->weight[l];
        for (int i = 0; i < n_in; i++)
            if (x[l][i] != 0.0f)
                for (int o = 0; o < n_out; o++)
                    FACET_GRAD_ADD(gw + (size_t)i * n_out + o, x[l][i] * g[o] * inverse);
        if (l == 0) {
            for (int o = 0; o < n_out; o++)
                FACET_GRAD_ADD((float *)grad->bias0 + o, g[o] * inverse);
            if (!dinput) break;
        }
        for (int i = 0; i < (l == 0 ? n_in : in_pad); i++) {
            float s = 0.0f;
            for (int o = 0; o < out_pad; o++)
                s += g[o] * facet_f16_to_f32(w[(size_t)i * out_pad + o]);
            if (l == 0)
                dinput[i] = s * inverse;
            else
                next[i] = facet_mlp_half_hidden_gradient(m->hidden, x[l][i], s);
        }
        float *swap = g;
        g = next, next = swap;
    }
}

#endif
