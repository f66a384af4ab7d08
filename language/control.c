/* Text to a changed scene (language/control.h). */
#include "control.h"

#include "core/alloc.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>

#include <stdlib.h>

char *facet_control_weights_path(const facet_control_options *options) {
    if (options->weights) return facet_strdup(options->weights);
    facet_encoder_kind kind = options->encoder;
    if (kind == FACET_ENCODER_DEFAULT)
        kind = options->mode == FACET_GROUND_LIVESCENE ? FACET_ENCODER_CLIP : FACET_ENCODER_MINILM;
    return facet_path_join(facet_language_models_dir(), kind == FACET_ENCODER_CLIP
                                                            ? "clip_text.safetensors"
                                                            : "minilm.safetensors");
}

facet_status facet_control(facet_scene *scene, const char *text,
                           const facet_control_options *options, facet_ground_result *result) {
    char *weights = facet_control_weights_path(options);
    if (!weights) return facet_last_status();
    facet_text_encoder encoder;
    facet_status s = facet_text_encoder_load(&encoder, weights, options->merges);
    if (s != FACET_OK) {
        facet_error_context("text encoder (scripts/setup.sh installs MiniLM; convert CLIP with "
                            "tools/convert_clip_text.py)");
        free(weights);
        return s;
    }
    facet_encoder_kind want = options->encoder;
    if (want != FACET_ENCODER_DEFAULT &&
        (want == FACET_ENCODER_CLIP) != (encoder.config.arch == FACET_TEXT_CLIP))
        s = facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: a %s encoder, not %s", weights,
                       encoder.config.arch == FACET_TEXT_CLIP ? "CLIP" : "BERT (MiniLM)",
                       want == FACET_ENCODER_CLIP ? "CLIP" : "MiniLM");
    facet_ground_options ground = {options->mode, options->cuda, options->context_object};
    if (s == FACET_OK) s = facet_ground_command(&encoder, scene, text, &ground, result);
    if (s == FACET_OK) s = facet_ground_apply(scene, result);
    facet_text_encoder_free(&encoder);
    free(weights);
    return s;
}

/* ---- the result as JSON ---------------------------------------------------------------------- */

static const char *outcome_name(facet_ground_outcome outcome) {
    switch (outcome) {
    case FACET_GROUND_APPLIED:
        return "applied";
    case FACET_GROUND_NO_MATCH:
        return "no match";
    case FACET_GROUND_AMBIGUOUS:
        return "ambiguous";
    case FACET_GROUND_NOT_UNDERSTOOD:
        return "not understood";
    }
    return "unknown";
}

/* Scores printed with 4 decimals, kappa with 6. */
static double rounded(double x, double scale) {
    return (double)(long long)(x * scale + (x < 0 ? -0.5 : 0.5)) / scale;
}

char *facet_ground_result_json(const char *text, const facet_ground_result *r) {
    cJSON *root = cJSON_CreateObject(), *actions = cJSON_CreateArray();
    int ok = root && actions;
    if (ok) {
        cJSON_AddStringToObject(root, "mode",
                                r->mode == FACET_GROUND_LIVESCENE ? "livescene" : "facet");
        cJSON_AddStringToObject(root, "command", text);
        cJSON_AddStringToObject(root, "outcome", outcome_name(r->outcome));
        cJSON_AddStringToObject(root, "message", r->message);
        cJSON_AddItemToObject(root, "actions", actions);
        for (int i = 0; i < r->action_count; i++) {
            cJSON *a = cJSON_CreateObject();
            if (!a) break;
            cJSON_AddStringToObject(a, "object", r->actions[i].object);
            cJSON_AddNumberToObject(a, "kappa_from", rounded(r->actions[i].kappa_from, 1e6));
            cJSON_AddNumberToObject(a, "kappa_to", rounded(r->actions[i].kappa_to, 1e6));
            cJSON_AddNumberToObject(a, "score", rounded(r->actions[i].score, 1e4));
            cJSON_AddItemToArray(actions, a);
        }
        if (r->outcome != FACET_GROUND_APPLIED) {
            cJSON *candidates = cJSON_AddArrayToObject(root, "candidates");
            for (int i = 0; candidates && i < r->candidate_count; i++) {
                cJSON *c = cJSON_CreateObject();
                if (!c) break;
                cJSON_AddStringToObject(c, "object", r->candidates[i].object);
                cJSON_AddNumberToObject(c, "score", rounded(r->candidates[i].score, 1e4));
                cJSON_AddItemToArray(candidates, c);
            }
        }
    } else {
        cJSON_Delete(actions);
    }
    char *json = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!json) facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory while writing the result");
    return json;
}
