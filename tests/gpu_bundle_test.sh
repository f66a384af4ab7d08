#!/usr/bin/env bash
# The device bundle's self-test (ctest gpu_bundle, labels gpu and emu, emulated build only): bundles this
# emulated build with tools/gpu_bundle.sh and runs tools/gpu_check.sh on it as the lent GPU
# machine would, with the Debian -dev packages' libraries hidden:
#
#   - in a private mount namespace (unshare -m, or unshare -rm without root), the system library
#     directory /usr/lib/x86_64-linux-gnu is replaced by one holding only the base set (glibc,
#     libstdc++, libgcc_s) and the libraries of the shell tools gpu_check.sh itself runs (bash,
#     coreutils, grep, sed, awk, tar, xz; not python3); /usr/local (the CUDA toolkit), /usr/lib/gcc
#     and the ld.so cache are emptied; the environment is cleared (env -i);
#   - a control shows the hiding works: the build tree's own facet no longer finds its libraries;
#   - every library the bundle's programs load, by ldd and by the loader at start-up
#     (LD_DEBUG=libs), must come from the bundle's lib/ or be in the base set;
#   - the report must be valid JSON, the harness suite must pass with its self-check, the
#     sanitizer steps must be skipped as emulated, and the benches (tiny inputs) must print figures.
# GPU_BUNDLE_TEST_SUITES (default harness; "harness render" adds 15 s) and GPU_BUNDLE_TEST_BENCHES
# choose what gpu_check.sh runs.
# Without mount namespaces (a container without the capability) it says so and checks the paths
# only. Usage: gpu_bundle_test.sh SOURCE_DIR BINARY_DIR [WORK_DIR]
#
# gpu_bundle_test.sh --real SOURCE_DIR ARCHIVE [WORK_DIR] does the same for the real nvcc bundle
# (tools/gpu_bundle.sh's .gpu-bundle/facet-gpu-bundle.tar.xz) on a machine without a GPU: the CUDA
# toolkit under /usr/local stays visible (the GPU machine has its own), gpu_check.sh must find
# cudart and cuBLAS there, resolve everything else inside the bundle, and exit 77 (no device).
set -uo pipefail
real=0
[ "${1:-}" = --real ] && { real=1; shift; }
src=$(cd "$1" && pwd)
# shellcheck source=tools/gpu_bundle_libs.sh
. "$src/tools/gpu_bundle_libs.sh"
failures=0
pass() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; failures=$((failures + 1)); }

# ---- the bundle ---------------------------------------------------------------------------------
if [ $real = 1 ]; then
    archive=$(readlink -f "$2")
    work=${3:-$(dirname "$archive")/test}
    rm -rf "$work" && mkdir -p "$work"
else
    bin=$(cd "$2" && pwd)
    work=${3:-$bin/gpu-bundle-test}
    rm -rf "$work" && mkdir -p "$work"
    if ! GPU_BUNDLE_XZ_LEVEL=${GPU_BUNDLE_XZ_LEVEL:-1} bash "$src/tools/gpu_bundle.sh" --emu \
        --from-build "$bin" "$work/bundle" >"$work/bundle.log" 2>&1; then
        cat "$work/bundle.log"
        fail "tools/gpu_bundle.sh --emu --from-build $bin"
        exit 1
    fi
    grep 'gpu_bundle: \(carried\|unpacked\)' "$work/bundle.log"
    archive=$work/bundle/facet-gpu-bundle.tar.xz
fi
mkdir -p "$work/unpacked" && tar -C "$work/unpacked" -xJf "$archive" || { fail "unpack $archive"; exit 1; }
tree=$work/unpacked/facet-gpu-bundle
carried=$(ls "$tree/lib")
[ $real = 1 ] && bin=$(sed -n 's/.*"build_dir": "\([^"]*\)".*/\1/p' "$tree/manifest.json")
pass "bundle: $archive, $(du -h "$archive" | cut -f1) ($(sed -n 's/.*"mode": "\([a-z]*\)".*/\1/p' "$tree/manifest.json") build, $(ls "$tree/bin" | wc -l) programs, $(ls "$tree/lib" | wc -l) libraries)"

# ---- the sandbox's system library directory -----------------------------------------------------
libdir=$work/syslib
mkdir -p "$libdir"
tools="bash sh timeout date mkdir rm cat tee grep sed awk tar xz sort head tail tr wc cut env ls find
    dirname basename readlink stat mktemp uname nproc getconf hostname seq sleep ln du mv xargs sha256sum"
tool_paths=()
for t in $tools; do p=$(command -v "$t") && tool_paths+=("$(readlink -f "$p")"); done
overlap=()
while read -r name path; do # the base set, from the build's own facet
    case "$(gpu_lib_class "$name")" in glibc | gcc) cp -L "$path" "$libdir/$name" ;; esac
done < <(gpu_ldd_pairs "$bin/facet")
while read -r name path; do # the shell tools' libraries stay visible: none may be one the bundle carries
    [ -n "$name" ] && [ "$path" != not-found ] && [ "$(gpu_lib_class "$name")" != vdso ] || continue
    grep -qx "$name" <<<"$carried" && overlap+=("$name")
    cp -L "$path" "$libdir/$name"
