"""The scripts in scripts/ as they are run: the SLURM array as two tasks at once, the Kubernetes Job, the GPU check."""

import os
import subprocess
import sys
import uuid
from collections import Counter

import optuna

from tests.conftest import ROOT, write_folders

COMPLETE, RUNNING = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING


def test_the_slurm_script_as_two_array_tasks_at_once_runs_every_cell_once(postgres_url, folder_data, tmp_path):
    name = f"slurm-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHON": sys.executable, "SWEEP_STORAGE": postgres_url, "SWEEP_STUDY": name, "SWEEP_TRIALS": "4",
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


def test_the_gpu_check_stops_in_one_line_without_cuda_and_leaves_at_most_8_files(folder_data, tmp_path):
    """The device returns at most 8 files from $OUT; without CUDA the check must stop right after set-up."""
    import tarfile

    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the check would run in full")
    archive = tmp_path / "cifar.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder_data, arcname="cifar10-jpeg")
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "WORK": str(tmp_path / "work"), "DATA_ARCHIVE": str(archive),
           "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == ["gpu-check: stopped: no CUDA device here (torch.cuda.is_available() "
                                                "is False)"]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert 0 < len(files) <= 8 and {p.name for p in files} == {"summary.txt", "everything.tar.gz"}


def test_the_gpu_check_rehearsed_on_the_cpu_returns_every_part_and_section_in_at_most_8_files(tmp_path):
    """GPU_CHECK_CPU=1 runs each part on the CPU (studies on a 500-image subset for one epoch); torch.compile's
    part is left out here for time (its cold compile takes a minute on a small CPU)."""
    import tarfile

    data = write_folders(tmp_path / "cifar10-jpeg", train_per_class=60, test_per_class=10)  # bench needs 512
    archive = tmp_path / "cifar.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(data, arcname="cifar10-jpeg")
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "WORK": str(tmp_path / "work"), "DATA_ARCHIVE": str(archive),
           "PYTHON": sys.executable, "GPU_CHECK_CPU": "1", "GPU_CHECK_SKIP": "bench-compile",
           # The limits fit a GPU; a busy 2-core CPU gets room, so the test checks the parts, not the machine.
           "GPU_CHECK_SLACK": "4", "GPU_CHECK_DEADLINE": "1140", "GPU_CHECK_END": "1260"}
    env.pop("SWEEP_REQUIRE_CUDA", None)
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1300)
    summary = (out / "summary.txt").read_text()
    assert done.returncode == 0, summary + done.stderr
    assert done.stdout.startswith("gpu-check: the call: command 'bash scripts/gpu-check.sh', carry")
    for part in ("decode", "cuda-tests", "study-bf16", "study-fp32", "bench"):
        assert f"\n{part}: rc 0, wall " in summary, part
    assert "\ncompare: rc " in summary and "bench-compile: skipped" in summary  # compare may fail: not counted
    for study in ("study-bf16", "study-fp32"):
        section = summary.split(f"== where the time goes: {study} ==")[1].split("== where the time goes")[0]
        for head in ("-- per step --", "-- per epoch --", "-- fixed overhead --", "-- top kernels --"):
            assert head in section, (study, head)
        assert "GPU time per step (CUDA events): n/a (cpu)" in section and "not recorded" not in section
        for phase in ("import", "data load", "open study", "data to device", "first-step autotune",
                      "database writes", "checkpoint", "report", "total wall"):
            assert f"\n  {phase}" in section, (study, phase)
    assert "gpu-check: ended after" in summary
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= 8 and {"summary.txt", "everything.tar.gz", "benchmark.md"} <= {p.name for p in files}
    assert "## Rows as measured" in (out / "benchmark.md").read_text()
    with tarfile.open(out / "everything.tar.gz") as tar:
        names = tar.getnames()
    assert {"logs/study-bf16.log", "timings-bf16.json", "bf16.db", "fp32.db"} <= set(names)
