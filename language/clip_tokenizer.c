/* CLIP byte-level BPE (language/clip_tokenizer.h). */
#include "clip_tokenizer.h"

#include "unicode.h"

#include "core/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { CLIP_MERGES = 49152 - 256 - 2, BYTE_SYMBOLS = 256 };

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash_pair(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return key;
}

/* The id of the n-byte string s, or -1. */
static int32_t token_id(const facet_clip_tokenizer *t, const char *s, size_t n) {
    int mask = t->token_map_size - 1;
    for (int slot = (int)(hash_bytes(s, n) & (uint64_t)mask);; slot = (slot + 1) & mask) {
        int32_t id = t->token_map[slot];
        if (id < 0) return -1;
        if (strlen(t->tokens[id]) == n && !memcmp(t->tokens[id], s, n)) return id;
    }
}

/* Maps the string of `id` to id; a later id with the same string replaces an earlier one, as
 * open_clip's dict(zip(vocab, range(len(vocab)))) does. */
static void token_insert(facet_clip_tokenizer *t, int32_t id) {
    int mask = t->token_map_size - 1;
    size_t n = strlen(t->tokens[id]);
    for (int slot = (int)(hash_bytes(t->tokens[id], n) & (uint64_t)mask);;
         slot = (slot + 1) & mask) {
        int32_t old = t->token_map[slot];
        if (old < 0 || !strcmp(t->tokens[old], t->tokens[id])) {
            t->token_map[slot] = id;
            return;
        }
    }
}

/* Rank and result of merging (left, right), or -1. */
static int32_t pair_find(const facet_clip_tokenizer *t, int32_t left, int32_t right,
                         int32_t *result) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    int mask = t->pair_map_size - 1;
    for (int slot = (int)(hash_pair(key) & (uint64_t)mask);; slot = (slot + 1) & mask) {
        if (t->pair_rank[slot] < 0) return -1;
        if (t->pair_keys[slot] == key) {
            *result = t->pair_result[slot];
            return t->pair_rank[slot];
        }
    }
}

static void pair_insert(facet_clip_tokenizer *t, int32_t left, int32_t right, int32_t rank,
                        int32_t result) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    int mask = t->pair_map_size - 1;
    for (int slot = (int)(hash_pair(key) & (uint64_t)mask);; slot = (slot + 1) & mask) {
        if (t->pair_rank[slot] < 0 || t->pair_keys[slot] == key) {
            if (t->pair_rank[slot] < 0) { /* bpe_ranks keeps the first rank of a repeated pair */
                t->pair_keys[slot] = key;
                t->pair_rank[slot] = rank;
                t->pair_result[slot] = result;
            }
            return;
        }
    }
}

static facet_status read_gzip(const char *path, char **data, size_t *size) {
    gzFile f = gzopen(path, "rb");
    if (!f)
        return facet_fail(FACET_ERR_IO,
                          "%s: cannot open the CLIP merges file: %s (run "
                          "scripts/setup.sh, which extracts it into models/)",
                          path, errno ? strerror(errno) : "out of memory");
    size_t cap = 1 << 22, used = 0;
    char *buf = facet_alloc(cap, 1);
    facet_status s = buf ? FACET_OK : facet_last_status();
    while (s == FACET_OK) {
        if (used + 65536 > cap) {
            char *grown = facet_realloc(buf, cap * 2, 1);
            if (!grown) {
                s = facet_last_status();
                break;
            }
            buf = grown;
            cap *= 2;
        }
        int n = gzread(f, buf + used, 65536);
        if (n < 0) {
            int code;
            s = facet_fail(FACET_ERR_FORMAT, "%s: not a readable gzip file: %s", path,
                           gzerror(f, &code));
        } else if (n == 0) {
            break;
        }
        used += n > 0 ? (size_t)n : 0;
    }
    gzclose(f);
    if (s != FACET_OK) {
        free(buf);
        return s;
    }
    buf[used] = '\0';
    *data = buf;
    *size = used;
    return FACET_OK;
}

/* open_clip's bytes_to_unicode: printable bytes stand for themselves, the others for U+0100.. in
 * byte order; the symbols are listed printable bytes first. */
