#include "image.h"

#include "color.h"

#include "alloc.h"
#include "exr_openexr.h"
#include "fileio.h"
#include "safe_name.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stb_image.h>
#include <stb_image_write.h>
#include <tinyexr.h>

/* Images larger than this many values are refused so every size and stride fits an int, which is
 * what stb_image, stb_image_write and tinyexr take. */
#define FACET_IMAGE_MAX_VALUES ((size_t)INT_MAX)

static const unsigned char exr_magic[4] = {0x76, 0x2f, 0x31, 0x01};
static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

facet_status facet_image_alloc(facet_image *img, int width, int height, int channels) {
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "invalid image size %dx%d with %d channels",
                          width, height, channels);
    size_t pixels, values;
    if (facet_mul_size((size_t)width, (size_t)height, &pixels) != 0 ||
        facet_mul_size(pixels, (size_t)channels, &values) != 0 || values > FACET_IMAGE_MAX_VALUES)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "image %dx%d with %d channels is too large",
                          width, height, channels);
    img->data = facet_alloc_zeroed(values, sizeof(float));
    if (!img->data) return facet_last_status();
    img->width = width;
    img->height = height;
    img->channels = channels;
    return FACET_OK;
}

void facet_image_free(facet_image *img) {
    free(img->data);
    memset(img, 0, sizeof *img);
}

static size_t image_pixels(const facet_image *img) {
    return (size_t)img->width * (size_t)img->height;
}

/* ---- channel conversion ---- */

/* Converts `src` in place of `*img` to `channels` channels: gray -> RGB replicates, an added alpha
 * is 1, a dropped alpha is discarded, RGB -> gray takes Rec. 709 luma weights
 * (0.2126 R + 0.7152 G + 0.0722 B) of the stored values. */
static facet_status convert_channels(facet_image *img, int channels) {
    if (channels == 0 || channels == img->channels) return FACET_OK;
    facet_image out;
    facet_status s = facet_image_alloc(&out, img->width, img->height, channels);
    if (s != FACET_OK) return s;
    const int in_c = img->channels;
    const int in_alpha = in_c == 2 || in_c == 4;
    const int out_alpha = channels == 2 || channels == 4;
    size_t n = image_pixels(img);
    for (size_t i = 0; i < n; i++) {
        const float *p = img->data + i * (size_t)in_c;
        float *q = out.data + i * (size_t)channels;
        float r, g, b;
        if (in_c >= 3) {
            r = p[0];
            g = p[1];
            b = p[2];
        } else {
            r = g = b = p[0];
        }
        float alpha = in_alpha ? p[in_c - 1] : 1.0f;
        if (channels >= 3) {
            q[0] = r;
            q[1] = g;
            q[2] = b;
        } else {
            q[0] = in_c >= 3 ? 0.2126f * r + 0.7152f * g + 0.0722f * b : r;
        }
        if (out_alpha) q[channels - 1] = alpha;
    }
    facet_image_free(img);
    *img = out;
    return FACET_OK;
}

/* ---- PNG structure check ---- */

/* CRC-32 (ISO 3309, polynomial 0xedb88320) as PNG chunks use it. */
static uint32_t crc32_png(const unsigned char *data, size_t size) {
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < size; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xffffffffu;
}

static uint32_t read_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* stb_image neither verifies chunk CRCs nor insists on IEND, so a truncated or bit-flipped PNG
 * can decode to garbage silently. Walks every chunk: each must lie inside the file with a
 * matching CRC, and the last must be IEND. */
