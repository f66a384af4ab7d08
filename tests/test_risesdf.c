/* The RISE-SDF neural field (fields/hashgrid.h, fields/risesdf.{h,c}) and the risesdf node's ray
 * function (nodes/risesdf_ray.h) against the independent PyTorch reference
 * tools/reference/risesdf_ref.py on its small random config (6 levels, two dense and four hashed,
 * f16 hash parameters, 64-wide networks, weight-normed geometry network):
 *   tests/fixtures/risesdf/small.safetensors     the reference's official-format checkpoint
 *                                                converted by tools/convert_risesdf.py
 *   tests/fixtures/risesdf/expected.safetensors  per-point encoding, feature (sdf = feature[0]),
 *                                                normal and material, and per-ray shading under a
 *                                                constant environment
 * Regenerate: see tests/fixtures/risesdf/README.md. Tolerances: float32 on both sides with
 * different summation orders; measured maximum errors are quoted per test. */
#include "helpers.h"

#include "core/fileio.h"
#include "core/metrics.h"
#include "core/safetensors.h"
#include "datasets/dataset.h"
#include "fields/risesdf.h"
#include "render/batch.h"
#include "nodes/builtin.h"
#include "render/render.h"
#include "nodes/risesdf_ray.h"
#include "nodes/risesdf_volume.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per-point scratch of the field functions (fields/risesdf.h); each test runs in its own process,
 * on one thread. */
static float scratch[FACET_RISESDF_MAX_SCRATCH];

typedef struct fixtures {
    facet_risesdf_model model;
    facet_safetensors expected;
} fixtures;

static fixtures fx;

static void setup(void) {
    cr_assert_eq(
        facet_risesdf_load(&fx.model, test_source_path("tests/fixtures/risesdf/small.safetensors")),
        FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_safetensors_open(
                     &fx.expected, test_source_path("tests/fixtures/risesdf/expected.safetensors")),
                 FACET_OK, "%s", facet_last_error());
}

static void teardown(void) {
    facet_risesdf_free(&fx.model);
    facet_safetensors_close(&fx.expected);
}

static const float *expected(const char *name, int64_t *rows, int64_t *cols) {
    const facet_tensor *t = facet_safetensors_get(&fx.expected, name);
    cr_assert(t, "%s", facet_last_error());
    cr_assert_eq(t->dtype, FACET_DTYPE_F32);
    *rows = t->shape[0];
    *cols = t->ndim > 1 ? t->shape[1] : 1;
    return t->data;
}

/* |got - want| <= tol * max(1, |want|) */
static void assert_close(float got, float want, float tol, const char *what, int64_t i, int64_t j) {
    cr_assert(fabsf(got - want) <= tol * fmaxf(1.0f, fabsf(want)), "%s[%lld][%lld]: %.8g vs %.8g",
              what, (long long)i, (long long)j, (double)got, (double)want);
}

/* The node's defaults: 256 steps, epsilon 5e-4, full steps. */
static facet_risesdf_ray_params sphere_trace_params(int indirect, float max_roughness) {
    facet_risesdf_ray_params p = {0};
    p.field = fx.model.field;
    p.max_steps = 256;
    p.epsilon = 5e-4f;
    p.step_scale = 1.0f;
    p.indirect = indirect;
    p.indirect_max_roughness = max_roughness;
    return p;
}

TestSuite(risesdf, .init = setup, .fini = teardown);

Test(hashgrid, default_config_levels_follow_tcnn) {
    /* 16 x 2, log2 T 19, base 32, scale 1.447269237440378: resolutions 32, 47, 68 are dense
     * (32768, 103823 -> 103824 rows: rounded up to a multiple of 8, 314432), level 3 (98^3 >
     * 2^19) and above are hashed with 2^19 rows: 14533536 parameters (as tcnn's
     * GridEncoding::n_params; the converter computes the same count). */
    facet_hashgrid g;
    cr_assert_eq(facet_hashgrid_init(&g, 16, 2, 19, 32, 1.447269237440378f), 14533536u);
    const uint32_t res[16] = {32,  47,  68,   98,   141,  204,  295,  426,
                              616, 892, 1291, 1868, 2703, 3912, 5661, 8192};
    for (int l = 0; l < 16; l++) cr_assert_eq(g.resolution[l], res[l], "level %d", l);
    cr_assert_float_eq(g.scale[0], 31.0f, 0.0f);
    cr_assert_eq(g.offset[1] - g.offset[0], 32768u);
    cr_assert_eq(g.offset[2] - g.offset[1], 103824u);
    cr_assert_eq(g.offset[3] - g.offset[2], 314432u);
    cr_assert_eq(g.offset[4] - g.offset[3], 1u << 19);
    cr_assert(g.dense_size[2] <= g.offset[3] - g.offset[2], "level 2 is dense");
    cr_assert(g.dense_size[3] > g.offset[4] - g.offset[3], "level 3 is hashed");
}

Test(hashgrid, rejects_out_of_range_configs) {
    facet_hashgrid g;
    cr_assert_eq(facet_hashgrid_init(&g, 0, 2, 19, 32, 1.5f), 0u);
    cr_assert_eq(facet_hashgrid_init(&g, 33, 2, 19, 32, 1.5f), 0u);
    cr_assert_eq(facet_hashgrid_init(&g, 16, 2, 19, 32, 0.5f), 0u);
}