static void byte_symbols(uint32_t symbol_of_byte[256], int order[256]) {
    int n = 0, extra = 0;
    for (int b = 0; b < 256; b++)
        if ((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)) {
            symbol_of_byte[b] = (uint32_t)b;
            order[n++] = b;
        }
    for (int b = 0; b < 256; b++)
        if (!((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff))) {
            symbol_of_byte[b] = 256u + (uint32_t)extra++;
            order[n++] = b;
        }
}

void facet_clip_tokenizer_free(facet_clip_tokenizer *t) {
    if (t->tokens)
        for (int i = 0; i < FACET_CLIP_VOCAB; i++) free(t->tokens[i]);
    free(t->tokens);
    free(t->token_map);
    free(t->pair_keys);
    free(t->pair_rank);
    free(t->pair_result);
    memset(t, 0, sizeof *t);
}

static facet_status add_token(facet_clip_tokenizer *t, int32_t id, const char *text, size_t n) {
    t->tokens[id] = facet_alloc(n + 1, 1);
    if (!t->tokens[id]) return facet_last_status();
    memcpy(t->tokens[id], text, n);
    t->tokens[id][n] = '\0';
    token_insert(t, id);
    return FACET_OK;
}

facet_status facet_clip_tokenizer_load(facet_clip_tokenizer *t, const char *path) {
    memset(t, 0, sizeof *t);
    char *data = NULL;
    size_t size = 0;
    facet_status s = read_gzip(path, &data, &size);
    if (s != FACET_OK) return s;
    t->token_map_size = 1 << 17;
    t->pair_map_size = 1 << 17;
    t->tokens = facet_alloc_zeroed(FACET_CLIP_VOCAB, sizeof *t->tokens);
    t->token_map = facet_alloc((size_t)t->token_map_size, sizeof *t->token_map);
    t->pair_keys = facet_alloc((size_t)t->pair_map_size, sizeof *t->pair_keys);
    t->pair_rank = facet_alloc((size_t)t->pair_map_size, sizeof *t->pair_rank);
    t->pair_result = facet_alloc((size_t)t->pair_map_size, sizeof *t->pair_result);
    if (!t->tokens || !t->token_map || !t->pair_keys || !t->pair_rank || !t->pair_result) {
        free(data);
        facet_clip_tokenizer_free(t);
        return facet_last_status();
    }
    memset(t->token_map, 0xff, (size_t)t->token_map_size * sizeof *t->token_map);
    memset(t->pair_rank, 0xff, (size_t)t->pair_map_size * sizeof *t->pair_rank);

    uint32_t symbol_of_byte[256];
    int order[256];
    byte_symbols(symbol_of_byte, order);
    for (int i = 0; i < BYTE_SYMBOLS && s == FACET_OK; i++) {
        char text[16];
        int n = facet_utf8_encode(symbol_of_byte[order[i]], text);
        t->byte_id[order[i]] = i;
        s = add_token(t, i, text, (size_t)n);
        memcpy(text + n, "</w>", 4);
        if (s == FACET_OK) s = add_token(t, BYTE_SYMBOLS + i, text, (size_t)n + 4);
    }
    /* merges: lines 1 .. CLIP_MERGES of the file (line 0 is a version header) */
    int32_t *halves = facet_alloc(2 * CLIP_MERGES, sizeof *halves);
    if (!halves) s = facet_last_status();
    char *line = data;
    char *next = strchr(line, '\n');
    for (int rank = 0; s == FACET_OK && rank < CLIP_MERGES; rank++) {
        line = next ? next + 1 : NULL;
        next = line ? strchr(line, '\n') : NULL;
        size_t len = !line ? 0 : next ? (size_t)(next - line) : strlen(line);
        char *space = line ? memchr(line, ' ', len) : NULL;
        if (!space || space == line || space + 1 >= line + len ||
            memchr(space + 1, ' ', len - (size_t)(space + 1 - line))) {
            s = facet_fail(FACET_ERR_FORMAT, "%s: merge %d (line %d): expected two symbols", path,
                           rank, rank + 2);
            break;
        }
        int32_t left = token_id(t, line, (size_t)(space - line));
        int32_t right = token_id(t, space + 1, len - (size_t)(space + 1 - line));
        if (left < 0 || right < 0) {
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: merge %d (line %d) joins a symbol not in the vocabulary yet", path,
                           rank, rank + 2);
            break;
        }
        char joined[512];
        size_t a = strlen(t->tokens[left]), b = strlen(t->tokens[right]);
        if (a + b >= sizeof joined) {
            s = facet_fail(FACET_ERR_FORMAT, "%s: merge %d is too long", path, rank);
            break;
        }
        memcpy(joined, t->tokens[left], a);
        memcpy(joined + a, t->tokens[right], b);
        s = add_token(t, 2 * BYTE_SYMBOLS + rank, joined, a + b);
        halves[2 * rank] = left;
        halves[2 * rank + 1] = right;
    }
    if (s == FACET_OK) s = add_token(t, FACET_CLIP_SOT, "<start_of_text>", 15);
    if (s == FACET_OK) s = add_token(t, FACET_CLIP_EOT, "<end_of_text>", 13);
    /* Merging works on strings upstream: pairs and results go through the final string -> id map
     * (a string listed twice keeps its last id). */
    for (int rank = 0; s == FACET_OK && rank < CLIP_MERGES; rank++) {
        const char *joined = t->tokens[2 * BYTE_SYMBOLS + rank];
        const char *left = t->tokens[halves[2 * rank]], *right = t->tokens[halves[2 * rank + 1]];
        pair_insert(t, token_id(t, left, strlen(left)), token_id(t, right, strlen(right)), rank,
                    token_id(t, joined, strlen(joined)));
    }
    free(halves);
    free(data);
    if (s != FACET_OK) facet_clip_tokenizer_free(t);
    return s;
}

