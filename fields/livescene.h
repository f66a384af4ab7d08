/* LiveScene's interactive radiance field (Tavish9/livescene): one 4D K-Planes field over
 * (x, y, z, kappa) with proposal density fields and the object probability field that chooses
 * each sample's kappa. Per-point functions here (host and device); sampling and volume rendering
 * live in nodes/livescene_ray.h. Weights format and math: fields/livescene_format.md. */
#ifndef FACET_FIELDS_LIVESCENE_H
#define FACET_FIELDS_LIVESCENE_H

#include "kplanes.h"
#include "sh.h"
#include "tcnn_mlp.h"

#include "core/fastmath.h"
#include "core/hd.h"
#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

enum {
    FACET_LIVESCENE_MAX_OBJECTS = 16,
    FACET_LIVESCENE_MAX_SCALES = 4,
    FACET_LIVESCENE_MAX_PROPOSALS = 4,
    FACET_LIVESCENE_MAX_GEO = 32,
    FACET_LIVESCENE_MAX_SAMPLES = 512, /* per level */
};

/* Everything the per-point functions read: plain views (host or device pointers). */
typedef struct facet_livescene_field {
    float aabb_min[3], aabb_max[3];
    int objects;      /* alpha: interactive objects (logits have alpha + 1, the last background) */
    int geo_feat_dim; /* 15 */
    int scales;
    facet_kplanes grids[FACET_LIVESCENE_MAX_SCALES]; /* main field, 4D */
    facet_mlp sigma_net;                             /* features -> [geo..., raw density] */
    facet_mlp color_net;                             /* [SH16, geo] -> rgb (sigmoid) */
    int proposals;
    facet_kplanes proposal_grids[FACET_LIVESCENE_MAX_PROPOSALS]; /* 4D */
    facet_mlp density_net[FACET_LIVESCENE_MAX_PROPOSALS];
    facet_kplanes probability_grid; /* 3D, sampled at raw world positions (official quirk) */
    facet_mlp semantic_net;         /* [sigmoid(features), kappa[alpha]] -> alpha + 1 logits */
} facet_livescene_field;

enum { FACET_LIVESCENE_MAX_NETWORKS = 3 + FACET_LIVESCENE_MAX_PROPOSALS };

/* The field's networks in a fixed order (sigma, colour, semantic, then the proposals'), written to
 * out[FACET_LIVESCENE_MAX_NETWORKS]; returns how many. */
static inline FACET_HD int facet_livescene_networks(facet_livescene_field *f, facet_mlp **out) {
    int n = 0;
    out[n++] = &f->sigma_net;
    out[n++] = &f->color_net;
    out[n++] = &f->semantic_net;
    for (int i = 0; i < f->proposals; i++) out[n++] = &f->density_net[i];
    return n;
}

/* Bytes of the fp16 packs of all of f's networks, one after another (each a multiple of 32
 * bytes: facet_mlp_half_bytes). */
static inline FACET_HD size_t facet_livescene_half_bytes(facet_livescene_field *f) {
    facet_mlp *nets[FACET_LIVESCENE_MAX_NETWORKS];
    const int n = facet_livescene_networks(f, nets);
    size_t bytes = 0;
    for (int i = 0; i < n; i++) bytes += facet_mlp_half_bytes(nets[i]);
    return bytes;
}

/* Points every network of f at its part of `pack` (facet_livescene_half_bytes, 32-byte aligned),
 * switching the field to fp16 networks with loss scale `loss_scale` for their backward passes;
 * with fill, also writes the packs from the fp32 weights (host pointers). */
static inline void facet_livescene_use_half(facet_livescene_field *f, unsigned char *pack,
                                            float loss_scale, int fill) {
    facet_mlp *nets[FACET_LIVESCENE_MAX_NETWORKS];
    const int n = facet_livescene_networks(f, nets);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (fill) facet_mlp_half_pack(nets[i], pack + at);
        nets[i]->half = pack + at;
        nets[i]->loss_scale = loss_scale;
        at += facet_mlp_half_bytes(nets[i]);
    }
}

