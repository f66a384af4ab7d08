/* Headless rendering along a camera path (render/path_render.h). */
#include "path_render.h"

#include "core/alloc.h"
#include "core/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

char *facet_path_frame_file(const char *dir, int k, facet_output_format format) {
    return facet_format("%s/frame_%05d.%s", dir, k, format == FACET_OUTPUT_EXR ? "exr" : "png");
}

facet_status facet_path_apply_frame(facet_scene *scene, const facet_camera_path *path, int k,
                                    const facet_model_frame *model, facet_camera *camera) {
    const char *names[256];
    int n = facet_camera_path_objects(path, names, 256);
    for (int i = 0; i < n; i++) {
        float kappa;
        if (!facet_camera_path_value(path, k, names[i], &kappa)) continue;
        if (facet_scene_set_kappa(scene, names[i], kappa) != FACET_OK)
            return facet_error_context("camera path frame %d: facet_kappa", k);
    }
    float rotation;
    if (facet_camera_path_value(path, k, NULL, &rotation)) {
        if (!scene->has_environment)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "camera path frame %d: facet_env_rotation_deg is set but %s has no "
                              "environment map",
                              k, scene->path);
        facet_envmap_set_rotation(&scene->environment, rotation);
    }
    *camera = facet_camera_path_camera(path, k, model);
    return FACET_OK;
}

/* Removes the temporary files (core/fileio.h: NAME.tmp-PID) that a killed earlier run left for
 * its unfinished frame: only frame_NNNNN.* names, and only when process PID is gone. */
static void remove_stale_partials(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *tmp = strstr(e->d_name, ".tmp-");
        if (strncmp(e->d_name, "frame_", 6) != 0 || !tmp) continue;
        char *end;
        long pid = strtol(tmp + 5, &end, 10);
        if (end == tmp + 5 || *end || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* its writer may be running */
        char *path = facet_format("%s/%s", dir, e->d_name);
        if (path) remove(path);
        free(path);
    }
    closedir(d);
}

facet_status facet_path_render(facet_scene *scene, const facet_camera_path *path,
                               const facet_path_render_options *options, const char *dir,
                               int *rendered, int *skipped) {
    *rendered = *skipped = 0;
    if (options->first < 0 || options->last > path->count || options->first >= options->last)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "frames %d:%d are outside the path's %d frames", options->first,
                          options->last, path->count);
    facet_model_frame model;
    facet_status s = facet_scene_model_frame(scene, &model);
    /* every keyed object and the environment checked before anything is written */
    const char *names[256];
    int n = facet_camera_path_objects(path, names, 256);
    float unused;
    for (int i = 0; i < n && s == FACET_OK; i++)
        if (facet_scene_get_kappa(scene, names[i], &unused) != FACET_OK)
            s = facet_error_context("camera path: facet_kappa");
    if (s == FACET_OK && !scene->has_environment)
        for (int k = 0; k < path->count && s == FACET_OK; k++)
            if (facet_camera_path_value(path, k, NULL, &unused))
                s = facet_fail(FACET_ERR_INVALID_ARGUMENT,
                               "camera path: facet_env_rotation_deg is set but %s has no "
                               "environment map",
                               scene->path);
    if (s == FACET_OK && options->masks) s = facet_check_aux_names(scene);
    if (s == FACET_OK) s = facet_make_dirs(dir);
    if (s != FACET_OK) return s;
    remove_stale_partials(dir);
    int todo = 0;
    for (int k = options->first; k < options->last; k++)
        todo += facet_shard_contains(options->shard, k);
    if (options->progress) facet_progress_begin(options->progress, "render", "frame", todo);
    for (int k = options->first; k < options->last && s == FACET_OK; k++) {
        if (!facet_shard_contains(options->shard, k)) continue;
        char *file = facet_path_frame_file(dir, k, options->format);
        if (!file) return facet_last_status();
        if (facet_is_file(file)) { /* written by an earlier run (files are only ever complete) */
            free(file);
            (*skipped)++;
            if (options->progress) facet_progress_advance(options->progress, 1);
            continue;
        }
        facet_camera camera;
        facet_image img = {0}, aux = {0};
        facet_render_options render = options->render;
        if (options->masks) render.aux = &aux;
        s = facet_path_apply_frame(scene, path, k, &model, &camera);
        if (s == FACET_OK) s = facet_render_image(scene, &camera, &render, &img);
        if (s == FACET_OK && options->masks) {
            char stem[32];
            snprintf(stem, sizeof stem, "frame_%05d", k);
            s = facet_write_aux_channels(scene, &aux, dir, stem);
        }
        /* the frame itself last: its existence means the frame is done */
        if (s == FACET_OK) s = facet_write_render(&img, file, options->format);
        facet_image_free(&img);
        facet_image_free(&aux);
        free(file);
        if (s != FACET_OK) return facet_error_context("camera path frame %d", k);
        (*rendered)++;
        if (options->progress) facet_progress_advance(options->progress, 1);
    }
    if (options->progress) facet_progress_end(options->progress);
    return s;
}
