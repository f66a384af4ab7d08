/* facet_mlp (fields/tcnn_mlp.h) over FACET_LANES samples at once, for the CPU: every activation is
 * a facet_lanes vector holding one value per sample ("structure of arrays"), so a layer is a
 * sequence of broadcast-weight x lanes products that vectorise across samples, with a block of
 * outputs kept in registers instead of going through memory term by term.
 *
 * Bit for bit the per-point network: each lane does the additions of facet_mlp_layer in its
 * order (ascending i for layers of 16 outputs or more; the four interleaved partial sums for
 * narrower ones), starting from 0, then the bias of layer 0 and the activation. The build keeps
 * floating-point contraction off (-std=c11), so a product and its sum stay two roundings here as
 * there; tests/test_livescene.c compares the two renderers with memcmp.
 *
 * Host only (GCC/Clang vector extensions). */
#ifndef FACET_FIELDS_TCNN_MLP_LANES_H
#define FACET_FIELDS_TCNN_MLP_LANES_H

#include "tcnn_mlp.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Samples per block: one 512-bit vector where the build targets AVX-512, else eight (one AVX2
 * register, two NEON registers). Sixteen lanes on AVX2 spill: a block of eight accumulators
 * then needs 16 of the 16 ymm registers before x[i] is loaded (fit 1.8 -> 2.x it/s on a Zen 3).
 * Values do not depend on it: every lane computes alone, and the weight gradients add the
 * samples in ascending order across blocks. */
#if defined(__AVX512F__)
enum { FACET_LANES = 16 };
#else
enum { FACET_LANES = 8 };
#endif

/* One value per sample of a block of FACET_LANES samples (FACET_LANES x 4 bytes, as aligned). */
typedef float facet_lanes __attribute__((vector_size(FACET_LANES * sizeof(float))));

/* A comparison of two facet_lanes: all bits set in a lane where it holds, 0 elsewhere. */
typedef int32_t facet_lane_mask __attribute__((vector_size(FACET_LANES * sizeof(int32_t))));

/* Per lane: yes where m is set, no elsewhere (bit for bit, NaN payloads and zero signs kept). */
static inline facet_lanes facet_select_lanes(facet_lane_mask m, facet_lanes yes, facet_lanes no) {
    return (facet_lanes)(((facet_lane_mask)yes & m) | ((facet_lane_mask)no & ~m));
}

/* facet_activate in every lane: ReLU as a bit mask (x > 0 keeps x, anything else, NaN included,
 * gives +0 as the per-point select does), sigmoid through libm expf as the per-point form. */
static inline void facet_activate_lanes(facet_activation a, facet_lanes *v) {
    if (a == FACET_ACTIVATION_RELU) {
        const facet_lane_mask keep = *v > 0.0f;
        *v = (facet_lanes)((facet_lane_mask)*v & keep);
    } else if (a == FACET_ACTIVATION_SIGMOID) {
        for (int s = 0; s < FACET_LANES; s++) (*v)[s] = facet_activate(a, (*v)[s]);
    }
}

/* *a = activation(*a + bias[o]) (no bias when bias is NULL): a layer's output, formed while the
 * sum is still in a register. */
static inline void facet_mlp_finish_lanes(facet_lanes *a, const float *bias, int o,
                                          facet_activation activation) {
    if (bias) *a += bias[o];
    facet_activate_lanes(activation, a);
}

/* y[o] = activation(sum_i x[i] W^T[i][o] (+ bias[o])) per lane, o < n_out: facet_mlp_layer's
 * order in every lane, then the bias and the activation as facet_mlp_forward applies them. */
static inline void facet_mlp_layer_lanes(const float *wt, const facet_lanes *x, int n_in, int n_out,
                                         const float *bias, facet_activation activation,
                                         facet_lanes *y) {
    if (n_out >= 16) {
        int o = 0;
        /* blocks of eight outputs: eight accumulators in registers, one load of x[i] for all */
        for (; o + 8 <= n_out; o += 8) {
            facet_lanes a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            facet_lanes a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            for (int i = 0; i < n_in; i++) {
                const float *w = wt + (long)i * n_out + o;
                const facet_lanes xi = x[i];
                a0 += w[0] * xi;
                a1 += w[1] * xi;
                a2 += w[2] * xi;
                a3 += w[3] * xi;
                a4 += w[4] * xi;
                a5 += w[5] * xi;
                a6 += w[6] * xi;
                a7 += w[7] * xi;
            }
            facet_mlp_finish_lanes(&a0, bias, o, activation);
            facet_mlp_finish_lanes(&a1, bias, o + 1, activation);
            facet_mlp_finish_lanes(&a2, bias, o + 2, activation);
            facet_mlp_finish_lanes(&a3, bias, o + 3, activation);
            facet_mlp_finish_lanes(&a4, bias, o + 4, activation);
            facet_mlp_finish_lanes(&a5, bias, o + 5, activation);
            facet_mlp_finish_lanes(&a6, bias, o + 6, activation);
            facet_mlp_finish_lanes(&a7, bias, o + 7, activation);
            y[o] = a0, y[o + 1] = a1, y[o + 2] = a2, y[o + 3] = a3;
            y[o + 4] = a4, y[o + 5] = a5, y[o + 6] = a6, y[o + 7] = a7;
        }
        for (; o < n_out; o++) {
            facet_lanes a = {0};
            for (int i = 0; i < n_in; i++) a += wt[(long)i * n_out + o] * x[i];
            facet_mlp_finish_lanes(&a, bias, o, activation);
            y[o] = a;
        }
        return;
    }
    for (int o = 0; o < n_out; o++) {
        facet_lanes a;
        FACET_MLP_NARROW_SUM(facet_lanes, wt, x, n_in, n_out, o, a);
        facet_mlp_finish_lanes(&a, bias, o, activation);
        y[o] = a;
    }
}

/* out[width[layers]] = network(in[width[0]]) per lane; hidden activations in scratch
 * (facet_mlp_scratch_floats lanes). in, out and scratch must not overlap. */
static inline void facet_mlp_forward_lanes(const facet_mlp *m, const facet_lanes *in,
                                           facet_lanes *out, facet_lanes *scratch) {
    const int widest = facet_mlp_widest(m, 1, m->layers - 1);
    const facet_lanes *x = in;
    for (int l = 0; l < m->layers; l++) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const int last = l == m->layers - 1;
        facet_lanes *y = last ? out : scratch + (l & 1) * widest;
        facet_mlp_layer_lanes(m->weight[l], x, n_in, n_out, l == 0 ? m->bias0 : NULL,
                              last ? m->output : m->hidden, y);
        x = y;
    }
}

#endif