/* Position normalised by the AABB to [-1, 1] (SceneBox.get_normalized_positions * 2 - 1). */
static inline FACET_HD void facet_livescene_normalize(const facet_livescene_field *f,
                                                      const float *pos, float *out) {
    for (int i = 0; i < 3; i++)
        out[i] = (pos[i] - f->aabb_min[i]) / (f->aabb_max[i] - f->aabb_min[i]) * 2.0f - 1.0f;
}

/* The main field's feature count: the scales' channels, concatenated (the sigma net's inputs). */
static inline FACET_HD int facet_livescene_feature_count(const facet_livescene_field *f) {
    int channels = 0;
    for (int s = 0; s < f->scales; s++) channels += f->grids[s].channels;
    return channels;
}

/* Per-sample scratch. Every per-point function below has a `_scratch` form that keeps its
 * temporaries (network inputs, K-Planes features, hidden activations) in caller-provided memory of
 * facet_livescene_scratch_floats floats: the CUDA stages give each thread a slice of shared memory
 * (nodes/cuda/livescene_node.cu), so no sample carries a local-memory frame. The plain forms are
 * the same functions with the scratch on the stack. */
static inline FACET_HD int facet_livescene_scratch_floats(const facet_livescene_field *f) {
    const int channels = facet_livescene_feature_count(f);
    int need = 0, n;
    n = f->probability_grid.channels + f->objects + facet_mlp_scratch_floats(&f->semantic_net);
    need = n > need ? n : need;
    for (int l = 0; l < f->proposals; l++) {
        n = f->proposal_grids[l].channels + facet_mlp_scratch_floats(&f->density_net[l]);
        need = n > need ? n : need;
    }
    n = channels + f->geo_feat_dim + 1 + facet_mlp_scratch_floats(&f->sigma_net);
    need = n > need ? n : need;
    n = 16 + f->geo_feat_dim + facet_mlp_scratch_floats(&f->color_net);
    return n > need ? n : need;
}

/* Largest facet_livescene_scratch_floats of any field the loader accepts (widths and channel
 * counts at their maxima). */
enum {
    FACET_LIVESCENE_MAX_SCRATCH = FACET_LIVESCENE_MAX_SCALES * FACET_KPLANES_MAX_CHANNELS +
                                  FACET_LIVESCENE_MAX_GEO + 1 + 2 * FACET_MLP_MAX_WIDTH,
};

/* The exponentials of the per-point functions (the probability features' sigmoid, the object
 * softmax, the density activation; and the proposal levels' volume weights,
 * nodes/livescene_ray.h) use facet_expf (core/fastmath.h, within 2 ulp of libm), not
 * libm: the sample-batched CPU renderer vectorises them (nodes/livescene_lanes.c), and the CPU,
 * the emulator and the GPU compute the same bits from the same code. */
static inline FACET_HD float facet_livescene_sigmoid(float x) {
    return 1.0f / (1.0f + facet_expf(-x));
}

/* Density from a network's raw output: sigma = exp(raw - 1) (nerfstudio trunc_exp forward). */
static inline FACET_HD float facet_livescene_density_activation(float raw) {
    return facet_expf(raw - 1.0f);
}

/* fmaxf(a, b) as a select that vectorises (NaN loses to a number, as in fmaxf). Where a == b it
 * may differ from libm in the sign of a zero, which the softmax below cannot see: it only forms
 * exp(logit - peak), and x - (+0) and x - (-0) differ only for x = -0, where exp gives 1 both. */
static inline FACET_HD float facet_livescene_max(float a, float b) {
    return b > a || a != a ? b : a;
}

/* The object a sample's logits[objects + 1] choose: the argmax over the first `objects` entries
 * of softmax(logits) (the official rule; the first maximum wins ties, like torch.max, which
 * matters when probabilities underflow to equal values). */
