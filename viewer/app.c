#include "app.h"

#include "render/batch.h"

#include "core/alloc.h"
#include "nodes/builtin.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float kappa_speed = 1.0f; /* kappa units per second: a full open in one second */
static char glfw_message[512];

static void glfw_error(int code, const char *message) {
    (void)code;
    snprintf(glfw_message, sizeof glfw_message, "%s", message);
}

/* ---- helpers shared with the other parts ----------------------------------------------------- */

int facet_app_object_index(const facet_app *app, const char *name) {
    for (int k = 0; k < app->object_count; k++)
        if (!strcmp(app->object_names[k], name)) return k;
    return -1;
}

int facet_app_animating(const facet_app *app) {
    for (int k = 0; k < app->object_count; k++)
        if (app->kappa[k] != app->target[k]) return 1;
    return 0;
}

void facet_app_set_environment(facet_app *app, int index) {
    if (index < 0 || index >= app->environment_count) return;
    app->environment_index = index;
}

void facet_app_snap_camera(facet_app *app, int index) {
    if (app->cameras.frame_count == 0) return;
    index =
        ((index % app->cameras.frame_count) + app->cameras.frame_count) % app->cameras.frame_count;
    /* the dataset frame's camera as `facet render --cameras` makes it (every field set: a
     * camera built field by field here once left `projection` uninitialised) */
    const facet_camera camera = facet_frame_camera(&app->cameras.frames[index], 0, 0);
    facet_nav_snap(&app->nav, &camera);
    app->camera_index = index;
}

facet_status facet_app_request_screenshot(facet_app *app, const char *path, int window) {
    char next[sizeof app->screenshot_path];
    int n;
    if (path) {
        n = snprintf(next, sizeof next, "%s", path);
    } else { /* the screenshot key: numbered files in --out DIR (default: here) */
        n = snprintf(next, sizeof next, "%s/facet-view-%03d.png",
                     app->options->out_dir ? app->options->out_dir : ".",
                     app->screenshot_count + 1);
    }
    if (n < 0 || n >= (int)sizeof next)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "screenshot path longer than %zu bytes",
                          sizeof next - 1);
    if (!path) app->screenshot_count++;
    memcpy(app->screenshot_path, next, (size_t)n + 1);
    app->screenshot_window = window;
    return FACET_OK;
}

/* ---- input ----------------------------------------------------------------------------------- */

static facet_app *app_of(GLFWwindow *window) {
    return glfwGetWindowUserPointer(window);
}

/* Window coordinates -> framebuffer pixels (they differ on HiDPI screens). */
static void to_framebuffer(facet_app *app, double x, double y, float *fx, float *fy) {
    int ww, wh;
    glfwGetWindowSize(app->window, &ww, &wh);
    *fx = (float)(x * (ww > 0 ? (double)app->fb_width / ww : 1.0));
    *fy = (float)(y * (wh > 0 ? (double)app->fb_height / wh : 1.0));
}

static void on_cursor(GLFWwindow *window, double x, double y) {
    facet_app *app = app_of(window);
    to_framebuffer(app, x, y, &app->input.mouse_x, &app->input.mouse_y);
}

static void on_mouse_button(GLFWwindow *window, int button, int action, int mods) {
    (void)mods;
    facet_app *app = app_of(window);
    if (button == GLFW_MOUSE_BUTTON_LEFT) {
        if (action == GLFW_PRESS) app->input.mouse_pressed = 1, app->input.mouse_down = 1;
        if (action == GLFW_RELEASE) app->input.mouse_released = 1, app->input.mouse_down = 0;
    }
}

static void on_scroll(GLFWwindow *window, double dx, double dy) {
    (void)dx;
    app_of(window)->input.scroll_y += (float)dy;
}

/* Typed text goes to the focused text box only: the keys that are bindings ('r', '/') must not
 * land in the command box when the same key press focuses it. */
static void on_char(GLFWwindow *window, unsigned int codepoint) {
    facet_app *app = app_of(window);
    if (app->ui && facet_ui_wants_keyboard(app->ui)) facet_ui_input_char(&app->input, codepoint, 0);
}

