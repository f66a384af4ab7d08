/* libfacet_cuemu: the runtime of the CUDA emulator (see include/cuemu.h for the model): fibers and
 * the per-block scheduler, launches, the C-linkage runtime API (cudaMalloc, cudaMemcpy, ...) and
 * the cuBLAS subset facet calls. */
#include "cuemu.h"
#include "cublas_v2.h"

#include <atomic>
#include <cstdarg>
#include <mutex>
#include <thread>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CUEMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CUEMU_ASAN 1
#endif
#endif
#ifdef CUEMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* x86-64 System V fiber switch: pushes the callee-saved registers, MXCSR and the x87 control word
 * on the current stack, stores the stack pointer in *from and resumes the stack `to` (no
 * signal-mask system call, unlike swapcontext). */
extern "C" void cuemu_switch(void **from, void *to);
__asm__(".text\n"
        ".globl cuemu_switch\n"
        ".type cuemu_switch,@function\n"
        "cuemu_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  subq $8, %rsp\n  stmxcsr (%rsp)\n  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n  fldcw 4(%rsp)\n  addq $8, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size cuemu_switch, .-cuemu_switch\n");

namespace cuemu {

/* ---- configuration (environment, read once) -------------------------------------------------- */
namespace {
long env_long(const char *name, long fallback) {
    const char *e = getenv(name);
    if (!e || !*e) return fallback;
    char *end;
    const long v = strtol(e, &end, 10);
    return *end ? fallback : v;
}
} // namespace

size_t stack_bytes() {
    static const size_t bytes = [] {
        long kb = env_long("CUEMU_STACK_KB", 256);
        if (kb < 16) kb = 16;
        return ((size_t)kb * 1024 + 4095) & ~(size_t)4095;
    }();
    return bytes;
}

unsigned workers() {
    static const unsigned n = [] {
        const long v = env_long("CUEMU_THREADS", 1);
        return (unsigned)(v < 1 ? 1 : v > 256 ? 256 : v);
    }();
    return n;
}

bool poison_enabled() {
    static const bool on = env_long("CUEMU_POISON", 0) != 0;
    return on;
}

void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
    abort();
}

namespace {

constexpr size_t kGuard = 64 * 1024; /* below each fiber stack: faults on overflow */

/* ---- AddressSanitizer: told about every stack switch (no-ops otherwise) ---------------------- */
inline void asan_start(void **fake, const void *lo, size_t size) {
#ifdef CUEMU_ASAN
    __sanitizer_start_switch_fiber(fake, lo, size);
#else
    (void)fake, (void)lo, (void)size;
#endif
}
inline void asan_finish(void *fake, const void **lo, size_t *size) {
#ifdef CUEMU_ASAN
    __sanitizer_finish_switch_fiber(fake, lo, size);
#else
    (void)fake, (void)lo, (void)size;
#endif
}

/* ---- fibers ---------------------------------------------------------------------------------- */
[[noreturn]] void fiber_entry() {
    Block *b = tl_block;
    asan_finish(nullptr, &b->sched_lo, &b->sched_size);
    b->body(b->arg);
    b->cur->st = St::Done;
    b->cur->where = "exited";
    b->done++;
    asan_start(nullptr, b->sched_lo, b->sched_size); /* this stack is done with */
    cuemu_switch(&b->cur->sp, b->sched_sp);
    __builtin_unreachable();
}

void switch_to(Block &b, Fiber &f) {
    b.cur = &f;
    asan_start(&b.sched_fake, b.stacks[f.linear], b.stack_bytes);
    cuemu_switch(&b.sched_sp, f.sp);
    asan_finish(b.sched_fake, nullptr, nullptr);
}

/* Blocks (fiber stacks and all) are kept for the next launch: a pool shared by all OS threads,
 * never destroyed (it stays reachable for LeakSanitizer at exit). */
std::mutex pool_lock;
std::vector<Block *> &pool = *new std::vector<Block *>;

Block *acquire_block(unsigned count) {
    Block *b = nullptr;
    {
        std::lock_guard<std::mutex> g(pool_lock);
        if (!pool.empty()) {
            b = pool.back();
            pool.pop_back();
        }
    }
    if (!b) {
        b = new Block;
        b->stack_bytes = stack_bytes();
    }
    while (b->stacks.size() < count) {
        char *m = (char *)mmap(nullptr, kGuard + b->stack_bytes, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) fatal("cuemu: mmap of a fiber stack failed\n");
        if (mprotect(m, kGuard, PROT_NONE) != 0) fatal("cuemu: mprotect of a guard failed\n");
        b->stacks.push_back(m + kGuard);
    }
    b->fibers.resize(count);
    return b;
}

void release_block(Block *b) {
    std::lock_guard<std::mutex> g(pool_lock);
    pool.push_back(b);
}

/* ---- stack overflow report: SIGSEGV in a guard region, on an alternate signal stack ---------- */
struct sigaction previous_segv;

void on_segv(int, siginfo_t *si, void *) {
    const Block *b = tl_block;
    const char *a = (const char *)si->si_addr;
    if (b && b->cur) {
        const char *lo = b->stacks[b->cur->linear];
        if (a >= lo - kGuard && a < lo) {
            const Fiber &f = *b->cur;
            char msg[320];
            const int n = snprintf(msg, sizeof msg,
                                   "cuemu: thread %u (%u,%u,%u) of block (%u,%u,%u) overflowed its "
                                   "%zu KB stack: set CUEMU_STACK_KB higher\n",
                                   f.linear, f.tid.x, f.tid.y, f.tid.z, b->idx.x, b->idx.y,
                                   b->idx.z, b->stack_bytes / 1024);
            if (write(2, msg, (size_t)n) < 0) {
            }
            abort();
        }
    }
    sigaction(SIGSEGV, &previous_segv, nullptr); /* not ours: fault again, as before */
}

void install_segv_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous_segv);
    });
}