Test(risesdf, hash_encoding_matches_the_reference_per_level) {
    /* f16 parameters converted at load; measured max error ~1e-7 (the reference rounds
     * fmaf(scale, x, 0.5) exactly like tcnn). */
    int64_t n, c, nenc, cenc;
    const float *pts = expected("points", &n, &c);
    const float *enc = expected("encoding", &nenc, &cenc);
    const facet_risesdf_field *f = &fx.model.field;
    cr_assert_eq(cenc, f->grid.levels * f->grid.features);
    for (int64_t i = 0; i < n; i++) {
        float in[FACET_RISESDF_MAX_WIDTH];
        facet_risesdf_input(f, pts + 3 * i, in);
        for (int64_t j = 0; j < cenc; j++)
            assert_close(in[3 + j], enc[i * cenc + j], 1e-5f, "encoding", i, j);
    }
}

Test(risesdf, sdf_and_feature_match_the_reference) {
    int64_t n, c, nf, cf;
    const float *pts = expected("points", &n, &c);
    const float *feat = expected("feature", &nf, &cf);
    const facet_risesdf_field *f = &fx.model.field;
    cr_assert_eq(cf, f->feature_dim);
    for (int64_t i = 0; i < n; i++) {
        float got[FACET_RISESDF_MAX_WIDTH];
        float sdf = facet_risesdf_feature(f, pts + 3 * i, got, scratch);
        for (int64_t j = 0; j < cf; j++)
            assert_close(got[j], feat[i * cf + j], 1e-5f, "feature", i, j);
        /* the sdf-only path (first output row of the last layer) agrees with the full forward */
        cr_assert_float_eq(facet_risesdf_sdf(f, pts + 3 * i, scratch), sdf, 1e-6f);
    }
}

Test(risesdf, normals_match_the_reference) {
    /* central differences with eps = 2 radius / (base * scale^(levels-1)) = 3 / (8 * 1.5^5);
     * the difference quotient amplifies float rounding by ~1/eps, hence 1e-4 */
    int64_t n, c, nn, cn;
    const float *pts = expected("points", &n, &c);
    const float *normal = expected("normal", &nn, &cn);
    cr_assert_float_eq(fx.model.field.fd_eps, 3.0 / (8.0 * pow(1.5, 5)), 1e-9);
    for (int64_t i = 0; i < n; i++) {
        float got[3];
        facet_risesdf_normal(&fx.model.field, pts + 3 * i, got, scratch);
        for (int j = 0; j < 3; j++) assert_close(got[j], normal[i * 3 + j], 1e-4f, "normal", i, j);
    }
}

Test(risesdf, materials_match_the_reference) {
    /* [radiance 3, albedo 3, roughness, blend, metallic], sigmoid outputs */
    int64_t n, c, nf, cf, nm, cm;
    const float *pts = expected("points", &n, &c);
    const float *feat = expected("feature", &nf, &cf);
    const float *mat = expected("material", &nm, &cm);
    cr_assert_eq(cm, 9);
    for (int64_t i = 0; i < n; i++) {
        facet_risesdf_material m;
        facet_risesdf_material_at(&fx.model.field, feat + i * cf, pts + 3 * i, &m, scratch);
        const float got[9] = {m.radiance[0], m.radiance[1], m.radiance[2], m.albedo[0], m.albedo[1],
                              m.albedo[2],   m.roughness,   m.blend,       m.metallic};
        for (int j = 0; j < 9; j++) assert_close(got[j], mat[i * 9 + j], 1e-5f, "material", i, j);
    }
}

Test(risesdf, sphere_traced_rays_match_the_reference) {
    /* 32 rays from radius 3 towards the box; constant environment (0.9, 0.7, 0.5) so the
     * split-sum reduces to (1-m) a c + (F0 A + B) c with facet's DFG table. Hits and misses must
     * agree exactly; depth to 1e-4 (the hit threshold is 5e-4), colour to 1e-4. */
    int64_t n, c, nd, cd, nr, cr, ne, ce;
    const float *o = expected("ray_origin", &n, &c);
    const float *d = expected("ray_direction", &nd, &cd);
    const float *want = expected("ray_result", &nr, &cr);
    const float *env = expected("env_rgb", &ne, &ce);
    facet_lighting lighting;
    facet_lighting_options options = {0};
    options.size = 64;
    cr_assert_eq(facet_lighting_build_uniform(&lighting, env, &options), FACET_OK);
    facet_risesdf_ray_params p = sphere_trace_params(FACET_RISESDF_INDIRECT_OFF, 0.3f);
    int hits = 0;
    for (int64_t i = 0; i < n; i++) {
        facet_ray_result r;
        facet_risesdf_render_ray(&p, &lighting.view, facet_v3(o[3 * i], o[3 * i + 1], o[3 * i + 2]),
                                 facet_v3(d[3 * i], d[3 * i + 1], d[3 * i + 2]), &r, scratch);
        const float *w = want + 5 * i;
        cr_assert_eq(r.alpha, w[3], "ray %lld: alpha %g vs %g", (long long)i, r.alpha, w[3]);
        if (w[3] == 0.0f) {
            cr_assert(isinf(r.depth) && r.rgb[0] == 0.0f);
            continue;
        }
        hits++;
        assert_close(r.depth, w[4], 1e-4f, "depth", i, 0);
        for (int k = 0; k < 3; k++) assert_close(r.rgb[k], w[k], 1e-4f, "rgb", i, k);
    }
    cr_assert_geq(hits, 16, "the fixture has mostly hits (%d)", hits);
    facet_lighting_free(&lighting);
}

