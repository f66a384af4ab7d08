/* The viewer's immediate-mode UI (viewer/ui.h, viewer/ui_font.h), driven headlessly: each test
 * runs frames with simulated input and checks the widgets' results and the draw data. Widget
 * positions come from facet_ui_last_widget, so the tests do not depend on the layout constants. */
#include "viewer/ui.h"
#include "viewer/ui_font.h"

#include "core/fileio.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FB_WIDTH 800
#define FB_HEIGHT 600

/* ---- helpers ---- */

static facet_ui *make_ui(void) {
    facet_ui *ui = NULL;
    cr_assert_eq(facet_ui_create(&ui, FACET_VIEWER_FONT_DEFAULT, 16.0f), FACET_OK, "%s",
                 facet_last_error());
    return ui;
}

static facet_ui_input mouse_at(float x, float y) {
    facet_ui_input in;
    memset(&in, 0, sizeof in);
    in.mouse_x = x;
    in.mouse_y = y;
    return in;
}

/* The button goes down at (x, y) this frame and stays down. */
static facet_ui_input press_at(float x, float y) {
    facet_ui_input in = mouse_at(x, y);
    in.mouse_down = in.mouse_pressed = 1;
    return in;
}

/* The button is held at (x, y). */
static facet_ui_input held_at(float x, float y) {
    facet_ui_input in = mouse_at(x, y);
    in.mouse_down = 1;
    return in;
}

static facet_ui_input release_at(float x, float y) {
    facet_ui_input in = mouse_at(x, y);
    in.mouse_released = 1;
    return in;
}

/* Down and up within one frame. */
static facet_ui_input click_at(float x, float y) {
    facet_ui_input in = mouse_at(x, y);
    in.mouse_pressed = in.mouse_released = 1;
    return in;
}

static float centre_x(facet_ui_box b) {
    return b.x + b.width / 2.0f;
}
static float centre_y(facet_ui_box b) {
    return b.y + b.height / 2.0f;
}

/* Appends the characters of UTF-8 `text` as typed-character events. */
static void type_text(facet_ui_input *in, const char *text) {
    size_t length = strlen(text), i = 0, used;
    while (i < length) {
        facet_ui_input_char(in, facet_ui_utf8_decode(text + i, length - i, &used), 0);
        i += used;
    }
}

static facet_ui_input typing(const char *text) {
    facet_ui_input in = mouse_at(-1.0f, -1.0f);
    type_text(&in, text);
    return in;
}

static facet_ui_input key(facet_ui_key k, int mods) {
    facet_ui_input in = mouse_at(-1.0f, -1.0f);
    facet_ui_input_key(&in, k, mods);
    return in;
}

static void end_ok(facet_ui *ui) {
    cr_assert_eq(facet_ui_end(ui), FACET_OK, "%s", facet_last_error());
}

