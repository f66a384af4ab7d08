/* FQGAN preprocessing: PIL-exact decoding to RGB, Pillow's resampling, ADM's center_crop_arr.
 *
 * Floating-point expressions here are evaluated as written: the build's -std=c11 keeps GCC from
 * contracting them into fused multiply-adds, which would move filter weights by an ulp and, at a
 * rounding boundary, a pixel by one level relative to Pillow. */
#include "preprocess.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/image.h"

#include <jerror.h>
#include <jpeglib.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

facet_status facet_rgb8_alloc(facet_rgb8 *img, int width, int height) {
    img->width = img->height = 0;
    img->data = NULL;
    if (width <= 0 || height <= 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "image size %dx%d is not positive", width,
                          height);
    size_t pixels;
    if (facet_mul_size((size_t)width, (size_t)height, &pixels) != 0)
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "image size %dx%d overflows", width, height);
    img->data = facet_alloc(pixels, 3);
    if (!img->data) return FACET_ERR_OUT_OF_MEMORY;
    img->width = width;
    img->height = height;
    return FACET_OK;
}

void facet_rgb8_free(facet_rgb8 *img) {
    free(img->data);
    img->data = NULL;
    img->width = img->height = 0;
}

/* Pillow refuses (DecompressionBombError) images of more than twice MAX_IMAGE_PIXELS; checked
 * from the header, before any decoding. */
static facet_status check_pixel_limit(int64_t width, int64_t height) {
    if (width * height > 2 * (int64_t)FACET_PIL_MAX_IMAGE_PIXELS)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "image of %lldx%lld pixels is too large: it exceeds Pillow's "
                          "decompression-bomb limit of %lld pixels",
                          (long long)width, (long long)height,
                          2 * (long long)FACET_PIL_MAX_IMAGE_PIXELS);
    return FACET_OK;
}

/* ---- JPEG: libjpeg-turbo with Pillow's decoder settings -------------------------------------- */

typedef struct jpeg_context {
    struct jpeg_error_mgr errors; /* first member: libjpeg hands back a pointer to it */
    struct jpeg_decompress_struct info;
    jmp_buf jump;
    int reached_end; /* the data ended before the image did (libjpeg's JWRN_JPEG_EOF) */
    char message[JMSG_LENGTH_MAX];
    unsigned char *row; /* one decoded scanline, output_components bytes per pixel */
} jpeg_context;

static void jpeg_on_error(j_common_ptr info) {
    jpeg_context *context = (jpeg_context *)info->err;
    info->err->format_message(info, context->message);
    longjmp(context->jump, 1);
}

/* Warnings do not stop Pillow; only running out of data does ("image file is truncated"). */
static void jpeg_on_message(j_common_ptr info, int level) {
    jpeg_context *context = (jpeg_context *)info->err;
    if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) context->reached_end = 1;
}

static void jpeg_silent(j_common_ptr info) {
    (void)info;
}

/* PIL's CMYK;I unpacker inverts Adobe CMYK, then cmyk2rgb: nk = 255 - k,
 * channel = clip(nk - round(channel * nk / 255)) with the exact MULDIV255 rounding. */
static inline uint8_t cmyk_channel(int ink, int nk) {
    int product = ink * nk + 128;
    int value = nk - (((product >> 8) + product) >> 8);
    return (uint8_t)(value < 0 ? 0 : value > 255 ? 255 : value);
}

static void jpeg_row_to_rgb(const unsigned char *row, int components, int width, uint8_t *rgb) {
    for (int x = 0; x < width; x++, rgb += 3) {
        const unsigned char *p = row + (size_t)x * components;
        if (components == 1) {
            rgb[0] = rgb[1] = rgb[2] = p[0];
        } else if (components == 3) {
            rgb[0] = p[0];
            rgb[1] = p[1];
            rgb[2] = p[2];
        } else { /* Adobe CMYK is stored inverted: ink = 255 - stored */
            const int black = 255 - p[3], nk = 255 - black;
            rgb[0] = cmyk_channel(255 - p[0], nk);
            rgb[1] = cmyk_channel(255 - p[1], nk);
            rgb[2] = cmyk_channel(255 - p[2], nk);
        }
    }
}

