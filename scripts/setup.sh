#!/usr/bin/env bash
# Installs everything facet needs on a fresh Debian 12 machine. Idempotent: a second run installs
# nothing and finishes in seconds. Runs as root (CI) or through sudo.
#
#   scripts/setup.sh            build + test dependencies
#   FACET_SETUP_REFERENCE=1 scripts/setup.sh
#                               also the PyTorch/scikit-image stack that regenerates fixtures
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libglfw3-dev libgl-dev libegl-dev libcriterion-dev libstb-dev libtinyexr-dev libcjson-dev
  libyaml-dev libopenblas-dev libopenmpi-dev openmpi-bin libopenexr-dev xvfb xauth
  libgl1-mesa-dri blender-data python3 python3-venv python3-pip
)
if [ "${FACET_SETUP_REFERENCE:-0}" = 1 ]; then
  packages+=(python3-torch python3-numpy python3-skimage python3-yaml)
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
echo "setup: ok"
