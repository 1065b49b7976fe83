#!/usr/bin/env bash
# The GPU check: run it first and unchanged whenever a GPU is at hand, then put its output (gpu_check.md, the
# JSON files) into the docs with the device named.
#
#     bash benchmarks/gpu_check.sh            # from the repository root; results in $OUT or ./gpu_check_out/
#
# At most 8 minutes on one GPU: the parts run in order of importance, each under its own `timeout`, and a part
# that would overrun the overall budget (BUDGET_S, 450 s) is skipped with a message. A failing part never
# stops the others. Without CUDA (a dry run on the CPU) every GPU part prints why it is skipped, one tiny CPU
# bench checks the bench command line, and the script exits 0.
#
# Parts, most important first: nvidia-smi and torch; `ganforge bench` of DCGAN 32x32 at batch 64 with every
# eager switch, then with bf16 + channels_last + fused Adam + torch.compile with CUDA graphs (the 3x target),
# each with the plain PyTorch loop in the same run; `pytest -m cuda`; benchmarks/gpu_ddp_check.sh (torchrun
# over NCCL) and benchmarks/gpu_pacgan_check.sh if present; DCGAN at batch 256 (the share of the bf16 matmul
# peak); sngan, resnet and pggan at batch 64 and 256 with the eager switches; then, as the budget allows,
# the compiled rows one process each (DCGAN at 256, each compile mode, the other families).
set -u
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT_DIR"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
BUDGET_S="${BUDGET_S:-450}"
START_S=$(date +%s)
SUMMARY="$OUT_DIR/parts.tsv"
: > "$SUMMARY"
exec > >(tee "$OUT_DIR/gpu_check.log") 2>&1

elapsed() { echo $(( $(date +%s) - START_S )); }

# part NAME LIMIT_S CMD...: run CMD under `timeout`, shortened to what is left of the budget; record its exit code
part() {
    local name=$1 limit=$2 left rc t0
    shift 2
    left=$(( BUDGET_S - $(elapsed) ))
    if (( left < 15 )); then
        echo "=== $name: skipped: the ${BUDGET_S} s budget is spent ($(elapsed) s elapsed)"
        printf '%s\tskipped\t0\n' "$name" >> "$SUMMARY"
        return 0
    fi
    (( limit > left )) && limit=$left
    echo "=== $name (limit ${limit} s, $(elapsed) s elapsed)"
    t0=$(date +%s)
    timeout -k 5 "$limit" "$@"
    rc=$?
    (( rc == 124 || rc == 137 )) && echo "=== $name: stopped by its ${limit} s timeout"
    echo "=== $name: exit $rc after $(( $(date +%s) - t0 )) s"
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" >> "$SUMMARY"
    return 0
}

skip() {  # skip NAME REASON
    echo "=== $1: skipped: $2"
    printf '%s\tskipped\t0\n' "$1" >> "$SUMMARY"
}

# Fashion-MNIST presets: the IDX files in data/fashion-mnist when the coordinator copied them there; without
# them the bench falls back to random images of the data's shape (one channel)
FASHION_ARGS="data.channels=1"
[ -d data/fashion-mnist ] && FASHION_ARGS="$FASHION_ARGS data.root=data/fashion-mnist"

# bench TAG PRESET BATCH DEVICE [bench options and overrides]: markdown to bench_TAG.md, JSON to bench_TAG.json
bench() {
    local tag=$1 preset=$2 batch=$3 device=$4 extra="" rc
    shift 4
    [[ $preset == *fashion* ]] && extra=$FASHION_ARGS
    # shellcheck disable=SC2086  # extra holds separate overrides
    "$PY" -m ganforge bench "$preset" --batch "$batch" --json "$OUT_DIR/bench_$tag.json" "$@" \
        train.device="$device" $extra > "$OUT_DIR/bench_$tag.md"
    rc=$?
    cat "$OUT_DIR/bench_$tag.md"
    return $rc
}
export -f bench
export PY OUT_DIR FASHION_ARGS

echo "=== gpu_check: $(date -u +%FT%TZ), output in $OUT_DIR"
part info 20 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -4; \
  $PY -c 'import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"available\", torch.cuda.is_available())'"