/* Key bindings (README "Viewer"): only when no text box has the keyboard. */
static void key_binding(facet_app *app, int key, int mods) {
    switch (key) {
    case GLFW_KEY_ESCAPE:
        app->quit = 1;
        break;
    case GLFW_KEY_R:
        facet_nav_reset(&app->nav);
        break;
    case GLFW_KEY_F:
        app->nav.mode = app->nav.mode == FACET_NAV_ORBIT ? FACET_NAV_FLY : FACET_NAV_ORBIT;
        break;
    case GLFW_KEY_RIGHT_BRACKET:
        facet_app_snap_camera(app, app->camera_index + 1);
        break;
    case GLFW_KEY_LEFT_BRACKET:
        facet_app_snap_camera(app, app->camera_index - 1);
        break;
    case GLFW_KEY_1:
        app->mode = FACET_VIEW_RGB;
        break;
    case GLFW_KEY_2:
        app->mode = FACET_VIEW_DEPTH;
        break;
    case GLFW_KEY_3:
        app->mode = FACET_VIEW_MASKS;
        break;
    case GLFW_KEY_F12:
    case GLFW_KEY_P:
        if (facet_app_request_screenshot(app, NULL, (mods & GLFW_MOD_SHIFT) != 0) != FACET_OK)
            snprintf(app->answer, sizeof app->answer, "%s", facet_last_error());
        break;
    case GLFW_KEY_TAB:
        app->show_panel = !app->show_panel;
        break;
    case GLFW_KEY_H:
    case GLFW_KEY_F1:
        app->show_help = !app->show_help;
        break;
    case GLFW_KEY_EQUAL:
    case GLFW_KEY_KP_ADD:
        facet_nav_zoom(&app->nav, 1.1f);
        break;
    case GLFW_KEY_MINUS:
    case GLFW_KEY_KP_SUBTRACT:
        facet_nav_zoom(&app->nav, 1.0f / 1.1f);
        break;
    case GLFW_KEY_SLASH:
    case GLFW_KEY_ENTER:
        app->focus_command = 1;
        break;
    /* camera paths: failures are shown in the panel, the viewer goes on */
    case GLFW_KEY_K:
        facet_app_add_keyframe(app, 0.0);
        break;
    case GLFW_KEY_C:
        facet_app_clear_keyframes(app);
        break;
    case GLFW_KEY_O:
        facet_app_save_path(app, NULL, 30.0);
        break;
    case GLFW_KEY_SPACE:
        if (app->playing)
            facet_app_stop_path(app);
        else
            facet_app_play_keyframes(app);
        break;
    default:
        break;
    }
}

static void on_key(GLFWwindow *window, int key, int scancode, int action, int mods) {
    (void)scancode;
    facet_app *app = app_of(window);
    if (action != GLFW_PRESS && action != GLFW_REPEAT) return;
    static const struct {
        int glfw;
        facet_ui_key ui;
    } editing[] = {
        {GLFW_KEY_BACKSPACE, FACET_UI_KEY_BACKSPACE}, {GLFW_KEY_DELETE, FACET_UI_KEY_DELETE},
        {GLFW_KEY_LEFT, FACET_UI_KEY_LEFT},           {GLFW_KEY_RIGHT, FACET_UI_KEY_RIGHT},
        {GLFW_KEY_HOME, FACET_UI_KEY_HOME},           {GLFW_KEY_END, FACET_UI_KEY_END},
        {GLFW_KEY_ENTER, FACET_UI_KEY_ENTER},         {GLFW_KEY_KP_ENTER, FACET_UI_KEY_ENTER},
        {GLFW_KEY_ESCAPE, FACET_UI_KEY_ESCAPE},       {GLFW_KEY_TAB, FACET_UI_KEY_TAB}};
    if (app->ui && facet_ui_wants_keyboard(app->ui)) {
        for (size_t k = 0; k < sizeof editing / sizeof *editing; k++)
            if (editing[k].glfw == key) facet_ui_input_key(&app->input, editing[k].ui, mods);
        return;
    }
    if (action == GLFW_PRESS) key_binding(app, key, mods);
}

