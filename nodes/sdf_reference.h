/* The sdf node's Monte Carlo reference lighting ("lighting": "reference"), per ray, shared by the
 * CPU loop (sdf_node.c) and the CUDA kernel (cuda/sdf_node.cu).
 *
 * At the first hit x (normal n, v = -d) it estimates the direct lighting of the environment under
 * the full material (lighting/brdf.h: Lambert plus GGX with height-correlated Smith and Schlick
 * Fresnel, the terms the split-sum's DFG table integrates):
 *     L(x, v) = integral over the sphere of L_env(l) V(x, l) f(l, v) (n.l) dl
 * with V the visibility of the environment from x along l, traced against the node's own SDF
 * (self-shadowing; no interreflection: a blocked direction contributes nothing). Each of the
 * `samples` iterations draws one direction from the environment's texel power
 * (lighting/env_sampling.h) and one from the material (lighting/brdf.h), combined by multiple
 * importance sampling with the power heuristic (Veach 1995). Unbiased: the mean over many samples
 * is the integral, free of the split-sum approximations (the split of the integral, N = V = R
 * prefiltering, the cone and level schemes).
 *
 * Random numbers: PCG32 (core/rng.h) seeded by the bits of the ray's origin and direction, on
 * stream `pass`: the same ray gives the same value on the CPU and on CUDA, and pass k of a
 * progressive render (the viewer) draws new samples. */
#ifndef FACET_NODES_SDF_REFERENCE_H
#define FACET_NODES_SDF_REFERENCE_H

#include "sdf_ray.h"

#include "lighting/brdf.h"
#include "lighting/env_sampling.h"

#include "core/hd.h"
#include "core/rng.h"

#include <string.h>

/* What the reference reads besides the object (host or device pointers). */
typedef struct facet_sdf_reference_env {
    facet_envmap_view env;            /* the scene's map (has_map 1) */
    int has_map;                      /* 0: a constant environment of radiance `constant` */
    float constant[3];                /* the background colour of a scene without a map */
    facet_env_distribution_view dist; /* sampling tables of env (uniform without a map) */
    int samples;                      /* per ray (>= 1) */
    unsigned pass;                    /* random stream: the progressive pass */
} facet_sdf_reference_env;

/* Radiance of the environment along unit direction l. */
static inline FACET_HD void facet_reference_env_radiance(const facet_sdf_reference_env *e,
                                                         facet_vec3 l, float rgb[3]) {
    if (e->has_map) {
        facet_envmap_radiance(&e->env, l, rgb);
    } else {
        rgb[0] = e->constant[0], rgb[1] = e->constant[1], rgb[2] = e->constant[2];
    }
}

/* 1 when the object blocks the environment seen from surface point x (normal n) along l. The
 * shadow ray starts off the surface by ten times the primary hit tolerance at depth t (at least
 * 1e-4), so it does not find the surface it leaves. */
static inline FACET_HD int facet_sdf_occluded(const facet_sdf_ray_params *p, facet_vec3 x,
                                              facet_vec3 n, float t, facet_vec3 l) {
    const float offset = fmaxf(10.0f * p->trace.epsilon * t, 1e-4f);
    float t_hit;
    return facet_sphere_trace(&p->object, facet_v3_add(x, facet_v3_scale(n, offset)), l, &p->trace,
                              &t_hit);
}

/* The random seed of a ray: SplitMix64's finaliser over the bits of origin and direction. */
static inline FACET_HD uint64_t facet_ray_seed(facet_vec3 o, facet_vec3 d) {
    const float f[6] = {o.x, o.y, o.z, d.x, d.y, d.z};
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (int k = 0; k < 6; k++) {
        uint32_t bits;
        memcpy(&bits, &f[k], sizeof bits);
        h = (h ^ bits) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 29;
    }
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

/* One MIS sample pair's contribution at (x, n, v) added to sum[3] (not yet divided by the
 * sample count). */
static inline FACET_HD void facet_reference_sample(const facet_sdf_ray_params *p,
                                                   const facet_sdf_reference_env *e, facet_vec3 x,
                                                   facet_vec3 n, facet_vec3 v, float t,
                                                   facet_rng *rng, float sum[3]) {
    const facet_material *m = &p->material;
    float f[3], radiance[3];
    /* the environment's strategy */
    float ue[2] = {facet_rng_uniform(rng), facet_rng_uniform(rng)};
    facet_vec3 l;
    float pl = facet_env_sample(&e->dist, &e->env, ue, &l);
    if (pl > 0.0f) {
        facet_brdf_eval_cos(m, n, v, l, f);
        if ((f[0] > 0.0f || f[1] > 0.0f || f[2] > 0.0f) && !facet_sdf_occluded(p, x, n, t, l)) {
            const float pb = facet_brdf_pdf(m, n, v, l);
            const float w = pl / (pl * pl + pb * pb); /* power heuristic weight / pl */
            facet_reference_env_radiance(e, l, radiance);
            for (int k = 0; k < 3; k++) sum[k] += f[k] * radiance[k] * w;
        }
    }
    /* the material's strategy */
    float ub[3] = {facet_rng_uniform(rng), facet_rng_uniform(rng), facet_rng_uniform(rng)};
    if (facet_brdf_sample(m, n, v, ub, &l)) {
        const float pb = facet_brdf_pdf(m, n, v, l);
        facet_brdf_eval_cos(m, n, v, l, f);
        if (pb > 0.0f && (f[0] > 0.0f || f[1] > 0.0f || f[2] > 0.0f) &&
            !facet_sdf_occluded(p, x, n, t, l)) {
            const float pe = facet_env_pdf(&e->dist, &e->env, l);
            const float w = pb / (pb * pb + pe * pe); /* power heuristic weight / pb */
            facet_reference_env_radiance(e, l, radiance);
            for (int k = 0; k < 3; k++) sum[k] += f[k] * radiance[k] * w;
        }
    }
}

/* The reference's counterpart of facet_sdf_render_ray (same hit, normal, alpha and depth). */
static inline FACET_HD void facet_sdf_reference_ray(const facet_sdf_ray_params *p,
                                                    const facet_sdf_reference_env *e, facet_vec3 o,
                                                    facet_vec3 d, facet_ray_result *out) {
    float t;
    facet_vec3 x, n;
    if (!facet_sdf_ray_hit(p, o, d, &t, &x, &n)) {
        facet_sdf_ray_miss(out);
        return;
    }
    facet_rng rng = facet_rng_seed(facet_ray_seed(o, d), e->pass);
    const facet_vec3 v = facet_v3_scale(d, -1.0f);
    float sum[3] = {0.0f, 0.0f, 0.0f};
    for (int s = 0; s < e->samples; s++) facet_reference_sample(p, e, x, n, v, t, &rng, sum);
    for (int k = 0; k < 3; k++) out->rgb[k] = sum[k] / (float)e->samples;
    out->alpha = 1.0f;
    out->depth = t;
}

#endif
