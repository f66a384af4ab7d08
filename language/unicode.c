/* Code point strings and Unicode normalisations for the tokenizers (language/unicode.h). */
#include "unicode.h"

#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

void facet_ustr_free(facet_ustr *s) {
    free(s->v);
    memset(s, 0, sizeof *s);
}

static facet_status reserve(facet_ustr *s, int n) {
    if (n <= s->cap) return FACET_OK;
    int cap = s->cap ? s->cap : 16;
    while (cap < n) cap *= 2;
    uint32_t *v = facet_realloc(s->v, (size_t)cap, sizeof *v);
    if (!v) return facet_last_status();
    s->v = v;
    s->cap = cap;
    return FACET_OK;
}

facet_status facet_ustr_push(facet_ustr *s, uint32_t cp) {
    facet_status st = reserve(s, s->n + 1);
    if (st == FACET_OK) s->v[s->n++] = cp;
    return st;
}

facet_status facet_ustr_append(facet_ustr *s, const uint32_t *cps, int n) {
    facet_status st = reserve(s, s->n + n);
    if (st != FACET_OK) return st;
    if (n) memcpy(s->v + s->n, cps, (size_t)n * sizeof *cps);
    s->n += n;
    return FACET_OK;
}

/* Replaces s's contents with t's (t is consumed). */
static void take(facet_ustr *s, facet_ustr *t) {
    free(s->v);
    *s = *t;
    memset(t, 0, sizeof *t);
}

facet_status facet_ustr_from_utf8(facet_ustr *s, const char *text, size_t bytes) {
    s->n = 0;
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < bytes) {
        unsigned c = p[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
        int ok = len > 0 && i + (size_t)len <= bytes;
        for (int k = 1; ok && k < len; k++) {
            ok = (p[i + (size_t)k] & 0xc0) == 0x80;
            cp = (cp << 6) | (p[i + (size_t)k] & 0x3f);
        }
        /* overlong forms, surrogates and values past U+10FFFF are invalid */
        static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (ok && (cp < min_for_len[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
            ok = 0;
        facet_status st = facet_ustr_push(s, ok ? cp : 0xfffd);
        if (st != FACET_OK) return st;
        i += ok ? (size_t)len : 1;
    }
    return FACET_OK;
}

int facet_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

char *facet_utf8_from_cps(const uint32_t *cps, int n) {
    char *out = facet_alloc((size_t)n * 4 + 1, 1);
    if (!out) return NULL;
    size_t used = 0;
    for (int i = 0; i < n; i++) used += (size_t)facet_utf8_encode(cps[i], out + used);
    out[used] = '\0';
    return out;
}

int facet_uc_in(const facet_uc_range *table, int count, uint32_t cp) {
    int lo = 0, hi = count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < table[mid].lo)
            hi = mid - 1;
        else if (cp > table[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

const facet_uc_map *facet_uc_find(const facet_uc_map *table, int count, uint32_t cp) {
    int lo = 0, hi = count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < table[mid].cp)
            hi = mid - 1;
        else if (cp > table[mid].cp)
            lo = mid + 1;
        else
            return &table[mid];
    }
    return NULL;
}

static uint32_t ccc(uint32_t cp) {
    int lo = 0, hi = facet_uc_ccc_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < facet_uc_ccc[mid].cp)
            hi = mid - 1;
        else if (cp > facet_uc_ccc[mid].cp)
            lo = mid + 1;
        else
            return facet_uc_ccc[mid].value;
    }
    return 0;
}

/* ---- normalisation forms (UAX #15) ---------------------------------------------------------- */

enum {
    HANGUL_S = 0xac00,
    HANGUL_L = 0x1100,
    HANGUL_V = 0x1161,
    HANGUL_T = 0x11a7,
    HANGUL_LCOUNT = 19,
    HANGUL_VCOUNT = 21,
    HANGUL_TCOUNT = 28,
    HANGUL_NCOUNT = HANGUL_VCOUNT * HANGUL_TCOUNT,
    HANGUL_SCOUNT = HANGUL_LCOUNT * HANGUL_NCOUNT,
};

facet_status facet_ustr_nfd(facet_ustr *s) {
    facet_ustr out = {0};
    facet_status st = FACET_OK;
    for (int i = 0; i < s->n && st == FACET_OK; i++) {
        uint32_t cp = s->v[i];
        if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_SCOUNT) {
            uint32_t index = cp - HANGUL_S;
            st = facet_ustr_push(&out, HANGUL_L + index / HANGUL_NCOUNT);
            if (st == FACET_OK)
                st = facet_ustr_push(&out, HANGUL_V + (index % HANGUL_NCOUNT) / HANGUL_TCOUNT);
            if (st == FACET_OK && index % HANGUL_TCOUNT)
                st = facet_ustr_push(&out, HANGUL_T + index % HANGUL_TCOUNT);
            continue;
        }
        const facet_uc_map *m = facet_uc_find(facet_uc_nfd, facet_uc_nfd_count, cp);
        st = m ? facet_ustr_append(&out, facet_uc_pool + m->offset, (int)m->length)
               : facet_ustr_push(&out, cp);
    }
    /* canonical ordering: stable sort of each run of non-starters by combining class */
    for (int i = 1; st == FACET_OK && i < out.n; i++) {
        uint32_t c = out.v[i], cc = ccc(c);
        if (!cc) continue;
        int j = i;
        while (j > 0 && ccc(out.v[j - 1]) > cc) {
            out.v[j] = out.v[j - 1];
            j--;
        }
        out.v[j] = c;
    }
    if (st == FACET_OK)
        take(s, &out);
    else
        facet_ustr_free(&out);
    return st;
}

static uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= HANGUL_L && a < HANGUL_L + HANGUL_LCOUNT && b >= HANGUL_V &&
        b < HANGUL_V + HANGUL_VCOUNT)
        return HANGUL_S + ((a - HANGUL_L) * HANGUL_VCOUNT + (b - HANGUL_V)) * HANGUL_TCOUNT;
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_SCOUNT && (a - HANGUL_S) % HANGUL_TCOUNT == 0 &&
        b > HANGUL_T && b < HANGUL_T + HANGUL_TCOUNT)
        return a + (b - HANGUL_T);
    int lo = 0, hi = facet_uc_compose_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const facet_uc_pair *p = &facet_uc_compose[mid];
        if (a < p->first || (a == p->first && b < p->second))
            hi = mid - 1;
        else if (a > p->first || b > p->second)
            lo = mid + 1;
        else
            return p->composite;
    }
    return 0;
}

facet_status facet_ustr_nfc(facet_ustr *s) {
    facet_status st = facet_ustr_nfd(s);
    if (st != FACET_OK) return st;
    int n = 0, starter = -1;
    uint32_t last_cc = 0;
    for (int i = 0; i < s->n; i++) {
        uint32_t c = s->v[i], cc = ccc(c);
        if (starter >= 0) {
            int blocked = n - 1 != starter && last_cc >= cc;
            uint32_t composite = blocked ? 0 : compose(s->v[starter], c);
            if (composite) {
                s->v[starter] = composite;
                continue;
            }
        }
        if (cc == 0) starter = n;
        last_cc = cc;
        s->v[n++] = c;
    }
    s->n = n;
    return FACET_OK;
}

/* ---- Python's str.lower --------------------------------------------------------------------- */

static int final_sigma(const facet_ustr *s, int i) {
    int j = i - 1;
    while (j >= 0 && facet_uc_in(facet_uc_case_ignorable, facet_uc_case_ignorable_count, s->v[j]))
        j--;
    if (j < 0 || !facet_uc_in(facet_uc_cased, facet_uc_cased_count, s->v[j])) return 0;
    j = i + 1;
    while (j < s->n && facet_uc_in(facet_uc_case_ignorable, facet_uc_case_ignorable_count, s->v[j]))
        j++;
    return j == s->n || !facet_uc_in(facet_uc_cased, facet_uc_cased_count, s->v[j]);
}

facet_status facet_ustr_lower_python(facet_ustr *s) {
    facet_ustr out = {0};
    facet_status st = FACET_OK;
    for (int i = 0; i < s->n && st == FACET_OK; i++) {
        uint32_t cp = s->v[i];
        if (cp == 0x3a3) {
            st = facet_ustr_push(&out, final_sigma(s, i) ? 0x3c2 : 0x3c3);
            continue;
        }
        const facet_uc_map *m = facet_uc_find(facet_uc_lower, facet_uc_lower_count, cp);
        st = m ? facet_ustr_append(&out, facet_uc_pool + m->offset, (int)m->length)
               : facet_ustr_push(&out, cp);
    }
    if (st == FACET_OK)
        take(s, &out);
    else
        facet_ustr_free(&out);
    return st;
}

/* ---- HTML character references -------------------------------------------------------------- */

static int ascii_digit(uint32_t c) {
    return c >= '0' && c <= '9';
}

