#!/usr/bin/env bash
# The GPU check: one run on a lent GPU machine, about 6 minutes, each part under its own limit.
#   1. set-up: the Optuna wheels from .whl/ (../shared/device/wheels.sh .whl), CIFAR-10 from
#      .data/cifar10-jpeg.tar.gz (or $DATA_ARCHIVE), decoded once into the cache; stops in one line
#      if any of it fails or there is no CUDA device;
#   2. the CUDA tests (pytest -m cuda): correctness before speed;
#   3. the benchmark on CUDA (IEEE fp32, TF32 and bf16, K = 5 to 64), then eager against torch.compile;
#   4. the default study (20 trials x 10 epochs) in TF32 and in bf16.
# What comes back (the device returns at most 8 files): $OUT/summary.txt (each part's exit code and
# wall time, and the study tables), $OUT/benchmark.md, $OUT/benchmark-compile.md, $OUT/report-tf32.md,
# $OUT/report-bf16.md, and
# $OUT/everything.tar.gz (logs, both reports with plots, both study databases).
set -uo pipefail
out=${OUT:-gpu-out}
work=${WORK:-/tmp/gpu-check}
archive=${DATA_ARCHIVE:-.data/cifar10-jpeg.tar.gz}
py=${PYTHON:-python3}
worst=0
rm -rf "$work"  # a warm machine keeps /tmp: never report an earlier run's studies as this one's
mkdir -p "$out" "$work/logs"
summary="$out/summary.txt"
: > "$summary"

stop() {  # one line, then pack what there is
  echo "gpu-check: stopped: $*" | tee -a "$summary" >&2
  tar czf "$out/everything.tar.gz" -C "$work" logs 2>/dev/null
  exit 3
}

timed() {  # timed NAME LIMIT_S COMMAND...: run under a limit, log, record exit code and wall time
  local name=$1 limit=$2; shift 2
  local start=$(date +%s%N)
  timeout -k 15 "$limit" "$@" > "$work/logs/$name.log" 2>&1
  local rc=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$rc" -gt "$worst" ] && worst=$rc
  echo "$name: rc $rc, wall $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (limit $limit s)" | tee -a "$summary"
  tail -n 15 "$work/logs/$name.log"
  return $rc
}

# 1. set-up
if compgen -G ".whl/*.whl" > /dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$work/site" .whl/*.whl \
    > "$work/logs/pip.log" 2>&1 || stop "installing the wheels in .whl/ failed (see logs/pip.log)"
fi
export PYTHONPATH=$PWD:$work/site:${PYTHONPATH:-} PYTHONUNBUFFERED=1
"$py" -c "import optuna, sweep" 2> "$work/logs/import.log" \
  || stop "cannot import optuna and sweep: carry .whl/ (../shared/device/wheels.sh .whl)"
[ -f "$archive" ] || stop "no data archive at $archive: carry .data/ with cifar10-jpeg.tar.gz"
mkdir -p "$work/cifar" && tar xzf "$archive" -C "$work/cifar" || stop "cannot unpack $archive"
data=$(dirname "$(find "$work/cifar" -maxdepth 3 -type d -name train | head -n 1)")
[ -d "$data/test" ] || stop "no train/ and test/ folders in $archive"
"$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> "$work/logs/cuda.log" \
  || stop "no CUDA device here (torch.cuda.is_available() is False)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$summary"
"$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$summary"
common=(--data-dir "$data" --cache-dir "$work/cache" --device cuda)
timed decode 120 "$py" -c "from sweep.data import load; d = load('$data', '$work/cache'); print(len(d.train_y), len(d.test_y))" \
  || stop "decoding the data failed (see logs/decode.log)"

# 2-4. the checks; each goes on whatever the one before it did
timed cuda-tests 60 "$py" -m pytest -q -m cuda -p no:cacheprovider tests/test_cuda.py
timed bench 90 "$py" -m sweep bench "${common[@]}" --steps 50 --rounds 3 --ks 5,10,20,40,64 --engines grouped \
  --precisions fp32,tf32,bf16 --out "$out/benchmark.md"
timed bench-compile 75 "$py" -m sweep bench "${common[@]}" --steps 50 --rounds 3 --ks 20 --engines grouped \
  --precisions tf32 --compile --out "$out/benchmark-compile.md"
for precision in tf32 bf16; do
  timed "study-$precision" 60 "$py" -m sweep run --trials 20 --batch-trials auto --precision "$precision" \
    "${common[@]}" --storage "sqlite:///$work/$precision.db" --report-dir "$work/report-$precision" \
    --checkpoint-dir "$work/checkpoints-$precision"
  grep -A6 "^ *n  *train_acc" "$work/logs/study-$precision.log" >> "$summary"
  cp "$work/report-$precision/README.md" "$out/report-$precision.md" 2>/dev/null
done
tar czf "$out/everything.tar.gz" -C "$work" logs report-tf32 report-bf16 tf32.db bf16.db 2>/dev/null
echo "gpu-check: done (worst exit code $worst); files in $out: $(ls "$out" | tr '\n' ' ')"
exit "$worst"