/* ---- text cleaning and pre-tokenization ----------------------------------------------------- */

static int py_space(uint32_t c) {
    return facet_uc_in(facet_uc_py_space, facet_uc_py_space_count, c);
}

/* open_clip's _clean_lower: ftfy, html.unescape twice, strip, whitespace_clean, lower. */
static facet_status clean_lower(facet_ustr *s) {
    facet_status st = facet_ustr_ftfy(s);
    if (st == FACET_OK) st = facet_ustr_html_unescape(s);
    if (st == FACET_OK) st = facet_ustr_html_unescape(s);
    if (st != FACET_OK) return st;
    int n = 0;
    for (int i = 0; i < s->n;) {
        if (py_space(s->v[i])) {
            i++;
            continue;
        }
        if (n) s->v[n++] = ' ';
        while (i < s->n && !py_space(s->v[i])) s->v[n++] = s->v[i++];
    }
    s->n = n;
    return facet_ustr_lower_python(s);
}

static int is_letter(uint32_t c) {
    return facet_uc_in(facet_uc_clip_letter, facet_uc_clip_letter_count, c);
}
static int is_number(uint32_t c) {
    return facet_uc_in(facet_uc_clip_number, facet_uc_clip_number_count, c);
}
static int is_other(uint32_t c) {
    return facet_uc_in(facet_uc_clip_other, facet_uc_clip_other_count, c);
}

/* Case-insensitive match of the ASCII literal `lit` at v[i] (the regex module folds U+017F long
 * s and U+212A Kelvin sign to s and k). */
static int literal_at(const uint32_t *v, int n, int i, const char *lit) {
    int len = (int)strlen(lit);
    if (i + len > n) return 0;
    for (int k = 0; k < len; k++) {
        uint32_t c = v[i + k], l = (uint32_t)lit[k];
        if (c >= 'A' && c <= 'Z') c += 32;
        if (c == 0x17f) c = 's';
        if (c == 0x212a) c = 'k';
        if (c != l) return 0;
    }
    return len;
}

/* Length of the pre-token starting at v[i] (0 when no alternative matches there: whitespace, and
 * characters whose case variants are letters); *special gets the id of a special-token match,
 * or -1. */