/* Runs libjpeg; returns 0 on success, 1 after a libjpeg error (message in context), 2 after a
 * facet error (message set). setjmp lives here so that the caller's locals stay determinate. */
static int jpeg_run(jpeg_context *context, const unsigned char *data, size_t size,
                    facet_rgb8 *out) {
    struct jpeg_decompress_struct *info = &context->info;
    if (setjmp(context->jump)) return 1;
    jpeg_mem_src(info, data, (unsigned long)size);
    jpeg_read_header(info, TRUE);
    if (info->data_precision != 8) {
        facet_fail(FACET_ERR_UNSUPPORTED, "cannot handle %d-bit JPEG samples (PIL reads 8 only)",
                   info->data_precision);
        return 2;
    }
    switch (info->num_components) {
    case 1:
        info->out_color_space = JCS_GRAYSCALE;
        break;
    case 3:
        info->out_color_space = JCS_RGB;
        break;
    case 4:
        info->out_color_space = JCS_CMYK;
        break;
    default:
        facet_fail(FACET_ERR_UNSUPPORTED, "cannot handle %d-layer JPEG images",
                   info->num_components);
        return 2;
    }
    if (check_pixel_limit(info->image_width, info->image_height) != FACET_OK) return 2;
    jpeg_start_decompress(info);
    const int width = (int)info->output_width, components = info->output_components;
    if (facet_rgb8_alloc(out, width, (int)info->output_height) != FACET_OK) return 2;
    context->row = facet_alloc((size_t)width, (size_t)components);
    if (!context->row) return 2;
    while (info->output_scanline < info->output_height) {
        JSAMPROW rows[1] = {context->row};
        size_t y = info->output_scanline;
        jpeg_read_scanlines(info, rows, 1);
        jpeg_row_to_rgb(context->row, components, width, out->data + y * (size_t)width * 3);
    }
    return 0;
}

static facet_status decode_jpeg(const unsigned char *data, size_t size, facet_rgb8 *out) {
    jpeg_context *context = facet_alloc_zeroed(1, sizeof *context);
    if (!context) return FACET_ERR_OUT_OF_MEMORY;
    context->info.err = jpeg_std_error(&context->errors);
    context->errors.error_exit = jpeg_on_error;
    context->errors.emit_message = jpeg_on_message;
    context->errors.output_message = jpeg_silent;
    jpeg_create_decompress(&context->info);
    out->data = NULL;
    int result = jpeg_run(context, data, size, out);
    facet_status status = FACET_OK;
    if (result == 2) {
        status = facet_last_status();
    } else if (context->reached_end) {
        status = facet_fail(FACET_ERR_FORMAT, "truncated JPEG (the data ends before the image)");
    } else if (result == 1 && context->errors.msg_code == JERR_BAD_PRECISION) {
        status = facet_fail(FACET_ERR_UNSUPPORTED,
                            "cannot handle %d-bit JPEG samples (PIL reads "
                            "8 only)",
                            context->info.data_precision);
    } else if (result == 1) {
        status = facet_fail(FACET_ERR_FORMAT, "corrupt JPEG: %s", context->message);
    }
    jpeg_destroy_decompress(&context->info);
    free(context->row);
    free(context);
    if (status != FACET_OK) facet_rgb8_free(out);
    return status;
}

/* ---- PNG structure, as far as Pillow checks it ----------------------------------------------- */

