/* CUDA device helpers with a C interface. Available in every build: without CUDA they report
 * FACET_ERR_CUDA "facet was built without CUDA", so callers need no #ifdefs. */
#ifndef FACET_CORE_CUDA_DEVICE_H
#define FACET_CORE_CUDA_DEVICE_H

#include "core/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when facet was built with CUDA and at least one device is usable. */
int facet_cuda_available(void);
/* Fills `name` with the current device's name ("NVIDIA H100 80GB HBM3"). */
facet_status facet_cuda_device_name(char *name, size_t size);

/* A device allocation: `data` points to `bytes` bytes of device memory. */
typedef struct facet_device_buffer {
    void *data;
    size_t bytes;
} facet_device_buffer;

facet_status facet_device_buffer_alloc(facet_device_buffer *buf, size_t bytes);
/* Grows (never shrinks) to at least `bytes`; contents are not preserved. */
facet_status facet_device_buffer_reserve(facet_device_buffer *buf, size_t bytes);
facet_status facet_device_buffer_upload(facet_device_buffer *buf, const void *host, size_t bytes);
facet_status facet_device_buffer_download(const facet_device_buffer *buf, void *host, size_t bytes);
void facet_device_buffer_free(facet_device_buffer *buf);

#ifdef __cplusplus
}
#endif
#endif
