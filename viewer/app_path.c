/* Camera paths in the viewer (app.h): keyframes recorded from the view (viewer/keyframes.h), saved
 * as a camera_path.json, and paths played back in real time, each frame set up by the same
 * facet_path_apply_frame as `facet render --path` (render/path_render.h). */
#include "app.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "render/path_render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static facet_status shown_failure(facet_app *app, facet_status s) {
    snprintf(app->path_message, sizeof app->path_message, "%s", facet_last_error());
    return s;
}

facet_status facet_app_add_keyframe(facet_app *app, double gap_seconds) {
    facet_view_state state;
    facet_app_view_state(app, &state);
    facet_status s = facet_keyframes_add(&app->keyframes, &state,
                                         gap_seconds > 0.0 ? gap_seconds : app->keyframe_gap);
    if (s != FACET_OK) return shown_failure(app, s);
    snprintf(app->path_message, sizeof app->path_message, "keyframe %d at %.2f s",
             app->keyframes.count, app->keyframes.items[app->keyframes.count - 1].pose.time);
    return FACET_OK;
}

void facet_app_clear_keyframes(facet_app *app) {
    facet_keyframes_clear(&app->keyframes);
    snprintf(app->path_message, sizeof app->path_message, "keyframes cleared");
}

/* 1 when a node of the scene declares a model frame (LiveScene: its weights' dataparser
 * transform); then *model is the scene's. A scene whose nodes disagree has none: its paths are
 * written in the world frame. */
static int scene_model_frame(facet_app *app, facet_model_frame *model) {
    pthread_mutex_lock(&app->scene_lock);
    int declared = facet_scene_has_model_frame(&app->scene);
    if (declared && facet_scene_model_frame(&app->scene, model) != FACET_OK) declared = 0;
    pthread_mutex_unlock(&app->scene_lock);
    return declared;
}

facet_status facet_app_save_path(facet_app *app, const char *file, double fps) {
    char *numbered = NULL;
    facet_status s = FACET_OK;
    if (!file) { /* the key and the button: numbered files in --out DIR (default: here) */
        const char *out = app->options->out_dir ? app->options->out_dir : ".";
        s = facet_make_dirs(out);
        if (s == FACET_OK &&
            !(numbered = facet_format("%s/facet-path-%03d.json", out, app->path_count + 1)))
            s = facet_last_status();
        file = numbered;
    }
    facet_model_frame model;
    const int in_model = scene_model_frame(app, &model);
    facet_camera_path path = {0};
    if (s == FACET_OK)
        s = facet_keyframes_path(&app->keyframes, (const char(*)[128])app->object_names, fps,
                                 app->fb_width, app->fb_height, in_model ? &model : NULL, &path);
    if (s == FACET_OK) s = facet_camera_path_save(&path, file);
    if (s == FACET_OK) {
        snprintf(app->path_message, sizeof app->path_message,
                 "saved %s: %d keyframes, %d frames at %g fps, %dx%d, %s frame", file,
                 app->keyframes.count, path.count, fps, path.width, path.height,
                 in_model ? "model" : "world");
        if (numbered) app->path_count++;
    } else {
        shown_failure(app, s);
    }
    facet_camera_path_free(&path);
    free(numbered);
    return s;
}

facet_status facet_app_show_path_frame(facet_app *app, const facet_camera_path *path, int k) {
    if (k < 0 || k >= path->count)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "frame %d is outside the path's %d frames", k,
                          path->count);
    /* facet_path_apply_frame on a view of the scene whose kappas are a copy of the targets and
     * whose environment is the one shown, so the path's values land in the viewer's own state
     * (as app_command.c grounds commands); the render thread keeps the real scene */
    facet_node *nodes =
        facet_alloc((size_t)(app->scene.node_count ? app->scene.node_count : 1), sizeof *nodes);
    if (!nodes) return facet_last_status();
    float kappa[FACET_VIEW_MAX_OBJECTS];
    memcpy(kappa, app->target, sizeof kappa);
    facet_model_frame model;
    facet_camera camera;
    pthread_mutex_lock(&app->scene_lock);
    facet_status s = path->frame == FACET_PATH_FRAME_MODEL
                         ? facet_scene_model_frame(&app->scene, &model)
                         : FACET_OK;
    facet_scene view = app->scene;
    for (int n = 0, o = 0; n < view.node_count; n++) {
        nodes[n] = app->scene.nodes[n];
        nodes[n].kappa = kappa + o;
        o += nodes[n].object_count;
    }
    view.nodes = nodes;
    view.has_environment = app->environments[app->environment_index][0] != '\0';
    facet_envmap_set_rotation(&view.environment, app->env_rotation);
    if (s == FACET_OK) s = facet_path_apply_frame(&view, path, k, &model, &camera);
    pthread_mutex_unlock(&app->scene_lock);
    free(nodes);
    if (s != FACET_OK) return s;
    memcpy(app->kappa, kappa, sizeof(float) * (size_t)app->object_count);
    memcpy(app->target, kappa, sizeof(float) * (size_t)app->object_count);
    app->env_rotation = view.environment.rotation_deg;
    facet_nav_snap(&app->nav, &camera);
    return FACET_OK;
}

void facet_app_stop_path(facet_app *app) {
    if (app->playing)
        snprintf(app->path_message, sizeof app->path_message, "stopped at frame %d of %d",
                 app->playback_frame, app->playback.count);
    app->playing = 0;
    facet_camera_path_free(&app->playback);
}

facet_status facet_app_play_path(facet_app *app, facet_camera_path *path) {
    facet_app_stop_path(app);
    app->playback = *path;
    memset(path, 0, sizeof *path);
    facet_status s = facet_app_show_path_frame(app, &app->playback, 0);
    if (s != FACET_OK) {
        facet_camera_path_free(&app->playback);
        return shown_failure(app, s);
    }
    app->playing = app->playback.count > 1;
    app->playback_frame = 0;
    app->playback_start = app->time;
    snprintf(app->path_message, sizeof app->path_message, "playing %d frames at %g fps",
             app->playback.count, app->playback.fps);
    if (!app->playing) facet_camera_path_free(&app->playback);
    return FACET_OK;
}

facet_status facet_app_play_keyframes(facet_app *app) {
    facet_camera_path path;
    facet_status s = facet_keyframes_path(&app->keyframes, (const char(*)[128])app->object_names,
                                          30.0, app->fb_width, app->fb_height, NULL, &path);
    if (s != FACET_OK) return shown_failure(app, s);
    s = facet_app_play_path(app, &path);
    facet_camera_path_free(&path);
    return s;
}

facet_status facet_app_path_step(facet_app *app) {
    if (!app->playing) return FACET_OK;
    const int last = app->playback.count - 1;
    double frame = floor((app->time - app->playback_start) * app->playback.fps);
    int k = frame < (double)last ? (int)frame : last; /* real time: slow frames are skipped */
    facet_status s = FACET_OK;
    if (k != app->playback_frame) {
        s = facet_app_show_path_frame(app, &app->playback, k);
        app->playback_frame = k;
    }
    if (s != FACET_OK || k == last) {
        if (s == FACET_OK)
            snprintf(app->path_message, sizeof app->path_message, "played %d frames",
                     app->playback.count);
        else
            shown_failure(app, s);
        app->playing = 0;
        facet_camera_path_free(&app->playback);
    }
    /* a script fails on it; a user sees it in the panel and goes on */
    return app->script_loaded ? s : FACET_OK;
}
