/* Lighting suite: the split-sum stack's CUDA kernels (lighting/cuda/lighting.cu) against the
 * CPU loops that share their per-texel functions (lighting/prefilter.h), and the device copy the
 * shading kernels read.
 *
 * Cases, for the forest HDRI at a 128^2 base cube (4 specular levels; the official 512^2 only
 * adds levels of the same code, and costs 16x in the emulated build):
 * - lighting.<mode>.diffuse: the irradiance cube, a cosine-weighted sum over the 16^2 level's
 *   6 x 256 texels. A sum of N positive terms in another order differs by at most N eps relative
 *   (N = 1536, eps = 2^-24: 9e-5); the directions' normalisation adds an ulp per term.
 *   Tolerance rel 2e-4.
 * - lighting.<mode>.specular.level<i>: quality mode sums 64 importance samples per texel, each a
 *   trilinear lookup at a direction made with sinf/cosf/sqrtf (libdevice vs glibc: 1-2 ulp) and
 *   a mip level from log2f: a lookup position moves by ~1e-6 of a face, which moves a bilinear
 *   value by that fraction of its neighbours' difference (HDRI contrast up to ~20 at the sun):
 *   rel 2e-5 per sample, plus 64 eps for the sum: tolerance rel 1e-3 + abs 1e-6. Parity mode
 *   sums every texel of the level inside the 99% cone (up to 6 x 128^2 terms): N eps = 6e-3 is
 *   the worst-case bound for a different order; the CPU reassociates its sum 4 ways (omp simd),
 *   so errors are random-walk, ~sqrt(N) eps = 2e-5; tolerance rel 1e-3. But the official cone is
 *   a hard cutoff (a texel counts when l.R >= cos_cutoff, prefilter.h): a texel within an ulp of
 *   the cone's edge is in on one device and out on the other, a discrete decision that moves the
 *   output by that texel's share (1/30 of the sum at level 0, where the cone holds ~30 texels).
 *   Measured under emulation with FMA: 0.23% of level 0's texels (230 of 101400), none at
 *   coarser levels, none without FMA. Bound: flips <= 1% of texels per level.
 * - lighting.upload.*: the device copy of each table read back must equal the host's exactly. */
#include "parity.h"

#include "core/cuda/device.h"
#include "core/status.h"
#include "lighting/dfg_lut.h"
#include "render/envmap.h"
#include "lighting/lighting.h"

#include <stdio.h>
#include <stdlib.h>

/* Same code and order as the CPU: diffuse, the quality mode's samples and its exact filter's ring
 * sums; the parity mode's CPU sum is reassociated by omp simd, so it is never bit for bit. */
static const parity_tolerance DIFFUSE_TOL = {.abs = 1e-7, .rel = 2e-4, .group = 3, .same_code = 1};
static const parity_tolerance QUALITY_TOL = {.abs = 1e-6, .rel = 1e-3, .group = 3, .same_code = 1};
static const parity_tolerance PARITY_TOL = {
    .abs = 1e-6, .rel = 1e-3, .group = 3, .max_flips = 0.01, .same_code = 0};
static const parity_tolerance EXACT = {0};
/* The exact filter: the same code, but a source texel whose centre lies on a ring boundary joins
 * one ring or the other depending on how FMA contraction rounded l.R, and the rings weigh at
 * different resolutions: up to 2% of texels differ by up to 1%. Measured with FMA contraction on
 * a 2-vCPU Zen 3: 135 of level 1's 6,936 texels (1.9%, close to the bound), by at most 0.11%;
 * at most 28 at the other levels. */
static const parity_tolerance RING_TOL = {
    .abs = 1e-6, .rel = 1e-3, .group = 3, .max_flips = 0.02, .same_code = 0};

