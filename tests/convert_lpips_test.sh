#!/bin/sh
# ctest runner for tests/test_convert_lpips.py (tools/convert_lpips.py and its torch-free .pth
# reader tools/torch_pth.py, against torch.save's own files). Needs the system python with
# Debian's python3-torch (to write the .pth files); without it the test reports skipped (exit 77,
# ctest SKIP_RETURN_CODE). The converter itself needs no torch: scripts/setup.sh runs it.
# Usage: tests/convert_lpips_test.sh [SOURCE_DIR]
PYTHON=/usr/bin/python3
SOURCE_DIR=${1:-$(dirname "$0")/..}
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    echo "skipped: $PYTHON cannot import torch"
    exit 77
fi
exec "$PYTHON" "$SOURCE_DIR/tests/test_convert_lpips.py" -v
