/* LPIPS's forward pass (lpips/lpips.h) on an nn context, and the CPU launchers of its
 * per-element ops (lpips/lpips_ops.h); CUDA models call lpips/cuda/lpips.cu instead.
 *
 * Image A runs through the backbone first and its unit features stay at every tap; image B
 * follows, and at each tap its head values are computed against A's, per pixel on the device,
 * then copied to the host and averaged in double in pixel order (so both devices sum the same
 * way). Work memory, for an H x W pair: the input [3, H, W], two ping-pong layer buffers (the
 * largest layer output), A's taps, and a tap's per-pixel head values; it is kept between calls
 * and grows with the image size. */
#include "lpips/lpips.h"

#include "core/alloc.h"
#include "core/parallel.h"
#include "lpips/lpips_internal.h"
#include "lpips/lpips_ops.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- CPU launchers ----------------------------------------------------------------------------
 */

static void cpu_input(const float *rgb, int h, int w, int convention, float *x) {
    const long long rows = 3LL * h;
#pragma omp parallel for schedule(static)
    for (long long r = 0; r < rows; r++) {
        const int c = (int)(r / h), y = (int)(r % h);
        float *dst = x + (size_t)r * w;
        for (int xx = 0; xx < w; xx++) dst[xx] = facet_lpips_input(rgb, h, w, c, y, xx, convention);
    }
}

static void cpu_unit(const float *f, int channels, size_t hw, float *u) {
#pragma omp parallel for schedule(static)
    for (long long p = 0; p < (long long)hw; p++)
        facet_lpips_unit_pixel(f, channels, hw, (size_t)p, u);
}

static void cpu_head(const float *ua, const float *fb, const float *w, int channels, size_t hw,
                     float *d) {
#pragma omp parallel for schedule(static)
    for (long long p = 0; p < (long long)hw; p++)
        d[p] = facet_lpips_head_pixel(ua, fb, w, channels, hw, (size_t)p);
}

/* ---- the model --------------------------------------------------------------------------------
 */

facet_status facet_lpips_load(facet_lpips **out, const char *path, facet_nn_device device) {
    *out = NULL;
    facet_lpips *m = facet_alloc_zeroed(1, sizeof *m);
    if (!m) return facet_last_status();
    m->device = device;
    facet_status s = (m->path = facet_strdup(path)) ? FACET_OK : facet_last_status();
    if (s == FACET_OK) s = lpips_weights_load(m, path); /* its errors name the file */
    if (s != FACET_OK) {
        facet_lpips_free(m);
        return s;
    }
    s = facet_nn_create(&m->nn, device, FACET_NN_FP32);
    if (s == FACET_OK && device == FACET_NN_CUDA) {
        /* the weights move to the device: the pointers follow by their offsets */
        const size_t bytes = m->param_count * sizeof(float);
        s = facet_device_buffer_alloc(&m->device_params, bytes);
        if (s == FACET_OK) s = facet_device_buffer_upload(&m->device_params, m->params, bytes);
        if (s == FACET_OK) {
            float *dev = m->device_params.data;
            for (int i = 0; i < LPIPS_MAX_LAYERS; i++) {
                if (m->weight[i]) m->weight[i] = dev + (m->weight[i] - m->params);
                if (m->bias[i]) m->bias[i] = dev + (m->bias[i] - m->params);
            }
            for (int k = 0; k < FACET_LPIPS_TAPS; k++) m->head[k] = dev + (m->head[k] - m->params);
            free(m->params);
            m->params = dev;
        }
    }
    if (s == FACET_OK) s = facet_nn_params(m->nn, m->params, m->param_count);
    if (s != FACET_OK) {
        facet_error_context("LPIPS weights '%s'", path);
        facet_lpips_free(m);
        return facet_last_status();
    }
    *out = m;
    return FACET_OK;
}

void facet_lpips_free(facet_lpips *m) {
    if (!m) return;
    facet_nn_destroy(m->nn);
    if (m->device_params.data)
        facet_device_buffer_free(&m->device_params);
    else
        free(m->params);
    facet_device_buffer_free(&m->device_work);
    free(m->work);
    free(m->host_distances);
    free(m->path);
    free(m);
}

facet_lpips_net facet_lpips_net_of(const facet_lpips *m) {
    return m->net;
}

