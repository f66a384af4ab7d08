/* Split-sum relighting (render/): the DFG table against the official one, cube maps and their
 * environment conventions, GGX prefiltering against a Monte Carlo integral of the lobe, analytic
 * SDFs and sphere tracing, the `sdf` node, and an analytic sphere rendered by split-sum against a
 * brute-force reference integrator of the same BRDF under a Blender HDRI. */
#include "helpers.h"

#include "core/color.h"
#include "core/fileio.h"
#include "core/image.h"
#include "core/json.h"
#include "core/rng.h"
#include "nodes/builtin.h"
#include "lighting/cubemap.h"
#include "lighting/dfg_lut.h"
#include "lighting/lighting.h"
#include "lighting/prefilter.h"
#include "render/render.h"
#include "render/scene.h"
#include "nodes/sdf_ray.h"
#include "nodes/sdf_reference.h"
#include "lighting/brdf.h"
#include "lighting/env_sampling.h"
#include "nodes/sdf_shapes.h"
#include "nodes/sphere_trace.h"
#include "lighting/splitsum.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

/* ---- DFG table ------------------------------------------------------------------------------ */

Test(dfg, matches_sampled_values_of_the_official_table) {
    /* tests/fixtures/relight/dfg_reference.json: 435 entries of nvdiffrec's bsdf_256_256.bin
     * (tools/reference/dfg_reference.py). Measured: max |difference| 5.0e-4 (A), 3.3e-4 (B) over
     * all 65536 texels; the official table is itself an estimate with about that noise. */
    facet_doc doc;
    cr_assert_eq(
        facet_json_load(&doc, test_source_path("tests/fixtures/relight/dfg_reference.json")),
        FACET_OK, "%s", facet_last_error());
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(doc.root, "entries");
    cr_assert(cJSON_GetArraySize(entries) > 400);
    const float *lut = facet_dfg_lut();
    double worst = 0.0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        int i = cJSON_GetArrayItem(e, 0)->valueint, j = cJSON_GetArrayItem(e, 1)->valueint;
        for (int c = 0; c < 2; c++) {
            double d = fabs(lut[(i * 256 + j) * 2 + c] - cJSON_GetArrayItem(e, 2 + c)->valuedouble);
            if (d > worst) worst = d;
        }
    }
    cr_log_info("DFG: max |facet - official| over the fixture = %.2e", worst);
    cr_assert_lt(worst, 1e-3);
    facet_doc_free(&doc);
}

Test(dfg, reference_example_from_the_official_table) {
    /* an entry of the official table (bsdf_256_256.bin, tools/reference/dfg_reference.py): NoV
     * 0.127, r 0.252 -> (0.553, 0.357) */
    float a, b;
    facet_dfg_lookup(facet_dfg_lut(), 0.127f, 0.252f, &a, &b);
    cr_assert_float_eq(a, 0.553f, 2e-3);
    cr_assert_float_eq(b, 0.357f, 2e-3);
}

Test(dfg, lookup_hits_texel_centres_and_clamps_at_edges) {
    const float *lut = facet_dfg_lut();
    float a, b;
    /* texel (row 10, column 20) has its centre at NdotV 20.5/256, roughness 10.5/256 */
    facet_dfg_lookup(lut, 20.5f / 256, 10.5f / 256, &a, &b);
    cr_assert_float_eq(a, lut[(10 * 256 + 20) * 2], 1e-6);
    cr_assert_float_eq(b, lut[(10 * 256 + 20) * 2 + 1], 1e-6);
    /* below the first centre and beyond 1: the edge texels */
    facet_dfg_lookup(lut, -0.5f, 2.0f, &a, &b);
    cr_assert_float_eq(a, lut[(255 * 256 + 0) * 2], 1e-6);
    cr_assert_float_eq(b, lut[(255 * 256 + 0) * 2 + 1], 1e-6);
}

Test(dfg, directional_albedo_never_exceeds_one) {
    const float *lut = facet_dfg_lut();
    for (int i = 0; i < 256 * 256; i++) cr_assert_leq(lut[2 * i] + lut[2 * i + 1], 1.0f + 1e-4f);
}

/* ---- cube maps ------------------------------------------------------------------------------- */

Test(cubemap, face_centres_are_the_axes_in_nvdiffrec_order) {
    const float axes[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
    for (int f = 0; f < 6; f++) {
        facet_vec3 d = facet_v3_normalize(facet_cube_face_dir(f, 0.0f, 0.0f));
        cr_assert_float_eq(d.x, axes[f][0], 1e-6);
        cr_assert_float_eq(d.y, axes[f][1], 1e-6);
        cr_assert_float_eq(d.z, axes[f][2], 1e-6);
    }
    /* +X: column fx grows towards -z, row fy towards -y (nvdiffrec cube_to_dir) */
    facet_vec3 d = facet_cube_face_dir(0, 0.5f, 0.25f);
    cr_assert(d.z == -0.5f && d.y == -0.25f);
}

Test(cubemap, texel_directions_round_trip_through_face_uv) {
    const int n = 8;
    for (int f = 0; f < 6; f++)
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                float u, v;
                int g = facet_cube_face_uv(facet_cube_texel_dir(f, x, y, n), &u, &v);
                cr_assert_eq(g, f);
                cr_assert_float_eq(u, (x + 0.5f) / n, 1e-5);
                cr_assert_float_eq(v, (y + 0.5f) / n, 1e-5);
            }
    float u, v;
    cr_assert_eq(facet_cube_face_uv(facet_v3(0, 0, 0), &u, &v), -1, "zero vector has no face");
}

/* Fills a padded level with f(direction) = direction . (1, 2, 3) + 4 at texel centres. */
static void fill_linear(float *level, int n) {
    for (int f = 0; f < 6; f++)
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                facet_vec3 d = facet_cube_texel_dir(f, x, y, n);
                float *t = level + facet_cube_texel_offset(n, f, x, y);
                t[0] = t[1] = t[2] = d.x + 2 * d.y + 3 * d.z + 4;
            }
    facet_cube_fill_borders(level, n);
}

Test(cubemap, bilinear_sampling_is_seamless_across_edges_and_corners) {
    /* A smooth function sampled at texel centres: bilinear lookups anywhere, including along
     * edges and at the cube's corners, stay within the interpolation error of a texel (0.07 for
     * this gradient at 16^2); clamping at face edges instead of wrapping would not (0.25). */
    const int n = 16;
    float *level = malloc(facet_cube_level_floats(n) * sizeof(float));
    fill_linear(level, n);
    facet_cube_view view = {.level = {level}, .sizes = {n}, .size = n, .levels = 1};
    facet_rng rng = facet_rng_seed(7, 1);
    double worst = 0.0;
    for (int i = 0; i < 20000; i++) {
        facet_vec3 d = facet_v3(2 * facet_rng_uniform(&rng) - 1, 2 * facet_rng_uniform(&rng) - 1,
                                2 * facet_rng_uniform(&rng) - 1);
        if (i % 4 == 0) d.x = copysignf(fabsf(d.y), d.x); /* on an edge of the cube */
        if (i % 8 == 0) d.z = copysignf(fabsf(d.y), d.z); /* at a corner */
        d = facet_v3_normalize(d);
        float rgb[3];
        facet_cube_sample(&view, d, 0.0f, rgb);
        double err = fabs(rgb[0] - (d.x + 2 * d.y + 3 * d.z + 4));
        if (err > worst) worst = err;
    }
    cr_assert_lt(worst, 0.07, "worst error %g", worst);
    free(level);
}

Test(cubemap, corner_border_texel_is_the_average_of_the_other_three) {
    const int n = 4;
    float *level = malloc(facet_cube_level_floats(n) * sizeof(float));
    fill_linear(level, n);
    const float *c = level + facet_cube_texel_offset(n, 2, -1, -1);
    const float *a = level + facet_cube_texel_offset(n, 2, 0, -1);
    const float *b = level + facet_cube_texel_offset(n, 2, -1, 0);
    const float *o = level + facet_cube_texel_offset(n, 2, 0, 0);
    cr_assert_float_eq(c[0], (a[0] + b[0] + o[0]) / 3, 1e-6);
    free(level);
}

Test(cubemap, box_mips_average_two_by_two) {
    facet_cube cube;
    cr_assert_eq(facet_cube_alloc(&cube, 4, 3), FACET_OK);
    fill_linear(cube.level[0], 4);
    facet_cube_box_downsample(cube.level[0], 4, cube.level[1]);
    const float *t = cube.level[0] + facet_cube_texel_offset(4, 3, 2, 0);
    float mean = 0.25f * (t[0] + t[3] + t[6 * 3] + t[6 * 3 + 3]); /* padded rows are 6 wide */
    cr_assert_float_eq(cube.level[1][facet_cube_texel_offset(2, 3, 1, 0)], mean, 1e-6);
    facet_cube_free(&cube);
}

Test(cubemap, rejects_sizes_that_are_not_powers_of_two) {
    facet_cube cube;
    cr_assert_eq(facet_cube_alloc(&cube, 48, 2), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "face size 48"), "%s", facet_last_error());
}

/* A lat-long map whose texels hold their own direction (x, y, z) under `convention`. */
static float *direction_map(int w, int h, facet_env_convention convention) {
    float *rgb = malloc((size_t)w * h * 3 * sizeof(float));
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            double u = (j + 0.5) / w, theta = PI * (i + 0.5) / h;
            float *p = rgb + ((size_t)i * w + j) * 3;
            if (convention == FACET_ENV_BLENDER) { /* u = 0.5 - atan2(y, x) / 2pi, z up */
                double phi = 2 * PI * (0.5 - u);
                p[0] = (float)(sin(theta) * cos(phi));
                p[1] = (float)(sin(theta) * sin(phi));
                p[2] = (float)cos(theta);
            } else { /* u = atan2(x, -z) / 2pi + 0.5, y up */
                double psi = 2 * PI * (u - 0.5);
                p[0] = (float)(sin(theta) * sin(psi));
                p[1] = (float)cos(theta);
                p[2] = (float)(-sin(theta) * cos(psi));
            }
        }
    return rgb;
}

/* Largest |cube texel - expected(direction)| over every texel of level 0. */
static double worst_direction_error(facet_env_convention convention, float rotation_deg) {
    const int w = 256, h = 128, n = 32;
    float *rgb = direction_map(w, h, convention);
    double c = cos(rotation_deg * PI / 180), s = sin(rotation_deg * PI / 180);
    facet_envmap_view env = {rgb, w, h, convention, (float)c, (float)s, 1.0f};
    facet_cube cube;
    cr_assert_eq(facet_cube_alloc(&cube, n, 1), FACET_OK);
    cr_assert_eq(facet_cube_from_envmap(&cube, &env, 0), FACET_OK);
    double worst = 0.0;
    for (int f = 0; f < 6; f++)
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                facet_vec3 d = facet_cube_texel_dir(f, x, y, n);
                /* a feature at map direction m is seen at R_up(rotation) m: the world direction
                 * d shows map direction R_up(-rotation) d */
                facet_vec3 m = d;
                if (convention == FACET_ENV_BLENDER)
                    m = facet_v3((float)(c * d.x + s * d.y), (float)(-s * d.x + c * d.y), d.z);
                else
                    m = facet_v3((float)(c * d.x - s * d.z), d.y, (float)(s * d.x + c * d.z));
                const float *t = cube.level[0] + facet_cube_texel_offset(n, f, x, y);
                double e = fmax(fabs(t[0] - m.x), fmax(fabs(t[1] - m.y), fabs(t[2] - m.z)));
                /* the poles and the u wrap seam interpolate across the map's edge rows/columns */
                if (fabs(d.y) < 0.999 && fabs(d.z) < 0.999 && e > worst) worst = e;
            }
    facet_cube_free(&cube);
    free(rgb);
    return worst;
}

Test(conventions, blender_world_is_z_up_and_the_cube_is_indexed_by_world_directions) {
    /* every cube texel holds (to bilinear accuracy) the direction it points to */
    cr_assert_lt(worst_direction_error(FACET_ENV_BLENDER, 0.0f), 0.03);
}

Test(conventions, nvdiffrec_world_is_y_up) {
    cr_assert_lt(worst_direction_error(FACET_ENV_NVDIFFREC, 0.0f), 0.03);
}

Test(conventions, rotation_turns_the_map_about_the_up_axis) {
    cr_assert_lt(worst_direction_error(FACET_ENV_BLENDER, 90.0f), 0.03);
    cr_assert_lt(worst_direction_error(FACET_ENV_NVDIFFREC, -30.0f), 0.03);
}

Test(conventions, sky_colour_lands_on_the_up_face) {
    /* a map that is red above the horizon and blue below: +Z (blender) / +Y (nvdiffrec) red */
    const int w = 64, h = 32;
    float *rgb = calloc((size_t)w * h * 3, sizeof(float));
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) rgb[((size_t)i * w + j) * 3 + (i < h / 2 ? 0 : 2)] = 1.0f;
    for (int c = 0; c < 2; c++) {
        facet_envmap_view env = {rgb, w, h, c ? FACET_ENV_NVDIFFREC : FACET_ENV_BLENDER, 1, 0, 1};
        facet_cube cube;
        cr_assert_eq(facet_cube_alloc(&cube, 8, 1), FACET_OK);
        cr_assert_eq(facet_cube_from_envmap(&cube, &env, 0), FACET_OK);
        int up = c ? 2 : 4, down = c ? 3 : 5;
        cr_assert_float_eq(cube.level[0][facet_cube_texel_offset(8, up, 3, 4)], 1.0f, 1e-6);
        cr_assert_float_eq(cube.level[0][facet_cube_texel_offset(8, down, 3, 4) + 2], 1.0f, 1e-6);
        facet_cube_free(&cube);
    }
    free(rgb);
}

