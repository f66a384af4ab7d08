/* CPU-only build: the livescene node never holds a CUDA copy. */
#include "livescene_state.h"

void facet_livescene_device_free(livescene_state *state) {
    (void)state;
}
