/* A minimal ustar writer for tests (header-only): tars with any member names, types, declared
 * sizes and truncations, built in memory, so hostile archives need no tool that would refuse
 * them. Layout (POSIX ustar): a 512-byte header per member (name, octal mode/size/mtime, checksum,
 * type flag, link name, "ustar\0" "00"), the data padded to 512 bytes, two zero blocks at the end.
 * Allocation failures abort the test. */
#ifndef FACET_TESTS_TAR_BUILDER_H
#define FACET_TESTS_TAR_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tar_builder {
    unsigned char *data;
    size_t size, capacity;
} tar_builder;

static void tar_reserve(tar_builder *t, size_t more) {
    if (t->size + more <= t->capacity) return;
    size_t capacity = t->capacity ? t->capacity : 4096;
    while (capacity < t->size + more) capacity *= 2;
    t->data = realloc(t->data, capacity);
    if (!t->data) abort();
    t->capacity = capacity;
}

/* A member: type '0' regular, '1' hard link, '2' symbolic link, '5' directory. `declared` is the
 * size field (normally n); only n bytes of data are written. */
static void tar_member(tar_builder *t, const char *name, char type, const void *data, size_t n,
                       uint64_t declared, const char *link) {
    tar_reserve(t, 512 + n + 512);
    unsigned char *h = t->data + t->size;
    memset(h, 0, 512);
    strncpy((char *)h, name, 100);
    snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755u : 0644u);
    snprintf((char *)h + 108, 8, "%07o", 0u);
    snprintf((char *)h + 116, 8, "%07o", 0u);
    char size_field[32];
    snprintf(size_field, sizeof size_field, "%011llo", (unsigned long long)declared);
    memcpy(h + 124, size_field, 12); /* 11 octal digits and a NUL: up to 8 GiB - 1 */
    snprintf((char *)h + 136, 12, "%011o", 0u);
    h[156] = (unsigned char)type;
    if (link) strncpy((char *)h + 157, link, 100);
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    t->size += 512;
    if (n) memcpy(t->data + t->size, data, n);
    const size_t padded = (n + 511) / 512 * 512;
    memset(t->data + t->size + n, 0, padded - n);
    t->size += padded;
}

static void tar_file(tar_builder *t, const char *name, const void *data, size_t n) {
    tar_member(t, name, '0', data, n, n, NULL);
}
static void tar_text(tar_builder *t, const char *name, const char *text) {
    tar_file(t, name, text, strlen(text));
}
/* The end-of-archive marker: two zero blocks. */
static void tar_finish(tar_builder *t) {
    tar_reserve(t, 1024);
    memset(t->data + t->size, 0, 1024);
    t->size += 1024;
}
static void tar_save(const tar_builder *t, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(t->data, 1, t->size, f) != t->size || fclose(f) != 0) abort();
}
static void tar_free(tar_builder *t) {
    free(t->data);
    memset(t, 0, sizeof *t);
}

#endif
