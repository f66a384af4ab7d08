/* PSNR, SSIM and median-ratio alignment (see metrics.h for the protocol). Reductions sum per row
 * and then over rows in order, so results do not depend on the number of threads. */
#include "metrics.h"

#include "alloc.h"
#include "parallel.h"

#include <math.h>
#include <stdlib.h>

/* SSIM window: scipy.ndimage.gaussian_filter with sigma 1.5 and truncate 3.5 has radius
 * int(3.5 * 1.5 + 0.5) = 5, i.e. 11 taps. */
enum { SSIM_RADIUS = 5, SSIM_TAPS = 2 * SSIM_RADIUS + 1 };
static const double SSIM_SIGMA = 1.5;
static const double SSIM_C1 = 0.01 * 0.01; /* (K1 * data range)^2 */
static const double SSIM_C2 = 0.03 * 0.03; /* (K2 * data range)^2 */

/* Five local statistics of one channel pair: x, y, x*x, y*y, x*y. */
enum { SSIM_STATS = 5 };

static int is_inside(const facet_image *mask, int64_t pixel) {
    return mask == NULL || mask->data[pixel] > 0.5f;
}

static facet_status check_inputs(const char *metric, const facet_image *a, const facet_image *b,
                                 const facet_image *mask) {
    if (!a || !b || !a->data || !b->data)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: an image is missing", metric);
    if (a->width <= 0 || a->height <= 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: image is empty (%dx%d)", metric,
                          a->width, a->height);
    if (a->width != b->width || a->height != b->height)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: image sizes differ (%dx%d vs %dx%d)",
                          metric, a->width, a->height, b->width, b->height);
    if (a->channels != b->channels)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: channel counts differ (%d vs %d)",
                          metric, a->channels, b->channels);
    if (a->channels < 1 || a->channels > 4)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: %d channels, expected 1 to 4", metric,
                          a->channels);
    if (!mask) return FACET_OK;
    if (!mask->data)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: the mask has no data", metric);
    if (mask->width != a->width || mask->height != a->height)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: mask is %dx%d, images are %dx%d", metric,
                          mask->width, mask->height, a->width, a->height);
    if (mask->channels != 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "%s: mask has %d channels, expected 1 (value > 0.5 = inside)", metric,
                          mask->channels);
    return FACET_OK;
}

facet_status facet_psnr(const facet_image *a, const facet_image *b, const facet_image *mask,
                        double *out) {
    facet_status status = check_inputs("PSNR", a, b, mask);
    if (status != FACET_OK) return status;
    const int width = a->width, height = a->height, channels = a->channels;
    double *row_sse = facet_alloc(height, sizeof *row_sse);
    int64_t *row_pixels = facet_alloc(height, sizeof *row_pixels);
    if (!row_sse || !row_pixels) {
        free(row_sse);
        free(row_pixels);
        return facet_error_context("PSNR");
    }
    FACET_PARALLEL_FOR(y, 0, height) {
        double sse = 0.0;
        int64_t pixels = 0;
        for (int64_t x = 0; x < width; x++) {
            const int64_t pixel = y * width + x;
            if (!is_inside(mask, pixel)) continue;
            pixels++;
            for (int c = 0; c < channels; c++) {
                const double d =
                    (double)a->data[pixel * channels + c] - (double)b->data[pixel * channels + c];
                sse += d * d;
            }
        }
        row_sse[y] = sse;
        row_pixels[y] = pixels;
    }
    double sse = 0.0;
    int64_t pixels = 0;
    for (int y = 0; y < height; y++) {
        sse += row_sse[y];
        pixels += row_pixels[y];
    }
    free(row_sse);
    free(row_pixels);
    if (pixels == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "PSNR: the mask selects no pixels");
    const double mse = sse / ((double)pixels * channels);
    *out = mse > 0.0 ? 10.0 * log10(1.0 / mse) : INFINITY;
    return FACET_OK;
}

/* scipy.ndimage._gaussian_kernel1d(sigma, 0, radius): exp(-0.5 x^2 / sigma^2) normalised. */
static void ssim_kernel(double kernel[SSIM_TAPS]) {
    double sum = 0.0;
    for (int i = 0; i < SSIM_TAPS; i++) {
        const double x = i - SSIM_RADIUS;
        kernel[i] = exp(-0.5 / (SSIM_SIGMA * SSIM_SIGMA) * x * x);
        sum += kernel[i];
    }
    for (int i = 0; i < SSIM_TAPS; i++) kernel[i] /= sum;
}

/* SSIM map of channel c summed over the scored pixels, per row of the cropped region.
 * vertical: scratch of SSIM_STATS * (height - 10) * width doubles. row_sum[y - 5] receives the sum
 * over the scored pixels of row y, row_count[y - 5] their number. */
