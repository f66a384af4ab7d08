/* cuemu: facet's CPU emulator of the CUDA runtime (C++17, x86-64 Linux, gcc or clang).
 *
 * The emulated build (-DFACET_CUDA_EMU=ON) compiles every .cu file as C++ with -D__CUDACC__
 * -D__CUDA_ARCH__=800 -include cuda_runtime.h against this directory's headers, and links
 * libfacet_cuemu (cuemu_runtime.cpp) in place of cudart and cuBLAS. Kernels are launched with
 * `::cuemu::launch(kernel, grid, block)(args...)`; facet writes FACET_LAUNCH (core/cuda/launch.h).
 *
 * The model
 * - A launch runs to completion before it returns (every stream is synchronous). Its blocks run on
 *   the calling thread, or on CUEMU_THREADS OS threads (block i on worker i % CUEMU_THREADS). An OS
 *   thread runs one block at a time, from its first instruction to its last.
 * - Every thread of a block is a fiber on that OS thread, with a stack of its own (CUEMU_STACK_KB,
 *   default 256 KB, reserved with MAP_NORESERVE so only touched pages cost memory) above a 64 KB
 *   guard region: an overflow is reported as such. Fibers never move to another OS thread.
 * - Fibers switch only at barriers, in thread order: __syncthreads (the block barrier, released
 *   when every thread that has not exited waits at it) and the *_sync warp intrinsics (a barrier
 *   over the lanes named in the mask, released when every lane of the mask that has not exited
 *   waits at an intrinsic with the same mask). Threads may exit at any time; an exited thread no
 *   longer counts at any barrier, as on sm_70 and later. When nothing can run and the waiting
 *   threads can never all meet, cuemu prints "cuemu: deadlock ..." with where each thread waits,
 *   and aborts.
 * - __shared__ is `static thread_local`: one copy per OS thread. That is right only because an OS
 *   thread runs one block at a time and fibers never migrate. Shared memory is not cleared between
 *   blocks: a block sees what the previous block on its OS thread left (zero at first).
 * - Shuffles follow PTX shfl.sync: a lane reads from the lane PTX names (segments of `width` lanes,
 *   out-of-segment sources read the caller's own value). Reading from a lane that does not take
 *   part (exited, or not in the mask) is undefined in CUDA: cuemu returns the caller's own value,
 *   or all-ones bytes (NaN) under CUEMU_POISON=1.
 * - Atomics are real host atomics (sequentially consistent), so CUEMU_THREADS > 1 is safe.
 * - Device memory is host memory: cudaMalloc is a 256-byte aligned malloc, copies are memmove
 *   whatever their cudaMemcpyKind. With CUEMU_POISON=1 every fresh cudaMalloc / cudaMallocHost
 *   block is filled with 0xFF bytes: NaN as float, double or bf16, -1 as a signed integer, so
 *   a kernel that reads memory nobody wrote produces NaN.
 * - Math is the host's libm and compiler (not libdevice); -ffp-contract decides FMA contraction.
 *   The _rn intrinsics (__fmul_rn, __fadd_rn, ...) are never contracted, as in CUDA.
 *
 * Not emulated: dynamic shared memory (`extern __shared__`; a launch with shmem > 0 fails with
 * cudaErrorInvalidConfiguration), textures and surfaces, cooperative groups, events, graphs,
 * __constant__ symbols through cudaMemcpyToSymbol, launches from device code, lockstep warps
 * (lanes run one after another between two intrinsics), the weak GPU memory model (all memory is
 * coherent), and threads that spin waiting for another thread of their block (they hang: fibers
 * switch only at barriers). */
#ifndef CUEMU_H
#define CUEMU_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <math.h>
#include <string.h>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

/* ---- qualifiers ------------------------------------------------------------------------------ */
#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __shared__ static thread_local
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __device_builtin__
#define CUDART_CB

