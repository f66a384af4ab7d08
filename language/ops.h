/* Per-row steps of the text encoders that are theirs alone, shared by the CPU launcher
 * (language/text_encoder.c) and the CUDA kernels (language/cuda/text_encoder.cu). The
 * transformer math (LayerNorm, GELU and QuickGELU, softmax) is nn/nn_ops.h. Rows are contiguous
 * float vectors. */
#ifndef FACET_LANGUAGE_OPS_H
#define FACET_LANGUAGE_OPS_H

#include "core/hd.h"

/* Row t of the input embeddings: token + position (+ token type, BERT segment 0). */
static inline FACET_HD void facet_lang_embed_row(const float *token, const float *position,
                                                 const float *token_type, int width, float *x) {
    for (int i = 0; i < width; i++)
        x[i] = token[i] + position[i] + (token_type ? token_type[i] : 0.0f);
}

#endif
