/* facet_kplanes_sample (fields/kplanes.h) for FACET_LANES points at once, for the CPU: the
 * grid_sample coordinates, corners and bilinear weights of a plane are computed for all points in
 * one vectorised pass, then each point's corners are read C channels at a time. The same
 * operations in the same order per point, so the same features bit for bit
 * (tests/test_livescene.c). Host only. */
#ifndef FACET_FIELDS_KPLANES_LANES_H
#define FACET_FIELDS_KPLANES_LANES_H

#include "kplanes.h"
#include "tcnn_mlp_lanes.h"

#include <stdint.h>
#include <string.h>
#ifdef __F16C__
#include <immintrin.h>
#endif

/* Where one plane is read for FACET_LANES points: element offsets of the four corners (channel
 * 0) and their bilinear weights (facet_plane_bilinear_into's formulas). */
typedef struct facet_plane_taps {
    int64_t nw[FACET_LANES], ne[FACET_LANES], sw[FACET_LANES], se[FACET_LANES];
    float w_nw[FACET_LANES], w_ne[FACET_LANES], w_sw[FACET_LANES], w_se[FACET_LANES];
} facet_plane_taps;

static inline void facet_plane_taps_lanes(int width, int height, int channels,
                                          const facet_lanes *u_lanes, const facet_lanes *v_lanes,
                                          facet_plane_taps *restrict t) {
    /* Read through float pointers (a vector type aliases its element type in GCC and Clang):
     * gcc 12 vectorises the loop below over them. Copying the lanes into plain arrays first, as
     * before, was two 16-byte stores read back as one 32-byte load on AVX2 tunings, which the
     * store buffer cannot forward (7% of rendering on a Zen 3). */
    const float *restrict u = (const float *)u_lanes, *restrict v = (const float *)v_lanes;
    for (int s = 0; s < FACET_LANES; s++) {
        const float ix = facet_grid_coordinate(u[s], width);
        const float iy = facet_grid_coordinate(v[s], height);
        const int x0 = (int)ix, y0 = (int)iy; /* = floorf: ix, iy >= 0 after the clamp */
        int x1 = x0 + 1, y1 = y0 + 1;
        const float tx1 = (float)x1 - ix, tx0 = ix - (float)x0;
        const float ty1 = (float)y1 - iy, ty0 = iy - (float)y0;
        t->w_nw[s] = tx1 * ty1, t->w_ne[s] = tx0 * ty1, t->w_sw[s] = tx1 * ty0,
        t->w_se[s] = tx0 * ty0;
        x1 = x1 < width ? x1 : width - 1;
        y1 = y1 < height ? y1 : height - 1;
        t->nw[s] = ((int64_t)y0 * width + x0) * channels;
        t->ne[s] = ((int64_t)y0 * width + x1) * channels;
        t->sw[s] = ((int64_t)y1 * width + x0) * channels;
        t->se[s] = ((int64_t)y1 * width + x1) * channels;
    }
}

/* Eight channels as one vector (the proposal and probability grids' C = 8; 16 and 32 in two and
 * four): corners are read eight channels at a time, f16 through the F16C instruction where the
 * build has it (exact, as facet_f16_to_f32). */
typedef float facet_f8 __attribute__((vector_size(8 * sizeof(float))));
typedef uint32_t facet_u8x32 __attribute__((vector_size(8 * sizeof(uint32_t))));

static inline void facet_plane_load8(const void *plane, facet_plane_storage storage, int64_t i,
                                     facet_f8 *out) {
    if (storage == FACET_PLANE_F32) {
        memcpy(out, (const float *)plane + i, sizeof *out);
        return;
    }
    const uint16_t *u16 = (const uint16_t *)plane + i;
    if (storage == FACET_PLANE_BF16) {
        uint16_t h[8];
        memcpy(h, u16, sizeof h);
        facet_u8x32 bits;
        for (int k = 0; k < 8; k++) bits[k] = (uint32_t)h[k] << 16;
        memcpy(out, &bits, sizeof *out);
        return;
    }
#ifdef __F16C__
    *out = (facet_f8)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)u16));
#else
    for (int k = 0; k < 8; k++) (*out)[k] = facet_f16_to_f32(u16[k]);
#endif
}

/* The per-point part of facet_kplanes_sample_lanes: for each point, the planes' bilinear values
 * multiplied in plane order from 1 (and kept in plane_values unless NULL). Inlined with constant
 * `vectors` and `storage` for the common cases, so that the product stays in registers and the
 * storage test leaves the loop. */
