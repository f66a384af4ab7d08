/* facet info: describes a safetensors file, a scene file or a dataset. */
#include "args.h"
#include "commands.h"

#include "core/fileio.h"
#include "core/safetensors.h"
#include "datasets/dataset.h"
#include "nodes/builtin.h"
#include "render/scene.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char usage[] =
    "usage: facet info FILE [--check]\n"
    "\n"
    "Describes FILE:\n"
    "  *.safetensors         tensors (name, dtype, shape, bytes) and __metadata__; with --check,\n"
    "                        also the NaN and Inf values of every floating-point tensor, and exit\n"
    "                        status 1 when any tensor holds one\n"
    "  scene JSON            environment, background, camera, nodes and their objects/kappa\n"
    "  dataset (directory or transforms*.json)\n"
    "                        frames per split, resolution, objects (LiveScene)\n"
    "\n"
    "examples: facet info assets/demo/scene.json\n"
    "          facet info --check out/fit/model.safetensors\n";

static int describe_safetensors(const char *path, int check) {
    facet_safetensors st;
    if (facet_safetensors_open(&st, path) != FACET_OK) return cli_library_error();
    printf("safetensors: %s (%zu bytes)\n", path, st.map_size);
    printf("metadata: %d entr%s\n", st.metadata_count, st.metadata_count == 1 ? "y" : "ies");
    for (int i = 0; i < st.metadata_count; i++)
        printf("  %s = %s\n", st.metadata_keys[i], st.metadata_values[i]);
    size_t total = 0;
    int bad = 0;
    printf("tensors: %d\n", st.count);
    for (int i = 0; i < st.count; i++) {
        char shape[128];
        const facet_tensor *t = &st.entries[i].tensor;
        facet_shape_string(t->ndim, t->shape, shape, sizeof shape);
        printf("  %-40s %-5s %-20s %zu bytes", st.entries[i].name, facet_dtype_name(t->dtype),
               shape, facet_tensor_bytes(t));
        if (check) {
            const facet_nonfinite r = facet_tensor_count_nonfinite(t);
            if (r.nan || r.inf)
                printf("  NON-FINITE: %lld NaN, %lld Inf, first at flat index %lld",
                       (long long)r.nan, (long long)r.inf, (long long)r.first);
            bad += r.nan || r.inf;
        }
        printf("\n");
        total += facet_tensor_bytes(t);
    }
    printf("total: %zu bytes of tensor data\n", total);
    facet_safetensors_close(&st);
    if (!check) return 0;
    if (bad)
        return cli_error("%s: %d tensor%s hold%s NaN or Inf values", path, bad, bad == 1 ? "" : "s",
                         bad == 1 ? "s" : "");
    printf("check: every value of every floating-point tensor is finite\n");
    return 0;
}

static int describe_scene(const char *path) {
    if (facet_register_builtin_node_kinds() != FACET_OK) return cli_library_error();
    facet_scene scene;
    if (facet_scene_load(&scene, path) != FACET_OK) return cli_library_error();
    printf("scene: %s (format version 1)\n", path);
    if (scene.has_environment)
        printf("environment: %s (%dx%d, convention %s, rotation %g deg, strength %g)\n",
               scene.environment.path, scene.environment.view.width, scene.environment.view.height,
               facet_env_convention_name(scene.environment.view.convention),
               (double)scene.environment.rotation_deg, (double)scene.environment.view.strength);
    else
        printf("environment: none\n");
    if (scene.background_mode == FACET_BACKGROUND_ENVIRONMENT)
        printf("background: environment\n");
    else
        printf("background: [%g, %g, %g] (linear)\n", (double)scene.background[0],
               (double)scene.background[1], (double)scene.background[2]);
    if (scene.has_camera)
        printf("camera: %dx%d, fx %.2f px\n", scene.camera.width, scene.camera.height,
               (double)scene.camera.fx);
    printf("nodes: %d\n", scene.node_count);
    for (int i = 0; i < scene.node_count; i++) {
        const facet_node *node = &scene.nodes[i];
        printf("  %s (%s)\n", node->name, node->kind->type);
        for (int j = 0; j < node->object_count; j++)
            printf("    object %-20s kappa %.3f\n", node->object_names[j], (double)node->kappa[j]);
    }
    facet_scene_free(&scene);
    return 0;
}

static int describe_dataset(const char *path) {
    static const facet_split splits[] = {FACET_SPLIT_TRAIN, FACET_SPLIT_VAL, FACET_SPLIT_TEST};
    printf("dataset: %s\n", path);
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        facet_dataset ds;
        if (facet_dataset_load(&ds, path, splits[i]) != FACET_OK) {
            if (facet_last_status() != FACET_ERR_NOT_FOUND) return cli_library_error();
            printf("  %-5s none (%s)\n", facet_split_name(splits[i]), facet_last_error());
            continue;
        }
        printf("  %-5s %4d frames", facet_split_name(splits[i]), ds.frame_count);
        if (ds.frame_count)
            printf(", %dx%d, fx %.2f px", ds.frames[0].width, ds.frames[0].height, ds.frames[0].fx);
        printf("\n");
        if (i == 0 && ds.object_count) {
            printf("  objects:");
            for (int k = 0; k < ds.object_count; k++)
                printf(" %s (id %d)", ds.object_names[k], ds.object_ids[k]);
            printf("\n");
        }
        facet_dataset_free(&ds);
    }
    return 0;
}

/* A JSON file is a scene when it has a top-level "nodes" or "environment" and no "frames". */
static int looks_like_scene(const char *path) {
    facet_doc doc;
    if (facet_json_load(&doc, path) != FACET_OK) return 1; /* let the scene loader report it */
    int scene = cJSON_IsObject(doc.root) && !cJSON_GetObjectItemCaseSensitive(doc.root, "frames");
    facet_doc_free(&doc);
    return scene;
}

int facet_cmd_info(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *path = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check"))
            check = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("info", "unknown option '%s'", argv[i]);
        else if (path)
            return cli_usage_error("info", "expected exactly one FILE");
        else
            path = argv[i];
    }
    if (!path) return cli_usage_error("info", "expected exactly one FILE");
    if (check && strcasecmp(facet_path_extension(path), ".safetensors"))
        return cli_usage_error("info", "--check applies to .safetensors files");
    if (facet_is_dir(path)) return describe_dataset(path);
    if (!facet_is_file(path)) return cli_error("'%s' does not exist", path);
    const char *ext = facet_path_extension(path);
    if (!strcasecmp(ext, ".safetensors")) return describe_safetensors(path, check);
    if (!strcasecmp(ext, ".json"))
        return looks_like_scene(path) ? describe_scene(path) : describe_dataset(path);
    return cli_error("'%s': facet info describes .safetensors files, scene .json files and "
                     "datasets",
                     path);
}
