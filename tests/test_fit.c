/* Fitting: backward passes against finite differences (per-point functions and a whole training
 * ray with its losses at frozen sample positions), the loss falling on a tiny generated scene, and
 * kill-and-resume giving the same weights as an uninterrupted run. */
#include "helpers.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "datasets/synth_scene.h"
#include "fields/livescene_backward.h"
#include "render/livescene_fit.h"
#include "render/livescene_train.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small random model (2 objects) with its gradient view. */
typedef struct model_pair {
    facet_livescene_model m, g; /* g: same shapes, holds gradients */
} model_pair;

static const char small_config[] =
    "{\"aabb\": [[-1, -1.2, -0.8], [1.1, 1, 1]], \"grid_base_resolution\": [6, 5, 7, 4], "
    "\"multiscale_res\": [1, 2], \"grid_feature_dim\": 4, \"geo_feat_dim\": 15, "
    "\"proposals\": [{\"resolution\": [5, 5, 5, 4], \"feature_dim\": 4}, "
    "{\"resolution\": [6, 6, 6, 4], \"feature_dim\": 4}], "
    "\"probability\": {\"resolution\": [5, 6, 5], \"feature_dim\": 4}, "
    "\"num_proposal_samples\": [12, 8], \"num_samples\": 6, \"near_plane\": 0.0, "
    "\"objects\": [\"drawer\", \"door\"]}";

static void randomise(facet_livescene_model *m, unsigned seed) {
    facet_rng rng = facet_rng_seed(seed, 5);
    for (int b = 0; b < m->buffer_count; b++) {
        float *p = m->buffers[b];
        const int planes = m->buffer_info[b].ndim == 3;
        for (size_t i = 0; i < m->buffer_info[b].count; i++) {
            float u = facet_rng_uniform(&rng);
            p[i] = planes ? 0.3f + 1.2f * u : (u - 0.5f) * 1.2f;
        }
    }
}

static void open_pair(model_pair *p) {
    cr_assert_eq(facet_livescene_create(&p->m, small_config), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_livescene_create(&p->g, small_config), FACET_OK);
    randomise(&p->m, 1);
}

static void zero_grads(model_pair *p) {
    for (int b = 0; b < p->g.buffer_count; b++)
        memset(p->g.buffers[b], 0, p->g.buffer_info[b].bytes);
}

/* ---- the loss of one training ray with its sample positions frozen ------------------------- */

static const int levels = 2;
#ifndef FD_STEP
#define FD_STEP 3e-4f
#endif
static const int samples[3] = {12, 8, 6};

/* Recomputes densities, weights, rendered logits and colour at r's bins, then the per-ray losses
 * exactly as the fitting step combines them for a batch of one labelled ray. The mask loss renders
 * logits with `frozen` weights when given (LiveScene detaches them: semantic_renderer(weights=
 * weights.detach())). */
static double ray_loss(const facet_livescene_field *f, facet_ls_train_ray *r,
                       const facet_ls_loss_weights *w, const facet_ls_train_ray *frozen) {
    const int classes = f->objects + 1;
    float logits[FACET_LS_MAX_OBJECTS + 1], geo[FACET_LS_MAX_GEO];
    for (int level = 0; level <= levels; level++) {
        float accumulated = 0.0f;
        for (int c = 0; c < classes; c++) r->terms.rendered_logits[level][c] = 0.0f;
        if (level == levels)
            r->terms.rgb[0] = r->terms.rgb[1] = r->terms.rgb[2] = r->accumulation = 0.0f;
        for (int j = 0; j < r->n[level]; j++) {
            float pos[3];
            facet_ls_train_position(r, level, j, pos);
            int object = facet_ls_probability(f, pos, r->kappa, logits);
            float k = r->kappa[object];
            float sigma = level < levels ? facet_ls_proposal_density(f, level, pos, k)
                                         : facet_ls_field_density(f, pos, k, geo);
            r->sigma[level][j] = sigma;
            float delta = facet_ls_t(r, r->bins[level][j + 1]) - facet_ls_t(r, r->bins[level][j]);
            float wt = (1.0f - expf(-sigma * delta)) * expf(-accumulated);
            accumulated += sigma * delta;
            r->weights[level][j] = wt;
            const float wm = frozen ? frozen->weights[level][j] : wt;
            for (int c = 0; c < classes; c++) r->terms.rendered_logits[level][c] += wm * logits[c];
            if (level == levels) {
                facet_ls_field_color(f, r->d, geo, r->sample_rgb[j]);
                for (int c = 0; c < 3; c++) r->terms.rgb[c] += wt * r->sample_rgb[j][c];
                r->accumulation += wt;
            }
        }
    }
    for (int c = 0; c < 3; c++) r->terms.rgb[c] += 1.0f - r->accumulation;
    double loss = 0.0;
    for (int c = 0; c < 3; c++) loss += w->rgb * pow(r->terms.rgb[c] - r->terms.target[c], 2) / 3.0;
    float dummy[FACET_LS_MAX_SAMPLES] = {0};
    /* interlevel: the final weights are detached (nerfstudio interlevel_loss) */
    facet_ls_train_ray *il = malloc(sizeof *il);
    *il = *r;
    if (frozen) memcpy(il->weights[levels], frozen->weights[levels], sizeof il->weights[levels]);
    for (int level = 0; level < levels; level++)
        loss += w->interlevel * facet_ls_interlevel(il, level, levels, 0.0f, dummy) / r->n[levels];
    free(il);
    loss += w->distortion * facet_ls_distortion(r, levels, 0.0f, dummy);
    facet_ls_train_ray copy = *r;
    for (int level = 0; level <= levels; level++)
        loss += w->ray_mask * facet_ls_mask_loss(&copy.terms, level, classes, 0.0f);
    return loss;
}

