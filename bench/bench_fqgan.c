/* FQGAN throughput: images/s of encode (image -> tokens) and decode (tokens -> image) for a
 * weights file, on one backend, at the weights' image size (256x256 for the official models).
 *
 *   bench_fqgan WEIGHTS [--device cpu|cpu-bf16|cuda-fp32|cuda-tf32|cuda-bf16] [--batch N]
 *               [--iters N] [--bf16-kernel amx|avx512bf16|c] [--op encode|decode]
 *   bench_fqgan WEIGHTS --check DIR [--device ...] [--batch N]
 *
 * --bf16-kernel forces cpu-bf16's product kernel (nn/gemm_bf16.h; default: the best this CPU
 * runs), to time one against another; the JSON lines name the kernel that ran. --op times one
 * operation only (decode still encodes once, untimed, for its tokens), e.g. under a profiler.
 *
 * --check DIR encodes DIR/photos.npy [N, 3, S, S] (tools/reference/fqgan_onnx.py export: real
 * photographs and Blender renders) `batch` at a time and compares the indices with
 * DIR/tokens_ref.npy [N, branches, g, g] (PyTorch float32), counting the mismatches that are not
 * near-ties (PyTorch's best / runner-up distance gap, DIR/gaps_ref.npy, at least NEAR_TIE): one
 * JSON line, exit status 1 when such a mismatch exists, the check bench/fqgan_runtimes.py makes of
 * the other runtimes. It then decodes tokens_ref.npy and scores the 8-bit images (the official
 * post-processing) against DIR/decoded_ref.npy's (PyTorch float32's decode): decode_psnr_db, one
 * MSE over all images, 99 when identical.
 *
 * Inputs are a fixed pseudo-random image batch in [-1, 1]; one untimed warm-up call precedes the
 * timed ones. Prints one JSON line per operation with the best and median time of the iterations
 * (bench/run_fqgan.sh runs it beside the PyTorch reference). */
#include "core/alloc.h"
#include "nn/gemm_bf16.h"
#include "core/npy.h"
#include "core/rng.h"
#include "tokenizer/fqgan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_fqgan WEIGHTS [--device cpu|cpu-bf16|cuda-fp32|cuda-tf32|"
                    "cuda-bf16] [--batch N] [--iters N] [--check DIR] [--bf16-kernel NAME]\n"
                    "       [--op encode|decode]\n");
    return 2;
}

/* A mismatch at a PyTorch distance gap below this is a near-tie that float32 rounding may flip:
 * twice the largest gap an fp32 runtime flipped on the 72 images (OpenVINO fp32: 1.17e-4, on a
 * Blender render); a graph or kernel that computes something else flips tokens far above it. */
#define NEAR_TIE 2.5e-4f

static int read_npy(const char *dir, const char *name, facet_dtype dtype, int ndim,
                    facet_tensor *t) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (facet_npy_read(t, path) != FACET_OK) {
        fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
        return 1;
    }
    if (t->dtype != dtype || t->ndim != ndim) {
        fprintf(stderr, "bench_fqgan: error: %s: expected a %d-d %s array\n", path, ndim,
                facet_dtype_name(dtype));
        return 1;
    }
    return 0;
}

