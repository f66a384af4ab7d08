/* FQGAN's image preprocessing, bit-exact with the official PIL + torchvision pipeline:
 *
 *     Image.open(path).convert('RGB')            facet_rgb8_decode
 *     center_crop_arr(image, 256)  (ADM)          facet_center_crop_arr
 *     ToTensor(); Normalize(0.5, 0.5)             facet_rgb8_to_tensor
 *
 * Decoding: JPEG through libjpeg-turbo with the settings Pillow uses (ISLOW DCT, fancy
 * upsampling), so pixels equal Pillow's on the same library; PNG, BMP, GIF, TGA, PSD and PNM
 * through stb_image. Conversion to RGB as PIL's convert('RGB') does: gray replicated, alpha
 * dropped (not composited), palettes looked up (transparency ignored), 16-bit colour channels
 * take their high byte (PIL's ;16B unpackers), 16-bit gray saturates at 255 (PIL's I/I;16 -> RGB
 * clips values above 255 rather than scaling them), CMYK JPEGs are read as Adobe-inverted CMYK
 * and converted with PIL's cmyk2rgb. Files PIL cannot open fail (truncated data, corrupt data,
 * empty files, 12-bit JPEGs, Radiance HDR, images beyond Pillow's decompression-bomb limit).
 * Checked bit-exact against Pillow for JPEG, PNG (every colour type and depth) and BMP. One known
 * difference: a GIF's transparent pixels (stb_image blanks them; PIL shows their palette colour).
 *
 * Resizing reproduces Pillow's Resample.c (ImagingResample): a separable filter whose support
 * scales with the reduction factor, coefficients normalised to sum 1 then quantised to 22-bit
 * fixed point, a horizontal then a vertical pass, each rounding and clipping to 8 bits.
 *
 * Images are 8-bit RGB, row-major, interleaved: data[(y * width + x) * 3 + c]. */
#ifndef FACET_TOKENIZER_PREPROCESS_H
#define FACET_TOKENIZER_PREPROCESS_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Pillow's Image.MAX_IMAGE_PIXELS: open() raises DecompressionBombError above twice this. */
enum { FACET_PIL_MAX_IMAGE_PIXELS = 89478485 };

typedef struct facet_rgb8 {
    int width, height;
    uint8_t *data; /* width * height * 3 bytes, owned */
} facet_rgb8;

facet_status facet_rgb8_alloc(facet_rgb8 *img, int width, int height);
void facet_rgb8_free(facet_rgb8 *img);

/* Decodes an encoded image held in memory as PIL's Image.open(...).convert('RGB'). Messages
 * state the reason only ("truncated JPEG", "empty file", ...): callers add the file name. */
facet_status facet_rgb8_decode(const unsigned char *data, size_t size, facet_rgb8 *out);
/* Reads and decodes a file; messages start with the path. */
facet_status facet_rgb8_read(const char *path, facet_rgb8 *out);

typedef enum facet_resample {
    FACET_RESAMPLE_BOX = 0, /* Image.BOX: support 0.5 */
    FACET_RESAMPLE_BICUBIC  /* Image.BICUBIC: Keys cubic, a = -0.5, support 2 */
} facet_resample;

/* Pillow's image.resize((out_width, out_height), filter), computing only the output window
 * [x0, x0 + out->width) x [y0, y0 + out->height): `out` must be allocated with the window's
 * size. Every output pixel equals the corresponding pixel of the full resize. */
facet_status facet_resize_window(const facet_rgb8 *in, int out_width, int out_height,
                                 facet_resample filter, int x0, int y0, facet_rgb8 *out);
/* The full resize; allocates `out`. */
facet_status facet_resize(const facet_rgb8 *in, int out_width, int out_height,
                          facet_resample filter, facet_rgb8 *out);

/* ADM's center_crop_arr(image, size): BOX-halve to (w // 2, h // 2) while min(w, h) >= 2 size,
 * resize BICUBIC so the short side is `size` (each side round(side * size / min(w, h)), Python's
 * round: half to even), then crop size x size at ((h' - size) // 2, (w' - size) // 2). Only the
 * crop of the bicubic resize is computed. Allocates `out` (size x size). */
facet_status facet_center_crop_arr(const facet_rgb8 *in, int size, facet_rgb8 *out);

/* ToTensor + Normalize(0.5, 0.5) in float32 as torchvision computes it:
 * chw[c][y][x] = (v / 255 - 0.5) / 0.5, a [3, height, width] tensor in [-1, 1]. */
void facet_rgb8_to_tensor(const facet_rgb8 *img, float *chw);

/* The official preprocessing of one encoded image: decode, center_crop_arr(size), tensor.
 * `crop` (may be NULL) receives the size x size 8-bit crop (allocated); `chw` (may be NULL)
 * receives 3 * size * size floats. Messages state the reason only. */
facet_status facet_preprocess_image(const unsigned char *data, size_t size, int image_size,
                                    facet_rgb8 *crop, float *chw);

#ifdef __cplusplus
}
#endif
#endif
