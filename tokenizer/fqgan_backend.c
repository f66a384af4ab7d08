/* FQGAN CPU backend. Convolutions are products on nn/gemm.h's kernels (AVX-512, AVX2 or C,
 * chosen from the CPU at run time, so no environment variable changes them): 3x3 convolutions as
 * the [cout, cin*9] weight times im2col chunks of output pixels, or Winograd F(4x4, 3x3) at high
 * resolution. The cpu-bf16 backend runs the products of the convs the model marks
 * reduced_precision (the decoder's full-resolution ones) on nn/gemm_bf16.h's kernel: the
 * input transform writes the Winograd blocks V as bf16 pairs, the weights are packed once at load.
 * Where the bf16 kernel is AMX, its other convs (the whole encoder, the decoder's lower levels)
 * run split products: three bf16 products with float32-grade error (nn/gemm_bf16.h), faster
 * there than the float32 kernel and close enough to keep the tokens; their weights are stored
 * in AMX tiles (facet_bf16_tile_split), read as one stream. Where AMX-INT8 runs too, the convs
 * the model marks fixed_point (the decoder's, whose errors reach only the image) run as
 * fixed-point int8 digits instead (nn/gemm_i8.h): twice split bf16's speed and half its bytes,
 * at about 5x its error. The
 * spatial attention's products use OpenBLAS; everything else is OpenMP loops
 * over the per-element functions of tokenizer/fqgan_ops.h; the adapters' ops are nn/'s CPU
 * context. CUDA twin: tokenizer/cuda/fqgan_backend.cu. */
/* GCC's -march=native on AVX-512 CPUs prefers 256-bit vectors; this file's loops (the Winograd
 * transforms, GroupNorm + swish) run faster in 512-bit ones (bench/RESULTS.md, seventh run). No
 * effect without AVX-512. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif
#include "core/alloc.h"
#include "core/parallel.h"
#include "nn/gemm.h"
#include "nn/gemm_bf16.h"
#include "nn/gemm_i8.h"
#include "tokenizer/fqgan_internal.h"
#include "tokenizer/fqgan_ops.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

/* Per-thread im2col chunks: at most this many floats (1 MiB: stays in a core's L2 cache). */
#define COL_CHUNK_FLOATS ((size_t)1 << 18)

/* 32-bit words per im2col float of a packed chunk [k, n]: split bf16 pairs take 2 (hi and lo
 * pairs of k rows), the int8 digits at most 2.25 plus n scales (k rows padded to 64 and columns
 * to 32: with k >= 32 rows (IM2COL_SPLIT_MIN_ROWS) and chunks of n >= 64 columns, k n <=
 * col_floats, 2 (k + 63) (n + 31) bytes <= 9 k n). */
enum { COL_PACKED_WORDS = 3 };

/* All parallelism is OpenMP: each thread calls OpenBLAS on its own part of a product, with
 * OpenBLAS single-threaded for the duration of the op (two thread pools spinning on the same
 * cores cost 2-4x). The previous OpenBLAS thread count is restored after each op. */
typedef struct cpu_backend {
    fqgan_backend base;
    void **allocs;
    int alloc_count, alloc_capacity;
    int threads;
    int bf16;   /* cpu-bf16: the reduced_precision convs' products in bf16 */
    int split;  /* cpu-bf16: every other conv's products as split bf16 (float32-grade) */
    int i8;     /* cpu-bf16: the split convs marked fixed_point as int8 digits (nn/gemm_i8.h) */
    float *col; /* threads x col_floats: im2col chunks */
    size_t col_floats;
    uint32_t *col_pairs; /* split: threads x COL_PACKED_WORDS col_floats, the chunks packed */
    float *scores;       /* threads x score_floats: spatial attention rows */
    size_t score_floats;
    float *wino; /* threads x wino_floats: Winograd V and M blocks */
    size_t wino_floats;
    float *codes_t; /* the quantiser's codebook transposed, [dim, count] */
    size_t codes_t_floats;
    size_t allocated; /* bytes through cpu_alloc */
} cpu_backend;

static cpu_backend *cpu(fqgan_backend *be) {
    return (cpu_backend *)be;
}

static void cpu_destroy(fqgan_backend *be) {
    cpu_backend *c = cpu(be);
    for (int i = 0; i < c->alloc_count; i++) free(c->allocs[i]);
    free(c->allocs);
    free(c->col);
    free(c->col_pairs);
    free(c->scores);
    free(c->wino);
    free(c->codes_t);
    facet_nn_destroy(c->base.nn);
    free(c);
}

static facet_status aligned(size_t bytes, void **out) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for FQGAN", bytes);
    *out = p;
    return FACET_OK;
}

static facet_status cpu_alloc(fqgan_backend *be, size_t bytes, void **out) {
    cpu_backend *c = cpu(be);
    if (c->alloc_count == c->alloc_capacity) {
        int cap = c->alloc_capacity ? 2 * c->alloc_capacity : 16;
        void **grown = facet_realloc(c->allocs, (size_t)cap, sizeof *grown);
        if (!grown) return facet_last_status();
        c->allocs = grown;
        c->alloc_capacity = cap;
    }
    facet_status s = aligned(bytes, out);
    if (s == FACET_OK) {
        c->allocs[c->alloc_count++] = *out;
        c->allocated += bytes;
    }
    return s;
}

static facet_status cpu_copy(fqgan_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (dst != src) memcpy(dst, src, bytes);
    return FACET_OK;
}

static facet_status cpu_prepare(fqgan_backend *be, const float *params, size_t count) {
    (void)be, (void)params, (void)count;
    return FACET_OK;
}

static size_t cpu_memory_bytes(const fqgan_backend *be) {
    const cpu_backend *c = (const cpu_backend *)be;
    return c->allocated +
           (size_t)c->threads * (c->col_floats + c->score_floats + c->wino_floats) * sizeof(float) +
           (c->col_pairs ? (size_t)c->threads * COL_PACKED_WORDS * c->col_floats * sizeof(uint32_t)
                         : 0) +
           facet_nn_memory_bytes(c->base.nn);
}

/* ---- convolution ----------------------------------------------------------------------------- */

static void out_size(fqgan_conv_mode mode, int h, int w, int *ho, int *wo) {
    *ho = h, *wo = w;
    switch (mode) {
    case FQGAN_CONV_SAME:
        break;
    case FQGAN_CONV_DOWNSAMPLE:
        *ho = (h - 2) / 2 + 1, *wo = (w - 2) / 2 + 1;
        break;
    case FQGAN_CONV_UPSAMPLE:
        *ho = 2 * h, *wo = 2 * w;
        break;
    }
}

/* col [cin*9, n] for the output pixels [p0, p0 + n) (row-major over the output) of one image
 * x [cin, h, w]; row kk = ci * 9 + ky * 3 + kx matches the weight layout [cout, cin, 3, 3]. */
static void im2col(const float *x, int cin, int h, int w, fqgan_conv_mode mode, int wo, int p0,
                   int n, float *col) {
    for (int kk = 0; kk < cin * 9; kk++) {
        const int ci = kk / 9, ky = (kk % 9) / 3, kx = kk % 3;
        const float *plane = x + (size_t)ci * h * w;
        float *dst = col + (size_t)kk * n;
        for (int p = p0; p < p0 + n;) {
            const int oy = p / wo, ox0 = p % wo;
            const int ox1 = ox0 + (p0 + n - p) < wo ? ox0 + (p0 + n - p) : wo;
            float *d = dst + (p - p0);
            const int iy = fqgan_conv_source(mode, oy, ky, h);
            if (iy < 0) {
                memset(d, 0, (size_t)(ox1 - ox0) * sizeof *d);
            } else if (mode == FQGAN_CONV_SAME) {
                /* d[ox] = src[ox + kx - 1], zero outside the row */
                const float *src = plane + (size_t)iy * w + kx - 1;
                const int lo = ox0 > (1 - kx) ? ox0 : 1 - kx;
                const int hi = ox1 < w + 1 - kx ? ox1 : w + 1 - kx;
                for (int ox = ox0; ox < lo; ox++) d[ox - ox0] = 0.0f;
                if (hi > lo) memcpy(d + (lo - ox0), src + lo, (size_t)(hi - lo) * sizeof *d);
                for (int ox = hi > lo ? hi : lo; ox < ox1; ox++) d[ox - ox0] = 0.0f;
            } else if (mode == FQGAN_CONV_DOWNSAMPLE) {
                /* d[ox] = src[2 ox + kx], zero past the right edge (the pad is right/bottom) */
                const float *src = plane + (size_t)iy * w + kx;
                const int inside = (w - kx + 1) / 2; /* ox with 2 ox + kx < w */
                const int hi = ox1 < inside ? ox1 : inside;
                for (int ox = ox0; ox < hi; ox++) d[ox - ox0] = src[2 * ox];
                for (int ox = hi > ox0 ? hi : ox0; ox < ox1; ox++) d[ox - ox0] = 0.0f;
            } else {
                /* upsample: d[ox] = src[(ox + kx - 1) / 2] for 0 <= ox + kx - 1 < 2 w */
                const float *src = plane + (size_t)iy * w;
                const int lo = ox0 > 1 - kx ? ox0 : 1 - kx;
                const int hi = ox1 < 2 * w + 1 - kx ? ox1 : 2 * w + 1 - kx;
                for (int ox = ox0; ox < lo && ox < ox1; ox++) d[ox - ox0] = 0.0f;
                for (int ox = lo; ox < hi; ox++) d[ox - ox0] = src[(ox + kx - 1) >> 1];
                for (int ox = hi > lo ? hi : lo; ox < ox1; ox++) d[ox - ox0] = 0.0f;
            }
            p += ox1 - ox0;
        }
    }
}

