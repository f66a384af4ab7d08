/* Fixed-point split products (nn/gemm_i8.h). The AMX kernel computes blocks of 16 rows by 32
 * columns of C in four int32 tile accumulators, HH and X for each 16-column half; per group of
 * 64 k it loads A's hi and lo tiles once and B's hi, then lo, column tiles:
 *     HH += Ah Bh,  X += Al Bh,  X += Ah Bl          (6 TDPBSSD, 6 tile loads)
 * then stores the accumulators to a buffer from which the epilogue (shared with the C kernel)
 * forms C = (sa sb) (HH + X / 256). Rows of blocks outer: a block's 16 rows of A (the weights, in
 * the convolutions) are read from memory once and stay in L1 while the columns pass. */
/* 512-bit vectors for the packing loops (GCC's -march=native prefers 256 on AVX-512 CPUs) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif
#include "nn/gemm_i8.h"

#include "nn/amx.h"
#include "nn/gemm_dispatch.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

enum { GROUP = FACET_I8_GROUP, TILE_ROWS = FACET_I8_TILE_ROWS, GROUP_BYTES = 2 * 16 * GROUP };

size_t facet_i8_tiled_block_bytes(int k) {
    return (size_t)facet_i8_groups(k) * GROUP_BYTES;
}

size_t facet_i8_tiled_a_bytes(int m, int k) {
    return (size_t)((m + TILE_ROWS - 1) / TILE_ROWS) * facet_i8_tiled_block_bytes(k);
}

size_t facet_i8_b_bytes(int k, int ldb) {
    return (size_t)facet_i8_groups(k) * 2 * 16 * (size_t)ldb * 4;
}

/* ---- digits ------------------------------------------------------------------------------ */

/* x rounded to the nearest integer, ties to even, for |x| < 2^22: adding 1.5 2^23 leaves the
 * integer in the low bits of the sum (nearbyintf's result, without its libm call or VRNDSCALE). */
static inline int32_t round_int(float x) {
    const float t = x + 0x1.8p23f;
    int32_t bits;
    memcpy(&bits, &t, sizeof bits);
    return bits - 0x4B400000;
}

static inline int32_t clamp_digit(int32_t d) {
    return d > 127 ? 127 : d < -127 ? -127 : d;
}

/* The scale of a vector whose largest magnitude is amax, and the factors its digits use:
 * inv = 127 / amax (so |x inv| <= 127 (1 + 2^-23): hi needs no clamp) and inv256 = 256 inv, as
 * float32 computes them; all 0 for amax = 0, whose digits are then 0. `finite` 0 (a NaN or an
 * infinity among the values) makes the scale NaN, so the products stay non-finite as float32's
 * would. */
typedef struct digit_scale {
    float s, inv, inv256;
} digit_scale;

static inline digit_scale scale_of(float amax, int finite) {
    digit_scale d = {finite ? amax / 127.0f : NAN, amax > 0.0f && finite ? 127.0f / amax : 0.0f,
                     0.0f};
    d.inv256 = 256.0f * d.inv;
    return d;
}

/* hi = round(v inv); lo = round((v - hi s) inv256), clamped (it can reach 128). */
static inline int32_t hi_digit(float v, digit_scale d) {
    return round_int(v * d.inv);
}

static inline int32_t lo_digit(float v, int32_t hi, digit_scale d) {
    return clamp_digit(round_int(fmaf(-(float)hi, d.s, v) * d.inv256));
}

static inline float larger(float a, float b) {
    return a > b ? a : b; /* vectorises where fmaxf is a libm call */
}

float facet_i8_digits(const float *x, size_t stride, int n, int8_t *hi, int8_t *lo,
                      size_t out_stride) {
    float amax = 0.0f, poison = 0.0f; /* x - x: NaN for a NaN or an infinity */
    for (int i = 0; i < n; i++) {
        const float v = x[(size_t)i * stride];
        amax = larger(amax, fabsf(v));
        poison += v - v;
    }
    const digit_scale d = scale_of(amax, poison == 0.0f);
    for (int i = 0; i < n; i++) {
        const float v = x[(size_t)i * stride];
        const int32_t h = hi_digit(v, d);
        hi[(size_t)i * out_stride] = (int8_t)h;
        lo[(size_t)i * out_stride] = (int8_t)lo_digit(v, h, d);
    }
    return d.s;
}