Test(conventions, parity_mode_clamps_the_map_before_strength) {
    float rgb[2 * 1 * 3] = {5, 0.5f, -1, 5, 0.5f, -1};
    facet_envmap_view env = {rgb, 2, 1, FACET_ENV_BLENDER, 1, 0, 2.0f};
    facet_cube cube;
    cr_assert_eq(facet_cube_alloc(&cube, 2, 1), FACET_OK);
    cr_assert_eq(facet_cube_from_envmap(&cube, &env, 1), FACET_OK);
    const float *t = cube.level[0] + facet_cube_texel_offset(2, 0, 0, 0);
    cr_assert_float_eq(t[0], 2.0f, 1e-6); /* min(5, 1) * 2 */
    cr_assert_float_eq(t[1], 1.0f, 1e-6);
    cr_assert_float_eq(t[2], 0.0f, 1e-6);
    cr_assert_eq(facet_cube_from_envmap(&cube, &env, 0), FACET_OK);
    cr_assert_float_eq(t[0], 10.0f, 1e-5, "quality mode keeps the HDR");
    facet_cube_free(&cube);
}

/* ---- prefiltering ---------------------------------------------------------------------------- */

Test(prefilter, cone_cutoffs_match_the_official_bounds) {
    /* nvdiffrec ops.py __ndfBounds(res, r, 0.99), evaluated with numpy */
    cr_assert_float_eq(facet_ggx_cone_cutoff(0.08f, 0.99), 0.99976697f, 2e-7);
    cr_assert_float_eq(facet_ggx_cone_cutoff(0.5f, 0.99), 0.44621447f, 2e-6);
    cr_assert_float_eq(facet_ggx_cone_cutoff(1.0f, 0.99), 0.01570576f, 2e-6);
}

Test(prefilter, level_roughness_and_mip_rule_are_the_official_ones) {
    for (int i = 0; i < 5; i++)
        cr_assert_float_eq(facet_lighting_level_roughness(i, 6), 0.08f + 0.105f * i, 1e-6);
    cr_assert_float_eq(facet_lighting_level_roughness(5, 6), 1.0f, 0);
    cr_assert_float_eq(facet_splitsum_mip(0.0f, 6), 0.0f, 1e-6);
    cr_assert_float_eq(facet_splitsum_mip(0.29f, 6), 2.0f, 1e-5);
    cr_assert_float_eq(facet_splitsum_mip(0.5f, 6), 4.0f, 1e-6);
    cr_assert_float_eq(facet_splitsum_mip(0.75f, 6), 4.5f, 1e-6);
    cr_assert_float_eq(facet_splitsum_mip(1.0f, 6), 5.0f, 1e-6);
}

Test(prefilter, ring_row_blocks_read_only_the_row_and_sum_each_texel_once) {
    /* The CPU's blocks of FACET_RING_LANES texels (prefilter.h facet_ring_row_blocked) against the
     * ascending loop, on rows (and rows of tabulated norms, which must give the same bits)
     * allocated to their exact size (the sanitizer build reports any read outside), for row ends
     * anywhere, short faces included. A ring holding every direction
     * (cos_out = -1, cos_in = 2) makes every weight positive, and the texels outside x0..x1 are
     * 1e30: counting one, or counting a texel twice, moves the sum far past the rounding bound
     * of a reordered sum of positive terms, (N - 1) eps relative (N <= 40: 3e-6). */
    const int sizes[] = {FACET_RING_LANES, FACET_RING_LANES + 1, 13, 16, 37};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int n = sizes[s];
        float *row = malloc((size_t)3 * n * sizeof *row), *inv_row = malloc(n * sizeof *inv_row);
        cr_assert(row && inv_row);
        const float step = 2.0f / (float)n;
        /* the row's norms as facet_prefilter_level_cpu tabulates them (ly = 1: the row fy = 0) */
        for (int x = 0; x < n; x++)
            inv_row[x] = facet_ring_inv_norm(((float)x + 0.5f) * step - 1.0f, 1.0f);
        for (int x0 = 0; x0 < n; x0++)
            for (int x1 = x0; x1 < n; x1++) {
                for (int x = 0; x < n; x++)
                    for (int c = 0; c < 3; c++)
                        row[3 * x + c] =
                            x >= x0 && x <= x1 ? 0.5f + 0.1f * (float)((x * 7 + c) % 11) : 1e30f;
                float blocked[4][FACET_RING_LANES] = {{0.0f}},
                      ascending[4][FACET_RING_LANES] = {{0.0f}},
                      tabulated[4][FACET_RING_LANES] = {{0.0f}};
                facet_ring_row_blocked(row, NULL, n, x0, x1, step, 1.0f, 1.0f, 0.3f, 0.04f, -1.0f,
                                       2.0f, blocked);
                facet_ring_row_blocked(row, inv_row, n, x0, x1, step, 1.0f, 1.0f, 0.3f, 0.04f,
                                       -1.0f, 2.0f, tabulated);
                cr_assert(!memcmp(blocked, tabulated, sizeof blocked),
                          "n %d, x %d..%d: the tabulated norms give other bits", n, x0, x1);
                facet_ring_row_ascending(row, x0, x1, step, 1.0f, 1.0f, 0.3f, 0.04f, -1.0f, 2.0f,
                                         ascending);
                for (int c = 0; c < 4; c++) {
                    double total = 0.0;
                    for (int j = 0; j < FACET_RING_LANES; j++) total += blocked[c][j];
                    const double want = ascending[c][0];
                    cr_assert(want > 0.0 && fabs(total - want) <= 3e-6 * want,
                              "n %d, x %d..%d, sum %d: blocks %.9g, ascending %.9g", n, x0, x1, c,
                              total, want);
                }
            }
        free(row);
        free(inv_row);
    }
}

Test(prefilter, parity_cone_bounds_visit_every_texel_in_the_cone) {
    /* the per-face azimuth bounds against a sum over all texels, at a face corner and inside */
    const int n = 32;
    float *level = malloc(facet_cube_level_floats(n) * sizeof(float));
    fill_linear(level, n);
    float area[32];
    facet_cube_area_table(n, area);
    for (int trial = 0; trial < 3; trial++) {
        const float r = 0.185f + 0.1f * trial;
        facet_prefilter_level p = {0};
        p.mode = FACET_PREFILTER_PARITY;
        p.size = n;
        p.alpha2 = r * r * r * r;
        p.source = level;
        p.area = area;
        p.cos_cutoff = facet_ggx_cone_cutoff(r, 0.99);
        facet_vec3 R =
            facet_v3_normalize(trial == 0 ? facet_v3(1, 1, 1) : facet_v3(0.3f, -1, 0.2f));
        float fast[3];
        facet_prefilter_parity_texel(&p, R, fast);
        double acc = 0, wsum = 0;
        for (int g = 0; g < 6; g++)
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++) {
                    facet_vec3 l = facet_cube_texel_dir(g, x, y, n);
                    double c = facet_v3_dot(l, R);
                    if (c < p.cos_cutoff) continue;
                    double w = c * facet_ggx_ndf(p.alpha2, sqrtf(0.5f * (1 + (float)c))) * area[x] *
                               area[y] / 4;
                    acc += w * level[facet_cube_texel_offset(n, g, x, y)];
                    wsum += w;
                }
        cr_assert_float_eq(fast[0], acc / wsum, 1e-4 * fabs(acc / wsum));
    }
    free(level);
}

/* facet_cone_axis_range against every texel centre, for random directions, cone angles and face
 * sizes. Coverage: on each face, every texel whose direction lies within the cone must lie inside
 * the face's two ranges. Tightness: a range may exceed the texels whose azimuth in its (axis,
 * coordinate) plane lies within the cone's (the condition it is derived from, here in double) by
 * its margin of one texel and one more for rounding. */
Test(prefilter, cone_axis_ranges_hold_every_texel_in_the_cone) {
    facet_rng rng = facet_rng_seed(5, 1);
    int missed = 0, loose = 0, inside = 0, ranges = 0;
    for (int trial = 0; trial < 4000; trial++) {
        const int n = 8 << (trial % 4);
        facet_vec3 R;
        do
            R = facet_v3((float)(2 * facet_rng_uniform(&rng) - 1),
                         (float)(2 * facet_rng_uniform(&rng) - 1),
                         (float)(2 * facet_rng_uniform(&rng) - 1));
        while (facet_v3_dot(R, R) < 0.01f || facet_v3_dot(R, R) > 1.0f);
        R = facet_v3_normalize(R);
        const double theta = trial % 10 == 0 ? 1.7 : 0.01 + 1.4 * facet_rng_uniform(&rng);
        const float sin_c = theta < 0.5 * PI ? (float)sin(theta) : 2.0f;
        for (int g = 0; g < 6; g++) {
            const facet_vec3 axis = facet_cube_face_dir(g, 0.0f, 0.0f);
            const facet_vec3 du = facet_v3_sub(facet_cube_face_dir(g, 1.0f, 0.0f), axis);
            const facet_vec3 dv = facet_v3_sub(facet_cube_face_dir(g, 0.0f, 1.0f), axis);
            const float rc = facet_v3_dot(R, axis),
                        r2[2] = {facet_v3_dot(R, du), facet_v3_dot(R, dv)};
            int lo[2], hi[2], ok[2];
            for (int k = 0; k < 2; k++) {
                ok[k] = facet_cone_axis_range(rc, r2[k], sin_c, n, &lo[k], &hi[k]);
                const double rho = sqrt((double)rc * rc + (double)r2[k] * r2[k]);
                if (!ok[k] || rho <= sin_c) continue;
                const double psi = atan2(r2[k], rc), delta = asin(sin_c / rho);
                int exact_lo = n, exact_hi = -1;
                for (int i = 0; i < n; i++) {
                    const double azimuth = atan(2.0 * (i + 0.5) / n - 1.0);
                    if (fabs(remainder(azimuth - psi, 2 * PI)) > delta) continue;
                    exact_lo = i < exact_lo ? i : exact_lo;
                    exact_hi = i;
                }
                ranges++;
                if (exact_hi >= 0 && (lo[k] < exact_lo - 2 || hi[k] > exact_hi + 2)) loose++;
            }
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++) {
                    if (facet_v3_dot(facet_cube_texel_dir(g, x, y, n), R) < cos(theta)) continue;
                    inside++;
                    missed += !ok[0] || !ok[1] || x < lo[0] || x > hi[0] || y < lo[1] || y > hi[1];
                }
        }
    }
    cr_assert_gt(inside, 100000, "%d texels in the cones", inside);
    cr_assert_gt(ranges, 10000, "%d ranges compared", ranges);
    cr_assert_eq(missed, 0, "%d texels in a cone outside its face's ranges", missed);
    cr_assert_eq(loose, 0, "%d ranges wider than the cone's azimuths and their margin", loose);
}

/* A smooth synthetic sky (z-up lat-long 256 x 128): ambient plus a broad warm "sun" lobe. */
static float *synthetic_sky(int w, int h) {
    float *rgb = malloc((size_t)w * h * 3 * sizeof(float));
    const facet_vec3 sun = facet_v3_normalize(facet_v3(0.5f, 0.3f, 0.8f));
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            double theta = PI * (i + 0.5) / h, phi = 2 * PI * (0.5 - (j + 0.5) / w);
            facet_vec3 d = facet_v3((float)(sin(theta) * cos(phi)), (float)(sin(theta) * sin(phi)),
                                    (float)cos(theta));
            double lobe = exp(6.0 * (facet_v3_dot(d, sun) - 1.0));
            float *p = rgb + ((size_t)i * w + j) * 3;
            p[0] = (float)(0.2 + 3.0 * lobe + 0.3 * fmax(0.0, d.x));
            p[1] = (float)(0.25 + 2.5 * lobe);
            p[2] = (float)(0.3 + 2.0 * lobe + 0.2 * fmax(0.0, -d.z));
        }
    return rgb;
}

/* Monte Carlo of the prefilter integral at direction R: GGX half-vectors around N = V = R,
 * l = reflect(-R, h), estimator L(l) NoL / mean NoL (pdf(l) = D / 4 cancels D (l.R) / 4). */
static void monte_carlo_lobe(const facet_envmap_view *env, facet_vec3 R, float roughness,
                             double cos_cutoff, int samples, double out[3]) {
    facet_vec3 t, b;
    facet_basis(R, &t, &b);
    const double a2 = pow(roughness, 4.0);
    facet_rng rng = facet_rng_seed(11, 3);
    double acc[3] = {0, 0, 0}, wsum = 0;
    for (int i = 0; i < samples; i++) {
        double u1 = (i + facet_rng_uniform(&rng)) / samples, u2 = facet_rng_uniform(&rng);
        double ct = sqrt((1 - u1) / (1 + (a2 - 1) * u1)), st = sqrt(1 - ct * ct);
        facet_vec3 h = facet_v3_add(facet_v3_add(facet_v3_scale(t, (float)(st * cos(2 * PI * u2))),
                                                 facet_v3_scale(b, (float)(st * sin(2 * PI * u2)))),
                                    facet_v3_scale(R, (float)ct));
        facet_vec3 l = facet_v3_sub(facet_v3_scale(h, (float)(2 * ct)), R);
        double nol = facet_v3_dot(l, R);
        if (nol <= 0 || nol < cos_cutoff) continue;
        float rgb[3];
        facet_envmap_radiance(env, l, rgb);
        for (int k = 0; k < 3; k++) acc[k] += rgb[k] * nol;
        wsum += nol;
    }
    for (int k = 0; k < 3; k++) out[k] = acc[k] / wsum;
}