/* One frame: a panel at (10, 10), 300 px wide, holding one slider on [-4, 4]. */
static int slider_frame(facet_ui *ui, facet_ui_input in, float *value, facet_ui_box *box) {
    facet_ui_begin(ui, &in, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
    int changed = facet_ui_slider(ui, "exposure", value, -4.0f, 4.0f, "%.2f");
    *box = facet_ui_last_widget(ui);
    facet_ui_panel_end(ui);
    end_ok(ui);
    return changed;
}

static int button_frame(facet_ui *ui, facet_ui_input in, facet_ui_box *box) {
    facet_ui_begin(ui, &in, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
    int clicked = facet_ui_button(ui, "reset camera");
    *box = facet_ui_last_widget(ui);
    facet_ui_panel_end(ui);
    end_ok(ui);
    return clicked;
}

/* One frame with a command text box editing `buffer`. */
static facet_ui_text_result text_frame(facet_ui *ui, facet_ui_input in, char *buffer,
                                       size_t capacity, facet_ui_box *box) {
    facet_ui_begin(ui, &in, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
    facet_ui_text_result result = facet_ui_textbox(ui, "Command##command", buffer, capacity);
    *box = facet_ui_last_widget(ui);
    facet_ui_panel_end(ui);
    end_ok(ui);
    return result;
}

/* Runs a layout frame, then clicks into the text box: it has focus afterwards. */
static facet_ui_box focus_text(facet_ui *ui, char *buffer, size_t capacity) {
    facet_ui_box box;
    text_frame(ui, mouse_at(-1.0f, -1.0f), buffer, capacity, &box);
    text_frame(ui, click_at(centre_x(box), centre_y(box)), buffer, capacity, &box);
    cr_assert(facet_ui_wants_keyboard(ui), "a click in the text box gives it the keyboard");
    return box;
}

/* ---- font ---- */

Test(ui_font, bakes_the_default_font_and_measures_text) {
    facet_ui *ui = make_ui();
    float facet = facet_ui_text_width(ui, "facet");
    /* five glyphs of DejaVu Sans at 16 px: each advance is a few pixels */
    cr_assert(facet > 20.0f && facet < 80.0f, "width of 'facet' is %g px", (double)facet);
    cr_assert_gt(facet_ui_text_width(ui, "facets"), facet);
    cr_assert_gt(facet_ui_text_width(ui, "facet view"), facet_ui_text_width(ui, "facets"));
    cr_assert_eq(facet_ui_text_width(ui, ""), 0.0f);
    /* baseline-to-baseline distance is about the requested height */
    cr_assert(facet_ui_line_height(ui) >= 16.0f && facet_ui_line_height(ui) < 24.0f);
    facet_ui_destroy(ui);
}

Test(ui_font, atlas_holds_glyph_coverage_and_a_full_coverage_block) {
    facet_ui_font font;
    cr_assert_eq(facet_ui_font_load(&font, FACET_VIEWER_FONT_DEFAULT, 16.0f), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_gt(font.atlas_width, 0);
    cr_assert_gt(font.atlas_height, 0);
    size_t covered = 0;
    for (int i = 0; i < font.atlas_width * font.atlas_height; i++) covered += font.atlas[i] > 0;
    cr_assert_gt(covered, 1000, "glyph pixels were rasterised (%zu covered)", covered);
    int wx = (int)(font.white_u * (float)font.atlas_width);
    int wy = (int)(font.white_v * (float)font.atlas_height);
    cr_assert_eq(font.atlas[wy * font.atlas_width + wx], 255, "solid fills sample full coverage");
    /* 'W' is wider than 'i'; a space has an advance but no pixels; U+4E2D falls back to '?' */
    cr_assert_gt(facet_ui_font_glyph(&font, 'W')->advance,
                 facet_ui_font_glyph(&font, 'i')->advance);
    const facet_ui_glyph *space = facet_ui_font_glyph(&font, ' ');
    cr_assert_gt(space->advance, 0.0f);
    cr_assert_eq(space->x0, space->x1);
    cr_assert_eq(facet_ui_font_glyph(&font, 0x4E2D), facet_ui_font_glyph(&font, '?'));
    cr_assert_neq(facet_ui_font_glyph(&font, 0xE9), facet_ui_font_glyph(&font, '?'),
                  "Latin-1 (e acute) is in the atlas");
    facet_ui_font_free(&font);
}

Test(ui_font, missing_font_names_the_path) {
    facet_ui *ui = NULL;
    const char *path = "/nonexistent/fonts/NoSuchFont.ttf";
    cr_assert_eq(facet_ui_create(&ui, path, 16.0f), FACET_ERR_IO);
    cr_assert_null(ui);
    cr_assert(strstr(facet_last_error(), path), "%s", facet_last_error());
    cr_assert(strstr(facet_last_error(), "UI font"), "%s", facet_last_error());
}

Test(ui_font, a_file_that_is_not_a_font_is_rejected) {
    const char *dir = test_scratch_dir("ui_font_not_a_font");
    const char *path = test_write_file(dir, "notes.ttf", "these are not glyph outlines\n", 0);
    facet_ui *ui = NULL;
    cr_assert_eq(facet_ui_create(&ui, path, 16.0f), FACET_ERR_FORMAT);
    cr_assert(strstr(facet_last_error(), "is not a TrueType or OpenType font"), "%s",
              facet_last_error());
    cr_assert(strstr(facet_last_error(), "notes.ttf"), "%s", facet_last_error());
}

Test(ui_font, a_truncated_font_is_rejected) {
    char *data;
    size_t size;
    cr_assert_eq(facet_read_file(FACET_VIEWER_FONT_DEFAULT, &data, &size), FACET_OK);
    const char *dir = test_scratch_dir("ui_font_truncated");
    /* the table directory survives, the tables it points at do not */
    const char *path = test_write_file(dir, "cut.ttf", data, 400);
    free(data);
    facet_ui *ui = NULL;
    cr_assert_eq(facet_ui_create(&ui, path, 16.0f), FACET_ERR_FORMAT);
    cr_assert(strstr(facet_last_error(), "lies outside the file"), "%s", facet_last_error());
    cr_assert(strstr(facet_last_error(), "cut.ttf"), "%s", facet_last_error());
}

Test(ui_font, size_outside_4_to_256_pixels_is_rejected) {
    facet_ui *ui = NULL;
    cr_assert_eq(facet_ui_create(&ui, FACET_VIEWER_FONT_DEFAULT, 0.0f), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "outside 4..256"), "%s", facet_last_error());
    cr_assert_eq(facet_ui_create(&ui, FACET_VIEWER_FONT_DEFAULT, NAN), FACET_ERR_INVALID_ARGUMENT);
}

Test(ui_font, utf8_round_trips_and_malformed_bytes_decode_as_replacement) {
    const uint32_t samples[] = {'a', 0xE9, 0x20AC, 0x1F600};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char bytes[4];
        size_t n = facet_ui_utf8_encode(samples[i], bytes), used;
        cr_assert_eq(n, i + 1, "U+%X takes %zu bytes", samples[i], i + 1);
        cr_assert_eq(facet_ui_utf8_decode(bytes, n, &used), samples[i]);
        cr_assert_eq(used, n);
    }
    size_t used;
    cr_assert_eq(facet_ui_utf8_decode("\xC3", 1, &used), 0xFFFD, "truncated sequence");
    cr_assert_eq(used, 1);
    cr_assert_eq(facet_ui_utf8_decode("\xC0\xAF", 2, &used), 0xFFFD, "overlong '/'");
    char bytes[4];
    cr_assert_eq(facet_ui_utf8_encode(0xD800, bytes), 0, "surrogates are not scalars");
}

/* ---- slider ---- */

Test(ui_slider, dragging_across_its_width_goes_from_min_to_max_and_clamps_beyond) {
    facet_ui *ui = make_ui();
    float value = 0.0f;
    facet_ui_box box;
    cr_assert_eq(slider_frame(ui, mouse_at(-1.0f, -1.0f), &value, &box), 0);
    float y = centre_y(box);

    cr_assert_eq(slider_frame(ui, press_at(box.x, y), &value, &box), 1);
    cr_assert_eq(value, -4.0f, "the left edge is min");
    cr_assert_eq(slider_frame(ui, held_at(centre_x(box), y), &value, &box), 1);
    cr_assert_float_eq(value, 0.0f, 1e-5f, "half-way across is the middle of [-4, 4]");
    cr_assert_eq(slider_frame(ui, held_at(box.x + box.width, y), &value, &box), 1);
    cr_assert_eq(value, 4.0f, "the right edge is max");
    cr_assert_eq(slider_frame(ui, held_at(box.x + box.width + 200.0f, y), &value, &box), 0,
                 "past the right edge the value stays at max: unchanged");
    cr_assert_eq(value, 4.0f);
    /* the drag continues outside the panel, down and to the left */
    cr_assert_eq(slider_frame(ui, held_at(box.x - 200.0f, y + 300.0f), &value, &box), 1);
    cr_assert_eq(value, -4.0f, "past the left edge the value stays at min");
    cr_assert(facet_ui_wants_mouse(ui), "the UI keeps the mouse while the slider is dragged");
    slider_frame(ui, release_at(box.x - 200.0f, y + 300.0f), &value, &box);
    cr_assert_eq(slider_frame(ui, mouse_at(centre_x(box), y), &value, &box), 0,
                 "after the release, hovering does not move it");
    cr_assert_eq(value, -4.0f);
    facet_ui_destroy(ui);
}

Test(ui_slider, keeps_the_callers_value_in_range) {
    facet_ui *ui = make_ui();
    facet_ui_box box;
    float value = 9.0f;
    cr_assert_eq(slider_frame(ui, mouse_at(-1.0f, -1.0f), &value, &box), 1);
    cr_assert_eq(value, 4.0f, "9 is clamped to max");
    value = NAN;
    cr_assert_eq(slider_frame(ui, mouse_at(-1.0f, -1.0f), &value, &box), 1);
    cr_assert_eq(value, -4.0f, "NaN becomes min");
    facet_ui_destroy(ui);
}

Test(ui_slider, wheel_over_it_steps_by_a_hundredth_of_the_range) {
    facet_ui *ui = make_ui();
    facet_ui_box box;
    float value = 0.0f;
    slider_frame(ui, mouse_at(-1.0f, -1.0f), &value, &box);
    facet_ui_input in = mouse_at(centre_x(box), centre_y(box));
    in.scroll_y = 2.0f;
    cr_assert_eq(slider_frame(ui, in, &value, &box), 1);
    cr_assert_float_eq(value, 0.16f, 1e-6f, "two steps of 8/100");
    cr_assert(facet_ui_wants_mouse(ui), "the wheel over the panel is the UI's, not the camera's");
    facet_ui_destroy(ui);
}

Test(ui_slider, an_empty_range_fails_the_frame) {
    facet_ui *ui = make_ui();
    float value = 0.0f;
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
    cr_assert_eq(facet_ui_slider(ui, "backwards", &value, 1.0f, -1.0f, NULL), 0);
    facet_ui_panel_end(ui);
    cr_assert_eq(facet_ui_end(ui), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "slider 'backwards': range [1, -1] is empty"), "%s",
              facet_last_error());
    facet_ui_destroy(ui);
}

/* ---- button, checkbox, choice ---- */

Test(ui_button, a_click_returns_1_exactly_once) {
    facet_ui *ui = make_ui();
    facet_ui_box box;
    button_frame(ui, mouse_at(-1.0f, -1.0f), &box);
    float x = centre_x(box), y = centre_y(box);
    cr_assert_eq(button_frame(ui, press_at(x, y), &box), 0, "pressing is not yet a click");
    cr_assert_eq(button_frame(ui, held_at(x, y), &box), 0, "holding is not a click");
    cr_assert_eq(button_frame(ui, release_at(x, y), &box), 1, "releasing over it is the click");
    cr_assert_eq(button_frame(ui, mouse_at(x, y), &box), 0, "and only once");
    cr_assert_eq(button_frame(ui, mouse_at(x, y), &box), 0);
    cr_assert_eq(button_frame(ui, click_at(x, y), &box), 1, "down and up in one frame clicks");
    cr_assert_eq(button_frame(ui, mouse_at(x, y), &box), 0);
    facet_ui_destroy(ui);
}

Test(ui_button, press_and_release_must_both_be_over_it) {
    facet_ui *ui = make_ui();
    facet_ui_box box;
    button_frame(ui, mouse_at(-1.0f, -1.0f), &box);
    float x = centre_x(box), y = centre_y(box);
    /* pressed on the button, released beside the panel: cancelled */
    button_frame(ui, press_at(x, y), &box);
    cr_assert_eq(button_frame(ui, release_at(x + 400.0f, y), &box), 0);
    /* pressed on the panel's title, released on the button: not a click either */
    button_frame(ui, press_at(x, 15.0f), &box);
    cr_assert_eq(button_frame(ui, release_at(x, y), &box), 0);
    facet_ui_destroy(ui);
}

Test(ui_button, hash_suffix_disambiguates_and_is_not_displayed) {
    facet_ui *ui = make_ui();
    facet_ui_input in = mouse_at(-1.0f, -1.0f);
    facet_ui_box first, second;
    int clicks[2] = {0, 0};
    for (int frame = 0; frame < 2; frame++) {
        facet_ui_begin(ui, &in, FB_WIDTH, FB_HEIGHT);
        facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
        clicks[0] += facet_ui_button(ui, "reset##light");
        first = facet_ui_last_widget(ui);
        clicks[1] += facet_ui_button(ui, "reset##camera");
        second = facet_ui_last_widget(ui);
        facet_ui_panel_end(ui);
        end_ok(ui);
        in = click_at(centre_x(second), centre_y(second));
    }
    cr_assert_eq(clicks[0], 0, "the first 'reset' was not clicked");
    cr_assert_eq(clicks[1], 1, "the second 'reset' was");
    cr_assert_gt(second.y, first.y, "widgets stack downwards");

    /* "reset##light" draws exactly what "reset" draws */
    facet_ui_draw_list lists[2];
    facet_ui_vertex *copies[2];
    const char *labels[2] = {"reset##light", "reset"};
    for (int i = 0; i < 2; i++) {
        facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
        facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
        facet_ui_button(ui, labels[i]);
        facet_ui_panel_end(ui);
        end_ok(ui);
        lists[i] = facet_ui_draw_data(ui);
        copies[i] = malloc((size_t)lists[i].vertex_count * sizeof(facet_ui_vertex));
        memcpy(copies[i], lists[i].vertices,
               (size_t)lists[i].vertex_count * sizeof(facet_ui_vertex));
    }
    cr_assert_eq(lists[0].vertex_count, lists[1].vertex_count);
    cr_assert_eq(
        memcmp(copies[0], copies[1], (size_t)lists[0].vertex_count * sizeof(facet_ui_vertex)), 0);
    free(copies[0]);
    free(copies[1]);
    facet_ui_destroy(ui);
}

Test(ui_checkbox, a_click_toggles_it) {
    facet_ui *ui = make_ui();
    int checked = 0, toggled = 0;
    facet_ui_box box = {0};
    facet_ui_input inputs[3] = {mouse_at(-1.0f, -1.0f)};
    for (int frame = 0; frame < 3; frame++) {
        facet_ui_begin(ui, &inputs[frame], FB_WIDTH, FB_HEIGHT);
        facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
        toggled += facet_ui_checkbox(ui, "show bounds", &checked);
        box = facet_ui_last_widget(ui);
        facet_ui_panel_end(ui);
        end_ok(ui);
        if (frame < 2) inputs[frame + 1] = click_at(centre_x(box), centre_y(box));
        cr_assert_eq(checked, frame % 2, "frame %d: two clicks toggle on then off", frame);
    }
    cr_assert_eq(toggled, 2);
    facet_ui_destroy(ui);
}

Test(ui_choice, returns_the_clicked_option_and_otherwise_the_selected_one) {
    facet_ui *ui = make_ui();
    const char *const modes[] = {"rgb", "depth", "masks"};
    int mode = 0;
    facet_ui_box row = {0};
    facet_ui_input in = mouse_at(-1.0f, -1.0f);
    for (int frame = 0; frame < 3; frame++) {
        facet_ui_begin(ui, &in, FB_WIDTH, FB_HEIGHT);
        facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
        mode = facet_ui_choice(ui, "render", modes, 3, mode);
        row = facet_ui_last_widget(ui);
        facet_ui_panel_end(ui);
        end_ok(ui);
        if (frame == 0) cr_assert_eq(mode, 0, "no click: the selection stays");
        if (frame == 1) cr_assert_eq(mode, 2, "the third option was clicked");
        if (frame == 2) cr_assert_eq(mode, 2, "no click: the selection stays");
        /* click the centre of the third of three equal cells */
        in = frame == 0 ? click_at(row.x + row.width * 5.0f / 6.0f, centre_y(row))
                        : mouse_at(-1.0f, -1.0f);
    }
    facet_ui_destroy(ui);
}

/* ---- text box ---- */

Test(ui_textbox, typing_without_focus_changes_nothing) {
    facet_ui *ui = make_ui();
    char buffer[64] = "";
    facet_ui_box box;
    cr_assert_eq(text_frame(ui, typing("open"), buffer, sizeof buffer, &box), FACET_UI_NONE);
    cr_assert_str_eq(buffer, "");
    cr_assert_not(facet_ui_wants_keyboard(ui));
    facet_ui_destroy(ui);
}

Test(ui_textbox, click_to_focus_then_type_and_backspace) {
    facet_ui *ui = make_ui();
    char buffer[64] = "";
    facet_ui_box box = focus_text(ui, buffer, sizeof buffer);
    cr_assert_eq(text_frame(ui, typing("open the drawer"), buffer, sizeof buffer, &box),
                 FACET_UI_CHANGED);
    cr_assert_str_eq(buffer, "open the drawer");
    cr_assert_eq(text_frame(ui, key(FACET_UI_KEY_BACKSPACE, 0), buffer, sizeof buffer, &box),
                 FACET_UI_CHANGED);
    cr_assert_str_eq(buffer, "open the drawe");
    cr_assert_eq(text_frame(ui, mouse_at(-1.0f, -1.0f), buffer, sizeof buffer, &box), FACET_UI_NONE,
                 "a frame without input changes nothing");
    facet_ui_destroy(ui);
}

Test(ui_textbox, left_right_home_end_move_the_cursor) {
    facet_ui *ui = make_ui();
    char buffer[64] = "";
    facet_ui_box box = focus_text(ui, buffer, sizeof buffer);
    facet_ui_input in = typing("open drawer");
    for (int i = 0; i < 6; i++) facet_ui_input_key(&in, FACET_UI_KEY_LEFT, 0);
    type_text(&in, "the ");
    text_frame(ui, in, buffer, sizeof buffer, &box);
    cr_assert_str_eq(buffer, "open the drawer", "six lefts put the cursor before 'drawer'");

    in = key(FACET_UI_KEY_HOME, 0);
    type_text(&in, "> ");
    facet_ui_input_key(&in, FACET_UI_KEY_END, 0);
    type_text(&in, ".");
    text_frame(ui, in, buffer, sizeof buffer, &box);
    cr_assert_str_eq(buffer, "> open the drawer.");

    in = key(FACET_UI_KEY_HOME, 0);
    facet_ui_input_key(&in, FACET_UI_KEY_RIGHT, 0);
    facet_ui_input_key(&in, FACET_UI_KEY_DELETE, 0);
    text_frame(ui, in, buffer, sizeof buffer, &box);
    cr_assert_str_eq(buffer, ">open the drawer.", "Delete removes the character after the cursor");
    facet_ui_destroy(ui);
}

Test(ui_textbox, modifiers_select_and_move_by_word) {
    facet_ui *ui = make_ui();
    char buffer[64] = "";
    facet_ui_box box = focus_text(ui, buffer, sizeof buffer);
    facet_ui_input in = typing("open the drawer");
    facet_ui_input_key(&in, FACET_UI_KEY_LEFT, FACET_UI_MOD_CTRL);
    type_text(&in, "top ");
    text_frame(ui, in, buffer, sizeof buffer, &box);
    cr_assert_str_eq(buffer, "open the top drawer", "Ctrl+Left goes to the start of the word");

    in = key(FACET_UI_KEY_END, 0);
    facet_ui_input_key(&in, FACET_UI_KEY_HOME, FACET_UI_MOD_SHIFT);
    type_text(&in, "close it");
    text_frame(ui, in, buffer, sizeof buffer, &box);
    cr_assert_str_eq(buffer, "close it", "Shift+Home selects everything; typing replaces it");
    facet_ui_destroy(ui);
}

Test(ui_textbox, enter_submits_the_text_and_keeps_focus) {
    facet_ui *ui = make_ui();
    char buffer[64] = "";
    facet_ui_box box = focus_text(ui, buffer, sizeof buffer);
    facet_ui_input in = typing("open the drawer");
    facet_ui_input_key(&in, FACET_UI_KEY_ENTER, 0);
    cr_assert_eq(text_frame(ui, in, buffer, sizeof buffer, &box), FACET_UI_SUBMIT);
    cr_assert_str_eq(buffer, "open the drawer");
    cr_assert(facet_ui_wants_keyboard(ui), "focus stays for the next command");
    cr_assert_eq(text_frame(ui, mouse_at(-1.0f, -1.0f), buffer, sizeof buffer, &box), FACET_UI_NONE,
                 "the submit is reported once");
    facet_ui_destroy(ui);
}

Test(ui_textbox, typing_after_enter_in_the_same_frame_goes_to_the_next_frame) {
    facet_ui *ui = make_ui();
    char buffer[64] = "";
    facet_ui_box box = focus_text(ui, buffer, sizeof buffer);
    facet_ui_input in = typing("open");
    facet_ui_input_key(&in, FACET_UI_KEY_ENTER, 0);
    type_text(&in, "close");
    cr_assert_eq(text_frame(ui, in, buffer, sizeof buffer, &box), FACET_UI_SUBMIT);
    cr_assert_str_eq(buffer, "open", "the submitted text stops at the Enter");
    buffer[0] = '\0'; /* the app clears the command it ran */
    cr_assert_eq(text_frame(ui, mouse_at(-1.0f, -1.0f), buffer, sizeof buffer, &box),
                 FACET_UI_CHANGED);
    cr_assert_str_eq(buffer, "close");
    facet_ui_destroy(ui);
}

Test(ui_textbox, escape_and_clicks_elsewhere_unfocus) {
    facet_ui *ui = make_ui();
    char buffer[64] = "";
    facet_ui_box box = focus_text(ui, buffer, sizeof buffer);
    facet_ui_input in = key(FACET_UI_KEY_ESCAPE, 0);
    type_text(&in, "ignored");
    cr_assert_eq(text_frame(ui, in, buffer, sizeof buffer, &box), FACET_UI_NONE);
    cr_assert_not(facet_ui_wants_keyboard(ui));
    cr_assert_str_eq(buffer, "", "keys after Escape do not reach the box");

    text_frame(ui, click_at(centre_x(box), centre_y(box)), buffer, sizeof buffer, &box);
    cr_assert(facet_ui_wants_keyboard(ui));
    text_frame(ui, click_at(700.0f, 500.0f), buffer, sizeof buffer, &box);
    cr_assert_not(facet_ui_wants_keyboard(ui), "a click in the 3D view takes the focus away");
    facet_ui_destroy(ui);
}

Test(ui_textbox, a_click_places_the_cursor) {
    facet_ui *ui = make_ui();
    char buffer[64] = "open the drawer";
    facet_ui_box box = focus_text(ui, buffer, sizeof buffer);
    text_frame(ui, click_at(box.x + 1.0f, centre_y(box)), buffer, sizeof buffer, &box);
    text_frame(ui, typing(">"), buffer, sizeof buffer, &box);
    cr_assert_str_eq(buffer, ">open the drawer", "a click left of the text puts the cursor first");
    facet_ui_destroy(ui);
}

Test(ui_textbox, never_writes_past_its_capacity) {
    facet_ui *ui = make_ui();
    /* a capacity of 8 inside a larger array whose tail must stay untouched */
    char storage[16];
    memset(storage, 'Z', sizeof storage);
    storage[0] = '\0';
    facet_ui_box box = focus_text(ui, storage, 8);
    text_frame(ui, typing("open the drawer"), storage, 8, &box);
    cr_assert_str_eq(storage, "open th", "7 characters and the NUL fill 8 bytes");
    for (int i = 8; i < 16; i++) cr_assert_eq(storage[i], 'Z', "byte %d was written", i);

    /* multi-byte characters: 'e acute' is 2 bytes, so only one fits after "abcde" (5 + 2 + NUL) */
    storage[0] = '\0';
    text_frame(ui, typing("abcde\xC3\xA9\xC3\xA9"), storage, 8, &box);
    cr_assert_str_eq(storage, "abcde\xC3\xA9");
    for (int i = 8; i < 16; i++) cr_assert_eq(storage[i], 'Z', "byte %d was written", i);
    facet_ui_destroy(ui);
}

Test(ui_textbox, backspace_removes_a_whole_utf8_character) {
    facet_ui *ui = make_ui();
    char buffer[64] = "";
    facet_ui_box box = focus_text(ui, buffer, sizeof buffer);
    facet_ui_input in = typing("caf\xC3\xA9");
    facet_ui_input_key(&in, FACET_UI_KEY_BACKSPACE, 0);
    text_frame(ui, in, buffer, sizeof buffer, &box);
    cr_assert_str_eq(buffer, "caf");
    facet_ui_destroy(ui);
}

Test(ui_textbox, focus_request_and_tab_move_the_keyboard) {
    facet_ui *ui = make_ui();
    char first[32] = "", second[32] = "";
    for (int frame = 0; frame < 3; frame++) {
        facet_ui_input in = mouse_at(-1.0f, -1.0f);
        if (frame == 1) type_text(&in, "a");
        if (frame == 2) {
            facet_ui_input_key(&in, FACET_UI_KEY_TAB, 0);
            type_text(&in, "b");
        }
        facet_ui_begin(ui, &in, FB_WIDTH, FB_HEIGHT);
        facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
        if (frame == 0) facet_ui_focus(ui, "##first");
        facet_ui_textbox(ui, "##first", first, sizeof first);
        facet_ui_textbox(ui, "##second", second, sizeof second);
        facet_ui_panel_end(ui);
        end_ok(ui);
        cr_assert(facet_ui_wants_keyboard(ui), "frame %d: a box has the keyboard", frame);
    }
    cr_assert_str_eq(first, "a", "facet_ui_focus gave the first box the keyboard");
    cr_assert_str_eq(second, "b", "Tab moved it to the second, with the keys typed after it");
    facet_ui_destroy(ui);
}

Test(ui_textbox, a_buffer_without_its_nul_fails_the_frame) {
    facet_ui *ui = make_ui();
    char buffer[4] = {'a', 'b', 'c', 'd'};
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, 10.0f, 10.0f, 300.0f, "Panel");
    cr_assert_eq(facet_ui_textbox(ui, "##command", buffer, sizeof buffer), FACET_UI_NONE);
    facet_ui_panel_end(ui);
    cr_assert_eq(facet_ui_end(ui), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "text box '##command': buffer of 4 bytes"), "%s",
              facet_last_error());
    cr_assert(strstr(facet_last_error(), "not NUL-terminated"), "%s", facet_last_error());
    facet_ui_destroy(ui);
}

