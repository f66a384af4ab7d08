/* cuemu: fp32 -> bf16 (__float2bfloat16, round to nearest even) and fp32 -> TF32
 * (cuemu::round_tf32, the rounding of CUBLAS_COMPUTE_32F_FAST_TF32) on chosen bit patterns, with
 * the expected bits written out: exact values, ties both ways, just above and below a tie, both
 * signs, the largest finite values and overflow, infinities, NaNs, subnormals. The bf16 conversion
 * also runs in a kernel. fp16 -> fp32 (__half2float) on all 65,536 patterns against the value
 * formula (-1)^sign 2^(e - 25) (1024 + mantissa), or mantissa 2^-24 when e = 0, in double; and
 * back to the same bits. */
#include "check.h"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

namespace {

float from_bits(unsigned u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
unsigned to_bits(float f) {
    unsigned u;
    memcpy(&u, &f, 4);
    return u;
}

struct Bf16Case {
    unsigned in;
    unsigned short out;
    const char *what;
};

/* bf16 keeps the top 16 bits of a float; the 16 bits below decide the rounding. */
const Bf16Case kBf16[] = {
    {0x3f800000u, 0x3f80, "1.0 exact"},
    {0x3f808000u, 0x3f80, "1 + 2^-8: tie, even stays"},
    {0x3f818000u, 0x3f82, "tie above an odd value: rounds up"},
    {0x3f808001u, 0x3f81, "just above a tie"},
    {0x3f807fffu, 0x3f80, "just below a tie"},
    {0xbf808000u, 0xbf80, "-(1 + 2^-8): tie, even stays"},
    {0xbf818000u, 0xbf82, "negative tie above an odd value"},
    {0x40490fdbu, 0x4049, "pi"},
    {0x7f7fffffu, 0x7f80, "FLT_MAX overflows to inf"},
    {0x7f7f7fffu, 0x7f7f, "largest float that stays finite (bf16 max)"},
    {0x7f7f8000u, 0x7f80, "tie above bf16 max: to inf"},
    {0x7f800000u, 0x7f80, "+inf"},
    {0xff800000u, 0xff80, "-inf"},
    {0x7fc00000u, 0x7fff, "quiet NaN: the canonical NaN"},
    {0x7f800001u, 0x7fff, "NaN whose payload is below bit 16 stays NaN"},
    {0xffffffffu, 0x7fff, "all-ones NaN"},
    {0x00000000u, 0x0000, "+0"},
    {0x80000000u, 0x8000, "-0"},
    {0x00000001u, 0x0000, "smallest subnormal: to +0"},
    {0x80000001u, 0x8000, "smallest negative subnormal: to -0"},
    {0x00008000u, 0x0000, "tie at the smallest bf16 subnormal: even (0)"},
    {0x00018000u, 0x0002, "subnormal tie above an odd value"},
    {0x00010000u, 0x0001, "smallest bf16 subnormal, exact"},
    {0x007fffffu, 0x0080, "largest float subnormal: to the smallest normal"},
    {0x00800000u, 0x0080, "smallest normal, exact"},
};

struct Tf32Case {
    unsigned in, out;
    const char *what;
};

/* TF32 keeps 10 mantissa bits: bits 12..0 decide the rounding, bit 13 is the last one kept. */
const Tf32Case kTf32[] = {
    {0x3f800000u, 0x3f800000u, "1.0 exact"},
    {0x3f801000u, 0x3f800000u, "1 + 2^-11: tie, even stays"},
    {0x3f803000u, 0x3f804000u, "tie above an odd value: rounds up"},
    {0x3f801001u, 0x3f802000u, "just above a tie"},
    {0x3f800fffu, 0x3f800000u, "just below a tie"},
    {0xbf803000u, 0xbf804000u, "negative tie above an odd value"},
    {0x40490fdbu, 0x40490000u, "pi"},
    {0x7f7fffffu, 0x7f800000u, "FLT_MAX overflows to inf"},
    {0x7f7fefffu, 0x7f7fe000u, "just below the tie at TF32 max"},
    {0x7f800000u, 0x7f800000u, "+inf untouched"},
    {0xff800000u, 0xff800000u, "-inf untouched"},
    {0x7fc00001u, 0x7fc00001u, "NaN untouched, payload and all"},
    {0x7f800001u, 0x7f800001u, "NaN with a low payload untouched (not inf)"},
    {0xffffffffu, 0xffffffffu, "all-ones NaN untouched"},
    {0x80000000u, 0x80000000u, "-0"},
    {0x00000fffu, 0x00000000u, "subnormal below a tie"},
    {0x00001000u, 0x00000000u, "subnormal tie, even stays (0)"},
    {0x00003000u, 0x00004000u, "subnormal tie above an odd value"},
    {0x007ff000u, 0x00800000u, "tie at the largest TF32 subnormal: up to the smallest normal"},
};

__global__ void to_bf16(const float *x, int n, __nv_bfloat16 *y) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = __float2bfloat16(x[i]);
}

/* Every binary16 pattern to float and back: the value from the formula (exact in double, and in
 * float, whose range and precision hold every binary16 value), infinities and NaNs by class. */
void check_f16_all() {
    int wrong = 0, round_trip = 0, first = -1;
    for (unsigned h = 0; h < 65536; h++) {
        const float got = __half2float(__ushort_as_half((unsigned short)h));
        const unsigned e = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
        const double sign = h & 0x8000u ? -1.0 : 1.0;
        bool ok;
        if (e == 0x1fu)
            ok = mantissa ? std::isnan(got) : got == (float)(sign * INFINITY);
        else {
            const double want = e ? sign * std::ldexp(1024.0 + mantissa, (int)e - 25)
                                  : sign * std::ldexp((double)mantissa, -24);
            ok = (double)got == want && std::signbit(got) == (sign < 0);
        }
        if (!ok && first < 0) first = (int)h;
        wrong += !ok;
        if (!std::isnan(got)) round_trip += __half_as_ushort(__float2half(got)) != h;
    }
    check(wrong == 0 && round_trip == 0, "f16_to_f32_all_patterns",
          "%d of 65536 values wrong (first at pattern %d, -1: none), %d not back to their bits",
          wrong, first, round_trip);
}

} // namespace