/* The --check mode (see the top of the file). */
static int check_tokens(facet_fqgan *m, const char *dir, int batch, const char *device) {
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    facet_tensor photos = {0}, ref = {0}, gaps = {0};
    int status = read_npy(dir, "photos.npy", FACET_DTYPE_F32, 4, &photos);
    if (!status) status = read_npy(dir, "tokens_ref.npy", FACET_DTYPE_I64, 4, &ref);
    if (!status) status = read_npy(dir, "gaps_ref.npy", FACET_DTYPE_F32, 4, &gaps);
    const int64_t n = photos.shape[0], g = c->grid, per = g * g;
    if (!status && (photos.shape[1] != 3 || photos.shape[2] != c->image_size || ref.shape[0] != n ||
                    ref.shape[1] != c->branch_count || ref.shape[2] != g || gaps.shape[0] != n ||
                    gaps.shape[1] != c->branch_count)) {
        fprintf(stderr,
                "bench_fqgan: error: %s: arrays do not match the model (%d branches, "
                "%dx%d images, %dx%d tokens)\n",
                dir, c->branch_count, c->image_size, c->image_size, c->grid, c->grid);
        status = 1;
    }
    facet_tensor decoded_ref = {0};
    if (!status) status = read_npy(dir, "decoded_ref.npy", FACET_DTYPE_F32, 4, &decoded_ref);
    if (!status && (decoded_ref.shape[0] != n || decoded_ref.shape[1] != 3 ||
                    decoded_ref.shape[2] != c->image_size)) {
        fprintf(stderr, "bench_fqgan: error: %s/decoded_ref.npy does not match the model\n", dir);
        status = 1;
    }
    uint16_t *indices[FACET_FQGAN_MAX_BRANCHES] = {0};
    int64_t differ = 0, off_tie = 0;
    for (int k = 0; k < c->branch_count && !status; k++)
        if (!(indices[k] = facet_alloc((size_t)batch * per, sizeof(uint16_t)))) status = 1;
    const size_t image_floats = (size_t)3 * c->image_size * c->image_size;
    for (int64_t i0 = 0; i0 < n && !status; i0 += batch) {
        const int b = (int)(n - i0 < batch ? n - i0 : batch);
        if (facet_fqgan_encode(m, (const float *)photos.data + i0 * image_floats, b, indices,
                               NULL) != FACET_OK) {
            fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
            status = 1;
            break;
        }
        for (int j = 0; j < b; j++)
            for (int k = 0; k < c->branch_count; k++)
                for (int64_t p = 0; p < per; p++) {
                    const int64_t at = ((i0 + j) * c->branch_count + k) * per + p;
                    if (indices[k][j * per + p] == ((const int64_t *)ref.data)[at]) continue;
                    differ++;
                    off_tie += ((const float *)gaps.data)[at] >= NEAR_TIE;
                }
    }
    /* decode the reference tokens; squared error of the 8-bit images */
    const size_t pixels = (size_t)c->image_size * c->image_size;
    float *decoded = status ? NULL : facet_alloc((size_t)batch * image_floats, sizeof(float));
    uint8_t *got8 = status ? NULL : facet_alloc(pixels * 3, 1),
            *ref8 = status ? NULL : facet_alloc(pixels * 3, 1);
    if (!status && (!decoded || !got8 || !ref8)) status = 1;
    double squared = 0.0;
    for (int64_t i0 = 0; i0 < n && !status; i0 += batch) {
        const int b = (int)(n - i0 < batch ? n - i0 : batch);
        for (int j = 0; j < b; j++)
            for (int k = 0; k < c->branch_count; k++)
                for (int64_t p = 0; p < per; p++)
                    indices[k][j * per + p] =
                        (uint16_t)((const int64_t *)
                                       ref.data)[((i0 + j) * c->branch_count + k) * per + p];
        if (facet_fqgan_decode(m, (const uint16_t *const *)indices, b, decoded) != FACET_OK) {
            fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
            status = 1;
            break;
        }
        for (int j = 0; j < b; j++) {
            facet_fqgan_to_uint8(decoded + (size_t)j * image_floats, c->image_size, c->image_size,
                                 got8);
            facet_fqgan_to_uint8((const float *)decoded_ref.data + (size_t)(i0 + j) * image_floats,
                                 c->image_size, c->image_size, ref8);
            for (size_t q = 0; q < 3 * pixels; q++)
                squared += ((double)got8[q] - ref8[q]) * ((double)got8[q] - ref8[q]);
        }
    }
    const double mse = squared / ((double)n * 3 * (double)pixels);
    const double psnr = mse == 0.0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
    free(decoded), free(got8), free(ref8);
    facet_tensor_free(&decoded_ref);
    if (!status) {
        const int64_t total = n * c->branch_count * per;
        printf("{\"implementation\": \"facet\", \"variant\": \"%s-%d\", \"device\": \"%s\", "
               "\"check\": \"tokens on photographs\", \"tokens\": %lld, \"agreement\": %.5f, "
               "\"differ\": %lld, \"differ_off_near_ties\": %lld, \"decode_psnr_db\": %.2f}\n",
               c->variant, c->downsample, device, (long long)total,
               1.0 - (double)differ / (double)total, (long long)differ, (long long)off_tie, psnr);
        if (off_tie) {
            fprintf(stderr, "bench_fqgan: %lld tokens differ from PyTorch away from near-ties\n",
                    (long long)off_tie);
            status = 1;
        }
    }
    for (int k = 0; k < c->branch_count; k++) free(indices[k]);
    facet_tensor_free(&photos);
    facet_tensor_free(&ref);
    facet_tensor_free(&gaps);
    return status;
}

