/* The on-disk lighting cache (lighting_cache.h): naming its directory, keying, reading, writing and
 * pruning. */
#define _GNU_SOURCE /* fstatat, unlinkat, dirfd */
#include "lighting_cache.h"

#include "core/alloc.h"
#include "core/build_id.h"
#include "core/fileio.h"
#include "core/sha256.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char MAGIC[8] = {'F', 'C', 'T', 'L', 'I', 'G', 'H', 'T'};
static const char SUFFIX[] = ".lighting";
static const char TEMP_MARK[] = ".lighting.tmp-";
static const char anchor = 0; /* an address inside this build's code and data (facet_build_id) */

char *facet_lighting_cache_dir(void) {
    const char *dir = getenv("FACET_CACHE_DIR");
    if (dir && *dir) return strcmp(dir, "off") ? facet_path_join(dir, "lighting") : NULL;
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/') return facet_format("%s/facet/lighting", xdg);
    const char *home = getenv("HOME");
    if (home && *home) return facet_format("%s/.cache/facet/lighting", home);
    return NULL;
}

static void hash_int(facet_sha256 *h, int64_t v) {
    facet_sha256_update(h, &v, sizeof v);
}

static void hash_float(facet_sha256 *h, float v) {
    facet_sha256_update(h, &v, sizeof v);
}

int facet_lighting_cache_key(const facet_envmap_view *env, const facet_lighting_options *options,
                             facet_device device, char key[65]) {
    char build[129];
    if (!facet_build_id(&anchor, build, sizeof build)) return 0;
    facet_sha256 h;
    facet_sha256_init(&h);
    static const char identity[] = "facet-lighting-cache 1\n";
    facet_sha256_update(&h, identity, sizeof identity - 1);
    facet_sha256_update(&h, build, strlen(build) + 1);
    hash_int(&h, (int64_t)device);
    hash_int(&h, (int64_t)options->mode);
    hash_int(&h, options->size);
    hash_int(&h, options->samples);
    hash_int(&h, (int64_t)options->filter);
    hash_int(&h, options->reference_samples);
    hash_int(&h, env->width);
    hash_int(&h, env->height);
    hash_int(&h, (int64_t)env->convention);
    hash_float(&h, env->rotation_cos);
    hash_float(&h, env->rotation_sin);
    hash_float(&h, env->strength);
    facet_sha256_update(&h, env->rgb, (size_t)env->width * (size_t)env->height * 3 * sizeof(float));
    unsigned char digest[32];
    facet_sha256_final(&h, digest);
    for (int i = 0; i < 32; i++) snprintf(key + 2 * i, 3, "%02x", digest[i]);
    return 1;
}

/* ---- the payload: specular levels, then the diffuse cube ------------------------------------ */

static int payload_parts(const facet_lighting *l, float **part, size_t *floats) {
    const int levels = l->specular.levels;
    for (int i = 0; i < levels; i++) {
        part[i] = l->specular.level[i];
        floats[i] = facet_cube_level_floats(l->specular.sizes[i]);
    }
    part[levels] = l->diffuse;
    floats[levels] = facet_cube_level_floats(l->view.diffuse_size);
    return levels + 1;
}

static uint64_t fnv_words(uint64_t h, const void *data, size_t bytes) {
    const unsigned char *p = data;
    for (; bytes >= 8; bytes -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        h = (h ^ w) * 0x100000001B3ULL;
    }
    if (bytes) {
        uint64_t w = 0;
        memcpy(&w, p, bytes);
        h = (h ^ w) * 0x100000001B3ULL;
    }
    return h;
}

static const uint64_t FNV_OFFSET = 0xCBF29CE484222325ULL;

/* The header fields after the magic, as written. */
typedef struct cache_header {
    uint32_t version, levels, diffuse_size, ladder;
    uint32_t sizes[FACET_CUBE_MAX_LEVELS];
    float roughness[FACET_CUBE_MAX_LEVELS];
} cache_header;

static void header_of(const facet_lighting *l, cache_header *h) {
    memset(h, 0, sizeof *h);
    h->version = FACET_LIGHTING_CACHE_VERSION;
    h->levels = (uint32_t)l->specular.levels;
    h->diffuse_size = (uint32_t)l->view.diffuse_size;
    h->ladder = (uint32_t)l->view.ladder;
    for (int i = 0; i < l->specular.levels; i++) {
        h->sizes[i] = (uint32_t)l->specular.sizes[i];
        h->roughness[i] = l->view.level_roughness[i];
    }
}

static char *file_path(const char *dir, const char *key) {
    return facet_format("%s/%s%s", dir, key, SUFFIX);
}

int facet_lighting_cache_read(const char *dir, const char *key, facet_lighting *out) {
    char *path = file_path(dir, key);
    FILE *f = path ? fopen(path, "rb") : NULL;
    free(path);
    if (!f) {
        facet_clear_error();
        return 0;
    }
    cache_header want, got;
    header_of(out, &want);
    memset(&got, 0, sizeof got);
    char magic[8];
    const size_t n = want.levels;
    int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, MAGIC, 8) &&
             fread(&got.version, 4, 4, f) == 4 && got.version == want.version &&
             got.levels == want.levels && got.diffuse_size == want.diffuse_size &&
             got.ladder == want.ladder && fread(got.sizes, 4, n, f) == n &&
             fread(got.roughness, 4, n, f) == n && !memcmp(got.sizes, want.sizes, 4 * n) &&
             !memcmp(got.roughness, want.roughness, 4 * n);
    uint64_t stored = 0, h = FNV_OFFSET;
    ok = ok && fread(&stored, sizeof stored, 1, f) == 1;
    float *part[FACET_CUBE_MAX_LEVELS + 1];
    size_t floats[FACET_CUBE_MAX_LEVELS + 1];
    const int parts = ok ? payload_parts(out, part, floats) : 0;
    for (int i = 0; ok && i < parts; i++) {
        ok = fread(part[i], sizeof(float), floats[i], f) == floats[i];
        if (ok) h = fnv_words(h, part[i], floats[i] * sizeof(float));
    }
    ok = ok && fgetc(f) == EOF && !ferror(f) && h == stored;
    fclose(f);
    return ok;
}

