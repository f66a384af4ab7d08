/* The GPU parity harness (tests/gpu/parity_*.c, one binary: gpu_parity), in the spirit of ggml's
 * test-backend-ops: every CUDA entry point runs on the same inputs as its CPU reference and prints
 * one line
 *
 *     ok|FAIL  name  n  max_abs  max_rel  nonfinite  flips
 *
 * n: elements compared; max_abs / max_rel: the largest |cuda - cpu| and |cuda - cpu| / |cpu| over
 * the elements that are not flips; nonfinite: elements where either side is NaN or infinite
 * (always a failure: a kernel that writes NaN cannot pass); flips: groups (a pixel, a token, a
 * ray) whose difference exceeds the tolerance, allowed only for cases whose method takes a
 * discrete decision per group (argmax of the object probabilities, sphere tracing hit or miss,
 * an occupancy cell), up to a bound measured per case and documented at the case.
 *
 * An element passes when |cuda - cpu| <= abs + rel * |cpu|. Tolerances follow from the math: a
 * few float ulps (2^-24 relative each) times the condition of the computation, with FMA
 * contraction allowed (nvcc contracts a*b+c by default; so does the emulated build unless
 * -DFACET_CUDA_EMU_CONTRACT=OFF). In the emulated build without contraction
 * (FACET_CUDA_EMU_EXACT), the paths that run the same per-element code as the CPU must be bit
 * identical: their tolerance becomes 0 and no flip is allowed. */
#ifndef FACET_TESTS_GPU_PARITY_H
#define FACET_TESTS_GPU_PARITY_H

#include <stddef.h>
#include <stdint.h>

typedef struct parity_tolerance {
    double abs, rel;  /* per element: |cuda - cpu| <= abs + rel * |cpu| */
    size_t group;     /* elements per flip group (a pixel's 4 channels: 4); 0 -> 1 */
    double max_flips; /* fraction of groups allowed to exceed the tolerance (0: none) */
    int same_code;    /* 1: CPU and CUDA run the same per-element code and the same sums in
                         the same order, so the exact emulated build must match bit for bit */
} parity_tolerance;

typedef struct parity_stats {
    size_t n;
    double max_abs, max_rel;
    size_t nonfinite, flips, groups;
} parity_stats;

/* The statistics of `got` (CUDA) against `ref` (CPU) over n floats. */
parity_stats parity_compare(const float *ref, const float *got, size_t n,
                            const parity_tolerance *tol);

/* Counts of differing entries of integer outputs (tokens, indices), reported as flips of
 * groups of one; max_abs is the largest |difference|. */
parity_stats parity_compare_u16(const uint16_t *ref, const uint16_t *got, size_t n);

/* Judges `s` under `tol` (the exact build's rules applied), prints the case's line and returns 1
 * when it fails, 0 when it passes. */
int parity_report(const char *name, const parity_stats *s, const parity_tolerance *tol);

/* Compare + report in one call. */
int parity_check(const char *name, const float *ref, const float *got, size_t n,
                 const parity_tolerance *tol);

/* Reports a case that could not run (an error from either backend) as a failure line, with the
 * library's message. Returns 1. */
int parity_error(const char *name, const char *what);

/* 1 in the emulated build without FMA contraction. */
int parity_exact_build(void);

/* The source tree (fixtures, assets) and a scratch directory made for this run. */
const char *parity_source_dir(void);
const char *parity_scratch_dir(void);

/* One group of cases: runs them, prints their lines, returns the number of failures. */
typedef int (*parity_suite_fn)(void);

int parity_suite_render(void);   /* parity_render.c: node kinds, depth, masks, rays, targets */
int parity_suite_lighting(void); /* parity_lighting.c: prefilter, irradiance, DFG upload */
int parity_suite_fit(void);      /* parity_fit.c: fit step, gradients, Adam, f16 overflow */
/* parity_fit.c: whole fits' loss curves (no same-code case): the generated scene in fp32 and with
 * fp16 networks, the Blender-rendered cabinet (three suites, so that ctest -j runs them apart) */
int parity_suite_fit_curve(void);
int parity_suite_fit_curve_f16(void);
int parity_suite_fit_curve_blender(void);
int parity_suite_fqgan(void);    /* parity_fqgan.c: encode/quantize/decode per precision */
int parity_suite_language(void); /* parity_language.c: text encoders */
int parity_suite_lpips(void);    /* parity_lpips.c: conv2d, max pooling, LPIPS models */
int parity_suite_mlp(void);      /* parity_mlp.c: fp16 networks on tensor cores */

#endif
