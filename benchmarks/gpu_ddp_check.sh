#!/usr/bin/env bash
# Distributed training on a GPU machine: `torchrun -m ganforge train` over NCCL, in under 60 s.
#
#     bash benchmarks/gpu_ddp_check.sh      # from anywhere; results in $OUT (default ./gpu_check_out/ddp)
#
# Parts, most important first, each skipped when the 55 s budget is spent: (1) DCGAN 32x32 on Fashion-MNIST
# (data/fashion-mnist, else random images) trained by torchrun with one process per GPU, printing images/s;
# (2) that run resumed by torchrun (every rank gets rank 0's checkpoint); (3) the same run with
# train.sync_bn=true (SyncBatchNorm); (4) the same steps in one plain process, for DDP's overhead. Without
# CUDA it prints why it skips and exits 0; GANFORGE_DDP_CHECK_CPU=1 runs the same parts on the CPU with gloo
# and 2 processes (tiny, to check this script). Exit status: the number of failed parts.
set -u
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-$PWD/gpu_check_out/ddp}"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
BUDGET_S="${BUDGET_S:-55}"
START_S=$(date +%s)

if [ "${GANFORGE_DDP_CHECK_CPU:-0}" = 1 ]; then
    NPROC=2; DEVICE=cpu; STEPS=6; MORE=3; SIZE="model.g_channels=8 model.d_channels=8 train.batch_size=16"
    echo "ddp check: CPU dry run (gloo, $NPROC processes)"
elif "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    NPROC=$("$PY" -c "import torch; print(torch.cuda.device_count())"); DEVICE=auto; STEPS=400; MORE=200; SIZE=""
    echo "ddp check: $NPROC GPU(s), NCCL"
else
    echo "ddp check: skipped: no CUDA device (GANFORGE_DDP_CHECK_CPU=1 runs it on the CPU with gloo)"
    exit 0
fi
mkdir -p "$OUT_DIR"
rm -rf "$OUT_DIR/runs"

FASHION_DIR=""
for dir in "$PWD/data/fashion-mnist" "$HOME/.cache/ganforge/fashion-mnist"; do  # the second: gpu_carry.py's
    if ls "$dir"/train-images-idx3-ubyte* >/dev/null 2>&1 && ls "$dir"/t10k-labels-idx1-ubyte* >/dev/null 2>&1; then
        FASHION_DIR=$dir
        break
    fi
done
if [ -n "$FASHION_DIR" ]; then
    DATA="data.root=$FASHION_DIR"
else
    NPZ="$OUT_DIR/random_images.npz"
    "$PY" -c "import numpy as np; np.savez('$NPZ', x=np.random.default_rng(0).integers(0, 256, (4096, 28, 28), dtype=np.uint8))"
    DATA="data.name=npz data.root=$NPZ"
    echo "ddp check: Fashion-MNIST not in data/fashion-mnist or ~/.cache/ganforge; random 28x28 images instead"
fi
COMMON="dcgan_fashion $DATA train.device=$DEVICE train.steps=$STEPS train.log_every=50 train.sample_every=100000 train.progress=false train.tensorboard=false train.time_limit=10 $SIZE"
FAILED=0

left() { echo $(( BUDGET_S - ($(date +%s) - START_S) )); }

# part NAME CMD...: run CMD unless the budget is spent, keep its output, count a failure
part() {
    local name=$1 t0 rc
    shift
    if (( $(left) < 12 )); then echo "=== $name: skipped, budget spent"; return; fi
    echo "=== $name"
    t0=$(date +%s)
    timeout -k 5 "$(left)" "$@" > "$OUT_DIR/$name.log" 2>&1
    rc=$?
    grep -E "trained to step|error|Error" "$OUT_DIR/$name.log" | tail -5
    echo "=== $name: exit $rc after $(( $(date +%s) - t0 )) s (log: $OUT_DIR/$name.log)"
    (( rc != 0 )) && FAILED=$((FAILED + 1))
}

TORCHRUN=("$PY" -m torch.distributed.run --standalone --nproc_per_node="$NPROC")
# shellcheck disable=SC2086
part ddp_train "${TORCHRUN[@]}" -m ganforge train $COMMON --out "$OUT_DIR/runs/ddp"
if [ -f "$OUT_DIR/runs/ddp/checkpoint.pt" ]; then
    part ddp_resume "${TORCHRUN[@]}" -m ganforge train --resume "$OUT_DIR/runs/ddp" train.steps=$((STEPS + MORE)) train.time_limit=5
fi
# shellcheck disable=SC2086
[ "$DEVICE" != cpu ] && part ddp_sync_bn "${TORCHRUN[@]}" -m ganforge train $COMMON train.sync_bn=true train.time_limit=5 --out "$OUT_DIR/runs/sync_bn"
# shellcheck disable=SC2086
part single_process "$PY" -m ganforge train $COMMON --out "$OUT_DIR/runs/single"

"$PY" - "$OUT_DIR" <<'EOF' > "$OUT_DIR/summary.txt" 2>&1
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for name in ("ddp", "sync_bn", "single"):
    log = out / "runs" / name / "log.jsonl"
    if log.is_file():
        records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        speeds = [r["images_per_second"] for r in records[1:]] or [r["images_per_second"] for r in records]
        print(f"{name:8s} steps {records[-1]['step']:5d}  images/s (median of logged intervals after the first): "
              f"{sorted(speeds)[len(speeds) // 2]:.0f}  loss/d {records[-1].get('loss/d', float('nan')):.3f}")
EOF
cat "$OUT_DIR/summary.txt"
echo "ddp check: $FAILED failed part(s); output in $OUT_DIR"
exit "$FAILED"
