/* Parallel loops over an index range with OpenMP (dynamic schedule: per-item cost varies, e.g.
 * rays that hit nothing are cheap). Without OpenMP the loop runs serially.
 *
 *     FACET_PARALLEL_FOR(i, 0, n) { out[i] = f(in[i]); }
 */
#ifndef FACET_CORE_PARALLEL_H
#define FACET_CORE_PARALLEL_H

#include <stdint.h>

#define FACET_PRAGMA(x) _Pragma(#x)

/* Before a loop: its iterations carry no memory dependence through the pointers it reads and
 * writes, so the compiler may vectorise it without proving that (gcc's ivdep, clang's
 * assume_safety; nothing elsewhere). */
#if defined(__clang__)
#define FACET_IVDEP FACET_PRAGMA(clang loop vectorize(assume_safety))
#elif defined(__GNUC__)
#define FACET_IVDEP FACET_PRAGMA(GCC ivdep)
#else
#define FACET_IVDEP
#endif
#define FACET_PARALLEL_FOR(var, begin, end)                                                        \
    FACET_PRAGMA(omp parallel for schedule(dynamic, 64))                                           \
    for (int64_t var = (begin); var < (end); var++)

#ifdef __cplusplus
extern "C" {
#endif

/* Threads an OpenMP parallel region will use (1 without OpenMP). */
int facet_thread_count(void);

/* This thread's index in the enclosing parallel region, in [0, facet_thread_count()) (0 outside
 * one and without OpenMP): for per-thread scratch buffers. */
int facet_thread_index(void);

#ifdef __cplusplus
}
#endif
#endif
