/* facet_mlp_tensor_forward and facet_mlp_tensor_backward (fields/tcnn_mlp_tensor.h): the
 * tensor-core network and its fp16 backward pass over host arrays. */
#include "fields/cuda/tcnn_mlp_tensor_train.cuh"
#include "fields/tcnn_mlp_tensor.h"

#include "core/cuda/check.h"
#include "core/cuda/launch.h"

namespace {

/* Row r of x from in[r][width] (rows past `count`: zeros). */
__global__ void input_kernel(const float *in, int64_t count, int64_t rows, int width, int ld,
                             __half *x) {
    const int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    facet_mlp_tensor_input_row(x + r * ld, r < count ? in + r * width : in, r < count ? width : 0,
                               ld);
}

/* Device memory freed on every return. */
struct device_buffers {
    void *p[8 + FACET_MLP_MAX_LAYERS] = {};
    int n = 0;
    cudaError_t alloc(void **out, size_t bytes) {
        cudaError_t e = cudaMalloc(out, bytes ? bytes : 16);
        if (e == cudaSuccess) p[n++] = *out;
        return e;
    }
    ~device_buffers() {
        for (int i = 0; i < n; i++) cudaFree(p[i]);
    }
};

/* What the tensor kernels take: a pack, hidden layers (and, backward, the output) at most
 * FACET_MLP_MAX_WIDTH wide. */
facet_status check_network(const facet_mlp *net, int backward) {
    if (!net->half) return facet_fail(FACET_ERR_INVALID_ARGUMENT, "the network has no fp16 pack");
    for (int l = 1; l < net->layers + backward; l++)
        if (facet_mlp_pad16(net->width[l]) > FACET_MLP_MAX_WIDTH)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "layer width %d is %d; tensor cores take at most %d", l,
                              net->width[l], FACET_MLP_MAX_WIDTH);
    return FACET_OK;
}

/* net as the device reads it: only the pack (uploaded to `pack`). */
facet_mlp device_network(const facet_mlp *net, void *pack) {
    facet_mlp d = *net;
    for (int l = 0; l < net->layers; l++) d.weight[l] = nullptr;
    d.bias0 = nullptr;
    d.half = pack;
    return d;
}

} // namespace

extern "C" facet_status facet_mlp_tensor_forward(const facet_mlp *net, const float *in,
                                                 int64_t rows, float *out) {
    facet_status s = check_network(net, 0);
    if (s != FACET_OK || rows <= 0) return s;
    const int n_in = net->width[0], n_out = net->width[net->layers];
    const int ldx = facet_mlp_pad16(n_in), ldy = facet_mlp_pad16(n_out);
    const int64_t padded = facet_mlp_tensor_rows(rows);
    const size_t pack_bytes = facet_mlp_half_bytes(net);
    device_buffers d;
    void *pack, *d_in, *x, *y;
    FACET_CUDA_CHECK(d.alloc(&pack, pack_bytes));
    FACET_CUDA_CHECK(d.alloc(&d_in, (size_t)rows * n_in * sizeof(float)));
    FACET_CUDA_CHECK(d.alloc(&x, (size_t)padded * ldx * sizeof(__half)));
    FACET_CUDA_CHECK(d.alloc(&y, (size_t)padded * ldy * sizeof(float)));
    FACET_CUDA_CHECK(cudaMemcpy(pack, net->half, pack_bytes, cudaMemcpyHostToDevice));
    FACET_CUDA_CHECK(
        cudaMemcpy(d_in, in, (size_t)rows * n_in * sizeof(float), cudaMemcpyHostToDevice));
    FACET_LAUNCH(input_kernel, (unsigned)((padded + 127) / 128), 128)
    ((const float *)d_in, rows, padded, n_in, ldx, (__half *)x);
    FACET_LAUNCH(facet_mlp_tensor_kernel, facet_mlp_tensor_blocks(padded),
                 FACET_MLP_TENSOR_WARPS * 32)
    (device_network(net, pack), (const __half *)x, padded, (float *)y, nullptr);
    FACET_CUDA_CHECK(cudaGetLastError());
    FACET_CUDA_CHECK(cudaMemcpy2D(out, (size_t)n_out * sizeof(float), y,
                                  (size_t)ldy * sizeof(float), (size_t)n_out * sizeof(float),
                                  (size_t)rows, cudaMemcpyDeviceToHost));
    return FACET_OK;
}

