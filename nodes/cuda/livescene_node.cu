/* CUDA launcher of the livescene node: the stages of nodes/livescene_ray.h as kernels over batches
 * of rays, the same per-ray and per-sample functions as the CPU path. Per-ray arrays (bins,
 * densities, the final samples' features) live in one global buffer per call; per-sample kernels
 * run one thread per sample with their temporaries (network inputs, K-Planes features, hidden
 * activations) in a slice of shared memory, so no kernel has a local-memory frame of more than a
 * few hundred bytes (tools/ptxas_table.sh --limit-stack 1024). The weights are copied to the device
 * once, on the first CUDA render: the copy is made complete under a lock, then published
 * (state->device), so a thread rendering the same fresh node at the same time waits for it and
 * never sees a half-made copy. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "core/cuda/shared_scratch.h"
#include "fields/cuda/tcnn_mlp_tensor.cuh"
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
    void *mlp_pack; /* the fp16 networks' pack (NULL for f32 networks) */
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
    if (copy->mlp_pack) cudaFree(copy->mlp_pack);
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
    if (state->mlp_pack) {
        cudaError_t err = cudaMalloc(&copy->mlp_pack, state->mlp_pack_bytes);
        if (err == cudaSuccess)
            err = cudaMemcpy(copy->mlp_pack, state->mlp_pack, state->mlp_pack_bytes,
                             cudaMemcpyHostToDevice);
        if (err != cudaSuccess) {
            free_copy(copy, m->buffer_count);
            cudaGetLastError();
            return facet_fail(FACET_ERR_CUDA, "uploading node '%s' to the GPU: fp16 networks: %s",
                              node->name, cudaGetErrorString(err));
        }
        /* each network at its offset in the pack, as on the host */
        facet_livescene_use_half(&copy->field, (unsigned char *)copy->mlp_pack, 1.0f, 0);
    }
    *out = copy;
    return FACET_OK;
}

/* A ray of the batch in the model frame, with its collider interval. */
struct ray_frame {
    float o[3], d[3];
    float near, far;
};

/* The per-sample kernels' scratch is shared memory (core/cuda/shared_scratch.h): `stride` floats
 * per thread, facet_shared_scratch_stride of facet_livescene_scratch_floats. */

/* Layout of the per-call buffer for a batch of `rays` rays (float offsets). With fp16 networks
 * (tensor) it also holds the tensor-core stages' matrices, each 32-byte aligned: x, the network
 * inputs as half [rows][pad16(inputs)], and y0, y1, outputs as float [rows][pad16(outputs)]; a
 * stage over n samples per ray uses facet_mlp_tensor_rows(rays n) rows. */
struct batch_layout {
    int stride;  /* bins per ray: the most samples of any level + 1 */
    int n_final; /* final samples per ray */
    int classes; /* alpha + 1 */
    int geo;     /* geo_feat_dim */
    int tensor;  /* fp16 networks on tensor cores */
    int64_t frames, bins, sigma, weights, next, density, geo_features, logits, rgb;
    int64_t x, y0, y1, total;
};

/* Rows of the tensor-core matrices for a stage over n samples per ray. */
__host__ __device__ int64_t tensor_rows(int64_t rays, int n) {
    return facet_mlp_tensor_rows(rays * n);
}
__host__ __device__ int tensor_ld_in(const facet_mlp &net) {
    return facet_mlp_pad16(net.width[0]);
}
__host__ __device__ int tensor_ld_out(const facet_mlp &net) {
    return facet_mlp_pad16(net.width[net.layers]);
}

