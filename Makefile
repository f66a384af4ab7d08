# The README's two commands. Each runs setup (idempotent), configures, builds, then the job.
#   make demo   render and evaluate the embedded demo scene (out/demo/)
#   make test   every test of the normal build (ctest; GPU tests report as skipped without a GPU),
#               then every GPU test under the CUDA emulator (test-emu)
# Further targets: build, bench-fqgan (FQGAN on the CPU against PyTorch, ONNX Runtime and
# OpenVINO: bench/run_fqgan.sh), python (the Python package into .venv-python), test-emu, test-asan (sanitizer build's tests), fuzz, fuzz-smoke (libFuzzer
# harnesses, docs/fuzzing.md), unicode (regenerate language/unicode_data.c), format, clean.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_EMU  ?= build-emu
BUILD_EXACT ?= build-emu-exact
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: demo test setup configure build bench-fqgan python test-emu test-asan fuzz-build fuzz fuzz-smoke unicode format clean

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

# FQGAN on the CPU against the runtimes a user would pick instead (bench/run_fqgan.sh; about 25
# minutes on 2 cores, downloads the ONNX Runtime and OpenVINO wheels into .venv-bench once).
bench-fqgan: build
	@bash bench/run_fqgan.sh $(BUILD)

# The Python package: libfacet.so from the build copied into python/facet/_native/, then
# `pip install ./python` into .venv-python (setup makes it; activate it, or use its python).
python: build
	@mkdir -p python/facet/_native && cp $(BUILD)/libfacet.so python/facet/_native/
	@.venv-python/bin/pip install -q --no-build-isolation --no-deps ./python
	@echo "facet for Python installed in .venv-python (try: .venv-python/bin/python -c 'import facet')"

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

# libFuzzer harnesses under ASan + UBSan (tests/fuzz, docs/fuzzing.md): clang-16, no CUDA, only the
# libraries the harnesses link. `make fuzz` seeds each corpus from the fixtures, replays
# tests/fuzz/regressions/, then fuzzes every target for FUZZ_SECONDS seconds, FUZZ_JOBS at a time
# (FUZZ_TARGETS="npy yaml" picks some); it fails when any harness finds a crash. fuzz-smoke is CI's
# pass: 5 seconds per target.
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= $(JOBS)
FUZZ_TARGETS ?=

fuzz-build: setup
	@CC=clang-16 CXX=clang++-16 cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DFACET_FUZZ=ON \
		-DFACET_CUDA=OFF -DBUILD_TESTING=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) bash tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_TARGETS)

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

# Regenerates language/unicode_data.c (the text tokenizers' Unicode tables) with the pinned
# generator environment that setup makes (.venv-unicode); ctest unicode_drift checks it is current.
unicode: setup
	@.venv-unicode/bin/python tools/gen_unicode_tables.py language/unicode_data.c

format:
	@git ls-files '*.c' '*.h' '*.cu' '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_EMU) $(BUILD_EXACT) $(BUILD_FUZZ) out
