/* cuemu: stands in for the CUDA toolkit's device_launch_parameters.h (everything is in cuemu.h). */
#pragma once
#include "cuemu.h"
