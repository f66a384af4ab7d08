#!/bin/sh
# ctest runner for tests/test_convert_fqgan.py (tools/convert_fqgan.py on checkpoints written by
# tools/reference/fqgan_ref.py). The converter runs under the system python with Debian's
# python3-torch; without it the test reports skipped (exit 77, ctest SKIP_RETURN_CODE).
# Usage: tests/convert_fqgan_test.sh [SOURCE_DIR [BINARY_DIR]]   (BINARY_DIR: where bench_fqgan
# is, to load the converted weights in facet)
PYTHON=/usr/bin/python3
SOURCE_DIR=${1:-$(dirname "$0")/..}
[ -n "$2" ] && export FACET_BINARY_DIR="$2"
if ! "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
    echo "skipped: $PYTHON cannot import torch and numpy"
    exit 77
fi
exec "$PYTHON" "$SOURCE_DIR/tests/test_convert_fqgan.py" -v