static facet_status check_png_chunks(const unsigned char *data, size_t size, const char *path) {
    size_t pos = sizeof png_signature;
    for (;;) {
        if (size - pos < 12)
            return facet_fail(FACET_ERR_FORMAT,
                              "cannot read image '%s': truncated PNG (file ends at byte %zu before "
                              "the IEND chunk)",
                              path, size);
        uint32_t length = read_be32(data + pos);
        const unsigned char *type = data + pos + 4;
        if (length > 0x7fffffffu || size - pos - 12 < length)
            return facet_fail(FACET_ERR_FORMAT,
                              "cannot read image '%s': truncated PNG (chunk '%.4s' at byte %zu "
                              "needs %u bytes, file ends at byte %zu)",
                              path, (const char *)type, pos, length, size);
        uint32_t stored = read_be32(type + 4 + length);
        if (crc32_png(type, 4 + (size_t)length) != stored)
            return facet_fail(
                FACET_ERR_FORMAT,
                "cannot read image '%s': corrupt PNG (CRC mismatch in chunk '%.4s' at byte %zu)",
                path, (const char *)type, pos);
        if (memcmp(type, "IEND", 4) == 0) return FACET_OK;
        pos += 12 + (size_t)length;
    }
}

/* ---- size caps, from the header ---- */

static uint32_t read_be16(const unsigned char *p) {
    return (uint32_t)p[0] << 8 | (uint32_t)p[1];
}

