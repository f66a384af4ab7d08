/* bfloat16 products (nn/gemm_bf16.h). The AVX-512 BF16 kernel has the shape of nn/gemm.c's
 * float32 one: a block of MR = 6 rows by up to 64 columns, 6 x 4 zmm accumulators, per pair of k
 * one 32-bit broadcast of each row's A pair and four loads of B's pair row, 24 VDPBF16PS. Blocks:
 * 64 columns of B by KC2 = 128 pairs (32 KB, in L1/L2 while every panel of A passes over it).
 * The AMX kernel works on the same packed operands, which are already AMX's layouts (A rows of k
 * pairs; B rows of pairs, "VNNI"): blocks of 32 x 32 of C in four 16 x 16 tile accumulators, per
 * 16 pairs of k two A tiles and two B tiles and four TDPBF16PS; rows of blocks outer, so each
 * block's rows of A are read once. A split product's A may also come tiled (every tile's rows
 * contiguous: facet_bf16_tile_split), which the convolutions use for their weights. */
#include "nn/gemm_bf16.h"

#include "core/half.h"
#include "nn/gemm_block.h"
#include "nn/amx.h"
#include "nn/gemm_dispatch.h"

#include <immintrin.h>
#include <string.h>

enum { MR = 6, KC2 = 128, NB = 64 };

/* inlined in the packing loops (the exported symbol could be interposed, so calls to it are
 * not), which then vectorise */
static inline uint32_t pair_of(float even, float odd) {
    return (uint32_t)facet_f32_to_bf16(even) | (uint32_t)facet_f32_to_bf16(odd) << 16;
}

uint32_t facet_bf16_pair(float even, float odd) {
    return pair_of(even, odd);
}

/* hi = bf16(x), lo = bf16(x - hi) of each element, as pairs */
static inline void split_pairs(float even, float odd, uint32_t *hi, uint32_t *lo) {
    const uint16_t he = facet_f32_to_bf16(even), ho = facet_f32_to_bf16(odd);
    *hi = (uint32_t)he | (uint32_t)ho << 16;
    *lo = pair_of(even - facet_bf16_to_f32(he), odd - facet_bf16_to_f32(ho));
}

/* One block: C[rows, cols] (+)= A[rows, k2 pairs] B[k2 pairs, cols], rows <= MR, cols <= NB; C
 * is loaded first when load_c. */
typedef void (*block_fn)(const uint32_t *a, int lda, const uint32_t *b, int ldb, int k2, float *c,
                         int ldc, int rows, int cols, int load_c);

static float bf16_lo(uint32_t pair) {
    return facet_bf16_to_f32((uint16_t)(pair & 0xffffu));
}

static float bf16_hi(uint32_t pair) {
    return facet_bf16_to_f32((uint16_t)(pair >> 16));
}

/* ---- portable C: the reference ----------------------------------------------------------- */

static void block_c(const uint32_t *a, int lda, const uint32_t *b, int ldb, int k2, float *c,
                    int ldc, int rows, int cols, int load_c) {
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            float acc = load_c ? c[(size_t)r * ldc + j] : 0.0f;
            for (int p = 0; p < k2; p++) {
                const uint32_t x = a[(size_t)r * lda + p], y = b[(size_t)p * ldb + j];
                acc += bf16_lo(x) * bf16_lo(y); /* exact products, one rounding per add */
                acc += bf16_hi(x) * bf16_hi(y);
            }
            c[(size_t)r * ldc + j] = acc;
        }
}

/* ---- AVX-512 BF16 ------------------------------------------------------------------------ */

#define BF16 __attribute__((target("avx512f,avx512bf16")))

/* clang 16 crashes (a segfault at -O1 and up) when it folds a broadcast into VDPBF16PS; an empty
 * asm keeps the broadcast a separate instruction there. GCC needs nothing. */
#if defined(__clang__)
#define KEEP_BROADCAST(x) __asm__("" : "+v"(x))
#else
#define KEEP_BROADCAST(x) ((void)0)
#endif
/* The register block of nn/gemm_block.h; per pair of k, each row's A pair broadcast (32 bits)
 * and dotted with B's pair row. */
