/* LiveScene runtime: loading facet weights, the per-point field functions and the per-ray
 * renderer against the PyTorch reference (tools/reference/livescene_ref.py fixtures), the default
 * configuration's sizes, and every malformed weights file. */
#include "helpers.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "fields/livescene.h"
#include "nodes/livescene_lanes.h"
#include "nodes/livescene_ray.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- default-config weights (facet_livescene_write_random) and variants of them ----------- */

static char default_config[4096];

/* Writes random default-config weights to `path`, then rewrites them with `config` as metadata,
 * without the tensor `skip` (or NULL) and, when `extra`, with an unexpected tensor added. */
static void write_default(const char *path, const char *config, const char *skip, int extra) {
    char *random_path = facet_format("%s.random", path);
    cr_assert_eq(facet_livescene_write_random(random_path, default_config, 7), FACET_OK, "%s",
                 facet_last_error());
    facet_safetensors in;
    cr_assert_eq(facet_safetensors_open(&in, random_path), FACET_OK);
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_safetensors_writer_metadata(&w, "format", "facet-livescene");
    facet_safetensors_writer_metadata(&w, "version", "1");
    facet_safetensors_writer_metadata(&w, "config", config);
    for (int i = 0; i < in.count; i++)
        if (!skip || strcmp(in.entries[i].name, skip) != 0)
            facet_safetensors_writer_add(&w, in.entries[i].name, &in.entries[i].tensor);
    float four[4] = {0};
    facet_tensor t = {FACET_DTYPE_F32, 1, {4}, four, FACET_MEMORY_HOST, 0};
    if (extra) facet_safetensors_writer_add(&w, "field.appearance_embedding", &t);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors_close(&in);
    remove(random_path);
    free(random_path);
}

static void init_default_config(void) {
    facet_livescene_default_config(2, default_config, sizeof default_config);
}

Test(livescene, default_config_loads_with_official_sizes_and_renders, .init = init_default_config) {
    const char *dir = test_scratch_dir("ls_default");
    char *path = facet_path_join(dir, "default.safetensors");
    write_default(path, default_config, NULL, 0);
    facet_livescene_model m;
    cr_assert_eq(facet_livescene_load(&m, path, FACET_PLANE_F16), FACET_OK, "%s",
                 facet_last_error());
    /* planes: 32 x (3 x 128^2 + 3 x 128 x 32) x (1 + 4 + 16 spatial scaling / kappa kept) ... */
    int64_t planes = 0;
    for (int sc = 0; sc < 3; sc++) {
        int64_t r = 128 << sc;
        planes += 32 * (3 * r * r + 3 * r * 32);
    }
    planes +=
        8 * (3 * 64 * 64 + 3 * 64 * 32) + 8 * (3 * 128 * 128 + 3 * 128 * 32) + 8 * (3 * 128 * 128);
    int64_t mlps = (96 * 64 + 64 + 64 * 16) + (31 * 64 + 64 + 64 * 64 + 64 * 3) +
                   2 * (8 * 64 + 64 + 64) + (10 * 64 + 64 + 64 * 3);
    cr_assert_eq(m.parameter_count, planes + mlps);
    cr_assert(m.parameter_count > 36700000 && m.parameter_count < 36900000,
              "about 36.8M parameters, got %lld", (long long)m.parameter_count);
    cr_assert_eq(m.field.objects, 2);
    cr_assert_str_eq(m.object_names[1], "object1");
    facet_livescene_sampling sampling = {2, {256, 128, 48}, 0.0f};
    const float kappa[2] = {0.3f, 0.9f};
    for (int i = 0; i < 4; i++) {
        float o[3] = {0.5f * i, -4.0f, 0.3f}, d[3] = {0.0f, 1.0f, 0.0f};
        facet_livescene_ray_output out;
        facet_livescene_render_ray(&m.field, &sampling, o, d, kappa, &out);
        cr_assert(isfinite(out.rgb[0]) && isfinite(out.depth) && out.accumulation >= 0 &&
                  out.accumulation <= 1.0001f);
    }
    facet_livescene_free(&m);
    free(path);
}

/* The sample-batched CPU renderer (nodes/livescene_lanes.c) against the per-ray one, bit for
 * bit: random rays through, beside and from inside the box, random kappa, on the default config in
 * f32 and f16 planes with the official sample counts and with counts that leave partial blocks
 * (37/21/9: lanes past the last sample must not leak into the result). */