static int32_t read_le32(const unsigned char *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

/* JPEG: the frame header (SOF0..SOF15 but DHT C4, JPG C8, DAC CC) before the first scan. */
static int jpeg_header_size(const unsigned char *data, size_t size, int64_t *width,
                            int64_t *height) {
    size_t pos = 2; /* after SOI */
    while (pos + 4 <= size) {
        if (data[pos] != 0xFF) return 0;
        const unsigned char marker = data[pos + 1];
        if (marker == 0xFF) { /* fill byte */
            pos++;
            continue;
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { /* no length */
            pos += 2;
            continue;
        }
        if (marker == 0xDA || marker == 0xD9) return 0; /* a scan (or the end) before any frame */
        const uint32_t length = read_be16(data + pos + 2);
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
            marker != 0xCC) {
            if (length < 7 || pos + 9 > size) return 0;
            *height = read_be16(data + pos + 5);
            *width = read_be16(data + pos + 7);
            return 1;
        }
        if (length < 2) return 0;
        pos += 2 + length;
    }
    return 0;
}

/* EXR header attributes: "name NUL type NUL int32 size value", each header ended by an empty name;
 * a multi-part file has several headers, then an empty one. One attribute per call from *pos
 * (start at 8, after the magic and version): returns 1 and fills the attribute, 0 at the end of
 * the headers, -1 when the header is truncated or an attribute declares a negative size or more
 * bytes than the file holds (the attribute is still filled then, for messages). */
typedef struct exr_attribute {
    const char *name;
    const unsigned char *value;
    int32_t length;
} exr_attribute;

static int exr_next_attribute(const unsigned char *data, size_t size, size_t *pos,
                              exr_attribute *a) {
    const int multipart = size > 5 && (data[5] & 0x10);
    while (*pos < size && !data[*pos]) { /* the end of a header */
        (*pos)++;
        if (!multipart || *pos >= size || !data[*pos]) return 0;
    }
    a->name = "";
    a->value = NULL;
    a->length = 0;
    if (*pos >= size) return -1;
    a->name = (const char *)data + *pos;
    const unsigned char *end = memchr(data + *pos, 0, size - *pos);
    if (!end) return -1;
    size_t at = (size_t)(end - data) + 1; /* the type */
    if (at >= size || !(end = memchr(data + at, 0, size - at))) return -1;
    at = (size_t)(end - data) + 1;
    if (size - at < 4) return -1;
    a->length = read_le32(data + at);
    at += 4;
    if (a->length < 0 || (size_t)a->length > size - at) return -1;
    a->value = data + at;
    *pos = at + (size_t)a->length;
    return 1;
}

/* EXR: the first header's dataWindow (box2i: xMin yMin xMax yMax, little-endian int32). */
static int exr_header_size(const unsigned char *data, size_t size, int64_t *width,
                           int64_t *height) {
    size_t pos = 8;
    exr_attribute a;
    while (exr_next_attribute(data, size, &pos, &a) == 1) {
        if (strcmp(a.name, "dataWindow") || a.length != 16) continue;
        *width = (int64_t)read_le32(a.value + 8) - read_le32(a.value) + 1;
        *height = (int64_t)read_le32(a.value + 12) - read_le32(a.value + 4) + 1;
        return 1;
    }
    return 0;
}

int facet_image_header_size(const unsigned char *data, size_t size, int64_t *width,
                            int64_t *height) {
    *width = *height = 0;
    if (size >= 24 && memcmp(data, png_signature, sizeof png_signature) == 0 &&
        memcmp(data + 12, "IHDR", 4) == 0) {
        *width = read_be32(data + 16);
        *height = read_be32(data + 20);
        return 1;
    }
    if (size >= 4 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return jpeg_header_size(data, size, width, height);
    if (size >= 4 && memcmp(data, exr_magic, sizeof exr_magic) == 0)
        return exr_header_size(data, size, width, height);
    int w, h, c;
    if (size <= INT_MAX && stbi_info_from_memory(data, (int)size, &w, &h, &c)) {
        *width = w;
        *height = h;
        return 1;
    }
    return 0;
}

facet_status facet_image_check_size(int64_t width, int64_t height, const char *path) {
    if (width <= 0 || height <= 0)
        return facet_fail(FACET_ERR_FORMAT,
                          "cannot read image '%s': the header declares %lldx%lld pixels", path,
                          (long long)width, (long long)height);
    if (width <= FACET_IMAGE_MAX_SIDE && height <= FACET_IMAGE_MAX_SIDE &&
        width * height <= FACET_IMAGE_MAX_PIXELS)
        return FACET_OK;
    return facet_fail(FACET_ERR_UNSUPPORTED,
                      "cannot read image '%s': %lldx%lld pixels is too large (facet reads at most "
                      "%d pixels a side and %lld pixels)",
                      path, (long long)width, (long long)height, FACET_IMAGE_MAX_SIDE,
                      (long long)FACET_IMAGE_MAX_PIXELS);
}

/* ---- stb_image formats ---- */

static facet_status read_stb(facet_image *img, const unsigned char *data, size_t size,
                             const char *path) {
    if (size > INT_MAX)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "cannot read image '%s': file too large (%zu bytes)", path, size);
    if (size >= sizeof png_signature && memcmp(data, png_signature, sizeof png_signature) == 0) {
        facet_status s = check_png_chunks(data, size, path);
        if (s != FACET_OK) return s;
    }
    int len = (int)size, width = 0, height = 0, channels = 0;
    void *pixels;
    enum { SAMPLES_FLOAT, SAMPLES_16BIT, SAMPLES_8BIT } kind; /* float: Radiance HDR, linear */
    if (stbi_is_hdr_from_memory(data, len)) {
        kind = SAMPLES_FLOAT;
        pixels = stbi_loadf_from_memory(data, len, &width, &height, &channels, 0);
    } else if (stbi_is_16_bit_from_memory(data, len)) {
        kind = SAMPLES_16BIT;
        pixels = stbi_load_16_from_memory(data, len, &width, &height, &channels, 0);
    } else {
        kind = SAMPLES_8BIT;
        pixels = stbi_load_from_memory(data, len, &width, &height, &channels, 0);
    }
    if (!pixels) {
        const char *reason = stbi_failure_reason();
        return facet_fail(FACET_ERR_FORMAT, "cannot read image '%s': %s", path,
                          reason && reason[0] ? reason : "stb_image cannot decode it");
    }
    facet_status s = facet_image_alloc(img, width, height, channels);
    if (s != FACET_OK) {
        stbi_image_free(pixels);
        return facet_error_context("reading '%s'", path);
    }
    size_t n = image_pixels(img) * (size_t)channels;
    if (kind == SAMPLES_FLOAT) {
        memcpy(img->data, pixels, n * sizeof(float));
    } else if (kind == SAMPLES_16BIT) {
        const unsigned short *p = pixels;
        for (size_t i = 0; i < n; i++) img->data[i] = (float)p[i] / 65535.0f;
    } else {
        const unsigned char *p = pixels;
        for (size_t i = 0; i < n; i++) img->data[i] = (float)p[i] / 255.0f;
    }
    stbi_image_free(pixels);
    return FACET_OK;
}

/* ---- EXR through tinyexr ---- */

static int find_exr_channel(const EXRHeader *header, const char *name) {
    for (int i = 0; i < header->num_channels; i++)
        if (strcmp(header->channels[i].name, name) == 0) return i;
    return -1;
}

/* Copies tinyexr's message, without its trailing newlines, into `reason` and frees it. */
static void take_tinyexr_error(const char *err, const char *fallback, char *reason, size_t size) {
    snprintf(reason, size, "%s", err ? err : fallback);
    if (err) FreeEXRErrorMessage(err);
    size_t n = strlen(reason);
    while (n > 0 && (reason[n - 1] == '\n' || reason[n - 1] == ' ' || reason[n - 1] == '.'))
        reason[--n] = '\0';
}

/* tinyexr 1.0.1 asserts (aborting the process) when a scanline file's "type" attribute is not
 * "scanlineimage" or "deepscanline": such headers go to OpenEXR, which reports them. 1 when every
 * "type" attribute (tinyexr keeps the last) is a NUL-terminated scanline type, or there is none. */
static int exr_type_is_scanline(const unsigned char *data, size_t size) {
    size_t pos = 8;
    exr_attribute a;
    while (exr_next_attribute(data, size, &pos, &a) == 1) {
        if (strcmp(a.name, "type")) continue;
        const char *value = (const char *)a.value;
        const size_t n = strnlen(value, (size_t)a.length);
        if (n == (size_t)a.length) return 0; /* no NUL: tinyexr would read past the value */
        if (!((n == 13 && !memcmp(value, "scanlineimage", 13)) ||
              (n == 12 && !memcmp(value, "deepscanline", 12)) || n == 0))
            return 0;
    }
    return 1;
}

/* Decodes a single-part scanline EXR: R, G, B (or Y replicated) and A when present. On failure
 * returns non-OK with tinyexr's reason in `reason` (the thread's error message is not set). */
static facet_status read_exr_tinyexr(facet_image *img, const unsigned char *data, size_t size,
                                     char *reason, size_t reason_size) {
    EXRVersion version;
    if (ParseEXRVersionFromMemory(&version, data, size) != TINYEXR_SUCCESS) {
        snprintf(reason, reason_size, "invalid EXR version field");
        return FACET_ERR_FORMAT;
    }
    if (version.multipart || version.non_image || version.tiled) {
        snprintf(reason, reason_size, "multi-part, deep and tiled files are not supported");
        return FACET_ERR_UNSUPPORTED;
    }
    if (!exr_type_is_scanline(data, size)) {
        snprintf(reason, reason_size, "the header's 'type' is not a scanline image");
        return FACET_ERR_UNSUPPORTED;
    }
    EXRHeader header;
    InitEXRHeader(&header);
    const char *err = NULL;
    if (ParseEXRHeaderFromMemory(&header, &version, data, size, &err) != TINYEXR_SUCCESS) {
        take_tinyexr_error(err, "invalid header", reason, reason_size);
        FreeEXRHeader(&header);
        return FACET_ERR_FORMAT;
    }
    /* source channel index for R, G, B, A (-1: absent) */
    int src[4] = {find_exr_channel(&header, "R"), find_exr_channel(&header, "G"),
                  find_exr_channel(&header, "B"), find_exr_channel(&header, "A")};
    int has_rgb = src[0] >= 0 || src[1] >= 0 || src[2] >= 0;
    if (!has_rgb) src[0] = src[1] = src[2] = find_exr_channel(&header, "Y");
    facet_status status = FACET_OK;
    if (find_exr_channel(&header, "RY") >= 0 || find_exr_channel(&header, "BY") >= 0) {
        snprintf(reason, reason_size, "luminance/chroma channels are not supported");
        status = FACET_ERR_UNSUPPORTED;
    } else if (src[0] < 0) {
        snprintf(reason, reason_size, "no R, G, B or Y channel");
        status = FACET_ERR_UNSUPPORTED;
    }
    for (int i = 0; i < header.num_channels && status == FACET_OK; i++) {
        if (header.channels[i].x_sampling != 1 || header.channels[i].y_sampling != 1) {
            snprintf(reason, reason_size, "subsampled channel '%s' is not supported",
                     header.channels[i].name);
            status = FACET_ERR_UNSUPPORTED;
        }
        if (header.pixel_types[i] == TINYEXR_PIXELTYPE_HALF)
            header.requested_pixel_types[i] = TINYEXR_PIXELTYPE_FLOAT;
    }
    if (status != FACET_OK) {
        FreeEXRHeader(&header);
        return status;
    }
    EXRImage exr;
    InitEXRImage(&exr);
    /* tinyexr 1.0.1 sets num_channels only after a successful decode, but a failed decode frees
     * the planes it allocated (one per header channel) by that count: preset it so none leaks. */
    exr.num_channels = header.num_channels;
    if (LoadEXRImageFromMemory(&exr, &header, data, size, &err) != TINYEXR_SUCCESS) {
        /* on failure tinyexr has already freed the pixels (leaving the pointers dangling) */
        take_tinyexr_error(err, "cannot decode pixels", reason, reason_size);
        FreeEXRHeader(&header);
        return FACET_ERR_FORMAT;
    }
    int channels = src[3] >= 0 ? 4 : 3;
    status = facet_image_alloc(img, exr.width, exr.height, channels);
    if (status != FACET_OK) {
        snprintf(reason, reason_size, "%s", facet_last_error());
    } else {
        size_t n = image_pixels(img);
        for (int c = 0; c < channels; c++) {
            if (src[c] < 0) continue; /* a missing colour channel stays 0 */
            const unsigned char *plane = exr.images[src[c]];
            int uint_type = header.pixel_types[src[c]] == TINYEXR_PIXELTYPE_UINT;
            for (size_t i = 0; i < n; i++) {
                float v;
                if (uint_type) {
                    uint32_t u;
                    memcpy(&u, plane + i * 4, 4);
                    v = (float)u;
                } else {
                    memcpy(&v, plane + i * 4, 4);
                }
                img->data[i * (size_t)channels + (size_t)c] = v;
            }
        }
    }
    FreeEXRImage(&exr);
    FreeEXRHeader(&header);
    return status;
}

/* OpenEXR 3.1 allocates an attribute's declared size before reading it, so a 1 KB file can ask
 * for gigabytes: every attribute of every header must fit in the file. */
static facet_status check_exr_attribute_sizes(const unsigned char *data, size_t size,
                                              const char *path) {
    size_t pos = 8;
    exr_attribute a;
    int r;
    while ((r = exr_next_attribute(data, size, &pos, &a)) == 1) continue;
    if (r == 0) return FACET_OK;
    char quoted[96]; /* data is NUL-terminated (facet_read_file), so the name is too */
    facet_quote_name(a.name, quoted, sizeof quoted);
    if (a.length != 0 && !a.value)
        return facet_fail(FACET_ERR_FORMAT,
                          "cannot read EXR '%s': header attribute '%s' declares %d bytes, more "
                          "than the file holds",
                          path, quoted, (int)a.length);
    return facet_fail(FACET_ERR_FORMAT, "cannot read EXR '%s': truncated header (at '%s')", path,
                      quoted);
}

/* tinyexr first; on any failure OpenEXR's C++ reader, which also decodes DWAA/DWAB/B44/B44A and
 * tiled or multi-part files. Fails only when neither can read the file, giving both reasons. */
static facet_status read_exr(facet_image *img, const unsigned char *data, size_t size,
                             const char *path) {
    facet_status checked = check_exr_attribute_sizes(data, size, path);
    if (checked != FACET_OK) return checked;
    int64_t width, height; /* required; OpenEXR sizes its tables from it */
    if (!exr_header_size(data, size, &width, &height))
        return facet_fail(FACET_ERR_FORMAT, "cannot read EXR '%s': the header has no dataWindow",
                          path);
    char tinyexr_reason[512];
    if (read_exr_tinyexr(img, data, size, tinyexr_reason, sizeof tinyexr_reason) == FACET_OK)
        return FACET_OK;
    facet_status s = facet_exr_read_openexr(path, img);
    if (s == FACET_OK) return FACET_OK;
    char *openexr_reason = facet_strdup(facet_last_error());
    if (!openexr_reason) return facet_last_status();
    s = facet_fail(s, "cannot read EXR '%s': tinyexr: %s; %s", path, tinyexr_reason,
                   openexr_reason);
    free(openexr_reason);
    return s;
}

facet_status facet_image_read(facet_image *img, const char *path, int channels) {
    memset(img, 0, sizeof *img);
    if (channels < 0 || channels > 4)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "reading '%s': invalid channel count %d",
                          path, channels);
    char *data;
    size_t size;
    facet_status s = facet_read_file(path, &data, &size);
    if (s != FACET_OK) return s;
    const unsigned char *bytes = (const unsigned char *)data;
    int64_t width, height;
    if (size == 0)
        s = facet_fail(FACET_ERR_FORMAT, "cannot read image '%s': empty file", path);
    else if (facet_image_header_size(bytes, size, &width, &height) &&
             facet_image_check_size(width, height, path) != FACET_OK)
        s = facet_last_status();
    else if (size >= sizeof exr_magic && memcmp(bytes, exr_magic, sizeof exr_magic) == 0)
        s = read_exr(img, bytes, size, path);
    else
        s = read_stb(img, bytes, size, path);
    free(data);
    if (s == FACET_OK) {
        s = convert_channels(img, channels);
        if (s != FACET_OK) s = facet_error_context("reading '%s'", path);
    }
    if (s != FACET_OK) facet_image_free(img);
    return s;
}

