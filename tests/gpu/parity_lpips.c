/* LPIPS parity (tests/gpu/parity.h): nn/'s convolutional ops and lpips/'s per-element ops on CUDA
 * against their CPU references, then whole LPIPS models (CUDA against CPU, and CUDA against the
 * PyPI package's values of tests/fixtures/lpips). Cases:
 *
 *   lpips.conv2d.<geometry>       facet_nn_conv2d + ReLU on a CUDA nn context against the CPU one:
 *                                 alexnet1 (11x11 / 4, pad 2), vgg3x3 (3x3, pad 1, 64 -> 32 on
 *                                 70x70: more pixels than one CPU task), rect (2x3 / (2, 1), pad
 *                                 (1, 0)), pointwise (1x1: no im2col), random inputs in [-1, 1]
 *   lpips.max_pool.<geometry>     facet_nn_max_pool2d: alexnet (3 / 2), vgg (2 / 2), padded (3 / 1,
 *                                 pad 1, all values negative)
 *   lpips.input.<convention>      the backbone input kernel against facet_lpips_input on the host
 *   lpips.unit                    unit features (kernel against facet_lpips_unit_pixel)
 *   lpips.head                    per-pixel head values (kernel against facet_lpips_head_pixel)
 *   lpips.<net>.cpu               LPIPS and its 5 taps, CUDA model against CPU model, for the three
 *                                 fixture pairs under both conventions (36 values per net)
 *   lpips.<net>.package           the CUDA model against the package's values (expected.json), with
 *                                 the real heads from models/ (skipped, with a note, without them)
 *
 * Tolerances.
 * - conv2d: each output is a length-k dot product plus the bias; both sides are within
 *   (k + 2) u sum |terms| of the exact value (u = 2^-24), whatever the summation order (cuBLAS
 *   against OpenBLAS), so |cuda - cpu| <= 2 (k + 2) u max_outputs sum |terms|: abs, no relative
 *   term; ReLU has slope <= 1. Not same-code (on a GPU the sums are cuBLAS's own).
 * - max pooling: a maximum is exact, so 0 in every build.
 * - input, unit, head: the same per-element code on both sides; input is exact in any build (2 v
 *   is exact, then one subtraction and one IEEE division); unit and head sum in double and round
 *   once to float, so FMA contraction (a double-precision fma) changes at most the last float
 *   bit: rel 2^-22 (2 ulps), bit for bit in the exact build.
 * - whole models: abs 1e-5, the contract the CPU meets against the package (test_lpips). Error
 *   model: a product's relative error from summation order ~ sqrt(k) u <= sqrt(4608) 2^-24 =
 *   4e-6 per layer (VGG16's widest), ~1e-5 after 13 layers in quadrature; a tap's value
 *   d = sum_c w_c (du_c)^2 then moves by <= 2 sqrt(d) sqrt(max w) eps ~ 2 x 0.1 x 1.1 x 1e-5 =
 *   2e-6 for the fixtures' d <= 0.01 per tap, 5 taps: 1e-5. Measured under emulation (where the
 *   products are the same OpenBLAS calls, blocked differently): see the lines. */
#include "parity.h"

#include "core/alloc.h"
#include "core/cuda/device.h"
#include "core/image.h"
#include "core/json.h"
#include "core/rng.h"
#include "lpips/lpips.h"
#include "lpips/lpips_internal.h"
#include "lpips/lpips_ops.h"
#include "nn/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double U = 1.0 / 16777216.0; /* 2^-24 */

/* ---- device memory helpers ---------------------------------------------------------------- */

/* A device copy of host[n] (NULL on failure, with the library's message set). */
static float *to_device(const float *host, size_t n) {
    facet_device_buffer b = {0};
    if (facet_device_buffer_alloc(&b, n * sizeof(float)) != FACET_OK) return NULL;
    if (host && facet_device_buffer_upload(&b, host, n * sizeof(float)) != FACET_OK) {
        facet_device_buffer_free(&b);
        return NULL;
    }
    return b.data;
}

static void device_free(float *p) {
    facet_device_buffer b = {p, 1};
    if (p) facet_device_buffer_free(&b);
}

static facet_status from_device(const float *dev, float *host, size_t n) {
    facet_device_buffer b = {(void *)dev, n * sizeof(float)};
    return facet_device_buffer_download(&b, host, n * sizeof(float));
}

static float *random_floats(facet_rng *rng, size_t n, float lo, float hi) {
    float *x = facet_alloc(n, sizeof *x);
    if (x)
        for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * facet_rng_uniform(rng);
    return x;
}

/* ---- nn ops --------------------------------------------------------------------------------- */

