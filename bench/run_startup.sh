#!/usr/bin/env bash
# Start-up cost of facet's programs: `facet --version`, `facet --help` and `import facet` (the
# Python package over BUILD_DIR/libfacet.so), as built (cuBLAS opened on first use,
# nn/cuda/cublas_loader.h) against the same with the toolkit's libcublas preloaded, which maps at
# start-up what linking cuBLAS did. `import numpy` alone is the floor for the import.
#
#   bash bench/run_startup.sh [BUILD_DIR]     (a CUDA build; STARTUP_RUNS=N alternating runs, 15)
#
# Prints one JSON line per command: median wall milliseconds of each form and the resident set
# (max RSS, KB) of one run of each. Copy it with the machine, date and command into
# bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
runs=${STARTUP_RUNS:-15}
facet=$build/facet
library=$build/libfacet.so
[ -x "$facet" ] || { echo "run_startup: $facet is not built" >&2; exit 1; }
[ -f "$library" ] || { echo "run_startup: $library is not built" >&2; exit 1; }
grep -q '^FACET_CUDA:BOOL=ON' "$build/CMakeCache.txt" ||
    { echo "run_startup: $build is not a CUDA build: there is no cuBLAS to compare" >&2; exit 1; }
# the cuBLAS the loader would open: the soname in the binary, found beside the linked libcudart
soname=$(grep -aoh 'libcublas\.so\.[0-9][0-9]*' "$facet" | head -1)
cudart=$(ldd "$facet" | awk '$1 ~ /^libcudart\.so/ { print $3; exit }')
cublas=$(dirname "$(readlink -f "$cudart")")/$soname
[ -f "$cublas" ] || { echo "run_startup: $cublas not found" >&2; exit 1; }
echo "# $(date -u +%F) $(uname -n), $(nproc) CPU threads: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# preloaded for the comparison: $cublas"
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
FACET_LIBRARY=$(readlink -f "$library") "$py" - "$runs" "$cublas" "$(readlink -f "$facet")" \
    "$(pwd)/python" <<'EOF'
import json, os, statistics, subprocess, sys, time

runs, cublas, facet, package = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
python = sys.executable
commands = {
    "facet --version": [facet, "--version"],
    "facet --help": [facet, "--help"],
    "import facet": [python, "-c", f"import sys; sys.path.insert(0, {package!r}); import facet"],
    "import numpy": [python, "-c", "import numpy"],
}


def wall(cmd, env):
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000.0


lazy = dict(os.environ)
loaded = dict(os.environ, LD_PRELOAD=cublas)
for name, cmd in commands.items():
    a, b = [], []
    for _ in range(runs):
        a.append(wall(cmd, lazy))
        b.append(wall(cmd, loaded))
    print(json.dumps({"command": name, "runs": runs,
                      "opened_on_first_use_ms": round(statistics.median(a), 1),
                      "cublas_preloaded_ms": round(statistics.median(b), 1)}))
sys.stdout.flush()
EOF
# resident sets, one run each (GNU time)
if [ -x /usr/bin/time ]; then
    for form in opened_on_first_use cublas_preloaded; do
        pre=
        [ $form = cublas_preloaded ] && pre=$cublas
        kb=$(LD_PRELOAD=$pre /usr/bin/time -f %M "$facet" --version 2>&1 >/dev/null | tail -1)
        kb_import=$(FACET_LIBRARY=$library LD_PRELOAD=$pre /usr/bin/time -f %M "$py" -c \
            "import sys; sys.path.insert(0, '$(pwd)/python'); import facet" 2>&1 | tail -1)
        echo "{\"form\": \"$form\", \"facet --version max RSS KB\": $kb, \"import facet max RSS KB\": $kb_import}"
    done
fi