static void expect_lanes_identical(const facet_livescene_field *f,
                                   const facet_livescene_sampling *sampling, uint64_t seed) {
    facet_rng rng = facet_rng_seed(seed, 3);
    int differing = 0;
    for (int r = 0; r < 48; r++) {
        float o[3], d[3], kappa[FACET_LIVESCENE_MAX_OBJECTS], length = 0.0f;
        for (int c = 0; c < 3; c++) {
            o[c] = (r % 3 == 0 ? 1.5f : 6.0f) * (2.0f * facet_rng_uniform(&rng) - 1.0f);
            d[c] = 2.0f * facet_rng_uniform(&rng) - 1.0f - 0.3f * o[c];
            length += d[c] * d[c];
        }
        for (int c = 0; c < 3; c++) d[c] /= sqrtf(length);
        for (int i = 0; i < f->objects; i++) kappa[i] = facet_rng_uniform(&rng);
        facet_livescene_ray_output per_ray, lanes;
        memset(&per_ray, 0, sizeof per_ray);
        facet_livescene_render_ray(f, sampling, o, d, kappa, &per_ray);
        memset(&lanes, 0, sizeof lanes);
        facet_livescene_render_ray_lanes(f, sampling, o, d, kappa, &lanes);
        cr_assert(isfinite(per_ray.rgb[0]) && isfinite(per_ray.depth));
        differing += memcmp(&per_ray, &lanes, sizeof per_ray) != 0;
    }
    cr_assert_eq(differing, 0, "%d of 48 rays differ between the renderers", differing);
}

Test(livescene, sample_batched_renderer_is_the_per_ray_renderer_bit_for_bit,
     .init = init_default_config) {
    const char *dir = test_scratch_dir("ls_lanes");
    char *path = facet_path_join(dir, "default.safetensors");
    write_default(path, default_config, NULL, 0);
    const facet_plane_storage storages[3] = {FACET_PLANE_F32, FACET_PLANE_F16, FACET_PLANE_BF16};
    for (int k = 0; k < 3; k++) {
        facet_livescene_model m;
        cr_assert_eq(facet_livescene_load(&m, path, storages[k]), FACET_OK, "%s",
                     facet_last_error());
        facet_livescene_sampling official = {2, {256, 128, 48}, 0.0f};
        facet_livescene_sampling partial = {2, {37, 21, 9}, 0.0f};
        expect_lanes_identical(&m.field, &official, 11 + k);
        expect_lanes_identical(&m.field, &partial, 21 + k);
        facet_livescene_free(&m);
    }
    /* channel counts that are not multiples of 8 (the vector loads' remainder), three objects */
    const char *odd =
        "{\"aabb\": [[-2, -2, -2], [2, 2, 2]], \"grid_base_resolution\": [24, 20, 16, 6], "
        "\"multiscale_res\": [1, 2], \"grid_feature_dim\": 12, \"geo_feat_dim\": 15, "
        "\"proposals\": [{\"resolution\": [16, 16, 16, 6], \"feature_dim\": 5}], "
        "\"probability\": {\"resolution\": [16, 16, 16], \"feature_dim\": 3}, "
        "\"num_proposal_samples\": [40], \"num_samples\": 20, \"near_plane\": 0.0, "
        "\"background_color\": [1, 1, 1], \"objects\": [\"a\", \"b\", \"c\"]}";
    cr_assert_eq(facet_livescene_write_random(path, odd, 5), FACET_OK, "%s", facet_last_error());
    for (int k = 0; k < 3; k++) {
        facet_livescene_model m;
        cr_assert_eq(facet_livescene_load(&m, path, storages[k]), FACET_OK, "%s",
                     facet_last_error());
        facet_livescene_sampling sampling = {1, {40, 20}, 0.0f};
        expect_lanes_identical(&m.field, &sampling, 31 + k);
        facet_livescene_free(&m);
    }
    free(path);
}

