/* Split-sum environment lighting: the prefiltered specular mip chain, the diffuse irradiance cube
 * and the DFG table, built from a lat-long environment map, plus a process-wide cache so every
 * node lit by the same environment shares one copy.
 *
 * Build (nvdiffrec render/light.py, RISE-SDF lib/pbr/light.py EnvironmentLightMipCube):
 *   1. lat-long -> cube of face size `size` (official 512) through each texel centre
 *      (cubemap.h; parity mode clamps the map's texels to [0,1] first, as RISE-SDF's relighting
 *      config `clamp: true`);
 *   2. box-filtered mip chain;
 *   3. diffuse irradiance: cosine convolution of the 16^2 box level (16^2 output); quality mode
 *      convolves the 64^2 box level with exact texel solid angles into a 32^2 output, so that a
 *      sun is placed within a degree, not within a 16^2 texel (5.6 degrees);
 *   4. specular levels i = 0 .. L-1 with L = log2(size / 16) + 1 (6 for 512), face size size >> i,
 *      roughness facet_lighting_level_roughness(i, L): 0.08 + 0.42 i / (L - 2) for i < L - 1
 *      (0.08 + 0.105 i at 512) and 1 for the last, filtered per prefilter.h (parity: the official
 *      99%-cone brute force from level i); quality mode sums the split-sum integral over the
 *      chain's texels on a ladder of 21 roughness levels (or, "filter": "sampled", importance-
 *      samples the official levels).
 * The cube is indexed by world directions (cubemap.h explains the axes per convention). */
#ifndef FACET_LIGHTING_LIGHTING_H
#define FACET_LIGHTING_LIGHTING_H

#include "cubemap.h"
#include "render/envmap.h"
#include "prefilter.h"
#include "render/render.h"
#include "render/scene.h"

#include "core/status.h"

#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_LIGHTING_DEFAULT_SIZE = 512,        /* official cube face size */
    FACET_LIGHTING_DEFAULT_SAMPLES = 64,      /* quality mode, sampled filter: samples per texel */
    FACET_LIGHTING_DIFFUSE_SIZE = 16,         /* official LIGHT_MIN_RES */
    FACET_LIGHTING_QUALITY_DIFFUSE_SIZE = 32, /* quality mode: irradiance output face size */
    FACET_LIGHTING_QUALITY_DIFFUSE_SOURCE = 64, /* quality mode: box level it convolves */
    FACET_LIGHTING_REFERENCE_SAMPLES = 64,      /* reference mode: sample pairs per ray */
};

/* Quality mode's specular filter. */
typedef enum facet_quality_filter {
    /* the default: the split-sum integral by summation over source texels, ring by ring
     * (prefilter.h facet_prefilter_ring_texel), on a finer roughness ladder
     * (facet_lighting_quality_levels), each level filtered for its lobe less the blur of its
     * lookup (facet_lighting_blur_compensated_alpha2). Renders Blender's glossy spheres and tori
     * within 0.3 dB of the exact split-sum (bench/relight_gap.md); about 10 s for a 512^2 cube
     * on two cores */
    FACET_QUALITY_EXACT = 0,
    /* filtered importance sampling on the official level ladder (`samples` per texel): about
     * 3 s for a 512^2 cube on two cores, 4-6 dB below the exact split-sum on r = 0.12 metals */
    FACET_QUALITY_SAMPLED = 1,
} facet_quality_filter;

/* Zero-initialised means: quality mode, exact filter, 512^2 faces (64 samples per texel for the
 * sampled filter). */
typedef struct facet_lighting_options {
    facet_prefilter_mode mode;
    int size;    /* face size of the base cube: a power of two in [64, 4096] (0: 512) */
    int samples; /* quality mode, sampled filter: samples per texel in [1, 65536] (0: 64) */
    facet_quality_filter filter; /* quality mode */
    /* > 0: no split-sum but the Monte Carlo reference (nodes/sdf_reference.h) with this many
     * sample pairs per ray ("reference" mode; sdf nodes only) */
    int reference_samples;
} facet_lighting_options;

