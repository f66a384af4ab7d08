/* CUDA error checking for .cu files: FACET_CUDA_CHECK(call) turns a failing CUDA runtime call into
 * facet_fail(FACET_ERR_CUDA, "file:line: cudaMalloc(...): out of memory") and returns the status
 * from the enclosing function (which must return facet_status). Compiled only with CUDA. */
#ifndef FACET_CORE_CUDA_CHECK_H
#define FACET_CORE_CUDA_CHECK_H

#include "core/status.h"

#include <cuda_runtime.h>

#define FACET_CUDA_CHECK(call)                                                                     \
    do {                                                                                           \
        cudaError_t facet_cuda_err_ = (call);                                                      \
        if (facet_cuda_err_ != cudaSuccess)                                                        \
            return facet_fail(FACET_ERR_CUDA, "%s:%d: %s: %s", __FILE__, __LINE__, #call,          \
                              cudaGetErrorString(facet_cuda_err_));                                \
    } while (0)

#endif
