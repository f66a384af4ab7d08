/* Image I/O. Images in memory are float32, row-major, interleaved channels, row 0 at the top:
 * data[(y * width + x) * channels + c].
 *
 * Values are stored as in the file, without colour-space conversion: 8/16-bit files (PNG, JPEG,
 * BMP, TGA) are normalised to [0,1] (still sRGB-encoded); HDR and EXR values are linear radiance.
 * Use color.h to convert between sRGB and linear.
 *
 * Readers: PNG/JPEG/BMP/TGA/HDR through stb_image; EXR through tinyexr, falling back to OpenEXR's
 * C++ reader for the compressions tinyexr lacks (DWAA, DWAB, B44). Writers: PNG through
 * stb_image_write, EXR (half or float, ZIP) through tinyexr. Every write is atomic. */
#ifndef FACET_CORE_IMAGE_H
#define FACET_CORE_IMAGE_H

#include "status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_image {
    int width, height, channels; /* channels: 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) */
    float *data;                 /* width * height * channels floats, owned */
} facet_image;

/* Caps on the images facet decodes, checked against the size the file's header declares before
 * any pixel is decoded: a 4.6 MB PNG of compressed zeros can declare 40000x40000 pixels (6.4 GB
 * as RGB floats). A larger image fails with "too large" and the caps. The pixel cap is 16384^2:
 * a 16k x 8k environment map fits. */
#define FACET_IMAGE_MAX_SIDE 32768
#define FACET_IMAGE_MAX_PIXELS ((int64_t)1 << 28) /* 268,435,456 */

/* The width and height that an image file's header declares, without decoding: PNG (IHDR), JPEG
 * (the first SOFn), EXR (dataWindow), and every other stb_image format through its header reader.
 * Returns 1 and sets both when the header says, 0 when it cannot be told. */
int facet_image_header_size(const unsigned char *data, size_t size, int64_t *width,
                            int64_t *height);

/* FACET_OK when width x height is within the caps, else FACET_ERR_UNSUPPORTED with
 * "cannot read image '<path>': WxH pixels is too large (facet reads at most 32768 pixels a side
 * and 268435456 pixels)". */
facet_status facet_image_check_size(int64_t width, int64_t height, const char *path);

/* Allocates a zeroed image. */
facet_status facet_image_alloc(facet_image *img, int width, int height, int channels);
void facet_image_free(facet_image *img);

/* Reads any supported file, chosen by content (EXR magic) then by stb_image's detection.
 * `channels` 0 keeps the file's channels (EXR: R,G,B, plus A when the file has it; a Y-only file
 * is replicated into R,G,B); 1..4 converts (gray->RGB replicates, RGB->RGBA adds alpha 1,
 * RGBA->RGB drops alpha, RGB->gray takes Rec. 709 luma 0.2126 R + 0.7152 G + 0.0722 B). PNG chunk
 * CRCs and the IEND chunk are checked, and the header's size against the caps above before any
 * decoding. Errors name the file and the reason ("truncated", "too large", ...). */
facet_status facet_image_read(facet_image *img, const char *path, int channels);

/* Writes PNG, 8-bit, from values in [0,1] (clamped, x*255 rounded to nearest). The values are
 * written as given: encode to sRGB first when they are linear. */
facet_status facet_image_write_png(const facet_image *img, const char *path);

/* Writes EXR (ZIP compression). `half` 1 stores f16 channels, 0 f32. Channels 1, 3 or 4
 * (Y / R,G,B / R,G,B,A). */
facet_status facet_image_write_exr(const facet_image *img, const char *path, int half);

/* Chooses by extension: ".png" -> PNG, ".exr" -> EXR (half). */
facet_status facet_image_write(const facet_image *img, const char *path);

#ifdef __cplusplus
}
#endif
#endif
