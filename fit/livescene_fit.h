/* Fitting a LiveScene field to a LiveScene-format dataset (`facet fit`): the official losses and
 * regularisers (fit/livescene_train.h), Adam with LiveScene's schedule, checkpoints and resume.
 *
 * Output directory: model.safetensors (facet LiveScene weights), scene.json (a scene with one
 * livescene node that `facet render`, `facet eval` and the viewer open), fit.json (options and
 * final figures) and, while running, checkpoint.safetensors (weights + Adam state + step + the
 * history below), written atomically every `checkpoint_every` iterations; a re-run with the same
 * options resumes from it. Deterministic for a seed and a thread count on the CPU (per-thread
 * gradient buffers reduced in a fixed order).
 *
 * Never silent about divergence. Every iteration checks the loss terms (rgb, interlevel,
 * distortion, mask, repulsion, regularisers) and, on the CPU, every gradient tensor before the
 * Adam update and every parameter and second moment after it; the CUDA path checks the loss every
 * iteration and the whole state whenever it is downloaded. Nothing (checkpoint, snapshot, model)
 * is ever written from non-finite weights. On a non-finite value the fit either fails
 * (FACET_FIT_DIVERGENCE_STOP: FACET_ERR_INTERNAL, the message naming the iteration, the non-finite
 * loss term(s) and the first non-finite gradient or parameter tensor, e.g. "proposal.1.plane.0")
 * or restarts from the last checkpoint (the initial state when none was written) with the
 * learning rate halved (FACET_FIT_DIVERGENCE_RESTART), at most `max_restarts` times; each restart
 * is announced on the progress bar and recorded in fit.json.
 *
 * fit.json: options, final figures ("final_loss", "final_train_mse", "final_train_psnr": the last
 * training batch), "restarts" [{"iteration", "restored_from", "learning_rate_scale", "reason"}],
 * "learning_rate_scale" and "loss_curve" [[iteration, loss, train psnr], ...] every
 * "loss_curve_every" iterations (and at the last). Train PSNR is -10 log10(mse) of the batch: an
 * mse of exactly 0 is +infinity (written "inf" in fit.json, which has no number for it); there is
 * no stand-in value. fit.json is written only by a fit that finished with finite weights. */
#ifndef FACET_FIT_LIVESCENE_FIT_H
#define FACET_FIT_LIVESCENE_FIT_H

#include "livescene_train.h"

#include "core/progress.h"
#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* small: CPU-friendly (64/128 cells, 16 channels, 64/32/24 samples); default: the official
 * sizes; tiny: 16/32 cells, 4 channels, 16/8/8 samples, for tests and smoke runs. */
typedef enum facet_fit_size {
    FACET_FIT_SMALL = 0,
    FACET_FIT_DEFAULT,
    FACET_FIT_TINY
} facet_fit_size;
typedef enum facet_fit_device { FACET_FIT_CPU = 0, FACET_FIT_CUDA } facet_fit_device;
/* What a fit does when a loss, gradient or parameter becomes non-finite (header comment). */
typedef enum facet_fit_divergence {
    FACET_FIT_DIVERGENCE_STOP = 0, /* fail with an error naming iteration, loss term and tensor */
    FACET_FIT_DIVERGENCE_RESTART   /* last checkpoint (or the initial state), learning rate / 2 */
} facet_fit_divergence;

typedef struct facet_fit_options {
    facet_fit_size size;     /* small (CPU-friendly) or the official default config */
    facet_fit_device device; /* cpu (OpenMP) or cuda */
    int iterations;          /* 0 -> 3000 (small) / 30000 (default) */
    int batch;               /* rays per iteration, 0 -> 1024 (small) / 4096 (default) */
    unsigned long long seed;
    int checkpoint_every; /* iterations, 0 -> 500 */
    float learning_rate;  /* 0 -> 0.02 */
    int warmup;           /* iterations, 0 -> min(512, iterations / 10) */
    /* Scene normalisation (nerfstudio dataparser; fields/livescene_format.md "Dataset
     * normalisation"): the poses of all frames are oriented, centred and scaled, p' = scale *
     * (R p + t), and the transform is stored in the weights (dataparser_transform/_scale) so that
     * render/eval take cameras in the dataset's own frame. Unset fields take DATASET/facet.json's
     * keys, else the nerfstudio-data defaults: orientation up, center poses, auto_scale on
     * (facet.json with an "aabb" defaults to orientation none, auto_scale off). The scene box:
     * aabb, else scene_scale, else facet.json's, else the region that at least half of the
     * cameras see (datasets/normalise.h facet_view_box), which fits an object-centric capture at
     * any scale where nerfstudio's [-1, 1]^3 can leave the object a few cells wide. */
    const char *orientation; /* "up", "pca", "none"; NULL: default */
    const char *center;      /* "poses", "focus", "none"; NULL: center_poses, else default */
    int auto_scale;          /* 1 on, -1 off, 0 default */
    float scene_scale;       /* box [-S, S]^3 in the normalised frame; <= 0: default */
    /* explicit scene box in the normalised frame (overrides scene_scale and facet.json) */
    int has_aabb;
    float aabb[6];
    int center_poses; /* legacy: 1 poses, 0 none, -1 default; `center` wins when set */
    facet_livescene_loss_weights weights; /* all zero -> the official coefficients */
    int use_default_weights;              /* 1: ignore `weights`, use the official coefficients */
    int snapshot_every; /* > 0: also write DIR/snapshots/model-NNNNNN.safetensors and a line
                           "step seconds" in DIR/snapshots/times.tsv every N iterations */
    int run_for; /* > 0: stop after this many iterations in this call, leaving a checkpoint to
                    resume from (time-sliced jobs); 0: run to the end */
    facet_fit_divergence on_divergence; /* stop (default) or restart */
    int max_restarts;                   /* restart: give up after this many, 0 -> 3 */
    int curve_every; /* fit.json loss_curve point every N iterations, 0 -> max(1, iterations/150) */
    /* 1: fp16 networks (fields/tcnn_mlp_half.h, tiny-cuda-nn's form) with fp32 master weights,
     * gradients through fields/tcnn_mlp_half_backward.h with dynamic loss scaling
     * (fit/loss_scale.h); the written scene.json renders them in fp16 too. 0: fp32 networks. */
    int mlp_half;
    float loss_scale;         /* fp16: the initial loss scale (a power of two), 0 -> 65536 */
    facet_progress *progress; /* may be NULL; restarts are announced through it */
    int quiet;
} facet_fit_options;

