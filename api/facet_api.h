/* libfacet.so: the C ABI that the Python package (python/facet, ctypes) binds. Plain C types
 * only: opaque handles, caller-owned arrays with their shapes stated, status codes. Every other
 * facet symbol stays inside the library (api/exports.map).
 *
 * Conventions
 * - Functions returning int return 0 on success and a facet_status code (> 0) on failure; the
 *   message is then facet_api_last_error(). Handles are NULL on failure.
 * - Arrays are C-contiguous, row-major, the shapes given in brackets; the caller allocates them.
 * - Errors are per thread (the message belongs to the thread that called). A handle may be used
 *   by one thread at a time; different handles may be used by different threads at once. The
 *   Python package releases the GIL around every call (ctypes does), so Python threads run in
 *   parallel on different handles.
 * - Nothing here prints or exits. */
#ifndef FACET_API_H
#define FACET_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FACET_API_VERSION 1

/* FACET_API_VERSION of the library (bindings check it at load time). */
int facet_api_version(void);
/* The calling thread's last error message ("" when none). */
const char *facet_api_last_error(void);
/* Frees memory the API returned (JSON strings). */
void facet_api_free(void *p);

/* ---- images and metrics (core/image.h, core/metrics.h) -----------------------------------------
 */

/* Reads an image as `facet metrics` does: float values in [0, 1] (8/16-bit PNG/JPEG divided by
 * their maximum, EXR/HDR as stored), all its channels. *data [height, width, channels] is
 * allocated here (free with facet_api_free). */
int facet_api_image_read(const char *path, float **data, int *width, int *height, int *channels);
/* PSNR and SSIM exactly as `facet metrics A B` (docs/formats.md): images [h, w, c] float,
 * mask [h, w] or NULL. PSNR of identical images is +inf. */
int facet_api_psnr(const float *a, const float *b, int width, int height, int channels,
                   const float *mask, double *out);
int facet_api_ssim(const float *a, const float *b, int width, int height, int channels,
                   const float *mask, double *out);

/* LPIPS (lpips/lpips.h) exactly as `facet metrics --lpips FILE`: weights from
 * tools/convert_lpips.py; device "cpu" or "cuda"; images [h, w, 3] float; convention
 * "nerfstudio" or "risesdf". taps (may be NULL) receives the five per-layer distances. */
typedef struct facet_api_lpips facet_api_lpips;
facet_api_lpips *facet_api_lpips_open(const char *weights, const char *device);
void facet_api_lpips_close(facet_api_lpips *l);
int facet_api_lpips_distance(facet_api_lpips *l, const float *a, const float *b, int width,
                             int height, const char *convention, double *distance, double *taps);
/* Random-backbone LPIPS weights for tests (facet_lpips_write_random); net "alex" or "vgg16";
 * heads: facet LPIPS weights whose heads to keep, or NULL for hash heads. */
int facet_api_lpips_write_random(const char *path, const char *net, uint64_t seed,
                                 const char *heads);

/* ---- the FQGAN tokenizer (tokenizer/fqgan.h, tokenizer/preprocess.h) ----------------------------
 */

typedef struct facet_api_tokenizer facet_api_tokenizer;

/* The backend name of a device ("cpu", "cuda"; NULL: cpu) and a precision ("fp32", "tf32", "bf16";
 * NULL: fp32), the rule `facet tokenize --device --precision` follows (tf32 is CUDA-only); NULL
 * with the error set for another pair. A static string. */
const char *facet_api_tokenizer_backend(const char *device, const char *precision);

/* backend: "cpu", "cpu-bf16", "cuda" (= "cuda-fp32"), "cuda-fp32", "cuda-tf32", "cuda-bf16".
 * max_batch: images per model call (memory grows with it). */
facet_api_tokenizer *facet_api_tokenizer_open(const char *model, const char *backend,
                                              int max_batch);
void facet_api_tokenizer_close(facet_api_tokenizer *t);
int facet_api_tokenizer_branch_count(const facet_api_tokenizer *t);
const char *facet_api_tokenizer_branch_name(const facet_api_tokenizer *t, int branch);
int facet_api_tokenizer_grid(const facet_api_tokenizer *t);       /* tokens per side */
int facet_api_tokenizer_image_size(const facet_api_tokenizer *t); /* 256 */
int facet_api_tokenizer_codebook_size(const facet_api_tokenizer *t);

