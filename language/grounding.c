/* Grounding commands to objects and kappa (language/grounding.h). */
#include "grounding.h"

#include "command_grammar.h"

#include "core/alloc.h"
#include "core/half.h"
#include "nodes/livescene_node.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const facet_livescene_negatives[4] = {"object", "things", "stuff", "texture"};

/* State anchor phrases: a verb phrase's direction is the class of its most similar anchor. */
static const char *const OPEN_ANCHORS[] = {"open",       "open up",    "pull out", "slide out",
                                           "slide open", "swing open", "extend",   NULL};
static const char *const CLOSE_ANCHORS[] = {"close",      "shut",       "push in", "slide in",
                                            "slide shut", "swing shut", "retract", NULL};

typedef struct object_ref {
    const facet_node *node;
    int index;
} object_ref;

typedef struct grounder {
    facet_text_encoder *encoder;
    const facet_scene *scene;
    const facet_ground_options *options;
    int count;
    object_ref *objects;
    float *name_embed, *desc_embed; /* [count][dim]; desc rows unused when there is none */
    int dim;
} grounder;

static facet_status embed(grounder *g, const char *text, float *out) {
    facet_status s = facet_text_encoder_encode(g->encoder, text, g->options->cuda, out);
    if (s != FACET_OK) return facet_error_context("encoding '%s'", text);
    double norm = 0;
    for (int i = 0; i < g->dim; i++) norm += (double)out[i] * out[i];
    norm = sqrt(norm);
    for (int i = 0; i < g->dim && norm > 0; i++) out[i] = (float)(out[i] / norm);
    return FACET_OK;
}

static float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static const char *object_name(const grounder *g, int i) {
    return g->objects[i].node->object_names[g->objects[i].index];
}

static float object_kappa(const grounder *g, int i) {
    return g->objects[i].node->kappa[g->objects[i].index];
}

static const char *object_description(const grounder *g, int i) {
    const facet_node *n = g->objects[i].node;
    return n->object_descriptions ? n->object_descriptions[g->objects[i].index] : NULL;
}

/* Object names as words: "top_drawer" -> "top drawer". */
static void name_words(const char *name, char *out, size_t size) {
    snprintf(out, size, "%s", name);
    for (char *p = out; *p; p++)
        if (*p == '_' || *p == '-') *p = ' ';
}

static facet_status grounder_init(grounder *g, facet_text_encoder *encoder,
                                  const facet_scene *scene, const facet_ground_options *options) {
    memset(g, 0, sizeof *g);
    g->encoder = encoder;
    g->scene = scene;
    g->options = options;
    g->dim = encoder->config.embed_dim;
    g->count = facet_scene_object_count(scene);
    if (g->count == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "%s: the scene has no controllable objects to ground commands on",
                          scene->path ? scene->path : "scene");
    g->objects = facet_alloc((size_t)g->count, sizeof *g->objects);
    if (!g->objects) return facet_last_status();
    int k = 0;
    for (int n = 0; n < scene->node_count; n++)
        for (int i = 0; i < scene->nodes[n].object_count; i++)
            g->objects[k++] = (object_ref){&scene->nodes[n], i};
    return FACET_OK;
}

static void grounder_free(grounder *g) {
    free(g->objects);
    free(g->name_embed);
    free(g->desc_embed);
}

static void set_message(facet_ground_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_message(facet_ground_result *r, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, args);
    va_end(args);
}

/* ---- facet mode ----------------------------------------------------------------------------- */

static facet_status embed_objects(grounder *g) {
    g->name_embed = facet_alloc((size_t)g->count * g->dim, sizeof(float));
    g->desc_embed = facet_alloc((size_t)g->count * g->dim, sizeof(float));
    if (!g->name_embed || !g->desc_embed) return facet_last_status();
    facet_status s = FACET_OK;
    for (int i = 0; i < g->count && s == FACET_OK; i++) {
        char words[256];
        name_words(object_name(g, i), words, sizeof words);
        s = embed(g, words, g->name_embed + (size_t)i * g->dim);
        const char *desc = object_description(g, i);
        if (s == FACET_OK && desc) s = embed(g, desc, g->desc_embed + (size_t)i * g->dim);
    }
    return s;
}

