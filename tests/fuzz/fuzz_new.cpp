// Replaceable operator new/delete for fuzz_image and fuzz_exr: malloc/free (so AddressSanitizer
// still checks every C++ allocation), except that a single allocation over 512 MiB throws
// std::bad_alloc instead of aborting. OpenEXR 3.1 sizes a header attribute's value from the file's
// size field before reading it, so a 1 KB file asks for up to 2 GB (a reported finding, see
// docs/fuzzing.md); under AddressSanitizer such a `new` kills the process, in a normal build it
// succeeds and wastes the memory. With the cap, OpenEXR's bad_alloc reaches
// core/exr_openexr.cpp's handler like any other failure and the campaign goes on. The committed
// reproducers stay in tests/fuzz/regressions/{exr,image}/.
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {

const std::size_t cap = std::size_t(512) << 20;

void *allocate(std::size_t size, std::size_t align, bool nothrow) {
    void *p = nullptr;
    if (size <= cap) {
        if (size == 0) size = 1;
        if (align <= alignof(std::max_align_t))
            p = std::malloc(size);
        else if (posix_memalign(&p, align, size) != 0)
            p = nullptr;
    }
    if (!p && !nothrow) throw std::bad_alloc();
    return p;
}

} // namespace

void *operator new(std::size_t n) {
    return allocate(n, 0, false);
}
void *operator new[](std::size_t n) {
    return allocate(n, 0, false);
}
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    return allocate(n, 0, true);
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
    return allocate(n, 0, true);
}
void *operator new(std::size_t n, std::align_val_t a) {
    return allocate(n, static_cast<std::size_t>(a), false);
}
void *operator new[](std::size_t n, std::align_val_t a) {
    return allocate(n, static_cast<std::size_t>(a), false);
}
void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept {
    return allocate(n, static_cast<std::size_t>(a), true);
}
void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept {
    return allocate(n, static_cast<std::size_t>(a), true);
}
void operator delete(void *p) noexcept {
    std::free(p);
}
void operator delete[](void *p) noexcept {
    std::free(p);
}
void operator delete(void *p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void *p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void *p, const std::nothrow_t &) noexcept {
    std::free(p);
}
void operator delete[](void *p, const std::nothrow_t &) noexcept {
    std::free(p);
}
void operator delete(void *p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void *p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void *p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept {
    std::free(p);
}
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept {
    std::free(p);
}