void facet_i8_pack_a(const float *a, int lda, int m, int k, int8_t *out, float *sa) {
    const size_t block = facet_i8_tiled_block_bytes(k);
    memset(out, 0, facet_i8_tiled_a_bytes(m, k));
    int8_t hi[k > 0 ? k : 1], lo[k > 0 ? k : 1];
    for (int r = 0; r < m; r++) {
        sa[r] = facet_i8_digits(a + (size_t)r * lda, 1, k, hi, lo, 1);
        int8_t *row = out + (size_t)(r / TILE_ROWS) * block + (size_t)(r % TILE_ROWS) * GROUP;
        for (int g = 0; g * GROUP < k; g++) {
            const int len = k - g * GROUP < GROUP ? k - g * GROUP : GROUP;
            memcpy(row + (size_t)g * GROUP_BYTES, hi + g * GROUP, (size_t)len);
            memcpy(row + (size_t)g * GROUP_BYTES + 16 * GROUP, lo + g * GROUP, (size_t)len);
        }
    }
}

/* Four digits (of k rows 4 q .. 4 q + 3) as one little-endian word, as TDPBSSD reads B. */
static inline uint32_t quad(int32_t d0, int32_t d1, int32_t d2, int32_t d3) {
    return ((uint32_t)d0 & 0xffu) | ((uint32_t)d1 & 0xffu) << 8 | ((uint32_t)d2 & 0xffu) << 16 |
           (uint32_t)d3 << 24;
}

void facet_i8_pack_b(const float *b, int ldb_in, int k, int n, int8_t *out, int ldb, float *sb) {
    const size_t half = (size_t)16 * ldb; /* words of a group's hi (or lo) digits */
    float amax[n > 0 ? n : 1], poison[n > 0 ? n : 1], inv[n > 0 ? n : 1], inv256[n > 0 ? n : 1];
    for (int j = 0; j < n; j++) amax[j] = poison[j] = 0.0f; /* the columns' maxima first */
    for (int i = 0; i < k; i++) {
        const float *row = b + (size_t)i * ldb_in;
        for (int j = 0; j < n; j++) {
            amax[j] = larger(amax[j], fabsf(row[j]));
            poison[j] += row[j] - row[j];
        }
    }
    for (int j = 0; j < n; j++) {
        const digit_scale d = scale_of(amax[j], poison[j] == 0.0f);
        sb[j] = d.s, inv[j] = d.inv, inv256[j] = d.inv256;
    }
    /* quad row q of k: words (q / 16) * 2 half + (q % 16) ldb + j (hi), + half (lo); rows past k
     * are zeros, as are the whole quad rows of the last group past them */
    float zeros[n > 0 ? n : 1];
    memset(zeros, 0, sizeof zeros);
    const int quads = (k + 3) / 4, padded = facet_i8_groups(k) * GROUP / 4;
    for (int q = 0; q < quads; q++) {
        const float *r[4];
        for (int i = 0; i < 4; i++) r[i] = 4 * q + i < k ? b + (size_t)(4 * q + i) * ldb_in : zeros;
        const float *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3];
        uint32_t *hi = (uint32_t *)out + (size_t)(q / 16) * 2 * half + (size_t)(q % 16) * ldb;
        uint32_t *lo = hi + half;
        for (int j = 0; j < n; j++) {
            const digit_scale d = {sb[j], inv[j], inv256[j]};
            const float v0 = r0[j], v1 = r1[j], v2 = r2[j], v3 = r3[j];
            const int32_t h0 = hi_digit(v0, d), h1 = hi_digit(v1, d), h2 = hi_digit(v2, d),
                          h3 = hi_digit(v3, d);
            hi[j] = quad(h0, h1, h2, h3);
            lo[j] = quad(lo_digit(v0, h0, d), lo_digit(v1, h1, d), lo_digit(v2, h2, d),
                         lo_digit(v3, h3, d));
        }
    }
    for (int q = quads; q < padded; q++) {
        uint32_t *hi = (uint32_t *)out + (size_t)(q / 16) * 2 * half + (size_t)(q % 16) * ldb;
        memset(hi, 0, (size_t)ldb * sizeof *hi);
        memset(hi + half, 0, (size_t)ldb * sizeof *hi);
    }
}

