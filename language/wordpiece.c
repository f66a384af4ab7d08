/* BERT WordPiece (language/wordpiece.h). */
#include "wordpiece.h"

#include "unicode.h"

#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_WORD_CHARS = 100 };

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int32_t lookup(const facet_wordpiece *w, const char *s, size_t n) {
    int mask = w->map_size - 1;
    for (int slot = (int)(hash_bytes(s, n) & (uint64_t)mask);; slot = (slot + 1) & mask) {
        int32_t id = w->map[slot];
        if (id < 0) return -1;
        if (strlen(w->tokens[id]) == n && !memcmp(w->tokens[id], s, n)) return id;
    }
}

void facet_wordpiece_free(facet_wordpiece *w) {
    if (w->tokens)
        for (int i = 0; i < w->count; i++) free(w->tokens[i]);
    free(w->tokens);
    free(w->map);
    memset(w, 0, sizeof *w);
}

static facet_status special(facet_wordpiece *w, const char *name, const char *source, int32_t *id) {
    *id = lookup(w, name, strlen(name));
    if (*id < 0) return facet_fail(FACET_ERR_FORMAT, "%s: the vocabulary has no %s", source, name);
    return FACET_OK;
}

facet_status facet_wordpiece_load(facet_wordpiece *w, const char *vocab, size_t size,
                                  const char *source) {
    memset(w, 0, sizeof *w);
    int lines = 0;
    for (size_t i = 0; i < size; i++) lines += vocab[i] == '\n';
    if (size && vocab[size - 1] != '\n') lines++;
    if (lines == 0) return facet_fail(FACET_ERR_FORMAT, "%s: empty WordPiece vocabulary", source);
    w->map_size = 1;
    while (w->map_size < 2 * lines) w->map_size *= 2;
    w->tokens = facet_alloc_zeroed((size_t)lines, sizeof *w->tokens);
    w->map = facet_alloc((size_t)w->map_size, sizeof *w->map);
    if (!w->tokens || !w->map) {
        facet_wordpiece_free(w);
        return facet_last_status();
    }
    memset(w->map, 0xff, (size_t)w->map_size * sizeof *w->map);
    size_t pos = 0;
    for (int id = 0; id < lines; id++) {
        size_t end = pos;
        while (end < size && vocab[end] != '\n') end++;
        size_t n = end - pos;
        if (n && vocab[pos + n - 1] == '\r') n--;
        w->tokens[id] = facet_alloc(n + 1, 1);
        if (!w->tokens[id]) {
            w->count = id;
            facet_wordpiece_free(w);
            return facet_last_status();
        }
        memcpy(w->tokens[id], vocab + pos, n);
        w->tokens[id][n] = '\0';
        w->count = id + 1;
        /* a token listed twice keeps its first id, as vocab.txt readers do for lookups */
        int mask = w->map_size - 1;
        for (int slot = (int)(hash_bytes(w->tokens[id], n) & (uint64_t)mask);;
             slot = (slot + 1) & mask) {
            int32_t old = w->map[slot];
            if (old < 0) {
                w->map[slot] = id;
                break;
            }
            if (!strcmp(w->tokens[old], w->tokens[id])) break;
        }
        pos = end + 1;
    }
    facet_status s = special(w, "[PAD]", source, &w->pad);
    if (s == FACET_OK) s = special(w, "[UNK]", source, &w->unk);
    if (s == FACET_OK) s = special(w, "[CLS]", source, &w->cls);
    if (s == FACET_OK) s = special(w, "[SEP]", source, &w->sep);
    if (s == FACET_OK) s = special(w, "[MASK]", source, &w->mask);
    if (s != FACET_OK) facet_wordpiece_free(w);
    return s;
}

/* ---- normalisation and pre-tokenization ------------------------------------------------------ */