Test(risesdf, second_split_sum_matches_the_reference) {
    /* indirect on for every roughness (threshold 1): reflected rays traced over t in [0.05, 1.5];
     * the fixture field is a perturbed sphere, so one of the 32 rays re-hits it and has its
     * specular light replaced by the radiance leaving the secondary hit (0.043 change) */
    int64_t n, c, nd, cd, nr, cr, ne, ce, np, cp;
    const float *o = expected("ray_origin", &n, &c);
    const float *d = expected("ray_direction", &nd, &cd);
    const float *want = expected("ray_result_indirect", &nr, &cr);
    const float *plain = expected("ray_result", &np, &cp);
    const float *env = expected("env_rgb", &ne, &ce);
    facet_lighting lighting;
    facet_lighting_options options = {0};
    options.size = 64;
    cr_assert_eq(facet_lighting_build_uniform(&lighting, env, &options), FACET_OK);
    for (int mode = FACET_RISESDF_INDIRECT_PARITY; mode <= FACET_RISESDF_INDIRECT_QUALITY; mode++) {
        facet_risesdf_ray_params p = sphere_trace_params(mode, 1.0f);
        int changed = 0;
        for (int64_t i = 0; i < n; i++) {
            facet_ray_result r;
            facet_risesdf_render_ray(&p, &lighting.view,
                                     facet_v3(o[3 * i], o[3 * i + 1], o[3 * i + 2]),
                                     facet_v3(d[3 * i], d[3 * i + 1], d[3 * i + 2]), &r, scratch);
            const float *w = want + 5 * i;
            cr_assert_eq(r.alpha, w[3]);
            if (w[3] == 0.0f) continue;
            for (int k = 0; k < 3; k++) assert_close(r.rgb[k], w[k], 1e-4f, "rgb", i, k);
            changed += fabsf(w[0] - plain[5 * i]) > 1e-3f;
        }
        cr_assert_geq(changed, 1, "at least one ray takes the indirect path");
    }
    facet_lighting_free(&lighting);
}

Test(risesdf, variance_and_config_come_from_the_file) {
    const facet_risesdf_field *f = &fx.model.field;
    cr_assert_float_eq(f->variance, 0.3f, 1e-7f);
    cr_assert_eq(f->grid.levels, 6);
    cr_assert_eq(f->frequencies, 6);
    cr_assert_eq(f->geometry.layers, 3);
    cr_assert_eq(f->albedo.layers, 5);
    cr_assert_eq(f->roughness.layers, 3);
    cr_assert_eq(f->metallic.layers, 3);
    cr_assert(f->geometry.softplus && !f->albedo.softplus);
}

/* ---- "volume" mode: the official NeuS renderer ---------------------------------------------
 * Fixture rays: 16 towards the box and 2 that miss it, rendered by the reference for the file's
 * variance 0.3 (inv_s 20: a soft field, every sample band wide) and a trained model's 0.6 (inv_s
 * 403). Colours and opacities are sums over up to a few hundred samples of float32 networks with
 * different summation orders on the two sides. */

/* The node's volume-mode parameters for the fixture field with NeuS variance `variance` (0.3 or
 * 0.6), and in *bits (free() it) the reference's occupancy grid of that variance (the fixture's
 * `volume_{v}_grid`, 128^3 bits packed little-endian: the layout of facet's grid words), so that
 * only occupancy_grid_matches_the_reference pays for building one. */
static facet_risesdf_ray_params volume_params(float variance, int indirect, uint32_t **bits) {
    facet_risesdf_ray_params p = sphere_trace_params(indirect, 1.0f);
    p.mode = FACET_RISESDF_MODE_VOLUME;
    p.field.variance = variance;
    facet_risesdf_volume_constants(&p);
    char name[64];
    snprintf(name, sizeof name, "volume_%g_grid", (double)variance);
    const facet_tensor *t = facet_safetensors_get(&fx.expected, name);
    cr_assert(t && t->dtype == FACET_DTYPE_U8 && t->shape[0] == 128 * 128 * 128 / 8, "%s", name);
    *bits = malloc((size_t)t->shape[0]);
    cr_assert(*bits);
    memcpy(*bits, t->data, (size_t)t->shape[0]);
    p.occupied = *bits;
    return p;
}

/* Renders the fixture's volume rays with p and compares them to `name`: opacity and colour to
 * `tol` (absolute, or relative above 1), depth to `depth_tol`; a ray the reference leaves empty
 * (opacity 0) must be empty. Returns the number of rays with opacity > 0.5. */
