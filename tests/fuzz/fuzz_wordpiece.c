/* BERT's WordPiece tokenizer. fuzz_wordpiece: fuzzed text against all-MiniLM-L6-v2's vocabulary
 * (the tensor tokenizer.vocab of models/minilm.safetensors, fetched by scripts/setup.sh), loaded
 * once; each input is tokenized with max length 256 and with a short one (2..9) that truncates.
 * fuzz_wordpiece_vocab (FUZZ_WORDPIECE_VOCAB): the input is the vocab.txt, loaded, then used on a
 * few fixed texts. */
#include "fuzz_common.h"

#include "core/safetensors.h"
#include "language/wordpiece.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FUZZ_WORDPIECE_VOCAB
static facet_wordpiece vocab;

static void free_vocab(void) {
    facet_wordpiece_free(&vocab);
}
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
#ifdef FUZZ_WORDPIECE_VOCAB
    fuzz_init("wordpiece_vocab");
#else
    fuzz_init("wordpiece");
    facet_safetensors st;
    const char *path = fuzz_source(0, "models/minilm.safetensors");
    const facet_tensor *t = NULL;
    if (facet_safetensors_open(&st, path) != FACET_OK) {
        fprintf(stderr, "fuzz_wordpiece: %s (run scripts/setup.sh)\n", facet_last_error());
        abort();
    }
    if (!(t = facet_safetensors_get(&st, "tokenizer.vocab")) || t->ndim != 1 ||
        facet_wordpiece_load(&vocab, t->data, (size_t)t->shape[0], path) != FACET_OK) {
        fprintf(stderr, "fuzz_wordpiece: %s\n", facet_last_error());
        abort();
    }
    facet_safetensors_close(&st);
    atexit(free_vocab);
#endif
    return 0;
}

static void tokenize(const facet_wordpiece *w, const char *text, int max_length) {
    int32_t ids[256];
    int length = -1;
    facet_clear_error();
    if (facet_wordpiece_tokenize(w, text, max_length, ids, &length) != FACET_OK) return;
    if (length < 2 || length > max_length || ids[0] != w->cls || ids[length - 1] != w->sep)
        __builtin_trap();
    for (int i = 0; i < length; i++)
        if (ids[i] < 0 || ids[i] >= w->count) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#ifdef FUZZ_WORDPIECE_VOCAB
    facet_wordpiece w;
    facet_clear_error();
    if (facet_wordpiece_load(&w, (const char *)data, size, "fuzzed vocab.txt") != FACET_OK)
        return 0;
    static const char *const texts[] = {
        "", "hello world", "[CLS] unaffable [SEP] [MASK] [PAD] [UNK]", "Héllo, wörld! 你好",
        "a ## b #### c", "\t\n\r  x",
        /* a word over 100 characters is [UNK] */
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        tokenize(&w, texts[i], 256);
        tokenize(&w, texts[i], 3);
    }
    facet_wordpiece_free(&w);
#else
    char *text = fuzz_strndup(data, size);
    tokenize(&vocab, text, 256);
    tokenize(&vocab, text, 2 + (int)(size % 8));
    free(text);
#endif
    return 0;
}