static int is_chinese(uint32_t c) {
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
           (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

static int in(const facet_uc_range *table, int count, uint32_t c) {
    return facet_uc_in(table, count, c);
}
#define IN(table, c) in(table, table##_count, c)

static facet_status normalize(facet_ustr *s) {
    facet_ustr out = {0};
    facet_status st = FACET_OK;
    for (int i = 0; i < s->n && st == FACET_OK; i++) {
        uint32_t c = s->v[i];
        if (IN(facet_uc_bert_removed, c)) continue;
        if (IN(facet_uc_bert_to_space, c)) c = ' ';
        if (is_chinese(c)) {
            st = facet_ustr_push(&out, ' ');
            if (st == FACET_OK) st = facet_ustr_push(&out, c);
            if (st == FACET_OK) st = facet_ustr_push(&out, ' ');
        } else {
            st = facet_ustr_push(&out, c);
        }
    }
    if (st == FACET_OK) st = facet_ustr_nfd(&out);
    int n = 0;
    for (int i = 0; st == FACET_OK && i < out.n; i++)
        if (!IN(facet_uc_bert_mn, out.v[i])) out.v[n++] = out.v[i];
    out.n = n;
    facet_ustr low = {0};
    for (int i = 0; st == FACET_OK && i < out.n; i++) {
        const facet_uc_map *m =
            facet_uc_find(facet_uc_bert_lower, facet_uc_bert_lower_count, out.v[i]);
        st = m ? facet_ustr_append(&low, facet_uc_pool + m->offset, (int)m->length)
               : facet_ustr_push(&low, out.v[i]);
    }
    facet_ustr_free(&out);
    if (st == FACET_OK) {
        facet_ustr_free(s);
        *s = low;
    } else {
        facet_ustr_free(&low);
    }
    return st;
}

typedef struct id_list {
    int32_t *ids;
    int count, max; /* word pieces kept: at most max */
} id_list;

static void emit(id_list *out, int32_t id) {
    if (out->count < out->max) out->ids[out->count] = id;
    out->count++;
}

/* Greedy longest-match-first WordPiece of one word (cps[0..n)). */
static void wordpiece_word(const facet_wordpiece *w, const uint32_t *cps, int n, char *buf,
                           id_list *out) {
    if (n > MAX_WORD_CHARS) {
        emit(out, w->unk);
        return;
    }
    int32_t pieces[MAX_WORD_CHARS];
    int count = 0;
    for (int start = 0; start < n;) {
        int32_t found = -1;
        int end = n;
        for (; end > start; end--) {
            size_t len = 0;
            if (start > 0) {
                memcpy(buf, "##", 2);
                len = 2;
            }
            for (int k = start; k < end; k++) len += (size_t)facet_utf8_encode(cps[k], buf + len);
            found = lookup(w, buf, len);
            if (found >= 0) break;
        }
        if (found < 0) {
            emit(out, w->unk);
            return;
        }
        pieces[count++] = found;
        start = end;
    }
    for (int k = 0; k < count; k++) emit(out, pieces[k]);
}

/* Normalises, pre-tokenizes and WordPieces cps[0..n). */
static facet_status tokenize_span(const facet_wordpiece *w, const uint32_t *cps, int n,
                                  id_list *out) {
    facet_ustr s = {0};
    facet_status st = facet_ustr_append(&s, cps, n);
    if (st == FACET_OK) st = normalize(&s);
    char *buf = st == FACET_OK ? facet_alloc((size_t)s.n * 4 + 3, 1) : NULL;
    if (st == FACET_OK && !buf) st = facet_last_status();
    for (int i = 0; st == FACET_OK && i < s.n;) {
        if (IN(facet_uc_bert_space, s.v[i])) {
            i++;
            continue;
        }
        if (IN(facet_uc_bert_punct, s.v[i])) {
            wordpiece_word(w, s.v + i, 1, buf, out);
            i++;
            continue;
        }
        int j = i;
        while (j < s.n && !IN(facet_uc_bert_space, s.v[j]) && !IN(facet_uc_bert_punct, s.v[j])) j++;
        wordpiece_word(w, s.v + i, j - i, buf, out);
        i = j;
    }
    free(buf);
    facet_ustr_free(&s);
    return st;
}

/* The added (special) token written literally at cps[i], or -1; *len gets its length. */
static int32_t added_token_at(const facet_wordpiece *w, const uint32_t *cps, int n, int i,
                              int *len) {
    static const char *const names[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    const int32_t ids[] = {w->pad, w->unk, w->cls, w->sep, w->mask};
    for (int k = 0; k < 5; k++) {
        int l = (int)strlen(names[k]), ok = i + l <= n;
        for (int c = 0; ok && c < l; c++) ok = cps[i + c] == (uint32_t)names[k][c];
        if (ok) {
            *len = l;
            return ids[k];
        }
    }
    return -1;
}

facet_status facet_wordpiece_tokenize(const facet_wordpiece *w, const char *text, int max_length,
                                      int32_t *ids, int *length) {
    if (max_length < 2)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "WordPiece max length %d: needs room for [CLS] and [SEP]", max_length);
    facet_ustr s = {0};
    facet_status st = facet_ustr_from_utf8(&s, text, strlen(text));
    id_list out = {ids + 1, 0, max_length - 2};
    int start = 0;
    for (int i = 0; st == FACET_OK && i <= s.n; i++) {
        int len = 0;
        int32_t added = i < s.n ? added_token_at(w, s.v, s.n, i, &len) : -1;
        if (i < s.n && added < 0) continue;
        if (i > start) st = tokenize_span(w, s.v + start, i - start, &out); /* s.v NULL if empty */
        if (added >= 0) {
            emit(&out, added);
            i += len - 1;
            start = i + 1;
        }
    }
    facet_ustr_free(&s);
    if (st != FACET_OK) return st;
    int count = out.count < out.max ? out.count : out.max;
    ids[0] = w->cls;
    ids[count + 1] = w->sep;
    *length = count + 2;
    return FACET_OK;
}
