/* Scene files: facet_scene_load on the input as scene.json, in a directory that also holds small
 * weights and environment maps from the fixtures under the names the seeds use (small.safetensors,
 * model.safetensors, livescene_lang.safetensors: LiveScene; risesdf.safetensors: RISE-SDF;
 * forest.exr, env.exr, env.hdr: environment maps). Other paths fail cleanly. A loaded scene gets
 * every object's kappa read back and set. */
#include "fuzz_common.h"

#include "nodes/builtin.h"
#include "render/scene.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("scene");
    if (facet_register_builtin_node_kinds() != FACET_OK) abort();
    static const char *const files[][2] = {
        {"tests/fixtures/livescene/small.safetensors", "small.safetensors"},
        {"tests/fixtures/livescene/small.safetensors", "model.safetensors"},
        {"tests/fixtures/language/livescene_lang.safetensors", "livescene_lang.safetensors"},
        {"tests/fixtures/risesdf/small.safetensors", "risesdf.safetensors"},
        {"tests/fixtures/envmap_blender/view_0.exr", "forest.exr"},
        {"tests/fixtures/envmap_blender/view_0.exr", "env.exr"},
        {"tests/fixtures/images/radiance.hdr", "env.hdr"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        fuzz_copy(fuzz_source(0, files[i][0]), fuzz_path(0, files[i][1]));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    facet_clear_error();
    const char *path = fuzz_path(0, "scene.json");
    fuzz_write(path, data, size);
    facet_scene scene;
    if (facet_scene_load(&scene, path) != FACET_OK) return 0;
    int objects = 0;
    for (int i = 0; i < scene.node_count; i++) {
        const facet_node *node = &scene.nodes[i];
        for (int j = 0; j < node->object_count; j++) {
            float kappa = -1.0f;
            if (facet_scene_get_kappa(&scene, node->object_names[j], &kappa) != FACET_OK)
                __builtin_trap();
            if (facet_scene_set_kappa(&scene, node->object_names[j], 0.5f) != FACET_OK)
                __builtin_trap();
            objects++;
        }
    }
    if (objects != facet_scene_object_count(&scene)) __builtin_trap();
    facet_scene_free(&scene);
    return 0;
}
