/* cuemu: nvcuda::wmma (m16n16k16, __half operands, float accumulators) and __half. Checks:
 * - __float2half_rn against the compiler's _Float16 conversion (nearest even) over every binary16
 *   value and the midpoints between neighbours, and __half2float exact;
 * - a 32 x 48 by 48 x 32 product, tile by tile, against a double product of the same halves (within
 *   the 16-addition bound) and against the emulator's stated order (c + sum_k in ascending k, bit
 *   for bit); row- and column-major operands; the accumulator's load and store;
 * - the accumulator is spread over the lanes (8 elements each): a lane that reads what the others
 *   stored without __syncwarp sees stale memory, with it the tile;
 * - misuse aborts with a message: a warp with an exited lane, a pointer that is not 256-bit
 *   aligned, an ldm that is not a multiple of 16 bytes. */
#include "check.h"

#include <cmath>
#include <cuda_fp16.h>
#include <mma.h>
#include <vector>

namespace {

using namespace nvcuda;

/* c[32][32] = a[32][48] b[48][32] (+ c when accumulate) with a row- or column-major a. */
__global__ void product(const __half *a, const __half *b, float *c, int a_col_major,
                        int accumulate) {
    const int warp = threadIdx.x / 32, m = warp / 2, n = warp % 2; /* 4 warps, one tile each */
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    if (accumulate)
        wmma::load_matrix_sync(acc, c + m * 16 * 32 + n * 16, 32, wmma::mem_row_major);
    else
        wmma::fill_fragment(acc, 0.0f);
    for (int k = 0; k < 3; k++) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
        wmma::load_matrix_sync(fb, b + k * 16 * 32 + n * 16, 32);
        if (a_col_major) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::col_major> fa;
            wmma::load_matrix_sync(fa, a + k * 16 * 32 + m * 16, 32); /* a^T stored [48][32] */
            wmma::mma_sync(acc, fa, fb, acc);
        } else {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
            wmma::load_matrix_sync(fa, a + m * 16 * 48 + k * 16, 48);
            wmma::mma_sync(acc, fa, fb, acc);
        }
    }
    wmma::store_matrix_sync(c + m * 16 * 32 + n * 16, acc, 32, wmma::mem_row_major);
}

/* Lane 0 sums the stored tile right after the store (sync 0) or after __syncwarp (sync 1). */
__global__ void read_back(float *out, int sync) {
    __shared__ __align__(32) float tile[256];
    for (int e = threadIdx.x; e < 256; e += 32) tile[e] = 0.0f;
    __syncwarp();
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 1.0f);
    wmma::store_matrix_sync(tile, acc, 16, wmma::mem_row_major);
    if (sync) __syncwarp();
    if (threadIdx.x == 0) {
        float s = 0.0f;
        for (int e = 0; e < 256; e++) s += tile[e];
        out[0] = s;
    }
}

__global__ void exited_lane(const __half *a) {
    if (threadIdx.x == 5) return;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
    wmma::load_matrix_sync(fa, a, 16);
}

__global__ void load_at(const __half *a, unsigned ldm) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
    wmma::load_matrix_sync(fa, a, ldm);
}

void check_half_conversions() {
    long bad = 0;
    for (unsigned h = 0; h < 0x10000u; h++) {
        _Float16 ref;
        const unsigned short bits = (unsigned short)h;
        memcpy(&ref, &bits, 2);
        const float f = (float)ref;
        const __half x = __ushort_as_half(bits);
        if (!std::isnan(f) && (__half2float(x) != f || __half_as_ushort(__float2half_rn(f)) != h))
            bad++;
        if (std::isnan(f) || std::isinf(f) || (h & 0x7fffu) == 0x7bffu) continue;
        /* the midpoint to the next magnitude up, and just either side of it */
        _Float16 up;
        const unsigned short next = (unsigned short)(h + 1);
        memcpy(&up, &next, 2);
        const float mid = (f + (float)up) / 2;
        for (float v :
             {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f * (f < 0 ? -1 : 1))}) {
            const _Float16 want = (_Float16)v;
            unsigned short wb;
            memcpy(&wb, &want, 2);
            if (__half_as_ushort(__float2half_rn(v)) != wb) bad++;
        }
    }
    check(bad == 0, "half.conversions",
          "%ld of 65536 values and their midpoints differ from _Float16", bad);
}

