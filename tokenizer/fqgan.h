/* FQGAN image tokenizer (showlab/FQGAN on the LlamaGen VQGAN trunk): factorized codebooks, one
 * per branch (Dual: vis, sem; Triple: vis, sem_mid, sem_high), 16384 codes of dimension 8 each.
 *
 * Images in: preprocessed float tensors [B, 3, S, S] (CHW, RGB, values in [-1, 1]; see
 * tokenizer/preprocess.h; S = config.image_size, 256 for every official model). Tokens out: per
 * branch uint16 [B, grid, grid] (grid = S / downsample), row-major. Decoding maps tokens back to
 * [B, 3, S, S] in the decoder's output range (about [-1, 1]); facet_fqgan_to_uint8 turns that into
 * 8-bit pixels exactly as the official post-processing does.
 *
 * Weights: facet safetensors written by tools/convert_fqgan.py, with the variant and sizes in
 * __metadata__ (tokenizer/fqgan_format.md). Backends: CPU (OpenBLAS + OpenMP; Winograd
 * F(4x4, 3x3) for the high-resolution 3x3 convolutions) and CUDA (cuBLAS + own kernels) compute
 * the same function (parity figures in tests/test_fqgan.c and the GPU parity harness,
 * tests/gpu/parity_fqgan.c).
 *
 * A model is not thread-safe: one encode or decode at a time per facet_fqgan (its activation
 * buffers are shared). The CPU backend parallelises with OpenMP (omp_get_max_threads() at load)
 * and runs OpenBLAS single-threaded inside its own threads for the duration of each operation,
 * restoring OpenBLAS's thread count afterwards. */
#ifndef FACET_TOKENIZER_FQGAN_H
#define FACET_TOKENIZER_FQGAN_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_FQGAN_MAX_BRANCHES = 3 };

typedef enum facet_fqgan_backend {
    FACET_FQGAN_CPU = 0,
    FACET_FQGAN_CUDA_FP32,
    FACET_FQGAN_CUDA_TF32, /* tensor-core TF32 matrix products */
    FACET_FQGAN_CUDA_BF16, /* tensor-core BF16 matrix products, fp32 accumulation */
    /* The CPU with bf16 products (AMX tiles or AVX-512 BF16, whichever the CPU runs best; fp32
     * accumulation: nn/gemm_bf16.h) where they do not reach the tokens: the decoder's Winograd
     * convolutions at half the image size and above. Plain bf16 anywhere in the encoder flips
     * 2-10% of the tokens (bench/RESULTS.md), so where the AMX kernel runs, every other product
     * (the encoder's, the adapters', the decoder's lower levels) is split: three bf16 products
     * with float32-grade error, faster there than float32 (tokens: 99.97% agree with PyTorch,
     * float32's 99.98%, every difference at a near-tie); elsewhere those stay float32. Loading
     * fails with FACET_ERR_UNSUPPORTED on a CPU without AVX-512 BF16. */
    FACET_FQGAN_CPU_BF16,
} facet_fqgan_backend;

typedef struct facet_fqgan_config {
    int branch_count;                                   /* 2 (Dual) or 3 (Triple) */
    const char *branch_names[FACET_FQGAN_MAX_BRANCHES]; /* "vis", "sem" / "sem_mid", "sem_high" */
    int downsample;                                     /* 16 or 8 */
    int image_size;          /* 256 for official weights: the positional embedding fixes it */
    int grid;                /* image_size / downsample */
    int codebook_size;       /* 16384 */
    int codebook_dim;        /* 8 */
    int64_t parameter_count; /* inference parameters in the weights file (Dual-16: 111,294,355) */
    const char *variant;     /* "dual" or "triple" */
} facet_fqgan_config;

typedef struct facet_fqgan facet_fqgan;

/* Loads and validates weights (every tensor's name, dtype and shape against the metadata; errors
 * name the file and the tensor) for a backend. All memory is allocated here, for up to
 * `max_batch` images per call; a CUDA backend without a usable device fails with FACET_ERR_CUDA. */
facet_status facet_fqgan_load(facet_fqgan **model, const char *path, facet_fqgan_backend backend,
                              int max_batch);
void facet_fqgan_free(facet_fqgan *model);
const facet_fqgan_config *facet_fqgan_config_of(const facet_fqgan *model);
/* Bytes held (host for CPU, device for CUDA): weights (plus the CPU's Winograd-transformed
 * weights or the CUDA BF16 copy), activation buffers for max_batch images and workspaces.
 * Dual-16 on the CPU: about 1.17 GB at max_batch 1 (cpu-bf16: 1.15, or 1.33 on AMX CPUs with the
 * adapters' split weights), + 0.13 GB per further image. */
size_t facet_fqgan_memory_bytes(const facet_fqgan *model);

/* Encodes `batch` (<= max_batch) images. indices[b] points to batch * grid * grid uint16 per
 * branch b (branch order of config.branch_names). features[b], when not NULL, receives the
 * branch's pre-quantisation features [batch, codebook_dim, grid, grid] (after quant_conv, before
 * L2 normalisation), for tests and analysis. */
facet_status facet_fqgan_encode(facet_fqgan *model, const float *images, int batch,
                                uint16_t *const *indices, float *const *features);

/* Decodes tokens (per branch [batch, grid, grid], each < codebook_size) to images
 * [batch, 3, S, S]. */
facet_status facet_fqgan_decode(facet_fqgan *model, const uint16_t *const *indices, int batch,
                                float *images);

/* Writes random weights (facet format, F32) for a `config` metadata JSON
 * (tokenizer/fqgan_format.md): every tensor is the hash function of (seed, name, element index)
 * that tools/reference/fqgan_ref.py also computes, so C tests rebuild the reference's weights
 * without committed files. For tests and benchmarks. */
facet_status facet_fqgan_write_random(const char *path, const char *config_json, uint64_t seed);

/* The official configuration JSON of a variant ("dual" or "triple") and downsample (16 or 8):
 * 256x256 images, ch 128, z 256, 6-layer 512-wide adapters with 8 heads, 16384 x 8 codebooks. */
facet_status facet_fqgan_default_config(const char *variant, int downsample, char *buf,
                                        size_t size);

/* "cpu", "cuda-fp32", "cuda-tf32", "cuda-bf16", "cpu-bf16"; parse also accepts "cuda"
 * (= cuda-fp32). */
const char *facet_fqgan_backend_name(facet_fqgan_backend backend);
facet_status facet_fqgan_backend_parse(const char *name, facet_fqgan_backend *out);
/* The backend of the CLI's --device (cpu, cuda; NULL: cpu) and --precision (fp32, tf32, bf16;
 * NULL: fp32): tf32 is CUDA-only. Errors name the bad value. */
facet_status facet_fqgan_backend_for(const char *device, const char *precision,
                                     facet_fqgan_backend *out);

/* Official post-processing: pixel = (uint8)clamp(127.5 x + 128, 0, 255), truncating, from CHW
 * floats to HWC bytes. Computed without fused multiply-add so that it matches PyTorch. */
void facet_fqgan_to_uint8(const float *chw, int width, int height, uint8_t *hwc);

#ifdef __cplusplus
}
#endif
#endif