static void expect_load_error(const char *config, const char *skip, int extra,
                              const char *fragment) {
    const char *dir = test_scratch_dir("ls_bad");
    char *path = facet_path_join(dir, "bad.safetensors");
    write_default(path, config, skip, extra);
    facet_livescene_model m;
    cr_assert_neq(facet_livescene_load(&m, path, FACET_PLANE_F32), FACET_OK);
    cr_assert(strstr(facet_last_error(), fragment), "message '%s' lacks '%s'", facet_last_error(),
              fragment);
    cr_assert(strstr(facet_last_error(), "bad.safetensors"), "names the file: %s",
              facet_last_error());
    free(path);
}

Test(livescene, missing_tensor_is_named, .init = init_default_config) {
    expect_load_error(default_config, "field.color_net.2.weight", 0,
                      "network 'field.color_net' has 64 outputs, the config needs 3");
    expect_load_error(default_config, "proposal.1.plane.4", 0,
                      "missing tensor 'proposal.1.plane.4'");
}

Test(livescene, unexpected_tensor_is_named, .init = init_default_config) {
    expect_load_error(default_config, NULL, 1, "unexpected tensor 'field.appearance_embedding'");
}

/* default_config with the first `from` replaced by `to` (static buffer). */
static const char *config_with(const char *from, const char *to) {
    static char config[sizeof default_config + 64];
    const char *at = strstr(default_config, from);
    cr_assert_not_null(at);
    snprintf(config, sizeof config, "%.*s%s%s", (int)(at - default_config), default_config, to,
             at + strlen(from));
    return config;
}

Test(livescene, shape_disagreeing_with_config_is_named, .init = init_default_config) {
    expect_load_error(config_with("[128, 128, 128, 32]", "[128, 128, 128, 16]"), NULL, 0,
                      "tensor 'field.grids.0.plane.2': expected a float tensor [32,16,128]");
}

Test(livescene, bad_config_is_named, .init = init_default_config) {
    expect_load_error(config_with("geo_feat_dim", "geo_feature_dim"), NULL, 0,
                      "unknown key 'geo_feature_dim'");
    expect_load_error(config_with("\"num_samples\": 48", "\"num_samples\": 4800"), NULL, 0,
                      "key 'num_samples': expected an integer in [1, 512]");
    expect_load_error(config_with("[\"object0\", \"object1\"]", "[\"object0\"]"), NULL, 0,
                      "tensor 'probability.semantic_net.0.weight'");
}

Test(livescene, non_livescene_safetensors_is_rejected_with_a_hint) {
    const char *dir = test_scratch_dir("ls_other");
    char *path = facet_path_join(dir, "other.safetensors");
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK);
    facet_safetensors_writer_free(&w);
    facet_livescene_model m;
    cr_assert_eq(facet_livescene_load(&m, path, FACET_PLANE_F32), FACET_ERR_FORMAT);
    cr_assert(strstr(facet_last_error(), "tools/convert_livescene.py"), "%s", facet_last_error());
    free(path);
}

/* ---- per-element functions against hand-computed values -------------------------------------- */

Test(livescene, bilinear_matches_grid_sample_align_corners_border) {
    /* 1 channel, 3 x 2 plane (width 3 along a, height 2 along b), values v(x, y) = x + 10 y */
    const float plane[6] = {0, 1, 2, 10, 11, 12};
    float out;
    facet_plane_bilinear(plane, FACET_PLANE_F32, 3, 2, 1, -1.0f, -1.0f, &out);
    cr_assert_float_eq(out, 0.0f, 1e-6, "(-1,-1) is the first texel centre");
    facet_plane_bilinear(plane, FACET_PLANE_F32, 3, 2, 1, 1.0f, 1.0f, &out);
    cr_assert_float_eq(out, 12.0f, 1e-6, "(1,1) is the last texel centre");
    facet_plane_bilinear(plane, FACET_PLANE_F32, 3, 2, 1, 0.5f, 0.0f, &out);
    cr_assert_float_eq(out, 1.5f + 5.0f, 1e-5, "x = 1.5, y = 0.5");
    facet_plane_bilinear(plane, FACET_PLANE_F32, 3, 2, 1, 3.0f, -7.0f, &out);
    cr_assert_float_eq(out, 2.0f, 1e-6, "outside: clamped to the border");
}