/* ---- mouse ownership ---- */

Test(ui_mouse, wants_the_mouse_over_a_panel_only) {
    facet_ui *ui = make_ui();
    facet_ui_box box;
    button_frame(ui, mouse_at(-1.0f, -1.0f), &box);
    button_frame(ui, mouse_at(centre_x(box), centre_y(box)), &box);
    cr_assert(facet_ui_wants_mouse(ui), "hovering the panel");
    button_frame(ui, mouse_at(15.0f, 15.0f), &box);
    cr_assert(facet_ui_wants_mouse(ui), "hovering the panel's title");
    button_frame(ui, mouse_at(600.0f, 400.0f), &box);
    cr_assert_not(facet_ui_wants_mouse(ui), "hovering the 3D view");
    facet_ui_destroy(ui);
}

Test(ui_mouse, a_drag_started_outside_stays_the_apps_over_a_panel) {
    facet_ui *ui = make_ui();
    facet_ui_box box;
    button_frame(ui, mouse_at(-1.0f, -1.0f), &box);
    float x = centre_x(box), y = centre_y(box);
    button_frame(ui, press_at(600.0f, 400.0f), &box);
    cr_assert_not(facet_ui_wants_mouse(ui));
    button_frame(ui, held_at(x, y), &box);
    cr_assert_not(facet_ui_wants_mouse(ui), "the camera drag passes over the panel");
    cr_assert_eq(button_frame(ui, release_at(x, y), &box), 0, "and does not click the button");
    button_frame(ui, mouse_at(x, y), &box);
    cr_assert(facet_ui_wants_mouse(ui), "after the release the panel takes the mouse again");
    facet_ui_destroy(ui);
}

