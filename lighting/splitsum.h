/* Split-sum shading with the simplified Disney material of RISE-SDF (models/texture.py), per
 * shading point, host and device:
 *     wo = 2 (n.wi) n - wi            (wi: unit direction from the point towards the camera)
 *     F0 = 0.04 (1 - m) + m a
 *     L  = (1 - m) a E_d(n) + (F0 A + B) L_spec(wo, r)
 * with E_d the irradiance cube (already divided by pi), L_spec the prefiltered specular levels read
 * trilinearly at the roughness's level (parity: the official roughness-to-mip rule; quality: the
 * quality ladder, facet_splitsum_ladder_lod), and (A, B) the DFG table at
 * (clamp(n.wi, 0, 1), clamp(r, 0, 1)). No (1 - F) factor on the diffuse term, as the official
 * code. E_d and L_spec read their directions turned into the map's frame (the view's `turn`: the
 * environment's rotation about its up axis). Linear radiance in, linear radiance out. */
#ifndef FACET_LIGHTING_SPLITSUM_H
#define FACET_LIGHTING_SPLITSUM_H

#include "cubemap.h"
#include "dfg_lut.h"
#include "lighting.h"

#include "core/hd.h"
#include "core/vecmath.h"

/* The simplified Disney parameters: base colour (linear), roughness and metallic in [0,1]. */
typedef struct facet_material {
    float base_color[3];
    float roughness;
    float metallic;
} facet_material;

/* Mip level of the specular chain for roughness r (nvdiffrec/RISE-SDF get_mip), L = levels:
 * r < 0.5: (clamp(r, 0.08, 0.5) - 0.08) / 0.42 (L - 2); else (clamp(r, 0.5, 1) - 0.5) / 0.5 +
 * L - 2. The sampler clamps the result to [0, L - 1]. */
static inline FACET_HD float facet_splitsum_mip(float roughness, int levels) {
    if (roughness < 0.5f)
        return (fminf(fmaxf(roughness, 0.08f), 0.5f) - 0.08f) / (0.5f - 0.08f) *
               (float)(levels - 2);
    return (fminf(fmaxf(roughness, 0.5f), 1.0f) - 0.5f) / 0.5f + (float)(levels - 2);
}

/* Quality mode's level for roughness r: linear in r between the two ladder levels around it. */
static inline FACET_HD float facet_splitsum_ladder_lod(const float *ladder, int levels,
                                                       float roughness) {
    float r = fminf(fmaxf(roughness, ladder[0]), ladder[levels - 1]);
    int k = 0;
    while (k + 2 < levels && r > ladder[k + 1]) k++;
    return (float)k + (r - ladder[k]) / (ladder[k + 1] - ladder[k]);
}

/* E_d: irradiance / pi around unit normal n (bilinear, seamless). rgb[3] out. */
static inline FACET_HD void facet_splitsum_diffuse_light(const facet_lighting_view *light,
                                                         facet_vec3 n, float rgb[3]) {
    float u, v;
    int face = facet_cube_face_uv(facet_env_turn_apply(&light->turn, n), &u, &v);
    if (face < 0) {
        rgb[0] = rgb[1] = rgb[2] = 0.0f;
        return;
    }
    facet_cube_bilinear(light->diffuse, light->diffuse_size, face, u, v, rgb);
}

/* L_spec: prefiltered radiance along direction d for roughness r (trilinear). rgb[3] out. */
static inline FACET_HD void facet_splitsum_specular_light(const facet_lighting_view *light,
                                                          facet_vec3 d, float roughness,
                                                          float rgb[3]) {
    const int levels = light->specular.levels;
    facet_cube_sample(&light->specular, facet_env_turn_apply(&light->turn, d),
                      light->ladder
                          ? facet_splitsum_ladder_lod(light->level_roughness, levels, roughness)
                          : facet_splitsum_mip(roughness, levels),
                      rgb);
}

/* Outgoing radiance towards the camera at a surface point with unit normal n, unit wi towards
 * the camera, and material m. rgb[3] out (linear). */
static inline FACET_HD void facet_splitsum_shade(const facet_lighting_view *light, facet_vec3 n,
                                                 facet_vec3 wi, const facet_material *m,
                                                 float rgb[3]) {
    const float nov = facet_v3_dot(n, wi);
    const facet_vec3 wo = facet_v3_sub(facet_v3_scale(n, 2.0f * nov), wi);
    float diffuse[3], specular[3], a, b;
    facet_splitsum_diffuse_light(light, n, diffuse);
    facet_splitsum_specular_light(light, wo, m->roughness, specular);
    facet_dfg_lookup(light->dfg, nov, m->roughness, &a, &b);
    for (int k = 0; k < 3; k++) {
        float f0 = 0.04f * (1.0f - m->metallic) + m->metallic * m->base_color[k];
        rgb[k] = (1.0f - m->metallic) * m->base_color[k] * diffuse[k] + (f0 * a + b) * specular[k];
    }
}

#endif
