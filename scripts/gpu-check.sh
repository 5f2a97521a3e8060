#!/usr/bin/env bash
# The GPU check: one run on a lent GPU machine that settles the defaults first, ends by itself within
# 325 s, and returns what it measured whatever ends it.
#
# The call to make (printed again when the script starts):
#   command:   bash scripts/gpu-check.sh
#   carry:     [".whl", ".data"]   .whl: ../shared/device/wheels.sh .whl (Optuna and what it needs);
#                                  .data: cifar10-jpeg.tar.gz alone (the folder must stay under 64 MiB)
#   timeout_s: 330                 two tries fit 15 minutes of device time: 2 x (330 s + a 2-minute start)
#
# Parts, in this order, each under its own limit (the limits add up to 330 s), each going on whatever
# the one before it did:
#   set-up (wheels, data archive, decode into the cache; stops in one line without CUDA),
#   the CUDA tests (SWEEP_REQUIRE_CUDA=1: a CUDA that pytest cannot see fails them),
#   the default study (20 trials x 10 epochs) in bf16, then in TF32, each with SWEEP_TIMINGS on,
#   sweep compare of the two (allowed to fail: it does not count in the exit code),
#   a trimmed benchmark (K in {20, 64} x {tf32, bf16}, grouped engine, no seed loop, no IEEE fp32),
#   torch.compile against eager at K = 20, last.
# No part starts after DEADLINE seconds, and each is cut to end by END seconds, so that the EXIT trap
# always has time to finish summary.txt and pack the logs. The benchmark appends each row to its file
# as it is measured.
#
# What comes back in $OUT (at most 8 files): summary.txt (each part's exit code and wall time, the
# study tables, and per study where the time goes: per step, per epoch, the fixed overhead, the top
# kernels), benchmark.md, benchmark-compile.md, report-bf16.md, report-tf32.md, compare.md,
# everything.tar.gz (logs, timings, both reports with plots, both study databases, the comparison).
#
# Rehearsal without a GPU: GPU_CHECK_CPU=1 runs every part on the CPU (studies with --subset 500
# --epochs 1 and 4 trials, fp32 in place of TF32, a small benchmark). GPU_CHECK_SKIP="bench-compile ..."
# leaves parts out.
set -uo pipefail
t0=$(date +%s)
out=${OUT:-gpu-out}
work=${WORK:-/tmp/gpu-check}
archive=${DATA_ARCHIVE:-.data/cifar10-jpeg.tar.gz}
py=${PYTHON:-python3}
cpu=${GPU_CHECK_CPU:-0}
skip=" ${GPU_CHECK_SKIP:-} "
deadline=${GPU_CHECK_DEADLINE:-285}  # seconds since start: no part starts later
end=${GPU_CHECK_END:-315}            # seconds since start: every part is over by then
slack=${GPU_CHECK_SLACK:-1}          # the part limits times this: a rehearsal on a busy CPU only
child=
worst=0
echo "gpu-check: the call: command 'bash scripts/gpu-check.sh', carry [\".whl\", \".data\"] (.data holding" \
  "cifar10-jpeg.tar.gz alone), timeout_s 330: ends by itself within $((end + 10)) s"
rm -rf "$work"  # a warm machine keeps /tmp: never report an earlier run's studies as this one's
mkdir -p "$out" "$work/logs"
summary="$out/summary.txt"
: > "$summary"

