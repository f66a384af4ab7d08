#!/bin/sh
# usage: cuda_runtime_link_test.sh BUILD_DIR PROGRAM...
# Each program (or shared library) must use one CUDA runtime: the shared libcudart (CUDA::cudart).
# CMake adds cudart_static to the link of every executable with CUDA objects unless
# CMAKE_CUDA_RUNTIME_LIBRARY is Shared; with both on the link line, what ends up in the program
# depends on link order (GNU ld takes each symbol from the first library that has it), and two
# runtimes in one process keep two sets of device state. Checked per program:
#   - its link rule (CMakeFiles/NAME.dir/link.txt and linkLibs.rsp with Makefiles, the program's
#     block of build.ninja with Ninja) names no cudart_static;
#   - readelf -d: a NEEDED entry libcudart.so.*;
#   - the dynamic symbol table imports cudaMalloc (undefined there: it comes from libcudart.so);
#   - the symbol table defines no cudart API function (T cudaMalloc, cudaMemcpy, cudaLaunchKernel)
#     and none of cudart_static's internal symbols (libcudart_static_*, cudart::*, __cudart*);
#   - no NEEDED libcublas*: cuBLAS is opened on first use (nn/cuda/cublas_loader.h), and a program
#     named facet loads none of it for `facet --version` (LD_DEBUG=files).
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR PROGRAM..." >&2
    exit 2
fi
build=$1
shift
status=0
for program in "$@"; do
    name=$(basename "$program")
    if [ ! -f "$program" ]; then
        echo "FAIL $name: $program does not exist"
        status=1
        continue
    fi
    problems=""
    rules=""
    for f in "$(dirname "$program")/CMakeFiles/$name.dir/link.txt" \
        "$(dirname "$program")/CMakeFiles/$name.dir/linkLibs.rsp"; do
        [ -f "$f" ] && rules="$rules $f"
    done
    if [ -z "$rules" ]; then # a target whose output is named otherwise (facet_api -> libfacet.so)
        for f in "$(dirname "$program")"/CMakeFiles/*.dir/link.txt; do
            [ -f "$f" ] && grep -q -- "-o $name " "$f" && rules="$rules $f"
        done
    fi
    if [ -n "$rules" ]; then
        # shellcheck disable=SC2086
        if grep -q cudart_static $rules; then
            problems="$problems; its link rule names cudart_static"
        fi
    elif [ -f "$build/build.ninja" ]; then
        relative=${program#"$build"/}
        if awk -v target="build $relative:" 'index($0, target) == 1 {inside = 1; next}
                /^build / {inside = 0} inside && /cudart_static/ {found = 1}
                END {exit !found}' "$build/build.ninja"; then
            problems="$problems; its link rule names cudart_static"
        fi
    else
        problems="$problems; no link rule found under $build"
    fi
    if ! readelf -d "$program" | grep NEEDED | grep -q 'libcudart\.so'; then
        problems="$problems; no NEEDED libcudart.so"
    fi
    if ! nm -D --undefined-only "$program" 2>/dev/null | grep -qw cudaMalloc; then
        problems="$problems; cudaMalloc is not imported from a shared library"
    fi
    defined=$(nm "$program" 2>/dev/null |
        awk '$2 ~ /^[TtWw]$/ && $3 ~ /^(cudaMalloc|cudaMemcpy|cudaLaunchKernel)$/ {print $3}' |
        tr '\n' ' ')
    if [ -n "$defined" ]; then
        problems="$problems; defines the runtime API itself: $defined"
    fi
    internal=$(nm -C "$program" 2>/dev/null | grep -cE 'libcudart_static_|cudart::|__cudart')
    if [ "$internal" -gt 0 ]; then
        problems="$problems; $internal symbols of cudart_static"
    fi
    linked=$(readelf -d "$program" | grep NEEDED | grep -o 'libcublas[A-Za-z]*\.so[.0-9]*' | tr '\n' ' ')
    if [ -n "$linked" ]; then
        problems="$problems; links $linked(cuBLAS must be opened on first use)"
    fi
    if [ "$name" = facet ]; then
        loads=$(LD_DEBUG=files "$program" --version 2>&1 >/dev/null | grep -c 'file=[^ ]*libcublas')
        if [ "$loads" -gt 0 ]; then
            problems="$problems; 'facet --version' loads libcublas"
        fi
    fi
    if [ -n "$problems" ]; then
        echo "FAIL $name${problems}"
        status=1
    else
        echo "ok   $name: links $(readelf -d "$program" | grep NEEDED |
            grep -o 'libcudart\.so[.0-9]*') only"
    fi
done
exit $status