/* ---- Winograd F(4x4, 3x3) ------------------------------------------------------------------
 * Stride-1 3x3 convolutions with outputs of 32x32 and up (the 16x16 level uses F(2x2, 3x3),
 * below: there a 512-channel U at 4x would double the model's memory) use Winograd's minimal
 * filtering (Lavin & Gray 2016; points 0, +-1, +-2, infinity): per 4x4 output tile,
 * Y = A^T [sum_ci (G g G^T) . (B^T d B)] A with d the 6x6 input patch. The sum over input
 * channels is 36 matrix products [cout, cin] x [cin, tiles] (nn/gemm.h), 2.25 instead of 9
 * multiplications per output and tap. Transformed weights U = G g G^T are computed once in
 * double precision (4x the weights' memory). Accuracy: about 1e-5 of the output's magnitude per
 * layer (direct fp32: 3e-7); the fixtures' bounds hold with margin (tests/test_fqgan.c). */

enum { WINO_MAX_TILES = 64, WINO_MIN_PIXELS = 32 * 32 };

static const double WINO_G[6][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};

/* F(2x2, 3x3) (points 0, +-1, infinity) for the stride-1 3x3 convolutions below 32x32 (the
 * 16x16 level's 512 channels): per 2x2 output tile, Y = A^T [sum_ci (G g G^T) . (B^T d B)] A
 * with d the 4x4 input patch, 16 products [cout, cin] x [cin, tiles], 4 instead of 9
 * multiplications per output and tap. U takes 16/9 of the weights' memory (F(4x4) would take 4x
 * there, and its 16 tiles of a 16x16 image fill a quarter of the products' columns); the 64 tiles
 * of a 16x16 image fill them. Its transforms' coefficients are 0 and +-1 (G: +-1/2), so it is
 * more accurate than F(4x4). */
static const double WINO2_G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

enum { WINO2_MIN_PIXELS = 8 * 8 };

/* Points per window side of the Winograd form a conv uses on the CPU: 6 (F(4x4, 3x3)),
 * 4 (F(2x2, 3x3)) or 0 (im2col). */
static int wino_points(const fqgan_conv *c) {
    if (c->k != 3 || c->mode == FQGAN_CONV_DOWNSAMPLE || c->cin < 16) return 0;
    const int pixels = c->out_size * c->out_size;
    if (pixels >= WINO_MIN_PIXELS) return 6;
    return c->mode == FQGAN_CONV_SAME && pixels >= WINO2_MIN_PIXELS ? 4 : 0;
}

/* The operands of a conv's Winograd products (nn/gemm_bf16.h), per point xi of the window:
 * - WINO_FLOAT: aux holds U in float32, [points][cout][cin]; V in float32, [points][cin][64];
 * - WINO_BF16: U as bf16 pairs along cin, [points][cout][cin / 2]; V as B's pairs,
 *   [points][cin / 2][64];
 * - WINO_SPLIT: U as split pairs in AMX tiles, per point a tiled [cout][cin / 2 lo, cin / 2 hi]
 *   (facet_bf16_tile_split, wino_u_words); V as B's split pairs, [points][cin][64] (cin / 2 hi
 *   pair rows, then cin / 2 lo). A task's output channels then start at a multiple of 32.
 * - WINO_I8: U as fixed-point int8 digits in AMX tiles, per point a tiled [cout][cin] of
 *   wino_i8_u_bytes (facet_i8_pack_a), then every point's row scales, [points][cout] floats
 *   (i8_scales); V in float32 as WINO_FLOAT's, each point's block packed into the thread's digits
 *   (wino_i8_pack_floats) just before its product. A task's output channels start at a multiple
 *   of 16.
 * For BF16 and SPLIT the input transform writes V's pairs itself (wino_pack_pairs), two input
 * channels at a time. */
typedef enum { WINO_FLOAT, WINO_BF16, WINO_SPLIT, WINO_I8 } wino_operands;

static wino_operands wino_operands_of(const cpu_backend *cb, const fqgan_conv *c) {
    const int points = wino_points(c);
    if (!cb->bf16 || points == 0) return WINO_FLOAT;
    if (cb->i8 && c->fixed_point && !(c->reduced_precision && points == 6)) return WINO_I8;
    if (c->cin % 2) return WINO_FLOAT;
    if (c->reduced_precision && points == 6) return WINO_BF16;
    return cb->split ? WINO_SPLIT : WINO_FLOAT;
}

/* Whether an im2col (or 1x1) conv runs split products: its aux then holds the weights
 * [cout, cin * k * k] as split pairs in AMX tiles (facet_bf16_tile_split), and each chunk of the
 * im2col (or of x) is packed into the thread's col_pairs before its product. Not below
 * IM2COL_SPLIT_MIN_ROWS rows of k: with less than one AMX group of 16 pairs, every block's only
 * group goes through zero-padded copies, which cost more than the products (the encoder's
 * conv_in, 27 rows at 256x256, took about 18 ms a call that way and 7 ms in float32). */
enum { IM2COL_SPLIT_MIN_ROWS = 32 };

/* Floats of an im2col task's output block [cout, chunk] at most (512 KB: it stays in L2 between
 * the bias and the product). */
enum { IM2COL_OUT_FLOATS = 1 << 17 };

static int im2col_split(const cpu_backend *cb, const fqgan_conv *c) {
    return cb->split && wino_points(c) == 0 && c->cin * c->k * c->k >= IM2COL_SPLIT_MIN_ROWS;
}

/* Whether an im2col_split conv runs as int8 digits (nn/gemm_i8.h) instead: its aux then holds the
 * weights' tiled digits, then their row scales (i8_scales), and each chunk is packed into the
 * thread's col_pairs as digits and column scales. */
static int im2col_i8(const cpu_backend *cb, const fqgan_conv *c) {
    return im2col_split(cb, c) && cb->i8 && c->fixed_point;
}

/* Bytes of one point's tiled U (WINO_I8). */
static size_t wino_i8_u_bytes(const fqgan_conv *c) {
    return facet_i8_tiled_a_bytes(c->cout, c->cin);
}

/* The row scales of an int8-digit aux (WINO_I8, or an im2col conv's with cb->i8): after the
 * digits of every point (one for im2col). */
static const float *i8_scales(const fqgan_conv *c) {
    const int a = wino_points(c);
    const size_t bytes = a ? (size_t)(a * a) * wino_i8_u_bytes(c)
                           : facet_i8_tiled_a_bytes(c->cout, c->cin * c->k * c->k);
    return (const float *)((const int8_t *)c->aux + bytes);
}

/* Floats of a thread's packed V block for one point (WINO_I8): the digits of [cin, 64], then 64
 * column scales. */
static size_t wino_i8_pack_floats(int cin) {
    return facet_i8_b_bytes(cin, WINO_MAX_TILES) / sizeof(float) + WINO_MAX_TILES;
}

/* Words of one point's tiled U (WINO_SPLIT). */
static size_t wino_u_words(const fqgan_conv *c) {
    return facet_bf16_tiled_split_words(c->cout, c->cin / 2);
}

/* Output channels of a task's ranges start at multiples of this: the tiled U's blocks of rows. */
static int wino_channel_unit(wino_operands ops) {
    return ops == WINO_SPLIT ? FACET_BF16_TILE_ROWS : ops == WINO_I8 ? FACET_I8_TILE_ROWS : 1;
}

/* Range `split` of `splits` of cout output channels, [o0, o1), starting at a multiple of unit
 * (splits <= ceil(cout / unit)). */
static void wino_channel_range(int cout, int split, int splits, int unit, int *o0, int *o1) {
    const long units = (cout + unit - 1) / unit;
    *o0 = unit * (int)(units * split / splits);
    const int end = unit * (int)(units * (split + 1) / splits);
    *o1 = end < cout ? end : cout;
}