static int compare_volume_rays(const facet_risesdf_ray_params *p, const char *name, float tol,
                               float depth_tol) {
    int64_t n, c, nd, cd, nr, cr, ne, ce;
    const float *o = expected("volume_ray_origin", &n, &c);
    const float *d = expected("volume_ray_direction", &nd, &cd);
    const float *want = expected(name, &nr, &cr);
    const float *env = expected("env_rgb", &ne, &ce);
    facet_lighting lighting;
    facet_lighting_options options = {0};
    options.size = 64;
    cr_assert_eq(facet_lighting_build_uniform(&lighting, env, &options), FACET_OK);
    int opaque = 0, empty = 0;
    for (int64_t i = 0; i < n; i++) {
        facet_ray_result r;
        facet_risesdf_volume_ray(p, &lighting.view, facet_v3(o[3 * i], o[3 * i + 1], o[3 * i + 2]),
                                 facet_v3(d[3 * i], d[3 * i + 1], d[3 * i + 2]), &r, scratch);
        const float *w = want + 5 * i;
        if (w[3] == 0.0f) {
            cr_assert(r.alpha == 0.0f && isinf(r.depth) && r.rgb[0] == 0.0f,
                      "%s ray %lld: empty in the reference, alpha %g here", name, (long long)i,
                      (double)r.alpha);
            empty++;
            continue;
        }
        opaque += w[3] > 0.5f;
        assert_close(r.alpha, w[3], tol, name, i, 3);
        assert_close(r.depth, w[4], depth_tol, name, i, 4);
        for (int k = 0; k < 3; k++) assert_close(r.rgb[k], w[k], tol, name, i, k);
    }
    cr_assert_geq(empty, 2, "%s: the rays that miss the box are empty", name);
    facet_lighting_free(&lighting);
    return opaque;
}

TestSuite(risesdf_volume, .init = setup, .fini = teardown);

Test(risesdf_volume, soft_field_rays_match_the_reference) {
    /* inv_s 20: samples from ~0.25 outside the surface to ~100 steps inside; measured max
     * difference 9e-7 (colour, opacity) and 1e-6 (depth) */
    uint32_t *bits;
    facet_risesdf_ray_params p = volume_params(0.3f, FACET_RISESDF_INDIRECT_OFF, &bits);
    cr_assert_geq(compare_volume_rays(&p, "volume_0.3_result", 1e-5f, 1e-5f), 8);
    free(bits);
}

Test(risesdf_volume, sharp_field_rays_match_the_reference) {
    /* inv_s 403: a trained model's sharpness, opacity ~1 within a few samples of the surface;
     * measured max difference 3e-7 (colour, opacity) and 1.5e-6 (depth) */
    uint32_t *bits;
    facet_risesdf_ray_params p = volume_params(0.6f, FACET_RISESDF_INDIRECT_OFF, &bits);
    cr_assert_geq(compare_volume_rays(&p, "volume_0.6_result", 1e-5f, 1e-5f), 8);
    free(bits);
}

Test(risesdf_volume, secondary_march_matches_the_reference) {
    /* the official second split-sum for every roughness (threshold 1): the 96-sample march from
     * o + D d along the reflection about the accumulated normal. The soft field leaves the
     * secondary rays partly transmitted, so the specular light of most opaque rays changes (by up
     * to 0.05); under a constant environment the parity and quality lookups agree. Measured max
     * difference 9e-7. */
    int64_t nr, cr, np, cp;
    const float *want = expected("volume_0.3_result_indirect", &nr, &cr);
    const float *plain = expected("volume_0.3_result", &np, &cp);
    int changed = 0;
    for (int64_t i = 0; i < nr; i++) changed += fabsf(want[5 * i + 1] - plain[5 * i + 1]) > 1e-3f;
    cr_assert_geq(changed, 4, "the fixture exercises the secondary march (%d rays change)",
                  changed);
    uint32_t *bits;
    facet_risesdf_ray_params p = volume_params(0.3f, FACET_RISESDF_INDIRECT_PARITY, &bits);
    compare_volume_rays(&p, "volume_0.3_result_indirect", 1e-5f, 1e-5f);
    p.indirect = FACET_RISESDF_INDIRECT_QUALITY;
    compare_volume_rays(&p, "volume_0.3_result_indirect", 1e-5f, 1e-5f);
    free(bits);
}

Test(risesdf_volume, second_split_sum_applies_to_opaque_smooth_pixels_only) {
    /* Rays not taking the secondary march (opacity <= 0.5, or summed roughness above the
     * threshold) keep the summed light: specular = (sum w R)(sum w L) exactly, the official
     * product of the summed maps. Threshold 0: no ray qualifies (roughness is a sigmoid). */
    int64_t n, c, nd, cd, ne, ce;
    const float *o = expected("volume_ray_origin", &n, &c);
    const float *d = expected("volume_ray_direction", &nd, &cd);
    const float *env = expected("env_rgb", &ne, &ce);
    facet_lighting lighting;
    facet_lighting_options options = {0};
    options.size = 64;
    cr_assert_eq(facet_lighting_build_uniform(&lighting, env, &options), FACET_OK);
    uint32_t *bits;
    facet_risesdf_ray_params p = volume_params(0.3f, FACET_RISESDF_INDIRECT_PARITY, &bits);
    int translucent = 0;
    for (int threshold = 0; threshold <= 1; threshold++) {
        p.indirect_max_roughness = (float)threshold;
        for (int64_t i = 0; i < n; i++) {
            facet_risesdf_volume_sums sums;
            facet_risesdf_volume_march(&p, &lighting.view, o + 3 * i, d + 3 * i, &sums, scratch);
            if (threshold == 1 && !(sums.opacity > 0.0f && sums.opacity <= 0.5f)) continue;
            translucent += threshold == 1;
            facet_ray_result r;
            facet_risesdf_volume_ray(&p, &lighting.view,
                                     facet_v3(o[3 * i], o[3 * i + 1], o[3 * i + 2]),
                                     facet_v3(d[3 * i], d[3 * i + 1], d[3 * i + 2]), &r, scratch);
            for (int k = 0; k < 3; k++)
                cr_assert_eq(r.rgb[k], sums.diffuse[k] + sums.reflectance[k] * sums.light[k],
                             "ray %lld", (long long)i);
        }
    }
    cr_assert_geq(translucent, 1, "a fixture ray has opacity in (0, 0.5]");
    free(bits);
    facet_lighting_free(&lighting);
}

