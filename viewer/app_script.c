/* Runs a viewer script (viewer/script.h) inside the frame loop: actions run in order until one
 * has to wait for time, animations or rendering; the rest follow in later frames. */
#include "app.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/safe_name.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static facet_status script_error(const facet_app *app, const facet_script_action *a,
                                 const char *message) {
    return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s:%d: %s", app->script.path, a->line, message);
}

/* The `key` action: the bindings a user has (viewer.h, README). */
static facet_status press_key(facet_app *app, const facet_script_action *a) {
    static const struct {
        const char *name;
        int key, mods;
    } keys[] = {{"screenshot", GLFW_KEY_F12, 0},
                {"F12", GLFW_KEY_F12, 0},
                {"reset", GLFW_KEY_R, 0},
                {"R", GLFW_KEY_R, 0},
                {"next", GLFW_KEY_RIGHT_BRACKET, 0},
                {"previous", GLFW_KEY_LEFT_BRACKET, 0},
                {"fly", GLFW_KEY_F, 0},
                {"F", GLFW_KEY_F, 0},
                {"help", GLFW_KEY_H, 0},
                {"panel", GLFW_KEY_TAB, 0},
                {"1", GLFW_KEY_1, 0},
                {"2", GLFW_KEY_2, 0},
                {"3", GLFW_KEY_3, 0},
                {"zoom-in", GLFW_KEY_EQUAL, 0},
                {"zoom-out", GLFW_KEY_MINUS, 0},
                {"keyframe", GLFW_KEY_K, 0},
                {"clear-keyframes", GLFW_KEY_C, 0},
                {"save-path", GLFW_KEY_O, 0},
                {"play", GLFW_KEY_SPACE, 0}};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (!strcmp(keys[k].name, a->text)) {
            GLFWkeyfun callback = glfwSetKeyCallback(app->window, NULL);
            glfwSetKeyCallback(app->window, callback);
            callback(app->window, keys[k].key, 0, GLFW_PRESS, keys[k].mods);
            return FACET_OK;
        }
    char message[256];
    snprintf(message, sizeof message,
             "unknown key '%s' (screenshot, reset, next, previous, fly, help, panel, 1, 2, 3, "
             "zoom-in, zoom-out, keyframe, clear-keyframes, save-path, play)",
             a->text);
    return script_error(app, a, message);
}

/* Where a script action's output goes: --out DIR (default: the current directory) joined with
 * the action's path, a safe relative name (checked when the script was parsed, viewer/script.h),
 * with its folders made. Returns an allocation, or NULL with the error set. */
static char *script_output_path(const facet_app *app, const facet_script_action *a) {
    const char *out = app->options->out_dir ? app->options->out_dir : ".";
    char *path = NULL;
    if (facet_output_path_for(out, a->text, "", FACET_NAME_RELATIVE, app->script.path, &path) !=
        FACET_OK)
        return NULL;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    facet_status s = facet_make_dirs(path);
    *slash = '/';
    if (s != FACET_OK) {
        free(path);
        return NULL;
    }
    return path;
}

