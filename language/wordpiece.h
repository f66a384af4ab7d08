/* BERT's uncased WordPiece tokenizer, as Hugging Face tokenizers computes it for
 * all-MiniLM-L6-v2 (BertNormalizer clean_text + handle_chinese_chars + strip_accents + lowercase,
 * BertPreTokenizer, WordPiece with "##" continuations and max_input_chars_per_word 100,
 * [CLS] ... [SEP], truncation to the model's max_seq_length):
 *   - the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] written literally in the text are matched
 *     first, before any normalisation (added tokens);
 *   - clean_text drops U+0000, U+FFFD and control characters (category C* except \t \n \r) and
 *     turns whitespace (\t \n \r, Zs) into spaces; CJK ideographs get spaces around them;
 *   - accents are stripped (NFD, Mn removed), then every character is lowercased;
 *   - words split at White_Space, and each punctuation character (ASCII punctuation or P*) is a
 *     word of its own;
 *   - a word longer than 100 characters, or one that no greedy longest-match-first split covers,
 *     becomes [UNK]. */
#ifndef FACET_LANGUAGE_WORDPIECE_H
#define FACET_LANGUAGE_WORDPIECE_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_wordpiece {
    int count;     /* vocabulary size */
    char **tokens; /* [count] */
    int32_t *map;  /* open-addressing hash: string -> id (-1 empty) */
    int map_size;
    int32_t pad, unk, cls, sep, mask;
} facet_wordpiece;

/* Reads a vocab.txt (one token per line, id = line number); `source` names it in errors. */
facet_status facet_wordpiece_load(facet_wordpiece *w, const char *vocab, size_t size,
                                  const char *source);
void facet_wordpiece_free(facet_wordpiece *w);

/* Ids of `text` (UTF-8) into ids[max_length]: [CLS], at most max_length - 2 word pieces, [SEP];
 * *length receives the count. */
facet_status facet_wordpiece_tokenize(const facet_wordpiece *w, const char *text, int max_length,
                                      int32_t *ids, int *length);

#ifdef __cplusplus
}
#endif
#endif