/* ---- writers ---- */

static facet_status check_image(const facet_image *img, const char *path) {
    if (!img->data || img->width <= 0 || img->height <= 0 || img->channels < 1 ||
        img->channels > 4 || image_pixels(img) * (size_t)img->channels > FACET_IMAGE_MAX_VALUES)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "writing '%s': invalid image %dx%d with %d channels", path, img->width,
                          img->height, img->channels);
    return FACET_OK;
}

/* Growable byte buffer filled by stbi_write_png_to_func. */
typedef struct png_sink {
    unsigned char *data;
    size_t size, capacity;
    int failed;
} png_sink;

static void png_sink_write(void *context, void *data, int size) {
    png_sink *sink = context;
    if (sink->failed || size <= 0) return;
    if (sink->size + (size_t)size > sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity : 4096;
        while (capacity < sink->size + (size_t)size) capacity *= 2;
        unsigned char *grown = realloc(sink->data, capacity);
        if (!grown) {
            sink->failed = 1;
            return;
        }
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, data, (size_t)size);
    sink->size += (size_t)size;
}

facet_status facet_image_write_png(const facet_image *img, const char *path) {
    facet_status s = check_image(img, path);
    if (s != FACET_OK) return s;
    size_t n = image_pixels(img) * (size_t)img->channels;
    unsigned char *bytes = facet_alloc(n, 1);
    if (!bytes) return facet_error_context("writing '%s'", path);
    for (size_t i = 0; i < n; i++) bytes[i] = facet_unorm8(img->data[i]);
    png_sink sink = {0};
    int ok = stbi_write_png_to_func(png_sink_write, &sink, img->width, img->height, img->channels,
                                    bytes, img->width * img->channels);
    free(bytes);
    if (!ok || sink.failed) {
        free(sink.data);
        return facet_fail(sink.failed ? FACET_ERR_OUT_OF_MEMORY : FACET_ERR_INTERNAL,
                          "writing '%s': PNG encoding failed", path);
    }
    s = facet_write_file_atomic(path, sink.data, sink.size);
    free(sink.data);
    if (s != FACET_OK) return facet_error_context("writing '%s'", path);
    return FACET_OK;
}

