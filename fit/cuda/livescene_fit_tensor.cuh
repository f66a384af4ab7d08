/* The CUDA fit's step with fp16 networks on tensor cores (included once, by
 * fit/cuda/livescene_fit.cu). The per-ray pass of fit/livescene_train.h splits at every network
 * into stages over the whole batch, as tiny-cuda-nn trains:
 *
 * forward, per level: a per-sample kernel writes each network's input rows (the functions of
 * fields/livescene.h), facet_mlp_tensor_kernel runs the network over all rows (the semantic net,
 * then the level's proposal net, or the sigma and colour nets at the final level), and a per-ray
 * kernel composites the level in sample order (facet_livescene_train_composite) and draws the next
 * level's bins, its sampler's state kept per ray between levels;
 *
 * backward: a per-ray kernel turns the losses into dL/dsigma per sample and level
 * (facet_livescene_ray_losses, facet_livescene_level_weights_backward); then per network and level
 * the input rows again, the forward keeping its activations, the output gradients per sample
 * (dcolour = w drgb; dsigma trunc_exp'(raw - 1); dlogits = w drendered_logits; the colour net's
 * input gradient carries into the sigma net's geo outputs), facet_mlp_tensor_backward_kernel, the
 * weight gradients (facet_mlp_tensor_parameter_gradients), and a per-sample kernel scatters the
 * input gradients into the K-Planes (fields/livescene_backward.h's chain rule).
 *
 * The same function as the per-point fp16 step (fields/tcnn_mlp_half_backward.h): the samples a
 * per-point pass skips (no density gradient at a proposal level, no mask or zero weight for the
 * semantic net) get zero input rows and zero output gradients here, which add nothing. Row i of a
 * level's matrices is sample i % n of ray i / n (n samples per ray); rows past batch n (padding to
 * a multiple of 32) are zero. */

#include "core/cuda/shared_scratch.h"
#include "fields/cuda/tcnn_mlp_tensor_train.cuh"
#include "fit/livescene_train.h"

#include <string.h>

