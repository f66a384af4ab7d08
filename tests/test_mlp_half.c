/* The fp16 networks (fields/tcnn_mlp_half.h): the pack's layout, the per-point function against an
 * independent evaluation (the compiler's _Float16 for the roundings, double sums), and the
 * livescene node's "mlp_dtype": "f16" on the fixture model against the PyTorch reference's rays
 * (tools/reference/livescene_ref.py, fp32 math on fp16 weights). */
#include "helpers.h"
#include "mlp_half_reference.h"

#include "core/fileio.h"
#include "core/safetensors.h"
#include "fit/adam.h"
#include "fields/livescene.h"
#include "fields/livescene_backward.h"
#include "fields/tcnn_mlp.h"
#include "fields/tcnn_mlp_half_backward.h"
#include "nodes/builtin.h"
#include "nodes/livescene_ray.h"
#include "render/render.h"
#include "render/scene.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 42;
static float uniform(float lo, float hi) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((state >> 40) * (1.0 / 16777216.0));
}

typedef struct network {
    facet_mlp m;
    float *weights[FACET_MLP_MAX_LAYERS], *bias;
    void *pack;
} network;

static void network_make(network *n, const int *widths, int layers, facet_activation output) {
    memset(n, 0, sizeof *n);
    n->m.layers = layers;
    n->m.hidden = FACET_ACTIVATION_RELU;
    n->m.output = output;
    for (int l = 0; l <= layers; l++) n->m.width[l] = widths[l];
    for (int l = 0; l < layers; l++) {
        const int count = widths[l] * widths[l + 1];
        n->weights[l] = malloc(sizeof(float) * count);
        for (int i = 0; i < count; i++) n->weights[l][i] = uniform(-0.4f, 0.4f);
        n->m.weight[l] = n->weights[l];
    }
    n->bias = malloc(sizeof(float) * widths[1]);
    for (int o = 0; o < widths[1]; o++) n->bias[o] = uniform(-0.5f, 0.5f);
    n->m.bias0 = n->bias;
    n->pack = aligned_alloc(256, (facet_mlp_half_bytes(&n->m) + 255) / 256 * 256);
    facet_mlp_half_pack(&n->m, n->pack);
}

static void network_free(network *n) {
    for (int l = 0; l < n->m.layers; l++) free(n->weights[l]);
    free(n->bias);
    free(n->pack);
}

static double f16(double x) {
    return (double)(_Float16)(float)x;
}

Test(mlp_half, pack_holds_the_rounded_weights_padded_to_tiles_and_the_bias_rows) {
    network n;
    network_make(&n, (const int[]){27, 40, 17}, 2, FACET_ACTIVATION_NONE);
    facet_mlp m = n.m;
    m.half = n.pack;
    /* 32 x 48 + 48 x 32 halves, then 16 x 48 floats */
    cr_assert_eq(facet_mlp_half_bytes(&m), 2 * (32 * 48 + 48 * 32) + 4 * 16 * 48);
    for (int l = 0; l < 2; l++) {
        const int in_pad = l ? 48 : 32, out_pad = l ? 32 : 48;
        const uint16_t *w = facet_mlp_half_weights(&m, l);
        for (int i = 0; i < in_pad; i++)
            for (int o = 0; o < out_pad; o++) {
                const int inside = i < m.width[l] && o < m.width[l + 1];
                const float want =
                    inside ? (float)(_Float16)n.weights[l][i * m.width[l + 1] + o] : 0.0f;
                cr_assert_eq(facet_f16_to_f32(w[i * out_pad + o]), want, "layer %d [%d][%d]", l, i,
                             o);
            }
    }
    const float *bias = facet_mlp_half_bias_rows(&m);
    for (int r = 0; r < 16; r++)
        for (int o = 0; o < 48; o++)
            cr_assert_eq(bias[r * 48 + o], o < 40 ? n.bias[o] : 0.0f, "bias row %d [%d]", r, o);
    network_free(&n);
}

/* The network evaluated with _Float16 roundings and double sums: the function the header
 * defines, up to the order and rounding of its fp32 sums. Per output the two differ by at most
 * the sums' rounding (n 2^-24 sum |terms| for n additions, carried through the later layers'
 * |weights|) plus a half ulp wherever a hidden unit sits on a rounding boundary; the bound below
 * adds both, layer by layer. */
