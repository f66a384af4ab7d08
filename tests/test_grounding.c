/* language/: grounding commands to objects and kappa. The facet-mode grammar, the command table
 * tests/fixtures/language/commands.tsv with MiniLM (accuracy printed, every miss listed), the
 * no-match / ambiguous answers, the official LiveScene vote against a Python reimplementation of
 * the official controller (tools/reference/language_livescene_fixtures.py), LiveScene mode end to
 * end on weights with language features, and `facet control`. */
#include "helpers.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/safetensors.h"
#include "fields/livescene.h"
#include "language/command_grammar.h"
#include "language/grounding.h"
#include "nodes/builtin.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *models_file(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/models/%s", FACET_SOURCE_DIR, name);
    return path;
}

static void load_scene(facet_scene *scene, const char *relative) {
    cr_assert_eq(facet_register_builtin_node_kinds(), FACET_OK);
    cr_assert_eq(facet_scene_load(scene, test_source_path(relative)), FACET_OK, "%s",
                 facet_last_error());
}

static void load_minilm(facet_text_encoder *e) {
    cr_assert_eq(facet_text_encoder_load(e, models_file("minilm.safetensors"), NULL), FACET_OK,
                 "%s (scripts/setup.sh converts it)", facet_last_error());
}

/* ---- the grammar ---------------------------------------------------------------------------- */

static facet_command_clause parse_one(const char *text) {
    facet_command_clause c[FACET_COMMAND_MAX_CLAUSES];
    int n = 0;
    cr_assert_eq(facet_command_parse(text, c, &n), FACET_OK);
    cr_assert_eq(n, 1, "'%s': one clause, got %d", text, n);
    return c[0];
}

Test(grammar, verb_phrase_takes_the_closing_particles) {
    facet_command_clause c = parse_one("pull the drawer all the way out");
    cr_expect_str_eq(c.verb, "pull out");
    cr_expect_str_eq(c.object, "drawer");
    cr_expect_eq(c.amount, FACET_AMOUNT_FULL);
}

Test(grammar, percentages_and_number_words_are_fractions_of_one) {
    facet_command_clause c = parse_one("set the drawer to 30%");
    cr_expect_eq(c.amount, FACET_AMOUNT_ABSOLUTE);
    cr_expect_float_eq(c.value, 0.3f, 1e-6);
    cr_expect(!c.bare, "'to' makes the amount explicit");
    cr_expect(c.neutral);
    c = parse_one("open the drawer seventy five per cent");
    cr_expect_float_eq(c.value, 0.75f, 1e-6);
    cr_expect(c.bare, "no 'to': the state the verb reaches");
    c = parse_one("set door to 0.25");
    cr_expect_float_eq(c.value, 0.25f, 1e-6);
    c = parse_one("close the door to 1/2");
    cr_expect_float_eq(c.value, 0.5f, 1e-6);
}

Test(grammar, fractions_and_halfway) {
    facet_command_clause c = parse_one("open the door halfway");
    cr_expect_eq(c.amount, FACET_AMOUNT_ABSOLUTE);
    cr_expect_float_eq(c.value, 0.5f, 1e-6);
    c = parse_one("open the drawer three quarters of the way");
    cr_expect_float_eq(c.value, 0.75f, 1e-6);
    cr_expect_str_eq(c.object, "drawer");
}

Test(grammar, relative_changes_have_sizes_and_directions) {
    facet_command_clause c = parse_one("close it a bit more");
    cr_expect_eq(c.amount, FACET_AMOUNT_RELATIVE);
    cr_expect_float_eq(c.value, 0.1f, 1e-6);
    cr_expect(c.pronoun);
    c = parse_one("open the drawer more");
    cr_expect_float_eq(c.value, 0.2f, 1e-6);
    c = parse_one("open the door a touch less");
    cr_expect(c.less);
    c = parse_one("close the door by 30 percent");
    cr_expect_eq(c.amount, FACET_AMOUNT_RELATIVE);
    cr_expect_float_eq(c.value, 0.3f, 1e-6);
}

Test(grammar, a_clause_without_a_verb_takes_the_previous_one) {
    facet_command_clause c[FACET_COMMAND_MAX_CLAUSES];
    int n = 0;
    cr_assert_eq(facet_command_parse("open the drawer halfway and the door", c, &n), FACET_OK);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(c[1].verb, "open");
    cr_expect(c[1].inherited);
    cr_expect_eq(c[1].amount, FACET_AMOUNT_ABSOLUTE, "the amount comes along");
    cr_expect_str_eq(c[1].object, "door");
    cr_assert_eq(facet_command_parse("open the drawer, close the door; please", c, &n), FACET_OK);
    cr_expect_eq(n, 2, "commas split clauses; a clause of fillers is dropped");
}

