#!/usr/bin/env bash
# Runs the libFuzzer harnesses of a fuzz build (docs/fuzzing.md):
#   1. seeds BUILD/corpus/<target>/ from the fixtures (seed.sh);
#   2. replays every committed input under tests/fuzz/regressions/<target>/ once;
#   3. fuzzes each target for FUZZ_SECONDS seconds (0: replay only) on its corpus, FUZZ_JOBS
#      targets at a time, with its dictionary (tests/fuzz/dicts/<target>.dict) when there is one.
# Fails when a replay or a campaign finds a crash, a leak, a timeout or an out-of-memory; the
# reproducer is under BUILD/artifacts/<target>/ and the log under BUILD/logs/<target>.log.
#   tests/fuzz/run.sh [BUILD [TARGET...]]     (BUILD: build-fuzz; TARGET: every harness built)
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-fuzz}
shift || true
case "$build" in /*) ;; *) build="$src/$build" ;; esac
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
bin="$build/tests/fuzz"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$bin"/fuzz_*; do
        name=$(basename "$f")
        [ -x "$f" ] && [ "$name" != fuzz_make_exr_seeds ] && targets+=("${name#fuzz_}")
    done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no harnesses in $bin (make fuzz builds them)"; exit 1; }

# Limits: 2 GB of RSS and of any single allocation (decoders are capped by the harnesses, see
# fuzz_common.h), 25 s per input. Artifacts go to BUILD/artifacts, never to the working directory.
common=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=25)
# llvm-16's symbolizer (package llvm-16) names functions and lines in the reports
[ -x /usr/lib/llvm-16/bin/llvm-symbolizer ] &&
    export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-16/bin/llvm-symbolizer}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# the harnesses' private directories (fuzz_common.h) go under BUILD/tmp: one that a crash left
# behind is removed by the next run
export TMPDIR="$build/tmp"
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"

bash "$src/tests/fuzz/seed.sh" "$build" >/dev/null || { echo "fuzz: seeding failed"; exit 1; }
mkdir -p "$build/logs" "$build/artifacts"

status=0
# ---- replay: every committed reproducer, each once ----
for t in "${targets[@]}"; do
    dir="$src/tests/fuzz/regressions/$t"
    [ -d "$dir" ] || continue
    files=("$dir"/*)
    [ -e "${files[0]}" ] || continue
    mkdir -p "$build/artifacts/$t"
    if "$bin/fuzz_$t" "${common[@]}" -artifact_prefix="$build/artifacts/$t/" "${files[@]}" \
        >"$build/logs/$t.replay.log" 2>&1; then
        echo "fuzz: $t: ${#files[@]} regression input(s) pass"
    else
        echo "fuzz: $t: a regression input fails again (log: $build/logs/$t.replay.log)"
        grep -m3 -E "ERROR|runtime error|SUMMARY" "$build/logs/$t.replay.log"
        status=1
    fi
done
[ "$seconds" -gt 0 ] || exit $status

# ---- campaigns ----
campaign() {
    local t=$1 dict=()
    [ -f "$src/tests/fuzz/dicts/$t.dict" ] && dict=(-dict="$src/tests/fuzz/dicts/$t.dict")
    mkdir -p "$build/artifacts/$t"
    "$bin/fuzz_$t" "$build/corpus/$t" "${common[@]}" "${dict[@]}" -max_total_time="$seconds" \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" >"$build/logs/$t.log" 2>&1
    local rc=$?
    local done_line execs
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$build/logs/$t.log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/logs/$t.log" | tail -1)
    if [ $rc -eq 0 ]; then
        printf 'fuzz: %-16s ok   %ss, %s execs, %s files in corpus, %s\n' "$t" "$seconds" \
            "${execs:-?}" "$(find "$build/corpus/$t" -type f | wc -l)" \
            "$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+')"
    else
        printf 'fuzz: %-16s FAIL (exit %d): %s\n' "$t" $rc "$(grep -m1 -E 'ERROR:|runtime error' "$build/logs/$t.log")"
        echo "      reproducer: $(ls -t "$build/artifacts/$t" | head -1 | sed "s|^|$build/artifacts/$t/|")"
        echo "      log: $build/logs/$t.log"
    fi
    return $rc
}
export -f campaign
export src build bin seconds
export COMMON="${common[*]}"
# xargs -P runs FUZZ_JOBS campaigns side by side; its exit status is 123 when any failed
printf '%s\n' "${targets[@]}" |
    xargs -P "$jobs" -I{} bash -c 'common=($COMMON); campaign "$1"' _ {} || status=1
exit $status