/* Work buffers carved out of one allocation. */
typedef struct work_layout {
    float *rgb;                    /* the image uploaded [H, W, 3] (CUDA only) */
    float *ping, *pong;            /* layer outputs (the input x first) */
    float *taps[FACET_LPIPS_TAPS]; /* A's unit features */
    float *distances;              /* a tap's per-pixel head values (CUDA only) */
    size_t floats;                 /* in all */
    size_t tap_pixels;             /* of the largest tap */
} work_layout;

/* Lays the buffers out from `base` (NULL: only counts) for an h x w pair. */
static work_layout layout_work(const facet_lpips *m, int h, int w, int sizes[][2], float *base) {
    const lpips_arch *arch = m->arch;
    const int cuda = m->device == FACET_NN_CUDA;
    size_t largest = (size_t)3 * h * w, tap_pixels = 0, channels = 3;
    for (int i = 0; i < arch->layer_count; i++) {
        const lpips_layer *l = &arch->layers[i];
        const size_t pixels = (size_t)sizes[i][0] * sizes[i][1];
        if (!l->pool) channels = (size_t)l->out; /* pooling keeps the channels */
        if (channels * pixels > largest) largest = channels * pixels;
        if (!l->pool && l->tap >= 0 && pixels > tap_pixels) tap_pixels = pixels;
    }
    work_layout L = {0};
    size_t at = 0;
    /* every buffer starts on 16 floats (64 bytes) */
#define CARVE(field, n)                                                                            \
    do {                                                                                           \
        field = base ? base + at : NULL;                                                           \
        at += ((size_t)(n) + 15) & ~(size_t)15;                                                    \
    } while (0)
    CARVE(L.rgb, cuda ? (size_t)3 * h * w : 0);
    CARVE(L.ping, largest);
    CARVE(L.pong, largest);
    for (int i = 0; i < arch->layer_count; i++) {
        const lpips_layer *l = &arch->layers[i];
        if (!l->pool && l->tap >= 0)
            CARVE(L.taps[l->tap], (size_t)l->out * sizes[i][0] * sizes[i][1]);
    }
    CARVE(L.distances, cuda ? tap_pixels : 0);
#undef CARVE
    L.floats = at;
    L.tap_pixels = tap_pixels;
    return L;
}

static facet_status reserve_work(facet_lpips *m, size_t floats, size_t tap_pixels) {
    if (floats > m->work_floats) {
        if (m->device == FACET_NN_CUDA) {
            facet_status s = facet_device_buffer_reserve(&m->device_work, floats * sizeof(float));
            if (s != FACET_OK) return s;
        } else {
            free(m->work);
            void *p = NULL;
            if (posix_memalign(&p, 64, floats * sizeof(float)) != 0) {
                m->work = NULL;
                m->work_floats = 0;
                return facet_fail(FACET_ERR_OUT_OF_MEMORY,
                                  "LPIPS: cannot allocate %zu bytes of work memory",
                                  floats * sizeof(float));
            }
            m->work = p;
        }
        m->work_floats = floats;
    }
    if (tap_pixels > m->host_distance_count) {
        free(m->host_distances);
        m->host_distance_count = 0;
        m->host_distances = facet_alloc(tap_pixels, sizeof(float));
        if (!m->host_distances) return facet_last_status();
        m->host_distance_count = tap_pixels;
    }
    return FACET_OK;
}

static facet_status check_images(const facet_lpips *m, const facet_image *a, const facet_image *b,
                                 facet_lpips_convention convention) {
    if (a->channels != 3 || b->channels != 3)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "LPIPS compares RGB images (3 channels), got %d and %d channels",
                          a->channels, b->channels);
    if (a->width != b->width || a->height != b->height)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "LPIPS compares images of one size, got %dx%d and %dx%d", a->width,
                          a->height, b->width, b->height);
    const int min = facet_lpips_min_side(m->net);
    if (a->width < min || a->height < min)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "a %dx%d image is too small for LPIPS (%s): the backbone needs at least "
                          "%dx%d",
                          a->width, a->height, facet_lpips_net_name(m->net), min, min);
    /* torchmetrics' check: [0, 1] with normalize=True; only min >= -1 without (plus finite) */
    const int risesdf = convention == FACET_LPIPS_RISESDF;
    const float lo = risesdf ? -1.0f : 0.0f, hi = risesdf ? FLT_MAX : 1.0f;
    const size_t n = (size_t)a->width * a->height * 3;
    for (int side = 0; side < 2; side++) {
        const float *v = side ? b->data : a->data;
        for (size_t i = 0; i < n; i++)
            if (!(v[i] >= lo && v[i] <= hi))
                return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                                  "LPIPS (%s convention) takes %s values; image %c holds %g at "
                                  "pixel (%zu, %zu) channel %zu",
                                  facet_lpips_convention_name(convention),
                                  risesdf ? "finite, >= -1" : "[0, 1]", side ? 'B' : 'A',
                                  (double)v[i], i / 3 % (size_t)a->width, i / 3 / (size_t)a->width,
                                  i % 3);
    }
    return FACET_OK;
}

