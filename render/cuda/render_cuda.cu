/* CUDA renderer: the same per-pixel functions as render.c (camera.h, composite.h, envmap.h) in a
 * thin kernel. Node kinds render on CUDA once they provide a CUDA path; until then a scene with
 * nodes is reported as unsupported on this device instead of silently falling back. */
#include "core/cuda/check.h"
#include "render/composite.h"
#include "render/render.h"

#include <math.h>

__global__ void render_background_kernel(facet_camera camera, facet_background_mode mode,
                                         float3 color, facet_envmap_view env, float scale,
                                         float *rgba) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= camera.width || j >= camera.height) return;
    facet_ray ray = facet_camera_ray(&camera, i, j);
    const float background_color[3] = {color.x, color.y, color.z};
    float background[3];
    facet_background_radiance(mode, background_color, &env, ray.direction, background);
    float *px = rgba + ((size_t)j * camera.width + i) * 4;
    facet_composite(NULL, 0, background, px);
    for (int k = 0; k < 3; k++) px[k] *= scale;
}

extern "C" facet_status facet_render_image_cuda(const facet_scene *scene,
                                                const facet_camera *camera,
                                                const facet_render_options *options,
                                                facet_image *out) {
    int devices = 0;
    cudaError_t probe = cudaGetDeviceCount(&devices);
    if (probe != cudaSuccess || devices == 0)
        return facet_fail(FACET_ERR_CUDA, "--device cuda: no usable CUDA device (%s)",
                          probe != cudaSuccess ? cudaGetErrorString(probe) : "none found");
    if (scene->node_count > 0)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "node '%s' (type %s) has no CUDA renderer yet; use --device cpu",
                          scene->nodes[0].name, scene->nodes[0].kind->type);
    facet_status s = facet_image_alloc(out, camera->width, camera->height, 4);
    if (s != FACET_OK) return s;
    float *d_rgba = NULL, *d_env = NULL;
    facet_envmap_view env = scene->environment.view;
    size_t image_bytes = (size_t)camera->width * camera->height * 4 * sizeof(float);
    cudaError_t err = cudaMalloc(&d_rgba, image_bytes);
    if (err == cudaSuccess && scene->background_mode == FACET_BACKGROUND_ENVIRONMENT) {
        size_t env_bytes = (size_t)env.width * env.height * 3 * sizeof(float);
        err = cudaMalloc(&d_env, env_bytes);
        if (err == cudaSuccess) err = cudaMemcpy(d_env, env.rgb, env_bytes, cudaMemcpyHostToDevice);
        env.rgb = d_env;
    }
    if (err == cudaSuccess) {
        dim3 block(16, 16);
        dim3 grid((camera->width + 15) / 16, (camera->height + 15) / 16);
        float3 color =
            make_float3(scene->background[0], scene->background[1], scene->background[2]);
        render_background_kernel<<<grid, block>>>(*camera, scene->background_mode, color, env,
                                                  exp2f(options->exposure), d_rgba);
        err = cudaGetLastError();
    }
    if (err == cudaSuccess)
        err = cudaMemcpy(out->data, d_rgba, image_bytes, cudaMemcpyDeviceToHost);
    cudaFree(d_rgba);
    cudaFree(d_env);
    if (err != cudaSuccess) {
        facet_image_free(out);
        return facet_fail(FACET_ERR_CUDA, "%s:%d: rendering on CUDA: %s", __FILE__, __LINE__,
                          cudaGetErrorString(err));
    }
    return FACET_OK;
}
