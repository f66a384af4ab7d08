#!/bin/sh
# ctest runner for tests/test_convert_risesdf.py (tools/convert_risesdf.py, the reference
# tools/reference/risesdf_ref.py and the RISE-SDF fixtures). Needs the system python with
# Debian's python3-torch; without it the test reports skipped (exit 77, ctest SKIP_RETURN_CODE).
# Usage: tests/convert_risesdf_test.sh [SOURCE_DIR]
PYTHON=/usr/bin/python3
SOURCE_DIR=${1:-$(dirname "$0")/..}
if ! "$PYTHON" -c 'import torch, numpy, yaml' 2>/dev/null; then
    echo "skipped: $PYTHON cannot import torch, numpy and yaml"
    exit 77
fi
exec "$PYTHON" "$SOURCE_DIR/tests/test_convert_risesdf.py" -v
