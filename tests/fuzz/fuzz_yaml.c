/* The LiveScene YAML files: the input is mapping.yaml, or, when it holds a NUL byte,
 * mapping.yaml NUL key_frame_value.yaml (without one the fixture's key_frame_value.yaml is used).
 * Each file goes through facet_yaml_load, then both through their consumer, facet_dataset_load on
 * the LiveScene fixture's transforms.json, images and masks (fewshot and interpolated kappa). */
#include "fuzz_common.h"

#include "core/json.h"
#include "datasets/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static char dataset[4096], mapping[4200], key_frames[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("yaml");
    snprintf(dataset, sizeof dataset, "%s", fuzz_path(0, "dataset"));
    fuzz_dataset_dir(dataset, 0, 1);
    snprintf(mapping, sizeof mapping, "%s/mapping.yaml", dataset);
    snprintf(key_frames, sizeof key_frames, "%s/key_frame_value.yaml", dataset);
    return 0;
}

static void load_yaml(const char *path) {
    facet_clear_error();
    facet_doc doc;
    if (facet_yaml_load(&doc, path) == FACET_OK) {
        char *text = cJSON_PrintUnformatted(doc.root);
        cJSON_free(text);
        facet_doc_free(&doc);
    }
}

static void load_dataset(int interpolate) {
    facet_clear_error();
    facet_dataset_options options = {.interpolate_kappa = interpolate};
    facet_dataset ds;
    if (facet_dataset_load_with(&ds, dataset, FACET_SPLIT_ALL, &options) != FACET_OK) return;
    for (int i = 0; i < ds.frame_count; i++)
        for (int k = 0; ds.frames[i].kappa && k < ds.object_count; k++) {
            volatile double v = ds.frames[i].kappa[k];
            (void)v;
        }
    for (int k = 0; k < ds.object_count; k++)
        if (facet_dataset_object_index(&ds, ds.object_names[k]) > k) __builtin_trap();
    facet_dataset_free(&ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    if (nul) {
        size_t first = (size_t)(nul - data);
        fuzz_write(mapping, data, first);
        fuzz_write(key_frames, nul + 1, size - first - 1);
    } else {
        fuzz_write(mapping, data, size);
        fuzz_copy(fuzz_source(0, "tests/fixtures/livescene/dataset/key_frame_value.yaml"),
                  key_frames);
    }
    load_yaml(mapping);
    load_yaml(key_frames);
    load_dataset(0);
    load_dataset(1);
    return 0;
}
