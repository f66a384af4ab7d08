#!/usr/bin/env bash
# CMake's CUDA compiler launcher (CMAKE_CUDA_COMPILER_LAUNCHER, set by CMakeLists.txt): runs the
# nvcc command it is given with ptxas's resource report on (-Xptxas=-v) and keeps that report, for
# every architecture the build compiles, in OBJECT.ptxas.log next to the object (-o OBJECT).
# tools/ptxas_table.sh --from-build reads those logs, so the resource check needs no second
# compilation. Everything else nvcc prints (warnings, errors) goes to stderr as before; the exit
# status is nvcc's. The flag changes no generated code.
#
#   tools/nvcc_ptxas_log.sh NVCC ARGS...
set -u
object=
prev=
for arg in "$@"; do
    [ "$prev" = -o ] && object=$arg
    prev=$arg
done
if [ -z "$object" ]; then # not a compilation to an object (a link, a query): run it as it is
    exec "$@"
fi
report=$(mktemp "${object}.ptxas.XXXXXX") || exit 1
"$@" -Xptxas=-v 2>"$report"
status=$?
# ptxas -v writes "ptxas info    : ..." lines and, under "Function properties for", indented
# "N bytes stack frame, ..." lines; the rest is the compiler's own output
grep -v -E '^ptxas info +:|^    [0-9]+ bytes stack frame' "$report" >&2
if [ "$status" = 0 ]; then
    mv -f "$report" "$object.ptxas.log"
else
    rm -f "$report" "$object.ptxas.log"
fi
exit "$status"
