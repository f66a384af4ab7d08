/* Internal to nn/gemm.c and nn/gemm_bf16.c: the run-time choice among a file's product kernels.
 * The kernels are listed best first, the portable C kernel last; the choice is the first the CPU
 * supports, unless a test or bench forced one by name (facet_gemm_force_kernel,
 * facet_gemm_bf16_force_kernel). */
#ifndef FACET_NN_GEMM_DISPATCH_H
#define FACET_NN_GEMM_DISPATCH_H

#include "core/status.h"

#include <string.h>

typedef struct facet_gemm_dispatch {
    const char *what;         /* for errors: "GEMM", "bf16 GEMM" */
    const char *const *names; /* [count], best first; the last runs on every CPU */
    int count;
    int (*supported)(int index); /* can this CPU run kernel `index`? */
    int forced;                  /* index + 1 of the forced kernel; 0: none */
} facet_gemm_dispatch;

/* The index of the kernel in use. */
static inline int facet_gemm_dispatch_current(const facet_gemm_dispatch *d) {
    if (d->forced) return d->forced - 1;
    for (int i = 0; i < d->count - 1; i++)
        if (d->supported(i)) return i;
    return d->count - 1;
}

/* Forces the kernel called `name` (NULL: back to the automatic choice); fails for an unknown name
 * or one this CPU cannot run. */
static inline facet_status facet_gemm_dispatch_force(facet_gemm_dispatch *d, const char *name) {
    if (!name) {
        d->forced = 0;
        return FACET_OK;
    }
    for (int i = 0; i < d->count; i++)
        if (strcmp(d->names[i], name) == 0) {
            if (!d->supported(i))
                return facet_fail(FACET_ERR_UNSUPPORTED, "this CPU cannot run the %s kernel", name);
            d->forced = i + 1;
            return FACET_OK;
        }
    return facet_fail(FACET_ERR_INVALID_ARGUMENT, "no %s kernel named '%s'", d->what, name);
}

#endif