/* ---- the epilogue, shared by every kernel ------------------------------------------------- */

/* C[r][0..cols) (+)= (sa sb[j]) (HH[j] + X[j] / 256) for one row. */
static inline void epilogue_row(float sa, const float *sb, const int32_t *hh, const int32_t *x,
                                int cols, float *c, int accumulate) {
    for (int j = 0; j < cols; j++) {
        const float v = (sa * sb[j]) * ((float)hh[j] + (float)x[j] * 0x1p-8f);
        c[j] = accumulate ? c[j] + v : v;
    }
}

/* epilogue_row on 16 columns as one vector (GCC, Clang): the same operations on each element. */
#if defined(__GNUC__) || defined(__clang__)
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));

static inline void epilogue_16(float sa, const float *sb, const int32_t *hh, const int32_t *x,
                               float *c, int accumulate) {
    f32x16 s, cv;
    i32x16 h, xv;
    memcpy(&s, sb, sizeof s);
    memcpy(&h, hh, sizeof h);
    memcpy(&xv, x, sizeof xv);
    f32x16 v = (sa * s) *
               (__builtin_convertvector(h, f32x16) + __builtin_convertvector(xv, f32x16) * 0x1p-8f);
    if (accumulate) {
        memcpy(&cv, c, sizeof cv);
        v = cv + v;
    }
    memcpy(c, &v, sizeof v);
}
#else
static inline void epilogue_16(float sa, const float *sb, const int32_t *hh, const int32_t *x,
                               float *c, int accumulate) {
    epilogue_row(sa, sb, hh, x, 16, c, accumulate);
}
#endif

/* ---- portable C: the reference ----------------------------------------------------------- */

static void gemm_c(const int8_t *a, const float *sa, int m, int k, const int8_t *b, int ldb,
                   const float *sb, int n, float *c, int ldc, int accumulate) {
    const size_t block = facet_i8_tiled_block_bytes(k), half = (size_t)16 * ldb * 4;
    int32_t hh[n], x[n];
    for (int r = 0; r < m; r++) {
        const int8_t *row = a + (size_t)(r / TILE_ROWS) * block + (size_t)(r % TILE_ROWS) * GROUP;
        for (int j = 0; j < n; j++) {
            int32_t sum_hh = 0, sum_x = 0;
            for (int i = 0; i < k; i++) {
                const int8_t *ag = row + (size_t)(i / GROUP) * GROUP_BYTES + i % GROUP;
                const size_t at = (size_t)(i / GROUP) * 2 * half +
                                  ((size_t)(i % GROUP / 4) * ldb + j) * 4 + (size_t)(i % 4);
                const int32_t ah = ag[0], al = ag[16 * GROUP], bh = b[at], bl = b[at + half];
                sum_hh += ah * bh;
                sum_x += ah * bl + al * bh;
            }
            hh[j] = sum_hh, x[j] = sum_x;
        }
        epilogue_row(sa[r], sb, hh, x, n, c + (size_t)r * ldc, accumulate);
    }
}

/* ---- AMX (Intel Sapphire Rapids and later) ----------------------------------------------- */

#define AMX __attribute__((target("amx-tile,amx-int8")))

typedef struct amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

/* Every tile 16 rows of 64 bytes: 0, 1 HH and 2, 3 X (int32, columns 0-15 and 16-31 of the
 * block), 4 A's hi digits, 5 its lo digits, 6, 7 B's column tiles. */
static void amx_configure(amx_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->palette = 1;
    for (int t = 0; t < 8; t++) cfg->rows[t] = 16, cfg->colsb[t] = 64;
}

