/* Posed-image datasets: Blender/NeRF-synthetic and nerfstudio transforms.json, with the LiveScene
 * extras (mapping.yaml, key_frame_value.yaml, masks/<fid>.npy). docs/formats.md, "Datasets".
 *
 * Cameras follow the NeRF convention: transform_matrix is camera-to-world (row-major 4x4), the
 * camera looks along its local -z with +y up. Intrinsics in pixels; the principal point (cx, cy)
 * is measured from the top-left image corner. */
#ifndef FACET_DATASETS_DATASET_H
#define FACET_DATASETS_DATASET_H

#include "core/status.h"
#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_split {
    FACET_SPLIT_ALL = 0,
    FACET_SPLIT_TRAIN,
    FACET_SPLIT_VAL,
    FACET_SPLIT_TEST,
} facet_split;

/* "train", "val", "test", "all" -> split; -1 for anything else. */
int facet_split_from_name(const char *name);
const char *facet_split_name(facet_split split);

typedef struct facet_frame {
    char *name;            /* basename of file_path without extension ("r_3"), names outputs */
    char *image_path;      /* absolute or dataset-relative path with the extension resolved */
    char *mask_path;       /* LiveScene masks/<fid>.npy when present, else NULL */
    double c2w[16];        /* camera-to-world, row-major */
    double fx, fy, cx, cy; /* pixels */
    int width, height;
    int index;     /* position in its transforms file's "frames" order (before splitting) */
    double *kappa; /* [dataset.object_count] ground-truth kappa in [0,1], or NULL */
    unsigned char *kappa_known; /* [dataset.object_count] 1 where key_frame_value.yaml gives this
                                   frame's value (LiveScene's atrb_val_masks), or NULL with kappa */
} facet_frame;

/* Frames in one dataset, all transforms files together: more fail with "too large" and the cap
 * before any frame is read. A frame's w and h keys are capped at FACET_IMAGE_MAX_SIDE. */
#define FACET_DATASET_MAX_FRAMES 1048576

typedef struct facet_dataset {
    char *root; /* directory holding the transforms file(s) */
    int frame_count;
    facet_frame *frames;
    int object_count;
    char **object_names; /* from mapping.yaml, in ascending id order */
    int *object_ids;     /* the mapping.yaml ids */
} facet_dataset;

/* How a single transforms.json is split when it lists no explicit split filenames. */
typedef enum facet_split_mode {
    /* LiveScene sim (and docs/formats.md): frame i in file order is eval (val and test) when
     * i % eval_interval == 0, train otherwise. nerfstudio get_train_eval_split_interval. */
    FACET_SPLIT_MODE_INTERVAL = 0,
    /* LiveScene real (InterReal) through nerfstudio's dataparser: frames sorted by image file name,
     * train = np.linspace(0, n-1, ceil(n * train_fraction), dtype=int), eval = the rest.
     * nerfstudio get_train_eval_split_fraction. The frames come back in file-name order. */
    FACET_SPLIT_MODE_FRACTION,
    /* Every frame in every split (nerfstudio eval_mode "all"). */
    FACET_SPLIT_MODE_ALL,
} facet_split_mode;

/* Zero-initialised options mean the defaults noted on each field. */
typedef struct facet_dataset_options {
    facet_split_mode split_mode; /* default FACET_SPLIT_MODE_INTERVAL */
    int eval_interval;           /* 0 -> 2 (LiveScene's eval_interval) */
    double train_fraction;       /* 0 -> 0.9 (LiveScene real); otherwise in (0, 1] */
    /* 0 (LiveScene's default, "fewshot"): a frame's raw value is its key_frame_value.yaml entry,
     * 0 where it has none. 1 (LiveScene real's interpolate_val): raw values are linearly
     * interpolated in frame id between the key frames (np.interp, clamped at the ends). */
    int interpolate_kappa;
} facet_dataset_options;

/* Loads `path` (a dataset directory or a transforms*.json file) and keeps the frames of `split`.
 * Directory: transforms_<split>.json when present (Blender), else transforms.json split by the
 * interval rule of docs/formats.md (index % 2 == 0 -> test; "val" is the test set) unless the file
 * lists explicit split filenames (nerfstudio "train_filenames"/"val_filenames"/
 * "test_filenames"). Resolution comes from w/h (global or per frame) or, when absent, from the
 * image file's header. Errors name the file, the frame and the key. */
facet_status facet_dataset_load(facet_dataset *ds, const char *path, facet_split split);
/* facet_dataset_load with options (NULL: the defaults).
 *
 * A transforms_<s>.json file given directly holds split s: it loads for `s` and FACET_SPLIT_ALL.
 * Directory with split files, FACET_SPLIT_ALL: transforms_train, _val, _test concatenated.
 * Camera: fl_x/fl_y/cx/cy/w/h per frame override the global values; without fl_x,
 * fx = 0.5 * w / tan(0.5 * camera_angle_x); fy defaults to fx, cx to w/2, cy to h/2. Non-zero
 * distortion (k1..k4, p1, p2, distortion_params) and camera models other than the perspective ones
 * (PINHOLE, SIMPLE_PINHOLE, OPENCV, RADIAL, SIMPLE_RADIAL) are rejected.
 *
 * LiveScene extras, when mapping.yaml is in the root (livescene.c): objects from mapping.yaml;
 * kappa from key_frame_value.yaml, matched by frame id (the digits after the last '_' of the frame
 * name) and min-max normalised per object over the frames of the loaded split, as LiveScene's
 * atrb_utils.py interp_atrb_values does (an object constant over the split gets 0 where LiveScene
 * divides 0 by 0); masks/<frame id>.npy recorded when present. */
facet_status facet_dataset_load_with(facet_dataset *ds, const char *path, facet_split split,
                                     const facet_dataset_options *options);
void facet_dataset_free(facet_dataset *ds);

/* Index of the object named `name`, or -1. */
int facet_dataset_object_index(const facet_dataset *ds, const char *name);

/* Reads frame `frame`'s LiveScene mask into `out` (a new host tensor): BOOL
 * [height, width, object_count + 1], channel d = object d (mapping.yaml order), last = background.
 * Fails when the frame has no mask or the file's dtype or shape differ. */
facet_status facet_dataset_load_mask(const facet_dataset *ds, int frame, facet_tensor *out);

#ifdef __cplusplus
}
#endif
#endif
