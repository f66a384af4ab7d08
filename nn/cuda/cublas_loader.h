/* cuBLAS, opened when the first CUDA nn context is made instead of linked into every program.
 *
 * Linking libcublas (and with it libcublasLt) made every facet process pay for loading and
 * relocating it at start-up, about 0.2 s and 220 MB of resident memory on a 2-core Zen 3, even
 * for `facet --help` or a CPU-only run, and for every `import facet` in Python. Only nn/cuda/nn.cu
 * calls cuBLAS, through the table below, after it has found a CUDA device; so a process that never
 * makes a CUDA nn context never loads cuBLAS, and a CUDA build runs on the CPU on a machine
 * without cuBLAS.
 *
 * Where it is looked for, in order (the first that opens and has every function wins):
 *   1. FACET_CUBLAS_SONAME, e.g. libcublas.so.13 (the major version facet was compiled against),
 *      by the dynamic loader's own search: LD_LIBRARY_PATH, the program's RUNPATH, the ld.so
 *      cache, the system directories;
 *   2. the same file name in the directory of the libcudart this process has loaded (the CUDA
 *      toolkit keeps the two side by side), and where that libcudart is a link (as
 *      /usr/local/lib/libcudart.so.13 can be), beside the file it leads to.
 * In the emulated build (FACET_CUDA_EMU) the table points at tools/cuemu's functions instead.
 *
 * C and CUDA C++; the functions are host-only. */
#ifndef FACET_NN_CUDA_CUBLAS_LOADER_H
#define FACET_NN_CUDA_CUBLAS_LOADER_H

#include "core/status.h"

#include <cublas_v2.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FACET_CUBLAS_STRINGIFY_(x) #x
#define FACET_CUBLAS_STRINGIFY(x) FACET_CUBLAS_STRINGIFY_(x)
#ifdef CUBLAS_VER_MAJOR
#define FACET_CUBLAS_SONAME "libcublas.so." FACET_CUBLAS_STRINGIFY(CUBLAS_VER_MAJOR)
#else
#define FACET_CUBLAS_SONAME "libcublas.so"
#endif

/* The cuBLAS functions facet calls, with cuBLAS's own signatures (cublas_api.h). */
typedef struct facet_cublas {
    cublasStatus_t (*create)(cublasHandle_t *handle); /* cublasCreate_v2 */
    cublasStatus_t (*destroy)(cublasHandle_t handle); /* cublasDestroy_v2 */
    cublasStatus_t (*gemm_strided_batched_ex)(        /* cublasGemmStridedBatchedEx */
                                              cublasHandle_t handle, cublasOperation_t transa,
                                              cublasOperation_t transb, int m, int n, int k,
                                              const void *alpha, const void *a,
                                              cudaDataType_t a_type, int lda, long long stride_a,
                                              const void *b, cudaDataType_t b_type, int ldb,
                                              long long stride_b, const void *beta, void *c,
                                              cudaDataType_t c_type, int ldc, long long stride_c,
                                              int batch, cublasComputeType_t compute,
                                              cublasGemmAlgo_t algo);
    char path[512]; /* the file it was opened from (or "cuemu" in the emulated build) */
} facet_cublas;

/* The process's cuBLAS, opened on the first call (once, thread-safe) and kept open; *out stays
 * valid for the life of the process. FACET_ERR_CUDA, naming every place tried and why each
 * failed, when it cannot be opened; every later call fails the same way. */
facet_status facet_cublas_get(const facet_cublas **out);

/* Opens cuBLAS from the first of `count` candidates (file names or paths, as dlopen takes them)
 * that opens and has every function of facet_cublas, into *out. FACET_ERR_CUDA naming each
 * candidate and its dlerror when none does (a library that opened but lacked a function is
 * closed again). facet_cublas_get's search; for tests. */
facet_status facet_cublas_open(const char *const *candidates, int count, facet_cublas *out);

/* facet_cublas_get's candidates, in order, given the loaded libcudart's path (NULL when none):
 * the soname, then FACET_CUBLAS_SONAME beside `cudart`, then beside the file `cudart` resolves to
 * when that is elsewhere (written into beside[]). Returns the count (1 to 3). */
#define FACET_CUBLAS_PATH_MAX 4096
int facet_cublas_candidates(const char *cudart, char beside[2][FACET_CUBLAS_PATH_MAX],
                            const char *candidates[3]);

/* Writes into path (size bytes) the file name, with its directory, of the libcudart.so* this
 * process has loaded, as the loader found it (a link is not resolved), and returns 1; 0 when none
 * is loaded or its path does not fit. */
int facet_cudart_path(char *path, size_t size);

#ifdef __cplusplus
}
#endif

#endif
