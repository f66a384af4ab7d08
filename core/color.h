/* sRGB <-> linear transfer functions (IEC 61966-2-1 piecewise curve), per element, host and
 * device. */
#ifndef FACET_CORE_COLOR_H
#define FACET_CORE_COLOR_H

#include "hd.h"

#include <math.h>

/* sRGB-encoded value in [0,1] -> linear. */
static inline FACET_HD float facet_srgb_to_linear(float s) {
    return s <= 0.04045f ? s / 12.92f : powf((s + 0.055f) / 1.055f, 2.4f);
}

/* Linear value -> sRGB-encoded, input clamped to [0,1] first. */
static inline FACET_HD float facet_linear_to_srgb(float l) {
    l = l < 0.0f ? 0.0f : (l > 1.0f ? 1.0f : l);
    return l <= 0.0031308f ? 12.92f * l : 1.055f * powf(l, 1.0f / 2.4f) - 0.055f;
}

/* A [0,1] value as an 8-bit code, as PNG files store it: clamped (NaN -> 0), round half up. */
static inline FACET_HD unsigned char facet_unorm8(float v) {
    v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
    return (unsigned char)floorf(v * 255.0f + 0.5f);
}

#endif
