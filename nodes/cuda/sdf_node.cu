/* CUDA launcher of the sdf node: one thread per ray running the same per-ray function as the CPU
 * path (nodes/sdf_ray.h; reference mode: nodes/sdf_reference.h). The node's lighting is
 * prefiltered on the device (first use of an environment) and copied to the device once per
 * lighting; in reference mode the environment's sampling tables are built on the host and copied
 * once per map. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "nodes/sdf_state.h"

#include <stdlib.h>

namespace {

struct device_copy {
    facet_lighting_device lighting;
    unsigned long long serial;   /* of the lighting it mirrors */
    facet_env_distribution dist; /* reference mode: the sampling tables */
    uint64_t dist_key;           /* of the tables it mirrors (0: none) */
};

__global__ void sdf_kernel(facet_sdf_ray_params params, facet_lighting_view light,
                           const facet_ray *rays, int64_t count, facet_ray_result *out) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    facet_sdf_render_ray(&params, &light, rays[i].origin, rays[i].direction, &out[i]);
}

__global__ void sdf_reference_kernel(facet_sdf_ray_params params, facet_sdf_reference_env env,
                                     const facet_ray *rays, int64_t count, facet_ray_result *out) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    facet_sdf_reference_ray(&params, &env, rays[i].origin, rays[i].direction, &out[i]);
}

/* Reference mode: the tables on the device, the map's texels from the renderer's device copy. */
facet_status render_reference(sdf_state *state, const facet_scene *scene,
                              const facet_envmap_view *device_env, const facet_ray *rays,
                              int64_t count, facet_ray_result *out) {
    facet_sdf_reference_env env;
    facet_status s = facet_sdf_reference_setup(state, scene, &env);
    if (s != FACET_OK) return s;
    pthread_mutex_lock(&state->lock);
    device_copy *copy = (device_copy *)state->device;
    if (!copy && !(copy = (device_copy *)calloc(1, sizeof *copy)))
        s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    if (s == FACET_OK) state->device = copy;
    if (s == FACET_OK && copy->dist_key != state->dist_key) {
        facet_env_distribution_device_free(&copy->dist);
        copy->dist_key = 0;
        s = facet_env_distribution_upload(&state->dist, &copy->dist);
        if (s == FACET_OK) copy->dist_key = state->dist_key;
    }
    if (s == FACET_OK) env.dist = copy->dist.view;
    pthread_mutex_unlock(&state->lock);
    if (s != FACET_OK) return s;
    if (env.has_map) env.env = *device_env;
    const int threads = 128;
    FACET_LAUNCH(sdf_reference_kernel, (unsigned)((count + threads - 1) / threads), threads)
    (state->params, env, rays, count, out);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

} // namespace

extern "C" facet_status facet_sdf_render_cuda(const facet_node *node, const facet_scene *scene,
                                              const facet_envmap_view *device_env,
                                              const facet_ray *rays, int64_t count,
                                              facet_ray_result *out, float *aux) {
    (void)aux;
    sdf_state *state = (sdf_state *)node->state;
    if (state->lighting_options.reference_samples > 0)
        return render_reference(state, scene, device_env, rays, count, out);
    pthread_mutex_lock(&state->lock);
    facet_status s =
        facet_lighting_sync(&state->lighting, scene, &state->lighting_options, FACET_DEVICE_CUDA);
    device_copy *copy = (device_copy *)state->device;
    if (s == FACET_OK && (!copy || copy->serial != state->lighting->serial)) {
        facet_sdf_device_free(state);
        copy = (device_copy *)calloc(1, sizeof *copy);
        if (!copy) {
            s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
        } else {
            s = facet_lighting_upload(state->lighting, &copy->lighting);
            copy->serial = state->lighting->serial;
            if (s == FACET_OK)
                state->device = copy;
            else
                free(copy);
        }
    }
    facet_lighting_view light = {};
    if (s == FACET_OK) { /* read under the lock: another thread may be replacing the lighting */
        light = copy->lighting.view;
        light.turn = facet_lighting_turn(scene);
    }
    pthread_mutex_unlock(&state->lock);
    if (s != FACET_OK) return s;
    const int threads = 128;
    FACET_LAUNCH(sdf_kernel, (unsigned)((count + threads - 1) / threads), threads)
    (state->params, light, rays, count, out);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

extern "C" void facet_sdf_device_free(sdf_state *state) {
    device_copy *copy = (device_copy *)state->device;
    if (!copy) return;
    facet_lighting_device_free(&copy->lighting);
    facet_env_distribution_device_free(&copy->dist);
    free(copy);
    state->device = NULL;
}
