/* Single-threaded matrix products on bfloat16 operands with float32 accumulation, for the layers
 * where facet trades precision for speed (the FQGAN decoder's full-resolution convolutions under
 * the cpu-bf16 backend). Kernels, chosen at run time, best first:
 * - amx: Intel AMX tiles (Sapphire Rapids and later), where Linux grants the process the tile
 *   state; measured 620-840 GFLOP/s per core against 170-195 for the float32 kernel (2-vCPU Xeon
 *   VM with AMX, 2026-12-05);
 * - avx512bf16: VDPBF16PS, 32 multiply-adds an instruction: twice the float32 FMA rate on Zen 4
 *   (217-225 against 110 GFLOP/s), but about 115 GFLOP/s on that Xeon, below its float32 kernel;
 * - c: the portable reference.
 *
 *     C[m, n] (+)= A[m, k] B[k, n]       row-major, C float32 with row stride ldc
 *
 * Operands are packed in pairs along k (the instruction's layout), k2 = ceil(k / 2) pairs:
 *     A: ap[r * lda + p] = pair(A[r][2p], A[r][2p + 1])     (m rows of k2 pairs)
 *     B: bp[p * ldb + j] = pair(B[2p][j], B[2p + 1][j])     (k2 rows of n pairs)
 * where pair(even, odd) = bf16(even) | bf16(odd) << 16 (bf16: round to nearest even); for odd k
 * the missing last element packs as 0.
 *
 * Accuracy: products of two bf16 values are exact in float32; each pair's two products are added
 * into the float32 accumulator in order (the hardware flushes subnormal operands and results to
 * zero). Against the exact product of the float32 operands, the error is dominated by the two
 * operands' rounding to bf16, 2^-9 relative each. */
#ifndef FACET_NN_GEMM_BF16_H
#define FACET_NN_GEMM_BF16_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bf16(even) | bf16(odd) << 16, each rounded to nearest even. */
uint32_t facet_bf16_pair(float even, float odd);

/* Packs A [m, k] (row stride lda) into out [m, ceil(k/2)] pairs (row stride ldo). */
void facet_bf16_pack_a(const float *a, int lda, int m, int k, uint32_t *out, int ldo);

/* Packs B [k, n] (row stride ldb) into out [ceil(k/2), n] pairs (row stride ldo). */
void facet_bf16_pack_b(const float *b, int ldb, int k, int n, uint32_t *out, int ldo);

/* One pair row of B from two rows of floats: hi[j] = pair(bf16(even[j]), bf16(odd[j])) for
 * j < n (odd NULL: zeros) and, when lo is not NULL, lo[j] = the pair of the remainders
 * x - bf16(x) (the split form). The row packing of facet_bf16_pack_b and _split, for callers that
 * produce B two rows at a time and place its pair rows themselves. */
void facet_bf16_pack_pair_row(const float *even, const float *odd, int n, uint32_t *hi,
                              uint32_t *lo);

/* C = A B, or C + A B when accumulate is 1, over k2 >= 0 packed pairs; lda >= k2, ldb >= n,
 * ldc >= n. Summation over pairs in ascending blocks of 128, each accumulated into C. */
void facet_gemm_bf16(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb, int n,
                     float *c, int ldc, int accumulate);

/* ---- split operands: float32-grade products from three bf16 ones ("bf16x3") ----------------
 * Each float32 value x is held as two bf16 values, hi = bf16(x) and lo = bf16(x - hi), and
 *     a b ~= a_hi b_hi + a_lo b_hi + a_hi b_lo
 * (the a_lo b_lo term is dropped). With u = 2^-8 (bf16's unit roundoff), |x - hi| <= u |x| and
 * |x - hi - lo| <= u^2 |x|, so each product is off by at most u^2 (3 + 2u) |a b|, about
 * 4.6e-5 |a b|, against 2^-8 for bf16 operands: 85x closer, near float32's own sum errors over
 * a few hundred terms. It costs three bf16 products, which pays where AMX runs bf16 at 4-7x the
 * float32 rate (nn/gemm_bf16.c). Values below 2^-110 lose their lo part (flushed subnormals).
 *
 * Packed layouts, k2 = ceil(k / 2) pairs per half:
 *     A: row r = [ lo pairs of A[r] (k2) | hi pairs of A[r] (k2) ]      (row stride lda >= 2 k2)
 *     B: rows 0 .. k2-1 = hi pairs of B, rows k2 .. 2 k2 - 1 = lo pairs  (row stride ldb >= n)
 * On AMX the product is one pass over k: per group of 16 pairs, A_hi B_hi, A_lo B_hi and A_hi B_lo
 * back to back on the same accumulators. The other kernels run two bf16 products:
 * [A_lo | A_hi] [B_hi ; B_lo] (2 k2 pairs: the small cross terms first), then + A_hi B_hi (k2
 * pairs) into the same C. Either way, against the exact product of the
 * float32 operands (each C element sums 6 k2 exact bf16 products in float32, whose magnitudes
 * add up to at most (1 + 2u)^3 sum |a b|):
 *     |C - A B| <= (u^2 (3 + 2u) + (6 k2 + 2) 2^-24 (1 + 2u)^3) sum |a b|                      */

