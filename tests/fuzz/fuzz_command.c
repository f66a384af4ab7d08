/* The command grammar of `facet control` (facet_command_parse), and the --set assignment parser
 * (facet_scene_apply_assignment) on the LiveScene fixture scene (objects drawer, door), loaded
 * once. */
#include "fuzz_common.h"

#include "language/command_grammar.h"
#include "nodes/builtin.h"
#include "render/scene.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static facet_scene scene;

static void free_scene(void) {
    facet_scene_free(&scene);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("command");
    if (facet_register_builtin_node_kinds() != FACET_OK ||
        facet_scene_load(&scene, fuzz_source(0, "tests/fixtures/livescene/scene.json")) !=
            FACET_OK) {
        fprintf(stderr, "fuzz_command: %s\n", facet_last_error());
        abort();
    }
    atexit(free_scene);
    return 0;
}

static void check_text(const char *text, size_t capacity) {
    if (strnlen(text, capacity) == capacity) __builtin_trap(); /* not terminated */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_strndup(data, size);
    facet_command_clause clauses[FACET_COMMAND_MAX_CLAUSES];
    int count = -1;
    facet_clear_error();
    if (facet_command_parse(text, clauses, &count) == FACET_OK) {
        if (count < 0 || count > FACET_COMMAND_MAX_CLAUSES) __builtin_trap();
        for (int i = 0; i < count; i++) {
            const facet_command_clause *c = &clauses[i];
            check_text(c->verb, sizeof c->verb);
            check_text(c->object, sizeof c->object);
            if (c->amount < FACET_AMOUNT_NONE || c->amount > FACET_AMOUNT_RELATIVE)
                __builtin_trap();
            if (c->amount == FACET_AMOUNT_ABSOLUTE && !(c->value >= 0.0f && c->value <= 1.0f))
                __builtin_trap(); /* "value is a state in [0, 1]" */
            if (c->amount == FACET_AMOUNT_RELATIVE && !(c->value >= 0.0f))
                __builtin_trap(); /* a change along the verb's direction, never NaN */
        }
    }
    facet_clear_error();
    if (facet_scene_apply_assignment(&scene, text) == FACET_OK) {
        float kappa = -1.0f;
        const char *eq = strchr(text, '=');
        char object[256];
        snprintf(object, sizeof object, "%.*s", (int)(eq - text), text);
        if (facet_scene_get_kappa(&scene, object, &kappa) != FACET_OK ||
            !(kappa >= 0.0f && kappa <= 1.0f))
            __builtin_trap();
    }
    free(text);
    return 0;
}
