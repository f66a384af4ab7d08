/* The harness's comparison, judgement and report lines (tests/gpu/parity.h). */
#include "parity.h"

#include "core/status.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int parity_exact_build(void) {
#ifdef FACET_CUDA_EMU_EXACT
    return 1;
#else
    return 0;
#endif
}

/* The tolerance that applies in this build: zero for same-code cases in the exact build. */
static parity_tolerance effective(const parity_tolerance *tol) {
    parity_tolerance t = *tol;
    if (t.group == 0) t.group = 1;
    if (t.same_code && parity_exact_build()) {
        t.abs = t.rel = 0.0;
        t.max_flips = 0.0;
    }
    return t;
}

parity_stats parity_compare(const float *ref, const float *got, size_t n,
                            const parity_tolerance *tol) {
    const parity_tolerance t = effective(tol);
    parity_stats s = {.n = n};
    s.groups = (n + t.group - 1) / t.group;
    for (size_t g0 = 0; g0 < n; g0 += t.group) {
        const size_t g1 = g0 + t.group < n ? g0 + t.group : n;
        int flipped = 0;
        double group_abs = 0, group_rel = 0;
        for (size_t i = g0; i < g1; i++) {
            if (!isfinite(ref[i]) || !isfinite(got[i])) {
                s.nonfinite++;
                continue;
            }
            /* double: the difference of two floats is exact here */
            const double diff = fabs((double)got[i] - (double)ref[i]);
            const double mag = fabs((double)ref[i]);
            if (diff > t.abs + t.rel * mag) flipped = 1;
            if (diff > group_abs) group_abs = diff;
            if (mag > 0 && diff / mag > group_rel) group_rel = diff / mag;
            if (mag == 0 && diff > 0) group_rel = INFINITY;
        }
        if (flipped) {
            s.flips++;
            continue;
        }
        if (group_abs > s.max_abs) s.max_abs = group_abs;
        if (group_rel > s.max_rel) s.max_rel = group_rel;
    }
    return s;
}

parity_stats parity_compare_u16(const uint16_t *ref, const uint16_t *got, size_t n) {
    parity_stats s = {.n = n, .groups = n};
    for (size_t i = 0; i < n; i++)
        if (ref[i] != got[i]) {
            s.flips++;
            const double d = fabs((double)ref[i] - (double)got[i]);
            if (d > s.max_abs) s.max_abs = d;
        }
    return s;
}

int parity_report(const char *name, const parity_stats *s, const parity_tolerance *tol) {
    const parity_tolerance t = effective(tol);
    const double allowed = floor(t.max_flips * (double)s->groups);
    const int ok = s->n > 0 && s->nonfinite == 0 && (double)s->flips <= allowed;
    printf("%-4s %-44s %9zu %10.3g %10.3g %6zu %6zu   (tol %.3g + %.3g|cpu|, flips <= %.0f of "
           "%zu)\n",
           ok ? "ok" : "FAIL", name, s->n, s->max_abs, s->max_rel, s->nonfinite, s->flips, t.abs,
           t.rel, allowed, s->groups);
    fflush(stdout);
    return !ok;
}

int parity_check(const char *name, const float *ref, const float *got, size_t n,
                 const parity_tolerance *tol) {
    const parity_stats s = parity_compare(ref, got, n, tol);
    return parity_report(name, &s, tol);
}

int parity_error(const char *name, const char *what) {
    printf("%-4s %-44s %9d %10s %10s %6s %6s   (%s: %s)\n", "FAIL", name, 0, "-", "-", "-", "-",
           what, facet_last_error());
    fflush(stdout);
    return 1;
}