done < <(gpu_ldd_pairs "${tool_paths[@]}")
ld=$(readlink -f /lib64/ld-linux-x86-64.so.2)
cp -L "$ld" "$libdir/ld-linux-x86-64.so.2"
if [ ${#overlap[@]} -eq 0 ]; then
    pass "sandbox libraries: base set + shell tools ($(ls "$libdir" | wc -l) files), none of the bundle's"
else
    fail "the shell tools need libraries the bundle carries (${overlap[*]}): they cannot be hidden"
fi

sandbox=
for u in "unshare -m --propagation private" "unshare -rm --propagation private"; do
    [ "${GPU_BUNDLE_TEST_SANDBOX:-1}" = 0 ] && break # env -i only (what a container without
    # mount namespaces gets)
    mkdir -p "$work/tmp"
    if $u sh -c "mount -t tmpfs none '$work/tmp'" 2>/dev/null; then
        sandbox=$u
        break
    fi
done
# run_hidden COMMAND...: COMMAND with the -dev libraries hidden and a cleared environment
run_hidden() {
    local vars=(PATH=/usr/bin:/bin HOME="$work" TMPDIR="$work/tmp" LC_ALL=C)
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do vars+=("$1"); shift; done
    mkdir -p "$work/tmp"
    if [ -z "$sandbox" ]; then
        env -i "${vars[@]}" "$@"
        return
    fi
    GPU_BUNDLE_TEST_REAL=$real $sandbox bash -c '
        lib=$1; shift
        hide="/usr/lib/gcc /opt"
        [ "$GPU_BUNDLE_TEST_REAL" = 1 ] || hide="$hide /usr/local"
        for d in $hide; do
            [ -d "$d" ] && { mount -t tmpfs -o ro none "$d" || exit 90; }
        done
        [ -e /etc/ld.so.cache ] && { mount --bind /dev/null /etc/ld.so.cache || exit 90; }
        # last: mount itself needs libraries that this hides
        mount --bind "$lib" /usr/lib/x86_64-linux-gnu || exit 90
        exec env -i "$@"' _ "$libdir" "${vars[@]}" "$@"
}
if [ -n "$sandbox" ]; then
    pass "sandbox: $sandbox, /usr/lib/x86_64-linux-gnu = base set + shell tools' libraries$([ $real = 1 ] && echo ", /usr/local (CUDA toolkit) kept" || echo ", /usr/local hidden")"
    # control: the build tree's facet, without the bundle, no longer finds its libraries
    control=$(run_hidden ldd "$bin/facet" 2>&1)
    missing=$(grep -c 'not found' <<<"$control")
    if [ "$missing" -gt 0 ]; then
        pass "control: $bin/facet finds $missing of its libraries nowhere ($(grep 'not found' <<<"$control" | awk '{ print $1 }' | head -4 | tr '\n' ' ')...)"
    else
        fail "control: $bin/facet still resolves every library: the -dev libraries are not hidden"
    fi
else
    printf 'note sandbox: mount namespaces are not permitted here; env -i only, paths checked\n'
fi

# ---- every library each program loads, as the machine would load them --------------------------
outside=()
for p in "$tree"/bin/*; do
    case $(basename "$p") in gpu_parity) arg=--list ;; facet) arg=--help ;; *) arg= ;; esac
    run_hidden LD_LIBRARY_PATH="$tree/lib$([ $real = 1 ] && echo ":/usr/local/cuda/lib64:/usr/local/cuda/lib")" \
        LD_DEBUG=libs "$p" $arg 2>"$work/ld_debug.txt" >/dev/null
    while read -r path; do
        name=$(basename "$path")
        case "$(gpu_lib_class "$name"):$path" in
        carry:"$tree/lib/"* | glibc:* | gcc:* | tools:*) ;;
        toolkit:/usr/local/*) [ $real = 1 ] || outside+=("$(basename "$p"): $name from $path") ;;
        *) outside+=("$(basename "$p"): $name from $path") ;;
        esac
    done < <(sed -n 's/.*calling init: //p' "$work/ld_debug.txt")
    grep -q 'cannot open shared object' "$work/ld_debug.txt" && outside+=("$(basename "$p"): $(grep -m1 'cannot open' "$work/ld_debug.txt")")
done
if [ ${#outside[@]} -eq 0 ]; then
    pass "LD_DEBUG=libs: every program loads only the bundle's lib/ and the base set"
else
    fail "loaded from outside the bundle and the base set: ${outside[*]}"
fi

# ---- gpu_check.sh on the bundle -----------------------------------------------------------------
out=$work/out
mkdir -p "$out"
t0=$(date +%s)
run_hidden OUT="$out" GPU_CHECK_BUNDLE="$archive" GPU_CHECK_SUITES="${GPU_BUNDLE_TEST_SUITES:-harness}" \
    GPU_CHECK_BENCH_SCALE=tiny GPU_CHECK_BENCHES="${GPU_BUNDLE_TEST_BENCHES:-livescene relight fqgan fit risesdf viewer demo interop}" \
    bash "$src/tools/gpu_check.sh" >"$work/gpu_check.out" 2>&1
rc=$?
sed -n '/== .*summary/,$p' "$work/gpu_check.out"
want=0
[ $real = 1 ] && want=77 # no device here
[ "$rc" = $want ] && pass "gpu_check.sh: exit $rc in $(($(date +%s) - t0)) s" || fail "gpu_check.sh: exit $rc, not $want (log $out/gpu_check.log)"
if ! command -v python3 >/dev/null; then
    printf 'note no python3 here: the report is not parsed\n'
    [ -s "$out/gpu_report.json" ] && pass "report written" || fail "no report"
else
    python3 - "$out/gpu_report.json" $real <<'EOF' || failures=$((failures + 1))
import json, sys
failed = 0
def check(ok, what):
    global failed
    print(("ok   " if ok else "FAIL ") + what)
    failed += not ok
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"FAIL report: not valid JSON ({e})")
    sys.exit(1)
check(True, "report: valid JSON")
env = r["environment"]
check(len(env["tree_fingerprint"]) == 64 and env["tree_fingerprint"] == env["bundle_tree_fingerprint"],
      f"report: the working tree's fixtures and assets are the bundle's ({env['tree_fingerprint'][:12]})")
check(env["unresolved"] == [] and env["outside_allowed"] == [] and env["problems"] == [],
      f"report: no unresolved library, none outside the bundle and the base set "
      f"({len(env['libs'])} libraries, {len(env['loaded_at_startup'])} loaded at start-up)")
steps = {s["name"]: s for s in r["steps"]}
if sys.argv[2] == "1":  # the real bundle on a machine without a GPU
    check("cudart" in json.dumps(env["toolkit"]) and "not found" not in json.dumps(env["toolkit"]),
          f"report: CUDA toolkit libraries found: {env['toolkit']}")
    check(steps.get("parity.harness", {}).get("skipped") is True and r["verdict"] == "no_device",
          f"report: verdict {r['verdict']}, parity skipped: {steps.get('parity.harness', {}).get('why')}")
    sys.exit(1 if failed else 0)
check(steps.get("parity.harness", {}).get("exit_code") == 0, "report: parity.harness exit 0")
cases = {c["name"]: c for c in r["parity"]}
check(cases.get("harness.self_check", {}).get("ok") is True
      and sorted(c["name"] for c in r["parity"] if c["expected_fail"])
      == ["harness.injected_nan", "harness.off_by_one"]
      and r["parity_cases"]["failed"] == 0,
      f"report: harness.self_check ok, its two planted failures parsed as expected; "
      f"{r['parity_cases']['ok']} cases ok")
san = [s for n, s in steps.items() if n.startswith(("memcheck.", "racecheck."))]
check(san and all(s["skipped"] and "emulated" in s["why"] for s in san),
      f"report: {len(san)} sanitizer steps skipped as emulated")
benches = [s for n, s in steps.items() if n.startswith("bench.") and not s["skipped"]]
figures = {f["step"] for f in r["benches"]}
check(benches and all(s["exit_code"] == 0 for s in benches),
      f"report: benches ran: {', '.join(s['name'] for s in benches)}")
want = {"bench.livescene", "bench.relight", "bench.fit", "bench.risesdf", "bench.viewer", "bench.demo"} & set(steps)
check(want <= figures, f"report: figures of {', '.join(sorted(figures))}")
check(not r["timed_out_steps"] and r["verdict"] == "ok", f"report: verdict {r['verdict']}, no time-out")
sys.exit(1 if failed else 0)
EOF
fi

# ---- a working tree that is not the bundle's ----------------------------------------------------
# The bundle carries no fixtures: gpu_check.sh reads the device call's copy of the working tree and
# must refuse one whose fixtures differ from those the bundle was built with (one byte appended).
if [ $real = 0 ]; then
    stale=$work/stale-tree
    mkdir -p "$stale/tests" && cp -a "$src/tools" "$src/assets" "$stale/" &&
        cp -a "$src/tests/fixtures" "$stale/tests/" &&
        printf x >>"$stale/tests/fixtures/livescene/small.safetensors"
    OUT="$work/stale-out" GPU_CHECK_BUNDLE="$archive" GPU_CHECK_SUITES=harness GPU_CHECK_BENCHES=none \
        bash "$stale/tools/gpu_check.sh" >"$work/stale.out" 2>&1
    rc=$?
    if [ $rc = 1 ] && grep -q 'PROBLEM: tests/fixtures assets in .* differ from the bundle' "$work/stale.out"; then
        pass "a working tree with an edited fixture: exit 1, named as differing from the bundle's"
    else
        fail "a working tree with an edited fixture: exit $rc, no 'differ' problem (log $work/stale.out)"
    fi
    rm -rf "$stale"
fi
[ "$failures" = 0 ] && echo "gpu_bundle_test: ok" || echo "gpu_bundle_test: $failures failed"
[ "$failures" = 0 ]
