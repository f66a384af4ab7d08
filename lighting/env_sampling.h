/* Importance sampling of a lat-long environment map by its texels' power (Pharr, Jakob and
 * Humphreys, PBR 3rd ed. 14.2.4), host and device, for the Monte Carlo reference
 * (nodes/sdf_reference.h).
 *
 * The map is a piecewise-constant density over its image square [0,1]^2: texel (i, j) (row i,
 * column j) gets probability proportional to w(i, j) * sin(theta_i), theta_i = pi (i + 0.5) / H
 * its row centre's polar angle, so that bright texels near the poles, which cover little solid
 * angle, are not over-sampled; w is the mean over the texel of the bilinear luminance, the 3 x 3
 * texels around (i, j) weighted by the tensor product of (1, 6, 1) / 8, so every direction with
 * radiance has density. A point (u, v) of the square maps to a direction by the map's convention
 * and rotation (render/envmap.h, the inverse of facet_envmap_uv), so the solid-angle density of a
 * direction is p(l) = p_img(u, v) / (2 pi^2 sin(pi v)),   p_img = W H P(texel). Radiance is read
 * bilinearly (facet_envmap_radiance) while the density is per texel: the estimator stays unbiased
 * as both strategies' densities are evaluated exactly.
 *
 * A map of zero power (all black) and the constant environment of a scene without a map sample
 * the sphere uniformly (p = 1 / 4 pi). */
#ifndef FACET_LIGHTING_ENV_SAMPLING_H
#define FACET_LIGHTING_ENV_SAMPLING_H

#include "render/envmap.h"

#include "core/hd.h"
#include "core/status.h"
#include "core/vecmath.h"

#include <math.h>
#include <stdint.h>

#define FACET_ENV_PI 3.14159265358979323846f

/* What the sampling functions read (host or device pointers). */
typedef struct facet_env_distribution_view {
    int width, height;    /* the map's (0 with uniform) */
    int uniform;          /* 1: uniform directions over the sphere */
    const float *row_cdf; /* height + 1 entries, 0 .. 1: the marginal over rows */
    const float *col_cdf; /* height rows of width + 1 entries, 0 .. 1: columns given the row */
} facet_env_distribution_view;

/* Index k with cdf[k] <= u < cdf[k + 1] among n intervals (cdf[0] = 0, cdf[n] = 1), skipping
 * empty intervals. */
static inline FACET_HD int facet_cdf_find(const float *cdf, int n, float u) {
    int lo = 0, hi = n; /* invariant: cdf[lo] <= u < cdf[hi] (cdf[n] = 1 > u) */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] <= u)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The unit world direction of image point (u, v) in [0,1]^2 (the inverse of facet_envmap_uv). */
static inline FACET_HD facet_vec3 facet_envmap_direction(const facet_envmap_view *env, float u,
                                                         float v) {
    const float theta = FACET_ENV_PI * v, st = sinf(theta), ct = cosf(theta);
    const float c = env->rotation_cos, s = env->rotation_sin;
    if (env->convention == FACET_ENV_BLENDER) {
        /* u = 0.5 - atan2(y', x') / 2pi with (x', y') = rotated (x, y) */
        const float phi = 2.0f * FACET_ENV_PI * (0.5f - u);
        const float xr = st * cosf(phi), yr = st * sinf(phi);
        return facet_v3(c * xr - s * yr, s * xr + c * yr, ct);
    }
    /* u = atan2(x', -z') / 2pi + 0.5 with (x', z') = rotated (x, z) */
    const float phi = 2.0f * FACET_ENV_PI * (u - 0.5f);
    const float xr = st * sinf(phi), zr = -st * cosf(phi);
    return facet_v3(c * xr + s * zr, ct, -s * xr + c * zr);
}

/* Draws a unit direction from u[2] in [0,1)^2; returns its solid-angle density (0: unusable). */
static inline FACET_HD float facet_env_sample(const facet_env_distribution_view *dist,
                                              const facet_envmap_view *env, const float u[2],
                                              facet_vec3 *l) {
    if (dist->uniform) {
        float z = 1.0f - 2.0f * u[0], r = sqrtf(fmaxf(0.0f, 1.0f - z * z));
        float phi = 2.0f * FACET_ENV_PI * u[1];
        *l = facet_v3(r * cosf(phi), r * sinf(phi), z);
        return 1.0f / (4.0f * FACET_ENV_PI);
    }
    const int W = dist->width, H = dist->height;
    const int i = facet_cdf_find(dist->row_cdf, H, u[0]);
    const float prow = dist->row_cdf[i + 1] - dist->row_cdf[i];
    const float *cdf = dist->col_cdf + (size_t)i * (W + 1);
    const int j = facet_cdf_find(cdf, W, u[1]);
    const float pcol = cdf[j + 1] - cdf[j];
    if (!(prow > 0.0f && pcol > 0.0f)) return 0.0f;
    /* the position inside the texel, from what is left of each uniform */
    const float fv = fminf((u[0] - dist->row_cdf[i]) / prow, 0.99999994f);
    const float fu = fminf((u[1] - cdf[j]) / pcol, 0.99999994f);
    const float v = ((float)i + fv) / (float)H, uu = ((float)j + fu) / (float)W;
    const float st = sinf(FACET_ENV_PI * v);
    if (!(st > 0.0f)) return 0.0f;
    *l = facet_envmap_direction(env, uu, v);
    return prow * pcol * (float)W * (float)H / (2.0f * FACET_ENV_PI * FACET_ENV_PI * st);
}

/* The solid-angle density of unit direction l under facet_env_sample. */
static inline FACET_HD float facet_env_pdf(const facet_env_distribution_view *dist,
                                           const facet_envmap_view *env, facet_vec3 l) {
    if (dist->uniform) return 1.0f / (4.0f * FACET_ENV_PI);
    const int W = dist->width, H = dist->height;
    float u, v;
    facet_envmap_uv(env, l, &u, &v);
    int i = (int)(v * (float)H), j = (int)(u * (float)W);
    i = i < 0 ? 0 : (i >= H ? H - 1 : i);
    j = j < 0 ? 0 : (j >= W ? W - 1 : j);
    const float st = sinf(FACET_ENV_PI * v);
    if (!(st > 0.0f)) return 0.0f;
    const float *cdf = dist->col_cdf + (size_t)i * (W + 1);
    const float p = (dist->row_cdf[i + 1] - dist->row_cdf[i]) * (cdf[j + 1] - cdf[j]);
    return p * (float)W * (float)H / (2.0f * FACET_ENV_PI * FACET_ENV_PI * st);
}

#ifdef __cplusplus
extern "C" {
#endif

/* The tables of a map (host memory, one allocation). */
typedef struct facet_env_distribution {
    facet_env_distribution_view view;
    float *memory;
} facet_env_distribution;

/* Builds the tables of `env` (NULL: the uniform distribution of a constant environment). The
 * tables depend on the texels only: rotation and strength change the mapping, not the tables. */
facet_status facet_env_distribution_build(facet_env_distribution *out,
                                          const facet_envmap_view *env);
void facet_env_distribution_free(facet_env_distribution *dist);

/* A device copy (cuda/env_sampling.cu; FACET_ERR_CUDA without CUDA): view holds device pointers. */
facet_status facet_env_distribution_upload(const facet_env_distribution *dist,
                                           facet_env_distribution *device);
void facet_env_distribution_device_free(facet_env_distribution *device);

#ifdef __cplusplus
}
#endif
#endif
