// Writes the fuzz_exr seeds (tests/fuzz/seed.sh runs it): tiny EXR files covering what
// facet_image_read meets, through tinyexr and through the OpenEXR fallback: every compression
// (NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB), half/float/uint channels, RGB, RGBA,
// Y-only and luminance/chroma (YC) files, a tiled file, a mip-mapped tiled file and a two-part
// file, an offset data window. Deterministic: the same bytes on every run.
//   make_exr_seeds OUT_DIR
#include <OpenEXR/ImfChannelList.h>
#include <OpenEXR/ImfFrameBuffer.h>
#include <OpenEXR/ImfHeader.h>
#include <OpenEXR/ImfMultiPartOutputFile.h>
#include <OpenEXR/ImfOutputFile.h>
#include <OpenEXR/ImfOutputPart.h>
#include <OpenEXR/ImfPartType.h>
#include <OpenEXR/ImfRgbaFile.h>
#include <OpenEXR/ImfTiledOutputFile.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

const int W = 8, H = 6;

struct Planes {
    std::vector<float> f[4];
    std::vector<unsigned> u;
    std::vector<half> h[4];
    Planes() {
        for (int c = 0; c < 4; c++) {
            f[c].resize(W * H);
            h[c].resize(W * H);
            for (int i = 0; i < W * H; i++) {
                f[c][i] = 0.1f * (float)(i % 7) + 0.25f * (float)c;
                h[c][i] = half(f[c][i]);
            }
        }
        u.resize(W * H);
        for (int i = 0; i < W * H; i++) u[i] = (unsigned)i * 3u;
    }
};

// Scanline file with the named channels; pixel type per channel: 'h' half, 'f' float, 'u' uint.
void scanline(const std::string &path, Imf::Compression compression, const char *names,
              const char *types, int x0 = 0, int y0 = 0) {
    static Planes p;
    Imath::Box2i window(Imath::V2i(x0, y0), Imath::V2i(x0 + W - 1, y0 + H - 1));
    Imf::Header header(window, window);
    header.compression() = compression;
    Imf::FrameBuffer fb;
    for (int c = 0; names[c]; c++) {
        std::string name(1, names[c]);
        Imf::PixelType type = types[c] == 'h'   ? Imf::HALF
                              : types[c] == 'f' ? Imf::FLOAT
                                                : Imf::UINT;
        header.channels().insert(name, Imf::Channel(type));
        char *base = types[c] == 'h'   ? (char *)p.h[c].data()
                     : types[c] == 'f' ? (char *)p.f[c].data()
                                       : (char *)p.u.data();
        size_t size = types[c] == 'h' ? sizeof(half) : 4;
        fb.insert(name, Imf::Slice(type, base - (x0 + (size_t)y0 * W) * size, size, size * W));
    }
    Imf::OutputFile file(path.c_str(), header);
    file.setFrameBuffer(fb);
    file.writePixels(H);
}

std::vector<Imf::Rgba> rgba_pixels() {
    std::vector<Imf::Rgba> pixels(W * H);
    for (int i = 0; i < W * H; i++)
        pixels[i] = Imf::Rgba(0.1f * (i % 5), 0.2f * (i % 3), 0.05f * (i % 11), 1.0f);
    return pixels;
}

void luminance_chroma(const std::string &path) {
    std::vector<Imf::Rgba> pixels = rgba_pixels();
    Imf::RgbaOutputFile file(path.c_str(), W, H, Imf::WRITE_YCA, 1, Imath::V2f(0, 0), 1,
                             Imf::INCREASING_Y, Imf::PIZ_COMPRESSION);
    file.setFrameBuffer(pixels.data(), 1, W);
    file.writePixels(H);
}

