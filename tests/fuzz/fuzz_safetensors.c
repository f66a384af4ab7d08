/* safetensors headers and tensor ranges: facet_safetensors_open on the input, then every tensor
 * (lookup by name, expect with its own and with a wrong dtype/shape, first and last byte of its
 * data), the metadata and facet's weights-header check. */
#include "fuzz_common.h"

#include "core/safetensors.h"

#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("safetensors");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    facet_clear_error();
    const char *path = fuzz_path(0, "input.safetensors");
    fuzz_write(path, data, size);
    facet_safetensors st;
    if (facet_safetensors_open(&st, path) != FACET_OK) return 0;
    volatile unsigned sink = 0;
    for (int i = 0; i < st.count; i++) {
        const facet_safetensors_entry *e = &st.entries[i];
        const facet_tensor *t = facet_safetensors_get(&st, e->name);
        if (t != &e->tensor) __builtin_trap(); /* names are unique: get finds this entry */
        const facet_tensor *out = NULL;
        if (facet_safetensors_expect(&st, e->name, t->dtype, t->ndim, t->shape, &out) != FACET_OK ||
            out != t)
            __builtin_trap(); /* a tensor matches its own dtype and shape */
        int64_t other[FACET_MAX_DIMS + 1] = {0};
        (void)facet_safetensors_expect(&st, e->name, FACET_DTYPE_F32,
                                       t->ndim + 1 > FACET_MAX_DIMS ? 1 : t->ndim + 1, other, &out);
        size_t bytes = facet_tensor_bytes(t);
        if (bytes != e->end - e->begin) __builtin_trap();
        if (bytes) {
            const unsigned char *p = t->data;
            sink += p[0];
            sink += p[bytes - 1];
        }
    }
    for (int i = 0; i < st.metadata_count; i++) {
        const char *v = facet_safetensors_metadata(&st, st.metadata_keys[i]);
        if (!v) __builtin_trap();
        sink += (unsigned char)v[0];
    }
    (void)facet_safetensors_get(&st, "no such tensor");
    const char *config = NULL;
    if (facet_safetensors_check_header(&st, "fuzzed", "facet-livescene", 1, "fuzzing", &config) ==
            FACET_OK &&
        config)
        sink += (unsigned char)config[0];
    facet_safetensors_close(&st);
    (void)sink;
    return 0;
}