/* Reads a node's optional "lighting" key (formats: "quality", "parity", "reference" (when
 * allow_reference), or {"mode", "size", "samples", "filter"}) into options (zeroed first: zero
 * means the defaults; in reference mode "samples" are the sample pairs per ray, default 64);
 * errors name the file and key. Shared by the sdf and risesdf nodes. */
facet_status facet_lighting_options_parse(const facet_doc *doc, const cJSON *json,
                                          const char *key_path, int allow_reference,
                                          facet_lighting_options *options);

/* What the shading functions read (splitsum.h): host or device pointers. */
typedef struct facet_lighting_view {
    /* level i prefiltered for roughness level_roughness[i]: the official ladder in parity mode,
     * the quality ladder (facet_lighting_quality_levels) in quality mode */
    facet_cube_view specular;
    int ladder; /* 1: roughness -> level through level_roughness (quality); 0: the official rule */
    float level_roughness[FACET_CUBE_MAX_LEVELS];
    const float *diffuse; /* padded irradiance cube, face size diffuse_size */
    int diffuse_size;
    const float *dfg; /* 256 x 256 x 2 (dfg_lut.h) */
    /* the environment's turn about its up axis, applied to every lookup direction: a scene's
     * lighting is built from its map unturned (facet_lighting_sync), and each render sets the
     * scene's present angle here (facet_lighting_turn), so turning the map never prefilters
     * again. Built lightings have none. */
    facet_env_turn turn;
} facet_lighting_view;

typedef struct facet_lighting {
    facet_lighting_options options; /* with defaults filled in */
    facet_cube specular;
    float *diffuse;
    facet_lighting_view view;  /* host pointers */
    unsigned long long serial; /* unique per built lighting in this process (device copies
                                  check it to know when to re-upload) */
} facet_lighting;

/* The roughness a specular level is filtered for (nvdiffrec build_mips), L = levels. */
float facet_lighting_level_roughness(int level, int levels);

/* Quality mode's levels for a base face size: their roughness (a ladder from 0, the mirror, to
 * 1, spaced finely enough that interpolating between neighbours stays within about 1% of the
 * exact filter) and face sizes (the mirror at `base`; the others the power of two >= 2 / alpha,
 * two texels per alpha radian, clamped to [16, base / 2]). Returns the level count. */
int facet_lighting_quality_levels(int base, float *roughness, int *sizes);

/* Quality mode's ring plan for a level of roughness r over a chain of base face size `base`
 * (prefilter.h facet_prefilter_ring_texel): the core, out to 4 alpha from R (where D has fallen
 * to 4% of its peak), read at texels about alpha / 3 across; then rings of doubling radius to 90
 * degrees, each read at texels about a third of its inner radius (chain levels: the power of two
 * nearest in log2; from the third ring on, the coarser one). Fills p->alpha2, rings and
 * ring_count. */
void facet_lighting_quality_plan(float roughness, int base, facet_prefilter_level *p);

/* The GGX alpha^2 a quality-ladder level is filtered with, so that the level as shading reads it
 * has the lobe of alpha2 = roughness^4: less the blur that reading adds. Near its peak GGX falls
 * as a normal of variance alpha^2 per axis in the reflected direction (D ~ 1 - theta^2 / (2
 * alpha^2) with theta = 2 theta_h); the bilinear lookup of a level of face size n adds a tent of
 * variance h^2 / 6 and the core's box-filtered source texels (face size core_size; 0: none) a box
 * of h_c^2 / 12, h = sqrt(4 pi / 6) / n the mean texel width in radians. Variances add, so the
 * filter uses alpha^2 - h^2 / 6 - h_c^2 / 12 (at most 19% less), except on levels whose texels
 * are wider than alpha (r < 0.1 at 256^2), which are left as they are. On the 48 Cycles cases at
 * 64 spp (bench/run_relight_gap.sh) this moved the worst case against the exact split-sum from
 * -0.64 dB (r = 0.12 metals) to -0.18 dB. The variance argument holds for what a pixel sees, the
 * mean over the texel positions its reflections sweep; at a single direction the sharper level
 * reads sharper at texel centres (test_relight: 2.0% rms from the split-sum integral at r = 0.12
 * with a 512^2 base cube, 2.9% without; with a 256^2 base, 4.4% against 2.4%). */
