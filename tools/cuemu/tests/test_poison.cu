/* cuemu: CUEMU_POISON=1 fills every fresh cudaMalloc / cudaMallocHost block with 0xFF bytes, so
 * that a kernel reading memory nobody wrote computes NaN (and an int reads -1). cudaMemset and
 * cudaMemcpy overwrite the poison as usual. Without CUEMU_POISON the content of fresh memory is
 * not checked (it is whatever malloc returns). */
#include "check.h"

#include <cmath>
#include <vector>

namespace {

__global__ void scale(const float *in, int n, float *out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = 2.0f * in[i] + 1.0f;
}

bool all_bytes(const void *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)p)[i] != v) return false;
    return true;
}

} // namespace

int main() {
    const bool poison = ::cuemu::poison_enabled();
    const char *env = getenv("CUEMU_POISON");
    check(poison == (env && atoi(env) != 0), "poison_env", "CUEMU_POISON=%s: poison %s",
          env ? env : "(unset)", poison ? "on" : "off");

    const int n = 1000;
    std::vector<float> h(n);
    float *in = device_alloc<float>(n), *out = device_alloc<float>(n);
    CUDA_OK(cudaMemcpy(h.data(), in, n * sizeof(float), cudaMemcpyDeviceToHost));
    int nan = 0;
    for (float v : h) nan += std::isnan(v);
    if (poison)
        check(nan == n && all_bytes(h.data(), n * sizeof(float), 0xFF), "fresh_malloc_is_nan",
              "%d of %d floats NaN, all bytes 0xFF", nan, n);
    else
        check(true, "fresh_malloc_is_nan", "poison off: content not checked (%d of %d NaN)", nan,
              n);

    /* a kernel that reads what nobody wrote */
    FACET_LAUNCH(scale, (n + 127) / 128, 128)(in, n, out);
    CUDA_OK(cudaGetLastError());
    CUDA_OK(cudaMemcpy(h.data(), out, n * sizeof(float), cudaMemcpyDeviceToHost));
    nan = 0;
    for (float v : h) nan += std::isnan(v);
    if (poison)
        check(nan == n, "uninitialised_read_gives_nan", "%d of %d outputs NaN", nan, n);
    else
        check(true, "uninitialised_read_gives_nan", "poison off: not checked");

    /* half uploaded: the other half stays poisoned */
    std::vector<float> ones(n / 2, 1.0f);
    CUDA_OK(cudaMemcpy(in, ones.data(), ones.size() * sizeof(float), cudaMemcpyHostToDevice));
    FACET_LAUNCH(scale, (n + 127) / 128, 128)(in, n, out);
    CUDA_OK(cudaMemcpy(h.data(), out, n * sizeof(float), cudaMemcpyDeviceToHost));
    int good = 0;
    nan = 0;
    for (int i = 0; i < n; i++) {
        if (i < n / 2)
            good += h[i] == 3.0f;
        else
            nan += std::isnan(h[i]);
    }
    check(good == n / 2 && (!poison || nan == n / 2), "partial_upload",
          "%d of %d written values right, %d of %d unwritten NaN%s", good, n / 2, nan, n / 2,
          poison ? "" : " (not checked: poison off)");

    /* cudaMemset after the poison */
    CUDA_OK(cudaMemset(in, 0, n * sizeof(float)));
    CUDA_OK(cudaMemcpy(h.data(), in, n * sizeof(float), cudaMemcpyDeviceToHost));
    const bool zero = all_bytes(h.data(), n * sizeof(float), 0);
    CUDA_OK(cudaMemset(in, 0x3f, n * sizeof(float)));
    CUDA_OK(cudaMemcpy(h.data(), in, n * sizeof(float), cudaMemcpyDeviceToHost));
    const bool byte = all_bytes(h.data(), n * sizeof(float), 0x3f);
    check(zero && byte, "memset_after_poison", "cudaMemset 0 %s, 0x3f %s", zero ? "ok" : "wrong",
          byte ? "ok" : "wrong");

    /* other types and pinned host memory */
    int *ints = device_alloc<int>(16);
    double *dbl = device_alloc<double>(16);
    int hi[16];
    double hd[16];
    CUDA_OK(cudaMemcpy(hi, ints, sizeof hi, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(hd, dbl, sizeof hd, cudaMemcpyDeviceToHost));
    float *pinned = nullptr;
    CUDA_OK(cudaMallocHost(&pinned, 64 * sizeof(float)));
    bool ok = true;
    for (int i = 0; i < 16; i++) ok = ok && hi[i] == -1 && std::isnan(hd[i]);
    for (int i = 0; i < 64; i++) ok = ok && std::isnan(pinned[i]);
    if (poison)
        check(ok, "poison_int_double_pinned", "int reads -1, double NaN, cudaMallocHost NaN");
    else
        check(true, "poison_int_double_pinned", "poison off: not checked");
    cudaFreeHost(pinned);
    cudaFree(ints);
    cudaFree(dbl);
    cudaFree(in);
    cudaFree(out);
    return check_exit();
}