/* dst[i] += src[i] for n floats. */
static void add_to(float *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

extern "C" facet_status facet_mlp_tensor_backward(const facet_mlp *net, const float *in,
                                                  const float *dout, int64_t rows, float loss_scale,
                                                  const facet_mlp *grad, float *dinput) {
    facet_status s = check_network(net, 1);
    if (s != FACET_OK) return s;
    if (!facet_mlp_half_loss_scale_valid(loss_scale))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "loss scale %g is not a power of two from 1 to 2^24", loss_scale);
    if (rows <= 0) return FACET_OK;
    const int layers = net->layers, n_in = net->width[0], n_out = net->width[layers];
    const int ldx = facet_mlp_pad16(n_in), ldy = facet_mlp_pad16(n_out);
    const int64_t padded = facet_mlp_tensor_rows(rows);
    const size_t pack_bytes = facet_mlp_half_bytes(net);
    const int64_t kept = facet_mlp_tensor_keep_offset(net, layers);
    const int64_t gradient_halves = facet_mlp_tensor_gradient_offset(net, layers);
    device_buffers d;
    void *pack, *d_in, *x, *y, *dy, *keep, *g, *dx = nullptr, *gb, *gw[FACET_MLP_MAX_LAYERS];
    FACET_CUDA_CHECK(d.alloc(&pack, pack_bytes));
    FACET_CUDA_CHECK(d.alloc(&d_in, (size_t)rows * n_in * sizeof(float)));
    FACET_CUDA_CHECK(d.alloc(&x, (size_t)padded * ldx * sizeof(__half)));
    FACET_CUDA_CHECK(d.alloc(&y, (size_t)padded * ldy * sizeof(float)));
    FACET_CUDA_CHECK(d.alloc(&dy, (size_t)padded * ldy * sizeof(float)));
    FACET_CUDA_CHECK(d.alloc(&keep, (size_t)(padded * kept) * sizeof(__half)));
    FACET_CUDA_CHECK(d.alloc(&g, (size_t)(padded * gradient_halves) * sizeof(__half)));
    if (dinput) FACET_CUDA_CHECK(d.alloc(&dx, (size_t)padded * ldx * sizeof(float)));
    FACET_CUDA_CHECK(d.alloc(&gb, (size_t)net->width[1] * sizeof(float)));
    FACET_CUDA_CHECK(cudaMemset(gb, 0, (size_t)net->width[1] * sizeof(float)));
    for (int l = 0; l < layers; l++) {
        const size_t bytes = (size_t)net->width[l] * net->width[l + 1] * sizeof(float);
        FACET_CUDA_CHECK(d.alloc(&gw[l], bytes));
        FACET_CUDA_CHECK(cudaMemset(gw[l], 0, bytes));
    }
    FACET_CUDA_CHECK(cudaMemcpy(pack, net->half, pack_bytes, cudaMemcpyHostToDevice));
    FACET_CUDA_CHECK(
        cudaMemcpy(d_in, in, (size_t)rows * n_in * sizeof(float), cudaMemcpyHostToDevice));
    FACET_CUDA_CHECK(cudaMemset(dy, 0, (size_t)padded * ldy * sizeof(float)));
    FACET_CUDA_CHECK(cudaMemcpy2D(dy, (size_t)ldy * sizeof(float), dout,
                                  (size_t)n_out * sizeof(float), (size_t)n_out * sizeof(float),
                                  (size_t)rows, cudaMemcpyHostToDevice));
    const facet_mlp dnet = device_network(net, pack);
    FACET_LAUNCH(input_kernel, (unsigned)((padded + 127) / 128), 128)
    ((const float *)d_in, rows, padded, n_in, ldx, (__half *)x);
    FACET_LAUNCH(facet_mlp_tensor_kernel, facet_mlp_tensor_blocks(padded),
                 FACET_MLP_TENSOR_WARPS * 32)
    (dnet, (const __half *)x, padded, (float *)y, (__half *)keep);
    FACET_LAUNCH(facet_mlp_tensor_backward_kernel, facet_mlp_tensor_blocks(padded),
                 FACET_MLP_TENSOR_WARPS * 32)
    (dnet, (const __half *)keep, (const float *)y, (const float *)dy, padded, loss_scale,
     (__half *)g, (float *)dx);
    facet_mlp dgrad = *net; /* the device gradient arrays */
    for (int l = 0; l < layers; l++) dgrad.weight[l] = (const float *)gw[l];
    dgrad.bias0 = (const float *)gb;
    facet_mlp_tensor_parameter_gradients(dnet, (const __half *)x, (const __half *)keep,
                                         (const __half *)g, padded, loss_scale, dgrad);
    FACET_CUDA_CHECK(cudaGetLastError());
    for (int l = 0; l <= layers; l++) {
        const size_t n =
            l < layers ? (size_t)net->width[l] * net->width[l + 1] : (size_t)net->width[1];
        float *host = (float *)malloc(n * sizeof(float));
        if (!host) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
        const cudaError_t e =
            cudaMemcpy(host, l < layers ? gw[l] : gb, n * sizeof(float), cudaMemcpyDeviceToHost);
        if (e == cudaSuccess)
            add_to(l < layers ? (float *)grad->weight[l] : (float *)grad->bias0, host, n);
        free(host);
        FACET_CUDA_CHECK(e);
    }
    if (dinput)
        FACET_CUDA_CHECK(cudaMemcpy2D(dinput, (size_t)n_in * sizeof(float), dx,
                                      (size_t)ldx * sizeof(float), (size_t)n_in * sizeof(float),
                                      (size_t)rows, cudaMemcpyDeviceToHost));
    return FACET_OK;
}
