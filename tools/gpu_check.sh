#!/usr/bin/env bash
# The one-call check on a lent GPU machine, from the device bundle (tools/gpu_bundle.sh): no build,
# no network, no apt, nothing from the machine but its base system (glibc, libstdc++, the NVIDIA
# driver, the CUDA toolkit's cudart / cuBLAS / compute-sanitizer, GL) and python3.
#
#   here:   tools/gpu_bundle.sh              (writes .gpu-bundle/facet-gpu-bundle.tar.xz)
#   device: run  command "bash tools/gpu_check.sh"  carry [".gpu-bundle"]  timeout_s 600
#
# Steps, each under `timeout`, none stopping the others, all inside GPU_CHECK_DEADLINE (default
# 465 s from the start, so the call ends within 8 minutes):
#   environment    the machine (nvidia-smi, driver, glibc), the CUDA libraries found, and every
#                  library each program loads (ldd, and LD_DEBUG at start-up): it must resolve to
#                  the bundle's lib/ or to the base set (tools/gpu_bundle_libs.sh)
#   parity.SUITE   gpu_parity per suite (gpu_parity --list)                   120 s in all
#   memcheck.SUITE compute-sanitizer --tool memcheck gpu_parity SUITE         110 s in all
#   racecheck.SUITE compute-sanitizer --tool racecheck (render, fqgan: shared memory, atomics)
#                                                                              80 s in all
#   bench.NAME     the benches' CUDA columns: livescene (default config, random weights, 800x800
#                  rays, f32/f16 planes x f32/f16 networks; the PyTorch reference math on the same
#                  GPU when python3 has torch), relight (forest.exr, 512^2 cube, 800x800), fqgan
#                  (official Dual-16 hash weights, batch 32, fp32/tf32/bf16; PyTorch per precision
#                  when python3 has torch), risesdf (default-size field when python3 has torch,
#                  else the small fixture), viewer (refiner, no window), demo (`facet eval
#                  --device cuda`), interop (the viewer under Xvfb: only when the machine has
#                  Xvfb; Xvfb + Mesa do not fit the bundle), lpips (alex and vgg16,
#                  800x800 pair, random weights), fit (`facet fit --device cuda`, default
#                  config, batch 4096, 100 iterations, fp32 and fp16 networks: rays/s)
#                                                                              130 s in all
# Writes $OUT/gpu_report.json (per step: name, command, exit code, seconds, timed_out, skipped and
# why; the parity cases parsed as {suite, name, ok, n, max_abs, max_rel, nonfinite, flips}; the
# benches' JSON lines) after every step, and $OUT/gpu_check.log (everything). Exit 0 when every
# step that ran passed, 77 without a usable CUDA device, 1 otherwise.
#
# Environment: OUT (default out/gpu_check), GPU_CHECK_BUNDLE (an unpacked bundle directory or the
# archive; default .gpu-bundle/facet-gpu-bundle.tar.xz), GPU_CHECK_DEADLINE, GPU_CHECK_SUITES,
# GPU_CHECK_MEMCHECK_SUITES, GPU_CHECK_RACECHECK_SUITES, GPU_CHECK_BENCHES ("none" for none),
# GPU_CHECK_BENCH_SCALE (full, or tiny: small inputs, for the emulated self-test).
set -uo pipefail
t_start=$(date +%s.%N)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
# shellcheck source=tools/gpu_bundle_libs.sh
. "$root/tools/gpu_bundle_libs.sh"
out=${OUT:-$root/out/gpu_check}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/gpu_check.log
report=$out/gpu_report.json
: >"$log"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/facet-gpu-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
deadline=${GPU_CHECK_DEADLINE:-465}
scale=${GPU_CHECK_BENCH_SCALE:-full}
declare -A budget=([environment]=30 [parity]=120 [memcheck]=110 [racecheck]=80 [bench]=130)
declare -A box=([parity]=90 [memcheck]=45 [racecheck]=45 [bench.livescene]=45 [bench.relight]=20
    [bench.fqgan]=60 [bench.viewer]=15 [bench.demo]=15 [bench.risesdf_weights]=30 [bench.risesdf]=25
    [bench.lpips]=20 [bench.fit]=40
    [bench.interop]=30)

say() { printf '%s\n' "$*" | tee -a "$log"; }
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# JSON: strings keep printable ASCII only; numbers that are not JSON numbers (inf, nan, -) are null
jstr() {
    local s
    s=$(printf '%s' "$1" | LC_ALL=C tr -cd '\11\12\40-\176')
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\t'/\\t}
    s=${s//$'\n'/\\n}
    printf '"%s"' "$s"
}
jnum() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] && printf '%s' "$1" || printf null; }
jbool() { [ "$1" = 1 ] && printf true || printf false; }
jarr() { local s= x; for x in "$@"; do s+="${s:+, }$(jstr "$x")"; done; printf '[%s]' "$s"; }

