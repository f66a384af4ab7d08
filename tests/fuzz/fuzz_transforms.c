/* transforms.json with the LiveScene extras: the input becomes transforms.json in a dataset
 * directory holding the LiveScene fixture's images, masks, mapping.yaml and key_frame_value.yaml
 * (fuzz_dataset_dir). It is loaded as a directory (all frames, default options: interval split,
 * fewshot kappa) and as a file (train split, fraction mode, interpolated kappa), and every frame's
 * mask is read. */
#include "fuzz_common.h"

#include "core/tensor.h"
#include "datasets/dataset.h"

#include <stdint.h>
#include <stdio.h>

static char dataset[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init("transforms");
    snprintf(dataset, sizeof dataset, "%s", fuzz_path(0, "dataset"));
    fuzz_dataset_dir(dataset, 1, 0);
    return 0;
}

static void walk(const facet_dataset *ds) {
    for (int i = 0; i < ds->frame_count; i++) {
        const facet_frame *f = &ds->frames[i];
        if (!f->name || !f->image_path) __builtin_trap();
        for (int k = 0; f->kappa && k < ds->object_count; k++) {
            volatile double v = f->kappa[k];
            (void)v;
        }
        if (facet_dataset_object_index(ds, ds->object_count ? ds->object_names[0] : "x") < -1)
            __builtin_trap();
        if (!f->mask_path) continue;
        facet_tensor mask;
        facet_clear_error();
        if (facet_dataset_load_mask(ds, i, &mask) == FACET_OK) facet_tensor_free(&mask);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    facet_clear_error();
    char path[4200];
    snprintf(path, sizeof path, "%s/transforms.json", dataset);
    fuzz_write(path, data, size);
    facet_dataset ds;
    if (facet_dataset_load(&ds, dataset, FACET_SPLIT_ALL) == FACET_OK) {
        walk(&ds);
        facet_dataset_free(&ds);
    }
    facet_clear_error();
    facet_dataset_options options = {
        .split_mode = FACET_SPLIT_MODE_FRACTION, .train_fraction = 0.5, .interpolate_kappa = 1};
    if (facet_dataset_load_with(&ds, path, FACET_SPLIT_TRAIN, &options) == FACET_OK) {
        walk(&ds);
        facet_dataset_free(&ds);
    }
    return 0;
}