static void independent_forward(const network *n, const float *in, double *out, double *bound) {
    const facet_mlp *m = &n->m;
    double x[FACET_MLP_MAX_WIDTH], e[FACET_MLP_MAX_WIDTH], y[FACET_MLP_MAX_WIDTH],
        ye[FACET_MLP_MAX_WIDTH];
    for (int i = 0; i < m->width[0]; i++) x[i] = f16(in[i]), e[i] = 0;
    for (int l = 0; l < m->layers; l++) {
        const int n_in = m->width[l], n_out = m->width[l + 1], last = l == m->layers - 1;
        const double gamma = (double)(n_in + 17) * ldexp(1.0, -24);
        for (int o = 0; o < n_out; o++) {
            double z = l == 0 ? n->bias[o] : 0.0, mag = fabs(z), carried = 0;
            for (int i = 0; i < n_in; i++) {
                const double w = f16(n->weights[l][i * n_out + o]);
                z += x[i] * w;
                mag += fabs(x[i] * w);
                carried += fabs(w) * e[i];
            }
            const double dz = carried + gamma * mag;
            if (last) {
                y[o] = m->output == FACET_ACTIVATION_SIGMOID ? 1.0 / (1.0 + exp(-z)) : z;
                ye[o] = dz + 4e-7 * fabs(y[o]);
            } else {
                y[o] = f16(z > 0 ? z : 0);
                ye[o] = dz + ldexp(1.0, (int)floor(log2(fabs(z) + dz + 1e-30)) - 10);
            }
        }
        memcpy(x, y, sizeof(double) * n_out);
        memcpy(e, ye, sizeof(double) * n_out);
    }
    for (int o = 0; o < m->width[m->layers]; o++) out[o] = x[o], bound[o] = e[o];
}

/* The networks the forward and backward checks run: the sigma net's and colour net's shapes, and
 * one whose widths are not multiples of 16. */
static const int shapes[3][5] = {{96, 64, 16}, {31, 64, 64, 3}, {10, 48, 24, 17}};
static const int layers[3] = {2, 3, 3};
static const facet_activation output[3] = {FACET_ACTIVATION_NONE, FACET_ACTIVATION_SIGMOID,
                                           FACET_ACTIVATION_NONE};

Test(mlp_half, forward_is_the_header_function_within_its_rounding_bound) {
    double worst = 0;
    int differs_from_fp32 = 0;
    for (int s = 0; s < 3; s++) {
        network n;
        network_make(&n, shapes[s], layers[s], output[s]);
        facet_mlp half = n.m;
        half.half = n.pack;
        for (int p = 0; p < 200; p++) {
            float in[FACET_MLP_MAX_WIDTH], got[FACET_MLP_MAX_WIDTH], fp32[FACET_MLP_MAX_WIDTH];
            double want[FACET_MLP_MAX_WIDTH], bound[FACET_MLP_MAX_WIDTH];
            for (int i = 0; i < shapes[s][0]; i++) in[i] = uniform(-2, 2) * (p % 5 ? 1 : 30);
            facet_mlp_forward(&half, in, got);
            facet_mlp_forward(&n.m, in, fp32);
            independent_forward(&n, in, want, bound);
            for (int o = 0; o < shapes[s][layers[s]]; o++) {
                cr_assert(isfinite(got[o]));
                const double ratio = fabs(got[o] - want[o]) / bound[o];
                worst = fmax(worst, ratio);
                cr_assert_leq(ratio, 1.0, "shape %d point %d output %d: %.9g, want %.9g +- %.3g", s,
                              p, o, got[o], want[o], bound[o]);
                differs_from_fp32 += got[o] != fp32[o];
            }
        }
        network_free(&n);
    }
    cr_log_info("fp16 networks: worst |got - want| %.3f of the bound", worst);
    cr_assert_gt(differs_from_fp32, 0, "the fp16 form computed the fp32 network");
}

