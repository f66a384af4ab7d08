/* The full BRDF of the split-sum's material, for the Monte Carlo reference (nodes/sdf_reference.h):
 * evaluation and importance sampling, host and device.
 *
 * The material is splitsum.h's simplified Disney model, with the terms the DFG table integrates
 * (dfg_lut.h), so that under a constant environment the reference and the split-sum agree:
 *     f(l, v) = (1 - m) a / pi + D(h) G2(l, v) F(v.h) / (4 (n.l) (n.v))
 *     F0 = 0.04 (1 - m) + m a,   F = F0 + (1 - F0) (1 - v.h)^5          (Schlick, per channel)
 *     D  = GGX of alpha = roughness^2 (prefilter.h facet_ggx_ndf)
 *     G2 = 1 / (1 + Lambda(n.v) + Lambda(n.l))                          (height-correlated Smith)
 *     Lambda(c) = (sqrt(1 + alpha^2 (1 / c^2 - 1)) - 1) / 2
 * Directions are unit vectors pointing away from the surface (v towards the camera, l towards the
 * light); h = normalize(l + v). No (1 - F) on the diffuse term, as splitsum.h and the official
 * code.
 *
 * Sampling: the diffuse lobe by cosine-weighted hemisphere directions (pdf n.l / pi); the specular
 * lobe by GGX visible normals (Heitz 2018, "Sampling the GGX Distribution of Visible Normals"):
 * pdf(l) = G1(v) D(h) / (4 n.v) with G1(v) = 1 / (1 + Lambda(n.v)). One sample picks the specular
 * lobe with probability facet_brdf_specular_probability and the pdf of a direction is the mixture
 * of the two. */
#ifndef FACET_LIGHTING_BRDF_H
#define FACET_LIGHTING_BRDF_H

#include "prefilter.h"
#include "splitsum.h"

#include "core/hd.h"
#include "core/vecmath.h"

#include <math.h>

#define FACET_BRDF_PI 3.14159265358979323846f

/* Smith Lambda of GGX for a direction at cosine c (> 0) to the normal. */
static inline FACET_HD float facet_ggx_lambda(float alpha2, float c) {
    float c2 = c * c;
    return 0.5f * (sqrtf(1.0f + alpha2 * (1.0f - c2) / c2) - 1.0f);
}

/* The n.v used by evaluation and sampling: silhouette normals can face slightly away from the
 * camera (n.v <= 0); they are shaded as grazing. */
static inline FACET_HD float facet_brdf_nov(facet_vec3 n, facet_vec3 v) {
    return fmaxf(facet_v3_dot(n, v), 1e-4f);
}

/* alpha^2 = roughness^4, floored so that a mirror stays a (very sharp) lobe the pdf can hold. */
static inline FACET_HD float facet_brdf_alpha2(float roughness) {
    float alpha = fmaxf(roughness * roughness, 1e-3f);
    return alpha * alpha;
}

/* f(l, v) (n.l) into rgb[3]: the integrand's material factor (0 below the horizon). */
static inline FACET_HD void facet_brdf_eval_cos(const facet_material *m, facet_vec3 n, facet_vec3 v,
                                                facet_vec3 l, float rgb[3]) {
    const float nol = facet_v3_dot(n, l);
    if (!(nol > 0.0f)) {
        rgb[0] = rgb[1] = rgb[2] = 0.0f;
        return;
    }
    const float nov = facet_brdf_nov(n, v), alpha2 = facet_brdf_alpha2(m->roughness);
    facet_vec3 h = facet_v3_normalize(facet_v3_add(l, v));
    const float noh = facet_v3_dot(n, h), voh = fmaxf(facet_v3_dot(v, h), 0.0f);
    const float d = facet_ggx_ndf(alpha2, noh);
    const float g2 = 1.0f / (1.0f + facet_ggx_lambda(alpha2, nov) + facet_ggx_lambda(alpha2, nol));
    const float fc = powf(1.0f - voh, 5.0f), spec = d * g2 / (4.0f * nov);
    for (int k = 0; k < 3; k++) {
        float f0 = 0.04f * (1.0f - m->metallic) + m->metallic * m->base_color[k];
        rgb[k] = (1.0f - m->metallic) * m->base_color[k] / FACET_BRDF_PI * nol +
                 (f0 + (1.0f - f0) * fc) * spec;
    }
}

/* Probability of sampling the specular lobe: its share of the Fresnel-weighted reflectance at
 * n.v (luminance weights), kept within [0.1, 0.9] when both lobes are present. */