/* Whether the input transform packs V's pairs itself (wino_pack_pairs), or writes floats. */
static int wino_packs_pairs(wino_operands ops) {
    return ops == WINO_BF16 || ops == WINO_SPLIT;
}

/* Rows of 64 32-bit words per point in V: cin floats, cin / 2 pairs, or cin split pairs. */
static size_t wino_v_rows(wino_operands ops, int cin) {
    return ops == WINO_BF16 ? (size_t)cin / 2 : (size_t)cin;
}

/* M[xi] [o1 - o0, n] = U[xi] [o0..o1, cin] V[xi] [cin, n] for xi < blocks (M's blocks at strides
 * of cout rows of WINO_MAX_TILES, V's as wino_v_rows); WINO_I8 packs each V block into Q
 * (wino_i8_pack_floats) first. */
static void wino_products(wino_operands ops, const fqgan_conv *c, int blocks, int o0, int o1,
                          const float *V, int n, float *M, float *Q) {
    const void *aux = c->aux;
    const int cin = c->cin, cout = c->cout;
    const int nt = WINO_MAX_TILES;
    const size_t v_step = wino_v_rows(ops, cin) * nt, m_step = (size_t)cout * nt;
    for (int xi = 0; xi < blocks; xi++) {
        float *mx = M + xi * m_step + (size_t)o0 * nt;
        const float *vx = V + xi * v_step;
        if (ops == WINO_I8) {
            int8_t *vq = (int8_t *)Q;
            float *sb = (float *)(vq + facet_i8_b_bytes(cin, nt));
            facet_i8_pack_b(vx, nt, cin, n, vq, nt, sb);
            const int8_t *ux = (const int8_t *)aux + xi * wino_i8_u_bytes(c) +
                               (size_t)(o0 / FACET_I8_TILE_ROWS) * facet_i8_tiled_block_bytes(cin);
            facet_gemm_i8x2(ux, i8_scales(c) + (size_t)xi * cout + o0, o1 - o0, cin, vq, nt, sb, n,
                            mx, nt, 0);
        } else if (ops == WINO_BF16) {
            const uint32_t *ux = (const uint32_t *)aux + ((size_t)xi * cout + o0) * (cin / 2);
            facet_gemm_bf16(ux, cin / 2, o1 - o0, cin / 2, (const uint32_t *)vx, nt, n, mx, nt, 0);
        } else if (ops == WINO_SPLIT) {
            const uint32_t *ux =
                (const uint32_t *)aux + xi * wino_u_words(c) +
                (size_t)(o0 / FACET_BF16_TILE_ROWS) * facet_bf16_tiled_block_words(cin / 2);
            facet_gemm_bf16_split_tiled(ux, o1 - o0, cin / 2, (const uint32_t *)vx, nt, n, mx, nt,
                                        0);
        } else {
            const float *ux = (const float *)aux + ((size_t)xi * cout + o0) * cin;
            facet_gemm(ux, cin, o1 - o0, cin, vx, nt, n, mx, nt, 0);
        }
    }
}

/* Pair row `pair` (input channels 2 pair and 2 pair + 1) of V's blocks xi < blocks, columns
 * [0, n), from the two channels' transformed rows even + xi * 64 and odd + xi * 64. */
static void wino_pack_pairs(wino_operands ops, const float *even, const float *odd, int blocks,
                            int cin, int pair, int n, float *V) {
    const size_t rows = wino_v_rows(ops, cin), nt = WINO_MAX_TILES;
    for (int xi = 0; xi < blocks; xi++) {
        uint32_t *hi = (uint32_t *)V + ((size_t)xi * rows + pair) * nt;
        facet_bf16_pack_pair_row(even + xi * nt, odd + xi * nt, n, hi,
                                 ops == WINO_SPLIT ? hi + (size_t)cin / 2 * nt : NULL);
    }
}

static facet_status cpu_prepare_conv(fqgan_backend *be, fqgan_conv *c) {
    cpu_backend *cb = cpu(be);
    c->aux = NULL;
    const int a = wino_points(c), blocks = a * a;
    const wino_operands ops = wino_operands_of(cb, c);
    const int packed = ops != WINO_FLOAT;
    if (im2col_i8(cb, c)) { /* the weights as int8 digits, then their scales */
        const int k_rows = c->cin * c->k * c->k;
        const size_t bytes = facet_i8_tiled_a_bytes(c->cout, k_rows);
        int8_t *digits;
        facet_status s = cpu_alloc(be, bytes + (size_t)c->cout * sizeof(float), (void **)&digits);
        if (s == FACET_OK) {
            facet_i8_pack_a(c->w, k_rows, c->cout, k_rows, digits, (float *)(digits + bytes));
            c->aux = digits;
        }
        return s;
    }
    if (im2col_split(cb, c)) { /* the weights as split pairs */
        const int k_rows = c->cin * c->k * c->k, stride = facet_bf16_split_row_pairs(k_rows);
        uint32_t *rows = facet_alloc((size_t)c->cout * stride, sizeof *rows), *tiles;
        if (!rows) return facet_last_status();
        facet_status s = cpu_alloc(
            be, facet_bf16_tiled_split_words(c->cout, stride / 2) * sizeof *tiles, (void **)&tiles);
        if (s == FACET_OK) {
            facet_bf16_pack_a_split(c->w, k_rows, c->cout, k_rows, rows, stride);
            facet_bf16_tile_split(rows, stride, c->cout, stride / 2, tiles);
            c->aux = tiles;
        }
        free(rows);
        return s;
    }
    if (a == 0) return FACET_OK;
    const double(*G)[3] = a == 6 ? WINO_G : WINO2_G;
    const size_t floats = (size_t)blocks * c->cout * c->cin;
    /* U in float: the backend's copy, or (bf16, split) a temporary packed into the backend's
     * pairs */
    float *u = packed ? facet_alloc(floats, sizeof *u) : NULL;
    facet_status s = packed ? (u ? FACET_OK : facet_last_status())
                            : cpu_alloc(be, floats * sizeof *u, (void **)&u);
    if (s != FACET_OK) return s;
    for (int o = 0; o < c->cout; o++)
        for (int ci = 0; ci < c->cin; ci++) {
            const float *g = c->w + ((size_t)o * c->cin + ci) * 9;
            double t[6][3];
            for (int i = 0; i < a; i++)
                for (int j = 0; j < 3; j++)
                    t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            for (int i = 0; i < a; i++)
                for (int l = 0; l < a; l++)
                    u[((size_t)(i * a + l) * c->cout + o) * c->cin + ci] =
                        (float)(t[i][0] * G[l][0] + t[i][1] * G[l][1] + t[i][2] * G[l][2]);
        }
    if (ops == WINO_I8) { /* each point's U as tiled digits, then every point's scales */
        const size_t bytes = wino_i8_u_bytes(c);
        int8_t *digits = NULL;
        s = cpu_alloc(be, blocks * (bytes + (size_t)c->cout * sizeof(float)), (void **)&digits);
        if (s == FACET_OK) {
            c->aux = digits;
            float *scales = (float *)i8_scales(c);
            for (int xi = 0; xi < blocks; xi++)
                facet_i8_pack_a(u + (size_t)xi * c->cout * c->cin, c->cin, c->cout, c->cin,
                                digits + xi * bytes, scales + (size_t)xi * c->cout);
        }
        free(u);
        if (s != FACET_OK) return s;
    } else if (ops == WINO_SPLIT) { /* each point's U packed as split rows, then tiled */
        uint32_t *rows = facet_alloc(floats, sizeof *rows), *tiles = NULL;
        s = rows ? cpu_alloc(be, blocks * wino_u_words(c) * sizeof *tiles, (void **)&tiles)
                 : facet_last_status();
        if (s == FACET_OK) {
            facet_bf16_pack_a_split(u, c->cin, blocks * c->cout, c->cin, rows, c->cin);
            for (int xi = 0; xi < blocks; xi++)
                facet_bf16_tile_split(rows + (size_t)xi * c->cout * c->cin, c->cin, c->cout,
                                      c->cin / 2, tiles + xi * wino_u_words(c));
        }
        free(rows);
        free(u);
        if (s != FACET_OK) return s;
        c->aux = tiles;
    } else if (packed) {
        uint32_t *pairs;
        s = cpu_alloc(be, floats / 2 * sizeof *pairs, (void **)&pairs);
        if (s == FACET_OK)
            facet_bf16_pack_a(u, c->cin, blocks * c->cout, c->cin, pairs, c->cin / 2);
        free(u);
        if (s != FACET_OK) return s;
        c->aux = pairs;
    } else {
        c->aux = u;
    }
    const size_t need = (size_t)blocks * (wino_v_rows(ops, c->cin) + c->cout) * WINO_MAX_TILES +
                        (ops == WINO_I8 ? wino_i8_pack_floats(c->cin) : 0);
    if (need > cb->wino_floats) {
        free(cb->wino);
        cb->wino = NULL;
        cb->wino_floats = 0;
        s = aligned((size_t)cb->threads * need * sizeof(float), (void **)&cb->wino);
        if (s != FACET_OK) return s;
        cb->wino_floats = need;
    }
    return FACET_OK;
}