static inline FACET_HD int facet_livescene_pick_object(const float *logits, int objects) {
    float peak = logits[0], total = 0.0f;
    for (int i = 1; i <= objects; i++) peak = facet_livescene_max(peak, logits[i]);
    for (int i = 0; i <= objects; i++) total += facet_expf(logits[i] - peak);
    int best = 0;
    float best_p = facet_expf(logits[0] - peak) / total;
    for (int i = 1; i < objects; i++) {
        float p = facet_expf(logits[i] - peak) / total;
        if (p > best_p) {
            best = i;
            best_p = p;
        }
    }
    return best;
}

/* The semantic net's input at pos: input[channels + alpha] = [sigmoid(features), kappa]. */
static inline FACET_HD void facet_livescene_probability_input(const facet_livescene_field *f,
                                                              const float *pos, const float *kappa,
                                                              float *input) {
    const int c = f->probability_grid.channels;
    facet_kplanes_sample(&f->probability_grid, pos, input);
    for (int i = 0; i < c; i++) input[i] = facet_livescene_sigmoid(input[i]);
    for (int i = 0; i < f->objects; i++) input[c + i] = kappa[i];
}

/* Object probability field: logits[alpha + 1] at world position pos (raw, not normalised: the
 * official field feeds world coordinates to grid_sample, which clamps outside [-1, 1]) given the
 * scene's kappa vector. Returns the chosen object (facet_livescene_pick_object). */
static inline FACET_HD int facet_livescene_probability_scratch(const facet_livescene_field *f,
                                                               const float *pos, const float *kappa,
                                                               float *logits, float *scratch) {
    float *input = scratch; /* [sigmoid(features) c, kappa alpha] */
    facet_livescene_probability_input(f, pos, kappa, input);
    facet_mlp_forward_scratch(&f->semantic_net, input, logits,
                              scratch + f->probability_grid.channels + f->objects);
    return facet_livescene_pick_object(logits, f->objects);
}

static inline FACET_HD int facet_livescene_probability(const facet_livescene_field *f,
                                                       const float *pos, const float *kappa,
                                                       float *logits) {
    float scratch[FACET_LIVESCENE_MAX_SCRATCH];
    return facet_livescene_probability_scratch(f, pos, kappa, logits, scratch);
}

/* 4D coordinates of a sample: normalised position and kappa mapped to [-1, 1]. */
static inline FACET_HD void facet_livescene_coords4(const facet_livescene_field *f,
                                                    const float *pos, float kappa, float *coords) {
    facet_livescene_normalize(f, pos, coords);
    coords[3] = kappa * 2.0f - 1.0f;
}

/* Proposal network `level`'s input at (pos, kappa): features[proposal_grids[level].channels]. */
static inline FACET_HD void facet_livescene_proposal_features(const facet_livescene_field *f,
                                                              int level, const float *pos,
                                                              float kappa, float *features) {
    float coords[4];
    facet_livescene_coords4(f, pos, kappa, coords);
    facet_kplanes_sample(&f->proposal_grids[level], coords, features);
}

/* Proposal network `level`: sigma = exp(density_net(prod planes) - 1). */
static inline FACET_HD float
facet_livescene_proposal_density_scratch(const facet_livescene_field *f, int level,
                                         const float *pos, float kappa, float *scratch) {
    float raw;
    float *features = scratch; /* [channels] */
    facet_livescene_proposal_features(f, level, pos, kappa, features);
    facet_mlp_forward_scratch(&f->density_net[level], features, &raw,
                              scratch + f->proposal_grids[level].channels);
    return facet_livescene_density_activation(raw);
}

static inline FACET_HD float facet_livescene_proposal_density(const facet_livescene_field *f,
                                                              int level, const float *pos,
                                                              float kappa) {
    float scratch[FACET_LIVESCENE_MAX_SCRATCH];
    return facet_livescene_proposal_density_scratch(f, level, pos, kappa, scratch);
}

/* The sigma net's input at (pos, kappa): coords[4] (facet_livescene_coords4) and features[sum of
 * the scales' channels], the K-Planes features concatenated over scales. */
