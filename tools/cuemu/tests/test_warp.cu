/* cuemu: warp intrinsics: shuffles (every mode, widths 32/16/8, 4- and 8-byte values), the block
 * reduction of nn/cuda/nn.cu, warps that exited early, partial masks, votes,
 * __syncwarp and __activemask. Expected values follow the CUDA programming guide's wording
 * (segments of `width` lanes), written here with division rather than the emulator's bit masks. */
#include "check.h"
#include "nn/cuda/block_reduce.cuh"

#include <cmath>
#include <vector>

namespace {

constexpr unsigned kFull = 0xffffffffu;

/* the value lane l of warp w offers */
__host__ __device__ int value_of(int w, int l) {
    return 1000 * w + 100 + l;
}

enum Mode { IDX, UP, DOWN, XOR };

__global__ void shuffle(int *out, int mode, int arg, int width) {
    const int t = threadIdx.x, v = value_of(t / 32, t % 32);
    int r = 0;
    switch (mode) {
    case IDX:
        r = __shfl_sync(kFull, v, arg, width);
        break;
    case UP:
        r = __shfl_up_sync(kFull, v, (unsigned)arg, width);
        break;
    case DOWN:
        r = __shfl_down_sync(kFull, v, (unsigned)arg, width);
        break;
    case XOR:
        r = __shfl_xor_sync(kFull, v, arg, width);
        break;
    }
    out[t] = r;
}

/* CUDA's rules: a segment is `width` consecutive lanes; idx reads lane srcLane mod width of the
 * caller's segment; up/down read delta lanes lower/higher unless that leaves the segment (then
 * the caller's own value); xor reads lane ^ mask unless that is in a later segment. */
int expected(int mode, int arg, int width, int w, int l) {
    const int first = l / width * width, last = first + width - 1;
    int src = l;
    switch (mode) {
    case IDX:
        src = first + ((arg % width) + width) % width;
        break;
    case UP:
        src = l - arg >= first ? l - arg : l;
        break;
    case DOWN:
        src = l + arg <= last ? l + arg : l;
        break;
    case XOR:
        src = (l ^ arg) <= last ? (l ^ arg) : l;
        break;
    }
    return value_of(w, src);
}

void test_shuffles() {
    const int threads = 64; /* two warps */
    int *dev = device_alloc<int>(threads);
    const char *names[] = {"shfl_sync", "shfl_up_sync", "shfl_down_sync", "shfl_xor_sync"};
    const std::vector<int> args[] = {
        {0, 5, 15, 31, -1, 37}, {1, 3, 8, 16}, {1, 3, 8, 16}, {1, 2, 8, 16, 31}};
    for (int mode = IDX; mode <= XOR; mode++)
        for (int width : {32, 16, 8}) {
            int wrong = 0, cases = 0;
            for (int arg : args[mode]) {
                FACET_LAUNCH(shuffle, 1, threads)(dev, mode, arg, width);
                CUDA_OK(cudaGetLastError());
                int h[threads];
                CUDA_OK(cudaMemcpy(h, dev, sizeof h, cudaMemcpyDeviceToHost));
                for (int t = 0; t < threads; t++) {
                    wrong += h[t] != expected(mode, arg, width, t / 32, t % 32);
                    cases++;
                }
            }
            char name[64];
            snprintf(name, sizeof name, "%s_width%d", names[mode], width);
            check(wrong == 0, name, "%d of %d lane results wrong", wrong, cases);
        }
    cudaFree(dev);
}

/* 8-byte values move whole */
__global__ void shuffle_wide(double *d, long long *ll) {
    const int t = threadIdx.x;
    d[t] = __shfl_xor_sync(kFull, t + 0.125 + 1e-12 * t, 1);
    ll[t] = __shfl_down_sync(kFull, ((long long)t << 40) | t, 2);
}

void test_wide() {
    double *d = device_alloc<double>(32);
    long long *ll = device_alloc<long long>(32);
    FACET_LAUNCH(shuffle_wide, 1, 32)(d, ll);
    CUDA_OK(cudaGetLastError());
    double hd[32];
    long long hl[32];
    CUDA_OK(cudaMemcpy(hd, d, sizeof hd, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(hl, ll, sizeof hl, cudaMemcpyDeviceToHost));
    int wrong = 0;
    for (int t = 0; t < 32; t++) {
        const int x = t ^ 1, y = t + 2 < 32 ? t + 2 : t;
        wrong += hd[t] != x + 0.125 + 1e-12 * x;
        wrong += hl[t] != (((long long)y << 40) | y);
    }
    check(wrong == 0, "shfl_8_byte_values", "double and long long: %d wrong", wrong);
    cudaFree(d);
    cudaFree(ll);
}

/* ---- the block reduction of nn/cuda/nn.cu ---------------------------------------------------- */
/* facet_block_reduce (nn/cuda/block_reduce.cuh): xor shuffles in every warp, then a shuffle
 * inside `if (warp == 0)` */

__global__ void reduce_rows(const float *x, int n, float *max_out, float *sum_out) {
    __shared__ float shared[32];
    const float *row = x + (size_t)blockIdx.x * n;
    float m = -INFINITY, s = 0.0f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, row[j]), s += row[j];
    m = facet_block_reduce(m, true, shared);
    s = facet_block_reduce(s, false, shared);
    if (threadIdx.x == 7) max_out[blockIdx.x] = m, sum_out[blockIdx.x] = s;
}

void test_block_reduce() {
    const int rows = 5, n = 1000;
    std::vector<float> h(rows * n);
    for (int i = 0; i < rows * n; i++) h[i] = (float)((i * 37) % 101 - 50); /* exact sums */
    float *x = device_alloc<float>(rows * n), *mx = device_alloc<float>(rows),
          *sm = device_alloc<float>(rows);
    CUDA_OK(cudaMemcpy(x, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
    for (int threads : {256, 96, 32}) {
        FACET_LAUNCH(reduce_rows, rows, threads)(x, n, mx, sm);
        CUDA_OK(cudaGetLastError());
        float hm[rows], hs[rows];
        CUDA_OK(cudaMemcpy(hm, mx, sizeof hm, cudaMemcpyDeviceToHost));
        CUDA_OK(cudaMemcpy(hs, sm, sizeof hs, cudaMemcpyDeviceToHost));
        int wrong = 0;
        for (int r = 0; r < rows; r++) {
            float want_m = -INFINITY, want_s = 0.0f;
            for (int j = 0; j < n; j++)
                want_m = fmaxf(want_m, h[r * n + j]), want_s += h[r * n + j];
            wrong += hm[r] != want_m || hs[r] != want_s;
        }
        char name[64];
        snprintf(name, sizeof name, "fqgan_block_reduce_%d_threads", threads);
        check(wrong == 0, name, "max and sum of %d rows: %d wrong", rows, wrong);
    }
    cudaFree(x);
    cudaFree(mx);
    cudaFree(sm);
}

/* ---- warps that exited early ----------------------------------------------------------------- */
/* as nn's layer_norm_kernel (nn/cuda/nn.cu): one warp per row, whole warps past the last row return
 */
__global__ void warp_rows(const float *x, int rows, float *out) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    float s = x[row * 32 + lane];
    for (int offset = 16; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
    if (lane == 0) out[row] = s;
}

/* threads 80..127 return: warp 2 keeps lanes 0..15, warp 3 none; the survivors still reduce and
 * meet at __syncthreads */
__global__ void partial_block(int *out) {
    __shared__ int per_warp[4];
    const int t = threadIdx.x;
    if (t >= 80) return;
    int v = t;
    for (int offset = 8; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    v += __shfl_down_sync(0xffffffffu, v, 16); /* lanes 0..15 of warp 2: lanes 16..31 exited */
    if (t % 32 == 0) per_warp[t / 32] = v;
    __syncthreads();
    if (t == 0) out[0] = per_warp[0] + per_warp[1], out[1] = per_warp[2];
}

void test_exited_warps() {
    const int rows = 7; /* 2 blocks of 4 warps: one warp idle */
    std::vector<float> h(rows * 32);
    for (int i = 0; i < rows * 32; i++) h[i] = (float)(i % 13);
    float *x = device_alloc<float>(rows * 32), *out = device_alloc<float>(8);
    CUDA_OK(cudaMemcpy(x, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
    FACET_LAUNCH(warp_rows, 2, 128)(x, rows, out);
    CUDA_OK(cudaGetLastError());
    float got[rows];
    CUDA_OK(cudaMemcpy(got, out, sizeof got, cudaMemcpyDeviceToHost));
    int wrong = 0;
    for (int r = 0; r < rows; r++) {
        float want = 0.0f;
        for (int l = 0; l < 32; l++) want += h[r * 32 + l];
        wrong += got[r] != want;
    }
    check(wrong == 0, "exited_whole_warps", "7 rows on 8 warps: %d wrong", wrong);

    int *dev = device_alloc<int>(2);
    FACET_LAUNCH(partial_block, 1, 128)(dev);
    CUDA_OK(cudaGetLastError());
    int hv[2];
    CUDA_OK(cudaMemcpy(hv, dev, sizeof hv, cudaMemcpyDeviceToHost));
    /* warps 0, 1: lanes l and l^16 sum separately (xor 8..1), then lane 0 adds lane 16's half */
    int want01 = 0, want2 = 0;
    for (int t = 0; t < 64; t++) want01 += t;
    for (int t = 64; t < 80; t++) want2 += t;
    /* lane 0 of warp 2 read lane 16, which exited: undefined in CUDA; cuemu gives the caller's
     * own value (want2 + want2), or all-ones bytes (-1) under CUEMU_POISON=1 */
    const int want_2 = ::cuemu::poison_enabled() ? want2 - 1 : 2 * want2;
    check(hv[0] == want01 && hv[1] == want_2, "exited_lanes_partial_warp",
          "warps 0-1 %d (%d), warp 2 %d (%d)", hv[0], want01, hv[1], want_2);
    cudaFree(x);
    cudaFree(out);
    cudaFree(dev);
}

/* ---- divergent shuffles with partial masks --------------------------------------------------- */
__global__ void partial_masks(int *out) {
    const int t = threadIdx.x, lane = t % 32;
    int v = value_of(t / 32, lane);
    if (lane < 16)
        v = __shfl_sync(0x0000ffffu, v, 3);
    else
        v = __shfl_sync(0xffff0000u, v, 20);
    int w = value_of(t / 32, lane);
    if (lane < 8) w = __shfl_down_sync(0x000000ffu, w, 1, 8); /* lanes 8..31 wait below */
    __syncthreads();
    out[2 * t] = v;
    out[2 * t + 1] = w;
}

void test_partial_masks() {
    int *dev = device_alloc<int>(128);
    FACET_LAUNCH(partial_masks, 1, 64)(dev);
    CUDA_OK(cudaGetLastError());
    int h[128];
    CUDA_OK(cudaMemcpy(h, dev, sizeof h, cudaMemcpyDeviceToHost));
    int wrong = 0;
    for (int t = 0; t < 64; t++) {
        const int w = t / 32, l = t % 32;
        wrong += h[2 * t] != value_of(w, l < 16 ? 3 : 20);
        wrong += h[2 * t + 1] != value_of(w, l < 7 ? l + 1 : l);
    }
    check(wrong == 0, "shfl_partial_masks", "two half-warp groups, an 8-lane group: %d wrong",
          wrong);
    cudaFree(dev);
}

/* ---- votes ----------------------------------------------------------------------------------- */
__global__ void votes(unsigned *out) {
    const int t = threadIdx.x, lane = t % 32;
    unsigned *o = out + 8 * (t / 32);
    const unsigned b = __ballot_sync(kFull, lane % 3 == 0);
    const int any1 = __any_sync(kFull, lane == 13), any0 = __any_sync(kFull, 0);
    const int all1 = __all_sync(kFull, 1), all0 = __all_sync(kFull, lane != 5);
    const unsigned active = __activemask();
    unsigned half = 0;
    if (lane < 16) half = __ballot_sync(0x0000ffffu, lane & 1);
    if (lane == 0) {
        o[0] = b, o[1] = (unsigned)any1, o[2] = (unsigned)any0, o[3] = (unsigned)all1;
        o[4] = (unsigned)all0, o[5] = active, o[6] = half;
    }
}

void test_votes() {
    unsigned *dev = device_alloc<unsigned>(16);
    FACET_LAUNCH(votes, 1, 40)(dev); /* warp 1: lanes 0..7 only */
    CUDA_OK(cudaGetLastError());
    unsigned h[16];
    CUDA_OK(cudaMemcpy(h, dev, sizeof h, cudaMemcpyDeviceToHost));
    int wrong = 0;
    for (int w = 0; w < 2; w++) {
        const int lanes = w == 0 ? 32 : 8;
        unsigned ballot = 0, live = 0, odd = 0;
        for (int l = 0; l < lanes; l++) {
            if (l % 3 == 0) ballot |= 1u << l;
            live |= 1u << l;
            if (l < 16 && (l & 1)) odd |= 1u << l;
        }
        const unsigned *o = h + 8 * w;
        const unsigned want[7] = {ballot, lanes > 13 ? 1u : 0u, 0, 1, lanes > 5 ? 0u : 1u, live,
                                  odd};
        for (int i = 0; i < 7; i++)
            if (o[i] != want[i]) {
                wrong++;
                printf("  warp %d result %d: 0x%08x, expected 0x%08x\n", w, i, o[i], want[i]);
            }
    }
    check(wrong == 0, "ballot_any_all_activemask",
          "full warp and an 8-lane warp, a divergent ballot: %d wrong", wrong);
    cudaFree(dev);
}

/* ---- __syncwarp orders shared-memory writes and reads within a warp -------------------------- */
__global__ void syncwarp_neighbour(int salt, int *out) {
    __shared__ int s[64];
    const int t = threadIdx.x;
    s[t] = t * 3 + salt;
    __syncwarp();
    out[t] = s[(t / 32) * 32 + (t + 1) % 32];
}

void test_syncwarp() {
    int *dev = device_alloc<int>(64), wrong = 0;
    for (int salt : {1, 2}) { /* shared memory holds the last launch's values: change them */
        FACET_LAUNCH(syncwarp_neighbour, 1, 64)(salt, dev);
        CUDA_OK(cudaGetLastError());
        int h[64];
        CUDA_OK(cudaMemcpy(h, dev, sizeof h, cudaMemcpyDeviceToHost));
        for (int t = 0; t < 64; t++) wrong += h[t] != ((t / 32) * 32 + (t + 1) % 32) * 3 + salt;
    }
    check(wrong == 0, "syncwarp_orders_shared", "%d wrong", wrong);
    cudaFree(dev);
}

} // namespace

int main() {
    test_shuffles();
    test_wide();
    test_block_reduce();
    test_exited_warps();
    test_partial_masks();
    test_votes();
    test_syncwarp();
    return check_exit();
}