/* Input rows feeding a tile starting at output row o0 (-1 for padding). */
static void wino_sources(fqgan_conv_mode mode, int o0, int n, int *src) {
    for (int i = 0; i < 6; i++) {
        const int v = o0 + i - 1;
        if (mode == FQGAN_CONV_UPSAMPLE)
            src[i] = v >= 0 && v < 2 * n ? v / 2 : -1;
        else
            src[i] = v >= 0 && v < n ? v : -1;
    }
}

/* One task: n <= WINO_MAX_TILES tiles of one image, either a run along one tile row (images
 * wider than 4 * WINO_MAX_TILES) or `rows` whole tile rows of tw tiles (n = rows * tw: small
 * images fill the products' 64 columns this way), and a range [o0, o1) of output channels (small
 * images at small batches split the channels so that every thread has work; each split
 * transforms the same input tiles again, 3 / cout of its work).
 *
 * Per input channel and tile row, the 6 input rows it reads (read in place; padding rows from a
 * zero row, the nearest x2 upsampling copied into R first) are transformed along the rows of the
 * 6x6 windows for every column at once (T = B^T d, padding columns 0), then along the columns of
 * each window (wino_columns6: stride-4 reads of T deinterleaved in registers),
 * giving the 36 blocks V[xi][ci][t] (t contiguous). After the 36 products M[xi] = U[xi] V[xi]
 * (nn/gemm.h), the output transform runs over all tiles of an output channel at once and writes
 * 4 output rows per tile row through a row buffer Z (wino_output_columns interleaves the
 * windows' columns into it). Every other inner loop runs over columns or tiles, so the compiler
 * vectorises them. */
enum { WINO_SPAN = 4 * WINO_MAX_TILES + 2 };

/* The source of a padding row of the input. */
static const float zero_row[WINO_SPAN];

/* B^T of F(4x4, 3x3) applied to six values d0..d5 along a window's row or column, written to
 * o0..o5. Scalars or vectors of floats (GCC's vector extension), so the rows' pass, the columns'
 * vector pass and its scalar tail compute each element by the same operations. */
#define WINO_BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                                   \
    do {                                                                                           \
        o0 = 4.0f * (d0)-5.0f * (d2) + (d4);                                                       \
        o1 = -4.0f * ((d1) + (d2)) + (d3) + (d4);                                                  \
        o2 = 4.0f * ((d1) - (d2)) - (d3) + (d4);                                                   \
        o3 = 2.0f * ((d3) - (d1)) - (d2) + (d4);                                                   \
        o4 = 2.0f * ((d1) - (d3)) - (d2) + (d4);                                                   \
        o5 = 4.0f * (d1)-5.0f * (d3) + (d5);                                                       \
    } while (0)

/* B^T of F(2x2, 3x3) on d0..d3. */
#define WINO_BT4(d0, d1, d2, d3, o0, o1, o2, o3)                                                   \
    do {                                                                                           \
        o0 = (d0) - (d2);                                                                          \
        o1 = (d1) + (d2);                                                                          \
        o2 = (d2) - (d1);                                                                          \
        o3 = (d1) - (d3);                                                                          \
    } while (0)

/* A^T of F(4x4, 3x3) on six values a0..a5 (a window's row or column of M), written to z0..z3. */
#define WINO_AT6(a0, a1, a2, a3, a4, a5, z0, z1, z2, z3)                                           \
    do {                                                                                           \
        z0 = (a0) + ((a1) + (a2)) + ((a3) + (a4));                                                 \
        z1 = ((a1) - (a2)) + 2.0f * ((a3) - (a4));                                                 \
        z2 = ((a1) + (a2)) + 4.0f * ((a3) + (a4));                                                 \
        z3 = ((a1) - (a2)) + 8.0f * ((a3) - (a4)) + (a5);                                          \
    } while (0)

/* A^T of F(2x2, 3x3) on four values b0..b3, written to z0, z1. */
#define WINO_AT4(b0, b1, b2, b3, z0, z1)                                                           \
    do {                                                                                           \
        z0 = (b0) + (b1) + (b2);                                                                   \
        z1 = (b1) - (b2) - (b3);                                                                   \
    } while (0)

/* The columns' pass reads a transformed row at stride 4 (F(4x4)) or 2 (F(2x2)): window t's
 * column c is row[4 t + c]. It runs 16 windows at a time on vectors deinterleaved by shuffles
 * (vpermt2ps on AVX-512, shuffle sequences elsewhere), with the next windows' shared columns
 * shifted in, so nothing goes through memory between the phases (scalar phase arrays cost a
 * store-forwarding stall per vector load). GCC (12+) and Clang provide __builtin_shufflevector. */
#if defined(__GNUC__) || defined(__clang__)
#define WINO_SHUFFLES 1
typedef float wino_v16 __attribute__((vector_size(64)));

static inline wino_v16 wino_load16(const float *p) {
    wino_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void wino_store16(float *p, wino_v16 v) {
    memcpy(p, &v, sizeof v);
}

/* Elements c, c + 4, ..., c + 28 of the 32 floats a, b. */
#define WINO_PHASE4(a, b, c)                                                                       \
    __builtin_shufflevector(a, b, c, c + 4, c + 8, c + 12, c + 16, c + 20, c + 24, c + 28)
#define WINO_CONCAT(lo, hi)                                                                        \
    __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
/* Elements c, c + 2, ..., c + 30 of the 32 floats a, b. */
#define WINO_PHASE2(a, b, c)                                                                       \
    __builtin_shufflevector(a, b, c, c + 2, c + 4, c + 6, c + 8, c + 10, c + 12, c + 14, c + 16,   \
                            c + 18, c + 20, c + 22, c + 24, c + 26, c + 28, c + 30)
/* a's elements 1..15, then element i (16 or 17) of the pair `next`. */
#define WINO_SHIFT1(a, next, i)                                                                    \
    __builtin_shufflevector(a, next, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, i)
/* Elements 0..7 (half 0) or 8..15 (half 8) of a and b, alternating: a0 b0 a1 b1 ... */
#define WINO_ZIP(a, b, h)                                                                          \
    __builtin_shufflevector(a, b, h, h + 16, h + 1, h + 17, h + 2, h + 18, h + 3, h + 19, h + 4,   \
                            h + 20, h + 5, h + 21, h + 6, h + 22, h + 7, h + 23)
#else
#define WINO_SHUFFLES 0
#endif

/* F(4x4) columns' pass over n windows of the row pass's output `row` (4 n + 2 columns):
 * v[i * step + t] = (B^T applied to row[4 t .. 4 t + 5])_i for i < 6, t < n. */
static void wino_columns6(const float *row, int n, float *v, size_t step) {
    int t = 0;
#if WINO_SHUFFLES
    for (; t + 16 <= n; t += 16) {
        const float *r = row + 4 * t;
        const wino_v16 a = wino_load16(r), b = wino_load16(r + 16), c = wino_load16(r + 32),
                       d = wino_load16(r + 48), next = {r[64], r[65]};
        const wino_v16 d0 = WINO_CONCAT(WINO_PHASE4(a, b, 0), WINO_PHASE4(c, d, 0));
        const wino_v16 d1 = WINO_CONCAT(WINO_PHASE4(a, b, 1), WINO_PHASE4(c, d, 1));
        const wino_v16 d2 = WINO_CONCAT(WINO_PHASE4(a, b, 2), WINO_PHASE4(c, d, 2));
        const wino_v16 d3 = WINO_CONCAT(WINO_PHASE4(a, b, 3), WINO_PHASE4(c, d, 3));
        const wino_v16 d4 = WINO_SHIFT1(d0, next, 16), d5 = WINO_SHIFT1(d1, next, 17);
        wino_v16 o0, o1, o2, o3, o4, o5;
        WINO_BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5);
        wino_store16(v + t, o0);
        wino_store16(v + step + t, o1);
        wino_store16(v + 2 * step + t, o2);
        wino_store16(v + 3 * step + t, o3);
        wino_store16(v + 4 * step + t, o4);
        wino_store16(v + 5 * step + t, o5);
    }
#endif
    for (; t < n; t++) {
        const float *r = row + 4 * t;
        WINO_BT6(r[0], r[1], r[2], r[3], r[4], r[5], v[t], v[step + t], v[2 * step + t],
                 v[3 * step + t], v[4 * step + t], v[5 * step + t]);
    }
}

/* The output transform's columns: z[4 t + j] = (A^T applied to a[k * step + t], k < 6)_j for
 * t < n, 16 windows at a time, interleaved by shuffles. */
