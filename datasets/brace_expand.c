/* Brace expansion (brace_expand.h). The parse follows braceexpand 0.1.7's grammar: a pattern is a
 * product of literals and {expressions}; an expression is an integer range, a letter range or a
 * comma list of patterns; anything else between braces is kept literally. Escapes stay in the
 * strings while expanding and are removed from the final strings only. */
#include "brace_expand.h"

#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string lists ------------------------------------------------------------------------------
 */

typedef struct strings {
    char **items;
    int count, capacity;
} strings;

static void strings_free(strings *s) {
    for (int i = 0; i < s->count; i++) free(s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static facet_status too_many(void) {
    return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                      "brace pattern expands to more than %d names (or a name longer than %d "
                      "bytes)",
                      FACET_BRACE_MAX_ITEMS, FACET_BRACE_MAX_LENGTH);
}

/* Appends text[0, length) (copied). */
static facet_status strings_push(strings *s, const char *text, size_t length) {
    if (s->count >= FACET_BRACE_MAX_ITEMS || length > FACET_BRACE_MAX_LENGTH) return too_many();
    if (s->count == s->capacity) {
        const int capacity = s->capacity ? 2 * s->capacity : 8;
        char **items = facet_realloc(s->items, (size_t)capacity, sizeof *items);
        if (!items) return facet_last_status();
        s->items = items;
        s->capacity = capacity;
    }
    char *copy = facet_alloc(length + 1, 1);
    if (!copy) return facet_last_status();
    memcpy(copy, text, length);
    copy[length] = '\0';
    s->items[s->count++] = copy;
    return FACET_OK;
}

/* Moves every item of `from` to the end of `to`. */
static facet_status strings_append(strings *to, strings *from) {
    facet_status status = FACET_OK;
    for (int i = 0; status == FACET_OK && i < from->count; i++)
        status = strings_push(to, from->items[i], strlen(from->items[i]));
    strings_free(from);
    return status;
}

/* acc := { a + b : a in acc, b in part } (acc's order outermost). */
static facet_status strings_product(strings *acc, const strings *part) {
    if ((int64_t)acc->count * part->count > FACET_BRACE_MAX_ITEMS) return too_many();
    strings out = {0};
    facet_status status = FACET_OK;
    for (int i = 0; status == FACET_OK && i < acc->count; i++)
        for (int j = 0; status == FACET_OK && j < part->count; j++) {
            const size_t a = strlen(acc->items[i]), b = strlen(part->items[j]);
            if (a + b > FACET_BRACE_MAX_LENGTH) {
                status = too_many();
                break;
            }
            char buf[2 * FACET_BRACE_MAX_LENGTH + 1];
            memcpy(buf, acc->items[i], a);
            memcpy(buf + a, part->items[j], b);
            status = strings_push(&out, buf, a + b);
        }
    strings_free(acc);
    if (status != FACET_OK) {
        strings_free(&out);
        return status;
    }
    *acc = out;
    return FACET_OK;
}

/* ---- ranges ------------------------------------------------------------------------------------
 */

/* text[0, n) is [-]digits. */
static int is_integer(const char *text, size_t n) {
    size_t i = n > 0 && text[0] == '-';
    if (i == n) return 0;
    for (; i < n; i++)
        if (text[i] < '0' || text[i] > '9') return 0;
    return 1;
}

/* [-]digits, the whole of text[0, n); 0 when it is not one or overflows int64. */
static int parse_int64(const char *text, size_t n, long long *value) {
    size_t i = 0;
    const int negative = n > 0 && text[0] == '-';
    if (negative) i++;
    if (i == n) return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (text[i] < '0' || text[i] > '9') return 0;
        const unsigned digit = (unsigned)(text[i] - '0');
        if (v > (9223372036854775808ULL - digit) / 10) return 0;
        v = v * 10 + digit;
    }
    if (!negative && v > 9223372036854775807ULL) return 0;
    *value = negative ? (long long)(0 - v) : (long long)v;
    return 1;
}

/* An optional "..[-]S" step at text[0, n): 1 (the step in *step, 0 taken as 1) when n == 0 or it
 * is one; 0 when text is not a step. */
