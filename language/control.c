/* Text to a changed scene (language/control.h). */
#include "control.h"

#include "core/alloc.h"
#include "core/fileio.h"

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