# ---- step records and the report ----------------------------------------------------------------
S_NAME=() S_CMD=() S_RC=() S_SECS=() S_TIMEOUT=() S_SKIP=() S_WHY=() S_BOX=() S_NOTE=()
CASES=() FIGURES=() CASES_OK=0 CASES_FAIL=0 CASES_EXPECTED=0
ENV_JSON='{}'
no_device=
MANIFEST='null'

write_report() {
    local i steps= failed=() timedout=() skipped=() verdict=ok
    for i in "${!S_NAME[@]}"; do
        steps+="${steps:+,
  }{\"name\": $(jstr "${S_NAME[$i]}"), \"command\": $(jstr "${S_CMD[$i]}"), \"exit_code\": $(jnum "${S_RC[$i]}"), \"seconds\": $(jnum "${S_SECS[$i]}"), \"budget_s\": $(jnum "${S_BOX[$i]}"), \"timed_out\": $(jbool "${S_TIMEOUT[$i]}"), \"skipped\": $(jbool "${S_SKIP[$i]}"), \"why\": $([ -n "${S_WHY[$i]}" ] && jstr "${S_WHY[$i]}" || printf null), \"summary\": $([ -n "${S_NOTE[$i]}" ] && jstr "${S_NOTE[$i]}" || printf null)}"
        if [ "${S_SKIP[$i]}" = 1 ]; then skipped+=("${S_NAME[$i]}"); continue; fi
        [ "${S_TIMEOUT[$i]}" = 1 ] && timedout+=("${S_NAME[$i]}")
        [ "${S_RC[$i]}" = 0 ] || failed+=("${S_NAME[$i]}")
    done
    [ ${#failed[@]} -gt 0 ] && verdict=fail
    [ -n "$no_device" ] && [ $verdict = ok ] && verdict=no_device
    local cases figures
    cases=$(IFS=,; printf '%s' "${CASES[*]}" | sed 's/},{"suite"/},\n  {"suite"/g')
    figures=$(IFS=,; printf '%s' "${FIGURES[*]}" | sed 's/},{"step"/},\n  {"step"/g')
    cat >"$report.part" <<EOF
{"report": "facet gpu_check", "version": 1, "date": "$(date -u +%FT%TZ)", "verdict": "$verdict",
 "elapsed_s": $(elapsed), "deadline_s": $deadline, "bench_scale": "$scale",
 "budgets_s": {"environment": ${budget[environment]}, "parity": ${budget[parity]}, "memcheck": ${budget[memcheck]}, "racecheck": ${budget[racecheck]}, "bench": ${budget[bench]}},
 "parity_cases": {"ok": $CASES_OK, "failed": $CASES_FAIL, "expected_fail": $CASES_EXPECTED},
 "failed_steps": $(jarr "${failed[@]}"), "timed_out_steps": $(jarr "${timedout[@]}"), "skipped_steps": $(jarr "${skipped[@]}"),
 "environment": $ENV_JSON,
 "bundle": $MANIFEST,
 "steps": [
  $steps],
 "parity": [
  $cases],
 "benches": [
  $figures]}
EOF
    mv "$report.part" "$report"
}

# record NAME CMD RC SECS TIMEOUT SKIP WHY BOX NOTE
record() {
    S_NAME+=("$1") S_CMD+=("$2") S_RC+=("$3") S_SECS+=("$4") S_TIMEOUT+=("$5") S_SKIP+=("$6")
    S_WHY+=("$7") S_BOX+=("$8") S_NOTE+=("$9")
    write_report
}
skip_step() { # NAME WHY [COMMAND]
    say "-- $1: skipped: $2"
    record "$1" "${3:-}" "" "" 0 1 "$2" "" ""
}

declare -A group_used=()
STEP_OUT= STEP_RC=
# run_step NAME GROUP BOX COMMAND...: runs COMMAND under timeout (the smallest of BOX, what is left
# of GROUP's budget and of the deadline); output to the log and $STEP_OUT; sets $STEP_RC
run_step() {
    local name=$1 group=$2 want=$3 left glob t0 t1 secs rc timed=0
    shift 3
    left=$((budget[$group] - ${group_used[$group]:-0}))
    glob=$(awk -v d="$deadline" -v e="$(elapsed)" 'BEGIN { printf "%d", d - e - 5 }')
    [ "$left" -lt "$want" ] && want=$left
    [ "$glob" -lt "$want" ] && want=$glob
    STEP_OUT=$tmp/step.out STEP_RC=
    : >"$STEP_OUT"
    if [ "$want" -lt 3 ]; then
        local why="the $group budget (${budget[$group]} s) is spent"
        [ "$glob" -lt 3 ] && why="the check's deadline (${deadline} s) is reached"
        skip_step "$name" "$why" "$*"
        return
    fi
    say "== [$(elapsed) s] $name (at most $want s): $*"
    t0=$(date +%s.%N)
    timeout -k 5 "$want" "$@" >"$STEP_OUT" 2>&1 </dev/null
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    group_used[$group]=$(( ${group_used[$group]:-0} + ${secs%.*} + 1 ))
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && timed=1
    cat "$STEP_OUT" >>"$log"
    tail -n 4 "$STEP_OUT" | sed 's/^/   | /'
    say "-- $name: exit $rc, ${secs} s$([ $timed = 1 ] && echo ", TIMED OUT after $want s")"
    STEP_RC=$rc
    record "$name" "$*" "$rc" "$secs" "$timed" 0 "" "$want" ""
}
set_note() { # the last step's summary
    S_NOTE[$((${#S_NAME[@]} - 1))]=$1
    write_report
}
mark_skipped() { # the last step: exit code means "not run" (77: no device)
    local i=$((${#S_NAME[@]} - 1))
    S_SKIP[$i]=1 S_WHY[$i]=$1
    write_report
}

# ---- the bundle ---------------------------------------------------------------------------------
say "== facet gpu_check $(date -u +%FT%TZ) on $(hostname 2>/dev/null || uname -n)"
bundle_src=${GPU_CHECK_BUNDLE:-}
if [ -z "$bundle_src" ]; then
    for c in "$root/.gpu-bundle/facet-gpu-bundle.tar.xz" "$root/.gpu-bundle/facet-gpu-bundle"; do
        [ -e "$c" ] && { bundle_src=$c; break; }
    done
fi
B=
if [ -d "$bundle_src" ] && [ -d "$bundle_src/bin" ]; then
    B=$(cd "$bundle_src" && pwd)
elif [ -f "$bundle_src" ]; then
    t0=$(date +%s.%N)
    if command -v xz >/dev/null && tar -C "$tmp" -xJf "$bundle_src" 2>>"$log"; then :
    elif python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
        "$bundle_src" "$tmp" 2>>"$log"; then :
    fi
    [ -d "$tmp/facet-gpu-bundle/bin" ] && B=$tmp/facet-gpu-bundle
    say "-- unpacked $bundle_src in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
fi
if [ -z "$B" ]; then
    say "no bundle (looked for ${bundle_src:-.gpu-bundle/facet-gpu-bundle.tar.xz}): run" \
        "tools/gpu_bundle.sh on the build machine and carry .gpu-bundle"
    ENV_JSON="{\"error\": $(jstr "no bundle: run tools/gpu_bundle.sh and carry .gpu-bundle")}"
    record environment "" 2 0 0 0 "" "" "no bundle"
    exit 2
fi
[ -f "$B/manifest.json" ] && MANIFEST=$(cat "$B/manifest.json")
bundle_mode=$(sed -n 's/.*"mode": "\([a-z]*\)".*/\1/p' "$B/manifest.json" | head -1)
# The fixtures and assets come from this working tree (the device call sends it), the git-ignored
# models from the bundle; the tree must be the one the bundle was built with.
SRC=$root
export FACET_SOURCE_DIR=$SRC FACET_MODELS_DIR=$B/src/models
want_fingerprint=$(sed -n 's/.*"tree_fingerprint": "\([0-9a-f]*\)".*/\1/p' "$B/manifest.json")
# shellcheck disable=SC2086 # the parts are plain relative paths
tree_fingerprint=$(find $gpu_bundle_tree_parts -type f -print0 2>/dev/null | gpu_bundle_tree_fingerprint)
say "-- bundle: $B ($bundle_mode build, git $(sed -n 's/.*"git": "\([^"]*\)".*/\1/p' "$B/manifest.json"))"

# ---- 1. environment -----------------------------------------------------------------------------
env_t0=$(date +%s.%N)
env_rc=0
problems=()
q() { timeout 20 "$@" 2>/dev/null; }
# python3 is the machine's: run it with the machine's library path, not the bundle's
py() { timeout 20 env LD_LIBRARY_PATH="${BASE_LD_LIBRARY_PATH:-}" python3 "$@"; }
os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
need_glibc=$(sed -n 's/.*"glibc": "GLIBC_\([0-9.]*\)".*/\1/p' "$B/manifest.json")
if [ -n "$glibc" ] && [ -n "$need_glibc" ] &&
    [ "$(printf '%s\n%s\n' "$need_glibc" "$glibc" | sort -V | head -1)" != "$need_glibc" ]; then
    problems+=("glibc $glibc is older than the bundle's $need_glibc")
fi
if [ "$tree_fingerprint" != "$want_fingerprint" ]; then
    problems+=("$gpu_bundle_tree_parts in $root differ from the bundle's (fingerprint $tree_fingerprint, bundle ${want_fingerprint:-none}): rebuild the bundle with tools/gpu_bundle.sh from this tree")
fi
gpus=$(q nvidia-smi -L)
gpu_query=$(q nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader)
say "-- machine: $os, $(uname -r), $(nproc) CPUs, glibc $glibc"
say "-- GPUs: ${gpus:-none (nvidia-smi: $(command -v nvidia-smi || echo absent))}"
[ -n "$gpu_query" ] && say "-- $gpu_query"

# the CUDA toolkit libraries the programs need, from the machine: its CUDA install, its ld.so
# cache, the Python nvidia-* wheels, and as a last resort a search of the file system
toolkit_libs=$(sed -n 's/.*"toolkit_libs": \[\([^]]*\)\].*/\1/p' "$B/manifest.json" | tr -d '",')
py_lib_dirs() {
    q python3 -c 'import glob, site
for s in site.getsitepackages() + [site.getusersitepackages()]:
    for p in sorted(glob.glob(s + "/nvidia/*/lib")): print(p)'
}
find_lib() { # SONAME -> its directory
    local n=$1 d p
    for d in ${CUDA_HOME:+"$CUDA_HOME/lib64" "$CUDA_HOME/lib"} /usr/local/cuda/lib64 /usr/local/cuda/lib \
        /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64 \
        /usr/local/cuda-*/targets/x86_64-linux/lib $(py_lib_dirs); do
        [ -e "$d/$n" ] && { echo "$d"; return 0; }
    done
    p=$(ldconfig -p 2>/dev/null | awk -v n="$n" '$1 == n && /x86-64/ { print $NF; exit }')
    [ -n "$p" ] && { dirname "$p"; return 0; }
    p=$(timeout 20 find / -xdev \( -path /proc -o -path /sys \) -prune -o -name "$n" -print \
        2>/dev/null | head -1)
    [ -n "$p" ] && { dirname "$p"; return 0; }
    return 1
}
cuda_dirs= fallback=$tmp/fallback
mkdir -p "$fallback"
declare -A toolkit_found=()
for n in $toolkit_libs; do
    if d=$(find_lib "$n"); then
        toolkit_found[$n]=$d
        case ":$cuda_dirs:" in *":$d:"*) ;; *) cuda_dirs+="${cuda_dirs:+:}$d" ;; esac
    elif [ -e "$B/lib-fallback/$n" ]; then
        ln -sf "$B/lib-fallback/$n" "$fallback/$n"
        toolkit_found[$n]="$B/lib-fallback (carried: not on this machine)"
    else
        toolkit_found[$n]="not found"
        problems+=("$n is not on this machine")
    fi
done
set_path() {
    export LD_LIBRARY_PATH="$B/lib:$fallback${cuda_dirs:+:$cuda_dirs}${BASE_LD_LIBRARY_PATH:+:$BASE_LD_LIBRARY_PATH}"
}
BASE_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
set_path
pairs=$(gpu_ldd_pairs "$B"/bin/*)
if grep -Eq '^(libstdc\+\+\.so\.6|libgcc_s\.so\.1) not-found|^version-not-found .*(libstdc\+\+|libgcc_s)' \
    <<<"$pairs"; then
    say "-- the machine's libstdc++ / libgcc_s are missing or too old: using the bundle's"
    ln -sf "$B/lib-fallback/libstdc++.so.6" "$B/lib-fallback/libgcc_s.so.1" "$fallback/"
    pairs=$(gpu_ldd_pairs "$B"/bin/*)
fi
# every library a program loads, as ldd resolves it and as the loader reports at start-up
libs_json= unresolved=() outside=()
while read -r name path; do
    [ -n "$name" ] || continue
    if [ "$name" = version-not-found ]; then unresolved+=("$path"); continue; fi
    class=$(gpu_lib_class "$name")
    [ "$class" = vdso ] && continue
    libs_json+="${libs_json:+, }$(jstr "$name"): $(jstr "$path")"
    if [ "$path" = not-found ]; then unresolved+=("$name"); continue; fi
    real=$(readlink -f "$path")
    case "$class:$real" in
    carry:"$B/lib/"* | glibc:* | gcc:* | toolkit:* | driver:* | gl:* | tools:*) ;;
    *) outside+=("$name => $real") ;;
    esac
done <<<"$pairs"
loaded=()
for p in "$B"/bin/*; do
    case $(basename "$p") in gpu_parity) arg=--list ;; facet) arg=--help ;; *) arg= ;; esac
    while read -r path; do
        [ -n "$path" ] || continue
        real=$(readlink -f "$path")
        name=$(basename "$path")
        case " ${loaded[*]} " in *" $real "*) ;; *) loaded+=("$real") ;; esac
        case "$(gpu_lib_class "$name"):$real" in
        carry:"$B/lib/"* | glibc:* | gcc:* | toolkit:* | driver:* | gl:* | tools:*) ;;
        *:"$(readlink -f "$p")") ;;
        *) outside+=("$name => $real (loaded by $(basename "$p"))") ;;
        esac
    done < <(LD_DEBUG=libs timeout 10 "$p" $arg 2>&1 >/dev/null | sed -n 's/.*calling init: //p')
done
[ ${#unresolved[@]} -gt 0 ] && problems+=("unresolved: ${unresolved[*]}")
[ ${#outside[@]} -gt 0 ] && problems+=("outside the bundle and the base set: ${outside[*]}")
say "-- LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
say "-- libraries: $(wc -l <<<"$pairs") resolved by ldd, ${#loaded[@]} loaded at start-up;" \
    "unresolved: ${unresolved[*]:-none}; outside the bundle and the base set: ${outside[*]:-none}"
sanitizer=
for c in "$(command -v compute-sanitizer 2>/dev/null)" ${CUDA_HOME:+"$CUDA_HOME/bin/compute-sanitizer"} \
    /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer \
    /usr/local/cuda-*/bin/compute-sanitizer /opt/nvidia/compute-sanitizer/compute-sanitizer; do
    [ -n "$c" ] && [ -x "$c" ] && { sanitizer=$c; break; }
done
[ -n "$sanitizer" ] || sanitizer=$(timeout 20 find / -xdev \( -path /proc -o -path /sys \) -prune -o \
    -name compute-sanitizer -type f -perm -u+x -print 2>/dev/null | head -1)
sanitizer_version=
[ -n "$sanitizer" ] && sanitizer_version=$(q "$sanitizer" --version | grep -m1 -i version)
say "-- compute-sanitizer: ${sanitizer:-not found} $sanitizer_version"
tk_json=
for n in "${!toolkit_found[@]}"; do tk_json+="${tk_json:+, }$(jstr "$n"): $(jstr "${toolkit_found[$n]}")"; done
loaded_json=$(jarr "${loaded[@]}")
ENV_JSON="{\"host\": $(jstr "$(uname -n)"), \"os\": $(jstr "$os"), \"kernel\": $(jstr "$(uname -r)"),
  \"cpus\": $(nproc), \"glibc\": $(jstr "$glibc"), \"python3\": $(jstr "$(py --version 2>/dev/null)"),
  \"gpus\": $(jstr "$gpus"), \"gpu\": $(jstr "$gpu_query"),
  \"compute_sanitizer\": $(jstr "$sanitizer $sanitizer_version"),
  \"bundle\": $(jstr "$B"), \"bundle_mode\": $(jstr "$bundle_mode"),
  \"tree_fingerprint\": $(jstr "$tree_fingerprint"), \"bundle_tree_fingerprint\": $(jstr "$want_fingerprint"),
  \"ld_library_path\": $(jstr "$LD_LIBRARY_PATH"), \"toolkit\": {$tk_json},
  \"libs\": {$libs_json},
  \"loaded_at_startup\": $loaded_json,
  \"unresolved\": $(jarr "${unresolved[@]}"), \"outside_allowed\": $(jarr "${outside[@]}"),
  \"problems\": $(jarr "${problems[@]}")}"
for p in "${problems[@]}"; do say "-- PROBLEM: $p"; done
[ ${#problems[@]} -gt 0 ] && env_rc=1
record environment "ldd and LD_DEBUG=libs of bin/*; nvidia-smi; toolkit search" "$env_rc" \
    "$(awk -v a="$env_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" 0 0 "" \
    "${budget[environment]}" "${problems[*]}"

# ---- 2. the parity harness ----------------------------------------------------------------------

parse_cases() { # SUITE: the case lines of $STEP_OUT -> CASES
    local line status name n abs rel nonfin flips rest expect=0 expected
    while IFS= read -r line; do
        # the harness's own check: the next two FAIL cases are planted (a NaN, an off-by-one)
        [[ $line == *"must read FAIL"* ]] && { expect=2; continue; }
        read -r status name n abs rel nonfin flips rest <<<"$line"
        case "$status" in ok | FAIL) ;; *) continue ;; esac
        [ -n "$name" ] || continue
        expected=false
        if [ "$expect" -gt 0 ] && [ "$status" = FAIL ]; then expected=true expect=$((expect - 1)); fi
        if [ $expected = true ]; then CASES_EXPECTED=$((CASES_EXPECTED + 1))
        elif [ "$status" = ok ]; then CASES_OK=$((CASES_OK + 1))
        else CASES_FAIL=$((CASES_FAIL + 1)); fi
        [[ $n =~ ^[0-9]+$ ]] || { rest="$n $abs $rel $nonfin $flips $rest"; n= abs= rel= nonfin= flips=; }
        CASES+=("{\"suite\": $(jstr "$1"), \"name\": $(jstr "$name"), \"ok\": $([ "$status" = ok ] && echo true || echo false), \"n\": $(jnum "$n"), \"max_abs\": $(jnum "$abs"), \"max_rel\": $(jnum "$rel"), \"nonfinite\": $(jnum "$nonfin"), \"flips\": $(jnum "$flips"), \"expected_fail\": $expected, \"note\": $(jstr "$(printf '%s' "$rest" | tr -s ' ')")}")
    done <"$STEP_OUT"
    write_report
}
parity=$B/bin/gpu_parity
if [ ! -x "$parity" ]; then
    say "-- parity: FAIL: gpu_parity is not in the bundle"
    record parity "$parity" 2 0 0 0 "" "" "gpu_parity is not in the bundle"
else
    suites=${GPU_CHECK_SUITES:-$(timeout 20 "$parity" --list 2>/dev/null | tr '\n' ' ')}
    [ -n "${suites// /}" ] || suites="harness render lighting fit fit_curve fit_curve_f16 fit_curve_blender fqgan language"
    for s in $suites; do
        run_step "parity.$s" parity "${box[parity]}" "$parity" "$s"
        [ -n "$STEP_RC" ] || continue
        parse_cases "$s"
        set_note "$(grep -E '^(ok|FAIL): [0-9]+ failed' "$STEP_OUT" | tail -1)"
        if [ "$STEP_RC" = 77 ]; then
            mark_skipped "no usable CUDA device (gpu_parity exit 77)"
            no_device="no usable CUDA device (gpu_parity exit 77)"
            break
        fi
    done
fi

# ---- 3, 4. compute-sanitizer --------------------------------------------------------------------
sanitize() { # TOOL SUITES
    local tool=$1 s why=
    [ "$bundle_mode" = emu ] && why="emulated bundle: compute-sanitizer needs a CUDA device"
    [ -z "$why" ] && [ -n "$no_device" ] && why=$no_device
    [ -z "$why" ] && [ -z "$sanitizer" ] && why="compute-sanitizer not found on this machine"
    for s in $2; do
        if [ -n "$why" ]; then
            skip_step "$tool.$s" "$why" "compute-sanitizer --tool $tool --error-exitcode 86 gpu_parity $s"
            continue
        fi
        run_step "$tool.$s" "$tool" "${box[$tool]}" "$sanitizer" --tool "$tool" --error-exitcode 86 \
            --print-limit 30 "$parity" "$s"
        [ -n "$STEP_RC" ] || continue
        set_note "$(grep -E 'SUMMARY|^(ok|FAIL): [0-9]+ failed' "$STEP_OUT" | tr '\n' ';' | sed 's/;$//')"
    done
}
sanitize memcheck "${GPU_CHECK_MEMCHECK_SUITES:-render lighting fqgan language fit}"
sanitize racecheck "${GPU_CHECK_RACECHECK_SUITES:-render fqgan}"

# ---- 5. benches ---------------------------------------------------------------------------------
collect_figures() { # the benches' one-line JSON objects -> FIGURES
    local line
    while IFS= read -r line; do
        [[ $line == \{*\} ]] || continue
        if [ "$py_ok" = 1 ] && ! printf '%s' "$line" |
            py -c 'import json, sys; json.loads(sys.stdin.read())' 2>/dev/null; then
            line=$(jstr "$line")
        fi
        FIGURES+=("{\"step\": $(jstr "$1"), \"figures\": $line}")
    done <"$STEP_OUT"
    write_report
}
bin=$B/bin
py_ok=0
py -c 'import json' 2>/dev/null && py_ok=1
have_torch() { py -c 'import numpy, torch' >/dev/null 2>&1; }
bench() { # NAME: runs one bench at $scale
    local name=$1 w
    case "$name:$scale" in
    livescene:full)
        # facet per plane storage and network precision; then, where python3 has torch, the
        # PyTorch reference math on the same GPU in the same call (its own random default weights)
        run_step bench.livescene bench "${box[bench.livescene]}" bash -c 'for p in f32 f16; do
            for m in f32 f16; do "$1" --random-default --device cuda --rays 640000 \
            --plane-dtype $p --mlp-dtype $m || exit; done; done
            [ "$4" = 1 ] || exit 0
            LD_LIBRARY_PATH=$5 python3 "$2/tools/reference/livescene_ref.py" default-ckpt "$3/ls" &&
            LD_LIBRARY_PATH=$5 python3 "$2/tools/reference/livescene_ref.py" bench --config default \
            --rays 65536 --device cuda --checkpoint "$3/ls/step-000030000.ckpt"; rc=$?
            rm -rf "$3/ls"; exit $rc' _ "$bin/bench_livescene" "$root" "$tmp" \
            "$(have_torch && echo 1)" "$BASE_LD_LIBRARY_PATH" ;;
    livescene:tiny)
        run_step bench.livescene bench "${box[bench.livescene]}" bash -c 'for m in f32 f16; do
            "$1" "$2" --device cuda --rays 256 --mlp-dtype $m || exit; done' _ \
            "$bin/bench_livescene" "$SRC/tests/fixtures/livescene/small.safetensors" ;;
    relight:full)
        run_step bench.relight bench "${box[bench.relight]}" "$bin/bench_relight" \
            "$SRC/assets/demo/forest.exr" --size 512 --samples 64 --width 800 --height 800 \
            --device cuda ;;
    relight:tiny)
        run_step bench.relight bench "${box[bench.relight]}" "$bin/bench_relight" \
            "$SRC/assets/demo/forest.exr" --size 64 --samples 4 --width 32 --height 32 --frames 1 \
            --device cuda ;;
    fqgan:full)
        # facet per precision; then, where python3 has torch, PyTorch per precision on the same
        # GPU in the same call (an official-format checkpoint with the same hash weights)
        run_step bench.fqgan bench "${box[bench.fqgan]}" bash -c 'w=$3/dual16.safetensors
            "$1" fqgan "$w" dual 16 1 || exit; rc=0
            for p in fp32 tf32 bf16; do "$2" "$w" --device cuda-$p --batch 32 --iters 3 || rc=1; done
            rm -f "$w"; [ "$5" = 1 ] || exit $rc
            ref=$4/tools/reference/fqgan_ref.py
            LD_LIBRARY_PATH=$6 python3 "$ref" checkpoint --config dual16 --seed 1 "$3/dual16.pt" ||
                exit 1
            for p in fp32 tf32 bf16; do LD_LIBRARY_PATH=$6 python3 "$ref" bench --checkpoint \
                "$3/dual16.pt" --config dual16 --batch 32 --iters 3 --device cuda --precision $p ||
                rc=1; done
            rm -f "$3/dual16.pt"; exit $rc' _ "$bin/gpu_bundle_weights" "$bin/bench_fqgan" "$tmp" \
            "$root" "$(have_torch && echo 1)" "$BASE_LD_LIBRARY_PATH" ;;
    fqgan:tiny) # the weights only: the official model is far too slow for the emulator
        run_step bench.fqgan bench "${box[bench.fqgan]}" bash -c 'w=$2/dual16.safetensors
            "$1" fqgan "$w" dual 16 1 && ls -l "$w" && rm -f "$w"' _ "$bin/gpu_bundle_weights" "$tmp" ;;
    risesdf:full) # the default-size random field, made by the reference (python3 with torch)
        w=$SRC/tests/fixtures/risesdf/small.safetensors
        if have_torch; then
            run_step bench.risesdf_weights bench "${box[bench.risesdf_weights]}" \
                env LD_LIBRARY_PATH="$BASE_LD_LIBRARY_PATH" bash -c \
                'python3 "$1/tools/reference/risesdf_ref.py" checkpoint "$2/risesdf.ckpt" --size default \
                --seed 1 && python3 "$1/tools/convert_risesdf.py" "$2/risesdf.ckpt" "$2/risesdf.safetensors"' \
                _ "$root" "$tmp"
            [ "$STEP_RC" = 0 ] && [ -f "$tmp/risesdf.safetensors" ] && w=$tmp/risesdf.safetensors
        fi
        [ "$w" = "$tmp/risesdf.safetensors" ] ||
            say "-- bench.risesdf: no default-size field (python3 with torch and numpy): the small fixture"
        run_step bench.risesdf bench "${box[bench.risesdf]}" bash -c '"$1" "$2" --width 800 --height 800 \
            --frames 3 --device cuda && "$1" "$2" --width 400 --height 400 --frames 1 --device cuda \
            --mode volume --indirect parity' _ "$bin/bench_risesdf" "$w"
        rm -f "$tmp"/risesdf.* ;;
    risesdf:tiny)
        run_step bench.risesdf bench "${box[bench.risesdf]}" "$bin/bench_risesdf" \
            "$SRC/tests/fixtures/risesdf/small.safetensors" --width 32 --height 32 --frames 1 \
            --device cuda ;;
    viewer:*)
        local size=800
        [ "$scale" = tiny ] && size=32
        run_step bench.viewer bench "${box[bench.viewer]}" "$bin/bench_viewer" \
            "$SRC/assets/cabinet/scene.json" $size $size --device cuda ;;
    demo:*)
        run_step bench.demo bench "${box[bench.demo]}" bash -c '"$1" eval "$2/assets/demo/scene.json" \
            --data "$2/assets/demo/data" --device cuda --out "$3/demo" --quiet $4 &&
            tr -d "\n" <"$3/demo/metrics.json" && echo' _ "$bin/facet" "$SRC" "$tmp" \
            "$([ "$scale" = tiny ] && echo "--shard 0/20")" ;;
    interop:*)
        if [ "$bundle_mode" = emu ]; then
            skip_step bench.interop "emulated bundle: no CUDA-GL interop"
        elif ! command -v xvfb-run >/dev/null || ! command -v Xvfb >/dev/null; then
            skip_step bench.interop "no Xvfb on this machine, and not carried: Xvfb (13 MB with its libraries) needs Mesa's swrast_dri (26 MB) and libLLVM (117 MB) for GLX, beyond the bundle's 60 MiB; the viewer's CUDA path is measured without a window by bench.viewer"
        else
            printf 'size 800 800\norbit 1 0\nwait 0.05\n%.0s' $(seq 1 100) >"$tmp/interop_script.txt"
            run_step bench.interop bench "${box[bench.interop]}" env __GLX_VENDOR_LIBRARY_NAME=nvidia \
                xvfb-run -a -s '-screen 0 1024x1024x24' "$bin/facet" view \
                "$SRC/assets/cabinet/scene.json" --device cuda --hidden \
                --script "$tmp/interop_script.txt" --bench "$tmp/viewer_bench.jsonl"
            [ -f "$tmp/viewer_bench.jsonl" ] && cat "$tmp/viewer_bench.jsonl" >>"$STEP_OUT"
        fi ;;
    lpips:full) # random weights (the time does not depend on them), an 800x800 pair
        run_step bench.lpips bench "${box[bench.lpips]}" bash -c 'for n in alex vgg16; do
            "$1" --net $n --size 800x800 --iters 5 --device cuda || exit; done' _ "$bin/bench_lpips" ;;
    fit:*)
        # the CUDA fit's speed, fp32 networks (per-ray kernels) against fp16 networks (the stages
        # on tensor cores), on a generated scene: one JSON line per precision from fit.json
        local config=default iters=100 batch=4096
        [ "$scale" = tiny ] && config=tiny iters=3 batch=64
        run_step bench.fit bench "${box[bench.fit]}" bash -c '"$1" synth "$2/fitdata" --frames 20 \
            --quiet || exit; for m in f32 f16; do
            "$1" fit "$2/fitdata" --out "$2/fit-$m" --config $3 --iters $4 --batch $5 --device cuda \
                --mlp-dtype $m --quiet || exit
            figures=$(grep -E "\"(seconds|rays_per_second)\"" "$2/fit-$m/fit.json" | tr -d "\n\t")
            printf "{\"bench\": \"fit\", \"mlp_dtype\": \"%s\", \"config\": \"%s\", \"batch\": %s, \"iterations\": %s, %s}\n" \
                $m $3 $5 $4 "${figures%,}"; done; rm -rf "$2"/fit*' _ "$bin/facet" "$tmp" $config \
            $iters $batch ;;
    lpips:tiny)
        run_step bench.lpips bench "${box[bench.lpips]}" "$bin/bench_lpips" --net alex \
            --size 32x32 --iters 1 --device cuda ;;
    *) skip_step "bench.$name" "unknown bench (scale $scale)" ;;
    esac
}
benches=${GPU_CHECK_BENCHES:-livescene relight fqgan fit viewer demo risesdf lpips interop}
[ "$benches" = none ] && benches=
for b in $benches; do
    if [ -n "$no_device" ]; then skip_step "bench.$b" "$no_device"; continue; fi
    bench "$b"
    [ -n "$STEP_RC" ] && [ "${S_NAME[$((${#S_NAME[@]} - 1))]}" = "bench.$b" ] &&
        [ "${S_SKIP[$((${#S_NAME[@]} - 1))]}" = 0 ] && collect_figures "bench.$b"
    STEP_RC=
done

# ---- verdict ------------------------------------------------------------------------------------
write_report
say "== [$(elapsed) s] summary"
for i in "${!S_NAME[@]}"; do
    if [ "${S_SKIP[$i]}" = 1 ]; then state="skipped: ${S_WHY[$i]}"
    elif [ "${S_TIMEOUT[$i]}" = 1 ]; then state="TIMED OUT (${S_BOX[$i]} s)"
    elif [ "${S_RC[$i]}" = 0 ]; then state=ok
    else state="FAIL (exit ${S_RC[$i]})"; fi
    say "$(printf '%-22s %7s s  %s%s' "${S_NAME[$i]}" "${S_SECS[$i]:--}" "$state" \
        "${S_NOTE[$i]:+  [${S_NOTE[$i]}]}")"
done
verdict=$(sed -n 's/.*"verdict": "\([a-z_]*\)".*/\1/p' "$report" | head -1)
say "== verdict: $verdict (parity cases: $CASES_OK ok, $CASES_FAIL failed, $CASES_EXPECTED failed as" \
    "the harness's self-check requires); report $report, log $log"
[ "$verdict" = no_device ] && exit 77
[ "$verdict" = ok ]