static inline FACET_HD void facet_livescene_sigma_features(const facet_livescene_field *f,
                                                           const float *pos, float kappa,
                                                           float *coords, float *features) {
    facet_livescene_coords4(f, pos, kappa, coords);
    int offset = 0;
    for (int s = 0; s < f->scales; s++) {
        facet_kplanes_sample(&f->grids[s], coords, features + offset);
        offset += f->grids[s].channels;
    }
}

/* The main field's sigma net at one sample: coords[4] (facet_livescene_coords4), features
 * [sum of the scales' channels] (K-Planes features concatenated over scales) and out
 * [geo_feat_dim + 1] (geo features, then the raw density), the hidden layer in mlp_scratch
 * (facet_mlp_scratch_floats of the sigma net). Shared by the density and its backward pass
 * (fields/livescene_backward.h). */
static inline FACET_HD void facet_livescene_sigma_forward_scratch(const facet_livescene_field *f,
                                                                  const float *pos, float kappa,
                                                                  float *coords, float *features,
                                                                  float *out, float *mlp_scratch) {
    facet_livescene_sigma_features(f, pos, kappa, coords, features);
    facet_mlp_forward_scratch(&f->sigma_net, features, out, mlp_scratch);
}

static inline FACET_HD void facet_livescene_sigma_forward(const facet_livescene_field *f,
                                                          const float *pos, float kappa,
                                                          float *coords, float *features,
                                                          float *out) {
    float scratch[2 * FACET_MLP_MAX_WIDTH];
    facet_livescene_sigma_forward_scratch(f, pos, kappa, coords, features, out, scratch);
}

/* Main field density: features concatenated over scales -> sigma_net; geo[geo_feat_dim] out;
 * sigma = exp(raw - 1) with raw the last output. */
static inline FACET_HD float facet_livescene_field_density_scratch(const facet_livescene_field *f,
                                                                   const float *pos, float kappa,
                                                                   float *geo, float *scratch) {
    float coords[4];
    float *features = scratch, *out = scratch + facet_livescene_feature_count(f); /* [geo + 1] */
    facet_livescene_sigma_forward_scratch(f, pos, kappa, coords, features, out,
                                          out + f->geo_feat_dim + 1);
    for (int i = 0; i < f->geo_feat_dim; i++) geo[i] = out[i];
    return facet_livescene_density_activation(out[f->geo_feat_dim]);
}

static inline FACET_HD float facet_livescene_field_density(const facet_livescene_field *f,
                                                           const float *pos, float kappa,
                                                           float *geo) {
    float scratch[FACET_LIVESCENE_MAX_SCRATCH];
    return facet_livescene_field_density_scratch(f, pos, kappa, geo, scratch);
}

/* The colour net's input: input[16 + geo_feat_dim] = [SH degree 4 of dir, geo]. */
static inline FACET_HD void facet_livescene_color_input(const facet_livescene_field *f,
                                                        const float *dir, const float *geo,
                                                        float *input) {
    facet_sh4_tcnn(dir[0], dir[1], dir[2], input);
    for (int i = 0; i < f->geo_feat_dim; i++) input[16 + i] = geo[i];
}

/* Main field colour for unit direction dir and geometry features geo: rgb[3] in [0, 1]. */
static inline FACET_HD void facet_livescene_field_color_scratch(const facet_livescene_field *f,
                                                                const float *dir, const float *geo,
                                                                float *rgb, float *scratch) {
    float *input = scratch; /* [SH 16, geo] */
    facet_livescene_color_input(f, dir, geo, input);
    facet_mlp_forward_scratch(&f->color_net, input, rgb, scratch + 16 + f->geo_feat_dim);
}

static inline FACET_HD void facet_livescene_field_color(const facet_livescene_field *f,
                                                        const float *dir, const float *geo,
                                                        float *rgb) {
    float scratch[FACET_LIVESCENE_MAX_SCRATCH];
    facet_livescene_field_color_scratch(f, dir, geo, rgb, scratch);
}