/* Largest relative error of prefiltered texels (a fixed set per level, edges and corners
 * included) against the Monte Carlo integral, per level into worst[levels]; truncated: the
 * integral is restricted to the official 99% cone. */
static void prefilter_vs_monte_carlo(facet_prefilter_mode mode, int truncated, double worst[8],
                                     int *levels) {
    const int w = 256, h = 128;
    float *rgb = synthetic_sky(w, h);
    facet_envmap_view env = {rgb, w, h, FACET_ENV_BLENDER, 1, 0, 1};
    facet_lighting_options options = {mode, 128, 256, FACET_QUALITY_SAMPLED, 0};
    facet_lighting lighting;
    cr_assert_eq(facet_lighting_build(&lighting, &env, &options, FACET_DEVICE_CPU), FACET_OK, "%s",
                 facet_last_error());
    /* the parity lighting filters the map clamped to [0, 1]: integrate that one */
    if (mode == FACET_PREFILTER_PARITY)
        for (int i = 0; i < w * h * 3; i++) rgb[i] = fminf(rgb[i], 1.0f);
    *levels = lighting.specular.levels;
    for (int l = 0; l < *levels; l++) {
        const int n = 128 >> l;
        const float r = facet_lighting_level_roughness(l, *levels);
        worst[l] = 0;
        for (int k = 0; k < 24; k++) {
            int f = k % 6, x = (k * 7) % n, y = (k * 13 + 3) % n;
            if (k % 4 == 0) x = 0;     /* on an edge */
            if (k % 8 == 0) y = n - 1; /* in a corner */
            double ref[3];
            monte_carlo_lobe(&env, facet_cube_texel_dir(f, x, y, n), r,
                             truncated ? facet_ggx_cone_cutoff(r, 0.99) : -1.0, 1 << 15, ref);
            const float *t = lighting.specular.level[l] + facet_cube_texel_offset(n, f, x, y);
            for (int c = 0; c < 3; c++) worst[l] = fmax(worst[l], fabs(t[c] - ref[c]) / ref[c]);
        }
    }
    facet_lighting_free(&lighting);
    free(rgb);
}

Test(prefilter, parity_levels_match_a_monte_carlo_integral_over_the_official_cone) {
    /* The same integral restricted to the 99% cone: differences come from the box-filtered source
     * level and the official texel-area approximation. Measured (128^2 base, map clamped to
     * [0, 1]): 0.03%, 0.7%, 1.9%, 1.5% per level. */
    double worst[8];
    int levels;
    prefilter_vs_monte_carlo(FACET_PREFILTER_PARITY, 1, worst, &levels);
    cr_assert_eq(levels, 4);
    for (int l = 0; l < levels; l++) {
        cr_log_info("parity level %d: max relative error vs cone-truncated MC %.4f", l, worst[l]);
        cr_assert_lt(worst[l], 0.025, "level %d: %g", l, worst[l]);
    }
}

Test(prefilter, parity_cone_truncation_narrows_the_lobe) {
    /* The official cone holds 99% of the integral of D over theta (no sin(theta) weight), which
     * is much less than 99% of the lobe's weight: against the full GGX lobe the parity levels
     * differ by up to 6% (measured: 0.4%, 6.2%, 3.7%, 1.5%). */
    double worst[8];
    int levels;
    prefilter_vs_monte_carlo(FACET_PREFILTER_PARITY, 0, worst, &levels);
    for (int l = 0; l < levels; l++) {
        cr_log_info("parity level %d: max relative error vs full-lobe MC %.4f", l, worst[l]);
        cr_assert_lt(worst[l], 0.08, "level %d: %g", l, worst[l]);
    }
}

Test(prefilter, quality_levels_match_a_monte_carlo_integral_of_the_ggx_lobe) {
    /* 256 samples per texel. Measured: 0.45%, 0.8%, 1.2%, 2.4% per level. */
    double worst[8];
    int levels;
    prefilter_vs_monte_carlo(FACET_PREFILTER_QUALITY, 0, worst, &levels);
    for (int l = 0; l < levels; l++) {
        cr_log_info("quality level %d: max relative error vs MC %.4f", l, worst[l]);
        cr_assert_lt(worst[l], 0.03, "level %d: %g", l, worst[l]);
    }
}

/* Direction k of `count` spread evenly on the unit sphere (a Fibonacci lattice) into d[3]. */
static void fibonacci_direction(int k, int count, double d[3]) {
    double z = 1 - 2 * (k + 0.5) / count, rho = sqrt(1 - z * z), phi = k * PI * (3 - sqrt(5.0));
    d[0] = rho * cos(phi);
    d[1] = rho * sin(phi);
    d[2] = z;
}

/* The centre direction l[3] of texel (row i, column j) of a W x H lat-long map in the blender
 * convention (u = 0.5 - atan2(y, x) / 2pi, v = acos z / pi); returns its exact solid angle. */
static double blender_texel(int i, int j, int W, int H, double l[3]) {
    double t0 = PI * i / H, t1 = PI * (i + 1) / H, theta = 0.5 * (t0 + t1);
    double az = 2 * PI * (0.5 - (j + 0.5) / W);
    l[0] = sin(theta) * cos(az);
    l[1] = sin(theta) * sin(az);
    l[2] = cos(theta);
    return (2 * PI / W) * (cos(t0) - cos(t1));
}

/* Relative rms error, over 100 directions spread on the sphere, of the prefiltered specular
 * radiance at roughness r against the split-sum integral itself, summed over every texel of the
 * lat-long map with its solid angle: sum L(l) (l.R) D(h.R) dw / sum (l.R) D(h.R) dw. */
static double specular_error(const facet_lighting *lighting, const facet_envmap_view *env,
                             double r) {
    const int W = env->width, H = env->height, count = 100;
    const double a2 = pow(r, 4);
    double se = 0.0, sref = 0.0;
#pragma omp parallel for reduction(+ : se, sref)
    for (int k = 0; k < count; k++) {
        double R[3], acc[3] = {0, 0, 0}, wsum = 0;
        fibonacci_direction(k, count, R);
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double l[3], dw = blender_texel(i, j, W, H, l);
                double lr = l[0] * R[0] + l[1] * R[1] + l[2] * R[2];
                if (lr <= 0) continue;
                double d = (1 + lr) / 2 * (a2 - 1) + 1, w = lr * dw / (d * d);
                const float *c = env->rgb + 3 * ((size_t)i * W + j);
                for (int q = 0; q < 3; q++) acc[q] += w * c[q];
                wsum += w;
            }
        float got[3];
        facet_splitsum_specular_light(
            &lighting->view, facet_v3((float)R[0], (float)R[1], (float)R[2]), (float)r, got);
        for (int q = 0; q < 3; q++) {
            double ref = acc[q] / wsum;
            se += (got[q] - ref) * (got[q] - ref);
            sref += ref * ref;
        }
    }
    return sqrt(se / sref);
}

/* Blender's interior.exr (Debian blender-data) into env, blender convention; skips the test
 * when the package is not installed. */
static void load_interior_or_skip(facet_envmap *env) {
    const char *hdri = "/usr/share/blender/datafiles/studiolights/world/interior.exr";
    if (!facet_is_file(hdri)) cr_skip_test("%s not installed (Debian blender-data)", hdri);
    cr_assert_eq(facet_envmap_load(env, hdri, FACET_ENV_BLENDER, 0.0f, 1.0f), FACET_OK, "%s",
                 facet_last_error());
}

Test(prefilter, exact_filter_is_closer_to_the_split_sum_integral_than_sampling) {
    /* Blender's interior.exr (blender-data): a window far brighter than the room, where sampled
     * lookups of box-filtered mips go wrong. Measured with the default 512^2 base cube: exact
     * 2.0%, 2.9%, 3.7%, 1.7%, 0.4% against sampled 6.9%, 14%, 14%, 10%, 14% at r = 0.12, 0.2,
     * 0.3, 0.5, 0.8 (the bounds are those with a margin); the rest is the base cube's resolution,
     * the ladder and the bilinear lookups between texel centres. */
    TEST_SKIP_UNDER_SANITIZER("two 512^2 quality cubes take ~110 s there; the exact filter runs in "
                              "sphere_vs_reference and prefilter/ring_row_blocks, the sampled one "
                              "in the Monte Carlo cases");
    facet_envmap env;
    load_interior_or_skip(&env);
    facet_lighting_options exact = {FACET_PREFILTER_QUALITY, 512, 0, FACET_QUALITY_EXACT, 0};
    facet_lighting_options sampled = {FACET_PREFILTER_QUALITY, 512, 64, FACET_QUALITY_SAMPLED, 0};
    facet_lighting le, ls;
    cr_assert_eq(facet_lighting_build(&le, &env.view, &exact, FACET_DEVICE_CPU), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(facet_lighting_build(&ls, &env.view, &sampled, FACET_DEVICE_CPU), FACET_OK);
    cr_assert_eq(le.specular.levels, 21, "the quality ladder");
    const double rs[] = {0.12, 0.2, 0.3, 0.5, 0.8}, bound[] = {0.025, 0.037, 0.045, 0.025, 0.008};
    for (int i = 0; i < 5; i++) {
        double e = specular_error(&le, &env.view, rs[i]), s = specular_error(&ls, &env.view, rs[i]);
        cr_log_info("r %.2f: exact %.4f, sampled %.4f", rs[i], e, s);
        cr_assert(isfinite(e) && e < bound[i], "r %g: exact filter off by %.4f", rs[i], e);
        cr_assert(e < s, "r %g: exact %.4f is not below sampled %.4f", rs[i], e, s);
    }
    facet_lighting_free(&le);
    facet_lighting_free(&ls);
    facet_envmap_free(&env);
}

Test(prefilter, exact_filter_levels_are_the_quality_ladder) {
    float roughness[FACET_CUBE_MAX_LEVELS];
    int sizes[FACET_CUBE_MAX_LEVELS];
    int n = facet_lighting_quality_levels(512, roughness, sizes);
    cr_assert_eq(n, 21);
    cr_assert_float_eq(roughness[0], 0.0f, 0);
    cr_assert_eq(sizes[0], 512, "the mirror at the base size");
    cr_assert_float_eq(roughness[n - 1], 1.0f, 0);
    for (int i = 1; i < n; i++) {
        cr_assert(roughness[i] > roughness[i - 1]);
        cr_assert(sizes[i] <= 256 && sizes[i] >= 16 && sizes[i] <= sizes[i - 1]);
    }
    /* the lookup: linear in roughness between neighbours, clamped at the ends */
    cr_assert_float_eq(facet_splitsum_ladder_lod(roughness, n, 0.0f), 0.0f, 0);
    cr_assert_float_eq(facet_splitsum_ladder_lod(roughness, n, 0.0625f), 1.5f, 1e-5);
    cr_assert_float_eq(facet_splitsum_ladder_lod(roughness, n, 1.0f), (float)(n - 1), 1e-6);
    cr_assert_float_eq(facet_splitsum_ladder_lod(roughness, n, 2.0f), (float)(n - 1), 1e-6);
    /* ring plans reach 90 degrees and read no level finer than the base */
    facet_prefilter_level p;
    for (int i = 1; i < n; i++) {
        facet_lighting_quality_plan(roughness[i], 512, &p);
        cr_assert(p.ring_count >= 1 && p.ring_count <= FACET_PREFILTER_MAX_RINGS);
        cr_assert_float_eq(p.rings[p.ring_count - 1].cos_outer, 0.0f, 0, "ends at the horizon");
        for (int k = 0; k < p.ring_count; k++) cr_assert(p.rings[k].level >= 0);
    }
}

/* Relative rms error over `count` Fibonacci normals of an irradiance cube (padded, face size n)
 * against the brute-force sum over every texel of the lat-long map (blender convention),
 * E(n) / pi = 1/pi sum_t L_t max(n.l_t, 0) dw_t with exact texel solid angles. */
static double irradiance_error(const float *cube, int n, const facet_envmap_view *env, int count) {
    const int W = env->width, H = env->height;
    double se = 0, sref = 0;
#pragma omp parallel for reduction(+ : se, sref)
    for (int k = 0; k < count; k++) {
        double N[3], acc[3] = {0, 0, 0};
        fibonacci_direction(k, count, N);
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double l[3], dw = blender_texel(i, j, W, H, l);
                double c = l[0] * N[0] + l[1] * N[1] + l[2] * N[2];
                if (c <= 0) continue;
                const float *t = env->rgb + 3 * ((size_t)i * W + j);
                for (int q = 0; q < 3; q++) acc[q] += t[q] * c * dw / PI;
            }
        float u = 0.0f, v = 0.0f, got[3] = {0.0f, 0.0f, 0.0f};
        int face = facet_cube_face_uv(facet_v3((float)N[0], (float)N[1], (float)N[2]), &u, &v);
        if (face >= 0) facet_cube_bilinear(cube, n, face, u, v, got);
        for (int q = 0; q < 3; q++) {
            se += (got[q] - acc[q]) * (got[q] - acc[q]);
            sref += acc[q] * acc[q];
        }
    }
    return sqrt(se / sref);
}

