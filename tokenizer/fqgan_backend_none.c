/* CPU-only build: the CUDA backends of FQGAN (tokenizer/cuda/fqgan_backend.cu) report that CUDA
 * is absent. */
#include "tokenizer/fqgan_internal.h"

facet_status fqgan_cuda_backend_create(fqgan_backend **out, const fqgan_arch *arch, int max_batch,
                                       facet_fqgan_backend precision) {
    (void)arch, (void)max_batch;
    *out = NULL;
    return facet_fail(FACET_ERR_CUDA,
                      "FQGAN backend '%s' needs CUDA, and facet was built without CUDA (configure "
                      "with nvcc installed, or -DFACET_CUDA=ON)",
                      facet_fqgan_backend_name(precision));
}
