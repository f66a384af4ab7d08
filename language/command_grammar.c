/* The facet-mode command grammar (language/command_grammar.h). */
#include "command_grammar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_WORDS = 256, MAX_WORD = 48 };

typedef struct words {
    char w[MAX_WORDS][MAX_WORD];
    int n;
} words;

static int is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

static void push_word(words *out, const char *s, size_t n) {
    if (out->n == MAX_WORDS) return;
    if (n >= MAX_WORD) n = MAX_WORD - 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        out->w[out->n][i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    out->w[out->n][n] = '\0';
    out->n++;
}

/* Splits text into words; "," and ";" become the word ",". */
static void split_words(const char *text, words *out) {
    out->n = 0;
    for (size_t i = 0; text[i];) {
        unsigned char c = (unsigned char)text[i];
        if (c == ',' || c == ';') {
            push_word(out, ",", 1);
            i++;
        } else if (c == '%') {
            push_word(out, "%", 1);
            i++;
        } else if (is_word_byte(c)) {
            size_t j = i;
            while (text[j] && (is_word_byte((unsigned char)text[j]) ||
                               ((text[j] == '.' || text[j] == '/') && j > i &&
                                is_digit(text[j - 1]) && is_digit(text[j + 1]))))
                j++;
            push_word(out, text + i, j - i);
            i = j;
        } else {
            i++;
        }
    }
}

static int is(const char *word, const char *const *set) {
    for (int i = 0; set[i]; i++)
        if (!strcmp(word, set[i])) return 1;
    return 0;
}

static const char *const DETERMINERS[] = {"the", "a",     "an",  "my",  "your",
                                          "our", "their", "his", "her", NULL};
static const char *const PRONOUNS[] = {"it", "that", "this", NULL};
static const char *const ALL_WORDS[] = {"both", "everything", "them", "all", NULL};
static const char *const NEUTRAL[] = {"set",      "make",  "move",  "put",    "turn",
                                      "bring",    "leave", "get",   "adjust", "change",
                                      "position", "keep",  "place", NULL};
static const char *const PARTICLES[] = {"out", "in", "back", "away", "up", "down", NULL};
static const char *const OPEN_STATES[] = {"open", "opened", "ajar", NULL};
static const char *const CLOSED_STATES[] = {"closed", "shut", NULL};
static const char *const CLAUSE_BREAKS[] = {",", "and", "then", "also", NULL};
static const char *const FILLERS[] = {"please", "kindly", "now", "again", "just", NULL};

/* ---- numbers -------------------------------------------------------------------------------- */

static int number_word(const char *w) {
    static const char *const units[] = {"zero",    "one",     "two",       "three",    "four",
                                        "five",    "six",     "seven",     "eight",    "nine",
                                        "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                        "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
    static const char *const tens[] = {"twenty", "thirty",  "forty",  "fifty",
                                       "sixty",  "seventy", "eighty", "ninety"};
    for (int i = 0; i < 20; i++)
        if (!strcmp(w, units[i])) return i;
    for (int i = 0; i < 8; i++)
        if (!strcmp(w, tens[i])) return 20 + 10 * i;
    return -1;
}

/* A number at w[i]: digits ("30", "0.25", "1/2") or number words ("seventy five", "a hundred").
 * Returns the words used (0: none). */
static int parse_number(const words *ws, int i, double *value) {
    const char *w = ws->w[i];
    if (is_digit(w[0])) {
        const char *slash = strchr(w, '/');
        char *end;
        double v = strtod(w, &end);
        if (slash) {
            double d = strtod(slash + 1, &end);
            if (*end || d == 0) return 0;
            v /= d;
        } else if (*end) {
            return 0;
        }
        if (!isfinite(v)) return 0; /* "1e999", "1e400/1e400" */
        *value = v;
        return 1;
    }
    if ((!strcmp(w, "a") || !strcmp(w, "one")) && i + 1 < ws->n &&
        !strcmp(ws->w[i + 1], "hundred")) {
        *value = 100;
        return 2;
    }
    if (!strcmp(w, "hundred")) {
        *value = 100;
        return 1;
    }
    int v = number_word(w);
    if (v < 0) return 0;
    if (v >= 20 && i + 1 < ws->n) {
        int unit = number_word(ws->w[i + 1]);
        if (unit > 0 && unit < 10) {
            *value = v + unit;
            return 2;
        }
    }
    *value = v;
    return 1;
}

/* "%", "percent", "per cent", "pct" at w[i]: words used. */
static int percent_at(const words *ws, int i) {
    if (i >= ws->n) return 0;
    if (!strcmp(ws->w[i], "%") || !strcmp(ws->w[i], "percent") || !strcmp(ws->w[i], "pct"))
        return 1;
    if (!strcmp(ws->w[i], "per") && i + 1 < ws->n && !strcmp(ws->w[i + 1], "cent")) return 2;
    return 0;
}

/* Does the word sequence `phrase` (space separated) start at w[i]? Returns its length. */
static int phrase_at(const words *ws, int i, const char *phrase) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", phrase);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (i + n >= ws->n || strcmp(ws->w[i + n], t)) return 0;
        n++;
    }
    return n;
}