/* Camera motion from the mouse and WASD/QE, when the UI does not own them. */
static void navigate(facet_app *app) {
    double x, y;
    glfwGetCursorPos(app->window, &x, &y);
    float fx, fy;
    to_framebuffer(app, x, y, &fx, &fy);
    const int ui_mouse = app->ui && app->show_panel && facet_ui_wants_mouse(app->ui);
    int button = -1;
    if (glfwGetMouseButton(app->window, GLFW_MOUSE_BUTTON_LEFT) == GLFW_PRESS)
        button = GLFW_MOUSE_BUTTON_LEFT;
    else if (glfwGetMouseButton(app->window, GLFW_MOUSE_BUTTON_RIGHT) == GLFW_PRESS)
        button = GLFW_MOUSE_BUTTON_RIGHT;
    else if (glfwGetMouseButton(app->window, GLFW_MOUSE_BUTTON_MIDDLE) == GLFW_PRESS)
        button = GLFW_MOUSE_BUTTON_MIDDLE;
    if (button < 0) {
        app->dragging = -1;
    } else if (app->dragging != button) {
        if (!ui_mouse || app->dragging >= 0) app->dragging = button;
        app->last_x = fx, app->last_y = fy;
    } else {
        float dx = (float)(fx - app->last_x), dy = (float)(fy - app->last_y);
        if (button == GLFW_MOUSE_BUTTON_LEFT)
            facet_nav_rotate(&app->nav, dx, dy);
        else
            facet_nav_pan(&app->nav, dx, dy);
        app->last_x = fx, app->last_y = fy;
    }
    if (!ui_mouse && app->input.scroll_y != 0.0f) facet_nav_scroll(&app->nav, app->input.scroll_y);
    if (app->ui && facet_ui_wants_keyboard(app->ui)) return;
    float forward = 0, right = 0, up = 0;
    if (glfwGetKey(app->window, GLFW_KEY_W) == GLFW_PRESS) forward += 1;
    if (glfwGetKey(app->window, GLFW_KEY_S) == GLFW_PRESS) forward -= 1;
    if (glfwGetKey(app->window, GLFW_KEY_D) == GLFW_PRESS) right += 1;
    if (glfwGetKey(app->window, GLFW_KEY_A) == GLFW_PRESS) right -= 1;
    if (glfwGetKey(app->window, GLFW_KEY_E) == GLFW_PRESS) up += 1;
    if (glfwGetKey(app->window, GLFW_KEY_Q) == GLFW_PRESS) up -= 1;
    facet_nav_move(&app->nav, forward, right, up, (float)app->dt);
}

/* ---- the frame ------------------------------------------------------------------------------- */

static void animate(facet_app *app) {
    const float step = kappa_speed * (float)app->dt;
    for (int k = 0; k < app->object_count; k++) {
        float d = app->target[k] - app->kappa[k];
        app->kappa[k] = fabsf(d) <= step ? app->target[k] : app->kappa[k] + (d > 0 ? step : -step);
    }
}

void facet_app_view_state(const facet_app *app, facet_view_state *state) {
    memset(state, 0, sizeof *state);
    state->camera = facet_nav_camera(&app->nav, app->fb_width, app->fb_height);
    state->object_count = app->object_count;
    memcpy(state->kappa, app->kappa, sizeof(float) * (size_t)app->object_count);
    state->exposure = app->exposure;
    state->mode = app->mode;
    state->depth_reference = app->nav.distance;
    snprintf(state->env_path, sizeof state->env_path, "%s",
             app->environments[app->environment_index]);
    state->env_rotation_deg = app->env_rotation;
    state->filter = app->options->filter;
}

int facet_app_uses_interop(const facet_app *app) {
    /* Monte Carlo scenes take the refiner, which averages sample passes once a view settles */
    return app->interop && app->mode == FACET_VIEW_RGB && !app->monte_carlo;
}

/* 1 for --script and --screenshot runs: frames there are for files, not for watching. */
static int scripted(const facet_app *app) {
    return app->script_loaded || app->options->screenshot_path != NULL;
}

/* The refiner's cap on a Monte Carlo view's sample passes (facet_viewer_options.max_passes). */
static int max_passes(const facet_app *app) {
    if (app->options->max_passes > 0) return app->options->max_passes;
    return scripted(app) ? 1 : FACET_REFINER_MAX_PASSES;
}

/* Brings the texture up to date with the wanted view: the interop path renders it now; the
 * refiner path posts it and uploads whatever the worker has finished (a Monte Carlo view keeps
 * getting new means after it settles). */