#define ROW_DOT(r)                                                                                 \
    do {                                                                                           \
        __m512i ar = _mm512_set1_epi32((int)a##r[p]);                                              \
        KEEP_BROADCAST(ar);                                                                        \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, (__m512bh)ar, b0);                                     \
        if (nv > 1) c##r##1 = _mm512_dpbf16_ps(c##r##1, (__m512bh)ar, b1);                         \
        if (nv > 2) c##r##2 = _mm512_dpbf16_ps(c##r##2, (__m512bh)ar, b2);                         \
        if (nv > 3) c##r##3 = _mm512_dpbf16_ps(c##r##3, (__m512bh)ar, b3);                         \
    } while (0)
/* B's pair row, vector v (zero past nv; the select on integer vectors, as clang has no ?: on
 * vectors of __bf16) */
#define B_LOAD(v)                                                                                  \
    ((__m512bh)(nv > (v) ? _mm512_maskz_loadu_epi32(mk[v], bp + 16 * (v)) : _mm512_setzero_si512()))

BF16 static inline __attribute__((always_inline)) void
block_bf16_nv(const uint32_t *a, int lda, const uint32_t *b, int ldb, int k2, float *c, int ldc,
              int rows, int cols, int load_c, const int nv) {
    FACET_GEMM_A_ROWS(uint32_t);
    FACET_GEMM_COLUMN_MASKS(cols);
    ROW_INIT(0);
    ROW_INIT(1);
    ROW_INIT(2);
    ROW_INIT(3);
    ROW_INIT(4);
    ROW_INIT(5);
    for (int p = 0; p < k2; p++) {
        const uint32_t *bp = b + (size_t)p * ldb;
        const __m512bh b0 = B_LOAD(0), b1 = B_LOAD(1), b2 = B_LOAD(2), b3 = B_LOAD(3);
        ROW_DOT(0);
        ROW_DOT(1);
        ROW_DOT(2);
        ROW_DOT(3);
        ROW_DOT(4);
        ROW_DOT(5);
    }
    ROW_STORE(0);
    ROW_STORE(1);
    ROW_STORE(2);
    ROW_STORE(3);
    ROW_STORE(4);
    ROW_STORE(5);
}

BF16 static void block_bf16(const uint32_t *a, int lda, const uint32_t *b, int ldb, int k2,
                            float *c, int ldc, int rows, int cols, int load_c) {
    FACET_GEMM_BY_VECTORS(cols, block_bf16_nv, a, lda, b, ldb, k2, c, ldc, rows, cols, load_c);
}

/* ---- packing B, once per product ----------------------------------------------------------
 * One row of B's pairs from two rows of floats (odd NULL: zeros): hi[j] = pair(bf16(even[j]),
 * bf16(odd[j])) and, when lo is not NULL, lo[j] = the pair of bf16(x - bf16(x)). The AVX-512 BF16
 * form converts with VCVTNEPS2BF16, which rounds as facet_f32_to_bf16 (to nearest even, NaN
 * quieted) but reads float32 subnormals as zero: a bf16 subnormal is flushed by the products
 * anyway (AMX and VDPBF16PS), so the products are the same. */
typedef void (*pack_row_fn)(const float *even, const float *odd, int n, uint32_t *hi, uint32_t *lo);

static void pack_row_c(const float *even, const float *odd, int n, uint32_t *hi, uint32_t *lo) {
    if (lo && odd)
        for (int j = 0; j < n; j++) split_pairs(even[j], odd[j], hi + j, lo + j);
    else if (lo)
        for (int j = 0; j < n; j++) split_pairs(even[j], 0.0f, hi + j, lo + j);
    else if (odd)
        for (int j = 0; j < n; j++) hi[j] = pair_of(even[j], odd[j]);
    else
        for (int j = 0; j < n; j++) hi[j] = pair_of(even[j], 0.0f);
}

/* 16 floats as bf16 in the low halves of 16 lanes */
BF16 static inline __m512i bf16_lanes(__m512 x) {
    return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x));
}