batch_layout layout_for(const facet_livescene_field &f, const facet_livescene_sampling &s,
                        int64_t rays) {
    batch_layout l = {};
    int most = 0;
    for (int i = 0; i <= s.levels; i++) most = s.samples[i] > most ? s.samples[i] : most;
    l.stride = most + 1;
    l.n_final = s.samples[s.levels];
    l.classes = f.objects + 1;
    l.geo = f.geo_feat_dim;
    int64_t at = 0;
    l.frames = at, at += rays * (int64_t)(sizeof(ray_frame) / sizeof(float));
    l.bins = at, at += rays * l.stride;
    l.sigma = at, at += rays * l.stride;
    l.weights = at, at += rays * l.stride;
    l.next = at, at += rays * l.stride;
    l.density = at, at += rays * l.n_final;
    l.geo_features = at, at += rays * l.n_final * l.geo;
    l.logits = at, at += rays * l.n_final * l.classes;
    l.rgb = at, at += rays * l.n_final * 3;
    l.tensor = f.sigma_net.half != NULL;
    if (l.tensor) {
        /* the largest matrix of any stage: the semantic net and the level's density net at each
         * proposal level, the semantic, sigma and colour nets at the final one */
        int64_t x_halves = 0, y_floats = 0;
        for (int level = 0; level <= s.levels; level++) {
            const int64_t rows = tensor_rows(rays, s.samples[level]);
            const facet_mlp *nets[3] = {&f.semantic_net, &f.sigma_net, &f.color_net};
            int count = 3;
            if (level < s.levels) nets[1] = &f.density_net[level], count = 2;
            for (int k = 0; k < count; k++) {
                const int64_t in = rows * tensor_ld_in(*nets[k]),
                              out = rows * tensor_ld_out(*nets[k]);
                x_halves = in > x_halves ? in : x_halves;
                y_floats = out > y_floats ? out : y_floats;
            }
        }
        at = (at + 7) / 8 * 8;
        l.x = at, at += (x_halves / 2 + 7) / 8 * 8;
        l.y0 = at, at += (y_floats + 7) / 8 * 8;
        l.y1 = at, at += (y_floats + 7) / 8 * 8;
    }
    l.total = at;
    return l;
}

/* Stage 1, per ray: the model-frame ray, its interval and its level-0 bins. */
__global__ void begin_kernel(facet_livescene_field field, facet_livescene_sampling sampling,
                             frame_params frame, const facet_ray *rays, int64_t count,
                             batch_layout l, float *buffer) {
    const int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= count) return;
    ray_frame *fr = (ray_frame *)(buffer + l.frames) + r;
    facet_livescene_to_model_frame(frame.transform, frame.scale, rays[r].origin, rays[r].direction,
                                   fr->o, fr->d);
    facet_livescene_ray_begin(&field, &sampling, fr->o, fr->d, &fr->near, &fr->far,
                              buffer + l.bins + r * l.stride);
}

/* Stage 2, per sample of proposal level `level` (n samples per ray). */
__global__ void proposal_kernel(facet_livescene_field field, int level, int n, kappa_vector kappa,
                                int64_t count, batch_layout l, float *buffer, int stride) {
    FACET_SHARED_SCRATCH(scratch, stride);
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count * n) return;
    const int64_t r = i / n;
    const int j = (int)(i - r * n);
    const ray_frame *fr = (const ray_frame *)(buffer + l.frames) + r;
    buffer[l.sigma + r * l.stride + j] = facet_livescene_proposal_sample(
        &field, level, fr->o, fr->d, kappa.values, buffer + l.bins + r * l.stride, j, fr->near,
        fr->far, scratch);
}

/* Stage 3, per ray: n densities -> m + 1 new bins. */
__global__ void resample_kernel(int n, int m, int64_t count, batch_layout l, float *buffer) {
    const int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= count) return;
    const ray_frame *fr = (const ray_frame *)(buffer + l.frames) + r;
    const int64_t at = r * l.stride;
    facet_livescene_resample_level(buffer + l.bins + at, buffer + l.sigma + at,
                                   buffer + l.weights + at, buffer + l.next + at, n, m, fr->near,
                                   fr->far);
}

/* Stage 4, per final sample: density, geo features and object logits. */
__global__ void final_density_kernel(facet_livescene_field field, kappa_vector kappa, int64_t count,
                                     batch_layout l, float *buffer, int stride) {
    FACET_SHARED_SCRATCH(scratch, stride);
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count * l.n_final) return;
    const int64_t r = i / l.n_final;
    const int j = (int)(i - r * l.n_final);
    const ray_frame *fr = (const ray_frame *)(buffer + l.frames) + r;
    buffer[l.density + i] = facet_livescene_final_density(
        &field, fr->o, fr->d, kappa.values, buffer + l.bins + r * l.stride, j, fr->near, fr->far,
        buffer + l.geo_features + i * l.geo, buffer + l.logits + i * l.classes, scratch);
}

/* Stage 5, per final sample: colour. */
__global__ void final_color_kernel(facet_livescene_field field, int64_t count, batch_layout l,
                                   float *buffer, int stride) {
    FACET_SHARED_SCRATCH(scratch, stride);
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count * l.n_final) return;
    const ray_frame *fr = (const ray_frame *)(buffer + l.frames) + i / l.n_final;
    facet_livescene_final_color(&field, fr->d, buffer + l.geo_features + i * l.geo,
                                buffer + l.rgb + i * 3, scratch);
}