int main(int argc, char **argv) {
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage();
        return 0;
    }
    if (argc < 2) return usage();
    const char *weights = argv[1], *device = "cpu", *check = NULL;
    int batch = 1, iters = 3, first_op = 0, last_op = 1; /* 0 encode, 1 decode */
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc)
            check = argv[++i];
        else if (strcmp(argv[i], "--op") == 0 && i + 1 < argc) {
            const char *op = argv[++i];
            if (strcmp(op, "encode") != 0 && strcmp(op, "decode") != 0) return usage();
            first_op = last_op = strcmp(op, "decode") == 0;
        } else if (strcmp(argv[i], "--bf16-kernel") == 0 && i + 1 < argc) {
            if (facet_gemm_bf16_force_kernel(argv[++i]) != FACET_OK) {
                fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
                return 2;
            }
        } else
            return usage();
    }
    if (batch < 1 || iters < 1) return usage();
    facet_fqgan_backend backend;
    facet_fqgan *m = NULL;
    if (facet_fqgan_backend_parse(device, &backend) != FACET_OK ||
        facet_fqgan_load(&m, weights, backend, batch) != FACET_OK) {
        fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
        return 1;
    }
    if (check) {
        const int status = check_tokens(m, check, batch, facet_fqgan_backend_name(backend));
        facet_fqgan_free(m);
        return status;
    }
    const facet_fqgan_config *c = facet_fqgan_config_of(m);
    const size_t pixels = (size_t)batch * 3 * c->image_size * c->image_size;
    const size_t tokens = (size_t)batch * c->grid * c->grid;
    float *images = facet_alloc(pixels, sizeof(float)), *out = facet_alloc(pixels, sizeof(float));
    uint16_t *indices[FACET_FQGAN_MAX_BRANCHES] = {0};
    for (int k = 0; k < c->branch_count; k++) indices[k] = facet_alloc(tokens, sizeof(uint16_t));
    double *times = facet_alloc((size_t)iters, sizeof(double));
    facet_rng rng = facet_rng_seed(1, 0);
    for (size_t i = 0; i < pixels; i++) images[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    int status = 0;
    if (first_op == 1 && facet_fqgan_encode(m, images, batch, indices, NULL) != FACET_OK) {
        fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
        status = 1;
    }
    for (int op = first_op; op <= last_op && status == 0; op++) {
        for (int it = -1; it < iters && status == 0; it++) {
            const double t0 = now();
            facet_status s =
                op == 0 ? facet_fqgan_encode(m, images, batch, indices, NULL)
                        : facet_fqgan_decode(m, (const uint16_t *const *)indices, batch, out);
            if (s != FACET_OK) {
                fprintf(stderr, "bench_fqgan: error: %s\n", facet_last_error());
                status = 1;
            }
            if (it >= 0) times[it] = now() - t0;
        }
        if (status) break;
        qsort(times, (size_t)iters, sizeof *times, compare);
        printf("{\"implementation\": \"facet\", \"variant\": \"%s-%d\", \"op\": \"%s\", "
               "\"device\": \"%s\", \"bf16_kernel\": \"%s\", \"batch\": %d, \"image_size\": %d, "
               "\"seconds_best\": %.4f, \"seconds_median\": %.4f, \"images_per_sec\": %.3f, "
               "\"memory_mb\": %.1f}\n",
               c->variant, c->downsample, op == 0 ? "encode" : "decode",
               facet_fqgan_backend_name(backend),
               backend == FACET_FQGAN_CPU_BF16 ? facet_gemm_bf16_kernel_name() : "none", batch,
               c->image_size, times[0], times[iters / 2], batch / times[0],
               (double)facet_fqgan_memory_bytes(m) / (1024.0 * 1024.0));
        fflush(stdout);
    }
    for (int k = 0; k < c->branch_count; k++) free(indices[k]);
    free(times);
    free(images);
    free(out);
    facet_fqgan_free(m);
    return status;
}