static void update_image(facet_app *app) {
    facet_view_state state;
    facet_app_view_state(app, &state);
    app->accumulating = 0;
    if (facet_app_uses_interop(app)) {
        /* a new view renders at 1 spp; the frame after, if the view is still the same, with the
         * filter's samples (that frame blocks for spp renders) */
        const int same = app->shown_valid && facet_view_state_equal(&state, &app->shown_state);
        if (same && !app->shown_one_spp) return;
        facet_view_state pass = state;
        if (!same) pass.filter.spp = 1;
        if (app->refiner_active) { /* it must not render while this thread changes the scene */
            facet_refiner_stop(app->refiner);
            app->refiner_active = 0;
        }
        facet_view_applied applied;
        facet_view_applied_init(&applied, &app->scene);
        pthread_mutex_lock(&app->scene_lock);
        facet_status s = facet_view_apply(&app->scene, &state, &applied);
        if (s == FACET_OK) s = facet_interop_render(app->interop, &app->scene, &pass);
        pthread_mutex_unlock(&app->scene_lock);
        app->shown_one_spp = 0;
        if (s != FACET_OK) {
            snprintf(app->render_error, sizeof app->render_error, "%s", facet_last_error());
            app->settled = 1; /* nothing more will come: scripts must not wait forever */
        } else {
            app->render_error[0] = '\0';
            app->shown_one_spp =
                facet_pixel_filter_spp(&pass.filter) < facet_pixel_filter_spp(&state.filter);
            app->settled = !app->shown_one_spp;
            app->image_updates++;
        }
        app->shown_state = state;
        app->shown_valid = 1;
        return;
    }
    facet_refiner_request(app->refiner, &state);
    app->refiner_active = 1;
    if (facet_refiner_fetch(app->refiner, &app->image_serial, &app->image)) {
        facet_frame_gl_upload(&app->frame, app->image.rgba, app->image.width, app->image.height);
        app->image_updates++;
    }
    facet_refiner_info info;
    facet_refiner_get_info(app->refiner, &info);
    snprintf(app->render_error, sizeof app->render_error, "%s", info.error);
    app->accumulating = info.accumulating;
    /* Monte Carlo views settle at pass 0's frame; a scripted run that asked for more passes
     * waits for all of them, so its screenshots are the same mean every time */
    const int passes_due = scripted(app) && info.accumulating;
    app->settled = (app->image.settled && app->image.width == state.camera.width &&
                    app->image.height == state.camera.height && !info.busy && !passes_due) ||
                   (info.error[0] && !info.busy && !info.accumulating);
    app->shown_valid = 0;
}

/* 1 while the next frames must come quickly: an animation, a playing path, a drag, a movement
 * key, a script action that is not waiting for the renderer. */
static int busy_frame(facet_app *app) {
    if (facet_app_animating(app) || app->playing || app->dragging >= 0) return 1;
    if (app->script_loaded && app->settled) return 1;
    static const int keys[] = {GLFW_KEY_W, GLFW_KEY_A, GLFW_KEY_S,
                               GLFW_KEY_D, GLFW_KEY_Q, GLFW_KEY_E};
    if (app->ui && facet_ui_wants_keyboard(app->ui)) return 0;
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (glfwGetKey(app->window, keys[k]) == GLFW_PRESS) return 1;
    return 0;
}

static facet_status take_screenshot(facet_app *app) {
    facet_image rgb = {0};
    facet_status s = facet_frame_gl_read(0, 0, app->fb_width, app->fb_height, app->fb_height, &rgb);
    if (s == FACET_OK) s = facet_image_write_png(&rgb, app->screenshot_path);
    facet_image_free(&rgb);
    if (s == FACET_OK) snprintf(app->answer, sizeof app->answer, "saved %s", app->screenshot_path);
    app->screenshot_path[0] = '\0';
    return s;
}

