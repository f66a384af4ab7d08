/* CUDA-GL interop for the viewer (viewer/interop.h): render on the device, convert to display
 * bytes there, copy into the GL texture's array. The texture is shared with the CPU path, which
 * re-specifies it for images of other sizes; the registration follows viewer/interop_plan.h. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "viewer/interop.h"

#include <cuda_gl_interop.h>

#include <stdlib.h>

struct facet_interop {
    facet_frame_gl *frame;
    cudaGraphicsResource_t resource;         /* the registered texture, NULL when none */
    facet_interop_registration registration; /* the texture storage `resource` names */
    int width, height;                       /* size of the device buffers */
    float *d_rgba;                           /* width * height * 4 linear floats */
    unsigned char *d_bytes;                  /* width * height * 4 display bytes */
};

namespace {

__global__ void display_kernel(int64_t pixels, const float *rgba, unsigned char *bytes) {
    int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (p < pixels) facet_display_rgb(rgba + p * 4, bytes + p * 4);
}

facet_status cuda_failure(cudaError_t err, const char *what) {
    return facet_fail(FACET_ERR_CUDA, "viewer: CUDA-GL interop, %s: %s", what,
                      cudaGetErrorString(err));
}

void unregister(facet_interop *io) {
    if (io->resource) cudaGraphicsUnregisterResource(io->resource);
    io->resource = NULL;
    facet_interop_unregistered(&io->registration);
}

/* frame_gl's before_respecify: the texture's storage is about to be replaced (by the CPU path's
 * upload of an image of another size) or deleted, so the registration goes first. */
void before_respecify(void *user) {
    unregister((facet_interop *)user);
}

void release(facet_interop *io) {
    unregister(io);
    cudaFree(io->d_rgba);
    cudaFree(io->d_bytes);
    io->d_rgba = NULL;
    io->d_bytes = NULL;
    io->width = io->height = 0;
}

/* Sizes the device buffers and the texture to width x height, and makes the registration name the
 * texture's current storage (viewer/interop_plan.h): registered again after every
 * re-specification, whichever path made it. */
facet_status prepare(facet_interop *io, int width, int height) {
    if (io->width != width || io->height != height) {
        cudaFree(io->d_rgba);
        cudaFree(io->d_bytes);
        io->d_rgba = NULL;
        io->d_bytes = NULL;
        io->width = io->height = 0;
        const size_t pixels = (size_t)width * height;
        cudaError_t err = cudaMalloc(&io->d_rgba, pixels * 4 * sizeof(float));
        if (err == cudaSuccess) err = cudaMalloc(&io->d_bytes, pixels * 4);
        if (err != cudaSuccess) {
            release(io);
            return cuda_failure(err, "allocating the frame buffers");
        }
        io->width = width;
        io->height = height;
    }
    const facet_interop_actions plan = facet_interop_plan(&io->registration, &io->frame->storage,
                                                          width, height, FACET_FRAME_GL_FORMAT);
    if (plan.unregister) unregister(io);
    if (plan.respecify) {
        facet_status s = facet_frame_gl_resize(io->frame, width, height);
        if (s != FACET_OK) return s;
    }
    if (plan.reregister) {
        cudaError_t err =
            cudaGraphicsGLRegisterImage(&io->resource, io->frame->texture, GL_TEXTURE_2D,
                                        cudaGraphicsRegisterFlagsWriteDiscard);
        if (err != cudaSuccess) {
            io->resource = NULL;
            return cuda_failure(err, "registering the image texture");
        }
        facet_interop_registered(&io->registration, &io->frame->storage);
    }
    return FACET_OK;
}

} // namespace

extern "C" facet_status facet_interop_create(facet_interop **out, facet_frame_gl *frame) {
    *out = NULL;
    unsigned int count = 0;
    int gl_devices[4];
    cudaError_t err = cudaGLGetDevices(&count, gl_devices, 4, cudaGLDeviceListAll);
    if (err != cudaSuccess || count == 0)
        return facet_fail(FACET_ERR_CUDA,
                          "viewer: the GL context is not on a CUDA device (%s); rendering "
                          "through the host instead",
                          err != cudaSuccess ? cudaGetErrorString(err) : "no device");
    if ((err = cudaSetDevice(gl_devices[0])) != cudaSuccess)
        return cuda_failure(err, "selecting the GL device");
    facet_interop *io = (facet_interop *)calloc(1, sizeof *io);
    if (!io) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "viewer: CUDA-GL interop state");
    io->frame = frame;
    frame->before_respecify = before_respecify;
    frame->before_respecify_user = io;
    *out = io;
    return FACET_OK;
}

extern "C" void facet_interop_destroy(facet_interop *io) {
    if (!io) return;
    release(io);
    if (io->frame->before_respecify_user == io) {
        io->frame->before_respecify = NULL;
        io->frame->before_respecify_user = NULL;
    }
    free(io);
}

extern "C" facet_status facet_interop_render(facet_interop *io, const facet_scene *scene,
                                             const facet_view_state *state) {
    const int width = state->camera.width, height = state->camera.height;
    facet_status s = prepare(io, width, height);
    if (s != FACET_OK) return s;
    facet_render_options options = {};
    options.device = FACET_DEVICE_CUDA;
    options.exposure = state->exposure;
    options.filter = state->filter;
    s = facet_render_image_cuda_device(scene, &state->camera, &options, io->d_rgba);
    if (s != FACET_OK) return s;
    const int64_t pixels = (int64_t)width * height;
    FACET_LAUNCH(display_kernel, (unsigned)((pixels + 255) / 256), 256)
    (pixels, io->d_rgba, io->d_bytes);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return cuda_failure(err, "converting to display bytes");
    if ((err = cudaGraphicsMapResources(1, &io->resource)) != cudaSuccess)
        return cuda_failure(err, "mapping the texture");
    cudaArray_t array = NULL;
    err = cudaGraphicsSubResourceGetMappedArray(&array, io->resource, 0, 0);
    if (err == cudaSuccess)
        err = cudaMemcpy2DToArray(array, 0, 0, io->d_bytes, (size_t)width * 4, (size_t)width * 4,
                                  height, cudaMemcpyDeviceToDevice);
    cudaError_t unmap = cudaGraphicsUnmapResources(1, &io->resource);
    if (err == cudaSuccess) err = unmap;
    return err == cudaSuccess ? FACET_OK : cuda_failure(err, "copying into the texture");
}
