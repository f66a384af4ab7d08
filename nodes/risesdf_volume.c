/* The host ray loop inlines the per-neuron softplus of fields/risesdf.h; GCC vectorises it only
 * when it may ignore floating-point exception flags (as risesdf_node.c). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "risesdf_volume.h"

#include "core/alloc.h"
#include "core/parallel.h"

#include <math.h>
#include <stdlib.h>

void facet_risesdf_volume_constants(facet_risesdf_ray_params *p) {
    const float inv_s = expf(p->field.variance * 10.0f);
    p->inv_s = fminf(fmaxf(inv_s, 1e-6f), 1e6f);
    p->step = (float)(1.732 * 2.0 * (double)p->field.radius / FACET_RISESDF_SAMPLES_PER_RAY);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* the fuzz build (sanitizers, -O1) would spend minutes on 128^3 network evaluations at every
     * load of a volume-mode node; a 16^3 grid runs the same code within the per-input timeout */
    p->grid_resolution = 16;
#else
    p->grid_resolution = FACET_RISESDF_GRID_RESOLUTION;
#endif
}

facet_status facet_risesdf_occupancy_build(const facet_risesdf_ray_params *p, uint32_t **bits,
                                           int64_t *occupied) {
    *bits = NULL;
    *occupied = 0;
    const int res = p->grid_resolution;
    const int64_t cells = (int64_t)res * res * res;
    float *occ = facet_alloc((size_t)cells, sizeof(float));
    uint32_t *out = facet_alloc_zeroed((size_t)(cells + 31) / 32, sizeof(uint32_t));
    if (!occ || !out) {
        free(occ);
        free(out);
        return facet_last_status();
    }
    const float r = p->field.radius, cell = 2.0f * r / (float)res;
    const float half_diagonal = 0.5f * sqrtf(3.0f) * cell;
    FACET_PARALLEL_FOR(c, 0, cells) {
        const int64_t ijk[3] = {c / ((int64_t)res * res), (c / res) % res, c % res};
        float x[3], scratch[FACET_RISESDF_MAX_SCRATCH];
        for (int k = 0; k < 3; k++) x[k] = -r + ((float)ijk[k] + 0.5f) * cell;
        const float s_min = facet_risesdf_sdf(&p->field, x, scratch) - half_diagonal;
        occ[c] = facet_risesdf_neus_alpha(s_min, -1.0f, p->step, p->inv_s);
    }
    double sum = 0.0;
    for (int64_t c = 0; c < cells; c++) sum += occ[c];
    const float mean = (float)(sum / (double)cells);
    const float threshold = mean < FACET_RISESDF_OCC_THRESHOLD ? mean : FACET_RISESDF_OCC_THRESHOLD;
    int64_t count = 0;
    for (int64_t c = 0; c < cells; c++)
        if (occ[c] > threshold) {
            out[c >> 5] |= 1u << (c & 31);
            count++;
        }
    free(occ);
    *bits = out;
    *occupied = count;
    return FACET_OK;
}