static facet_status frame(facet_app *app) {
    glfwGetFramebufferSize(app->window, &app->fb_width, &app->fb_height);
    if (app->fb_width < 1 || app->fb_height < 1) return FACET_OK; /* minimised */
    facet_status s = FACET_OK;
    if (app->script_loaded && !app->quit) s = facet_app_script_step(app);
    if (s == FACET_OK) s = facet_app_path_step(app);
    if (s != FACET_OK) return s;

    facet_ui_begin(app->ui, &app->input, app->fb_width, app->fb_height);
    if (app->show_panel) facet_app_panel(app);
    s = facet_ui_end(app->ui);
    if (s != FACET_OK) return s;
    navigate(app);
    animate(app);
    update_image(app);

    glViewport(0, 0, app->fb_width, app->fb_height);
    glClearColor(0.1f, 0.1f, 0.1f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    facet_frame_gl_draw(&app->frame, 0, 0, app->fb_width, app->fb_height, app->fb_height);
    const int shoot = app->screenshot_path[0] && app->settled && !facet_app_animating(app);
    if (shoot && !app->screenshot_window && (s = take_screenshot(app)) != FACET_OK) return s;
    if (app->show_panel) {
        glViewport(0, 0, app->fb_width, app->fb_height);
        facet_ui_draw_list list = facet_ui_draw_data(app->ui);
        s = facet_ui_gl_render(app->ui_gl, &list, app->fb_width, app->fb_height);
        if (s != FACET_OK) return s;
    }
    if (shoot && app->screenshot_window && (s = take_screenshot(app)) != FACET_OK) return s;
    glfwSwapBuffers(app->window);
    facet_ui_input_next_frame(&app->input);
    app->frames++;
    return FACET_OK;
}

/* ---- setup ----------------------------------------------------------------------------------- */

/* Blender's studio HDRIs (package blender-data), offered when no --env maps are given. */
static void find_blender_hdris(facet_app *app) {
    static const char root[] = "/usr/share/blender/datafiles/studiolights/world";
    DIR *dir = opendir(root);
    if (!dir) return;
    char *found[FACET_VIEWER_MAX_ENVIRONMENTS];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < FACET_VIEWER_MAX_ENVIRONMENTS) {
        size_t len = strlen(e->d_name);
        if (len > 4 &&
            (!strcmp(e->d_name + len - 4, ".exr") || !strcmp(e->d_name + len - 4, ".hdr"))) {
            char path[1536];
            snprintf(path, sizeof path, "%s/%s", root, e->d_name);
            if ((found[n] = facet_strdup(path))) n++;
        }
    }
    closedir(dir);
    /* sorted, so the order does not depend on the file system */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(found[j], found[j - 1]) < 0; j--) {
            char *t = found[j];
            found[j] = found[j - 1];
            found[j - 1] = t;
        }
    for (int i = 0; i < n; i++) app->environments[app->environment_count++] = found[i];
}

