/* What the viewer shows for a rendered frame: 8-bit RGBA display pixels in one of three modes.
 * The rgb mode stores exactly what `facet render` writes to a PNG (sRGB, clamped, round half up),
 * so a viewer screenshot equals the batch renderer's image. Per-pixel functions are FACET_HD: the
 * CUDA-GL interop path (viewer/cuda/interop.cu) runs the same code. */
#ifndef FACET_VIEWER_DISPLAY_H
#define FACET_VIEWER_DISPLAY_H

#include "core/color.h"
#include "core/hd.h"

#include <math.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_view_mode {
    FACET_VIEW_RGB = 0, /* the render, sRGB */
    FACET_VIEW_DEPTH,   /* nearest surface distance: white near, black far and background */
    FACET_VIEW_MASKS,   /* the render with each object's probability tinted in its colour */
    FACET_VIEW_MODE_COUNT,
} facet_view_mode;

/* "rgb" / "depth" / "masks" and back; -1 for other names. */
int facet_view_mode_from_name(const char *name);
const char *facet_view_mode_name(facet_view_mode mode);

/* rgb mode: linear RGBA (alpha ignored: the background is already composited) -> sRGB RGBA8,
 * alpha 255. */
static inline FACET_HD void facet_display_rgb(const float *rgba, unsigned char *out) {
    for (int c = 0; c < 3; c++) out[c] = facet_unorm8(facet_linear_to_srgb(rgba[c]));
    out[3] = 255;
}

/* depth mode: gray = 1.5 - depth / reference, clamped to [0,1] (reference: the orbit distance,
 * > 0), so the orbit target reads mid-gray, half its distance white and one and a half times it
 * black; +inf (nothing hit) is black. */
static inline FACET_HD void facet_display_depth(float depth, float reference, unsigned char *out) {
    float g = isfinite(depth) && depth >= 0.0f ? 1.5f - depth / reference : 0.0f;
    unsigned char v = facet_unorm8(g);
    out[0] = out[1] = out[2] = v;
    out[3] = 255;
}

/* The tint of object k in the masks overlay (8 distinct colours, cycling). */
void facet_display_object_color(int k, float rgb[3]);

/* masks mode: the rgb display with the most probable object's colour blended in by 0.6 x its
 * probability; prob[channels] are the nodes' auxiliary channels of this pixel, and channels with
 * tinted[c] == 0 (LiveScene's "mask_background") take part in the vote but are not drawn. */
void facet_display_masks(const float *rgba, const float *prob, const unsigned char *tinted,
                         int channels, unsigned char *out);

#ifdef __cplusplus
}
#endif
#endif
