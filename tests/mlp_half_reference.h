/* An independent evaluation of the fp16 backward pass of fields/tcnn_mlp_half_backward.h for the
 * tests (test_mlp_half, gpu_parity's mlp suite): double sums, the compiler's _Float16 for the
 * roundings, and the bound on how far an fp32 implementation of the header (in any order of its
 * sums) may lie from it. */
#ifndef FACET_TESTS_MLP_HALF_REFERENCE_H
#define FACET_TESTS_MLP_HALF_REFERENCE_H

#include "fields/tcnn_mlp.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* x rounded to binary16 (nearest even) by the compiler. */
static inline double mlp_half_f16(double x) {
    return (double)(_Float16)(float)x;
}

/* The spacing of binary16 numbers at magnitude v (subnormals: 2^-24). */
static inline double mlp_half_ulp16(double v) {
    return v < ldexp(1.0, -14) ? ldexp(1.0, -24) : ldexp(1.0, (int)floor(log2(v)) - 10);
}

/* One point's fp16 backward pass evaluated independently of the header's code: a double forward
 * (halves through _Float16), the gradients rounded to half at the header's points with double
 * sums. want_dx[width[0]] and want_dw (per layer W^T, concatenated, then bias0) with bounds on
 * |header - want|: the header sums in fp32 (gamma = (n + 1) 2^-24 per sum of n terms), so its
 * forward activations may sit an ulp away (the forward's bound e_x), its output gradients follow
 * the outputs' error, and each gradient rounded to half may land a half ulp away; a hidden unit
 * whose activation is within its bound of zero may have its ReLU derivative flipped. */
static inline void mlp_half_independent_backward(const facet_mlp *m, const float *in,
                                                 const float *dout, double scale, double *want_dx,
                                                 double *bound_dx, double *want_dw,
                                                 double *bound_dw) {
    const int L = m->layers;
    /* may_flip[l][i]: hidden unit i of layer l's input has a pre-activation within its error
     * bound of the ReLU's kink (or of rounding to a zero half), so the two sides may disagree on
     * its derivative */
    unsigned char may_flip[FACET_MLP_MAX_LAYERS + 1][FACET_MLP_MAX_WIDTH];
    double x[FACET_MLP_MAX_LAYERS + 1][FACET_MLP_MAX_WIDTH],
        ex[FACET_MLP_MAX_LAYERS + 1][FACET_MLP_MAX_WIDTH];
    const double u = ldexp(1.0, -24);
    for (int i = 0; i < m->width[0]; i++) x[0][i] = mlp_half_f16(in[i]), ex[0][i] = 0;
    for (int l = 0; l < L; l++) { /* the forward, as independent_forward, keeping every layer */
        const int n_in = m->width[l], n_out = m->width[l + 1], last = l == L - 1;
        const double gamma = (double)(facet_mlp_pad16(n_in) + 1) * u;
        for (int o = 0; o < n_out; o++) {
            double z = l == 0 ? m->bias0[o] : 0.0, mag = fabs(z), carried = 0;
            for (int i = 0; i < n_in; i++) {
                const double w = mlp_half_f16(m->weight[l][i * n_out + o]);
                z += x[l][i] * w, mag += fabs(x[l][i] * w), carried += fabs(w) * ex[l][i];
            }
            const double dz = carried + gamma * mag;
            if (last) {
                x[l + 1][o] = m->output == FACET_ACTIVATION_SIGMOID ? 1.0 / (1.0 + exp(-z)) : z;
                ex[l + 1][o] = dz + 4e-7 * fabs(x[l + 1][o]);
            } else {
                x[l + 1][o] = mlp_half_f16(z > 0 ? z : 0);
                ex[l + 1][o] = dz + mlp_half_ulp16(fabs(z) + dz);
                may_flip[l + 1][o] = fabs(z) <= dz + ldexp(1.0, -24);
            }
        }
    }
    double g[FACET_MLP_MAX_WIDTH], eg[FACET_MLP_MAX_WIDTH], ng[FACET_MLP_MAX_WIDTH],
        neg[FACET_MLP_MAX_WIDTH];
    for (int o = 0; o < m->width[L]; o++) {
        const double y = x[L][o], ey = ex[L][o];
        const int sig = m->output == FACET_ACTIVATION_SIGMOID;
        const double v = dout[o] * (sig ? y * (1 - y) : 1.0) * scale;
        const double ev = fabs(dout[o]) * scale * ((sig ? ey : 0.0) + 4 * u * (sig ? 1 : 0));
        g[o] = mlp_half_f16(v);
        eg[o] = ev + mlp_half_ulp16(fabs(v) + ev);
    }
    size_t at = 0, offsets[FACET_MLP_MAX_LAYERS];
    for (int l = 0; l < L; l++) offsets[l] = at, at += (size_t)m->width[l] * m->width[l + 1];
    const size_t bias_at = at;
    for (int l = L - 1; l >= 0; l--) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const double gamma = (double)(facet_mlp_pad16(n_out) + 1) * u;
        for (int i = 0; i < n_in; i++)
            for (int o = 0; o < n_out; o++) {
                want_dw[offsets[l] + i * n_out + o] = x[l][i] * g[o] / scale;
                bound_dw[offsets[l] + i * n_out + o] =
                    (fabs(x[l][i]) * eg[o] + ex[l][i] * (fabs(g[o]) + eg[o])) / scale;
            }
        if (l == 0)
            for (int o = 0; o < n_out; o++)
                want_dw[bias_at + o] = g[o] / scale, bound_dw[bias_at + o] = eg[o] / scale;
        for (int i = 0; i < n_in; i++) {
            double s = 0, carried = 0, mag = 0;
            for (int o = 0; o < n_out; o++) {
                const double w = mlp_half_f16(m->weight[l][i * n_out + o]);
                s += g[o] * w, carried += fabs(w) * eg[o], mag += fabs(g[o] * w);
            }
            const double es = carried + gamma * mag;
            if (l == 0) {
                want_dx[i] = s / scale, bound_dx[i] = es / scale;
            } else if (may_flip[l][i]) { /* the ReLU derivative may differ */
                ng[i] = x[l][i] > 0 ? mlp_half_f16(s) : 0.0;
                neg[i] = fabs(s) + es + mlp_half_ulp16(fabs(s) + es);
            } else if (x[l][i] > 0) {
                ng[i] = mlp_half_f16(s);
                neg[i] = es + mlp_half_ulp16(fabs(s) + es);
            } else { /* an inactive unit on both sides: no gradient */
                ng[i] = 0.0, neg[i] = 0.0;
            }
        }
        memcpy(g, ng, sizeof(double) * n_in);
        memcpy(eg, neg, sizeof(double) * n_in);
    }
}

#endif
