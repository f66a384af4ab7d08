// OpenEXR C++ reader behind a C interface (see exr_openexr.h). Every exception stays inside this
// file and becomes a facet_status with a message naming the file.
#include "exr_openexr.h"

#include <OpenEXR/IexBaseExc.h>
#include <OpenEXR/ImfChannelList.h>
#include <OpenEXR/ImfFrameBuffer.h>
#include <OpenEXR/ImfHeader.h>
#include <OpenEXR/ImfInputFile.h>
#include <OpenEXR/ImfRgbaFile.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <vector>

namespace {

// Frees the image unless release() was called, so a throw never leaks it.
class ImageGuard {
  public:
    explicit ImageGuard(facet_image *img) : img_(img) {}
    ~ImageGuard() {
        if (img_) facet_image_free(img_);
    }
    ImageGuard(const ImageGuard &) = delete;
    ImageGuard &operator=(const ImageGuard &) = delete;
    void release() { img_ = nullptr; }

  private:
    facet_image *img_;
};

// Width and height of a data window; throws for an empty or absurd one.
void window_size(const Imath::Box2i &dw, int *width, int *height) {
    int64_t w = static_cast<int64_t>(dw.max.x) - dw.min.x + 1;
    int64_t h = static_cast<int64_t>(dw.max.y) - dw.min.y + 1;
    if (w <= 0 || h <= 0 || w > INT32_MAX || h > INT32_MAX)
        throw Iex::InputExc("invalid data window " + std::to_string(w) + "x" + std::to_string(h));
    if (w > FACET_IMAGE_MAX_SIDE || h > FACET_IMAGE_MAX_SIDE || w * h > FACET_IMAGE_MAX_PIXELS)
        throw Iex::InputExc("data window " + std::to_string(w) + "x" + std::to_string(h) +
                            " is too large (facet reads at most " +
                            std::to_string(FACET_IMAGE_MAX_SIDE) + " pixels a side and " +
                            std::to_string(FACET_IMAGE_MAX_PIXELS) + " pixels)");
    *width = static_cast<int>(w);
    *height = static_cast<int>(h);
}

void check_alloc(facet_status status) {
    if (status == FACET_ERR_OUT_OF_MEMORY) throw std::bad_alloc();
    if (status != FACET_OK) throw Iex::InputExc(facet_last_error());
}

// Luminance/chroma files (Y, RY, BY): RgbaInputFile reconstructs RGB (at half precision, which is
// what such files store).
void read_luminance_chroma(const char *path, facet_image *img) {
    Imf::RgbaInputFile file(path);
    const Imath::Box2i dw = file.dataWindow();
    int width, height;
    window_size(dw, &width, &height);
    const bool alpha = (file.channels() & Imf::WRITE_A) != 0;
    std::vector<Imf::Rgba> pixels(static_cast<size_t>(width) * static_cast<size_t>(height));
    file.setFrameBuffer(Imf::ComputeBasePointer(pixels.data(), dw), 1, static_cast<size_t>(width));
    file.readPixels(dw.min.y, dw.max.y);
    check_alloc(facet_image_alloc(img, width, height, alpha ? 4 : 3));
    float *out = img->data;
    for (const Imf::Rgba &p : pixels) {
        *out++ = p.r;
        *out++ = p.g;
        *out++ = p.b;
        if (alpha) *out++ = p.a;
    }
}

// R, G, B (or Y) and optional A read as float32 slices: exact for half and float channels.
void read_rgba(Imf::InputFile &file, facet_image *img) {
    const Imf::ChannelList &list = file.header().channels();
    const bool has_rgb = list.findChannel("R") || list.findChannel("G") || list.findChannel("B");
    const bool has_y = list.findChannel("Y") != nullptr;
    const bool alpha = list.findChannel("A") != nullptr;
    if (!has_rgb && !has_y) {
        std::string names;
        for (Imf::ChannelList::ConstIterator it = list.begin(); it != list.end(); ++it)
            names += std::string(names.empty() ? "" : ", ") + it.name();
        throw Iex::InputExc("no R, G, B or Y channel (channels: " + names + ")");
    }
    const Imath::Box2i dw = file.header().dataWindow();
    int width, height;
    window_size(dw, &width, &height);
    const int channels = alpha ? 4 : 3;
    check_alloc(facet_image_alloc(img, width, height, channels));

    const size_t x_stride = sizeof(float) * static_cast<size_t>(channels);
    const size_t y_stride = x_stride * static_cast<size_t>(width);
    Imf::FrameBuffer frame;
    const char *names[4] = {"R", "G", "B", "A"};
    if (!has_rgb) names[0] = "Y"; // replicated into G and B below
    for (int c = 0; c < channels; c++) {
        if (!has_rgb && (c == 1 || c == 2)) continue;
        const Imf::Channel *channel = list.findChannel(names[c]);
        if (channel && (channel->xSampling != 1 || channel->ySampling != 1))
            throw Iex::InputExc(std::string("subsampled channel '") + names[c] + "'");
        frame.insert(names[c], Imf::Slice::Make(Imf::FLOAT, img->data + c, dw, x_stride, y_stride,
                                                1, 1, c == 3 ? 1.0 : 0.0));
    }
    file.setFrameBuffer(frame);
    file.readPixels(dw.min.y, dw.max.y);
    if (!has_rgb) {
        const size_t count = static_cast<size_t>(width) * static_cast<size_t>(height);
        for (size_t i = 0; i < count; i++) {
            float *p = img->data + i * static_cast<size_t>(channels);
            p[1] = p[2] = p[0];
        }
    }
}

void read_file(const char *path, facet_image *img) {
    Imf::InputFile file(path);
    const Imf::ChannelList &list = file.header().channels();
    if (list.findChannel("RY") || list.findChannel("BY")) {
        read_luminance_chroma(path, img);
        return;
    }
    read_rgba(file, img);
}

} // namespace

extern "C" facet_status facet_exr_read_openexr(const char *path, facet_image *img) {
    *img = facet_image{};
    ImageGuard guard(img);
    try {
        read_file(path, img);
        guard.release();
        return FACET_OK;
    } catch (const std::bad_alloc &) {
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "OpenEXR cannot read '%s': out of memory", path);
    } catch (const Iex::ErrnoExc &e) {
        return facet_fail(FACET_ERR_IO, "OpenEXR cannot read '%s': %s", path, e.what());
    } catch (const std::exception &e) {
        return facet_fail(FACET_ERR_FORMAT, "OpenEXR cannot read '%s': %s", path, e.what());
    } catch (...) {
        return facet_fail(FACET_ERR_INTERNAL, "OpenEXR cannot read '%s': unknown exception", path);
    }
}