Test(risesdf_volume, occupancy_grid_matches_the_reference) {
    /* facet builds the same 128^3 grid as the reference, cell for cell (measured: no cell
     * differs; a cell whose occupancy lies within float rounding of the threshold may) */
    uint32_t *want;
    facet_risesdf_ray_params p = volume_params(0.6f, FACET_RISESDF_INDIRECT_OFF, &want);
    uint32_t *bits;
    int64_t occupied, differ = 0;
    cr_assert_eq(facet_risesdf_occupancy_build(&p, &bits, &occupied), FACET_OK, "%s",
                 facet_last_error());
    for (int w = 0; w < 128 * 128 * 128 / 32; w++) differ += __builtin_popcount(bits[w] ^ want[w]);
    cr_assert_leq(differ, 4, "%lld cells differ", (long long)differ);
    int64_t n1, c1;
    cr_assert_eq((double)occupied, expected("volume_0.6_occupied", &n1, &c1)[0]);
    free(bits);
    free(want);
}

Test(risesdf_volume, occupancy_grid_marks_the_surface_band) {
    /* the grid rule (facet's grid equals the reference's, occupancy_grid_matches_the_reference):
     * every cell holding a point of the zero level set (found by bisection along the fixture rays)
     * is occupied, and cells whose centre lies more than 0.2 outside the surface are empty (the
     * NeuS alpha of a step there is < 1e-5) */
    int64_t n, c, nd, cd;
    uint32_t *bits;
    facet_risesdf_ray_params p = volume_params(0.6f, FACET_RISESDF_INDIRECT_OFF, &bits);
    const float *o = expected("volume_ray_origin", &n, &c);
    const float *d = expected("volume_ray_direction", &nd, &cd);
    const facet_risesdf_field *f = &p.field;
    int surface = 0;
    for (int64_t i = 0; i < n; i++) {
        float t = 0.0f, x[3];
        float prev = facet_risesdf_sdf(f, o + 3 * i, scratch);
        /* 0.01 steps until the sdf changes sign, then bisection */
        for (int k = 1; k <= 600 && prev > 0.0f; k++) {
            float lo = 0.01f * (float)(k - 1), hi = 0.01f * (float)k;
            for (int j = 0; j < 3; j++) x[j] = o[3 * i + j] + hi * d[3 * i + j];
            if (fabsf(x[0]) > 1.5f || fabsf(x[1]) > 1.5f || fabsf(x[2]) > 1.5f) continue;
            prev = facet_risesdf_sdf(f, x, scratch);
            if (prev > 0.0f) continue;
            for (int b = 0; b < 30; b++) {
                t = 0.5f * (lo + hi);
                for (int j = 0; j < 3; j++) x[j] = o[3 * i + j] + t * d[3 * i + j];
                if (facet_risesdf_sdf(f, x, scratch) > 0.0f)
                    lo = t;
                else
                    hi = t;
            }
            cr_assert(facet_risesdf_occupied(&p, x),
                      "surface point of ray %lld is in an empty cell", (long long)i);
            surface++;
        }
    }
    cr_assert_geq(surface, 8, "%d rays cross the surface", surface);
    int far = 0;
    for (int cell = 0; cell < 128 * 128 * 128; cell += 97) {
        const float cx[3] = {-1.5f + ((float)(cell / 16384) + 0.5f) * 3.0f / 128.0f,
                             -1.5f + ((float)(cell / 128 % 128) + 0.5f) * 3.0f / 128.0f,
                             -1.5f + ((float)(cell % 128) + 0.5f) * 3.0f / 128.0f};
        if (facet_risesdf_sdf(f, cx, scratch) < 0.2f) continue;
        cr_assert(!facet_risesdf_occupied(&p, cx), "cell %d (sdf %g) is occupied", cell,
                  (double)facet_risesdf_sdf(f, cx, scratch));
        far++;
    }
    cr_assert_gt(far, 10000, "most of the box is far from the surface (%d cells)", far);
    free(bits);
}

/* ---- loader errors --------------------------------------------------------------------------- */

/* Copies the small fixture to `name` in a scratch dir with one change: tensor `drop` left out,
 * tensor `reshape` flattened to 1D, an extra tensor `extra` added, metadata `meta_key` set to
 * `meta_value`, or tensor `poison` given a NaN. Returns the path. */
