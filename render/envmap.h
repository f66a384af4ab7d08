/* Equirectangular (lat-long) environment maps with the conventions of docs/formats.md.
 *
 * blender (alias risesdf), z-up world: u = 0.5 - atan2(y, x) / (2 pi) wrapped to [0,1),
 *     v = acos(z) / pi.
 * nvdiffrec, y-up world: u = atan2(x, -z) / (2 pi) + 0.5, v = acos(y) / pi.
 * Column u W, row v H; row 0 is the first scanline (the top of the image); texel (i, j) has its
 * centre at (j + 0.5, i + 0.5). Bilinear, wrapping horizontally, clamped vertically.
 * `rotation_deg` turns the map counter-clockwise about the up axis (a feature at direction d is
 * seen at R_up(rotation) d); `strength` scales the radiance. Values are linear radiance. */
#ifndef FACET_RENDER_ENVMAP_H
#define FACET_RENDER_ENVMAP_H

#include "core/hd.h"
#include "core/image.h"
#include "core/status.h"
#include "core/vecmath.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef enum facet_env_convention {
    FACET_ENV_BLENDER = 0, /* z-up; also "risesdf" */
    FACET_ENV_NVDIFFREC,   /* y-up */
} facet_env_convention;

/* The map as the per-texel functions see it: RGB floats, row-major, row 0 at the top. */
typedef struct facet_envmap_view {
    const float *rgb; /* width * height * 3 */
    int width, height;
    facet_env_convention convention;
    float rotation_cos, rotation_sin; /* of rotation_deg */
    float strength;
} facet_envmap_view;

/* A map's turn about its up axis, as lookups undo it: the map direction of unit world direction
 * d for a map turned by the angle of cosine c and sine s (a feature at map direction m is seen at
 * R_up(rotation) m, so this is R_up(-rotation) d). blender: about +z; nvdiffrec: about +y,
 * counter-clockwise seen from +y (z -> x). */
static inline FACET_HD facet_vec3 facet_env_world_to_map(facet_env_convention convention, float c,
                                                         float s, facet_vec3 d) {
    if (convention == FACET_ENV_BLENDER)
        return facet_v3(c * d.x + s * d.y, -s * d.x + c * d.y, d.z);
    return facet_v3(c * d.x - s * d.z, d.y, s * d.x + c * d.z);
}

/* The environment's turn as a lighting lookup applies it (lighting/splitsum.h): the split-sum
 * cubes are built from the unturned map, so one prefilter serves every angle. turned 0 (as
 * zero-initialised): no turn. */
typedef struct facet_env_turn {
    int turned;
    facet_env_convention convention;
    float cos, sin;
} facet_env_turn;

/* The map direction a turned lookup reads for unit world direction d (d itself when unturned). */
static inline FACET_HD facet_vec3 facet_env_turn_apply(const facet_env_turn *turn, facet_vec3 d) {
    return turn->turned ? facet_env_world_to_map(turn->convention, turn->cos, turn->sin, d) : d;
}

/* Continuous texel coordinates (column, row; texel centres at +0.5) of a unit world direction. */
static inline FACET_HD void facet_envmap_uv(const facet_envmap_view *env, facet_vec3 d, float *u,
                                            float *v) {
    const float pi = 3.14159265358979323846f;
    const facet_vec3 m =
        facet_env_world_to_map(env->convention, env->rotation_cos, env->rotation_sin, d);
    if (env->convention == FACET_ENV_BLENDER) {
        float uu = 0.5f - atan2f(m.y, m.x) / (2.0f * pi);
        uu -= floorf(uu);
        float z = fminf(1.0f, fmaxf(-1.0f, m.z));
        *u = uu;
        *v = acosf(z) / pi;
    } else {
        float uu = atan2f(m.x, -m.z) / (2.0f * pi) + 0.5f;
        uu -= floorf(uu);
        float y = fminf(1.0f, fmaxf(-1.0f, m.y));
        *u = uu;
        *v = acosf(y) / pi;
    }
}

/* Bilinear lookup at normalised (u, v) in [0,1]^2, wrapping u, clamping v. rgb[3] out. */
static inline FACET_HD void facet_envmap_sample_uv(const facet_envmap_view *env, float u, float v,
                                                   float rgb[3]) {
    float x = u * (float)env->width - 0.5f, y = v * (float)env->height - 0.5f;
    float fx0 = floorf(x), fy0 = floorf(y);
    float tx = x - fx0, ty = y - fy0;
    int x0 = (int)fx0, y0 = (int)fy0;
    int x1 = x0 + 1, y1 = y0 + 1;
    x0 = ((x0 % env->width) + env->width) % env->width;
    x1 = ((x1 % env->width) + env->width) % env->width;
    y0 = y0 < 0 ? 0 : (y0 >= env->height ? env->height - 1 : y0);
    y1 = y1 < 0 ? 0 : (y1 >= env->height ? env->height - 1 : y1);
    const float *p00 = env->rgb + ((size_t)y0 * env->width + x0) * 3;
    const float *p01 = env->rgb + ((size_t)y0 * env->width + x1) * 3;
    const float *p10 = env->rgb + ((size_t)y1 * env->width + x0) * 3;
    const float *p11 = env->rgb + ((size_t)y1 * env->width + x1) * 3;
    for (int c = 0; c < 3; c++) {
        float top = p00[c] + (p01[c] - p00[c]) * tx;
        float bottom = p10[c] + (p11[c] - p10[c]) * tx;
        rgb[c] = env->strength * (top + (bottom - top) * ty);
    }
}

/* Radiance arriving from unit world direction d (i.e. seen looking along d). */
static inline FACET_HD void facet_envmap_radiance(const facet_envmap_view *env, facet_vec3 d,
                                                  float rgb[3]) {
    float u, v;
    facet_envmap_uv(env, d, &u, &v);
    facet_envmap_sample_uv(env, u, v, rgb);
}

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded environment: the image (RGB, linear) and its view. */
typedef struct facet_envmap {
    char *path;
    facet_image image;
    facet_envmap_view view;
    float rotation_deg;
} facet_envmap;

/* "blender" / "risesdf" / "nvdiffrec" -> convention; -1 for others. */
int facet_env_convention_from_name(const char *name);
const char *facet_env_convention_name(facet_env_convention convention);

/* Loads an EXR or HDR (or any image facet reads; LDR files are decoded from sRGB to linear). */
facet_status facet_envmap_load(facet_envmap *env, const char *path, facet_env_convention convention,
                               float rotation_deg, float strength);
void facet_envmap_set_rotation(facet_envmap *env, float rotation_deg);
void facet_envmap_free(facet_envmap *env);

/* A fingerprint of a map's texels (FNV-1a over the bits of up to 4096 values spread over the
 * map): with the path and size, tells a new map apart from one that reuses a freed one's memory.
 * Used by the lighting cache and the CUDA renderer's device copy of the map. */
uint64_t facet_envmap_fingerprint(const facet_envmap_view *env);

#ifdef __cplusplus
}
#endif
#endif