int main() {
    check_f16_all();
    const int nb = (int)(sizeof kBf16 / sizeof kBf16[0]);
    float hx[nb];
    for (int i = 0; i < nb; i++) hx[i] = from_bits(kBf16[i].in);
    float *dx = device_alloc<float>(nb);
    __nv_bfloat16 *dy = device_alloc<__nv_bfloat16>(nb);
    CUDA_OK(cudaMemcpy(dx, hx, sizeof hx, cudaMemcpyHostToDevice));
    FACET_LAUNCH(to_bf16, 1, 64)(dx, nb, dy);
    CUDA_OK(cudaGetLastError());
    __nv_bfloat16 hy[nb];
    CUDA_OK(cudaMemcpy(hy, dy, sizeof hy, cudaMemcpyDeviceToHost));
    for (int i = 0; i < nb; i++) {
        const Bf16Case &c = kBf16[i];
        const unsigned short host = __bfloat16_as_ushort(__float2bfloat16(from_bits(c.in)));
        const unsigned short dev = __bfloat16_as_ushort(hy[i]);
        /* back to float: exact, the bits shifted up */
        const float back = __bfloat162float(__ushort_as_bfloat16(c.out));
        const bool back_ok =
            c.out == 0x7fff ? std::isnan(back) : to_bits(back) == (unsigned)c.out << 16;
        char name[32];
        snprintf(name, sizeof name, "bf16_%08x", c.in);
        check(host == c.out && dev == c.out && back_ok, name,
              "%s: 0x%04x (host), 0x%04x (kernel), expected 0x%04x", c.what, host, dev, c.out);
    }
    for (const Tf32Case &c : kTf32) {
        const unsigned got = to_bits(::cuemu::round_tf32(from_bits(c.in)));
        char name[32];
        snprintf(name, sizeof name, "tf32_%08x", c.in);
        check(got == c.out, name, "%s: 0x%08x, expected 0x%08x", c.what, got, c.out);
    }
    cudaFree(dx);
    cudaFree(dy);
    return check_exit();
}
