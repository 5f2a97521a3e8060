"""The GPU path, checked before it is measured: `python -m pytest -m cuda` on a machine with CUDA.

Without CUDA these tests skip, unless SWEEP_REQUIRE_CUDA=1 (the GPU check sets it): then each one fails,
so that a machine whose CUDA pytest cannot see is not taken for a pass (see conftest.py).

Tolerances, as relative errors over all of a model's gradients (‖g − g64‖ / ‖g64‖ against float64):
- IEEE fp32, any cuDNN algorithm: at most 1e-4 (float32 rounding; 3e-6 to 3e-5 measured on a CPU);
- TF32 (10-bit mantissa, unit roundoff 2^-11): at most 2e-2, expected a few 1e-3; and at least 10 times
  fp32's error, so that TF32 is known to be in effect;
- bf16 autocast (8-bit mantissa, 2^-8): at most 1.5e-1, expected a few 1e-2 (3e-2 to 5e-2 measured with
  bf16 autocast on an AMD EPYC with avx512_bf16).
A mix-up between the batched models shows at order 1 in all of them.
"""

import math
from contextlib import nullcontext
from dataclasses import replace

import optuna
import pytest
import torch

from sweep.training.checkpoint import Snapshot, load_checkpoint, save_checkpoint
from sweep.training.model import init_model
from sweep.protocol import Protocol
from sweep.training.runtime import math_mode
from sweep.training.train import Stack, _stacked_adam_state, _train_epoch, prepared, smoothed_cross_entropy, train
from tests.test_model_train import (assert_same_history, assert_same_weights, check_resume_across_group_sizes,
                                     comparable, tiny)

pytestmark = pytest.mark.cuda  # skipped, or failed under SWEEP_REQUIRE_CUDA=1, without CUDA: conftest.py
CUDA = torch.device("cuda")
K = 20  # the default study's group: 20 cells, all at once on one GPU
FP32_REL, TF32_REL, BF16_REL = 1e-4, 2e-2, 1.5e-1
GROUPED_DRIFT = 1e-2  # after an epoch of Adam in fp32: see test_grouped_equals_alone_...


@pytest.fixture
def autotuned():
    """cuDNN times its algorithms per shape, as `sweep run` sets it (runtime.use_fast_kernels)."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    yield
    torch.backends.cudnn.benchmark = before


def snapshots(protocols, data, *, resume=None, dtype=torch.float64):
    got = {}
    histories = train(protocols, data.to(CUDA), CUDA, resume=resume, dtype=dtype,
                      on_epoch=lambda e, h, ckpt: got.update({k: ckpt(k) for k in range(len(protocols))}))
    return [got[k] for k in range(len(protocols))], histories


def batch(k: int, b: int = 128, seed: int = 0):
    """Each of k models' own batch of b images (drawn with replacement from the tiny set), as uint8 indices."""
    data = tiny(per_class=64)
    idx = torch.randint(0, len(data.train_y), (k, b), generator=torch.Generator().manual_seed(seed))
    return data, idx


