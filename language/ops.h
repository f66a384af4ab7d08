/* Per-element and per-row steps of the text encoders, shared by the CPU launcher
 * (language/text_encoder.c) and the CUDA kernels (language/cuda/text_encoder_cuda.cu). Matrix
 * products are not here: they go to OpenBLAS / cuBLAS. Rows are contiguous float vectors. */
#ifndef FACET_LANGUAGE_OPS_H
#define FACET_LANGUAGE_OPS_H

#include "core/hd.h"

#include <math.h>
#include <stdint.h>

typedef enum facet_lang_activation {
    FACET_LANG_GELU = 0,       /* x/2 (1 + erf(x / sqrt 2)): BERT, OpenCLIP ViT-B-16 */
    FACET_LANG_QUICK_GELU = 1, /* x sigmoid(1.702 x): OpenAI CLIP weights */
} facet_lang_activation;

static inline FACET_HD float facet_lang_activate(float x, int kind) {
    if (kind == FACET_LANG_QUICK_GELU) return x / (1.0f + expf(-1.702f * x));
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

/* y[n] = LayerNorm(x + residual) with gain g and bias b (residual may be NULL); biased variance,
 * as torch.nn.LayerNorm. y may alias x. */
static inline FACET_HD void facet_lang_layernorm_row(const float *x, const float *residual, int n,
                                                     const float *g, const float *b, float eps,
                                                     float *y) {
    float mean = 0.0f;
    for (int i = 0; i < n; i++) mean += x[i] + (residual ? residual[i] : 0.0f);
    mean /= (float)n;
    float var = 0.0f;
    for (int i = 0; i < n; i++) {
        float d = x[i] + (residual ? residual[i] : 0.0f) - mean;
        var += d * d;
    }
    float inv = 1.0f / sqrtf(var / (float)n + eps);
    for (int i = 0; i < n; i++) {
        float v = x[i] + (residual ? residual[i] : 0.0f);
        y[i] = (v - mean) * inv * g[i] + b[i];
    }
}

/* In-place softmax of scores[0..valid) of one attention row; entries valid..n (masked: the causal
 * mask's future positions) become 0. */
static inline FACET_HD void facet_lang_softmax_row(float *scores, int valid, int n) {
    float peak = scores[0];
    for (int i = 1; i < valid; i++) peak = fmaxf(peak, scores[i]);
    float total = 0.0f;
    for (int i = 0; i < valid; i++) {
        scores[i] = expf(scores[i] - peak);
        total += scores[i];
    }
    for (int i = 0; i < valid; i++) scores[i] /= total;
    for (int i = valid; i < n; i++) scores[i] = 0.0f;
}

/* Row t of the input embeddings: token + position (+ token type, BERT segment 0). */
static inline FACET_HD void facet_lang_embed_row(const float *token, const float *position,
                                                 const float *token_type, int width, float *x) {
    for (int i = 0; i < width; i++)
        x[i] = token[i] + position[i] + (token_type ? token_type[i] : 0.0f);
}

#endif
