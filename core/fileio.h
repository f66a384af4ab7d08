/* Whole-file reads, atomic writes (temporary file in the same directory, fsync, rename) and
 * directory helpers. Every output facet writes goes through facet_atomic_* so a crash or a full
 * disk never leaves a half-written file under the final name. */
#ifndef FACET_CORE_FILEIO_H
#define FACET_CORE_FILEIO_H

#include "status.h"

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole file into a NUL-terminated allocation (*size excludes the NUL). */
facet_status facet_read_file(const char *path, char **data, size_t *size);

/* An output being written: `file` is open on a temporary name beside `path`. */
typedef struct facet_atomic_file {
    FILE *file;
    char *path;
    char *temp_path;
} facet_atomic_file;

facet_status facet_atomic_open(facet_atomic_file *out, const char *path);
/* Flushes, fsyncs and renames into place; on any error removes the temporary file. */
facet_status facet_atomic_commit(facet_atomic_file *out);
/* Removes the temporary file; the destination is untouched. Safe to call after commit. */
void facet_atomic_abort(facet_atomic_file *out);

/* Writes `size` bytes to `path` atomically. */
facet_status facet_write_file_atomic(const char *path, const void *data, size_t size);

/* mkdir -p. */
facet_status facet_make_dirs(const char *path);
/* 1 if a regular file / directory exists at path. */
int facet_is_file(const char *path);
int facet_is_dir(const char *path);

/* Joins `relative` onto the directory holding `base_file` unless `relative` is absolute.
 * Returns an allocation. */
char *facet_path_relative_to_file(const char *base_file, const char *relative);
/* Joins a directory and a name with one '/'. Returns an allocation. */
char *facet_path_join(const char *dir, const char *name);
/* Pointer to the last path component (no allocation). */
const char *facet_path_basename(const char *path);
/* Basename without its extension, copied into buf. */
void facet_path_stem(const char *path, char *buf, size_t size);
/* Pointer to the extension including the dot, or "" when there is none. */
const char *facet_path_extension(const char *path);

#ifdef __cplusplus
}
#endif
#endif