/* ---- layout, draw data and misuse ---- */

/* A panel with one of every widget and HUD text; returns the draw data. */
static facet_ui_draw_list full_frame(facet_ui *ui, float x, float y) {
    static float exposure = 0.5f;
    static int bounds = 1;
    static char command[64] = "open the drawer";
    const char *const modes[] = {"rgb", "depth", "masks"};
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, x, y, 280.0f, "facet view");
    facet_ui_label(ui, "scene.json");
    facet_ui_labelf(ui, "%d objects, %.1f fps", 3, 59.9);
    facet_ui_separator(ui);
    facet_ui_button(ui, "reset camera");
    facet_ui_slider(ui, "exposure", &exposure, -4.0f, 4.0f, "%+.2f EV");
    facet_ui_checkbox(ui, "show bounds", &bounds);
    facet_ui_choice(ui, "render", modes, 3, 1);
    facet_ui_textbox(ui, "##command", command, sizeof command);
    facet_ui_panel_end(ui);
    facet_ui_text(ui, 10.0f, FB_HEIGHT - 24.0f, 0xFFFFFFFFu, "12.3 fps");
    facet_ui_rect(ui, 600.0f, 10.0f, 50.0f, 20.0f, 0x00000080u);
    end_ok(ui);
    return facet_ui_draw_data(ui);
}