static void wino_output_columns(const float *a, size_t step, int n, float *z) {
    int t = 0;
#if WINO_SHUFFLES
    for (; t + 16 <= n; t += 16) {
        const wino_v16 a0 = wino_load16(a + t), a1 = wino_load16(a + step + t),
                       a2 = wino_load16(a + 2 * step + t), a3 = wino_load16(a + 3 * step + t),
                       a4 = wino_load16(a + 4 * step + t), a5 = wino_load16(a + 5 * step + t);
        wino_v16 z0, z1, z2, z3;
        WINO_AT6(a0, a1, a2, a3, a4, a5, z0, z1, z2, z3);
        const wino_v16 lo02 = WINO_ZIP(z0, z2, 0), hi02 = WINO_ZIP(z0, z2, 8);
        const wino_v16 lo13 = WINO_ZIP(z1, z3, 0), hi13 = WINO_ZIP(z1, z3, 8);
        wino_store16(z + 4 * t, WINO_ZIP(lo02, lo13, 0));
        wino_store16(z + 4 * t + 16, WINO_ZIP(lo02, lo13, 8));
        wino_store16(z + 4 * t + 32, WINO_ZIP(hi02, hi13, 0));
        wino_store16(z + 4 * t + 48, WINO_ZIP(hi02, hi13, 8));
    }
#endif
    for (; t < n; t++)
        WINO_AT6(a[t], a[step + t], a[2 * step + t], a[3 * step + t], a[4 * step + t],
                 a[5 * step + t], z[4 * t], z[4 * t + 1], z[4 * t + 2], z[4 * t + 3]);
}

/* F(2x2)'s output columns: z[2 t + j] = (A^T applied to a[k * step + t], k < 4)_j for t < n. */
static void wino2_output_columns(const float *a, size_t step, int n, float *z) {
    int t = 0;
#if WINO_SHUFFLES
    for (; t + 16 <= n; t += 16) {
        const wino_v16 a0 = wino_load16(a + t), a1 = wino_load16(a + step + t),
                       a2 = wino_load16(a + 2 * step + t), a3 = wino_load16(a + 3 * step + t);
        wino_v16 z0, z1;
        WINO_AT4(a0, a1, a2, a3, z0, z1);
        wino_store16(z + 2 * t, WINO_ZIP(z0, z1, 0));
        wino_store16(z + 2 * t + 16, WINO_ZIP(z0, z1, 8));
    }
#endif
    for (; t < n; t++)
        WINO_AT4(a[t], a[step + t], a[2 * step + t], a[3 * step + t], z[2 * t], z[2 * t + 1]);
}

/* F(2x2) columns' pass: v[i * step + t] = (B^T applied to row[2 t .. 2 t + 3])_i, i < 4. */
static void wino_columns4(const float *row, int n, float *v, size_t step) {
    int t = 0;
#if WINO_SHUFFLES
    for (; t + 16 <= n; t += 16) {
        const float *r = row + 2 * t;
        const wino_v16 a = wino_load16(r), b = wino_load16(r + 16), next = {r[32], r[33]};
        const wino_v16 d0 = WINO_PHASE2(a, b, 0), d1 = WINO_PHASE2(a, b, 1);
        const wino_v16 d2 = WINO_SHIFT1(d0, next, 16), d3 = WINO_SHIFT1(d1, next, 17);
        wino_v16 o0, o1, o2, o3;
        WINO_BT4(d0, d1, d2, d3, o0, o1, o2, o3);
        wino_store16(v + t, o0);
        wino_store16(v + step + t, o1);
        wino_store16(v + 2 * step + t, o2);
        wino_store16(v + 3 * step + t, o3);
    }
#endif
    for (; t < n; t++) {
        const float *r = row + 2 * t;
        WINO_BT4(r[0], r[1], r[2], r[3], v[t], v[step + t], v[2 * step + t], v[3 * step + t]);
    }
}

/* An output row from the output transform's row z: out = z + bias (+ res, when not NULL). */
static void wino_store_row(const float *z, float bias, const float *res, int cols, float *out) {
    if (res)
        for (int X = 0; X < cols; X++) out[X] = z[X] + bias + res[X];
    else
        for (int X = 0; X < cols; X++) out[X] = z[X] + bias;
}

typedef struct wino_plan {
    int th, tw;     /* tiles down and across */
    int segments;   /* runs per tile row (rows == 1) */
    int rows;       /* tile rows per task */
    int row_groups; /* ceil(th / rows) */
    int splits;     /* output-channel ranges */
    int tasks;
} wino_plan;

/* The tasks of a conv with output tiles of m x m pixels (m = 4: F(4x4, 3x3); 2: F(2x2, 3x3)). */
static wino_plan wino_plan_for(int m, int batch, int ho, int wo, int cout, int unit, int threads) {
    wino_plan p;
    p.th = (ho + m - 1) / m, p.tw = (wo + m - 1) / m;
    p.segments = (p.tw + WINO_MAX_TILES - 1) / WINO_MAX_TILES;
    p.rows = p.segments == 1 ? WINO_MAX_TILES / p.tw : 1;
    if (p.rows > p.th) p.rows = p.th;
    p.row_groups = (p.th + p.rows - 1) / p.rows;
    const int spatial = batch * p.row_groups * p.segments;
    /* at least two tasks per thread, splits of at least 2 * MR channels */
    p.splits = (2 * threads + spatial - 1) / spatial;
    int most = cout / (2 * FACET_GEMM_MR);
    if (most > (cout + unit - 1) / unit) most = (cout + unit - 1) / unit;
    if (p.splits > most) p.splits = most > 1 ? most : 1;
    p.tasks = spatial * p.splits;
    return p;
}