/* An alternate signal stack for this OS thread while it runs blocks (unless it has one). */
struct AltStack {
    void *mem = nullptr;
    size_t bytes = 64 * 1024;
    AltStack() {
        stack_t cur;
        if (sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) return;
        mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
            mem = nullptr;
            return;
        }
        stack_t ss;
        ss.ss_sp = mem;
        ss.ss_size = bytes;
        ss.ss_flags = 0;
        sigaltstack(&ss, nullptr);
    }
    ~AltStack() {
        if (!mem) return;
        stack_t ss;
        memset(&ss, 0, sizeof ss);
        ss.ss_flags = SS_DISABLE;
        sigaltstack(&ss, nullptr);
        munmap(mem, bytes);
    }
};

/* ---- the per-block scheduler ----------------------------------------------------------------- */

/* Releases every group of waiting lanes that can go: the lanes that wait at a warp intrinsic with
 * mask M, once every lane named in M that has not exited waits there with M. */
bool release_warps(Block &b) {
    bool released = false;
    for (unsigned base = 0; base < b.count; base += 32) {
        const unsigned lanes = b.count - base < 32 ? b.count - base : 32;
        unsigned live = 0, waiting = 0;
        for (unsigned l = 0; l < lanes; l++) {
            const St s = b.fibers[base + l].st;
            if (s != St::Done) live |= 1u << l;
            if (s == St::WarpBarrier) waiting |= 1u << l;
        }
        for (unsigned todo = waiting; todo;) {
            const unsigned mask = b.fibers[base + __builtin_ctz(todo)].mask;
            unsigned same = 0;
            for (unsigned w = waiting; w; w &= w - 1) {
                const unsigned l = __builtin_ctz(w);
                if (b.fibers[base + l].mask == mask) same |= 1u << l;
            }
            todo &= ~same;
            if ((mask & live) != same) continue; /* someone named in the mask is elsewhere */
            for (unsigned w = same; w; w &= w - 1) {
                const unsigned i = base + __builtin_ctz(w);
                b.published[i] = b.pending[i];
                b.fibers[i].group = same;
                b.fibers[i].st = St::Runnable;
            }
            b.at_warp -= (unsigned)__builtin_popcount(same);
            released = true;
        }
    }
    return released;
}

const char *describe(const Fiber &f, char *buf, size_t size) {
    if (f.st == St::WarpBarrier)
        snprintf(buf, size, "%s, mask 0x%08x", f.where, f.mask);
    else
        snprintf(buf, size, "%s", f.st == St::Done ? "exited" : f.where);
    return buf;
}

