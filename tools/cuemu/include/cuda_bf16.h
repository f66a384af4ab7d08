/* cuemu: __nv_bfloat16 as 16-bit storage (its bits in .x): converting from float rounds to
 * nearest, ties to even, as __float2bfloat16 does (a NaN becomes the canonical NaN 0x7fff;
 * overflow gives infinity; subnormals round like any other value); to float is exact. Arithmetic
 * happens in float through the implicit conversions. A double converts through float (two
 * roundings, unlike __double2bfloat16). */
#ifndef CUEMU_CUDA_BF16_H
#define CUEMU_CUDA_BF16_H

#include "cuemu.h"

namespace cuemu {
inline unsigned short bf16_bits(float f) {
    unsigned u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fff;
    return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
} // namespace cuemu

struct __nv_bfloat16 {
    unsigned short x;
    __nv_bfloat16() = default;
    __nv_bfloat16(float f) : x(::cuemu::bf16_bits(f)) {}
    operator float() const {
        const unsigned u = (unsigned)x << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
};
typedef __nv_bfloat16 nv_bfloat16;
struct __nv_bfloat162 {
    __nv_bfloat16 x, y;
};
typedef __nv_bfloat162 nv_bfloat162;

inline __nv_bfloat16 __float2bfloat16(float f) {
    return __nv_bfloat16(f);
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    return __nv_bfloat16(f);
}
inline float __bfloat162float(__nv_bfloat16 b) {
    return (float)b;
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) {
    return b.x;
}
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short x) {
    __nv_bfloat16 b;
    b.x = x;
    return b;
}

#endif