/* The `save-view` action: the camera the view renders now, as a one-frame transforms.json. */
static facet_status save_view(facet_app *app, const facet_script_action *a) {
    facet_camera c = facet_nav_camera(&app->nav, app->fb_width, app->fb_height);
    cJSON *root = cJSON_CreateObject(), *frames = cJSON_AddArrayToObject(root, "frames");
    cJSON *frame = cJSON_CreateObject(), *rows = cJSON_CreateArray();
    int ok = root && frames && frame && rows && cJSON_AddItemToArray(frames, frame);
    if (!ok) cJSON_Delete(frame);
    ok = ok && cJSON_AddStringToObject(frame, "file_path", "view") &&
         cJSON_AddNumberToObject(frame, "fl_x", c.fx) &&
         cJSON_AddNumberToObject(frame, "fl_y", c.fy) &&
         cJSON_AddNumberToObject(frame, "cx", c.cx) && cJSON_AddNumberToObject(frame, "cy", c.cy) &&
         cJSON_AddNumberToObject(frame, "w", c.width) &&
         cJSON_AddNumberToObject(frame, "h", c.height);
    for (int r = 0; ok && r < 4; r++) {
        const float *m = &c.c2w.m[r * 4];
        cJSON *row = cJSON_CreateFloatArray(m, 4);
        ok = row && cJSON_AddItemToArray(rows, row);
        if (!ok) cJSON_Delete(row);
    }
    ok = ok && cJSON_AddItemToObject(frame, "transform_matrix", rows);
    if (!ok) cJSON_Delete(rows);
    rows = NULL;
    cJSON *kappa = ok ? cJSON_AddObjectToObject(root, "facet_kappa") : NULL;
    ok = ok && kappa;
    for (int k = 0; ok && k < app->object_count; k++)
        ok = cJSON_AddNumberToObject(kappa, app->object_names[k], app->kappa[k]) != NULL;
    char *path = ok ? script_output_path(app, a) : NULL;
    facet_status s = !ok    ? facet_fail(FACET_ERR_OUT_OF_MEMORY, "save-view: out of memory")
                     : path ? facet_json_write_atomic(path, root)
                            : facet_last_status();
    free(path);
    cJSON_Delete(root);
    return s;
}

/* `play-path` and `path-frame`: reads the camera_path.json the action names (relative to the
 * current directory); errors name the file. */
static facet_status load_path(const facet_app *app, const facet_script_action *a,
                              facet_camera_path *path) {
    const char *action = a->op == FACET_SCRIPT_PLAY_PATH ? "play-path" : "path-frame";
    if (facet_camera_path_load(path, a->text) == FACET_OK) return FACET_OK;
    if (strstr(facet_last_error(), a->text)) /* the library named the file */
        return facet_error_context("%s:%d: %s", app->script.path, a->line, action);
    return facet_error_context("%s:%d: %s %s", app->script.path, a->line, action, a->text);
}

/* `path-frame PATH K`: frame K of the file, at once. */
static facet_status path_frame(facet_app *app, const facet_script_action *a) {
    facet_camera_path path;
    facet_status s = load_path(app, a, &path);
    if (s != FACET_OK) return s;
    facet_app_stop_path(app);
    s = facet_app_show_path_frame(app, &path, (int)a->number[0]);
    facet_camera_path_free(&path);
    if (s != FACET_OK)
        return facet_error_context("%s:%d: path-frame %s", app->script.path, a->line, a->text);
    return FACET_OK;
}

static int settled(const facet_app *app) {
    return !facet_app_animating(app) && app->settled;
}

