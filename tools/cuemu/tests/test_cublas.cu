/* cuemu: every cuBLAS call facet makes (cublasSgemm, cublasSgemmStridedBatched, cublasGemmEx,
 * cublasGemmStridedBatchedEx; fp32 and bf16 inputs, fp32 and TF32 compute), for every transpose
 * combination, leading dimensions larger than the rows, beta 0 over a NaN-filled C, beta 1 and
 * beta 0.5. Each result is compared with a double-precision loop over the (rounded) inputs and with
 * OpenBLAS's cblas_sgemm, within (k + 2) eps of the sum of |terms|; the padding rows of C and the
 * gaps between batch entries must stay untouched. Run as is (the emulator's GEMMs go through
 * cblas_sgemm) and with CUEMU_GEMM=loops (its own loops). */
#include "check.h"

#include <cblas.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <cfloat>
#include <cmath>
#include <vector>

namespace {

/* ---- independent roundings: the nearest value with `bits` significant bits (ties to even) ---- */
float round_to_bits(float x, int bits) {
    if (x == 0.0f || !std::isfinite(x)) return x;
    int e;
    std::frexp(x, &e); /* x = m 2^e, 0.5 <= |m| < 1 */
    const double q = std::ldexp(1.0, (e > -125 ? e : -125) - bits);
    return (float)(std::nearbyint((double)x / q) * q); /* the default mode: ties to even */
}
float ref_bf16(float x) {
    return round_to_bits(x, 8);
}
float ref_tf32(float x) {
    return round_to_bits(x, 11);
}

struct Lcg {
    unsigned s;
    float next() { /* in [-1, 1), with all 24 bits of the mantissa in use */
        s = s * 1664525u + 1013904223u;
        return (float)((s >> 8) & 0xffffff) / 8388608.0f - 1.0f;
    }
};

enum Api { SGEMM, SGEMM_BATCHED, GEMM_EX, GEMM_BATCHED_EX };
enum Input { FP32, BF16, TF32 };

const float kSentinel = 12345.0f;

struct Case {
    Api api;
    Input input;
    cublasOperation_t ta, tb;
    float beta;
};

/* runs one case; returns the largest error / tolerance against the double loop and cblas */
bool run_case(cublasHandle_t h, const Case &c, double *worst_ref, double *worst_blas,
              int *untouched_bad) {
    const int m = 7, n = 5, k = 33;
    const bool na = c.ta == CUBLAS_OP_N, nb = c.tb == CUBLAS_OP_N;
    const int ra = na ? m : k, ca = na ? k : m, rb = nb ? k : n, cb = nb ? n : k;
    const int lda = ra + 3, ldb = rb + 2, ldc = m + 4;
    const bool batched = c.api == SGEMM_BATCHED || c.api == GEMM_BATCHED_EX;
    const int batch = batched ? 3 : 1;
    const long long sa = (long long)lda * ca + 5, sb = (long long)ldb * cb + 7,
                    sc = (long long)ldc * n + 3;
    const size_t na_el = (size_t)(sa * batch), nb_el = (size_t)(sb * batch),
                 nc_el = (size_t)(sc * batch);
    Lcg rng{(unsigned)(c.api * 1000 + c.input * 100 + c.ta * 10 + c.tb) + 1u};
    std::vector<float> A(na_el, kSentinel), B(nb_el, kSentinel), C(nc_el, kSentinel);
    for (int e = 0; e < batch; e++) {
        for (int j = 0; j < ca; j++)
            for (int i = 0; i < ra; i++) A[e * sa + (size_t)j * lda + i] = rng.next();
        for (int j = 0; j < cb; j++)
            for (int i = 0; i < rb; i++) B[e * sb + (size_t)j * ldb + i] = rng.next();
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
                C[e * sc + (size_t)j * ldc + i] = c.beta == 0.0f ? NAN : rng.next();
    }
    /* the inputs as the GEMM sees them */
    std::vector<float> Ar(A), Br(B);
    for (float &v : Ar) v = c.input == BF16 ? ref_bf16(v) : c.input == TF32 ? ref_tf32(v) : v;
    for (float &v : Br) v = c.input == BF16 ? ref_bf16(v) : c.input == TF32 ? ref_tf32(v) : v;

    const size_t elem = c.input == BF16 ? 2 : 4;
    void *dA = device_alloc<char>(na_el * elem), *dB = device_alloc<char>(nb_el * elem);
    float *dC = device_alloc<float>(nc_el);
    if (c.input == BF16) {
        std::vector<__nv_bfloat16> a16(na_el), b16(nb_el);
        for (size_t i = 0; i < na_el; i++) a16[i] = __float2bfloat16(A[i]);
        for (size_t i = 0; i < nb_el; i++) b16[i] = __float2bfloat16(B[i]);
        CUDA_OK(cudaMemcpy(dA, a16.data(), na_el * 2, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(dB, b16.data(), nb_el * 2, cudaMemcpyHostToDevice));
    } else {
        CUDA_OK(cudaMemcpy(dA, A.data(), na_el * 4, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(dB, B.data(), nb_el * 4, cudaMemcpyHostToDevice));
    }
    CUDA_OK(cudaMemcpy(dC, C.data(), nc_el * 4, cudaMemcpyHostToDevice));

    const float alpha = 0.75f, beta = c.beta;
    const cudaDataType_t type = c.input == BF16 ? CUDA_R_16BF : CUDA_R_32F;
    const cublasComputeType_t compute =
        c.input == TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    cublasStatus_t s = CUBLAS_STATUS_INTERNAL_ERROR;
    switch (c.api) {
    case SGEMM:
        s = cublasSgemm(h, c.ta, c.tb, m, n, k, &alpha, (const float *)dA, lda, (const float *)dB,
                        ldb, &beta, dC, ldc);
        break;
    case SGEMM_BATCHED:
        s = cublasSgemmStridedBatched(h, c.ta, c.tb, m, n, k, &alpha, (const float *)dA, lda, sa,
                                      (const float *)dB, ldb, sb, &beta, dC, ldc, sc, batch);
        break;
    case GEMM_EX:
        s = cublasGemmEx(h, c.ta, c.tb, m, n, k, &alpha, dA, type, lda, dB, type, ldb, &beta, dC,
                         CUDA_R_32F, ldc, compute, CUBLAS_GEMM_DEFAULT);
        break;
    case GEMM_BATCHED_EX:
        s = cublasGemmStridedBatchedEx(h, c.ta, c.tb, m, n, k, &alpha, dA, type, lda, sa, dB, type,
                                       ldb, sb, &beta, dC, CUDA_R_32F, ldc, sc, batch, compute,
                                       CUBLAS_GEMM_DEFAULT);
        break;
    }
    std::vector<float> got(nc_el);
    CUDA_OK(cudaMemcpy(got.data(), dC, nc_el * 4, cudaMemcpyDeviceToHost));
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
    if (s != CUBLAS_STATUS_SUCCESS) return false;

    /* OpenBLAS on the rounded inputs, beta 0 on a zero C */
    std::vector<float> Cb(C);
    for (float &v : Cb)
        if (std::isnan(v)) v = 0.0f;
    for (int e = 0; e < batch; e++)
        cblas_sgemm(CblasColMajor, na ? CblasNoTrans : CblasTrans, nb ? CblasNoTrans : CblasTrans,
                    m, n, k, alpha, &Ar[e * sa], lda, &Br[e * sb], ldb, beta, &Cb[e * sc], ldc);

    for (size_t i = 0; i < nc_el; i++) {
        const size_t off = i % sc, row = off % ldc, col = off / ldc;
        if (row < (size_t)m && col < (size_t)n) continue;
        *untouched_bad += got[i] != kSentinel; /* padding rows, gaps between batch entries */
    }
    for (int e = 0; e < batch; e++)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                double ref = 0.0, mag = 0.0;
                for (int l = 0; l < k; l++) {
                    const double a = Ar[e * sa + (na ? (size_t)l * lda + i : (size_t)i * lda + l)];
                    const double b = Br[e * sb + (nb ? (size_t)j * ldb + l : (size_t)l * ldb + j)];
                    ref += a * b;
                    mag += std::fabs(a * b);
                }
                const size_t at = e * sc + (size_t)j * ldc + i;
                ref *= alpha;
                mag *= std::fabs(alpha);
                if (beta != 0.0f) ref += (double)beta * C[at], mag += std::fabs(beta * C[at]);
                const double tol = (k + 2) * (double)FLT_EPSILON * mag + 1e-30;
                const double err_ref = std::fabs(got[at] - ref) / tol;
                const double err_blas = std::fabs((double)got[at] - Cb[at]) / (2 * tol);
                *worst_ref = std::isfinite(err_ref) ? std::fmax(*worst_ref, err_ref) : INFINITY;
                *worst_blas = std::isfinite(err_blas) ? std::fmax(*worst_blas, err_blas) : INFINITY;
            }
    return true;
}

void test_products(cublasHandle_t h) {
    const char *api_names[] = {"sgemm", "sgemm_strided_batched", "gemm_ex",
                               "gemm_strided_batched_ex"};
    const char *input_names[] = {"fp32", "bf16", "tf32"};
    const cublasOperation_t ops[] = {CUBLAS_OP_N, CUBLAS_OP_T};
    for (int api = SGEMM; api <= GEMM_BATCHED_EX; api++)
        for (int input = FP32; input <= TF32; input++) {
            if ((api == SGEMM || api == SGEMM_BATCHED) && input != FP32) continue;
            for (cublasOperation_t ta : ops)
                for (cublasOperation_t tb : ops) {
                    double worst_ref = 0.0, worst_blas = 0.0;
                    int untouched_bad = 0;
                    bool ran = true;
                    for (float beta : {0.0f, 1.0f, 0.5f})
                        ran = ran && run_case(h, Case{(Api)api, (Input)input, ta, tb, beta},
                                              &worst_ref, &worst_blas, &untouched_bad);
                    char name[96];
                    snprintf(name, sizeof name, "%s_%s_%c%c", api_names[api], input_names[input],
                             ta == CUBLAS_OP_N ? 'N' : 'T', tb == CUBLAS_OP_N ? 'N' : 'T');
                    check(ran && worst_ref <= 1.0 && worst_blas <= 1.0 && untouched_bad == 0, name,
                          "m7 n5 k33, ld +3/+2/+4, beta 0 (C NaN)/1/0.5: error/tolerance %.3f "
                          "(double loop), %.3f (cblas); %d padding values changed%s",
                          worst_ref, worst_blas, untouched_bad, ran ? "" : "; call failed");
                }
        }
}

/* ---- the rounding really happens, and only when asked ---------------------------------------- */
float one_product(cublasHandle_t h, float a, cudaDataType_t type, cublasComputeType_t compute,
                  int api) {
    void *dA = device_alloc<float>(1), *dB = device_alloc<float>(1);
    float *dC = device_alloc<float>(1);
    const float one = 1.0f, zero = 0.0f;
    if (type == CUDA_R_16BF) {
        __nv_bfloat16 a16 = __float2bfloat16(a), b16 = __float2bfloat16(1.0f);
        CUDA_OK(cudaMemcpy(dA, &a16, 2, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(dB, &b16, 2, cudaMemcpyHostToDevice));
    } else {
        CUDA_OK(cudaMemcpy(dA, &a, 4, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(dB, &one, 4, cudaMemcpyHostToDevice));
    }
    cublasStatus_t s;
    if (api == SGEMM)
        s = cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, (const float *)dA, 1,
                        (const float *)dB, 1, &zero, dC, 1);
    else
        s = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, dA, type, 1, dB, type, 1,
                         &zero, dC, CUDA_R_32F, 1, compute, CUBLAS_GEMM_DEFAULT);
    float c = NAN;
    CUDA_OK(cudaMemcpy(&c, dC, 4, cudaMemcpyDeviceToHost));
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
    return s == CUBLAS_STATUS_SUCCESS ? c : -1.0f;
}

void test_rounding_modes(cublasHandle_t h) {
    const float a = 1.0f + 0x1p-12f; /* below half a TF32 ulp and half a bf16 ulp above 1 */
    const float fp32 = one_product(h, a, CUDA_R_32F, CUBLAS_COMPUTE_32F, GEMM_EX);
    const float tf32 = one_product(h, a, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, GEMM_EX);
    const float bf16 = one_product(h, a, CUDA_R_16BF, CUBLAS_COMPUTE_32F, GEMM_EX);
    const float sgemm = one_product(h, a, CUDA_R_32F, CUBLAS_COMPUTE_32F, SGEMM);
    check(fp32 == a && tf32 == 1.0f && bf16 == 1.0f && sgemm == a, "gemm_input_rounding",
          "(1+2^-12) * 1: fp32 compute %.9g, TF32 compute %.9g, bf16 inputs %.9g, sgemm %.9g", fp32,
          tf32, bf16, sgemm);
    cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH);
    const float sgemm_tf32 = one_product(h, a, CUDA_R_32F, CUBLAS_COMPUTE_32F, SGEMM);
    const float ex_tf32 = one_product(h, a, CUDA_R_32F, CUBLAS_COMPUTE_32F, GEMM_EX);
    const float pedantic = one_product(h, a, CUDA_R_32F, CUBLAS_COMPUTE_32F_PEDANTIC, GEMM_EX);
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
    check(sgemm_tf32 == 1.0f && ex_tf32 == 1.0f && pedantic == a, "tf32_tensor_op_math_mode",
          "CUBLAS_TF32_TENSOR_OP_MATH: sgemm %.9g, gemm_ex 32F %.9g, 32F_PEDANTIC %.9g", sgemm_tf32,
          ex_tf32, pedantic);
}

/* ---- arguments cuBLAS rejects ---------------------------------------------------------------- */
void test_invalid(cublasHandle_t h) {
    float *d = device_alloc<float>(64);
    const float one = 1.0f;
    const cublasStatus_t lda =
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, d, 3, d, 4, &one, d, 4);
    const cublasStatus_t ldc =
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, 4, 4, 4, &one, d, 4, d, 4, &one, d, 2);
    const cublasStatus_t neg =
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, 4, 4, &one, d, 4, d, 4, &one, d, 4);
    const cublasStatus_t bf16_c =
        cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, d, CUDA_R_16BF, 4, d, CUDA_R_16BF,
                     4, &one, d, CUDA_R_16BF, 4, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    const cublasStatus_t tf32_bf16 =
        cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, d, CUDA_R_16BF, 4, d, CUDA_R_16BF,
                     4, &one, d, CUDA_R_32F, 4, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT);
    check(lda == CUBLAS_STATUS_INVALID_VALUE && ldc == CUBLAS_STATUS_INVALID_VALUE &&
              neg == CUBLAS_STATUS_INVALID_VALUE && bf16_c == CUBLAS_STATUS_NOT_SUPPORTED &&
              tf32_bf16 == CUBLAS_STATUS_NOT_SUPPORTED,
          "gemm_invalid_arguments",
          "lda < m: %d, ldc < m: %d, m < 0: %d (7 each); bf16 C: %d, TF32 on bf16: %d (15 each)",
          lda, ldc, neg, bf16_c, tf32_bf16);
    cudaFree(d);
}

} // namespace

int main() {
    const char *env = getenv("CUEMU_GEMM");
    const bool loops = env && !strcmp(env, "loops");
    check(!strcmp(::cuemu::gemm_backend(), loops ? "loops" : "cblas_sgemm"), "gemm_backend",
          "the emulator's GEMMs run through %s", ::cuemu::gemm_backend());
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) return 2;
    test_products(h);
    test_rounding_modes(h);
    test_invalid(h);
    cublasDestroy(h);
    return check_exit();
}
