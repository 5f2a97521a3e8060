"""The cluster recipes as a scheduler would run them: scripts/slurm-array.sh as two array tasks at once."""

import os
import subprocess
import uuid
from collections import Counter

import optuna

from tests.conftest import ROOT

COMPLETE, RUNNING = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING


def test_the_slurm_script_as_two_array_tasks_at_once_runs_every_cell_once(postgres_url, folder_data, tmp_path):
    name = f"slurm-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "SWEEP_STORAGE": postgres_url, "SWEEP_STUDY": name, "SWEEP_TRIALS": "4",
           "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    extra = ["--epochs", "1", "--data-dir", str(folder_data), "--cache-dir", str(tmp_path / "cache"),
             "--device", "cpu", "--workers", "1"]
    procs = [subprocess.Popen(["bash", str(ROOT / "scripts" / "slurm-array.sh"), *extra], cwd=tmp_path,
                              env={**env, "SLURM_ARRAY_TASK_ID": str(task)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for task in range(2)]
    ended = [(p.communicate(timeout=600), p.returncode) for p in procs]
    for (out, err), code in ended:
        assert code == 0 and "Traceback" not in err, err
        assert "array task" in out
    trials = optuna.load_study(study_name=name, storage=postgres_url).trials
    assert Counter(t.user_attrs["cell"] for t in trials if t.state == COMPLETE) == Counter(
        {"eps=0/seed=0": 1, "eps=0.05/seed=0": 1, "eps=0.1/seed=0": 1, "eps=0.2/seed=0": 1})
    assert RUNNING not in {t.state for t in trials}


def test_the_kubernetes_job_runs_sweep_as_pid_1_with_a_grace_period():
    text = (ROOT / "scripts" / "k8s-job.yaml").read_text()
    # No shell in between: the kubelet's SIGTERM must reach sweep itself (see test_faults' PID 1 test).
    assert 'command: ["python", "-m", "sweep", "run"' in text
    assert "terminationGracePeriodSeconds: 30" in text and "restartPolicy: OnFailure" in text
