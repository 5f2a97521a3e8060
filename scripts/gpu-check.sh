#!/usr/bin/env bash
# One GPU check: the benchmark on CUDA, then the full default study (20 trials x 10 epochs) with
# --batch-trials auto, timed. Expects the Optuna wheels in .whl/ and the CIFAR-10 JPEG archive in
# .data/ (both git-ignored), and writes what it measured to $OUT (or ./gpu-out).
set -euo pipefail
out=${OUT:-gpu-out}
mkdir -p "$out" /tmp/cifar
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH=$PWD:/tmp/site PYTHONUNBUFFERED=1
tar xzf .data/cifar10-jpeg.tar.gz -C /tmp/cifar
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
python3 -m sweep bench --data-dir /tmp/cifar --cache-dir /tmp/cache --device cuda --steps 200 --ks 5,10,20 \
  --precisions fp32,bf16 --out "$out/benchmark.md" 2>&1 | tee "$out/bench.log"
start=$(date +%s.%N)
python3 -m sweep run --trials 20 --batch-trials auto --data-dir /tmp/cifar --cache-dir /tmp/cache --device cuda \
  --storage "sqlite:////tmp/gpu-study.db" --report-dir "$out/report" 2>&1 | tee "$out/study.log"
echo "full default study wall time: $(echo "$(date +%s.%N) - $start" | bc) s" | tee -a "$out/study.log"
cp /tmp/gpu-study.db "$out/" 2>/dev/null || true
