#include "alloc.h"

#include "status.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

int facet_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

void *facet_alloc(size_t count, size_t size) {
    size_t bytes;
    if (facet_mul_size(count, size, &bytes) != 0) {
        facet_fail(FACET_ERR_OUT_OF_MEMORY, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = malloc(bytes ? bytes : 1);
    if (!p) facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *facet_alloc_zeroed(size_t count, size_t size) {
    size_t bytes;
    if (facet_mul_size(count, size, &bytes) != 0) {
        facet_fail(FACET_ERR_OUT_OF_MEMORY, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = calloc(bytes ? count : 1, bytes ? size : 1);
    if (!p) facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *facet_alloc_table(size_t count, size_t size) {
    enum { HUGE_PAGE = 2 << 20 };
    size_t bytes;
    if (facet_mul_size(count, size, &bytes) != 0 || bytes < HUGE_PAGE)
        return facet_alloc_zeroed(count, size);
    const size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, rounded) != 0) {
        facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE); /* advice only: without it the pages stay 4 KiB */
#endif
    memset(p, 0, bytes);
    return p;
}

void *facet_realloc(void *ptr, size_t count, size_t size) {
    size_t bytes;
    if (facet_mul_size(count, size, &bytes) != 0) {
        facet_fail(FACET_ERR_OUT_OF_MEMORY, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p) facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory allocating %zu bytes", bytes);
    return p;
}

char *facet_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = facet_alloc(n, 1);
    if (p) memcpy(p, s, n);
    return p;
}

char *facet_format(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (n < 0) {
        facet_fail(FACET_ERR_INTERNAL, "bad format string");
        return NULL;
    }
    char *p = facet_alloc((size_t)n + 1, 1);
    if (!p) return NULL;
    va_start(args, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, args);
    va_end(args);
    return p;
}

facet_status facet_string_list_push(facet_string_list *list, char *s) {
    if (!s) return facet_last_status();
    if (list->count == list->capacity) {
        const int capacity = list->capacity ? 2 * list->capacity : 16;
        char **items = facet_realloc(list->items, (size_t)capacity, sizeof *items);
        if (!items) {
            free(s);
            return facet_last_status();
        }
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = s;
    return FACET_OK;
}

void facet_string_list_free(facet_string_list *list) {
    for (int i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}
