/* The split-sum DFG lookup table (Karis 2013), computed by facet instead of shipped as a binary.
 *
 * Layout as the official bsdf_256_256.bin of nvdiffrec and NeRO: 256 x 256 x 2 floats, row i =
 * roughness (i + 0.5) / 256, column j = NdotV (j + 0.5) / 256 (texel centres), channels (A, B):
 *     A = E_h[(1 - Fc) G VoH / (NoH NoV)],  B = E_h[Fc G VoH / (NoH NoV)],  Fc = (1 - VoH)^5,
 * h distributed as the GGX normals (pdf D(h) NoH), alpha = roughness^2, G the height-correlated
 * Smith masking-shadowing 1 / (1 + Lambda(v) + Lambda(l)), l = reflect(-v, h) restricted to
 * NoL > 0. Then specular reflectance = F0 A + B.
 *
 * The integral is computed by Gauss-Legendre quadrature on the GGX-warped half-vector elevation
 * (split where the reflected direction starts to dip below the horizon, with endpoint clustering)
 * and on the azimuth range that keeps NoL > 0, both analytic: max |difference| to the official
 * table is below 1e-3 over all texels (tests/test_relight.c checks sampled values). */
#ifndef FACET_LIGHTING_DFG_LUT_H
#define FACET_LIGHTING_DFG_LUT_H

#include "core/hd.h"

#include <math.h>
#include <stddef.h>

enum { FACET_DFG_SIZE = 256 };

/* Bilinear lookup at (NdotV, roughness), both clamped to [0,1], with texel centres at
 * (i + 0.5) / 256 and edge clamping (nvdiffrast boundary_mode='clamp'). lut: 256 x 256 x 2. */
static inline FACET_HD void facet_dfg_lookup(const float *lut, float nov, float roughness, float *a,
                                             float *b) {
    const int n = FACET_DFG_SIZE;
    float x = fminf(fmaxf(nov, 0.0f), 1.0f) * (float)n - 0.5f;
    float y = fminf(fmaxf(roughness, 0.0f), 1.0f) * (float)n - 0.5f;
    x = fminf(fmaxf(x, 0.0f), (float)(n - 1));
    y = fminf(fmaxf(y, 0.0f), (float)(n - 1));
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < n ? x0 + 1 : x0, y1 = y0 + 1 < n ? y0 + 1 : y0;
    float tx = x - (float)x0, ty = y - (float)y0;
    const float *p00 = lut + ((size_t)y0 * n + x0) * 2, *p10 = lut + ((size_t)y0 * n + x1) * 2;
    const float *p01 = lut + ((size_t)y1 * n + x0) * 2, *p11 = lut + ((size_t)y1 * n + x1) * 2;
    float a0 = p00[0] + (p10[0] - p00[0]) * tx, a1 = p01[0] + (p11[0] - p01[0]) * tx;
    float b0 = p00[1] + (p10[1] - p00[1]) * tx, b1 = p01[1] + (p11[1] - p01[1]) * tx;
    *a = a0 + (a1 - a0) * ty;
    *b = b0 + (b1 - b0) * ty;
}

#ifdef __cplusplus
extern "C" {
#endif

/* The table (256 x 256 x 2 floats, layout above), computed on first use (about 1.3 s of CPU time
 * on a Zen 3 core, OpenMP-parallel) and kept for the life of the process; thread-safe. Read from
 * the lighting cache (lighting_cache.h) when this build has computed it before. */
const float *facet_dfg_lut(void);

/* One entry of the table by the same quadrature, in double precision: (A, B) at NdotV `nov` in
 * (0, 1] and `roughness` in (0, 1]. */
void facet_dfg_integrate(double nov, double roughness, double *a, double *b);

#ifdef __cplusplus
}
#endif
#endif
