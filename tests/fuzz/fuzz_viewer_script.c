/* Viewer scripts (`facet view --script`): facet_script_parse on the input text, and
 * facet_script_load on it as a file. viewer/script.c is compiled into this harness on its own
 * (the facet_viewer library pulls in GLFW and OpenGL). */
#include "fuzz_common.h"

#include "viewer/script.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("viewer_script");
    return 0;
}

static void check(const facet_script *script) {
    for (int i = 0; i < script->count; i++) {
        const facet_script_action *a = &script->actions[i];
        if (a->number_count < 0 || a->number_count > 13 || a->line < 1) __builtin_trap();
        if (a->text) {
            volatile size_t n = strlen(a->text);
            (void)n;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_strndup(data, size);
    facet_script script;
    facet_clear_error();
    if (facet_script_parse(&script, "fuzz.script", text) == FACET_OK) {
        check(&script);
        facet_script_free(&script);
    }
    free(text);
    const char *path = fuzz_path(0, "input.script");
    fuzz_write(path, data, size);
    facet_clear_error();
    if (facet_script_load(&script, path) == FACET_OK) {
        check(&script);
        facet_script_free(&script);
    }
    return 0;
}
