/* gpu_parity: every CUDA entry point against its CPU reference, one line per case
 * (tests/gpu/parity.h). Exits 0 when every case passes, 1 when one fails, 77 (ctest: skipped)
 * without a usable CUDA device.
 *
 *   gpu_parity                 all suites
 *   gpu_parity render fit      the named suites (harness render lighting fit fit_curve
 *                              fit_curve_f16 fit_curve_blender fqgan language lpips mlp)
 *   gpu_parity --list          the suite names
 *   FACET_PARITY_KEEP=1        keep the scratch directory (generated scenes, fits) and print it
 *
 * The `harness` suite first shows that the comparison itself fails what it must: a NaN written
 * into an otherwise equal output, and an output shifted by one element (an off-by-one index). */
#include "parity.h"

#include "core/cuda/device.h"
#include "core/progress.h"
#include "core/status.h"
#include "nodes/builtin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SKIP = 77 };

static char scratch[256];

const char *parity_source_dir(void) {
    const char *env = getenv("FACET_SOURCE_DIR"); /* the device bundle sets it */
    return env && *env ? env : FACET_SOURCE_DIR;
}

const char *parity_scratch_dir(void) {
    return scratch;
}

/* The comparison's own check: a case whose output carries one NaN, and one whose output is the
 * reference shifted by one element, must both be judged FAIL; the reference against itself ok. */
static int suite_harness(void) {
    enum { N = 1024 };
    static float ref[N], nan_out[N], shifted[N];
    for (int i = 0; i < N; i++) ref[i] = nan_out[i] = 0.5f + 0.25f * (float)(i % 37) / 37.0f;
    nan_out[N / 2] = (float)NAN;
    for (int i = 0; i < N; i++) shifted[i] = ref[i + 1 < N ? i + 1 : i];
    const parity_tolerance tol = {.abs = 1e-6, .rel = 1e-5, .group = 4, .max_flips = 0.01};
    const parity_stats a = parity_compare(ref, ref, N, &tol);
    const parity_stats b = parity_compare(ref, nan_out, N, &tol);
    const parity_stats c = parity_compare(ref, shifted, N, &tol);
    printf("     (the next two lines must read FAIL: the harness's own check)\n");
    const int fails_ok = parity_report("harness.identical", &a, &tol);
    const int fails_nan = parity_report("harness.injected_nan", &b, &tol);
    const int fails_shift = parity_report("harness.off_by_one", &c, &tol);
    const int ok = !fails_ok && fails_nan && fails_shift;
    printf("%-4s %-44s (NaN %s, off-by-one %s)\n", ok ? "ok" : "FAIL", "harness.self_check",
           fails_nan ? "caught" : "MISSED", fails_shift ? "caught" : "MISSED");
    return !ok;
}

static const struct {
    const char *name;
    parity_suite_fn run;
} SUITES[] = {
    {"harness", suite_harness},
    {"render", parity_suite_render},
    {"lighting", parity_suite_lighting},
    {"fit", parity_suite_fit},
    {"fit_curve", parity_suite_fit_curve},
    {"fit_curve_f16", parity_suite_fit_curve_f16},
    {"fit_curve_blender", parity_suite_fit_curve_blender},
    {"fqgan", parity_suite_fqgan},
    {"language", parity_suite_language},
    {"lpips", parity_suite_lpips},
    {"mlp", parity_suite_mlp},
};
enum { SUITE_COUNT = sizeof SUITES / sizeof *SUITES };

static int selected(int argc, char **argv, const char *name) {
    if (argc <= 1) return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (int s = 0; s < SUITE_COUNT; s++) printf("%s\n", SUITES[s].name);
            return 0;
        }
        int known = 0;
        for (int s = 0; s < SUITE_COUNT; s++) known |= strcmp(argv[i], SUITES[s].name) == 0;
        if (!known) {
            fprintf(stderr, "gpu_parity: unknown suite '%s' (--list names them)\n", argv[i]);
            return 2;
        }
    }
    if (!facet_cuda_available()) {
        printf("no usable CUDA device: skipped\n");
        return SKIP;
    }
    char device[256] = "";
    facet_cuda_device_name(device, sizeof device);
    printf("device: %s%s\n", device,
           parity_exact_build() ? " (exact: no FMA contraction, same-code cases bit for bit)" : "");
    if (facet_register_builtin_node_kinds() != FACET_OK) {
        fprintf(stderr, "%s\n", facet_last_error());
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/facet-parity-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        perror("gpu_parity: mkdtemp");
        return 1;
    }
    printf("%-4s %-44s %9s %10s %10s %6s %6s\n", "", "case", "n", "max_abs", "max_rel", "nonfin",
           "flips");
    int failures = 0;
    for (int s = 0; s < SUITE_COUNT; s++) {
        if (!selected(argc, argv, SUITES[s].name)) continue;
        const double t0 = facet_seconds();
        const int f = SUITES[s].run();
        printf("     -- %s: %d failed, %.1f s\n", SUITES[s].name, f, facet_seconds() - t0);
        failures += f;
    }
    const char *keep = getenv("FACET_PARITY_KEEP");
    if (keep && strcmp(keep, "1") == 0) {
        printf("scratch directory kept: %s\n", scratch);
    } else {
        char command[300];
        snprintf(command, sizeof command, "rm -rf '%s'", scratch);
        if (system(command) != 0) fprintf(stderr, "gpu_parity: could not remove %s\n", scratch);
    }
    printf("%s: %d failed\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
