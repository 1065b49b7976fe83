#!/usr/bin/env bash
# The main job on its embedded default: a 2-D ring GAN, then a short DCGAN on Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/ganforge demo "$@"
