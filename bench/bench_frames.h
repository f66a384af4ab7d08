/* Shared by the frame benchmarks (bench_relight.c, bench_risesdf.c): the median time of rendering
 * one camera `frames` times. A header, not a .c: every .c file in bench/ becomes its own program.
 */
#ifndef FACET_BENCH_FRAMES_H
#define FACET_BENCH_FRAMES_H

#include "core/progress.h"
#include "render/render.h"

#include <stdlib.h>

static int bench_compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Renders `camera` `frames` times (1..64; call once before to leave out first-frame set-up such
 * as lighting builds) and stores the median wall time in *median_seconds. */
static facet_status bench_median_frame(const facet_scene *scene, const facet_camera *camera,
                                       const facet_render_options *options, int frames,
                                       double *median_seconds) {
    double times[64];
    if (frames < 1 || frames > 64)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "frames must be in [1, 64], not %d", frames);
    for (int f = 0; f < frames; f++) {
        facet_image img;
        double t = facet_seconds();
        facet_status s = facet_render_image(scene, camera, options, &img);
        if (s != FACET_OK) return s;
        times[f] = facet_seconds() - t;
        facet_image_free(&img);
    }
    qsort(times, (size_t)frames, sizeof *times, bench_compare_doubles);
    *median_seconds = times[frames / 2];
    return FACET_OK;
}

#endif