static int pretoken_at(const uint32_t *v, int n, int i, int32_t *special) {
    static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    *special = -1;
    int len = literal_at(v, n, i, "<start_of_text>");
    if (len) {
        *special = FACET_CLIP_SOT;
        return len;
    }
    len = literal_at(v, n, i, "<end_of_text>");
    if (len) {
        *special = FACET_CLIP_EOT;
        return len;
    }
    for (size_t k = 0; k < sizeof contractions / sizeof *contractions; k++)
        if ((len = literal_at(v, n, i, contractions[k]))) return len;
    if (is_letter(v[i])) {
        int j = i;
        while (j < n && is_letter(v[j])) j++;
        return j - i;
    }
    if (is_number(v[i])) return 1;
    int j = i;
    while (j < n && is_other(v[j])) j++;
    return j - i;
}

/* BPE of one pre-token given as UTF-8 bytes: appends its ids to out[*count..max). */
static void bpe_word(const facet_clip_tokenizer *t, const char *bytes, int n, int32_t *word,
                     int32_t *out, int *count, int max) {
    for (int k = 0; k < n; k++) word[k] = t->byte_id[(unsigned char)bytes[k]];
    word[n - 1] += BYTE_SYMBOLS; /* the last symbol carries </w> */
    int len = n;
    while (len > 1) {
        int32_t best_rank = -1, best_result = -1, left = -1, right = -1;
        for (int k = 0; k + 1 < len; k++) {
            int32_t result;
            int32_t rank = pair_find(t, word[k], word[k + 1], &result);
            if (rank >= 0 && (best_rank < 0 || rank < best_rank)) {
                best_rank = rank;
                best_result = result;
                left = word[k];
                right = word[k + 1];
            }
        }
        if (best_rank < 0) break;
        int m = 0;
        for (int k = 0; k < len;) {
            if (k + 1 < len && word[k] == left && word[k + 1] == right) {
                word[m++] = best_result;
                k += 2;
            } else {
                word[m++] = word[k++];
            }
        }
        len = m;
    }
    for (int k = 0; k < len && *count < max; k++) out[(*count)++] = word[k];
}

facet_status facet_clip_tokenize(const facet_clip_tokenizer *t, const char *text, int context,
                                 int32_t *ids, int *length) {
    if (context < 2)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "CLIP context length %d: needs room for sot and eot", context);
    facet_ustr s = {0};
    facet_status st = facet_ustr_from_utf8(&s, text, strlen(text));
    if (st == FACET_OK) st = clean_lower(&s);
    int32_t *word = st == FACET_OK ? facet_alloc((size_t)s.n * 4 + 1, sizeof *word) : NULL;
    char *bytes = word ? facet_alloc((size_t)s.n * 4 + 1, 1) : NULL;
    if (st == FACET_OK && !bytes) st = facet_last_status();
    /* ids beyond the context are dropped anyway: stop collecting at context + 1 */
    int count = 0;
    ids[count++] = FACET_CLIP_SOT;
    for (int i = 0; st == FACET_OK && i < s.n && count <= context;) {
        int32_t special;
        int len = pretoken_at(s.v, s.n, i, &special);
        if (!len) {
            i++;
            continue;
        }
        if (special >= 0) {
            if (count < context) ids[count] = special;
            count++;
        } else {
            int nbytes = 0;
            for (int k = 0; k < len; k++) nbytes += facet_utf8_encode(s.v[i + k], bytes + nbytes);
            int32_t tmp[FACET_CLIP_CONTEXT * 4];
            int produced = 0;
            int room = (int)(sizeof tmp / sizeof *tmp);
            bpe_word(t, bytes, nbytes, word, tmp, &produced, room);
            for (int k = 0; k < produced; k++) {
                if (count < context) ids[count] = tmp[k];
                count++;
            }
        }
        i += len;
    }
    if (st == FACET_OK) {
        if (count < context) {
            ids[count++] = FACET_CLIP_EOT;
        } else {
            count = context;
            ids[context - 1] = FACET_CLIP_EOT;
        }
        for (int k = count; k < context; k++) ids[k] = 0;
        *length = count;
    }
    free(word);
    free(bytes);
    facet_ustr_free(&s);
    return st;
}