/* Analytic gradient of ray_loss through facet_ls_train_backward (the fitting code path). */
static void ray_grad(model_pair *p, facet_ls_train_ray *r, const facet_ls_loss_weights *w) {
    const facet_livescene_field *f = &p->m.field;
    ray_loss(f, r, w, NULL);
    const int classes = f->objects + 1;
    memset(r->terms.drendered_logits, 0, sizeof r->terms.drendered_logits);
    for (int level = 0; level <= levels; level++)
        facet_ls_mask_loss(&r->terms, level, classes, w->ray_mask);
    float dw[FACET_LS_MAX_LEVELS][FACET_LS_MAX_SAMPLES];
    memset(dw, 0, sizeof dw);
    for (int level = 0; level < levels; level++)
        facet_ls_interlevel(r, level, levels, w->interlevel / (float)r->n[levels], dw[level]);
    facet_ls_distortion(r, levels, w->distortion, dw[levels]);
    float drgb[3];
    for (int c = 0; c < 3; c++)
        drgb[c] = w->rgb * 2.0f * (r->terms.rgb[c] - r->terms.target[c]) / 3.0f;
    zero_grads(p);
    facet_ls_train_backward(f, &p->g.field, levels, r, drgb, dw);
}

static void make_ray(const facet_livescene_field *f, facet_ls_train_ray *r, unsigned seed) {
    memset(r, 0, sizeof *r);
    facet_rng rng = facet_rng_seed(seed, 9);
    const float o[3] = {-2.0f, 0.3f, 0.2f};
    float d[3] = {1.0f, -0.1f + 0.2f * facet_rng_uniform(&rng), 0.05f};
    float n = sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    for (int i = 0; i < 3; i++) r->o[i] = o[i], r->d[i] = d[i] / n;
    r->kappa[0] = 0.3f;
    r->kappa[1] = 0.8f;
    r->terms.target[0] = 0.2f, r->terms.target[1] = 0.5f, r->terms.target[2] = 0.9f;
    r->terms.label = 1;
    facet_ls_train_forward(f, levels, samples, 0.01f, 1.0f, r, &rng);
    /* Final samples spread over the whole ray instead of where the proposals put them, so the
     * final weights are not everywhere enveloped by the proposal weights and the interlevel loss
     * (and its gradient) is not zero. */
    for (int j = 0; j <= r->n[levels]; j++)
        r->bins[levels][j] = 0.2f + 0.6f * (float)j / (float)r->n[levels];
}

