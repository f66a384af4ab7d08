/* Split-sum environment lighting: the prefiltered specular mip chain, the diffuse irradiance cube
 * and the DFG table, built from a lat-long environment map, plus a process-wide cache so every
 * node lit by the same environment shares one copy.
 *
 * Build (nvdiffrec render/light.py, RISE-SDF lib/pbr/light.py EnvironmentLightMipCube):
 *   1. lat-long -> cube of face size `size` (official 512) through each texel centre
 *      (cubemap.h; parity mode clamps the map's texels to [0,1] first, as RISE-SDF's relighting
 *      config `clamp: true`);
 *   2. box-filtered mip chain;
 *   3. diffuse irradiance: cosine convolution of the 16^2 box level (16^2 output);
 *   4. specular levels i = 0 .. L-1 with L = log2(size / 16) + 1 (6 for 512), face size size >> i,
 *      roughness facet_lighting_level_roughness(i, L): 0.08 + 0.42 i / (L - 2) for i < L - 1
 *      (0.08 + 0.105 i at 512) and 1 for the last, filtered per prefilter.h (parity: the official
 *      99%-cone brute force from level i; quality: filtered importance sampling of the chain).
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
    FACET_LIGHTING_DEFAULT_SIZE = 512,     /* official cube face size */
    FACET_LIGHTING_DEFAULT_SAMPLES = 64,   /* quality mode, sampled filter: samples per texel */
    FACET_LIGHTING_DIFFUSE_SIZE = 16,      /* official LIGHT_MIN_RES */
    FACET_LIGHTING_REFERENCE_SAMPLES = 64, /* reference mode: sample pairs per ray */
};

/* Quality mode's specular filter. */
typedef enum facet_quality_filter {
    /* filtered importance sampling on the official level ladder (`samples` per texel) */
    FACET_QUALITY_SAMPLED = 0,
    /* the split-sum integral by summation over source texels, ring by ring (prefilter.h
     * facet_prefilter_ring_texel), on a finer roughness ladder (facet_lighting_quality_levels):
     * a few % of the exact integral where the sampled filter is off by 10% between levels, at
     * about 6x the build time (about 30 s for a 512^2 cube on two cores) */
    FACET_QUALITY_EXACT = 1,
} facet_quality_filter;

/* Zero-initialised means: quality mode, sampled filter, 512^2 faces, 64 samples per texel. */
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
 * (prefilter.h facet_prefilter_ring_texel): the core, out to 6 alpha from R (where D has fallen
 * to 1% of its peak), read at texels finer than alpha / 3; then rings of doubling radius to 90
 * degrees, each read at texels half its inner radius. Fills p->alpha2, rings and ring_count. */
void facet_lighting_quality_plan(float roughness, int base, facet_prefilter_level *p);

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
 * resolution, convention, rotation, strength and a fingerprint of their texels. Thread-safe;
 * *current must start NULL. */
facet_status facet_lighting_sync(facet_lighting **current, const facet_scene *scene,
                                 const facet_lighting_options *options, facet_device device);

/* For a node's CPU render call: under the node's `lock`, facet_lighting_sync on the CPU, then a
 * copy of the lighting's view into *view (valid while *current is held by the node). */
facet_status facet_lighting_sync_view(facet_lighting **current, pthread_mutex_t *lock,
                                      const facet_scene *scene,
                                      const facet_lighting_options *options,
                                      facet_lighting_view *view);
/* Drops a reference taken by facet_lighting_sync (NULL is fine); the last one frees it. */
void facet_lighting_release(facet_lighting *lighting);

/* ---- CUDA (cuda/lighting.cu; FACET_ERR_CUDA in builds without CUDA) ------------------ */

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