Test(mlp_half, backward_is_the_header_function_within_its_rounding_bound) {
    double worst = 0;
    long nonzero_dw = 0, checked = 0;
    for (int s = 0; s < 3; s++) {
        network n;
        network_make(&n, shapes[s], layers[s], output[s]);
        facet_mlp half = n.m, grad = n.m;
        half.half = n.pack;
        size_t total = 0;
        for (int l = 0; l < layers[s]; l++) total += (size_t)shapes[s][l] * shapes[s][l + 1];
        total += (size_t)shapes[s][1];
        float *dw = malloc(sizeof(float) * total);
        double *want_dw = malloc(sizeof(double) * total),
               *bound_dw = malloc(sizeof(double) * total);
        float *scratch = malloc(sizeof(float) * facet_mlp_half_backward_scratch_floats(&half));
        size_t at = 0;
        for (int l = 0; l < layers[s]; l++)
            grad.weight[l] = dw + at, at += (size_t)shapes[s][l] * shapes[s][l + 1];
        grad.bias0 = dw + at;
        grad.half = NULL;
        for (int p = 0; p < 60; p++) {
            float in[FACET_MLP_MAX_WIDTH], dout[FACET_MLP_MAX_WIDTH], dx[FACET_MLP_MAX_WIDTH];
            double want_dx[FACET_MLP_MAX_WIDTH], bound_dx[FACET_MLP_MAX_WIDTH];
            for (int i = 0; i < shapes[s][0]; i++) in[i] = uniform(-2, 2) * (p % 5 ? 1 : 30);
            /* gradients of a batch mean: small, as a fit's are (1e-4 .. 1e-7) */
            for (int o = 0; o < shapes[s][layers[s]]; o++)
                dout[o] = uniform(-1, 1) * ldexpf(1.0f, -12 - p % 12);
            const float scale = 1024.0f;
            memset(dw, 0, sizeof(float) * total);
            facet_mlp_half_backward_scratch(&half, &grad, in, dout, scale, dx, scratch);
            mlp_half_independent_backward(&n.m, in, dout, scale, want_dx, bound_dx, want_dw,
                                          bound_dw);
            for (int i = 0; i < shapes[s][0]; i++) {
                cr_assert(isfinite(dx[i]));
                const double d = fabs(dx[i] - want_dx[i]);
                if (d > 0) worst = fmax(worst, d / bound_dx[i]);
                cr_assert_leq(d, bound_dx[i],
                              "shape %d point %d dinput %d: %.9g, want %.9g +- %.3g", s, p, i,
                              dx[i], want_dx[i], bound_dx[i]);
            }
            for (size_t k = 0; k < total; k++) {
                cr_assert(isfinite(dw[k]));
                const double d = fabs(dw[k] - want_dw[k]);
                if (d > 0) worst = fmax(worst, d / bound_dw[k]);
                cr_assert_leq(d, bound_dw[k],
                              "shape %d point %d gradient %zu: %.9g, want %.9g +- %.3g", s, p, k,
                              dw[k], want_dw[k], bound_dw[k]);
                nonzero_dw += dw[k] != 0.0f;
                checked++;
            }
        }
        free(dw), free(want_dw), free(bound_dw), free(scratch);
        network_free(&n);
    }
    cr_log_info(
        "fp16 backward: worst |got - want| %.3f of the bound, %ld of %ld weight gradients nonzero",
        worst, nonzero_dw, checked);
    cr_assert_gt(nonzero_dw, checked / 4, "the gradients vanished");
}

/* The loss scale is what keeps a fit's gradients: unscaled, a dL/dy of 2^-20 times the output
 * layer's weights underflows in half; scaled by 2^12 the fp16 pass tracks the fp32 network's
 * backward (dL/dinput, relative RMS over 40 points) as closely as its half operands allow. */
