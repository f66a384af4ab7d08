/* Cube maps for environment lighting: nvdiffrec's face layout, padded faces for seamless
 * filtering, box-filtered mip chains and trilinear sampling (nvdiffrast's `boundary_mode='cube'`).
 *
 * Faces are +X, -X, +Y, -Y, +Z, -Z (index 0..5). Texel (x, y) of an n x n face (x the column, y
 * the row) has face coordinates fx = 2 (x + 0.5) / n - 1, fy = 2 (y + 0.5) / n - 1 and points
 * along (unnormalised):
 *     +X (1, -fy, -fx)   -X (-1, -fy, fx)   +Y (fx, 1, fy)
 *     -Y (fx, -1, -fy)   +Z (fx, -fy, 1)    -Z (-fx, -fy, -1)
 * (nvdiffrec renderutils cube_to_dir). The cube is indexed by WORLD directions: its +Z face is the
 * world's +z. With the "blender"/"risesdf" conventions the world is z-up, so +Z is the sky (as in
 * RISE-SDF, whose lat-long -> cube conversion uses the z-up mapping); with "nvdiffrec" the world is
 * y-up and +Y is the sky. Either way a lookup takes the world direction itself: the convention
 * only decides which lat-long texel fills each cube texel (facet_envmap_radiance).
 *
 * Storage: a level of face size n holds 6 padded faces of (n + 2) x (n + 2) RGB floats, row-major,
 * face after face; texel (x, y) of face f (x, y in [-1, n]) is at
 *     ((f * (n + 2) + y + 1) * (n + 2) + x + 1) * 3.
 * The one-texel border repeats the neighbouring faces' edge texels and, at the four corners, the
 * average of the three texels around the cube corner, so bilinear filtering is seamless across
 * edges exactly as nvdiffrast's cube wrapping (texture.cu wrapCubeMap / fetchQuad). */
#ifndef FACET_LIGHTING_CUBEMAP_H
#define FACET_LIGHTING_CUBEMAP_H

#include "render/envmap.h"

#include "core/hd.h"
#include "core/status.h"
#include "core/vecmath.h"

#include <math.h>
#include <stddef.h>

enum { FACET_CUBE_MAX_LEVELS = 24 };

/* A stack of cube levels as the per-texel functions see it (host or device pointers): level[l]
 * is the padded storage of face size sizes[l]. A mip chain has sizes[l] = size >> l; the quality
 * split-sum stack has one level per roughness of its ladder, at the size that roughness needs. */
typedef struct facet_cube_view {
    const float *level[FACET_CUBE_MAX_LEVELS];
    int sizes[FACET_CUBE_MAX_LEVELS];
    int size;   /* face size of level 0 */
    int levels; /* number of levels in use */
} facet_cube_view;

/* Floats in one padded level of face size n. */
static inline FACET_HD size_t facet_cube_level_floats(int n) {
    return (size_t)6 * (size_t)(n + 2) * (size_t)(n + 2) * 3;
}

/* Offset (in floats) of texel (x, y), x and y in [-1, n], of face `face` in a padded level. */
static inline FACET_HD size_t facet_cube_texel_offset(int n, int face, int x, int y) {
    return (((size_t)face * (size_t)(n + 2) + (size_t)(y + 1)) * (size_t)(n + 2) +
            (size_t)(x + 1)) *
           3;
}

/* The unnormalised direction of face coordinates (fx, fy) on `face` (see the table above). */
static inline FACET_HD facet_vec3 facet_cube_face_dir(int face, float fx, float fy) {
    switch (face) {
    case 0:
        return facet_v3(1.0f, -fy, -fx);
    case 1:
        return facet_v3(-1.0f, -fy, fx);
    case 2:
        return facet_v3(fx, 1.0f, fy);
    case 3:
        return facet_v3(fx, -1.0f, -fy);
    case 4:
        return facet_v3(fx, -fy, 1.0f);
    default:
        return facet_v3(-fx, -fy, -1.0f);
    }
}

/* The unit direction through the centre of texel (x, y) of `face` at face size n. */
static inline FACET_HD facet_vec3 facet_cube_texel_dir(int face, int x, int y, int n) {
    float fx = 2.0f * ((float)x + 0.5f) / (float)n - 1.0f;
    float fy = 2.0f * ((float)y + 0.5f) / (float)n - 1.0f;
    return facet_v3_normalize(facet_cube_face_dir(face, fx, fy));
}

/* The face a direction (any length) falls on and its face coordinates u, v in [0,1] (u along
 * columns, v along rows): nvdiffrast's indexCubeMap (ties go to z, then y). Returns -1 for the
 * zero vector or non-finite input. */