static void wino_conv(cpu_backend *cb, const fqgan_conv *c, const float *x, int batch, int h, int w,
                      const float *add, float *y) {
    const int up = c->mode == FQGAN_CONV_UPSAMPLE, ho = up ? 2 * h : h, wo = up ? 2 * w : w;
    const int cin = c->cin, cout = c->cout, nt = WINO_MAX_TILES;
    const wino_operands ops = wino_operands_of(cb, c);
    const int unit = wino_channel_unit(ops);
    const wino_plan pl = wino_plan_for(4, batch, ho, wo, cout, unit, cb->threads);
    const size_t hw_in = (size_t)h * w, hw_out = (size_t)ho * wo;
    const size_t v_step = wino_v_rows(ops, cin) * nt, m_step = (size_t)cout * nt;
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
    for (int task = 0; task < pl.tasks; task++) {
        const int split = task % pl.splits, spatial = task / pl.splits;
        const int b = spatial / (pl.row_groups * pl.segments);
        const int group = (spatial / pl.segments) % pl.row_groups;
        const int ty0 = group * pl.rows, rows = pl.th - ty0 < pl.rows ? pl.th - ty0 : pl.rows;
        const int tx0 = (spatial % pl.segments) * WINO_MAX_TILES;
        const int per_row = pl.tw - tx0 < WINO_MAX_TILES ? pl.tw - tx0 : WINO_MAX_TILES;
        const int n = rows * per_row, span = 4 * per_row + 2;
        int o0, o1;
        wino_channel_range(cout, split, pl.splits, unit, &o0, &o1);
        const int x0 = 4 * tx0 - 1; /* output-grid column of R[.][0] */
        const int width = up ? 2 * w : w;
        float *V = cb->wino + (size_t)facet_thread_index() * cb->wino_floats;
        float *M = V + (size_t)36 * v_step;
        float R[6][WINO_SPAN], T[6][WINO_SPAN], Z[4][4 * WINO_MAX_TILES];
        float pairs[2][36][WINO_MAX_TILES]; /* bf16, split: two channels' V before packing */
        /* columns of R inside the (virtual) input: [lo, hi) */
        const int lo = x0 < 0 ? -x0 : 0, hi = x0 + span > width ? width - x0 : span;
        /* per input channel, its tile rows in order (consecutive input rows of one plane) */
        int iy[WINO_MAX_TILES][6];
        for (int r = 0; r < rows; r++) wino_sources(c->mode, 4 * (ty0 + r), h, iy[r]);
        for (int ci = 0; ci < cin; ci++) {
            const float *plane = x + ((size_t)b * cin + ci) * hw_in;
            for (int r = 0; r < rows; r++) {
                /* the six source rows from window column lo on: the input itself (a zero row
                 * for padding rows), or the nearest x2 upsampling copied into R */
                const float *rows_at[6];
                for (int i = 0; i < 6; i++) {
                    if (iy[r][i] < 0) {
                        rows_at[i] = zero_row;
                        continue;
                    }
                    const float *row = plane + (size_t)iy[r][i] * w;
                    if (up) {
                        for (int X = lo; X < hi; X++) R[i][X - lo] = row[(x0 + X) / 2];
                        rows_at[i] = R[i];
                    } else {
                        rows_at[i] = row + x0 + lo;
                    }
                }
                for (int X = 0; X < lo; X++)
                    for (int k = 0; k < 6; k++) T[k][X] = 0.0f;
                for (int X = hi; X < span; X++)
                    for (int k = 0; k < 6; k++) T[k][X] = 0.0f;
                const float *r0 = rows_at[0], *r1 = rows_at[1], *r2 = rows_at[2], *r3 = rows_at[3],
                            *r4 = rows_at[4], *r5 = rows_at[5];
                float *t0 = T[0] + lo, *t1 = T[1] + lo, *t2 = T[2] + lo, *t3 = T[3] + lo,
                      *t4 = T[4] + lo, *t5 = T[5] + lo;
                FACET_IVDEP
                for (int X = 0; X < hi - lo; X++)
                    WINO_BT6(r0[X], r1[X], r2[X], r3[X], r4[X], r5[X], t0[X], t1[X], t2[X], t3[X],
                             t4[X], t5[X]);
                /* V itself (float), or the channel's rows of `pairs` (packed below) */
                float *dst = wino_packs_pairs(ops) ? pairs[ci & 1][0] : V + (size_t)ci * nt;
                const size_t step = wino_packs_pairs(ops) ? WINO_MAX_TILES : v_step;
                for (int k = 0; k < 6; k++)
                    wino_columns6(T[k], per_row, dst + (size_t)(k * 6) * step + r * per_row, step);
            }
            if (wino_packs_pairs(ops) && ci & 1) /* the channel pair's n columns at once */
                wino_pack_pairs(ops, pairs[0][0], pairs[1][0], 36, cin, ci / 2, n, V);
        }
        wino_products(ops, c, 36, o0, o1, V, n, M, M + 36 * m_step);
        const int cols = wo - 4 * tx0 < 4 * per_row ? wo - 4 * tx0 : 4 * per_row;
        for (int o = o0; o < o1; o++) {
            const float *mo = M + (size_t)o * nt;
            float A4[4][6][WINO_MAX_TILES]; /* A^T applied along the rows of each 6x6 block */
            for (int j = 0; j < 6; j++) {
                const float *m0 = mo + (size_t)j * m_step; /* block (0, j) */
                FACET_IVDEP
                for (int t = 0; t < n; t++)
                    WINO_AT6(m0[t], m0[6 * m_step + t], m0[12 * m_step + t], m0[18 * m_step + t],
                             m0[24 * m_step + t], m0[30 * m_step + t], A4[0][j][t], A4[1][j][t],
                             A4[2][j][t], A4[3][j][t]);
            }
            const float bias = c->b[o];
            for (int tr = 0; tr < rows; tr++) {
                const int t0 = tr * per_row, oy = 4 * (ty0 + tr);
                for (int i = 0; i < 4; i++)
                    wino_output_columns(A4[i][0] + t0, WINO_MAX_TILES, per_row, Z[i]);
                const int out_rows = ho - oy < 4 ? ho - oy : 4;
                for (int i = 0; i < out_rows; i++) {
                    const size_t at =
                        ((size_t)b * cout + o) * hw_out + (size_t)(oy + i) * wo + (size_t)(4 * tx0);
                    wino_store_row(Z[i], bias, add ? add + at : NULL, cols, y + at);
                }
            }
        }
    }
}

/* F(2x2, 3x3) for a stride-1 conv of an image at most 2 * WINO_MAX_TILES wide. One task:
 * `rows` whole tile rows of one image (n = rows * tw <= WINO_MAX_TILES tiles) and a range
 * [o0, o1) of output channels (wino_plan_for). Per input channel and tile row the
 * 4 input rows (in place, padding from zero_row) are transformed along the windows' rows for
 * every column (T = B^T d), then along each window's columns (wino_columns4), giving V[xi][ci][t];
 * then the 16 products and A^T M A per output channel. */
static void wino2_conv(cpu_backend *cb, const fqgan_conv *c, const float *x, int batch, int h,
                       int w, const float *add, float *y) {
    const int cin = c->cin, cout = c->cout, nt = WINO_MAX_TILES;
    const wino_operands ops = wino_operands_of(cb, c);
    const int unit = wino_channel_unit(ops);
    const wino_plan pl = wino_plan_for(2, batch, h, w, cout, unit, cb->threads); /* one segment */
    const int th = pl.th, tw = pl.tw, per_task = pl.rows, row_groups = pl.row_groups;
    const int splits = pl.splits, tasks = pl.tasks;
    const size_t hw = (size_t)h * w, v_step = wino_v_rows(ops, cin) * nt,
                 m_step = (size_t)cout * nt;
    const int span = 2 * tw + 2, lo = 1, hi = w + 1 < span ? w + 1 : span; /* x0 = -1 */
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
    for (int task = 0; task < tasks; task++) {
        const int split = task % splits, b = task / splits / row_groups;
        const int ty0 = (task / splits % row_groups) * per_task;
        const int rows = th - ty0 < per_task ? th - ty0 : per_task, n = rows * tw;
        int o0, o1;
        wino_channel_range(cout, split, splits, unit, &o0, &o1);
        float *V = cb->wino + (size_t)facet_thread_index() * cb->wino_floats;
        float *M = V + (size_t)16 * v_step;
        float T[4][WINO_SPAN];
        float pairs[2][16][WINO_MAX_TILES]; /* bf16, split: two channels' V before packing */
        for (int ci = 0; ci < cin; ci++) {
            for (int r = 0; r < rows; r++) { /* the channel's tile rows in order */
                const int iy0 = 2 * (ty0 + r) - 1;
                const float *plane = x + ((size_t)b * cin + ci) * hw, *src[4];
                for (int i = 0; i < 4; i++)
                    src[i] = iy0 + i >= 0 && iy0 + i < h ? plane + (size_t)(iy0 + i) * w : zero_row;
                for (int k = 0; k < 4; k++) T[k][0] = 0.0f;
                for (int X = hi; X < span; X++)
                    for (int k = 0; k < 4; k++) T[k][X] = 0.0f;
                const float *r0 = src[0], *r1 = src[1], *r2 = src[2], *r3 = src[3];
                float *t0 = T[0] + lo, *t1 = T[1] + lo, *t2 = T[2] + lo, *t3 = T[3] + lo;
                FACET_IVDEP
                for (int X = 0; X < hi - lo; X++)
                    WINO_BT4(r0[X], r1[X], r2[X], r3[X], t0[X], t1[X], t2[X], t3[X]);
                float *dst = wino_packs_pairs(ops) ? pairs[ci & 1][0] : V + (size_t)ci * nt;
                const size_t step = wino_packs_pairs(ops) ? WINO_MAX_TILES : v_step;
                for (int k = 0; k < 4; k++)
                    wino_columns4(T[k], tw, dst + (size_t)(k * 4) * step + r * tw, step);
            }
            if (wino_packs_pairs(ops) && ci & 1) /* the channel pair's n columns at once */
                wino_pack_pairs(ops, pairs[0][0], pairs[1][0], 16, cin, ci / 2, n, V);
        }
        wino_products(ops, c, 16, o0, o1, V, n, M, M + 16 * m_step);
        for (int o = o0; o < o1; o++) {
            const float *mo = M + (size_t)o * nt;
            float A2[2][4][WINO_MAX_TILES]; /* A^T along the rows of each 4x4 block */
            for (int j = 0; j < 4; j++) {
                const float *m0 = mo + (size_t)j * m_step; /* block (0, j) */
                FACET_IVDEP
                for (int t = 0; t < n; t++)
                    WINO_AT4(m0[t], m0[4 * m_step + t], m0[8 * m_step + t], m0[12 * m_step + t],
                             A2[0][j][t], A2[1][j][t]);
            }
            const float bias = c->b[o];
            float Z[2 * WINO_MAX_TILES]; /* one output row */
            for (int tr = 0; tr < rows; tr++)
                for (int i = 0; i < 2; i++) {
                    const int oy = 2 * (ty0 + tr) + i;
                    if (oy >= h) continue;
                    wino2_output_columns(A2[i][0] + tr * tw, WINO_MAX_TILES, tw, Z);
                    const size_t at = ((size_t)b * cout + o) * hw + (size_t)oy * w;
                    wino_store_row(Z, bias, add ? add + at : NULL, w, y + at);
                }
        }
    }
}