/* Runs one action; returns 1 when it is done, 0 when it waits (run it again next frame). */
static int run_action(facet_app *app, const facet_script_action *a, int *phase,
                      facet_status *status) {
    const double *v = a->number;
    char message[2300];
    switch (a->op) {
    case FACET_SCRIPT_SIZE:
        if (*phase == 0) {
            glfwSetWindowSize(app->window, (int)v[0], (int)v[1]);
            *phase = 1;
            app->wait_until = app->time + 5.0;
            return 0;
        }
        /* the window manager (or Xvfb) applies it a few frames later */
        if ((app->fb_width != (int)v[0] || app->fb_height != (int)v[1]) &&
            app->time < app->wait_until)
            return 0;
        if (app->fb_width != (int)v[0] || app->fb_height != (int)v[1]) {
            snprintf(message, sizeof message, "the window is %dx%d, not the %dx%d asked for",
                     app->fb_width, app->fb_height, (int)v[0], (int)v[1]);
            *status = script_error(app, a, message);
        }
        return 1;
    case FACET_SCRIPT_CAMERA_SCENE:
        facet_nav_reset(&app->nav);
        return 1;
    case FACET_SCRIPT_CAMERA_FRAME:
        if ((int)v[0] >= app->cameras.frame_count) {
            snprintf(message, sizeof message, "camera frame %d: --cameras holds %d cameras",
                     (int)v[0], app->cameras.frame_count);
            *status = script_error(app, a, message);
            return 1;
        }
        facet_app_snap_camera(app, (int)v[0]);
        return 1;
    case FACET_SCRIPT_CAMERA_POSE: {
        facet_camera camera = app->nav.base;
        camera.c2w = facet_mat4_identity();
        for (int k = 0; k < 12; k++) camera.c2w.m[k] = (float)v[k];
        if (a->number_count == 13)
            camera.fx = camera.fy =
                0.5f * (float)camera.height / tanf(0.5f * (float)v[12] * 0.01745329f);
        facet_nav_snap(&app->nav, &camera);
        return 1;
    }
    case FACET_SCRIPT_ORBIT:
        facet_nav_rotate(&app->nav, (float)v[0], (float)v[1]);
        return 1;
    case FACET_SCRIPT_PAN:
        facet_nav_pan(&app->nav, (float)v[0], (float)v[1]);
        return 1;
    case FACET_SCRIPT_SCROLL:
        facet_nav_scroll(&app->nav, (float)v[0]);
        return 1;
    case FACET_SCRIPT_NAVIGATE:
        app->nav.mode = !strcmp(a->text, "fly") ? FACET_NAV_FLY : FACET_NAV_ORBIT;
        return 1;
    case FACET_SCRIPT_ZOOM:
        facet_nav_zoom(&app->nav, (float)v[0]);
        return 1;
    case FACET_SCRIPT_SET:
    case FACET_SCRIPT_ANIMATE: {
        int k = facet_app_object_index(app, a->text);
        if (k < 0) {
            snprintf(message, sizeof message, "no object '%s' in the scene", a->text);
            *status = script_error(app, a, message);
            return 1;
        }
        app->target[k] = (float)v[0];
        if (a->op == FACET_SCRIPT_SET) app->kappa[k] = (float)v[0];
        return 1;
    }
    case FACET_SCRIPT_COMMAND:
        /* through the UI, as a user would: focus the box, type, press Enter */
        if (*phase == 0) {
            app->show_panel = 1;
            app->focus_command = 1;
            *phase = 1;
            return 0;
        }
        if (*phase == 1) {
            for (const unsigned char *c = (const unsigned char *)a->text; *c; c++)
                facet_ui_input_char(&app->input, *c, 0);
            facet_ui_input_key(&app->input, FACET_UI_KEY_ENTER, 0);
            facet_ui_input_key(&app->input, FACET_UI_KEY_ESCAPE, 0); /* give the keys back */
            *phase = 2;
            return 0;
        }
        return 1; /* the Enter was handled in the frame after the typing */
    case FACET_SCRIPT_KEY:
        *status = press_key(app, a);
        return 1;
    case FACET_SCRIPT_ENV: {
        int index = -1;
        for (int i = 1; i < app->environment_count; i++)
            if (!strcmp(app->environments[i], a->text)) index = i;
        if (index < 0 && app->environment_count < APP_MAX_ENVIRONMENTS &&
            (app->environments[app->environment_count] = facet_strdup(a->text)))
            index = app->environment_count++;
        if (index < 0) {
            *status = script_error(app, a, "too many environment maps");
            return 1;
        }
        facet_app_set_environment(app, index);
        if (a->number_count) app->env_rotation = (float)v[0];
        return 1;
    }
    case FACET_SCRIPT_ENV_ROTATION:
        app->env_rotation = (float)v[0];
        return 1;
    case FACET_SCRIPT_EXPOSURE:
        app->exposure = (float)v[0];
        return 1;
    case FACET_SCRIPT_VIEW:
        app->mode = (facet_view_mode)facet_view_mode_from_name(a->text);
        return 1;
    case FACET_SCRIPT_PANEL:
        app->show_panel = !strcmp(a->text, "on");
        return 1;
    case FACET_SCRIPT_WAIT:
        if (*phase == 0) {
            app->wait_until = app->time + v[0];
            *phase = 1;
        }
        return app->time >= app->wait_until;
    case FACET_SCRIPT_WAIT_SETTLED:
        /* one frame at least, so this frame's state has been posted */
        if (*phase == 0) return (*phase = 1), 0;
        return settled(app);
    case FACET_SCRIPT_SCREENSHOT:
    case FACET_SCRIPT_SCREENSHOT_WINDOW:
        if (*phase == 0) return (*phase = 1), 0;
        if (*phase == 1) {
            if (!settled(app)) return 0;
            char *path = script_output_path(app, a);
            if (!path) {
                *status = facet_last_status();
                return 1;
            }
            *status =
                facet_app_request_screenshot(app, path, a->op == FACET_SCRIPT_SCREENSHOT_WINDOW);
            free(path);
            if (*status != FACET_OK) return 1;
            *phase = 2;
            return 0;
        }
        return !app->screenshot_path[0]; /* taken by the frame */
    case FACET_SCRIPT_SAVE_VIEW:
        *status = save_view(app, a);
        return 1;
    case FACET_SCRIPT_KEYFRAME:
        /* the kappas once animations end, so a keyframe after `animate` is deterministic */
        if (facet_app_animating(app)) return 0;
        if ((*status = facet_app_add_keyframe(app, a->number_count ? v[0] : 0.0)) != FACET_OK)
            *status = facet_error_context("%s:%d: keyframe", app->script.path, a->line);
        return 1;
    case FACET_SCRIPT_CLEAR_KEYFRAMES:
        facet_app_clear_keyframes(app);
        return 1;
    case FACET_SCRIPT_SAVE_PATH: {
        char *path = script_output_path(app, a);
        *status = path ? facet_app_save_path(app, path, a->number_count ? v[0] : 30.0)
                       : facet_last_status();
        if (*status != FACET_OK)
            *status = facet_error_context("%s:%d: save-path", app->script.path, a->line);
        else
            printf("facet view: %s:%d: %s\n", app->script.path, a->line, app->path_message);
        free(path);
        return 1;
    }
    case FACET_SCRIPT_PLAY_PATH:
        if (*phase == 0) {
            facet_camera_path path;
            *status = load_path(app, a, &path);
            if (*status == FACET_OK) {
                *status = facet_app_play_path(app, &path);
                facet_camera_path_free(&path);
                if (*status != FACET_OK)
                    *status = facet_error_context("%s:%d: play-path %s", app->script.path, a->line,
                                                  a->text);
            }
            if (*status != FACET_OK) return 1;
            *phase = 1;
        }
        return !app->playing;
    case FACET_SCRIPT_PATH_FRAME:
        *status = path_frame(app, a);
        return 1;
    case FACET_SCRIPT_EXPECT: {
        int k = facet_app_object_index(app, a->text);
        double tolerance = a->number_count > 1 ? v[1] : 0.01;
        if (k < 0) {
            snprintf(message, sizeof message, "expect: no object '%s' in the scene", a->text);
            *status = script_error(app, a, message);
        } else if (fabs(app->target[k] - v[0]) > tolerance ||
                   fabs(app->kappa[k] - v[0]) > tolerance) {
            snprintf(message, sizeof message,
                     "expect %s %g: its kappa is %.4f (target %.4f), beyond the tolerance %g; "
                     "the command box said: %s",
                     a->text, v[0], app->kappa[k], app->target[k], tolerance,
                     app->answer[0] ? app->answer : "(nothing)");
            *status = script_error(app, a, message);
        } else {
            printf("facet view: %s:%d: %s = %.4f as expected\n", app->script.path, a->line, a->text,
                   app->kappa[k]);
        }
        return 1;
    }
    case FACET_SCRIPT_QUIT:
        app->quit = 1;
        return 1;
    }
    return 1;
}

facet_status facet_app_script_step(facet_app *app) {
    facet_status status = FACET_OK;
    int *phase = &app->script_phase;
    while (app->script_pc < app->script.count && !app->quit && status == FACET_OK) {
        const facet_script_action *a = &app->script.actions[app->script_pc];
        if (!run_action(app, a, phase, &status)) return status;
        *phase = 0;
        app->script_pc++;
        /* a screenshot, a typed command or a resize needs frames in between */
        if (a->op == FACET_SCRIPT_COMMAND || a->op == FACET_SCRIPT_SIZE) break;
    }
    if (app->script_pc >= app->script.count) app->quit = 1;
    return status;
}
