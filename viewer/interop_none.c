/* CPU-only build: no CUDA-GL interop; the viewer renders on the CPU and uploads. */
#include "interop.h"

facet_status facet_interop_create(facet_interop **out, facet_frame_gl *frame) {
    (void)frame;
    *out = NULL;
    return facet_fail(FACET_ERR_CUDA, "viewer: facet was built without CUDA, so there is no "
                                      "CUDA-GL interop (rendering on the CPU instead)");
}

void facet_interop_destroy(facet_interop *interop) {
    (void)interop;
}

facet_status facet_interop_render(facet_interop *interop, const facet_scene *scene,
                                  const facet_view_state *state) {
    (void)interop, (void)scene, (void)state;
    return facet_fail(FACET_ERR_CUDA, "viewer: facet was built without CUDA");
}
