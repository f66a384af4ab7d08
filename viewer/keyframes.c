/* The viewer's camera-path recorder (viewer/keyframes.h). */
#include "keyframes.h"

#include "core/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

facet_status facet_keyframes_add(facet_keyframes *list, const facet_view_state *state,
                                 double gap_seconds) {
    if (!(gap_seconds > 0.0 && gap_seconds <= 3600.0))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "keyframe gap %g s is outside (0, 3600] seconds", gap_seconds);
    if (state->camera.projection != FACET_PROJECTION_PINHOLE)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "keyframes record perspective views; this view is not one");
    if (list->count >= FACET_KEYFRAMES_MAX)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "a path holds at most %d keyframes",
                          FACET_KEYFRAMES_MAX);
    facet_keyframe *items = facet_realloc(list->items, (size_t)list->count + 1, sizeof *items);
    if (!items) return facet_last_status();
    list->items = items;
    facet_keyframe *k = &items[list->count];
    memset(k, 0, sizeof *k);
    for (int i = 0; i < 16; i++) k->pose.c2w[i] = state->camera.c2w.m[i];
    k->pose.fov_deg = facet_vertical_fov_deg(state->camera.fy, state->camera.height);
    k->pose.time = list->count ? items[list->count - 1].pose.time + gap_seconds : 0.0;
    k->object_count = state->object_count;
    memcpy(k->kappa, state->kappa, sizeof(float) * (size_t)state->object_count);
    k->has_env_rotation = state->env_path[0] != '\0';
    k->env_rotation_deg = state->env_rotation_deg;
    list->count++;
    return FACET_OK;
}

void facet_keyframes_clear(facet_keyframes *list) {
    free(list->items);
    memset(list, 0, sizeof *list);
}

int facet_keyframes_frame(const facet_keyframes *list, int i, double fps) {
    return (int)lround(list->items[i].pose.time * fps);
}

facet_status facet_keyframes_path(const facet_keyframes *list, const char (*names)[128], double fps,
                                  int width, int height, const facet_model_frame *model,
                                  facet_camera_path *out) {
    memset(out, 0, sizeof *out);
    if (list->count < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "no keyframes to make a path of (add one "
                                                      "with K or the `keyframe` script action)");
    facet_pose_key *poses = facet_alloc((size_t)list->count, sizeof *poses);
    if (!poses) return facet_last_status();
    for (int i = 0; i < list->count; i++) poses[i] = list->items[i].pose;
    facet_status s = facet_camera_path_interpolate(out, poses, list->count, fps, width, height);
    free(poses);
    for (int i = 0; i < list->count && s == FACET_OK; i++) {
        const facet_keyframe *k = &list->items[i];
        int frame = facet_keyframes_frame(list, i, fps);
        for (int j = 0; j < k->object_count && s == FACET_OK; j++)
            s = facet_camera_path_set_key(out, frame, names[j], k->kappa[j]);
        if (s == FACET_OK && k->has_env_rotation)
            s = facet_camera_path_set_key(out, frame, NULL, k->env_rotation_deg);
    }
    if (s != FACET_OK) {
        facet_camera_path_free(out);
        return s;
    }
    out->frame = FACET_PATH_FRAME_WORLD;
    if (model) facet_camera_path_to_model_frame(out, model);
    return FACET_OK;
}