/* A fraction word phrase at w[i] ("half", "two thirds", ...), with an optional "of the way" or
 * "way" after it. */
static int parse_fraction(const words *ws, int i, double *value) {
    static const struct {
        const char *phrase;
        double value;
    } fractions[] = {
        {"three quarters", 0.75}, {"three fourths", 0.75}, {"two thirds", 2.0 / 3.0},
        {"a quarter", 0.25},      {"one quarter", 0.25},   {"a third", 1.0 / 3.0},
        {"one third", 1.0 / 3.0}, {"half way", 0.5},       {"halfway", 0.5},
        {"a half", 0.5},          {"one half", 0.5},       {"half", 0.5},
        {"quarter", 0.25},
    };
    for (size_t k = 0; k < sizeof fractions / sizeof *fractions; k++) {
        int n = phrase_at(ws, i, fractions[k].phrase);
        if (!n) continue;
        *value = fractions[k].value;
        int tail = phrase_at(ws, i + n, "of the way");
        if (!tail) tail = phrase_at(ws, i + n, "the way");
        if (!tail) tail = phrase_at(ws, i + n, "way");
        return n + tail;
    }
    return 0;
}

/* ---- clauses -------------------------------------------------------------------------------- */

typedef struct clause_words {
    const words *ws;
    int begin, end;
    unsigned char used[MAX_WORDS];
} clause_words;

/* Reads every amount phrase of the clause, marking its words used. */
static void read_amount(clause_words *cw, facet_command_clause *c) {
    const words *ws = cw->ws;
    static const char *const full[] = {"all the way",
                                       "the whole way",
                                       "as far as possible",
                                       "as far as it goes",
                                       "as far as it will go",
                                       "fully",
                                       "completely",
                                       "entirely",
                                       "totally",
                                       "wide",
                                       NULL};
    static const struct {
        const char *phrase;
        float size;
    } sizes[] = {{"a little bit", 0.1f}, {"a little", 0.1f}, {"a bit", 0.1f},    {"a tad", 0.1f},
                 {"a touch", 0.1f},      {"slightly", 0.1f}, {"somewhat", 0.1f}, {"a lot", 0.3f},
                 {"a good deal", 0.3f},  {"much", 0.3f},     {"way", 0.3f}};
    float size = 0.0f;
    int more = 0;
    for (int i = cw->begin; i < cw->end; i++) {
        if (cw->used[i]) continue;
        int n = 0;
        for (int k = 0; full[k] && !n; k++)
            if ((n = phrase_at(ws, i, full[k]))) c->amount = FACET_AMOUNT_FULL;
        double value = -1;
        if (!n) {
            n = parse_fraction(ws, i, &value);
            if (!n) {
                n = parse_number(ws, i, &value);
                if (n) {
                    int p = percent_at(ws, i + n);
                    if (p)
                        value /= 100.0;
                    else if (value > 1.0 && value <= 100.0)
                        value /= 100.0;
                    else if (value > 100.0)
                        n = 0; /* not an amount */
                    n += p;
                }
            }
            if (n && i + n <= cw->end) {
                const char *before = i > cw->begin ? ws->w[i - 1] : "";
                int relative = !strcmp(before, "by");
                int explicit_ = !strcmp(before, "to") || !strcmp(before, "at") ||
                                !strcmp(before, "until") || !strcmp(before, "till");
                if (relative || explicit_) cw->used[i - 1] = 1;
                c->amount = relative ? FACET_AMOUNT_RELATIVE : FACET_AMOUNT_ABSOLUTE;
                /* a state is at most all the way ("to 150%": fully) */
                c->value = (float)(relative ? value : fmin(value, 1.0));
                c->bare = !relative && !explicit_;
            } else {
                n = 0;
            }
        }
        if (!n)
            for (size_t k = 0; k < sizeof sizes / sizeof *sizes && !n; k++)
                if ((n = phrase_at(ws, i, sizes[k].phrase))) size = sizes[k].size;
        if (!n && (!strcmp(ws->w[i], "more") || !strcmp(ws->w[i], "further") ||
                   !strcmp(ws->w[i], "wider"))) {
            more = 1;
            n = 1;
        }
        if (!n && !strcmp(ws->w[i], "less")) {
            more = 1;
            c->less = 1;
            n = 1;
        }
        for (int k = 0; k < n && i + k < cw->end; k++) cw->used[i + k] = 1;
        if (n) i += n - 1;
    }
    if ((size > 0.0f || more) && c->amount != FACET_AMOUNT_RELATIVE &&
        c->amount != FACET_AMOUNT_ABSOLUTE) {
        c->amount = FACET_AMOUNT_RELATIVE;
        c->value = size > 0.0f ? size : 0.2f;
    }
}

static void append(char *dst, size_t size, const char *word) {
    size_t len = strlen(dst);
    snprintf(dst + len, size - len, "%s%s", len ? " " : "", word);
}