void check_product(int a_col_major, int accumulate) {
    std::vector<__half> a(32 * 48), b(48 * 32);
    std::vector<float> av(32 * 48), bv(48 * 32), c0(32 * 32);
    unsigned s = 7;
    auto next = [&s]() { return (s = s * 1103515245u + 12345u) >> 8 & 0xffff; };
    for (int i = 0; i < 32; i++)
        for (int k = 0; k < 48; k++) {
            const __half h = __float2half_rn(((float)next() / 65536.0f - 0.5f) * 4.0f);
            av[i * 48 + k] = __half2float(h);
            a[a_col_major ? k * 32 + i : i * 48 + k] = h;
        }
    for (int i = 0; i < 48 * 32; i++) {
        b[i] = __float2half_rn(((float)next() / 65536.0f - 0.5f) * 4.0f);
        bv[i] = __half2float(b[i]);
    }
    for (int i = 0; i < 32 * 32; i++) c0[i] = accumulate ? (float)next() / 65536.0f : 0.0f;
    __half *da = device_alloc<__half>(a.size()), *db = device_alloc<__half>(b.size());
    float *dc = device_alloc<float>(c0.size());
    CUDA_OK(cudaMemcpy(da, a.data(), a.size() * 2, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(db, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dc, c0.data(), c0.size() * 4, cudaMemcpyHostToDevice));
    FACET_LAUNCH(product, 1, 128)(da, db, dc, a_col_major, accumulate);
    std::vector<float> c(32 * 32);
    CUDA_OK(cudaMemcpy(c.data(), dc, c.size() * 4, cudaMemcpyDeviceToHost));
    int order_bad = 0, bound_bad = 0;
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 32; j++) {
            float ordered = c0[i * 32 + j];
            double exact = ordered, magnitude = fabs(ordered);
            for (int k = 0; k < 48; k++) {
                ordered += av[i * 48 + k] * bv[k * 32 + j];
                exact += (double)av[i * 48 + k] * bv[k * 32 + j];
                magnitude += fabs((double)av[i * 48 + k] * bv[k * 32 + j]);
            }
            order_bad += c[i * 32 + j] != ordered;
            bound_bad += fabs(c[i * 32 + j] - exact) > 49 * ldexp(1.0, -24) * magnitude;
        }
    char name[96];
    snprintf(name, sizeof name, "wmma.product.%s%s", a_col_major ? "col_major_a" : "row_major_a",
             accumulate ? ".accumulate" : "");
    check(order_bad == 0 && bound_bad == 0, name,
          "%d of 1024 differ from c + sum_k in order, %d outside the 48-addition bound", order_bad,
          bound_bad);
    cudaFree(da), cudaFree(db), cudaFree(dc);
}

void check_read_back() {
    float *out = device_alloc<float>(1), got[2];
    for (int sync = 0; sync < 2; sync++) {
        FACET_LAUNCH(read_back, 1, 32)(out, sync);
        CUDA_OK(cudaMemcpy(&got[sync], out, 4, cudaMemcpyDeviceToHost));
    }
    check(got[0] == 8.0f && got[1] == 256.0f, "wmma.store_is_per_lane",
          "lane 0 sums %g of the tile before __syncwarp (its own 8), %g after (256)", got[0],
          got[1]);
    cudaFree(out);
}

void check_misuse() {
    __half *a = device_alloc<__half>(16 * 16 + 16);
    const ChildResult exited = run_child([a] { FACET_LAUNCH(exited_lane, 1, 32)(a); });
    check(exited.aborted() && exited.has("wmma needs every lane"), "wmma.exited_lane_aborts", "%s",
          first_line(exited.err).c_str());
    const ChildResult partial = run_child([a] { FACET_LAUNCH(load_at, 1, 48)(a, 16); });
    check(partial.aborted() && partial.has("wmma needs every lane"), "wmma.partial_warp_aborts",
          "%s", first_line(partial.err).c_str());
    const ChildResult aligned = run_child([a] { FACET_LAUNCH(load_at, 1, 32)(a + 8, 16); });
    check(aligned.aborted() && aligned.has("256-bit aligned"), "wmma.misaligned_pointer_aborts",
          "%s", first_line(aligned.err).c_str());
    const ChildResult ldm = run_child([a] { FACET_LAUNCH(load_at, 1, 32)(a, 12); });
    check(ldm.aborted() && ldm.has("multiple of 16 bytes"), "wmma.bad_ldm_aborts", "%s",
          first_line(ldm.err).c_str());
    cudaFree(a);
}

} // namespace

int main() {
    check_half_conversions();
    for (int col = 0; col < 2; col++)
        for (int acc = 0; acc < 2; acc++) check_product(col, acc);
    check_read_back();
    check_misuse();
    return check_exit();
}