static int compare_mode(const facet_envmap *env, facet_prefilter_mode mode,
                        facet_quality_filter filter, const char *label, int size) {
    const facet_lighting_options options = {mode, size, 64, filter, 0};
    facet_lighting cpu, gpu;
    char name[128];
    snprintf(name, sizeof name, "lighting.%s", label);
    if (facet_lighting_build(&cpu, &env->view, &options, FACET_DEVICE_CPU) != FACET_OK)
        return parity_error(name, "CPU build");
    if (facet_lighting_build(&gpu, &env->view, &options, FACET_DEVICE_CUDA) != FACET_OK) {
        facet_lighting_free(&cpu);
        return parity_error(name, "CUDA build");
    }
    int failures = 0;
    snprintf(name, sizeof name, "lighting.%s.diffuse", label);
    failures += parity_check(name, cpu.diffuse, gpu.diffuse,
                             facet_cube_level_floats(cpu.view.diffuse_size), &DIFFUSE_TOL);
    for (int l = 0; l < cpu.specular.levels; l++) {
        snprintf(name, sizeof name, "lighting.%s.specular.level%d", label, l);
        failures += parity_check(name, cpu.specular.level[l], gpu.specular.level[l],
                                 facet_cube_level_floats(cpu.specular.sizes[l]),
                                 mode == FACET_PREFILTER_PARITY  ? &PARITY_TOL
                                 : filter == FACET_QUALITY_EXACT ? &RING_TOL
                                                                 : &QUALITY_TOL);
    }
    facet_lighting_free(&cpu);
    facet_lighting_free(&gpu);
    return failures;
}

/* Reads `floats` floats at device address `device` back to the host and compares exactly. */
static int compare_download(const char *name, const float *host, const float *device,
                            size_t floats) {
    facet_device_buffer view = {(void *)device, floats * sizeof(float)};
    float *back = malloc(floats * sizeof(float));
    if (!back) return parity_error(name, "out of memory");
    int failures;
    if (facet_device_buffer_download(&view, back, floats * sizeof(float)) != FACET_OK)
        failures = parity_error(name, "download");
    else
        failures = parity_check(name, host, back, floats, &EXACT);
    free(back);
    return failures;
}

static int compare_upload(const facet_envmap *env) {
    const facet_lighting_options options = {FACET_PREFILTER_PARITY, 64, 64, FACET_QUALITY_SAMPLED,
                                            0};
    facet_lighting host;
    facet_lighting_device device = {0};
    if (facet_lighting_build(&host, &env->view, &options, FACET_DEVICE_CPU) != FACET_OK)
        return parity_error("lighting.upload", "CPU build");
    int failures = 0;
    if (facet_lighting_upload(&host, &device) != FACET_OK) {
        failures = parity_error("lighting.upload", "upload");
    } else {
        failures += compare_download("lighting.upload.dfg", host.view.dfg, device.view.dfg,
                                     (size_t)FACET_DFG_SIZE * FACET_DFG_SIZE * 2);
        failures +=
            compare_download("lighting.upload.diffuse", host.view.diffuse, device.view.diffuse,
                             facet_cube_level_floats(host.view.diffuse_size));
        for (int l = 0; l < host.specular.levels; l++) {
            char name[64];
            snprintf(name, sizeof name, "lighting.upload.specular.level%d", l);
            failures +=
                compare_download(name, host.specular.level[l], device.view.specular.level[l],
                                 facet_cube_level_floats(host.specular.sizes[l]));
        }
        facet_lighting_device_free(&device);
    }
    facet_lighting_free(&host);
    return failures;
}

int parity_suite_lighting(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/assets/demo/forest.exr", parity_source_dir());
    facet_envmap env;
    if (facet_envmap_load(&env, path, FACET_ENV_BLENDER, 30.0f, 1.0f) != FACET_OK)
        return parity_error("lighting", "environment map");
    int failures =
        compare_mode(&env, FACET_PREFILTER_QUALITY, FACET_QUALITY_SAMPLED, "quality", 128);
    failures += compare_mode(&env, FACET_PREFILTER_QUALITY, FACET_QUALITY_EXACT, "exact", 64);
    failures += compare_mode(&env, FACET_PREFILTER_PARITY, FACET_QUALITY_SAMPLED, "parity", 128);
    failures += compare_upload(&env);
    facet_envmap_free(&env);
    return failures;
}
