/* The fp16 form of a facet_mlp (fields/tcnn_mlp.h): what tiny-cuda-nn's FullyFusedMLP computes on
 * tensor cores, half-precision operands, with the sums kept in fp32 (tcnn sums in fp16). The CUDA
 * renderer runs it as warp matrix products (fields/cuda/tcnn_mlp_tensor.cuh); this header is its
 * reference, per point, on the host and the device, and defines the pack both read.
 *
 * The pack (m->half; one block, 32-byte aligned, every part a multiple of 32 bytes):
 * - per layer l, W^T rounded to binary16 (nearest even) as [pad16(width[l])][pad16(width[l+1])]
 *   row-major, zero in the padding (pad16 rounds up to a multiple of 16: one tensor-core tile);
 * - then the bias rows, float [16][pad16(width[1])]: bias0 (fp32, zero-padded) in every row, the
 *   accumulator tile layer 0 starts from.
 *
 * The function, per point (facet_mlp_half_forward_scratch):
 *   x_0[i] = f16(in[i]) for i < width[0], 0 up to pad16(width[0])
 *   layer l: acc[o] = b_l[o] + sum_i x_l[i] W^T_l[i][o], i ascending over the padded range, each
 *            addition rounded to fp32 (a product of two halves is exact in fp32); b_0 = bias0,
 *            b_l = 0 after; hidden layers: x_{l+1} = f16(hidden(acc)), output: out = output(acc)
 *            in fp32.
 * Tensor cores add a tile's 16 products in an order NVIDIA does not specify: on a GPU each acc
 * lies within |acc - acc_ref| <= n 2^-24 (|b| + sum_i |x_i w_i|) / (1 - n 2^-24) of this order's
 * value, n = pad16(width[l]) + 1 additions; the emulator (tools/cuemu/include/mma.h) adds in
 * this order and matches bit for bit. */
#include "tcnn_mlp.h" /* which includes this file once facet_mlp is complete */

#ifndef FACET_FIELDS_TCNN_MLP_HALF_H
#define FACET_FIELDS_TCNN_MLP_HALF_H

#include "core/half.h"
#include "core/hd.h"

#include <stddef.h>
#include <stdint.h>

/* n rounded up to a whole number of 16-wide tiles. */
static inline FACET_HD int facet_mlp_pad16(int n) {
    return (n + 15) / 16 * 16;
}

/* Halves of the pack before layer l's weights (l = layers: the end of the weights). */
static inline FACET_HD size_t facet_mlp_half_weight_offset(const facet_mlp *m, int l) {
    size_t at = 0;
    for (int j = 0; j < l; j++)
        at += (size_t)facet_mlp_pad16(m->width[j]) * (size_t)facet_mlp_pad16(m->width[j + 1]);
    return at;
}

/* Layer l's weights in the pack: [pad16(width[l])][pad16(width[l + 1])] binary16. */
static inline FACET_HD const uint16_t *facet_mlp_half_weights(const facet_mlp *m, int l) {
    return (const uint16_t *)m->half + facet_mlp_half_weight_offset(m, l);
}

/* The bias rows: float [16][pad16(width[1])]. */
static inline FACET_HD const float *facet_mlp_half_bias_rows(const facet_mlp *m) {
    return (const float *)((const uint16_t *)m->half + facet_mlp_half_weight_offset(m, m->layers));
}

/* Bytes of the pack. */
static inline FACET_HD size_t facet_mlp_half_bytes(const facet_mlp *m) {
    return 2 * facet_mlp_half_weight_offset(m, m->layers) +
           sizeof(float) * 16 * (size_t)facet_mlp_pad16(m->width[1]);
}

/* Elements of the pack: its halves (the weights of every layer), then the floats of the bias rows;
 * facet_mlp_half_pack_element writes element e < facet_mlp_half_elements(m). */
static inline FACET_HD size_t facet_mlp_half_elements(const facet_mlp *m) {
    return facet_mlp_half_weight_offset(m, m->layers) + 16 * (size_t)facet_mlp_pad16(m->width[1]);
}

/* Writes element e of m's fp16 pack from its fp32 weights (m->weight, m->bias0): the one packing
 * rule of the host (facet_mlp_half_pack) and of a device kernel that re-packs a network being
 * trained. */
