/* The viewer UI's font: one TrueType face (by default DejaVu Sans, FACET_VIEWER_FONT_DEFAULT)
 * baked once by stb_truetype into an R8 coverage atlas holding printable ASCII (32..126) and
 * Latin-1 (160..255), plus a small block of full coverage that solid fills sample.
 *
 * Units are framebuffer pixels with y pointing down; a glyph's quad is placed relative to the pen
 * position on the baseline. Text is UTF-8; codepoints outside the atlas (and malformed bytes) are
 * drawn and measured as '?'. There is no kerning: a string's width is the sum of its advances. */
#ifndef FACET_VIEWER_UI_FONT_H
#define FACET_VIEWER_UI_FONT_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Baked codepoints: 32..126 then 160..255. */
#define FACET_UI_FONT_GLYPHS (95 + 96)

typedef struct facet_ui_glyph {
    float x0, y0, x1, y1; /* quad relative to the pen on the baseline, pixels (y0 < 0 above it) */
    float u0, v0, u1, v1; /* atlas coordinates in [0,1] (v = 0 is the atlas's row 0) */
    float advance;        /* pen advance, pixels */
} facet_ui_glyph;

typedef struct facet_ui_font {
    float pixel_height; /* ascent - descent, pixels: the size the face was baked at */
    float ascent;       /* baseline to top of the tallest glyph, pixels (> 0) */
    float descent;      /* baseline to bottom of the lowest glyph, pixels (< 0) */
    float line_height;  /* ascent - descent + line gap, pixels: baseline-to-baseline distance */
    int atlas_width, atlas_height;
    uint8_t *atlas;         /* atlas_width * atlas_height coverage bytes, row 0 first; owned */
    float white_u, white_v; /* centre of the full-coverage block: solid fills use this texel */
    facet_ui_glyph glyphs[FACET_UI_FONT_GLYPHS];
} facet_ui_font;

/* Reads the TrueType/OpenType file at `path` (first face of a collection) and bakes the atlas at
 * `pixel_height` (4..256). A missing, unreadable or malformed file fails naming `path`. */
facet_status facet_ui_font_load(facet_ui_font *font, const char *path, float pixel_height);
void facet_ui_font_free(facet_ui_font *font);

/* The glyph for a codepoint; '?' for those outside the atlas. */
const facet_ui_glyph *facet_ui_font_glyph(const facet_ui_font *font, uint32_t codepoint);

/* Width in pixels of the first `length` bytes of UTF-8 `text` (the sum of the advances). */
float facet_ui_font_text_width(const facet_ui_font *font, const char *text, size_t length);

/* Decodes one UTF-8 sequence from `text` (`length` > 0 bytes available). Sets *consumed to the
 * bytes used (>= 1) and returns the codepoint; a malformed, overlong or truncated sequence returns
 * U+FFFD and consumes one byte. */
uint32_t facet_ui_utf8_decode(const char *text, size_t length, size_t *consumed);

/* Encodes a codepoint (<= 0x10FFFF, not a surrogate) as UTF-8 into out; returns the byte count
 * (1..4), or 0 for a value that is not a Unicode scalar. */
size_t facet_ui_utf8_encode(uint32_t codepoint, char out[4]);

#ifdef __cplusplus
}
#endif
#endif
