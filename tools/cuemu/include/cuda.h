/* cuemu: stands in for the CUDA toolkit's cuda.h (everything is in cuemu.h). */
#pragma once
#include "cuemu.h"
