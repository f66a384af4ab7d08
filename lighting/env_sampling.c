#include "env_sampling.h"

#include "core/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

facet_status facet_env_distribution_build(facet_env_distribution *out,
                                          const facet_envmap_view *env) {
    memset(out, 0, sizeof *out);
    out->view.uniform = 1;
    if (!env) return FACET_OK;
    const int W = env->width, H = env->height;
    /* accumulate in double: a 4k map has 8M texels and float sums would drop the dim ones */
    double *row_sum = facet_alloc((size_t)H, sizeof *row_sum);
    float *memory = facet_alloc((size_t)(H + 1) + (size_t)H * (W + 1), sizeof *memory);
    if (!row_sum || !memory) {
        free(row_sum);
        free(memory);
        return facet_error_context("environment sampling tables for a %dx%d map", W, H);
    }
    float *row_cdf = memory, *col_cdf = memory + H + 1;
    double total = 0.0;
#pragma omp parallel for reduction(+ : total)
    for (int i = 0; i < H; i++) {
        const double st = sin(3.14159265358979323846 * (i + 0.5) / H);
        float *cdf = col_cdf + (size_t)i * (W + 1);
        double sum = 0.0;
        cdf[0] = 0.0f;
        for (int j = 0; j < W; j++) {
            const float *c = env->rgb + 3 * ((size_t)i * W + j);
            double lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
            /* non-finite or negative texels get no samples (BRDF sampling still reaches them) */
            if (!(lum > 0.0) || !isfinite(lum)) lum = 0.0;
            sum += lum * st;
            cdf[j + 1] = (float)sum; /* normalised below */
        }
        for (int j = 1; j <= W; j++) cdf[j] = sum > 0.0 ? (float)(cdf[j] / sum) : (float)j / W;
        cdf[W] = 1.0f;
        row_sum[i] = sum;
        total += sum;
    }
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
