/* cuemu: stands in for the CUDA toolkit's cuda_runtime_api.h (everything is in cuemu.h). */
#pragma once
#include "cuemu.h"