typedef struct conv_case {
    const char *name;
    int in, h, w, out;
    facet_nn_window window;
} conv_case;

static int conv_parity(facet_nn *cpu, facet_nn *cuda, const conv_case *cc, uint64_t seed) {
    char name[96];
    snprintf(name, sizeof name, "lpips.conv2d.%s", cc->name);
    int oh, ow;
    if (facet_nn_window_output(&cc->window, cc->h, cc->w, &oh, &ow, name) != FACET_OK)
        return parity_error(name, "window");
    const int k = cc->in * cc->window.kernel_h * cc->window.kernel_w;
    const size_t nx = (size_t)cc->in * cc->h * cc->w, nw = (size_t)cc->out * k;
    const size_t ny = (size_t)cc->out * oh * ow;
    facet_rng rng = facet_rng_seed(seed, 31);
    float *x = random_floats(&rng, nx, -1.0f, 1.0f), *wt = random_floats(&rng, nw, -0.5f, 0.5f);
    float *b = random_floats(&rng, (size_t)cc->out, -0.5f, 0.5f);
    float *ref = facet_alloc(ny, sizeof *ref), *got = facet_alloc(ny, sizeof *got);
    float *dx = to_device(x, nx), *dw = to_device(wt, nw), *db = to_device(b, (size_t)cc->out);
    float *dy = to_device(NULL, ny);
    int fails = 0;
    if (!x || !wt || !b || !ref || !got || !dx || !dw || !db || !dy) {
        fails = parity_error(name, "allocation");
    } else if (facet_nn_conv2d(cpu, x, 1, cc->in, cc->h, cc->w, wt, b, cc->out, &cc->window,
                               FACET_NN_RELU, ref) != FACET_OK ||
               facet_nn_conv2d(cuda, dx, 1, cc->in, cc->h, cc->w, dw, db, cc->out, &cc->window,
                               FACET_NN_RELU, dy) != FACET_OK ||
               from_device(dy, got, ny) != FACET_OK) {
        fails = parity_error(name, "conv2d");
    } else {
        /* the largest sum |terms| over the outputs (|x| <= 1, so |w| summed over the window's
           positions inside the input bounds it; the bias adds its |b|) */
        double largest = 0.0;
        for (int o = 0; o < cc->out; o++) {
            double s = fabs(b[o]);
            for (int i = 0; i < k; i++) s += fabs(wt[(size_t)o * k + i]);
            largest = fmax(largest, s);
        }
        const parity_tolerance tol = {.abs = 2.0 * (k + 2) * U * largest};
        fails = parity_check(name, ref, got, ny, &tol);
    }
    free(x), free(wt), free(b), free(ref), free(got);
    device_free(dx), device_free(dw), device_free(db), device_free(dy);
    return fails;
}

static int pool_parity(facet_nn *cpu, facet_nn *cuda, const char *what, int planes, int h, int w,
                       facet_nn_window win, float offset) {
    char name[96];
    snprintf(name, sizeof name, "lpips.max_pool.%s", what);
    int oh, ow;
    if (facet_nn_window_output(&win, h, w, &oh, &ow, name) != FACET_OK)
        return parity_error(name, "window");
    const size_t nx = (size_t)planes * h * w, ny = (size_t)planes * oh * ow;
    facet_rng rng = facet_rng_seed(5, (uint64_t)(h * 1000 + w));
    float *x = random_floats(&rng, nx, offset - 1.0f, offset + 1.0f);
    float *ref = facet_alloc(ny, sizeof *ref), *got = facet_alloc(ny, sizeof *got);
    float *dx = to_device(x, nx), *dy = to_device(NULL, ny);
    int fails;
    if (!x || !ref || !got || !dx || !dy)
        fails = parity_error(name, "allocation");
    else if (facet_nn_max_pool2d(cpu, x, planes, h, w, &win, ref) != FACET_OK ||
             facet_nn_max_pool2d(cuda, dx, planes, h, w, &win, dy) != FACET_OK ||
             from_device(dy, got, ny) != FACET_OK)
        fails = parity_error(name, "max_pool2d");
    else
        fails = parity_check(name, ref, got, ny, &(parity_tolerance){.same_code = 1});
    free(x), free(ref), free(got);
    device_free(dx), device_free(dy);
    return fails;
}

