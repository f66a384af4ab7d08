#!/usr/bin/env bash
# Builds the device bundle: everything tools/gpu_check.sh needs on a lent GPU machine that has the
# NVIDIA driver, the CUDA toolkit (cudart, cuBLAS, compute-sanitizer) and python3, but none of the
# Debian -dev packages this project builds against, and no network or apt.
#
#   tools/gpu_bundle.sh [--emu] [--from-build DIR] [--allow-missing-harness] [OUTDIR]
#
# Default: configures build-gpu-bundle/ as the real nvcc build (-DFACET_CUDA=ON, SASS for sm_80 and
# sm_90, -lineinfo for compute-sanitizer, -DFACET_NATIVE=OFF because the GPU machine's CPU is not
# this one, -DFACET_WERROR=ON), builds facet, gpu_parity and the benches, and writes OUTDIR
# (default .gpu-bundle/, git-ignored):
#
#   OUTDIR/facet-gpu-bundle.tar.xz   the bundle; the only thing the device call has to carry
#   OUTDIR/MANIFEST.txt              what is inside (also in the archive as manifest.json)
#
# The archive unpacks to facet-gpu-bundle/:
#   bin/           facet, gpu_parity, bench_*, gpu_bundle_weights (host debug info stripped; device
#                  line info and symbols kept); RUNPATH $ORIGIN/../lib
#   lib/           every shared library they load outside the base set (tools/gpu_bundle_libs.sh:
#                  glibc, libstdc++/libgcc_s, the driver, cudart/cuBLAS, GL), resolved with ldd;
#                  cuBLAS, which the programs open at run time, is listed in the manifest's
#                  toolkit_libs with the linked toolkit libraries, for gpu_check.sh to find
#   lib-fallback/  libstdc++, libgcc_s (and libcudart for the real build): put on the library path by
#                  gpu_check.sh only when the machine's own are missing or too old
#   src/models/    the git-ignored models the harness and the benches read (FACET_MODELS_DIR):
#                  bpe_simple_vocab_16e6.txt.gz and lpips_heads_*.safetensors (MiniLM, 90 MB,
#                  does not fit). tests/fixtures and assets are not carried: they are tracked, so
#                  the device call's copy of the working tree has them (FACET_SOURCE_DIR is the
#                  tree), and the manifest's tree_fingerprint lets gpu_check.sh refuse a tree that
#                  is not the one the bundle was built with
#   manifest.json  build options, git revision, the carried libraries and their Debian packages,
#                  the newest glibc / libstdc++ symbol versions the binaries need
#
# The unpacked tree is about 170 MB (OpenBLAS 37 MB, libicudata 30 MB) but compresses to about
# 21 MiB: the same fatbins sit in every program. The script fails when the archive exceeds 60 MiB or when the
# archive plus the working tree (which the device call always sends) exceeds the call's 64 MiB.
# Run on the GPU machine with the device tool: carry [".gpu-bundle"], command
# `bash tools/gpu_check.sh`, timeout_s 600 (the check ends within 8 minutes).
#
# --emu             the emulated configuration (-DFACET_CUDA_EMU=ON, build-emu-bundle/): no CUDA
#                   toolkit needed, the kernels run on the CPU; OUTDIR defaults to
#                   build-emu-bundle/gpu-bundle. tests/gpu_bundle_test.sh proves the bundle with it.
# --from-build DIR  bundle an existing build tree (configured with tests) instead of configuring one
# --allow-missing-harness   bundle without gpu_parity when it does not build (yet)
# Environment: GPU_BUNDLE_JOBS (build jobs, default nproc), GPU_BUNDLE_XZ_LEVEL (default 9).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/gpu_bundle_libs.sh
. "$root/tools/gpu_bundle_libs.sh"

mode=cuda build= from_build=0 allow_missing=0 out=
while [ $# -gt 0 ]; do
    case "$1" in
    --emu) mode=emu ;;
    --from-build) build=$(cd "$2" && pwd) from_build=1; shift ;;
    --allow-missing-harness) allow_missing=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu_bundle: unknown option $1" >&2; exit 2 ;;
    *) out=$1 ;;
    esac
    shift
done
if [ -z "$build" ]; then
    [ "$mode" = emu ] && build=$root/build-emu-bundle || build=$root/build-gpu-bundle