static inline FACET_HD float facet_brdf_specular_probability(const facet_material *m, float nov) {
    const float w[3] = {0.2126f, 0.7152f, 0.0722f};
    const float fc = powf(1.0f - nov, 5.0f);
    float spec = 0.0f, diff = 0.0f;
    for (int k = 0; k < 3; k++) {
        float f0 = 0.04f * (1.0f - m->metallic) + m->metallic * m->base_color[k];
        spec += w[k] * (f0 + (1.0f - f0) * fc);
        diff += w[k] * (1.0f - m->metallic) * m->base_color[k];
    }
    if (diff <= 0.0f) return 1.0f;
    return fminf(fmaxf(spec / (spec + diff), 0.1f), 0.9f);
}

/* Solid-angle pdf of direction l under facet_brdf_sample (0 below the horizon). */
static inline FACET_HD float facet_brdf_pdf(const facet_material *m, facet_vec3 n, facet_vec3 v,
                                            facet_vec3 l) {
    const float nol = facet_v3_dot(n, l);
    if (!(nol > 0.0f)) return 0.0f;
    const float nov = facet_brdf_nov(n, v), alpha2 = facet_brdf_alpha2(m->roughness);
    const float ps = facet_brdf_specular_probability(m, nov);
    facet_vec3 h = facet_v3_normalize(facet_v3_add(l, v));
    const float spec_pdf = facet_ggx_ndf(alpha2, facet_v3_dot(n, h)) /
                           (4.0f * nov * (1.0f + facet_ggx_lambda(alpha2, nov)));
    return ps * spec_pdf + (1.0f - ps) * nol / FACET_BRDF_PI;
}

/* A GGX visible normal around +z for the view vl (local frame, vl.z > 0), from u1, u2 in [0,1)
 * (Heitz 2018, listing 1, isotropic alpha). */
static inline FACET_HD facet_vec3 facet_ggx_sample_vndf(facet_vec3 vl, float alpha, float u1,
                                                        float u2) {
    /* the view in the hemisphere configuration (stretched) */
    facet_vec3 vh = facet_v3_normalize(facet_v3(alpha * vl.x, alpha * vl.y, vl.z));
    float len2 = vh.x * vh.x + vh.y * vh.y;
    facet_vec3 t1 = len2 > 0.0f ? facet_v3_scale(facet_v3(-vh.y, vh.x, 0.0f), 1.0f / sqrtf(len2))
                                : facet_v3(1.0f, 0.0f, 0.0f);
    facet_vec3 t2 = facet_v3_cross(vh, t1);
    /* a point on the projected disk, warped towards the visible half */
    float r = sqrtf(u1), phi = 2.0f * FACET_BRDF_PI * u2;
    float p1 = r * cosf(phi), p2 = r * sinf(phi);
    float s = 0.5f * (1.0f + vh.z);
    p2 = (1.0f - s) * sqrtf(fmaxf(0.0f, 1.0f - p1 * p1)) + s * p2;
    facet_vec3 nh = facet_v3_add(facet_v3_add(facet_v3_scale(t1, p1), facet_v3_scale(t2, p2)),
                                 facet_v3_scale(vh, sqrtf(fmaxf(0.0f, 1.0f - p1 * p1 - p2 * p2))));
    /* back to the ellipsoid configuration */
    return facet_v3_normalize(facet_v3(alpha * nh.x, alpha * nh.y, fmaxf(0.0f, nh.z)));
}

/* Draws l from the material's mixture at (n, v) with u[3] in [0,1)^3 (u[0] picks the lobe).
 * Returns 0 when the direction falls below the horizon (the sample contributes nothing). */
static inline FACET_HD int facet_brdf_sample(const facet_material *m, facet_vec3 n, facet_vec3 v,
                                             const float u[3], facet_vec3 *l) {
    facet_vec3 t, b;
    facet_basis(n, &t, &b);
    const float nov = facet_brdf_nov(n, v);
    if (u[0] < facet_brdf_specular_probability(m, nov)) {
        const float alpha = sqrtf(facet_brdf_alpha2(m->roughness));
        facet_vec3 vl = facet_v3(facet_v3_dot(v, t), facet_v3_dot(v, b), nov);
        facet_vec3 hl = facet_ggx_sample_vndf(facet_v3_normalize(vl), alpha, u[1], u[2]);
        facet_vec3 h = facet_v3_add(facet_v3_add(facet_v3_scale(t, hl.x), facet_v3_scale(b, hl.y)),
                                    facet_v3_scale(n, hl.z));
        *l = facet_v3_sub(facet_v3_scale(h, 2.0f * facet_v3_dot(v, h)), v);
    } else {
        float r = sqrtf(u[1]), phi = 2.0f * FACET_BRDF_PI * u[2];
        float z = sqrtf(fmaxf(0.0f, 1.0f - u[1]));
        *l = facet_v3_add(
            facet_v3_add(facet_v3_scale(t, r * cosf(phi)), facet_v3_scale(b, r * sinf(phi))),
            facet_v3_scale(n, z));
    }
    return facet_v3_dot(n, *l) > 0.0f;
}

#endif