Test(grammar, neutral_verbs_take_the_state_word) {
    facet_command_clause c = parse_one("make the door closed");
    cr_expect(c.neutral);
    cr_expect_eq(c.state, -1);
    cr_expect_str_eq(c.object, "door");
    c = parse_one("set the door to open");
    cr_expect_eq(c.state, 1);
    c = parse_one("close both");
    cr_expect(c.all_objects);
}

/* ---- the command table ---------------------------------------------------------------------- */

typedef struct expectation {
    char object[64];
    float kappa;
} expectation;

/* "drawer=1,door=0" -> entries; "none" -> 0 entries. */
static int parse_expected(const char *text, expectation *out, int max) {
    if (!strcmp(text, "none")) return 0;
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max;
         t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        cr_assert(eq, "bad expectation '%s'", text);
        *eq = '\0';
        snprintf(out[n].object, sizeof out[n].object, "%s", t);
        out[n].kappa = strtof(eq + 1, NULL);
        n++;
    }
    return n;
}

/* Does the result do exactly what `want` says (none: change nothing)? */
static int result_matches(const facet_scene *scene, const facet_ground_result *r,
                          const expectation *want, int n) {
    if (n == 0) return r->outcome != FACET_GROUND_APPLIED;
    if (r->outcome != FACET_GROUND_APPLIED) return 0;
    for (int i = 0; i < scene->nodes[0].object_count; i++) {
        const char *name = scene->nodes[0].object_names[i];
        float now = scene->nodes[0].kappa[i], after = now, expected = now;
        for (int a = 0; a < r->action_count; a++)
            if (!strcmp(r->actions[a].object, name)) after = r->actions[a].kappa_to;
        for (int k = 0; k < n; k++)
            if (!strcmp(want[k].object, name)) expected = want[k].kappa;
        if (fabsf(after - expected) > 1e-3f) return 0;
    }
    return 1;
}

static void describe(const facet_ground_result *r, char *out, size_t size) {
    size_t used = (size_t)snprintf(out, size, "%s:",
                                   r->outcome == FACET_GROUND_APPLIED     ? "applied"
                                   : r->outcome == FACET_GROUND_NO_MATCH  ? "no match"
                                   : r->outcome == FACET_GROUND_AMBIGUOUS ? "ambiguous"
                                                                          : "not understood");
    for (int a = 0; a < r->action_count && used < size; a++)
        used += (size_t)snprintf(out + used, size - used, " %s=%.3g", r->actions[a].object,
                                 r->actions[a].kappa_to);
    for (int c = 0; c < r->candidate_count && used < size; c++)
        used += (size_t)snprintf(out + used, size - used, " [%s %.2f]", r->candidates[c].object,
                                 r->candidates[c].score);
}