/* Central differences of ray_loss for a few entries of every parameter tensor. */
static void check_ray_gradients(const facet_ls_loss_weights *w, const char *what) {
    model_pair p;
    open_pair(&p);
    facet_ls_train_ray *r = malloc(sizeof *r);
    make_ray(&p.m.field, r, 3);
    ray_grad(&p, r, w);
    facet_ls_train_ray probe = *r;
    const double value = ray_loss(&p.m.field, &probe, w, r);
    cr_assert_gt(value, 1e-4, "%s: the loss must not vanish on the test ray (%.3g)", what, value);
    facet_rng pick = facet_rng_seed(21, 1);
    double worst = 0.0;
    int checked = 0;
    for (int b = 0; b < p.m.buffer_count; b++) {
        float *param = p.m.buffers[b];
        const float *grad = p.g.buffers[b];
        /* entries with the largest analytic gradient, plus random ones */
        size_t best = 0;
        for (size_t i = 0; i < p.m.buffer_info[b].count; i++)
            if (fabsf(grad[i]) > fabsf(grad[best])) best = i;
        for (int trial = 0; trial < 4; trial++) {
            size_t i =
                trial == 0 ? best : facet_rng_below(&pick, (uint32_t)p.m.buffer_info[b].count);
            const float saved = param[i], h = FD_STEP * fmaxf(1.0f, fabsf(saved));
            param[i] = saved + h;
            facet_ls_train_ray copy = *r;
            double up = ray_loss(&p.m.field, &copy, w, r);
            param[i] = saved - h;
            copy = *r;
            double down = ray_loss(&p.m.field, &copy, w, r);
            param[i] = saved;
            double numeric = (up - down) / (2.0 * h), analytic = grad[i];
            double error = fabs(numeric - analytic) / (1e-4 + 0.02 * fabs(numeric));
            if (error > worst) worst = error;
            checked++;
            cr_assert(error <= 1.0, "%s: %s[%zu]: analytic %.6g, finite difference %.6g", what,
                      p.m.buffer_info[b].name, i, analytic, numeric);
        }
    }
    cr_log_info("%s: loss %.4g, %d gradients, worst |error| %.2f of the tolerance 1e-4 + 2%%", what,
                value, checked, worst);
    free(r);
    facet_livescene_free(&p.m);
    facet_livescene_free(&p.g);
}

Test(fit_gradients, rgb_loss_matches_finite_differences) {
    facet_ls_loss_weights w = {0};
    w.rgb = 1.0f;
    check_ray_gradients(&w, "rgb");
}

Test(fit_gradients, interlevel_loss_matches_finite_differences) {
    facet_ls_loss_weights w = {0};
    w.interlevel = 1.0f;
    check_ray_gradients(&w, "interlevel");
}

Test(fit_gradients, distortion_loss_matches_finite_differences) {
    facet_ls_loss_weights w = {0};
    w.distortion = 1.0f;
    check_ray_gradients(&w, "distortion");
}

Test(fit_gradients, mask_focal_loss_matches_finite_differences) {
    facet_ls_loss_weights w = {0};
    w.ray_mask = 1.0f;
    check_ray_gradients(&w, "ray mask");
}

Test(fit_gradients, all_losses_together) {
    facet_ls_loss_weights w = facet_ls_default_loss_weights();
    w.distortion = 0.1f;
    w.ray_mask = 0.1f;
    check_ray_gradients(&w, "all");
}

/* ---- against PyTorch autograd ---------------------------------------------------------------- */

/* tools/reference/livescene_grad_ref.py: the per-ray losses of a batch of 8 rays at fixed sample
 * positions on the small reference model, differentiated by torch autograd. facet computes the
 * same batch through facet_ls_train_evaluate + facet_ls_batch_backward (the fitting code path),
 * and every gradient tensor must agree: |facet - torch| <= 1e-6 + 1e-3 |torch| + 1e-4 max|torch|
 * (float32 sums over thousands of terms in different orders). */
