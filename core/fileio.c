#include "fileio.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

facet_status facet_read_file(const char *path, char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return facet_fail(FACET_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return facet_fail(FACET_ERR_IO, "'%s' is not a regular file", path);
    }
    char *buf = facet_alloc((size_t)st.st_size + 1, 1);
    if (!buf) {
        fclose(f);
        return facet_error_context("reading '%s'", path);
    }
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || got != (size_t)st.st_size) {
        free(buf);
        return facet_fail(FACET_ERR_IO, "cannot read '%s'", path);
    }
    buf[got] = '\0';
    *data = buf;
    *size = got;
    return FACET_OK;
}

facet_status facet_atomic_open(facet_atomic_file *out, const char *path) {
    memset(out, 0, sizeof *out);
    out->path = facet_strdup(path);
    out->temp_path = facet_format("%s.tmp-%ld", path, (long)getpid());
    if (!out->path || !out->temp_path) {
        facet_atomic_abort(out);
        return facet_last_status();
    }
    int fd = open(out->temp_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || !(out->file = fdopen(fd, "wb"))) {
        facet_status s =
            facet_fail(FACET_ERR_IO, "cannot create '%s': %s", out->temp_path, strerror(errno));
        if (fd >= 0) close(fd);
        free(out->path);
        free(out->temp_path);
        memset(out, 0, sizeof *out);
        return s;
    }
    return FACET_OK;
}

facet_status facet_atomic_commit(facet_atomic_file *out) {
    facet_status status = FACET_OK;
    if (!out->file) return facet_fail(FACET_ERR_INVALID_ARGUMENT, "atomic file is not open");
    if (fflush(out->file) != 0 || ferror(out->file) || fsync(fileno(out->file)) != 0)
        status = facet_fail(FACET_ERR_IO, "cannot write '%s': %s", out->path, strerror(errno));
    if (fclose(out->file) != 0 && status == FACET_OK)
        status = facet_fail(FACET_ERR_IO, "cannot write '%s': %s", out->path, strerror(errno));
    out->file = NULL;
    if (status == FACET_OK && rename(out->temp_path, out->path) != 0)
        status = facet_fail(FACET_ERR_IO, "cannot rename '%s' to '%s': %s", out->temp_path,
                            out->path, strerror(errno));
    facet_atomic_abort(out);
    return status;
}

void facet_atomic_abort(facet_atomic_file *out) {
    if (out->file) fclose(out->file);
    if (out->temp_path) unlink(out->temp_path); /* after a commit the name no longer exists */
    free(out->path);
    free(out->temp_path);
    memset(out, 0, sizeof *out);
}

facet_status facet_write_file_atomic(const char *path, const void *data, size_t size) {
    facet_atomic_file out;
    facet_status s = facet_atomic_open(&out, path);
    if (s != FACET_OK) return s;
    if (size && fwrite(data, 1, size, out.file) != size) {
        s = facet_fail(FACET_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        facet_atomic_abort(&out);
        return s;
    }
    return facet_atomic_commit(&out);
}

facet_status facet_make_dirs(const char *path) {
    char *buf = facet_strdup(path);
    if (!buf) return facet_last_status();
    size_t n = strlen(buf);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            facet_status s =
                facet_fail(FACET_ERR_IO, "cannot create directory '%s': %s", buf, strerror(errno));
            free(buf);
            return s;
        }
        buf[i] = saved;
    }
    free(buf);
    if (!facet_is_dir(path))
        return facet_fail(FACET_ERR_IO, "'%s' exists and is not a directory", path);
    return FACET_OK;
}

int facet_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int facet_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *facet_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    if (n == 0) return facet_strdup(name);
    return facet_format("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

char *facet_path_relative_to_file(const char *base_file, const char *relative) {
    if (relative[0] == '/') return facet_strdup(relative);
    const char *slash = strrchr(base_file, '/');
    if (!slash) return facet_strdup(relative);
    return facet_format("%.*s/%s", (int)(slash - base_file), base_file, relative);
}

const char *facet_path_basename(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

const char *facet_path_extension(const char *path) {
    const char *base = facet_path_basename(path);
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot : "";
}

void facet_path_stem(const char *path, char *buf, size_t size) {
    const char *base = facet_path_basename(path);
    size_t n = strlen(base) - strlen(facet_path_extension(base));
    if (n >= size) n = size - 1;
    memcpy(buf, base, n);
    buf[n] = '\0';
}