/* ---- vector types ---------------------------------------------------------------------------- */
/* CUDA's alignment: a 2-vector of T at 2 sizeof(T), a 4-vector at 4 sizeof(T), both at most 16. */
#define CUEMU_ALIGN_VEC(T, n) __attribute__((aligned(sizeof(T) * n <= 16 ? sizeof(T) * n : 16)))
#define CUEMU_VEC(T, N)                                                                            \
    struct N##1 {                                                                                  \
        T x;                                                                                       \
    };                                                                                             \
    struct CUEMU_ALIGN_VEC(T, 2) N##2 {                                                            \
        T x, y;                                                                                    \
    };                                                                                             \
    struct N##3 {                                                                                  \
        T x, y, z;                                                                                 \
    };                                                                                             \
    struct CUEMU_ALIGN_VEC(T, 4) N##4 {                                                            \
        T x, y, z, w;                                                                              \
    };                                                                                             \
    inline N##1 make_##N##1(T x) {                                                                 \
        return N##1 {x};                                                                           \
    }                                                                                              \
    inline N##2 make_##N##2(T x, T y) {                                                            \
        return N##2 {x, y};                                                                        \
    }                                                                                              \
    inline N##3 make_##N##3(T x, T y, T z) {                                                       \
        return N##3 {x, y, z};                                                                     \
    }                                                                                              \
    inline N##4 make_##N##4(T x, T y, T z, T w) {                                                  \
        return N##4 {x, y, z, w};                                                                  \
    }
CUEMU_VEC(signed char, char)
CUEMU_VEC(unsigned char, uchar)
CUEMU_VEC(short, short)
CUEMU_VEC(unsigned short, ushort)
CUEMU_VEC(int, int)
CUEMU_VEC(unsigned int, uint)
CUEMU_VEC(long, long)
CUEMU_VEC(unsigned long, ulong)
CUEMU_VEC(long long, longlong)
CUEMU_VEC(unsigned long long, ulonglong)
CUEMU_VEC(float, float)
CUEMU_VEC(double, double)
#undef CUEMU_VEC
#undef CUEMU_ALIGN_VEC

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
        : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};

/* ---- runtime API types (cudart's values) ----------------------------------------------------- */
enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorLaunchFailure = 719,
    cudaErrorNotSupported = 801,
    cudaErrorUnknown = 999,
};
typedef enum cudaError cudaError_t;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4
};
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
/* The fields facet reads; the layout is not cudart's (nothing outside the emulated build sees
 * it). */
struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem, sharedMemPerBlock;
    int regsPerBlock, warpSize;
    size_t memPitch;
    int maxThreadsPerBlock, maxThreadsDim[3], maxGridSize[3], clockRate;
    size_t totalConstMem;
    int major, minor, multiProcessorCount, maxThreadsPerMultiProcessor;
};

