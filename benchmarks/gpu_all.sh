#!/usr/bin/env bash
# The GPU runbook in one device call (docs/gpu.md gives the exact call): benchmarks/gpu_check.sh (speed, CUDA
# tests, DDP; 230 s at most), then benchmarks/gpu_repros.sh (the reproductions' GPU parts, in priority order)
# in what is left of TOTAL_S (540 s), then everything packed for the trip back.
#
#     bash benchmarks/gpu_all.sh       # from anywhere; results in $OUT (default gpu_work/out)
#
# The device tool brings back at most 8 files from $OUT, so $OUT gets three: summary.md (every part of both
# scripts, with exit status, seconds and each reproduction's verdict), gpu_all.log (all output) and
# results.tar.gz (each part's files: gpu_check's tables and JSON, each reproduction's results.json, report
# and figures, and gpu_work/done; no checkpoints). Resumable: the work stays in gpu_work/ (GPU_WORK); on a
# rerun, finished parts are skipped. To continue in a later call on a fresh machine, unpack an earlier
# results.tar.gz into gpu_work/ (`mkdir -p gpu_work && tar xzf results.tar.gz -C gpu_work`) and carry
# gpu_work too: the finished check and reproductions are skipped, the rest get the time. Without CUDA (the
# dry run, tests/test_gpu_runbook.py) every GPU part says why it is skipped, and the whole takes seconds.
set -u
cd "$(dirname "$0")/.."
TOTAL_S="${TOTAL_S:-540}"
CHECK_S=230     # gpu_check.sh's own budget
PACK_S=15       # kept for the summary and the archive
WORK="${GPU_WORK:-$PWD/gpu_work}"
FINAL="${OUT:-$WORK/out}"
STAGE="$WORK/stage"
START_S=$(date +%s)
mkdir -p "$FINAL" "$STAGE/check" "$STAGE/repros" "$WORK/done"
exec > >(tee "$FINAL/gpu_all.log") 2>&1
elapsed() { echo $(( $(date +%s) - START_S )); }
PY="${PYTHON:-python3}"
export PYTHON="$PY" GPU_WORK="$WORK"

echo "=== gpu_all: $(date -u +%FT%TZ), ${TOTAL_S} s in all, work in $WORK, results in $FINAL"
# the data before the check, so that its bench rows and DDP run train on Fashion-MNIST, not random images (on
# 2026-12-04 the check ran before gpu_repros.sh unpacked it); gpu_repros.sh's own data part then finds it there
if [ -f data/carry/MANIFEST.json ] && "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" timeout 60 "$PY" benchmarks/gpu_carry.py unpack \
        --carry data/carry --pggan "$WORK/repros/pggan"
    echo "=== data: exit $? at $(elapsed) s"
fi
if [ -f "$WORK/done/check" ]; then
    echo "=== check: done in an earlier call (rm $WORK/done/check to run it again)"
else
    BUDGET_S=$CHECK_S OUT="$STAGE/check" timeout -k 5 $(( CHECK_S + 15 )) bash benchmarks/gpu_check.sh
    echo "=== check: exit $? at $(elapsed) s"
    if "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null \
        && [ -f "$STAGE/check/gpu_check.md" ]; then
        date -u +%FT%TZ > "$WORK/done/check"
    fi
fi

left=$(( TOTAL_S - $(elapsed) - PACK_S ))
BUDGET_S=$left OUT="$STAGE/repros" timeout -k 5 $(( left + 5 )) bash benchmarks/gpu_repros.sh
echo "=== repros: exit $? at $(elapsed) s"

{
    echo "# GPU runbook, $(date -u +%F)"
    echo
    echo "\`bash benchmarks/gpu_all.sh\`: $(elapsed) s of ${TOTAL_S}. Each part's files are in results.tar.gz"
    echo "(stage/check, stage/repros/NAME). Exit 124 or 137: stopped by the part's time cap."
    echo
    echo "## Check (benchmarks/gpu_check.sh)"
    echo
    echo "| part | exit | seconds | note |"
    echo "| --- | --- | --- | --- |"
    awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$STAGE/check/parts.tsv" 2>/dev/null
    echo
    echo "## Reproductions (benchmarks/gpu_repros.sh)"
    echo
    echo "| part | exit | seconds | verdict / note |"
    echo "| --- | --- | --- | --- |"
    awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$STAGE/repros/parts.tsv" 2>/dev/null
} > "$FINAL/summary.md"
# an archive within the tool's 16 MiB a file: no checkpoints or data (the DDP check's checkpoint alone took
# 20 MB on 2026-12-04 and the archive did not come back); figures are the first thing to go when it is larger
NOT_PACKED=(--exclude='*.pt' --exclude='*.safetensors' --exclude='*.npz' --exclude='*.npz.xz')
tar czf "$FINAL/results.tar.gz" "${NOT_PACKED[@]}" -C "$WORK" stage done
if (( $(stat -c %s "$FINAL/results.tar.gz") > 15 * 1048576 )); then
    echo "=== results.tar.gz over 15 MiB: packed again without the PNG figures"
    tar czf "$FINAL/results.tar.gz" "${NOT_PACKED[@]}" --exclude='*.png' -C "$WORK" stage done
fi
echo "=== gpu_all: done in $(elapsed) s: $FINAL/summary.md, $FINAL/results.tar.gz, $FINAL/gpu_all.log"
exit 0
