/* CPU-only build: the text encoders' CUDA backend (language/cuda/text_encoder.cu) reports that
 * CUDA is absent. */
#include "text_backend.h"

facet_status facet_text_cuda_backend(facet_text_encoder *e, facet_text_backend *backend,
                                     const facet_text_weights **weights) {
    (void)e, (void)backend, (void)weights;
    return facet_fail(FACET_ERR_CUDA, "--device cuda: facet was built without CUDA (configure "
                                      "with nvcc installed, or -DFACET_CUDA=ON)");
}

void facet_text_cuda_free(facet_text_encoder *e) {
    (void)e;
}