Test(prefilter, quality_irradiance_places_a_window_within_a_degree) {
    /* interior.exr's window and lamps: the quality convolution of the 64^2 box level into 32^2
     * against the brute-force sum over the map's 1024 x 512 texels. Measured: quality 0.38%;
     * the same exact-area convolution of the 16^2 level into 16^2 (the official sizes) 2.1%, its
     * texels (5.6 degrees) moving the window. */
    facet_envmap env;
    load_interior_or_skip(&env);
    facet_lighting_options options = {FACET_PREFILTER_QUALITY, 512, 1, FACET_QUALITY_SAMPLED, 0};
    facet_lighting lighting;
    cr_assert_eq(facet_lighting_build(&lighting, &env.view, &options, FACET_DEVICE_CPU), FACET_OK,
                 "%s", facet_last_error());
    cr_assert_eq(lighting.view.diffuse_size, FACET_LIGHTING_QUALITY_DIFFUSE_SIZE);
    double quality =
        irradiance_error(lighting.view.diffuse, lighting.view.diffuse_size, &env.view, 96);
    /* the official sizes with exact areas, from the same box chain */
    facet_cube chain;
    cr_assert_eq(facet_cube_alloc(&chain, 512, 10), FACET_OK);
    cr_assert_eq(facet_cube_from_envmap(&chain, &env.view, 0), FACET_OK);
    const int n = FACET_LIGHTING_DIFFUSE_SIZE;
    float weight[FACET_LIGHTING_DIFFUSE_SIZE * FACET_LIGHTING_DIFFUSE_SIZE];
    facet_cube_texel_weights(n, 1, weight);
    facet_irradiance_source coarse = {.level = chain.level[5], .weight = weight, .size = n};
    float *out = malloc(facet_cube_level_floats(n) * sizeof *out);
    cr_assert(out);
    facet_irradiance_cpu(&coarse, n, out);
    double official_sizes = irradiance_error(out, n, &env.view, 96);
    cr_log_info("irradiance: quality %.4f, 16^2 from 16^2 %.4f", quality, official_sizes);
    cr_assert(isfinite(quality) && quality < 0.006, "quality irradiance off by %.4f", quality);
    cr_assert(quality < 0.3 * official_sizes, "quality %.4f against 16^2 %.4f", quality,
              official_sizes);
    free(out);
    facet_cube_free(&chain);
    facet_lighting_free(&lighting);
    facet_envmap_free(&env);
}

/* E_d of a constant sky of radiance 1 in `mode`, along the normal n. */
static float uniform_sky_irradiance(facet_prefilter_mode mode, facet_vec3 n) {
    float one[3 * 8 * 4];
    for (int i = 0; i < 3 * 8 * 4; i++) one[i] = 1.0f;
    facet_envmap_view env = {one, 8, 4, FACET_ENV_BLENDER, 1, 0, 1};
    facet_lighting_options options = {mode, 64, 16, FACET_QUALITY_SAMPLED, 0};
    facet_lighting lighting;
    cr_assert_eq(facet_lighting_build(&lighting, &env, &options, FACET_DEVICE_CPU), FACET_OK);
    float rgb[3];
    facet_splitsum_diffuse_light(&lighting.view, n, rgb);
    float spec[3];
    facet_splitsum_specular_light(&lighting.view, facet_v3(0, 1, 0), 0.7f, spec);
    cr_assert_float_eq(spec[1], 1.0f, 1e-5, "a filter of a constant is the constant");
    facet_lighting_free(&lighting);
    return rgb[0];
}

Test(prefilter, quality_irradiance_of_a_uniform_sky_is_its_radiance) {
    /* exact texel solid angles and no cap on the cosine: 1 up to the texels cut by the horizon */
    facet_vec3 n = facet_v3_normalize(facet_v3(0.3f, -0.2f, 0.9f));
    float e = uniform_sky_irradiance(FACET_PREFILTER_QUALITY, n);
    cr_log_info("uniform sky: E_d = %.6f", e);
    cr_assert_float_eq(e, 1.0f, 1e-4);
}

Test(prefilter, parity_irradiance_keeps_the_official_texel_area_rule) {
    /* nvdiffrec's pixel_area sums to 13.59 sr over the cube (4 pi = 12.57): E_d of a constant
     * sky is 5 to 10% high, as in the official code */
    facet_vec3 n = facet_v3_normalize(facet_v3(0.3f, -0.2f, 0.9f));
    float e = uniform_sky_irradiance(FACET_PREFILTER_PARITY, n);
    cr_assert(e > 1.04f && e < 1.11f, "E_d = %g", e);
}

Test(prefilter, rejects_bad_options) {
    float one[3] = {1, 1, 1};
    facet_envmap_view env = {one, 1, 1, FACET_ENV_BLENDER, 1, 0, 1};
    facet_lighting_options options = {FACET_PREFILTER_QUALITY, 100, 0, FACET_QUALITY_SAMPLED, 0};
    facet_lighting lighting;
    cr_assert_eq(facet_lighting_build(&lighting, &env, &options, FACET_DEVICE_CPU),
                 FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "cube face size 100"), "%s", facet_last_error());
}

/* ---- split-sum shading ----------------------------------------------------------------------- */

Test(splitsum, uniform_environment_gives_albedo_plus_dfg_reflectance) {
    /* L = (1 - m) a c + (F0 A + B) c under a constant environment c */
    const float c[3] = {0.5f, 1.0f, 2.0f};
    facet_lighting lighting;
    facet_lighting_options options = {FACET_PREFILTER_QUALITY, 64, 0, FACET_QUALITY_SAMPLED, 0};
    cr_assert_eq(facet_lighting_build_uniform(&lighting, c, &options), FACET_OK);
    facet_material m = {{0.8f, 0.4f, 0.2f}, 0.35f, 0.25f};
    facet_vec3 n = facet_v3(0, 0, 1), wi = facet_v3_normalize(facet_v3(0.6f, 0, 0.8f));
    float rgb[3], a, b;
    facet_splitsum_shade(&lighting.view, n, wi, &m, rgb);
    facet_dfg_lookup(facet_dfg_lut(), 0.8f, 0.35f, &a, &b);
    for (int k = 0; k < 3; k++) {
        float f0 = 0.04f * 0.75f + 0.25f * m.base_color[k];
        cr_assert_float_eq(rgb[k], (0.75f * m.base_color[k] + f0 * a + b) * c[k], 1e-5);
    }
    facet_lighting_free(&lighting);
}

/* ---- analytic SDFs and sphere tracing -------------------------------------------------------- */

static facet_sdf_shape shape_of(facet_sdf_type type, facet_vec3 a, facet_vec3 b, float r0,
                                float r1) {
    facet_sdf_shape s = {type, a, b, r0, r1};
    return s;
}

Test(sdf, shape_distances_are_exact) {
    facet_vec3 o = facet_v3(0, 0, 0);
    facet_sdf_shape sphere = shape_of(FACET_SDF_SPHERE, facet_v3(1, 0, 0), o, 0.5f, 0);
    cr_assert_float_eq(facet_sdf_shape_distance(&sphere, facet_v3(3, 0, 0)), 1.5f, 1e-6);
    facet_sdf_shape box = shape_of(FACET_SDF_BOX, o, facet_v3(1, 2, 3), 0, 0);
    cr_assert_float_eq(facet_sdf_shape_distance(&box, facet_v3(4, 6, 0)), 5.0f, 1e-6);
    cr_assert_float_eq(facet_sdf_shape_distance(&box, facet_v3(0.5f, 0, 0)), -0.5f, 1e-6);
    facet_sdf_shape torus = shape_of(FACET_SDF_TORUS, o, facet_v3(0, 0, 1), 2.0f, 0.5f);
    cr_assert_float_eq(facet_sdf_shape_distance(&torus, facet_v3(0, 2, 1)), 0.5f, 1e-6);
    cr_assert_float_eq(facet_sdf_shape_distance(&torus, o), 1.5f, 1e-6);
    facet_sdf_shape plane = shape_of(FACET_SDF_PLANE, facet_v3(0, 0, 1), o, -1.0f, 0);
    cr_assert_float_eq(facet_sdf_shape_distance(&plane, facet_v3(5, 5, 2)), 3.0f, 1e-6);
    facet_sdf_shape capsule = shape_of(FACET_SDF_CAPSULE, o, facet_v3(0, 0, 2), 0.25f, 0);
    cr_assert_float_eq(facet_sdf_shape_distance(&capsule, facet_v3(1, 0, 1)), 0.75f, 1e-6);
    cr_assert_float_eq(facet_sdf_shape_distance(&capsule, facet_v3(0, 0, 3)), 0.75f, 1e-6);
}

static facet_sdf_object object_of(const facet_sdf_shape *shapes, int count, float rx, float ry,
                                  float rz, facet_vec3 t, float scale) {
    facet_sdf_object o;
    memset(&o, 0, sizeof o);
    o.count = count;
    for (int i = 0; i < count; i++) o.shapes[i] = shapes[i];
    const float rot[3] = {rx, ry, rz}, tr[3] = {t.x, t.y, t.z};
    facet_sdf_object_place(&o, rot, tr, scale);
    return o;
}

Test(sdf, analytic_normals_agree_with_central_differences) {
    const facet_sdf_shape shapes[5] = {
        shape_of(FACET_SDF_SPHERE, facet_v3(0, 0, 0), facet_v3(0, 0, 0), 1.0f, 0),
        shape_of(FACET_SDF_BOX, facet_v3(3, 0, 0), facet_v3(0.5f, 0.7f, 0.9f), 0, 0),
        shape_of(FACET_SDF_TORUS, facet_v3(0, 3, 0), facet_v3_normalize(facet_v3(1, 1, 0)), 1.0f,
                 0.3f),
        shape_of(FACET_SDF_PLANE, facet_v3_normalize(facet_v3(0, 1, 2)), facet_v3(0, 0, 0), -4.0f,
                 0),
        shape_of(FACET_SDF_CAPSULE, facet_v3(-3, 0, 0), facet_v3(-3, 1, 1), 0.4f, 0)};
    facet_rng rng = facet_rng_seed(3, 9);
    for (int s = 0; s < 5; s++) {
        facet_sdf_object o = object_of(&shapes[s], 1, 20, -35, 50, facet_v3(0.5f, -1, 2), 1.7f);
        for (int i = 0; i < 200; i++) {
            facet_vec3 p =
                facet_v3(8 * facet_rng_uniform(&rng) - 4, 8 * facet_rng_uniform(&rng) - 4,
                         8 * facet_rng_uniform(&rng) - 4);
            /* step onto the surface along the gradient, then compare there */
            for (int k = 0; k < 8; k++)
                p = facet_v3_sub(p, facet_v3_scale(facet_sdf_object_normal_central(&o, p, 1e-3f),
                                                   facet_sdf_object_distance(&o, p, NULL)));
            facet_vec3 a = facet_sdf_object_normal(&o, p);
            facet_vec3 c = facet_sdf_object_normal_central(&o, p, 1e-3f);
            /* box edges: the gradient is undefined there, skip points within 2 epsilon */
            if (facet_v3_dot(a, c) < 0.999f && s == 1) continue;
            cr_assert_gt(facet_v3_dot(a, c), 0.999f, "shape %d point %d", s, i);
        }
    }
}

Test(sdf, transform_scales_distances_and_moves_the_shape) {
    facet_sdf_shape sphere = shape_of(FACET_SDF_SPHERE, facet_v3(1, 0, 0), facet_v3(0, 0, 0), 1, 0);
    /* rotate 90 deg about z (local +x -> world +y), scale 2, move by (0, 0, 5) */
    facet_sdf_object o = object_of(&sphere, 1, 0, 0, 90, facet_v3(0, 0, 5), 2.0f);
    cr_assert_float_eq(facet_sdf_object_distance(&o, facet_v3(0, 2, 5), NULL), -2.0f, 1e-5);
    cr_assert_float_eq(facet_sdf_object_distance(&o, facet_v3(0, 7, 5), NULL), 3.0f, 1e-5);
    cr_assert_float_eq(o.bound_center.y, 2.0f, 1e-5);
    cr_assert_float_eq(o.bound_radius, 2.0f, 1e-5);
}

Test(sdf, union_is_the_nearest_shape) {
    const facet_sdf_shape shapes[2] = {
        shape_of(FACET_SDF_SPHERE, facet_v3(-2, 0, 0), facet_v3(0, 0, 0), 1, 0),
        shape_of(FACET_SDF_SPHERE, facet_v3(2, 0, 0), facet_v3(0, 0, 0), 0.5f, 0)};
    facet_sdf_object o = object_of(shapes, 2, 0, 0, 0, facet_v3(0, 0, 0), 1);
    int closest;
    cr_assert_float_eq(facet_sdf_object_distance(&o, facet_v3(3, 0, 0), &closest), 0.5f, 1e-6);
    cr_assert_eq(closest, 1);
    /* from x = -3 to x = 2.5 */
    cr_assert_float_eq(o.bound_radius, 2.75f, 1e-5, "one sphere holds both");
    cr_assert_float_eq(o.bound_center.x, -0.25f, 1e-5);
}