BF16 static void pack_row_avx512bf16(const float *even, const float *odd, int n, uint32_t *hi,
                                     uint32_t *lo) {
    for (int j = 0; j < n; j += 16) {
        const __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        const __m512 e = _mm512_maskz_loadu_ps(m, even + j);
        const __m512 o = odd ? _mm512_maskz_loadu_ps(m, odd + j) : _mm512_setzero_ps();
        const __m512i eh = bf16_lanes(e), oh = bf16_lanes(o);
        _mm512_mask_storeu_epi32(hi + j, m, _mm512_or_si512(eh, _mm512_slli_epi32(oh, 16)));
        if (lo) {
            const __m512 e_rest = _mm512_sub_ps(e, _mm512_castsi512_ps(_mm512_slli_epi32(eh, 16)));
            const __m512 o_rest = _mm512_sub_ps(o, _mm512_castsi512_ps(_mm512_slli_epi32(oh, 16)));
            _mm512_mask_storeu_epi32(
                lo + j, m,
                _mm512_or_si512(bf16_lanes(e_rest), _mm512_slli_epi32(bf16_lanes(o_rest), 16)));
        }
    }
}

static pack_row_fn pack_row(void) {
    static pack_row_fn chosen; /* threads may race to set it: every one picks the same */
    pack_row_fn f = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (!f) {
        f = facet_gemm_bf16_native() ? pack_row_avx512bf16 : pack_row_c;
        __atomic_store_n(&chosen, f, __ATOMIC_RELAXED);
    }
    return f;
}

/* ---- packing A: a row of k floats into ceil(k/2) pairs of neighbours ----------------------
 * hi[p] = pair(bf16(row[2p]), bf16(row[2p + 1])) (row[k] read as 0) and, when lo is not NULL, the
 * pairs of the remainders x - bf16(x). Pairs of neighbours are the row converted in order, so the
 * AVX-512 form is VCVTNEPS2BF16 on 16 floats and 16-bit stores (rounding as pack_row's). */
typedef void (*pack_a_row_fn)(const float *row, int k, uint32_t *hi, uint32_t *lo);

static void pack_a_row_c(const float *row, int k, uint32_t *hi, uint32_t *lo) {
    for (int p = 0; p < k / 2; p++) {
        if (lo)
            split_pairs(row[2 * p], row[2 * p + 1], hi + p, lo + p);
        else
            hi[p] = pair_of(row[2 * p], row[2 * p + 1]);
    }
    if (k % 2 && lo) split_pairs(row[k - 1], 0.0f, hi + k / 2, lo + k / 2);
    if (k % 2 && !lo) hi[k / 2] = pair_of(row[k - 1], 0.0f);
}

#define BF16_BW __attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl")))

BF16_BW static void pack_a_row_avx512bf16(const float *row, int k, uint32_t *hi, uint32_t *lo) {
    for (int j = 0; j < k; j += 16) {
        const __mmask16 m = k - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - j)) - 1);
        const __m512 x = _mm512_maskz_loadu_ps(m, row + j);
        const __m256i h = (__m256i)_mm512_cvtneps_pbh(x);
        _mm256_mask_storeu_epi16((uint16_t *)hi + j, m, h);
        if (lo) {
            const __m512 hf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
            const __m256i l = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(x, hf));
            _mm256_mask_storeu_epi16((uint16_t *)lo + j, m, l);
        }
    }
    if (k % 2) { /* the padding element of the last pair */
        hi[k / 2] &= 0xffffu;
        if (lo) lo[k / 2] &= 0xffffu;
    }
}

static pack_a_row_fn pack_a_row(void) {
    static pack_a_row_fn chosen; /* threads may race to set it: every one picks the same */
    pack_a_row_fn f = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (!f) {
        __builtin_cpu_init();
        const int bw = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
        f = facet_gemm_bf16_native() && bw ? pack_a_row_avx512bf16 : pack_a_row_c;
        __atomic_store_n(&chosen, f, __ATOMIC_RELAXED);
    }
    return f;
}

void facet_bf16_pack_a(const float *a, int lda, int m, int k, uint32_t *out, int ldo) {
    const pack_a_row_fn row = pack_a_row();
    for (int r = 0; r < m; r++) row(a + (size_t)r * lda, k, out + (size_t)r * ldo, NULL);
}

void facet_bf16_pack_a_split(const float *a, int lda, int m, int k, uint32_t *out, int ldo) {
    const pack_a_row_fn row = pack_a_row();
    const int k2 = (k + 1) / 2;
    for (int r = 0; r < m; r++) {
        uint32_t *lo = out + (size_t)r * ldo;
        row(a + (size_t)r * lda, k, lo + k2, lo);
    }
}

void facet_bf16_pack_pair_row(const float *even, const float *odd, int n, uint32_t *hi,
                              uint32_t *lo) {
    pack_row()(even, odd, n, hi, lo);
}

