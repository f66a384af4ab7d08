/* CPU-only build: the sdf node never holds a CUDA copy. */
#include "sdf_state.h"

void facet_sdf_device_free(sdf_state *state) {
    (void)state;
}