Test(commands, table_accuracy_with_minilm, .timeout = 240) {
    facet_scene scene;
    load_scene(&scene, "tests/fixtures/language/scene.json");
    facet_text_encoder e;
    load_minilm(&e);
    char *table = NULL;
    size_t size = 0;
    cr_assert_eq(
        facet_read_file(test_source_path("tests/fixtures/language/commands.tsv"), &table, &size),
        FACET_OK);
    int total = 0, correct = 0;
    char misses[8192] = "";
    for (char *save = NULL, *line = strtok_r(table, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *command = line, *expected = strchr(line, '\t');
        cr_assert(expected, "a tab after the command: '%s'", line);
        *expected++ = '\0';
        char *context = strchr(expected, '\t');
        if (context) *context++ = '\0';
        expectation want[8];
        int n = parse_expected(expected, want, 8);
        facet_ground_options options = {FACET_GROUND_FACET, 0,
                                        context && *context ? context : NULL};
        facet_ground_result r;
        cr_assert_eq(facet_ground_command(&e, &scene, command, &options, &r), FACET_OK, "%s",
                     facet_last_error());
        total++;
        char got[512];
        describe(&r, got, sizeof got);
        if (result_matches(&scene, &r, want, n)) {
            correct++;
        } else {
            size_t used = strlen(misses);
            snprintf(misses + used, sizeof misses - used, "  MISS \"%s\": expected %s, got %s\n",
                     command, expected, got);
        }
    }
    printf("facet-mode command table: %d of %d correct (%.1f%%)\n%s", correct, total,
           100.0 * correct / total, misses);
    cr_expect_geq(total, 60, "at least 60 commands");
    cr_expect_geq(correct * 100, total * 90, "accuracy below 90%%:\n%s", misses);
    free(table);
    facet_text_encoder_free(&e);
    facet_scene_free(&scene);
}

Test(commands, unknown_object_is_no_match_with_candidates_and_changes_nothing) {
    facet_scene scene;
    load_scene(&scene, "tests/fixtures/language/scene.json");
    facet_text_encoder e;
    load_minilm(&e);
    facet_ground_result r;
    cr_assert_eq(facet_ground_command(&e, &scene, "open the fridge", NULL, &r), FACET_OK);
    cr_expect_eq(r.outcome, FACET_GROUND_NO_MATCH);
    cr_expect_eq(r.action_count, 0);
    cr_expect_eq(r.candidate_count, 2, "every object listed");
    cr_expect_geq(r.candidates[0].score, r.candidates[1].score, "best first");
    cr_expect(strstr(r.message, "no object matches 'fridge'"), "%s", r.message);
    cr_assert_eq(facet_ground_apply(&scene, &r), FACET_OK);
    float kappa;
    facet_scene_get_kappa(&scene, "drawer", &kappa);
    cr_expect_float_eq(kappa, 0.25f, 0, "unchanged");
    facet_text_encoder_free(&e);
    facet_scene_free(&scene);
}

Test(commands, pronoun_without_context_is_ambiguous) {
    facet_scene scene;
    load_scene(&scene, "tests/fixtures/language/scene.json");
    facet_text_encoder e;
    load_minilm(&e);
    facet_ground_result r;
    cr_assert_eq(facet_ground_command(&e, &scene, "close it a bit more", NULL, &r), FACET_OK);
    cr_expect_eq(r.outcome, FACET_GROUND_AMBIGUOUS);
    cr_expect_eq(r.candidate_count, 2);
    cr_expect(strstr(r.message, "does not say which object"), "%s", r.message);
    facet_text_encoder_free(&e);
    facet_scene_free(&scene);
}

Test(commands, two_equally_named_objects_are_ambiguous) {
    /* the same model with both objects described as "a cabinet door" */
    const char *dir = test_scratch_dir("ground_ambiguous");
    char weights[4096], json[8192];
    snprintf(weights, sizeof weights, "%s/tests/fixtures/livescene/small.safetensors",
             FACET_SOURCE_DIR);
    snprintf(json, sizeof json,
             "{\"version\": 1, \"nodes\": [{\"type\": \"livescene\", \"name\": \"toy\", "
             "\"weights\": \"%s\", \"descriptions\": {\"drawer\": \"a cabinet door\", "
             "\"door\": \"a cabinet door\"}}]}",
             weights);
    const char *path = test_write_file(dir, "scene.json", json, 0);
    cr_assert_eq(facet_register_builtin_node_kinds(), FACET_OK);
    facet_scene scene;
    cr_assert_eq(facet_scene_load(&scene, path), FACET_OK, "%s", facet_last_error());
    facet_text_encoder e;
    load_minilm(&e);
    facet_ground_result r;
    cr_assert_eq(facet_ground_command(&e, &scene, "open the cabinet door", NULL, &r), FACET_OK);
    cr_expect_eq(r.outcome, FACET_GROUND_AMBIGUOUS);
    cr_expect_eq(r.action_count, 0);
    cr_expect(strstr(r.message, "matches more than one object"), "%s", r.message);
    facet_text_encoder_free(&e);
    facet_scene_free(&scene);
}

Test(commands, livescene_mode_without_language_features_is_an_error) {
    facet_scene scene;
    load_scene(&scene, "tests/fixtures/language/scene.json");
    facet_text_encoder e;
    load_minilm(&e);
    facet_ground_options options = {FACET_GROUND_LIVESCENE, 0, NULL};
    facet_ground_result r;
    cr_assert_eq(facet_ground_command(&e, &scene, "open drawer", &options, &r),
                 FACET_ERR_UNSUPPORTED);
    cr_expect(strstr(facet_last_error(), "livescene mode needs LiveScene weights with language "
                                         "features"),
              "%s", facet_last_error());
    facet_text_encoder_free(&e);
    facet_scene_free(&scene);
}

/* ---- LiveScene mode ------------------------------------------------------------------------- */

static const facet_tensor *get(const facet_safetensors *st, const char *name) {
    const facet_tensor *t = facet_safetensors_get(st, name);
    cr_assert(t, "%s", facet_last_error());
    return t;
}

Test(livescene, vote_matches_the_reimplemented_official_controller) {
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, test_source_path("tests/fixtures/language/"
                                                              "livescene_votes.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    for (int k = 0; k < 5; k++) {
        char name[64];
        snprintf(name, sizeof name, "%d.field", k);
        const facet_tensor *field = get(&st, name);
        snprintf(name, sizeof name, "%d.text", k);
        const facet_tensor *text = get(&st, name);
        snprintf(name, sizeof name, "%d.negatives", k);
        const facet_tensor *negatives = get(&st, name);
        snprintf(name, sizeof name, "%d.pos_prob", k);
        const facet_tensor *want_prob = get(&st, name);
        snprintf(name, sizeof name, "%d.winner", k);
        int64_t want_winner = *(const int64_t *)get(&st, name)->data;
        snprintf(name, sizeof name, "%d.votes", k);
        int64_t want_votes = *(const int64_t *)get(&st, name)->data;
        int rows = (int)field->shape[0], objects = (int)field->shape[1];
        int dim = (int)field->shape[2], votes = 0;
        float *prob = facet_alloc((size_t)rows * objects, sizeof *prob);
        int winner = facet_livescene_vote(field->data, rows, objects, dim, text->data,
                                          negatives->data, prob, &votes, NULL);
        int differing = 0;
        for (int i = 0; i < rows * objects; i++)
            differing += prob[i] != ((const float *)want_prob->data)[i];
        printf("livescene vote case %d: winner %d (reference %lld), %d voting (reference %lld), "
               "%d of %d fp16 probabilities differ\n",
               k, winner, (long long)want_winner, votes, (long long)want_votes, differing,
               rows * objects);
        cr_expect_eq(winner, want_winner, "case %d", k);
        cr_expect_eq(votes, want_votes, "case %d", k);
        cr_expect_eq(differing, 0, "case %d", k);
        free(prob);
    }
    facet_safetensors_close(&st);
}

Test(livescene, weights_carry_the_language_features) {
    facet_livescene_model m;
    cr_assert_eq(facet_livescene_load(&m,
                                      test_source_path("tests/fixtures/language/"
                                                       "livescene_lang.safetensors"),
                                      FACET_PLANE_F32),
                 FACET_OK, "%s", facet_last_error());
    cr_expect_eq(m.language_rows, 11, "20 training frames: 20 // 2 + 1 rows");
    cr_expect_eq(m.language_dim, 16);
    cr_expect_eq(m.language_frame_count, 20);
    cr_expect_float_eq(m.language_frame_ids[0], 2.0f / 40.0f, 1e-7);
    facet_livescene_free(&m);
    cr_assert_eq(facet_livescene_load(&m,
                                      test_source_path("tests/fixtures/livescene/"
                                                       "small.safetensors"),
                                      FACET_PLANE_F32),
                 FACET_OK);
    cr_expect_eq(m.language_rows, 0, "optional: absent from weights trained without language");
    facet_livescene_free(&m);
}

/* Writes livescene_lang.safetensors without `skip`, with `replace` (name, tensor) when given. */
static void write_language_variant(const char *path, const char *skip, const char *replace,
                                   const facet_tensor *with) {
    facet_safetensors in;
    cr_assert_eq(facet_safetensors_open(&in, test_source_path("tests/fixtures/language/"
                                                              "livescene_lang.safetensors")),
                 FACET_OK);
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    for (int i = 0; i < in.metadata_count; i++)
        facet_safetensors_writer_metadata(&w, in.metadata_keys[i], in.metadata_values[i]);
    for (int i = 0; i < in.count; i++) {
        if (skip && !strcmp(in.entries[i].name, skip)) continue;
        const facet_tensor *t = &in.entries[i].tensor;
        if (replace && !strcmp(in.entries[i].name, replace)) t = with;
        facet_safetensors_writer_add(&w, in.entries[i].name, t);
    }
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors_close(&in);
}

static void expect_livescene_error(const char *path, const char *message) {
    facet_livescene_model m;
    cr_assert_eq(facet_livescene_load(&m, path, FACET_PLANE_F32), FACET_ERR_FORMAT);
    cr_expect(strstr(facet_last_error(), message), "'%s' lacks '%s'", facet_last_error(), message);
}

Test(livescene, bad_language_tensors_are_rejected) {
    const char *dir = test_scratch_dir("livescene_language_bad");
    char path[4096];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    write_language_variant(path, "language.semantic_mapping.1", NULL, NULL);
    expect_livescene_error(path, "missing tensor 'language.semantic_mapping.1' (with "
                                 "language.semantic_mapping.0 present, every object needs one)");
    float wrong[12 * 16] = {0};
    facet_tensor t = {FACET_DTYPE_F32, 2, {12, 16}, wrong, FACET_MEMORY_HOST, 0};
    write_language_variant(path, NULL, "language.semantic_mapping.1", &t);
    expect_livescene_error(path, "tensor 'language.semantic_mapping.1': expected a float tensor "
                                 "[rows >= 2, dim] shaped like language.semantic_mapping.0, got "
                                 "F32 [12,16]");
    float ids[20];
    for (int i = 0; i < 20; i++) ids[i] = 0.5f;
    ids[3] = 1.5f;
    facet_tensor bad_ids = {FACET_DTYPE_F32, 1, {20}, ids, FACET_MEMORY_HOST, 0};
    write_language_variant(path, NULL, "language.frame_ids", &bad_ids);
    expect_livescene_error(path, "tensor 'language.frame_ids': entry 3 is 1.5, expected a "
                                 "normalised frame id in [0, 1]");
    write_language_variant(path, "language.semantic_mapping.0", NULL, NULL);
    expect_livescene_error(path, "tensor 'language.frame_ids' without "
                                 "language.semantic_mapping.0");
}

static void load_clip_tiny(facet_text_encoder *e) {
    cr_assert_eq(facet_text_encoder_load(e,
                                         test_source_path("tests/fixtures/language/"
                                                          "clip_tiny.safetensors"),
                                         models_file("bpe_simple_vocab_16e6.txt.gz")),
                 FACET_OK, "%s", facet_last_error());
}

Test(livescene, official_rule_end_to_end_matches_the_reference_prompts) {
    facet_scene scene;
    load_scene(&scene, "tests/fixtures/language/scene_livescene.json");
    facet_text_encoder e;
    load_clip_tiny(&e);
    facet_doc doc;
    cr_assert_eq(facet_json_load(&doc, test_source_path("tests/fixtures/language/"
                                                        "livescene_prompts.json")),
                 FACET_OK);
    const cJSON *item;
    int total = 0, agree = 0;
    cJSON_ArrayForEach(item, doc.root) {
        const char *prompt = cJSON_GetObjectItem(item, "prompt")->valuestring;
        const cJSON *object = cJSON_GetObjectItem(item, "object");
        const cJSON *kappa = cJSON_GetObjectItem(item, "kappa");
        facet_ground_options options = {FACET_GROUND_LIVESCENE, 0, NULL};
        facet_ground_result r;
        cr_assert_eq(facet_ground_command(&e, &scene, prompt, &options, &r), FACET_OK, "%s",
                     facet_last_error());
        int ok = cJSON_IsNull(object) ? r.outcome != FACET_GROUND_APPLIED
                                      : r.outcome == FACET_GROUND_APPLIED && r.action_count == 1 &&
                                            !strcmp(r.actions[0].object, object->valuestring) &&
                                            r.actions[0].kappa_to == (float)kappa->valuedouble;
        cr_expect(ok, "'%s': reference %s, got %s (%s)", prompt,
                  cJSON_IsNull(object) ? "no change" : object->valuestring,
                  r.action_count ? r.actions[0].object : "no change", r.message);
        total++;
        agree += ok;
    }
    printf("livescene mode end to end: %d of %d prompts as the reference controller\n", agree,
           total);
    facet_doc_free(&doc);
    facet_text_encoder_free(&e);
    facet_scene_free(&scene);
}

Test(livescene, encoder_width_must_match_the_features) {
    facet_scene scene;
    load_scene(&scene, "tests/fixtures/language/scene_livescene.json");
    facet_text_encoder e;
    load_minilm(&e);
    facet_ground_options options = {FACET_GROUND_LIVESCENE, 0, NULL};
    facet_ground_result r;
    cr_assert_eq(facet_ground_command(&e, &scene, "open drawer", &options, &r),
                 FACET_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(facet_last_error(), "its language features are 16-wide, the encoder's "
                                         "embeddings 384-wide"),
              "%s", facet_last_error());
    facet_text_encoder_free(&e);
    facet_scene_free(&scene);
}

/* ---- facet control ------------------------------------------------------------------------- */

static cJSON *run_control(const char *args, int *status) {
    char command[8192];
    snprintf(command, sizeof command, "cd '%s' && '%s' control %s", FACET_SOURCE_DIR,
             FACET_EXECUTABLE, args);
    FILE *p = popen(command, "r");
    cr_assert(p);
    static char out[65536];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    *status = WEXITSTATUS(pclose(p));
    return cJSON_Parse(out);
}

Test(cli, control_prints_actions_as_json) {
    int status;
    cJSON *root = run_control("tests/fixtures/language/scene.json 'open the door halfway and "
                              "close the drawer'",
                              &status);
    cr_assert_eq(status, 0);
    cr_assert(root, "JSON on stdout");
    cr_expect_str_eq(cJSON_GetObjectItem(root, "mode")->valuestring, "facet");
    const cJSON *actions = cJSON_GetObjectItem(root, "actions");
    cr_assert_eq(cJSON_GetArraySize(actions), 2);
    const cJSON *door = cJSON_GetArrayItem(actions, 0);
    cr_expect_str_eq(cJSON_GetObjectItem(door, "object")->valuestring, "door");
    cr_expect_float_eq(cJSON_GetObjectItem(door, "kappa_from")->valuedouble, 1.0, 1e-9);
    cr_expect_float_eq(cJSON_GetObjectItem(door, "kappa_to")->valuedouble, 0.5, 1e-9);
    cr_expect(cJSON_GetObjectItem(door, "score"));
    cJSON_Delete(root);
}

Test(cli, control_no_match_lists_candidates) {
    int status;
    cJSON *root = run_control("tests/fixtures/language/scene.json 'open the fridge'", &status);
    cr_assert_eq(status, 0, "an answer, not an error");
    cr_assert(root);
    cr_expect_str_eq(cJSON_GetObjectItem(root, "outcome")->valuestring, "no match");
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "actions")), 0);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "candidates")), 2);
    cJSON_Delete(root);
}

