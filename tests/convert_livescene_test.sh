#!/bin/sh
# ctest runner for tests/test_convert_livescene.py (tools/convert_livescene.py and the LiveScene
# fixtures). The converter runs under the system python with Debian's python3-torch; without it
# the test reports skipped (exit 77, ctest SKIP_RETURN_CODE).
# Usage: tests/convert_livescene_test.sh [SOURCE_DIR]
PYTHON=/usr/bin/python3
SOURCE_DIR=${1:-$(dirname "$0")/..}
if ! "$PYTHON" -c 'import torch, numpy, yaml, PIL' 2>/dev/null; then
    echo "skipped: $PYTHON cannot import torch, numpy, yaml and PIL"
    exit 77
fi
exec "$PYTHON" "$SOURCE_DIR/tests/test_convert_livescene.py" -v
