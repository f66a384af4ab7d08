/* CPU-only build: the sdf node never holds a CUDA copy. */
#ifndef FACET_HAVE_CUDA
#include "sdf_state.h"

void facet_sdf_device_free(sdf_state *state) {
    (void)state;
}
#else
typedef int facet_sdf_cuda_none_unused; /* ISO C forbids an empty translation unit */
#endif