static int hex_value(uint32_t c) {
    if (ascii_digit(c)) return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

static int ascii_alnum(uint32_t c) {
    return ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An entity table entry whose name is exactly cps[0..n) (ASCII names), or NULL. */
static const facet_uc_entity *find_entity(const facet_uc_entity *table, int count,
                                          const uint32_t *cps, int n) {
    char name[40];
    if (n >= (int)sizeof name) return NULL;
    for (int i = 0; i < n; i++) {
        if (cps[i] >= 0x80) return NULL; /* every entity name is ASCII */
        name[i] = (char)cps[i];
    }
    name[n] = '\0';
    int lo = 0, hi = count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(name, table[mid].name);
        if (c < 0)
            hi = mid - 1;
        else if (c > 0)
            lo = mid + 1;
        else
            return &table[mid];
    }
    return NULL;
}

/* html._replace_charref for a numeric reference with value `num` (saturated). */
static facet_status push_charref(facet_ustr *out, uint64_t num) {
    for (int i = 0; i < facet_uc_html_charref_fix_count; i++)
        if (facet_uc_html_charref_fix[i].cp == num)
            return facet_ustr_push(out, facet_uc_html_charref_fix[i].value);
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return facet_ustr_push(out, 0xfffd);
    if (facet_uc_in(facet_uc_html_invalid, facet_uc_html_invalid_count, (uint32_t)num))
        return FACET_OK;
    return facet_ustr_push(out, (uint32_t)num);
}

/* Tries html.unescape's pattern &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?) at
 * v[i] == '&'. Returns the length matched (0: no match) and appends the replacement. */
static int charref_at(const uint32_t *v, int n, int i, facet_ustr *out, facet_status *st) {
    int j = i + 1;
    if (j < n && v[j] == '#') {
        int hex = j + 1 < n && (v[j + 1] == 'x' || v[j + 1] == 'X');
        int k = j + 1 + hex, start = k;
        uint64_t num = 0;
        while (k < n && (hex ? hex_value(v[k]) >= 0 : ascii_digit(v[k]))) {
            uint64_t d = hex ? (uint64_t)hex_value(v[k]) : v[k] - '0';
            num = num > 0x10ffffu ? num : num * (hex ? 16 : 10) + d;
            k++;
        }
        if (k == start) return 0;
        if (k < n && v[k] == ';') k++;
        *st = push_charref(out, num);
        return k - i;
    }
    int k = j;
    while (k < n && k - j < 32 && v[k] != '\t' && v[k] != '\n' && v[k] != '\f' && v[k] != ' ' &&
           v[k] != '<' && v[k] != '&' && v[k] != '#' && v[k] != ';')
        k++;
    if (k == j) return 0;
    int name_end = k < n && v[k] == ';' ? k + 1 : k; /* the name includes its ';' */
    const facet_uc_entity *e =
        find_entity(facet_uc_html5, facet_uc_html5_count, v + j, name_end - j);
    if (e) {
        *st = facet_ustr_append(out, facet_uc_pool + e->offset, (int)e->length);
        return name_end - i;
    }
    /* the longest prefix (at least 2 characters) that names an entity, the rest kept */
    for (int x = name_end - j - 1; x > 1; x--) {
        e = find_entity(facet_uc_html5, facet_uc_html5_count, v + j, x);
        if (e) {
            *st = facet_ustr_append(out, facet_uc_pool + e->offset, (int)e->length);
            if (*st == FACET_OK) *st = facet_ustr_append(out, v + j + x, name_end - j - x);
            return name_end - i;
        }
    }
    *st = facet_ustr_append(out, v + i, name_end - i);
    return name_end - i;
}

facet_status facet_ustr_html_unescape(facet_ustr *s) {
    facet_ustr out = {0};
    facet_status st = FACET_OK;
    for (int i = 0; i < s->n && st == FACET_OK;) {
        int used = s->v[i] == '&' ? charref_at(s->v, s->n, i, &out, &st) : 0;
        if (used) {
            i += used;
            continue;
        }
        st = facet_ustr_push(&out, s->v[i++]);
    }
    if (st == FACET_OK)
        take(s, &out);
    else
        facet_ustr_free(&out);
    return st;
}

/* ---- ftfy.fix_text -------------------------------------------------------------------------- */

/* ftfy's unescape_html: &#?[0-9A-Za-z]{1,24}; replaced when it names an entity in ftfy's table,
 * or when it is a numeric reference html.unescape resolves. */
static facet_status ftfy_unescape(facet_ustr *s) {
    facet_ustr out = {0};
    facet_status st = FACET_OK;
    for (int i = 0; i < s->n && st == FACET_OK;) {
        int end = 0;
        if (s->v[i] == '&') {
            int j = i + 1 + (i + 1 < s->n && s->v[i + 1] == '#');
            int k = j;
            while (k < s->n && k - j < 24 && ascii_alnum(s->v[k])) k++;
            if (k > j && k < s->n && s->v[k] == ';') end = k + 1;
        }
        if (!end) {
            st = facet_ustr_push(&out, s->v[i++]);
            continue;
        }
        const facet_uc_entity *e = find_entity(facet_uc_ftfy_entities, facet_uc_ftfy_entities_count,
                                               s->v + i + 1, end - i - 1);
        if (e) {
            st = facet_ustr_append(&out, facet_uc_pool + e->offset, (int)e->length);
        } else if (s->v[i + 1] == '#') {
            facet_ustr ref = {0};
            st = facet_ustr_append(&ref, s->v + i, end - i);
            if (st == FACET_OK) st = facet_ustr_html_unescape(&ref);
            int has_semicolon = 0;
            for (int k = 0; k < ref.n; k++) has_semicolon |= ref.v[k] == ';';
            if (st == FACET_OK)
                st = has_semicolon ? facet_ustr_append(&out, s->v + i, end - i)
                                   : facet_ustr_append(&out, ref.v, ref.n);
            facet_ustr_free(&ref);
        } else {
            st = facet_ustr_append(&out, s->v + i, end - i);
        }
        i = end;
    }
    if (st == FACET_OK)
        take(s, &out);
    else
        facet_ustr_free(&out);
    return st;
}

static int ascii_letter(uint32_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One pass of fix_and_explain's fixers after unescape_html: the character maps, terminal escapes
 * (\x1b\[((?:\d|;)*)([a-zA-Z]) removed), control characters, NFC. */
static facet_status ftfy_fix_chars(facet_ustr *s) {
    facet_ustr out = {0};
    facet_status st = FACET_OK;
    for (int i = 0; i < s->n && st == FACET_OK; i++) {
        const facet_uc_map *m = facet_uc_find(facet_uc_ftfy, facet_uc_ftfy_count, s->v[i]);
        st = m ? facet_ustr_append(&out, facet_uc_pool + m->offset, (int)m->length)
               : facet_ustr_push(&out, s->v[i]);
    }
    int n = 0;
    for (int i = 0; i < out.n;) {
        if (out.v[i] == 0x1b && i + 1 < out.n && out.v[i + 1] == '[') {
            int k = i + 2;
            while (k < out.n &&
                   (out.v[k] == ';' || facet_uc_in(facet_uc_nd, facet_uc_nd_count, out.v[k])))
                k++;
            if (k < out.n && ascii_letter(out.v[k])) {
                i = k + 1;
                continue;
            }
        }
        out.v[n++] = out.v[i++];
    }
    out.n = n;
    n = 0;
    for (int i = 0; i < out.n; i++)
        if (!facet_uc_in(facet_uc_ftfy_control, facet_uc_ftfy_control_count, out.v[i]))
            out.v[n++] = out.v[i];
    out.n = n;
    if (st == FACET_OK) st = facet_ustr_nfc(&out);
    if (st == FACET_OK)
        take(s, &out);
    else
        facet_ustr_free(&out);
    return st;
}

static int same(const facet_ustr *a, const facet_ustr *b) {
    return a->n == b->n && (a->n == 0 || !memcmp(a->v, b->v, (size_t)a->n * sizeof *a->v));
}

facet_status facet_ustr_ftfy(facet_ustr *s) {
    facet_ustr out = {0}, segment = {0}, before = {0};
    facet_status st = FACET_OK;
    int unescape = 1; /* "auto": off from the first segment that contains '<' on */
    for (int pos = 0; pos < s->n && st == FACET_OK;) {
        int end = pos;
        while (end < s->n && s->v[end] != '\n') end++;
        if (end < s->n) end++; /* the segment keeps its line break */
        segment.n = 0;
        st = facet_ustr_append(&segment, s->v + pos, end - pos);
        for (int i = pos; i < end; i++)
            if (s->v[i] == '<') unescape = 0;
        for (;;) { /* fix_and_explain repeats its fixers until nothing changes */
            if (st != FACET_OK) break;
            before.n = 0;
            st = facet_ustr_append(&before, segment.v, segment.n);
            if (st == FACET_OK && unescape) st = ftfy_unescape(&segment);
            if (st == FACET_OK) st = ftfy_fix_chars(&segment);
            if (st != FACET_OK || same(&segment, &before)) break;
        }
        if (st == FACET_OK) st = facet_ustr_append(&out, segment.v, segment.n);
        pos = end;
    }
    facet_ustr_free(&segment);
    facet_ustr_free(&before);
    if (st == FACET_OK)
        take(s, &out);
    else
        facet_ustr_free(&out);
    return st;
}
