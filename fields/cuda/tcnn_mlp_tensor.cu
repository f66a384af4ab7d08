/* facet_mlp_tensor_forward (fields/tcnn_mlp_tensor.h): the tensor-core network over host arrays. */
#include "fields/cuda/tcnn_mlp_tensor.cuh"
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

struct device_buffers {
    void *pack = nullptr, *in = nullptr, *x = nullptr, *y = nullptr;
    ~device_buffers() { cudaFree(pack), cudaFree(in), cudaFree(x), cudaFree(y); }
};

} // namespace

extern "C" facet_status facet_mlp_tensor_forward(const facet_mlp *net, const float *in,
                                                 int64_t rows, float *out) {
    if (!net->half) return facet_fail(FACET_ERR_INVALID_ARGUMENT, "the network has no fp16 pack");
    for (int l = 1; l < net->layers; l++)
        if (facet_mlp_pad16(net->width[l]) > FACET_MLP_MAX_WIDTH)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "hidden layer %d is %d wide; tensor cores take at most %d", l,
                              net->width[l], FACET_MLP_MAX_WIDTH);
    if (rows <= 0) return FACET_OK;
    const int n_in = net->width[0], n_out = net->width[net->layers];
    const int ldx = facet_mlp_pad16(n_in), ldy = facet_mlp_pad16(n_out);
    const int64_t padded = facet_mlp_tensor_rows(rows);
    const size_t pack_bytes = facet_mlp_half_bytes(net);
    device_buffers d;
    FACET_CUDA_CHECK(cudaMalloc(&d.pack, pack_bytes));
    FACET_CUDA_CHECK(cudaMalloc(&d.in, (size_t)rows * n_in * sizeof(float)));
    FACET_CUDA_CHECK(cudaMalloc(&d.x, (size_t)padded * ldx * sizeof(__half)));
    FACET_CUDA_CHECK(cudaMalloc(&d.y, (size_t)padded * ldy * sizeof(float)));
    FACET_CUDA_CHECK(cudaMemcpy(d.pack, net->half, pack_bytes, cudaMemcpyHostToDevice));
    FACET_CUDA_CHECK(
        cudaMemcpy(d.in, in, (size_t)rows * n_in * sizeof(float), cudaMemcpyHostToDevice));
    facet_mlp device_net = *net; /* only the pack is read on the device */
    for (int l = 0; l < net->layers; l++) device_net.weight[l] = nullptr;
    device_net.bias0 = nullptr;
    device_net.half = d.pack;
    FACET_LAUNCH(input_kernel, (unsigned)((padded + 127) / 128), 128)
    ((const float *)d.in, rows, padded, n_in, ldx, (__half *)d.x);
    FACET_LAUNCH(facet_mlp_tensor_kernel, facet_mlp_tensor_blocks(padded),
                 FACET_MLP_TENSOR_WARPS * 32)
    (device_net, (const __half *)d.x, padded, (float *)d.y);
    FACET_CUDA_CHECK(cudaGetLastError());
    FACET_CUDA_CHECK(cudaMemcpy2D(out, (size_t)n_out * sizeof(float), d.y,
                                  (size_t)ldy * sizeof(float), (size_t)n_out * sizeof(float),
                                  (size_t)rows, cudaMemcpyDeviceToHost));
    return FACET_OK;
}
