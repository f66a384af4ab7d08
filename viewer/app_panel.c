/* The viewer's panel and HUD (immediate mode: rebuilt every frame from the app state). */
#include "app.h"
#include "lighting/lighting.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const float panel_width = 320.0f;
static const char *const help_lines[] = {
    "left drag: orbit (fly: look)",
    "right/middle drag: pan",
    "wheel: zoom in/out",
    "W A S D, Q E: move",
    "F: orbit / fly",
    "R: reset camera",
    "[ ]: previous / next camera",
    "+ -: field of view",
    "1 2 3: rgb / depth / masks",
    "Enter or /: command box",
    "P or F12: screenshot (Shift: with panel)",
    "K: keyframe   C: clear keyframes",
    "O: save path   Space: play / stop path",
    "Tab: hide panel   H: this help",
    "Esc: quit",
};

static const char *basename_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Long text as several labels, broken at spaces to fit the panel. */
static void wrapped_label(facet_ui *ui, const char *text, float width) {
    char line[256];
    while (*text) {
        size_t n = strlen(text), fit = 0;
        for (size_t k = 1; k <= n && k < sizeof line; k++) {
            memcpy(line, text, k);
            line[k] = '\0';
            if (facet_ui_text_width(ui, line) > width) break;
            if (k == n || text[k] == ' ') fit = k;
        }
        if (fit == 0) fit = n < sizeof line - 1 ? n : sizeof line - 1; /* one long word */
        memcpy(line, text, fit);
        line[fit] = '\0';
        facet_ui_label(ui, line);
        text += fit;
        while (*text == ' ') text++;
    }
}

static void objects_section(facet_app *app) {
    if (app->object_count == 0) return;
    facet_ui_label(app->ui, "Objects (kappa)");
    for (int k = 0; k < app->object_count; k++) {
        char label[160];
        snprintf(label, sizeof label, "%s##kappa", app->object_names[k]);
        facet_ui_slider(app->ui, label, &app->target[k], 0.0f, 1.0f, "%.2f");
    }
    facet_ui_separator(app->ui);
    facet_ui_label(app->ui, "Command (Enter)");
    if (app->focus_command) {
        facet_ui_focus(app->ui, "##command");
        app->focus_command = 0;
    }
    if (facet_ui_textbox(app->ui, "##command", app->command, sizeof app->command) ==
        FACET_UI_SUBMIT) {
        if (app->command[0]) {
            facet_status s = facet_app_command(app, app->command);
            if (s != FACET_OK && app->script_loaded) app->failure = s;
        }
        app->command[0] = '\0';
    }
    if (app->answer[0]) wrapped_label(app->ui, app->answer, panel_width - 20.0f);
    facet_ui_separator(app->ui);
}

static void camera_section(facet_app *app) {
    static const char *const modes[] = {"orbit", "fly"};
    app->nav.mode = (facet_nav_mode)facet_ui_choice(app->ui, "navigate", modes, 2, app->nav.mode);
    if (facet_ui_button(app->ui, "reset camera")) facet_nav_reset(&app->nav);
    if (app->cameras.frame_count > 0) {
        if (facet_ui_button(app->ui, "previous camera"))
            facet_app_snap_camera(app, app->camera_index - 1);
        if (facet_ui_button(app->ui, "next camera"))
            facet_app_snap_camera(app, app->camera_index + 1);
        if (app->camera_index >= 0)
            facet_ui_labelf(app->ui, "camera %d/%d: %s", app->camera_index + 1,
                            app->cameras.frame_count, app->cameras.frames[app->camera_index].name);
    }
    const float to_deg = 57.29578f;
    float fov = facet_nav_fov_y(&app->nav) * to_deg, before = fov;
    if (facet_ui_slider(app->ui, "field of view", &fov, 5.0f, 150.0f, "%.1f deg") && fov != before)
        facet_nav_zoom(&app->nav, tanf(0.5f * before / to_deg) / tanf(0.5f * fov / to_deg));
    facet_ui_separator(app->ui);
}

/* Camera-path recording (app_path.c): keyframes from the view, saved as facet-path-NNN.json in
 * --out, played back. */
static void path_section(facet_app *app) {
    const int count = app->keyframes.count;
    facet_ui_labelf(app->ui, "Camera path: %d keyframe%s", count, count == 1 ? "" : "s");
    facet_ui_slider(app->ui, "keyframe gap", &app->keyframe_gap, 0.1f, 10.0f, "%.1f s");
    if (facet_ui_button(app->ui, "add keyframe")) facet_app_add_keyframe(app, 0.0);
    if (count > 0) {
        if (facet_ui_button(app->ui, "clear keyframes")) facet_app_clear_keyframes(app);
        if (facet_ui_button(app->ui, "save path")) facet_app_save_path(app, NULL, 30.0);
    }
    if (app->playing) {
        facet_ui_labelf(app->ui, "playing frame %d/%d", app->playback_frame + 1,
                        app->playback.count);
        if (facet_ui_button(app->ui, "stop")) facet_app_stop_path(app);
    } else if (count > 0 && facet_ui_button(app->ui, "play")) {
        facet_app_play_keyframes(app);
    }
    if (app->path_message[0]) wrapped_label(app->ui, app->path_message, panel_width - 20.0f);
    facet_ui_separator(app->ui);
}