namespace cuemu {

/* ---- the emulator's state (cuemu_runtime.cpp holds the code) --------------------------------- */
enum class St : unsigned char { Runnable, BlockBarrier, WarpBarrier, Done };

struct Fiber {
    void *sp;          /* saved stack pointer while switched out */
    void *asan_fake;   /* AddressSanitizer's fake stack while switched out */
    uint3 tid;         /* threadIdx */
    unsigned linear;   /* x + y bx + z bx by */
    St st;             /* what it waits at */
    unsigned mask;     /* the mask of the warp intrinsic it waits at */
    unsigned group;    /* the lanes (bits) released with it at its last warp barrier */
    const char *where; /* the barrier it waits at, for the deadlock report */
};

struct Block {
    std::vector<Fiber> fibers;
    std::vector<char *> stacks; /* usable stack of fiber i: [stacks[i], stacks[i] + stack_bytes) */
    size_t stack_bytes = 0;
    void *sched_sp = nullptr;       /* the scheduler's (OS thread's) stack */
    const void *sched_lo = nullptr; /* its extent, for AddressSanitizer */
    size_t sched_size = 0;
    void *sched_fake = nullptr;
    Fiber *cur = nullptr;
    unsigned count = 0; /* threads per block */
    uint3 idx{0, 0, 0};
    dim3 dim, grid;
    void (*body)(void *) = nullptr;
    void *arg = nullptr;
    unsigned at_block = 0, at_warp = 0, done = 0; /* threads waiting at each kind, exited */
    unsigned sync_count = 0, sync_live = 0; /* __syncthreads_count/and/or at the last release */
    unsigned long long pending[1024];       /* what each thread offers at its next barrier */
    unsigned long long published[1024];     /* ... as it was when that barrier released */
};

inline thread_local Block *tl_block = nullptr;
inline thread_local cudaError_t last_error = cudaSuccess;

inline cudaError_t set_error(cudaError_t e) {
    if (e != cudaSuccess) last_error = e;
    return e;
}

size_t stack_bytes();  /* CUEMU_STACK_KB, default 256 KB */
unsigned workers();    /* CUEMU_THREADS, default 1 */
bool poison_enabled(); /* CUEMU_POISON=1 */

/* Switches from the current fiber to the scheduler until the barrier `st` releases it. `mask` and
 * `where` describe a warp barrier (and name the barrier in a deadlock report). */
void wait(St st, unsigned mask, const char *where);
/* Checks a launch configuration: false (and the error set) when it cannot run. */
bool launch_ok(dim3 grid, dim3 block, size_t shmem);
/* Runs body(arg) as every thread of every block of the grid. */
void run_kernel(dim3 grid, dim3 block, void (*body)(void *), void *arg);
[[noreturn]] void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* k<<<grid, block, shmem, stream>>>(args) == launch(k, grid, block, shmem, stream)(args): the
 * arguments convert to the kernel's parameter types as in a plain call, are copied once, and every
 * thread receives its own copy of each. */
template <typename... P> struct Launcher {
    void (*kernel)(P...);
    dim3 grid, block;
    size_t shmem;
    void operator()(P... a) const {
        if (!launch_ok(grid, block, shmem)) return;
        struct Call {
            void (*kernel)(P...);
            std::tuple<std::decay_t<P>...> args;
        } call{kernel, std::tuple<std::decay_t<P>...>(a...)};
        run_kernel(
            grid, block,
            [](void *p) {
                const Call *c = static_cast<const Call *>(p);
                std::apply(c->kernel, c->args); /* by-value parameters: a copy per thread */
            },
            &call);
    }
};
template <typename... P>
Launcher<P...> launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem = 0,
                      cudaStream_t = nullptr) {
    return Launcher<P...>{kernel, grid, block, shmem};
}

/* ---- warp intrinsics (machinery) ------------------------------------------------------------- */
/* A lane offers a value (pending), waits at the warp barrier of its mask, and reads the values the
 * lanes released with it offered (published, snapshot at the release, so lanes that run ahead to
 * their next intrinsic do not disturb it). One fiber switch per intrinsic. */
inline Fiber &me() {
    return *tl_block->cur;
}
inline unsigned lane_of(const Fiber &f) {
    return f.linear % 32;
}

inline void check_mask(unsigned mask, const char *where) {
    const Fiber &f = me();
    if (!(mask >> lane_of(f) & 1u))
        fatal("cuemu: thread %u (%u,%u,%u) of block (%u,%u,%u) calls %s with mask 0x%08x, which "
              "lacks its own lane %u (undefined in CUDA)\n",
              f.linear, f.tid.x, f.tid.y, f.tid.z, tl_block->idx.x, tl_block->idx.y,
              tl_block->idx.z, where, mask, lane_of(f));
}

inline void check_width(int width, const char *where) {
    if (width < 1 || width > 32 || (width & (width - 1)))
        fatal("cuemu: %s with width %d: must be a power of 2 in [1, 32]\n", where, width);
}

/* Offers v at a warp barrier; returns what lane src_of(lane, a, width) of the warp offered there:
 * the caller's own v when that is the caller, and the undefined-read value (own v, or all-ones
 * under CUEMU_POISON) when that lane was not released with the caller. */