static const char *variant(const char *name, const char *drop, const char *reshape,
                           const char *extra, const char *meta_key, const char *meta_value,
                           const char *poison) {
    facet_safetensors st;
    cr_assert_eq(
        facet_safetensors_open(&st, test_source_path("tests/fixtures/risesdf/small.safetensors")),
        FACET_OK);
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_tensor copies[64];
    int ncopies = 0;
    for (int i = 0; i < st.count; i++) {
        if (drop && !strcmp(st.entries[i].name, drop)) continue;
        facet_tensor t = st.entries[i].tensor;
        if (reshape && !strcmp(st.entries[i].name, reshape)) {
            t.shape[0] = facet_tensor_numel(&t);
            t.ndim = 1;
        }
        if (poison && !strcmp(st.entries[i].name, poison)) {
            size_t bytes = (size_t)facet_tensor_numel(&t) * facet_dtype_size(t.dtype);
            void *data = malloc(bytes);
            memcpy(data, t.data, bytes);
            ((float *)data)[0] = NAN;
            t.data = data;
            copies[ncopies++] = t;
        }
        cr_assert_eq(facet_safetensors_writer_add(&w, st.entries[i].name, &t), FACET_OK);
    }
    float one = 1.0f;
    facet_tensor e = {FACET_DTYPE_F32, 1, {1}, &one, FACET_MEMORY_HOST, 0};
    if (extra) cr_assert_eq(facet_safetensors_writer_add(&w, extra, &e), FACET_OK);
    for (int i = 0; i < st.metadata_count; i++) {
        const char *value = st.metadata_values[i];
        if (meta_key && !strcmp(st.metadata_keys[i], meta_key)) value = meta_value;
        cr_assert_eq(facet_safetensors_writer_metadata(&w, st.metadata_keys[i], value), FACET_OK);
    }
    const char *dir = test_scratch_dir("risesdf_loader");
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    for (int i = 0; i < ncopies; i++) free(copies[i].data);
    facet_safetensors_close(&st);
    return path;
}

static void expect_load_error(const char *path, const char *text) {
    facet_risesdf_model m;
    cr_assert_neq(facet_risesdf_load(&m, path), FACET_OK);
    cr_assert(strstr(facet_last_error(), text), "error '%s' lacks '%s'", facet_last_error(), text);
    cr_assert_null(m.memory);
}

Test(risesdf_loader, missing_tensor_is_named) {
    expect_load_error(
        variant("missing.safetensors", "texture.metallic.1.bias", NULL, NULL, NULL, NULL, NULL),
        "missing tensor 'texture.metallic.1.bias'");
}

Test(risesdf_loader, misshaped_tensor_is_named) {
    expect_load_error(
        variant("shape.safetensors", NULL, "geometry.network.1.weight_v", NULL, NULL, NULL, NULL),
        "tensor 'geometry.network.1.weight_v': expected a float [out, 64] matrix");
}

Test(risesdf_loader, hash_table_size_must_match_the_config) {
    expect_load_error(
        variant("config.safetensors", NULL, NULL, NULL, "config",
                "{\"radius\": 1.5, \"n_levels\": 5, \"n_features_per_level\": 2, "
                "\"log2_hashmap_size\": 11, \"base_resolution\": 8, "
                "\"per_level_scale\": 1.5, \"feature_dim\": 48, \"n_frequencies\": 6, "
                "\"finite_difference_eps\": 0.05}",
                NULL),
        "tensor 'geometry.encoding.params': expected a float (F32, F16 or BF16) tensor");
}

Test(risesdf_loader, unexpected_tensor_is_named) {
    expect_load_error(
        variant("extra.safetensors", NULL, NULL, "texture.env.0.weight", NULL, NULL, NULL),
        "unexpected tensor 'texture.env.0.weight'");
}

Test(risesdf_loader, wrong_format_and_version_are_rejected) {
    expect_load_error(
        variant("format.safetensors", NULL, NULL, NULL, "format", "facet-livescene", NULL),
        "not facet RISE-SDF weights (__metadata__.format is 'facet-livescene'");
    expect_load_error(variant("version.safetensors", NULL, NULL, NULL, "version", "2", NULL),
                      "RISE-SDF weights format version 2, this facet reads version 1");
}

Test(risesdf_loader, config_keys_are_checked) {
    expect_load_error(
        variant("key.safetensors", NULL, NULL, NULL, "config",
                "{\"radius\": 1.5, \"n_levels\": 6, \"n_features_per_level\": 2, "
                "\"log2_hashmap_size\": 11, \"base_resolution\": 8, "
                "\"per_level_scale\": 1.5, \"feature_dim\": 48, \"n_frequencies\": 6}",
                NULL),
        "finite_difference_eps");
}

Test(risesdf_loader, non_finite_weights_are_rejected) {
    expect_load_error(
        variant("nan.safetensors", NULL, NULL, NULL, NULL, NULL, "texture.roughness.0.weight"),
        "tensor 'texture.roughness.0.weight': element 0 is not finite");
}

/* ---- facet eval --relight -------------------------------------------------------------------- */

/* A one-frame Blender-layout dataset looking at the small field from (0, -3, 0) (32 x 32). The
 * ground truth is the field's own sRGB render with the object's pixels scaled per channel by
 * (0.8, 0.9, 0.7), alpha 1 on the object and 0 elsewhere (white there): exactly what the
 * median-ratio alignment undoes. */