Test(livescene, sh_is_tcnn_basis) {
    float sh[16];
    facet_sh4(0.0f, 0.0f, 1.0f, sh); /* +z: only m = 0 terms survive */
    cr_assert_float_eq(sh[0], 0.28209479f, 1e-7);
    cr_assert_float_eq(sh[2], 0.48860251f, 1e-7);
    cr_assert_float_eq(sh[6], 0.94617470f - 0.31539157f, 1e-6);
    cr_assert_float_eq(sh[12], 0.37317633f * 2.0f, 1e-6);
    cr_assert_float_eq(sh[1], 0.0f, 1e-7);
    facet_sh4(1.0f, 0.0f, 0.0f, sh);
    cr_assert_float_eq(sh[3], -0.48860251f, 1e-7, "tcnn's sign: -sqrt(3) x / (2 sqrt(pi))");
}

Test(livescene, pdf_resampling_of_flat_weights_is_uniform) {
    /* equal weights: cdf is linear, so the resampled bins are u_k mapped back linearly */
    float bins[5] = {0, 0.25f, 0.5f, 0.75f, 1}, weights[4] = {1, 1, 1, 1}, cdf[5], out[4];
    facet_livescene_pdf_resample(bins, weights, 4, 3, cdf, out);
    for (int k = 0; k < 4; k++) cr_assert_float_eq(out[k], (k + 0.5f) / 4.0f, 1e-6);
}

Test(livescene, weights_follow_the_volume_rendering_integral) {
    float bins[3] = {0, 0.5f, 1}, sigma[2] = {1, 2}, w[2], depth[2];
    facet_livescene_weights(bins, sigma, 2, 1.0f, 3.0f, w, depth); /* deltas 1 and 1 */
    cr_assert_float_eq(w[0], 1 - expf(-1), 1e-6);
    cr_assert_float_eq(w[1], (1 - expf(-2)) * expf(-1), 1e-6);
}

/* ---- parity with the PyTorch reference (tools/reference/livescene_ref.py fixtures) ----------- */

/* The small config's weights converted by tools/convert_livescene.py, and the reference's
 * per-point and per-ray values for them. Tolerance: |facet - ref| <= 1e-5 + 1e-5 |ref|. */
typedef struct parity {
    facet_livescene_model model;
    facet_safetensors fixtures;
    double worst; /* largest |facet - ref| / (1e-5 + 1e-5 |ref|) seen */
} parity;

static void parity_open(parity *p) {
    cr_assert_eq(facet_livescene_load(
                     &p->model, test_source_path("tests/fixtures/livescene/small.safetensors"),
                     FACET_PLANE_F32),
                 FACET_OK, "%s", facet_last_error());
    cr_assert_eq(
        facet_safetensors_open(&p->fixtures,
                               test_source_path("tests/fixtures/livescene/fixtures.safetensors")),
        FACET_OK, "%s", facet_last_error());
    p->worst = 0;
}

static void parity_close(parity *p, const char *what) {
    cr_log_info("%s: worst error %.3f of the tolerance 1e-5 + 1e-5 |ref|", what, p->worst);
    facet_safetensors_close(&p->fixtures);
    facet_livescene_free(&p->model);
}

static const float *fixture(parity *p, const char *name, int64_t numel) {
    const facet_tensor *t = facet_safetensors_get(&p->fixtures, name);
    cr_assert_not_null(t, "%s", facet_last_error());
    cr_assert_eq(facet_tensor_numel(t), numel, "'%s' has %lld values, expected %lld", name,
                 (long long)facet_tensor_numel(t), (long long)numel);
    return t->data;
}

static int64_t fixture_dim(parity *p, const char *name, int axis) {
    const facet_tensor *t = facet_safetensors_get(&p->fixtures, name);
    cr_assert_not_null(t, "%s", facet_last_error());
    return t->shape[axis];
}

static void close_to(parity *p, float got, float want, const char *what, int64_t i, int64_t j) {
    double tolerance = 1e-5 + 1e-5 * fabs(want);
    double ratio = fabs((double)got - want) / tolerance;
    if (ratio > p->worst) p->worst = ratio;
    cr_assert(fabs((double)got - want) <= tolerance, "%s[%lld][%lld]: facet %.9g, reference %.9g",
              what, (long long)i, (long long)j, got, want);
}