static int parse_step(const char *text, size_t n, unsigned long long *step) {
    *step = 1;
    if (n == 0) return 1;
    if (n < 3 || text[0] != '.' || text[1] != '.') return 0;
    size_t i = 2;
    if (text[i] == '-') i++;
    if (i == n) return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (text[i] < '0' || text[i] > '9') return 0;
        if (v > (18446744073709551615ULL - 9) / 10) return 0; /* not a step: literal braces */
        v = v * 10 + (unsigned)(text[i] - '0');
    }
    *step = v ? v : 1;
    return 1;
}

/* The bound text starts with a zero that asks for padding ("07", "-07"; not "0" or "-0"). */
static int asks_padding(const char *text, size_t n) {
    if ((n == 1 && text[0] == '0') || (n == 2 && text[0] == '-' && text[1] == '0')) return 0;
    return (n > 0 && text[0] == '0') || (n > 1 && text[0] == '-' && text[1] == '0');
}

/* M..N[..S] with decimal M and N: 1 and the numbers in *out; 0 when `expr` is not one. */
static int int_range(const char *expr, size_t n, strings *out, facet_status *status) {
    const char *dots = NULL;
    for (size_t i = 1; i + 1 < n && !dots; i++)
        if (expr[i] == '.' && expr[i + 1] == '.') dots = expr + i;
    if (!dots) return 0;
    const size_t left_n = (size_t)(dots - expr);
    const char *right = dots + 2;
    const char *more = NULL;
    for (const char *p = right + 1; p + 1 < expr + n && !more; p++)
        if (p[0] == '.' && p[1] == '.') more = p;
    const size_t right_n = (size_t)((more ? more : expr + n) - right);
    long long start, end;
    unsigned long long step;
    if (!is_integer(expr, left_n) || !is_integer(right, right_n) ||
        !parse_step(more ? more : expr + n, more ? (size_t)(expr + n - more) : 0, &step))
        return 0;
    if (!parse_int64(expr, left_n, &start) || !parse_int64(right, right_n, &end)) {
        *status = facet_fail(FACET_ERR_INVALID_ARGUMENT,
                             "brace range '%.*s': the bounds must fit in 64 bits", (int)n, expr);
        return 1;
    }
    const int width = asks_padding(expr, left_n) || asks_padding(right, right_n)
                          ? (int)(left_n > right_n ? left_n : right_n)
                          : 0;
    const int up = start < end;
    const unsigned long long span = up ? (unsigned long long)end - (unsigned long long)start
                                       : (unsigned long long)start - (unsigned long long)end;
    if (span / step >= (unsigned long long)FACET_BRACE_MAX_ITEMS) {
        *status = too_many();
        return 1;
    }
    for (unsigned long long k = 0; k <= span / step && *status == FACET_OK; k++) {
        const unsigned long long offset = k * step;
        const long long v = up ? (long long)((unsigned long long)start + offset)
                               : (long long)((unsigned long long)start - offset);
        char buf[64];
        const int len = snprintf(buf, sizeof buf, "%0*lld", width, v);
        *status = strings_push(out, buf, (size_t)len);
    }
    return 1;
}

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int letter_index(char c) {
    const char *p = c ? strchr(ALPHABET, c) : NULL;
    return p ? (int)(p - ALPHABET) : -1;
}

/* x..y[..S] with ASCII letters x and y: 1 and the letters in *out; 0 when `expr` is not one. */
static int letter_range(const char *expr, size_t n, strings *out, facet_status *status) {
    if (n < 4 || expr[1] != '.' || expr[2] != '.') return 0;
    const int start = letter_index(expr[0]), end = letter_index(expr[3]);
    unsigned long long step;
    if (start < 0 || end < 0 || !parse_step(expr + 4, n - 4, &step)) return 0;
    if (start < end) {
        for (unsigned long long i = (unsigned long long)start;
             i <= (unsigned long long)end && *status == FACET_OK; i += step) {
            *status = strings_push(out, ALPHABET + i, 1);
            if (step > (unsigned long long)end - i) break;
        }
    } else {
        for (long long i = start; i >= end && *status == FACET_OK; i -= (long long)step) {
            *status = strings_push(out, ALPHABET + i, 1);
            if (step > (unsigned long long)start) break;
        }
    }
    return 1;
}

/* ---- patterns ----------------------------------------------------------------------------------
 */

static facet_status unbalanced(void) {
    return facet_fail(FACET_ERR_INVALID_ARGUMENT, "brace pattern has unbalanced braces");
}

static facet_status expand_pattern(const char *p, size_t n, int depth, strings *out);

