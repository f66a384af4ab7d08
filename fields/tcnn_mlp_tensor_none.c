/* CPU-only build: no tensor cores. */
#include "tcnn_mlp_tensor.h"

facet_status facet_mlp_tensor_forward(const facet_mlp *net, const float *in, int64_t rows,
                                      float *out) {
    (void)net, (void)in, (void)rows, (void)out;
    return facet_fail(FACET_ERR_CUDA, "facet was built without CUDA: no tensor cores");
}

facet_status facet_mlp_tensor_backward(const facet_mlp *net, const float *in, const float *dout,
                                       int64_t rows, float loss_scale, const facet_mlp *grad,
                                       float *dinput) {
    (void)net, (void)in, (void)dout, (void)rows, (void)loss_scale, (void)grad, (void)dinput;
    return facet_fail(FACET_ERR_CUDA, "facet was built without CUDA: no tensor cores");
}
