#include "env_sampling.h"

#include "core/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Luminance of texel (i, j), 0 where it is negative or not finite. */
static float texel_luminance(const facet_envmap_view *env, int i, int j) {
    const float *c = env->rgb + 3 * ((size_t)i * env->width + j);
    const float lum = 0.2126f * c[0] + 0.7152f * c[1] + 0.0722f * c[2];
    return lum > 0.0f && isfinite(lum) ? lum : 0.0f;
}

facet_status facet_env_distribution_build(facet_env_distribution *out,
                                          const facet_envmap_view *env) {
    memset(out, 0, sizeof *out);
    out->view.uniform = 1;
    if (!env) return FACET_OK;
    const int W = env->width, H = env->height;
    /* accumulate in double: a 4k map has 8M texels and float sums would drop the dim ones */
    double *row_sum = facet_alloc((size_t)H, sizeof *row_sum);
    float *lum = facet_alloc((size_t)H * W, sizeof *lum);
    float *memory = facet_alloc((size_t)(H + 1) + (size_t)H * (W + 1), sizeof *memory);
    if (!row_sum || !lum || !memory) {
        free(row_sum);
        free(lum);
        free(memory);
        return facet_error_context("environment sampling tables for a %dx%d map", W, H);
    }
#pragma omp parallel for
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) lum[(size_t)i * W + j] = texel_luminance(env, i, j);
    float *row_cdf = memory, *col_cdf = memory + H + 1;
    double total = 0.0;
#pragma omp parallel for reduction(+ : total)
    for (int i = 0; i < H; i++) {
        const double st = sin(3.14159265358979323846 * (i + 0.5) / H);
        float *cdf = col_cdf + (size_t)i * (W + 1);
        double sum = 0.0;
        cdf[0] = 0.0f;
        for (int j = 0; j < W; j++) {
            /* The radiance inside texel (i, j) is bilinear between the centres of its 3 x 3
             * neighbourhood (wrapping in u, clamped in v): its mean over the texel weights them
             * by the tensor product of (1, 6, 1) / 8, and that mean is the texel's weight. So no
             * direction with radiance has zero density: a bright texel beside black ones (a sun
             * disc in a dark room) would otherwise be reached only by BSDF samples at the full
             * MIS weight, as fireflies. */
            static const float tap[3] = {0.125f, 0.75f, 0.125f};
            float m = 0.0f;
            for (int di = -1; di <= 1; di++) {
                const int ii = i + di < 0 ? 0 : (i + di >= H ? H - 1 : i + di);
                for (int dj = -1; dj <= 1; dj++) {
                    const int jj = (j + dj + W) % W;
                    m += tap[di + 1] * tap[dj + 1] * lum[(size_t)ii * W + jj];
                }
            }
            sum += (double)m * st;
            cdf[j + 1] = (float)sum; /* normalised below */
        }
        for (int j = 1; j <= W; j++) cdf[j] = sum > 0.0 ? (float)(cdf[j] / sum) : (float)j / W;
        cdf[W] = 1.0f;
        row_sum[i] = sum;
        total += sum;
    }
    free(lum);
    if (!(total > 0.0) || !isfinite(total)) { /* a black map: uniform directions */
        free(row_sum);
        free(memory);
        return FACET_OK;
    }
    double acc = 0.0;
    row_cdf[0] = 0.0f;
    for (int i = 0; i < H; i++) {
        acc += row_sum[i];
        row_cdf[i + 1] = (float)(acc / total);
    }
    row_cdf[H] = 1.0f;
    free(row_sum);
    out->memory = memory;
    out->view = (facet_env_distribution_view){W, H, 0, row_cdf, col_cdf};
    return FACET_OK;
}

void facet_env_distribution_free(facet_env_distribution *dist) {
    free(dist->memory);
    memset(dist, 0, sizeof *dist);
}
