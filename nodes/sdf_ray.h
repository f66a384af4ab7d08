/* The sdf node's per-ray function, shared by its CPU loop (sdf_node.c) and its CUDA kernel
 * (cuda/sdf_node.cu): sphere-trace the object, take the normal (analytic or central differences)
 * and shade with the split-sum. A hit returns the shaded linear radiance with alpha 1 and the
 * hit distance as depth; a miss returns zero colour, alpha 0 and depth +inf, so the scene
 * compositor shows the background or the nodes behind. */
#ifndef FACET_NODES_SDF_RAY_H
#define FACET_NODES_SDF_RAY_H

#include "lighting/lighting.h"
#include "render/scene.h"
#include "sdf_shapes.h"
#include "sphere_trace.h"
#include "lighting/splitsum.h"

#include "core/hd.h"

#include <math.h>

typedef struct facet_sdf_ray_params {
    facet_sdf_object object;
    facet_material material;
    int central_normals; /* 0: analytic gradients; 1: central differences */
    facet_trace_params trace;
} facet_sdf_ray_params;

/* The first hit of ray (o, unit d): its distance t, point x and unit normal n (analytic, or
 * central differences over about one pixel footprint, at least 1e-4 world units). 0 on a miss. */
static inline FACET_HD int facet_sdf_ray_hit(const facet_sdf_ray_params *p, facet_vec3 o,
                                             facet_vec3 d, float *t, facet_vec3 *x, facet_vec3 *n) {
    if (!facet_sphere_trace(&p->object, o, d, &p->trace, t)) return 0;
    *x = facet_v3_add(o, facet_v3_scale(d, *t));
    *n = p->central_normals
             ? facet_sdf_object_normal_central(&p->object, *x, fmaxf(p->trace.epsilon * *t, 1e-4f))
             : facet_sdf_object_normal(&p->object, *x);
    return 1;
}

/* What a ray that misses the object returns: no colour, alpha 0, depth +inf. */
static inline FACET_HD void facet_sdf_ray_miss(facet_ray_result *out) {
    out->rgb[0] = out->rgb[1] = out->rgb[2] = 0.0f;
    out->alpha = 0.0f;
    out->depth = INFINITY;
}

static inline FACET_HD void facet_sdf_render_ray(const facet_sdf_ray_params *p,
                                                 const facet_lighting_view *light, facet_vec3 o,
                                                 facet_vec3 d, facet_ray_result *out) {
    float t;
    facet_vec3 x, n;
    if (!facet_sdf_ray_hit(p, o, d, &t, &x, &n)) {
        facet_sdf_ray_miss(out);
        return;
    }
    facet_splitsum_shade(light, n, facet_v3_scale(d, -1.0f), &p->material, out->rgb);
    out->alpha = 1.0f;
    out->depth = t;
}

#endif
