/* CUDA launchers of LiveScene fitting: one thread per ray for the forward and backward passes
 * (fit/livescene_train.h, gradients by atomicAdd through FACET_GRAD_ADD), element-wise kernels
 * for the plane regularisers and Adam. A ray's sample arrays live in its global-memory record
 * (facet_livescene_train_ray, and dL/dw in the trainer's dw buffer); the per-point functions'
 * temporaries in a per-thread slice of shared memory; so no thread has a local-memory frame of
 * more than a few hundred bytes (tools/ptxas_table.sh --limit-stack 1024). Host glue: the
 * batch-level terms (mask focal loss, repulsion) on a compact per-ray array, shared with the CPU
 * path. With fp16 networks the forward and backward passes run instead as stages over the batch,
 * every network on tensor cores (fit/cuda/livescene_fit_tensor.cuh). */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "core/cuda/shared_scratch.h"
#include "fit/adam.h"
#include "fit/livescene_fit.h"
#include "fit/livescene_fit_cuda.h"
#include "fit/cuda/livescene_fit_tensor.cuh"

#include <stdlib.h>
#include <string.h>

struct facet_livescene_cuda_trainer {
    const facet_livescene_model *model;
    int buffers, batch;
    void **params, **grads, **adam_m, **adam_v; /* device, per model buffer */
    facet_livescene_field field, grad_field;    /* views over params / grads */
    facet_livescene_train_ray *rays;            /* device, [batch] */
    float (*dw)[FACET_LIVESCENE_MAX_SAMPLES];   /* device, [batch * levels]: dL/dw per ray */
    facet_livescene_ray_input *inputs;          /* device, [batch] */
    facet_livescene_ray_terms *terms;           /* device, [batch] */
    facet_livescene_ray_terms *host_terms;      /* host, [batch] */
    double *sums;                               /* device: interlevel, distortion, regularisers */
    unsigned char *pack;           /* device: the fp16 networks' packs (fp16 fits), else NULL */
    unsigned long long *nonfinite; /* device: non-finite gradient count (fp16 fits) */
    int staged;                    /* fp16 fits: the step runs in stages on tensor cores */
    tensor_buffers tensor;         /* their matrices (staged) */
};

namespace {

/* The passes' per-thread scratch is shared memory (core/cuda/shared_scratch.h), `stride` floats
 * per thread: facet_shared_scratch_stride of what the pass needs. */
__global__ void forward_kernel(facet_livescene_field f, int levels, sample_counts samples,
                               float anneal, unsigned long long seed, int step, int batch,
                               const facet_livescene_ray_input *inputs,
                               facet_livescene_train_ray *rays, facet_livescene_ray_terms *terms,
                               int stride) {
    FACET_SHARED_SCRATCH(scratch, stride);
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch) return;
    facet_livescene_train_ray *r = &rays[i];
    facet_livescene_train_ray_run_scratch(&f, levels, samples.n, anneal, seed, step, batch, i,
                                          &inputs[i], r, scratch);
    terms[i] = r->terms;
}

__global__ void backward_kernel(facet_livescene_field f, facet_livescene_field grad, int levels,
                                int batch, facet_livescene_loss_weights w,
                                facet_livescene_train_ray *rays,
                                const facet_livescene_ray_terms *terms,
                                float (*dw_all)[FACET_LIVESCENE_MAX_SAMPLES], double *sums,
                                int stride) {
    FACET_SHARED_SCRATCH(scratch, stride);
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch) return;
    facet_livescene_train_ray *r = &rays[i];
    memcpy(r->terms.drendered_logits, terms[i].drendered_logits, sizeof r->terms.drendered_logits);
    float(*dw)[FACET_LIVESCENE_MAX_SAMPLES] = dw_all + (int64_t)i * (levels + 1);
    float drgb[3];
    double interlevel = 0.0, distortion = 0.0;
    facet_livescene_ray_losses(r, levels, batch, &w, dw, drgb, &interlevel, &distortion);
    atomicAdd(&sums[0], interlevel);
    atomicAdd(&sums[1], distortion);
    facet_livescene_train_backward_scratch(&f, &grad, levels, r, drgb, dw, scratch);
}

