/* facet_kplanes_backward_from_lookups (fields/livescene_backward.h) for the points of a block of
 * FACET_LANES, for the CPU fit: the taps and plane values come from the block's forward lookup
 * (facet_kplanes_sample_lanes_taps, fields/kplanes_lanes.h), and each plane's product of the
 * other planes is formed eight channels at a time. Per point, the same operations in the same
 * order, and the points' gradients are added in ascending point order, plane by plane, so the
 * gradient planes receive the same values bit for bit (tests/test_fit.c). Host only; the
 * gradient planes are f32. */
#ifndef FACET_FIELDS_KPLANES_LANES_BACKWARD_H
#define FACET_FIELDS_KPLANES_LANES_BACKWARD_H

#include "kplanes_lanes.h"

/* One point's gradient of one plane, g[c] = dfeature[c] * (product of the other planes' values
 * in ascending plane order, from 1), added to its four corners with their bilinear weights
 * (a zero weight adds nothing, as facet_plane_bilinear_backward). `vectors` channels of eight,
 * then the rest one at a time. */
static inline __attribute__((always_inline)) void
facet_kplanes_backward_point(float *grad_plane, const facet_plane_taps *t, int s, int p, int planes,
                             int channels, int vectors, const float *dfeature,
                             const float *values) {
    const float w[4] = {t->w_nw[s], t->w_ne[s], t->w_sw[s], t->w_se[s]};
    const int64_t at[4] = {t->nw[s], t->ne[s], t->sw[s], t->se[s]};
    for (int v = 0; v < vectors; v++) {
        facet_f8 others = {1, 1, 1, 1, 1, 1, 1, 1}, d, g;
        for (int q = 0; q < planes; q++) {
            if (q == p) continue;
            facet_f8 value;
            memcpy(&value, values + q * channels + 8 * v, sizeof value);
            others = others * value;
        }
        memcpy(&d, dfeature + 8 * v, sizeof d);
        g = d * others;
        for (int k = 0; k < 4; k++) {
            if (w[k] == 0.0f) continue;
            facet_f8 acc;
            memcpy(&acc, grad_plane + at[k] + 8 * v, sizeof acc);
            acc = acc + g * w[k];
            memcpy(grad_plane + at[k] + 8 * v, &acc, sizeof acc);
        }
    }
    for (int c = 8 * vectors; c < channels; c++) {
        float others = 1.0f;
        for (int q = 0; q < planes; q++)
            if (q != p) others *= values[q * channels + c];
        const float g = dfeature[c] * others;
        for (int k = 0; k < 4; k++)
            if (w[k] != 0.0f) grad_plane[at[k] + c] += w[k] * g;
    }
}

static inline __attribute__((always_inline)) void
facet_kplanes_backward_lanes_n(const facet_kplanes *grad, const facet_plane_taps *taps, int planes,
                               int channels, int vectors, const facet_lanes *dfeatures,
                               const float *plane_values, const int *active) {
    for (int s = 0; s < FACET_LANES; s++) {
        if (!active[s]) continue;
        float dfeature[FACET_KPLANES_MAX_CHANNELS];
        for (int c = 0; c < channels; c++) dfeature[c] = dfeatures[c][s];
        const float *values = plane_values + (size_t)s * planes * channels;
        for (int p = 0; p < planes; p++)
            facet_kplanes_backward_point((float *)grad->planes[p], &taps[p], s, p, planes, channels,
                                         vectors, dfeature, values);
    }
}

/* dL/dplanes for the block's points s with active[s], in ascending s: dfeatures[c] (lanes) is
 * dL/dfeature, taps and plane_values the forward lookup's (facet_kplanes_sample_lanes_taps). */
static inline void facet_kplanes_backward_lanes(const facet_kplanes *grad,
                                                const facet_plane_taps *taps,
                                                const facet_lanes *dfeatures,
                                                const float *plane_values, const int *active) {
    const int planes = facet_kplanes_plane_count(grad->dims), channels = grad->channels;
#define FACET_KPLANES_BACKWARD_CASE(vectors_)                                                      \
    if (channels == 8 * (vectors_)) {                                                              \
        facet_kplanes_backward_lanes_n(grad, taps, planes, 8 * (vectors_), (vectors_), dfeatures,  \
                                       plane_values, active);                                      \
        return;                                                                                    \
    }
    FACET_KPLANES_BACKWARD_CASE(1)
    FACET_KPLANES_BACKWARD_CASE(2)
    FACET_KPLANES_BACKWARD_CASE(4)
#undef FACET_KPLANES_BACKWARD_CASE
    facet_kplanes_backward_lanes_n(grad, taps, planes, channels, channels / 8, dfeatures,
                                   plane_values, active);
}

#endif
