/* CLIP's BPE tokenizer on fuzzed text: open_clip's merges (models/bpe_simple_vocab_16e6.txt.gz,
 * fetched by scripts/setup.sh) are loaded once; each input is tokenized with the full context (77)
 * and with a short one (2..9, from the input length) that truncates. */
#include "fuzz_common.h"

#include "language/clip_tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static facet_clip_tokenizer tokenizer;

static void free_tokenizer(void) {
    facet_clip_tokenizer_free(&tokenizer);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("clip_bpe");
    const char *merges = fuzz_source(0, "models/bpe_simple_vocab_16e6.txt.gz");
    if (facet_clip_tokenizer_load(&tokenizer, merges) != FACET_OK) {
        fprintf(stderr, "fuzz_clip_bpe: %s (run scripts/setup.sh)\n", facet_last_error());
        abort();
    }
    atexit(free_tokenizer);
    return 0;
}

static void tokenize(const char *text, int context) {
    int32_t ids[FACET_CLIP_CONTEXT];
    int length = -1;
    facet_clear_error();
    if (facet_clip_tokenize(&tokenizer, text, context, ids, &length) != FACET_OK) return;
    if (length < 2 || length > context || ids[0] != FACET_CLIP_SOT ||
        ids[length - 1] != FACET_CLIP_EOT)
        __builtin_trap();
    for (int i = 0; i < context; i++)
        if (ids[i] < 0 || ids[i] >= FACET_CLIP_VOCAB || (i >= length && ids[i] != 0))
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_strndup(data, size);
    tokenize(text, FACET_CLIP_CONTEXT);
    tokenize(text, 2 + (int)(size % 8));
    free(text);
    return 0;
}
