/* Image files through facet_image_read: PNG (with facet's chunk/CRC walk), JPEG, BMP, TGA, HDR and
 * whatever else stb_image detects, and EXR (tinyexr, then the OpenEXR fallback). The format is
 * chosen by content, as facet does; the requested channel count (0..4) by the input's length.
 * Inputs whose header declares a side over FUZZ_MAX_IMAGE_SIDE are not decoded (fuzz_common.h).
 *
 * The same file is also a dataset's only frame, in a transforms.json without w/h, so that
 * facet_dataset_load reads its size from the header (datasets/transforms.c: stb_image's info
 * facet_image_header_size).
 *
 * Built twice: fuzz_image (any input) and fuzz_exr (FUZZ_EXR_ONLY: the input's first four bytes
 * are replaced by the EXR magic, so every input reaches the EXR readers; the OpenEXR reader is also
 * called directly, so it sees the files tinyexr accepts too). */
#include "fuzz_common.h"

#include "core/exr_openexr.h"
#include "core/image.h"
#include "datasets/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FUZZ_EXR_ONLY
#define FUZZ_TARGET "exr"
#define FUZZ_FRAME "frame.exr"
#else
#define FUZZ_TARGET "image"
#define FUZZ_FRAME "frame.png"
#endif

static char dataset[4096], frame[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init(FUZZ_TARGET);
    snprintf(dataset, sizeof dataset, "%s", fuzz_path(0, "dataset"));
    fuzz_mkdir(dataset);
    snprintf(frame, sizeof frame, "%s/" FUZZ_FRAME, dataset);
    static const char transforms[] =
        "{\"camera_angle_x\": 0.7, \"frames\": [{\"file_path\": \"" FUZZ_FRAME "\", "
        "\"transform_matrix\": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}]}";
    fuzz_write(fuzz_path(1, "dataset/transforms.json"), transforms, sizeof transforms - 1);
    return 0;
}

static void check_image(const facet_image *img) {
    if (img->width <= 0 || img->height <= 0 || img->channels < 1 || img->channels > 4 || !img->data)
        __builtin_trap();
    size_t n = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    volatile float sink = img->data[0] + img->data[n - 1];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    facet_clear_error();
    const uint8_t *bytes = data;
    uint8_t *copy = NULL;
#ifdef FUZZ_EXR_ONLY
    static const uint8_t exr_magic[4] = {0x76, 0x2f, 0x31, 0x01};
    if (size < 4) return 0;
    if (memcmp(data, exr_magic, 4) != 0) {
        copy = malloc(size);
        if (!copy) abort();
        memcpy(copy, data, size);
        memcpy(copy, exr_magic, 4);
        bytes = copy;
    }
#endif
    /* R1-R6 are fixed in facet (docs/fuzzing.md, "Findings"): only decoding within the harness's
     * memory limit is screened here */
    const int read_image = !fuzz_image_too_large(bytes, size);
    fuzz_write(frame, bytes, size);
    free(copy);
    facet_image img;
    if (read_image) {
        int channels = (int)(size % 5);
        if (facet_image_read(&img, frame, channels) == FACET_OK) {
            check_image(&img);
            if (channels && img.channels != channels) __builtin_trap();
            facet_image_free(&img);
        }
#ifdef FUZZ_EXR_ONLY
        facet_clear_error();
        if (facet_exr_read_openexr(frame, &img) == FACET_OK) {
            check_image(&img);
            facet_image_free(&img);
        } else if (img.data) {
            __builtin_trap(); /* "on failure img is left empty" */
        }
#endif
    }
    {
        facet_dataset ds;
        facet_clear_error();
        if (facet_dataset_load(&ds, dataset, FACET_SPLIT_ALL) == FACET_OK) {
            if (ds.frame_count != 1 || ds.frames[0].width <= 0 || ds.frames[0].height <= 0)
                __builtin_trap();
            facet_dataset_free(&ds);
        }
    }
    return 0;
}
