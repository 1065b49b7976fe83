#!/usr/bin/env bash
# Create .venv with ganforge and its test tools, and Debian's Fashion-MNIST when we may install packages.
# Idempotent: a second call only re-installs when pyproject.toml changed. Override the torch wheel with
# GANFORGE_TORCH (default torch==2.13.0: the CPU build, see README "Why this PyTorch").
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing Debian's dataset-fashion-mnist" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >&2 \
    || echo "setup: could not install dataset-fashion-mnist; Fashion-MNIST runs will be skipped" >&2
fi

stamp=.venv/.ganforge-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1) ${GANFORGE_TORCH:-torch==2.13.0}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q "${GANFORGE_TORCH:-torch==2.13.0}" >&2
  .venv/bin/python -m pip install -q -e ".[test]" >&2
  echo "$want" > "$stamp"
fi
