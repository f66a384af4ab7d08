#!/usr/bin/env bash
# The Python package (python/) as a user installs it: `pip install` of the package with the
# freshly built libfacet.so inside, then its pytest suite, which compares every binding with the
# CLI on the same input. Usage: python_test.sh LIBFACET FACET SOURCE_DIR WORK_DIR
# Skipped (77) without the package environment that scripts/setup.sh makes (.venv-python).
set -eu
lib=$1
facet=$2
src=$3
work=$4
py="$src/.venv-python/bin/python"
[ -x "$py" ] || { echo "skip: $src/.venv-python missing (scripts/setup.sh makes it)"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
# a staging copy, so the test never writes into the source tree
cp -r "$src/python" "$work/package"
rm -rf "$work/package/facet/_native" "$work/package/build" "$work/package"/*.egg-info
mkdir -p "$work/package/facet/_native"
cp "$lib" "$work/package/facet/_native/libfacet.so"
"$py" -m pip install -q --no-build-isolation --no-deps --no-cache-dir --target "$work/site" \
    "$work/package"
cd "$work"
FACET_BIN=$facet FACET_SOURCE=$src PYTHONPATH="$work/site:$src/python/tests" \
    "$py" -m pytest -q -p no:cacheprovider "$src/python/tests" -o "testpaths=$src/python/tests"