typedef struct facet_fit_result {
    int iterations;                /* completed so far (== total when finished) */
    int finished;                  /* 1: reached the last iteration and wrote the outputs */
    int total;                     /* the fit's iteration count */
    int resumed_from;              /* 0 when started fresh */
    double final_loss, final_psnr; /* training batch figures of the last iteration; psnr is
                                      +inf for an mse of exactly 0 */
    double final_mse;
    int restarts;              /* divergences recovered from (whole run, resumes included) */
    float learning_rate_scale; /* 0.5^restarts */
    double seconds, rays_per_second;
    float loss_scale;  /* fp16 networks: the loss scale at the end (0 for fp32) */
    int skipped_steps; /* fp16 networks: steps skipped for a half overflow */
} facet_fit_result;

/* The official loss coefficients (livescene_config.py). */
facet_livescene_loss_weights facet_livescene_default_loss_weights(void);

/* The batch-level terms: rgb mean squared error (*mse), mask focal loss (mean over labelled rays)
 * and repulsion, weighted; sets every ray's drendered_logits. `terms` is an array of structs with
 * `stride` bytes per ray (facet_livescene_train_ray's terms, or a compact array). Returns the
 * weighted sum. */
double facet_livescene_batch_terms(facet_livescene_ray_terms *terms, size_t stride, int batch,
                                   int levels, int classes, const facet_livescene_loss_weights *w,
                                   unsigned long long seed, int step, double *mse);

/* The losses of a batch of rays after their forward pass (facet_livescene_train_forward or
 * facet_livescene_train_evaluate) and their backward pass: rgb, interlevel, distortion, ray-mask
 * focal loss and repulsion, weighted by `w`, as LiveScene combines them; gradients go to
 * grads[thread] (one gradient field per OpenMP thread, rays statically partitioned). Returns the
 * weighted loss; *mse receives the rgb mean squared error. A field with fp16 networks runs the
 * per-sample backward pass (fields/tcnn_mlp_half_backward.h), fp32 the 16-sample blocks. */
double facet_livescene_batch_backward(const facet_livescene_field *f,
                                      const facet_livescene_field *grads, int threads,
                                      facet_livescene_train_ray *rays, int batch,
                                      const facet_livescene_loss_weights *w,
                                      unsigned long long seed, int step, double *mse);

enum {
    FACET_LIVESCENE_MAX_REG_PLANES =
        6 * (FACET_LIVESCENE_MAX_SCALES + FACET_LIVESCENE_MAX_PROPOSALS) + 3
};

/* One plane's regulariser coefficients: grid 0.. scales-1 (field), FACET_LIVESCENE_MAX_SCALES + i
 * (proposal i) or -1 (probability); plane index within the grid. */
typedef struct facet_livescene_plane_task {
    int grid, plane;
    facet_livescene_plane_reg reg;
} facet_livescene_plane_task;

/* Fills tasks[FACET_LIVESCENE_MAX_REG_PLANES] for the field's grids; returns the count. */
int facet_livescene_regularizer_planes(const facet_livescene_field *f,
                                       const facet_livescene_loss_weights *w,
                                       facet_livescene_plane_task *tasks);

/* The plane regularisers of livescene_model.py: plane_tv (space_tv_loss: spatial planes along
 * both axes, kappa planes along space, averaged over a group's planes), l1_time_planes (|1 - plane|
 * of kappa planes) and time_smoothness (squared second difference along kappa), on the field,
 * proposal and probability grids with their coefficients. Returns the weighted sum and adds its
 * gradient to `grad` (per element: facet_livescene_plane_reg_element). The sum is formed in fixed
 * chunks of each plane, then over the chunks in order: the same value for any thread count. */
double facet_livescene_regularize(const facet_livescene_field *f, const facet_livescene_field *grad,
                                  const facet_livescene_loss_weights *w);

/* facet_livescene_regularize with `round` chunks per parallel region (1 .. 1024; it uses 1024):
 * the same value and gradients for any round, which the tests check with small rounds. */
double facet_livescene_regularize_rounds(const facet_livescene_field *f,
                                         const facet_livescene_field *grad,
                                         const facet_livescene_loss_weights *w, int round);

facet_status facet_livescene_fit(const char *dataset, const char *out_dir,
                                 const facet_fit_options *options, facet_fit_result *result);

#ifdef __cplusplus
}
#endif
#endif
