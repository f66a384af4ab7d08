/* exp(x) and erfc(x) in float32 without a libm call, so that loops over elements vectorise (gcc
 * does not vectorise expf without -ffast-math), and so that the CPU, the emulator and the GPU
 * compute the same bits from the same code. Host and device (FACET_HD); valid C11 and CUDA C++. */
#ifndef FACET_CORE_FASTMATH_H
#define FACET_CORE_FASTMATH_H

#include "core/hd.h"

#include <math.h>

/* e^x for x in [-104, 88.72] (no checks; the callers below clamp): Cody-Waite reduction
 * x = n ln2 + r (|r| <= ln2 / 2, n rounded with the 1.5 * 2^23 trick), a degree-7 Taylor
 * polynomial of e^r, and 2^n from the exponent bits as 2^(n/2) 2^(n - n/2), two normal factors
 * for n in [-150, 128], so that 2^n = 2^128 and the subnormal results below 2^-126 (one rounding,
 * in the last product) both come out right. Within 2 ulp of libm's expf on the normal range
 * (tests/test_nn.c sweeps it). */
static inline FACET_HD float facet_expf_core(float x) {
    const float round = 12582912.0f; /* 1.5 * 2^23 */
    const float n = (x * 1.44269504088896341f + round) - round;
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f; /* ln2 = 0.693359375 - 2.12e-4 */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int half = (int)n / 2;
    union {
        int i;
        float f;
    } a, b;
    a.i = (half + 127) << 23;
    b.i = ((int)n - half + 127) << 23;
    return p * a.f * b.f;
}

/* expf over the whole float range, branch-free: within 2 ulp on normal results, subnormal
 * results rounded once, 0 below ln(2^-150), +inf above ln(FLT_MAX), NaN for NaN. */
static inline FACET_HD float facet_expf(float x) {
    const float clamped = x > -104.0f ? (x < 88.72f ? x : 88.72f) : -104.0f; /* NaN -> -104 */
    const float e = facet_expf_core(clamped);
    const float ranged = x < -103.972084f ? 0.0f : (x > 88.7228394f ? (float)INFINITY : e);
    return x == x ? ranged : x;
}

/* erfc(x) over the whole float range, branch-free: erfc(|x|) = t exp(P(u) - x^2) with t = 1 / (1
 * + |x| / 2) and P of degree 10 in u = (t - c) / s, t's range [1/6.05, 1] mapped to [-1, 1] so
 * that the float coefficients stay small and the sum well conditioned (fitted for facet:
 * Lawson-weighted least squares in double over |x| in [0, 10.1], |log erfc error| <= 6e-9);
 * erfc(-|x|) = 2 - erfc(|x|). Relative error within (4 + 2 x^2) 2^-24, the float rounding of
 * x^2 inside the exponent being the part that grows (tests/test_nn.c). 2 for -inf, 0 for +inf
 * and past 10.06 (below the smallest subnormal), NaN for NaN. */
static inline FACET_HD float facet_erfcf(float x) {
    const float a = fabsf(x), t = 1.0f / (1.0f + 0.5f * a);
    const float u = (t - 0.5826446413993835f) * 2.3960394859313965f;
    float p = -2.2016334696672857e-05f;
    p = p * u + 5.623496326734312e-05f;
    p = p * u + 0.00012778890959452838f;
    p = p * u - 0.0005426589632406831f;
    p = p * u - 0.00026992327184416354f;
    p = p * u + 0.0037412496749311686f;
    p = p * u - 0.0010842107003554702f;
    p = p * u - 0.02960974909365177f;
    p = p * u + 0.015943871811032295f;
    p = p * u + 0.5711973905563354f;
    p = p * u - 0.559537947177887f;
    const float e = t * facet_expf(p - a * a);
    return x < 0.0f ? 2.0f - e : e;
}

#endif