void facet_bf16_pack_b(const float *b, int ldb, int k, int n, uint32_t *out, int ldo) {
    const pack_row_fn row = pack_row();
    for (int p = 0; p < (k + 1) / 2; p++) {
        const float *even = b + (size_t)(2 * p) * ldb;
        row(even, 2 * p + 1 < k ? even + ldb : NULL, n, out + (size_t)p * ldo, NULL);
    }
}

void facet_bf16_pack_b_split(const float *b, int ldb, int k, int n, uint32_t *out, int ldo) {
    const pack_row_fn row = pack_row();
    const int k2 = (k + 1) / 2;
    for (int p = 0; p < k2; p++) {
        const float *even = b + (size_t)(2 * p) * ldb;
        row(even, 2 * p + 1 < k ? even + ldb : NULL, n, out + (size_t)p * ldo,
            out + (size_t)(k2 + p) * ldo);
    }
}

/* ---- AMX (Intel Sapphire Rapids and later) ----------------------------------------------- */

#define AMX __attribute__((target("amx-tile,amx-bf16")))

/* The tile configuration LDTILECFG reads (64 bytes). */
typedef struct amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16]; /* bytes per row of tile t */
    uint8_t rows[16];
} amx_config;

/* Tile t as rows x bytes, or unconfigured (both 0: LDTILECFG faults on a tile with only one of
 * them 0). */
static void amx_tile(amx_config *cfg, int t, int rows, int bytes) {
    const int used = rows > 0 && bytes > 0;
    cfg->rows[t] = (uint8_t)(used ? rows : 0);
    cfg->colsb[t] = (uint16_t)(used ? bytes : 0);
}

/* Tiles 0-3: C[0..1][0..1] (rows x cols of the block's quarter); 4, 5: A's two row tiles (16
 * pairs of k each: 64 bytes a row); 6, 7: B's two column tiles (16 pair rows). A tile of no rows
 * or columns is left unconfigured and never touched. */
static void amx_configure(amx_config *cfg, const int rows[2], const int cols[2]) {
    memset(cfg, 0, sizeof *cfg);
    cfg->palette = 1;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) amx_tile(cfg, 2 * i + j, rows[i], 4 * cols[j]);
    for (int i = 0; i < 2; i++) {
        amx_tile(cfg, 4 + i, rows[i], 64);
        amx_tile(cfg, 6 + i, cols[i] > 0 ? 16 : 0, 4 * cols[i]);
    }
}

/* C's tiles 0-3 (the block's quarters; 1 with c1, 2 with r1, 3 with both) loaded from c, or
 * zeroed; and stored back. */
AMX static inline void amx_c_begin(const float *c, int ldc, int r1, int c1, int load_c) {
    const size_t sc = (size_t)ldc * sizeof(float);
    if (load_c) {
        _tile_loadd(0, c, sc);
        if (c1) _tile_loadd(1, c + 16, sc);
        if (r1) _tile_loadd(2, c + (size_t)16 * ldc, sc);
        if (r1 && c1) _tile_loadd(3, c + (size_t)16 * ldc + 16, sc);
    } else {
        _tile_zero(0);
        if (c1) _tile_zero(1);
        if (r1) _tile_zero(2);
        if (r1 && c1) _tile_zero(3);
    }
}

AMX static inline void amx_c_end(float *c, int ldc, int r1, int c1) {
    const size_t sc = (size_t)ldc * sizeof(float);
    _tile_stored(0, c, sc);
    if (c1) _tile_stored(1, c + 16, sc);
    if (r1) _tile_stored(2, c + (size_t)16 * ldc, sc);
    if (r1 && c1) _tile_stored(3, c + (size_t)16 * ldc + 16, sc);
}

/* Where A's pairs lie inside one block of 32 rows: pair p (of a half) of the block's row r at
 * r * row + (p / 16) * group + p % 16 words from the block's start, the split form's hi pairs
 * half words after its lo pairs; blocks of 32 rows `block` words apart.
 * - rows as packed (facet_bf16_pack_a/_split): row = lda, group = 16, half = k2, block = 32 lda;
 * - tiled (facet_bf16_tile_split): row = 16, group = 1024, half = 512,
 *   block = facet_bf16_tiled_block_words(k2).
 * Either way a tile of 16 rows by 16 pairs is 16 rows `row` words apart, and the second row tile
 * starts 16 rows further. */
