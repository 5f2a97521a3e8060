#!/usr/bin/env bash
# One GPU check, in three timed parts: the benchmark on CUDA (seed loop, one trial, both batched
# engines at K = 5, 10, 20, fp32 and bf16); the full default study (20 trials x 10 epochs) with
# --batch-trials auto; the same 20 cells in bf16, for the precision check (5 seeds per eps).
# Expects the Optuna wheels in .whl/ (../shared/device/wheels.sh .whl) and the CIFAR-10 JPEG
# archive in .data/ (both git-ignored); writes what it measured to $OUT (or ./gpu-out).
set -uo pipefail
out=${OUT:-gpu-out}
mkdir -p "$out" /tmp/cifar
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH=$PWD:/tmp/site PYTHONUNBUFFERED=1
tar xzf .data/cifar10-jpeg.tar.gz -C /tmp/cifar
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
common=(--data-dir /tmp/cifar --cache-dir /tmp/cache --device cuda)

timed() {  # timed NAME LIMIT_S COMMAND...: runs it, logs it, prints its wall time
  local name=$1 limit=$2; shift 2
  local start; start=$(date +%s.%N)
  timeout "$limit" "$@" > "$out/$name.log" 2>&1; local rc=$?
  tail -n 30 "$out/$name.log"
  echo "$name: rc $rc, wall $(echo "$(date +%s.%N) - $start" | bc) s" | tee -a "$out/times.txt"
}

timed bench 200 python3 -m sweep bench "${common[@]}" --steps 100 --rounds 3 --ks 5,10,20 \
  --precisions fp32,bf16 --out "$out/benchmark.md"
timed study-fp32 150 python3 -m sweep run --trials 20 --batch-trials auto "${common[@]}" \
  --storage sqlite:////tmp/fp32.db --report-dir "$out/report-fp32"
timed study-bf16 150 python3 -m sweep run --trials 20 --batch-trials auto --precision bf16 "${common[@]}" \
  --storage sqlite:////tmp/bf16.db --report-dir "$out/report-bf16"
cp /tmp/fp32.db /tmp/bf16.db "$out/" 2>/dev/null || true
