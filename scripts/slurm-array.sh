#!/usr/bin/env bash
# A SLURM job array for one sweep study: every task runs the same command against the same
# PostgreSQL database; each cell is popped from the study's queue exactly once, so the tasks share the work out alone.
#
#   SWEEP_STORAGE=postgresql://user:pass@dbhost/sweep sbatch scripts/slurm-array.sh --data-dir ~/cifar10
#
# At the time limit (or on preemption, or scancel) SLURM sends SIGTERM and, KillWait seconds later
# (30 by default), SIGKILL. sweep ends on SIGTERM in a few seconds: the epoch in progress is dropped,
# the last finished epoch's checkpoint is kept, the task's cells are handed back at once, exit 143.
# Resubmit the same script and the study goes on from those checkpoints (--requeue covers node
# failure and preemption, not the time limit);
# the checkpoint folder must be on a filesystem every node sees for a cell to resume on another node.
# When every cell is done: python -m sweep report --storage "$SWEEP_STORAGE".
#
#SBATCH --job-name=sweep
#SBATCH --array=0-3
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --time=02:00:00
#SBATCH --requeue
#SBATCH --output=sweep-%A_%a.log

set -euo pipefail
: "${SWEEP_STORAGE:?set SWEEP_STORAGE to the study database, e.g. postgresql://user:pass@dbhost/sweep}"
echo "array task ${SLURM_ARRAY_TASK_ID:-?} on $(hostname)"
# exec: python becomes the task's main process, so SLURM's SIGTERM reaches sweep itself.
exec "${PYTHON:-python3}" -m sweep run --storage "$SWEEP_STORAGE" --study-name "${SWEEP_STUDY:-label-smoothing}" \
  --trials "${SWEEP_TRIALS:-20}" --no-report "$@"
