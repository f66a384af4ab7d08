/* cuemu: atomics from many threads and blocks (float, double, int, unsigned, 64-bit; add, sub,
 * CAS, min, max, exchange, and, or, xor, inc, dec). Run with CUEMU_THREADS=1 and 2: with two OS
 * threads the blocks really run concurrently, and the check that they did is part of the test. */
#include "check.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <sys/syscall.h>

namespace {

constexpr int kBlocks = 64, kThreads = 256, kN = kBlocks * kThreads;

struct Counters {
    float f_ones, f_halves, f_bins[37];
    double d_exact, d_inexact;
    int i_add, i_sub, i_max, i_min, i_cas_sum, i_exch_sum, i_exch_last;
    unsigned u_add, u_inc, u_dec, u_and, u_or, u_xor;
    unsigned long long ull_add, ull_cas_max;
};

__device__ int hash(int i) {
    return (int)(((unsigned)i * 2654435761u) >> 8) - (1 << 22);
}

__global__ void hammer(Counters *c, long *tids) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    atomicAdd(&c->f_ones, 1.0f);
    atomicAdd(&c->f_halves, (float)(i % 16) * 0.5f);
    atomicAdd(&c->f_bins[i % 37], 1.0f);
    atomicAdd(&c->d_exact, 0.25 * (i % 8));
    atomicAdd(&c->d_inexact, 1e-3 * (i % 7) + 1e-9);
    atomicAdd(&c->i_add, i % 11 - 5);
    atomicSub(&c->i_sub, i % 3);
    atomicMax(&c->i_max, hash(i));
    atomicMin(&c->i_min, hash(i));
    int old = c->i_cas_sum, seen; /* a CAS loop: the classic emulation of an atomic add */
    while ((seen = atomicCAS(&c->i_cas_sum, old, old + i % 5)) != old) old = seen;
    atomicAdd(&c->i_exch_sum, atomicExch(&c->i_exch_last, i));
    atomicAdd(&c->u_add, 3u);
    atomicInc(&c->u_inc, 99u); /* counts modulo 100 */
    atomicDec(&c->u_dec, 99u);
    atomicAnd(&c->u_and, ~(1u << (i % 32)));
    atomicOr(&c->u_or, 1u << (i % 29));
    atomicXor(&c->u_xor, 1u << (i % 32));
    atomicAdd(&c->ull_add, 1ull << 33);
    unsigned long long cur = c->ull_cas_max, want = (unsigned long long)i << 20, prev;
    while (cur < want && (prev = atomicCAS(&c->ull_cas_max, cur, want)) != cur) cur = prev;
    if (threadIdx.x == 0) tids[blockIdx.x] = syscall(SYS_gettid);
}

/* one address, as much contention as possible: lost updates show when blocks run concurrently */
__global__ void contend(float *f, unsigned long long *u) {
    for (int r = 0; r < 64; r++) {
        atomicAdd(f, 1.0f);
        atomicAdd(u, 1ull);
    }
}

int hash_host(int i) {
    return (int)(((unsigned)i * 2654435761u) >> 8) - (1 << 22);
}

} // namespace