Test(mlp_half, loss_scale_keeps_small_gradients_that_half_would_lose) {
    const int widths[4] = {31, 64, 64, 3};
    network n;
    network_make(&n, widths, 3, FACET_ACTIVATION_SIGMOID);
    facet_mlp half = n.m, grad = n.m;
    half.half = n.pack;
    float *dw = calloc(31 * 64 + 64 * 64 + 64 * 3 + 64, sizeof(float));
    grad.weight[0] = dw, grad.weight[1] = dw + 31 * 64, grad.weight[2] = dw + 31 * 64 + 64 * 64;
    grad.bias0 = dw + 31 * 64 + 64 * 64 + 64 * 3;
    grad.half = NULL;
    float *scratch = malloc(sizeof(float) * facet_mlp_half_backward_scratch_floats(&half));
    double scaled = 0, unscaled = 0, norm = 0;
    for (int p = 0; p < 40; p++) {
        float in[31], dout[3], fp32[31], dx[31];
        for (int i = 0; i < 31; i++) in[i] = uniform(-1, 1);
        for (int o = 0; o < 3; o++) dout[o] = uniform(-1, 1) * ldexpf(1.0f, -20);
        facet_mlp_backward(&n.m, &grad, in, dout, fp32);
        facet_mlp_half_backward_scratch(&half, &grad, in, dout, 4096.0f, dx, scratch);
        for (int i = 0; i < 31; i++) scaled += (dx[i] - fp32[i]) * (dx[i] - fp32[i]);
        facet_mlp_half_backward_scratch(&half, &grad, in, dout, 1.0f, dx, scratch);
        for (int i = 0; i < 31; i++) unscaled += (dx[i] - fp32[i]) * (dx[i] - fp32[i]);
        for (int i = 0; i < 31; i++) norm += (double)fp32[i] * fp32[i];
    }
    scaled = sqrt(scaled / norm), unscaled = sqrt(unscaled / norm);
    cr_log_info("fp16 backward at dL/dy ~ 2^-20 against fp32: relative RMS %.3g scaled by 2^12, "
                "%.3g unscaled",
                scaled, unscaled);
    cr_assert_lt(scaled, 2e-2);
    cr_assert_gt(unscaled, 0.2, "half kept 2^-20 gradients without a loss scale");
    cr_assert(facet_mlp_half_loss_scale_valid(128.0f) && facet_mlp_half_loss_scale_valid(1.0f));
    cr_assert(!facet_mlp_half_loss_scale_valid(100.0f) && !facet_mlp_half_loss_scale_valid(0.5f) &&
              !facet_mlp_half_loss_scale_valid(ldexpf(1.0f, 25)) &&
              !facet_mlp_half_loss_scale_valid(NAN));
    free(dw), free(scratch);
    network_free(&n);
}

/* Trains the colour network's shape (31 -> 64 -> 64 -> 3, sigmoid) by Adam on a smooth target
 * over 256 fixed points, the squared error's gradients at the size they have in a fit's batch of
 * 2^16 samples (2 (y - t) / (3 2^16): 1e-6 and below), for `steps` steps: fp32 backward
 * (facet_mlp_backward), or (half) the fp16 pass with fp32 master weights re-packed to half after
 * every step and the given loss scale, as a mixed-precision fit runs. Returns the final loss. */