/* +1 when the verb phrase is closer to an opening anchor, -1 to a closing one. */
static facet_status verb_direction(grounder *g, const char *verb, int *direction) {
    float *v = facet_alloc((size_t)g->dim * 2, sizeof *v);
    if (!v) return facet_last_status();
    float *a = v + g->dim;
    facet_status s = embed(g, verb, v);
    float best[2] = {-2.0f, -2.0f};
    const char *const *sets[2] = {OPEN_ANCHORS, CLOSE_ANCHORS};
    for (int k = 0; k < 2 && s == FACET_OK; k++)
        for (int i = 0; sets[k][i] && s == FACET_OK; i++) {
            s = embed(g, sets[k][i], a);
            if (s == FACET_OK) best[k] = fmaxf(best[k], dot(v, a, g->dim));
        }
    free(v);
    *direction = best[0] >= best[1] ? 1 : -1;
    return s;
}

static int compare_candidates(const void *a, const void *b) {
    float x = ((const facet_ground_candidate *)a)->score;
    float y = ((const facet_ground_candidate *)b)->score;
    return (x < y) - (x > y);
}

/* Scores every object against the object words; fills result->candidates best first. */
static facet_status score_objects(grounder *g, const char *words, facet_ground_result *r) {
    float *w = facet_alloc((size_t)g->dim, sizeof *w);
    if (!w) return facet_last_status();
    facet_status s = embed(g, words, w);
    r->candidate_count = 0;
    for (int i = 0; s == FACET_OK && i < g->count && i < FACET_GROUND_MAX_CANDIDATES; i++) {
        float score = dot(w, g->name_embed + (size_t)i * g->dim, g->dim);
        if (object_description(g, i))
            score = fmaxf(score, dot(w, g->desc_embed + (size_t)i * g->dim, g->dim));
        facet_ground_candidate *c = &r->candidates[r->candidate_count++];
        snprintf(c->object, sizeof c->object, "%s", object_name(g, i));
        c->score = score;
    }
    free(w);
    qsort(r->candidates, (size_t)r->candidate_count, sizeof *r->candidates, compare_candidates);
    return s;
}

static int find_object(const grounder *g, const char *name) {
    for (int i = 0; i < g->count; i++)
        if (!strcmp(object_name(g, i), name)) return i;
    return -1;
}

static void list_all_candidates(const grounder *g, facet_ground_result *r) {
    r->candidate_count = 0;
    for (int i = 0; i < g->count && i < FACET_GROUND_MAX_CANDIDATES; i++) {
        facet_ground_candidate *c = &r->candidates[r->candidate_count++];
        snprintf(c->object, sizeof c->object, "%s", object_name(g, i));
        c->score = 0.0f;
    }
}

static float clamp01(float x) {
    return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
}

/* The kappa a clause sets, from the current kappa: 0 when understood, else 1. */
static int clause_target(const facet_command_clause *c, int direction, float from, float *to) {
    switch (c->amount) {
    case FACET_AMOUNT_ABSOLUTE:
        *to = clamp01(c->bare && direction < 0 ? 1.0f - c->value : c->value);
        return 0;
    case FACET_AMOUNT_RELATIVE:
        if (!direction) return 1;
        *to = clamp01(from + (c->less ? -1.0f : 1.0f) * (float)direction * c->value);
        return 0;
    case FACET_AMOUNT_FULL:
    case FACET_AMOUNT_NONE:
        if (!direction) return 1;
        *to = direction > 0 ? 1.0f : 0.0f;
        return 0;
    }
    return 1;
}

/* Adds (or replaces) the action for object i. */
static void add_action(const grounder *g, facet_ground_result *r, int i, float to, float score) {
    facet_ground_action *a = NULL;
    for (int k = 0; k < r->action_count; k++)
        if (!strcmp(r->actions[k].object, object_name(g, i))) a = &r->actions[k];
    if (!a && r->action_count < FACET_GROUND_MAX_ACTIONS) {
        a = &r->actions[r->action_count++];
        snprintf(a->object, sizeof a->object, "%s", object_name(g, i));
        a->kappa_from = object_kappa(g, i);
    }
    if (!a) return;
    a->kappa_to = to;
    a->score = score;
}

