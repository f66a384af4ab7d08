/* FQGAN internals shared by the model (tokenizer/fqgan.c) and its backends (fqgan_backend.c,
 * cuda/fqgan_backend.cu, fqgan_backend_none.c): the architecture read from the weights' metadata,
 * the layer tables, and the backend interface. The forward pass is written once in fqgan.c over
 * the backend's ops; a backend owns memory (host or device) and implements the ops on it. The
 * transformer adapters' ops (LayerNorm, linear layers, multi-head attention) are nn/'s, on the
 * facet_nn context the backend holds (same device, same precision).
 *
 * Activations are float32, batch-major NCHW: [B, C, H, W] (H*W contiguous per channel). Token
 * tensors of the adapters are [B, L, D] row-major (L = grid^2 positions in row-major h, w order).
 * Every pointer in the layer tables and every op argument points to backend memory. */
#ifndef FACET_TOKENIZER_FQGAN_INTERNAL_H
#define FACET_TOKENIZER_FQGAN_INTERNAL_H

#include "nn/nn.h"
#include "tokenizer/fqgan.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { FQGAN_MAX_LEVELS = 8, FQGAN_MAX_RES_BLOCKS = 8 };

/* The architecture, from the `config` metadata (tokenizer/fqgan_format.md). */
typedef struct fqgan_arch {
    char variant[8]; /* "dual" or "triple" */
    int branch_count;
    char branch_names[FACET_FQGAN_MAX_BRANCHES][12]; /* "vis", "sem" / "sem_mid", "sem_high" */
    int image_size, downsample, grid;
    int ch, levels, ch_mult[FQGAN_MAX_LEVELS];
    int z_channels, enc_res_blocks, dec_res_blocks;
    int adapter_width, adapter_layers, adapter_heads;
    int codebook_size, codebook_dim;
} fqgan_arch;

typedef enum fqgan_conv_mode {
    FQGAN_CONV_SAME,       /* stride 1, padding k / 2 */
    FQGAN_CONV_DOWNSAMPLE, /* zero pad right and bottom by 1, 3x3 stride 2: H -> H / 2 */
    FQGAN_CONV_UPSAMPLE,   /* nearest x2 of the input, then 3x3 stride 1: H -> 2 H */
} fqgan_conv_mode;

typedef struct fqgan_conv {
    int cin, cout, k;     /* k = 3 or 1 */
    fqgan_conv_mode mode; /* how the model applies it (1x1: FQGAN_CONV_SAME) */
    int out_size;         /* output height = width at the model's image size */
    float *w;             /* [cout, cin, k, k] */
    float *b;             /* [cout] */
    /* 1: a reduced-precision backend (cpu-bf16) may run this conv in its reduced precision; set
     * by the model before prepare_conv (see prepare_convs in fqgan.c for which convs) */
    int reduced_precision;
    /* 1: where the backend would run this conv's products at float32 grade as split bf16, it may
     * run them as fixed-point int8 digits (nn/gemm_i8.h: 16 bits relative to each row's and
     * column's largest value); set by the model with reduced_precision (the decoder's convs) */
    int fixed_point;
    void *aux; /* backend data prepared by prepare_conv (or NULL) */
} fqgan_conv;

typedef struct fqgan_norm {
    int channels;
    float *gamma, *beta; /* [channels] */
} fqgan_norm;

typedef struct fqgan_linear {
    int in, out;
    float *w; /* [out, in]: y = x W^T + b */
    float *b; /* [out] */
} fqgan_linear;

typedef struct fqgan_resblock {
    fqgan_norm norm1, norm2;
    fqgan_conv conv1, conv2, nin_shortcut; /* nin_shortcut only when has_shortcut */
    int has_shortcut;
} fqgan_resblock;

/* AttnBlock with q, k, v packed at load into one 1x1 conv [3C, C] (rows q, then k, then v). */
typedef struct fqgan_attnblock {
    fqgan_norm norm;
    fqgan_conv qkv, proj_out;
} fqgan_attnblock;

typedef struct fqgan_level {
    int res_count, attn_count;
    fqgan_resblock res[FQGAN_MAX_RES_BLOCKS];
    fqgan_attnblock attn[FQGAN_MAX_RES_BLOCKS];
    int has_resample; /* encoder: Downsample, decoder: Upsample */
    fqgan_conv resample;
} fqgan_level;

typedef struct fqgan_block {
    fqgan_norm ln_1, ln_2;
    fqgan_linear in_proj, out_proj, c_fc, c_proj; /* in_proj: [3D, D] (q, k, v rows) */
} fqgan_block;

typedef struct fqgan_branch {
    float *positional_embedding; /* [grid^2, D] */
    fqgan_norm ln_pre, ln_post;
    fqgan_block *blocks; /* adapter_layers */
    fqgan_norm norm_out;
    fqgan_conv conv_out, quant_conv;
    float *codebook; /* [codebook_size, codebook_dim], rows L2-normalised at load */
} fqgan_branch;

