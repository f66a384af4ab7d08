/* Headless batch rendering and evaluation over a dataset's cameras (`facet render --cameras`,
 * `facet eval`). Images are named after the frame (file_path basename without extension); every
 * file is written atomically. */
#ifndef FACET_RENDER_BATCH_H
#define FACET_RENDER_BATCH_H

#include "render.h"
#include "scene.h"

#include "core/progress.h"
#include "core/status.h"
#include "datasets/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A deterministic split of a camera list across machines: camera i belongs to shard `index`
 * (0-based) when i % count == index. {0, 1} is everything. */
typedef struct facet_shard {
    int index, count;
} facet_shard;

/* Parses "K/N" with 0 <= K < N. */
facet_status facet_shard_parse(const char *text, facet_shard *shard);
static inline int facet_shard_contains(facet_shard shard, int i) {
    return shard.count <= 1 || i % shard.count == shard.index;
}

typedef enum facet_output_format { FACET_OUTPUT_PNG = 0, FACET_OUTPUT_EXR } facet_output_format;

/* Writes a linear RGBA render: PNG (sRGB, 8 bit, RGB) or EXR (linear, half, RGBA). */
facet_status facet_write_render(const facet_image *linear_rgba, const char *path,
                                facet_output_format format);

/* Checks that every auxiliary channel name (an object name, which the weights hold) is a safe
 * file name (core/safe_name.h), so that dir/<stem>_<name>.png stays in dir. */
facet_status facet_check_aux_names(const facet_scene *scene);
/* Writes each auxiliary channel of `aux` (facet_render_options.aux) as dir/<stem>_<name>.png,
 * after facet_check_aux_names. */
facet_status facet_write_aux_channels(const facet_scene *scene, const facet_image *aux,
                                      const char *dir, const char *stem);

/* The camera of a dataset frame, optionally at another resolution (0 keeps the frame's). */
facet_camera facet_frame_camera(const facet_frame *frame, int width, int height);

/* Sets the scene's kappa from a frame's ground truth (no-op when the frame has none). Every
 * dataset object must exist in the scene. */
facet_status facet_scene_apply_frame_kappa(facet_scene *scene, const facet_dataset *ds,
                                           const facet_frame *frame);

/* A per-image metric beyond PSNR and SSIM, for facet_eval_run. The caller computes it, so render/
 * names no model (the CLI plugs LPIPS in here, lpips/lpips.h). */
typedef struct facet_eval_metric {
    const char *name;          /* its key in metrics.json: per image, results.<name> (the mean)
                                * and results.<name>_std */
    const char *protocol_json; /* a JSON value recorded as protocol.<name> (NULL: none) */
    /* Scores the sRGB render as compared (after the relight alignment, when on) against the
     * ground truth: both RGB, the same size. A failure stops the eval. */
    facet_status (*score)(void *user, const facet_image *render, const facet_image *truth,
                          double *value);
    void *user;
} facet_eval_metric;

typedef struct facet_batch_options {
    facet_render_options render;
    facet_output_format format;
    int width, height; /* 0: the frame's own resolution */
    facet_shard shard;
    int use_dataset_kappa; /* 1: set each frame's ground-truth kappa before rendering */
    /* 1: also write every auxiliary channel (LiveScene: per-object probability) as
     * OUT/<frame>_<channel>.png, 8-bit gray, probability 0..1 -> 0..255 */
    int masks;
    /* eval only, 1: the RISE-SDF relighting protocol (systems/split_occ.py): before scoring, the
     * sRGB render is aligned to the ground truth per channel by the median ratio over the ground
     * truth's alpha > 0 pixels (facet_align_median_ratio); PSNR/SSIM stay whole-image */
    int relight;
    const facet_eval_metric *metric; /* eval only: an extra per-image metric, or NULL */
    facet_progress *progress;        /* may be NULL */
} facet_batch_options;

/* Renders every frame of `ds` in the shard to out_dir/<frame name>.<png|exr>. */
facet_status facet_batch_render(facet_scene *scene, const facet_dataset *ds,
                                const facet_batch_options *options, const char *out_dir,
                                int *rendered);

typedef struct facet_eval_image {
    char *name;
    double psnr, ssim;
    double metric; /* options->metric's value (0 without one) */
} facet_eval_image;

typedef struct facet_eval_result {
    int count;
    facet_eval_image *images;
    double psnr_mean, psnr_std, ssim_mean, ssim_std;
    double metric_mean, metric_std; /* options->metric's (0 without one) */
    double render_seconds;          /* wall time spent rendering (not loading or metrics) */
    double rays;                    /* rays rendered */
} facet_eval_result;

/* Renders each frame of the split with its ground-truth kappa, writes out_dir/<name>.png, compares
 * in sRGB [0,1] against the ground-truth image (RGBA ground truth is composited over the scene's
 * background colour, as nerfstudio does for Blender data), scores options->metric too when set,
 * and writes out_dir/metrics.json (docs/formats.md). `scene_path`/`dataset_path`/`split_name` are
 * recorded in the JSON. */
facet_status facet_eval_run(facet_scene *scene, const facet_dataset *ds,
                            const facet_batch_options *options, const char *out_dir,
                            const char *dataset_path, const char *split_name,
                            facet_eval_result *result);
void facet_eval_result_free(facet_eval_result *result);

#ifdef __cplusplus
}
#endif
#endif
