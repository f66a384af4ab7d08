/* CUDA build of core/cuda/device.h. */
#include "check.h"
#include "device.h"

#include <stdio.h>
#include <string.h>

extern "C" int facet_cuda_available(void) {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

extern "C" facet_status facet_cuda_device_name(char *name, size_t size) {
    int device = 0;
    cudaDeviceProp prop;
    FACET_CUDA_CHECK(cudaGetDevice(&device));
    FACET_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    snprintf(name, size, "%s", prop.name);
    return FACET_OK;
}

extern "C" facet_status facet_device_buffer_alloc(facet_device_buffer *buf, size_t bytes) {
    buf->data = NULL;
    buf->bytes = 0;
    FACET_CUDA_CHECK(cudaMalloc(&buf->data, bytes ? bytes : 1));
    buf->bytes = bytes;
    return FACET_OK;
}

extern "C" facet_status facet_device_buffer_reserve(facet_device_buffer *buf, size_t bytes) {
    if (buf->data && buf->bytes >= bytes) return FACET_OK;
    facet_device_buffer_free(buf);
    return facet_device_buffer_alloc(buf, bytes);
}

extern "C" facet_status facet_device_buffer_upload(facet_device_buffer *buf, const void *host,
                                                   size_t bytes) {
    if (bytes > buf->bytes)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "upload of %zu bytes into a %zu-byte buffer",
                          bytes, buf->bytes);
    FACET_CUDA_CHECK(cudaMemcpy(buf->data, host, bytes, cudaMemcpyHostToDevice));
    return FACET_OK;
}

extern "C" facet_status facet_device_buffer_download(const facet_device_buffer *buf, void *host,
                                                     size_t bytes) {
    if (bytes > buf->bytes)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "download of %zu bytes from a %zu-byte buffer", bytes, buf->bytes);
    FACET_CUDA_CHECK(cudaMemcpy(host, buf->data, bytes, cudaMemcpyDeviceToHost));
    return FACET_OK;
}

extern "C" void facet_device_buffer_free(facet_device_buffer *buf) {
    if (buf->data) cudaFree(buf->data);
    buf->data = NULL;
    buf->bytes = 0;
}
