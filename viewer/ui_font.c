/* Font loading and atlas baking for the viewer UI (stb_truetype, implementation in libstb). */
#include "viewer/ui_font.h"

#include "core/alloc.h"
#include "core/fileio.h"

#include <stb_truetype.h>
#include <stdlib.h>
#include <string.h>

/* Horizontal oversampling: glyphs are baked at 2x horizontal resolution so that linear filtering
 * places them at sub-pixel positions without blurring. */
#define FONT_OVERSAMPLE_X 2
/* Rows of full coverage appended below the packed glyphs (solid fills sample their centre). */
#define FONT_WHITE_ROWS 4

static uint32_t read_be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t read_be16(const unsigned char *p) {
    return ((uint32_t)p[0] << 8) | p[1];
}

/* Checks the sfnt table directory of the face at `offset`: every table lies inside the file and
 * the tables stb_truetype reads fixed fields from are at least that long. stb_truetype itself
 * trusts these offsets. */
static facet_status check_table_directory(const unsigned char *data, size_t size, size_t offset,
                                          const char *path) {
    if (offset > size || size - offset < 12)
        return facet_fail(FACET_ERR_FORMAT, "'%s': truncated font header", path);
    uint32_t tag = read_be32(data + offset);
    if (tag != 0x00010000u && tag != 0x74727565u /* 'true' */ && tag != 0x4F54544Fu /* 'OTTO' */)
        return facet_fail(FACET_ERR_FORMAT, "'%s' is not a TrueType or OpenType font", path);
    size_t tables = read_be16(data + offset + 4);
    if ((size - offset - 12) / 16 < tables)
        return facet_fail(FACET_ERR_FORMAT, "'%s': truncated font table directory", path);
    static const struct {
        const char *tag;
        uint32_t min_length;
    } required[] = {{"cmap", 4}, {"head", 54}, {"hhea", 36}, {"hmtx", 4}, {"maxp", 6}};
    int found[sizeof required / sizeof required[0]] = {0};
    for (size_t t = 0; t < tables; t++) {
        const unsigned char *record = data + offset + 12 + 16 * t;
        uint32_t table_offset = read_be32(record + 8), table_length = read_be32(record + 12);
        if (table_offset > size || size - table_offset < table_length)
            return facet_fail(FACET_ERR_FORMAT, "'%s': font table '%.4s' lies outside the file",
                              path, (const char *)record);
        for (size_t r = 0; r < sizeof required / sizeof required[0]; r++) {
            if (memcmp(record, required[r].tag, 4) != 0) continue;
            if (table_length < required[r].min_length)
                return facet_fail(FACET_ERR_FORMAT, "'%s': font table '%s' is truncated", path,
                                  required[r].tag);
            found[r] = 1;
        }
    }
    for (size_t r = 0; r < sizeof required / sizeof required[0]; r++)
        if (!found[r])
            return facet_fail(FACET_ERR_FORMAT, "'%s': font has no '%s' table", path,
                              required[r].tag);
    return FACET_OK;
}

/* Offset of the first face: 0 for a plain font, the first directory entry of a collection. */
static facet_status first_face_offset(const unsigned char *data, size_t size, const char *path,
                                      size_t *offset) {
    *offset = 0;
    if (size >= 16 && memcmp(data, "ttcf", 4) == 0) {
        if (read_be32(data + 8) == 0)
            return facet_fail(FACET_ERR_FORMAT, "'%s': font collection holds no font", path);
        *offset = read_be32(data + 12);
    }
    return check_table_directory(data, size, *offset, path);
}

/* Packs both codepoint ranges into a width x height region of `pixels` (the texture is
 * `texture_height` rows tall); fills the glyph table. Returns 0 when they do not fit. */
static int pack_glyphs(facet_ui_font *font, const stbtt_fontinfo *info, const unsigned char *data,
                       uint8_t *pixels, int width, int height, int texture_height,
                       stbtt_packedchar *packed) {
    stbtt_pack_context context;
    if (!stbtt_PackBegin(&context, pixels, width, height, width, 1, NULL)) return 0;
    stbtt_PackSetOversampling(&context, FONT_OVERSAMPLE_X, 1);
    stbtt_pack_range ranges[2];
    memset(ranges, 0, sizeof ranges);
    ranges[0].font_size = font->pixel_height;
    ranges[0].first_unicode_codepoint_in_range = 32;
    ranges[0].num_chars = 95;
    ranges[0].chardata_for_range = packed;
    ranges[1].font_size = font->pixel_height;
    ranges[1].first_unicode_codepoint_in_range = 160;
    ranges[1].num_chars = 96;
    ranges[1].chardata_for_range = packed + 95;
    int ok = stbtt_PackFontRanges(&context, data, 0, ranges, 2);
    stbtt_PackEnd(&context);
    if (!ok) return 0;
    for (int i = 0; i < FACET_UI_FONT_GLYPHS; i++) {
        float x = 0.0f, y = 0.0f;
        stbtt_aligned_quad q;
        stbtt_GetPackedQuad(packed, width, texture_height, i, &x, &y, &q, 0);
        int codepoint = i < 95 ? 32 + i : 160 + (i - 95);
        if (stbtt_IsGlyphEmpty(info, stbtt_FindGlyphIndex(info, codepoint)))
            font->glyphs[i] = (facet_ui_glyph){0, 0, 0, 0, 0, 0, 0, 0, x}; /* space: advance only */
        else
            font->glyphs[i] = (facet_ui_glyph){q.x0, q.y0, q.x1, q.y1, q.s0, q.t0, q.s1, q.t1, x};
    }
    return 1;
}