Test(sdf, sphere_tracing_finds_the_first_surface) {
    facet_sdf_shape sphere = shape_of(FACET_SDF_SPHERE, facet_v3(0, 0, 0), facet_v3(0, 0, 0), 1, 0);
    facet_sdf_object o = object_of(&sphere, 1, 0, 0, 0, facet_v3(0, 5, 0), 1);
    facet_trace_params params = {100.0f, 256, 1e-5f};
    float t;
    cr_assert(facet_sphere_trace(&o, facet_v3(0, 0, 0), facet_v3(0, 1, 0), &params, &t));
    cr_assert_float_eq(t, 4.0f, 1e-3);
    cr_assert_not(facet_sphere_trace(&o, facet_v3(0, 0, 0), facet_v3(1, 0, 0), &params, &t));
    cr_assert_not(facet_sphere_trace(&o, facet_v3(0, 0, 0), facet_v3(0, -1, 0), &params, &t),
                  "behind the camera");
    facet_sdf_shape plane = shape_of(FACET_SDF_PLANE, facet_v3(0, 0, 1), facet_v3(0, 0, 0), 0, 0);
    facet_sdf_object ground = object_of(&plane, 1, 0, 0, 0, facet_v3(0, 0, 0), 1);
    cr_assert_lt(ground.bound_radius, 0.0f, "a plane is unbounded");
    facet_vec3 d = facet_v3_normalize(facet_v3(0, 1, -0.2f));
    cr_assert(facet_sphere_trace(&ground, facet_v3(0, 0, 1), d, &params, &t));
    cr_assert_float_eq(t, 1.0f / 0.2f * facet_v3_length(facet_v3(0, 1, -0.2f)), 1e-2);
}

/* ---- the sdf node ---------------------------------------------------------------------------- */

static void expect_node_error(const char *node_json, const char *fragment) {
    facet_register_builtin_node_kinds();
    char json[2048];
    snprintf(json, sizeof json, "{\"version\": 1, \"nodes\": [%s]}", node_json);
    const char *path = test_write_file(test_scratch_dir("sdf_errors"), "scene.json", json, 0);
    facet_scene scene;
    cr_assert_neq(facet_scene_load(&scene, path), FACET_OK, "accepted: %s", node_json);
    cr_assert(strstr(facet_last_error(), fragment), "message '%s' lacks '%s'", facet_last_error(),
              fragment);
    cr_assert(strstr(facet_last_error(), "scene.json"), "%s", facet_last_error());
}

Test(sdf_node, rejects_an_unknown_shape) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"cube\": {\"size\": 1}}}",
                      "key 'nodes[0].shape.cube': unknown shape 'cube'");
}
Test(sdf_node, rejects_a_missing_shape) {
    expect_node_error("{\"type\": \"sdf\"}", "key 'nodes[0].shape': missing");
}
Test(sdf_node, rejects_two_shapes_in_one_object) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}, \"box\": "
                      "{\"half_size\": [1, 1, 1]}}}",
                      "expected exactly one of sphere, box, torus, plane, capsule");
}
Test(sdf_node, rejects_a_non_positive_radius) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": [{\"sphere\": {\"radius\": 1}}, "
                      "{\"capsule\": {\"a\": [0,0,0], \"b\": [0,0,1], \"radius\": -1}}]}",
                      "key 'nodes[0].shape[1].capsule.radius': expected a positive number");
}
Test(sdf_node, rejects_unknown_shape_keys) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"torus\": {\"major\": 1, \"minor\": 0.2, "
                      "\"radius\": 3}}}",
                      "unknown key 'nodes[0].shape.torus.radius'");
}
Test(sdf_node, rejects_a_zero_plane_normal) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"plane\": {\"normal\": [0, 0, 0]}}}",
                      "key 'nodes[0].shape.plane.normal': the vector must not be zero");
}
Test(sdf_node, rejects_roughness_outside_the_unit_interval) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}, "
                      "\"material\": {\"roughness\": 1.5}}",
                      "key 'nodes[0].material.roughness': expected a number in [0, 1], got 1.5");
}
Test(sdf_node, rejects_an_unknown_lighting_mode) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}, "
                      "\"lighting\": \"fast\"}",
                      "unknown lighting mode 'fast' (expected quality, parity or reference)");
}
Test(sdf_node, rejects_a_lighting_size_that_is_not_a_power_of_two) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}, "
                      "\"lighting\": {\"mode\": \"parity\", \"size\": 100}}",
                      "key 'nodes[0].lighting.size': expected a power of two in [64, 4096]");
}
Test(sdf_node, rejects_unknown_normals) {
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}, "
                      "\"normals\": \"forward\"}",
                      "key 'nodes[0].normals': expected \"analytic\" or \"central\"");
}

/* A camera at `eye` looking at `target` with +z up (NeRF/Blender: looks along local -z). */
static facet_camera look_at(facet_vec3 eye, facet_vec3 target, float fov, int w, int h) {
    facet_vec3 f = facet_v3_normalize(facet_v3_sub(target, eye));
    facet_vec3 r = facet_v3_normalize(facet_v3_cross(f, facet_v3(0, 0, 1)));
    facet_vec3 u = facet_v3_cross(r, f);
    facet_mat4 c2w = {
        {r.x, u.x, -f.x, eye.x, r.y, u.y, -f.y, eye.y, r.z, u.z, -f.z, eye.z, 0, 0, 0, 1}};
    return facet_camera_from_fov(c2w, fov, w, h);
}

static void load_scene(facet_scene *scene, const char *dir, const char *json) {
    facet_register_builtin_node_kinds();
    const char *path = test_write_file(dir, "scene.json", json, 0);
    cr_assert_eq(facet_scene_load(scene, path), FACET_OK, "%s", facet_last_error());
}

Test(sdf_node, hits_are_opaque_and_misses_show_the_background) {
    facet_scene scene;
    load_scene(&scene, test_scratch_dir("sdf_background"),
               "{\"version\": 1, \"background\": [0.1, 0.2, 0.3], \"nodes\": [{\"type\": \"sdf\", "
               "\"shape\": {\"sphere\": {\"radius\": 1}}, \"lighting\": {\"size\": 64}, "
               "\"material\": {\"base_color\": [1, 1, 1], \"roughness\": 1}}]}");
    facet_camera cam = look_at(facet_v3(0, -4, 0), facet_v3(0, 0, 0), 0.8f, 16, 16);
    facet_image img;
    cr_assert_eq(facet_render_image(&scene, &cam, NULL, &img), FACET_OK, "%s", facet_last_error());
    const float *corner = img.data, *centre = img.data + (8 * 16 + 8) * 4;
    cr_assert_float_eq(corner[3], 0.0f, 0);
    cr_assert_float_eq(corner[2], 0.3f, 1e-6);
    cr_assert_float_eq(centre[3], 1.0f, 0);
    /* white rough dielectric under a uniform sky of the background colour (no map):
     * L = a c + (0.04 A + B) c > c */
    cr_assert_gt(centre[2], 0.3f);
    cr_assert_lt(centre[2], 0.3f * 1.2f);
    facet_image_free(&img);
    facet_scene_free(&scene);
}

Test(sdf_node, reports_the_hit_distance_as_depth) {
    facet_sdf_ray_params p;
    memset(&p, 0, sizeof p);
    facet_sdf_shape sphere = shape_of(FACET_SDF_SPHERE, facet_v3(0, 0, 0), facet_v3(0, 0, 0), 1, 0);
    p.object = object_of(&sphere, 1, 0, 0, 0, facet_v3(0, 3, 0), 1);
    p.material.roughness = 0.5f;
    p.trace.t_max = 100;
    p.trace.max_steps = 128;
    p.trace.epsilon = 1e-5f;
    const float c[3] = {1, 1, 1};
    facet_lighting lighting;
    facet_lighting_options options = {FACET_PREFILTER_QUALITY, 64, 0, FACET_QUALITY_SAMPLED, 0};
    cr_assert_eq(facet_lighting_build_uniform(&lighting, c, &options), FACET_OK);
    facet_ray_result r;
    facet_sdf_render_ray(&p, &lighting.view, facet_v3(0, 0, 0), facet_v3(0, 1, 0), &r);
    cr_assert_float_eq(r.depth, 2.0f, 1e-4);
    cr_assert_eq(r.alpha, 1.0f);
    facet_sdf_render_ray(&p, &lighting.view, facet_v3(0, 0, 0), facet_v3(0, 0, 1), &r);
    cr_assert(isinf(r.depth) && r.alpha == 0.0f && r.rgb[0] == 0.0f);
    facet_lighting_free(&lighting);
}

Test(sdf_node, nodes_lit_by_one_environment_share_its_lighting) {
    facet_scene scene;
    char json[1024];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"environment\": {\"map\": \"%s\"}, \"nodes\": ["
             "{\"type\": \"sdf\", \"name\": \"a\", \"shape\": {\"sphere\": {\"radius\": 1}}, "
             "\"lighting\": {\"size\": 64}},"
             "{\"type\": \"sdf\", \"name\": \"b\", \"shape\": {\"sphere\": {\"radius\": 2}}, "
             "\"lighting\": {\"size\": 64}}]}",
             test_source_path("assets/demo/forest.exr"));
    load_scene(&scene, test_scratch_dir("sdf_share"), json);
    facet_lighting *a = NULL, *b = NULL;
    facet_lighting_options options = {FACET_PREFILTER_QUALITY, 64, 0, FACET_QUALITY_SAMPLED, 0};
    cr_assert_eq(facet_lighting_sync(&a, &scene, &options, FACET_DEVICE_CPU), FACET_OK);
    cr_assert_eq(facet_lighting_sync(&b, &scene, &options, FACET_DEVICE_CPU), FACET_OK);
    cr_assert_eq(a, b, "one build for both");
    /* turning the map keeps the lighting: the lookups turn instead */
    cr_assert_eq(facet_lighting_turn(&scene).turned, 0);
    facet_envmap_set_rotation(&scene.environment, 90.0f);
    facet_lighting *before = a;
    unsigned long long serial = a->serial;
    cr_assert_eq(facet_lighting_sync(&a, &scene, &options, FACET_DEVICE_CPU), FACET_OK);
    cr_assert(a == before && a->serial == serial, "no new build for a turned map");
    const facet_env_turn turn = facet_lighting_turn(&scene);
    cr_assert(turn.turned && turn.convention == FACET_ENV_BLENDER);
    cr_assert_eq(turn.cos, scene.environment.view.rotation_cos);
    cr_assert_eq(turn.sin, scene.environment.view.rotation_sin);
    cr_assert_eq(a->view.turn.turned, 0, "the shared lighting itself is unturned");
    /* a new map is a new lighting */
    facet_envmap_set_rotation(&scene.environment, 0.0f);
    scene.environment.view.strength = 2.0f;
    cr_assert_eq(facet_lighting_sync(&a, &scene, &options, FACET_DEVICE_CPU), FACET_OK);
    cr_assert(a != b, "another strength, another lighting");
    facet_lighting_release(a);
    facet_lighting_release(b);
    facet_scene_free(&scene);
}

/* ---- split-sum sphere vs a brute-force reference ----------------------------------------------
 *
 * Five metallic spheres (base colour 0.9, roughness 0.1 .. 1) and one rough dielectric, each
 * rendered by the sdf node and by a reference integrator of the same BRDF
 *     f = (1 - m) a / pi + D G F / (4 NoL NoV),  F = F0 + (1 - F0) (1 - VoH)^5,
 *     G height-correlated Smith, D GGX, alpha = r^2,
 * under forest.exr (Blender's HDRI, box-downsampled to 256 x 128 so that the reference can sum
 * over every texel: each texel is a light of its solid angle). The reference sums the whole map
 * for the diffuse term and for specular lobes with r >= 0.2; below, it importance-samples the
 * GGX lobe (the map is smooth at that lobe's scale). */

enum { REF_W = 256, REF_H = 128 };

/* forest.exr box-downsampled 4 x 4 to REF_W x REF_H, written as an EXR; returns its pixels. */
static float *reference_map(const char *dir, char *path, size_t size) {
    facet_image full, small;
    cr_assert_eq(facet_image_read(&full, test_source_path("assets/demo/forest.exr"), 3), FACET_OK);
    const int f = full.width / REF_W;
    cr_assert_eq(facet_image_alloc(&small, REF_W, REF_H, 3), FACET_OK);
    for (int i = 0; i < REF_H; i++)
        for (int j = 0; j < REF_W; j++)
            for (int c = 0; c < 3; c++) {
                double s = 0;
                for (int a = 0; a < f; a++)
                    for (int b = 0; b < f; b++)
                        s += full.data[((size_t)(i * f + a) * full.width + j * f + b) * 3 + c];
                small.data[((size_t)i * REF_W + j) * 3 + c] = (float)(s / (f * f));
            }
    snprintf(path, size, "%s/sky.exr", dir);
    cr_assert_eq(facet_image_write_exr(&small, path, 0), FACET_OK);
    float *rgb = small.data;
    small.data = NULL;
    facet_image_free(&full);
    return rgb;
}