static facet_status load_scene(facet_app *app) {
    const facet_viewer_options *o = app->options;
    facet_status s = facet_register_builtin_node_kinds();
    if (s == FACET_OK) s = facet_scene_load(&app->scene, o->scene_path);
    if (s != FACET_OK) return s;
    int total = facet_scene_object_count(&app->scene);
    if (total > FACET_VIEW_MAX_OBJECTS) {
        facet_scene_free(&app->scene);
        return facet_fail(FACET_ERR_UNSUPPORTED, "%s: the viewer shows at most %d objects, not %d",
                          o->scene_path, FACET_VIEW_MAX_OBJECTS, total);
    }
    app->object_names = facet_alloc_zeroed((size_t)(total ? total : 1), sizeof *app->object_names);
    if (!app->object_names) {
        facet_scene_free(&app->scene);
        return facet_last_status();
    }
    for (int n = 0; n < app->scene.node_count; n++) {
        const facet_node *node = &app->scene.nodes[n];
        for (int k = 0; k < node->object_count; k++) {
            snprintf(app->object_names[app->object_count], 128, "%s", node->object_names[k]);
            app->kappa[app->object_count] = app->target[app->object_count] = node->kappa[k];
            app->object_count++;
        }
        if (!strcmp(node->kind->type, "sdf") || !strcmp(node->kind->type, "risesdf"))
            app->relighting = 1;
    }
    if (app->scene.has_environment) app->relighting = 1;
    app->monte_carlo = facet_scene_monte_carlo(&app->scene);
    /* [0]: the scene's own map ("" when it has none) */
    app->environments[app->environment_count++] = facet_strdup(
        app->scene.has_environment && app->scene.environment.path ? app->scene.environment.path
                                                                  : "");
    for (int i = 0; i < o->environment_count; i++)
        app->environments[app->environment_count++] = facet_strdup(o->environments[i]);
    if (o->environment_count == 0 && app->relighting) find_blender_hdris(app);
    for (int i = 0; i < app->environment_count; i++)
        if (!app->environments[i]) return facet_last_status();
    app->env_rotation = app->scene.has_environment ? app->scene.environment.rotation_deg : 0.0f;

    facet_camera home;
    if (app->scene.has_camera) {
        home = app->scene.camera;
    } else { /* looking at the origin from the front, a little above, z up, 45 degrees */
        facet_mat4 c2w = {
            {1, 0, 0, 0, 0, 0.2425356f, 0.9701425f, 4, 0, -0.9701425f, 0.2425356f, 1, 0, 0, 0, 1}};
        home = facet_camera_from_fov(c2w, 0.785398f, 800, 800);
    }
    facet_nav_init(&app->nav, &home);
    app->camera_index = -1;
    if (o->cameras_path) {
        s = facet_dataset_load(&app->cameras, o->cameras_path, FACET_SPLIT_ALL);
        if (s == FACET_OK && app->cameras.frame_count == 0)
            s = facet_fail(FACET_ERR_FORMAT, "%s: no cameras", o->cameras_path);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}

static facet_status open_window(facet_app *app) {
    const facet_viewer_options *o = app->options;
    glfwSetErrorCallback(glfw_error);
    if (!glfwInit())
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "facet view needs a display, and none is available (%s). Render "
                          "headlessly with `facet render SCENE`, or run the viewer under a "
                          "virtual X server: xvfb-run -s '-screen 0 1920x1080x24' facet view "
                          "SCENE",
                          glfw_message[0] ? glfw_message : "GLFW could not initialise");
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
    glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
    glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
    if (o->hidden) glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
    int width = o->width, height = o->height;
    if (width <= 0 || height <= 0) {
        /* the scene camera's aspect, at least 800 pixels tall */
        const facet_camera *c = &app->nav.home;
        float scale = c->height < 800 ? 800.0f / (float)c->height : 1.0f;
        width = (int)lroundf((float)c->width * scale);
        height = (int)lroundf((float)c->height * scale);
    }
    char title[1100];
    snprintf(title, sizeof title, "facet view - %s", o->scene_path);
    app->window = glfwCreateWindow(width, height, title, NULL, NULL);
    if (!app->window)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "facet view could not open an OpenGL 3.3 core window (%s); render "
                          "headlessly with `facet render SCENE`",
                          glfw_message[0] ? glfw_message : "unknown GLFW error");
    glfwMakeContextCurrent(app->window);
    glfwSwapInterval(o->bench_path ? 0 : 1);
    if (!gladLoadGL(glfwGetProcAddress))
        return facet_fail(FACET_ERR_UNSUPPORTED, "facet view: OpenGL 3.3 core is not available");
    glfwSetWindowUserPointer(app->window, app);
    glfwSetCursorPosCallback(app->window, on_cursor);
    glfwSetMouseButtonCallback(app->window, on_mouse_button);
    glfwSetScrollCallback(app->window, on_scroll);
    glfwSetCharCallback(app->window, on_char);
    glfwSetKeyCallback(app->window, on_key);
    return FACET_OK;
}

static facet_status start_rendering(facet_app *app) {
    facet_status s = facet_frame_gl_create(&app->frame);
    if (s != FACET_OK) return s;
    if (app->options->device == FACET_DEVICE_CUDA && !app->options->no_interop &&
        facet_interop_create(&app->interop, &app->frame) != FACET_OK) {
        fprintf(stderr, "facet view: %s\n", facet_last_error());
        app->interop = NULL;
    }
    s = facet_refiner_create(&app->refiner, &app->scene, &app->scene_lock, app->options->device);
    if (s != FACET_OK) return s;
    facet_refiner_set_max_passes(app->refiner, max_passes(app));
    s = facet_ui_create(&app->ui, app->options->font_path, 16.0f);
    if (s == FACET_OK) {
        facet_ui_draw_list atlas = facet_ui_draw_data(app->ui);
        s = facet_ui_gl_create(&app->ui_gl, &atlas);
    }
    return s;
}