static facet_status cpu_conv(fqgan_backend *be, const fqgan_conv *c, const float *x, int batch,
                             int h, int w, const float *add, float *y) {
    cpu_backend *cb = cpu(be);
    const fqgan_conv_mode mode = c->mode;
    if (c->aux && wino_points(c) == 6) {
        wino_conv(cb, c, x, batch, h, w, add, y);
        return FACET_OK;
    }
    if (c->aux && wino_points(c) == 4 && (w + 1) / 2 <= WINO_MAX_TILES) {
        /* F(2x2): rows of at most 64 tiles */
        wino2_conv(cb, c, x, batch, h, w, add, y);
        return FACET_OK;
    }
    int ho, wo;
    out_size(mode, h, w, &ho, &wo);
    const int hw_in = h * w, hw_out = ho * wo, k_rows = c->cin * c->k * c->k;
    /* output pixels per task: a column chunk of the im2col (or of x for 1x1) */
    int chunk = (int)(cb->col_floats / (size_t)k_rows);
    if (chunk > (int)(IM2COL_OUT_FLOATS / c->cout)) chunk = (int)(IM2COL_OUT_FLOATS / c->cout);
    chunk = chunk < 64 ? 64 : chunk & ~15;
    /* small images at small batches: at least two chunks per thread (not under 64 pixels) */
    const int spread = (batch * hw_out + 2 * cb->threads - 1) / (2 * cb->threads);
    if (spread < chunk) chunk = spread < 64 ? 64 : (spread + 15) & ~15;
    if ((size_t)chunk * k_rows > cb->col_floats && c->k != 1)
        return facet_fail(FACET_ERR_INTERNAL, "conv of %d input rows exceeds the workspace",
                          k_rows);
    const int per_image = (hw_out + chunk - 1) / chunk, tasks = batch * per_image;
    const int split = im2col_split(cb, c), i8 = im2col_i8(cb, c);
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
    for (int t = 0; t < tasks; t++) {
        const int b = t / per_image, p0 = (t % per_image) * chunk;
        const int n = p0 + chunk <= hw_out ? chunk : hw_out - p0;
        const float *xb = x + (size_t)b * c->cin * hw_in;
        float *yb = y + (size_t)b * c->cout * hw_out + p0;
        const float *ab = add ? add + (size_t)b * c->cout * hw_out + p0 : NULL;
        /* y = bias (+ add), then the product accumulates into it */
        for (int o = 0; o < c->cout; o++) {
            float *row = yb + (size_t)o * hw_out;
            const float bias = c->b[o];
            if (ab) {
                const float *arow = ab + (size_t)o * hw_out;
                for (int p = 0; p < n; p++) row[p] = arow[p] + bias;
            } else {
                for (int p = 0; p < n; p++) row[p] = bias;
            }
        }
        /* B: x itself (1x1) or the im2col chunk, [k_rows, n] */
        const float *bm = xb + p0;
        int ldb = hw_in;
        if (c->k != 1) {
            float *col = cb->col + (size_t)facet_thread_index() * cb->col_floats;
            im2col(xb, c->cin, h, w, mode, wo, p0, n, col);
            bm = col, ldb = n;
        }
        if (split) {
            uint32_t *bp =
                cb->col_pairs + (size_t)facet_thread_index() * COL_PACKED_WORDS * cb->col_floats;
            if (i8) {
                const int ldq = facet_i8_b_columns(n);
                int8_t *bq = (int8_t *)bp;
                float *sb = (float *)(bq + facet_i8_b_bytes(k_rows, ldq));
                facet_i8_pack_b(bm, ldb, k_rows, n, bq, ldq, sb);
                facet_gemm_i8x2((const int8_t *)c->aux, i8_scales(c), c->cout, k_rows, bq, ldq, sb,
                                n, yb, hw_out, 1);
            } else {
                facet_bf16_pack_b_split(bm, ldb, k_rows, n, bp, n);
                facet_gemm_bf16_split_tiled(c->aux, c->cout, (k_rows + 1) / 2, bp, n, n, yb, hw_out,
                                            1);
            }
        } else {
            facet_gemm(c->w, k_rows, c->cout, k_rows, bm, ldb, n, yb, hw_out, 1);
        }
    }
    return FACET_OK;
}

/* ---- normalisation --------------------------------------------------------------------------- */

/* Mean and variance (population) of x[0..n) in one pass over memory: per block of up to
 * NORM_BLOCK elements (4 KB, in L1 for its second read) the block's mean and its sum of squared
 * deviations about that mean, each over NORM_LANES float lanes (relative error ~64 ulp of a
 * lane's magnitude at worst), then the blocks merged in double, one at a time (Chan, Golub &
 * LeVeque: M2 += M2_b + delta^2 n n_b / (n + n_b), delta the difference of the means). Deviations
 * are taken about each block's own mean, so the result keeps the accuracy of the two-pass formula
 * PyTorch's kernel matches. */
enum { NORM_LANES = 16, NORM_BLOCK = 1024 };

static float block_sum(const float *x, size_t len, float center, int squares) {
    const size_t body = len - len % NORM_LANES;
    float lane[NORM_LANES] = {0};
    for (size_t i = 0; i < body; i += NORM_LANES)
        for (int l = 0; l < NORM_LANES; l++) {
            const float d = x[i + l] - center;
            lane[l] += squares ? d * d : d;
        }
    float sum = 0.0f;
    for (int l = 0; l < NORM_LANES; l++) sum += lane[l];
    for (size_t i = body; i < len; i++) {
        const float d = x[i] - center;
        sum += squares ? d * d : d;
    }
    return sum;
}

static void group_moments(const float *x, size_t n, double *mean, double *var) {
    double count = 0.0, mu = 0.0, m2 = 0.0; /* the blocks so far */
    for (size_t b0 = 0; b0 < n; b0 += NORM_BLOCK) {
        const size_t len = n - b0 < NORM_BLOCK ? n - b0 : NORM_BLOCK;
        const float block_mean = block_sum(x + b0, len, 0.0f, 0) / (float)len;
        const double block_m2 = block_sum(x + b0, len, block_mean, 1);
        const double delta = (double)block_mean - mu, merged = count + (double)len;
        mu += delta * (double)len / merged;
        m2 += block_m2 + delta * delta * count * (double)len / merged;
        count = merged;
    }
    *mean = mu;
    *var = m2 / (double)n;
}

static facet_status cpu_group_norm(fqgan_backend *be, const fqgan_norm *n, const float *x,
                                   int batch, int hw, int swish, float *y) {
    (void)be;
    const int per_group = n->channels / FQGAN_GROUPS;
    const size_t count = (size_t)per_group * hw;
#pragma omp parallel for schedule(dynamic, 1)
    for (int bg = 0; bg < batch * FQGAN_GROUPS; bg++) {
        const int g = bg % FQGAN_GROUPS;
        const size_t start = (size_t)bg * count; /* a group is contiguous in [B, C, hw] */
        const float *xs = x + start;
        double mean, variance;
        group_moments(xs, count, &mean, &variance);
        const float var = (float)variance;
        for (int cc = 0; cc < per_group; cc++) {
            const int ch = g * per_group + cc;
            float scale, shift;
            facet_nn_norm_coefficients((float)mean, var, FQGAN_GROUP_NORM_EPS, n->gamma[ch],
                                       n->beta[ch], &scale, &shift);
            const float *xc = xs + (size_t)cc * hw;
            float *yc = y + start + (size_t)cc * hw;
            /* one loop per form, so that neither computes the other's lanes under a mask */
            if (swish)
                for (int p = 0; p < hw; p++) yc[p] = fqgan_norm_apply(xc[p], scale, shift, 1);
            else
                for (int p = 0; p < hw; p++) yc[p] = fqgan_norm_apply(xc[p], scale, shift, 0);
        }
    }
    return FACET_OK;
}

/* ---- attention ------------------------------------------------------------------------------- */

/* Query rows per attention task: fills a thread's score buffer. */
static int query_rows(const cpu_backend *c, int len) {
    int rows = (int)(c->score_floats / (size_t)len);
    return rows < len ? rows : len;
}

static facet_status cpu_spatial_attention(fqgan_backend *be, const float *qkv, int batch, int c,
                                          int hw, float *y) {
    cpu_backend *cb = cpu(be);
    const int rows = query_rows(cb, hw);
    if (rows < 1) return facet_fail(FACET_ERR_INTERNAL, "attention workspace too small");
    const int per_image = (hw + rows - 1) / rows, tasks = batch * per_image;
    const float scale = 1.0f / sqrtf((float)c);
    const int previous = facet_nn_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1) num_threads(cb->threads)
    for (int t = 0; t < tasks; t++) {
        const int b = t / per_image, i0 = (t % per_image) * rows;
        const int n = i0 + rows <= hw ? rows : hw - i0;
        const float *q = qkv + (size_t)b * 3 * c * hw, *k = q + (size_t)c * hw,
                    *v = q + (size_t)2 * c * hw;
        float *s = cb->scores + (size_t)facet_thread_index() * cb->score_floats;
        /* s[i, j] = q_i . k_j / sqrt(c) for queries i0..i0+n: q, k stored [c, hw] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, hw, c, scale, q + i0, hw, k, hw,
                    0.0f, s, hw);
        for (int i = 0; i < n; i++) facet_nn_softmax_row(s + (size_t)i * hw, hw, hw);
        /* y[c, i] = sum_j v[c, j] s[i, j] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c, n, hw, 1.0f, v, hw, s, hw, 0.0f,
                    y + (size_t)b * c * hw + i0, hw);
    }
    facet_nn_blas_serial_end(previous);
    return FACET_OK;
}

/* ---- tokens
 * ---------------------------------------------------------------------------------------
 */

static facet_status cpu_to_tokens(fqgan_backend *be, const float *x, const float *pos, int batch,
                                  int c, int len, float *t) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (int bl = 0; bl < batch * len; bl++) {
        const int b = bl / len, l = bl % len;
        const float *xb = x + (size_t)b * c * len;
        float *row = t + (size_t)bl * c;
        for (int ch = 0; ch < c; ch++) row[ch] = xb[(size_t)ch * len + l] + pos[(size_t)l * c + ch];
    }
    return FACET_OK;
}