int main() {
    Counters init;
    memset(&init, 0, sizeof init);
    init.i_max = -(1 << 30);
    init.i_min = 1 << 30;
    init.i_exch_last = -1;
    init.u_dec = 0;
    init.u_and = 0xffffffffu;
    Counters *dev = device_alloc<Counters>(1);
    long *tids = device_alloc<long>(kBlocks);
    CUDA_OK(cudaMemcpy(dev, &init, sizeof init, cudaMemcpyHostToDevice));
    FACET_LAUNCH(hammer, kBlocks, kThreads)(dev, tids);
    CUDA_OK(cudaGetLastError());
    Counters c;
    long ht[kBlocks];
    CUDA_OK(cudaMemcpy(&c, dev, sizeof c, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(ht, tids, sizeof ht, cudaMemcpyDeviceToHost));

    /* expected values, from the same per-thread terms summed on the host */
    float want_halves = 0.0f;
    double want_exact = 0.0, want_inexact = 0.0;
    long long want_add = 0, want_sub = 0, want_cas = 0, ids = 0;
    int want_max = -(1 << 30), want_min = 1 << 30, bins[37] = {};
    unsigned want_or = 0, want_xor = 0;
    for (int i = 0; i < kN; i++) {
        want_halves += (float)(i % 16) * 0.5f;
        want_exact += 0.25 * (i % 8);
        want_inexact += 1e-3 * (i % 7) + 1e-9;
        want_add += i % 11 - 5;
        want_sub -= i % 3;
        want_cas += i % 5;
        want_max = std::max(want_max, hash_host(i));
        want_min = std::min(want_min, hash_host(i));
        bins[i % 37]++;
        want_or |= 1u << (i % 29);
        want_xor ^= 1u << (i % 32);
        ids += i;
    }
    int bad_bins = 0;
    for (int b = 0; b < 37; b++) bad_bins += c.f_bins[b] != (float)bins[b];
    check(c.f_ones == (float)kN && c.f_halves == want_halves && bad_bins == 0, "atomic_add_float",
          "%d threads: %.1f (%d), %.1f (%.1f), %d of 37 bins wrong", kN, c.f_ones, kN, c.f_halves,
          want_halves, bad_bins);
    const double rel = std::fabs(c.d_inexact - want_inexact) / want_inexact;
    check(c.d_exact == want_exact && rel < 1e-12, "atomic_add_double",
          "exact %.2f (%.2f), inexact %.12f (%.12f, rel %.1e)", c.d_exact, want_exact, c.d_inexact,
          want_inexact, rel);
    check(c.i_add == want_add && c.i_sub == want_sub && c.u_add == 3u * kN &&
              c.ull_add == (unsigned long long)kN << 33,
          "atomic_add_sub_int", "int %d (%lld), sub %d (%lld), unsigned %u, u64 %llu", c.i_add,
          want_add, c.i_sub, want_sub, c.u_add, c.ull_add);
    check(c.i_cas_sum == want_cas && c.ull_cas_max == (unsigned long long)(kN - 1) << 20,
          "atomic_cas", "CAS-loop add %d (%lld), CAS-loop max %llu", c.i_cas_sum, want_cas,
          c.ull_cas_max);
    check(c.i_max == want_max && c.i_min == want_min, "atomic_max_min", "max %d (%d), min %d (%d)",
          c.i_max, want_max, c.i_min, want_min);
    /* every exchange returns the previous value: the returned values and the last one left are
     * the initial -1 and every thread's index, each once */
    const long long exch = (long long)c.i_exch_sum + c.i_exch_last;
    check(exch == ids - 1, "atomic_exch", "returned + last %lld (%lld)", exch, ids - 1);
    check(c.u_inc == kN % 100 && c.u_dec == (100 - kN % 100) % 100, "atomic_inc_dec",
          "inc %u (%d), dec %u (%d)", c.u_inc, kN % 100, c.u_dec, (100 - kN % 100) % 100);
    check(c.u_and == 0 && c.u_or == want_or && c.u_xor == want_xor, "atomic_and_or_xor",
          "and 0x%08x (0), or 0x%08x (0x%08x), xor 0x%08x (0x%08x)", c.u_and, c.u_or, want_or,
          c.u_xor, want_xor);

    float *f = device_alloc<float>(1);
    unsigned long long *u = device_alloc<unsigned long long>(1);
    CUDA_OK(cudaMemset(f, 0, sizeof *f));
    CUDA_OK(cudaMemset(u, 0, sizeof *u));
    FACET_LAUNCH(contend, kBlocks, kThreads)(f, u);
    CUDA_OK(cudaGetLastError());
    float hf;
    unsigned long long hu;
    CUDA_OK(cudaMemcpy(&hf, f, sizeof hf, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(&hu, u, sizeof hu, cudaMemcpyDeviceToHost));
    check(hf == 64.0f * kN && hu == 64ull * kN, "atomic_add_one_address",
          "%d adds each: float %.0f, u64 %llu", 64 * kN, hf, hu);
    cudaFree(f);
    cudaFree(u);

    std::set<long> threads(ht, ht + kBlocks);
    const char *env = getenv("CUEMU_THREADS");
    const unsigned want_threads = env ? (unsigned)atoi(env) : 1;
    check(threads.size() == want_threads && ::cuemu::workers() == want_threads,
          "blocks_on_os_threads", "%zu OS threads ran the %d blocks (CUEMU_THREADS %s)",
          threads.size(), kBlocks, env ? env : "unset");
    cudaFree(dev);
    cudaFree(tids);
    return check_exit();
}
