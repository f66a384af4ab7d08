/* nn/ without CUDA: every CUDA entry point of nn/nn_internal.h fails with FACET_ERR_CUDA. */
#include "nn/nn_internal.h"

#define NO_CUDA()                                                                                  \
    facet_fail(FACET_ERR_CUDA, "nn: facet was built without CUDA (configure with nvcc "            \
                               "installed, or -DFACET_CUDA=ON)")

facet_status facet_nn_cuda_create(facet_nn *nn) {
    (void)nn;
    return NO_CUDA();
}

void facet_nn_cuda_destroy(facet_nn *nn) {
    (void)nn;
}

facet_status facet_nn_cuda_reserve(facet_nn *nn, int heads, int len, size_t operand_elems) {
    (void)nn, (void)heads, (void)len, (void)operand_elems;
    return NO_CUDA();
}

facet_status facet_nn_cuda_params(facet_nn *nn, const float *params, size_t count) {
    (void)nn, (void)params, (void)count;
    return NO_CUDA();
}

size_t facet_nn_cuda_memory_bytes(const facet_nn *nn) {
    (void)nn;
    return 0;
}

facet_status facet_nn_cuda_linear(facet_nn *nn, const float *x, int rows, int in, const float *w,
                                  const float *b, int out, facet_nn_activation act, int accumulate,
                                  float *y) {
    (void)nn, (void)x, (void)rows, (void)in, (void)w, (void)b, (void)out, (void)act,
        (void)accumulate, (void)y;
    return NO_CUDA();
}

facet_status facet_nn_cuda_layer_norm(facet_nn *nn, const float *x, const float *residual, int rows,
                                      int n, const float *gamma, const float *beta, float eps,
                                      float *y) {
    (void)nn, (void)x, (void)residual, (void)rows, (void)n, (void)gamma, (void)beta, (void)eps,
        (void)y;
    return NO_CUDA();
}

facet_status facet_nn_cuda_softmax(facet_nn *nn, float *x, int rows, int n) {
    (void)nn, (void)x, (void)rows, (void)n;
    return NO_CUDA();
}

facet_status facet_nn_cuda_conv2d(facet_nn *nn, const float *x, int batch, int in, int h, int w,
                                  const float *weight, const float *bias, int out,
                                  const facet_nn_window *window, int oh, int ow,
                                  facet_nn_activation act, float *y) {
    (void)nn, (void)x, (void)batch, (void)in, (void)h, (void)w, (void)weight, (void)bias, (void)out,
        (void)window, (void)oh, (void)ow, (void)act, (void)y;
    return NO_CUDA();
}

facet_status facet_nn_cuda_max_pool2d(facet_nn *nn, const float *x, int planes, int h, int w,
                                      const facet_nn_window *window, int oh, int ow, float *y) {
    (void)nn, (void)x, (void)planes, (void)h, (void)w, (void)window, (void)oh, (void)ow, (void)y;
    return NO_CUDA();
}

facet_status facet_nn_cuda_attention(facet_nn *nn, const float *qkv, int batch, int len, int width,
                                     int heads, int causal, float *y) {
    (void)nn, (void)qkv, (void)batch, (void)len, (void)width, (void)heads, (void)causal, (void)y;
    return NO_CUDA();
}
