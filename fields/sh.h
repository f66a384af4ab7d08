/* Real spherical harmonics of degree 4 (16 coefficients) with tiny-cuda-nn's basis and signs
 * (SphericalHarmonics encoding; polynomials from Sloan, "Stupid Spherical Harmonics Tricks",
 * appendix A1). tcnn's encoding takes (d + 1) / 2 and maps it back with v * 2 - 1, so it is the
 * SH of the unit direction d itself. Host and device. */
#ifndef FACET_FIELDS_SH_H
#define FACET_FIELDS_SH_H

#include "core/hd.h"

/* out[16] = SH basis up to l = 3 at unit direction (x, y, z). */
static inline FACET_HD void facet_sh4(float x, float y, float z, float *out) {
    const float xy = x * y, xz = x * z, yz = y * z, x2 = x * x, y2 = y * y, z2 = z * z;
    out[0] = 0.28209479177387814f;
    out[1] = -0.48860251190291987f * y;
    out[2] = 0.48860251190291987f * z;
    out[3] = -0.48860251190291987f * x;
    out[4] = 1.0925484305920792f * xy;
    out[5] = -1.0925484305920792f * yz;
    out[6] = 0.94617469575755997f * z2 - 0.31539156525251999f;
    out[7] = -1.0925484305920792f * xz;
    out[8] = 0.54627421529603959f * x2 - 0.54627421529603959f * y2;
    out[9] = 0.59004358992664352f * y * (-3.0f * x2 + y2);
    out[10] = 2.8906114426405538f * xy * z;
    out[11] = 0.45704579946446572f * y * (1.0f - 5.0f * z2);
    out[12] = 0.3731763325901154f * z * (5.0f * z2 - 3.0f);
    out[13] = 0.45704579946446572f * x * (1.0f - 5.0f * z2);
    out[14] = 1.4453057213202769f * z * (x2 - y2);
    out[15] = 0.59004358992664352f * x * (-x2 + 3.0f * y2);
}

/* The encoding as tcnn computes it from a direction d: input (d + 1) / 2, mapped back. */
static inline FACET_HD void facet_sh4_tcnn(float dx, float dy, float dz, float *out) {
    facet_sh4(((dx + 1.0f) / 2.0f) * 2.0f - 1.0f, ((dy + 1.0f) / 2.0f) * 2.0f - 1.0f,
              ((dz + 1.0f) / 2.0f) * 2.0f - 1.0f, out);
}

#endif