namespace {

/* Blocks of `threads` threads for n items. */
unsigned blocks(int64_t n, int threads) {
    return (unsigned)((n + threads - 1) / threads);
}

/* Samples per level, by value for kernels (the per-ray kernels of livescene_fit.cu too). */
struct sample_counts {
    int n[FACET_LIVESCENE_MAX_LEVELS];
};

/* Device buffers of the staged step, sized for `rows` rows (every level's padded sample count). */
struct tensor_buffers {
    int64_t rows;
    facet_rng *rng;             /* [batch]: each ray's sampler between levels */
    float (*drgb)[3];           /* [batch]: dL/d rendered colour */
    __half *x[2], *keep[2];     /* two networks' input rows and kept activations at once */
    __half *gradients;          /* one network's output gradients per layer */
    float *y[3], *dy, *dx;      /* outputs: semantic, density or sigma, colour; dL/dy, dL/dx */
    int ld_in, ld_out, kept, g; /* per row: most input columns, output columns, kept, gradients */
};

/* Frees b's buffers (any may be NULL) and zeroes it. */
void tensor_buffers_free(tensor_buffers *b) {
    void *all[] = {b->rng,       b->drgb, b->x[0], b->x[1], b->keep[0], b->keep[1],
                   b->gradients, b->y[0], b->y[1], b->y[2], b->dy,      b->dx};
    for (void *p : all) cudaFree(p);
    memset(b, 0, sizeof *b);
}

/* Allocates b for `rows` rows of f's networks and `batch` rays. */
cudaError_t tensor_buffers_alloc(tensor_buffers *b, facet_livescene_field *f, int64_t rows,
                                 int batch) {
    memset(b, 0, sizeof *b);
    facet_mlp *nets[FACET_LIVESCENE_MAX_NETWORKS];
    const int n = facet_livescene_networks(f, nets);
    for (int i = 0; i < n; i++) {
        const facet_mlp *m = nets[i];
        const int in = facet_mlp_pad16(m->width[0]), out = facet_mlp_pad16(m->width[m->layers]);
        const int kept = (int)facet_mlp_tensor_keep_offset(m, m->layers);
        const int g = (int)facet_mlp_tensor_gradient_offset(m, m->layers);
        b->ld_in = in > b->ld_in ? in : b->ld_in;
        b->ld_out = out > b->ld_out ? out : b->ld_out;
        b->kept = kept > b->kept ? kept : b->kept;
        b->g = g > b->g ? g : b->g;
    }
    b->rows = rows;
    const size_t r = (size_t)rows;
    cudaError_t e = cudaMalloc(&b->rng, (size_t)batch * sizeof *b->rng);
    if (e == cudaSuccess) e = cudaMalloc(&b->drgb, (size_t)batch * sizeof *b->drgb);
    for (int k = 0; k < 2 && e == cudaSuccess; k++) {
        e = cudaMalloc(&b->x[k], r * b->ld_in * sizeof(__half));
        if (e == cudaSuccess) e = cudaMalloc(&b->keep[k], (r * b->kept + 1) * sizeof(__half));
    }
    if (e == cudaSuccess) e = cudaMalloc(&b->gradients, r * b->g * sizeof(__half));
    for (int k = 0; k < 3 && e == cudaSuccess; k++)
        e = cudaMalloc(&b->y[k], r * b->ld_out * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc(&b->dy, r * b->ld_out * sizeof(float));
    if (e == cudaSuccess) e = cudaMalloc(&b->dx, r * b->ld_in * sizeof(float));
    if (e != cudaSuccess) tensor_buffers_free(b);
    return e;
}

/* Floats of per-thread scratch the staged kernels need: a network's input row, or the probability
 * scatter's input, input gradient and K-Planes backward scratch. */
int tensor_scratch_floats(const facet_livescene_field *f) {
    int need = 0;
    facet_mlp *nets[FACET_LIVESCENE_MAX_NETWORKS];
    const int n = facet_livescene_networks((facet_livescene_field *)f, nets);
    for (int i = 0; i < n; i++) need = nets[i]->width[0] > need ? nets[i]->width[0] : need;
    const int c = f->probability_grid.channels;
    const int probability =
        c + f->objects + c + facet_kplanes_backward_scratch_floats(&f->probability_grid);
    need = probability > need ? probability : need;
    for (int s = 0; s < f->scales; s++) {
        const int k = facet_kplanes_backward_scratch_floats(&f->grids[s]);
        need = k > need ? k : need;
    }
    for (int l = 0; l < f->proposals; l++) {
        const int k = facet_kplanes_backward_scratch_floats(&f->proposal_grids[l]);
        need = k > need ? k : need;
    }
    return need;
}

/* Where a stage's rows come from: level `level` of the rays, n samples per ray. */
struct level_rows {
    facet_livescene_train_ray *rays;
    int level, n;
    int64_t count; /* rays */
};

__device__ inline facet_livescene_train_ray *row_ray(const level_rows &s, int64_t i, int *j) {
    const int64_t r = i / s.n;
    *j = (int)(i - r * s.n);
    return &s.rays[r];
}

/* dL/dsigma of sample j at level `level` of row i's ray (dw: levels + 1 rows per ray). */
__device__ inline float row_dsigma(float (*dw)[FACET_LIVESCENE_MAX_SAMPLES], int levels,
                                   const level_rows &s, int64_t i, int level, int j) {
    return dw[(i / s.n) * (levels + 1) + level][j];
}

/* Input rows of one network over a level: `input` (a functor below) writes sample (ray, j)'s
 * input into the thread's scratch and returns its width, or 0 for a sample the per-point pass
 * skips (a zero row); padding rows are zero too. */
template <typename Input>
__global__ void rows_kernel(Input input, level_rows s, int ld, __half *x, int stride) {
    FACET_SHARED_SCRATCH(in, stride);
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= facet_mlp_tensor_rows(s.count * s.n)) return;
    int width = 0;
    if (i < s.count * s.n) {
        int j;
        facet_livescene_train_ray *r = row_ray(s, i, &j);
        width = input(r, i, j, s, in);
    }
    facet_mlp_tensor_input_row(x + i * ld, in, width, ld);
}

/* Whether a sample takes part in the semantic net's backward pass: its level's rendered logits
 * have a gradient and its weight is not zero (facet_livescene_train_backward_scratch). */
__device__ inline int semantic_backward_sample(const facet_livescene_field &f,
                                               const facet_livescene_train_ray *r, int level,
                                               int j) {
    int any_mask = 0;
    for (int c = 0; c <= f.objects; c++) any_mask |= r->terms.drendered_logits[level][c] != 0.0f;
    return any_mask && r->weights[level][j] != 0.0f;
}

/* The kappa of sample j: in the forward pass the object the semantic net's logits pick (y row i),
 * in the backward pass the one the forward picked. */
__device__ inline float sample_kappa(const facet_livescene_field &f,
                                     const facet_livescene_train_ray *r, int level, int j,
                                     const float *logits, int backward) {
    if (backward) return r->kappa_sel[level][j];
    return r->kappa[facet_livescene_pick_object(logits, f.objects)];
}

struct semantic_input {
    facet_livescene_field f;
    int backward;
    __device__ int operator()(facet_livescene_train_ray *r, int64_t, int j, const level_rows &s,
                              float *in) const {
        if (backward && !semantic_backward_sample(f, r, s.level, j)) return 0;
        float pos[3];
        facet_livescene_train_position(r, s.level, j, pos);
        facet_livescene_probability_input(&f, pos, r->kappa, in);
        return f.semantic_net.width[0];
    }
};

struct proposal_input {
    facet_livescene_field f;
    const float *logits; /* forward: the semantic net's outputs */
    int ld_logits, backward;
    float (*dw)[FACET_LIVESCENE_MAX_SAMPLES]; /* backward: dL/dsigma per ray and level */
    __device__ int operator()(facet_livescene_train_ray *r, int64_t i, int j, const level_rows &s,
                              float *in) const {
        if (backward && row_dsigma(dw, f.proposals, s, i, s.level, j) == 0.0f) return 0;
        float pos[3];
        facet_livescene_train_position(r, s.level, j, pos);
        const float k = sample_kappa(f, r, s.level, j, logits + i * ld_logits, backward);
        facet_livescene_proposal_features(&f, s.level, pos, k, in);
        return f.density_net[s.level].width[0];
    }
};

struct sigma_input {
    facet_livescene_field f;
    const float *logits;
    int ld_logits, backward;
    __device__ int operator()(facet_livescene_train_ray *r, int64_t i, int j, const level_rows &s,
                              float *in) const {
        float pos[3], coords[4];
        facet_livescene_train_position(r, s.level, j, pos);
        const float k = sample_kappa(f, r, s.level, j, logits + i * ld_logits, backward);
        facet_livescene_sigma_features(&f, pos, k, coords, in);
        return f.sigma_net.width[0];
    }
};

/* The colour net's input from the sigma net's outputs (geo features first). */
struct color_input {
    facet_livescene_field f;
    const float *sigma_out;
    int ld_sigma;
    __device__ int operator()(facet_livescene_train_ray *r, int64_t i, int, const level_rows &,
                              float *in) const {
        facet_livescene_color_input(&f, r->d, sigma_out + i * ld_sigma, in);
        return f.color_net.width[0];
    }
};

/* Per ray: the set-up and level-0 bins (facet_livescene_train_begin), every level's sample count.
 */
__global__ void tensor_begin_kernel(facet_livescene_field f, int levels, sample_counts samples,
                                    unsigned long long seed, int step, int batch,
                                    const facet_livescene_ray_input *inputs,
                                    facet_livescene_train_ray *rays, facet_rng *rng) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch) return;
    facet_livescene_train_ray *r = &rays[i];
    facet_rng g = facet_livescene_train_ray_setup(seed, step, batch, i, &inputs[i], r);
    facet_livescene_train_begin(&f, samples.n, FACET_LIVESCENE_TRAIN_NEAR_PLANE, r, &g);
    for (int level = 0; level <= levels; level++) r->n[level] = samples.n[level];
    rng[i] = g;
}