AMX static void gemm_amx(const int8_t *a, const float *sa, int m, int k, const int8_t *b, int ldb,
                         const float *sb, int n, float *c, int ldc, int accumulate) {
    amx_config cfg;
    amx_configure(&cfg);
    _tile_loadconfig(&cfg);
    const int groups = facet_i8_groups(k);
    const size_t block = facet_i8_tiled_block_bytes(k), half = (size_t)16 * ldb * 4;
    const size_t sb_bytes = (size_t)ldb * 4;
    int32_t acc[4][16][16]; /* HH0, HH1, X0, X1 */
    for (int r0 = 0; r0 < m; r0 += TILE_ROWS) {
        const int8_t *ab = a + (size_t)(r0 / TILE_ROWS) * block;
        const int rows = m - r0 < TILE_ROWS ? m - r0 : TILE_ROWS;
        for (int j0 = 0; j0 < n; j0 += 32) {
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (int g = 0; g < groups; g++) {
                const int8_t *ag = ab + (size_t)g * GROUP_BYTES;
                const int8_t *bg = b + (size_t)g * 2 * half + (size_t)j0 * 4;
                _tile_loadd(4, ag, GROUP);
                _tile_loadd(5, ag + 16 * GROUP, GROUP);
                _tile_loadd(6, bg, sb_bytes);
                _tile_loadd(7, bg + 64, sb_bytes);
                _tile_dpbssd(0, 4, 6);
                _tile_dpbssd(1, 4, 7);
                _tile_dpbssd(2, 5, 6);
                _tile_dpbssd(3, 5, 7);
                _tile_loadd(6, bg + half, sb_bytes);
                _tile_loadd(7, bg + half + 64, sb_bytes);
                _tile_dpbssd(2, 4, 6);
                _tile_dpbssd(3, 4, 7);
            }
            _tile_stored(0, acc[0], 64);
            _tile_stored(1, acc[1], 64);
            _tile_stored(2, acc[2], 64);
            _tile_stored(3, acc[3], 64);
            const int cols = n - j0 < 32 ? n - j0 : 32;
            const int left = cols < 16 ? cols : 16, right = cols - left;
            if (cols == 32) {
                for (int r = 0; r < rows; r++) {
                    float *cr = c + (size_t)(r0 + r) * ldc + j0;
                    epilogue_16(sa[r0 + r], sb + j0, acc[0][r], acc[2][r], cr, accumulate);
                    epilogue_16(sa[r0 + r], sb + j0 + 16, acc[1][r], acc[3][r], cr + 16,
                                accumulate);
                }
                continue;
            }
            for (int r = 0; r < rows; r++) {
                float *cr = c + (size_t)(r0 + r) * ldc + j0;
                epilogue_row(sa[r0 + r], sb + j0, acc[0][r], acc[2][r], left, cr, accumulate);
                if (right > 0)
                    epilogue_row(sa[r0 + r], sb + j0 + 16, acc[1][r], acc[3][r], right, cr + 16,
                                 accumulate);
            }
        }
    }
    _tile_release();
}

/* AMX with the OS's permission for this process to use the tile state */
static int amx_usable(void) {
    static int known = -1;
    return facet_amx_usable(&known, FACET_AMX_INT8);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

typedef void (*gemm_fn)(const int8_t *a, const float *sa, int m, int k, const int8_t *b, int ldb,
                        const float *sb, int n, float *c, int ldc, int accumulate);

static const char *const KERNEL_NAMES[] = {"amx", "c"};
static const gemm_fn KERNELS[] = {gemm_amx, gemm_c};

static int supported(int index) {
    return KERNELS[index] == gemm_amx ? amx_usable() : 1;
}

static facet_gemm_dispatch dispatch = {"i8x2 GEMM", KERNEL_NAMES, 2, supported, 0};

const char *facet_gemm_i8x2_kernel_name(void) {
    return KERNEL_NAMES[facet_gemm_dispatch_current(&dispatch)];
}

facet_status facet_gemm_i8x2_force_kernel(const char *name) {
    return facet_gemm_dispatch_force(&dispatch, name);
}

int facet_gemm_i8x2_pays(void) {
    return KERNELS[facet_gemm_dispatch_current(&dispatch)] == gemm_amx;
}

void facet_gemm_i8x2(const int8_t *a, const float *sa, int m, int k, const int8_t *b, int ldb,
                     const float *sb, int n, float *c, int ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (int r = 0; r < m; r++) memset(c + (size_t)r * ldc, 0, (size_t)n * sizeof *c);
        return;
    }
    KERNELS[facet_gemm_dispatch_current(&dispatch)](a, sa, m, k, b, ldb, sb, n, c, ldc, accumulate);
}
