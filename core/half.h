/* IEEE binary16 (f16) and bfloat16 (bf16) conversions, bit-exact, round-to-nearest-even.
 * Per-element helpers usable on host and device. */
#ifndef FACET_CORE_HALF_H
#define FACET_CORE_HALF_H

#include "hd.h"

#include <stdint.h>
#include <string.h>

static inline FACET_HD uint32_t facet_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline FACET_HD float facet_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* f16 -> f32, exact for every input including subnormals, infinities and NaN. Branch-free, so
 * that loops over channels vectorise: the 15 magnitude bits shifted into a float's exponent and
 * mantissa fields give 2^-112 times the value for normals and subnormals alike (float subnormals
 * are exact here), and the multiplication by 2^112 is exact; infinities and NaN are selected. */
static inline FACET_HD float facet_f16_to_f32(uint16_t h) {
    const uint32_t magnitude = h & 0x7fffu, sign = (uint32_t)(h & 0x8000u) << 16;
    const float scaled = facet_bits_f32(magnitude << 13) * 5.192296858534828e33f; /* 2^112 */
    const uint32_t finite = facet_f32_bits(scaled);
    const uint32_t special = 0x7f800000u | ((uint32_t)(h & 0x3ffu) << 13); /* inf / NaN */
    return facet_bits_f32(sign | (magnitude >= 0x7c00u ? special : finite));
}

/* f32 -> f16 with round-to-nearest-even; overflow gives infinity, NaN stays NaN. */
static inline FACET_HD uint16_t facet_f32_to_f16(float f) {
    uint32_t u = facet_f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t abs_bits = u & 0x7fffffffu;
    if (abs_bits >= 0x7f800000u) /* inf or NaN */
        return (uint16_t)(sign | 0x7c00u | (abs_bits > 0x7f800000u ? 0x200u : 0u));
    if (abs_bits >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504 */
    if (abs_bits < 0x38800000u) {
        /* result is subnormal or zero: value / 2^-24 rounded to an integer, ties to even */
        float magnitude = facet_bits_f32(abs_bits) * 16777216.0f; /* exact: power of two */
        uint32_t whole = (uint32_t)magnitude;
        float frac = magnitude - (float)whole;
        if (frac > 0.5f || (frac == 0.5f && (whole & 1u))) whole++;
        return (uint16_t)(sign | whole);
    }
    uint32_t rounded = abs_bits + 0x0fffu + ((abs_bits >> 13) & 1u);
    return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}

static inline FACET_HD float facet_bf16_to_f32(uint16_t b) {
    return facet_bits_f32((uint32_t)b << 16);
}

/* f32 -> bf16, round-to-nearest-even; NaN stays a quiet NaN. */
static inline FACET_HD uint16_t facet_f32_to_bf16(float f) {
    const uint32_t u = facet_f32_bits(f);
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    /* a select, not a branch, so that loops over it vectorise */
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : rounded);
}

#endif
