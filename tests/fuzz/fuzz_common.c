/* Shared helpers of the libFuzzer harnesses (fuzz_common.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "fuzz_common.h"

#include "core/status.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>

enum { SLOTS = 8, PATH_CAPACITY = 4096 };

static char dir[PATH_CAPACITY];

static void die(const char *what, const char *path) {
    fprintf(stderr, "fuzz harness: %s '%s': %s\n", what, path, strerror(errno));
    abort();
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_dir(void) {
    if (dir[0]) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_init(const char *target) {
    /* one OpenMP thread: deterministic reductions, no idle workers spinning next to the fuzzer */
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OMP_WAIT_POLICY", "passive", 1);
    if (dir[0]) return;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0]) tmp = "/tmp";
    snprintf(dir, sizeof dir, "%s/facet-fuzz-%s-XXXXXX", tmp, target);
    if (!mkdtemp(dir)) die("cannot create", dir);
    atexit(remove_dir);
}

const char *fuzz_dir(void) {
    if (!dir[0]) {
        fprintf(stderr, "fuzz harness: fuzz_init was not called\n");
        abort();
    }
    return dir;
}

const char *fuzz_path(int slot, const char *name) {
    static char paths[SLOTS][PATH_CAPACITY];
    if (slot < 0 || slot >= SLOTS) abort();
    snprintf(paths[slot], PATH_CAPACITY, "%s/%s", fuzz_dir(), name);
    return paths[slot];
}

const char *fuzz_source(int slot, const char *relative) {
    static char paths[SLOTS][PATH_CAPACITY];
    if (slot < 0 || slot >= SLOTS) abort();
    snprintf(paths[slot], PATH_CAPACITY, "%s/%s", FACET_SOURCE_DIR, relative);
    return paths[slot];
}

void fuzz_write(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create", path);
    if ((size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) die("cannot write", path);
}

void fuzz_copy(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) die("cannot open", from);
    FILE *out = fopen(to, "wb");
    if (!out) die("cannot create", to);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) die("cannot write", to);
    if (ferror(in)) die("cannot read", from);
    fclose(in);
    if (fclose(out) != 0) die("cannot write", to);
}

void fuzz_mkdir(const char *path) {
    char buf[PATH_CAPACITY];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) die("cannot create", buf);
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) die("cannot create", buf);
}

void fuzz_unlink(const char *path) {
    if (unlink(path) != 0 && errno != ENOENT) die("cannot remove", path);
}

void fuzz_dataset_dir(const char *dir, int without_transforms, int without_yaml) {
    static const char fixture[] = "tests/fixtures/livescene/dataset";
    char from[PATH_CAPACITY], to[PATH_CAPACITY];
    for (int sub = 0; sub < 4; sub++) {
        static const char *const subdirs[] = {"images", "masks", "test", "train"};
        snprintf(to, sizeof to, "%s/%s", dir, subdirs[sub]);
        fuzz_mkdir(to);
    }
    for (int i = 1; i <= 6; i++) {
        snprintf(from, sizeof from, "%s/%s/images/frame_%05d.png", FACET_SOURCE_DIR, fixture, i);
        snprintf(to, sizeof to, "%s/images/frame_%05d.png", dir, i);
        fuzz_copy(from, to);
        snprintf(from, sizeof from, "%s/%s/masks/%05d.npy", FACET_SOURCE_DIR, fixture, i);
        snprintf(to, sizeof to, "%s/masks/%05d.npy", dir, i);
        fuzz_copy(from, to);
    }
    static const char *const files[][2] = {
        {"tests/fixtures/livescene/dataset/transforms.json", "transforms.json"},
        {"tests/fixtures/livescene/dataset/mapping.yaml", "mapping.yaml"},
        {"tests/fixtures/livescene/dataset/key_frame_value.yaml", "key_frame_value.yaml"},
        {"tests/fixtures/envmap_blender/view_0.exr", "view_0.exr"},
        {"assets/demo/data/test/r_0.png", "test/r_0.png"},
        {"assets/demo/data/train/r_1.png", "train/r_1.png"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (i == 0 && without_transforms) continue;
        if ((i == 1 || i == 2) && without_yaml) continue;
        snprintf(from, sizeof from, "%s/%s", FACET_SOURCE_DIR, files[i][0]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i][1]);
        fuzz_copy(from, to);
    }
}

static int32_t le32(const uint8_t *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

/* Every box2i attribute called dataWindow or displayWindow, and every tile description, in any
 * header of the file (multi-part files have several): the scan looks at the raw bytes, so an
 * attribute the mutator damaged is still caught as long as its name survived. */
static int exr_too_large(const uint8_t *data, size_t size) {
    static const char *const windows[] = {"dataWindow", "displayWindow"};
    for (size_t i = 0; i < size; i++) {
        for (int w = 0; w < 2; w++) {
            size_t n = strlen(windows[w]) + 1;
            static const char box[] = "box2i";
            if (size - i < n + sizeof box + 4 + 16) continue;
            if (memcmp(data + i, windows[w], n) != 0 || memcmp(data + i + n, box, sizeof box) != 0)
                continue;
            const uint8_t *v = data + i + n + sizeof box + 4;
            int64_t width = (int64_t)le32(v + 8) - le32(v) + 1;
            int64_t height = (int64_t)le32(v + 12) - le32(v + 4) + 1;
            if (width > FUZZ_MAX_IMAGE_SIDE || height > FUZZ_MAX_IMAGE_SIDE) return 1;
        }
        static const char tiles[] = "tiles\0tiledesc"; /* then the size, then x and y size */
        if (size - i >= sizeof tiles + 4 + 8 && memcmp(data + i, tiles, sizeof tiles) == 0) {
            const uint8_t *v = data + i + sizeof tiles + 4;
            uint32_t tx = (uint32_t)le32(v), ty = (uint32_t)le32(v + 4);
            if (tx > FUZZ_MAX_IMAGE_SIDE || ty > FUZZ_MAX_IMAGE_SIDE) return 1;
        }
    }
    return 0;
}

int fuzz_image_too_large(const uint8_t *data, size_t size) {
    static const uint8_t exr_magic[4] = {0x76, 0x2f, 0x31, 0x01};
    if (size >= 4 && memcmp(data, exr_magic, 4) == 0) return exr_too_large(data, size);
    if (size > (size_t)0x7fffffff) return 1;
    int width = 0, height = 0, channels = 0;
    if (!stbi_info_from_memory(data, (int)size, &width, &height, &channels)) return 0;
    return width > FUZZ_MAX_IMAGE_SIDE || height > FUZZ_MAX_IMAGE_SIDE;
}

char *fuzz_strndup(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