Test(livescene_parity, per_point_field_functions) {
    parity p;
    parity_open(&p);
    const facet_livescene_field *f = &p.model.field;
    const int64_t n = fixture_dim(&p, "point.positions", 0);
    const int a = f->objects, feat = f->grids[0].channels * f->scales;
    const float *pos = fixture(&p, "point.positions", n * 3),
                *kappa = fixture(&p, "point.kappa", n * a);
    const float *dirs = fixture(&p, "point.directions", n * 3);
    const float *prob_features =
        fixture(&p, "point.prob_features", n * f->probability_grid.channels);
    const float *logits_ref = fixture(&p, "point.logits", n * (a + 1));
    const int32_t *object_ref = (const int32_t *)fixture(&p, "point.object", n);
    const float *kappa_sel = fixture(&p, "point.kappa_sel", n);
    const float *prop0 = fixture(&p, "point.proposal.0.density", n);
    const float *prop1 = fixture(&p, "point.proposal.1.density", n);
    const float *features = fixture(&p, "point.field.features", n * feat);
    const float *sigma_out = fixture(&p, "point.field.sigma_out", n * (f->geo_feat_dim + 1));
    const float *density = fixture(&p, "point.field.density", n);
    const float *sh_ref = fixture(&p, "point.sh", n * 16),
                *rgb_ref = fixture(&p, "point.rgb", n * 3);
    for (int64_t i = 0; i < n; i++) {
        const float *x = pos + i * 3;
        float pf[FACET_KPLANES_MAX_CHANNELS], logits[FACET_LIVESCENE_MAX_OBJECTS + 1] = {0};
        facet_kplanes_sample(&f->probability_grid, x, pf);
        for (int c = 0; c < f->probability_grid.channels; c++)
            close_to(&p, 1.0f / (1.0f + expf(-pf[c])),
                     prob_features[i * f->probability_grid.channels + c], "prob_features", i, c);
        int object = facet_livescene_probability(f, x, kappa + i * a, logits);
        for (int c = 0; c <= a; c++)
            close_to(&p, logits[c], logits_ref[i * (a + 1) + c], "logits", i, c);
        cr_assert_eq(object, object_ref[i], "point %lld: object %d, reference %d", (long long)i,
                     object, object_ref[i]);
        close_to(&p, kappa[i * a + object], kappa_sel[i], "kappa_sel", i, 0);
        close_to(&p, facet_livescene_proposal_density(f, 0, x, kappa_sel[i]), prop0[i],
                 "proposal.0", i, 0);
        close_to(&p, facet_livescene_proposal_density(f, 1, x, kappa_sel[i]), prop1[i],
                 "proposal.1", i, 0);
        float coords[4], enc[FACET_LIVESCENE_MAX_SCALES * FACET_KPLANES_MAX_CHANNELS],
            geo[FACET_LIVESCENE_MAX_GEO];
        facet_livescene_coords4(f, x, kappa_sel[i], coords);
        for (int s = 0, off = 0; s < f->scales; off += f->grids[s].channels, s++)
            facet_kplanes_sample(&f->grids[s], coords, enc + off);
        for (int c = 0; c < feat; c++)
            close_to(&p, enc[c], features[i * feat + c], "field.features", i, c);
        float sigma = facet_livescene_field_density(f, x, kappa_sel[i], geo);
        for (int c = 0; c < f->geo_feat_dim; c++)
            close_to(&p, geo[c], sigma_out[i * (f->geo_feat_dim + 1) + c], "sigma_out", i, c);
        close_to(&p, sigma, density[i], "field.density", i, 0);
        float sh[16], rgb[3];
        facet_sh4_tcnn(dirs[i * 3], dirs[i * 3 + 1], dirs[i * 3 + 2], sh);
        for (int c = 0; c < 16; c++) close_to(&p, sh[c], sh_ref[i * 16 + c], "sh", i, c);
        facet_livescene_field_color(f, dirs + i * 3, geo, rgb);
        for (int c = 0; c < 3; c++) close_to(&p, rgb[c], rgb_ref[i * 3 + c], "rgb", i, c);
    }
    parity_close(&p, "per-point functions");
}

