#!/usr/bin/env bash
# ctest unicode_drift: language/unicode_data.c is what tools/gen_unicode_tables.py makes today.
# Regenerates the tables into a temporary folder with the pinned generator environment
# (.venv-unicode, made by scripts/setup.sh; FACET_UNICODE_PYTHON overrides the interpreter) and
# compares byte for byte with the committed file. On a mismatch it fails and says to run
# `make unicode`, naming any version in this environment that differs from the file's banner.
# Skipped (77) when the generator's environment or clang-format is missing.
#
#   tests/unicode_drift_test.sh SOURCE_DIR [COMMITTED_FILE]
# COMMITTED_FILE (default SOURCE_DIR/language/unicode_data.c) lets a check run against a copy.
set -uo pipefail
src=${1:?usage: unicode_drift_test.sh SOURCE_DIR [COMMITTED_FILE]}
committed=${2:-$src/language/unicode_data.c}
python=${FACET_UNICODE_PYTHON:-$src/.venv-unicode/bin/python}

if ! "$python" -c 'import regex, ftfy, tokenizers' 2>/dev/null; then
  echo "unicode_drift: skipped: $python lacks regex/ftfy/tokenizers (scripts/setup.sh makes it)"
  exit 77
fi
if ! command -v clang-format >/dev/null; then
  echo "unicode_drift: skipped: clang-format is not installed (scripts/setup.sh installs it)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$python" "$src/tools/gen_unicode_tables.py" "$tmp/unicode_data.c"; then
  echo "unicode_drift: FAILED: tools/gen_unicode_tables.py did not run"
  exit 1
fi
if cmp "$tmp/unicode_data.c" "$committed"; then
  echo "unicode_drift: $committed matches the generator"
  exit 0
fi

echo "unicode_drift: FAILED: $committed differs from what tools/gen_unicode_tables.py makes now."
echo "First differences (< committed, > regenerated):"
diff "$committed" "$tmp/unicode_data.c" | head -n 20
# the versions the banner records against this environment's: a difference there means the
# environment, not the file, has moved
banner=$(head -n 3 "$committed")
here=$(head -n 3 "$tmp/unicode_data.c")
if [ "$banner" != "$here" ]; then
  echo "The banner records other versions than this environment has:"
  echo "  committed:   $(echo "$banner" | sed -n 2p)"
  echo "  this python: $(echo "$here" | sed -n 2p)"
  committed_unicode=$(echo "$banner" | sed -n '1s/.* from Unicode \([0-9.]*\).*/\1/p')
  here_unicode=$("$python" -c 'import unicodedata; print(unicodedata.unidata_version)')
  if [ "$committed_unicode" != "$here_unicode" ]; then
    echo "  Python's Unicode version is $here_unicode, the file's is ${committed_unicode:-unknown}:"
    echo "  use the Python the banner names (Debian 12's python3 3.11 through .venv-unicode)."
  fi
fi
echo "If the generator or the pinned versions changed on purpose, run \`make unicode\` and commit"
echo "language/unicode_data.c; never edit the file by hand."
exit 1
