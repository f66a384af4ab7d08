/* Fixed-point split products ("i8x2"): float32-grade matrix products from exact int8 ones, for
 * the convolutions the cpu-bf16 backend keeps at float32 grade, where the CPU has AMX-INT8.
 *
 *     C[m, n] (+)= A[m, k] B[k, n]       row-major, C float32 with row stride ldc
 *
 * Each row of A and each column of B is held as two int8 digits under one float32 scale: with
 * s = max |x| / 127 over the row (column),
 *     x ~= s (hi + lo / 256),   hi = round(x / s) in [-127, 127],
 *                               lo = round(256 (x - s hi) / s) clamped to [-127, 127]
 * so |x - s (hi + lo / 256)| <= 1.01 s / 256 (s / 512 but where lo is clamped, and float32's
 * roundings of x / s): a fixed-point value of 15 bits relative to the row's (column's) largest
 * element. The product keeps three of the four digit products,
 *     HH = sum_i ah_i bh_i,   X = sum_i (ah_i bl_i + al_i bh_i)        (exact, in int32)
 *     C = (sa sb) (HH + X / 256)                                       (float32)
 * dropping al bl / 65536. AMX multiplies int8 at twice its bf16 rate (TDPBSSD: 64 products per
 * row and column pair against TDPBF16PS's 32), and the operands take 2 bytes an element against
 * the split bf16 form's 4 (nn/gemm_bf16.h), so the three products cost about as much as 1.5 bf16
 * ones and move half the bytes.
 *
 * Accuracy (docs/math.md derives it): with amax_a, amax_b the largest magnitudes of row r of A
 * and column j of B, every element satisfies
 *     |C - A B| <= k amax_a amax_b FACET_I8X2_ERROR + 2^-21 |C|
 * where FACET_I8X2_ERROR = 2.04 / (127 * 256) + 1 / 65536 (both digits' errors, the dropped
 * al bl term): about 7.8e-5 of k amax_a amax_b, the float32 grade of a sum when a row's values
 * are of one magnitude
 * (the split bf16 form bounds by sum |a b| instead: better on rows of very mixed magnitude).
 * The integer sums are exact (|HH|, |X| <= 32512 k < 2^31 for k <= 65536), so every kernel gives
 * the same float32 result, bit for bit.
 *
 * Packed layouts (k padded with zeros to a multiple of 64, FACET_I8_GROUP):
 *   A, tiled: blocks of 16 rows (FACET_I8_TILE_ROWS; the last zero-padded), each of
 *     facet_i8_tiled_block_bytes(k) bytes: per group of 64 k, the hi digits [16 rows][64] then
 *     the lo digits [16][64] (2048 bytes); plus sa[m], the rows' scales.
 *   B: per group of 64 k, the hi digits then the lo digits, each 16 quad rows of ldb columns of
 *     4 bytes (B[4 q + i][j] at byte (q ldb + j) 4 + i), ldb >= facet_i8_b_columns(n) (columns
 *     past n are left unwritten: the kernels read them only into C's columns past n, which they
 *     never store); facet_i8_b_bytes(k, ldb) bytes; plus sb[n], the columns' scales.
 * Allocate both 64-byte aligned (each tile row is then one cache line). */
#ifndef FACET_NN_GEMM_I8_H
#define FACET_NN_GEMM_I8_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_I8_GROUP = 64, FACET_I8_TILE_ROWS = 16 };

#define FACET_I8X2_ERROR (2.04 / (127.0 * 256.0) + 1.0 / 65536.0)

/* Groups of 64 k: ceil(k / 64). */
static inline int facet_i8_groups(int k) {
    return (k + FACET_I8_GROUP - 1) / FACET_I8_GROUP;
}

/* Bytes of one tiled block of 16 rows of A: 2048 ceil(k / 64). */
size_t facet_i8_tiled_block_bytes(int k);

/* Bytes of a tiled A of m rows: ceil(m / 16) facet_i8_tiled_block_bytes(k). */
size_t facet_i8_tiled_a_bytes(int m, int k);

/* The least ldb for n columns: n rounded up to a multiple of 32 (the kernel's column blocks). */
static inline int facet_i8_b_columns(int n) {
    return (n + 31) / 32 * 32;
}

/* Bytes of a packed B of k rows and ldb columns: 128 ceil(k / 64) ldb. */
size_t facet_i8_b_bytes(int k, int ldb);

/* The digits of x[0..n) (stride `stride` floats) under one scale: writes hi[i], lo[i] (stride
 * out_stride bytes) and returns the scale s (0 for an all-zero vector, whose digits are 0; NaN
 * when x holds a NaN or an infinity, so that the products it enters are NaN, as float32's would
 * not be finite either). */
float facet_i8_digits(const float *x, size_t stride, int n, int8_t *hi, int8_t *lo,
                      size_t out_stride);

/* Packs A [m, k] (row stride lda) into `out` (facet_i8_tiled_a_bytes(m, k) bytes) and its rows'
 * scales into sa[m]. */
void facet_i8_pack_a(const float *a, int lda, int m, int k, int8_t *out, float *sa);

/* Packs B [k, n] (row stride ldb_in floats) into `out` (facet_i8_b_bytes(k, ldb) bytes, ldb >=
 * facet_i8_b_columns(n)) and its columns' scales into sb[n]. */
void facet_i8_pack_b(const float *b, int ldb_in, int k, int n, int8_t *out, int ldb, float *sb);

/* C = A B, or C + A B when accumulate is 1: A tiled (rows from a multiple of 16 start at
 * r0 / 16 * facet_i8_tiled_block_bytes(k)), B packed with ldb columns. */
void facet_gemm_i8x2(const int8_t *a, const float *sa, int m, int k, const int8_t *b, int ldb,
                     const float *sb, int n, float *c, int ldc, int accumulate);

/* 1 where the AMX-INT8 kernel runs (and the products pay over split bf16 ones). */
int facet_gemm_i8x2_pays(void);

/* The kernel facet_gemm_i8x2 uses: "amx" or "c" (the portable reference). */
const char *facet_gemm_i8x2_kernel_name(void);

/* Forces a kernel ("amx", "c"; NULL: the detected one) for tests and benches;
 * FACET_ERR_UNSUPPORTED when this CPU (or, for amx, the OS) cannot run it. Not thread-safe. */
facet_status facet_gemm_i8x2_force_kernel(const char *name);

#ifdef __cplusplus
}
#endif
#endif
