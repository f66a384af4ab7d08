/* The WebDataset tar sample reader (datasets/wds_tar.h) on arbitrary bytes, in memory (plain or
 * gzip tars): every sample is read twice, once with member data (images and .cls read, capped)
 * and once headers only, and the two passes must give the same samples, keys and image suffixes
 * (tokenize lists headers only and streams with data: a difference would misalign the indices).
 * Every key must be a safe name or come with a reason. */
#include "fuzz_common.h"

#include "core/safe_name.h"
#include "datasets/wds_tar.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SAMPLES = 4096 };

typedef struct pass {
    int count;
    uint32_t digest; /* of keys and image suffixes, in order */
} pass;

static uint32_t mix(uint32_t h, const char *s) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return (h ^ 0xff) * 16777619u;
}

static int read_pass(const uint8_t *data, size_t size, int want_data, pass *out) {
    facet_wds_reader *r;
    out->count = 0;
    out->digest = 2166136261u;
    if (facet_wds_open_memory(&r, data, size, "fuzz.tar") != FACET_OK) return 0;
    for (;;) {
        facet_wds_sample s;
        int got = 0;
        if (facet_wds_next(r, want_data, &s, &got) != FACET_OK || !got) break;
        if (!s.error && facet_unsafe_name_reason(s.key, FACET_NAME_RELATIVE)) __builtin_trap();
        if (want_data && !s.error && !s.image) __builtin_trap();
        if (s.image && s.image_bytes > FACET_WDS_IMAGE_MAX) __builtin_trap();
        volatile unsigned char sink = 0;
        for (int64_t i = 0; s.image && i < s.image_bytes; i += 4096) sink ^= s.image[i];
        (void)sink;
        out->digest = mix(mix(out->digest, s.key), s.image_suffix);
        out->count++;
        facet_wds_sample_free(&s);
        if (out->count >= MAX_SAMPLES) break;
    }
    facet_wds_close(r);
    return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("wds_tar");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pass with_data, headers;
    const int opened = read_pass(data, size, 1, &with_data);
    if (read_pass(data, size, 0, &headers) != opened) __builtin_trap();
    if (with_data.count != headers.count || with_data.digest != headers.digest) __builtin_trap();
    return 0;
}