typedef struct amx_a {
    size_t row, group, half, block;
} amx_a;

/* One group of 16 pairs: A's row tiles (4; 5 with r1) and B's column tiles (6; 7 with c1)
 * loaded from a, b (row strides sa, sb bytes) and multiplied into C's tiles 0-3. */
AMX static inline void amx_group(const uint32_t *a, size_t sa, const uint32_t *b, size_t sb, int r1,
                                 int c1) {
    _tile_loadd(4, a, sa);
    _tile_loadd(6, b, sb);
    _tile_dpbf16ps(0, 4, 6);
    if (c1) {
        _tile_loadd(7, b + 16, sb);
        _tile_dpbf16ps(1, 4, 7);
    }
    if (r1) {
        _tile_loadd(5, (const char *)a + 16 * sa, sa);
        _tile_dpbf16ps(2, 5, 6);
        if (c1) _tile_dpbf16ps(3, 5, 7);
    }
}

/* The zero-padded copies of a last partial group of k (rest < 16 pairs): A's rows [rows][16]
 * (row stride lda words), B's pair rows [16][cols]. */
static void amx_pad_group(const uint32_t *a, size_t lda, int rows, const uint32_t *b, int ldb,
                          int cols, int rest, uint32_t a_tail[32][16], uint32_t b_tail[16][32]) {
    for (int r = 0; r < rows; r++)
        for (int q = 0; q < 16; q++) a_tail[r][q] = q < rest ? a[(size_t)r * lda + q] : 0;
    for (int q = 0; q < 16; q++)
        for (int j = 0; j < cols; j++) b_tail[q][j] = q < rest ? b[(size_t)q * ldb + j] : 0;
}

/* C[rows, cols] (+)= A B over one block of up to 32 x 32, all k2 pairs, tiles configured for its
 * shape; A laid out as `la` says. k is taken 16 pairs at a time; a last partial group goes
 * through zero-padded copies (a zero pair adds exact zeros). */
AMX static void amx_block(const uint32_t *a, const amx_a *la, const uint32_t *b, int ldb, int k2,
                          float *c, int ldc, const int rows[2], const int cols[2], int load_c) {
    uint32_t a_tail[32][16], b_tail[16][32];
    const int whole = k2 / 16 * 16, rest = k2 - whole;
    const int r1 = rows[1] > 0, c1 = cols[1] > 0;
    amx_c_begin(c, ldc, r1, c1, load_c);
    for (int p = 0; p < k2; p += 16) {
        const uint32_t *ap = a + (size_t)(p / 16) * la->group, *bp = b + (size_t)p * ldb;
        size_t sa = la->row * 4, sb = (size_t)ldb * 4;
        if (p == whole) { /* the partial group: copies padded with zero pairs */
            amx_pad_group(ap, la->row, rows[0] + rows[1], bp, ldb, cols[0] + cols[1], rest, a_tail,
                          b_tail);
            ap = &a_tail[0][0], bp = &b_tail[0][0], sa = sizeof a_tail[0], sb = sizeof b_tail[0];
        }
        amx_group(ap, sa, bp, sb, r1, c1);
    }
    amx_c_end(c, ldc, r1, c1);
}

/* A split product's block (facet_gemm_bf16_split's operands: A's lo pairs, its hi pairs `half`
 * words further; B rows hi k2 then lo k2): C (+)= A_hi B_hi + A_lo B_hi + A_hi B_lo in one pass
 * over k, 16 pairs at a time, the three products of a group back to back on the same
 * accumulators. The tiles are reused between them (hi B for the first two, hi A for the first
 * and last), so a group loads 10 operand tiles for 12 TDPBF16PS, and C is loaded and stored
 * once, where two passes load 12 and store C twice. A last partial group goes through
 * zero-padded copies. */