static facet_status ground_facet(grounder *g, const char *text, facet_ground_result *r) {
    facet_command_clause clauses[FACET_COMMAND_MAX_CLAUSES];
    int count = 0;
    facet_status s = facet_command_parse(text, clauses, &count);
    if (s == FACET_OK) s = embed_objects(g);
    if (s != FACET_OK) return s;
    if (count == 0) {
        r->outcome = FACET_GROUND_NOT_UNDERSTOOD;
        set_message(r, "no command in '%s'", text);
        return FACET_OK;
    }
    int context = g->options->context_object ? find_object(g, g->options->context_object) : -1;
    for (int k = 0; k < count; k++) {
        const facet_command_clause *c = &clauses[k];
        int direction = c->state;
        if (c->verb[0] && !c->neutral) s = verb_direction(g, c->verb, &direction);
        if (s != FACET_OK) return s;
        /* which objects */
        int targets[FACET_GROUND_MAX_CANDIDATES], target_count = 0;
        float score = 1.0f;
        if (c->all_objects) {
            for (int i = 0; i < g->count && i < FACET_GROUND_MAX_CANDIDATES; i++)
                targets[target_count++] = i;
        } else if (c->pronoun || !c->object[0]) {
            int i = context >= 0 ? context : g->count == 1 ? 0 : -1;
            if (i < 0) {
                r->outcome = FACET_GROUND_AMBIGUOUS;
                list_all_candidates(g, r);
                set_message(r, "'%s' does not say which object: name one", text);
                r->action_count = 0;
                return FACET_OK;
            }
            targets[target_count++] = i;
        } else {
            s = score_objects(g, c->object, r);
            if (s != FACET_OK) return s;
            const facet_ground_candidate *best = &r->candidates[0];
            float second = r->candidate_count > 1 ? r->candidates[1].score : -1.0f;
            if (best->score < FACET_GROUND_MIN_SCORE ||
                best->score - second < FACET_GROUND_MARGIN) {
                int none = best->score < FACET_GROUND_MIN_SCORE;
                r->outcome = none ? FACET_GROUND_NO_MATCH : FACET_GROUND_AMBIGUOUS;
                if (none)
                    set_message(r, "no object matches '%s' (best: %s, %.2f)", c->object,
                                best->object, best->score);
                else
                    set_message(r, "'%s' matches more than one object (%s %.2f, %s %.2f)",
                                c->object, best->object, best->score, r->candidates[1].object,
                                second);
                r->action_count = 0;
                return FACET_OK;
            }
            score = best->score;
            targets[target_count++] = find_object(g, best->object);
        }
        for (int t = 0; t < target_count; t++) {
            int i = targets[t];
            float from = object_kappa(g, i), to = 0.0f;
            for (int a = 0; a < r->action_count; a++) /* an earlier clause's change counts */
                if (!strcmp(r->actions[a].object, object_name(g, i))) from = r->actions[a].kappa_to;
            if (clause_target(c, direction, from, &to)) {
                r->outcome = FACET_GROUND_NOT_UNDERSTOOD;
                r->action_count = 0;
                r->candidate_count = 0;
                set_message(r, "no target state in '%s' (say open, close, or a number)", text);
                return FACET_OK;
            }
            add_action(g, r, i, to, score);
            context = i;
        }
    }
    r->outcome = FACET_GROUND_APPLIED;
    r->candidate_count = 0;
    set_message(r, "%d object%s", r->action_count, r->action_count == 1 ? "" : "s");
    return FACET_OK;
}

/* ---- livescene mode ------------------------------------------------------------------------- */

static float half(float x) {
    return facet_f16_to_f32(facet_f32_to_f16(x));
}

/* x / |x| in fp32, then rounded to fp16 (the official field embeddings). */
static void normalize_to_half(const float *x, int n, float *out) {
    float norm = 0.0f;
    for (int i = 0; i < n; i++) norm += x[i] * x[i];
    norm = sqrtf(norm);
    for (int i = 0; i < n; i++) out[i] = half(x[i] / norm);
}

/* The fp16 model's text embedding normalised in fp16: h = fp16(x), |h| in fp16, h / |h| in fp16. */
static void normalize_in_half(const float *x, int n, float *out) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        out[i] = half(x[i]);
        sum += (double)out[i] * out[i];
    }
    float norm = half((float)sqrt(sum));
    for (int i = 0; i < n; i++) out[i] = half(out[i] / norm);
}

static float dot_half(const float *a, const float *b, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return half((float)s);
}