/* Per ray: composites a level from the networks' outputs in sample order (logits: the semantic
 * net's; density: the proposal net's raw density, or the sigma net's outputs with the raw density
 * after the geo features; rgb: the colour net's), then draws the next level's bins or, at the final
 * level, hands the ray's terms to the batch terms. */
__global__ void tensor_composite_kernel(facet_livescene_field f, int levels, int level, int next,
                                        float anneal, int batch, facet_livescene_train_ray *rays,
                                        facet_rng *rng, const float *logits, int ld_logits,
                                        const float *density, int ld_density, const float *rgb,
                                        int ld_rgb, facet_livescene_ray_terms *terms) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch) return;
    facet_livescene_train_ray *r = &rays[i];
    const int n = r->n[level], final = level == levels;
    const int raw = final ? f.geo_feat_dim : 0;
    facet_livescene_train_evaluate_begin(&f, levels, level, r);
    float accumulated = 0.0f;
    for (int j = 0; j < n; j++) {
        const int64_t row = (int64_t)i * n + j;
        const float *z = logits + row * ld_logits;
        const float k = r->kappa[facet_livescene_pick_object(z, f.objects)];
        const float sigma = facet_livescene_density_activation(density[row * ld_density + raw]);
        if (final)
            for (int c = 0; c < 3; c++) r->sample_rgb[j][c] = rgb[row * ld_rgb + c];
        facet_livescene_train_composite(&f, levels, level, j, k, sigma, z, &accumulated, r);
    }
    facet_livescene_train_evaluate_end(levels, level, r);
    if (final) {
        terms[i] = r->terms;
        return;
    }
    facet_rng g = rng[i];
    facet_livescene_train_next_level(r, level, n, next, anneal, &g);
    rng[i] = g;
}