float facet_lighting_blur_compensated_alpha2(float alpha2, int level_size, int core_size);

/* The filter parameters of specular level i of `lighting` (mode, size, roughness; quality: the
 * ring plan), shared by the CPU and CUDA prefilters; the caller adds the source pointers. */
void facet_lighting_level_setup(const facet_lighting *lighting, int i, facet_prefilter_level *p);

/* Builds the lighting of an environment (host buffers). device: where the prefilter kernels run
 * (FACET_DEVICE_CUDA: cuda/lighting.cu, results copied back). */
facet_status facet_lighting_build(facet_lighting *out, const facet_envmap_view *env,
                                  const facet_lighting_options *options, facet_device device);
/* A constant environment of radiance rgb (every level and the irradiance are rgb). */
facet_status facet_lighting_build_uniform(facet_lighting *out, const float rgb[3],
                                          const facet_lighting_options *options);
void facet_lighting_free(facet_lighting *lighting);

/* ---- shared lighting for scenes ----------------------------------------------------------- */

/* Keeps *current built for the scene's present environment and `options`: returns at once when
 * it already is; otherwise takes the matching lighting from the process-wide cache (building it
 * on first use) and releases the previous one. A scene without an environment map is lit by a
 * constant environment of its background colour. Environments are told apart by path,
 * resolution, convention, strength and a fingerprint of their texels; not by rotation: the
 * lighting is built from the map unturned and a render applies the turn at lookup (the view's
 * `turn`, facet_lighting_turn). Thread-safe; *current must start NULL. */
facet_status facet_lighting_sync(facet_lighting **current, const facet_scene *scene,
                                 const facet_lighting_options *options, facet_device device);

/* The turn a scene's lighting lookups apply: its environment's rotation (none without a map or
 * at 0 degrees). */
facet_env_turn facet_lighting_turn(const facet_scene *scene);

/* For a node's CPU render call: under the node's `lock`, facet_lighting_sync on the CPU, then a
 * copy of the lighting's view into *view (valid while *current is held by the node) with the
 * scene's turn. */
facet_status facet_lighting_sync_view(facet_lighting **current, pthread_mutex_t *lock,
                                      const facet_scene *scene,
                                      const facet_lighting_options *options,
                                      facet_lighting_view *view);
/* Whether this process is prefiltering a map now (a build, not a read from the lighting cache):
 * 1 with the map's path in path[size] (truncated to fit), else 0 with path "". For progress
 * displays such as the viewer's HUD, whose render thread waits on the build. Thread-safe. */
int facet_lighting_building(char *path, size_t size);

/* Drops a reference taken by facet_lighting_sync (NULL is fine); the last one frees it. */
void facet_lighting_release(facet_lighting *lighting);

/* ---- CUDA (cuda/lighting.cu; FACET_ERR_CUDA in builds without CUDA) ------------------ */

/* The irradiance convolution's source for `lighting`'s mode from the box chain (host or device
 * level pointers): the level's face size and the official flag; weight is left to the caller
 * (facet_cube_texel_weights(size, !official, ...)). */
facet_irradiance_source facet_lighting_irradiance_source(const facet_lighting *lighting,
                                                         const facet_cube_view *chain);

/* Runs the diffuse and specular prefilter kernels on `chain` (the box chain of step 2) into
 * out->diffuse and out->specular (host), same per-texel functions as the CPU path. */
facet_status facet_lighting_prefilter_cuda(const facet_cube *chain, facet_lighting *out);

/* A device copy of a lighting: view holds device pointers into one allocation. */
typedef struct facet_lighting_device {
    facet_lighting_view view;
    void *memory;
} facet_lighting_device;

facet_status facet_lighting_upload(const facet_lighting *lighting, facet_lighting_device *device);
void facet_lighting_device_free(facet_lighting_device *device);

#ifdef __cplusplus
}
#endif
#endif