template <typename T>
T warp_exchange(unsigned mask, T v, const char *where, int (*src_of)(int, int, int), int a,
                int width) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value,
                  "a warp shuffle moves a trivially copyable type of at most 8 bytes");
    check_mask(mask, where);
    check_width(width, where);
    Block &b = *tl_block;
    Fiber &f = me();
    memcpy(&b.pending[f.linear], &v, sizeof(T));
    wait(St::WarpBarrier, mask, where);
    const int lane = (int)lane_of(f), src = src_of(lane, a, width);
    if (src == lane) return v;
    T r;
    if (f.group >> src & 1u) {
        memcpy(&r, &b.published[f.linear - lane + src], sizeof(T));
    } else if (poison_enabled()) {
        memset(&r, 0xFF, sizeof(T));
    } else {
        r = v;
    }
    return r;
}

/* The source lane of each shuffle, as PTX shfl.sync computes it (b = delta/lane/mask, its low 5
 * bits; a segment is `width` lanes; a source outside what the mode allows is the caller itself). */
inline int seg_first(int lane, int width) {
    return lane & ~(width - 1);
}
inline int seg_last(int lane, int width) {
    return seg_first(lane, width) | (width - 1);
}
inline int src_idx(int lane, int src, int width) {
    return seg_first(lane, width) | (src & (width - 1));
}
inline int src_up(int lane, int d, int width) {
    const int j = lane - (d & 31);
    return j < seg_first(lane, width) ? lane : j;
}
inline int src_down(int lane, int d, int width) {
    const int j = lane + (d & 31);
    return j > seg_last(lane, width) ? lane : j;
}
inline int src_xor(int lane, int m, int width) {
    const int j = lane ^ (m & 31);
    return j > seg_last(lane, width) ? lane : j; /* earlier segments are readable, later not */
}

/* Offers pred at a warp barrier; returns the ballot of the lanes released together (bit l: lane
 * l took part and offered non-zero) and, in *group, those lanes. */
inline unsigned warp_vote(unsigned mask, int pred, const char *where, unsigned *group) {
    check_mask(mask, where);
    Block &b = *tl_block;
    Fiber &f = me();
    b.pending[f.linear] = pred != 0;
    wait(St::WarpBarrier, mask, where);
    const unsigned base = f.linear - lane_of(f);
    unsigned bits = 0;
    for (unsigned l = 0; l < 32; l++)
        if ((f.group >> l & 1u) && b.published[base + l]) bits |= 1u << l;
    *group = f.group;
    return bits;
}

} // namespace cuemu

/* ---- built-in variables ---------------------------------------------------------------------- */
#define threadIdx (::cuemu::tl_block->cur->tid)
#define blockIdx (::cuemu::tl_block->idx)
#define blockDim (::cuemu::tl_block->dim)
#define gridDim (::cuemu::tl_block->grid)
inline constexpr int warpSize = 32;

