#include "display.h"

#include <string.h>

static const char *const mode_names[FACET_VIEW_MODE_COUNT] = {"rgb", "depth", "masks"};

int facet_view_mode_from_name(const char *name) {
    for (int m = 0; m < FACET_VIEW_MODE_COUNT; m++)
        if (!strcmp(name, mode_names[m])) return m;
    return -1;
}

const char *facet_view_mode_name(facet_view_mode mode) {
    return mode >= 0 && mode < FACET_VIEW_MODE_COUNT ? mode_names[mode] : "?";
}

void facet_display_object_color(int k, float rgb[3]) {
    static const float palette[8][3] = {
        {1.0f, 0.25f, 0.2f}, {0.2f, 0.8f, 0.3f},  {0.25f, 0.45f, 1.0f}, {1.0f, 0.8f, 0.1f},
        {0.9f, 0.3f, 0.9f},  {0.1f, 0.85f, 0.9f}, {1.0f, 0.55f, 0.1f},  {0.6f, 0.4f, 0.25f}};
    const float *c = palette[((k % 8) + 8) % 8];
    rgb[0] = c[0], rgb[1] = c[1], rgb[2] = c[2];
}

void facet_display_masks(const float *rgba, const float *prob, const unsigned char *tinted,
                         int channels, unsigned char *out) {
    int best = -1;
    float p = 0.0f;
    for (int c = 0; c < channels; c++)
        if (prob[c] > p) p = prob[c], best = c;
    float color[3] = {0, 0, 0};
    if (best >= 0) facet_display_object_color(best, color);
    const float w = best >= 0 && tinted[best] ? 0.6f * (p > 1.0f ? 1.0f : p) : 0.0f;
    for (int c = 0; c < 3; c++)
        out[c] = facet_unorm8((1.0f - w) * facet_linear_to_srgb(rgba[c]) + w * color[c]);
    out[3] = 255;
}