AMX static void amx_block_split(const uint32_t *a, const amx_a *la, const uint32_t *b, int ldb,
                                int k2, float *c, int ldc, const int rows[2], const int cols[2],
                                int load_c) {
    uint32_t a_tail[2][32][16], b_tail[2][16][32]; /* [lo, hi] of A; [hi, lo] of B */
    const int whole = k2 / 16 * 16, rest = k2 - whole;
    const int r1 = rows[1] > 0, c1 = cols[1] > 0;
    amx_c_begin(c, ldc, r1, c1, load_c);
    for (int p = 0; p < k2; p += 16) {
        const uint32_t *alo = a + (size_t)(p / 16) * la->group, *ahi = alo + la->half;
        const uint32_t *bhi = b + (size_t)p * ldb, *blo = b + (size_t)(k2 + p) * ldb;
        size_t sa = la->row * 4, sb = (size_t)ldb * 4;
        if (p == whole) { /* the partial group */
            for (int h = 0; h < 2; h++)
                amx_pad_group(h ? ahi : alo, la->row, rows[0] + rows[1], h ? blo : bhi, ldb,
                              cols[0] + cols[1], rest, a_tail[h], b_tail[h]);
            alo = &a_tail[0][0][0], ahi = &a_tail[1][0][0];
            bhi = &b_tail[0][0][0], blo = &b_tail[1][0][0];
            sa = sizeof a_tail[0][0], sb = sizeof b_tail[0][0];
        }
        /* A_hi B_hi */
        amx_group(ahi, sa, bhi, sb, r1, c1);
        /* A_lo B_hi */
        _tile_loadd(4, alo, sa);
        _tile_dpbf16ps(0, 4, 6);
        if (c1) _tile_dpbf16ps(1, 4, 7);
        if (r1) {
            _tile_loadd(5, (const char *)alo + 16 * sa, sa);
            _tile_dpbf16ps(2, 5, 6);
            if (c1) _tile_dpbf16ps(3, 5, 7);
        }
        /* A_hi B_lo */
        amx_group(ahi, sa, blo, sb, r1, c1);
    }
    amx_c_end(c, ldc, r1, c1);
}

/* The whole product in 32 x 32 blocks of C, each over all of k. Rows of blocks outer: a block's
 * 32 rows of A (the weights, in the convolutions) are read once from memory and stay in L1
 * while the columns pass (B's 32 columns stay in L1/L2 between row blocks). The tiles are
 * configured again only when a block's shape changes. */
typedef void (*amx_block_fn)(const uint32_t *a, const amx_a *la, const uint32_t *b, int ldb, int k2,
                             float *c, int ldc, const int rows[2], const int cols[2], int load_c);

AMX static void gemm_amx_blocks(amx_block_fn block, const uint32_t *a, const amx_a *la, int m,
                                int k2, const uint32_t *b, int ldb, int n, float *c, int ldc,
                                int accumulate) {
    amx_config cfg;
    int shape[4] = {-1, -1, -1, -1};
    for (int r0 = 0; r0 < m; r0 += 32) {
        const int h = m - r0 < 32 ? m - r0 : 32;
        const int rows[2] = {h < 16 ? h : 16, h > 16 ? h - 16 : 0};
        const uint32_t *ab = a + (size_t)(r0 / 32) * la->block;
        for (int j0 = 0; j0 < n; j0 += 32) {
            const int w = n - j0 < 32 ? n - j0 : 32;
            const int cols[2] = {w < 16 ? w : 16, w > 16 ? w - 16 : 0};
            if (rows[0] != shape[0] || rows[1] != shape[1] || cols[0] != shape[2] ||
                cols[1] != shape[3]) {
                amx_configure(&cfg, rows, cols);
                _tile_loadconfig(&cfg);
                shape[0] = rows[0], shape[1] = rows[1], shape[2] = cols[0], shape[3] = cols[1];
            }
            block(ab, la, b + j0, ldb, k2, c + (size_t)r0 * ldc + j0, ldc, rows, cols, accumulate);
        }
    }
    _tile_release();
}

/* A as packed rows (row stride lda words; split: hi pairs k2 after the lo ones) */
static amx_a amx_rows(int lda, int k2) {
    const amx_a la = {(size_t)lda, 16, (size_t)k2, (size_t)32 * lda};
    return la;
}

static void gemm_amx(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb, int n,
                     float *c, int ldc, int accumulate) {
    const amx_a la = amx_rows(lda, k2);
    gemm_amx_blocks(amx_block, a, &la, m, k2, b, ldb, n, c, ldc, accumulate);
}

