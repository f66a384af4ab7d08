/* Brace expansion of shard patterns, as WebDataset expands its URLs (the braceexpand package,
 * bash(1) "Brace Expansion" with its documented limits):
 *
 *     data/shard-{000000..000002}.tar  ->  data/shard-000000.tar data/shard-000001.tar
 *                                          data/shard-000002.tar
 *     {train,val}/part-{0..1}.tar      ->  train/part-0.tar train/part-1.tar val/part-0.tar
 *                                          val/part-1.tar
 *
 *   - `{a,b,c}`: the alternatives in order; an empty alternative is allowed (`x{,.bak}`);
 *   - `{M..N}` and `{M..N..S}`: decimal integers from M to N inclusive, ascending or descending,
 *     in steps of |S| (S = 0 means 1); when either bound other than "0" and "-0" starts with '0'
 *     (or "-0"), every number is zero-padded to the longer bound's length (printf "%0*lld", the
 *     sign counting towards the width), so `{07..10}` gives 07 08 09 10;
 *   - `{x..y}` and `{x..y..S}`: ASCII letters in the order A-Z then a-z;
 *   - braces nest, and the parts of a pattern combine as a product, leftmost varying slowest;
 *   - `\` escapes the next character (`\{` is a literal brace); it is removed from the output;
 *   - a `{...}` that is neither a list nor a range stays literal, braces included (`{x}`);
 *   - unbalanced braces are an error.
 * Integers must fit in 64 bits, and a pattern may expand to at most FACET_BRACE_MAX_ITEMS
 * strings of at most FACET_BRACE_MAX_LENGTH bytes each (beyond: an error saying so). */
#ifndef FACET_DATASETS_BRACE_EXPAND_H
#define FACET_DATASETS_BRACE_EXPAND_H

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_BRACE_MAX_ITEMS = 1000000,
    FACET_BRACE_MAX_LENGTH = 4096,
};

/* 1 when `pattern` holds an unescaped '{': something facet_brace_expand may expand. */
int facet_brace_has_pattern(const char *pattern);

/* Expands `pattern` into *items (an allocated array of *count allocated strings, in expansion
 * order; free with facet_brace_free). A pattern without braces gives itself. */
facet_status facet_brace_expand(const char *pattern, char ***items, int *count);
void facet_brace_free(char **items, int count);

#ifdef __cplusplus
}
#endif
#endif
