#include "cubemap.h"

#include "core/alloc.h"
#include "core/parallel.h"

#include <stdlib.h>
#include <string.h>

facet_status facet_cube_alloc(facet_cube *cube, int size, int levels) {
    memset(cube, 0, sizeof *cube);
    if (size < 1 || (size & (size - 1)) != 0 || levels < 1 || levels > FACET_CUBE_MAX_LEVELS ||
        (size >> (levels - 1)) < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "cube map: face size %d with %d mip levels (expected a power of two and "
                          "at most log2(size) + 1 levels)",
                          size, levels);
    int sizes[FACET_CUBE_MAX_LEVELS];
    for (int l = 0; l < levels; l++) sizes[l] = size >> l;
    return facet_cube_alloc_sizes(cube, sizes, levels);
}

facet_status facet_cube_alloc_sizes(facet_cube *cube, const int *sizes, int levels) {
    memset(cube, 0, sizeof *cube);
    if (levels < 1 || levels > FACET_CUBE_MAX_LEVELS)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "cube map: %d levels (1 to %d)", levels,
                          FACET_CUBE_MAX_LEVELS);
    for (int l = 0; l < levels; l++) {
        if (sizes[l] < 1)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT, "cube map: level %d has face size %d", l,
                              sizes[l]);
        cube->level[l] = facet_alloc(facet_cube_level_floats(sizes[l]), sizeof(float));
        if (!cube->level[l]) {
            facet_cube_free(cube);
            return facet_last_status();
        }
        cube->view.level[l] = cube->level[l];
        cube->sizes[l] = cube->view.sizes[l] = sizes[l];
    }
    cube->size = cube->view.size = sizes[0];
    cube->levels = cube->view.levels = levels;
    return FACET_OK;
}

void facet_cube_free(facet_cube *cube) {
    for (int l = 0; l < FACET_CUBE_MAX_LEVELS; l++) free(cube->level[l]);
    memset(cube, 0, sizeof *cube);
}

facet_status facet_cube_from_envmap(facet_cube *cube, const facet_envmap_view *env,
                                    int clamp_unit) {
    facet_envmap_view view = *env;
    float *clamped = NULL;
    if (clamp_unit) {
        size_t count = (size_t)env->width * env->height * 3;
        clamped = facet_alloc(count, sizeof *clamped);
        if (!clamped) return facet_last_status();
        for (size_t i = 0; i < count; i++) clamped[i] = fminf(fmaxf(env->rgb[i], 0.0f), 1.0f);
        view.rgb = clamped;
    }
    const int n = cube->size;
    float *base = cube->level[0];
    FACET_PARALLEL_FOR(row, 0, 6 * (int64_t)n) {
        int face = (int)(row / n), y = (int)(row % n);
        for (int x = 0; x < n; x++)
            facet_envmap_radiance(&view, facet_cube_texel_dir(face, x, y, n),
                                  base + facet_cube_texel_offset(n, face, x, y));
    }
    free(clamped);
    facet_cube_fill_borders(base, n);
    for (int l = 1; l < cube->levels; l++) {
        facet_cube_box_downsample(cube->level[l - 1], cube->sizes[l - 1], cube->level[l]);
        facet_cube_fill_borders(cube->level[l], cube->sizes[l]);
    }
    return FACET_OK;
}

void facet_cube_box_downsample(const float *src, int n, float *dst) {
    const int m = n / 2;
    FACET_PARALLEL_FOR(row, 0, 6 * (int64_t)m) {
        int face = (int)(row / m), y = (int)(row % m);
        for (int x = 0; x < m; x++) {
            const float *a = src + facet_cube_texel_offset(n, face, 2 * x, 2 * y);
            const float *b = a + (size_t)(n + 2) * 3;
            float *out = dst + facet_cube_texel_offset(m, face, x, y);
            for (int k = 0; k < 3; k++) out[k] = 0.25f * (a[k] + a[3 + k] + b[k] + b[3 + k]);
        }
    }
}

/* Copies into border texel (x, y) of `face` the interior texel its direction falls on. */
static void fill_edge_texel(float *level, int n, int face, int x, int y) {
    float fx = 2.0f * ((float)x + 0.5f) / (float)n - 1.0f;
    float fy = 2.0f * ((float)y + 0.5f) / (float)n - 1.0f;
    float u = 0.5f, v = 0.5f; /* the direction is never zero: g >= 0 */
    int g = facet_cube_face_uv(facet_cube_face_dir(face, fx, fy), &u, &v);
    int tx = (int)(u * (float)n), ty = (int)(v * (float)n);
    tx = tx < n ? tx : n - 1;
    ty = ty < n ? ty : n - 1;
    memcpy(level + facet_cube_texel_offset(n, face, x, y),
           level + facet_cube_texel_offset(n, g, tx, ty), 3 * sizeof(float));
}

/* Corner (x, y) of the border gets the average of the quad's three other texels (nvdiffrast's
 * rule for the missing texel at a cube corner): (x, ny), (nx, y) and (nx, ny). */
static void fill_corner_texel(float *level, int n, int face, int x, int y, int nx, int ny) {
    const float *a = level + facet_cube_texel_offset(n, face, x, ny);
    const float *b = level + facet_cube_texel_offset(n, face, nx, y);
    const float *c = level + facet_cube_texel_offset(n, face, nx, ny);
    float *out = level + facet_cube_texel_offset(n, face, x, y);
    for (int k = 0; k < 3; k++) out[k] = (a[k] + b[k] + c[k]) / 3.0f;
}

void facet_cube_fill_borders(float *level, int n) {
    for (int face = 0; face < 6; face++) {
        for (int i = 0; i < n; i++) {
            fill_edge_texel(level, n, face, i, -1);
            fill_edge_texel(level, n, face, i, n);
            fill_edge_texel(level, n, face, -1, i);
            fill_edge_texel(level, n, face, n, i);
        }
    }
    for (int face = 0; face < 6; face++) {
        fill_corner_texel(level, n, face, -1, -1, 0, 0);
        fill_corner_texel(level, n, face, n, -1, n - 1, 0);
        fill_corner_texel(level, n, face, -1, n, 0, n - 1);
        fill_corner_texel(level, n, face, n, n, n - 1, n - 1);
    }
}