/* AMX with the OS's permission for this process to use the tile state */
static int amx_usable(void) {
    static int known = -1;
    return facet_amx_usable(&known, FACET_AMX_BF16);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

/* The products over blocks of MR rows x NB columns x KC2 pairs with one of the register-block
 * kernels (AVX-512 BF16, C). */
static void gemm_blocked(block_fn block, const uint32_t *a, int lda, int m, int k2,
                         const uint32_t *b, int ldb, int n, float *c, int ldc, int accumulate) {
    for (int j0 = 0; j0 < n; j0 += NB) {
        const int cols = n - j0 < NB ? n - j0 : NB;
        for (int p0 = 0; p0 < k2; p0 += KC2) {
            const int kc = k2 - p0 < KC2 ? k2 - p0 : KC2;
            for (int r0 = 0; r0 < m; r0 += MR) {
                const int rows = m - r0 < MR ? m - r0 : MR;
                block(a + (size_t)r0 * lda + p0, lda, b + (size_t)p0 * ldb + j0, ldb, kc,
                      c + (size_t)r0 * ldc + j0, ldc, rows, cols, accumulate || p0 > 0);
            }
        }
    }
}

static void gemm_avx512bf16(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb,
                            int n, float *c, int ldc, int accumulate) {
    gemm_blocked(block_bf16, a, lda, m, k2, b, ldb, n, c, ldc, accumulate);
}

static void gemm_c(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb, int n,
                   float *c, int ldc, int accumulate) {
    gemm_blocked(block_c, a, lda, m, k2, b, ldb, n, c, ldc, accumulate);
}

typedef void (*gemm_fn)(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb,
                        int n, float *c, int ldc, int accumulate);

static const char *const KERNEL_NAMES[] = {"amx", "avx512bf16", "c"};
static const gemm_fn KERNELS[] = {gemm_amx, gemm_avx512bf16, gemm_c};

int facet_gemm_bf16_native(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}

static int supported(int index) {
    if (KERNELS[index] == gemm_amx) return amx_usable();
    return KERNELS[index] == gemm_c || facet_gemm_bf16_native();
}

static facet_gemm_dispatch dispatch = {"bf16 GEMM", KERNEL_NAMES, 3, supported, 0};

const char *facet_gemm_bf16_kernel_name(void) {
    return KERNEL_NAMES[facet_gemm_dispatch_current(&dispatch)];
}

facet_status facet_gemm_bf16_force_kernel(const char *name) {
    return facet_gemm_dispatch_force(&dispatch, name);
}

/* ---- the product ------------------------------------------------------------------------- */

/* A product over no pairs: C = 0, or C unchanged when accumulating. */
static void empty_product(float *c, int ldc, int m, int n, int accumulate) {
    if (!accumulate)
        for (int r = 0; r < m; r++) memset(c + (size_t)r * ldc, 0, (size_t)n * sizeof *c);
}

void facet_gemm_bf16(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb, int n,
                     float *c, int ldc, int accumulate) {
    if (k2 == 0) {
        empty_product(c, ldc, m, n, accumulate);
        return;
    }
    if (m <= 0 || n <= 0) return;
    KERNELS[facet_gemm_dispatch_current(&dispatch)](a, lda, m, k2, b, ldb, n, c, ldc, accumulate);
}

void facet_gemm_bf16_split(const uint32_t *a, int lda, int m, int k2, const uint32_t *b, int ldb,
                           int n, float *c, int ldc, int accumulate) {
    if (KERNELS[facet_gemm_dispatch_current(&dispatch)] == gemm_amx && k2 > 0 && m > 0 && n > 0) {
        const amx_a la = amx_rows(lda, k2);
        gemm_amx_blocks(amx_block_split, a, &la, m, k2, b, ldb, n, c, ldc, accumulate);
        return;
    }
    /* [A_lo | A_hi] [B_hi ; B_lo], then + A_hi B_hi */
    facet_gemm_bf16(a, lda, m, 2 * k2, b, ldb, n, c, ldc, accumulate);
    facet_gemm_bf16(a + k2, lda, m, k2, b, ldb, n, c, ldc, 1);
}

int facet_gemm_bf16_split_pays(void) {
    return KERNELS[facet_gemm_dispatch_current(&dispatch)] == gemm_amx;
}

/* ---- split A in AMX tiles ------------------------------------------------------------------ */

enum {
    TILE_ROWS = FACET_BF16_TILE_ROWS,
    TILE_PAIRS = 16,
    TILE_HALF_WORDS = TILE_ROWS * TILE_PAIRS
};

size_t facet_bf16_tiled_block_words(int k2) {
    return (size_t)((k2 + TILE_PAIRS - 1) / TILE_PAIRS) * 2 * TILE_HALF_WORDS;
}

size_t facet_bf16_tiled_split_words(int m, int k2) {
    return (size_t)((m + TILE_ROWS - 1) / TILE_ROWS) * facet_bf16_tiled_block_words(k2);
}

/* Word of pair p of half h (0: lo, 1: hi) of row r in the tiled layout. */
static size_t tiled_index(int k2, int r, int h, int p) {
    return (size_t)(r / TILE_ROWS) * facet_bf16_tiled_block_words(k2) +
           (size_t)(p / TILE_PAIRS) * 2 * TILE_HALF_WORDS + (size_t)h * TILE_HALF_WORDS +
           (size_t)(r % TILE_ROWS) * TILE_PAIRS + (size_t)(p % TILE_PAIRS);
}

/* A tiled (amx_a's second form) */
static amx_a amx_tiled(int k2) {
    const amx_a la = {TILE_PAIRS, 2 * TILE_HALF_WORDS, TILE_HALF_WORDS,
                      facet_bf16_tiled_block_words(k2)};
    return la;
}

void facet_bf16_tile_split(const uint32_t *a, int lda, int m, int k2, uint32_t *out) {
    memset(out, 0, facet_bf16_tiled_split_words(m, k2) * sizeof *out);
    for (int r = 0; r < m; r++)
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < k2; p++)
                out[tiled_index(k2, r, h, p)] = a[(size_t)r * lda + (size_t)h * k2 + p];
}

