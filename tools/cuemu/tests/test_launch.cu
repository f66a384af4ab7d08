/* cuemu: launches, thread and block indices, the block barrier, shared memory, launch errors,
 * the deadlock and stack-overflow reports. */
#include "check.h"

#include <alloca.h>
#include <vector>

namespace {

/* ---- __syncthreads tree reduction in shared memory ------------------------------------------- */
__global__ void block_sum_1d(const int *in, int n, int *out) {
    __shared__ int s[256];
    const unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = i < (unsigned)n ? in[i] : 0;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (t < stride) s[t] += s[t + stride];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = s[0];
}

/* a 3-D block of a 3-D grid, each block reducing the values of its own threads */
__global__ void block_sum_3d(const int *in, int *out) {
    __shared__ int s[64];
    const unsigned t =
        threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
    const unsigned b = blockIdx.x + blockIdx.y * gridDim.x + blockIdx.z * gridDim.x * gridDim.y;
    const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
    s[t] = in[b * threads + t];
    __syncthreads();
    for (unsigned stride = threads / 2; stride > 0; stride /= 2) {
        if (t < stride) s[t] += s[t + stride];
        __syncthreads();
    }
    if (t == 0) out[b] = s[0];
}

void test_reductions() {
    {
        const int n = 37 * 256 - 100, blocks = 37;
        std::vector<int> h(n);
        for (int i = 0; i < n; i++) h[i] = (i * 7919) % 1000 - 500;
        int *in = device_alloc<int>(n), *out = device_alloc<int>(blocks);
        CUDA_OK(cudaMemcpy(in, h.data(), n * sizeof(int), cudaMemcpyHostToDevice));
        FACET_LAUNCH(block_sum_1d, blocks, 256)(in, n, out);
        CUDA_OK(cudaGetLastError());
        std::vector<int> got(blocks);
        CUDA_OK(cudaMemcpy(got.data(), out, blocks * sizeof(int), cudaMemcpyDeviceToHost));
        int bad = 0;
        for (int b = 0; b < blocks; b++) {
            int want = 0;
            for (int i = b * 256; i < (b + 1) * 256 && i < n; i++) want += h[i];
            bad += got[b] != want;
        }
        check(bad == 0, "barrier_tree_reduction_1d", "%d blocks of 256, %d wrong sums", blocks,
              bad);
        cudaFree(in);
        cudaFree(out);
    }
    {
        const dim3 grid(3, 2, 2), block(8, 4, 2);
        const int blocks = 12, threads = 64, n = blocks * threads;
        std::vector<int> h(n);
        for (int i = 0; i < n; i++) h[i] = i * i % 97;
        int *in = device_alloc<int>(n), *out = device_alloc<int>(blocks);
        CUDA_OK(cudaMemcpy(in, h.data(), n * sizeof(int), cudaMemcpyHostToDevice));
        FACET_LAUNCH(block_sum_3d, grid, block)(in, out);
        CUDA_OK(cudaGetLastError());
        std::vector<int> got(blocks);
        CUDA_OK(cudaMemcpy(got.data(), out, blocks * sizeof(int), cudaMemcpyDeviceToHost));
        int bad = 0;
        for (int b = 0; b < blocks; b++) {
            int want = 0;
            for (int t = 0; t < threads; t++) want += h[b * threads + t];
            bad += got[b] != want;
        }
        check(bad == 0, "barrier_tree_reduction_3d", "grid (3,2,2) of blocks (8,4,2), %d wrong",
              bad);
        cudaFree(in);
        cudaFree(out);
    }
}

/* ---- index mapping --------------------------------------------------------------------------- */
struct Record {
    unsigned tid[3], bid[3], bdim[3], gdim[3];
    unsigned warp_first; /* the linear thread index of lane 0 of the thread's warp */
    int writes;
};

__global__ void record_indices(Record *out) {
    const unsigned lin =
        threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
    const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
    const unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    Record *r = &out[b * threads + lin];
    r->tid[0] = threadIdx.x, r->tid[1] = threadIdx.y, r->tid[2] = threadIdx.z;
    r->bid[0] = blockIdx.x, r->bid[1] = blockIdx.y, r->bid[2] = blockIdx.z;
    r->bdim[0] = blockDim.x, r->bdim[1] = blockDim.y, r->bdim[2] = blockDim.z;
    r->gdim[0] = gridDim.x, r->gdim[1] = gridDim.y, r->gdim[2] = gridDim.z;
    r->warp_first = __shfl_sync(0xffffffffu, lin, 0);
    atomicAdd(&r->writes, 1);
}

__global__ void record_block_x(unsigned *out) {
    if (threadIdx.x == 0) out[blockIdx.x] = blockIdx.x + 1;
}

void test_indices() {
    const unsigned g[3] = {3, 4, 5}, d[3] = {4, 3, 5}; /* 60 threads: two warps, one partial */
    const unsigned threads = d[0] * d[1] * d[2], n = g[0] * g[1] * g[2] * threads;
    Record *dev = device_alloc<Record>(n);
    CUDA_OK(cudaMemset(dev, 0, n * sizeof(Record)));
    FACET_LAUNCH(record_indices, dim3(g[0], g[1], g[2]), dim3(d[0], d[1], d[2]))(dev);
    CUDA_OK(cudaGetLastError());
    std::vector<Record> h(n);
    CUDA_OK(cudaMemcpy(h.data(), dev, n * sizeof(Record), cudaMemcpyDeviceToHost));
    unsigned bad = 0;
    for (unsigned i = 0; i < n; i++) {
        /* decode independently: blocks x-fastest, threads x-fastest within a block */
        const unsigned b = i / threads, t = i % threads;
        const unsigned want_t[3] = {t % d[0], t / d[0] % d[1], t / (d[0] * d[1])};
        const unsigned want_b[3] = {b % g[0], b / g[0] % g[1], b / (g[0] * g[1])};
        const Record &r = h[i];
        bool ok = r.writes == 1 && r.warp_first == t / 32 * 32;
        for (int k = 0; k < 3; k++)
            ok = ok && r.tid[k] == want_t[k] && r.bid[k] == want_b[k] && r.bdim[k] == d[k] &&
                 r.gdim[k] == g[k];
        bad += !ok;
    }
    check(bad == 0, "index_mapping_dim3", "grid (3,4,5) x block (4,3,5): %u of %u threads wrong",
          bad, n);
    cudaFree(dev);

    const unsigned wide = 70000; /* gridDim.x may exceed 65535 */
    unsigned *xs = device_alloc<unsigned>(wide);
    FACET_LAUNCH(record_block_x, wide, 1)(xs);
    CUDA_OK(cudaGetLastError());
    std::vector<unsigned> hx(wide);
    CUDA_OK(cudaMemcpy(hx.data(), xs, wide * sizeof(unsigned), cudaMemcpyDeviceToHost));
    unsigned wrong = 0;
    for (unsigned i = 0; i < wide; i++) wrong += hx[i] != i + 1;
    check(wrong == 0, "index_mapping_wide_grid", "grid.x %u: %u blocks wrong", wide, wrong);
    cudaFree(xs);
}

/* ---- __syncthreads_count / _and / _or, with exited threads ----------------------------------- */
__global__ void sync_votes(int *out) {
    const int t = threadIdx.x;
    if (t >= 90) return; /* exited threads do not count */
    const int c = __syncthreads_count(t % 3 == 0);
    const int a1 = __syncthreads_and(t < 90);
    const int a0 = __syncthreads_and(t != 5);
    const int o1 = __syncthreads_or(t == 57);
    const int o0 = __syncthreads_or(0);
    if (t == 0) out[0] = c, out[1] = a1, out[2] = a0, out[3] = o1, out[4] = o0;
}

void test_sync_votes() {
    int *dev = device_alloc<int>(5);
    FACET_LAUNCH(sync_votes, 1, 100)(dev);
    CUDA_OK(cudaGetLastError());
    int h[5];
    CUDA_OK(cudaMemcpy(h, dev, sizeof h, cudaMemcpyDeviceToHost));
    check(h[0] == 30 && h[1] == 1 && h[2] == 0 && h[3] == 1 && h[4] == 0,
          "syncthreads_count_and_or", "count %d (30) and %d %d (1 0) or %d %d (1 0)", h[0], h[1],
          h[2], h[3], h[4]);
    cudaFree(dev);
}

/* ---- launch configuration errors ------------------------------------------------------------- */
__global__ void count_threads(int *n) {
    atomicAdd(n, 1);
}

void test_launch_errors() {
    int *n = device_alloc<int>(1);
    struct {
        dim3 grid, block;
        const char *name;
    } bad[] = {
        {dim3(1), dim3(0), "launch_error_block_0_threads"},
        {dim3(1), dim3(1025), "launch_error_block_1025_threads"},
        {dim3(1), dim3(32, 33), "launch_error_block_32x33_threads"},
        {dim3(1), dim3(1, 1, 65), "launch_error_block_z_65"},
        {dim3(1), dim3(2048, 1, 1), "launch_error_block_x_2048"},
        {dim3(0), dim3(32), "launch_error_grid_x_0"},
        {dim3(1, 65536), dim3(32), "launch_error_grid_y_65536"},
        {dim3(1, 1, 0), dim3(32), "launch_error_grid_z_0"},
    };
    for (const auto &c : bad) {
        CUDA_OK(cudaMemset(n, 0, sizeof(int)));
        FACET_LAUNCH(count_threads, c.grid, c.block)(n);
        const cudaError_t peek = cudaPeekAtLastError();
        const cudaError_t e = cudaGetLastError(), after = cudaGetLastError();
        int ran;
        CUDA_OK(cudaMemcpy(&ran, n, sizeof ran, cudaMemcpyDeviceToHost));
        check(e == cudaErrorInvalidConfiguration && peek == e && after == cudaSuccess && ran == 0,
              c.name, "grid (%u,%u,%u) block (%u,%u,%u): %s, then %s, %d threads ran", c.grid.x,
              c.grid.y, c.grid.z, c.block.x, c.block.y, c.block.z, cudaGetErrorName(e),
              cudaGetErrorName(after), ran);
    }
    CUDA_OK(cudaMemset(n, 0, sizeof(int)));
    FACET_LAUNCH(count_threads, dim3(2, 1, 3), dim3(32, 32))(n);
    const cudaError_t e = cudaGetLastError();
    int ran;
    CUDA_OK(cudaMemcpy(&ran, n, sizeof ran, cudaMemcpyDeviceToHost));
    check(e == cudaSuccess && ran == 6 * 1024, "launch_1024_threads", "%s, %d threads ran (6144)",
          cudaGetErrorName(e), ran);
    cudaFree(n);
}

/* ---- deadlock and misuse reports (in child processes) ---------------------------------------- */
__global__ void divergent_barrier(int *out) {
    int v = threadIdx.x;
    if (blockIdx.x == 1 && threadIdx.x >= 16 && threadIdx.x < 32)
        v = __shfl_sync(0xffffffffu, v, 0); /* lanes 0..15 are at __syncthreads instead */
    else
        __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

__global__ void foreign_mask(int *out) {
    out[threadIdx.x] = __shfl_sync(0x1u, (int)threadIdx.x, 0); /* lane 1 is not in 0x1 */
}

void test_reports() {
    int *out = device_alloc<int>(128);
    ChildResult r = run_child([&] { FACET_LAUNCH(divergent_barrier, 2, 64)(out); });
    const bool named = r.has("cuemu: deadlock in block (1,0,0)") &&
                       r.has("threads 0..15 (0,0,0)..(15,0,0): __syncthreads\n") &&
                       r.has("threads 16..31 (16,0,0)..(31,0,0): __shfl_sync, mask 0xffffffff\n") &&
                       r.has("threads 32..63 (32,0,0)..(63,0,0): __syncthreads\n");
    check(r.aborted() && named, "deadlock_report", "child %s; stderr: %s",
          r.aborted() ? "aborted" : "did not abort", first_line(r.err).c_str());
    if (!named) fprintf(stderr, "%s", r.err.c_str());

    r = run_child([&] { FACET_LAUNCH(foreign_mask, 1, 32)(out); });
    check(r.aborted() &&
              r.has("calls __shfl_sync with mask 0x00000001, which lacks its own lane 1"),
          "mask_without_own_lane_report", "child %s; stderr: %s",
          r.aborted() ? "aborted" : "did not abort", first_line(r.err).c_str());
    cudaFree(out);
}

/* ---- fiber stacks ---------------------------------------------------------------------------- */
__global__ void big_frame(int *out) {
    volatile char buf[200 * 1024]; /* as much as a heavy per-ray kernel, several times over */
    for (unsigned i = 0; i < sizeof buf; i += 512) buf[i] = (char)(i >> 9);
    int sum = 0;
    for (unsigned i = 0; i < sizeof buf; i += 512) sum += buf[i];
    out[threadIdx.x] = sum;
}

__global__ void overflow(int *out) {
    const size_t n = ::cuemu::stack_bytes() + 16 * 1024;
    volatile char *buf = (volatile char *)alloca(n);
    for (size_t i = n; i-- > 0;) buf[i] = 1; /* downwards, from inside the stack into the guard */
    out[threadIdx.x] = buf[0];
}

void test_stacks() {
    const char *env = getenv("CUEMU_STACK_KB");
    if (!env)
        check(::cuemu::stack_bytes() == 256 * 1024, "stack_default_256kb", "%zu KB",
              ::cuemu::stack_bytes() / 1024);
    int *out = device_alloc<int>(64);
    if (::cuemu::stack_bytes() >= 232 * 1024) {
        FACET_LAUNCH(big_frame, 2, 64)(out);
        int h[64];
        CUDA_OK(cudaMemcpy(h, out, sizeof h, cudaMemcpyDeviceToHost));
        int want = 0;
        for (unsigned i = 0; i < 200 * 1024; i += 512) want += (char)(i >> 9);
        bool ok = true;
        for (int i = 0; i < 64; i++) ok = ok && h[i] == want;
        check(ok, "stack_200kb_frame", "64 threads with a 200 KB local array each");
    }

    ChildResult r = run_child([&] { FACET_LAUNCH(overflow, 1, 32)(out); });
    check(r.aborted() && r.has("cuemu: thread 0 (0,0,0) of block (0,0,0) overflowed its") &&
              r.has("set CUEMU_STACK_KB higher"),
          "stack_overflow_report", "child %s; stderr: %s",
          r.aborted() ? "aborted" : "did not abort", first_line(r.err).c_str());
    cudaFree(out);
}

} // namespace

int main() {
    test_reductions();
    test_indices();
    test_sync_votes();
    test_launch_errors();
    test_reports();
    test_stacks();
    return check_exit();
}