static void render_section(facet_app *app) {
    static const char *const modes[] = {"rgb", "depth", "masks"};
    app->mode = (facet_view_mode)facet_ui_choice(app->ui, "render", modes, 3, app->mode);
    facet_ui_slider(app->ui, "exposure", &app->exposure, -4.0f, 4.0f, "%+.2f EV");
    if (!app->relighting) return;
    facet_ui_separator(app->ui);
    const char *env = app->environments[app->environment_index];
    facet_ui_labelf(app->ui, "environment: %s", env[0] ? basename_of(env) : "none (background)");
    if (app->environment_count > 1) {
        if (facet_ui_button(app->ui, "previous map"))
            facet_app_set_environment(app, (app->environment_index + app->environment_count - 1) %
                                               app->environment_count);
        if (facet_ui_button(app->ui, "next map"))
            facet_app_set_environment(app, (app->environment_index + 1) % app->environment_count);
    }
    facet_ui_slider(app->ui, "rotation", &app->env_rotation, 0.0f, 360.0f, "%.0f deg");
}

static void hud(facet_app *app) {
    char text[512];
    facet_refiner_info info = {0};
    if (app->refiner) facet_refiner_get_info(app->refiner, &info);
    const float line = facet_ui_line_height(app->ui);
    float y = (float)app->fb_height - 2.0f * line - 8.0f;
    if (facet_app_uses_interop(app))
        snprintf(text, sizeof text, "%.1f fps  %dx%d  cuda (GL interop)", app->fps, app->fb_width,
                 app->fb_height);
    else
        snprintf(text, sizeof text, "%.1f fps  %dx%d  %s  level 1/%d%s  %.0f rays/s", app->fps,
                 app->fb_width, app->fb_height, facet_device_name(app->options->device),
                 app->image.factor ? app->image.factor : info.factor,
                 app->settled && !app->accumulating ? " (final)" : "", info.rays_per_second);
    size_t used = strlen(text);
    /* Monte Carlo views: the sample passes in the shown mean, of the cap */
    if (!facet_app_uses_interop(app) && info.passes > 0)
        snprintf(text + used, sizeof text - used, "  pass %d/%d", info.passes, info.max_passes);
    used = strlen(text);
    if (app->playing)
        snprintf(text + used, sizeof text - used, "  path %d/%d", app->playback_frame + 1,
                 app->playback.count);
    else if (app->keyframes.count > 0)
        snprintf(text + used, sizeof text - used, "  %d keyframe%s", app->keyframes.count,
                 app->keyframes.count == 1 ? "" : "s");
    facet_ui_rect(app->ui, 4.0f, y - 2.0f, facet_ui_text_width(app->ui, text) + 12.0f, line + 4.0f,
                  0x000000A0u);
    facet_ui_text(app->ui, 10.0f, y, 0xFFFFFFFFu, text);
    char map[1024];
    if (facet_lighting_building(map, sizeof map)) {
        /* the render thread waits on the prefilter: say why the image does not change */
        char note[1200];
        snprintf(note, sizeof note, "prefiltering the lighting of %s (once per map, then cached)",
                 basename_of(map));
        const float above = y - line - 4.0f; /* the error line, if any, goes below */
        facet_ui_rect(app->ui, 4.0f, above - 2.0f, facet_ui_text_width(app->ui, note) + 12.0f,
                      line + 4.0f, 0x000000A0u);
        facet_ui_text(app->ui, 10.0f, above, 0xFFE080FFu, note);
    }
    if (app->render_error[0]) {
        y += line + 4.0f;
        facet_ui_rect(app->ui, 4.0f, y - 2.0f,
                      facet_ui_text_width(app->ui, app->render_error) + 12.0f, line + 4.0f,
                      0x000000A0u);
        facet_ui_text(app->ui, 10.0f, y, 0xFF6060FFu, app->render_error);
    }
    if (app->show_help) {
        const float x = (float)app->fb_width - 330.0f;
        float hy = 10.0f;
        int lines = (int)(sizeof help_lines / sizeof *help_lines);
        facet_ui_rect(app->ui, x - 8.0f, hy - 4.0f, 330.0f, (float)lines * line + 8.0f,
                      0x000000B0u);
        for (int i = 0; i < lines; i++, hy += line)
            facet_ui_text(app->ui, x, hy, 0xFFFFFFFFu, help_lines[i]);
    }
}

void facet_app_panel(facet_app *app) {
    facet_ui_panel_begin(app->ui, 10.0f, 10.0f, panel_width, "facet view");
    facet_ui_labelf(app->ui, "%s", basename_of(app->options->scene_path));
    facet_ui_separator(app->ui);
    objects_section(app);
    camera_section(app);
    path_section(app);
    render_section(app);
    facet_ui_label(app->ui, "H: help   Tab: hide panel");
    facet_ui_panel_end(app->ui);
    hud(app);
}
