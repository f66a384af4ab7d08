/* Unicode text as code point arrays, and the normalisations the tokenizers share: UTF-8 decoding
 * and encoding, table lookups, NFC/NFD, Python's str.lower, html.unescape and ftfy's fix_text
 * (everything but its mojibake repair). Tables: language/unicode_data.h. */
#ifndef FACET_LANGUAGE_UNICODE_H
#define FACET_LANGUAGE_UNICODE_H

#include "unicode_data.h"

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

/* A growable code point string. */
typedef struct facet_ustr {
    uint32_t *v;
    int n, cap;
} facet_ustr;

void facet_ustr_free(facet_ustr *s);
facet_status facet_ustr_push(facet_ustr *s, uint32_t cp);
facet_status facet_ustr_append(facet_ustr *s, const uint32_t *cps, int n);
/* Decodes UTF-8 (invalid bytes become U+FFFD, one per byte, like Python's errors="replace"). */
facet_status facet_ustr_from_utf8(facet_ustr *s, const char *text, size_t bytes);
/* UTF-8 of cps[0..n) into a new NUL-terminated string (caller frees). */
char *facet_utf8_from_cps(const uint32_t *cps, int n);
/* Bytes of the UTF-8 encoding of cp (1-4) written to out. */
int facet_utf8_encode(uint32_t cp, char *out);

int facet_uc_in(const facet_uc_range *table, int count, uint32_t cp);
/* The map entry for cp, or NULL. */
const facet_uc_map *facet_uc_find(const facet_uc_map *table, int count, uint32_t cp);

/* Unicode normalisation forms C and D (canonical), in place. */
facet_status facet_ustr_nfd(facet_ustr *s);
facet_status facet_ustr_nfc(facet_ustr *s);
/* Python's str.lower(), Final_Sigma included. */
facet_status facet_ustr_lower_python(facet_ustr *s);
/* Python's html.unescape. */
facet_status facet_ustr_html_unescape(facet_ustr *s);
/* ftfy.fix_text with its default configuration, except that text is taken as correctly decoded
 * (ftfy's mojibake repair, fix_encoding, is not reproduced: it only acts on text that decodes
 * as mis-encoded UTF-8). */
facet_status facet_ustr_ftfy(facet_ustr *s);

#endif