finish() {  # whatever ends the run: the last lines of summary.txt, then everything packed
  local rc=$?
  trap - EXIT
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then  # a signal to this script: end the part first,
    kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null  # so that no half-written file is packed
  fi
  echo "gpu-check: ended after $(( $(date +%s) - t0 )) s (exit code $rc, worst part $worst)" >> "$summary"
  local keep=()
  for f in logs timings-bf16.json timings-tf32.json timings-fp32.json report-bf16 report-tf32 report-fp32 \
           bf16.db tf32.db fp32.db compare; do
    [ -e "$work/$f" ] && keep+=("$f")
  done
  tar czf "$out/everything.tar.gz" -C "$work" "${keep[@]}" 2>/dev/null
  echo "files in $out: $(ls "$out" | tr '\n' ' ')" >> "$summary"
  exit "$rc"
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

stop() {  # one line; the trap packs what there is
  echo "gpu-check: stopped: $*" | tee -a "$summary" >&2
  exit 3
}

timed() {  # timed NAME LIMIT COMMAND...: under min(LIMIT, time to END); log; exit code and wall time
  local name=$1 limit=$(( $2 * slack )); shift 2
  local now=$(( $(date +%s) - t0 ))
  if [[ "$skip" == *" $name "* ]]; then
    echo "$name: skipped (GPU_CHECK_SKIP)" | tee -a "$summary"
    return 0
  fi
  if (( now >= deadline )); then
    echo "$name: not started: $now s gone, past the deadline of $deadline s" | tee -a "$summary"
    return 124
  fi
  (( limit > end - now - 5 )) && limit=$(( end - now - 5 ))
  local start=$(date +%s%N)
  # In the background and waited for, so that a signal to this script reaches the trap at once.
  timeout -k 5 "$limit" "$@" > "$work/logs/$name.log" 2>&1 &
  child=$!
  wait $child
  local rc=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "$name: rc $rc, wall $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (limit $limit s, started at $now s)" \
    | tee -a "$summary"
  tail -n 5 "$work/logs/$name.log"
  return $rc
}

counted() {  # a part whose exit code counts towards the script's
  "$@"
  local rc=$?
  (( rc > worst )) && worst=$rc
  return $rc
}

# 1. set-up: the limits below add up to 330 s with the parts' (20 + 15 + 30 + 60 + 2 x 55 + 15 + 45 + 35)
if compgen -G ".whl/*.whl" > /dev/null; then
  timed setup-wheels 20 "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target "$work/site" .whl/*.whl || stop "installing the wheels in .whl/ failed (see logs/setup-wheels.log)"
fi
export PYTHONPATH=$PWD:$work/site:${PYTHONPATH:-} PYTHONUNBUFFERED=1
"$py" -c "import optuna, sweep" 2> "$work/logs/import.log" \
  || stop "cannot import optuna and sweep: carry .whl/ (../shared/device/wheels.sh .whl)"
[ -f "$archive" ] || stop "no data archive at $archive: carry .data/ with cifar10-jpeg.tar.gz"
mkdir -p "$work/cifar"
timed setup-data 15 tar xzf "$archive" -C "$work/cifar" || stop "cannot unpack $archive"
data=$(dirname "$(find "$work/cifar" -maxdepth 3 -type d -name train | head -n 1)")
[ -d "$data/test" ] || stop "no train/ and test/ folders in $archive"
if [ "$cpu" = 1 ]; then
  device=cpu precisions="bf16 fp32" study=(--trials 4 --subset 500 --epochs 1)
  bench=(--precisions bf16 --ks 2 --steps 2 --rounds 1)
  compile=(--precisions bf16 --ks 1 --steps 2 --rounds 1 --compile)
  echo "rehearsal on the CPU: $("$py" -c "from sweep.training.runtime import machine_name; import torch;
print(machine_name(torch.device('cpu')))")" | tee -a "$summary"
else
  "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> "$work/logs/cuda.log" \
    || stop "no CUDA device here (torch.cuda.is_available() is False)"
  device=cuda precisions="bf16 tf32" study=(--trials 20)
  bench=(--precisions tf32,bf16 --ks 20,64 --steps 50 --rounds 3)
  compile=(--precisions tf32 --ks 20 --steps 50 --rounds 3 --compile)
  export SWEEP_REQUIRE_CUDA=1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$summary"
fi
"$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$summary"
common=(--data-dir "$data" --cache-dir "$work/cache" --device "$device")
timed decode 30 "$py" -c "from sweep.training.data import load; d = load('$data', '$work/cache'); print(len(d.train_y))" \
  || stop "decoding the data failed (see logs/decode.log)"

# 2. correctness before speed
counted timed cuda-tests 60 "$py" -m pytest -q -m cuda -p no:cacheprovider tests/test_cuda.py

# 3. the decisions: the default study in each math mode, where its time goes, and the two compared
for precision in $precisions; do
  export SWEEP_TIMINGS="$work/timings-$precision.json"
  counted timed "study-$precision" 55 \
    "$py" -m sweep run "${study[@]}" --workers 1 --batch-trials auto --precision "$precision" "${common[@]}" \
    --study-name "gpu-$precision" --storage "sqlite:///$work/$precision.db" --report-dir "$work/report-$precision" \
    --checkpoint-dir "$work/checkpoints-$precision"
  unset SWEEP_TIMINGS
  grep -A6 "^ *n  *train_acc" "$work/logs/study-$precision.log" >> "$summary"
  "$py" -m sweep.bench.summary "$work/timings-$precision.json" --title "study-$precision" >> "$summary" 2>&1
  cp "$work/report-$precision/README.md" "$out/report-$precision.md" 2>/dev/null
done
set -- $precisions  # A: the GPU's default (TF32; fp32 in a rehearsal), B: bf16
timed compare 15 "$py" -m sweep compare "gpu-$2" "gpu-$1" --storage "sqlite:///$work/$2.db" \
  --storage-b "sqlite:///$work/$1.db" --out "$work/compare" \
  && cp "$work/compare/README.md" "$out/compare.md" 2>/dev/null

# 4. speed: the trimmed benchmark, then torch.compile last
counted timed bench 45 "$py" -m sweep bench "${common[@]}" "${bench[@]}" --engines grouped --no-seed-loop \
  --out "$out/benchmark.md"
counted timed bench-compile 35 "$py" -m sweep bench "${common[@]}" "${compile[@]}" --engines grouped --no-seed-loop \
  --out "$out/benchmark-compile.md"
echo "gpu-check: done (worst exit code $worst)"
exit "$worst"
