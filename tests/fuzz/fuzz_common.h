/* Shared helpers of the libFuzzer harnesses (tests/fuzz, docs/fuzzing.md).
 *
 * Every harness works in one private directory, created on first use under $TMPDIR (or /tmp) as
 * facet-fuzz-<target>-XXXXXX, reused by every iteration and removed at exit: the parsers take
 * paths, so each input is written there first. Nothing is written anywhere else. */
#ifndef FACET_TESTS_FUZZ_COMMON_H
#define FACET_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifndef FACET_SOURCE_DIR
#error "FACET_SOURCE_DIR must name the source tree (tests/fuzz/CMakeLists.txt defines it)"
#endif

/* Images whose header declares more than this many pixels per side are skipped by the harnesses,
 * so decoders do not allocate gigabytes (libFuzzer's -rss_limit_mb would report it as a crash). */
enum { FUZZ_MAX_IMAGE_SIDE = 4096 };

/* Process-wide setup, from LLVMFuzzerInitialize: one OpenMP thread (determinism, no spinning
 * workers), the private directory. `target` names the directory. */
void fuzz_init(const char *target);

/* The private directory, and `name` inside it (a static buffer per slot 0..7). */
const char *fuzz_dir(void);
const char *fuzz_path(int slot, const char *name);

/* A file under the source tree (fixtures), in a static buffer per slot 0..7. */
const char *fuzz_source(int slot, const char *relative);

/* Writes `size` bytes to `path` (truncating), creating no directories; aborts on I/O failure,
 * which is the harness's fault, not the parser's. */
void fuzz_write(const char *path, const void *data, size_t size);
/* Copies a file (a fixture into the private directory); aborts on failure. */
void fuzz_copy(const char *from, const char *to);
/* mkdir -p of a directory under the private one; aborts on failure. */
void fuzz_mkdir(const char *path);
/* Removes a file if present. */
void fuzz_unlink(const char *path);

/* 1 when `data` is an image (PNG, JPEG, BMP, TGA, HDR, PSD, GIF, PNM as stb_image sees it, or an
 * EXR data/display window) whose header declares a side longer than FUZZ_MAX_IMAGE_SIDE, or an EXR
 * window whose pixel count overflows int64 (a reported finding in core/image.c). */
int fuzz_image_too_large(const uint8_t *data, size_t size);

/* Fills `dir` (created) with the LiveScene dataset fixture's files,
 * tests/fixtures/livescene/dataset: images/frame_0000{1..6}.png, masks/0000{1..6}.npy, and unless
 * `without_yaml` its mapping.yaml and key_frame_value.yaml, unless `without_transforms` its
 * transforms.json; also view_0.exr (the envmap_blender fixture's frame) and test/r_0.png,
 * train/r_1.png (the demo data's) so the other datasets' seeds resolve. */
void fuzz_dataset_dir(const char *dir, int without_transforms, int without_yaml);

/* A NUL-terminated copy of the input (the caller frees it). */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