/* Per ray: the losses' gradients (facet_livescene_ray_losses) and every level's dL/dsigma
 * (facet_livescene_level_weights_backward), in dw; drgb kept for the colour's gradient. */
__global__ void tensor_losses_kernel(int levels, int batch, facet_livescene_loss_weights w,
                                     facet_livescene_train_ray *rays,
                                     const facet_livescene_ray_terms *terms,
                                     float (*dw_all)[FACET_LIVESCENE_MAX_SAMPLES], double *sums,
                                     float (*drgb)[3]) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch) return;
    facet_livescene_train_ray *r = &rays[i];
    memcpy(r->terms.drendered_logits, terms[i].drendered_logits, sizeof r->terms.drendered_logits);
    float(*dw)[FACET_LIVESCENE_MAX_SAMPLES] = dw_all + (int64_t)i * (levels + 1);
    double interlevel = 0.0, distortion = 0.0;
    facet_livescene_ray_losses(r, levels, batch, &w, dw, drgb[i], &interlevel, &distortion);
    atomicAdd(&sums[0], interlevel);
    atomicAdd(&sums[1], distortion);
    for (int level = 0; level <= levels; level++)
        facet_livescene_level_weights_backward(r, level, levels, drgb[i], dw);
}

/* Output gradients of one network over a level's rows: `gradient` (a functor below) gives
 * dL/dy[c] of sample (ray, j) for c < width (0 where the per-point pass skips it); the padding
 * columns and rows are zero. */
template <typename Gradient>
__global__ void output_gradient_kernel(Gradient gradient, level_rows s, int width, int ld,
                                       float *dy) {
    const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t i = e / ld;
    const int c = (int)(e - i * ld);
    if (i >= facet_mlp_tensor_rows(s.count * s.n)) return;
    float g = 0.0f;
    if (i < s.count * s.n && c < width) {
        int j;
        const facet_livescene_train_ray *r = row_ray(s, i, &j);
        g = gradient(r, i, j, c, s);
    }
    dy[e] = g;
}

/* dcolour = w_j drgb (the final level). */
struct color_gradient {
    const float (*drgb)[3];
    __device__ float operator()(const facet_livescene_train_ray *r, int64_t i, int j, int c,
                                const level_rows &s) const {
        return r->weights[s.level][j] * drgb[i / s.n][c];
    }
};

/* The sigma net's outputs: the geo features' gradient from the colour net's input gradient (after
 * its 16 SH columns), the raw density's dsigma trunc_exp'(raw - 1). */
