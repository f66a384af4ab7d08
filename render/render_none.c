/* CPU-only build: the CUDA renderer reports that CUDA is absent. */
#include "render.h"

facet_status facet_render_image_cuda(const facet_scene *scene, const facet_camera *camera,
                                     const facet_render_options *options, facet_image *out) {
    (void)scene, (void)camera, (void)options, (void)out;
    return facet_fail(FACET_ERR_CUDA, "--device cuda: facet was built without CUDA (configure "
                                      "with nvcc installed, or -DFACET_CUDA=ON)");
}

facet_status facet_render_rays_cuda(const facet_scene *scene, const facet_ray *rays, int64_t count,
                                    const facet_render_options *options, facet_image *out) {
    (void)scene, (void)rays, (void)count, (void)options, (void)out;
    return facet_fail(FACET_ERR_CUDA, "--device cuda: facet was built without CUDA (configure "
                                      "with nvcc installed, or -DFACET_CUDA=ON)");
}

facet_status facet_render_image_cuda_device(const facet_scene *scene, const facet_camera *camera,
                                            const facet_render_options *options,
                                            float *device_rgba) {
    (void)scene, (void)camera, (void)options, (void)device_rgba;
    return facet_fail(FACET_ERR_CUDA, "rendering into a CUDA buffer: facet was built without "
                                      "CUDA (configure with nvcc installed, or -DFACET_CUDA=ON)");
}
