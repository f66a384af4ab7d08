/* CPU-only build: the risesdf node never holds a CUDA copy. */
#include "risesdf_state.h"

void facet_risesdf_device_free(risesdf_state *state) {
    (void)state;
}