Test(fit_gradients, match_pytorch_autograd_on_the_reference_model) {
    facet_livescene_model m, g;
    cr_assert_eq(
        facet_livescene_load(&m, test_source_path("tests/fixtures/livescene/small.safetensors"),
                             FACET_PLANE_F32),
        FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_livescene_create(&g, m.config_json), FACET_OK);
    facet_safetensors fx;
    cr_assert_eq(facet_safetensors_open(
                     &fx, test_source_path("tests/fixtures/livescene/grad_fixture.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    const facet_livescene_field *f = &m.field;
    const int levels_here = f->proposals, a = f->objects;
    const facet_tensor *origins = facet_safetensors_get(&fx, "ray.origins");
    const int rays_count = (int)origins->shape[0];
    const float *o = origins->data, *d = facet_safetensors_get(&fx, "ray.directions")->data;
    const float *kappa = facet_safetensors_get(&fx, "ray.kappa")->data;
    const float *target = facet_safetensors_get(&fx, "ray.target")->data;
    const int32_t *label = facet_safetensors_get(&fx, "ray.label")->data;
    facet_ls_train_ray *rays = calloc((size_t)rays_count, sizeof *rays);
    for (int i = 0; i < rays_count; i++) {
        facet_ls_train_ray *r = &rays[i];
        for (int k = 0; k < 3; k++) {
            r->o[k] = o[i * 3 + k];
            r->d[k] = d[i * 3 + k];
            r->terms.target[k] = target[i * 3 + k];
        }
        for (int k = 0; k < a; k++) r->kappa[k] = kappa[i * a + k];
        r->terms.label = label[i];
        facet_ls_collide(f, r->o, r->d, 0.01f, &r->near, &r->far);
        for (int level = 0; level <= levels_here; level++) {
            char name[64];
            snprintf(name, sizeof name, "ray.level%d.bins", level);
            const facet_tensor *b = facet_safetensors_get(&fx, name);
            r->n[level] = (int)b->shape[1] - 1;
            memcpy(r->bins[level], (const float *)b->data + (int64_t)i * b->shape[1],
                   (size_t)b->shape[1] * sizeof(float));
            facet_ls_train_evaluate(f, levels_here, level, r);
        }
    }
    facet_ls_loss_weights w = {0};
    w.rgb = 1.0f, w.interlevel = 1.0f, w.distortion = 0.01f, w.ray_mask = 0.1f;
    double mse;
    double loss = facet_ls_batch_backward(f, &g.field, 1, rays, rays_count, &w, 0, 0, &mse);
    const double want_loss = atof(facet_safetensors_metadata(&fx, "loss"));
    cr_assert_float_eq(loss, want_loss, 1e-5 * want_loss, "loss: facet %.8g, torch %.8g", loss,
                       want_loss);
    double worst = 0;
    for (int b = 0; b < m.buffer_count; b++) {
        const facet_livescene_buffer *info = &m.buffer_info[b];
        char name[160];
        snprintf(name, sizeof name, "grad.%s", info->name);
        const facet_tensor *ref = facet_safetensors_get(&fx, name);
        cr_assert_not_null(ref, "%s", facet_last_error());
        const float *want = ref->data, *got = g.buffers[b];
        double peak = 0;
        for (size_t i = 0; i < info->count; i++) peak = fmax(peak, fabs(want[i]));
        for (size_t i = 0; i < info->count; i++) {
            size_t internal = i; /* file index -> facet's internal layout */
            if (info->ndim == 3) {
                const size_t texels = (size_t)(info->shape[1] * info->shape[2]);
                internal = (i % texels) * (size_t)info->shape[0] + i / texels;
            } else if (info->ndim == 2) {
                const size_t rows = (size_t)info->shape[0], cols = (size_t)info->shape[1];
                internal = (i % cols) * rows + i / cols;
            }
            const double tolerance = 1e-6 + 1e-3 * fabs(want[i]) + 1e-4 * peak;
            const double error = fabs(got[internal] - want[i]);
            worst = fmax(worst, error / tolerance);
            cr_assert(error <= tolerance, "%s[%zu]: facet %.8g, torch %.8g", info->name, i,
                      got[internal], want[i]);
        }
    }
    cr_log_info("autograd parity: loss %.6f, %d tensors, worst error %.2f of the tolerance", loss,
                m.buffer_count, worst);
    free(rays);
    facet_safetensors_close(&fx);
    facet_livescene_free(&m);
    facet_livescene_free(&g);
}

/* The plane regularisers' gradients against central differences of their value. */
Test(fit_gradients, plane_regularisers_match_finite_differences) {
    model_pair p;
    open_pair(&p);
    facet_ls_loss_weights w = facet_ls_default_loss_weights();
    w.rgb = w.interlevel = w.distortion = w.ray_mask = w.repulsion = 0.0f;
    zero_grads(&p);
    const double value = facet_ls_regularize(&p.m.field, &p.g.field, &w);
    cr_assert_gt(value, 0.0);
    facet_livescene_model scratch;
    cr_assert_eq(facet_livescene_create(&scratch, small_config), FACET_OK);
    facet_rng pick = facet_rng_seed(4, 4);
    double worst = 0;
    for (int b = 0; b < p.m.buffer_count; b++) {
        if (p.m.buffer_info[b].ndim != 3) continue; /* planes only */
        for (int trial = 0; trial < 6; trial++) {
            size_t i = facet_rng_below(&pick, (uint32_t)p.m.buffer_info[b].count);
            float *param = p.m.buffers[b];
            const float saved = param[i], h = 1e-2f;
            param[i] = saved + h;
            double up = facet_ls_regularize(&p.m.field, &scratch.field, &w);
            param[i] = saved - h;
            double down = facet_ls_regularize(&p.m.field, &scratch.field, &w);
            param[i] = saved;
            double numeric = (up - down) / (2.0 * h), analytic = ((float *)p.g.buffers[b])[i];
            double error = fabs(numeric - analytic) / (1e-6 + 0.02 * fabs(numeric));
            worst = fmax(worst, error);
            cr_assert(error <= 1.0, "%s[%zu]: analytic %.6g, finite difference %.6g",
                      p.m.buffer_info[b].name, i, analytic, numeric);
        }
    }
    cr_log_info("regularisers: value %.5g, worst error %.2f of the tolerance", value, worst);
    facet_livescene_free(&scratch);
    facet_livescene_free(&p.m);
    facet_livescene_free(&p.g);
}

/* ---- fitting a tiny generated scene ---------------------------------------------------------- */

static const char *tiny_scene(void) {
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s/cabinet", test_scratch_dir("fit_scene"));
    facet_synth_options o = {0};
    o.frames = 8;
    o.width = o.height = 24;
    o.samples = 1;
    cr_assert_eq(facet_synth_write(dir, &o), FACET_OK, "%s", facet_last_error());
    return dir;
}

static facet_fit_options tiny_options(int iterations) {
    facet_fit_options o = {0};
    o.size = FACET_FIT_TINY;
    o.iterations = iterations;
    o.batch = 128;
    o.checkpoint_every = 2;
    o.seed = 5;
    o.center_poses = -1;
    o.use_default_weights = 1;
    return o;
}

static void read_bytes(const char *dir, const char *name, char **data, size_t *size) {
    char *path = facet_format("%s/%s", dir, name);
    cr_assert_eq(facet_read_file(path, data, size), FACET_OK, "%s", facet_last_error());
    free(path);
}

/* Kill-and-resume: a fit stopped after 3 of 6 iterations (its checkpoint left as a kill would
 * leave it) and resumed ends with the same weights, byte for byte, as an uninterrupted fit. */
Test(fit, resume_gives_the_same_weights_as_an_uninterrupted_run) {
    const char *data = tiny_scene();
    char straight[1100], resumed[1100];
    snprintf(straight, sizeof straight, "%s/straight", data);
    snprintf(resumed, sizeof resumed, "%s/resumed", data);
    facet_fit_options o = tiny_options(6);
    facet_fit_result r;
    cr_assert_eq(facet_livescene_fit(data, straight, &o, &r), FACET_OK, "%s", facet_last_error());
    cr_assert(r.finished);
    o.run_for = 3;
    cr_assert_eq(facet_livescene_fit(data, resumed, &o, &r), FACET_OK, "%s", facet_last_error());
    cr_assert(!r.finished && r.iterations == 3, "stopped at %d", r.iterations);
    o.run_for = 0;
    cr_assert_eq(facet_livescene_fit(data, resumed, &o, &r), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(r.resumed_from, 3);
    cr_assert(r.finished);
    char *a, *b;
    size_t na, nb;
    read_bytes(straight, "model.safetensors", &a, &na);
    read_bytes(resumed, "model.safetensors", &b, &nb);
    cr_assert(na == nb && memcmp(a, b, na) == 0, "resumed weights differ from the straight run");
    free(a);
    free(b);
}

Test(fit, resuming_with_other_options_is_refused) {
    const char *data = tiny_scene();
    char out[1100];
    snprintf(out, sizeof out, "%s/out", data);
    facet_fit_options o = tiny_options(4);
    o.run_for = 2;
    facet_fit_result r;
    cr_assert_eq(facet_livescene_fit(data, out, &o, &r), FACET_OK, "%s", facet_last_error());
    o.seed = 6;
    cr_assert_neq(facet_livescene_fit(data, out, &o, &r), FACET_OK);
    cr_assert(strstr(facet_last_error(), "other options"), "%s", facet_last_error());
}

/* A short fit on the tiny scene: the loss falls, and the result renders (scene.json opens). */
Test(fit, loss_falls_on_a_tiny_scene) {
    const char *data = tiny_scene();
    char out[1100];
    snprintf(out, sizeof out, "%s/fit", data);
    facet_fit_options o = tiny_options(1);
    facet_fit_result first, last;
    char early[1100];
    snprintf(early, sizeof early, "%s/early", data);
    cr_assert_eq(facet_livescene_fit(data, early, &o, &first), FACET_OK, "%s", facet_last_error());
    o = tiny_options(150);
    o.checkpoint_every = 1000;
    cr_assert_eq(facet_livescene_fit(data, out, &o, &last), FACET_OK, "%s", facet_last_error());
    cr_log_info("first batch: loss %.4f psnr %.2f dB; after 150 iterations: loss %.4f psnr %.2f dB",
                first.final_loss, first.final_psnr, last.final_loss, last.final_psnr);
    cr_assert_lt(last.final_loss, 0.5 * first.final_loss);
    cr_assert_gt(last.final_psnr, first.final_psnr + 5.0);
    char *scene = facet_format("%s/scene.json", out);
    cr_assert(facet_is_file(scene));
    free(scene);
}
