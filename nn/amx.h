/* Internal to nn/gemm_bf16.c and nn/gemm_i8.c: whether this process may run an AMX kernel. */
#ifndef FACET_NN_AMX_H
#define FACET_NN_AMX_H

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* CPUID.(EAX=7, ECX=0):EDX bits of the AMX features. */
enum { FACET_AMX_BF16 = 22, FACET_AMX_TILE = 24, FACET_AMX_INT8 = 25 };

/* 1 when the CPU has AMX tiles and the feature `feature` (FACET_AMX_BF16 or FACET_AMX_INT8), and
 * Linux grants this process the tile state (programs must request it: arch_prctl
 * ARCH_REQ_XCOMP_PERM; asking again is harmless). `known` caches the answer, -1 until asked;
 * threads may race to set it, and every one computes the same value. */
static inline int facet_amx_usable(int *known, int feature) {
    const int cached = __atomic_load_n(known, __ATOMIC_RELAXED);
    if (cached >= 0) return cached;
    unsigned eax, ebx, ecx, edx;
    int ok = 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx >> FACET_AMX_TILE & 1) &&
        (edx >> feature & 1)) {
        enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
        ok = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
    }
    __atomic_store_n(known, ok, __ATOMIC_RELAXED);
    return ok;
}

#endif