fi
if [ -z "$out" ]; then
    [ "$mode" = emu ] && out=$build/gpu-bundle || out=$root/.gpu-bundle
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
limit_mib=60 call_limit_mib=64
level=${GPU_BUNDLE_XZ_LEVEL:-9}
jobs=${GPU_BUNDLE_JOBS:-$(nproc)}
say() { printf 'gpu_bundle: %s\n' "$*"; }
die() { printf 'gpu_bundle: error: %s\n' "$*" >&2; exit 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# ---- configure and build ------------------------------------------------------------------------
benches=()
for f in "$root"/bench/bench_*.c; do benches+=("$(basename "$f" .c)"); done
if [ "$from_build" = 0 ]; then
    options=(-DFACET_NATIVE=OFF -DFACET_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON
        # record only the libraries a program uses, and find the carried ones beside the programs
        -DCMAKE_EXE_LINKER_FLAGS=-Wl,--as-needed -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON
        "-DCMAKE_INSTALL_RPATH=\$ORIGIN/../lib")
    if [ "$mode" = emu ]; then
        options+=(-DFACET_CUDA_EMU=ON)
    else
        options+=(-DFACET_CUDA=ON -DFACET_CUDA_EMU=OFF "-DCMAKE_CUDA_ARCHITECTURES=80-real;90-real"
            -DCMAKE_CUDA_FLAGS=-lineinfo)
    fi
    say "configuring $build ($mode)"
    cmake -S "$root" -B "$build" "${options[@]}" >"$out/configure.log" 2>&1 ||
        { tail -30 "$out/configure.log"; die "configure failed (log: $out/configure.log)"; }
    say "building facet ${benches[*]} gpu_parity with $jobs jobs"
    cmake --build "$build" -j "$jobs" --target facet "${benches[@]}" ||
        die "build of facet and the benches failed"
    if ! cmake --build "$build" -j "$jobs" --target gpu_parity; then
        [ "$allow_missing" = 1 ] || die "gpu_parity does not build (--allow-missing-harness bundles without it)"
        say "WARNING: gpu_parity does not build: bundling without the harness"
    fi
fi
if grep -q '^FACET_CUDA_EMU:BOOL=ON' "$build/CMakeCache.txt"; then built_mode=emu; else built_mode=cuda; fi
[ "$built_mode" = "$mode" ] || die "$build is a $built_mode build, not $mode"

# ---- stage the tree -----------------------------------------------------------------------------
work=$build/gpu-bundle-stage
tree=$work/facet-gpu-bundle
rm -rf "$work"
mkdir -p "$tree/bin" "$tree/lib" "$tree/lib-fallback" "$tree/src/models"

programs=(facet "${benches[@]}" gpu_parity)
for p in "${programs[@]}"; do
    src=$build/$p
    [ -x "$src" ] || src=$build/tests/$p
    if [ ! -x "$src" ]; then
        [ "$p" = gpu_parity ] && [ "$allow_missing" = 1 ] && continue
        die "$p is not built in $build"
    fi
    objcopy --strip-debug "$src" "$tree/bin/$p"
done

# gpu_bundle_weights (tools/gpu_bundle_weights.c): compiled and linked exactly as bench_fqgan is,
# from that target's flags and link line in the build tree
helper() {
    local dir=$build/CMakeFiles/bench_fqgan.dir flags defs incs link obj=$work/gpu_bundle_weights.o
    [ -f "$dir/flags.make" ] && [ -f "$dir/link.txt" ] || return 1
    defs=$(sed -n 's/^C_DEFINES = //p' "$dir/flags.make")
    incs=$(sed -n 's/^C_INCLUDES = //p' "$dir/flags.make")
    flags=$(sed -n 's/^C_FLAGS = //p' "$dir/flags.make")
    eval "cc $defs $incs $flags -c '$root/tools/gpu_bundle_weights.c' -o '$obj'" || return 1
    link=$(cat "$dir/link.txt")
    link=${link//CMakeFiles\/bench_fqgan.dir\/bench\/bench_fqgan.c.o/$obj}
    link=${link//-o bench_fqgan /-o $work/gpu_bundle_weights }
    (cd "$build" && eval "$link") || return 1
    objcopy --strip-debug "$work/gpu_bundle_weights" "$tree/bin/gpu_bundle_weights"
}
helper || die "could not build tools/gpu_bundle_weights.c against $build"

# ---- the shared libraries -----------------------------------------------------------------------
declare -A carried=() toolkit=()
pairs=$(env -u LD_LIBRARY_PATH bash -c ". '$root/tools/gpu_bundle_libs.sh'; gpu_ldd_pairs \"\$@\"" \
    _ "$tree"/bin/*)
while read -r name path; do
    [ -n "$name" ] || continue
    [ "$name" = version-not-found ] && die "unsatisfied symbol version: $path"
    [ "$path" = not-found ] && die "$name is not found by ldd for the bundle's programs"
    case $(gpu_lib_class "$name") in
    carry) carried[$name]=$path ;;
    toolkit)
        [ "$mode" = emu ] && die "the emulated build links the CUDA toolkit library $name"
        toolkit[$name]=$path ;;
    driver | gl) die "$name is linked directly; the bundle expects it loaded by cudart/glfw" ;;
    esac
done <<<"$pairs"
# toolkit libraries the programs open at run time rather than link (cuBLAS: nn/cuda/cublas_loader.h
# names its soname in the program): from the machine as well, so gpu_check.sh must find them there
if [ "$mode" = cuda ]; then
    for name in $(grep -aoh 'libcublas\.so\.[0-9][0-9]*' "$tree"/bin/* | sort -u); do
        [ -n "${toolkit[$name]:-}" ] && continue
        cudart_dir=$(for n in "${!toolkit[@]}"; do
            case $n in libcudart.so.*) dirname "$(readlink -f "${toolkit[$n]}")" ;; esac
        done | head -1)
        [ -n "$cudart_dir" ] && [ -e "$cudart_dir/$name" ] ||
            die "the programs open $name at run time, but it is not beside libcudart (${cudart_dir:-none}) here"
        toolkit[$name]=$cudart_dir/$name
    done
fi
for name in "${!carried[@]}"; do cp -L "${carried[$name]}" "$tree/lib/$name"; done
for name in libstdc++.so.6 libgcc_s.so.1; do
    cp -L "$(gpu_ldd_pairs "$tree/bin/facet" | awk -v n="$name" '$1 == n { print $2 }')" \
        "$tree/lib-fallback/$name"
done
for name in "${!toolkit[@]}"; do
    case $name in libcudart.so.*) cp -L "${toolkit[$name]}" "$tree/lib-fallback/$name" ;; esac
done

# every library the programs and the carried libraries need now resolves inside lib/ or to the base
# set, with nothing but lib/ on the path
check=$(LD_LIBRARY_PATH=$tree/lib gpu_ldd_pairs "$tree"/bin/* "$tree"/lib/*)
bad=$(while read -r name path; do
    [ -n "$name" ] || continue
    class=$(gpu_lib_class "$name")
    [ "$path" = not-found ] || path=$(readlink -f "$path")
    case "$class:$path" in
    carry:"$tree/lib/"*) ;;
    glibc:* | gcc:* | vdso:* | toolkit:* | driver:* | gl:* | tools:*) ;;
    *) echo "$name $path" ;;
    esac
done <<<"$check")
[ -z "$bad" ] || die "libraries resolve outside the bundle: $bad"

# ---- the source tree parts ----------------------------------------------------------------------
# tests/fixtures and assets are tracked, so the device call's copy of the working tree has them:
# the bundle records their fingerprint (gpu_bundle_tree_fingerprint) for gpu_check.sh to compare,
# and carries only the git-ignored models the harness reads.
tree_fingerprint=$(cd "$root" && git ls-files -z -co --exclude-standard -- $gpu_bundle_tree_parts |
    gpu_bundle_tree_fingerprint)
for m in bpe_simple_vocab_16e6.txt.gz lpips_heads_alex.safetensors lpips_heads_vgg16.safetensors; do
    if [ -f "$root/models/$m" ]; then
        cp "$root/models/$m" "$tree/src/models/"
    else
        say "WARNING: models/$m missing (scripts/setup.sh fetches it)"
    fi
done

# ---- manifest -----------------------------------------------------------------------------------
maxver() { # PREFIX FILE...: the newest PREFIX_x.y symbol version the files need
    objdump -T "${@:2}" 2>/dev/null | grep -o "${1}_[0-9][0-9.]*" | sort -uV | tail -1
}
jlist() { local s= x; for x in "$@"; do s+="${s:+, }\"$x\""; done; printf '[%s]' "$s"; }
package_of() {
    local p
    p=$(dpkg -S "$1" 2>/dev/null || dpkg -S "$(readlink -f "$1")" 2>/dev/null || true)
    p=${p%%:*}
    [ -n "$p" ] && printf '%s %s' "$p" "$(dpkg-query -W -f '${Version}' "$p" 2>/dev/null)"
}
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || rev+="+dirty"
cuda_arch=$(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$build/CMakeCache.txt")
libs_json=
for name in $(printf '%s\n' "${!carried[@]}" | sort); do
    libs_json+="${libs_json:+,
    }{\"name\": \"$name\", \"from\": \"${carried[$name]}\", \"package\": \"$(package_of "${carried[$name]}")\"}"
done
toolkit_names=$(printf '%s\n' "${!toolkit[@]}" | sort | tr '\n' ' ')
cat >"$tree/manifest.json" <<EOF
{"bundle": "facet-gpu-bundle", "mode": "$mode", "git": "$rev", "date": "$(date -u +%FT%TZ)",
 "built_on": "$(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -m)",
 "build_dir": "$build", "build_type": "$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")",
 "cuda_architectures": "$cuda_arch",
 "native": "$(sed -n 's/^FACET_NATIVE:BOOL=//p' "$build/CMakeCache.txt")",
 "tree_parts": $(jlist $gpu_bundle_tree_parts), "tree_fingerprint": "$tree_fingerprint",
 "programs": $(jlist $(ls "$tree/bin")),
 "toolkit_libs": $(jlist $toolkit_names),
 "fallback_libs": $(jlist $(ls "$tree/lib-fallback")),
 "needs": {"glibc": "$(maxver GLIBC "$tree"/bin/* "$tree"/lib/*)", "glibcxx": "$(maxver GLIBCXX "$tree"/bin/* "$tree"/lib/*)",
           "cxxabi": "$(maxver CXXABI "$tree"/bin/* "$tree"/lib/*)"},
 "carried_libs": [
    $libs_json]}
EOF
grep -q '^FACET_NATIVE:BOOL=ON' "$build/CMakeCache.txt" && [ "$mode" = cuda ] &&
    die "$build is configured with -DFACET_NATIVE=ON: the GPU machine's CPU may lack this one's vector units"

# ---- archive and sizes --------------------------------------------------------------------------
say "compressing (xz -$level)"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work" -cf - facet-gpu-bundle |
    xz -T0 "-$level" >"$out/facet-gpu-bundle.tar.xz.part"
mv "$out/facet-gpu-bundle.tar.xz.part" "$out/facet-gpu-bundle.tar.xz"
archive=$(stat -c %s "$out/facet-gpu-bundle.tar.xz")
unpacked=$(du -sb "$tree" | cut -f1)
tree_bytes=$(git -C "$root" ls-files -z -co --exclude-standard 2>/dev/null |
    (cd "$root" && xargs -0 stat -c %s 2>/dev/null; true) | awk '{ s += $1 } END { print s + 0 }')
{
    echo "facet GPU bundle ($mode build, git $rev, $(date -u +%F)): $out/facet-gpu-bundle.tar.xz"
    echo "archive $(mib "$archive"), unpacked $(mib "$unpacked"); working tree $(mib "$tree_bytes")"
    echo
    (cd "$tree" && du -b bin/* lib/* lib-fallback/* | sort -k2 | awk '{ printf "%10d  %s\n", $1, $2 }')
    (cd "$tree" && du -b src/models/* | awk '{ printf "%10d  %s\n", $1, $2 }')
    echo
    cat "$tree/manifest.json"
} >"$out/MANIFEST.txt"
cp "$tree/manifest.json" "$out/manifest.json"
say "programs: $(ls "$tree/bin" | tr '\n' ' ')"
say "carried libraries (${#carried[@]}): $(printf '%s\n' "${!carried[@]}" | sort | tr '\n' ' ')"
[ "$mode" = cuda ] && say "from the machine: $toolkit_names(fallback libcudart carried)"
say "unpacked $(mib "$unpacked"); archive $(mib "$archive") (xz -$level); working tree $(mib "$tree_bytes")"
say "manifest: $out/MANIFEST.txt"
[ "$archive" -le $((limit_mib * 1048576)) ] || die "archive over $limit_mib MiB"
if [ "$mode" = cuda ]; then
    [ $((archive + tree_bytes)) -le $((call_limit_mib * 1048576)) ] ||
        die "archive + working tree over the device call's $call_limit_mib MiB"
    say "device call: carry [\"${out#"$root"/}\"], command 'bash tools/gpu_check.sh', timeout_s 600"
fi