facet_status facet_ui_font_load(facet_ui_font *font, const char *path, float pixel_height) {
    memset(font, 0, sizeof *font);
    if (!path || !*path) return facet_fail(FACET_ERR_INVALID_ARGUMENT, "no UI font path given");
    if (!(pixel_height >= 4.0f && pixel_height <= 256.0f))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "UI font size %g px for '%s' is outside 4..256", (double)pixel_height,
                          path);
    char *file = NULL;
    size_t size = 0;
    facet_status status = facet_read_file(path, &file, &size);
    if (status != FACET_OK) return facet_error_context("UI font");
    const unsigned char *data = (const unsigned char *)file;
    size_t face = 0;
    status = first_face_offset(data, size, path, &face);
    stbtt_fontinfo info;
    if (status == FACET_OK && !stbtt_InitFont(&info, data, (int)face))
        status = facet_fail(FACET_ERR_FORMAT, "'%s': stb_truetype cannot read the font", path);
    if (status != FACET_OK) {
        free(file);
        return status;
    }

    font->pixel_height = pixel_height;
    float scale = stbtt_ScaleForPixelHeight(&info, pixel_height);
    int ascent, descent, line_gap;
    stbtt_GetFontVMetrics(&info, &ascent, &descent, &line_gap);
    font->ascent = (float)ascent * scale;
    font->descent = (float)descent * scale;
    font->line_height = (float)(ascent - descent + line_gap) * scale;

    /* Smallest atlas (each step doubles the area) that holds every glyph. */
    stbtt_packedchar packed[FACET_UI_FONT_GLYPHS];
    int width = 128, height = 128;
    for (;;) {
        int texture_height = height + FONT_WHITE_ROWS;
        uint8_t *pixels = facet_alloc_zeroed((size_t)width * (size_t)texture_height, 1);
        if (!pixels) {
            free(file);
            return facet_error_context("UI font atlas %dx%d", width, texture_height);
        }
        if (pack_glyphs(font, &info, data, pixels, width, height, texture_height, packed)) {
            memset(pixels + (size_t)width * (size_t)height, 0xFF, (size_t)width * FONT_WHITE_ROWS);
            font->atlas = pixels;
            font->atlas_width = width;
            font->atlas_height = texture_height;
            font->white_u = (float)FONT_WHITE_ROWS / 2.0f / (float)width;
            font->white_v = ((float)height + FONT_WHITE_ROWS / 2.0f) / (float)texture_height;
            free(file);
            return FACET_OK;
        }
        free(pixels);
        if (width >= 4096 && height >= 4096) break;
        if (width <= height)
            width *= 2;
        else
            height *= 2;
    }
    free(file);
    return facet_fail(FACET_ERR_UNSUPPORTED, "'%s': glyphs at %g px do not fit a 4096x4096 atlas",
                      path, (double)pixel_height);
}

void facet_ui_font_free(facet_ui_font *font) {
    free(font->atlas);
    memset(font, 0, sizeof *font);
}

const facet_ui_glyph *facet_ui_font_glyph(const facet_ui_font *font, uint32_t codepoint) {
    if (codepoint >= 32 && codepoint <= 126) return &font->glyphs[codepoint - 32];
    if (codepoint >= 160 && codepoint <= 255) return &font->glyphs[95 + codepoint - 160];
    return &font->glyphs['?' - 32];
}

float facet_ui_font_text_width(const facet_ui_font *font, const char *text, size_t length) {
    float width = 0.0f;
    size_t i = 0;
    while (i < length) {
        size_t used;
        uint32_t codepoint = facet_ui_utf8_decode(text + i, length - i, &used);
        width += facet_ui_font_glyph(font, codepoint)->advance;
        i += used;
    }
    return width;
}

uint32_t facet_ui_utf8_decode(const char *text, size_t length, size_t *consumed) {
    const unsigned char *s = (const unsigned char *)text;
    *consumed = 1;
    if (s[0] < 0x80) return s[0];
    size_t n;
    uint32_t codepoint, min;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2, codepoint = s[0] & 0x1Fu, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3, codepoint = s[0] & 0x0Fu, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4, codepoint = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0xFFFD;
    }
    if (length < n) return 0xFFFD;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0xFFFD;
        codepoint = (codepoint << 6) | (s[k] & 0x3Fu);
    }
    if (codepoint < min || codepoint > 0x10FFFF || (codepoint >= 0xD800 && codepoint <= 0xDFFF))
        return 0xFFFD;
    *consumed = n;
    return codepoint;
}

size_t facet_ui_utf8_encode(uint32_t codepoint, char out[4]) {
    if (codepoint < 0x80) {
        out[0] = (char)codepoint;
        return 1;
    }
    if (codepoint < 0x800) {
        out[0] = (char)(0xC0 | (codepoint >> 6));
        out[1] = (char)(0x80 | (codepoint & 0x3F));
        return 2;
    }
    if (codepoint >= 0xD800 && codepoint <= 0xDFFF) return 0;
    if (codepoint < 0x10000) {
        out[0] = (char)(0xE0 | (codepoint >> 12));
        out[1] = (char)(0x80 | ((codepoint >> 6) & 0x3F));
        out[2] = (char)(0x80 | (codepoint & 0x3F));
        return 3;
    }
    if (codepoint > 0x10FFFF) return 0;
    out[0] = (char)(0xF0 | (codepoint >> 18));
    out[1] = (char)(0x80 | ((codepoint >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((codepoint >> 6) & 0x3F));
    out[3] = (char)(0x80 | (codepoint & 0x3F));
    return 4;
}
