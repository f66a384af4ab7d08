/* Per-pixel compositing shared by the CPU and CUDA renderers: node results front to back by depth
 * ("over" with premultiplied colour), then the background through the remaining transmittance. */
#ifndef FACET_RENDER_COMPOSITE_H
#define FACET_RENDER_COMPOSITE_H

#include "core/hd.h"
#include "envmap.h"
#include "scene.h"

/* The background seen along unit direction d: the environment's radiance, or a constant colour. */
static inline FACET_HD void facet_background_radiance(facet_background_mode mode,
                                                      const float color[3],
                                                      const facet_envmap_view *env, facet_vec3 d,
                                                      float rgb[3]) {
    if (mode == FACET_BACKGROUND_ENVIRONMENT) {
        facet_envmap_radiance(env, d, rgb);
    } else {
        rgb[0] = color[0];
        rgb[1] = color[1];
        rgb[2] = color[2];
    }
}

/* Composites `count` node results (any order) over `background`; rgba[4] out, linear, with alpha
 * the total node coverage. Sorts `results` in place by depth (count is small: one per node). */
static inline FACET_HD void facet_composite(facet_ray_result *results, int count,
                                            const float background[3], float rgba[4]) {
    for (int i = 1; i < count; i++) /* insertion sort by depth */
        for (int j = i; j > 0 && results[j].depth < results[j - 1].depth; j--) {
            facet_ray_result t = results[j];
            results[j] = results[j - 1];
            results[j - 1] = t;
        }
    float transmittance = 1.0f;
    float c[3] = {0.0f, 0.0f, 0.0f};
    for (int i = 0; i < count; i++) {
        for (int k = 0; k < 3; k++) c[k] += transmittance * results[i].rgb[k];
        transmittance *= 1.0f - results[i].alpha;
    }
    for (int k = 0; k < 3; k++) rgba[k] = c[k] + transmittance * background[k];
    rgba[3] = 1.0f - transmittance;
}

/* The depth a pixel reports (facet_render_options.depth): the nearest covering node's depth among
 * results sorted by facet_composite, +inf when none covers the pixel. */
static inline FACET_HD float facet_composite_depth(const facet_ray_result *sorted, int count) {
    for (int i = 0; i < count; i++)
        if (sorted[i].alpha > 0.0f) return sorted[i].depth;
    return INFINITY;
}

#endif
