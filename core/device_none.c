/* CPU-only build of core/cuda/device.h: every call reports that CUDA is absent. */
#include "core/cuda/device.h"

static facet_status no_cuda(void) {
    return facet_fail(FACET_ERR_CUDA, "facet was built without CUDA (configure with nvcc "
                                      "installed, or -DFACET_CUDA=ON)");
}

int facet_cuda_available(void) {
    return 0;
}
facet_status facet_cuda_device_name(char *name, size_t size) {
    if (size) name[0] = '\0';
    return no_cuda();
}
facet_status facet_device_buffer_alloc(facet_device_buffer *buf, size_t bytes) {
    (void)bytes;
    buf->data = NULL;
    buf->bytes = 0;
    return no_cuda();
}
facet_status facet_device_buffer_reserve(facet_device_buffer *buf, size_t bytes) {
    return facet_device_buffer_alloc(buf, bytes);
}
facet_status facet_device_buffer_upload(facet_device_buffer *buf, const void *host, size_t bytes) {
    (void)buf, (void)host, (void)bytes;
    return no_cuda();
}
facet_status facet_device_buffer_download(const facet_device_buffer *buf, void *host,
                                          size_t bytes) {
    (void)buf, (void)host, (void)bytes;
    return no_cuda();
}
void facet_device_buffer_free(facet_device_buffer *buf) {
    buf->data = NULL;
    buf->bytes = 0;
}
