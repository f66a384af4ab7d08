/* CPU-only build: the risesdf node never holds a CUDA copy. */
#ifndef FACET_HAVE_CUDA
#include "risesdf_state.h"

void facet_risesdf_device_free(risesdf_state *state) {
    (void)state;
}
#else
typedef int facet_risesdf_cuda_none_unused; /* ISO C forbids an empty translation unit */
#endif
