# The README's two commands. Each runs setup (idempotent), configures, builds, then the job.
#   make demo   render and evaluate the embedded demo scene (out/demo/)
#   make test   every test of the normal build (ctest; GPU tests report as skipped without a GPU),
#               then every GPU test under the CUDA emulator (test-emu)
# Further targets: build, test-emu, test-asan (sanitizer build's tests), format, clean.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_EMU  ?= build-emu
BUILD_EXACT ?= build-emu-exact
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: demo test setup configure build test-emu test-asan format clean

setup:
	@bash scripts/setup.sh

configure: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)/facet

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-emu

# The GPU tests without a GPU: every .cu file built as C++ against tools/cuemu (the CUDA emulator),
# with FMA contraction as nvcc does it; then the same-code parity cases bit for bit in a build
# without contraction. Logic checks, never timings (tools/cuemu/README.md).
test-emu: setup
	@cmake -S . -B $(BUILD_EMU) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFACET_CUDA_EMU=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_EMU) -j $(JOBS) --target gpu_tests
	@cd $(BUILD_EMU) && ctest --output-on-failure -j $(JOBS) -L gpu
	@cmake -S . -B $(BUILD_EXACT) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFACET_CUDA_EMU=ON -DFACET_CUDA_EMU_CONTRACT=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_EXACT) -j $(JOBS) --target gpu_parity
	@cd $(BUILD_EXACT) && ctest --output-on-failure -j $(JOBS) -L exact

test-asan: setup
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DFACET_SANITIZE=ON -DFACET_CUDA=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -LE gpu

format:
	@git ls-files '*.c' '*.h' '*.cu' '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_EMU) $(BUILD_EXACT) out