void tiled(const std::string &path, Imf::LevelMode mode, Imf::Compression compression) {
    static Planes p;
    Imf::Header header(W, H);
    header.compression() = compression;
    header.setTileDescription(Imf::TileDescription(4, 4, mode));
    const char *names = "RGB";
    Imf::FrameBuffer fb;
    for (int c = 0; c < 3; c++) {
        std::string name(1, names[c]);
        header.channels().insert(name, Imf::Channel(Imf::HALF));
        fb.insert(name,
                  Imf::Slice(Imf::HALF, (char *)p.h[c].data(), sizeof(half), sizeof(half) * W));
    }
    Imf::TiledOutputFile file(path.c_str(), header);
    file.setFrameBuffer(fb);
    for (int level = 0; level < file.numLevels(); level++)
        file.writeTiles(0, file.numXTiles(level) - 1, 0, file.numYTiles(level) - 1, level);
}

void multipart(const std::string &path) {
    static Planes p;
    std::vector<Imf::Header> headers;
    for (int part = 0; part < 2; part++) {
        Imf::Header header(W, H);
        header.setName(part ? "second" : "first");
        header.setType(Imf::SCANLINEIMAGE);
        header.compression() = part ? Imf::ZIP_COMPRESSION : Imf::NO_COMPRESSION;
        for (const char *c = "BGR"; *c; c++)
            header.channels().insert(std::string(1, *c), Imf::Channel(Imf::HALF));
        headers.push_back(header);
    }
    Imf::MultiPartOutputFile file(path.c_str(), headers.data(), (int)headers.size());
    for (int part = 0; part < 2; part++) {
        Imf::OutputPart out(file, part);
        Imf::FrameBuffer fb;
        for (int c = 0; c < 3; c++)
            fb.insert(std::string(1, "BGR"[c]),
                      Imf::Slice(Imf::HALF, (char *)p.h[c].data(), sizeof(half), sizeof(half) * W));
        out.setFrameBuffer(fb);
        out.writePixels(H);
    }
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_exr_seeds OUT_DIR\n");
        return 2;
    }
    const std::string out = argv[1];
    struct {
        const char *name;
        Imf::Compression compression;
    } compressions[] = {
        {"none", Imf::NO_COMPRESSION},   {"rle", Imf::RLE_COMPRESSION},
        {"zips", Imf::ZIPS_COMPRESSION}, {"zip", Imf::ZIP_COMPRESSION},
        {"piz", Imf::PIZ_COMPRESSION},   {"pxr24", Imf::PXR24_COMPRESSION},
        {"b44", Imf::B44_COMPRESSION},   {"b44a", Imf::B44A_COMPRESSION},
        {"dwaa", Imf::DWAA_COMPRESSION}, {"dwab", Imf::DWAB_COMPRESSION},
    };
    try {
        for (const auto &c : compressions)
            scanline(out + "/rgb_half_" + c.name + ".exr", c.compression, "BGR", "hhh");
        scanline(out + "/rgba_float_zip.exr", Imf::ZIP_COMPRESSION, "ABGR", "ffff");
        scanline(out + "/rgba_mixed_none.exr", Imf::NO_COMPRESSION, "ABGR", "hfuh");
        scanline(out + "/y_half_dwaa.exr", Imf::DWAA_COMPRESSION, "Y", "h");
        scanline(out + "/y_float_none.exr", Imf::NO_COMPRESSION, "Y", "f");
        scanline(out + "/r_only_rle.exr", Imf::RLE_COMPRESSION, "R", "h");
        scanline(out + "/offset_window_b44.exr", Imf::B44_COMPRESSION, "BGR", "hhh", -3, 5);
        luminance_chroma(out + "/yc_piz.exr");
        tiled(out + "/tiled_zip.exr", Imf::ONE_LEVEL, Imf::ZIP_COMPRESSION);
        tiled(out + "/tiled_mipmap_dwab.exr", Imf::MIPMAP_LEVELS, Imf::DWAB_COMPRESSION);
        multipart(out + "/multipart.exr");
    } catch (const std::exception &e) {
        std::fprintf(stderr, "make_exr_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
