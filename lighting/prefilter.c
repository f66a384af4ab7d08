#include "prefilter.h"

#include "core/parallel.h"

#include <math.h>
#include <stdlib.h>

float facet_ggx_cone_cutoff(float roughness, double fraction) {
    enum { SAMPLES = 1000000 };
    const double half_pi = 1.57079632679489661923;
    const double alpha2 = pow((double)roughness, 4.0);
    double total = 0.0;
    for (int i = 0; i < SAMPLES; i++) {
        double c = cos(half_pi * i / (SAMPLES - 1));
        double d = (c * alpha2 - c) * c + 1.0;
        total += alpha2 / (d * d * 3.14159265358979323846);
    }
    double running = 0.0;
    for (int i = 0; i < SAMPLES; i++) {
        double c = cos(half_pi * i / (SAMPLES - 1));
        double d = (c * alpha2 - c) * c + 1.0;
        running += alpha2 / (d * d * 3.14159265358979323846);
        if (running >= total * fraction) return (float)c;
    }
    return 0.0f;
}

int facet_prefilter_sample_table(float alpha2, int samples, int size, float *out) {
    const float log2_omega_p =
        log2f(4.0f * 3.14159265358979323846f / (6.0f * (float)size * (float)size));
    int kept = 0;
    for (int i = 0; i < samples; i++)
        kept += facet_prefilter_sample(i, samples, alpha2, log2_omega_p, out + (size_t)kept * 5);
    return kept;
}

void facet_cube_area_table(int n, float *out) {
    for (int i = 0; i < n; i++) out[i] = facet_cube_area_factor(i, n);
}

/* Solid angle of the face region [0, x] x [0, y] of the unit cube's face at distance 1. */
static double corner_area(double x, double y) {
    return atan2(x * y, sqrt(x * x + y * y + 1.0));
}

void facet_cube_texel_weights(int n, int exact, float *weight) {
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            if (!exact) {
                weight[y * n + x] = facet_cube_area_factor(x, n) * facet_cube_area_factor(y, n);
                continue;
            }
            double x0 = 2.0 * x / n - 1.0, x1 = 2.0 * (x + 1) / n - 1.0;
            double y0 = 2.0 * y / n - 1.0, y1 = 2.0 * (y + 1) / n - 1.0;
            weight[y * n + x] = (float)(corner_area(x1, y1) - corner_area(x0, y1) -
                                        corner_area(x1, y0) + corner_area(x0, y0));
        }
}

/* The rings' inverse-norm tables (facet_prefilter_level.inv_norm) for the chain levels the
 * rings of q read that it has none for, into q; returns the allocation (NULL: none made, or no
 * memory, where the filter computes them in place). */
static float *tabulate_inv_norms(facet_prefilter_level *q) {
    size_t total = 0;
    int used[FACET_CUBE_MAX_LEVELS] = {0};
    for (int k = 0; k < q->ring_count; k++) used[q->rings[k].level] = 1;
    for (int l = 0; l < q->chain.levels; l++)
        if (used[l] && !q->inv_norm[l]) total += (size_t)q->chain.sizes[l] * q->chain.sizes[l];
    float *tables = total ? malloc(total * sizeof *tables) : NULL;
    if (!tables) return NULL;
    float *t = tables;
    for (int l = 0; l < q->chain.levels; l++) {
        if (!used[l] || q->inv_norm[l]) continue;
        const int n = q->chain.sizes[l];
        const float step = 2.0f / (float)n;
        for (int y = 0; y < n; y++) {
            const float fy = ((float)y + 0.5f) * step - 1.0f;
            for (int x = 0; x < n; x++)
                t[(size_t)y * n + x] =
                    facet_ring_inv_norm(((float)x + 0.5f) * step - 1.0f, 1.0f + fy * fy);
        }
        q->inv_norm[l] = t;
        t += (size_t)n * n;
    }
    return tables;
}

void facet_prefilter_level_cpu(const facet_prefilter_level *p, float *out) {
    const int n = p->size;
    facet_prefilter_level q = *p;
    float *tables =
        q.mode == FACET_PREFILTER_QUALITY && q.samples == 0 ? tabulate_inv_norms(&q) : NULL;
    FACET_PARALLEL_FOR(row, 0, 6 * (int64_t)n) {
        int face = (int)(row / n), y = (int)(row % n);
        for (int x = 0; x < n; x++)
            facet_prefilter_texel(&q, face, x, y, out + facet_cube_texel_offset(n, face, x, y));
    }
    free(tables);
    facet_cube_fill_borders(out, n);
}

void facet_irradiance_cpu(const facet_irradiance_source *source, int n, float *out) {
    facet_irradiance_source s = *source;
    const int m = s.size;
    float *dirs = s.dirs ? NULL : malloc((size_t)6 * m * m * 3 * sizeof *dirs);
    if (dirs) { /* without memory, each direction is computed where it is used */
        for (int g = 0; g < 6; g++)
            for (int j = 0; j < m; j++)
                for (int i = 0; i < m; i++) {
                    facet_vec3 d = facet_cube_texel_dir(g, i, j, m);
                    float *e = dirs + (((size_t)g * m + j) * m + i) * 3;
                    e[0] = d.x;
                    e[1] = d.y;
                    e[2] = d.z;
                }
        s.dirs = dirs;
    }
    FACET_PARALLEL_FOR(row, 0, 6 * (int64_t)n) {
        int face = (int)(row / n), y = (int)(row % n);
        for (int x = 0; x < n; x++)
            facet_irradiance_texel(&s, n, face, x, y, out + facet_cube_texel_offset(n, face, x, y));
    }
    facet_cube_fill_borders(out, n);
    free(dirs);
}