static double smith_lambda(double a2, double c) {
    return 0.5 * (-1 + sqrt(1 + a2 * (1 - c * c) / (c * c)));
}

/* Specular BRDF times NoL for unit n, v, l (0 below either horizon). */
static double specular_cos(double a2, double f0, facet_vec3 n, facet_vec3 v, facet_vec3 l) {
    double nol = facet_v3_dot(n, l), nov = facet_v3_dot(n, v);
    if (nol <= 0 || nov <= 0) return 0;
    facet_vec3 h = facet_v3_normalize(facet_v3_add(v, l));
    double noh = facet_v3_dot(n, h), voh = facet_v3_dot(v, h);
    double d = (noh * noh * (a2 - 1) + 1);
    double D = a2 / (PI * d * d);
    double G = 1 / (1 + smith_lambda(a2, nov) + smith_lambda(a2, nol));
    double c = 1 - voh, c2 = c * c;
    double F = f0 + (1 - f0) * c2 * c2 * c;
    return D * G * F / (4 * nov);
}

/* The reference map's texels as lights: centre direction (blender convention) and solid angle
 * (2 pi / W) (pi / H) sin(theta). */
typedef struct texel_light {
    facet_vec3 l;
    double omega;
} texel_light;

static texel_light *texel_lights(void) {
    texel_light *t = malloc((size_t)REF_W * REF_H * sizeof *t);
    for (int i = 0; i < REF_H; i++) {
        double theta = PI * (i + 0.5) / REF_H;
        for (int j = 0; j < REF_W; j++) {
            double phi = 2 * PI * (0.5 - (j + 0.5) / REF_W);
            t[i * REF_W + j].l = facet_v3((float)(sin(theta) * cos(phi)),
                                          (float)(sin(theta) * sin(phi)), (float)cos(theta));
            t[i * REF_W + j].omega = (2 * PI / REF_W) * (PI / REF_H) * sin(theta);
        }
    }
    return t;
}

/* Reference outgoing radiance at normal n towards v (unit, towards the camera). */
static void reference_shade(const float *map, const texel_light *lights,
                            const facet_envmap_view *env, facet_vec3 n, facet_vec3 v,
                            const facet_material *m, int pixel, double out[3]) {
    const double a2 = pow(m->roughness, 4.0);
    double diffuse[3] = {0, 0, 0}, specular[3] = {0, 0, 0};
    const int sum_specular = m->roughness >= 0.2f;
    for (int i = 0; i < REF_H; i++) {
        for (int j = 0; j < REF_W; j++) {
            const facet_vec3 l = lights[i * REF_W + j].l;
            const double omega = lights[i * REF_W + j].omega;
            double nol = facet_v3_dot(n, l);
            if (nol <= 0) continue;
            const float *L = map + ((size_t)i * REF_W + j) * 3;
            for (int k = 0; k < 3; k++) {
                diffuse[k] += L[k] * nol * omega / PI;
                if (sum_specular) {
                    double f0 = 0.04 * (1 - m->metallic) + m->metallic * m->base_color[k];
                    specular[k] += L[k] * specular_cos(a2, f0, n, v, l) * omega;
                }
            }
        }
    }
    if (!sum_specular) {
        /* GGX half-vectors: estimator F G VoH / (NoH NoV) L(l) */
        enum { SAMPLES = 4096 };
        facet_vec3 t, b;
        facet_basis(n, &t, &b);
        facet_rng rng = facet_rng_seed(5, (uint64_t)pixel);
        const double nov = facet_v3_dot(n, v);
        for (int s = 0; s < SAMPLES; s++) {
            double u1 = (s + facet_rng_uniform(&rng)) / SAMPLES, u2 = facet_rng_uniform(&rng);
            double ct = sqrt((1 - u1) / (1 + (a2 - 1) * u1)), st = sqrt(1 - ct * ct);
            facet_vec3 h =
                facet_v3_add(facet_v3_add(facet_v3_scale(t, (float)(st * cos(2 * PI * u2))),
                                          facet_v3_scale(b, (float)(st * sin(2 * PI * u2)))),
                             facet_v3_scale(n, (float)ct));
            double voh = facet_v3_dot(v, h);
            facet_vec3 l = facet_v3_sub(facet_v3_scale(h, (float)(2 * voh)), v);
            double nol = facet_v3_dot(n, l);
            if (nol <= 0 || voh <= 0) continue;
            double G = 1 / (1 + smith_lambda(a2, nov) + smith_lambda(a2, nol));
            float L[3];
            facet_envmap_radiance(env, l, L);
            for (int k = 0; k < 3; k++) {
                double f0 = 0.04 * (1 - m->metallic) + m->metallic * m->base_color[k];
                double F = f0 + (1 - f0) * pow(1 - voh, 5);
                specular[k] += F * G * voh / (ct * nov) * L[k] / SAMPLES;
            }
        }
    }
    for (int k = 0; k < 3; k++)
        out[k] = (1 - m->metallic) * m->base_color[k] * diffuse[k] + specular[k];
}

enum { SPHERES = 6, IMG = 40 };
static const facet_material sphere_materials[SPHERES] = {
    {{0.9f, 0.9f, 0.9f}, 0.1f, 1.0f}, {{0.9f, 0.9f, 0.9f}, 0.25f, 1.0f},
    {{0.9f, 0.9f, 0.9f}, 0.5f, 1.0f}, {{0.9f, 0.9f, 0.9f}, 0.75f, 1.0f},
    {{0.9f, 0.9f, 0.9f}, 1.0f, 1.0f}, {{0.8f, 0.5f, 0.3f}, 0.6f, 0.0f}};

/* How a render of sphere s compares with the brute-force reference, over the sphere's pixels away
 * from the silhouette: PSNR (sRGB, clamped), and the mean linear radiance of the render and of the
 * reference with the standard error of their difference (for the unbiasedness check of the Monte
 * Carlo reference mode). */
typedef struct sphere_comparison {
    double psnr;
    double mean_render, mean_reference, stderr_difference;
} sphere_comparison;

/* lighting: the node's "lighting" value ("\"quality\"", or an object). */
/* ---- a turned map against the same map with its columns rolled ------------------------------
 *
 * Turning a map by +90 degrees about its up axis moves every feature a quarter turn in azimuth,
 * which in both conventions is W/4 columns towards lower u: the turned map M renders as the map
 * M'[i][j] = M[i][(j + W/4) mod W] unturned. The renderer reaches the two by different routes:
 * M' through the unturned lookups and a cube built from M', M through a cube built from M
 * (unturned) and lookups turned at shading time (the view's `turn`). A quarter turn maps the
 * cube's texel grid onto itself, so the two agree up to float rounding: cos(90 deg) is -4.4e-8 in
 * float, the lat-long lookups round u differently, and the prefilter sums the same texels in
 * another order, each of relative order 1e-6. 1e-4 of the image's peak bounds them with room and
 * fails for a turn of the wrong sign or one left out of either lookup. Quality mode: parity
 * keeps the official texel areas (facet_cube_area_factor), which are not symmetric about a face's
 * centre, so its lighting of the rolled map is not its lighting of the map turned (up to 5% apart
 * at 64^2); the turn itself is the same code in both modes. */
static void turned_vs_rolled(const char *convention, const char *lighting) {
    const char *dir = test_scratch_dir("turned_vs_rolled");
    char map_path[1024];
    float *map = reference_map(dir, map_path, sizeof map_path);
    facet_image rolled;
    cr_assert_eq(facet_image_alloc(&rolled, REF_W, REF_H, 3), FACET_OK);
    for (int i = 0; i < REF_H; i++)
        for (int j = 0; j < REF_W; j++)
            memcpy(rolled.data + ((size_t)i * REF_W + j) * 3,
                   map + ((size_t)i * REF_W + (j + REF_W / 4) % REF_W) * 3, 3 * sizeof(float));
    char rolled_path[1100];
    snprintf(rolled_path, sizeof rolled_path, "%s/rolled.exr", dir);
    cr_assert_eq(facet_image_write_exr(&rolled, rolled_path, 0), FACET_OK);
    facet_image_free(&rolled);
    free(map);
    const int y_up = !strcmp(convention, "nvdiffrec");
    facet_image img[2];
    for (int k = 0; k < 2; k++) {
        char json[2048];
        snprintf(json, sizeof json,
                 "{\"version\": 1, \"background\": \"environment\", \"environment\": "
                 "{\"map\": \"%s\", \"convention\": \"%s\", \"rotation_deg\": %d}, "
                 "\"nodes\": ["
                 "{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 0.6, "
                 "\"center\": [-0.7, 0, 0]}}, \"lighting\": %s, \"material\": "
                 "{\"base_color\": [0.9, 0.9, 0.9], \"roughness\": 0.1, \"metallic\": 1}},"
                 "{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 0.6, "
                 "\"center\": [0.7, 0, 0]}}, \"lighting\": %s, \"material\": "
                 "{\"base_color\": [0.7, 0.2, 0.1], \"roughness\": 0.6, \"metallic\": 0}}]}",
                 k == 0 ? "sky.exr" : "rolled.exr", convention, k == 0 ? 90 : 0, lighting,
                 lighting);
        facet_scene scene;
        load_scene(&scene, dir, json);
        /* y-up worlds: the same view with the axes relabelled (z -> y) */
        facet_camera cam = look_at(facet_v3(0.8f, -3.0f, 0.9f), facet_v3(0, 0, 0), 0.9f, 48, 32);
        if (y_up) {
            facet_mat4 c = cam.c2w, m = c;
            for (int col = 0; col < 4; col++) {
                m.m[4 + col] = c.m[8 + col];  /* y' = z */
                m.m[8 + col] = -c.m[4 + col]; /* z' = -y */
            }
            cam = facet_camera_from_fov(m, 0.9f, 48, 32);
        }
        cr_assert_eq(facet_render_image(&scene, &cam, NULL, &img[k]), FACET_OK, "%s",
                     facet_last_error());
        facet_scene_free(&scene);
    }
    double peak = 0, worst = 0;
    for (size_t i = 0; i < (size_t)48 * 32 * 4; i++) {
        cr_assert(isfinite(img[0].data[i]) && isfinite(img[1].data[i]));
        peak = fmax(peak, fabs(img[1].data[i]));
        worst = fmax(worst, fabs((double)img[0].data[i] - img[1].data[i]));
    }
    cr_assert_gt(peak, 0.1);
    cr_assert_leq(worst, 1e-4 * peak, "%s, %s: worst difference %g of peak %g", convention,
                  lighting, worst, peak);
    facet_image_free(&img[0]);
    facet_image_free(&img[1]);
}

Test(turned_map, renders_as_the_map_rolled_a_quarter_turn_blender_quality) {
    turned_vs_rolled("blender", "{\"size\": 64}");
}
Test(turned_map, renders_as_the_map_rolled_a_quarter_turn_nvdiffrec_quality) {
    turned_vs_rolled("nvdiffrec", "{\"size\": 64}");
}

static sphere_comparison sphere_compare(const char *mode, const char *lighting, int s) {
    const char *dir = test_scratch_dir("sphere_vs_reference");
    char map_path[1024];
    float *map = reference_map(dir, map_path, sizeof map_path);
    facet_envmap_view env = {map, REF_W, REF_H, FACET_ENV_BLENDER, 1, 0, 1};
    const facet_material *m = &sphere_materials[s];
    char json[2048];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"environment\": {\"map\": \"sky.exr\"}, \"nodes\": [{\"type\": "
             "\"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}, \"lighting\": %s, "
             "\"material\": {\"base_color\": [%g, %g, %g], \"roughness\": %g, \"metallic\": %g}}]}",
             lighting, m->base_color[0], m->base_color[1], m->base_color[2], m->roughness,
             m->metallic);
    facet_scene scene;
    load_scene(&scene, dir, json);
    const facet_vec3 eye = facet_v3(1.2f, -3.0f, 0.9f);
    facet_camera cam = look_at(eye, facet_v3(0, 0, 0), 0.75f, IMG, IMG);
    facet_image img;
    cr_assert_eq(facet_render_image(&scene, &cam, NULL, &img), FACET_OK, "%s", facet_last_error());
    /* the parity lighting sees the map clamped to [0, 1]: so does its reference */
    float *ref_map = map;
    if (!strcmp(mode, "parity")) {
        ref_map = malloc((size_t)REF_W * REF_H * 3 * sizeof(float));
        for (int i = 0; i < REF_W * REF_H * 3; i++) ref_map[i] = fminf(fmaxf(map[i], 0), 1);
        env.rgb = ref_map;
    }
    texel_light *lights = texel_lights();
    double se = 0, sum_render = 0, sum_reference = 0, sum_d = 0, sum_d2 = 0;
    int count = 0;
