/* gpu_bundle_weights: writes the random benchmark weights that the device bundle cannot carry
 * (tools/gpu_bundle.sh builds it from the bundle's build tree; tools/gpu_check.sh runs it on the
 * GPU machine). The weights are the hash weights of facet_fqgan_write_random, the same numbers
 * tools/reference/fqgan_ref.py computes, so the figures are those of bench/run_fqgan.sh.
 *
 *   gpu_bundle_weights fqgan OUT.safetensors [dual|triple] [16|8] [SEED]
 *
 * Official Dual-16 (the default): 111.3M inference parameters, 445 MB, about a second. */
#include "core/status.h"
#include "tokenizer/fqgan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "fqgan") != 0) {
        fprintf(stderr, "usage: gpu_bundle_weights fqgan OUT.safetensors [dual|triple] [16|8] "
                        "[SEED]\n");
        return 2;
    }
    const char *variant = argc > 3 ? argv[3] : "dual";
    const int downsample = argc > 4 ? atoi(argv[4]) : 16;
    const unsigned long long seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
    char config[16384];
    if (facet_fqgan_default_config(variant, downsample, config, sizeof config) != FACET_OK ||
        facet_fqgan_write_random(argv[2], config, (uint64_t)seed) != FACET_OK) {
        fprintf(stderr, "gpu_bundle_weights: %s\n", facet_last_error());
        return 1;
    }
    return 0;
}
