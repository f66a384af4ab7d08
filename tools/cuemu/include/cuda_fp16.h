/* cuemu: __half as IEEE binary16 storage (its bits in .x): converting from float rounds to nearest,
 * ties to even, as __float2half_rn does (subnormal results rounded like any other value, overflow
 * to infinity, NaN kept a NaN); to float is exact. Arithmetic happens in float through the
 * implicit conversions. */
#ifndef CUEMU_CUDA_FP16_H
#define CUEMU_CUDA_FP16_H

#include "cuemu.h"

namespace cuemu {
inline unsigned short f16_bits(float f) {
    unsigned u;
    memcpy(&u, &f, 4);
    const unsigned short sign = (unsigned short)((u >> 16) & 0x8000u);
    const unsigned a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (unsigned short)(sign | 0x7e00u);  /* NaN */
    if (a >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u); /* rounds past 65504: inf */
    if (a < 0x38800000u) { /* subnormal or zero: |f| / 2^-24 rounded to an integer, ties to even */
        float m;
        memcpy(&m, &a, 4);
        m *= 16777216.0f; /* exact: a power of two */
        unsigned whole = (unsigned)m;
        const float frac = m - (float)whole;
        if (frac > 0.5f || (frac == 0.5f && (whole & 1u))) whole++;
        return (unsigned short)(sign | whole);
    }
    return (unsigned short)(sign | ((a + 0x0fffu + ((a >> 13) & 1u) - 0x38000000u) >> 13));
}
inline float f16_value(unsigned short h) {
    const unsigned exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    float v;
    if (exponent == 0x1fu) {
        const unsigned u = ((unsigned)(h & 0x8000u) << 16) | 0x7f800000u | (mantissa << 13);
        memcpy(&v, &u, 4);
        return v;
    }
    if (exponent == 0) { /* subnormal or zero: mantissa 2^-24, exact */
        v = (float)mantissa * 0x1p-24f;
        return h & 0x8000u ? -v : v;
    }
    /* normal: the same sign and mantissa bits, the exponent rebiased from 15 to 127 (by bits: an
     * ldexpf call here was a third of an emulated fp16 fit's time) */
    const unsigned u =
        ((unsigned)(h & 0x8000u) << 16) | ((exponent + 112u) << 23) | (mantissa << 13);
    memcpy(&v, &u, 4);
    return v;
}
} // namespace cuemu

struct __half {
    unsigned short x;
    __half() = default;
    __half(float f) : x(::cuemu::f16_bits(f)) {}
    operator float() const { return ::cuemu::f16_value(x); }
};
typedef __half half;
struct __half2 {
    __half x, y;
};
typedef __half2 half2;

inline __half __float2half(float f) {
    return __half(f);
}
inline __half __float2half_rn(float f) {
    return __half(f);
}
inline float __half2float(__half h) {
    return (float)h;
}
inline unsigned short __half_as_ushort(__half h) {
    return h.x;
}
inline __half __ushort_as_half(unsigned short x) {
    __half h;
    h.x = x;
    return h;
}

#endif