static double train_color_net(int half, float scale, int steps) {
    const int widths[4] = {31, 64, 64, 3}, points = 256;
    state = 7; /* the same initial weights and points for every run */
    network n;
    network_make(&n, widths, 3, FACET_ACTIVATION_SIGMOID);
    const size_t sizes[4] = {31 * 64, 64 * 64, 64 * 3, 64};
    float *params[4] = {n.weights[0], n.weights[1], n.weights[2], n.bias};
    size_t total = 0;
    for (int k = 0; k < 4; k++) total += sizes[k];
    float *grads = calloc(total, sizeof(float)), *adam_m = calloc(total, sizeof(float)),
          *adam_v = calloc(total, sizeof(float));
    facet_mlp grad = n.m;
    grad.half = NULL;
    float *g[4];
    for (int k = 0, at = 0; k < 4; at += (int)sizes[k], k++) g[k] = grads + at;
    grad.weight[0] = g[0], grad.weight[1] = g[1], grad.weight[2] = g[2], grad.bias0 = g[3];
    float(*in)[31] = malloc(sizeof(float[31]) * points),
    (*target)[3] = malloc(sizeof(float[3]) * points);
    for (int p = 0; p < points; p++) {
        for (int i = 0; i < 31; i++) in[p][i] = uniform(-1, 1);
        for (int c = 0; c < 3; c++)
            target[p][c] = 0.5f + 0.4f * sinf(2.0f * in[p][c] + in[p][c + 3] * in[p][c + 6]);
    }
    float *scratch = malloc(sizeof(float) * facet_mlp_half_backward_scratch_floats(&n.m));
    facet_mlp net = n.m;
    double loss = 0;
    for (int step = 0; step <= steps; step++) {
        if (half) {
            facet_mlp_half_pack(&n.m, n.pack);
            net.half = n.pack;
        }
        memset(grads, 0, sizeof(float) * total);
        loss = 0;
        for (int p = 0; p < points; p++) {
            float y[3], dy[3];
            facet_mlp_forward(&net, in[p], y);
            for (int c = 0; c < 3; c++) {
                loss += (y[c] - target[p][c]) * (y[c] - target[p][c]) / (3.0 * points);
                /* a fit's scale: the mean over a batch of 2^16 samples' outputs */
                dy[c] = 2.0f * (y[c] - target[p][c]) / (3.0f * 65536.0f);
            }
            if (step == steps) continue;
            if (half)
                facet_mlp_half_backward_scratch(&net, &grad, in[p], dy, scale, NULL, scratch);
            else
                facet_mlp_backward(&n.m, &grad, in[p], dy, NULL);
        }
        if (step == steps) break;
        float c[2];
        facet_adam_corrections(step, c);
        for (int k = 0, at = 0; k < 4; at += (int)sizes[k], k++)
            for (size_t e = 0; e < sizes[k]; e++)
                facet_adam_element(&params[k][e], g[k][e], &adam_m[at + e], &adam_v[at + e], 3e-3f,
                                   c[0], c[1]);
    }
    free(grads), free(adam_m), free(adam_v), free(in), free(target), free(scratch);
    network_free(&n);
    return loss;
}

/* Mixed precision converges as fp32 does: 300 Adam steps from the same start reach a loss within
 * 25% of the fp32 run's (and far below the start) with a loss scale of 2^12; with the gradients
 * unscaled, most underflow in half and the fit stalls well above it. */
Test(mlp_half, training_in_half_with_a_loss_scale_converges_as_fp32_does) {
    const double start = train_color_net(0, 1.0f, 0);
    const double fp32 = train_color_net(0, 1.0f, 300);
    const double half = train_color_net(1, 4096.0f, 300);
    const double unscaled = train_color_net(1, 1.0f, 300);
    cr_log_info(
        "colour-net fit, MSE after 300 Adam steps: start %.3g, fp32 %.3g, fp16 (scale 2^12) "
        "%.3g, fp16 unscaled %.3g",
        start, fp32, half, unscaled);
    cr_assert_lt(fp32, 0.2 * start, "the fp32 fit did not converge");
    cr_assert_lt(half, 1.25 * fp32, "the fp16 fit fell behind the fp32 fit");
    cr_assert_gt(unscaled, 1.5 * fp32, "unscaled half gradients did not underflow");
}

/* The fixture model's rays with every network in fp16 against the PyTorch reference (fp32 math on
 * fp16 weights): the cost of half activations. Bounds are what was measured, rounded up. */