static_assert(facet_shared_scratch_threads(
                  facet_shared_scratch_stride(FACET_LIVESCENE_MAX_BACKWARD_SCRATCH)) >= 4,
              "the largest backward scratch must fit 4 threads' slices in shared memory");

/* The forward (backward = 0) or backward pass with `need` floats of scratch per thread: the
 * per-ray kernels, or with `staged` set the fp16 stages on tensor cores. */
struct pass_args {
    facet_livescene_field f, grad;
    int levels, batch, step;
    sample_counts samples;
    float anneal;
    unsigned long long seed;
    facet_livescene_loss_weights w;
    const facet_livescene_ray_input *inputs;
    facet_livescene_train_ray *rays;
    facet_livescene_ray_terms *terms;
    float (*dw)[FACET_LIVESCENE_MAX_SAMPLES];
    double *sums;
    const tensor_buffers *staged; /* NULL: the per-ray kernels */
    float loss_scale;             /* staged: the step's loss scale */
};

void run_pass(const pass_args &a, int backward, int need) {
    const int stride = facet_shared_scratch_stride(need);
    if (a.staged) {
        const tensor_step step{a.f, a.grad, *a.staged, a.levels, a.batch, a.loss_scale, stride};
        if (backward)
            step.run_backward(a.samples, a.w, a.rays, a.terms, a.dw, a.sums);
        else
            step.run_forward(a.samples, a.anneal, a.seed, a.step, a.inputs, a.rays, a.terms);
        return;
    }
    const int threads = facet_shared_scratch_threads(stride);
    const unsigned blocks = (unsigned)((a.batch + threads - 1) / threads);
    if (backward) FACET_LAUNCH(backward_kernel, blocks, threads)
    (a.f, a.grad, a.levels, a.batch, a.w, a.rays, a.terms, a.dw, a.sums, stride);
    else FACET_LAUNCH(forward_kernel, blocks, threads)(a.f, a.levels, a.samples, a.anneal, a.seed,
                                                       a.step, a.batch, a.inputs, a.rays, a.terms,
                                                       stride);
}

/* Rows the staged step's matrices need for `samples` per level: the most of any level. */
int64_t tensor_rows_for(int levels, const int *samples, int batch) {
    int64_t rows = 0;
    for (int l = 0; l <= levels; l++) {
        const int64_t r = facet_mlp_tensor_rows((int64_t)batch * samples[l]);
        rows = r > rows ? r : rows;
    }
    return rows;
}

__global__ void regularizer_kernel(const float *plane, float *grad, facet_livescene_plane_reg reg,
                                   double *sum) {
    const int64_t count = (int64_t)reg.h * reg.w * reg.c;
    const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= count) return;
    float loss;
    grad[e] += facet_livescene_plane_reg_element(plane, &reg, e, &loss);
    if (loss != 0.0f) atomicAdd(sum, (double)loss);
}

/* Re-packs one fp16 network from its fp32 weights (fields/tcnn_mlp_half.h), element by element. */
__global__ void pack_kernel(facet_mlp net, int64_t elements) {
    const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < elements) facet_mlp_half_pack_element(&net, (size_t)e, (void *)net.half);
}

/* Counts the non-finite values of a gradient buffer into *count. */
__global__ void nonfinite_kernel(const float *g, int64_t n, unsigned long long *count) {
    const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n && !isfinite(g[e])) atomicAdd(count, 1ull);
}

/* Adam (fit/adam.h) over one buffer. */
__global__ void adam_kernel(float *p, const float *g, float *m, float *v, int64_t n, float lr,
                            float c1, float c2) {
    const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n) return;
    facet_adam_element(&p[e], g[e], &m[e], &v[e], lr, c1, c2);
}

const facet_kplanes *task_grid(const facet_livescene_field *f,
                               const facet_livescene_plane_task *t) {
    if (t->grid < 0) return &f->probability_grid;
    if (t->grid >= FACET_LIVESCENE_MAX_SCALES)
        return &f->proposal_grids[t->grid - FACET_LIVESCENE_MAX_SCALES];
    return &f->grids[t->grid];
}