int facet_livescene_vote(const float *field, int rows, int objects, int dim, const float *text,
                         const float *negatives, float *pos_prob, int *votes, int *winner_votes) {
    float *buf = facet_alloc((size_t)dim * 6, sizeof *buf);
    int *count = facet_alloc_zeroed((size_t)objects + 1, sizeof *count);
    if (!buf || !count) {
        free(buf);
        free(count);
        *votes = 0;
        return -1;
    }
    float *pos = buf, *neg = buf + dim, *row = buf + 5 * (size_t)dim;
    normalize_in_half(text, dim, pos);
    for (int j = 0; j < 4; j++)
        normalize_in_half(negatives + (size_t)j * dim, dim, neg + (size_t)j * dim);
    int voting = 0;
    for (int r = 0; r < rows; r++) {
        int best = -1;
        float best_p = 0.0f;
        int any = 0;
        for (int o = 0; o < objects; o++) {
            normalize_to_half(field + ((size_t)r * objects + o) * dim, dim, row);
            float p = half(10.0f * dot_half(row, pos, dim));
            float prob = 2.0f; /* min over negatives of softmax(10 [cos_pos, cos_neg])[0] */
            for (int j = 0; j < 4; j++) {
                float n = half(10.0f * dot_half(row, neg + (size_t)j * dim, dim));
                float m = fmaxf(p, n), ep = expf(p - m), en = expf(n - m);
                float q = half(ep / (ep + en));
                if (q < prob) prob = q;
            }
            if (pos_prob) pos_prob[(size_t)r * objects + o] = prob;
            if (prob >= 0.5f) any = 1;
            if (best < 0 || prob > best_p) {
                best = o;
                best_p = prob;
            }
        }
        if (any) {
            voting++;
            count[best]++;
        }
    }
    int winner = -1;
    for (int o = 0; o < objects; o++)
        if (winner < 0 || count[o] > count[winner]) winner = o;
    if (winner_votes) memcpy(winner_votes, count, (size_t)objects * sizeof *count);
    *votes = voting;
    free(buf);
    free(count);
    return voting >= FACET_LIVESCENE_MIN_VOTES ? winner : -1;
}

/* The official ^(open|close) (.*) on the raw prompt: 1 open, 0 close, -1 no match; the object
 * phrase (up to the first line break) into obj. */
static int livescene_prompt(const char *text, char *obj, size_t size) {
    int open = !strncmp(text, "open ", 5);
    if (!open && strncmp(text, "close ", 6)) return -1;
    const char *start = text + (open ? 5 : 6);
    size_t n = strcspn(start, "\n");
    if (n >= size) n = size - 1;
    memcpy(obj, start, n);
    obj[n] = '\0';
    return open;
}

/* The field embeddings of one node: rows = frame ids (or the grid vertices), objects inner. */
static float *node_field_embeddings(const facet_livescene_model *m, int *rows_out) {
    const int R = m->language_rows, D = m->language_dim, objects = m->field.objects;
    const int rows = m->language_frame_count ? m->language_frame_count : R;
    float *field = facet_alloc((size_t)rows * objects * D, sizeof *field);
    if (!field) return NULL;
    for (int r = 0; r < rows; r++) {
        /* LiveSceneEncoding: coords = res * id (res = R - 1), lerp between floor and ceil rows */
        float id = m->language_frame_count ? m->language_frame_ids[r] : (float)r / (float)(R - 1);
        float coords = (float)(R - 1) * id;
        int lo = (int)floorf(coords), hi = (int)ceilf(coords);
        float factor = coords - (float)lo;
        for (int o = 0; o < objects; o++) {
            const float *grid = m->semantic_mapping[o]; /* [D][R] */
            float *out = field + ((size_t)r * objects + o) * D;
            for (int c = 0; c < D; c++) {
                float a = (1.0f - factor) * grid[(size_t)c * R + lo];
                float b = factor * grid[(size_t)c * R + hi];
                out[c] = a + b;
            }
        }
    }
    *rows_out = rows;
    return field;
}