Test(mlp_half, livescene_f16_networks_stay_close_to_the_reference_rays) {
    facet_livescene_model model;
    cr_assert_eq(
        facet_livescene_load(&model, test_source_path("tests/fixtures/livescene/small.safetensors"),
                             FACET_PLANE_F32),
        FACET_OK, "%s", facet_last_error());
    facet_safetensors fx;
    cr_assert_eq(facet_safetensors_open(
                     &fx, test_source_path("tests/fixtures/livescene/fixtures.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    facet_livescene_field f = model.field;
    facet_mlp *nets[FACET_LIVESCENE_MAX_NETWORKS];
    const int count = facet_livescene_networks(&f, nets);
    void *packs[FACET_LIVESCENE_MAX_NETWORKS];
    for (int i = 0; i < count; i++) {
        packs[i] = aligned_alloc(256, (facet_mlp_half_bytes(nets[i]) + 255) / 256 * 256);
        facet_mlp_half_pack(nets[i], packs[i]);
        nets[i]->half = packs[i];
    }
    const facet_tensor *origins = facet_safetensors_get(&fx, "ray.origins");
    cr_assert_not_null(origins);
    const int64_t rays = origins->shape[0];
    const float *o = origins->data, *d = facet_safetensors_get(&fx, "ray.directions")->data;
    const float *kappa = facet_safetensors_get(&fx, "ray.kappa")->data;
    const float *rgb = facet_safetensors_get(&fx, "ray.rgb")->data;
    facet_livescene_sampling sampling = {f.proposals, {0}, 0.0f};
    for (int i = 0; i < f.proposals; i++) sampling.samples[i] = model.num_proposal_samples[i];
    sampling.samples[f.proposals] = model.num_samples;
    double worst = 0, sum = 0;
    for (int64_t r = 0; r < rays; r++) {
        facet_livescene_ray_output out;
        facet_livescene_render_ray(&f, &sampling, o + r * 3, d + r * 3, kappa + r * f.objects,
                                   &out);
        for (int c = 0; c < 3; c++) {
            const float white = fminf(fmaxf(out.rgb[c] + (1.0f - out.accumulation), 0.0f), 1.0f);
            cr_assert(isfinite(white));
            worst = fmax(worst, fabs(white - rgb[r * 3 + c]));
            sum += fabs(white - rgb[r * 3 + c]);
        }
    }
    cr_log_info("fp16 networks: |rgb - reference| max %.2e mean %.2e over %lld rays", worst,
                sum / (double)(rays * 3), (long long)rays);
    cr_assert_gt(worst, 0.0, "fp16 networks gave the fp32 rays exactly: not in use");
    cr_assert_lt(worst, 6e-3);
    cr_assert_lt(sum / (double)(rays * 3), 6e-4);
    for (int i = 0; i < count; i++) free(packs[i]);
    facet_safetensors_close(&fx);
    facet_livescene_free(&model);
}

static const char *scene_with(const char *dir, const char *name, const char *mlp_dtype) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": [1, 1, 1], \"nodes\": [{\"type\": \"livescene\", "
             "\"name\": \"toy\", \"weights\": \"%s\", \"mlp_dtype\": \"%s\"}]}",
             test_source_path("tests/fixtures/livescene/small.safetensors"), mlp_dtype);
    return test_write_file(dir, name, json, strlen(json));
}

Test(mlp_half, scene_option_mlp_dtype_switches_the_networks_and_rejects_other_values) {
    cr_assert_eq(facet_register_builtin_node_kinds(), FACET_OK);
    const char *dir = test_scratch_dir("mlp_half_scene");
    facet_scene a, b, bad;
    cr_assert_eq(facet_scene_load(&a, scene_with(dir, "f32.json", "f32")), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(facet_scene_load(&b, scene_with(dir, "f16.json", "f16")), FACET_OK, "%s",
                 facet_last_error());
    const facet_mat4 c2w = {{0.0235f, -0.1778f, 0.9838f, 4.2571f, 0.9961f, 0.0879f, -0.0079f,
                             0.2683f, -0.0851f, 0.9801f, 0.1792f, 0.9f, 0, 0, 0, 1}};
    const facet_camera cam = facet_camera_from_fov(c2w, 0.9f, 24, 18);
    facet_render_options options = {.device = FACET_DEVICE_CPU, .exposure = 0.5f};
    facet_image ia = {0}, ib = {0};
    cr_assert_eq(facet_render_image(&a, &cam, &options, &ia), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_render_image(&b, &cam, &options, &ib), FACET_OK, "%s", facet_last_error());
    double worst = 0;
    for (size_t i = 0; i < (size_t)ia.width * ia.height * 4; i++) {
        cr_assert(isfinite(ib.data[i]));
        worst = fmax(worst, fabs(ia.data[i] - ib.data[i]));
    }
    cr_log_info("mlp_dtype f16 against f32, 24 x 18 render: max |difference| %.2e", worst);
    cr_assert_gt(worst, 0.0);
    cr_assert_lt(worst, 2e-2);
    facet_image_free(&ia);
    facet_image_free(&ib);
    facet_scene_free(&a);
    facet_scene_free(&b);
    cr_assert_neq(facet_scene_load(&bad, scene_with(dir, "f8.json", "f8")), FACET_OK);
    cr_assert(strstr(facet_last_error(), "f8.json"), "%s", facet_last_error());
    cr_assert(strstr(facet_last_error(), "mlp_dtype"), "%s", facet_last_error());
}