static const char *relight_dataset(facet_scene *scene) {
    const char *dir = test_scratch_dir("risesdf_relight");
    char path[1200];
    snprintf(path, sizeof path, "%s/transforms_test.json", dir);
    const char *transforms =
        "{\"camera_angle_x\": 0.7, \"frames\": [{\"file_path\": \"./r_0\", \"transform_matrix\": "
        "[[1, 0, 0, 0], [0, 0, -1, -3], [0, 1, 0, 0], [0, 0, 0, 1]]}]}";
    test_write_file(dir, "transforms_test.json", transforms, strlen(transforms));
    char scene_json[2048];
    snprintf(scene_json, sizeof scene_json,
             "{\"version\": 1, \"nodes\": [{\"type\": \"risesdf\", \"name\": \"m\", \"weights\": "
             "\"%s\"}]}",
             test_source_path("tests/fixtures/risesdf/small.safetensors"));
    test_write_file(dir, "scene.json", scene_json, strlen(scene_json));
    facet_image white;
    cr_assert_eq(facet_image_alloc(&white, 32, 32, 3), FACET_OK);
    for (int i = 0; i < 32 * 32 * 3; i++) white.data[i] = 1.0f;
    snprintf(path, sizeof path, "%s/r_0.png", dir);
    cr_assert_eq(facet_image_write_png(&white, path), FACET_OK);
    facet_image_free(&white);

    cr_assert_eq(facet_register_builtin_node_kinds(), FACET_OK);
    snprintf(path, sizeof path, "%s/scene.json", dir);
    cr_assert_eq(facet_scene_load(scene, path), FACET_OK, "%s", facet_last_error());
    facet_dataset ds;
    cr_assert_eq(facet_dataset_load(&ds, dir, FACET_SPLIT_TEST), FACET_OK, "%s",
                 facet_last_error());
    facet_camera cam = facet_frame_camera(&ds.frames[0], 0, 0);
    facet_render_options options = {0};
    facet_image render, srgb, gt;
    cr_assert_eq(facet_render_image(scene, &cam, &options, &render), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(facet_render_to_srgb(&render, &srgb), FACET_OK);
    cr_assert_eq(facet_image_alloc(&gt, 32, 32, 4), FACET_OK);
    const float k[3] = {0.8f, 0.9f, 0.7f};
    int object = 0;
    for (int p = 0; p < 32 * 32; p++) {
        const int inside = render.data[4 * p + 3] > 0.5f;
        object += inside;
        for (int c = 0; c < 3; c++)
            gt.data[4 * p + c] = inside ? k[c] * srgb.data[3 * p + c] : 1.0f;
        gt.data[4 * p + 3] = inside ? 1.0f : 0.0f;
    }
    cr_assert_gt(object, 50, "the object covers part of the frame (%d pixels)", object);
    snprintf(path, sizeof path, "%s/r_0.png", dir);
    cr_assert_eq(facet_image_write_png(&gt, path), FACET_OK);
    facet_image_free(&render);
    facet_image_free(&srgb);
    facet_image_free(&gt);
    facet_dataset_free(&ds);
    return dir;
}

static double eval_psnr(facet_scene *scene, const char *dir, int relight, char *metrics,
                        size_t size) {
    facet_dataset ds;
    cr_assert_eq(facet_dataset_load(&ds, dir, FACET_SPLIT_TEST), FACET_OK);
    facet_batch_options options = {0};
    options.shard.count = 1;
    options.relight = relight;
    char out[1200];
    snprintf(out, sizeof out, "%s/eval%d", dir, relight);
    facet_eval_result r;
    cr_assert_eq(facet_eval_run(scene, &ds, &options, out, dir, "test", &r), FACET_OK, "%s",
                 facet_last_error());
    const double psnr = r.psnr_mean;
    facet_eval_result_free(&r);
    facet_dataset_free(&ds);
    snprintf(out, sizeof out, "%s/eval%d/metrics.json", dir, relight);
    size_t n = 0;
    char *text = NULL;
    cr_assert_eq(facet_read_file(out, &text, &n), FACET_OK);
    snprintf(metrics, size, "%.*s", (int)n, text);
    free(text);
    return psnr;
}

Test(risesdf_eval, relight_aligns_by_the_median_ratio_over_the_gt_mask) {
    facet_scene scene;
    const char *dir = relight_dataset(&scene);
    char plain_json[8192], relight_json[8192];
    const double plain = eval_psnr(&scene, dir, 0, plain_json, sizeof plain_json);
    const double aligned = eval_psnr(&scene, dir, 1, relight_json, sizeof relight_json);
    /* unaligned: the 0.7-0.9 channel scales cost a lot; aligned: only 8-bit rounding is left */
    cr_assert_lt(plain, 30.0, "plain PSNR %g", plain);
    cr_assert_gt(aligned, 40.0, "aligned PSNR %g", aligned);
    cr_assert(strstr(relight_json, "\"align\":\t\"median-ratio\"") ||
                  strstr(relight_json, "\"align\": \"median-ratio\""),
              "%s", relight_json);
    cr_assert(strstr(plain_json, "\"align\":\t\"none\"") ||
              strstr(plain_json, "\"align\": \"none\""));
    facet_scene_free(&scene);
}

/* ---- the node's scene JSON
 * ----------------------------------------------------------------------- */

static facet_status load_scene(const char *node_json, facet_scene *scene) {
    const char *dir = test_scratch_dir("risesdf_node");
    char json[2048], path[1200];
    snprintf(json, sizeof json, "{\"version\": 1, \"nodes\": [%s]}", node_json);
    test_write_file(dir, "scene.json", json, strlen(json));
    snprintf(path, sizeof path, "%s/scene.json", dir);
    cr_assert_eq(facet_register_builtin_node_kinds(), FACET_OK);
    return facet_scene_load(scene, path);
}

Test(risesdf_node, unknown_render_mode_is_rejected) {
    facet_scene scene;
    char node[1500];
    snprintf(node, sizeof node,
             "{\"type\": \"risesdf\", \"weights\": \"%s\", \"mode\": \"voxels\"}",
             test_source_path("tests/fixtures/risesdf/small.safetensors"));
    cr_assert_neq(load_scene(node, &scene), FACET_OK);
    cr_assert(strstr(facet_last_error(), "/scene.json: key 'nodes[0].mode': unknown "
                                         "render mode 'voxels' (expected \"sphere_trace\" or "
                                         "\"volume\")"),
              "%s", facet_last_error());
}

Test(risesdf_node, render_mode_must_be_a_string) {
    facet_scene scene;
    char node[1500];
    snprintf(node, sizeof node, "{\"type\": \"risesdf\", \"weights\": \"%s\", \"mode\": 1}",
             test_source_path("tests/fixtures/risesdf/small.safetensors"));
    cr_assert_neq(load_scene(node, &scene), FACET_OK);
    cr_assert(strstr(facet_last_error(), "scene.json"), "%s", facet_last_error());
    cr_assert(strstr(facet_last_error(), "nodes[0].mode"), "%s", facet_last_error());
}

/* The small fixture field with its NeuS variance replaced, written to the scratch dir. */
static const char *with_variance(float variance) {
    facet_safetensors st;
    cr_assert_eq(
        facet_safetensors_open(&st, test_source_path("tests/fixtures/risesdf/small.safetensors")),
        FACET_OK);
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_tensor v = {FACET_DTYPE_F32, 1, {1}, &variance, FACET_MEMORY_HOST, 0};
    for (int i = 0; i < st.count; i++)
        cr_assert_eq(facet_safetensors_writer_add(
                         &w, st.entries[i].name,
                         strcmp(st.entries[i].name, "variance") ? &st.entries[i].tensor : &v),
                     FACET_OK);
    for (int i = 0; i < st.metadata_count; i++)
        cr_assert_eq(
            facet_safetensors_writer_metadata(&w, st.metadata_keys[i], st.metadata_values[i]),
            FACET_OK);
    static char path[1024];
    snprintf(path, sizeof path, "%s/sharp.safetensors", test_scratch_dir("risesdf_sharp"));
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors_close(&st);
    return path;
}

/* A 64 x 64 sRGB render of the node from (0, -3, 0) on a white background (which also lights
 * it: no environment map). */
static void render_node(const char *node_json, facet_image *srgb) {
    facet_scene scene;
    cr_assert_eq(load_scene(node_json, &scene), FACET_OK, "%s", facet_last_error());
    facet_mat4 c2w = {{1, 0, 0, 0, 0, 0, -1, -3, 0, 1, 0, 0, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 0.7f, 64, 64);
    facet_render_options options = {0};
    facet_image linear;
    cr_assert_eq(facet_render_image(&scene, &cam, &options, &linear), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(facet_render_to_srgb(&linear, srgb), FACET_OK);
    facet_image_free(&linear);
    facet_scene_free(&scene);
}

Test(risesdf_node, volume_and_sphere_trace_modes_agree_on_a_sharp_field) {
    /* variance 0.8 (inv_s 2981: the surface is a ~0.002 thick shell, finer than a pixel's ~0.03
     * footprint): the volume render's weighted sums collapse to the sphere-traced surface but at
     * silhouettes, where its opacity is fractional. Measured 46.5 dB. */
    const char *weights = with_variance(0.8f);
    char node[1500];
    facet_image sphere, volume;
    snprintf(node, sizeof node, "{\"type\": \"risesdf\", \"weights\": \"%s\"}", weights);
    render_node(node, &sphere);
    snprintf(node, sizeof node,
             "{\"type\": \"risesdf\", \"weights\": \"%s\", \"mode\": \"volume\"}", weights);
    render_node(node, &volume);
    double psnr;
    cr_assert_eq(facet_psnr(&sphere, &volume, NULL, &psnr), FACET_OK);
    cr_assert_gt(psnr, 43.0, "volume vs sphere trace: %.2f dB", psnr);
    facet_image_free(&sphere);
    facet_image_free(&volume);
}

Test(risesdf_node, weights_errors_name_the_key_and_the_file) {
    facet_scene scene;
    cr_assert_neq(
        load_scene("{\"type\": \"risesdf\", \"weights\": \"missing.safetensors\"}", &scene),
        FACET_OK);
    cr_assert(strstr(facet_last_error(), ".weights'"), "%s", facet_last_error());
    cr_assert(strstr(facet_last_error(), "missing.safetensors"), "%s", facet_last_error());
}

Test(risesdf_node, march_options_are_range_checked) {
    facet_scene scene;
    char node[1500];
    snprintf(node, sizeof node, "{\"type\": \"risesdf\", \"weights\": \"%s\", \"step_scale\": 1.5}",
             test_source_path("tests/fixtures/risesdf/small.safetensors"));
    cr_assert_neq(load_scene(node, &scene), FACET_OK);
    cr_assert(strstr(facet_last_error(), "step_scale': expected a number in (0, 1], got 1.5"), "%s",
              facet_last_error());
}