/* The official preprocessing (ADM center_crop_arr, Pillow-exact) of an encoded image file, or of
 * decoded RGB bytes [height, width, 3], to crop [size, size, 3]. */
int facet_api_preprocess_file(const char *path, int size, uint8_t *crop);
int facet_api_preprocess_rgb(const uint8_t *rgb, int width, int height, int size, uint8_t *crop);

/* Encodes `count` preprocessed crops [count, S, S, 3] (S = image size) into tokens
 * [branches, count, grid, grid] (branch-major), what `facet tokenize` stores. */
int facet_api_tokenizer_encode(facet_api_tokenizer *t, const uint8_t *crops, int count,
                               uint16_t *tokens);
/* Decodes tokens [branches, count, grid, grid] into images [count, S, S, 3], what
 * `facet detokenize` writes. Tokens >= codebook size are an error. */
int facet_api_tokenizer_decode(facet_api_tokenizer *t, const uint16_t *tokens, int count,
                               uint8_t *images);

/* Writes FQGAN weights filled with the deterministic hash values of facet_fqgan_write_random
 * (tokenizer/fqgan.h) for a configuration JSON (tokenizer/fqgan_format.md): for tests and
 * benchmarks, where no trained weights can be downloaded. */
int facet_api_tokenizer_write_random(const char *path, const char *config_json, uint64_t seed);

/* ---- scenes (render/scene.h, render/render.h, language/control.h) ------------------------------
 */

typedef struct facet_api_scene facet_api_scene;

facet_api_scene *facet_api_scene_open(const char *path);
void facet_api_scene_close(facet_api_scene *s);

int facet_api_scene_object_count(const facet_api_scene *s);
const char *facet_api_scene_object_name(const facet_api_scene *s, int i);
int facet_api_scene_set_kappa(facet_api_scene *s, const char *object, float kappa);
int facet_api_scene_get_kappa(const facet_api_scene *s, const char *object, float *kappa);
/* Grounds and applies a language command as `facet control SCENE TEXT` and returns its JSON
 * (free with facet_api_free), or NULL on error. device: "cpu" or "cuda". */
char *facet_api_scene_control(facet_api_scene *s, const char *text, const char *device);

/* The scene file's camera: 1 and the camera when it has one, 0 when not. intrinsics: fx, fy, cx,
 * cy in pixels; size: width, height. */
int facet_api_scene_camera(const facet_api_scene *s, double c2w[16], double intrinsics[4],
                           int size[2]);

/* Auxiliary channels (LiveScene: mask_<object>, mask_background) in render order. */
int facet_api_scene_aux_count(const facet_api_scene *s);
const char *facet_api_scene_aux_name(const facet_api_scene *s, int i);

/* Renders a camera (c2w row-major 4x4; projection 0 pinhole with fx, fy, cx, cy in pixels, 1
 * equirectangular) exactly as `facet render` renders it. Outputs (each may be NULL):
 * rgba [height, width, 4] linear float (alpha = node coverage), srgb8 [height, width, 3] the
 * bytes `facet render` writes to its PNG, depth [height, width] (+inf where nothing covers),
 * aux [height, width, aux_count]. device: "cpu" or "cuda". */
int facet_api_scene_render(facet_api_scene *s, const char *device, const double c2w[16],
                           const double intrinsics[4], int width, int height, int projection,
                           float *rgba, uint8_t *srgb8, float *depth, float *aux);

/* Nodes and their field queries (facet_node_kind.query). */
int facet_api_scene_node_count(const facet_api_scene *s);
const char *facet_api_scene_node_name(const facet_api_scene *s, int node);
const char *facet_api_scene_node_type(const facet_api_scene *s, int node);
int facet_api_scene_query_channels(const facet_api_scene *s, int node); /* 0: no query */
const char *facet_api_scene_query_name(const facet_api_scene *s, int node, int channel);
/* points [count, 3], directions [count, 3] or NULL, out [count, channels]; model_frame 0: world
 * points and per-world-unit densities, 1: the node's model frame. */
int facet_api_scene_query(const facet_api_scene *s, int node, const float *points,
                          const float *directions, int64_t count, int model_frame, float *out);

#ifdef __cplusplus
}
#endif
#endif