struct sigma_gradient {
    const float *color_dx, *sigma_out;
    int ld_color_in, ld_sigma_out, geo, levels;
    float (*dw)[FACET_LIVESCENE_MAX_SAMPLES];
    __device__ float operator()(const facet_livescene_train_ray *, int64_t i, int j, int c,
                                const level_rows &s) const {
        if (c < geo) return color_dx[i * ld_color_in + 16 + c];
        const float dsigma = row_dsigma(dw, levels, s, i, levels, j);
        return dsigma * facet_trunc_exp_derivative(sigma_out[i * ld_sigma_out + geo] - 1.0f);
    }
};

/* A proposal net's raw density: dsigma trunc_exp'(raw - 1) (0 where dsigma is 0). */
struct proposal_gradient {
    const float *out;
    int ld, levels;
    float (*dw)[FACET_LIVESCENE_MAX_SAMPLES];
    __device__ float operator()(const facet_livescene_train_ray *, int64_t i, int j, int,
                                const level_rows &s) const {
        const float dsigma = row_dsigma(dw, levels, s, i, s.level, j);
        if (dsigma == 0.0f) return 0.0f;
        return dsigma * facet_trunc_exp_derivative(out[i * ld] - 1.0f);
    }
};

/* The semantic net's logits: w_j drendered_logits. */
struct semantic_gradient {
    facet_livescene_field f;
    __device__ float operator()(const facet_livescene_train_ray *r, int64_t, int j, int c,
                                const level_rows &s) const {
        if (!semantic_backward_sample(f, r, s.level, j)) return 0.0f;
        return r->weights[s.level][j] * r->terms.drendered_logits[s.level][c];
    }
};

/* Per sample: scatters input gradients into the K-Planes. `scatter` (a functor below) takes the
 * sample's row of dx. */
template <typename Scatter>
__global__ void scatter_kernel(Scatter scatter, level_rows s, const float *dx, int ld, int stride) {
    FACET_SHARED_SCRATCH(scratch, stride);
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= s.count * s.n) return;
    int j;
    const facet_livescene_train_ray *r = row_ray(s, i, &j);
    scatter(r, i, j, s, dx + i * ld, scratch);
}

/* The sigma net's input gradient to every scale's planes at the sample's coordinates. */
struct field_scatter {
    facet_livescene_field f, grad;
    __device__ void operator()(const facet_livescene_train_ray *r, int64_t, int j,
                               const level_rows &s, const float *dfeatures, float *scratch) const {
        float pos[3], coords[4];
        facet_livescene_train_position(r, s.level, j, pos);
        facet_livescene_coords4(&f, pos, r->kappa_sel[s.level][j], coords);
        int offset = 0;
        for (int k = 0; k < f.scales; k++) {
            facet_kplanes_backward_scratch(&f.grids[k], &grad.grids[k], coords, dfeatures + offset,
                                           scratch);
            offset += f.grids[k].channels;
        }
    }
};

/* A proposal net's input gradient to its planes (samples with a density gradient). */
struct proposal_scatter {
    facet_livescene_field f, grad;
    int levels;
    float (*dw)[FACET_LIVESCENE_MAX_SAMPLES];
    __device__ void operator()(const facet_livescene_train_ray *r, int64_t i, int j,
                               const level_rows &s, const float *dfeatures, float *scratch) const {
        if (row_dsigma(dw, levels, s, i, s.level, j) == 0.0f) return;
        float pos[3], coords[4];
        facet_livescene_train_position(r, s.level, j, pos);
        facet_livescene_coords4(&f, pos, r->kappa_sel[s.level][j], coords);
        facet_kplanes_backward_scratch(&f.proposal_grids[s.level], &grad.proposal_grids[s.level],
                                       coords, dfeatures, scratch);
    }
};

/* The semantic net's input gradient through the sigmoid to the probability grid (at the world
 * position). */
struct probability_scatter {
    facet_livescene_field f, grad;
    __device__ void operator()(const facet_livescene_train_ray *r, int64_t, int j,
                               const level_rows &s, const float *dinput, float *scratch) const {
        if (!semantic_backward_sample(f, r, s.level, j)) return;
        const int c = f.probability_grid.channels;
        float pos[3], *input = scratch, *dfeature = scratch + c + f.objects;
        facet_livescene_train_position(r, s.level, j, pos);
        facet_livescene_probability_input(&f, pos, r->kappa, input);
        for (int k = 0; k < c; k++) dfeature[k] = dinput[k] * input[k] * (1.0f - input[k]);
        facet_kplanes_backward_scratch(&f.probability_grid, &grad.probability_grid, pos, dfeature,
                                       dfeature + c);
    }
};