/* Stage 6, per ray: volume rendering, then the node result over the scene's background. */
__global__ void composite_kernel(facet_livescene_field field, frame_params frame,
                                 facet_envmap_view env, const facet_ray *rays, int64_t count,
                                 batch_layout l, const float *buffer, facet_ray_result *out,
                                 float *aux) {
    const int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= count) return;
    const ray_frame *fr = (const ray_frame *)(buffer + l.frames) + r;
    const float *bins = buffer + l.bins + r * l.stride;
    const int64_t first = r * l.n_final;
    facet_livescene_ray_output result;
    facet_livescene_compositor c;
    facet_livescene_composite_begin(&field, &c, &result);
    for (int j = 0; j < l.n_final; j++)
        facet_livescene_composite_sample(
            &field, &c, bins, j, fr->near, fr->far, buffer[l.density + first + j],
            buffer + l.rgb + (first + j) * 3, buffer + l.logits + (first + j) * l.classes, &result);
    facet_livescene_composite_end(&c, bins, l.n_final, fr->near, fr->far, &result);
    float background[3];
    facet_background_radiance(frame.background_mode, frame.background, &env, rays[r].direction,
                              background);
    facet_livescene_finish(&result, background, frame.scale, l.classes, &out[r],
                           aux ? aux + r * l.classes : NULL);
}

unsigned blocks_for(int64_t items, int threads) {
    return (unsigned)((items + threads - 1) / threads);
}

/* ---- the stages with fp16 networks on tensor cores -------------------------------------------
 * The per-sample stages split at each network: a kernel per sample writes the network's inputs
 * (the functions of fields/livescene.h) as a row of x, facet_mlp_tensor_kernel runs the network
 * over all rows, the next per-sample kernel reads its outputs. The same function as the per-point
 * stages with the same fp16 networks (fields/tcnn_mlp_half.h). Rows past the samples (padding up
 * to a multiple of 32) are written as zeros and never read back. */

/* The position of sample i of a level of n samples per ray, and its ray. */
__device__ const ray_frame *level_sample(const batch_layout &l, const float *buffer, int n,
                                         int64_t i, float *pos) {
    const int64_t r = i / n;
    const ray_frame *fr = (const ray_frame *)(buffer + l.frames) + r;
    facet_livescene_sample_position(fr->o, fr->d, buffer + l.bins + r * l.stride, (int)(i - r * n),
                                    fr->near, fr->far, pos);
    return fr;
}

__device__ __half *tensor_x(const batch_layout &l, float *buffer) {
    return (__half *)(buffer + l.x);
}

/* The network-input stage over the rows of a level of n samples per ray: sample i's input, written
 * by `input` (a functor below, which returns its width) into the thread's scratch, becomes row i
 * of x; padding rows (i >= count n) are zeros. */
template <typename Input>
__global__ void input_kernel(Input input, int n, int ld, int64_t count, batch_layout l,
                             float *buffer, int stride) {
    FACET_SHARED_SCRATCH(in, stride);
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= tensor_rows(count, n)) return;
    const int width = i < count * n ? input(i, l, buffer, in) : 0;
    facet_mlp_tensor_input_row(tensor_x(l, buffer) + i * ld, in, width, ld);
}

/* The semantic net's input at sample i of a level of n per ray. */
struct probability_input {
    facet_livescene_field field;
    kappa_vector kappa;
    int n;
    __device__ int operator()(int64_t i, const batch_layout &l, float *buffer, float *in) const {
        float pos[3];
        level_sample(l, buffer, n, i, pos);
        facet_livescene_probability_input(&field, pos, kappa.values, in);
        return field.semantic_net.width[0];
    }
};

/* Proposal level `level`'s net input: the K-Planes features at the kappa of the object the logits
 * (y0) pick. */
struct proposal_input {
    facet_livescene_field field;
    kappa_vector kappa;
    int n, level;
    __device__ int operator()(int64_t i, const batch_layout &l, float *buffer, float *in) const {
        float pos[3];
        level_sample(l, buffer, n, i, pos);
        const float *logits = buffer + l.y0 + i * tensor_ld_out(field.semantic_net);
        const int object = facet_livescene_pick_object(logits, field.objects);
        facet_livescene_proposal_features(&field, level, pos, kappa.values[object], in);
        return field.density_net[level].width[0];
    }
};

/* A final sample's logits (from y0, kept for compositing) and the sigma net's input at the picked
 * object's kappa. */
struct sigma_input {
    facet_livescene_field field;
    kappa_vector kappa;
    __device__ int operator()(int64_t i, const batch_layout &l, float *buffer, float *in) const {
        float pos[3], coords[4];
        level_sample(l, buffer, l.n_final, i, pos);
        const float *logits = buffer + l.y0 + i * tensor_ld_out(field.semantic_net);
        for (int c = 0; c < l.classes; c++) buffer[l.logits + i * l.classes + c] = logits[c];
        const int object = facet_livescene_pick_object(logits, field.objects);
        facet_livescene_sigma_features(&field, pos, kappa.values[object], coords, in);
        return field.sigma_net.width[0];
    }
};