facet_status facet_image_write_exr(const facet_image *img, const char *path, int half) {
    facet_status s = check_image(img, path);
    if (s != FACET_OK) return s;
    const int channels = img->channels;
    if (channels == 2)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "writing '%s': EXR output needs 1, 3 or 4 channels, image has 2", path);
    /* EXR lists channels sorted by name: A, B, G, R (or Y); order[k] is the source channel of the
     * k-th stored channel. */
    static const char *const names_rgba[4] = {"A", "B", "G", "R"};
    static const int order_rgba[4] = {3, 2, 1, 0};
    static const char *const names_rgb[3] = {"B", "G", "R"};
    static const int order_rgb[3] = {2, 1, 0};
    static const char *const names_y[1] = {"Y"};
    static const int order_y[1] = {0};
    const char *const *names = channels == 4 ? names_rgba : channels == 3 ? names_rgb : names_y;
    const int *order = channels == 4 ? order_rgba : channels == 3 ? order_rgb : order_y;

    size_t n = image_pixels(img);
    float *planes = facet_alloc(n * (size_t)channels, sizeof(float));
    if (!planes) return facet_error_context("writing '%s'", path);
    unsigned char *plane_ptrs[4];
    EXRChannelInfo infos[4];
    int pixel_types[4], requested_types[4];
    memset(infos, 0, sizeof infos);
    for (int k = 0; k < channels; k++) {
        float *plane = planes + (size_t)k * n;
        for (size_t i = 0; i < n; i++)
            plane[i] = img->data[i * (size_t)channels + (size_t)order[k]];
        plane_ptrs[k] = (unsigned char *)plane;
        snprintf(infos[k].name, sizeof infos[k].name, "%s", names[k]);
        pixel_types[k] = TINYEXR_PIXELTYPE_FLOAT;
        requested_types[k] = half ? TINYEXR_PIXELTYPE_HALF : TINYEXR_PIXELTYPE_FLOAT;
    }
    EXRHeader header;
    InitEXRHeader(&header);
    header.num_channels = channels;
    header.channels = infos;
    header.pixel_types = pixel_types;
    header.requested_pixel_types = requested_types;
    header.compression_type = TINYEXR_COMPRESSIONTYPE_ZIP;
    EXRImage exr;
    InitEXRImage(&exr);
    exr.images = plane_ptrs;
    exr.width = img->width;
    exr.height = img->height;
    exr.num_channels = channels;

    unsigned char *memory = NULL;
    const char *err = NULL;
    size_t size = SaveEXRImageToMemory(&exr, &header, &memory, &err);
    free(planes);
    if (size == 0) {
        s = facet_fail(FACET_ERR_INTERNAL, "writing '%s': EXR encoding failed: %s", path,
                       err ? err : "unknown tinyexr error");
        if (err) FreeEXRErrorMessage(err);
        free(memory);
        return s;
    }
    s = facet_write_file_atomic(path, memory, size);
    free(memory);
    if (s != FACET_OK) return facet_error_context("writing '%s'", path);
    return FACET_OK;
}

facet_status facet_image_write(const facet_image *img, const char *path) {
    const char *ext = facet_path_extension(path);
    if (strcasecmp(ext, ".png") == 0) return facet_image_write_png(img, path);
    if (strcasecmp(ext, ".exr") == 0) return facet_image_write_exr(img, path, 1);
    return facet_fail(FACET_ERR_UNSUPPORTED,
                      "writing '%s': unknown image extension '%s' (expected .png or .exr)", path,
                      ext);
}