Test(cli, control_livescene_mode_with_clip_weights) {
    int status;
    cJSON *root = run_control("tests/fixtures/language/scene_livescene.json 'close door' --mode "
                              "livescene --encoder clip --weights "
                              "tests/fixtures/language/clip_tiny.safetensors",
                              &status);
    cr_assert_eq(status, 0);
    cr_assert(root);
    cr_expect_str_eq(cJSON_GetObjectItem(root, "mode")->valuestring, "livescene");
    const cJSON *actions = cJSON_GetObjectItem(root, "actions");
    cr_assert_eq(cJSON_GetArraySize(actions), 1);
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(actions, 0), "object")->valuestring,
                     "door");
    cr_expect_float_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(actions, 0), "kappa_to")->valuedouble,
                       0.0, 1e-9);
    cJSON_Delete(root);
}

Test(cli, control_usage_errors_exit_2) {
    int status;
    cJSON *root = run_control("tests/fixtures/language/scene.json 2>/dev/null", &status);
    cr_expect_eq(status, 2, "the command is missing");
    cJSON_Delete(root);
    root = run_control("tests/fixtures/language/scene.json 'open it' --mode dance 2>/dev/null",
                       &status);
    cr_expect_eq(status, 2);
    cJSON_Delete(root);
    root = run_control("tests/fixtures/language/scene.json 'open it' --encoder clip --weights "
                       "models/minilm.safetensors 2>/dev/null",
                       &status);
    cr_expect_eq(status, 1, "a MiniLM file is not a CLIP encoder");
    cJSON_Delete(root);
}

Test(cli, render_applies_a_command_before_rendering) {
    const char *dir = test_scratch_dir("render_command");
    char command[8192];
    snprintf(command, sizeof command,
             "cd '%s' && '%s' render tests/fixtures/language/scene.json --cameras "
             "tests/fixtures/livescene/dataset --split test --width 16 --height 12 --quiet --out "
             "'%s' --command 'open the door halfway' && test -f '%s/frame_00001.png'",
             FACET_SOURCE_DIR, FACET_EXECUTABLE, dir, dir);
    cr_expect_eq(test_run(command), 0);
    snprintf(command, sizeof command,
             "cd '%s' && '%s' render tests/fixtures/language/scene.json --cameras "
             "tests/fixtures/livescene/dataset --width 16 --height 12 --quiet --out '%s' "
             "--command 'open the fridge' 2>/dev/null",
             FACET_SOURCE_DIR, FACET_EXECUTABLE, dir);
    cr_expect_eq(test_run(command), 1, "a command that grounds nothing renders nothing");
}