/* The inside of a {...}: a range, a comma list, or NULL-like (*matched = 0) for anything else. */
static facet_status expand_expression(const char *expr, size_t n, int depth, strings *out,
                                      int *matched) {
    facet_status status = FACET_OK;
    *matched = 1;
    if (int_range(expr, n, out, &status) || letter_range(expr, n, out, &status)) return status;
    int level = 0;
    size_t start = 0;
    int commas = 0;
    for (size_t i = 0; i < n && status == FACET_OK; i++) {
        if (expr[i] == '\\') {
            i++;
        } else if (expr[i] == '{') {
            level++;
        } else if (expr[i] == '}') {
            level--;
        } else if (expr[i] == ',' && level == 0) {
            strings alternative = {0};
            status = expand_pattern(expr + start, i - start, depth + 1, &alternative);
            if (status == FACET_OK) status = strings_append(out, &alternative);
            strings_free(&alternative);
            start = i + 1;
            commas++;
        }
    }
    if (status == FACET_OK && level != 0) return unbalanced();
    if (status == FACET_OK && commas == 0) {
        *matched = 0;
        return FACET_OK;
    }
    if (status == FACET_OK) {
        strings last = {0};
        status = expand_pattern(expr + start, n - start, depth + 1, &last);
        if (status == FACET_OK) status = strings_append(out, &last);
        strings_free(&last);
    }
    return status;
}

/* Multiplies `acc` by one literal. */
static facet_status times_literal(strings *acc, const char *text, size_t n) {
    strings part = {0};
    facet_status status = strings_push(&part, text, n);
    if (status == FACET_OK) status = strings_product(acc, &part);
    strings_free(&part);
    return status;
}

static facet_status expand_pattern(const char *p, size_t n, int depth, strings *out) {
    if (depth > 64) return facet_fail(FACET_ERR_INVALID_ARGUMENT, "brace pattern nests too deeply");
    strings acc = {0};
    facet_status status = strings_push(&acc, "", 0);
    size_t start = 0, pos = 0;
    int level = 0;
    for (; pos < n && status == FACET_OK; pos++) {
        if (p[pos] == '\\') {
            pos++;
            continue;
        }
        if (p[pos] == '{') {
            if (level == 0 && pos > start) {
                status = times_literal(&acc, p + start, pos - start);
                start = pos;
            }
            level++;
        } else if (p[pos] == '}') {
            level--;
            if (level == 0) {
                const char *expr = p + start + 1;
                const size_t expr_n = pos - start - 1;
                strings part = {0};
                int matched = 0;
                status = expand_expression(expr, expr_n, depth, &part, &matched);
                if (status == FACET_OK && matched) {
                    status = strings_product(&acc, &part);
                } else if (status == FACET_OK) { /* "{" pattern "}" */
                    strings inner = {0};
                    status = times_literal(&acc, "{", 1);
                    if (status == FACET_OK)
                        status = expand_pattern(expr, expr_n, depth + 1, &inner);
                    if (status == FACET_OK) status = strings_product(&acc, &inner);
                    if (status == FACET_OK) status = times_literal(&acc, "}", 1);
                    strings_free(&inner);
                }
                strings_free(&part);
                start = pos + 1;
            }
        }
    }
    if (status == FACET_OK && level != 0) status = unbalanced();
    if (status == FACET_OK && start < n) status = times_literal(&acc, p + start, n - start);
    if (status != FACET_OK) {
        strings_free(&acc);
        return status;
    }
    *out = acc;
    return FACET_OK;
}

/* ---- entry points ------------------------------------------------------------------------------
 */

int facet_brace_has_pattern(const char *pattern) {
    for (const char *p = pattern; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == '{') {
            return 1;
        }
    }
    return 0;
}

/* Removes the escapes: "\x" becomes "x" (a trailing lone backslash stays). */
static void unescape(char *s) {
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) r++;
        *w++ = *r;
    }
    *w = '\0';
}

facet_status facet_brace_expand(const char *pattern, char ***items, int *count) {
    *items = NULL;
    *count = 0;
    strings out = {0};
    facet_status status = expand_pattern(pattern, strlen(pattern), 0, &out);
    if (status != FACET_OK) return facet_error_context("expanding '%s'", pattern);
    for (int i = 0; i < out.count; i++) unescape(out.items[i]);
    *items = out.items;
    *count = out.count;
    return FACET_OK;
}

void facet_brace_free(char **items, int count) {
    for (int i = 0; i < count; i++) free(items[i]);
    free(items);
}
