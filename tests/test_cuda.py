"""The GPU path, checked before it is measured: `python -m pytest -m cuda` on a machine with CUDA.

Equivalences are checked in float64, where TF32 does not apply and rounding neither hides a bug nor
fakes one; the float32 (TF32) path is checked against the same runs with tolerances that TF32's
10-bit mantissa allows.
"""

from dataclasses import replace

import optuna
import pytest
import torch

from sweep.checkpoint import load_checkpoint, save_checkpoint
from sweep.protocol import Protocol
from sweep.train import Stack, _stacked_adam_state, train
from tests.test_model_train import (assert_same_history, assert_same_weights, check_resume_across_group_sizes,
                                     comparable, tiny)

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: run `pytest -m cuda` there")]
CUDA = torch.device("cuda")


def snapshots(protocols, data, *, resume=None, dtype=torch.float64):
    got = {}
    histories = train(protocols, data.to(CUDA), CUDA, resume=resume, dtype=dtype,
                      on_epoch=lambda e, h, ckpt: got.update({k: ckpt(k) for k in range(len(protocols))}))
    return [got[k] for k in range(len(protocols))], histories


def test_batched_models_match_models_trained_alone_on_cuda():
    data = tiny(per_class=64)
    protocols = [Protocol(epochs=1, batch_size=32, seed=s, label_smoothing=e) for s, e in ((0, 0.0), (1, 0.1), (2, 0.2))]
    batched, batched_hist = snapshots(protocols, data)
    for k, p in enumerate(protocols):
        (alone,), (alone_hist,) = snapshots([p], data)
        assert_same_weights(alone, batched[k], atol=1e-9)
        assert_same_history(alone_hist, batched_hist[k])


@pytest.mark.parametrize("precision", ["fp32", "tf32"])
def test_float32_training_stays_close_to_float64_in_its_math_mode(precision):
    data = tiny(per_class=64)
    protocols = [Protocol(epochs=2, batch_size=32, seed=s, label_smoothing=0.1) for s in range(3)]
    exact = snapshots(protocols, data)[1]
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    seen = []
    got = train([replace(p, precision=precision) for p in protocols], data.to(CUDA), CUDA,
                on_epoch=lambda *a: seen.append((torch.backends.cuda.matmul.allow_tf32,
                                                 torch.backends.cudnn.allow_tf32)))
    assert set(seen) == {(precision == "tf32",) * 2}  # the protocol's mode while training ...
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before  # ... then restored
    for a, b in zip(exact, got):
        assert b[-1]["train_loss_running"] == pytest.approx(a[-1]["train_loss_running"], rel=0.05)
        assert abs(b[-1]["val_acc"] - a[-1]["val_acc"]) <= 0.05


def test_a_resume_across_group_sizes_on_cuda_equals_the_uninterrupted_run():
    check_resume_across_group_sizes(snapshots)


@pytest.mark.parametrize("k", [1, 3])
def test_fused_adam_accepts_the_resumed_state_layout_on_cuda(k):
    protocols = [Protocol(epochs=1, batch_size=32, seed=s) for s in range(k)]
    ckpts, _ = snapshots(protocols, tiny(), dtype=torch.float32)
    stack = Stack([p.seed for p in protocols], CUDA)
    opt = torch.optim.Adam(list(stack.params.values()), lr=1e-3, fused=True)
    stack.load([c.model for c in ckpts])
    opt.load_state_dict(_stacked_adam_state(opt, stack, ckpts))
    stack.logits(torch.randn(k, 8, 32, 32, 3, device=CUDA)).square().sum().backward()
    opt.step()  # fused CUDA Adam raises here if a state's strides differ from its parameter's
    for param in stack.params.values():
        assert opt.state[param]["exp_avg"].stride() == param.stride()


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