static void assert_inside_framebuffer(facet_ui_draw_list d) {
    cr_assert_gt(d.vertex_count, 0);
    cr_assert_eq(d.vertex_count % 3, 0, "%d vertices are not whole triangles", d.vertex_count);
    for (int i = 0; i < d.vertex_count; i++) {
        const facet_ui_vertex *v = &d.vertices[i];
        cr_assert(v->x >= 0.0f && v->x <= FB_WIDTH && v->y >= 0.0f && v->y <= FB_HEIGHT,
                  "vertex %d at (%g, %g) is outside the %dx%d framebuffer", i, (double)v->x,
                  (double)v->y, FB_WIDTH, FB_HEIGHT);
        cr_assert(v->u >= 0.0f && v->u <= 1.0f && v->v >= 0.0f && v->v <= 1.0f,
                  "vertex %d samples the atlas at (%g, %g)", i, (double)v->u, (double)v->v);
    }
}

Test(ui_draw, triangles_lie_inside_the_framebuffer) {
    facet_ui *ui = make_ui();
    facet_ui_draw_list d = full_frame(ui, 10.0f, 10.0f);
    assert_inside_framebuffer(d);
    cr_assert_not_null(d.atlas);
    cr_assert_gt(d.atlas_width, 0);
    cr_assert_gt(d.atlas_height, 0);
    /* the panel background comes first (drawn under the widgets), in the panel colour */
    cr_assert_eq(d.vertices[0].x, 10.0f);
    cr_assert_eq(d.vertices[0].y, 10.0f);
    cr_assert_gt(d.vertices[0].rgba[3], 0);
    facet_ui_destroy(ui);
}

