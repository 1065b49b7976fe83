#!/usr/bin/env bash
# Prepare here, once, the data the GPU runbook (benchmarks/gpu_all.sh, docs/gpu.md) carries to the device
# machine, which reaches nothing outside it: Fashion-MNIST's IDX files (for sngan-stability and the speed rows)
# and elpv's train and test splits at 128x128 (for pggan; needs `pip install elpv-dataset` here), each
# xz-compressed into data/carry/ (ignored by git), with MANIFEST.json. About 3 minutes on 2 cores; rerunning
# keeps what is packed. Then checks that the working tree that travels plus data/carry stays within the device
# tool's 64 MiB; exit 1 when it does not.
#
#     bash benchmarks/gpu_prepare.sh            # from anywhere; PYTHON=... to choose the interpreter
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
[ -n "$PY" ] || { [ -x .venv/bin/python ] && PY=.venv/bin/python || PY=python3; }
CARRY=data/carry
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" "$PY" benchmarks/gpu_carry.py pack --carry "$CARRY" "$@"
carry_b=$(du -sb "$CARRY" | cut -f1)
tree_b=$(git ls-files -z -co --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
total_mib=$(( (carry_b + tree_b) / 1048576 ))
echo "gpu_prepare: working tree $(( tree_b / 1048576 )) MiB + $CARRY $(( carry_b / 1048576 )) MiB" \
    "= ${total_mib} MiB of the 64 that may travel"
if (( carry_b + tree_b > 64 * 1048576 )); then
    echo "gpu_prepare: over the device tool's 64 MiB: the call would be refused" >&2
    exit 1
fi