static int suite_nn(void) {
    facet_nn *cpu = NULL, *cuda = NULL;
    if (facet_nn_create(&cpu, FACET_NN_CPU, FACET_NN_FP32) != FACET_OK ||
        facet_nn_create(&cuda, FACET_NN_CUDA, FACET_NN_FP32) != FACET_OK) {
        facet_nn_destroy(cpu);
        return parity_error("lpips.nn", "context");
    }
    static const conv_case CONVS[] = {
        {"alexnet1", 3, 67, 61, 16, {11, 11, 4, 4, 2, 2}},
        {"vgg3x3", 64, 70, 70, 32, {3, 3, 1, 1, 1, 1}},
        {"rect", 5, 11, 8, 7, {2, 3, 2, 1, 1, 0}},
        {"pointwise", 48, 13, 9, 5, {1, 1, 1, 1, 0, 0}},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof CONVS / sizeof *CONVS; i++)
        fails += conv_parity(cpu, cuda, &CONVS[i], 40 + i);
    fails +=
        pool_parity(cpu, cuda, "alexnet", 16, 15, 14, (facet_nn_window){3, 3, 2, 2, 0, 0}, 0.0f);
    fails += pool_parity(cpu, cuda, "vgg", 8, 9, 7, (facet_nn_window){2, 2, 2, 2, 0, 0}, 0.0f);
    fails += pool_parity(cpu, cuda, "padded", 4, 6, 5, (facet_nn_window){3, 3, 1, 1, 1, 1}, -10.0f);
    facet_nn_destroy(cpu);
    facet_nn_destroy(cuda);
    return fails;
}

/* ---- lpips per-element ops ------------------------------------------------------------------ */

static int ops_parity(void) {
    enum { H = 23, W = 17, C = 37 };
    const size_t hw = (size_t)H * W;
    facet_rng rng = facet_rng_seed(77, 0);
    float *rgb = random_floats(&rng, 3 * hw, 0.0f, 1.0f);
    float *fa = random_floats(&rng, C * hw, 0.0f, 3.0f),
          *fb = random_floats(&rng, C * hw, 0.0f, 3.0f);
    float *w = random_floats(&rng, C, 0.0f, 0.5f);
    float *ref = facet_alloc(C * hw, sizeof *ref), *got = facet_alloc(C * hw, sizeof *got);
    float *d_rgb = to_device(rgb, 3 * hw), *d_fa = to_device(fa, C * hw);
    float *d_fb = to_device(fb, C * hw), *d_w = to_device(w, C), *d_out = to_device(NULL, C * hw);
    if (!rgb || !fa || !fb || !w || !ref || !got || !d_rgb || !d_fa || !d_fb || !d_w || !d_out)
        return parity_error("lpips.ops", "allocation");
    int fails = 0;
    const parity_tolerance exact = {.same_code = 1};
    const parity_tolerance two_ulps = {.rel = 2.0 * 2.0 * U, .same_code = 1};
    for (int conv = 0; conv < 2; conv++) {
        const char *name = conv ? "lpips.input.risesdf" : "lpips.input.nerfstudio";
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    ref[((size_t)c * H + y) * W + x] = facet_lpips_input(rgb, H, W, c, y, x, conv);
        if (facet_lpips_cuda_input(d_rgb, H, W, conv, d_out) != FACET_OK ||
            from_device(d_out, got, 3 * hw) != FACET_OK)
            fails += parity_error(name, "kernel");
        else
            fails += parity_check(name, ref, got, 3 * hw, &exact);
    }
    /* unit features of A, then B's head values against them */
    float *ua = facet_alloc(C * hw, sizeof *ua);
    for (size_t p = 0; p < hw; p++) facet_lpips_unit_pixel(fa, C, hw, p, ua);
    if (facet_lpips_cuda_unit(d_fa, C, hw, d_out) != FACET_OK ||
        from_device(d_out, got, C * hw) != FACET_OK)
        fails += parity_error("lpips.unit", "kernel");
    else
        fails += parity_check("lpips.unit", ua, got, C * hw, &two_ulps);
    float *d_ua = to_device(ua, C * hw);
    for (size_t p = 0; p < hw; p++) ref[p] = facet_lpips_head_pixel(ua, fb, w, C, hw, p);
    if (!d_ua || facet_lpips_cuda_head(d_ua, d_fb, d_w, C, hw, d_out) != FACET_OK ||
        from_device(d_out, got, hw) != FACET_OK)
        fails += parity_error("lpips.head", "kernel");
    else
        fails += parity_check("lpips.head", ref, got, hw, &two_ulps);
    free(rgb), free(fa), free(fb), free(w), free(ref), free(got), free(ua);
    device_free(d_rgb), device_free(d_fa), device_free(d_fb), device_free(d_w);
    device_free(d_out), device_free(d_ua);
    return fails;
}

/* ---- whole models --------------------------------------------------------------------------- */