Test(livescene_parity, sampler_stages_given_reference_inputs) {
    /* each stage fed the reference's input of that stage, so a mismatch points at one step */
    parity p;
    parity_open(&p);
    const facet_livescene_field *f = &p.model.field;
    const int64_t rays = fixture_dim(&p, "ray.origins", 0);
    const int a = f->objects;
    const float *o = fixture(&p, "ray.origins", rays * 3),
                *d = fixture(&p, "ray.directions", rays * 3);
    const float *kappa = fixture(&p, "ray.kappa", rays * a);
    const float *nears = fixture(&p, "ray.nears", rays), *fars = fixture(&p, "ray.fars", rays);
    for (int level = 0; level <= f->proposals; level++) {
        char name[64];
        snprintf(name, sizeof name, "ray.level%d.bins", level);
        const int n = (int)fixture_dim(&p, name, 1) - 1;
        const float *bins = fixture(&p, name, rays * (n + 1));
        snprintf(name, sizeof name, "ray.level%d.density", level);
        const float *density = fixture(&p, name, rays * n);
        snprintf(name, sizeof name, "ray.level%d.weights", level);
        const float *weights = fixture(&p, name, rays * n);
        snprintf(name, sizeof name, "ray.level%d.kappa_sel", level);
        const float *kappa_sel = fixture(&p, name, rays * n);
        for (int64_t r = 0; r < rays; r++) {
            float near, far;
            facet_livescene_collide(f, o + r * 3, d + r * 3, 0.0f, &near, &far);
            close_to(&p, near, nears[r], "near", r, 0);
            close_to(&p, far, fars[r], "far", r, 0);
            const float *b = bins + r * (n + 1);
            if (level == 0)
                for (int j = 0; j <= n; j++)
                    close_to(&p, (float)j / (float)n, b[j], "level0 bins", r, j);
            float sigma[FACET_LIVESCENE_MAX_SAMPLES], w[FACET_LIVESCENE_MAX_SAMPLES],
                depth[FACET_LIVESCENE_MAX_SAMPLES];
            for (int j = 0; j < n; j++) {
                float mid = facet_livescene_bin_mid(b, j, nears[r], fars[r]);
                float pos[3] = {o[r * 3] + d[r * 3] * mid, o[r * 3 + 1] + d[r * 3 + 1] * mid,
                                o[r * 3 + 2] + d[r * 3 + 2] * mid};
                float logits[FACET_LIVESCENE_MAX_OBJECTS + 1] = {0}, geo[FACET_LIVESCENE_MAX_GEO];
                int object = facet_livescene_probability(f, pos, kappa + r * a, logits);
                close_to(&p, kappa[r * a + object], kappa_sel[r * n + j], "kappa_sel", r, j);
                sigma[j] =
                    level < f->proposals
                        ? facet_livescene_proposal_density(f, level, pos, kappa_sel[r * n + j])
                        : facet_livescene_field_density(f, pos, kappa_sel[r * n + j], geo);
                close_to(&p, sigma[j], density[r * n + j], "density", r, j);
            }
            facet_livescene_weights(b, density + r * n, n, nears[r], fars[r], w, depth);
            for (int j = 0; j < n; j++) close_to(&p, w[j], weights[r * n + j], "weights", r, j);
            if (level < f->proposals) {
                snprintf(name, sizeof name, "ray.level%d.bins", level + 1);
                const int m = (int)fixture_dim(&p, name, 1) - 1;
                const float *next = fixture(&p, name, rays * (m + 1));
                float cdf[FACET_LIVESCENE_MAX_SAMPLES + 1], out[FACET_LIVESCENE_MAX_SAMPLES + 1];
                facet_livescene_pdf_resample(b, weights + r * n, n, m, cdf, out);
                for (int j = 0; j <= m; j++)
                    close_to(&p, out[j], next[r * (m + 1) + j], "pdf bins", r, j);
            }
        }
    }
    parity_close(&p, "sampler stages");
}

