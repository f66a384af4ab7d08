/* cuemu: nvcuda::wmma, the warp matrix products facet uses: the m16n16k16 shape with __half
 * operands (matrix_a, matrix_b; row- or column-major) and float accumulators.
 *
 * The model
 * - Every wmma call except fill_fragment is warp-collective, as in CUDA: it is a warp barrier
 *   over all 32 lanes, and cuemu aborts when a lane of the warp has exited (or does not exist:
 *   a block whose size is not a multiple of 32), when a pointer is not 256-bit aligned or when
 *   ldm is not a multiple of 16 bytes, all undefined in CUDA.
 * - Operand fragments hold the whole 16 x 16 tile in every lane (num_elements 256, logical
 *   [row][column] order); CUDA spreads and replicates them over the lanes in an undocumented
 *   layout, so code may only treat x[] element-wise, which works on either.
 * - Accumulator fragments are spread like CUDA's (num_elements 8): lane l holds elements
 *   8l..8l+7 of the tile in row-major order. A store writes each lane's part after the barrier
 *   releases, so a lane that reads what another lane stored without a __syncwarp in between reads
 *   stale memory here, as it may on a GPU.
 * - mma_sync: d[i][j] = c[i][j] + sum_k a[i][k] b[k][j] in float, k ascending, each addition
 *   rounded (a product of two halves is exact in float). Tensor cores accumulate in an order and
 *   with internal rounding NVIDIA does not specify: a GPU result lies within the usual bound of
 *   16 additions, k 2^-24 sum |terms| per element; tests must allow that (fields/tcnn_mlp_half.h).
 */
#ifndef CUEMU_MMA_H
#define CUEMU_MMA_H

#include "cuda_fp16.h"
#include "cuemu.h"

namespace cuemu {
/* A warp barrier over all 32 lanes that every lane must reach. */
inline void wmma_collective(const char *where) {
    wait(St::WarpBarrier, 0xffffffffu, where);
    const Fiber &f = me();
    if (f.group != 0xffffffffu)
        fatal("cuemu: %s in block (%u,%u,%u), warp %u: lanes 0x%08x took part, but wmma needs "
              "every lane of the warp (the others exited or do not exist)\n",
              where, tl_block->idx.x, tl_block->idx.y, tl_block->idx.z, f.linear / 32, f.group);
}
inline void wmma_check(const void *p, unsigned ldm, size_t element, const char *where) {
    if ((uintptr_t)p % 32)
        fatal("cuemu: %s: pointer %p is not 256-bit aligned (undefined in CUDA)\n", where, p);
    if (ldm * element % 16)
        fatal("cuemu: %s: ldm %u is not a multiple of 16 bytes (undefined in CUDA)\n", where, ldm);
}
} // namespace cuemu

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void> class fragment;

template <typename Layout> class fragment<matrix_a, 16, 16, 16, __half, Layout> {
  public:
    enum { num_elements = 256 };
    typedef __half element_type;
    __half x[256]; /* a[row][k] */
};
template <typename Layout> class fragment<matrix_b, 16, 16, 16, __half, Layout> {
  public:
    enum { num_elements = 256 };
    typedef __half element_type;
    __half x[256]; /* b[k][column] */
};
template <> class fragment<accumulator, 16, 16, 16, float, void> {
  public:
    enum { num_elements = 8 };
    typedef float element_type;
    float x[8]; /* lane l: tile elements 8l .. 8l + 7, row-major */
};

template <typename Use, typename T, typename Layout>
inline void fill_fragment(fragment<Use, 16, 16, 16, T, Layout> &f, T value) {
    for (int i = 0; i < f.num_elements; i++) f.x[i] = value;
}
inline void fill_fragment(fragment<accumulator, 16, 16, 16, float, void> &f, float value) {
    for (int i = 0; i < f.num_elements; i++) f.x[i] = value;
}

/* element (i, j) of a 16 x 16 tile at p: row-major p[i ldm + j], column-major p[j ldm + i] */
template <typename T>
inline const T &wmma_at(const T *p, unsigned ldm, bool row_major, int i, int j) {
    return row_major ? p[(size_t)i * ldm + j] : p[(size_t)j * ldm + i];
}

template <typename Layout>
inline void load_matrix_sync(fragment<matrix_a, 16, 16, 16, __half, Layout> &f, const __half *p,
                             unsigned ldm) {
    ::cuemu::wmma_collective("wmma::load_matrix_sync (matrix_a)");
    ::cuemu::wmma_check(p, ldm, sizeof(__half), "wmma::load_matrix_sync (matrix_a)");
    const bool rm = std::is_same<Layout, row_major>::value;
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < 16; k++) f.x[i * 16 + k] = wmma_at(p, ldm, rm, i, k);
}
template <typename Layout>
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 16, __half, Layout> &f, const __half *p,
                             unsigned ldm) {
    ::cuemu::wmma_collective("wmma::load_matrix_sync (matrix_b)");
    ::cuemu::wmma_check(p, ldm, sizeof(__half), "wmma::load_matrix_sync (matrix_b)");
    const bool rm = std::is_same<Layout, row_major>::value;
    for (int k = 0; k < 16; k++)
        for (int j = 0; j < 16; j++) f.x[k * 16 + j] = wmma_at(p, ldm, rm, k, j);
}
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float, void> &f, const float *p,
                             unsigned ldm, layout_t layout) {
    ::cuemu::wmma_collective("wmma::load_matrix_sync (accumulator)");
    ::cuemu::wmma_check(p, ldm, sizeof(float), "wmma::load_matrix_sync (accumulator)");
    const int first = (int)::cuemu::lane_of(::cuemu::me()) * 8;
    for (int e = 0; e < 8; e++)
        f.x[e] = wmma_at(p, ldm, layout == mem_row_major, (first + e) / 16, (first + e) % 16);
}
inline void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 16, float, void> &f,
                              unsigned ldm, layout_t layout) {
    ::cuemu::wmma_collective("wmma::store_matrix_sync");
    ::cuemu::wmma_check(p, ldm, sizeof(float), "wmma::store_matrix_sync");
    const int first = (int)::cuemu::lane_of(::cuemu::me()) * 8;
    for (int e = 0; e < 8; e++)
        const_cast<float &>(wmma_at<float>(p, ldm, layout == mem_row_major, (first + e) / 16,
                                           (first + e) % 16)) = f.x[e];
}

template <typename LA, typename LB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float, void> &d,
                     const fragment<matrix_a, 16, 16, 16, __half, LA> &a,
                     const fragment<matrix_b, 16, 16, 16, __half, LB> &b,
                     const fragment<accumulator, 16, 16, 16, float, void> &c) {
    ::cuemu::wmma_collective("wmma::mma_sync");
    const int first = (int)::cuemu::lane_of(::cuemu::me()) * 8;
    float out[8];
    for (int e = 0; e < 8; e++) {
        const int i = (first + e) / 16, j = (first + e) % 16;
        float sum = c.x[e];
        for (int k = 0; k < 16; k++) sum += (float)a.x[i * 16 + k] * (float)b.x[k * 16 + j];
        out[e] = sum;
    }
    for (int e = 0; e < 8; e++) d.x[e] = out[e];
}

} // namespace wmma
} // namespace nvcuda

#endif