static void ssim_channel(const facet_image *a, const facet_image *b, const facet_image *mask, int c,
                         const double kernel[SSIM_TAPS], double *vertical, double *row_sum,
                         int64_t *row_count) {
    const int width = a->width, height = a->height, channels = a->channels;
    const int64_t rows = height - 2 * SSIM_RADIUS;
    const int64_t plane = rows * width;
    /* Pass 1 (scipy filters axis 0 first): vertical filter of the five statistics, rows 5..H-6. */
    FACET_PARALLEL_FOR(r, 0, rows) {
        for (int64_t x = 0; x < width; x++) {
            double s[SSIM_STATS] = {0.0, 0.0, 0.0, 0.0, 0.0};
            for (int t = 0; t < SSIM_TAPS; t++) {
                const int64_t index = ((r + t) * width + x) * channels + c;
                const double va = a->data[index], vb = b->data[index], w = kernel[t];
                s[0] += w * va;
                s[1] += w * vb;
                s[2] += w * (va * va);
                s[3] += w * (vb * vb);
                s[4] += w * (va * vb);
            }
            for (int k = 0; k < SSIM_STATS; k++) vertical[k * plane + r * width + x] = s[k];
        }
    }
    /* Pass 2: horizontal filter at columns 5..W-6, then the SSIM map. */
    FACET_PARALLEL_FOR(r, 0, rows) {
        double sum = 0.0;
        int64_t count = 0;
        for (int64_t x = SSIM_RADIUS; x < width - SSIM_RADIUS; x++) {
            if (!is_inside(mask, (r + SSIM_RADIUS) * width + x)) continue;
            double s[SSIM_STATS] = {0.0, 0.0, 0.0, 0.0, 0.0};
            for (int k = 0; k < SSIM_STATS; k++) {
                const double *line = vertical + k * plane + r * width + x - SSIM_RADIUS;
                for (int t = 0; t < SSIM_TAPS; t++) s[k] += kernel[t] * line[t];
            }
            const double ux = s[0], uy = s[1];
            const double vx = s[2] - ux * ux, vy = s[3] - uy * uy, vxy = s[4] - ux * uy;
            const double a1 = 2.0 * ux * uy + SSIM_C1, a2 = 2.0 * vxy + SSIM_C2;
            const double b1 = ux * ux + uy * uy + SSIM_C1, b2 = vx + vy + SSIM_C2;
            sum += (a1 * a2) / (b1 * b2);
            count++;
        }
        row_sum[r] = sum;
        row_count[r] = count;
    }
}

facet_status facet_ssim(const facet_image *a, const facet_image *b, const facet_image *mask,
                        double *out) {
    facet_status status = check_inputs("SSIM", a, b, mask);
    if (status != FACET_OK) return status;
    if (a->width < SSIM_TAPS || a->height < SSIM_TAPS)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "SSIM: image is %dx%d, the 11x11 window needs at least 11x11", a->width,
                          a->height);
    const int64_t rows = a->height - 2 * SSIM_RADIUS;
    double *vertical = facet_alloc((size_t)(SSIM_STATS * rows), (size_t)a->width * sizeof(double));
    double *row_sum = facet_alloc((size_t)rows, sizeof *row_sum);
    int64_t *row_count = facet_alloc((size_t)rows, sizeof *row_count);
    if (!vertical || !row_sum || !row_count) {
        free(vertical);
        free(row_sum);
        free(row_count);
        return facet_error_context("SSIM");
    }
    double kernel[SSIM_TAPS];
    ssim_kernel(kernel);
    double channel_sum = 0.0;
    int64_t count = 0;
    for (int c = 0; c < a->channels; c++) {
        ssim_channel(a, b, mask, c, kernel, vertical, row_sum, row_count);
        double sum = 0.0;
        count = 0;
        for (int64_t r = 0; r < rows; r++) {
            sum += row_sum[r];
            count += row_count[r];
        }
        if (count == 0) break;
        channel_sum += sum / (double)count;
    }
    free(vertical);
    free(row_sum);
    free(row_count);
    if (count == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "SSIM: the mask selects no pixels at least 5 pixels from the border");
    *out = channel_sum / a->channels;
    return FACET_OK;
}

/* Total order on floats for qsort (NaN last, as torch.sort places it). */
static int compare_float(const void *pa, const void *pb) {
    const float x = *(const float *)pa, y = *(const float *)pb;
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

facet_status facet_align_median_ratio(facet_image *pred, const facet_image *gt,
                                      const facet_image *mask, double *scales_out) {
    facet_status status = check_inputs("median-ratio alignment", pred, gt, mask);
    if (status != FACET_OK) return status;
    const int64_t pixels = (int64_t)pred->width * pred->height;
    const int channels = pred->channels;
    int64_t count = 0;
    for (int64_t p = 0; p < pixels; p++) count += is_inside(mask, p);
    if (count == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "median-ratio alignment: the mask selects no pixels");
    float *ratios = facet_alloc((size_t)count, sizeof *ratios);
    if (!ratios) return facet_error_context("median-ratio alignment");
    float scales[4];
    for (int c = 0; c < channels; c++) {
        int64_t n = 0;
        for (int64_t p = 0; p < pixels; p++) {
            if (!is_inside(mask, p)) continue;
            const float value = pred->data[p * channels + c];
            /* torch's clamp(min=1e-6): NaN stays NaN. */
            ratios[n++] = gt->data[p * channels + c] / (value < 1e-6f ? 1e-6f : value);
        }
        qsort(ratios, (size_t)n, sizeof *ratios, compare_float);
        scales[c] = ratios[(n - 1) / 2];
    }
    free(ratios);
    FACET_PARALLEL_FOR(p, 0, pixels) {
        if (!is_inside(mask, p)) continue;
        for (int c = 0; c < channels; c++) {
            const float scaled = scales[c] * pred->data[p * channels + c];
            pred->data[p * channels + c] = scaled < 0.0f ? 0.0f : (scaled > 1.0f ? 1.0f : scaled);
        }
    }
    if (scales_out)
        for (int c = 0; c < channels; c++) scales_out[c] = scales[c];
    return FACET_OK;
}