if "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    CUDA=1
else
    CUDA=0
    WHY="no CUDA device visible to torch"
fi

FAMILIES=(sngan_fashion sngan_resnet_cifar10 pggan_fashion)  # dcgan_fashion first, on its own
COMMON=(--steps 10 --rounds 2 --warmup 3)
EAGER=(--switch channels_last --switch adam=foreach --switch adam=fused --switch bf16 --switch fp16)
# each compiled row in its own process, so a slow compilation costs only its own part
gpu_bench() {  # gpu_bench TAG PRESET BATCH LIMIT_S [--switch ...]
    local tag=$1 preset=$2 batch=$3 limit=$4
    shift 4
    part "$tag" "$limit" bash -c 'bench "$@"' _ "$tag" "$preset" "$batch" cuda "${COMMON[@]}" "$@"
}

if (( CUDA )); then
    gpu_bench dcgan_b64 dcgan_fashion 64 60 "${EAGER[@]}"
    gpu_bench dcgan_b64_cudagraphs dcgan_fashion 64 100 --switch best=bf16+cudagraphs
    part pytest_cuda 100 "$PY" -m pytest -m cuda -q -p no:cacheprovider --continue-on-collection-errors tests
else
    skip dcgan_b64 "$WHY"
    skip pytest_cuda "$WHY"
fi

# each check's limit; pacgan-table1 trains PACGAN_TIME_LIMIT seconds, then draws, evaluates and saves
declare -A CHECK_LIMIT=([ddp]=60 [pacgan]=150)
export PACGAN_TIME_LIMIT="${PACGAN_TIME_LIMIT:-60}"
for check in ddp pacgan; do
    script="benchmarks/gpu_${check}_check.sh"
    if (( ! CUDA )); then
        skip "$check" "$WHY"
    elif [ -f "$script" ]; then
        mkdir -p "$OUT_DIR/$check"
        part "$check" "${CHECK_LIMIT[$check]}" env OUT="$OUT_DIR/$check" bash "$script"
    else
        skip "$check" "no $script"
    fi
done

if (( CUDA )); then
    gpu_bench dcgan_b256 dcgan_fashion 256 40 --switch channels_last --switch adam=fused --switch bf16
    for preset in "${FAMILIES[@]}"; do
        for batch in 64 256; do
            gpu_bench "${preset}_b$batch" "$preset" "$batch" 40 "${EAGER[@]}"
        done
    done
    gpu_bench dcgan_b256_cudagraphs dcgan_fashion 256 80 --switch best=bf16+cudagraphs
    gpu_bench dcgan_b64_compile dcgan_fashion 64 80 --switch compile
    gpu_bench dcgan_b64_compile_cudagraphs dcgan_fashion 64 80 --switch compile=cudagraphs
    gpu_bench dcgan_b64_bf16_compile dcgan_fashion 64 80 --switch best=bf16+compile
    for preset in "${FAMILIES[@]}"; do
        gpu_bench "${preset}_b64_cudagraphs" "$preset" 64 80 --switch best=bf16+cudagraphs
    done
else
    skip dcgan_b256 "$WHY"
    for preset in "${FAMILIES[@]}"; do
        skip "$preset" "$WHY"
    done
    # the dry run still proves the bench command line that the GPU parts use, on a tiny CPU run
    part cpu_plumbing 300 bash -c 'bench "$@"' _ cpu_plumbing dcgan_fashion 8 cpu --steps 1 --rounds 1 \
        --warmup 1 --switch adam=foreach
fi

{
    echo "# GPU check, $(date -u +%F)"
    echo
    echo "| part | exit | seconds |"
    echo "| --- | --- | --- |"
    awk -F'\t' '{printf "| %s | %s | %s |\n", $1, $2, $3}' "$SUMMARY"
    for md in "$OUT_DIR"/bench_*.md; do
        [ -s "$md" ] || continue
        echo
        echo "## $(basename "$md" .md)"
        echo
        cat "$md"
    done
} > "$OUT_DIR/gpu_check.md"
echo "=== done in $(elapsed) s: $OUT_DIR/gpu_check.md, $OUT_DIR/bench_*.json, $OUT_DIR/gpu_check.log"
exit 0
