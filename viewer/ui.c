/* Immediate-mode UI: layout, interaction and triangles (see ui.h). No GL here: viewer/ui_gl.c
 * draws the output. File order: the stb_textedit binding, the ui state, helpers (errors, ids,
 * vertices, text), input, frames, panels, widgets, free drawing, output. */
#include "viewer/ui.h"

#include "core/alloc.h"
#include "viewer/ui_font.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stb_textedit over the caller's UTF-8 buffer ---------------------------------------------
 * stb_textedit counts positions in characters; here a character is one UTF-8 sequence (a
 * malformed byte counts as one character, decoded as U+FFFD), so indices map to byte offsets by
 * walking the string: fine for one-line commands. */

#define STB_TEXTEDIT_CHARTYPE int
#include <stb_textedit.h> /* the types; the implementation is included below */

typedef struct ui_text_buffer {
    char *bytes;     /* the caller's buffer, NUL-terminated */
    size_t capacity; /* its size in bytes, NUL included */
    size_t length;   /* strlen(bytes) */
    int chars;       /* characters in bytes */
    int edited;      /* set when an insertion or deletion changed the text */
    const facet_ui_font *font;
    float row_height; /* pixels */
} ui_text_buffer;

static size_t text_offset(const ui_text_buffer *t, int index) {
    size_t offset = 0, used;
    for (int i = 0; i < index && offset < t->length; i++) {
        facet_ui_utf8_decode(t->bytes + offset, t->length - offset, &used);
        offset += used;
    }
    return offset;
}

static int text_count_chars(const char *bytes, size_t length) {
    int chars = 0;
    size_t offset = 0, used;
    while (offset < length) {
        facet_ui_utf8_decode(bytes + offset, length - offset, &used);
        offset += used;
        chars++;
    }
    return chars;
}

static int text_char(const ui_text_buffer *t, int index) {
    size_t offset = text_offset(t, index), used;
    if (offset >= t->length) return 0;
    return (int)facet_ui_utf8_decode(t->bytes + offset, t->length - offset, &used);
}

static float text_char_width(const ui_text_buffer *t, int index) {
    return facet_ui_font_glyph(t->font, (uint32_t)text_char(t, index))->advance;
}

static void text_layout_row(StbTexteditRow *row, ui_text_buffer *t, int start) {
    size_t offset = text_offset(t, start);
    row->x0 = 0.0f;
    row->x1 = facet_ui_font_text_width(t->font, t->bytes + offset, t->length - offset);
    row->baseline_y_delta = t->row_height;
    row->ymin = 0.0f;
    row->ymax = t->row_height;
    row->num_chars = t->chars - start;
}

static void text_delete(ui_text_buffer *t, int index, int count) {
    size_t from = text_offset(t, index), to = text_offset(t, index + count);
    memmove(t->bytes + from, t->bytes + to, t->length - to + 1);
    t->length -= to - from;
    t->chars = text_count_chars(t->bytes, t->length);
    t->edited = 1;
}

/* Inserts `count` codepoints at character `index`; 0 (nothing changed) when they do not fit. */
static int text_insert(ui_text_buffer *t, int index, const int *codepoints, int count) {
    char encoded[64];
    size_t bytes = 0;
    for (int i = 0; i < count; i++) {
        if (bytes + 4 > sizeof encoded) return 0;
        size_t n = facet_ui_utf8_encode((uint32_t)codepoints[i], encoded + bytes);
        if (n == 0) return 0;
        bytes += n;
    }
    if (t->length + bytes + 1 > t->capacity) return 0;
    size_t at = text_offset(t, index);
    memmove(t->bytes + at + bytes, t->bytes + at, t->length - at + 1);
    memcpy(t->bytes + at, encoded, bytes);
    t->length += bytes;
    t->chars += count;
    t->edited = 1;
    return 1;
}

/* Key codes: typed characters are their codepoint (< 0x110000); keys set UI_KEY_BIT. */
#define UI_KEY_BIT 0x200000
#define STB_TEXTEDIT_STRING ui_text_buffer
#define STB_TEXTEDIT_STRINGLEN(t) ((t)->chars)
#define STB_TEXTEDIT_LAYOUTROW(row, t, start) text_layout_row(row, t, start)
#define STB_TEXTEDIT_GETWIDTH(t, line_start, i) text_char_width(t, (line_start) + (i))
#define STB_TEXTEDIT_KEYTOTEXT(key) (((key)&UI_KEY_BIT) ? -1 : (key))
#define STB_TEXTEDIT_GETCHAR(t, i) text_char(t, i)
#define STB_TEXTEDIT_NEWLINE '\n'
#define STB_TEXTEDIT_IS_SPACE(c) ((c) == ' ' || (c) == '\t')
#define STB_TEXTEDIT_DELETECHARS(t, i, n) text_delete(t, i, n)
#define STB_TEXTEDIT_INSERTCHARS(t, i, c, n) text_insert(t, i, c, n)
#define STB_TEXTEDIT_K_SHIFT 0x400000
#define STB_TEXTEDIT_K_LEFT (UI_KEY_BIT | 1)
#define STB_TEXTEDIT_K_RIGHT (UI_KEY_BIT | 2)
#define STB_TEXTEDIT_K_LINESTART (UI_KEY_BIT | 3)
#define STB_TEXTEDIT_K_LINEEND (UI_KEY_BIT | 4)
#define STB_TEXTEDIT_K_TEXTSTART (UI_KEY_BIT | 5)
#define STB_TEXTEDIT_K_TEXTEND (UI_KEY_BIT | 6)
#define STB_TEXTEDIT_K_DELETE (UI_KEY_BIT | 7)
#define STB_TEXTEDIT_K_BACKSPACE (UI_KEY_BIT | 8)
#define STB_TEXTEDIT_K_WORDLEFT (UI_KEY_BIT | 9)
#define STB_TEXTEDIT_K_WORDRIGHT (UI_KEY_BIT | 10)
/* Required by stb_textedit but never sent: a single line has no rows, and facet_ui_key has no
 * undo/redo keys. */
#define STB_TEXTEDIT_K_UP (UI_KEY_BIT | 11)
#define STB_TEXTEDIT_K_DOWN (UI_KEY_BIT | 12)
#define STB_TEXTEDIT_K_PGUP (UI_KEY_BIT | 13)
#define STB_TEXTEDIT_K_PGDOWN (UI_KEY_BIT | 14)
#define STB_TEXTEDIT_K_UNDO (UI_KEY_BIT | 15)
#define STB_TEXTEDIT_K_REDO (UI_KEY_BIT | 16)
#define STB_TEXTEDIT_IMPLEMENTATION
/* stb_textedit's API functions are static; cut and paste are unused here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_textedit.h>
#pragma GCC diagnostic pop

/* ---- state ---------------------------------------------------------------------------------- */

/* Theme, 0xRRGGBBAA. */
#define COLOR_PANEL 0x1E2226E6u
#define COLOR_BORDER 0x3C434BFFu
#define COLOR_TITLE 0x2D5986FFu
#define COLOR_TEXT 0xE6E8EAFFu
#define COLOR_WIDGET 0x343A41FFu
#define COLOR_HOVER 0x434B54FFu
#define COLOR_PRESSED 0x515C68FFu
#define COLOR_ACCENT 0x3D7BC4FFu
#define COLOR_FIELD 0x14171AFFu
#define COLOR_SELECTION 0x3D7BC499u
#define COLOR_CURSOR 0xFFFFFFFFu

#define UI_MAX_PANELS 32
#define UI_MAX_VERTICES (1 << 24)

typedef struct ui_rect {
    float x0, y0, x1, y1;
} ui_rect;

/* Who the held mouse button belongs to: decided when it goes down, kept until it is released. */
typedef enum ui_owner { OWNER_NONE, OWNER_UI, OWNER_APP } ui_owner;

typedef struct ui_panel_record {
    uint32_t id;
    ui_rect rect;
    uint64_t frame; /* the last frame that drew it (0: free slot) */
} ui_panel_record;

struct facet_ui {
    facet_ui_font font;
    /* layout metrics, pixels */
    float line;     /* text line: ceil(ascent - descent) */
    float row;      /* a widget row: line plus vertical insets */
    float pad;      /* panel padding */
    float spacing;  /* between widget rows */
    float text_pad; /* text inset inside widgets */
    float baseline; /* baseline offset from the top of a `line`-tall band */

    /* frame */
    uint64_t frame;
    int in_frame;
    facet_ui_input input;
    ui_rect screen;
    facet_ui_event events[2 * FACET_UI_MAX_EVENTS]; /* carried over, then this frame's */
    int event_count, event_pos;
    facet_ui_event carry[FACET_UI_MAX_EVENTS]; /* unconsumed text-box events for the next frame */
    int carry_count;

    /* output */
    facet_ui_vertex *vertices;
    int vertex_count, vertex_capacity;

    /* current panel */
    int in_panel;
    uint32_t panel_id;
    char panel_name[64];
    ui_rect panel;  /* x0, y0, x1 fixed; y1 set at panel_end */
    ui_rect clip;   /* widgets' clip rectangle */
    float cursor_y; /* top of the next widget row */
    int panel_rows; /* rows stacked so far */
    int panel_first_vertex;
    ui_panel_record panels[UI_MAX_PANELS];
    ui_rect last_widget;

    /* interaction */
    ui_owner owner;
    int wants_mouse;
    uint32_t active_id; /* widget holding the mouse button */
    int active_seen;
    uint32_t focus_id; /* text box holding the keyboard */
    int focus_seen;
    uint32_t focus_request; /* text box asked for by facet_ui_focus this frame */
    int tab_pending;        /* Tab pressed: the next text box takes focus */
    uint64_t tab_frame;     /* frame of that Tab */
    STB_TexteditState edit;
    float edit_scroll; /* focused text box's horizontal scroll, pixels */

    /* first misuse or allocation failure, reported by facet_ui_end */
    facet_status error;
    char error_message[256];
};

/* ---- helpers -------------------------------------------------------------------------------- */

static void ui_error(facet_ui *ui, facet_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ui_error(facet_ui *ui, facet_status status, const char *fmt, ...) {
    if (ui->error != FACET_OK) return;
    ui->error = status;
    va_list args;
    va_start(args, fmt);
    vsnprintf(ui->error_message, sizeof ui->error_message, fmt, args);
    va_end(args);
}

/* FNV-1a over `size` bytes, continuing from `seed`; never 0 (0 means "no widget"). */
static uint32_t hash_bytes(uint32_t seed, const void *data, size_t size) {
    const unsigned char *p = data;
    uint32_t h = seed;
    for (size_t i = 0; i < size; i++) h = (h ^ p[i]) * 16777619u;
    return h ? h : 1;
}

#define HASH_SEED 2166136261u

static uint32_t widget_id(const facet_ui *ui, const char *label) {
    return hash_bytes(ui->panel_id, label, strlen(label));
}

/* Bytes of a label that are displayed: up to "##". */
static size_t display_length(const char *label) {
    const char *hidden = strstr(label, "##");
    return hidden ? (size_t)(hidden - label) : strlen(label);
}

static int point_in(ui_rect r, float x, float y) {
    return x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1;
}

static ui_rect intersect(ui_rect a, ui_rect b) {
    return (ui_rect){fmaxf(a.x0, b.x0), fmaxf(a.y0, b.y0), fminf(a.x1, b.x1), fminf(a.y1, b.y1)};
}

static facet_ui_vertex *reserve_vertices(facet_ui *ui, int count) {
    if (ui->vertex_count + count > ui->vertex_capacity) {
        if (ui->vertex_count + count > UI_MAX_VERTICES) {
            ui_error(ui, FACET_ERR_OUT_OF_MEMORY, "UI frame exceeds %d vertices", UI_MAX_VERTICES);
            return NULL;
        }
        int capacity = ui->vertex_capacity ? ui->vertex_capacity : 4096;
        while (capacity < ui->vertex_count + count) capacity *= 2;
        facet_ui_vertex *grown = facet_realloc(ui->vertices, (size_t)capacity, sizeof *grown);
        if (!grown) {
            ui_error(ui, FACET_ERR_OUT_OF_MEMORY, "UI vertices: %s", facet_last_error());
            return NULL;
        }
        ui->vertices = grown;
        ui->vertex_capacity = capacity;
    }
    facet_ui_vertex *v = ui->vertices + ui->vertex_count;
    ui->vertex_count += count;
    return v;
}

/* Two triangles covering `r` with atlas coordinates (u0,v0)-(u1,v1), clipped to `clip` (the
 * coordinates interpolated at the clipped edges). */
static void emit_quad(facet_ui *ui, ui_rect r, float u0, float v0, float u1, float v1,
                      uint32_t rgba, ui_rect clip) {
    ui_rect c = intersect(r, clip);
    if (!(c.x0 < c.x1 && c.y0 < c.y1)) return;
    float du = (u1 - u0) / (r.x1 - r.x0), dv = (v1 - v0) / (r.y1 - r.y0);
    float cu0 = u0 + (c.x0 - r.x0) * du, cu1 = u0 + (c.x1 - r.x0) * du;
    float cv0 = v0 + (c.y0 - r.y0) * dv, cv1 = v0 + (c.y1 - r.y0) * dv;
    facet_ui_vertex *v = reserve_vertices(ui, 6);
    if (!v) return;
    uint8_t color[4] = {(uint8_t)(rgba >> 24), (uint8_t)(rgba >> 16), (uint8_t)(rgba >> 8),
                        (uint8_t)rgba};
    const facet_ui_vertex corners[4] = {{c.x0, c.y0, cu0, cv0, {0}},
                                        {c.x1, c.y0, cu1, cv0, {0}},
                                        {c.x1, c.y1, cu1, cv1, {0}},
                                        {c.x0, c.y1, cu0, cv1, {0}}};
    static const int order[6] = {0, 1, 2, 0, 2, 3};
    for (int i = 0; i < 6; i++) {
        v[i] = corners[order[i]];
        memcpy(v[i].rgba, color, 4);
    }
}

static void emit_rect(facet_ui *ui, ui_rect r, uint32_t rgba, ui_rect clip) {
    emit_quad(ui, r, ui->font.white_u, ui->font.white_v, ui->font.white_u, ui->font.white_v, rgba,
              clip);
}

/* A 1-pixel outline inside `r`. */
static void emit_outline(facet_ui *ui, ui_rect r, uint32_t rgba, ui_rect clip) {
    emit_rect(ui, (ui_rect){r.x0, r.y0, r.x1, r.y0 + 1}, rgba, clip);
    emit_rect(ui, (ui_rect){r.x0, r.y1 - 1, r.x1, r.y1}, rgba, clip);
    emit_rect(ui, (ui_rect){r.x0, r.y0 + 1, r.x0 + 1, r.y1 - 1}, rgba, clip);
    emit_rect(ui, (ui_rect){r.x1 - 1, r.y0 + 1, r.x1, r.y1 - 1}, rgba, clip);
}

/* Draws `length` bytes of UTF-8 with the pen starting at (x, baseline); returns the pen's end. */
static float emit_text(facet_ui *ui, float x, float baseline, uint32_t rgba, const char *text,
                       size_t length, ui_rect clip) {
    size_t i = 0, used;
    while (i < length) {
        uint32_t codepoint = facet_ui_utf8_decode(text + i, length - i, &used);
        const facet_ui_glyph *g = facet_ui_font_glyph(&ui->font, codepoint);
        if (g->x1 > g->x0)
            emit_quad(ui, (ui_rect){x + g->x0, baseline + g->y0, x + g->x1, baseline + g->y1},
                      g->u0, g->v0, g->u1, g->v1, rgba, clip);
        x += g->advance;
        i += used;
    }
    return x;
}

/* Baseline of text vertically centred in `r`, on a whole pixel. */
static float centred_baseline(const facet_ui *ui, ui_rect r) {
    return floorf(r.y0 + (r.y1 - r.y0 - ui->line) / 2.0f + ui->baseline + 0.5f);
}

/* Takes the next `height`-pixel row of the current panel for a widget; 0 outside a panel. */
static int next_row(facet_ui *ui, const char *what, const char *label, float height, ui_rect *r) {
    if (!ui->in_panel) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI %s '%s' used outside a panel", what, label);
        return 0;
    }
    *r = (ui_rect){ui->panel.x0 + ui->pad, ui->cursor_y, ui->panel.x1 - ui->pad,
                   ui->cursor_y + height};
    ui->cursor_y += height + ui->spacing;
    ui->panel_rows++;
    ui->last_widget = *r;
    return 1;
}

/* The widget at `r` is under the mouse, and the mouse is not in a drag the app owns. */
static int hovered(const facet_ui *ui, ui_rect r) {
    return ui->owner != OWNER_APP && point_in(r, ui->input.mouse_x, ui->input.mouse_y) &&
           point_in(ui->clip, ui->input.mouse_x, ui->input.mouse_y);
}

static int mouse_up(const facet_ui *ui) {
    return ui->input.mouse_released || !ui->input.mouse_down;
}

/* Button behaviour: pressing over the widget makes it active; releasing while active ends it and
 * is a click when the mouse is still over it. Returns 1 on a click. */
static int press_release(facet_ui *ui, uint32_t id, int hover) {
    if (hover && ui->input.mouse_pressed) ui->active_id = id;
    if (ui->active_id != id) return 0;
    ui->active_seen = 1;
    if (!mouse_up(ui)) return 0;
    ui->active_id = 0;
    return hover;
}

static uint32_t widget_color(const facet_ui *ui, uint32_t id, int hover) {
    if (ui->active_id == id) return COLOR_PRESSED;
    return hover ? COLOR_HOVER : COLOR_WIDGET;
}

/* A row showing the displayed part of `label`, when it has one. */
static void label_row(facet_ui *ui, const char *what, const char *label) {
    size_t length = display_length(label);
    if (length == 0) return;
    ui_rect r;
    if (!next_row(ui, what, label, ui->line, &r)) return;
    emit_text(ui, r.x0, centred_baseline(ui, r), COLOR_TEXT, label, length, ui->clip);
}

/* ---- input ---------------------------------------------------------------------------------- */

void facet_ui_input_char(facet_ui_input *input, uint32_t codepoint, int mods) {
    if (input->event_count < 0 || input->event_count >= FACET_UI_MAX_EVENTS) return;
    input->events[input->event_count++] = (facet_ui_event){FACET_UI_KEY_NONE, codepoint, mods};
}

void facet_ui_input_key(facet_ui_input *input, facet_ui_key key, int mods) {
    if (key < FACET_UI_KEY_BACKSPACE || key > FACET_UI_KEY_TAB) return;
    if (input->event_count < 0 || input->event_count >= FACET_UI_MAX_EVENTS) return;
    input->events[input->event_count++] = (facet_ui_event){key, 0, mods};
}

void facet_ui_input_next_frame(facet_ui_input *input) {
    input->mouse_pressed = 0;
    input->mouse_released = 0;
    input->scroll_y = 0.0f;
    input->event_count = 0;
}

/* ---- lifetime and frames -------------------------------------------------------------------- */

facet_status facet_ui_create(facet_ui **out, const char *font_path, float pixel_height) {
    *out = NULL;
    facet_ui *ui = facet_alloc_zeroed(1, sizeof *ui);
    if (!ui) return facet_error_context("UI");
    facet_status status = facet_ui_font_load(
        &ui->font, font_path ? font_path : FACET_VIEWER_FONT_DEFAULT, pixel_height);
    if (status != FACET_OK) {
        free(ui);
        return status;
    }
    ui->line = ceilf(ui->font.ascent - ui->font.descent);
    ui->baseline = roundf(ui->font.ascent + (ui->line - (ui->font.ascent - ui->font.descent)) / 2);
    float unit = roundf(pixel_height / 4.0f);
    ui->row = ui->line + 2.0f * unit;
    ui->pad = 2.0f * unit;
    ui->spacing = unit;
    ui->text_pad = roundf(pixel_height * 0.375f);
    ui->panel_id = HASH_SEED;
    *out = ui;
    return FACET_OK;
}

void facet_ui_destroy(facet_ui *ui) {
    if (!ui) return;
    facet_ui_font_free(&ui->font);
    free(ui->vertices);
    free(ui);
}

static int over_panel(const facet_ui *ui, uint64_t frame) {
    for (int i = 0; i < UI_MAX_PANELS; i++)
        if (ui->panels[i].frame == frame &&
            point_in(ui->panels[i].rect, ui->input.mouse_x, ui->input.mouse_y))
            return 1;
    return 0;
}

void facet_ui_begin(facet_ui *ui, const facet_ui_input *input, int fb_width, int fb_height) {
    ui->frame++;
    ui->in_frame = 1;
    ui->in_panel = 0;
    ui->vertex_count = 0;
    ui->last_widget = (ui_rect){0, 0, 0, 0};
    ui->screen = (ui_rect){0, 0, (float)(fb_width > 0 ? fb_width : 0),
                           (float)(fb_height > 0 ? fb_height : 0)};
    ui->clip = ui->screen;
    ui->panel_id = HASH_SEED;
    if (input) {
        ui->input = *input;
    } else {
        memset(&ui->input, 0, sizeof ui->input);
        ui->input.mouse_x = ui->input.mouse_y = -INFINITY;
    }
    if (!isfinite(ui->input.mouse_x) || !isfinite(ui->input.mouse_y))
        ui->input.mouse_x = ui->input.mouse_y = -INFINITY;
    if (!isfinite(ui->input.scroll_y)) ui->input.scroll_y = 0.0f;
    int count = ui->input.event_count;
    if (count < 0) count = 0;
    if (count > FACET_UI_MAX_EVENTS) count = FACET_UI_MAX_EVENTS;
    memcpy(ui->events, ui->carry, (size_t)ui->carry_count * sizeof ui->events[0]);
    memcpy(ui->events + ui->carry_count, ui->input.events, (size_t)count * sizeof ui->events[0]);
    ui->event_count = ui->carry_count + count;
    ui->event_pos = 0;
    ui->carry_count = 0;

    if (ui->input.mouse_pressed)
        ui->owner = over_panel(ui, ui->frame - 1) ? OWNER_UI : OWNER_APP;
    else if (!ui->input.mouse_down)
        ui->owner = OWNER_NONE;
    ui->active_seen = 0;
    ui->focus_seen = 0;
}

facet_status facet_ui_end(facet_ui *ui) {
    if (!ui->in_frame)
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "facet_ui_end called without facet_ui_begin");
    if (ui->in_panel) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI panel '%s' was not ended", ui->panel_name);
        facet_ui_panel_end(ui);
    }
    ui->in_frame = 0;
    ui->focus_request = 0;
    if (!ui->active_seen || !ui->input.mouse_down) ui->active_id = 0;
    if (ui->tab_pending && ui->frame > ui->tab_frame) ui->tab_pending = 0;
    if (!ui->focus_seen && !ui->tab_pending) ui->focus_id = 0;
    if (ui->focus_id || ui->tab_pending) {
        int left = ui->event_count - ui->event_pos;
        ui->carry_count = left < FACET_UI_MAX_EVENTS ? left : FACET_UI_MAX_EVENTS;
        memcpy(ui->carry, ui->events + ui->event_pos,
               (size_t)ui->carry_count * sizeof ui->carry[0]);
    }
    ui->wants_mouse = ui->owner == OWNER_UI || ui->active_id != 0 ||
                      (ui->owner == OWNER_NONE && over_panel(ui, ui->frame));
    facet_status status = ui->error;
    ui->error = FACET_OK;
    if (status != FACET_OK) return facet_fail(status, "%s", ui->error_message);
    return FACET_OK;
}

int facet_ui_wants_mouse(const facet_ui *ui) {
    return ui->wants_mouse;
}

int facet_ui_wants_keyboard(const facet_ui *ui) {
    return ui->focus_id != 0;
}

/* ---- measurement ---------------------------------------------------------------------------- */

float facet_ui_text_width(const facet_ui *ui, const char *text) {
    return facet_ui_font_text_width(&ui->font, text, strlen(text));
}

float facet_ui_line_height(const facet_ui *ui) {
    return ui->font.line_height;
}

float facet_ui_panel_height(const facet_ui *ui, const char *title) {
    if (!title) title = "";
    uint32_t id = hash_bytes(HASH_SEED, title, strlen(title));
    for (int i = 0; i < UI_MAX_PANELS; i++)
        if (ui->panels[i].frame && ui->panels[i].id == id)
            return ui->panels[i].rect.y1 - ui->panels[i].rect.y0;
    return 0.0f;
}

facet_ui_box facet_ui_last_widget(const facet_ui *ui) {
    ui_rect r = ui->last_widget;
    return (facet_ui_box){r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0};
}

/* ---- panels --------------------------------------------------------------------------------- */

void facet_ui_panel_begin(facet_ui *ui, float x, float y, float width, const char *title) {
    if (!title) title = "";
    if (!ui->in_frame) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI panel '%s' begun outside a frame", title);
        return;
    }
    if (ui->in_panel) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI panel '%s' begun inside panel '%s'", title,
                 ui->panel_name);
        return;
    }
    if (!isfinite(x) || !isfinite(y) || !(width > 0.0f && width < 1e6f)) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT,
                 "UI panel '%s': position (%g, %g) or width %g is not usable", title, (double)x,
                 (double)y, (double)width);
        return;
    }
    ui->in_panel = 1;
    ui->panel_id = hash_bytes(HASH_SEED, title, strlen(title));
    snprintf(ui->panel_name, sizeof ui->panel_name, "%s", title);
    ui->panel = (ui_rect){x, y, x + width, y};
    ui->panel_first_vertex = ui->vertex_count;
    ui->panel_rows = 0;
    ui->cursor_y = y;
    size_t title_length = display_length(title);
    if (title_length > 0) {
        ui_rect header = {x, y, x + width, y + ui->row};
        emit_rect(ui, header, COLOR_TITLE, ui->screen);
        ui_rect text_clip = intersect(
            (ui_rect){x + ui->text_pad, y, x + width - ui->text_pad, y + ui->row}, ui->screen);
        emit_text(ui, x + ui->text_pad, centred_baseline(ui, header), COLOR_TEXT, title,
                  title_length, text_clip);
        ui->cursor_y += ui->row;
    }
    ui->cursor_y += ui->pad;
    ui->clip = intersect((ui_rect){x, y, x + width, INFINITY}, ui->screen);
}

void facet_ui_panel_end(facet_ui *ui) {
    if (!ui->in_panel) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "facet_ui_panel_end without a panel");
        return;
    }
    ui->in_panel = 0;
    ui->clip = ui->screen;
    float bottom = ui->cursor_y + ui->pad - (ui->panel_rows ? ui->spacing : 0.0f);
    ui->panel.y1 = bottom;

    /* The background goes under the widgets: emit it, then move it before them. */
    int first = ui->vertex_count;
    emit_rect(ui, ui->panel, COLOR_PANEL, ui->screen);
    emit_outline(ui, ui->panel, COLOR_BORDER, ui->screen);
    int added = ui->vertex_count - first;
    facet_ui_vertex background[30];
    if (added > 0 && added <= 30) {
        memcpy(background, ui->vertices + first, (size_t)added * sizeof background[0]);
        int start = ui->panel_first_vertex;
        memmove(ui->vertices + start + added, ui->vertices + start,
                (size_t)(first - start) * sizeof background[0]);
        memcpy(ui->vertices + start, background, (size_t)added * sizeof background[0]);
    }

    /* Remember the panel for hit tests and facet_ui_panel_height: its slot, or the stalest. */
    int slot = 0;
    for (int i = 0; i < UI_MAX_PANELS; i++) {
        if (ui->panels[i].frame && ui->panels[i].id == ui->panel_id) {
            slot = i;
            break;
        }
        if (ui->panels[i].frame < ui->panels[slot].frame) slot = i;
    }
    ui->panels[slot] = (ui_panel_record){ui->panel_id, ui->panel, ui->frame};
    ui->panel_id = HASH_SEED;
}

/* ---- widgets -------------------------------------------------------------------------------- */

void facet_ui_label(facet_ui *ui, const char *text) {
    if (!text) text = "";
    ui_rect r;
    if (!next_row(ui, "label", text, ui->line, &r)) return;
    emit_text(ui, r.x0, centred_baseline(ui, r), COLOR_TEXT, text, strlen(text), ui->clip);
}

void facet_ui_labelf(facet_ui *ui, const char *fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    facet_ui_label(ui, text);
}

void facet_ui_separator(facet_ui *ui) {
    ui_rect r;
    if (!next_row(ui, "separator", "", ui->spacing + 1.0f, &r)) return;
    float y = floorf(r.y0 + ui->spacing / 2.0f);
    emit_rect(ui, (ui_rect){r.x0, y, r.x1, y + 1.0f}, COLOR_BORDER, ui->clip);
}

int facet_ui_button(facet_ui *ui, const char *label) {
    if (!label) label = "";
    ui_rect r;
    if (!next_row(ui, "button", label, ui->row, &r)) return 0;
    uint32_t id = widget_id(ui, label);
    int hover = hovered(ui, r);
    int clicked = press_release(ui, id, hover);
    emit_rect(ui, r, widget_color(ui, id, hover), ui->clip);
    size_t length = display_length(label);
    float width = facet_ui_font_text_width(&ui->font, label, length);
    float x = floorf((r.x0 + r.x1 - width) / 2.0f);
    emit_text(ui, x, centred_baseline(ui, r), COLOR_TEXT, label, length, intersect(r, ui->clip));
    return clicked;
}

int facet_ui_slider(facet_ui *ui, const char *label, float *value, float min, float max,
                    const char *format) {
    if (!label) label = "";
    ui_rect r;
    if (!next_row(ui, "slider", label, ui->row, &r)) return 0;
    if (!value || !isfinite(min) || !isfinite(max) || !(min <= max)) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT,
                 "UI slider '%s': range [%g, %g] is empty or not finite, or no value", label,
                 (double)min, (double)max);
        return 0;
    }
    uint32_t id = widget_id(ui, label);
    int hover = hovered(ui, r);
    float old = *value, v = old;
    if (hover && ui->input.mouse_pressed) ui->active_id = id;
    if (ui->active_id == id) {
        ui->active_seen = 1;
        float t = (ui->input.mouse_x - r.x0) / (r.x1 - r.x0);
        if (!(t > 0.0f)) t = 0.0f;
        v = t >= 1.0f ? max : min + t * (max - min);
        if (mouse_up(ui)) ui->active_id = 0;
    } else if (hover && ui->input.scroll_y != 0.0f) {
        v += ui->input.scroll_y * (max - min) / 100.0f;
    }
    if (!(v >= min)) v = min;
    if (v > max) v = max;
    int changed = !(v == old);
    *value = v;

    ui_rect clip = intersect(r, ui->clip);
    emit_rect(ui, r, widget_color(ui, id, hover), ui->clip);
    float fraction = max > min ? (v - min) / (max - min) : 0.0f;
    emit_rect(ui, (ui_rect){r.x0, r.y0, r.x0 + fraction * (r.x1 - r.x0), r.y1}, COLOR_ACCENT, clip);
    float baseline = centred_baseline(ui, r);
    char text[64];
    snprintf(text, sizeof text, format ? format : "%.3g", (double)v);
    float width = facet_ui_text_width(ui, text);
    emit_text(ui, r.x0 + ui->text_pad, baseline, COLOR_TEXT, label, display_length(label), clip);
    emit_text(ui, r.x1 - ui->text_pad - width, baseline, COLOR_TEXT, text, strlen(text), clip);
    return changed;
}

int facet_ui_checkbox(facet_ui *ui, const char *label, int *checked) {
    if (!label) label = "";
    ui_rect r;
    if (!next_row(ui, "checkbox", label, ui->row, &r)) return 0;
    if (!checked) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI checkbox '%s': no value", label);
        return 0;
    }
    uint32_t id = widget_id(ui, label);
    int hover = hovered(ui, r);
    int toggled = press_release(ui, id, hover);
    if (toggled) *checked = !*checked;

    float inset = ui->spacing, side = r.y1 - r.y0 - 2.0f * inset;
    ui_rect box = {r.x0, r.y0 + inset, r.x0 + side, r.y0 + inset + side};
    emit_rect(ui, box, widget_color(ui, id, hover), ui->clip);
    if (*checked) {
        float mark = floorf(side / 4.0f);
        emit_rect(ui, (ui_rect){box.x0 + mark, box.y0 + mark, box.x1 - mark, box.y1 - mark},
                  COLOR_ACCENT, ui->clip);
    }
    emit_text(ui, box.x1 + ui->text_pad, centred_baseline(ui, r), COLOR_TEXT, label,
              display_length(label), intersect(r, ui->clip));
    return toggled;
}

int facet_ui_choice(facet_ui *ui, const char *label, const char *const *options, int count,
                    int selected) {
    if (!label) label = "";
    label_row(ui, "choice", label);
    ui_rect r;
    if (!next_row(ui, "choice", label, ui->row, &r)) return selected;
    if (!options || count <= 0) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI choice '%s': no options", label);
        return selected;
    }
    uint32_t base = widget_id(ui, label);
    float gap = 2.0f, width = (r.x1 - r.x0 - gap * (float)(count - 1)) / (float)count;
    int result = selected;
    for (int i = 0; i < count; i++) {
        float x0 = r.x0 + (float)i * (width + gap);
        ui_rect cell = {x0, r.y0, x0 + width, r.y1};
        uint32_t id = hash_bytes(base, &i, sizeof i);
        int hover = hovered(ui, cell);
        if (press_release(ui, id, hover)) result = i;
    }
    for (int i = 0; i < count; i++) {
        float x0 = r.x0 + (float)i * (width + gap);
        ui_rect cell = {x0, r.y0, x0 + width, r.y1};
        uint32_t id = hash_bytes(base, &i, sizeof i);
        uint32_t color = i == result ? COLOR_ACCENT : widget_color(ui, id, hovered(ui, cell));
        emit_rect(ui, cell, color, ui->clip);
        const char *option = options[i] ? options[i] : "";
        size_t length = strlen(option);
        float text_width = facet_ui_font_text_width(&ui->font, option, length);
        emit_text(ui, floorf(x0 + (width - text_width) / 2.0f), centred_baseline(ui, cell),
                  COLOR_TEXT, option, length, intersect(cell, ui->clip));
    }
    return result;
}

/* Gives the keyboard to text box `id` with the cursor at the end of its text. */
static void focus_textbox(facet_ui *ui, uint32_t id, const ui_text_buffer *t) {
    ui->focus_id = id;
    stb_textedit_initialize_state(&ui->edit, 1);
    ui->edit.cursor = ui->edit.select_start = ui->edit.select_end = t->chars;
    ui->edit_scroll = 0.0f;
}

/* The stb_textedit key for a facet_ui key other than Enter, Escape and Tab. */
static int textedit_key(const facet_ui_event *e) {
    int ctrl = e->mods & FACET_UI_MOD_CTRL;
    int shift = (e->mods & FACET_UI_MOD_SHIFT) ? STB_TEXTEDIT_K_SHIFT : 0;
    switch (e->key) {
    case FACET_UI_KEY_BACKSPACE:
        return STB_TEXTEDIT_K_BACKSPACE;
    case FACET_UI_KEY_DELETE:
        return STB_TEXTEDIT_K_DELETE;
    case FACET_UI_KEY_LEFT:
        return (ctrl ? STB_TEXTEDIT_K_WORDLEFT : STB_TEXTEDIT_K_LEFT) | shift;
    case FACET_UI_KEY_RIGHT:
        return (ctrl ? STB_TEXTEDIT_K_WORDRIGHT : STB_TEXTEDIT_K_RIGHT) | shift;
    case FACET_UI_KEY_HOME:
        return (ctrl ? STB_TEXTEDIT_K_TEXTSTART : STB_TEXTEDIT_K_LINESTART) | shift;
    case FACET_UI_KEY_END:
        return (ctrl ? STB_TEXTEDIT_K_TEXTEND : STB_TEXTEDIT_K_LINEEND) | shift;
    default:
        return 0;
    }
}

/* A typed codepoint that belongs in a one-line text: not a control character or a surrogate. */
static int insertable(uint32_t c) {
    return c >= 32 && c != 127 && !(c >= 0x80 && c < 0xA0) && !(c >= 0xD800 && c <= 0xDFFF) &&
           c <= 0x10FFFF;
}

/* Feeds this frame's events to the focused text box until Enter, Escape or Tab. */
static facet_ui_text_result textbox_events(facet_ui *ui, ui_text_buffer *t) {
    while (ui->event_pos < ui->event_count) {
        const facet_ui_event *e = &ui->events[ui->event_pos++];
        switch (e->key) {
        case FACET_UI_KEY_NONE:
            if (insertable(e->codepoint)) stb_textedit_key(t, &ui->edit, (int)e->codepoint);
            break;
        case FACET_UI_KEY_ENTER:
            return FACET_UI_SUBMIT;
        case FACET_UI_KEY_ESCAPE:
            ui->focus_id = 0;
            return FACET_UI_NONE;
        case FACET_UI_KEY_TAB:
            ui->tab_pending = 1;
            ui->tab_frame = ui->frame;
            return FACET_UI_NONE;
        default: {
            int key = textedit_key(e);
            if (key) stb_textedit_key(t, &ui->edit, key);
            break;
        }
        }
    }
    return FACET_UI_NONE;
}

static void clamp_edit_state(STB_TexteditState *s, int chars) {
    if (s->cursor > chars) s->cursor = chars;
    if (s->select_start > chars) s->select_start = chars;
    if (s->select_end > chars) s->select_end = chars;
}

facet_ui_text_result facet_ui_textbox(facet_ui *ui, const char *label, char *buffer,
                                      size_t capacity) {
    if (!label) label = "";
    label_row(ui, "text box", label);
    ui_rect r;
    if (!next_row(ui, "text box", label, ui->row, &r)) return FACET_UI_NONE;
    size_t length = buffer && capacity ? strnlen(buffer, capacity) : 0;
    if (!buffer || capacity == 0 || capacity > INT_MAX || length == capacity) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT,
                 "UI text box '%s': buffer of %zu bytes is missing, too large or not "
                 "NUL-terminated",
                 label, capacity);
        return FACET_UI_NONE;
    }
    uint32_t id = widget_id(ui, label);
    ui_text_buffer t = {buffer, capacity,  length,     text_count_chars(buffer, length),
                        0,      &ui->font, r.y1 - r.y0};
    float text_x = r.x0 + ui->text_pad;
    int hover = hovered(ui, r);

    if (ui->focus_request == id) {
        ui->focus_request = 0;
        if (ui->focus_id != id) focus_textbox(ui, id, &t);
    }
    if (ui->tab_pending && (ui->focus_id != id || ui->frame > ui->tab_frame)) {
        ui->tab_pending = 0;
        focus_textbox(ui, id, &t);
    }
    if (ui->input.mouse_pressed) {
        if (hover) {
            if (ui->focus_id != id) focus_textbox(ui, id, &t);
            stb_textedit_click(&t, &ui->edit, ui->input.mouse_x - text_x + ui->edit_scroll,
                               ui->input.mouse_y - r.y0);
            ui->active_id = id;
        } else if (ui->focus_id == id) {
            ui->focus_id = 0;
        }
    }
    if (ui->active_id == id) {
        ui->active_seen = 1;
        if (ui->focus_id == id && ui->input.mouse_down && !ui->input.mouse_pressed)
            stb_textedit_drag(&t, &ui->edit, ui->input.mouse_x - text_x + ui->edit_scroll,
                              ui->input.mouse_y - r.y0);
        if (mouse_up(ui)) ui->active_id = 0;
    }
    facet_ui_text_result result = FACET_UI_NONE;
    if (ui->focus_id == id) {
        ui->focus_seen = 1;
        clamp_edit_state(&ui->edit, t.chars);
        result = textbox_events(ui, &t);
    }
    if (result == FACET_UI_NONE && t.edited) result = FACET_UI_CHANGED;
    int focused = ui->focus_id == id;

    /* Drawing: the field, then (focused) the selection, the text scrolled so that the cursor
     * shows, and the cursor. */
    emit_rect(ui, r, focused ? COLOR_FIELD : widget_color(ui, id, hover), ui->clip);
    if (focused) emit_outline(ui, r, COLOR_ACCENT, ui->clip);
    ui_rect inner = intersect((ui_rect){text_x, r.y0, r.x1 - ui->text_pad, r.y1}, ui->clip);
    float baseline = centred_baseline(ui, r), scroll = 0.0f;
    if (focused) {
        float visible = r.x1 - ui->text_pad - text_x - 1.0f;
        float cursor =
            facet_ui_font_text_width(&ui->font, t.bytes, text_offset(&t, ui->edit.cursor));
        float total = facet_ui_font_text_width(&ui->font, t.bytes, t.length);
        scroll = ui->edit_scroll;
        if (cursor - scroll > visible) scroll = cursor - visible;
        if (cursor < scroll) scroll = cursor;
        if (scroll > 0.0f && total - scroll < visible) scroll = fmaxf(0.0f, total - visible);
        ui->edit_scroll = scroll;
        int s0 = ui->edit.select_start, s1 = ui->edit.select_end;
        if (s0 > s1) s0 = ui->edit.select_end, s1 = ui->edit.select_start;
        if (s0 != s1) {
            float x0 = facet_ui_font_text_width(&ui->font, t.bytes, text_offset(&t, s0));
            float x1 = facet_ui_font_text_width(&ui->font, t.bytes, text_offset(&t, s1));
            emit_rect(ui, (ui_rect){text_x - scroll + x0, r.y0 + 2, text_x - scroll + x1, r.y1 - 2},
                      COLOR_SELECTION, inner);
        }
        float cx = floorf(text_x - scroll + cursor);
        emit_rect(ui, (ui_rect){cx, r.y0 + 3, cx + 1, r.y1 - 3}, COLOR_CURSOR,
                  intersect((ui_rect){inner.x0, inner.y0, inner.x1 + 1, inner.y1}, ui->clip));
    }
    emit_text(ui, text_x - scroll, baseline, COLOR_TEXT, t.bytes, t.length, inner);
    return result;
}

void facet_ui_focus(facet_ui *ui, const char *label) {
    if (!label) label = "";
    if (!ui->in_panel) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI focus on '%s' requested outside a panel",
                 label);
        return;
    }
    ui->focus_request = widget_id(ui, label);
}

/* ---- free drawing and output ---------------------------------------------------------------- */

void facet_ui_text(facet_ui *ui, float x, float y, uint32_t rgba, const char *text) {
    if (!ui->in_frame) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI text drawn outside a frame");
        return;
    }
    if (!text || !isfinite(x) || !isfinite(y)) return;
    emit_text(ui, x, roundf(y + ui->baseline), rgba, text, strlen(text), ui->screen);
}

void facet_ui_rect(facet_ui *ui, float x, float y, float width, float height, uint32_t rgba) {
    if (!ui->in_frame) {
        ui_error(ui, FACET_ERR_INVALID_ARGUMENT, "UI rectangle drawn outside a frame");
        return;
    }
    if (!isfinite(x) || !isfinite(y) || !(width > 0.0f) || !(height > 0.0f)) return;
    emit_rect(ui, (ui_rect){x, y, x + width, y + height}, rgba, ui->screen);
}

facet_ui_draw_list facet_ui_draw_data(const facet_ui *ui) {
    return (facet_ui_draw_list){ui->vertices, ui->vertex_count, ui->font.atlas,
                                ui->font.atlas_width, ui->font.atlas_height};
}
