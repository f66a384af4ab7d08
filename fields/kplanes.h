/* K-Planes encoding (Fridovich-Keil et al. 2023; nerfstudio KPlanesEncoding), per point, host and
 * device.
 *
 * A grid over n = 3 or 4 axes holds one plane per axis pair (a, b) in
 * itertools.combinations(range(n), 2) order: 4D -> (0,1) (0,2) (0,3) (1,2) (1,3) (2,3); 3D ->
 * (0,1) (0,2) (1,2). The feature of a point is the element-wise product of its C-channel bilinear
 * lookups in every plane. Lookups follow torch grid_sample(align_corners=True,
 * padding_mode="border"): coordinates in [-1, 1] map to pixel (c + 1) / 2 (size - 1), clamped to
 * [0, size - 1]; corners outside the plane contribute nothing (their weight is 0).
 *
 * Storage: planes are held channels-last, plane[(y * res_a + x) * C + c] with x along axis a and y
 * along axis b (the checkpoint's [C, res_b, res_a] transposed at load for locality), as f32, f16
 * or bf16 (facet_plane_storage). */
#ifndef FACET_FIELDS_KPLANES_H
#define FACET_FIELDS_KPLANES_H

#include "core/half.h"
#include "core/hd.h"

#include <math.h>
#include <stdint.h>

enum { FACET_KPLANES_MAX_CHANNELS = 64, FACET_KPLANES_MAX_PLANES = 6 };

typedef enum facet_plane_storage {
    FACET_PLANE_F32 = 0,
    FACET_PLANE_F16,
    FACET_PLANE_BF16,
} facet_plane_storage;

typedef struct facet_kplanes {
    int dims;          /* 3 or 4 */
    int channels;      /* C */
    int resolution[4]; /* per axis */
    facet_plane_storage storage;
    const void *planes[FACET_KPLANES_MAX_PLANES]; /* channels-last, see above */
} facet_kplanes;

/* Number of planes of an n-dimensional grid (3 -> 3, 4 -> 6). */
static inline FACET_HD int facet_kplanes_plane_count(int dims) {
    return dims * (dims - 1) / 2;
}

/* Axis pair of plane p in combinations order. */
static inline FACET_HD void facet_kplanes_axes(int dims, int p, int *a, int *b) {
    int k = 0;
    for (int i = 0; i < dims; i++)
        for (int j = i + 1; j < dims; j++, k++)
            if (k == p) {
                *a = i;
                *b = j;
                return;
            }
    *a = *b = 0;
}

static inline FACET_HD float facet_plane_load(const void *plane, facet_plane_storage storage,
                                              int64_t i) {
    if (storage == FACET_PLANE_F16) return facet_f16_to_f32(((const uint16_t *)plane)[i]);
    if (storage == FACET_PLANE_BF16) return facet_bf16_to_f32(((const uint16_t *)plane)[i]);
    return ((const float *)plane)[i];
}

/* grid_sample's unnormalisation with align_corners=True and border clamping. */
static inline FACET_HD float facet_grid_coordinate(float c, int size) {
    float p = ((c + 1.0f) / 2.0f) * (float)(size - 1);
    /* fminf(fmaxf(p, 0), size - 1) written as selects (NaN -> 0 as fmaxf gives), which compile
     * to min/max instructions instead of libm calls */
    p = p > 0.0f ? p : 0.0f;
    return p < (float)(size - 1) ? p : (float)(size - 1);
}

/* Bilinear lookup of all C channels of one plane at normalised (u along a, v along b):
 * out[c] = lookup, or with `product` out[c] = out[c] * lookup (the K-Planes product formed in
 * place, without a C-float temporary: on the GPU that would be per-thread local memory). */