/* The register-block kernels on tiled A: per block of 32 rows, the chunks of KC2 pairs that
 * facet_gemm_bf16_split's two calls of gemm_blocked take ([A_lo | A_hi] against [B_hi ; B_lo],
 * then A_hi against B_hi), each copied back into rows, so every element sees the same
 * operations in the same order as from packed rows. */
static void gemm_split_tiled_blocked(block_fn block, const uint32_t *at, int m, int k2,
                                     const uint32_t *b, int ldb, int n, float *c, int ldc,
                                     int accumulate) {
    uint32_t rows_of[TILE_ROWS][KC2];
    for (int r0 = 0; r0 < m; r0 += TILE_ROWS) {
        const int h = m - r0 < TILE_ROWS ? m - r0 : TILE_ROWS;
        for (int pass = 0; pass < 2; pass++) {
            const int pairs = pass == 0 ? 2 * k2 : k2;
            for (int p0 = 0; p0 < pairs; p0 += KC2) {
                const int kc = pairs - p0 < KC2 ? pairs - p0 : KC2;
                for (int r = 0; r < h; r++)
                    for (int q = 0; q < kc; q++) {
                        const int p = p0 + q; /* pass 0: lo pairs, then hi; pass 1: hi */
                        const int half = pass == 1 || p >= k2, at_p = p >= k2 ? p - k2 : p;
                        rows_of[r][q] = at[tiled_index(k2, r0 + r, half, at_p)];
                    }
                const int load_c = pass == 1 || accumulate || p0 > 0;
                for (int j0 = 0; j0 < n; j0 += NB) {
                    const int cols = n - j0 < NB ? n - j0 : NB;
                    for (int r = 0; r < h; r += MR)
                        block(rows_of[r], KC2, b + (size_t)p0 * ldb + j0, ldb, kc,
                              c + (size_t)(r0 + r) * ldc + j0, ldc, h - r < MR ? h - r : MR, cols,
                              load_c);
                }
            }
        }
    }
}

void facet_gemm_bf16_split_tiled(const uint32_t *at, int m, int k2, const uint32_t *b, int ldb,
                                 int n, float *c, int ldc, int accumulate) {
    if (k2 == 0) {
        empty_product(c, ldc, m, n, accumulate);
        return;
    }
    if (m <= 0 || n <= 0) return;
    const gemm_fn kernel = KERNELS[facet_gemm_dispatch_current(&dispatch)];
    if (kernel == gemm_amx) {
        const amx_a la = amx_tiled(k2);
        gemm_amx_blocks(amx_block_split, at, &la, m, k2, b, ldb, n, c, ldc, accumulate);
    } else {
        gemm_split_tiled_blocked(kernel == gemm_c ? block_c : block_bf16, at, m, k2, b, ldb, n, c,
                                 ldc, accumulate);
    }
}
