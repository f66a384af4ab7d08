/* tiny-cuda-nn's multiresolution HashGrid encoding (encodings/grid.h, common_device.h), 3D
 * inputs, linear interpolation, per point, host and device.
 *
 * Level l (0 .. levels-1) of a grid with base resolution B and per-level scale s:
 *   scale_l = exp2f(l * log2f(s)) * B - 1          (float, as tcnn's grid_scale)
 *   res_l   = ceilf(scale_l) + 1                    (grid vertices per axis)
 *   entries_l = min(next_multiple(res_l^3, 8), T)   (T = 2^log2_table; table rows of the level)
 * A point x in [0,1]^3 (tcnn does not clamp) maps to p = scale_l * x + 0.5 per axis (fmaf), corner
 * g = floor(p), fraction f = p - g; the 8 corners are blended trilinearly with weights
 * prod (1 - f) or f, corner order idx = bit0 x, bit1 y, bit2 z (tcnn's summation order). A corner
 * (cx, cy, cz) is stored at row
 *   dense (res_l^3 <= entries_l):   (cx + cy res_l + cz res_l^2) mod entries_l
 *   hashed (res_l^3 > entries_l):   (cx * 1 ^ cy * 2654435761 ^ cz * 805459861) mod entries_l
 * in uint32 arithmetic (wrapping), so the dense index of the +0.5 offset wraps around the grid as
 * in tcnn. Parameters: [sum_l entries_l, features] row-major (level offsets ascending), the layout
 * of tcnn's flat `params` vector. Output: [levels * features], level-major
 * (out[l * features + f]). */
#ifndef FACET_FIELDS_HASHGRID_H
#define FACET_FIELDS_HASHGRID_H

#include "core/hd.h"

#include <math.h>
#include <stdint.h>

enum { FACET_HASHGRID_MAX_LEVELS = 32, FACET_HASHGRID_MAX_FEATURES = 8 };

typedef struct facet_hashgrid {
    int levels, features;
    float scale[FACET_HASHGRID_MAX_LEVELS];         /* scale_l */
    uint32_t resolution[FACET_HASHGRID_MAX_LEVELS]; /* res_l */
    uint32_t offset[FACET_HASHGRID_MAX_LEVELS + 1]; /* first table row of level l */
    uint32_t dense_size[FACET_HASHGRID_MAX_LEVELS]; /* res_l^3, or 0xFFFFFFFF when it
                                                       overflows (tcnn's MAX_BASES) */
    const float *params; /* [offset[levels], features] (host or device) */
} facet_hashgrid;

/* Fills the level tables (no parameters); returns the number of parameters
 * (offset[levels] * features), or 0 when the arguments are out of range (levels 1..32,
 * features 1..8, log2_table 1..30, base_resolution >= 2, per_level_scale >= 1). */
static inline uint64_t facet_hashgrid_init(facet_hashgrid *g, int levels, int features,
                                           int log2_table, int base_resolution,
                                           float per_level_scale) {
    if (levels < 1 || levels > FACET_HASHGRID_MAX_LEVELS || features < 1 ||
        features > FACET_HASHGRID_MAX_FEATURES || log2_table < 1 || log2_table > 30 ||
        base_resolution < 2 || !(per_level_scale >= 1.0f && per_level_scale < 1e3f))
        return 0;
    g->levels = levels;
    g->features = features;
    g->params = 0;
    const float log2_scale = log2f(per_level_scale);
    uint32_t offset = 0;
    for (int l = 0; l < levels; l++) {
        const float scale = exp2f((float)l * log2_scale) * (float)base_resolution - 1.0f;
        const uint32_t res = (uint32_t)ceilf(scale) + 1u;
        const double cube = (double)res * res * res;
        uint32_t entries = cube > (double)(0xFFFFFFFFu / 2) ? 0xFFFFFFFFu / 2 : res * res * res;
        entries = (entries + 7u) / 8u * 8u;
        if (entries > (1u << log2_table)) entries = 1u << log2_table;
        g->scale[l] = scale;
        g->resolution[l] = res;
        g->dense_size[l] = res <= 0x659u ? res * res * res : 0xFFFFFFFFu;
        g->offset[l] = offset;
        offset += entries;
    }
    g->offset[levels] = offset;
    return (uint64_t)offset * (uint64_t)features;
}

/* out[levels * features] = encoding of x[3] (normalised coordinates, nominally [0,1]). */
static inline FACET_HD void facet_hashgrid_encode(const facet_hashgrid *g, const float x[3],
                                                  float *out) {
    const int nf = g->features;
    for (int l = 0; l < g->levels; l++) {
        const uint32_t entries = g->offset[l + 1] - g->offset[l];
        const uint32_t res = g->resolution[l];
        const int hashed = entries < g->dense_size[l];
        const float *table = g->params + (uint64_t)g->offset[l] * (uint64_t)nf;
        float f[3];
        uint32_t c[3];
        for (int d = 0; d < 3; d++) {
            const float p = fmaf(g->scale[l], x[d], 0.5f);
            int32_t i = (int32_t)p; /* floor (truncation, then down for negatives) */
            i = (float)i > p ? i - 1 : i;
            c[d] = (uint32_t)i;
            f[d] = p - (float)i;
        }
        float acc[FACET_HASHGRID_MAX_FEATURES];
        for (int k = 0; k < nf; k++) acc[k] = 0.0f;
        for (int idx = 0; idx < 8; idx++) {
            float w = 1.0f;
            uint32_t q[3];
            for (int d = 0; d < 3; d++) {
                const int up = (idx >> d) & 1;
                w *= up ? f[d] : 1.0f - f[d];
                q[d] = c[d] + (uint32_t)up;
            }
            const uint32_t index = hashed ? (q[0] ^ (q[1] * 2654435761u) ^ (q[2] * 805459861u))
                                          : q[0] + q[1] * res + q[2] * res * res;
            const float *row = table + (uint64_t)(index % entries) * (uint64_t)nf;
            for (int k = 0; k < nf; k++) acc[k] += w * row[k];
        }
        for (int k = 0; k < nf; k++) out[l * nf + k] = acc[k];
    }
}

#endif