static inline FACET_HD int facet_cube_face_uv(facet_vec3 d, float *u, float *v) {
    float ax = fabsf(d.x), ay = fabsf(d.y), az = fabsf(d.z);
    int face;
    float c, a, b;
    if (az > fmaxf(ax, ay)) {
        face = 4, c = d.z, a = d.x, b = d.y;
    } else if (ay > ax) {
        face = 2, c = d.y, a = d.x, b = d.z;
    } else {
        face = 0, c = d.x, a = d.z, b = d.y;
    }
    if (c < 0.0f) face += 1;
    if (!(fabsf(c) > 0.0f) || !isfinite(a) || !isfinite(b)) return -1;
    float m = 0.5f / fabsf(c);
    float mu = (face == 0 || face == 5) ? -m : m;
    float mv = face == 2 ? m : -m;
    *u = fminf(fmaxf(a * mu + 0.5f, 0.0f), 1.0f);
    *v = fminf(fmaxf(b * mv + 0.5f, 0.0f), 1.0f);
    return face;
}

/* Bilinear lookup of one padded level (face size n) at face coordinates (u, v) in [0,1]:
 * texel centres at (i + 0.5) / n, neighbours across edges from the border. rgb[3] out. */
static inline FACET_HD void facet_cube_bilinear(const float *level, int n, int face, float u,
                                                float v, float rgb[3]) {
    float x = u * (float)n - 0.5f, y = v * (float)n - 0.5f;
    float fx0 = floorf(x), fy0 = floorf(y);
    float tx = x - fx0, ty = y - fy0;
    int x0 = (int)fx0, y0 = (int)fy0;
    const float *p00 = level + facet_cube_texel_offset(n, face, x0, y0);
    const float *p10 = p00 + 3;
    const float *p01 = p00 + (size_t)(n + 2) * 3;
    const float *p11 = p01 + 3;
    for (int k = 0; k < 3; k++) {
        float top = p00[k] + (p10[k] - p00[k]) * tx;
        float bottom = p01[k] + (p11[k] - p01[k]) * tx;
        rgb[k] = top + (bottom - top) * ty;
    }
}

/* Seamless trilinear lookup along direction d (any length) at mip level `lod`, clamped to
 * [0, levels - 1] (nvdiffrast linear-mipmap-linear with a level bias and no derivatives). */
static inline FACET_HD void facet_cube_sample(const facet_cube_view *cube, facet_vec3 d, float lod,
                                              float rgb[3]) {
    float u, v;
    int face = facet_cube_face_uv(d, &u, &v);
    if (face < 0) {
        rgb[0] = rgb[1] = rgb[2] = 0.0f;
        return;
    }
    lod = fminf(fmaxf(lod, 0.0f), (float)(cube->levels - 1));
    int l0 = (int)floorf(lod);
    float f = lod - (float)l0;
    facet_cube_bilinear(cube->level[l0], cube->sizes[l0], face, u, v, rgb);
    if (f > 0.0f) {
        int l1 = l0 + 1 < cube->levels ? l0 + 1 : l0;
        float b[3];
        facet_cube_bilinear(cube->level[l1], cube->sizes[l1], face, u, v, b);
        for (int k = 0; k < 3; k++) rgb[k] += (b[k] - rgb[k]) * f;
    }
}

#ifdef __cplusplus
extern "C" {
#endif

/* A host-side stack of levels: level[l] (face size sizes[l]) is padded storage of
 * facet_cube_level_floats(sizes[l]) floats; view points at the same buffers. */
typedef struct facet_cube {
    float *level[FACET_CUBE_MAX_LEVELS];
    int sizes[FACET_CUBE_MAX_LEVELS];
    int size, levels;
    facet_cube_view view;
} facet_cube;

/* Allocates a mip chain of `levels` levels (uninitialised) for face size `size` (a power of two
 * >= 1, with size >> (levels - 1) >= 1): level l has face size size >> l. */
facet_status facet_cube_alloc(facet_cube *cube, int size, int levels);
/* Allocates `levels` levels of the given face sizes (each >= 1). */
facet_status facet_cube_alloc_sizes(facet_cube *cube, const int *sizes, int levels);
void facet_cube_free(facet_cube *cube);

/* Fills level 0 with the environment's radiance through each texel centre (bilinear lat-long
 * lookup with the map's convention, rotation and strength, as nvdiffrec's latlong_to_cubemap).
 * clamp_unit: the map's texels are clamped to [0,1] first (RISE-SDF `clamp: true`, before the
 * strength applies). Then builds levels 1.. by 2x2 box averaging and fills every border. */
facet_status facet_cube_from_envmap(facet_cube *cube, const facet_envmap_view *env, int clamp_unit);

/* dst (face size n/2) = 2x2 box average of src (face size n) inside each face (avg_pool2d);
 * interior texels only, call facet_cube_fill_borders afterwards. */
void facet_cube_box_downsample(const float *src, int n, float *dst);

/* Fills the one-texel border of every face of a padded level from the neighbouring faces. */
void facet_cube_fill_borders(float *level, int n);

#ifdef __cplusplus
}
#endif
#endif