#pragma omp parallel for schedule(dynamic, 1)                                                      \
    reduction(+ : se, count, sum_render, sum_reference, sum_d, sum_d2)
    for (int pixel = 0; pixel < IMG * IMG; pixel++) {
        facet_ray ray = facet_camera_ray(&cam, pixel % IMG, pixel / IMG);
        float t0, t1;
        /* pixels whose ray passes within 0.97 of the centre: away from the silhouette */
        if (!facet_ray_sphere_interval(ray.origin, ray.direction, facet_v3(0, 0, 0), 0.97f, &t0,
                                       &t1))
            continue;
        facet_ray_sphere_interval(ray.origin, ray.direction, facet_v3(0, 0, 0), 1.0f, &t0, &t1);
        facet_vec3 p = facet_v3_add(ray.origin, facet_v3_scale(ray.direction, t0));
        facet_vec3 n = facet_v3_normalize(p), v = facet_v3_scale(ray.direction, -1);
        double ref[3];
        reference_shade(ref_map, lights, &env, n, v, m, pixel, ref);
        for (int k = 0; k < 3; k++) {
            double a = facet_linear_to_srgb(img.data[pixel * 4 + k]);
            double b = facet_linear_to_srgb((float)ref[k]);
            se += (a - b) * (a - b);
            double d = img.data[pixel * 4 + k] - ref[k];
            sum_render += img.data[pixel * 4 + k];
            sum_reference += ref[k];
            sum_d += d;
            sum_d2 += d * d;
        }
        count += 3;
    }
    free(lights);
    if (ref_map != map) free(ref_map);
    free(map);
    facet_image_free(&img);
    facet_scene_free(&scene);
    sphere_comparison c;
    c.psnr = 10 * log10(count / se);
    c.mean_render = sum_render / count;
    c.mean_reference = sum_reference / count;
    const double mean_d = sum_d / count;
    c.stderr_difference = sqrt(fmax(sum_d2 / count - mean_d * mean_d, 0) / count);
    return c;
}

/* PSNR of the split-sum render of sphere s in `mode` (256^2 cube) against the reference. */
static double sphere_psnr(const char *mode, int s) {
    char lighting[128];
    snprintf(lighting, sizeof lighting, "{\"mode\": \"%s\", \"size\": 256}", mode);
    return sphere_compare(mode, lighting, s).psnr;
}

/* Measured PSNR (dB) per sphere with the 256^2 cube of this test (512^2, the default, in
 * brackets where it differs by more than 0.1 dB); the asserted bounds sit just below:
 *                       metal r=0.1        0.25         0.5    0.75    1.0   dielectric r=0.6
 *   quality (HDR map)   36.7               34.1        21.6    15.9   14.9       50.4
 *    "filter": sampled  30.0 (30.9)   34.2 (33.9)      22.8    16.4   15.9       50.3 (50.1)
 *   parity (map <= 1)   35.4 (36.0)   32.9 (32.7)      29.0    23.4   23.0         34.0
 * (the default exact filter is the split-sum integral itself, so it shows the approximation's
 * own error: on rough metals the sampled filter's blur and coarser levels happen to land 0.5-1.3
 * dB nearer the full integral, as they land above the exact split-sum against Cycles,
 * bench/relight_gap.md)
 * Split-sum is an approximation: its lobe is pre-integrated for N = V = R with D NoL weights,
 * while the true rough lobe (D G F / (4 NoV)) is nearly uniform over the hemisphere at
 * roughness 1, and between the prefiltered roughness levels the official mip rule interpolates
 * (r = 0.75 mixes the r = 0.5 and r = 1 levels). Under forest.exr's sun (20% of the sky's energy
 * in texels brighter than 10) rough metals differ most; the clamped parity map hides part of
 * that. The dielectric's diffuse term (exact texel solid angles in quality mode) is close. */
static const double quality_bounds[SPHERES] = {36.0, 33.5, 21.0, 15.5, 14.5, 49.5};
static const double parity_bounds[SPHERES] = {35.0, 32.5, 28.5, 23.0, 22.5, 33.5};

/* The sanitizer build checks the roughest metal and the dielectric (both reference branches,
 * every lighting path): the brute-force reference costs ~110 s per sphere there on a Zen 4 core,
 * more on others, and three spheres per mode already ran past this test's bound on a 2-vCPU Xeon
 * with the other suites sharing the cores. */
static int sphere_checked(int s) {
#ifdef FACET_TEST_SANITIZED
    return s == 4 || s == 5;
#else
    (void)s;
    return 1;
#endif
}

Test(sphere_vs_reference, quality_mode_per_roughness) {
    for (int s = 0; s < SPHERES; s++) {
        if (!sphere_checked(s)) continue;
        double psnr = sphere_psnr("quality", s);
        cr_log_info("quality: roughness %.2f metallic %.0f: PSNR %.2f dB",
                    sphere_materials[s].roughness, sphere_materials[s].metallic, psnr);
        cr_assert_gt(psnr, quality_bounds[s], "sphere %d: %.2f dB", s, psnr);
    }
}

Test(sphere_vs_reference, parity_mode_per_roughness) {
    for (int s = 0; s < SPHERES; s++) {
        if (!sphere_checked(s)) continue;
        double psnr = sphere_psnr("parity", s);
        cr_log_info("parity: roughness %.2f metallic %.0f: PSNR %.2f dB",
                    sphere_materials[s].roughness, sphere_materials[s].metallic, psnr);
        cr_assert_gt(psnr, parity_bounds[s], "sphere %d: %.2f dB", s, psnr);
    }
}

/* ---- the Monte Carlo reference mode (nodes/sdf_reference.h) -----------------------------------
 */

/* Bounds on the reference mode's PSNR against the brute-force reference per sphere, 256 sample
 * pairs per pixel. Measured (dB), with the split-sum modes of the tests above for comparison:
 *                       metal r=0.1   0.25   0.5    0.75   1.0   dielectric r=0.6
 *   reference (MC)      39.8          38.3   35.8   35.3   37.3  36.1
 *   quality             30.0          34.2   22.8   16.4   15.9  50.3
 *   parity              35.4          32.9   29.0   23.4   23.0  34.0
 * What is left in the reference is Monte Carlo noise (its mean over the sphere agrees with the
 * brute force to a fraction of a percent, below): it falls as 1 / sqrt(samples), 3 dB per
 * doubling, where the split-sum's error on rough metals (15 dB below) is bias and stays. */
static const double reference_bounds[SPHERES] = {38.0, 36.5, 34.0, 33.5, 35.5, 34.5};

Test(sphere_vs_reference, reference_mode_converges_to_the_brute_force_integral) {
    for (int s = 0; s < SPHERES; s++) {
        if (!sphere_checked(s)) continue;
        sphere_comparison c =
            sphere_compare("reference", "{\"mode\": \"reference\", \"samples\": 256}", s);
        cr_log_info("reference: roughness %.2f metallic %.0f: PSNR %.2f dB, mean %.5f vs %.5f "
                    "(standard error %.5f)",
                    sphere_materials[s].roughness, sphere_materials[s].metallic, c.psnr,
                    c.mean_render, c.mean_reference, c.stderr_difference);
        /* unbiased: the means agree within 4 standard errors of the per-pixel difference, plus
         * what separates the brute force's texel-centre lights from the bilinear map the render
         * reads (0.5%) */
        const double tol = 4 * c.stderr_difference + 0.005 * c.mean_reference;
        cr_assert(fabs(c.mean_render - c.mean_reference) < tol,
                  "sphere %d: mean %.5f against %.5f (tolerance %.5f)", s, c.mean_render,
                  c.mean_reference, tol);
        cr_assert_gt(c.psnr, reference_bounds[s], "sphere %d: %.2f dB", s, c.psnr);
    }
}

/* n.v-consistent view direction at angle `deg` from n in the plane of n and a tangent. */
static facet_vec3 view_at(facet_vec3 n, float deg) {
    facet_vec3 t, b;
    facet_basis(n, &t, &b);
    const float a = deg * (float)PI / 180.0f;
    return facet_v3_add(facet_v3_scale(n, cosf(a)), facet_v3_scale(t, sinf(a)));
}

/* Mean and standard error over `pairs` calls of facet_reference_sample at (x, n, v). */
static void reference_estimate(const facet_sdf_ray_params *p, const facet_sdf_reference_env *e,
                               facet_vec3 x, facet_vec3 n, facet_vec3 v, int pairs, double mean[3],
                               double stderr_[3]) {
    facet_rng rng = facet_rng_seed(17, 3);
    double s1[3] = {0, 0, 0}, s2[3] = {0, 0, 0};
    for (int i = 0; i < pairs; i++) {
        float one[3] = {0, 0, 0};
        facet_reference_sample(p, e, x, n, v, 1.0f, &rng, one);
        for (int k = 0; k < 3; k++) {
            s1[k] += one[k];
            s2[k] += (double)one[k] * one[k];
        }
    }
    for (int k = 0; k < 3; k++) {
        mean[k] = s1[k] / pairs;
        stderr_[k] = sqrt(fmax(s2[k] / pairs - mean[k] * mean[k], 0) / pairs);
    }
}

static facet_sdf_reference_env constant_sky(const float rgb[3]) {
    facet_sdf_reference_env e;
    memset(&e, 0, sizeof e);
    for (int k = 0; k < 3; k++) e.constant[k] = rgb[k];
    e.dist.uniform = 1;
    e.samples = 1;
    return e;
}

static facet_sdf_ray_params unit_sphere_params(facet_material m) {
    facet_sdf_ray_params p;
    memset(&p, 0, sizeof p);
    facet_sdf_shape sphere = shape_of(FACET_SDF_SPHERE, facet_v3(0, 0, 0), facet_v3(0, 0, 0), 1, 0);
    p.object = object_of(&sphere, 1, 0, 0, 0, facet_v3(0, 0, 0), 1);
    p.material = m;
    p.trace.t_max = 100;
    p.trace.max_steps = 256;
    p.trace.epsilon = 1e-5f;
    return p;
}

Test(reference, a_constant_sky_gives_the_split_sum_terms) {
    /* Under a constant environment c the integral splits exactly: L = (1 - m) a c + (F0 A + B) c
     * with (A, B) the DFG integral at (n.v, r) (facet_dfg_integrate, double quadrature). A convex
     * sphere never shadows itself. The estimate must land within 5 standard errors plus 2e-3
     * (the quadrature and float sums) for every roughness, both metallic values and n.v from
     * grazing to head-on. */
    const float c[3] = {0.5f, 1.0f, 2.0f};
    const facet_sdf_reference_env e = constant_sky(c);
    const float roughness[] = {0.05f, 0.3f, 0.7f, 1.0f}, angles[] = {0, 45, 75, 85};
    for (int metal = 0; metal <= 1; metal++)
        for (int ri = 0; ri < 4; ri++) {
            facet_material m = {{0.8f, 0.5f, 0.3f}, roughness[ri], (float)metal};
            facet_sdf_ray_params p = unit_sphere_params(m);
            for (int ai = 0; ai < 4; ai++) {
                facet_vec3 n = facet_v3_normalize(facet_v3(0.3f, -0.5f, 0.8f));
                facet_vec3 v = view_at(n, angles[ai]);
                double mean[3], se[3], A, B;
                reference_estimate(&p, &e, n, n, v, 4096, mean, se);
                facet_dfg_integrate(facet_v3_dot(n, v), roughness[ri], &A, &B);
                for (int k = 0; k < 3; k++) {
                    double f0 = 0.04 * (1 - m.metallic) + m.metallic * m.base_color[k];
                    double want = ((1 - m.metallic) * m.base_color[k] + f0 * A + B) * c[k];
                    cr_assert(isfinite(mean[k]) && fabs(mean[k] - want) < 5 * se[k] + 2e-3 * c[k],
                              "m %d r %.2f view %.0f deg channel %d: %.5f, expected %.5f (se %.5f)",
                              metal, roughness[ri], angles[ai], k, mean[k], want, se[k]);
                }
            }
        }
}

/* Ray o + t l (unit l) meets the sphere (c, r) at some t > 0. */
static int hits_sphere(facet_vec3 o, facet_vec3 l, facet_vec3 c, float r) {
    float t0, t1;
    return facet_ray_sphere_interval(o, l, c, r, &t0, &t1) && t1 > 0;
}

