/* Grounding language commands to the scene's objects and their kappa.
 *
 * Two modes:
 * - facet (default): free-form English. A command splits into clauses at "and", "then", commas
 *   and semicolons; a clause without a verb takes the previous clause's ("open the drawer and the
 *   door"). In each clause an explicit grammar (language/command_grammar.h) reads the amount
 *   (numbers, percentages, fractions, "halfway", "all the way", relative changes such as "a bit
 *   more"), the verb phrase is the clause's first word plus its particles ("pull ... out"), and
 *   the rest names the object. The verb's direction (open or close) is the state anchor phrase it
 *   is most similar to under the text encoder; the object is the one whose name or description
 *   (scene file "descriptions") is most similar to the object words. Below a similarity of
 *   FACET_GROUND_MIN_SCORE no object matches; within FACET_GROUND_MARGIN of the runner-up the
 *   command is ambiguous. Either way nothing changes and the candidates are listed.
 * - livescene: the official LiveScene controller (livescene_controller.py get_atrb_vals), for
 *   weights carrying language features (fields/livescene_format.md, "Language"), with a CLIP text
 *   encoder: the prompt must match ^(open|close) (.*); the object phrase's CLIP embedding is
 *   scored against every training frame's per-object embedding LERF-style with the negatives
 *   "object", "things", "stuff", "texture" (softmax(10 [cos_pos, cos_neg]) per negative, the
 *   negative giving the lowest positive probability decides); frames where some object scores
 *   >= 0.5 vote for their best object; with at least 10 votes the most voted object's kappa
 *   becomes 1 (open) or 0 (close). Upstream runs the CLIP model and this scoring in fp16: the
 *   field embeddings, the text embeddings, the cosines, 10 x cosine and the softmax output are
 *   rounded to fp16 here at the same points (the text tower itself runs in fp32). */
#ifndef FACET_LANGUAGE_GROUNDING_H
#define FACET_LANGUAGE_GROUNDING_H

#include "text_encoder.h"

#include "core/status.h"
#include "render/scene.h"

#ifdef __cplusplus
extern "C" {
#endif

/* facet mode: least object similarity that matches. With MiniLM, words that name an object (its
 * name, a synonym, a part of its description) score >= 0.75 on the command table, other
 * household objects ("window" for a door, "fridge") <= 0.55: the threshold sits between. */
#define FACET_GROUND_MIN_SCORE 0.6f
#define FACET_GROUND_MARGIN 0.04f /* facet mode: least lead over the runner-up */

enum {
    FACET_GROUND_MAX_ACTIONS = 16,
    FACET_GROUND_MAX_CANDIDATES = 32,
    FACET_LIVESCENE_MIN_VOTES = 10, /* livescene_controller.py: pos_prob.shape[0] >= 10 */
};

typedef enum facet_ground_mode {
    FACET_GROUND_FACET = 0,
    FACET_GROUND_LIVESCENE = 1,
} facet_ground_mode;

typedef enum facet_ground_outcome {
    FACET_GROUND_APPLIED = 0,        /* actions hold the changes */
    FACET_GROUND_NO_MATCH = 1,       /* no object is named closely enough */
    FACET_GROUND_AMBIGUOUS = 2,      /* two or more objects match about equally */
    FACET_GROUND_NOT_UNDERSTOOD = 3, /* no target state could be read (or livescene: no verb) */
} facet_ground_outcome;

typedef struct facet_ground_action {
    char object[128];
    float kappa_from, kappa_to;
    float score; /* facet: object similarity; livescene: the winner's share of the votes */
} facet_ground_action;

typedef struct facet_ground_candidate {
    char object[128];
    float score; /* facet: similarity to the object words; livescene: votes / voting frames */
} facet_ground_candidate;

typedef struct facet_ground_result {
    facet_ground_mode mode;
    facet_ground_outcome outcome;
    char message[512]; /* what was understood, or why nothing changes */
    int action_count;
    facet_ground_action actions[FACET_GROUND_MAX_ACTIONS];
    int candidate_count; /* for NO_MATCH / AMBIGUOUS: every object, best first */
    facet_ground_candidate candidates[FACET_GROUND_MAX_CANDIDATES];
} facet_ground_result;

typedef struct facet_ground_options {
    facet_ground_mode mode;
    int cuda;                   /* run the encoder on the GPU */
    const char *context_object; /* what "it" refers to (the last object changed), or NULL */
} facet_ground_options;

/* Grounds `text` on the scene's current state. Fills `result` and changes nothing; a result whose
 * outcome is not APPLIED is an answer, not an error (the return value is FACET_OK). Errors:
 * encoder failures, a scene without objects, livescene mode without language features or with
 * an encoder of another width. */
facet_status facet_ground_command(facet_text_encoder *encoder, const facet_scene *scene,
                                  const char *text, const facet_ground_options *options,
                                  facet_ground_result *result);

/* Sets the kappa of every action of an APPLIED result. */
facet_status facet_ground_apply(facet_scene *scene, const facet_ground_result *result);

/* The official LiveScene vote on plain arrays (what facet_ground_command's livescene mode runs):
 * field[rows * objects][dim] are the per-frame per-object embeddings (frame-major), text[dim] the
 * object phrase's embedding, negatives[4][dim] those of the canonical negatives (none need be
 * normalised). Writes each row's positive probability to pos_prob[rows * objects] (may be NULL)
 * and returns the winning object, or -1 when fewer than FACET_LIVESCENE_MIN_VOTES frames vote;
 * *votes receives the number of voting frames and winner_votes[objects] (may be NULL) the votes
 * per object. */
int facet_livescene_vote(const float *field, int rows, int objects, int dim, const float *text,
                         const float *negatives, float *pos_prob, int *votes, int *winner_votes);

/* The canonical negatives of the official controller. */
extern const char *const facet_livescene_negatives[4];

#ifdef __cplusplus
}
#endif
#endif
