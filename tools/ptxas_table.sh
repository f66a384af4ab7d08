#!/usr/bin/env bash
# The static resource table of every CUDA kernel facet builds, from ptxas itself: per kernel its
# registers, per-thread stack frame, spill stores/loads and shared memory, for one architecture.
#
#   tools/ptxas_table.sh [--arch sm_90] [--build DIR] [--from-build] [--limit-stack BYTES] [--json]
#
# Compiles each .cu file of the source tree (never the build's objects) with the build's own
# nvcc flags, defines and include paths (read from DIR, default build/, configured with
# -DFACET_CUDA=ON) plus `-Xptxas -v` for the one architecture, and prints a table sorted by stack
# frame, largest first. With --from-build, compiles nothing: reads the reports ptxas wrote while
# DIR was built (OBJECT.ptxas.log, kept by tools/nvcc_ptxas_log.sh, the build's CUDA compiler
# launcher), so the architecture must be one the build compiles. With --limit-stack, exits 1 when
# a kernel's frame reaches BYTES or any kernel spills (issue 16's static target: no spills and
# under 1 KB in every render kernel).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
arch=sm_90 build=$root/build limit= json=0 from_build=0
while [ $# -gt 0 ]; do
    case "$1" in
    --arch) arch=$2; shift ;;
    --build) build=$(cd "$2" && pwd); shift ;;
    --limit-stack) limit=$2; shift ;;
    --json) json=1 ;;
    --from-build) from_build=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ptxas_table: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
nvcc=$(sed -n 's/^CMAKE_CUDA_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
[ -x "$nvcc" ] || { echo "ptxas_table: $build is not a CUDA build (configure with -DFACET_CUDA=ON)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/rows"
for cu in $(cd "$root" && git ls-files '*.cu' | grep -v '^tools/cuemu/'); do
    module=${cu%%/*}
    flags=$build/CMakeFiles/facet_$module.dir/flags.make
    [ -f "$flags" ] || continue
    defines=$(sed -n 's/^CUDA_DEFINES = //p' "$flags")
    includes=$(sed -n 's/^CUDA_INCLUDES = //p' "$flags" | sed "s|--options-file |--options-file $build/|")
    cflags=$(sed -n 's/^CUDA_FLAGS = //p' "$flags" | sed 's/--generate-code=[^ ]*//g; s/-gencode[= ][^ ]*//g; s/ -pthread/ -Xcompiler=-pthread/')
    if [ "$from_build" = 1 ]; then
        report=$build/CMakeFiles/facet_$module.dir/$cu.o.ptxas.log
        [ -f "$report" ] || { echo "ptxas_table: $report is missing: rebuild $build (its CUDA compiler launcher, tools/nvcc_ptxas_log.sh, writes it)" >&2; exit 2; }
        ! grep -q "Compiling entry function" "$report" || grep -q "for '$arch'" "$report" || { echo "ptxas_table: $report has no $arch entries: the build does not compile $arch" >&2; exit 2; }
        cp "$report" "$tmp/log"
    else
        # shellcheck disable=SC2086 # flag lists are word lists
        (cd "$build" && "$nvcc" $defines $includes $cflags -arch="$arch" -Xptxas -v -c "$root/$cu" \
            -o "$tmp/out.o") >"$tmp/log" 2>&1 || { echo "ptxas_table: $cu failed to compile:" >&2; cat "$tmp/log" >&2; exit 1; }
    fi
    # ptxas prints "Compiling entry function 'NAME' for 'sm_90'", then "N bytes stack frame, N
    # bytes spill stores, N bytes spill loads", then "Used N registers, ... N bytes smem"
    # (a build's report holds every architecture it compiles: entries for other ones are skipped)
    awk -v file="$cu" -v arch="$arch" '
        /Compiling entry function/ {
            match($0, /function .[^'"'"']*/); name = substr($0, RSTART + 10, RLENGTH - 10)
            if (index($0, "for '"'"'" arch "'"'"'") == 0) name = ""
        }
        /bytes stack frame/ { stack = $1; spill_st = $5; spill_ld = $9 }
        /Used [0-9]+ registers/ {
            regs = $5; smem = 0
            if (match($0, /[0-9]+ bytes smem/)) smem = substr($0, RSTART, RLENGTH - 11)
            if (name != "") print file "\t" name "\t" regs "\t" stack "\t" spill_st "\t" spill_ld "\t" smem
            name = ""
        }' "$tmp/log" >>"$tmp/rows"
done
sort -t$'\t' -k4,4nr "$tmp/rows" >"$tmp/sorted"
demangle() { c++filt -p 2>/dev/null || cat; }
fail=0
if [ "$json" = 1 ]; then
    echo "["
    first=1
    while IFS=$'\t' read -r file name regs stack st ld smem; do
        [ $first = 1 ] || echo ","
        first=0
        printf '  {"file": "%s", "kernel": "%s", "registers": %s, "stack_bytes": %s, "spill_store_bytes": %s, "spill_load_bytes": %s, "smem_bytes": %s}' \
            "$file" "$(echo "$name" | demangle)" "$regs" "$stack" "$st" "$ld" "$smem"
    done <"$tmp/sorted"
    echo
    echo "]"
else
    printf '%-32s %-44s %5s %8s %8s %8s %7s\n' file kernel regs stack spill_st spill_ld smem
    while IFS=$'\t' read -r file name regs stack st ld smem; do
        printf '%-32s %-44.44s %5s %8s %8s %8s %7s\n' "$file" "$(echo "$name" | demangle)" "$regs" "$stack" "$st" "$ld" "$smem"
    done <"$tmp/sorted"
fi
if [ -n "$limit" ]; then
    while IFS=$'\t' read -r file name regs stack st ld smem; do
        if [ "$stack" -ge "$limit" ] || [ "$st" -gt 0 ] || [ "$ld" -gt 0 ]; then fail=1; fi
    done <"$tmp/sorted"
    [ $fail = 0 ] || echo "ptxas_table: a kernel spills or has a stack frame of $limit bytes or more" >&2
fi
exit $fail