#ifdef __cplusplus
extern "C" {
#endif

/* One parameter tensor of a model: its name in the weights file and its file-layout shape
 * ([out, in] weights are held transposed, [C, res_b, res_a] planes channels-last). */
typedef struct facet_livescene_buffer {
    char name[128];
    int ndim;
    int64_t shape[3];
    size_t count, bytes;
} facet_livescene_buffer;

/* A loaded model: the field view over host memory it owns, plus the renderer's configuration. */
typedef struct facet_livescene_model {
    facet_livescene_field field;
    int num_proposal_samples[FACET_LIVESCENE_MAX_PROPOSALS]; /* per proposal level (256, 128) */
    int num_samples;                                         /* final level (48) */
    float near_plane;                                        /* 0 at evaluation */
    float background[3];                                     /* display space (white) */
    char *object_names[FACET_LIVESCENE_MAX_OBJECTS];
    /* model-from-dataset transform (nerfstudio dataparser): p' = scale * (R p + t) */
    float dataparser_transform[12]; /* 3x4 row-major [R | t] */
    float dataparser_scale;
    /* Language data of checkpoints trained with language (optional: language_rows is 0 when
     * absent; fields/livescene_format.md, "Language"): per object the official semantic_mapping,
     * a 1D grid of CLIP features over the normalised frame id, held transposed like the MLP
     * weights (semantic_mapping[o] is [language_dim][language_rows]); and the normalised ids of
     * the training frames the official controller evaluates it at (count 0: none stored). */
    int language_rows, language_dim;
    const float *semantic_mapping[FACET_LIVESCENE_MAX_OBJECTS];
    int language_frame_count;
    const float *language_frame_ids;
    int64_t parameter_count;
    int buffer_count;
    void **buffers;                      /* allocations behind the view, one per tensor */
    facet_livescene_buffer *buffer_info; /* [buffer_count] */
    char *config_json;                   /* the config metadata, as loaded */
} facet_livescene_model;

/* Loads facet LiveScene weights (format version 1). `storage` chooses how planes are held in
 * memory: f32 (exact) or f16/bf16 (half the memory; accuracy in README). Every tensor is checked
 * against the config, and tensors the format does not name are rejected; errors name the file
 * and the tensor. */
facet_status facet_livescene_load(facet_livescene_model *model, const char *path,
                                  facet_plane_storage storage);
void facet_livescene_free(facet_livescene_model *model);

/* The model's field view re-based onto another set of buffers laid out like the model's own
 * (buffers[i] has the shape of model->buffers[i]): gradient buffers, a device copy, per-thread
 * accumulators. Every plane of every grid and every MLP weight follows; pointers that are not one
 * of the model's buffers become NULL. The one walk over the field's pointers. */
facet_livescene_field facet_livescene_field_over(const facet_livescene_model *model,
                                                 void *const *buffers);

/* A zero-initialised model (f32 planes) of a config with the official network widths, for
 * fitting; facet_livescene_save writes it in the weights format. */
facet_status facet_livescene_create(facet_livescene_model *model, const char *config_json);
facet_status facet_livescene_save(const facet_livescene_model *model, const char *path,
                                  const char *source);

/* Writes random weights (format version 1, F16 tensors) for a config JSON (the `config` metadata
 * of fields/livescene_format.md) with the official network widths: planes U(0.1, 0.5) (kappa
 * planes 1 +- 0.3, as nerfstudio initialises them, perturbed so kappa matters), weights
 * U(-1/sqrt(in), 1/sqrt(in)). For benchmarks and size tests: the official default config needs
 * no checkpoint. Deterministic for a seed. */
facet_status facet_livescene_write_random(const char *path, const char *config_json, uint64_t seed);

/* The official default configuration (128/256/512 spatial, 32 kappa cells, 32 channels, two
 * proposal grids, a 128^3 probability tri-plane) with `objects` objects named object0... */
const char *facet_livescene_default_config(int objects, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