static inline FACET_HD void facet_plane_bilinear_into(const void *plane,
                                                      facet_plane_storage storage, int width,
                                                      int height, int channels, float u, float v,
                                                      int product, float *out) {
    float ix = facet_grid_coordinate(u, width), iy = facet_grid_coordinate(v, height);
    int x0 = (int)floorf(ix), y0 = (int)floorf(iy);
    int x1 = x0 + 1, y1 = y0 + 1;
    float tx1 = (float)x1 - ix, tx0 = ix - (float)x0; /* weights of x0 and x1 */
    float ty1 = (float)y1 - iy, ty0 = iy - (float)y0;
    float w_nw = tx1 * ty1, w_ne = tx0 * ty1, w_sw = tx1 * ty0, w_se = tx0 * ty0;
    /* After border clamping x1 (y1) leaves the plane only when ix (iy) sits exactly on the last
     * texel, where its weight is 0: reading the last texel instead gives the same sum for finite
     * values and keeps the channel loop branch-free. */
    x1 = x1 < width ? x1 : width - 1;
    y1 = y1 < height ? y1 : height - 1;
    const int64_t i_nw = ((int64_t)y0 * width + x0) * channels,
                  i_ne = ((int64_t)y0 * width + x1) * channels;
    const int64_t i_sw = ((int64_t)y1 * width + x0) * channels,
                  i_se = ((int64_t)y1 * width + x1) * channels;
    /* one loop per storage type and common channel count (8: the proposal grids, 16, 32), each
     * free of branches with a constant trip count where possible, so that it vectorises */
#define FACET_PLANE_CORNERS(load, n)                                                               \
    for (int c = 0; c < (n); c++) {                                                                \
        float nw = load(i_nw + c), ne = load(i_ne + c), sw = load(i_sw + c), se = load(i_se + c);  \
        const float value = nw * w_nw + ne * w_ne + sw * w_sw + se * w_se;                         \
        out[c] = product ? out[c] * value : value;                                                 \
    }
#define FACET_PLANE_CHANNELS(load)                                                                 \
    switch (channels) {                                                                            \
    case 8:                                                                                        \
        FACET_PLANE_CORNERS(load, 8) break;                                                        \
    case 16:                                                                                       \
        FACET_PLANE_CORNERS(load, 16) break;                                                       \
    case 32:                                                                                       \
        FACET_PLANE_CORNERS(load, 32) break;                                                       \
    default:                                                                                       \
        FACET_PLANE_CORNERS(load, channels) break;                                                 \
    }
    const float *f32 = (const float *)plane;
    const uint16_t *u16 = (const uint16_t *)plane;
#define FACET_PLANE_F32_AT(i) f32[i]
#define FACET_PLANE_F16_AT(i) facet_f16_to_f32(u16[i])
#define FACET_PLANE_BF16_AT(i) facet_bf16_to_f32(u16[i])
    if (storage == FACET_PLANE_F16) {
        FACET_PLANE_CHANNELS(FACET_PLANE_F16_AT)
    } else if (storage == FACET_PLANE_BF16) {
        FACET_PLANE_CHANNELS(FACET_PLANE_BF16_AT)
    } else {
        FACET_PLANE_CHANNELS(FACET_PLANE_F32_AT)
    }
#undef FACET_PLANE_CHANNELS
#undef FACET_PLANE_CORNERS
#undef FACET_PLANE_F32_AT
#undef FACET_PLANE_F16_AT
#undef FACET_PLANE_BF16_AT
}

/* Bilinear lookup of all C channels of one plane at normalised (u along a, v along b);
 * out[c] = lookup. */
static inline FACET_HD void facet_plane_bilinear(const void *plane, facet_plane_storage storage,
                                                 int width, int height, int channels, float u,
                                                 float v, float *out) {
    facet_plane_bilinear_into(plane, storage, width, height, channels, u, v, 0, out);
}

/* The encoding of one point: coords[dims] in [-1, 1] (clamped by the lookup), out[channels] = the
 * product over planes. */
static inline FACET_HD void facet_kplanes_sample(const facet_kplanes *k, const float *coords,
                                                 float *out) {
    const int planes = facet_kplanes_plane_count(k->dims);
    for (int c = 0; c < k->channels; c++) out[c] = 1.0f;
    for (int p = 0; p < planes; p++) {
        int a, b;
        facet_kplanes_axes(k->dims, p, &a, &b);
        facet_plane_bilinear_into(k->planes[p], k->storage, k->resolution[a], k->resolution[b],
                                  k->channels, coords[a], coords[b], 1, out);
    }
}

#endif