static facet_status cpu_from_tokens(fqgan_backend *be, const float *t, int batch, int c, int len,
                                    float *x) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < batch * c; bc++) {
        const int b = bc / c, ch = bc % c;
        const float *tb = t + (size_t)b * len * c;
        float *row = x + (size_t)bc * len;
        for (int l = 0; l < len; l++) row[l] = tb[(size_t)l * c + ch];
    }
    return FACET_OK;
}

/* ---- codebooks ------------------------------------------------------------------------------- */

/* Nearest codes in blocks of QUANT_LANES codebook rows: lane l of a block sums z . row for its
 * row in fqgan_code_score's order (from the transposed codebook, so the lanes vectorise) and
 * keeps its best (score, index); the lanes' bests then meet under fqgan_code_better. That is
 * fqgan_nearest_code's answer: the highest score, the lowest index among equal ones. */
enum { QUANT_LANES = 16 };

static int nearest_code_lanes(const float *z, const float *codebook, const float *codes_t,
                              int count, int dim) {
    float best[QUANT_LANES];
    int best_index[QUANT_LANES];
    for (int l = 0; l < QUANT_LANES; l++) best[l] = -INFINITY, best_index[l] = 0;
    const int blocked = count - count % QUANT_LANES;
    for (int j0 = 0; j0 < blocked; j0 += QUANT_LANES) {
        float score[QUANT_LANES] = {0};
        for (int d = 0; d < dim; d++) {
            const float zd = z[d], *row = codes_t + (size_t)d * count + j0;
            for (int l = 0; l < QUANT_LANES; l++) score[l] += zd * row[l];
        }
        for (int l = 0; l < QUANT_LANES; l++) {
            const int better = score[l] > best[l]; /* a lane's indices only grow */
            best[l] = better ? score[l] : best[l];
            best_index[l] = better ? j0 + l : best_index[l];
        }
    }
    float b = -INFINITY;
    int bi = 0;
    for (int l = 0; l < QUANT_LANES; l++)
        if (fqgan_code_better(best[l], best_index[l], b, bi)) b = best[l], bi = best_index[l];
    for (int j = blocked; j < count; j++) { /* the rows past the last full block */
        const float score = fqgan_code_score(z, codebook + (size_t)j * dim, dim);
        if (fqgan_code_better(score, j, b, bi)) b = score, bi = j;
    }
    return bi;
}

static facet_status cpu_quantize(fqgan_backend *be, const float *z, int batch, int dim, int hw,
                                 const float *codebook, int count, uint16_t *indices) {
    cpu_backend *cb = cpu(be);
    enum { MAX_DIM = 1024 };
    const size_t floats = (size_t)dim * count;
    if (floats > cb->codes_t_floats) {
        free(cb->codes_t);
        cb->codes_t = NULL;
        cb->codes_t_floats = 0;
        facet_status s = aligned(floats * sizeof(float), (void **)&cb->codes_t);
        if (s != FACET_OK) return s;
        cb->codes_t_floats = floats;
    }
    float *codes_t = cb->codes_t;
    for (int j = 0; j < count; j++)
        for (int d = 0; d < dim; d++)
            codes_t[(size_t)d * count + j] = codebook[(size_t)j * dim + d];
#pragma omp parallel for schedule(dynamic, 4) num_threads(cb->threads)
    for (int bp = 0; bp < batch * hw; bp++) {
        const int b = bp / hw, p = bp % hw;
        float v[MAX_DIM], ss = 0.0f;
        for (int d = 0; d < dim; d++) {
            v[d] = z[((size_t)b * dim + d) * hw + p];
            ss += v[d] * v[d];
        }
        const float div = fqgan_l2_divisor(ss);
        for (int d = 0; d < dim; d++) v[d] /= div;
        indices[bp] = (uint16_t)nearest_code_lanes(v, codebook, codes_t, count, dim);
    }
    return FACET_OK;
}

static facet_status cpu_embed(fqgan_backend *be, const uint16_t *indices, int batch, int hw,
                              const float *codebook, int dim, int offset, int channels, float *y) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (int bp = 0; bp < batch * hw; bp++) {
        const int b = bp / hw, p = bp % hw;
        const float *row = codebook + (size_t)indices[bp] * dim;
        for (int d = 0; d < dim; d++) y[((size_t)b * channels + offset + d) * hw + p] = row[d];
    }
    return FACET_OK;
}

static const fqgan_backend_ops CPU_OPS = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .upload = cpu_copy,
    .download = cpu_copy,
    .prepare = cpu_prepare,
    .prepare_conv = cpu_prepare_conv,
    .memory_bytes = cpu_memory_bytes,
    .conv = cpu_conv,
    .group_norm = cpu_group_norm,
    .spatial_attention = cpu_spatial_attention,
    .to_tokens = cpu_to_tokens,
    .from_tokens = cpu_from_tokens,
    .quantize = cpu_quantize,
    .embed = cpu_embed,
};

facet_status fqgan_cpu_backend_create(fqgan_backend **out, const fqgan_arch *arch, int max_batch,
                                      fqgan_cpu_precision precision) {
    (void)max_batch; /* workspaces are per thread, not per image */
    *out = NULL;
    const int bf16 = precision != FQGAN_CPU_FP32;
    if (bf16 && !facet_gemm_bf16_native())
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "the cpu-bf16 backend needs a CPU with AVX-512 BF16, which this one "
                          "lacks: use the cpu backend (--precision fp32)");
    cpu_backend *c = facet_alloc_zeroed(1, sizeof *c);
    if (!c) return facet_last_status();
    c->base.ops = &CPU_OPS;
    c->bf16 = bf16;
    c->split = precision == FQGAN_CPU_BF16_SPLIT || precision == FQGAN_CPU_BF16_I8 ||
               (precision == FQGAN_CPU_BF16 && facet_gemm_bf16_split_pays());
    c->i8 = precision == FQGAN_CPU_BF16_I8 ||
            (precision == FQGAN_CPU_BF16 && c->split && facet_gemm_i8x2_pays());
#ifdef _OPENMP
    c->threads = omp_get_max_threads();
#else
    c->threads = 1;
#endif
    /* a conv task takes at least 64 output pixels of the widest im2col (cin * 9 rows) */
    size_t widest = (size_t)arch->z_channels;
    for (int i = 0; i < arch->levels; i++)
        if ((size_t)arch->ch * arch->ch_mult[i] > widest)
            widest = (size_t)arch->ch * arch->ch_mult[i];
    c->col_floats = 64 * 9 * widest > COL_CHUNK_FLOATS ? 64 * 9 * widest : COL_CHUNK_FLOATS;
    /* spatial attention tasks take up to 64 query rows of the widest attention's scores (the
     * trunk's AttnBlocks run at the lowest resolution, grid^2 positions); the adapters' token
     * attention uses the nn context's own */
    const size_t len = (size_t)arch->grid * arch->grid;
    c->score_floats = (len < 64 ? len : 64) * len;
    facet_status s =
        facet_nn_create(&c->base.nn, FACET_NN_CPU, c->split ? FACET_NN_SPLIT : FACET_NN_FP32);
    if (s == FACET_OK)
        s = facet_nn_reserve(c->base.nn, arch->adapter_heads, (int)len, arch->adapter_width, 0);
    if (s == FACET_OK)
        s = aligned((size_t)c->threads * c->col_floats * sizeof(float), (void **)&c->col);
    if (s == FACET_OK && c->split)
        s = aligned((size_t)c->threads * COL_PACKED_WORDS * c->col_floats * sizeof(uint32_t),
                    (void **)&c->col_pairs);
    if (s == FACET_OK)
        s = aligned((size_t)c->threads * c->score_floats * sizeof(float), (void **)&c->scores);
    if (s != FACET_OK) {
        cpu_destroy(&c->base);
        return s;
    }
    *out = &c->base;
    return FACET_OK;
}
