/* CUDA backend of the text encoders (language/text_backend.h): a CUDA nn context (nn/nn.h:
 * cuBLAS products, LayerNorm, activations, attention) and one thread per row or element around
 * the per-row functions of language/ops.h that the CPU backend (language/text_encoder.c) also
 * calls. The weights are copied to the device once, on the first CUDA encode. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "language/ops.h"
#include "language/text_backend.h"
#include "nn/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct facet_text_cuda {
    facet_nn *nn;
    float *weights;           /* device copy of e->storage */
    facet_text_layer *layers; /* host array of device views */
    facet_text_weights view;  /* device views */
    float *workspace;
    size_t workspace_floats;
    int32_t *ids;
    int ids_capacity;
};

namespace {

const float *translate(const facet_text_encoder *e, const facet_text_cuda *c, const float *host) {
    return host ? c->weights + (host - e->storage) : NULL;
}

unsigned blocks_for(size_t count, unsigned threads) {
    return (unsigned)((count + threads - 1) / threads);
}

__global__ void embed_kernel(facet_text_weights w, const int32_t *ids, int count, int width,
                             float *x) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= count) return;
    facet_lang_embed_row(w.token_embedding + (size_t)ids[t] * width,
                         w.position_embedding + (size_t)t * width, w.token_type, width,
                         x + (size_t)t * width);
}

__global__ void pool_kernel(const float *x, int count, int width, int row, float *out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= width) return;
    if (row >= 0) {
        out[i] = x[(size_t)row * width + i];
        return;
    }
    float sum = 0.0f;
    for (int t = 0; t < count; t++) sum += x[(size_t)t * width + i];
    out[i] = sum / (float)count;
}

facet_status cuda_workspace(void *ctx, size_t floats, float **out) {
    facet_text_cuda *c = (facet_text_cuda *)ctx;
    if (floats > c->workspace_floats) {
        if (c->workspace) cudaFree(c->workspace);
        c->workspace = NULL;
        c->workspace_floats = 0;
        FACET_CUDA_CHECK(cudaMalloc(&c->workspace, floats * sizeof(float)));
        c->workspace_floats = floats;
    }
    *out = c->workspace;
    return FACET_OK;
}

facet_status cuda_embed(void *ctx, const facet_text_weights *w, const int32_t *ids, int count,
                        int width, float *x) {
    facet_text_cuda *c = (facet_text_cuda *)ctx;
    if (count > c->ids_capacity) {
        if (c->ids) cudaFree(c->ids);
        c->ids = NULL;
        c->ids_capacity = 0;
        FACET_CUDA_CHECK(cudaMalloc(&c->ids, (size_t)count * sizeof(int32_t)));
        c->ids_capacity = count;
    }
    FACET_CUDA_CHECK(
        cudaMemcpy(c->ids, ids, (size_t)count * sizeof(int32_t), cudaMemcpyHostToDevice));
    FACET_LAUNCH(embed_kernel, blocks_for((size_t)count, 64), 64)(*w, c->ids, count, width, x);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

facet_status cuda_pool(void *ctx, const float *x, int count, int width, int row, float *out) {
    (void)ctx;
    FACET_LAUNCH(pool_kernel, blocks_for((size_t)width, 128), 128)(x, count, width, row, out);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

facet_status cuda_download(void *ctx, const float *src, float *host, size_t count) {
    (void)ctx;
    FACET_CUDA_CHECK(cudaMemcpy(host, src, count * sizeof(float), cudaMemcpyDeviceToHost));
    return FACET_OK;
}

facet_status upload(facet_text_encoder *e) {
    facet_text_cuda *c = (facet_text_cuda *)calloc(1, sizeof *c);
    if (!c) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    e->cuda = c;
    facet_status s = facet_nn_create(&c->nn, FACET_NN_CUDA, FACET_NN_FP32);
    if (s != FACET_OK) return s;
    size_t bytes = (size_t)e->parameter_count * sizeof(float);
    FACET_CUDA_CHECK(cudaMalloc(&c->weights, bytes));
    FACET_CUDA_CHECK(cudaMemcpy(c->weights, e->storage, bytes, cudaMemcpyHostToDevice));
    c->layers = (facet_text_layer *)calloc((size_t)e->config.layers + 1, sizeof *c->layers);
    if (!c->layers) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    const facet_text_weights *h = &e->host;
    facet_text_weights *v = &c->view;
    v->token_embedding = translate(e, c, h->token_embedding);
    v->position_embedding = translate(e, c, h->position_embedding);
    v->token_type = translate(e, c, h->token_type);
    v->embed_norm_w = translate(e, c, h->embed_norm_w);
    v->embed_norm_b = translate(e, c, h->embed_norm_b);
    v->final_norm_w = translate(e, c, h->final_norm_w);
    v->final_norm_b = translate(e, c, h->final_norm_b);
    v->projection = translate(e, c, h->projection);
    for (int i = 0; i < e->config.layers; i++) {
        const facet_text_layer *a = &h->layers[i];
        facet_text_layer *b = &c->layers[i];
        b->norm1_w = translate(e, c, a->norm1_w);
        b->norm1_b = translate(e, c, a->norm1_b);
        b->qkv_w = translate(e, c, a->qkv_w);
        b->qkv_b = translate(e, c, a->qkv_b);
        b->out_w = translate(e, c, a->out_w);
        b->out_b = translate(e, c, a->out_b);
        b->norm2_w = translate(e, c, a->norm2_w);
        b->norm2_b = translate(e, c, a->norm2_b);
        b->fc1_w = translate(e, c, a->fc1_w);
        b->fc1_b = translate(e, c, a->fc1_b);
        b->fc2_w = translate(e, c, a->fc2_w);
        b->fc2_b = translate(e, c, a->fc2_b);
    }
    v->layers = c->layers;
    return FACET_OK;
}

} // namespace

extern "C" facet_status facet_text_cuda_backend(facet_text_encoder *e, facet_text_backend *backend,
                                                const facet_text_weights **weights) {
    if (!e->cuda) {
        int devices = 0;
        if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)
            return facet_fail(FACET_ERR_CUDA, "--device cuda: no CUDA device is available");
        facet_status s = upload(e);
        if (s != FACET_OK) {
            facet_status keep = s;
            char message[1024];
            snprintf(message, sizeof message, "%s", facet_last_error());
            facet_text_cuda_free(e);
            return facet_fail(keep, "%s", message);
        }
    }
    facet_text_backend be = {e->cuda,    e->cuda->nn, cuda_workspace,
                             cuda_embed, cuda_pool,   cuda_download};
    *backend = be;
    *weights = &e->cuda->view;
    return FACET_OK;
}

extern "C" void facet_text_cuda_free(facet_text_encoder *e) {
    facet_text_cuda *c = e->cuda;
    if (!c) return;
    facet_nn_destroy(c->nn);
    if (c->weights) cudaFree(c->weights);
    if (c->workspace) cudaFree(c->workspace);
    if (c->ids) cudaFree(c->ids);
    free(c->layers);
    free(c);
    e->cuda = NULL;
}
