/* The command box: text -> grounded actions -> kappa animations (language/grounding.h). */
#include "app.h"

#include "core/alloc.h"
#include "language/control.h"
#include "language/grounding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads the default text encoder (MiniLM, installed by scripts/setup.sh) on first use. */
static facet_status load_encoder(facet_app *app) {
    if (app->encoder_loaded) return FACET_OK;
    facet_control_options control = {0};
    control.cuda = app->options->device == FACET_DEVICE_CUDA;
    char *weights = facet_control_weights_path(&control);
    if (!weights) return facet_last_status();
    facet_status s = facet_text_encoder_load(&app->encoder, weights, NULL);
    if (s != FACET_OK)
        s = facet_error_context("text encoder (scripts/setup.sh installs it into models/)");
    free(weights);
    app->encoder_loaded = s == FACET_OK;
    return s;
}

facet_status facet_app_command(facet_app *app, const char *text) {
    facet_status s = load_encoder(app);
    if (s != FACET_OK) {
        snprintf(app->answer, sizeof app->answer, "%s", facet_last_error());
        return s;
    }
    /* Ground on the scene as it will be once the animations end: a copy of the scene whose kappa
     * are the targets (the render thread keeps reading the real one). */
    facet_node *nodes =
        facet_alloc((size_t)(app->scene.node_count ? app->scene.node_count : 1), sizeof *nodes);
    if (!nodes) return facet_last_status();
    float targets[FACET_VIEW_MAX_OBJECTS];
    memcpy(targets, app->target, sizeof targets);
    pthread_mutex_lock(&app->scene_lock);
    facet_scene view = app->scene;
    for (int n = 0, k = 0; n < view.node_count; n++) {
        nodes[n] = app->scene.nodes[n];
        nodes[n].kappa = targets + k;
        k += nodes[n].object_count;
    }
    view.nodes = nodes;
    facet_ground_options options = {0};
    options.mode = FACET_GROUND_FACET;
    options.cuda = app->options->device == FACET_DEVICE_CUDA;
    options.context_object = app->context_object[0] ? app->context_object : NULL;
    facet_ground_result result;
    s = facet_ground_command(&app->encoder, &view, text, &options, &result);
    pthread_mutex_unlock(&app->scene_lock);
    free(nodes);
    if (s != FACET_OK) {
        snprintf(app->answer, sizeof app->answer, "%s", facet_last_error());
        return FACET_OK; /* shown; the viewer goes on */
    }
    int used = snprintf(app->answer, sizeof app->answer, "%s", result.message);
    if (result.outcome == FACET_GROUND_APPLIED) {
        for (int i = 0; i < result.action_count; i++) {
            int k = facet_app_object_index(app, result.actions[i].object);
            if (k < 0) continue;
            app->target[k] = result.actions[i].kappa_to;
            if (used < (int)sizeof app->answer)
                used += snprintf(app->answer + used, sizeof app->answer - (size_t)used,
                                 "%s %s %.2f -> %.2f", i ? "," : ":", result.actions[i].object,
                                 result.actions[i].kappa_from, result.actions[i].kappa_to);
            snprintf(app->context_object, sizeof app->context_object, "%s",
                     result.actions[i].object);
        }
    } else if (result.candidate_count > 0) {
        used += snprintf(app->answer + used, sizeof app->answer - (size_t)used, " (candidates:");
        for (int i = 0; i < result.candidate_count && used < (int)sizeof app->answer; i++)
            used += snprintf(app->answer + used, sizeof app->answer - (size_t)used, " %s %.2f",
                             result.candidates[i].object, result.candidates[i].score);
        if (used < (int)sizeof app->answer)
            snprintf(app->answer + used, sizeof app->answer - (size_t)used, ")");
    }
    return FACET_OK;
}