/* Re-packs every fp16 network of the trainer from its fp32 weights on the device. */
cudaError_t repack(facet_livescene_cuda_trainer *t) {
    facet_mlp *nets[FACET_LIVESCENE_MAX_NETWORKS];
    const int n = facet_livescene_networks(&t->field, nets);
    for (int i = 0; i < n; i++) {
        const int64_t elements = (int64_t)facet_mlp_half_elements(nets[i]);
        FACET_LAUNCH(pack_kernel, blocks(elements, 256), 256)(*nets[i], elements);
    }
    return cudaGetLastError();
}

} // namespace

extern "C" void facet_livescene_cuda_trainer_free(facet_livescene_cuda_trainer *t) {
    if (!t) return;
    void **lists[4] = {t->params, t->grads, t->adam_m, t->adam_v};
    for (int k = 0; k < 4; k++) {
        for (int i = 0; lists[k] && i < t->buffers; i++) cudaFree(lists[k][i]);
        free(lists[k]);
    }
    cudaFree(t->rays);
    cudaFree(t->dw);
    cudaFree(t->inputs);
    cudaFree(t->terms);
    cudaFree(t->sums);
    cudaFree(t->pack);
    cudaFree(t->nonfinite);
    tensor_buffers_free(&t->tensor);
    free(t->host_terms);
    free(t);
}

extern "C" facet_status facet_livescene_cuda_trainer_create(facet_livescene_cuda_trainer **out,
                                                            const facet_livescene_model *model,
                                                            void **adam_m, void **adam_v,
                                                            int batch) {
    *out = NULL;
    facet_livescene_cuda_trainer *t = (facet_livescene_cuda_trainer *)calloc(1, sizeof *t);
    if (!t) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    t->model = model;
    t->buffers = model->buffer_count;
    t->batch = batch;
    void ***lists[4] = {&t->params, &t->grads, &t->adam_m, &t->adam_v};
    void **host[4] = {model->buffers, NULL, adam_m, adam_v};
    cudaError_t err = cudaSuccess;
    for (int k = 0; k < 4 && err == cudaSuccess; k++) {
        *lists[k] = (void **)calloc((size_t)t->buffers, sizeof(void *));
        if (!*lists[k]) {
            facet_livescene_cuda_trainer_free(t);
            return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
        }
        for (int i = 0; i < t->buffers && err == cudaSuccess; i++) {
            const size_t bytes = model->buffer_info[i].count * sizeof(float);
            err = cudaMalloc(&(*lists[k])[i], bytes);
            if (err == cudaSuccess)
                err = host[k]
                          ? cudaMemcpy((*lists[k])[i], host[k][i], bytes, cudaMemcpyHostToDevice)
                          : cudaMemset((*lists[k])[i], 0, bytes);
        }
    }
    if (err == cudaSuccess) err = cudaMalloc(&t->rays, (size_t)batch * sizeof *t->rays);
    if (err == cudaSuccess)
        err = cudaMalloc(&t->dw,
                         (size_t)batch * (size_t)(model->field.proposals + 1) * sizeof *t->dw);
    if (err == cudaSuccess) err = cudaMalloc(&t->inputs, (size_t)batch * sizeof *t->inputs);
    if (err == cudaSuccess) err = cudaMalloc(&t->terms, (size_t)batch * sizeof *t->terms);
    if (err == cudaSuccess) err = cudaMalloc(&t->sums, 3 * sizeof(double));
    t->host_terms = (facet_livescene_ray_terms *)malloc((size_t)batch * sizeof *t->host_terms);
    if (err != cudaSuccess || !t->host_terms) {
        facet_status s = err != cudaSuccess
                             ? facet_fail(FACET_ERR_CUDA, "%s:%d: fitting on CUDA: %s", __FILE__,
                                          __LINE__, cudaGetErrorString(err))
                             : facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
        facet_livescene_cuda_trainer_free(t);
        return s;
    }
    t->field = facet_livescene_field_over(model, t->params);
    t->grad_field = facet_livescene_field_over(model, t->grads);
    if (model->field.sigma_net.half) { /* fp16 networks: device packs from the device weights */
        err = cudaMalloc(&t->pack, facet_livescene_half_bytes(&t->field));
        if (err == cudaSuccess) err = cudaMalloc(&t->nonfinite, sizeof *t->nonfinite);
        if (err == cudaSuccess) {
            int samples[FACET_LIVESCENE_MAX_LEVELS];
            const int levels = model->field.proposals;
            for (int l = 0; l < levels; l++) samples[l] = model->num_proposal_samples[l];
            samples[levels] = model->num_samples;
            err = tensor_buffers_alloc(&t->tensor, &t->field,
                                       tensor_rows_for(levels, samples, batch), batch);
            t->staged = err == cudaSuccess;
        }
        if (err == cudaSuccess) {
            facet_livescene_use_half(&t->field, t->pack, model->field.sigma_net.loss_scale, 0);
            err = repack(t);
        }
        if (err != cudaSuccess) {
            facet_status s = facet_fail(FACET_ERR_CUDA, "%s:%d: fitting on CUDA: %s", __FILE__,
                                        __LINE__, cudaGetErrorString(err));
            facet_livescene_cuda_trainer_free(t);
            return s;
        }
    }
    *out = t;
    return FACET_OK;
}