static void write_bench(facet_app *app, double seconds) {
    FILE *f = fopen(app->options->bench_path, "a");
    if (!f) return;
    facet_refiner_info info = {0};
    if (app->refiner) facet_refiner_get_info(app->refiner, &info);
    fprintf(f,
            "{\"scene\": \"%s\", \"width\": %d, \"height\": %d, \"device\": \"%s\", \"path\": "
            "\"%s\", \"seconds\": %.3f, \"frames\": %ld, \"frames_per_second\": %.2f, "
            "\"image_updates\": %ld, \"image_updates_per_second\": %.2f, \"rays_per_second\": "
            "%.0f, \"last_full_frame_seconds\": %.3f}\n",
            app->options->scene_path, app->fb_width, app->fb_height,
            facet_device_name(app->options->device),
            app->interop && !app->monte_carlo ? "cuda-gl-interop" : "refiner", seconds, app->frames,
            app->frames / seconds, app->image_updates, app->image_updates / seconds,
            info.rays_per_second, info.last_full_seconds);
    fclose(f);
}

static void shut_down(facet_app *app) {
    facet_refiner_destroy(app->refiner); /* first: it renders the scene */
    facet_interop_destroy(app->interop);
    if (app->ui_gl) facet_ui_gl_destroy(app->ui_gl);
    facet_ui_destroy(app->ui);
    if (app->window) {
        facet_frame_gl_destroy(&app->frame);
        glfwDestroyWindow(app->window);
    }
    glfwTerminate();
    facet_display_image_free(&app->image);
    if (app->encoder_loaded) facet_text_encoder_free(&app->encoder);
    if (app->script_loaded) facet_script_free(&app->script);
    facet_keyframes_clear(&app->keyframes);
    facet_camera_path_free(&app->playback);
    if (app->cameras.frames) facet_dataset_free(&app->cameras);
    for (int i = 0; i < app->environment_count; i++) free(app->environments[i]);
    free(app->object_names);
    facet_scene_free(&app->scene);
    pthread_mutex_destroy(&app->scene_lock);
}

facet_status facet_viewer_run(const facet_viewer_options *options) {
    facet_app *app = facet_alloc_zeroed(1, sizeof *app);
    if (!app) return facet_last_status();
    app->options = options;
    app->show_panel = 1;
    app->dragging = -1;
    app->keyframe_gap = 2.0f;
    pthread_mutex_init(&app->scene_lock, NULL);
    facet_status s = FACET_OK;
    if (options->script_path) {
        s = facet_script_load(&app->script, options->script_path);
        app->script_loaded = s == FACET_OK;
    }
    if (s == FACET_OK) s = load_scene(app);
    if (s == FACET_OK) s = open_window(app);
    if (s == FACET_OK) s = start_rendering(app);
    if (s == FACET_OK && options->screenshot_path && !options->script_path)
        s = facet_app_request_screenshot(app, options->screenshot_path, 0);
    const double start = glfwGetTime();
    app->time = start;
    double frame_start = start;
    while (s == FACET_OK && !app->quit && !glfwWindowShouldClose(app->window)) {
        /* Software GL can draw hundreds of frames a second and would take a core from the
         * renderer: 60 frames/s while something moves, 10 while the image refines, else 4 (events
         * wake the loop at once). */
        double budget = busy_frame(app)                      ? 1.0 / 60.0
                        : !app->settled || app->accumulating ? 0.1
                                                             : 0.25;
        double wait = budget - (glfwGetTime() - frame_start);
        if (wait > 0)
            glfwWaitEventsTimeout(wait);
        else
            glfwPollEvents();
        frame_start = glfwGetTime();
        double now = frame_start;
        app->dt = now - app->time;
        app->time = now;
        if (now - app->fps_clock >= 0.5) {
            app->fps = (app->frames - app->fps_frames) / (now - app->fps_clock);
            app->fps_clock = now, app->fps_frames = app->frames;
        }
        s = frame(app);
        if (s == FACET_OK && app->failure != FACET_OK) s = app->failure;
        /* --screenshot alone: close once it is saved */
        if (options->screenshot_path && !options->script_path && !app->screenshot_path[0])
            app->quit = 1;
        if (s == FACET_OK && options->timeout_seconds > 0 && now - start > options->timeout_seconds)
            s = facet_fail(FACET_ERR_IO,
                           "facet view: gave up after %.0f s (%s); the frame never finished "
                           "rendering%s%s",
                           options->timeout_seconds,
                           app->script_loaded ? "script did not finish" : "screenshot pending",
                           app->render_error[0] ? ": " : "", app->render_error);
    }
    if (options->bench_path && app->window) write_bench(app, glfwGetTime() - start);
    shut_down(app);
    free(app);
    return s;
}