/* ---- barriers -------------------------------------------------------------------------------- */
inline void __syncthreads() {
    ::cuemu::tl_block->pending[::cuemu::me().linear] = 0;
    ::cuemu::wait(::cuemu::St::BlockBarrier, 0, "__syncthreads");
}
inline int __syncthreads_count(int pred) {
    ::cuemu::tl_block->pending[::cuemu::me().linear] = pred != 0;
    ::cuemu::wait(::cuemu::St::BlockBarrier, 0, "__syncthreads_count");
    return (int)::cuemu::tl_block->sync_count;
}
inline int __syncthreads_and(int pred) {
    ::cuemu::tl_block->pending[::cuemu::me().linear] = pred != 0;
    ::cuemu::wait(::cuemu::St::BlockBarrier, 0, "__syncthreads_and");
    return ::cuemu::tl_block->sync_count == ::cuemu::tl_block->sync_live;
}
inline int __syncthreads_or(int pred) {
    ::cuemu::tl_block->pending[::cuemu::me().linear] = pred != 0;
    ::cuemu::wait(::cuemu::St::BlockBarrier, 0, "__syncthreads_or");
    return ::cuemu::tl_block->sync_count != 0;
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    ::cuemu::check_mask(mask, "__syncwarp");
    ::cuemu::wait(::cuemu::St::WarpBarrier, mask, "__syncwarp");
}
inline void __threadfence() {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
inline void __threadfence_block() {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
inline void __threadfence_system() {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- warp intrinsics ------------------------------------------------------------------------- */
template <typename T> T __shfl_sync(unsigned mask, T v, int src, int width = warpSize) {
    return ::cuemu::warp_exchange(mask, v, "__shfl_sync", ::cuemu::src_idx, src, width);
}
template <typename T> T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
    return ::cuemu::warp_exchange(mask, v, "__shfl_up_sync", ::cuemu::src_up, (int)delta, width);
}
template <typename T> T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
    return ::cuemu::warp_exchange(mask, v, "__shfl_down_sync", ::cuemu::src_down, (int)delta,
                                  width);
}
template <typename T> T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize) {
    return ::cuemu::warp_exchange(mask, v, "__shfl_xor_sync", ::cuemu::src_xor, lane_mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
    unsigned group;
    return ::cuemu::warp_vote(mask, pred, "__ballot_sync", &group);
}
inline int __any_sync(unsigned mask, int pred) {
    unsigned group;
    return ::cuemu::warp_vote(mask, pred, "__any_sync", &group) != 0;
}
inline int __all_sync(unsigned mask, int pred) {
    unsigned group;
    return ::cuemu::warp_vote(mask, pred, "__all_sync", &group) == group;
}
/* The lanes of the caller's warp that have not exited (lanes do not diverge between barriers). */
inline unsigned __activemask() {
    const ::cuemu::Block &b = *::cuemu::tl_block;
    const unsigned base = ::cuemu::me().linear - ::cuemu::lane_of(::cuemu::me());
    unsigned bits = 0;
    for (unsigned l = 0; l < 32 && base + l < b.count; l++)
        if (b.fibers[base + l].st != ::cuemu::St::Done) bits |= 1u << l;
    return bits;
}

/* ---- atomics: host atomics, sequentially consistent ------------------------------------------ */
namespace cuemu {
template <typename T, typename Op> T atomic_update(T *p, T v, Op op) {
    T old, want;
    __atomic_load(p, &old, __ATOMIC_RELAXED);
    do {
        want = op(old, v);
    } while (!__atomic_compare_exchange(p, &old, &want, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return old;
}
} // namespace cuemu
inline int atomicAdd(int *p, int v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline unsigned atomicAdd(unsigned *p, unsigned v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline float atomicAdd(float *p, float v) {
    return ::cuemu::atomic_update(p, v, [](float a, float b) { return a + b; });
}
inline double atomicAdd(double *p, double v) {
    return ::cuemu::atomic_update(p, v, [](double a, double b) { return a + b; });
}
inline int atomicSub(int *p, int v) {
    return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST);
}
inline unsigned atomicSub(unsigned *p, unsigned v) {
    return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST);
}
template <typename T> inline T atomicExch(T *p, T v) {
    T old;
    __atomic_exchange(p, &v, &old, __ATOMIC_SEQ_CST);
    return old;
}
template <typename T> inline T atomicMin(T *p, T v) {
    static_assert(std::is_integral<T>::value, "atomicMin takes an integer type");
    return ::cuemu::atomic_update(p, v, [](T a, T b) { return b < a ? b : a; });
}
template <typename T> inline T atomicMax(T *p, T v) {
    static_assert(std::is_integral<T>::value, "atomicMax takes an integer type");
    return ::cuemu::atomic_update(p, v, [](T a, T b) { return b > a ? b : a; });
}
/* ((old >= v) ? 0 : old + 1) and (((old == 0) || (old > v)) ? v : old - 1), as in CUDA */
inline unsigned atomicInc(unsigned *p, unsigned v) {
    return ::cuemu::atomic_update(p, v, [](unsigned a, unsigned b) { return a >= b ? 0u : a + 1; });
}
inline unsigned atomicDec(unsigned *p, unsigned v) {
    return ::cuemu::atomic_update(
        p, v, [](unsigned a, unsigned b) { return a == 0 || a > b ? b : a - 1; });
}
template <typename T> inline T atomicCAS(T *p, T cmp, T v) {
    __atomic_compare_exchange(p, &cmp, &v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}
template <typename T> inline T atomicAnd(T *p, T v) {
    return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}
template <typename T> inline T atomicOr(T *p, T v) {
    return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}
template <typename T> inline T atomicXor(T *p, T v) {
    return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);
}

/* ---- device math that the host's libm lacks ------------------------------------------------- */
/* The fast intrinsics (__expf, ...) are the accurate host functions: results differ from a GPU's
 * by a few ulps either way. */
namespace cuemu {
/* a value the compiler cannot fuse into an FMA (the _rn intrinsics are never contracted) */
template <typename T> inline T opaque(T x) {
    __asm__("" : "+x"(x));
    return x;
}
} // namespace cuemu
inline float rsqrtf(float x) {
    return 1.0f / sqrtf(x);
}
inline double rsqrt(double x) {
    return 1.0 / sqrt(x);
}
inline float __expf(float x) {
    return expf(x);
}
inline float __exp10f(float x) {
    return powf(10.0f, x);
}
inline float __logf(float x) {
    return logf(x);
}
inline float __log2f(float x) {
    return log2f(x);
}
inline float __sinf(float x) {
    return sinf(x);
}
inline float __cosf(float x) {
    return cosf(x);
}
inline float __tanf(float x) {
    return tanf(x);
}
inline float __powf(float x, float y) {
    return powf(x, y);
}
inline float __fdividef(float x, float y) {
    return x / y;
}
inline float fdividef(float x, float y) {
    return x / y;
}
inline float __saturatef(float x) {
    return x >= 0.0f ? (x <= 1.0f ? x : 1.0f) : 0.0f;
}
inline float __fmaf_rn(float a, float b, float c) {
    return fmaf(a, b, c);
}
inline double __fma_rn(double a, double b, double c) {
    return fma(a, b, c);
}
inline float __fadd_rn(float a, float b) {
    return ::cuemu::opaque(a + b);
}
inline float __fsub_rn(float a, float b) {
    return ::cuemu::opaque(a - b);
}
inline float __fmul_rn(float a, float b) {
    return ::cuemu::opaque(a * b);
}
inline float __fdiv_rn(float a, float b) {
    return ::cuemu::opaque(a / b);
}
inline float __frcp_rn(float a) {
    return ::cuemu::opaque(1.0f / a);
}
inline float __fsqrt_rn(float a) {
    return sqrtf(a);
}
inline double __dadd_rn(double a, double b) {
    return ::cuemu::opaque(a + b);
}
inline double __dmul_rn(double a, double b) {
    return ::cuemu::opaque(a * b);
}
inline int __float2int_rn(float x) {
    return (int)nearbyintf(x);
}
inline int __float2int_rz(float x) {
    return (int)x;
}
inline int __float2int_rd(float x) {
    return (int)floorf(x);
}
inline int __float2int_ru(float x) {
    return (int)ceilf(x);
}
inline float __int2float_rn(int i) {
    return (float)i;
}
inline int __float_as_int(float x) {
    int i;
    memcpy(&i, &x, 4);
    return i;
}
inline unsigned __float_as_uint(float x) {
    unsigned i;
    memcpy(&i, &x, 4);
    return i;
}
inline float __int_as_float(int i) {
    float x;
    memcpy(&x, &i, 4);
    return x;
}
inline float __uint_as_float(unsigned i) {
    float x;
    memcpy(&x, &i, 4);
    return x;
}
inline long long __double_as_longlong(double x) {
    long long i;
    memcpy(&i, &x, 8);
    return i;
}
inline double __longlong_as_double(long long i) {
    double x;
    memcpy(&x, &i, 8);
    return x;
}
inline int __popc(unsigned x) {
    return __builtin_popcount(x);
}
inline int __popcll(unsigned long long x) {
    return __builtin_popcountll(x);
}
inline int __clz(int x) {
    return x ? __builtin_clz((unsigned)x) : 32;
}
inline int __clzll(long long x) {
    return x ? __builtin_clzll((unsigned long long)x) : 64;
}
inline int __ffs(int x) {
    return __builtin_ffs(x);
}
inline int __ffsll(long long x) {
    return __builtin_ffsll(x);
}
inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
inline unsigned __umulhi(unsigned a, unsigned b) {
    return (unsigned)(((unsigned long long)a * b) >> 32);
}
inline int __mulhi(int a, int b) {
    return (int)(((long long)a * b) >> 32);
}
template <typename T> inline T __ldg(const T *p) {
    return *p;
}

/* min and max: exactly CUDA's overload set (crt/math_functions.hpp), so that a call that is
 * ambiguous or converts under nvcc does the same here. Mixed signedness compares as unsigned. */
#define CUEMU_MINMAX(R, A, B)                                                                      \
    inline R min(A a, B b) {                                                                       \
        return (R)a < (R)b ? (R)a : (R)b;                                                          \
    }                                                                                              \
    inline R max(A a, B b) {                                                                       \
        return (R)a > (R)b ? (R)a : (R)b;                                                          \
    }
CUEMU_MINMAX(int, int, int)
CUEMU_MINMAX(unsigned int, unsigned int, unsigned int)
CUEMU_MINMAX(unsigned int, int, unsigned int)
CUEMU_MINMAX(unsigned int, unsigned int, int)
CUEMU_MINMAX(long, long, long)
CUEMU_MINMAX(unsigned long, unsigned long, unsigned long)
CUEMU_MINMAX(unsigned long, long, unsigned long)
CUEMU_MINMAX(unsigned long, unsigned long, long)
CUEMU_MINMAX(long long, long long, long long)
CUEMU_MINMAX(unsigned long long, unsigned long long, unsigned long long)
CUEMU_MINMAX(unsigned long long, long long, unsigned long long)
CUEMU_MINMAX(unsigned long long, unsigned long long, long long)
#undef CUEMU_MINMAX
inline float min(float a, float b) {
    return fminf(a, b);
}
inline float max(float a, float b) {
    return fmaxf(a, b);
}
inline double min(double a, double b) {
    return fmin(a, b);
}
inline double max(double a, double b) {
    return fmax(a, b);
}
inline double min(float a, double b) {
    return fmin(a, b);
}
inline double max(float a, double b) {
    return fmax(a, b);
}
inline double min(double a, float b) {
    return fmin(a, b);
}
inline double max(double a, float b) {
    return fmax(a, b);
}
inline unsigned umin(unsigned a, unsigned b) {
    return min(a, b);
}
inline unsigned umax(unsigned a, unsigned b) {
    return max(a, b);
}
inline long long llmin(long long a, long long b) {
    return min(a, b);
}
inline long long llmax(long long a, long long b) {
    return max(a, b);
}
inline unsigned long long ullmin(unsigned long long a, unsigned long long b) {
    return min(a, b);
}
inline unsigned long long ullmax(unsigned long long a, unsigned long long b) {
    return max(a, b);
}

/* ---- runtime API: extern "C", cudart's signatures (cuemu_runtime.cpp) ------------------------ */
extern "C" {
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *d);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaDeviceReset(void);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t bytes);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                            cudaStream_t stream = 0);
cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                         size_t height, enum cudaMemcpyKind kind);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t stream = 0);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
}
template <typename T> inline cudaError_t cudaMalloc(T **p, size_t bytes) {
    return cudaMalloc((void **)p, bytes);
}
template <typename T> inline cudaError_t cudaMallocHost(T **p, size_t bytes) {
    return cudaMallocHost((void **)p, bytes);
}

#endif
