/* One call from text to a changed scene, for the CLI (`facet control`, `facet render --command`)
 * and the viewer: loads the text encoder the mode needs, grounds the command
 * (language/grounding.h) and applies it. */
#ifndef FACET_LANGUAGE_CONTROL_H
#define FACET_LANGUAGE_CONTROL_H

#include "grounding.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_encoder_kind {
    FACET_ENCODER_DEFAULT = 0, /* MiniLM in facet mode, CLIP in livescene mode */
    FACET_ENCODER_MINILM = 1,
    FACET_ENCODER_CLIP = 2,
} facet_encoder_kind;

typedef struct facet_control_options {
    facet_ground_mode mode;
    facet_encoder_kind encoder;
    /* Encoder weights; NULL: facet_language_models_dir()/minilm.safetensors (scripts/setup.sh
     * makes it) or clip_text.safetensors (tools/convert_clip_text.py of the CLIP model the
     * LiveScene checkpoint was trained with: OpenCLIP ViT-B-16 laion2b_s34b_b88k). */
    const char *weights;
    const char *merges;         /* CLIP merges file; NULL: beside the weights or in models/ */
    const char *context_object; /* what "it" refers to */
    int cuda;
} facet_control_options;

/* The encoder weights `options` selects (an allocation). */
char *facet_control_weights_path(const facet_control_options *options);

/* Grounds `text` on `scene` and applies the result when its outcome is APPLIED. */
facet_status facet_control(facet_scene *scene, const char *text,
                           const facet_control_options *options, facet_ground_result *result);

/* The result as `facet control` prints it (docs/formats.md, "Language control"): mode, command,
 * outcome, message, actions (kappa to 6 decimals, scores to 4) and, unless applied, candidates.
 * A cJSON_Print allocation (free()), or NULL with the error set. */
char *facet_ground_result_json(const char *text, const facet_ground_result *r);

#ifdef __cplusplus
}
#endif
#endif