/* The staged step's launches; the per-sample kernels' scratch is `stride` floats per thread
 * (core/cuda/shared_scratch.h). */
struct tensor_step {
    const facet_livescene_field &f, &grad;
    const tensor_buffers &b;
    int levels, batch;
    float scale;
    int stride;

    static int in_stride(const facet_mlp &net) { return facet_mlp_pad16(net.width[0]); }
    static int out_stride(const facet_mlp &net) { return facet_mlp_pad16(net.width[net.layers]); }
    level_rows rows_of(facet_livescene_train_ray *rays, int level, int n) const {
        return level_rows{rays, level, n, batch};
    }
    template <typename Input>
    void inputs(const Input &input, const level_rows &s, const facet_mlp &net, __half *x) const {
        const int threads = facet_shared_scratch_threads(stride);
        void (*kernel)(Input, level_rows, int, __half *, int) = rows_kernel<Input>;
        FACET_LAUNCH(kernel, blocks(facet_mlp_tensor_rows(s.count * s.n), threads), threads)
        (input, s, facet_mlp_pad16(net.width[0]), x, stride);
    }
    void forward(const facet_mlp &net, const level_rows &s, const __half *x, float *y,
                 __half *keep) const {
        const int64_t rows = facet_mlp_tensor_rows(s.count * s.n);
        FACET_LAUNCH(facet_mlp_tensor_kernel, facet_mlp_tensor_blocks(rows),
                     FACET_MLP_TENSOR_WARPS * 32)
        (net, x, rows, y, keep);
    }
    /* dy from `gradient`, the backward pass to b.dx, the weight gradients into grad_net. */
    template <typename Gradient>
    void backward(const Gradient &gradient, const facet_mlp &net, const facet_mlp &grad_net,
                  const level_rows &s, const __half *x, const __half *keep, const float *y) const {
        const int64_t rows = facet_mlp_tensor_rows(s.count * s.n);
        const int ld = facet_mlp_pad16(net.width[net.layers]);
        void (*kernel)(Gradient, level_rows, int, int, float *) = output_gradient_kernel<Gradient>;
        FACET_LAUNCH(kernel, blocks(rows * ld, 256), 256)
        (gradient, s, net.width[net.layers], ld, b.dy);
        FACET_LAUNCH(facet_mlp_tensor_backward_kernel, facet_mlp_tensor_blocks(rows),
                     FACET_MLP_TENSOR_WARPS * 32)
        (net, keep, y, b.dy, rows, scale, b.gradients, b.dx);
        facet_mlp_tensor_parameter_gradients(net, x, keep, b.gradients, rows, scale, grad_net);
    }
    template <typename Scatter>
    void scatter(const Scatter &scatter, const level_rows &s, const facet_mlp &net) const {
        const int threads = facet_shared_scratch_threads(stride);
        void (*kernel)(Scatter, level_rows, const float *, int, int) = scatter_kernel<Scatter>;
        FACET_LAUNCH(kernel, blocks(s.count * s.n, threads), threads)
        (scatter, s, b.dx, facet_mlp_pad16(net.width[0]), stride);
    }

