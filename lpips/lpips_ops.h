/* Per-element math of LPIPS (lpips/lpips.h), written once for the CPU launcher (lpips/lpips.c)
 * and the CUDA kernels (lpips/cuda/lpips.cu). Valid C11 and CUDA C++. The backbone itself
 * (convolutions, ReLU, max pooling) is nn/'s.
 *
 * Feature maps are [C, H, W] (one image, torch's NCHW with N = 1): channel c of pixel p = y W + x
 * is f[c hw + p], hw = H W. Pixel sums run in double; what torch stores in float32 (the scaled
 * input, the unit features) is rounded to float as torch does. */
#ifndef FACET_LPIPS_LPIPS_OPS_H
#define FACET_LPIPS_LPIPS_OPS_H

#include "core/hd.h"
#include "lpips/lpips.h"

#include <math.h>
#include <stddef.h>

/* The package's ScalingLayer (float32 constants): x <- (x - shift[c]) / scale[c]. */
static inline FACET_HD float facet_lpips_shift(int c) {
    return c == 0 ? -0.030f : c == 1 ? -0.088f : -0.188f;
}

static inline FACET_HD float facet_lpips_scale(int c) {
    return c == 0 ? 0.458f : c == 1 ? 0.448f : 0.450f;
}

/* Element (c, y, x) of the backbone's input [3, h, w] from an image's interleaved RGB values
 * rgb [h, w, 3] under `convention` (facet_lpips_convention, lpips.h):
 *   nerfstudio: v = rgb[(y w + x) 3 + c], mapped 2 v - 1 (torchmetrics normalize=True);
 *   risesdf:    v = rgb[(c h + y) w + x] (the buffer read as [3, h, w]), unmapped;
 * then the ScalingLayer. 2 v is exact, so with or without FMA contraction the result is torch's. */
static inline FACET_HD float facet_lpips_input(const float *rgb, int h, int w, int c, int y, int x,
                                               int convention) {
    float v;
    if (convention == FACET_LPIPS_RISESDF)
        v = rgb[((size_t)c * h + y) * w + x];
    else
        v = 2.0f * rgb[((size_t)y * w + x) * 3 + c] - 1.0f;
    return (v - facet_lpips_shift(c)) / facet_lpips_scale(c);
}

/* The package's normalize_tensor denominator of pixel p of f [channels, hw]:
 * sqrt(sum_c f_c^2) + 1e-10, the norm rounded to float as torch's. */
static inline FACET_HD float facet_lpips_unit_denominator(const float *f, int channels, size_t hw,
                                                          size_t p) {
    double ss = 0.0;
    for (int c = 0; c < channels; c++) {
        const double v = f[(size_t)c * hw + p];
        ss += v * v;
    }
    return (float)sqrt(ss) + 1e-10f;
}

/* u [channels, hw] at pixel p = the unit feature f / denominator (float division, as torch). u
 * may be f. */
static inline FACET_HD void facet_lpips_unit_pixel(const float *f, int channels, size_t hw,
                                                   size_t p, float *u) {
    const float denominator = facet_lpips_unit_denominator(f, channels, hw, p);
    for (int c = 0; c < channels; c++) u[(size_t)c * hw + p] = f[(size_t)c * hw + p] / denominator;
}

/* The tap's head at pixel p: sum_c w_c (ua_c - ub_c)^2 with ua the unit features of image A
 * (facet_lpips_unit_pixel) and ub those of B's raw features fb, both [channels, hw]; w [channels]
 * is the 1x1 head (lin<k>). The difference is float (as torch's feats0 - feats1), the weighted
 * sum double. */
static inline FACET_HD float facet_lpips_head_pixel(const float *ua, const float *fb,
                                                    const float *w, int channels, size_t hw,
                                                    size_t p) {
    const float denominator = facet_lpips_unit_denominator(fb, channels, hw, p);
    double d = 0.0;
    for (int c = 0; c < channels; c++) {
        const size_t i = (size_t)c * hw + p;
        const float diff = ua[i] - fb[i] / denominator;
        d += (double)w[c] * ((double)diff * diff);
    }
    return (float)d;
}

#endif