[[noreturn]] void report_deadlock(const Block &b) {
    fprintf(stderr,
            "cuemu: deadlock in block (%u,%u,%u) of a launch of grid (%u,%u,%u), block "
            "(%u,%u,%u): no thread can run, and the waiting threads can never all meet (a "
            "__syncthreads or *_sync intrinsic that not all threads of the block or mask reach):\n",
            b.idx.x, b.idx.y, b.idx.z, b.grid.x, b.grid.y, b.grid.z, b.dim.x, b.dim.y, b.dim.z);
    for (unsigned i = 0; i < b.count;) {
        char what[128], next[128];
        describe(b.fibers[i], what, sizeof what);
        unsigned j = i + 1;
        while (j < b.count && !strcmp(describe(b.fibers[j], next, sizeof next), what)) j++;
        const uint3 s = b.fibers[i].tid, e = b.fibers[j - 1].tid;
        if (j - i == 1)
            fprintf(stderr, "  thread %u (%u,%u,%u): %s\n", i, s.x, s.y, s.z, what);
        else
            fprintf(stderr, "  threads %u..%u (%u,%u,%u)..(%u,%u,%u): %s\n", i, j - 1, s.x, s.y,
                    s.z, e.x, e.y, e.z, what);
        i = j;
    }
    fflush(stderr);
    abort();
}

/* Runs one block: every thread on its fiber, in thread order, until all have exited. */
void run_block(Block &b) {
    const unsigned n = b.count;
    for (unsigned i = 0; i < n; i++) {
        Fiber &f = b.fibers[i];
        f.linear = i;
        f.tid = uint3{i % b.dim.x, (i / b.dim.x) % b.dim.y, i / (b.dim.x * b.dim.y)};
        f.st = St::Runnable;
        f.mask = 0;
        f.group = 0;
        f.where = "";
        f.asan_fake = nullptr;
        /* the frame cuemu_switch resumes: [mxcsr|fpucw] r15 r14 r13 r12 rbx rbp [fiber_entry] 0 */
        const uintptr_t top = (uintptr_t)(b.stacks[i] + b.stack_bytes) & ~(uintptr_t)15;
        void **sp = (void **)(top - 16);
        sp[0] = (void *)&fiber_entry;
        sp[1] = nullptr;
        for (int r = 1; r <= 6; r++) sp[-r] = nullptr;
        uint32_t *ctl = (uint32_t *)&sp[-7];
        ctl[0] = 0x1F80; /* MXCSR: round to nearest, all exceptions masked, no FTZ/DAZ */
        ctl[1] = 0x037F; /* x87 control word: its default */
        f.sp = (void *)&sp[-7];
    }
    b.at_block = b.at_warp = b.done = 0;
    for (;;) {
        for (unsigned i = 0; i < n; i++)
            if (b.fibers[i].st == St::Runnable) switch_to(b, b.fibers[i]);
        if (b.at_warp && release_warps(b)) continue;
        const unsigned live = n - b.done;
        if (!live) break;
        if (b.at_block != live) report_deadlock(b);
        b.at_block = 0;
        unsigned count = 0;
        for (unsigned i = 0; i < n; i++) {
            Fiber &f = b.fibers[i];
            if (f.st != St::BlockBarrier) continue;
            count += b.pending[i] != 0;
            f.st = St::Runnable;
        }
        b.sync_count = count;
        b.sync_live = live;
    }
    b.cur = nullptr;
}

} // namespace

void wait(St st, unsigned mask, const char *where) {
    Block *b = tl_block;
    if (!b || !b->cur) fatal("cuemu: %s called outside a kernel\n", where);
    Fiber *f = b->cur;
    f->st = st;
    f->mask = mask;
    f->where = where;
    if (st == St::BlockBarrier)
        b->at_block++;
    else
        b->at_warp++;
    asan_start(&f->asan_fake, b->sched_lo, b->sched_size);
    cuemu_switch(&f->sp, b->sched_sp);
    asan_finish(f->asan_fake, &b->sched_lo, &b->sched_size);
}

