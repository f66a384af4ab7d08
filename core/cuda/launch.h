/* FACET_LAUNCH(kernel, grid, block)(args...) launches a kernel: `kernel<<<grid, block>>>(args...)`
 * under nvcc, and a launch on the CPU emulator tools/cuemu in the emulated build
 * (-DFACET_CUDA_EMU=ON, which compiles every .cu file as C++). Every launch in facet goes through
 * it, so one source serves the GPU and the emulated GPU tests. No dynamic shared memory, default
 * stream. */
#ifndef FACET_CORE_CUDA_LAUNCH_H
#define FACET_CORE_CUDA_LAUNCH_H

#ifdef FACET_CUDA_EMU
#include <cuemu.h>
#define FACET_LAUNCH(kernel, grid, block) ::cuemu::launch(kernel, grid, block)
#else
#define FACET_LAUNCH(kernel, grid, block) kernel<<<grid, block>>>
#endif

#endif