Test(ui_draw, a_panel_partly_off_screen_is_clipped) {
    facet_ui *ui = make_ui();
    assert_inside_framebuffer(full_frame(ui, -150.0f, 450.0f));
    assert_inside_framebuffer(full_frame(ui, 700.0f, -40.0f));
    facet_ui_destroy(ui);
}

Test(ui_draw, panel_height_follows_its_content) {
    facet_ui *ui = make_ui();
    cr_assert_eq(facet_ui_panel_height(ui, "facet view"), 0.0f, "not drawn yet");
    full_frame(ui, 10.0f, 10.0f);
    float full = facet_ui_panel_height(ui, "facet view");
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, 10.0f, 10.0f, 280.0f, "facet view");
    facet_ui_label(ui, "scene.json");
    facet_ui_panel_end(ui);
    end_ok(ui);
    float small = facet_ui_panel_height(ui, "facet view");
    cr_assert(small > 0.0f && small < full, "one label: %g px, every widget: %g px", (double)small,
              (double)full);
    facet_ui_destroy(ui);
}

Test(ui_draw, labelf_draws_the_formatted_text) {
    facet_ui *ui = make_ui();
    int counts[2];
    for (int i = 0; i < 2; i++) {
        facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
        facet_ui_panel_begin(ui, 10.0f, 10.0f, 280.0f, "##plain");
        if (i == 0)
            facet_ui_labelf(ui, "%d objects", 12);
        else
            facet_ui_label(ui, "12 objects");
        facet_ui_panel_end(ui);
        end_ok(ui);
        counts[i] = facet_ui_draw_data(ui).vertex_count;
    }
    cr_assert_eq(counts[0], counts[1]);
    facet_ui_destroy(ui);
}