typedef struct fqgan_backend fqgan_backend;

/* A backend: memory and ops. Each op fails with a message naming the operation. */
typedef struct fqgan_backend_ops {
    const char *name;
    void (*destroy)(fqgan_backend *be);
    /* Backend memory of `bytes` (contents undefined), freed with the backend. */
    facet_status (*alloc)(fqgan_backend *be, size_t bytes, void **out);
    facet_status (*upload)(fqgan_backend *be, void *dst, const void *host, size_t bytes);
    facet_status (*download)(fqgan_backend *be, void *host, const void *src, size_t bytes);
    /* Called once after the parameters are in place (e.g. converted copies for BF16, which
     * facet_nn_params makes), then once per convolution (e.g. transformed weights, set in
     * c->aux). */
    facet_status (*prepare)(fqgan_backend *be, const float *params, size_t count);
    facet_status (*prepare_conv)(fqgan_backend *be, fqgan_conv *c);
    /* Bytes the backend holds: its allocations through `alloc`, its workspaces and its nn
     * context's. */
    size_t (*memory_bytes)(const fqgan_backend *be);

    /* y [B, cout, Ho, Wo] = conv(x [B, cin, h, w]) + bias (c->mode gives Ho, Wo), plus `add`
     * (same shape as y) when not NULL; `add` may be y itself (in-place residual). y never aliases
     * x. */
    facet_status (*conv)(fqgan_backend *be, const fqgan_conv *c, const float *x, int batch, int h,
                         int w, const float *add, float *y);
    /* GroupNorm(32) over x [B, C, hw] (+ swish); y may be x. */
    facet_status (*group_norm)(fqgan_backend *be, const fqgan_norm *n, const float *x, int batch,
                               int hw, int swish, float *y);
    /* Single-head attention of AttnBlock: qkv [B, 3C, hw] -> y [B, C, hw],
     * y[:, i] = sum_j softmax_j(q_i . k_j / sqrt(C)) v_j. */
    facet_status (*spatial_attention)(fqgan_backend *be, const float *qkv, int batch, int c, int hw,
                                      float *y);
    /* t [B, L, C] = x [B, C, L] transposed + pos [L, C]. */
    facet_status (*to_tokens)(fqgan_backend *be, const float *x, const float *pos, int batch, int c,
                              int len, float *t);
    /* x [B, C, L] = t [B, L, C] transposed. */
    facet_status (*from_tokens)(fqgan_backend *be, const float *t, int batch, int c, int len,
                                float *x);
    /* indices [B, hw] of the nearest normalised codebook rows to the normalised z [B, dim, hw]. */
    facet_status (*quantize)(fqgan_backend *be, const float *z, int batch, int dim, int hw,
                             const float *codebook, int count, uint16_t *indices);
    /* y [B, channels, hw] channels [offset, offset + dim) = codebook rows of indices [B, hw]. */
    facet_status (*embed)(fqgan_backend *be, const uint16_t *indices, int batch, int hw,
                          const float *codebook, int dim, int offset, int channels, float *y);
} fqgan_backend_ops;

struct fqgan_backend {
    const fqgan_backend_ops *ops;
    facet_nn *nn; /* the adapters' ops (nn/nn.h): same device and precision, owned */
};

/* The CPU backend's product precisions. Every bf16 one is FACET_ERR_UNSUPPORTED without AVX-512
 * BF16; the split products are nn/gemm_bf16.h's three-product float32-grade form. */
typedef enum {
    FQGAN_CPU_FP32 = 0, /* every product in float32 */
    FQGAN_CPU_BF16 = 1, /* cpu-bf16: the convs marked reduced_precision in bf16; the others split
                           where that is faster than float32 (the AMX kernel), and those marked
                           fixed_point as int8 digits where AMX-INT8 runs */
    FQGAN_CPU_BF16_NO_SPLIT, /* the marked convs in bf16, every other product in float32 */
    FQGAN_CPU_BF16_SPLIT,    /* the other convs split bf16 on whatever kernel runs (tests) */
    FQGAN_CPU_BF16_I8,       /* as FQGAN_CPU_BF16_SPLIT, fixed_point convs as int8 digits (tests) */
} fqgan_cpu_precision;

/* CPU backend (nn/gemm.h kernels + OpenMP). `arch` and `max_batch` size its workspace. */
facet_status fqgan_cpu_backend_create(fqgan_backend **out, const fqgan_arch *arch, int max_batch,
                                      fqgan_cpu_precision precision);
/* CUDA backend (cuBLAS + own kernels) in the given precision; FACET_ERR_CUDA without CUDA. */
facet_status fqgan_cuda_backend_create(fqgan_backend **out, const fqgan_arch *arch, int max_batch,
                                       facet_fqgan_backend precision);

#ifdef __cplusplus
}
#endif
#endif