def step_grads(seeds, data, idx, eps, precision: str, dtype=torch.float32) -> list[torch.Tensor]:
    """One training step's gradients taken as `train` takes them; per model, all its gradients in one vector."""
    stack = Stack(seeds, CUDA, dtype=dtype)
    x = prepared(data.train_x.to(CUDA), torch.bfloat16 if precision == "bf16" else dtype)[idx.to(CUDA)]
    y = data.train_y.to(CUDA)[idx.to(CUDA)]
    autocast = torch.autocast(CUDA.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    with math_mode(CUDA, precision):
        with autocast:
            logits = stack.logits(x)
        smoothed_cross_entropy(logits, y, eps.to(CUDA)).sum().backward()
    return [torch.cat([p.grad[k].double().flatten() for p in stack.params.values()]).cpu()
            for k in range(len(seeds))]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


def test_grouped_gradients_equal_alone_in_fp32_with_autotuning_at_k_20(autotuned):
    data, idx = batch(K)
    eps = torch.linspace(0, 0.2, K)
    grouped = step_grads(list(range(K)), data, idx, eps, "fp32")
    for k in range(K):
        (alone,) = step_grads([k], data, idx[k:k + 1], eps[k:k + 1], "fp32")
        assert rel(grouped[k], alone) <= FP32_REL, k
    assert rel(grouped[0], grouped[1]) > 0.1  # the models differ: equal gradients would be a mix-up


def test_grouped_equals_alone_after_an_epoch_as_the_study_runs_it(autotuned):
    """fp32 (IEEE), cuDNN autotuning, K = 20, 20 steps of Adam. Rounding differs between cuDNN's grouped and
    single-model algorithms, and Adam normalises each element's step, so an element whose gradient is near
    zero can step the other way: the weights' displacement from their start may differ by GROUPED_DRIFT
    relative; a mix-up of models differs by order 1."""
    data = tiny(per_class=64)  # 640 images / batch 32 = 20 steps
    protocols = [Protocol(epochs=1, batch_size=32, seed=s, label_smoothing=0.01 * s, precision="fp32")
                 for s in range(K)]
    start = [init_model(s).state_dict() for s in range(K)]
    grouped, grouped_hist = snapshots(protocols, data, dtype=torch.float32)
    for k, p in enumerate(protocols):
        (alone,), (alone_hist,) = snapshots([p], data, dtype=torch.float32)
        moved = torch.cat([(alone.model[n] - start[k][n]).flatten() for n in start[k]])
        diff = torch.cat([(grouped[k].model[n] - alone.model[n]).flatten() for n in start[k]])
        assert (diff.norm() / moved.norm()).item() <= GROUPED_DRIFT, k
        assert grouped_hist[k][-1]["train_loss_running"] == pytest.approx(alone_hist[-1]["train_loss_running"],
                                                                          rel=1e-3)


def test_tf32_and_bf16_gradients_against_float64_with_tf32_in_effect(autotuned):
    data, idx = batch(3)
    eps = torch.tensor([0.0, 0.1, 0.2])
    exact = step_grads([0, 1, 2], data, idx, eps, "fp32", torch.float64)
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    err = {mode: max(rel(g, e) for g, e in zip(step_grads([0, 1, 2], data, idx, eps, mode), exact))
           for mode in ("fp32", "tf32", "bf16")}
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before  # restored
    assert err["fp32"] <= FP32_REL, err
    assert 10 * err["fp32"] <= err["tf32"] <= TF32_REL, err  # TF32 differs from IEEE fp32: it is in effect
    assert err["bf16"] <= BF16_REL, err


def test_the_training_step_never_syncs_with_the_host(autotuned):
    """set_sync_debug_mode("error") raises on any host sync (.item(), .tolist(), a blocking copy)."""
    data = tiny(per_class=64).to(CUDA)
    stack = Stack([0, 1, 2], CUDA)
    opt = torch.optim.Adam(list(stack.params.values()), lr=1e-3, fused=True)
    gens = [torch.Generator().manual_seed(s) for s in range(3)]
    eps = torch.tensor([0.0, 0.1, 0.2], device=CUDA)
    x = prepared(data.train_x, torch.float32)
    with math_mode(CUDA, "tf32"):
        _train_epoch(stack, opt, x, data.train_y, gens, eps, 32, nullcontext(), CUDA)  # autotuning syncs: once
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            loss, acc = _train_epoch(stack, opt, x, data.train_y, gens, eps, 32, nullcontext(), CUDA)
        finally:
            torch.cuda.set_sync_debug_mode(0)
    assert loss.is_cuda and acc.is_cuda and torch.isfinite(loss).all()


def test_a_bf16_study_runs_end_to_end_on_cuda(cli, folder_data):
    code, out, err = cli("run", "--trials", "2", "--epochs", "2", "--device", "cuda", "--precision", "bf16",
                         "--workers", "1", "--no-report", "--data-dir", str(folder_data))
    assert code == 0, err
    study = optuna.load_study(study_name="label-smoothing", storage="sqlite:///studies/label-smoothing.db")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert study.user_attrs["protocol"]["precision"] == "bf16"
    for t in study.trials:
        assert 0 < t.user_attrs["val_acc"] <= 1 and math.isfinite(t.user_attrs["train_nll"])
        assert sorted(t.intermediate_values) == [1, 2]


@pytest.mark.parametrize("k", [1, 3])
def test_fused_adam_state_survives_a_round_trip_by_value(k, tmp_path):
    """Trained on the GPU, written to disk, read back, loaded into a fresh fused Adam: exp_avg, exp_avg_sq and
    the step are the same values, in the parameter's layout, and a snapshot of it gives them back again."""
    protocols = [Protocol(epochs=1, batch_size=32, seed=s) for s in range(k)]
    ckpts, _ = snapshots(protocols, tiny(), dtype=torch.float32)
    loaded = []
    for i, c in enumerate(ckpts):
        assert save_checkpoint(tmp_path / f"{i}.pt", c, {"i": i})
        loaded.append(load_checkpoint(tmp_path / f"{i}.pt", {"i": i})[0])
    stack = Stack([p.seed for p in protocols], CUDA)
    opt = torch.optim.Adam(list(stack.params.values()), lr=1e-3, fused=True)
    stack.load([c.model for c in loaded])
    opt.load_state_dict(_stacked_adam_state(opt, stack, loaded))
    for name, param in stack.params.items():
        state = opt.state[param]
        for key in ("exp_avg", "exp_avg_sq"):
            assert state[key].stride() == param.stride() and state[key].device == param.device
            torch.testing.assert_close(state[key].cpu(), torch.stack([c.adam[key][name] for c in ckpts]),
                                       rtol=0, atol=0)
        assert float(state["step"]) == ckpts[0].adam["step"] == 4  # 120 images / batch 32
    again = Snapshot(opt, stack, [torch.Generator() for _ in range(k)], [c.history for c in ckpts])
    for i, c in enumerate(ckpts):
        assert_same_weights(c, again.trial(i), atol=0)
        assert again.trial(i).adam["step"] == c.adam["step"]
    stack.logits(torch.randn(k, 8, 32, 32, 3, device=CUDA)).square().sum().backward()
    opt.step()  # fused CUDA Adam raises here if a state's strides differ from its parameter's


def test_batched_models_match_models_trained_alone_on_cuda_in_float64():
    data = tiny(per_class=64)
    protocols = [Protocol(epochs=1, batch_size=32, seed=s, label_smoothing=e) for s, e in ((0, 0.0), (1, 0.1), (2, 0.2))]
    batched, batched_hist = snapshots(protocols, data)
    for k, p in enumerate(protocols):
        (alone,), (alone_hist,) = snapshots([p], data)
        assert_same_weights(alone, batched[k], atol=1e-9)
        assert_same_history(alone_hist, batched_hist[k])


def test_a_resume_across_group_sizes_on_cuda_equals_the_uninterrupted_run():
    check_resume_across_group_sizes(snapshots)


def test_a_cuda_checkpoint_round_trips_through_disk(tmp_path):
    data = tiny()
    p = Protocol(epochs=2, batch_size=32, seed=3, label_smoothing=0.1)
    (full,), full_hist = snapshots([p], data)
    (first,), _ = snapshots([replace(p, epochs=1)], data)
    key = {"study": "s", "eps": 0.1, "seed": 3}
    assert save_checkpoint(tmp_path / "c.pt", first, key)
    loaded, why = load_checkpoint(tmp_path / "c.pt", key)
    assert why == "" and loaded.epoch == 1
    (resumed,), resumed_hist = snapshots([p], data, resume=[loaded])
    assert_same_weights(full, resumed, atol=1e-10)
    assert [comparable(h) for h in resumed_hist] == [comparable(h) for h in full_hist]


def test_a_short_real_run_on_cuda(cli, folder_data):
    code, out, err = cli("run", "--trials", "4", "--epochs", "1", "--device", "cuda", "--workers", "1",
                         "--no-report", "--data-dir", str(folder_data))
    assert code == 0, err
    study = optuna.load_study(study_name="label-smoothing", storage="sqlite:///studies/label-smoothing.db")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 4
    assert {t.user_attrs["device"] for t in study.trials} == {"cuda"}
    assert {t.user_attrs["trials_together"] for t in study.trials} == {4}  # auto: the open cells, batched
    assert study.user_attrs["protocol"]["precision"] == "tf32"  # auto on a GPU