static inline __attribute__((always_inline)) void
facet_kplanes_lanes_products(const facet_kplanes *k, const facet_plane_taps *taps, int planes,
                             int channels, int vectors, facet_plane_storage storage,
                             facet_lanes *features, float *plane_values) {
    for (int s = 0; s < FACET_LANES; s++) {
        facet_f8 acc[FACET_KPLANES_MAX_CHANNELS / 8];
        for (int v = 0; v < vectors; v++) acc[v] = (facet_f8){1, 1, 1, 1, 1, 1, 1, 1};
        float rest[8] = {1, 1, 1, 1, 1, 1, 1, 1}; /* channels past the last multiple of 8 */
        for (int p = 0; p < planes; p++) {
            const facet_plane_taps *t = &taps[p];
            const float w_nw = t->w_nw[s], w_ne = t->w_ne[s], w_sw = t->w_sw[s], w_se = t->w_se[s];
            for (int v = 0; v < vectors; v++) {
                facet_f8 nw, ne, sw, se;
                facet_plane_load8(k->planes[p], storage, t->nw[s] + 8 * v, &nw);
                facet_plane_load8(k->planes[p], storage, t->ne[s] + 8 * v, &ne);
                facet_plane_load8(k->planes[p], storage, t->sw[s] + 8 * v, &sw);
                facet_plane_load8(k->planes[p], storage, t->se[s] + 8 * v, &se);
                const facet_f8 value = nw * w_nw + ne * w_ne + sw * w_sw + se * w_se;
                if (plane_values)
                    memcpy(plane_values + ((size_t)s * planes + p) * channels + 8 * v, &value,
                           sizeof value);
                acc[v] = acc[v] * value;
            }
            for (int c = 8 * vectors; c < channels; c++) {
                const float nw = facet_plane_load(k->planes[p], storage, t->nw[s] + c),
                            ne = facet_plane_load(k->planes[p], storage, t->ne[s] + c),
                            sw = facet_plane_load(k->planes[p], storage, t->sw[s] + c),
                            se = facet_plane_load(k->planes[p], storage, t->se[s] + c);
                const float value = nw * w_nw + ne * w_ne + sw * w_sw + se * w_se;
                if (plane_values) plane_values[((size_t)s * planes + p) * channels + c] = value;
                rest[c - 8 * vectors] *= value;
            }
        }
        for (int v = 0; v < vectors; v++)
            for (int c = 0; c < 8; c++) features[8 * v + c][s] = acc[v][c];
        for (int c = 8 * vectors; c < channels; c++) features[c][s] = rest[c - 8 * vectors];
    }
}

/* facet_kplanes_sample_lanes that also keeps every plane's bilinear value, the factors of the
 * product, unless plane_values is NULL: plane_values[(s * planes + p) * channels + c] for point s
 * (FACET_LANES x planes x channels floats), as facet_kplanes_backward_from_lookups reads them for
 * one point; and the planes' taps (taps[planes]), where the backward pass scatters its gradients
 * (fields/kplanes_lanes_backward.h). */
static inline __attribute__((always_inline)) void
facet_kplanes_sample_lanes_taps(const facet_kplanes *k, const facet_lanes *coords,
                                facet_lanes *features, float *plane_values,
                                facet_plane_taps *taps) {
    const int channels = k->channels, planes = facet_kplanes_plane_count(k->dims);
    for (int p = 0; p < planes; p++) {
        int a, b;
        facet_kplanes_axes(k->dims, p, &a, &b);
        facet_plane_taps_lanes(k->resolution[a], k->resolution[b], channels, &coords[a], &coords[b],
                               &taps[p]);
    }
#define FACET_KPLANES_LANES_CASE(storage_, vectors_)                                               \
    if (k->storage == (storage_) && channels == 8 * (vectors_)) {                                  \
        facet_kplanes_lanes_products(k, taps, planes, 8 * (vectors_), (vectors_), (storage_),      \
                                     features, plane_values);                                      \
        return;                                                                                    \
    }
    FACET_KPLANES_LANES_CASE(FACET_PLANE_F32, 1)
    FACET_KPLANES_LANES_CASE(FACET_PLANE_F32, 2)
    FACET_KPLANES_LANES_CASE(FACET_PLANE_F32, 4)
    FACET_KPLANES_LANES_CASE(FACET_PLANE_F16, 1)
    FACET_KPLANES_LANES_CASE(FACET_PLANE_F16, 2)
    FACET_KPLANES_LANES_CASE(FACET_PLANE_F16, 4)
    FACET_KPLANES_LANES_CASE(FACET_PLANE_BF16, 1)
    FACET_KPLANES_LANES_CASE(FACET_PLANE_BF16, 2)
    FACET_KPLANES_LANES_CASE(FACET_PLANE_BF16, 4)
#undef FACET_KPLANES_LANES_CASE
    facet_kplanes_lanes_products(k, taps, planes, channels, channels / 8, k->storage, features,
                                 plane_values);
}

/* features[c] (lanes, c < channels) = facet_kplanes_sample at coords[dims] (lanes). */
static inline void facet_kplanes_sample_lanes(const facet_kplanes *k, const facet_lanes *coords,
                                              facet_lanes *features) {
    facet_plane_taps taps[FACET_KPLANES_MAX_PLANES];
    facet_kplanes_sample_lanes_taps(k, coords, features, NULL, taps);
}

#endif
