# Sourced by tools/gpu_bundle.sh, tools/gpu_check.sh and tests/gpu_bundle_test.sh: which shared
# libraries the device bundle may take from the machine it runs on (the base set) and which it
# must carry.
#
#   gpu_lib_class SONAME   prints one of
#     glibc    the C library family (every Linux system has it)
#     gcc      libstdc++ / libgcc_s (the bundle also carries a fallback copy, used only when the
#              machine's is older than the build's)
#     driver   the NVIDIA driver (libcuda, libnvidia-*): always the machine's
#     toolkit  CUDA toolkit libraries (cudart, cuBLAS): the machine's CUDA install or its Python
#              nvidia-* wheels (the bundle carries a fallback libcudart only; cuBLAS is 600 MB)
#     gl       OpenGL / EGL / GLX through glvnd: the machine's, matched to its driver
#     vdso     the kernel's linux-vdso (no file)
#     tools    liblzma and libacl (libarchive's, for tar input): the machine's own, since its xz and
#              tar need them to unpack the bundle at all, so any machine that runs it has them
#     carry    everything else: must be inside the bundle's lib/

gpu_lib_class() {
    case "$1" in
    ld-linux-x86-64.so.2 | libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | \
        libresolv.so.2 | libutil.so.1 | libanl.so.1 | libmvec.so.1)
        echo glibc ;;
    libstdc++.so.6 | libgcc_s.so.1) echo gcc ;;
    libcuda.so | libcuda.so.1 | libnvidia-*) echo driver ;;
    libcudart.so.* | libcublas.so.* | libcublasLt.so.*) echo toolkit ;;
    libGL.so.1 | libGLX.so.0 | libEGL.so.1 | libGLdispatch.so.0 | libOpenGL.so.0 | libGLESv2.so.2 | \
        libGLX_*.so.0 | libEGL_*.so.0)
        echo gl ;;
    linux-vdso.so.1 | linux-gate.so.1) echo vdso ;;
    liblzma.so.5 | libacl.so.1) echo tools ;;
    *) echo carry ;;
    esac
}

# gpu_ldd_pairs FILE...: "SONAME PATH" per dependency of each FILE as ldd resolves it under the
# current environment (PATH "not-found" when unresolved), one per line, duplicates removed.
gpu_ldd_pairs() {
    local f
    for f in "$@"; do
        ldd "$f" 2>&1 | awk '
            $2 == "=>" && $3 == "not" { print $1, "not-found"; next }
            $2 == "=>" && $3 ~ /^\// { print $1, $3; next }
            $1 ~ /^\// { n = split($1, p, "/"); print p[n], $1; next }
            /version .* not found/ { print "version-not-found", $0; next }'
    done | sort -u
}

# The tracked parts of the source tree the harness and the benches read (FACET_SOURCE_DIR). The
# bundle does not carry them: the device call sends the working tree, which has them.
gpu_bundle_tree_parts="tests/fixtures assets"

# gpu_bundle_tree_fingerprint < NUL-separated paths (relative to the current directory): one
# sha256 over the sorted regular files (symbolic links skipped), each as its sha256sum line, so a
# renamed, added, removed or edited file changes it. Both sides list the files their own way (git
# here, find on the device); the set is the same when the device has this working tree.
gpu_bundle_tree_fingerprint() {
    local f
    while IFS= read -r -d '' f; do
        [ -f "$f" ] && [ ! -L "$f" ] && printf '%s\0' "$f"
    done | LC_ALL=C sort -z | xargs -0 -r sha256sum -- | sha256sum | cut -c1-64
}
