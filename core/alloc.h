/* Allocation helpers that set the error message on failure and check size overflow. */
#ifndef FACET_CORE_ALLOC_H
#define FACET_CORE_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* malloc/calloc of count * size bytes; NULL (with the error set) on overflow or exhaustion.
 * A zero-byte request returns a valid pointer to free. */
void *facet_alloc(size_t count, size_t size);
void *facet_alloc_zeroed(size_t count, size_t size);
void *facet_realloc(void *ptr, size_t count, size_t size);
/* strdup that sets the error on failure. */
char *facet_strdup(const char *s);
/* printf into a fresh allocation (NULL on failure). */
char *facet_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Multiplies with overflow detection: returns 0 and sets *out on success, -1 on overflow. */
int facet_mul_size(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif
