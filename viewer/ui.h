/* A small immediate-mode UI for the viewer: panels of stacked widgets (labels, buttons, sliders,
 * checkboxes, choice rows, single-line text boxes, separators), plus free-standing text and
 * rectangles for the HUD. It knows nothing about GL or windows: each frame turns the app's input
 * into triangles (facet_ui_draw_data) that viewer/ui_gl.h draws, so it runs headless in tests.
 *
 * Coordinates are framebuffer pixels, origin at the top-left, y down. On HiDPI screens the app
 * converts GLFW's window coordinates to framebuffer pixels and scales the font size.
 *
 *     facet_ui_begin(ui, &input, fb_width, fb_height);
 *     facet_ui_panel_begin(ui, 10, 10, 280, "Scene");
 *     if (facet_ui_button(ui, "Reset camera")) reset_camera();
 *     facet_ui_slider(ui, "exposure", &exposure, -4.0f, 4.0f, "%.2f EV");
 *     mode = facet_ui_choice(ui, "render", modes, 3, mode);
 *     if (facet_ui_textbox(ui, "##command", command, sizeof command) == FACET_UI_SUBMIT)
 *         run(command);
 *     facet_ui_panel_end(ui);
 *     facet_ui_text(ui, 10, fb_height - 24, 0xFFFFFFFF, "12.3 fps");
 *     if (facet_ui_end(ui) != FACET_OK) ...   // misuse or out of memory: message set
 *     if (!facet_ui_wants_mouse(ui)) orbit_camera(&input);
 *
 * Widgets are identified by a hash of their label within their panel (panels by their title);
 * text from "##" on is not displayed but is part of the identity, so "reset##light" and
 * "reset##camera" are two buttons both showing "reset", and "##command" shows no label.
 * Colours are 0xRRGGBBAA, straight (not premultiplied) alpha. */
#ifndef FACET_VIEWER_UI_H
#define FACET_VIEWER_UI_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The font facet_ui_create uses when given none (Debian's fonts-dejavu-core; CMake sets it). */
#ifndef FACET_VIEWER_FONT_DEFAULT
#define FACET_VIEWER_FONT_DEFAULT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#endif

typedef struct facet_ui facet_ui;

/* A rectangle in framebuffer pixels: top-left corner and size. */
typedef struct facet_ui_box {
    float x, y, width, height;
} facet_ui_box;

/* ---- input ---------------------------------------------------------------------------------- */

typedef enum facet_ui_key {
    FACET_UI_KEY_NONE = 0, /* the event is a typed character */
    FACET_UI_KEY_BACKSPACE,
    FACET_UI_KEY_DELETE,
    FACET_UI_KEY_LEFT,
    FACET_UI_KEY_RIGHT,
    FACET_UI_KEY_HOME,
    FACET_UI_KEY_END,
    FACET_UI_KEY_ENTER,
    FACET_UI_KEY_ESCAPE,
    FACET_UI_KEY_TAB
} facet_ui_key;

/* Modifier bits, the same values as GLFW_MOD_SHIFT / _CONTROL / _ALT. In a text box Shift extends
 * the selection, Ctrl+Left/Right move by word and Ctrl+Home/End go to the ends. */
enum { FACET_UI_MOD_SHIFT = 1, FACET_UI_MOD_CTRL = 2, FACET_UI_MOD_ALT = 4 };

typedef struct facet_ui_event {
    facet_ui_key key;   /* FACET_UI_KEY_NONE for a typed character */
    uint32_t codepoint; /* the typed character (UTF-32) when key is FACET_UI_KEY_NONE */
    int mods;           /* FACET_UI_MOD_* bits held at the time */
} facet_ui_event;

#define FACET_UI_MAX_EVENTS 64

/* One frame's input, filled by the app from its window callbacks. */
typedef struct facet_ui_input {
    float mouse_x, mouse_y; /* framebuffer pixels, origin top-left */
    int mouse_down;         /* left button held at the end of the frame */
    int mouse_pressed;      /* left button went down during the frame */
    int mouse_released;     /* left button went up during the frame (both may be set) */
    float scroll_y;         /* wheel steps this frame, positive away from the user */
    int event_count;
    facet_ui_event events[FACET_UI_MAX_EVENTS]; /* key presses and typed characters, in order */
} facet_ui_input;

/* Append a typed character (GLFW char callback) / a key press or repeat (GLFW key callback) to the
 * frame's events; an event past FACET_UI_MAX_EVENTS is dropped. */
void facet_ui_input_char(facet_ui_input *input, uint32_t codepoint, int mods);
void facet_ui_input_key(facet_ui_input *input, facet_ui_key key, int mods);
/* Clears the per-frame fields (pressed, released, scroll, events) and keeps the mouse position
 * and button state: call after each frame. */
void facet_ui_input_next_frame(facet_ui_input *input);

/* ---- lifetime and frames -------------------------------------------------------------------- */

/* Loads the TrueType font at `font_path` (NULL means FACET_VIEWER_FONT_DEFAULT,
 * /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf) and bakes its atlas at `pixel_height` pixels
 * (4..256; 16 suits a 1x screen). Fails naming the file when it is missing or not a font. */
facet_status facet_ui_create(facet_ui **ui, const char *font_path, float pixel_height);
void facet_ui_destroy(facet_ui *ui);

/* Starts a frame: clears the draw data and takes this frame's input (NULL: no input). */
void facet_ui_begin(facet_ui *ui, const facet_ui_input *input, int fb_width, int fb_height);
/* Ends the frame. Fails (message set) when the frame misused the API (a widget outside a panel, a
 * panel not ended, a slider with min > max, a text buffer without its NUL) or ran out of memory;
 * the draw data then holds what was drawn before the failure. */
facet_status facet_ui_end(facet_ui *ui);

/* After facet_ui_end: 1 when this frame's mouse belongs to the UI (over a panel, or dragging a
 * widget), so the app must not move the camera; a drag that started outside every panel stays
 * the app's even when it passes over one. A press belongs to the UI when it lands on a panel drawn
 * in the previous frame. */
int facet_ui_wants_mouse(const facet_ui *ui);
/* After facet_ui_end: 1 while a text box has keyboard focus, so the app ignores its key bindings.
 */
int facet_ui_wants_keyboard(const facet_ui *ui);

/* ---- measurement ---------------------------------------------------------------------------- */

/* Width in pixels of UTF-8 `text` as facet_ui_text draws it. */
float facet_ui_text_width(const facet_ui *ui, const char *text);
/* Baseline-to-baseline distance of the font, pixels. */
float facet_ui_line_height(const facet_ui *ui);
/* Height of the panel with this title in the last frame that drew it (0 when none did), e.g. to
 * anchor a panel to the bottom of the window. */
float facet_ui_panel_height(const facet_ui *ui, const char *title);

/* The interactive box of the most recent widget this frame (a text box's or choice row's box
 * without its label line), e.g. to place a tooltip; all zero before the first widget. */
facet_ui_box facet_ui_last_widget(const facet_ui *ui);

/* ---- panels and widgets --------------------------------------------------------------------- */

/* A panel `width` pixels wide with its top-left corner at (x, y); widgets stack downwards inside
 * it and its height follows its content. The title is drawn as a header unless its displayed part
 * is empty ("##hud"). Panels do not nest. */
void facet_ui_panel_begin(facet_ui *ui, float x, float y, float width, const char *title);
void facet_ui_panel_end(facet_ui *ui);

void facet_ui_label(facet_ui *ui, const char *text);
/* printf-style label; output past 511 bytes is cut. */
void facet_ui_labelf(facet_ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void facet_ui_separator(facet_ui *ui);

/* 1 once per click: the button was pressed and released with the mouse over it. */
int facet_ui_button(facet_ui *ui, const char *label);

/* A bar showing the label and the value (printf `format` of one double, NULL for "%.3g"); pressing
 * and dragging maps the mouse's x across the bar's width linearly to [min, max], and the wheel
 * over it steps by 1/100 of the range. *value is kept in [min, max] (a NaN becomes min). Returns 1
 * when *value changed. */
int facet_ui_slider(facet_ui *ui, const char *label, float *value, float min, float max,
                    const char *format);

/* A box and its label; a click toggles *checked between 0 and 1. Returns 1 when it changed. */
int facet_ui_checkbox(facet_ui *ui, const char *label, int *checked);

/* The label, then a row of `count` mutually exclusive options with `selected` highlighted.
 * Returns the selected index: the clicked option's, otherwise `selected`. */
int facet_ui_choice(facet_ui *ui, const char *label, const char *const *options, int count,
                    int selected);

typedef enum facet_ui_text_result {
    FACET_UI_NONE = 0,    /* nothing happened */
    FACET_UI_CHANGED = 1, /* the text was edited this frame */
    FACET_UI_SUBMIT = 2   /* Enter was pressed: `buffer` holds the text to act on */
} facet_ui_text_result;

/* A single-line text box editing the NUL-terminated UTF-8 `buffer` of `capacity` bytes in place
 * (stb_textedit): a click focuses it and places the cursor, Escape or a click elsewhere unfocuses
 * it, Tab moves focus to the next text box. Typed characters that would not fit in capacity - 1
 * bytes are dropped. Focus stays after Enter; events typed after the Enter in the same frame are
 * kept for the next frame. */
facet_ui_text_result facet_ui_textbox(facet_ui *ui, const char *label, char *buffer,
                                      size_t capacity);

/* Gives keyboard focus to the text box `label` of the current panel (call inside that panel before
 * the box, e.g. for a "focus the command line" shortcut); it takes effect when that box is drawn
 * in this frame, with the cursor at the end of its text. */
void facet_ui_focus(facet_ui *ui, const char *label);

/* ---- free-standing drawing (HUD) ------------------------------------------------------------ */

/* UTF-8 text with its line's top at y (the baseline is one ascent lower). */
void facet_ui_text(facet_ui *ui, float x, float y, uint32_t rgba, const char *text);
void facet_ui_rect(facet_ui *ui, float x, float y, float width, float height, uint32_t rgba);

/* ---- output --------------------------------------------------------------------------------- */

typedef struct facet_ui_vertex {
    float x, y;      /* framebuffer pixels, origin top-left */
    float u, v;      /* atlas coordinates in [0,1] */
    uint8_t rgba[4]; /* colour; its alpha is multiplied by the atlas coverage at (u, v) */
} facet_ui_vertex;

typedef struct facet_ui_draw_list {
    const facet_ui_vertex *vertices; /* vertex_count / 3 triangles, drawn in order (back first) */
    int vertex_count;
    const uint8_t *atlas; /* atlas_width * atlas_height coverage bytes (R8), row 0 at v = 0 */
    int atlas_width, atlas_height;
} facet_ui_draw_list;

/* The last frame's triangles, clipped to the framebuffer, and the font atlas (which never changes
 * for a ui). The pointers stay valid until the next facet_ui_begin or facet_ui_destroy. */
facet_ui_draw_list facet_ui_draw_data(const facet_ui *ui);

#ifdef __cplusplus
}
#endif
#endif