static inline FACET_HD void facet_mlp_half_pack_element(const facet_mlp *m, size_t e, void *pack) {
    const size_t halves = facet_mlp_half_weight_offset(m, m->layers);
    if (e >= halves) { /* bias rows: bias0 (zero-padded) in each of the 16 rows */
        const int hidden = facet_mlp_pad16(m->width[1]), o = (int)((e - halves) % hidden);
        ((float *)((uint16_t *)pack + halves))[e - halves] =
            o < m->width[1] && m->bias0 ? m->bias0[o] : 0.0f;
        return;
    }
    int l = 0;
    while (facet_mlp_half_weight_offset(m, l + 1) <= e) l++;
    const size_t at = e - facet_mlp_half_weight_offset(m, l);
    const int n_in = m->width[l], n_out = m->width[l + 1], out_pad = facet_mlp_pad16(n_out);
    const int i = (int)(at / out_pad), o = (int)(at % out_pad);
    ((uint16_t *)pack)[e] =
        i < n_in && o < n_out ? facet_f32_to_f16(m->weight[l][(size_t)i * n_out + o]) : 0;
}

/* Writes m's fp16 pack (facet_mlp_half_bytes(m) bytes) to `pack` from its fp32 weights; then
 * m->half = pack switches m to the fp16 form. Host. */
static inline void facet_mlp_half_pack(const facet_mlp *m, void *pack) {
    const size_t n = facet_mlp_half_elements(m);
    for (size_t e = 0; e < n; e++) facet_mlp_half_pack_element(m, e, pack);
}

/* x rounded to binary16 and back (nearest even). */
static inline FACET_HD float facet_f16_round(float x) {
    return facet_f16_to_f32(facet_f32_to_f16(x));
}

/* Layer l of the fp16 network: y[o] for o < width[l + 1] from x, the layer's input (l = 0: the
 * network's float inputs x[width[0]], rounded to half here; after: halves held as floats, at least
 * width[l] of them), in the header's order. Hidden layers give f16(hidden(acc)), the output layer
 * output(acc). */
static inline FACET_HD void facet_mlp_half_layer(const facet_mlp *m, int l, const float *x,
                                                 float *y) {
    const int n_in = m->width[l], n_out = m->width[l + 1];
    const int in_pad = facet_mlp_pad16(n_in), out_pad = facet_mlp_pad16(n_out);
    const uint16_t *w = facet_mlp_half_weights(m, l);
    const float *bias = facet_mlp_half_bias_rows(m); /* row 0 */
    const int last = l == m->layers - 1;
#ifdef __CUDA_ARCH__ /* output by output, the sum in a register */
    for (int o = 0; o < n_out; o++) {
        float acc = l == 0 ? bias[o] : 0.0f;
        for (int i = 0; i < in_pad; i++) {
            const float xi = i >= n_in ? 0.0f : l == 0 ? facet_f16_round(x[i]) : x[i];
            acc += xi * facet_f16_to_f32(w[(size_t)i * out_pad + o]);
        }
        const float a = facet_activate(last ? m->output : m->hidden, acc);
        y[o] = last ? a : facet_f16_round(a);
    }
#else /* the same additions in the same order, input by input over a row of sums: the inner loop   \
       * runs over outputs with unit stride and vectorises, and each input is rounded once */
    float acc[FACET_MLP_MAX_WIDTH];
    for (int o = 0; o < n_out; o++) acc[o] = l == 0 ? bias[o] : 0.0f;
    for (int i = 0; i < in_pad; i++) {
        const float xi = i >= n_in ? 0.0f : l == 0 ? facet_f16_round(x[i]) : x[i];
        const uint16_t *row = w + (size_t)i * out_pad;
        for (int o = 0; o < n_out; o++) acc[o] += xi * facet_f16_to_f32(row[o]);
    }
    for (int o = 0; o < n_out; o++) {
        const float a = facet_activate(last ? m->output : m->hidden, acc[o]);
        y[o] = last ? a : facet_f16_round(a);
    }
#endif
}

/* out[width[layers]] = the fp16 network of in[width[0]] (the header's function), the hidden
 * activations (already rounded to half) in scratch (facet_mlp_scratch_floats). */
static inline FACET_HD void facet_mlp_half_forward_scratch(const facet_mlp *m, const float *in,
                                                           float *out, float *scratch) {
    const int widest = facet_mlp_widest(m, 1, m->layers - 1);
    const float *x = in;
    for (int l = 0; l < m->layers; l++) {
        float *y = l == m->layers - 1 ? out : scratch + (l & 1) * widest;
        facet_mlp_half_layer(m, l, x, y);
        x = y;
    }
}

#endif
