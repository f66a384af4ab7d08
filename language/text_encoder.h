/* Text encoders: the CLIP text tower (OpenCLIP ViT-B-16 and OpenAI CLIP layouts) and BERT
 * sentence encoders (all-MiniLM-L6-v2), on the CPU (OpenBLAS) or CUDA (cuBLAS).
 *
 * Weights: facet text-encoder safetensors (language/text_encoder_format.md), written by
 * tools/convert_clip_text.py and tools/convert_minilm.py. One forward per text over its own
 * tokens (no padding): CLIP's causal mask makes the end-of-text output independent of the
 * positions after it, and BERT's mean pooling covers the unpadded tokens only, so this equals the
 * padded batch computation upstream.
 *   CLIP: x = tok + pos; 12 x [x += attn(LN1 x) (causal); x += mlp(LN2 x)]; LN_final; row of the
 *         first maximal token id (end of text); @ projection. Not normalised.
 *   BERT: x = LN(tok + pos + type0); 6 x [x = LN1(x + attn x); x = LN2(x + mlp x)]; mean over
 *         tokens; L2 normalised. */
#ifndef FACET_LANGUAGE_TEXT_ENCODER_H
#define FACET_LANGUAGE_TEXT_ENCODER_H

#include "clip_tokenizer.h"
#include "wordpiece.h"

#include "core/status.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_text_arch { FACET_TEXT_CLIP = 1, FACET_TEXT_BERT = 2 } facet_text_arch;

typedef struct facet_text_config {
    facet_text_arch arch;
    int vocab_size, width, heads, layers;
    int ffn;           /* MLP hidden width */
    int max_positions; /* rows of the position embedding */
    int max_length;    /* tokens per text: CLIP context 77, BERT max_seq_length 256 */
    int embed_dim;     /* output width: CLIP projection, BERT = width */
    int activation;    /* facet_nn_activation (nn/nn.h): FACET_NN_GELU or FACET_NN_QUICK_GELU */
    float layer_norm_eps;
} facet_text_config;

/* Weight views (host or device pointers); Linear weights are [out, in] row-major, y = W x + b. */
typedef struct facet_text_layer {
    const float *norm1_w, *norm1_b; /* CLIP: before attention; BERT: after it */
    const float *qkv_w, *qkv_b;     /* [3 width, width], [3 width]: q, k, v stacked */
    const float *out_w, *out_b;     /* [width, width] */
    const float *norm2_w, *norm2_b; /* CLIP: before the MLP; BERT: after it */
    const float *fc1_w, *fc1_b;     /* [ffn, width] */
    const float *fc2_w, *fc2_b;     /* [width, ffn] */
} facet_text_layer;

typedef struct facet_text_weights {
    const float *token_embedding;             /* [vocab, width] */
    const float *position_embedding;          /* [max_positions, width] */
    const float *token_type;                  /* BERT: [width] (segment 0), else NULL */
    const float *embed_norm_w, *embed_norm_b; /* BERT: LayerNorm of the embeddings */
    facet_text_layer *layers;                 /* [layers] */
    const float *final_norm_w, *final_norm_b; /* CLIP ln_final */
    const float *projection;                  /* CLIP: [embed_dim, width] */
} facet_text_weights;

struct facet_text_cuda;

typedef struct facet_text_encoder {
    char *path;
    facet_text_config config;
    facet_text_weights host;
    int64_t parameter_count;
    float *storage; /* every weight, F32 */
    facet_clip_tokenizer clip;
    facet_wordpiece wordpiece;
    struct facet_text_cuda *cuda; /* device copy, made on the first CUDA encode */
} facet_text_encoder;

/* Loads a facet text encoder. CLIP needs open_clip's merges file: `merges_path`, or (NULL)
 * bpe_simple_vocab_16e6.txt.gz beside the weights, then in facet_language_models_dir(). */
facet_status facet_text_encoder_load(facet_text_encoder *e, const char *path,
                                     const char *merges_path);
void facet_text_encoder_free(facet_text_encoder *e);

/* Token ids of `text` into ids[config.max_length]; *length receives the count. */
facet_status facet_text_encoder_tokenize(const facet_text_encoder *e, const char *text,
                                         int32_t *ids, int *length);
/* The embedding of `text` into out[config.embed_dim]. `cuda`: run on the GPU. */
facet_status facet_text_encoder_encode(facet_text_encoder *e, const char *text, int cuda,
                                       float *out);
/* The same from token ids (ids[length], length <= config.max_length, every id < vocab). */
facet_status facet_text_encoder_encode_ids(facet_text_encoder *e, const int32_t *ids, int length,
                                           int cuda, float *out);

/* Where scripts/setup.sh puts the language models: $FACET_MODELS_DIR, else the source tree's
 * models/ folder. */
const char *facet_language_models_dir(void);

#ifdef __cplusplus
}
#endif
#endif
