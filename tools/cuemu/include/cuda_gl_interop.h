/* cuemu: CUDA-OpenGL interop is not emulated: cudaGLGetDevices reports no device, so callers
 * take their non-interop path; the rest fail with cudaErrorNotSupported. */
#pragma once
#include "cuemu.h"
typedef struct cudaGraphicsResource *cudaGraphicsResource_t;
typedef struct cudaArray *cudaArray_t;
enum cudaGLDeviceList {
    cudaGLDeviceListAll = 1,
    cudaGLDeviceListCurrentFrame = 2,
    cudaGLDeviceListNextFrame = 3
};
enum cudaGraphicsRegisterFlags {
    cudaGraphicsRegisterFlagsNone = 0,
    cudaGraphicsRegisterFlagsReadOnly = 1,
    cudaGraphicsRegisterFlagsWriteDiscard = 2
};
inline cudaError_t cudaGLGetDevices(unsigned *count, int *, unsigned, cudaGLDeviceList) {
    *count = 0;
    return cudaErrorNotSupported;
}
inline cudaError_t cudaGraphicsGLRegisterImage(cudaGraphicsResource_t *r, unsigned, unsigned,
                                               unsigned) {
    *r = nullptr;
    return cudaErrorNotSupported;
}
inline cudaError_t cudaGraphicsUnregisterResource(cudaGraphicsResource_t) {
    return cudaErrorNotSupported;
}
inline cudaError_t cudaGraphicsMapResources(int, cudaGraphicsResource_t *, cudaStream_t = nullptr) {
    return cudaErrorNotSupported;
}
inline cudaError_t cudaGraphicsUnmapResources(int, cudaGraphicsResource_t *,
                                              cudaStream_t = nullptr) {
    return cudaErrorNotSupported;
}
inline cudaError_t cudaGraphicsSubResourceGetMappedArray(cudaArray_t *a, cudaGraphicsResource_t,
                                                         unsigned, unsigned) {
    *a = nullptr;
    return cudaErrorNotSupported;
}
inline cudaError_t cudaMemcpy2DToArray(cudaArray_t, size_t, size_t, const void *, size_t, size_t,
                                       size_t, cudaMemcpyKind) {
    return cudaErrorNotSupported;
}
