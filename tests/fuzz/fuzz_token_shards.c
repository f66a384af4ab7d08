/* Token folders (tokenizer/token_shards.h) without a model: the input is manifest.json, and when
 * it holds a NUL byte, manifest.json NUL shard-00000.safetensors (the shard's bytes may hold
 * further NULs). Both go into a tokens directory; the shard list is taken from the directory,
 * from the manifest path and from the shard path, and every listed file is opened as a shard of
 * a Dual and of a Triple FQGAN with a 2x2 token grid (the seeds' grid) and of a Dual with the
 * official 16x16 grid; every token and path of an open shard is read. */
#include "fuzz_common.h"

#include "tokenizer/token_shards.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static char tokens_dir[4096], manifest[4200], shard[4200];

static const facet_fqgan_config configs[] = {
    {.branch_count = 2,
     .branch_names = {"vis", "sem"},
     .downsample = 16,
     .image_size = 32,
     .grid = 2,
     .codebook_size = 16384,
     .codebook_dim = 8,
     .variant = "dual"},
    {.branch_count = 3,
     .branch_names = {"vis", "sem_mid", "sem_high"},
     .downsample = 16,
     .image_size = 32,
     .grid = 2,
     .codebook_size = 16384,
     .codebook_dim = 8,
     .variant = "triple"},
    {.branch_count = 2,
     .branch_names = {"vis", "sem"},
     .downsample = 16,
     .image_size = 256,
     .grid = 16,
     .codebook_size = 16384,
     .codebook_dim = 8,
     .variant = "dual"},
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("token_shards");
    snprintf(tokens_dir, sizeof tokens_dir, "%s", fuzz_path(0, "tokens"));
    fuzz_mkdir(tokens_dir);
    snprintf(manifest, sizeof manifest, "%s/manifest.json", tokens_dir);
    snprintf(shard, sizeof shard, "%s/shard-00000.safetensors", tokens_dir);
    return 0;
}

static void open_shard(const char *path) {
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        facet_token_shard s;
        facet_clear_error();
        if (facet_token_shard_open(&s, path, &configs[c]) != FACET_OK) continue;
        volatile unsigned sink = 0;
        const size_t per_row = (size_t)configs[c].grid * (size_t)configs[c].grid;
        for (int b = 0; b < s.branch_count; b++)
            for (size_t i = 0; i < (size_t)s.count * per_row; i++) sink += s.tokens[b][i];
        for (int64_t i = 0; i < s.count; i++) sink += (unsigned char)s.paths[i][0];
        (void)sink;
        facet_token_shard_close(&s);
    }
}

static void list(const char *tokens) {
    char **files = NULL;
    int count = -1;
    facet_clear_error();
    if (facet_token_shard_list(tokens, &files, &count) != FACET_OK) {
        if (files || count != 0) __builtin_trap(); /* nothing stays allocated on failure */
        return;
    }
    for (int i = 0; i < count; i++) open_shard(files[i]);
    facet_token_shard_list_free(files, count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t manifest_size = nul ? (size_t)(nul - data) : size;
    fuzz_write(manifest, data, manifest_size);
    if (nul)
        fuzz_write(shard, nul + 1, size - manifest_size - 1);
    else
        fuzz_unlink(shard);
    list(tokens_dir);
    list(manifest);
    if (nul) list(shard);
    return 0;
}