bool launch_ok(dim3 g, dim3 b, size_t shmem) {
    const unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
    if (shmem != 0) {
        fprintf(stderr, "cuemu: a launch with %zu bytes of dynamic shared memory: not emulated\n",
                shmem);
        set_error(cudaErrorInvalidConfiguration);
        return false;
    }
    if (threads == 0 || threads > 1024 || b.x > 1024 || b.y > 1024 || b.z > 64 || g.x == 0 ||
        g.y == 0 || g.z == 0 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535) {
        set_error(cudaErrorInvalidConfiguration);
        return false;
    }
    return true;
}

void run_kernel(dim3 grid, dim3 block, void (*body)(void *), void *arg) {
    if (tl_block) fatal("cuemu: a kernel launch from device code is not emulated\n");
    install_segv_handler();
    const unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    const unsigned count = block.x * block.y * block.z;
    const unsigned nw = (unsigned)(workers() < blocks ? workers() : blocks);
    auto worker = [&](unsigned first) {
        AltStack alt;
        Block *b = acquire_block(count);
        b->dim = block;
        b->grid = grid;
        b->count = count;
        b->body = body;
        b->arg = arg;
        tl_block = b;
        for (unsigned long long i = first; i < blocks; i += nw) {
            b->idx = uint3{(unsigned)(i % grid.x), (unsigned)(i / grid.x % grid.y),
                           (unsigned)(i / ((unsigned long long)grid.x * grid.y))};
            run_block(*b);
        }
        tl_block = nullptr;
        release_block(b);
    };
    if (nw <= 1) {
        worker(0);
        return;
    }
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < nw; t++) threads.emplace_back(worker, t);
    worker(0);
    for (auto &t : threads) t.join();
}

/* ---- cuBLAS GEMM ----------------------------------------------------------------------------- */
/* Column-major, through the host's cblas_sgemm when the program links one (a weak reference:
 * OpenBLAS in facet) unless CUEMU_GEMM=loops, else plain loops with fp32 accumulation. */
extern "C" void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                            const float *a, int lda, const float *b, int ldb, float beta, float *c,
                            int ldc) __attribute__((weak));

namespace {
bool use_cblas() {
    static const bool use = [] {
        const char *e = getenv("CUEMU_GEMM");
        return cblas_sgemm && !(e && !strcmp(e, "loops"));
    }();
    return use;
}
} // namespace

const char *gemm_backend() {
    return use_cblas() ? "cblas_sgemm" : "loops";
}

namespace {

float load(const void *p, cudaDataType_t t, size_t i) {
    return t == CUDA_R_16BF ? (float)((const __nv_bfloat16 *)p)[i] : ((const float *)p)[i];
}

/* op(X) stored rows x cols with leading dimension ld, as fp32 (TF32-rounded when asked) */
const float *as_fp32(const void *x, cudaDataType_t t, int ld, int rows, int cols, bool tf32,
                     std::vector<float> &buf) {
    if (t == CUDA_R_32F && !tf32) return (const float *)x;
    buf.assign((size_t)ld * (cols ? cols : 1), 0.0f);
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++) {
            const float v = load(x, t, (size_t)c * ld + r);
            buf[(size_t)c * ld + r] = tf32 ? round_tf32(v) : v;
        }
    return buf.data();
}