Test(ui_draw, hud_text_and_rect) {
    facet_ui *ui = make_ui();
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_rect(ui, 5.0f, 5.0f, 40.0f, 10.0f, 0x11223344u);
    end_ok(ui);
    facet_ui_draw_list d = facet_ui_draw_data(ui);
    cr_assert_eq(d.vertex_count, 6, "a rectangle is two triangles");
    cr_assert_eq(d.vertices[0].rgba[0], 0x11);
    cr_assert_eq(d.vertices[0].rgba[3], 0x44, "colours are 0xRRGGBBAA");

    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_text(ui, 10.0f, 10.0f, 0xFFFFFFFFu, "fps");
    end_ok(ui);
    cr_assert_eq(facet_ui_draw_data(ui).vertex_count, 18, "three glyphs, one quad each");
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_text(ui, 10.0f, 10.0f, 0xFFFFFFFFu, "   ");
    end_ok(ui);
    cr_assert_eq(facet_ui_draw_data(ui).vertex_count, 0, "spaces draw nothing");
    facet_ui_destroy(ui);
}

Test(ui_misuse, a_widget_outside_a_panel_fails_the_frame) {
    facet_ui *ui = make_ui();
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    cr_assert_eq(facet_ui_button(ui, "orphan"), 0);
    cr_assert_eq(facet_ui_end(ui), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "button 'orphan' used outside a panel"), "%s",
              facet_last_error());
    /* the error does not stick to the next frame */
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    end_ok(ui);
    facet_ui_destroy(ui);
}

Test(ui_misuse, a_panel_left_open_or_nested_fails_the_frame) {
    facet_ui *ui = make_ui();
    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, 10.0f, 10.0f, 280.0f, "Scene");
    cr_assert_eq(facet_ui_end(ui), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "panel 'Scene' was not ended"), "%s", facet_last_error());

    facet_ui_begin(ui, NULL, FB_WIDTH, FB_HEIGHT);
    facet_ui_panel_begin(ui, 10.0f, 10.0f, 280.0f, "Scene");
    facet_ui_panel_begin(ui, 10.0f, 200.0f, 280.0f, "Lights");
    facet_ui_panel_end(ui);
    cr_assert_eq(facet_ui_end(ui), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "panel 'Lights' begun inside panel 'Scene'"), "%s",
              facet_last_error());
    facet_ui_destroy(ui);
}