extern "C" facet_status facet_livescene_cuda_step(facet_livescene_cuda_trainer *t,
                                                  const facet_livescene_ray_input *inputs,
                                                  const int *samples, float anneal, float lr,
                                                  int step, const facet_livescene_loss_weights *w,
                                                  unsigned long long seed, int adam_step,
                                                  float loss_scale, double *loss, double *mse,
                                                  int *overflow) {
    const facet_livescene_model *m = t->model;
    *overflow = 0;
    if (t->pack) { /* this step's loss scale in every network the kernels receive */
        facet_mlp *nets[FACET_LIVESCENE_MAX_NETWORKS];
        const int n = facet_livescene_networks(&t->field, nets);
        for (int i = 0; i < n; i++) nets[i]->loss_scale = loss_scale;
    }
    const int levels = m->field.proposals, classes = m->field.objects + 1;
    sample_counts counts = {};
    for (int i = 0; i <= levels; i++) counts.n[i] = samples[i];
    FACET_CUDA_CHECK(
        cudaMemcpy(t->inputs, inputs, (size_t)t->batch * sizeof *inputs, cudaMemcpyHostToDevice));
    for (int i = 0; i < t->buffers; i++)
        FACET_CUDA_CHECK(cudaMemset(t->grads[i], 0, m->buffer_info[i].count * sizeof(float)));
    FACET_CUDA_CHECK(cudaMemset(t->sums, 0, 3 * sizeof(double)));
    pass_args pass;
    pass.f = t->field;
    pass.grad = t->grad_field;
    pass.levels = levels;
    pass.batch = t->batch;
    pass.step = step;
    pass.samples = counts;
    pass.anneal = anneal;
    pass.seed = seed;
    pass.w = *w;
    pass.inputs = t->inputs;
    pass.rays = t->rays;
    pass.terms = t->terms;
    pass.dw = t->dw;
    pass.sums = t->sums;
    pass.staged = NULL;
    pass.loss_scale = loss_scale;
    if (t->staged) { /* fp16 networks: the staged step on tensor cores */
        const int64_t rows = tensor_rows_for(levels, samples, t->batch);
        if (rows > t->tensor.rows) { /* more samples than the model's defaults: larger matrices */
            tensor_buffers_free(&t->tensor);
            FACET_CUDA_CHECK(tensor_buffers_alloc(&t->tensor, &t->field, rows, t->batch));
        }
        pass.staged = &t->tensor;
    }
    run_pass(pass, 0,
             pass.staged ? tensor_scratch_floats(&m->field)
                         : facet_livescene_scratch_floats(&m->field));
    FACET_CUDA_CHECK(cudaGetLastError());
    FACET_CUDA_CHECK(cudaMemcpy(t->host_terms, t->terms, (size_t)t->batch * sizeof *t->host_terms,
                                cudaMemcpyDeviceToHost));
    double batch_loss = facet_livescene_batch_terms(t->host_terms, sizeof *t->host_terms, t->batch,
                                                    levels, classes, w, seed, step, mse);
    FACET_CUDA_CHECK(cudaMemcpy(t->terms, t->host_terms, (size_t)t->batch * sizeof *t->terms,
                                cudaMemcpyHostToDevice));
    run_pass(pass, 1,
             pass.staged ? tensor_scratch_floats(&m->field)
                         : facet_livescene_backward_scratch_floats(&m->field));
    FACET_CUDA_CHECK(cudaGetLastError());
    facet_livescene_plane_task tasks[FACET_LIVESCENE_MAX_REG_PLANES];
    const int n = facet_livescene_regularizer_planes(&m->field, w, tasks);
    for (int i = 0; i < n; i++) {
        const facet_kplanes *k = task_grid(&t->field, &tasks[i]);
        const facet_kplanes *g = task_grid(&t->grad_field, &tasks[i]);
        const int64_t count = (int64_t)tasks[i].reg.h * tasks[i].reg.w * tasks[i].reg.c;
        FACET_LAUNCH(regularizer_kernel, blocks(count, 256), 256)
        ((const float *)k->planes[tasks[i].plane], (float *)g->planes[tasks[i].plane], tasks[i].reg,
         t->sums + 2);
    }
    FACET_CUDA_CHECK(cudaGetLastError());
    if (t->pack) { /* fp16 networks: a half overflow leaves non-finite gradients; skip Adam */
        unsigned long long bad = 0;
        FACET_CUDA_CHECK(cudaMemset(t->nonfinite, 0, sizeof *t->nonfinite));
        for (int i = 0; i < t->buffers; i++) {
            const int64_t count = (int64_t)m->buffer_info[i].count;
            FACET_LAUNCH(nonfinite_kernel, blocks(count, 256), 256)
            ((const float *)t->grads[i], count, t->nonfinite);
        }
        FACET_CUDA_CHECK(cudaGetLastError());
        FACET_CUDA_CHECK(cudaMemcpy(&bad, t->nonfinite, sizeof bad, cudaMemcpyDeviceToHost));
        *overflow = bad > 0;
    }
    if (*overflow) {
        double sums[3];
        FACET_CUDA_CHECK(cudaMemcpy(sums, t->sums, sizeof sums, cudaMemcpyDeviceToHost));
        *loss = batch_loss + w->interlevel * sums[0] / ((double)t->batch * samples[levels]) +
                w->distortion * sums[1] / t->batch + sums[2];
        return FACET_OK;
    }
    float c[2];
    facet_adam_corrections(adam_step, c);
    for (int i = 0; i < t->buffers; i++) {
        const int64_t count = (int64_t)m->buffer_info[i].count;
        FACET_LAUNCH(adam_kernel, blocks(count, 256), 256)
        ((float *)t->params[i], (const float *)t->grads[i], (float *)t->adam_m[i],
         (float *)t->adam_v[i], count, lr, c[0], c[1]);
    }
    FACET_CUDA_CHECK(cudaGetLastError());
    if (t->pack) FACET_CUDA_CHECK(repack(t));
    double sums[3];
    FACET_CUDA_CHECK(cudaMemcpy(sums, t->sums, sizeof sums, cudaMemcpyDeviceToHost));
    batch_loss += w->interlevel * sums[0] / ((double)t->batch * samples[levels]);
    batch_loss += w->distortion * sums[1] / t->batch;
    batch_loss += sums[2];
    *loss = batch_loss;
    return FACET_OK;
}

extern "C" facet_status facet_livescene_cuda_download(facet_livescene_cuda_trainer *t,
                                                      facet_livescene_model *model, void **adam_m,
                                                      void **adam_v) {
    for (int i = 0; i < t->buffers; i++) {
        const size_t bytes = model->buffer_info[i].count * sizeof(float);
        FACET_CUDA_CHECK(
            cudaMemcpy(model->buffers[i], t->params[i], bytes, cudaMemcpyDeviceToHost));
        if (adam_m)
            FACET_CUDA_CHECK(cudaMemcpy(adam_m[i], t->adam_m[i], bytes, cudaMemcpyDeviceToHost));
        if (adam_v)
            FACET_CUDA_CHECK(cudaMemcpy(adam_v[i], t->adam_v[i], bytes, cudaMemcpyDeviceToHost));
    }
    return FACET_OK;
}

extern "C" facet_status
facet_livescene_cuda_download_gradients(const facet_livescene_cuda_trainer *t, void **grads) {
    for (int i = 0; i < t->buffers; i++)
        FACET_CUDA_CHECK(cudaMemcpy(grads[i], t->grads[i],
                                    t->model->buffer_info[i].count * sizeof(float),
                                    cudaMemcpyDeviceToHost));
    return FACET_OK;
}
