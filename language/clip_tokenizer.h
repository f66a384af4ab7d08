/* CLIP's byte-level BPE tokenizer, as open_clip's SimpleTokenizer computes it (clean "lower"):
 *   text -> ftfy.fix_text -> html.unescape twice -> strip -> whitespace runs to one space ->
 *   str.lower -> pre-tokens by the pattern
 *   <start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *   (IGNORECASE) -> UTF-8 bytes mapped to printable characters -> BPE merges in rank order ->
 *   ids; the sequence is [49406 sot] + ids + [49407 eot], truncated to the context length with
 *   its last id replaced by eot, then zero padded.
 * The vocabulary (49408 ids): 256 byte symbols, the same with "</w>", the first 48894 merges of
 * bpe_simple_vocab_16e6.txt.gz (open_clip's merges file), <start_of_text>, <end_of_text>.
 * ftfy's mojibake repair is not reproduced (language/unicode.h). */
#ifndef FACET_LANGUAGE_CLIP_TOKENIZER_H
#define FACET_LANGUAGE_CLIP_TOKENIZER_H

#include "core/status.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_CLIP_VOCAB = 49408,
    FACET_CLIP_CONTEXT = 77,
    FACET_CLIP_SOT = 49406,
    FACET_CLIP_EOT = 49407,
};

typedef struct facet_clip_tokenizer {
    char **tokens;      /* [FACET_CLIP_VOCAB] UTF-8 strings of the vocabulary */
    int32_t *token_map; /* open-addressing hash: string -> id (-1 empty) */
    int token_map_size;
    uint64_t *pair_keys; /* open-addressing hash: (left id << 32 | right id) -> merge */
    int32_t *pair_rank, *pair_result;
    int pair_map_size;
    int byte_id[256]; /* id of the printable symbol standing for each byte */
} facet_clip_tokenizer;

/* Reads the gzip-compressed merges file (bpe_simple_vocab_16e6.txt.gz). */
facet_status facet_clip_tokenizer_load(facet_clip_tokenizer *t, const char *merges_gz_path);
void facet_clip_tokenizer_free(facet_clip_tokenizer *t);

/* Token ids of `text` (UTF-8) into ids[context], zero padded; *length receives the number of ids
 * before the padding (sot and eot included). */
facet_status facet_clip_tokenize(const facet_clip_tokenizer *t, const char *text, int context,
                                 int32_t *ids, int *length);

#ifdef __cplusplus
}
#endif
#endif
