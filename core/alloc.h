/* Allocation helpers that set the error message on failure and check size overflow. */
#ifndef FACET_CORE_ALLOC_H
#define FACET_CORE_ALLOC_H

#include "status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* malloc/calloc of count * size bytes; NULL (with the error set) on overflow or exhaustion.
 * A zero-byte request returns a valid pointer to free. */
void *facet_alloc(size_t count, size_t size);
void *facet_alloc_zeroed(size_t count, size_t size);
/* facet_alloc_zeroed for large tables read or written at random (K-Planes grids, the fit's
 * gradients and Adam moments): from 2 MiB up, the block is
 * 2 MiB-aligned and the kernel is asked for transparent huge pages on it (madvise, where Linux
 * has it), so that lookups spread over hundreds of MB do not miss the TLB on every 4 KiB page.
 * Freed with free(). */
void *facet_alloc_table(size_t count, size_t size);
void *facet_realloc(void *ptr, size_t count, size_t size);
/* strdup that sets the error on failure. */
char *facet_strdup(const char *s);
/* A growable list of owned strings; zero-initialised is empty. */
typedef struct facet_string_list {
    char **items;
    int count, capacity;
} facet_string_list;

/* Appends `s`, taking ownership (freed on failure); a NULL `s` reports the allocation that made
 * it failing, so `facet_string_list_push(&l, facet_strdup(x))` needs no check of its own. */
facet_status facet_string_list_push(facet_string_list *list, char *s);
/* Frees every string and the list, leaving it empty. */
void facet_string_list_free(facet_string_list *list);

/* printf into a fresh allocation (NULL on failure). */
char *facet_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Multiplies with overflow detection: returns 0 and sets *out on success, -1 on overflow. */
int facet_mul_size(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif
