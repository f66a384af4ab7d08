/* .npy headers and data: facet_npy_read on the input, then the first and last byte of the data. */
#include "fuzz_common.h"

#include "core/npy.h"

#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("npy");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    facet_clear_error();
    const char *path = fuzz_path(0, "input.npy");
    fuzz_write(path, data, size);
    facet_tensor t;
    if (facet_npy_read(&t, path) != FACET_OK) return 0;
    size_t bytes = facet_tensor_bytes(&t);
    if (bytes) {
        const volatile unsigned char *p = t.data;
        (void)p[0];
        (void)p[bytes - 1];
    }
    facet_tensor_free(&t);
    return 0;
}