Test(livescene_parity, whole_rays_end_to_end) {
    parity p;
    parity_open(&p);
    const facet_livescene_field *f = &p.model.field;
    const int64_t rays = fixture_dim(&p, "ray.origins", 0);
    const int a = f->objects;
    const float *o = fixture(&p, "ray.origins", rays * 3),
                *d = fixture(&p, "ray.directions", rays * 3);
    const float *kappa = fixture(&p, "ray.kappa", rays * a);
    const float *rgb = fixture(&p, "ray.rgb", rays * 3), *depth = fixture(&p, "ray.depth", rays);
    const float *acc = fixture(&p, "ray.accumulation", rays),
                *masks = fixture(&p, "ray.masks", rays * (a + 1));
    facet_livescene_sampling sampling = {f->proposals, {0}, 0.0f};
    for (int i = 0; i < f->proposals; i++) sampling.samples[i] = p.model.num_proposal_samples[i];
    sampling.samples[f->proposals] = p.model.num_samples;
    for (int64_t q = 0; q < 2 * rays; q++) { /* the per-ray renderer, then the sample-batched */
        const int64_t r = q % rays;
        facet_livescene_ray_output out;
        if (q < rays)
            facet_livescene_render_ray(f, &sampling, o + r * 3, d + r * 3, kappa + r * a, &out);
        else
            facet_livescene_render_ray_lanes(f, &sampling, o + r * 3, d + r * 3, kappa + r * a,
                                             &out);
        for (int c = 0; c < 3; c++) {
            float white = fminf(fmaxf(out.rgb[c] + (1.0f - out.accumulation), 0.0f), 1.0f);
            close_to(&p, white, rgb[r * 3 + c], "rgb", r, c);
        }
        close_to(&p, out.depth, depth[r], "depth", r, 0);
        close_to(&p, out.accumulation, acc[r], "accumulation", r, 0);
        float peak = out.mask_logits[0], total = 0;
        for (int c = 1; c <= a; c++) peak = fmaxf(peak, out.mask_logits[c]);
        for (int c = 0; c <= a; c++) total += expf(out.mask_logits[c] - peak);
        for (int c = 0; c <= a; c++)
            close_to(&p, expf(out.mask_logits[c] - peak) / total, masks[r * (a + 1) + c], "masks",
                     r, c);
    }
    parity_close(&p, "whole rays");
}

/* Plane storage in f16 / bf16 (scene option "plane_dtype"): the accuracy cost on the fixture
 * rays against the f32 reference values, as the largest and the mean |rgb error|. Bounds are what
 * was measured, rounded up. bf16 (8-bit mantissa) can flip a sample's object choice or move a
 * PDF sample on these random weights, so its worst ray is far off while the mean stays small. */
static double storage_error(facet_plane_storage storage, double *mean) {
    parity p;
    parity_open(&p);
    facet_livescene_free(&p.model);
    cr_assert_eq(
        facet_livescene_load(
            &p.model, test_source_path("tests/fixtures/livescene/small.safetensors"), storage),
        FACET_OK);
    const facet_livescene_field *f = &p.model.field;
    const int64_t rays = fixture_dim(&p, "ray.origins", 0);
    const int a = f->objects;
    const float *o = fixture(&p, "ray.origins", rays * 3),
                *d = fixture(&p, "ray.directions", rays * 3);
    const float *kappa = fixture(&p, "ray.kappa", rays * a),
                *rgb = fixture(&p, "ray.rgb", rays * 3);
    facet_livescene_sampling sampling = {f->proposals, {0}, 0.0f};
    for (int i = 0; i < f->proposals; i++) sampling.samples[i] = p.model.num_proposal_samples[i];
    sampling.samples[f->proposals] = p.model.num_samples;
    double worst = 0, sum = 0;
    for (int64_t r = 0; r < rays; r++) {
        facet_livescene_ray_output out;
        facet_livescene_render_ray(f, &sampling, o + r * 3, d + r * 3, kappa + r * a, &out);
        for (int c = 0; c < 3; c++) {
            float white = fminf(fmaxf(out.rgb[c] + (1.0f - out.accumulation), 0.0f), 1.0f);
            worst = fmax(worst, fabs(white - rgb[r * 3 + c]));
            sum += fabs(white - rgb[r * 3 + c]);
        }
    }
    *mean = sum / (double)(rays * 3);
    parity_close(&p, "storage");
    return worst;
}

Test(livescene_parity, f16_and_bf16_plane_storage_accuracy) {
    double f16_mean, bf16_mean;
    double f16 = storage_error(FACET_PLANE_F16, &f16_mean);
    double bf16 = storage_error(FACET_PLANE_BF16, &bf16_mean);
    cr_log_info("|rgb - reference|: f16 planes max %.2e mean %.2e; bf16 planes max %.2e mean %.2e",
                f16, f16_mean, bf16, bf16_mean);
    cr_assert_lt(f16, 2e-3);
    cr_assert_lt(f16_mean, 5e-4);
    cr_assert_lt(bf16_mean, 3e-2);
}