/* C = alpha op(A) op(B) + beta C for one matrix; beta 0 ignores what C holds (NaN too). */
cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                    const void *A, cudaDataType_t at, int lda, const void *B, cudaDataType_t bt,
                    int ldb, float beta, float *C, int ldc, bool tf32) {
    const bool na = ta == CUBLAS_OP_N, nb = tb == CUBLAS_OP_N;
    const int ra = na ? m : k, ca = na ? k : m, rb = nb ? k : n, cb = nb ? n : k;
    auto op_ok = [](cublasOperation_t o) {
        return o == CUBLAS_OP_N || o == CUBLAS_OP_T || o == CUBLAS_OP_C;
    };
    if (!op_ok(ta) || !op_ok(tb) || m < 0 || n < 0 || k < 0 || lda < (ra > 1 ? ra : 1) ||
        ldb < (rb > 1 ? rb : 1) || ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    if (beta == 0.0f)
        for (int j = 0; j < n; j++) memset(C + (size_t)j * ldc, 0, sizeof(float) * m);
    if (k == 0 || alpha == 0.0f) {
        if (beta != 0.0f && beta != 1.0f)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) C[(size_t)j * ldc + i] *= beta;
        return CUBLAS_STATUS_SUCCESS;
    }
    if (use_cblas()) {
        std::vector<float> abuf, bbuf;
        const float *a = as_fp32(A, at, lda, ra, ca, tf32, abuf);
        const float *b = as_fp32(B, bt, ldb, rb, cb, tf32, bbuf);
        const int col_major = 102, no_trans = 111, trans = 112; /* CBLAS_ORDER, CBLAS_TRANSPOSE */
        cblas_sgemm(col_major, na ? no_trans : trans, nb ? no_trans : trans, m, n, k, alpha, a, lda,
                    b, ldb, beta, C, ldc);
        return CUBLAS_STATUS_SUCCESS;
    }
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float acc = 0.0f;
            for (int l = 0; l < k; l++) {
                float a = load(A, at, na ? (size_t)l * lda + i : (size_t)i * lda + l);
                float b = load(B, bt, nb ? (size_t)j * ldb + l : (size_t)l * ldb + j);
                if (tf32) a = round_tf32(a), b = round_tf32(b);
                acc += a * b;
            }
            float *c = &C[(size_t)j * ldc + i];
            *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
        }
    return CUBLAS_STATUS_SUCCESS;
}

} // namespace
} // namespace cuemu

struct cublasContext {
    cudaStream_t stream;
    cublasMath_t math;
};

extern "C" {

/* ---- device and errors ----------------------------------------------------------------------- */
cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int *d) {
    *d = 0;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
    return d == 0 ? cudaSuccess : ::cuemu::set_error(cudaErrorInvalidDevice);
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    if (d != 0) return ::cuemu::set_error(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "cuemu (CPU emulator)");
    p->totalGlobalMem = (size_t)8 << 30;
    p->sharedMemPerBlock = 48 * 1024;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 0x7fffffff;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->major = 8;
    p->minor = 0;
    p->multiProcessorCount = (int)::cuemu::workers();
    p->maxThreadsPerMultiProcessor = 2048;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) {
    return cudaSuccess;
}
cudaError_t cudaDeviceReset(void) {
    return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
    const cudaError_t e = ::cuemu::last_error;
    ::cuemu::last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) {
    return ::cuemu::last_error;
}
const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess:
        return "no error";
    case cudaErrorInvalidValue:
        return "invalid argument";
    case cudaErrorMemoryAllocation:
        return "out of memory";
    case cudaErrorInitializationError:
        return "initialization error";
    case cudaErrorInvalidConfiguration:
        return "invalid configuration argument";
    case cudaErrorNoDevice:
        return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice:
        return "invalid device ordinal";
    case cudaErrorLaunchFailure:
        return "unspecified launch failure";
    case cudaErrorNotSupported:
        return "operation not supported";
    default:
        return "unknown error";
    }
}
const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess:
        return "cudaSuccess";
    case cudaErrorInvalidValue:
        return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
        return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError:
        return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration:
        return "cudaErrorInvalidConfiguration";
    case cudaErrorNoDevice:
        return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice:
        return "cudaErrorInvalidDevice";
    case cudaErrorLaunchFailure:
        return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported:
        return "cudaErrorNotSupported";
    default:
        return "cudaErrorUnknown";
    }
}

