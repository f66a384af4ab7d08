/* Reading facet token folders (written by tokenize.h; docs/formats.md, "Token shards"): the
 * manifest's list of shard files, and one shard's tokens and per-image paths, validated before
 * use. Token folders travel between people, so every name they hold is data (core/safe_name.h):
 *   - a manifest's shards[i].file must be a safe relative name: it is read from the manifest's own
 *     folder, never from elsewhere;
 *   - a shard's metadata "paths" entries must be safe relative names: they become output names
 *     (facet detokenize writes OUT/<path with its extension replaced by .png>). */
#ifndef FACET_TOKENIZER_TOKEN_SHARDS_H
#define FACET_TOKENIZER_TOKEN_SHARDS_H

#include "core/safetensors.h"
#include "core/status.h"
#include "tokenizer/fqgan.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shard files of `tokens`: a tokens directory (its manifest.json), a manifest (.json), or one
 * shard file. *files is an array of *count allocated paths; free with facet_token_shard_list_free.
 * Fails naming the manifest and the entry for a malformed or unsafe entry. */
facet_status facet_token_shard_list(const char *tokens, char ***files, int *count);
void facet_token_shard_list_free(char **files, int count);

/* One open shard. tokens[b] points into the mapped file. */
typedef struct facet_token_shard {
    facet_safetensors st;
    int64_t count;                                    /* rows (images) */
    int branch_count;                                 /* of the config it was opened for */
    const uint16_t *tokens[FACET_FQGAN_MAX_BRANCHES]; /* [count, grid, grid] per branch */
    const char **paths;                               /* [count] safe relative names */
    void *paths_json;                                 /* owner of the strings (cJSON) */
} facet_token_shard;

/* Opens the shard at `path` and checks it against `config`: metadata format "facet-tokens", an
 * 'index' tensor [n], one U16 [n, grid, grid] tensor per branch of the config, and metadata
 * "paths", a JSON array of n safe relative names. Errors name the file, and for an unsafe path
 * the row and the reason; nothing stays open on failure. */
facet_status facet_token_shard_open(facet_token_shard *shard, const char *path,
                                    const facet_fqgan_config *config);
void facet_token_shard_close(facet_token_shard *shard);

#ifdef __cplusplus
}
#endif
#endif