/* A final sample's density from the sigma net's outputs (y1: geo features, raw density) and the
 * colour net's input. */
struct color_input {
    facet_livescene_field field;
    __device__ int operator()(int64_t i, const batch_layout &l, float *buffer, float *in) const {
        const ray_frame *fr = (const ray_frame *)(buffer + l.frames) + i / l.n_final;
        const float *out = buffer + l.y1 + i * tensor_ld_out(field.sigma_net);
        buffer[l.density + i] = facet_livescene_density_activation(out[field.geo_feat_dim]);
        facet_livescene_color_input(&field, fr->d, out, in);
        return field.color_net.width[0];
    }
};

/* The proposal densities from the proposal net's outputs (y1). */
__global__ void proposal_density_kernel(facet_livescene_field field, int level, int n,
                                        int64_t count, batch_layout l, float *buffer) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count * n) return;
    const int64_t r = i / n;
    const float raw = buffer[l.y1 + i * tensor_ld_out(field.density_net[level])];
    buffer[l.sigma + r * l.stride + (i - r * n)] = facet_livescene_density_activation(raw);
}

/* The final samples' colours from the colour net's outputs (y0). */
__global__ void color_output_kernel(facet_livescene_field field, int64_t count, batch_layout l,
                                    float *buffer) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count * l.n_final) return;
    float rgb[3];
    for (int c = 0; c < 3; c++) rgb[c] = buffer[l.y0 + i * tensor_ld_out(field.color_net) + c];
    facet_livescene_color_finite(rgb);
    for (int c = 0; c < 3; c++) buffer[l.rgb + i * 3 + c] = rgb[c];
}

/* input_kernel with `input` over the rows of a level of n samples per ray, for network `net`. */
template <typename Input>
void run_inputs(const Input &input, int n, const facet_mlp &net, int64_t count,
                const batch_layout &l, float *buffer, int stride) {
    const int threads = facet_shared_scratch_threads(stride);
    void (*kernel)(Input, int, int, int64_t, batch_layout, float *, int) = input_kernel<Input>;
    FACET_LAUNCH(kernel, blocks_for(tensor_rows(count, n), threads), threads)
    (input, n, tensor_ld_in(net), count, l, buffer, stride);
}

/* facet_mlp_tensor_kernel over the first `rows` rows of x into y. */
void run_network(const facet_mlp &net, int64_t rows, const batch_layout &l, float *buffer,
                 int64_t y) {
    FACET_LAUNCH(facet_mlp_tensor_kernel, facet_mlp_tensor_blocks(rows),
                 FACET_MLP_TENSOR_WARPS * 32)
    (net, (const __half *)(buffer + l.x), rows, buffer + y, nullptr);
}

/* Stages 2 to 5 with fp16 networks on tensor cores: every proposal level (densities, then the
 * resampling) and the final samples' densities, logits and colours. */
void render_tensor_levels(const facet_livescene_field &field,
                          const facet_livescene_sampling &sampling, const kappa_vector &kappa,
                          int64_t count, const batch_layout &l, float *buffer, int stride) {
    const int per_ray = 128;
    int n = sampling.samples[0];
    for (int level = 0; level <= sampling.levels; level++) {
        const int64_t rows = tensor_rows(count, n);
        run_inputs(probability_input{field, kappa, n}, n, field.semantic_net, count, l, buffer,
                   stride);
        run_network(field.semantic_net, rows, l, buffer, l.y0);
        if (level == sampling.levels) break;
        run_inputs(proposal_input{field, kappa, n, level}, n, field.density_net[level], count, l,
                   buffer, stride);
        run_network(field.density_net[level], rows, l, buffer, l.y1);
        FACET_LAUNCH(proposal_density_kernel, blocks_for(count * n, per_ray), per_ray)
        (field, level, n, count, l, buffer);
        const int m = sampling.samples[level + 1];
        FACET_LAUNCH(resample_kernel, blocks_for(count, per_ray), per_ray)(n, m, count, l, buffer);
        n = m;
    }
    const int64_t rows = tensor_rows(count, n);
    run_inputs(sigma_input{field, kappa}, n, field.sigma_net, count, l, buffer, stride);
    run_network(field.sigma_net, rows, l, buffer, l.y1);
    run_inputs(color_input{field}, n, field.color_net, count, l, buffer, stride);
    run_network(field.color_net, rows, l, buffer, l.y0);
    FACET_LAUNCH(color_output_kernel, blocks_for(count * n, per_ray), per_ray)
    (field, count, l, buffer);
}