/* ---- writing and pruning ------------------------------------------------------------------- */

typedef struct cache_file {
    char *name;
    time_t mtime;
} cache_file;

static int older_first(const void *a, const void *b) {
    const cache_file *x = a, *y = b;
    return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

static int ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Keeps the FACET_LIGHTING_CACHE_KEEP newest files ending in `suffix` and removes temporaries older
 * than an hour (their writer was killed: a live one renames within seconds). */
static void prune(const char *dir, const char *suffix, const char *temp_mark) {
    DIR *d = opendir(dir);
    if (!d) return;
    cache_file *files = NULL;
    size_t count = 0, capacity = 0;
    const time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        const int temp = strstr(e->d_name, temp_mark) != NULL;
        if (!temp && !ends_with(e->d_name, suffix)) continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (temp) {
            if (now - st.st_mtime > 3600) unlinkat(dirfd(d), e->d_name, 0);
            continue;
        }
        if (count == capacity) {
            const size_t grown = capacity ? 2 * capacity : 16;
            cache_file *more = realloc(files, grown * sizeof *files);
            if (!more) break;
            files = more, capacity = grown;
        }
        files[count].name = strdup(e->d_name);
        files[count].mtime = st.st_mtime;
        if (files[count].name) count++;
    }
    if (count > FACET_LIGHTING_CACHE_KEEP) {
        qsort(files, count, sizeof *files, older_first);
        for (size_t i = 0; i + FACET_LIGHTING_CACHE_KEEP < count; i++)
            unlinkat(dirfd(d), files[i].name, 0);
    }
    for (size_t i = 0; i < count; i++) free(files[i].name);
    free(files);
    closedir(d);
}

facet_status facet_lighting_cache_write(const char *dir, const char *key,
                                        const facet_lighting *lighting) {
    facet_status s = facet_make_dirs(dir);
    if (s != FACET_OK) return s;
    char *path = file_path(dir, key);
    if (!path) return facet_last_status();
    cache_header h;
    header_of(lighting, &h);
    float *part[FACET_CUBE_MAX_LEVELS + 1];
    size_t floats[FACET_CUBE_MAX_LEVELS + 1];
    const int parts = payload_parts(lighting, part, floats);
    uint64_t hash = FNV_OFFSET;
    for (int i = 0; i < parts; i++) hash = fnv_words(hash, part[i], floats[i] * sizeof(float));
    facet_atomic_file out;
    s = facet_atomic_open(&out, path);
    if (s == FACET_OK) {
        const size_t n = h.levels;
        int ok = fwrite(MAGIC, 1, 8, out.file) == 8 && fwrite(&h.version, 4, 4, out.file) == 4 &&
                 fwrite(h.sizes, 4, n, out.file) == n && fwrite(h.roughness, 4, n, out.file) == n &&
                 fwrite(&hash, sizeof hash, 1, out.file) == 1;
        for (int i = 0; ok && i < parts; i++)
            ok = fwrite(part[i], sizeof(float), floats[i], out.file) == floats[i];
        if (!ok) {
            s = facet_fail(FACET_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
            facet_atomic_abort(&out);
        } else {
            s = facet_atomic_commit(&out);
        }
    }
    free(path);
    if (s == FACET_OK) prune(dir, SUFFIX, TEMP_MARK);
    return s;
}

/* ---- tables --------------------------------------------------------------------------------- */

/* DIR/NAME-BUILDID.table, or NULL (no DIR, no build ID). */
static char *table_path(const char *dir, const char *name) {
    char build[129];
    char *path = dir && facet_build_id(&anchor, build, sizeof build)
                     ? facet_format("%s/%s-%s.table", dir, name, build)
                     : NULL;
    facet_clear_error();
    return path;
}

int facet_lighting_cache_read_table(const char *name, void *data, size_t bytes) {
    char *dir = facet_lighting_cache_dir(), *path = table_path(dir, name);
    free(dir);
    FILE *f = path ? fopen(path, "rb") : NULL;
    free(path);
    if (!f) return 0;
    uint64_t stored = 0;
    int ok = fread(data, 1, bytes, f) == bytes && fread(&stored, sizeof stored, 1, f) == 1 &&
             fgetc(f) == EOF && !ferror(f) && fnv_words(FNV_OFFSET, data, bytes) == stored;
    fclose(f);
    return ok;
}

void facet_lighting_cache_write_table(const char *name, const void *data, size_t bytes) {
    char *dir = facet_lighting_cache_dir(), *path = table_path(dir, name);
    const uint64_t hash = fnv_words(FNV_OFFSET, data, bytes);
    facet_atomic_file out;
    if (path && dir && facet_make_dirs(dir) == FACET_OK &&
        facet_atomic_open(&out, path) == FACET_OK) {
        if (fwrite(data, 1, bytes, out.file) == bytes &&
            fwrite(&hash, sizeof hash, 1, out.file) == 1) {
            if (facet_atomic_commit(&out) == FACET_OK) prune(dir, ".table", ".table.tmp-");
        } else {
            facet_atomic_abort(&out);
        }
    }
    free(path);
    free(dir);
    facet_clear_error();
}
