/* FACET_HD marks per-element functions shared by the CPU and CUDA paths: `__host__ __device__`
 * under nvcc, nothing in C. Headers using it must be valid C11 and CUDA C++. */
#ifndef FACET_CORE_HD_H
#define FACET_CORE_HD_H

#ifdef __CUDACC__
#define FACET_HD __host__ __device__
#else
#define FACET_HD
#endif

#endif
