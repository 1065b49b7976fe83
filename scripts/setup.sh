#!/usr/bin/env bash
# Create .venv with ganforge and its test tools, and Debian's Fashion-MNIST when we may install packages.
# With --browser, also Debian's chromium (only the report's browser test needs it, so ./run.sh skips it).
# With --inception, also .venv-inception: torch 2.14.1 + torchvision + torch-fidelity (a 5.5 GB CUDA build
# that runs on the CPU) for the optional Inception metrics. Idempotent: a venv is only rebuilt when
# pyproject.toml or its torch spec changed. GANFORGE_TORCH overrides the main venv's torch (default
# torch==2.13.0, the CPU build: see README "Why this PyTorch").
set -euo pipefail
cd "$(dirname "$0")/.."
browser=0 inception=0
for arg in "$@"; do
  case $arg in
    --browser) browser=1 ;;
    --inception) inception=1 ;;
    *) echo "setup: unknown option $arg (known: --browser, --inception)" >&2; exit 2 ;;
  esac
done

if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing Debian's dataset-fashion-mnist" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >&2 \
    || echo "setup: could not install dataset-fashion-mnist; Fashion-MNIST runs will be skipped" >&2
fi

if [ "$browser" = 1 ] && ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing Debian's chromium (the report's browser test)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 \
    || echo "setup: could not install chromium; the report's browser test will be skipped" >&2
fi

# make_venv DIR TORCH_SPEC EXTRAS
make_venv() {
  local dir=$1 torch_spec=$2 extras=$3
  local stamp="$dir/.ganforge-installed"
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) $torch_spec $extras"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  echo "setup: creating $dir ($torch_spec)" >&2
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$dir/bin/python" -m pip install -q $torch_spec 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$dir/bin/python" -m pip install -q -e ".[$extras]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$dir/bin/python" -c "import ganforge, torch" || { echo "setup: installing into $dir failed" >&2; exit 1; }
  echo "$want" > "$stamp"
}

make_venv .venv "${GANFORGE_TORCH:-torch==2.13.0}" test
if [ "$inception" = 1 ]; then
  make_venv .venv-inception "torch==2.14.1 torchvision==0.29.1" "test,inception"
  .venv-inception/bin/python -c "import torch_fidelity" \
    || { echo "setup: torch-fidelity did not install" >&2; exit 1; }
fi