/* Runs the stages over one batch of `count` rays, the per-sample kernels with `stride` floats of
 * scratch per thread. */
void render_batch(const facet_livescene_field &field, const facet_livescene_sampling &sampling,
                  const kappa_vector &kappa, const frame_params &frame,
                  const facet_envmap_view &env, const facet_ray *rays, int64_t count,
                  const batch_layout &l, float *buffer, facet_ray_result *out, float *aux,
                  int stride) {
    const int per_ray = 128, per_sample = facet_shared_scratch_threads(stride);
    FACET_LAUNCH(begin_kernel, blocks_for(count, per_ray), per_ray)
    (field, sampling, frame, rays, count, l, buffer);
    int n = sampling.samples[0];
    if (l.tensor) {
        render_tensor_levels(field, sampling, kappa, count, l, buffer, stride);
        n = l.n_final;
    }
    for (int level = 0; level < sampling.levels && !l.tensor; level++) {
        FACET_LAUNCH(proposal_kernel, blocks_for(count * n, per_sample), per_sample)
        (field, level, n, kappa, count, l, buffer, stride);
        const int m = sampling.samples[level + 1];
        FACET_LAUNCH(resample_kernel, blocks_for(count, per_ray), per_ray)(n, m, count, l, buffer);
        n = m;
    }
    if (!l.tensor) {
        FACET_LAUNCH(final_density_kernel, blocks_for(count * n, per_sample), per_sample)
        (field, kappa, count, l, buffer, stride);
        FACET_LAUNCH(final_color_kernel, blocks_for(count * n, per_sample), per_sample)
        (field, count, l, buffer, stride);
    }
    FACET_LAUNCH(composite_kernel, blocks_for(count, per_ray), per_ray)
    (field, frame, env, rays, count, l, buffer, out, aux);
}

/* Rays per batch: the per-call buffer stays near 192 MB (about 11 KB per ray for the default
 * configuration: 4 x 257 bin-sized arrays and 48 final samples of 36 floats).
 * FACET_CUDA_BATCH_RAYS caps it (tests/gpu/parity_render.c uses it to cross batch boundaries). */
int64_t batch_rays(const batch_layout &per_ray) {
    const int64_t bytes = per_ray.total * (int64_t)sizeof(float);
    int64_t rays = ((int64_t)192 << 20) / (bytes > 0 ? bytes : 1);
    rays = rays < 256 ? 256 : rays;
    const char *cap = getenv("FACET_CUDA_BATCH_RAYS");
    if (cap && atoll(cap) > 0 && atoll(cap) < rays) rays = atoll(cap);
    return rays;
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
    if (count <= 0) return FACET_OK;
    const facet_livescene_field &field = copy->field;
    const int need = facet_livescene_scratch_floats(&field);
    const int stride = facet_shared_scratch_stride(need);
    if (need > (FACET_LIVESCENE_MAX_SCRATCH | 1) || facet_shared_scratch_threads(stride) == 0)
        return facet_fail(FACET_ERR_INTERNAL,
                          "node '%s': the field needs %d floats of scratch per sample; the CUDA "
                          "renderer holds at most %d",
                          node->name, need, FACET_LIVESCENE_MAX_SCRATCH | 1);
    const int64_t most = batch_rays(layout_for(field, state->sampling, 1));
    const int64_t batch = count < most ? count : most;
    const batch_layout l = layout_for(field, state->sampling, batch);
    float *buffer = NULL;
    FACET_CUDA_CHECK(cudaMalloc(&buffer, (size_t)l.total * sizeof(float)));
    for (int64_t first = 0; first < count; first += batch) {
        const int64_t n = count - first < batch ? count - first : batch;
        float *aux_at = aux ? aux + first * l.classes : NULL;
        render_batch(field, state->sampling, kappa, frame, *device_env, rays + first, n, l, buffer,
                     out + first, aux_at, stride);
    }
    cudaError_t err = cudaGetLastError();
    cudaFree(buffer);
    if (err != cudaSuccess)
        return facet_fail(FACET_ERR_CUDA, "node '%s': rendering on the GPU: %s", node->name,
                          cudaGetErrorString(err));
    return FACET_OK;
}

extern "C" void facet_livescene_device_free(livescene_state *state) {
    device_copy *copy = (device_copy *)state->device;
    if (!copy) return;
    free_copy(copy, state->model.buffer_count);
    state->device = NULL;
}
