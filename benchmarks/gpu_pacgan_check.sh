#!/usr/bin/env bash
# pacgan-table1 on one GPU: PacGAN's Table 1 protocol (ring and grid, m = 1..4 plus label smoothing at m = 1,
# 10 seeds each, all seeds of a packing degree batched) for a fixed training budget, then evaluated.
# Writes results.json, curves.json, speed.json (iterations/s per packing degree), the figures, log.txt and
# estimate.txt (how long the full 400,000 iterations would take at the measured speed) into
# ${OUT:-./gpu_check_out}/pacgan/. The resumable state (about 1 GB: parameters and Adam moments of 100 models)
# stays in ${PACGAN_WORK:-./gpu_check_work/pacgan}; rerunning this script continues it.
# Budget: PACGAN_TIME_LIMIT seconds of training (default 150); the whole script takes about that plus a minute
# or two (drawing the data of 100 runs, the final evaluation, saving the state, the figures).
# It runs `ganforge repro pacgan-table1 --budget PACGAN_TIME_LIMIT`: on CUDA every batched step is replayed as
# a recorded CUDA graph and matmuls use TF32. Measured on an H200 with the batched step alone (not this script):
# about 300 steps/s per packing degree replayed, 125-145 launched eagerly, i.e. roughly 1.5 h for the full
# 400,000 iterations of all four.
# Run from anywhere: bash benchmarks/gpu_pacgan_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_pacgan_check: skipped (torch sees no CUDA device)"
    exit 0
fi
DEST="${OUT:-./gpu_check_out}/pacgan"
WORK="${PACGAN_WORK:-./gpu_check_work/pacgan}"
LIMIT="${PACGAN_TIME_LIMIT:-150}"
mkdir -p "$DEST" "$WORK"
"$PY" -c "import torch; print('gpu_pacgan_check: torch', torch.__version__, 'on', torch.cuda.get_device_name(0))" \
    | tee "$DEST/log.txt"
set +e
PYTHONPATH=src timeout $((LIMIT + 300)) "$PY" -m ganforge repro pacgan-table1 --budget "$LIMIT" --out "$WORK" \
    2>&1 | tee -a "$DEST/log.txt"
status=${PIPESTATUS[0]}
set -e
for f in results.json report.html curves.json speed.json settings.json pacgan_curves_ring.png \
         pacgan_curves_grid.png pacgan_samples_ring.png pacgan_samples_grid.png; do
    [ -f "$WORK/$f" ] && cp "$WORK/$f" "$DEST/"
done
if [ -d "$WORK/state" ]; then
    state_kb=$(du -sk "$WORK/state" | cut -f1)
    if [ "$state_kb" -lt 16384 ]; then
        cp -r "$WORK/state" "$DEST/"
    else
        echo "gpu_pacgan_check: resumable state (${state_kb} KB) left in $WORK, not copied to $DEST" \
            | tee -a "$DEST/log.txt"
    fi
fi
if [ -f "$WORK/speed.json" ]; then
    "$PY" - "$WORK/speed.json" <<'PYEOF' | tee "$DEST/estimate.txt" | tee -a "$DEST/log.txt"
import json, sys
speed = json.load(open(sys.argv[1]))
total = 0.0
for name, s in speed.items():
    ips = s["iterations_per_second"]
    print(f"{name}: {s['models']} models, {s['iterations']} iterations in {s['seconds']} s, "
          f"{ips if ips is None else round(ips, 1)} it/s")
    total += 400_000 / ips if ips else float("inf")
print(f"full protocol (400,000 iterations of every packing degree, one after another in one process): "
      f"about {total / 3600:.2f} h at these speeds")
PYEOF
fi
echo "gpu_pacgan_check: exit status $status" | tee -a "$DEST/log.txt"
exit "$status"