static facet_status ground_livescene(grounder *g, const char *text, facet_ground_result *r) {
    char obj[1024];
    int open = livescene_prompt(text, obj, sizeof obj);
    int nodes = 0;
    for (int n = 0; n < g->scene->node_count; n++) {
        const facet_node *node = &g->scene->nodes[n];
        const facet_livescene_model *m = facet_livescene_node_model(node);
        if (!m || !m->language_rows) continue;
        nodes++;
        if (m->language_dim != g->dim)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "node '%s': its language features are %d-wide, the encoder's "
                              "embeddings %d-wide (livescene mode needs the CLIP text encoder "
                              "the model was trained with)",
                              node->name, m->language_dim, g->dim);
    }
    if (!nodes)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "livescene mode needs LiveScene weights with language features "
                          "(language.semantic_mapping.*, from a checkpoint trained with "
                          "train_with_lang=True); use --mode facet");
    if (open < 0) {
        r->outcome = FACET_GROUND_NOT_UNDERSTOOD;
        set_message(r, "the official controller only understands '^(open|close) (.*)'");
        return FACET_OK;
    }
    const int D = g->dim;
    float *phrases = facet_alloc((size_t)5 * D, sizeof *phrases);
    if (!phrases) return facet_last_status();
    facet_status s = facet_text_encoder_encode(g->encoder, obj, g->options->cuda, phrases);
    for (int j = 0; j < 4 && s == FACET_OK; j++)
        s = facet_text_encoder_encode(g->encoder, facet_livescene_negatives[j], g->options->cuda,
                                      phrases + (size_t)(j + 1) * D);
    r->outcome = FACET_GROUND_NO_MATCH;
    for (int n = 0; s == FACET_OK && n < g->scene->node_count; n++) {
        const facet_node *node = &g->scene->nodes[n];
        const facet_livescene_model *m = facet_livescene_node_model(node);
        if (!m || !m->language_rows) continue;
        int rows = 0, votes = 0, per_object[FACET_LIVESCENE_MAX_OBJECTS];
        float *field = node_field_embeddings(m, &rows);
        if (!field) {
            s = facet_last_status();
            break;
        }
        int winner = facet_livescene_vote(field, rows, m->field.objects, D, phrases, phrases + D,
                                          NULL, &votes, per_object);
        free(field);
        r->candidate_count = 0;
        for (int o = 0; o < m->field.objects && o < FACET_GROUND_MAX_CANDIDATES; o++) {
            facet_ground_candidate *c = &r->candidates[r->candidate_count++];
            snprintf(c->object, sizeof c->object, "%s", node->object_names[o]);
            c->score = votes ? (float)per_object[o] / (float)votes : 0.0f;
        }
        qsort(r->candidates, (size_t)r->candidate_count, sizeof *r->candidates, compare_candidates);
        if (winner < 0) {
            set_message(r, "'%s': %d frames vote (the official rule needs %d)", obj, votes,
                        FACET_LIVESCENE_MIN_VOTES);
            continue;
        }
        facet_ground_action *a = &r->actions[r->action_count++];
        snprintf(a->object, sizeof a->object, "%s", node->object_names[winner]);
        a->kappa_from = node->kappa[winner];
        a->kappa_to = open ? 1.0f : 0.0f;
        a->score = (float)per_object[winner] / (float)votes;
        r->outcome = FACET_GROUND_APPLIED;
        r->candidate_count = 0;
        set_message(r, "'%s': %d of %d voting frames", obj, per_object[winner], votes);
        if (r->action_count == FACET_GROUND_MAX_ACTIONS) break;
    }
    free(phrases);
    return s;
}

/* ---- public --------------------------------------------------------------------------------- */

facet_status facet_ground_command(facet_text_encoder *encoder, const facet_scene *scene,
                                  const char *text, const facet_ground_options *options,
                                  facet_ground_result *result) {
    static const facet_ground_options defaults = {FACET_GROUND_FACET, 0, NULL};
    if (!options) options = &defaults;
    memset(result, 0, sizeof *result);
    result->mode = options->mode;
    grounder g;
    facet_status s = grounder_init(&g, encoder, scene, options);
    if (s == FACET_OK)
        s = options->mode == FACET_GROUND_LIVESCENE ? ground_livescene(&g, text, result)
                                                    : ground_facet(&g, text, result);
    grounder_free(&g);
    if (s != FACET_OK) {
        facet_status keep = s;
        memset(result, 0, sizeof *result);
        return keep;
    }
    return FACET_OK;
}

facet_status facet_ground_apply(facet_scene *scene, const facet_ground_result *result) {
    if (result->outcome != FACET_GROUND_APPLIED) return FACET_OK;
    for (int i = 0; i < result->action_count; i++) {
        facet_status s =
            facet_scene_set_kappa(scene, result->actions[i].object, result->actions[i].kappa_to);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}