static void parse_clause(const words *ws, int begin, int end, facet_command_clause *c) {
    memset(c, 0, sizeof *c);
    clause_words cw = {ws, begin, end, {0}};
    int first = begin;
    for (;;) { /* politeness */
        if (first < end && is(ws->w[first], FILLERS)) {
            cw.used[first++] = 1;
            continue;
        }
        if (first + 1 < end && !strcmp(ws->w[first + 1], "you") &&
            (!strcmp(ws->w[first], "can") || !strcmp(ws->w[first], "could") ||
             !strcmp(ws->w[first], "would") || !strcmp(ws->w[first], "will"))) {
            cw.used[first] = cw.used[first + 1] = 1;
            first += 2;
            continue;
        }
        break;
    }
    for (int i = first; i < end; i++)
        if (is(ws->w[i], FILLERS)) cw.used[i] = 1;
    read_amount(&cw, c);
    /* the verb: the first unused word unless it is a determiner, pronoun or "both"/"all" */
    int verb = -1;
    for (int i = first; i < end && verb < 0; i++) {
        if (cw.used[i]) continue;
        double ignored;
        if (!is(ws->w[i], DETERMINERS) && !is(ws->w[i], PRONOUNS) && !is(ws->w[i], ALL_WORDS) &&
            !parse_number(ws, i, &ignored))
            verb = i;
        break;
    }
    if (verb >= 0) {
        cw.used[verb] = 1;
        append(c->verb, sizeof c->verb, ws->w[verb]);
        c->neutral = is(ws->w[verb], NEUTRAL);
        if (is(ws->w[verb], OPEN_STATES)) c->state = 1;
        if (is(ws->w[verb], CLOSED_STATES) || !strcmp(ws->w[verb], "close")) c->state = -1;
        if (!c->neutral) c->state = 0;         /* a real verb carries its own direction */
        for (int i = verb + 1; i < end; i++) { /* state words anywhere after the verb */
            if (cw.used[i]) continue;
            int open = is(ws->w[i], OPEN_STATES), closed = is(ws->w[i], CLOSED_STATES);
            if (!open && !closed) continue;
            cw.used[i] = 1;
            if (i > begin && !strcmp(ws->w[i - 1], "to")) cw.used[i - 1] = 1;
            c->state = open ? 1 : -1;
            append(c->verb, sizeof c->verb, ws->w[i]);
        }
        for (int i = verb + 1; i < end && !cw.used[i] && is(ws->w[i], PARTICLES); i++) {
            cw.used[i] = 1; /* particles right after the verb: "pull out the drawer" */
            append(c->verb, sizeof c->verb, ws->w[i]);
        }
        int last = end - 1; /* particles ending the clause */
        while (last > verb && cw.used[last]) last--;
        int p = last;
        while (p > verb && !cw.used[p] && is(ws->w[p], PARTICLES)) p--;
        for (int i = p + 1; i <= last; i++) {
            cw.used[i] = 1;
            append(c->verb, sizeof c->verb, ws->w[i]);
        }
    }
    int start = first;
    while (start < end && (cw.used[start] || is(ws->w[start], DETERMINERS))) start++;
    for (int i = start; i < end; i++)
        if (!cw.used[i]) append(c->object, sizeof c->object, ws->w[i]);
    /* trailing "to"/"of" left by amounts ("open the drawer to" after "to 30%" was read) */
    size_t len = strlen(c->object);
    while (len >= 3 &&
           (!strcmp(c->object + len - 3, " to") || !strcmp(c->object + len - 3, " of"))) {
        c->object[len - 3] = '\0';
        len -= 3;
    }
    static const char *const pronoun_phrases[] = {"it",       "that",     "this",
                                                  "this one", "that one", NULL};
    static const char *const all_phrases[] = {"both",        "everything",      "them",
                                              "all of them", "both of them",    "all objects",
                                              "all",         "everything here", NULL};
    c->pronoun = is(c->object, pronoun_phrases);
    c->all_objects = is(c->object, all_phrases);
}

facet_status facet_command_parse(const char *text, facet_command_clause *clauses, int *count) {
    words *ws = malloc(sizeof *ws);
    if (!ws) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    split_words(text, ws);
    int n = 0;
    for (int begin = 0; begin < ws->n && n < FACET_COMMAND_MAX_CLAUSES;) {
        int end = begin;
        while (end < ws->n && !is(ws->w[end], CLAUSE_BREAKS)) end++;
        if (end > begin) {
            facet_command_clause *c = &clauses[n];
            parse_clause(ws, begin, end, c);
            if (c->verb[0] || c->object[0] || c->amount != FACET_AMOUNT_NONE) {
                if (!c->verb[0] && n > 0) { /* "... and the door": the previous verb */
                    const facet_command_clause *prev = &clauses[n - 1];
                    memcpy(c->verb, prev->verb, sizeof c->verb);
                    c->neutral = prev->neutral;
                    c->state = prev->state;
                    c->inherited = 1;
                    if (c->amount == FACET_AMOUNT_NONE) {
                        c->amount = prev->amount;
                        c->value = prev->value;
                        c->bare = prev->bare;
                        c->less = prev->less;
                    }
                }
                n++;
            }
        }
        begin = end + 1;
    }
    free(ws);
    *count = n;
    return FACET_OK;
}