    /* The forward pass: every level's networks, then its compositing. */
    void run_forward(const sample_counts &samples, float anneal, unsigned long long seed, int step,
                     const facet_livescene_ray_input *in, facet_livescene_train_ray *rays,
                     facet_livescene_ray_terms *terms) const {
        const int per_ray = 128;
        FACET_LAUNCH(tensor_begin_kernel, blocks(batch, per_ray), per_ray)
        (f, levels, samples, seed, step, batch, in, rays, b.rng);
        const int ld_z = out_stride(f.semantic_net), ld_sigma = out_stride(f.sigma_net);
        for (int level = 0; level <= levels; level++) {
            const level_rows s = rows_of(rays, level, samples.n[level]);
            inputs(semantic_input{f, 0}, s, f.semantic_net, b.x[0]);
            forward(f.semantic_net, s, b.x[0], b.y[0], nullptr);
            int ld_density = ld_sigma;
            if (level < levels) {
                inputs(proposal_input{f, b.y[0], ld_z, 0, nullptr}, s, f.density_net[level],
                       b.x[0]);
                forward(f.density_net[level], s, b.x[0], b.y[1], nullptr);
                ld_density = out_stride(f.density_net[level]);
            } else {
                inputs(sigma_input{f, b.y[0], ld_z, 0}, s, f.sigma_net, b.x[0]);
                forward(f.sigma_net, s, b.x[0], b.y[1], nullptr);
                inputs(color_input{f, b.y[1], ld_sigma}, s, f.color_net, b.x[1]);
                forward(f.color_net, s, b.x[1], b.y[2], nullptr);
            }
            const int next = level < levels ? samples.n[level + 1] : 0;
            FACET_LAUNCH(tensor_composite_kernel, blocks(batch, per_ray), per_ray)
            (f, levels, level, next, anneal, batch, rays, b.rng, b.y[0], ld_z, b.y[1], ld_density,
             b.y[2], out_stride(f.color_net), terms);
        }
    }

    /* The backward pass after the batch terms (terms: their logits' gradients): the losses per
     * ray, then the final level's colour and sigma nets and planes, each proposal level's net and
     * planes, and the semantic net and probability grid at every level. */
    void run_backward(const sample_counts &samples, const facet_livescene_loss_weights &w,
                      facet_livescene_train_ray *rays, const facet_livescene_ray_terms *terms,
                      float (*dw)[FACET_LIVESCENE_MAX_SAMPLES], double *sums) const {
        const int per_ray = 128;
        FACET_LAUNCH(tensor_losses_kernel, blocks(batch, per_ray), per_ray)
        (levels, batch, w, rays, terms, dw, sums, b.drgb);
        const int ld_sigma = out_stride(f.sigma_net), ld_color_in = in_stride(f.color_net);
        const level_rows last = rows_of(rays, levels, samples.n[levels]);
        inputs(sigma_input{f, nullptr, 0, 1}, last, f.sigma_net, b.x[0]);
        forward(f.sigma_net, last, b.x[0], b.y[1], b.keep[0]);
        inputs(color_input{f, b.y[1], ld_sigma}, last, f.color_net, b.x[1]);
        forward(f.color_net, last, b.x[1], b.y[2], b.keep[1]);
        backward(color_gradient{b.drgb}, f.color_net, grad.color_net, last, b.x[1], b.keep[1],
                 b.y[2]);
        /* b.dx now holds the colour net's input gradient; the sigma net's dy is built from it
         * before its backward pass overwrites b.dx */
        backward(sigma_gradient{b.dx, b.y[1], ld_color_in, ld_sigma, f.geo_feat_dim, levels, dw},
                 f.sigma_net, grad.sigma_net, last, b.x[0], b.keep[0], b.y[1]);
        scatter(field_scatter{f, grad}, last, f.sigma_net);
        for (int level = 0; level < levels; level++) {
            const level_rows s = rows_of(rays, level, samples.n[level]);
            const facet_mlp &net = f.density_net[level];
            inputs(proposal_input{f, nullptr, 0, 1, dw}, s, net, b.x[0]);
            forward(net, s, b.x[0], b.y[1], b.keep[0]);
            backward(proposal_gradient{b.y[1], out_stride(net), levels, dw}, net,
                     grad.density_net[level], s, b.x[0], b.keep[0], b.y[1]);
            scatter(proposal_scatter{f, grad, levels, dw}, s, net);
        }
        for (int level = 0; level <= levels; level++) {
            const level_rows s = rows_of(rays, level, samples.n[level]);
            inputs(semantic_input{f, 1}, s, f.semantic_net, b.x[0]);
            forward(f.semantic_net, s, b.x[0], b.y[0], b.keep[0]);
            backward(semantic_gradient{f}, f.semantic_net, grad.semantic_net, s, b.x[0], b.keep[0],
                     b.y[0]);
            scatter(probability_scatter{f, grad}, s, f.semantic_net);
        }
    }
};

} // namespace
