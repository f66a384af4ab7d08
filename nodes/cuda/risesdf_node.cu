/* CUDA launcher of the risesdf node: one thread per ray running the same per-ray function as the
 * CPU path (nodes/risesdf_ray.h for "sphere_trace", nodes/risesdf_volume.h for "volume"), its
 * network temporaries in a per-thread slice of shared memory (no local-memory frame). The
 * weights (and in volume mode the occupancy bits) are copied to the device once (the host arena
 * mirrored, pointers rebased) into a copy that is published (state->device) only when complete; a
 * failed upload frees it and the next render tries again. The lighting is prefiltered on the
 * device on first use of an environment and copied once per lighting. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "core/cuda/shared_scratch.h"
#include "nodes/risesdf_state.h"

#include <stdlib.h>

namespace {

struct device_copy {
    void *weights;                   /* device mirror of state->model.memory */
    uint32_t *occupied;              /* device mirror of state->occupied (volume mode) */
    facet_risesdf_ray_params params; /* views into `weights` */
    facet_lighting_device lighting;
    unsigned long long serial; /* of the lighting it mirrors (0: none yet) */
    int has_lighting;
};

/* The kernels' per-thread scratch (fields/risesdf.h) is shared memory (core/cuda/shared_scratch.h),
 * `stride` floats per thread. */
__global__ void risesdf_kernel(facet_risesdf_ray_params params, facet_lighting_view light,
                               const facet_ray *rays, int64_t count, facet_ray_result *out,
                               int stride) {
    FACET_SHARED_SCRATCH(scratch, stride);
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    facet_risesdf_render_ray(&params, &light, rays[i].origin, rays[i].direction, &out[i], scratch);
}

__global__ void risesdf_volume_kernel(facet_risesdf_ray_params params, facet_lighting_view light,
                                      const facet_ray *rays, int64_t count, facet_ray_result *out,
                                      int stride) {
    FACET_SHARED_SCRATCH(scratch, stride);
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    facet_risesdf_volume_ray(&params, &light, rays[i].origin, rays[i].direction, &out[i], scratch);
}

void launch(const facet_risesdf_ray_params &params, const facet_lighting_view &light,
            const facet_ray *rays, int64_t count, facet_ray_result *out, int stride) {
    const int threads = facet_shared_scratch_threads(stride);
    const unsigned blocks = (unsigned)((count + threads - 1) / threads);
    if (params.mode == FACET_RISESDF_MODE_VOLUME)
        FACET_LAUNCH(risesdf_volume_kernel, blocks, threads)
    (params, light, rays, count, out, stride);
    else FACET_LAUNCH(risesdf_kernel, blocks, threads)(params, light, rays, count, out, stride);
}

static_assert(
    facet_shared_scratch_threads(facet_shared_scratch_stride(FACET_RISESDF_MAX_SCRATCH)) >= 4,
    "the largest risesdf scratch must fit 4 threads' slices in shared memory");

const float *rebase(const float *p, const void *host, void *device) {
    return (const float *)((char *)device + ((const char *)p - (const char *)host));
}

void rebase_mlp(facet_risesdf_mlp *m, const void *host, void *device) {
    for (int l = 0; l < m->layers; l++) {
        m->weight[l] = rebase(m->weight[l], host, device);
        m->bias[l] = rebase(m->bias[l], host, device);
    }
}

void free_copy(device_copy *copy) {
    if (copy->has_lighting) facet_lighting_device_free(&copy->lighting);
    if (copy->weights) cudaFree(copy->weights);
    if (copy->occupied) cudaFree(copy->occupied);
    free(copy);
}

/* Fills `copy` (zeroed) with device copies of the weights and occupancy bits; on failure the
 * caller frees it with free_copy. */
facet_status upload_weights(const risesdf_state *state, device_copy *copy) {
    FACET_CUDA_CHECK(cudaMalloc(&copy->weights, state->model.memory_bytes));
    FACET_CUDA_CHECK(cudaMemcpy(copy->weights, state->model.memory, state->model.memory_bytes,
                                cudaMemcpyHostToDevice));
    copy->params = state->params;
    facet_risesdf_field *f = &copy->params.field;
    const void *host = state->model.memory;
    f->grid.params = rebase(f->grid.params, host, copy->weights);
    rebase_mlp(&f->geometry, host, copy->weights);
    rebase_mlp(&f->albedo, host, copy->weights);
    rebase_mlp(&f->roughness, host, copy->weights);
    rebase_mlp(&f->metallic, host, copy->weights);
    if (state->occupied) {
        const int64_t res = state->params.grid_resolution;
        const size_t bytes = (size_t)((res * res * res + 31) / 32) * sizeof(uint32_t);
        FACET_CUDA_CHECK(cudaMalloc(&copy->occupied, bytes));
        FACET_CUDA_CHECK(
            cudaMemcpy(copy->occupied, state->occupied, bytes, cudaMemcpyHostToDevice));
        copy->params.occupied = copy->occupied;
    }
    return FACET_OK;
}

} // namespace

extern "C" facet_status facet_risesdf_render_cuda(const facet_node *node, const facet_scene *scene,
                                                  const facet_envmap_view *device_env,
                                                  const facet_ray *rays, int64_t count,
                                                  facet_ray_result *out, float *aux) {
    (void)device_env, (void)aux;
    risesdf_state *state = (risesdf_state *)node->state;
    pthread_mutex_lock(&state->lock);
    facet_status s =
        facet_lighting_sync(&state->lighting, scene, &state->lighting_options, FACET_DEVICE_CUDA);
    device_copy *copy = (device_copy *)state->device;
    if (s == FACET_OK && !copy) {
        /* built aside and published only when complete: a failure leaves no half-made copy */
        device_copy *fresh = (device_copy *)calloc(1, sizeof *fresh);
        if (!fresh) {
            s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
        } else if ((s = upload_weights(state, fresh)) != FACET_OK) {
            free_copy(fresh);
            cudaGetLastError(); /* reported here: not the next launch's error */
        } else {
            state->device = copy = fresh;
        }
    }
    if (s == FACET_OK && (!copy->has_lighting || copy->serial != state->lighting->serial)) {
        if (copy->has_lighting) facet_lighting_device_free(&copy->lighting);
        copy->has_lighting = 0;
        s = facet_lighting_upload(state->lighting, &copy->lighting);
        if (s == FACET_OK) {
            copy->has_lighting = 1;
            copy->serial = state->lighting->serial;
        } else {
            cudaGetLastError(); /* the weights stay; the next render uploads the lighting again */
        }
    }
    facet_risesdf_ray_params params = {};
    facet_lighting_view light = {};
    if (s == FACET_OK) { /* read under the lock: another thread may be replacing the lighting */
        params = copy->params;
        light = copy->lighting.view;
        light.turn = facet_lighting_turn(scene);
    }
    pthread_mutex_unlock(&state->lock);
    if (s != FACET_OK) return s;
    if (count <= 0) return FACET_OK;
    const int need = FACET_RISESDF_SCRATCH_WIDTHS * params.field.width;
    launch(params, light, rays, count, out, facet_shared_scratch_stride(need));
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

extern "C" void facet_risesdf_device_free(risesdf_state *state) {
    device_copy *copy = (device_copy *)state->device;
    if (!copy) return;
    free_copy(copy);
    state->device = NULL;
}