/* Runs one image through the backbone. Image A (is_b 0) keeps its unit features at every tap;
 * image B (is_b 1) sets each tap's spatial mean head value in result->taps. */
static facet_status forward(facet_lpips *m, const facet_image *img,
                            facet_lpips_convention convention, int sizes[][2], const work_layout *L,
                            int is_b, facet_lpips_result *result) {
    const lpips_arch *arch = m->arch;
    const int cuda = m->device == FACET_NN_CUDA, h = img->height, w = img->width;
    facet_status s = FACET_OK;
    if (cuda) {
        facet_device_buffer rgb = {L->rgb, (size_t)3 * h * w * sizeof(float)};
        s = facet_device_buffer_upload(&rgb, img->data, rgb.bytes);
        if (s == FACET_OK) s = facet_lpips_cuda_input(L->rgb, h, w, (int)convention, L->ping);
    } else {
        cpu_input(img->data, h, w, (int)convention, L->ping);
    }
    float *cur = L->ping, *next = L->pong;
    int ch = 3, ih = h, iw = w;
    for (int i = 0; s == FACET_OK && i < arch->layer_count; i++) {
        const lpips_layer *l = &arch->layers[i];
        const int oh = sizes[i][0], ow = sizes[i][1];
        if (l->pool) {
            s = facet_nn_max_pool2d(m->nn, cur, ch, ih, iw, &l->window, next);
        } else {
            s = facet_nn_conv2d(m->nn, cur, 1, l->in, ih, iw, m->weight[i], m->bias[i], l->out,
                                &l->window, FACET_NN_RELU, next);
            ch = l->out;
        }
        if (s != FACET_OK) break;
        if (!l->pool && l->tap >= 0) {
            const size_t hw = (size_t)oh * ow;
            float *tap = L->taps[l->tap];
            if (!is_b && cuda) {
                s = facet_lpips_cuda_unit(next, ch, hw, tap);
            } else if (!is_b) {
                cpu_unit(next, ch, hw, tap);
            } else {
                const float *head = m->head[l->tap];
                if (cuda) {
                    s = facet_lpips_cuda_head(tap, next, head, ch, hw, L->distances);
                    facet_device_buffer d = {L->distances, hw * sizeof(float)};
                    if (s == FACET_OK)
                        s = facet_device_buffer_download(&d, m->host_distances, d.bytes);
                } else {
                    cpu_head(tap, next, head, ch, hw, m->host_distances);
                }
                double sum = 0.0;
                for (size_t p = 0; p < hw; p++) sum += m->host_distances[p];
                result->taps[l->tap] = sum / (double)hw;
            }
        }
        float *t = cur;
        cur = next;
        next = t;
        ih = oh;
        iw = ow;
    }
    return s;
}

facet_status facet_lpips_distance(facet_lpips *m, const facet_image *a, const facet_image *b,
                                  facet_lpips_convention convention, facet_lpips_result *result) {
    memset(result, 0, sizeof *result);
    if (!facet_lpips_convention_name(convention))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "LPIPS: unknown convention %d",
                          (int)convention);
    facet_status s = check_images(m, a, b, convention);
    if (s != FACET_OK) return s;
    int sizes[LPIPS_MAX_LAYERS][2];
    if (!lpips_arch_sizes(m->arch, a->height, a->width, sizes))
        return facet_fail(FACET_ERR_INTERNAL, "LPIPS: the size check missed %dx%d", a->width,
                          a->height);
    work_layout L = layout_work(m, a->height, a->width, sizes, NULL);
    s = reserve_work(m, L.floats, L.tap_pixels);
    if (s != FACET_OK) return s;
    L = layout_work(m, a->height, a->width, sizes,
                    m->device == FACET_NN_CUDA ? (float *)m->device_work.data : m->work);
    s = forward(m, a, convention, sizes, &L, 0, result);
    if (s == FACET_OK) s = forward(m, b, convention, sizes, &L, 1, result);
    if (s != FACET_OK) return facet_error_context("LPIPS (%s)", facet_lpips_net_name(m->net));
    for (int k = 0; k < FACET_LPIPS_TAPS; k++) result->distance += result->taps[k];
    return FACET_OK;
}