static int read_pair(const cJSON *pairs, const char *pair, facet_image *a, facet_image *b) {
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(pairs, pair);
    char path[1024];
    for (int side = 0; side < 2; side++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(files, side ? "b" : "a");
        if (!cJSON_IsString(f)) return 0;
        snprintf(path, sizeof path, "%s/tests/fixtures/lpips/%s", parity_source_dir(),
                 f->valuestring);
        if (facet_image_read(side ? b : a, path, 3) != FACET_OK) return 0;
    }
    return 1;
}

/* LPIPS and taps of every case of `cases` on `m` into out[6 per case]. */
static int run_cases(facet_lpips *m, const cJSON *pairs, const cJSON *cases, float *out) {
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *pair = cJSON_GetObjectItemCaseSensitive(c, "pair")->valuestring;
        const int conv = facet_lpips_convention_from_name(
            cJSON_GetObjectItemCaseSensitive(c, "convention")->valuestring);
        facet_image a = {0}, b = {0};
        facet_lpips_result r;
        const int ok =
            conv >= 0 && read_pair(pairs, pair, &a, &b) &&
            facet_lpips_distance(m, &a, &b, (facet_lpips_convention)conv, &r) == FACET_OK;
        facet_image_free(&a);
        facet_image_free(&b);
        if (!ok) return 0;
        out[6 * i] = (float)r.distance;
        for (int k = 0; k < FACET_LPIPS_TAPS; k++) out[6 * i + 1 + k] = (float)r.taps[k];
        i++;
    }
    return 1;
}

static int model_parity(facet_lpips_net net, const facet_doc *doc) {
    const char *net_name = facet_lpips_net_name(net);
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc->root, "nets"), net_name);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(doc->root, "pairs");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(entry, "cases");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(entry, "seed");
    char name[64], heads[1024], weights[1024];
    snprintf(name, sizeof name, "lpips.%s.cpu", net_name);
    if (!cJSON_IsArray(cases) || !cJSON_IsNumber(seed)) return parity_error(name, "expected.json");
    snprintf(heads, sizeof heads, "%s/models/lpips_heads_%s.safetensors", parity_source_dir(),
             net_name);
    FILE *f = fopen(heads, "rb");
    const int real_heads = f != NULL;
    if (f) fclose(f);
    snprintf(weights, sizeof weights, "%s/%s.safetensors", parity_scratch_dir(), net_name);
    if (facet_lpips_write_random(weights, net, (uint64_t)seed->valuedouble,
                                 real_heads ? heads : NULL) != FACET_OK)
        return parity_error(name, facet_last_error());
    facet_lpips *cpu = NULL, *cuda = NULL;
    const size_t n = 6 * (size_t)cJSON_GetArraySize(cases);
    float *ref = facet_alloc(n, sizeof *ref), *got = facet_alloc(n, sizeof *got);
    int fails = 0;
    if (facet_lpips_load(&cpu, weights, FACET_NN_CPU) != FACET_OK ||
        facet_lpips_load(&cuda, weights, FACET_NN_CUDA) != FACET_OK || !ref || !got ||
        !run_cases(cpu, pairs, cases, ref) || !run_cases(cuda, pairs, cases, got)) {
        fails = parity_error(name, "LPIPS");
    } else {
        const parity_tolerance tol = {.abs = 1e-5};
        fails += parity_check(name, ref, got, n, &tol);
        snprintf(name, sizeof name, "lpips.%s.package", net_name);
        if (!real_heads) {
            printf("     (%s skipped: no %s; scripts/setup.sh makes it)\n", name, heads);
        } else {
            int i = 0;
            const cJSON *c;
            cJSON_ArrayForEach(c, cases) {
                ref[6 * i] = (float)cJSON_GetObjectItemCaseSensitive(c, "distance")->valuedouble;
                const cJSON *taps = cJSON_GetObjectItemCaseSensitive(c, "taps");
                for (int k = 0; k < FACET_LPIPS_TAPS; k++)
                    ref[6 * i + 1 + k] = (float)cJSON_GetArrayItem(taps, k)->valuedouble;
                i++;
            }
            fails += parity_check(name, ref, got, n, &tol);
        }
    }
    facet_lpips_free(cpu);
    facet_lpips_free(cuda);
    free(ref), free(got);
    return fails;
}

int parity_suite_lpips(void) {
    int fails = suite_nn() + ops_parity();
    facet_doc doc;
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/lpips/expected.json", parity_source_dir());
    if (facet_json_load(&doc, path) != FACET_OK) return fails + parity_error("lpips", path);
    fails += model_parity(FACET_LPIPS_ALEX, &doc);
    fails += model_parity(FACET_LPIPS_VGG16, &doc);
    facet_doc_free(&doc);
    return fails;
}
