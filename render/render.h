/* Rendering one camera view of a scene: the call that the batch renderer and the viewer share.
 * Output is a linear RGBA float image (alpha = node coverage; the background is composited into
 * RGB). */
#ifndef FACET_RENDER_RENDER_H
#define FACET_RENDER_RENDER_H

#include "camera.h"
#include "pixel_filter.h"
#include "scene.h"

#include "core/image.h"
#include "core/progress.h"
#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_device {
    FACET_DEVICE_CPU = 0,
    FACET_DEVICE_CUDA,
} facet_device;

/* "cpu" / "cuda" -> device; -1 otherwise. */
int facet_device_from_name(const char *name);
const char *facet_device_name(facet_device device);

/* Zero-initialised means: CPU, no exposure change, no auxiliary outputs. */
typedef struct facet_render_options {
    facet_device device;
    float exposure; /* stops: linear RGB is scaled by 2^exposure */
    /* When not NULL, receives every node's auxiliary channels (facet_node.aux_channels, nodes in
     * scene order) as one image of facet_scene_aux_channels() channels. */
    facet_image *aux;
    /* When not NULL, receives one channel: the distance along each pixel's ray to the nearest node
     * surface with coverage (facet_ray_result.depth of the nearest node whose alpha > 0), +inf
     * where no node covers the pixel. The viewer's depth mode shows it. */
    facet_image *depth;
    /* Samples per pixel and the pixel filter (render/pixel_filter.h); zero-initialised: one ray
     * through each pixel centre. With spp > 1 every output pixel is the mean of its samples (RGBA,
     * aux), depth the mean of the samples' finite depths. facet_render_rays ignores it (a ray is a
     * ray): the viewer makes sample rays itself and combines them with facet_render_resolve. */
    facet_pixel_filter filter;
} facet_render_options;

/* Total auxiliary channels over the scene's nodes. */
int facet_scene_aux_channels(const facet_scene *scene);

/* Renders `camera` into `out` (allocated here as camera->width x camera->height x 4). */
facet_status facet_render_image(const facet_scene *scene, const facet_camera *camera,
                                const facet_render_options *options, facet_image *out);

/* Renders a list of rays (world space, unit directions) as facet_render_image renders a camera's
 * pixels, ray by ray the same computation: `out` becomes a count x 1 RGBA image, and
 * options->aux / options->depth count x 1 images. The viewer's progressive refinement renders
 * the pixels a coarser level has not rendered yet with it. */
facet_status facet_render_rays(const facet_scene *scene, const facet_ray *rays, int64_t count,
                               const facet_render_options *options, facet_image *out);

/* The CUDA renderer (render/cuda/render.cu); reports FACET_ERR_CUDA in builds without CUDA
 * and FACET_ERR_UNSUPPORTED for node kinds that have no CUDA path yet. */
facet_status facet_render_image_cuda(const facet_scene *scene, const facet_camera *camera,
                                     const facet_render_options *options, facet_image *out);

/* facet_render_rays on CUDA (the rays are on the host; so are the outputs). */
facet_status facet_render_rays_cuda(const facet_scene *scene, const facet_ray *rays, int64_t count,
                                    const facet_render_options *options, facet_image *out);

/* Renders `camera` on CUDA into `device_rgba`, a caller-owned device buffer of
 * camera->width * camera->height * 4 floats (linear RGBA, row-major from the top-left), without
 * a copy to the host: the viewer's CUDA-GL interop target. options->aux and options->depth must
 * be NULL. Reports FACET_ERR_CUDA in builds without CUDA. */
facet_status facet_render_image_cuda_device(const facet_scene *scene, const facet_camera *camera,
                                            const facet_render_options *options,
                                            float *device_rgba);

/* Combines the facet_render_rays outputs of count * spp sample rays, pixel-major (ray p * spp + k
 * is sample k of pixel p, made by facet_pixel_sample_ray), into count pixels, in place: `rgba`
 * (4 channels) and, when not NULL, `aux` (any channels) and `depth` (1 channel) become count x 1
 * images of the means (depth: of the finite depths), summed in the order facet_render_image uses,
 * so the pixels equal its output bit for bit. */
facet_status facet_render_resolve(int spp, facet_image *rgba, facet_image *aux, facet_image *depth);

/* Converts a linear RGBA render to what a PNG stores: RGB, clamp [0,1], sRGB-encoded. */
facet_status facet_render_to_srgb(const facet_image *linear_rgba, facet_image *srgb_rgb);

#ifdef __cplusplus
}
#endif
#endif