/* Pairs in a split-packed row of k elements: 2 ceil(k / 2) (the least row stride of A's pack). */
static inline int facet_bf16_split_row_pairs(int k) {
    return 2 * ((k + 1) / 2);
}

/* Packs A [m, k] (row stride lda) into out [m, 2 ceil(k/2)] split pairs (row stride ldo). */
void facet_bf16_pack_a_split(const float *a, int lda, int m, int k, uint32_t *out, int ldo);

/* Packs B [k, n] (row stride ldb) into out [2 ceil(k/2), n] split pairs (row stride ldo). */
void facet_bf16_pack_b_split(const float *b, int ldb, int k, int n, uint32_t *out, int ldo);

/* C = A B, or C + A B when accumulate is 1, on split-packed operands of k2 pairs per half. */
void facet_gemm_bf16_split(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb,
                           int n, float *c, int ldc, int accumulate);

/* ---- split A in AMX tiles: weights read as one stream --------------------------------------
 * On AMX a product reads each 16 x 16-pair tile of A as 16 rows of 64 bytes. From packed rows
 * those lie a row stride apart, and when A is a layer's weights, streamed from L3 once per block
 * of output, the scattered reads cost about a third of the product's time. The tiled layout
 * stores every tile's rows contiguously, in the order the kernel reads them:
 *     blocks of 32 rows (the last zero-padded), each facet_bf16_tiled_block_words(k2) words:
 *       groups of 16 pairs (the last zero-padded), each 1024 words:
 *         the lo half, then the hi half, each 32 rows x 16 pairs (rows 16 words apart)
 * so pair p of half h (0: lo, 1: hi) of row r lies at
 *     (r / 32) * block_words + (p / 16) * 1024 + h * 512 + (r % 32) * 16 + p % 16.
 * Rows from a multiple of 32 (FACET_BF16_TILE_ROWS), r0, start at
 * r0 / 32 * facet_bf16_tiled_block_words(k2). Allocate it 64-byte aligned: each tile row is then
 * one cache line (unaligned, every row load touches two). */

enum { FACET_BF16_TILE_ROWS = 32 };

/* Words of one block of 32 rows: 1024 ceil(k2 / 16). */
size_t facet_bf16_tiled_block_words(int k2);

/* Words of a tiled A of m rows: ceil(m / 32) facet_bf16_tiled_block_words(k2). */
size_t facet_bf16_tiled_split_words(int m, int k2);

/* Re-lays split-packed A (m rows of 2 k2 pairs, row stride lda; facet_bf16_pack_a_split) into
 * out, facet_bf16_tiled_split_words(m, k2) words, padding with zero pairs. */
void facet_bf16_tile_split(const uint32_t *a, int lda, int m, int k2, uint32_t *out);

/* facet_gemm_bf16_split with A tiled: the same result, bit for bit, on every kernel (the kernels
 * without AMX copy A back into rows, chunk by chunk). */
void facet_gemm_bf16_split_tiled(const uint32_t *at, int m, int k2, const uint32_t *b, int ldb,
                                 int n, float *c, int ldc, int accumulate);

/* 1 where split products are faster than nn/gemm.h's float32 kernel: the AMX kernel runs. */
int facet_gemm_bf16_split_pays(void);

/* 1 when this CPU has AVX-512 BF16 (every CPU with AMX-BF16 has it too); the portable C kernel
 * is the scalar reference the tests compare the others with, not meant for speed. */
int facet_gemm_bf16_native(void);

/* The kernel facet_gemm_bf16 uses: "amx", "avx512bf16" or "c". */
const char *facet_gemm_bf16_kernel_name(void);

/* Forces a kernel ("amx", "avx512bf16", "c"; NULL: the detected one) for tests and benches;
 * FACET_ERR_UNSUPPORTED when this CPU (or, for amx, the OS) cannot run it. Not thread-safe. */
facet_status facet_gemm_bf16_force_kernel(const char *name);

#ifdef __cplusplus
}
#endif
#endif