Test(reference, a_sphere_shadows_the_plane_below_it_by_its_form_factor) {
    /* A sphere of radius 1 centred 2 above a white plane, in one sdf object, under a white sky:
     * at the point below the centre the sphere hides (r/d)^2 = 1/4 of the cosine-weighted sky,
     * the form factor of a sphere on the normal. The expected radiance is a midpoint quadrature
     * over the hemisphere of f (n.l) V with V from an analytic ray-sphere test (independent of
     * sphere tracing); its diffuse part must reproduce 1 - (r/d)^2 first. */
    const float white[3] = {1, 1, 1};
    const facet_sdf_reference_env e = constant_sky(white);
    facet_sdf_shape shapes[2] = {
        shape_of(FACET_SDF_PLANE, facet_v3(0, 0, 1), facet_v3(0, 0, 0), 0, 0),
        shape_of(FACET_SDF_SPHERE, facet_v3(0, 0, 2), facet_v3(0, 0, 0), 1, 0)};
    facet_sdf_ray_params p;
    memset(&p, 0, sizeof p);
    p.object = object_of(shapes, 2, 0, 0, 0, facet_v3(0, 0, 0), 1);
    p.material = (facet_material){{0.9f, 0.9f, 0.9f}, 0.8f, 0.0f};
    p.trace.t_max = 100;
    p.trace.max_steps = 512;
    p.trace.epsilon = 1e-5f;
    const facet_vec3 x = facet_v3(0, 0, 0), n = facet_v3(0, 0, 1), c = facet_v3(0, 0, 2);
    const facet_vec3 v = view_at(n, 50);
    enum { T = 600, P = 1200 };
    double diffuse = 0, total = 0;
    for (int i = 0; i < T; i++) {
        double theta = 0.5 * PI * (i + 0.5) / T, dw = (0.5 * PI / T) * (2 * PI / P) * sin(theta);
        for (int j = 0; j < P; j++) {
            double phi = 2 * PI * (j + 0.5) / P;
            facet_vec3 l = facet_v3((float)(sin(theta) * cos(phi)), (float)(sin(theta) * sin(phi)),
                                    (float)cos(theta));
            if (hits_sphere(x, l, c, 1.0f)) continue;
            float f[3];
            facet_brdf_eval_cos(&p.material, n, v, l, f);
            diffuse += cos(theta) / PI * dw;
            total += f[1] * dw;
        }
    }
    cr_assert_float_eq(diffuse, 0.75, 1e-4, "the quadrature's form factor: %.6f", diffuse);
    double mean[3], se[3];
    reference_estimate(&p, &e, x, n, v, 16384, mean, se);
    cr_log_info("shadowed plane: %.5f (se %.5f), quadrature %.5f", mean[1], se[1], total);
    cr_assert(fabs(mean[1] - total) < 5 * se[1] + 2e-3, "%.5f against %.5f (se %.5f)", mean[1],
              total, se[1]);
    /* and without the sphere the plane sees the whole sky: 25% of the diffuse part more */
    p.object = object_of(shapes, 1, 0, 0, 0, facet_v3(0, 0, 0), 1);
    double open[3];
    reference_estimate(&p, &e, x, n, v, 16384, open, se);
    cr_assert_gt(open[1] - mean[1], 0.2 * 0.9, "the shadow: %.5f", open[1] - mean[1]);
}

Test(reference, environment_sampling_density_integrates_to_one_and_matches_its_samples) {
    /* The density facet_env_pdf integrates to 1 over the sphere (midpoint quadrature on a grid of
     * 2 x 2 cells per texel, aligned with the texels: exact up to float sums), and the directions
     * drawn by facet_env_sample report that same density, in both conventions and with a
     * rotation: both strategies of the MIS estimator rely on it. Blender's interior.exr. */
    const char *hdri = "/usr/share/blender/datafiles/studiolights/world/interior.exr";
    if (!facet_is_file(hdri)) cr_skip_test("%s not installed (Debian blender-data)", hdri);
    for (int conv = 0; conv < 3; conv++) {
        facet_envmap env;
        const float rotation = conv == 0 ? 0.0f : 30.0f;
        cr_assert_eq(facet_envmap_load(&env, hdri,
                                       conv == 2 ? FACET_ENV_NVDIFFREC : FACET_ENV_BLENDER,
                                       rotation, 1.0f),
                     FACET_OK, "%s", facet_last_error());
        facet_env_distribution dist;
        cr_assert_eq(facet_env_distribution_build(&dist, &env.view), FACET_OK);
        cr_assert_eq(dist.view.uniform, 0);
        if (conv == 0) { /* blender, no rotation: the (theta, phi) grid follows the texels */
            const int T = 2 * env.view.height, P = 2 * env.view.width;
            double integral = 0;
            for (int i = 0; i < T; i++) {
                double theta = PI * (i + 0.5) / T, dw = (PI / T) * (2 * PI / P) * sin(theta);
                for (int j = 0; j < P; j++) {
                    double phi = 2 * PI * (j + 0.5) / P;
                    facet_vec3 l = facet_v3((float)(sin(theta) * cos(phi)),
                                            (float)(sin(theta) * sin(phi)), (float)cos(theta));
                    integral += facet_env_pdf(&dist.view, &env.view, l) * dw;
                }
            }
            cr_assert_float_eq(integral, 1.0, 1e-4, "the density integrates to %.6f", integral);
        }
        facet_rng rng = facet_rng_seed(1, 2);
        int edges = 0;
        for (int s = 0; s < 20000; s++) {
            float u[2] = {facet_rng_uniform(&rng), facet_rng_uniform(&rng)};
            facet_vec3 l;
            float pdf = facet_env_sample(&dist.view, &env.view, u, &l);
            if (pdf == 0.0f) continue;
            cr_assert_float_eq(facet_v3_length(l), 1.0f, 1e-5);
            float again = facet_env_pdf(&dist.view, &env.view, l);
            /* the same texel, unless the direction sits on a texel edge, where float rounding
             * may give the neighbour's density: allowed for a few samples in 20000 */
            if (fabsf(again - pdf) > 1e-3f * pdf)
                cr_assert_lt(++edges, 20, "case %d sample %d: %g against %g", conv, s, pdf, again);
        }
        facet_env_distribution_free(&dist);
        facet_envmap_free(&env);
    }
}

Test(reference, sdf_node_renders_reference_mode_and_rejects_it_elsewhere) {
    facet_scene scene;
    load_scene(&scene, test_scratch_dir("sdf_reference"),
               "{\"version\": 1, \"background\": [0.1, 0.2, 0.3], \"nodes\": [{\"type\": \"sdf\", "
               "\"shape\": {\"sphere\": {\"radius\": 1}}, \"lighting\": {\"mode\": \"reference\", "
               "\"samples\": 8}, \"material\": {\"base_color\": [1, 1, 1], \"roughness\": 1}}]}");
    facet_camera cam = look_at(facet_v3(0, -4, 0), facet_v3(0, 0, 0), 0.8f, 16, 16);
    facet_image a, b;
    cr_assert_eq(facet_render_image(&scene, &cam, NULL, &a), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_render_image(&scene, &cam, NULL, &b), FACET_OK);
    const float *centre = a.data + (8 * 16 + 8) * 4;
    cr_assert_float_eq(centre[3], 1.0f, 0);
    /* a white rough dielectric under the background's constant sky: about a c + (0.04 A + B) c */
    cr_assert(centre[2] > 0.3f && centre[2] < 0.36f, "%g", centre[2]);
    cr_assert(!memcmp(a.data, b.data, (size_t)16 * 16 * 4 * sizeof(float)), "deterministic");
    /* another pass draws other samples */
    scene.sample_pass = 1;
    facet_image_free(&b);
    cr_assert_eq(facet_render_image(&scene, &cam, NULL, &b), FACET_OK);
    cr_assert(memcmp(a.data, b.data, (size_t)16 * 16 * 4 * sizeof(float)) != 0, "pass 1 differs");
    facet_image_free(&a);
    facet_image_free(&b);
    facet_scene_free(&scene);
    /* the samples must be whole and positive; risesdf nodes have no reference mode */
    expect_node_error("{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}, "
                      "\"lighting\": {\"mode\": \"reference\", \"samples\": 0}}",
                      "key 'nodes[0].lighting.samples': expected a whole number in [1, 65536]");
    char risesdf[1024];
    snprintf(risesdf, sizeof risesdf,
             "{\"type\": \"risesdf\", \"weights\": \"%s\", \"lighting\": \"reference\"}",
             test_source_path("tests/fixtures/risesdf/small.safetensors"));
    expect_node_error(risesdf, "key 'nodes[0].lighting': the reference lighting mode is for sdf "
                               "nodes only");
}

/* ---- against Cycles (tests/fixtures/relight_cycles) --------------------------------------------
 *
 * Five 64 x 64 Cycles renders (Blender 3.4.1, 1024 samples, direct environment light only: max
 * bounces 0, so self-shadowing but no interreflection, as the reference mode; Blackman-Harris
 * 1.5 px; tools/reference/make_relight_cycles.py) of a sphere and a torus under Blender's
 * interior.exr, a window far brighter than the room, and forest.exr. facet renders the same node
 * with the same pixel filter (16 samples per pixel); PSNR (sRGB of linear clamped to [0, 1]) over
 * the pixels Cycles covers (alpha > 0.999). */

/* PSNR of `case_name` rendered with node lighting `lighting` (a JSON value) against Cycles. */
static double cycles_psnr(const char *case_name, const char *lighting) {
    char path[1024];
    snprintf(path, sizeof path, "tests/fixtures/relight_cycles/%s.json", case_name);
    size_t size;
    char *text = NULL;
    cr_assert_eq(facet_read_file(test_source_path(path), &text, &size), FACET_OK, "%s",
                 facet_last_error());
    cJSON *fixture = cJSON_Parse(text);
    free(text);
    cr_assert(fixture, "%s: not JSON", path);
    cJSON *node = cJSON_DetachItemFromObject(fixture, "node");
    cJSON_AddItemToObject(node, "lighting", cJSON_Parse(lighting));
    cJSON *scene_json = cJSON_CreateObject();
    cJSON_AddNumberToObject(scene_json, "version", 1);
    cJSON_AddItemToObject(scene_json, "background", cJSON_Parse("[0, 0, 0]"));
    cJSON_AddItemToObject(scene_json, "environment",
                          cJSON_DetachItemFromObject(fixture, "environment"));
    cJSON_AddItemToObject(scene_json, "camera", cJSON_DetachItemFromObject(fixture, "camera"));
    cJSON *nodes = cJSON_CreateArray();
    cJSON_AddItemToArray(nodes, node);
    cJSON_AddItemToObject(scene_json, "nodes", nodes);
    char *scene_text = cJSON_Print(scene_json);
    facet_scene scene;
    load_scene(&scene, test_scratch_dir("relight_cycles"), scene_text);
    free(scene_text);
    cJSON_Delete(scene_json);
    cr_assert(scene.has_camera);
    facet_render_options options = {0};
    options.filter = (facet_pixel_filter){16, FACET_FILTER_BLACKMAN_HARRIS, 1.5f};
    facet_image img, ref;
    cr_assert_eq(facet_render_image(&scene, &scene.camera, &options, &img), FACET_OK, "%s",
                 facet_last_error());
    snprintf(path, sizeof path, "tests/fixtures/relight_cycles/%s.exr", case_name);
    cr_assert_eq(facet_image_read(&ref, test_source_path(path), 4), FACET_OK, "%s",
                 facet_last_error());
    cr_assert(ref.width == img.width && ref.height == img.height);
    double se = 0;
    long count = 0;
    for (int p = 0; p < img.width * img.height; p++) {
        if (!(ref.data[p * 4 + 3] > 0.999f)) continue;
        for (int k = 0; k < 3; k++) {
            float a = fminf(fmaxf(img.data[p * 4 + k], 0.0f), 1.0f);
            float b = fminf(fmaxf(ref.data[p * 4 + k], 0.0f), 1.0f);
            cr_assert(isfinite(img.data[p * 4 + k]), "pixel %d is not finite", p);
            double d = facet_linear_to_srgb(a) - facet_linear_to_srgb(b);
            se += d * d;
            count++;
        }
    }
    cr_assert_gt(count, 300, "the object covers pixels");
    facet_image_free(&img);
    facet_image_free(&ref);
    facet_scene_free(&scene);
    cJSON_Delete(fixture);
    return 10 * log10(count / se);
}

Test(against_cycles, reference_mode_matches_cycles_where_split_sum_cannot) {
    const char *hdri = "/usr/share/blender/datafiles/studiolights/world/interior.exr";
    if (!facet_is_file(hdri)) cr_skip_test("%s not installed (Debian blender-data)", hdri);
    /* Measured (dB), quality / reference with 16 pairs per filter sample (256 per pixel):
     *   sphere metal r=0.6  24.1 / 33.6     sphere metal r=0.9          20.8 / 31.6
     *   sphere plastic r=0.7 (Lambert in Cycles) 42.8 / 34.3   torus metal r=0.3  21.6 / 32.8
     *   sphere metal r=0.6 under forest.exr 19.7 / 35.8
     * The reference is Monte Carlo noise away from Cycles (which is itself noisy: two Cycles
     * seeds agree to 39-40 dB at 256 samples) where the split-sum is 9-10 dB off on the rough
     * metals and the self-shadowing torus; on the plastic the split-sum is accurate and the
     * reference's noise dominates. Bounds 1.5 dB below the reference, and 5 dB over the split-sum
     * where it fails. */
    static const struct {
        const char *name;
        int split_sum_fails; /* the rough metals and the self-shadowing torus */
        double bound;
    } cases[] = {
        {"sphere_interior_metal_r060", 1, 32.0},
        {"sphere_interior_metal_r090", 1, 30.1},
        {"sphere_interior_plastic_r070_lambert", 0, 32.8},
        {"torus_interior_metal_r030", 1, 31.3},
        {"sphere_forest_metal_r060", 1, 34.3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
#ifdef FACET_TEST_SANITIZED
        /* the sanitizer build checks the self-shadowing torus (both modes, every lighting path):
         * the five cases take ~210 s there */
        if (strncmp(cases[i].name, "torus", 5) != 0) continue;
#endif
        double q = cycles_psnr(cases[i].name, "\"quality\"");
        double r = cycles_psnr(cases[i].name, "{\"mode\": \"reference\", \"samples\": 16}");
        cr_log_info("%s: quality %.2f dB, reference %.2f dB", cases[i].name, q, r);
        cr_assert(isfinite(q) && isfinite(r));
        cr_assert_gt(r, cases[i].bound, "%s: reference %.2f dB", cases[i].name, r);
        if (cases[i].split_sum_fails)
            cr_assert_gt(r, q + 5.0, "%s: reference %.2f dB, quality %.2f dB", cases[i].name, r, q);
    }
}
