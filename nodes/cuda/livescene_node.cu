/* CUDA launcher of the livescene node: one thread per ray running the same per-ray function as
 * the CPU path (nodes/livescene_ray.h); the whole sample chain stays in registers and local
 * memory. The weights are copied to the device once, on the first CUDA render: the copy is made
 * complete under a lock, then published (state->device), so a thread rendering the same fresh node
 * at the same time waits for it and never sees a half-made copy. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "render/composite.h"
#include "nodes/livescene_state.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

namespace {

/* Serializes the first uploads of livescene nodes (once per node, so it is rarely taken);
 * state->device is written only under it, complete, with release semantics. */
pthread_mutex_t upload_lock = PTHREAD_MUTEX_INITIALIZER;

struct device_copy {
    facet_livescene_field field; /* the host view with every pointer replaced by its device copy */
    int count;
    void **buffers;
};

struct kappa_vector {
    float values[FACET_LIVESCENE_MAX_OBJECTS];
};

struct frame_params {
    float transform[12];
    float scale;
    facet_background_mode background_mode;
    float background[3];
};

void free_copy(device_copy *copy, int buffer_count) {
    for (int i = 0; i < buffer_count; i++)
        if (copy->buffers[i]) cudaFree(copy->buffers[i]);
    free(copy->buffers);
    free(copy);
}

/* Makes a complete device copy of the weights into *out; on failure frees what it made. */
facet_status upload(const livescene_state *state, const facet_node *node, device_copy **out) {
    const facet_livescene_model *m = &state->model;
    device_copy *copy = (device_copy *)calloc(1, sizeof *copy);
    if (!copy) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    copy->buffers = (void **)calloc((size_t)m->buffer_count, sizeof(void *));
    if (!copy->buffers) {
        free(copy);
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < m->buffer_count; i++) {
        const size_t bytes = m->buffer_info[i].bytes;
        cudaError_t err = cudaMalloc(&copy->buffers[i], bytes);
        if (err == cudaSuccess) {
            copy->count++;
            err = cudaMemcpy(copy->buffers[i], m->buffers[i], bytes, cudaMemcpyHostToDevice);
        }
        if (err != cudaSuccess) {
            free_copy(copy, m->buffer_count);
            cudaGetLastError(); /* reported here: not the next launch's error */
            return facet_fail(FACET_ERR_CUDA, "uploading node '%s' to the GPU: tensor '%s': %s",
                              node->name, m->buffer_info[i].name, cudaGetErrorString(err));
        }
    }
    copy->field = facet_livescene_field_over(m, copy->buffers);
    *out = copy;
    return FACET_OK;
}

__global__ void livescene_kernel(facet_livescene_field field, facet_livescene_sampling sampling,
                                 kappa_vector kappa, frame_params frame, facet_envmap_view env,
                                 const facet_ray *rays, int64_t count, facet_ray_result *out,
                                 float *aux) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    float o[3], d[3], background[3];
    facet_livescene_to_model_frame(frame.transform, frame.scale, rays[i].origin, rays[i].direction,
                                   o, d);
    facet_livescene_ray_output r;
    facet_livescene_render_ray(&field, &sampling, o, d, kappa.values, &r);
    facet_background_radiance(frame.background_mode, frame.background, &env, rays[i].direction,
                              background);
    const int classes = field.objects + 1;
    facet_livescene_finish(&r, background, frame.scale, classes, &out[i],
                           aux ? aux + i * classes : NULL);
}

} // namespace

extern "C" facet_status facet_livescene_render_cuda(const facet_node *node,
                                                    const facet_scene *scene,
                                                    const facet_envmap_view *device_env,
                                                    const facet_ray *rays, int64_t count,
                                                    facet_ray_result *out, float *aux) {
    livescene_state *state = (livescene_state *)node->state;
    device_copy *copy = (device_copy *)__atomic_load_n(&state->device, __ATOMIC_ACQUIRE);
    if (!copy) {
        pthread_mutex_lock(&upload_lock);
        copy = (device_copy *)__atomic_load_n(&state->device, __ATOMIC_ACQUIRE);
        facet_status s = FACET_OK;
        if (!copy && (s = upload(state, node, &copy)) == FACET_OK)
            __atomic_store_n(&state->device, (void *)copy, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&upload_lock);
        if (s != FACET_OK) return s;
    }
    kappa_vector kappa = {};
    for (int i = 0; i < node->object_count; i++) kappa.values[i] = node->kappa[i];
    frame_params frame;
    memcpy(frame.transform, state->model.dataparser_transform, sizeof frame.transform);
    frame.scale = state->model.dataparser_scale;
    frame.background_mode = scene->background_mode;
    for (int c = 0; c < 3; c++) frame.background[c] = scene->background[c];
    const int threads = 128;
    const unsigned blocks = (unsigned)((count + threads - 1) / threads);
    FACET_LAUNCH(livescene_kernel, blocks, threads)
    (copy->field, state->sampling, kappa, frame, *device_env, rays, count, out, aux);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

extern "C" void facet_livescene_device_free(livescene_state *state) {
    device_copy *copy = (device_copy *)state->device;
    if (!copy) return;
    free_copy(copy, state->model.buffer_count);
    state->device = NULL;
}
