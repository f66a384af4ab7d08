/* The explicit grammar of facet-mode commands (language/grounding.h): clauses, amounts and the
 * split of each clause into verb phrase and object words. No encoder here: what the verb means
 * and which object the words name are decided by embedding similarity in grounding.c.
 *
 * Words: ASCII letters are lowercased; a word is a run of letters, digits and non-ASCII bytes;
 * '%' is a word of its own; '.' and '/' stay inside numbers ("0.25", "1/2"); "," and ";" end a
 * clause, other punctuation separates words. Clauses also end at "and", "then", "also".
 *
 * Amounts (longest match first; "to"/"at"/"until" before an amount makes it explicit, "by"
 * makes it a change):
 *   NUMBER ("%" | "percent" | "per cent" | "pct")     -> NUMBER / 100
 *   NUMBER alone                                       -> NUMBER if <= 1, NUMBER / 100 if <= 100
 *   NUMBER: digits ("30", "0.25", "1/2") or words up to "one hundred" ("seventy five")
 *   "half" | "halfway" | "half way" | "a/one quarter" | "a/one third" | "two thirds" |
 *   "three quarters" | "three fourths" [ "of the way" | "way" ]   -> 0.5, 0.25, 1/3, 2/3, 0.75
 *   "all the way" | "the whole way" | "fully" | "completely" | "entirely" | "totally" | "wide" |
 *   "all" | "as far as possible" | "as far as it goes"     -> all the way (kappa 1 or 0)
 *   size words "a bit" | "a little" | "a little bit" | "slightly" | "a tad" | "a touch" |
 *   "somewhat" -> a change of 0.1; "a lot" | "much" | "way" | "a good deal" -> 0.3; "more" |
 *   "further" | "wider" (without a size) -> 0.2; "less" reverses the verb's direction.
 *   "by" AMOUNT -> a change of AMOUNT.
 * A number or fraction without "to"/"at"/"by" is the state reached by the verb: "open the door
 * 75%" -> 0.75, "close the door 75%" -> 0.25 (75% closed); explicit ones are the kappa itself
 * ("close the door to 10%" -> 0.1).
 *
 * Verb phrase: the clause's first word (after "please", "can/could/would/will you") unless that
 * word is a determiner, pronoun or amount (then the clause has no verb and takes the previous
 * one's), plus the particles "out", "in", "back", "away", "up", "down" right after it or
 * ending the clause, and the
 * state words "open", "opened", "closed", "shut", "ajar" anywhere after it. Neutral verbs ("set",
 * "make", "move", "put", "turn", "bring", "leave", "get", "adjust", "change", "position", "keep",
 * "place") give no direction of their own: the state word or the amount decides.
 * Object words: what remains, leading determiners dropped. "it", "that", "this (one)", "that one"
 * refer to the context object; "both", "everything", "all of them", "them" to every object. */
#ifndef FACET_LANGUAGE_COMMAND_GRAMMAR_H
#define FACET_LANGUAGE_COMMAND_GRAMMAR_H

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_COMMAND_MAX_CLAUSES = 16 };

typedef enum facet_amount_kind {
    FACET_AMOUNT_NONE = 0,     /* the verb alone: all the way */
    FACET_AMOUNT_FULL = 1,     /* "all the way", "fully", ... */
    FACET_AMOUNT_ABSOLUTE = 2, /* value is a state in [0, 1] */
    FACET_AMOUNT_RELATIVE = 3, /* value is a change > 0 along the verb's direction */
} facet_amount_kind;

typedef struct facet_command_clause {
    char verb[96];    /* verb phrase ("pull out", "swing open"); "" when the clause has none */
    int neutral;      /* the verb is neutral (set, make, move, ...) */
    int state;        /* +1 open / -1 closed when a state word appears, else 0 */
    char object[256]; /* object words ("top drawer of the cabinet"), "" when none */
    int pronoun;      /* the object words are "it", "that", ... */
    int all_objects;  /* "both", "everything", ... */
    facet_amount_kind amount;
    float value;   /* ABSOLUTE: kappa or the verb's fraction (bare); RELATIVE: the change */
    int bare;      /* ABSOLUTE without "to"/"at": relative to the verb's direction */
    int less;      /* RELATIVE: "less" reverses the direction */
    int inherited; /* no verb: verb, state and amount copied from the previous clause */
} facet_command_clause;

/* Parses `text` into at most FACET_COMMAND_MAX_CLAUSES clauses (empty clauses are dropped). */
facet_status facet_command_parse(const char *text, facet_command_clause *clauses, int *count);

#ifdef __cplusplus
}
#endif
#endif