static uint32_t crc32_update(uint32_t crc, const unsigned char *data, size_t size) {
    for (size_t i = 0; i < size; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

static uint32_t read_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_chunk_type(const unsigned char *p) {
    for (int i = 0; i < 4; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z'))) return 0;
    return 1;
}

/* Walks the chunks up to the end of the image data as Pillow's PngImagePlugin does: chunk types
 * and CRCs are checked before the first IDAT, every IDAT chunk must be complete, and what follows
 * the image data is not needed. Reports IHDR's colour type (0 gray, 2 RGB, 3 palette, 4 gray +
 * alpha, 6 RGBA). */
static facet_status check_png(const unsigned char *data, size_t size, int *color_type) {
    size_t pos = 8;
    int seen_idat = 0;
    while (1) {
        if (size - pos < 8) {
            if (seen_idat) return FACET_OK;
            return facet_fail(FACET_ERR_FORMAT, "truncated PNG (ends before the image data)");
        }
        const unsigned char *chunk = data + pos;
        uint32_t length = read_be32(chunk);
        const int is_idat = !memcmp(chunk + 4, "IDAT", 4);
        if (seen_idat && !is_idat) return FACET_OK;
        if (!seen_idat && !is_chunk_type(chunk + 4))
            return facet_fail(FACET_ERR_FORMAT, "corrupt PNG: bad chunk type at byte %zu", pos);
        if (length > size - pos - 8 || size - pos - 8 - length < 4)
            return facet_fail(FACET_ERR_FORMAT, "truncated PNG (chunk '%.4s' is cut off)",
                              (const char *)chunk + 4);
        if (pos == 8) {
            if (memcmp(chunk + 4, "IHDR", 4) || length != 13)
                return facet_fail(FACET_ERR_FORMAT, "corrupt PNG: IHDR is not the first chunk");
            *color_type = chunk[8 + 9];
        }
        if (!is_idat) {
            uint32_t crc = crc32_update(0xFFFFFFFFu, chunk + 4, 4 + (size_t)length) ^ 0xFFFFFFFFu;
            if (crc != read_be32(chunk + 8 + length))
                return facet_fail(FACET_ERR_FORMAT, "corrupt PNG: bad CRC in chunk '%.4s'",
                                  (const char *)chunk + 4);
            if (!memcmp(chunk + 4, "IEND", 4))
                return facet_fail(FACET_ERR_FORMAT, "corrupt PNG: no image data");
        }
        seen_idat |= is_idat;
        pos += 12 + (size_t)length;
    }
}

/* ---- stb_image formats ---------------------------------------------------------------------- */

/* Converts stb's native channels (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA) to RGB as PIL's
 * convert('RGB'). 16-bit samples: colour and gray + alpha take the high byte; plain 16-bit gray
 * (PIL mode I / I;16) saturates above 255. */
static void stb_to_rgb(const void *pixels, int is16, int channels, int saturate_gray,
                       facet_rgb8 *out) {
    const size_t count = (size_t)out->width * out->height;
    const uint8_t *p8 = pixels;
    const uint16_t *p16 = pixels;
    for (size_t i = 0; i < count; i++) {
        uint8_t *rgb = out->data + i * 3;
        for (int c = 0; c < 3; c++) {
            size_t at = i * channels + (channels >= 3 ? c : 0);
            uint8_t v;
            if (!is16) {
                v = p8[at];
            } else if (saturate_gray) {
                v = p16[at] > 255 ? 255 : (uint8_t)p16[at];
            } else {
                v = (uint8_t)(p16[at] >> 8);
            }
            rgb[c] = v;
        }
    }
}

static facet_status decode_stb(const unsigned char *data, size_t size, int png_color_type,
                               facet_rgb8 *out) {
    int width, height, channels;
    if (size > INT_MAX) return facet_fail(FACET_ERR_UNSUPPORTED, "file too large for stb_image");
    /* stb_image's own header reader gives up on sizes it would not decode ("unknown image
     * type"): the size from the header first, so a decompression bomb is called what it is */
    int64_t declared_width, declared_height;
    if (facet_image_header_size(data, size, &declared_width, &declared_height) &&
        check_pixel_limit(declared_width, declared_height) != FACET_OK)
        return facet_last_status();
    if (!stbi_info_from_memory(data, (int)size, &width, &height, &channels))
        return facet_fail(FACET_ERR_FORMAT, "not a readable image (%s)", stbi_failure_reason());
    if (stbi_is_hdr_from_memory(data, (int)size))
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "Radiance HDR image (not an 8-bit image; PIL cannot open it)");
    if (check_pixel_limit(width, height) != FACET_OK) return facet_last_status();
    const int is16 = stbi_is_16_bit_from_memory(data, (int)size);
    void *pixels =
        is16 ? (void *)stbi_load_16_from_memory(data, (int)size, &width, &height, &channels, 0)
             : (void *)stbi_load_from_memory(data, (int)size, &width, &height, &channels, 0);
    if (!pixels) {
        const char *reason = stbi_failure_reason();
        if (png_color_type >= 0)
            return facet_fail(FACET_ERR_FORMAT, "corrupt PNG image data (%s)", reason);
        return facet_fail(FACET_ERR_FORMAT, "corrupt image data (%s)", reason);
    }
    /* gray + alpha from stb is a plain gray PNG with a tRNS colour unless IHDR says LA */
    const int saturate_gray = is16 && (channels == 1 || (channels == 2 && png_color_type == 0));
    facet_status status = facet_rgb8_alloc(out, width, height);
    if (status == FACET_OK) stb_to_rgb(pixels, is16, channels, saturate_gray, out);
    stbi_image_free(pixels);
    return status;
}

facet_status facet_rgb8_decode(const unsigned char *data, size_t size, facet_rgb8 *out) {
    static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    out->width = out->height = 0;
    out->data = NULL;
    if (size == 0) return facet_fail(FACET_ERR_FORMAT, "empty file");
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, size, out);
    int png_color_type = -1;
    if (size >= 8 && !memcmp(data, png_signature, 8)) {
        facet_status status = check_png(data, size, &png_color_type);
        if (status != FACET_OK) return status;
    }
    return decode_stb(data, size, png_color_type, out);
}

facet_status facet_rgb8_read(const char *path, facet_rgb8 *out) {
    char *data = NULL;
    size_t size = 0;
    facet_status status = facet_read_file(path, &data, &size);
    if (status != FACET_OK) return status;
    status = facet_rgb8_decode((const unsigned char *)data, size, out);
    free(data);
    if (status != FACET_OK) return facet_error_context("'%s'", path);
    return FACET_OK;
}

/* ---- Pillow's resampling -------------------------------------------------------------------- */

enum { PRECISION_BITS = 32 - 8 - 2 }; /* fixed-point weights, as Resample.c */

static double box_filter(double x) {
    return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

/* Keys' cubic convolution with a = -0.5. */
static double bicubic_filter(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* The taps of `count` consecutive outputs starting at `first` of a 1-D resize in_size ->
 * out_size: outputs sample centres (i + 0.5) * scale, the filter widened by the reduction factor,
 * weights normalised to sum 1 then rounded to PRECISION_BITS fixed point (away from zero). */
typedef struct resample_taps {
    int ksize;        /* taps per output (the widest filter) */
    int *bounds;      /* [count][2]: first input index, number of taps */
    int32_t *weights; /* [count][ksize] */
} resample_taps;

static void taps_free(resample_taps *t) {
    free(t->bounds);
    free(t->weights);
}

static facet_status taps_compute(int in_size, int out_size, int first, int count,
                                 facet_resample filter, resample_taps *t) {
    double (*weight)(double) = filter == FACET_RESAMPLE_BOX ? box_filter : bicubic_filter;
    const double unit_support = filter == FACET_RESAMPLE_BOX ? 0.5 : 2.0;
    const double scale = (double)in_size / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = unit_support * filterscale;
    const int ksize = (int)ceil(support) * 2 + 1;
    t->ksize = ksize;
    t->bounds = facet_alloc((size_t)count, 2 * sizeof(int));
    t->weights = facet_alloc((size_t)count * ksize, sizeof(int32_t));
    double *w = facet_alloc((size_t)ksize, sizeof(double));
    if (!t->bounds || !t->weights || !w) {
        free(w);
        taps_free(t);
        return FACET_ERR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < count; i++) {
        const double center = (first + i + 0.5) * scale;
        const double inverse = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double total = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = weight((x + xmin - center + 0.5) * inverse);
            total += w[x];
        }
        int32_t *k = t->weights + (size_t)i * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? (total != 0.0 ? w[x] / total : w[x]) : 0.0;
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        t->bounds[2 * i] = xmin;
        t->bounds[2 * i + 1] = xmax;
    }
    free(w);
    return FACET_OK;
}

/* Rounds a fixed-point sum (which started at one half) to 8 bits and clips. */
static inline uint8_t clip8(int32_t sum) {
    int32_t v = sum >> PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The horizontal pass over one row: out[i] for the taps' `count` outputs (3 channels each). */
static void resample_row(const uint8_t *src, const resample_taps *t, int count, uint8_t *out) {
    for (int i = 0; i < count; i++, out += 3) {
        const int xmin = t->bounds[2 * i], taps = t->bounds[2 * i + 1];
        const int32_t *k = t->weights + (size_t)i * t->ksize;
        int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
        const uint8_t *p = src + (size_t)xmin * 3;
        for (int x = 0; x < taps; x++, p += 3) {
            s0 += p[0] * k[x];
            s1 += p[1] * k[x];
            s2 += p[2] * k[x];
        }
        out[0] = clip8(s0);
        out[1] = clip8(s1);
        out[2] = clip8(s2);
    }
}

facet_status facet_resize_window(const facet_rgb8 *in, int out_width, int out_height,
                                 facet_resample filter, int x0, int y0, facet_rgb8 *out) {
    const int w = out->width, h = out->height;
    if (out_width <= 0 || out_height <= 0 || x0 < 0 || y0 < 0 || w <= 0 || h <= 0 ||
        x0 > out_width - w || y0 > out_height - h)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "resize window %dx%d at (%d, %d) is not inside %dx%d", w, h, x0, y0,
                          out_width, out_height);
    /* Pillow skips a pass whose size does not change (its copy is exact) */
    const int need_horizontal = out_width != in->width;
    const int need_vertical = out_height != in->height;
    resample_taps horizontal = {0}, vertical = {0};
    int row_first = y0, row_end = y0 + h; /* input rows the vertical pass reads */
    facet_status status = FACET_OK;
    if (need_vertical) {
        status = taps_compute(in->height, out_height, y0, h, filter, &vertical);
        if (status != FACET_OK) return status;
        row_first = INT_MAX;
        row_end = 0;
        for (int j = 0; j < h; j++) {
            int a = vertical.bounds[2 * j], b = a + vertical.bounds[2 * j + 1];
            if (a < row_first) row_first = a;
            if (b > row_end) row_end = b;
        }
    }
    if (need_horizontal) status = taps_compute(in->width, out_width, x0, w, filter, &horizontal);
    /* rows [row_first, row_end) of the horizontal pass, window columns only */
    facet_rgb8 rows = {0};
    int32_t *sums = NULL; /* one output row of the vertical pass, 3 channels per pixel */
    if (status == FACET_OK) status = facet_rgb8_alloc(&rows, w, row_end - row_first);
    if (status == FACET_OK && !(sums = facet_alloc((size_t)w * 3, sizeof(int32_t))))
        status = FACET_ERR_OUT_OF_MEMORY;
    if (status == FACET_OK) {
        for (int r = row_first; r < row_end; r++) {
            const uint8_t *src = in->data + (size_t)r * in->width * 3;
            uint8_t *dst = rows.data + (size_t)(r - row_first) * w * 3;
            if (need_horizontal)
                resample_row(src, &horizontal, w, dst);
            else
                memcpy(dst, src + (size_t)x0 * 3, (size_t)w * 3);
        }
        for (int j = 0; j < h; j++) {
            uint8_t *dst = out->data + (size_t)j * w * 3;
            if (!need_vertical) {
                memcpy(dst, rows.data + (size_t)(y0 + j - row_first) * w * 3, (size_t)w * 3);
                continue;
            }
            /* integer sums are exact, so accumulating row by row equals Pillow's per-pixel sums */
            const int ymin = vertical.bounds[2 * j] - row_first, taps = vertical.bounds[2 * j + 1];
            const int32_t *k = vertical.weights + (size_t)j * vertical.ksize;
            for (int i = 0; i < w * 3; i++) sums[i] = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < taps; y++) {
                const uint8_t *src = rows.data + (size_t)(ymin + y) * w * 3;
                for (int i = 0; i < w * 3; i++) sums[i] += src[i] * k[y];
            }
            for (int i = 0; i < w * 3; i++) dst[i] = clip8(sums[i]);
        }
    }
    free(sums);
    facet_rgb8_free(&rows);
    taps_free(&horizontal);
    taps_free(&vertical);
    return status;
}

facet_status facet_resize(const facet_rgb8 *in, int out_width, int out_height,
                          facet_resample filter, facet_rgb8 *out) {
    facet_status status = facet_rgb8_alloc(out, out_width, out_height);
    if (status == FACET_OK)
        status = facet_resize_window(in, out_width, out_height, filter, 0, 0, out);
    if (status != FACET_OK) facet_rgb8_free(out);
    return status;
}

facet_status facet_center_crop_arr(const facet_rgb8 *in, int size, facet_rgb8 *out) {
    out->data = NULL;
    if (size <= 0) return facet_fail(FACET_ERR_INVALID_ARGUMENT, "crop size %d", size);
    facet_rgb8 halved = {0};
    const facet_rgb8 *current = in;
    while ((current->width < current->height ? current->width : current->height) >= 2 * size) {
        facet_rgb8 next;
        facet_status status = facet_resize(current, current->width / 2, current->height / 2,
                                           FACET_RESAMPLE_BOX, &next);
        facet_rgb8_free(&halved);
        if (status != FACET_OK) return status;
        halved = next;
        current = &halved;
    }
    const int short_side = current->width < current->height ? current->width : current->height;
    const double scale = (double)size / short_side;
    /* Python's round(): half to even, which rint gives in the default rounding mode */
    const double new_width = rint(current->width * scale);
    const double new_height = rint(current->height * scale);
    facet_status status = FACET_OK;
    if (new_width > INT_MAX || new_height > INT_MAX)
        status = facet_fail(FACET_ERR_UNSUPPORTED, "image of %dx%d is too elongated to resize",
                            in->width, in->height);
    if (status == FACET_OK) status = facet_rgb8_alloc(out, size, size);
    if (status == FACET_OK) {
        const int w = (int)new_width, h = (int)new_height;
        status = facet_resize_window(current, w, h, FACET_RESAMPLE_BICUBIC, (w - size) / 2,
                                     (h - size) / 2, out);
        if (status != FACET_OK) facet_rgb8_free(out);
    }
    facet_rgb8_free(&halved);
    return status;
}

void facet_rgb8_to_tensor(const facet_rgb8 *img, float *chw) {
    const size_t plane = (size_t)img->width * img->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            float v = (float)img->data[i * 3 + c] / 255.0f;
            chw[c * plane + i] = (v - 0.5f) / 0.5f;
        }
}

facet_status facet_preprocess_image(const unsigned char *data, size_t size, int image_size,
                                    facet_rgb8 *crop, float *chw) {
    facet_rgb8 decoded, cropped;
    facet_status status = facet_rgb8_decode(data, size, &decoded);
    if (status != FACET_OK) return status;
    status = facet_center_crop_arr(&decoded, image_size, &cropped);
    facet_rgb8_free(&decoded);
    if (status != FACET_OK) return status;
    if (chw) facet_rgb8_to_tensor(&cropped, chw);
    if (crop)
        *crop = cropped;
    else
        facet_rgb8_free(&cropped);
    return FACET_OK;
}