/* ---- memory: host memory; CUEMU_POISON=1 fills fresh blocks with 0xFF (NaN, -1) -------------- */
cudaError_t cudaMalloc(void **p, size_t bytes) {
    void *m = nullptr;
    if (posix_memalign(&m, 256, bytes ? bytes : 1) != 0) {
        *p = nullptr;
        return ::cuemu::set_error(cudaErrorMemoryAllocation);
    }
    if (::cuemu::poison_enabled()) memset(m, 0xFF, bytes);
    *p = m;
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
    free(p);
    return cudaSuccess;
}
/* pinned host memory is uninitialised on a GPU machine too: poisoned alike */
cudaError_t cudaMallocHost(void **p, size_t bytes) {
    return cudaMalloc(p, bytes);
}
cudaError_t cudaFreeHost(void *p) {
    return cudaFree(p);
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind) {
    if (bytes) memmove(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                         size_t height, cudaMemcpyKind) {
    if (width > dpitch || width > spitch) return ::cuemu::set_error(cudaErrorInvalidValue);
    for (size_t r = 0; r < height; r++)
        memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int value, size_t bytes) {
    if (bytes) memset(p, value, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t) {
    return cudaMemset(p, value, bytes);
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    *free_bytes = *total_bytes = (size_t)8 << 30;
    return cudaSuccess;
}

/* ---- streams: every operation completes before it returns ------------------------------------ */
cudaError_t cudaStreamCreate(cudaStream_t *s) {
    *s = nullptr;
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) {
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
    return cudaSuccess;
}

/* ---- cuBLAS ---------------------------------------------------------------------------------- */
cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = new cublasContext{nullptr, CUBLAS_DEFAULT_MATH};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetStream(cublasHandle_t h, cudaStream_t *s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    *s = h->stream;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->math = m;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasGetMathMode(cublasHandle_t h, cublasMath_t *m) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    *m = h->math;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc) {
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc,
                                     0, 1);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long stride_a, const float *B, int ldb,
                                         long long stride_b, const float *beta, float *C, int ldc,
                                         long long stride_c, int batch) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
    const bool tf32 = h->math == CUBLAS_TF32_TENSOR_OP_MATH;
    for (int i = 0; i < batch; i++) {
        const cublasStatus_t s =
            ::cuemu::gemm(ta, tb, m, n, k, *alpha, A + i * stride_a, CUDA_R_32F, lda,
                          B + i * stride_b, CUDA_R_32F, ldb, *beta, C + i * stride_c, ldc, tf32);
        if (s != CUBLAS_STATUS_SUCCESS) return s;
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType_t at,
                            int lda, const void *B, cudaDataType_t bt, int ldb, const void *beta,
                            void *C, cudaDataType_t ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo) {
    return cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, alpha, A, at, lda, 0, B, bt, ldb, 0, beta,
                                      C, ct, ldc, 0, 1, compute, algo);
}

/* A and B fp32 or bf16 (the same type), C fp32, fp32 compute: CUBLAS_COMPUTE_32F (TF32 under
 * CUBLAS_TF32_TENSOR_OP_MATH, as cuBLAS allows), _PEDANTIC (never TF32) or _FAST_TF32 (fp32 A and
 * B rounded to TF32). Anything else: CUBLAS_STATUS_NOT_SUPPORTED. */
cublasStatus_t cublasGemmStridedBatchedEx(
    cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
    const void *alpha, const void *A, cudaDataType_t at, int lda, long long stride_a, const void *B,
    cudaDataType_t bt, int ldb, long long stride_b, const void *beta, void *C, cudaDataType_t ct,
    int ldc, long long stride_c, int batch, cublasComputeType_t compute, cublasGemmAlgo_t) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
    const bool fp32 = at == CUDA_R_32F;
    if (ct != CUDA_R_32F || at != bt || (at != CUDA_R_32F && at != CUDA_R_16BF) ||
        (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
         compute != CUBLAS_COMPUTE_32F_FAST_TF32) ||
        (compute == CUBLAS_COMPUTE_32F_FAST_TF32 && !fp32))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    const bool tf32 =
        fp32 && (compute == CUBLAS_COMPUTE_32F_FAST_TF32 ||
                 (compute == CUBLAS_COMPUTE_32F && h->math == CUBLAS_TF32_TENSOR_OP_MATH));
    const size_t elem = fp32 ? 4 : 2;
    for (int i = 0; i < batch; i++) {
        const cublasStatus_t s = ::cuemu::gemm(
            ta, tb, m, n, k, *(const float *)alpha, (const char *)A + i * stride_a * elem, at, lda,
            (const char *)B + i * stride_b * elem, bt, ldb, *(const float *)beta,
            (float *)C + i * stride_c, ldc, tf32);
        if (s != CUBLAS_STATUS_SUCCESS) return s;
    }
    return CUBLAS_STATUS_SUCCESS;
}

} // extern "C"
