/* The viewer's CUDA path: renders the view on the GPU (facet_render_image_cuda_device), converts
 * it to display bytes with the same per-pixel code as the CPU path (display.h) and copies them
 * into the window's GL texture through CUDA-GL interop, with no trip through host memory.
 * Every call needs the viewer's GL context current on the calling thread. In builds without
 * CUDA, facet_interop_create reports FACET_ERR_CUDA and the viewer uses its CPU path. */
#ifndef FACET_VIEWER_INTEROP_H
#define FACET_VIEWER_INTEROP_H

#include "frame_gl.h"
#include "refiner.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_interop facet_interop;

/* Fails when CUDA is absent, no device can render, or the GL context is not on a CUDA device. */
facet_status facet_interop_create(facet_interop **out, facet_frame_gl *frame);
void facet_interop_destroy(facet_interop *interop);

/* Renders `state` (rgb mode) into frame's texture, resizing (and re-registering) it to the
 * state's camera size. The caller applies the state to the scene first (facet_view_apply). */
facet_status facet_interop_render(facet_interop *interop, const facet_scene *scene,
                                  const facet_view_state *state);

#ifdef __cplusplus
}
#endif
#endif
