/* CPU-only build: the livescene node never holds a CUDA copy. */
#ifndef FACET_HAVE_CUDA
#include "livescene_state.h"

void facet_livescene_device_free(livescene_state *state) {
    (void)state;
}
#else
typedef int facet_livescene_cuda_none_unused; /* ISO C forbids an empty translation unit */
#endif
