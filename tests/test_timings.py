"""The overhead cuts and the timing facility, on the CPU: one copy to the host per epoch, the checkpoint rule,
a worker's records through Optuna's setters, and a summary that has every section whatever was recorded."""

import warnings

import optuna
import pytest

from sweep.training.checkpoint import worth_saving
from sweep.protocol import Protocol
from sweep.study.records import write_records
from sweep.study.storage import open_storage
from sweep.bench.timings_text import SECTIONS, sections
from tests.test_model_train import tiny


def test_an_epoch_brings_its_figures_to_the_host_in_one_copy(monkeypatch):
    import sweep.training.train as T

    calls = []
    real = T._to_host
    monkeypatch.setattr(T, "_to_host", lambda tensors: calls.append(len(tensors)) or real(tensors))
    T.train([Protocol(epochs=2, batch_size=32, seed=0)], tiny(), "cpu")
    assert calls == [14, 14]  # the running loss and accuracy, and both evaluations' six sums


@pytest.mark.parametrize("left, epoch_s, save_s, expected", [
    (0, 10.0, 0.0, False),  # after the last epoch: nothing left to resume
    (1, 1.0, 2.0, False),  # on disk only after the run has ended
    (2, 1.0, 2.0, False),  # lands exactly at the end: no use either
    (3, 1.0, 2.0, True),
    (9, 25.0, 0.1, True),
])
def test_a_checkpoint_is_written_only_when_it_would_land_before_the_run_ends(left, epoch_s, save_s, expected):
    assert worth_saving(left, epoch_s, save_s) is expected


def test_a_workers_records_go_through_optunas_setters_and_spare_a_finished_trial(tmp_path, monkeypatch):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    calls = []
    for name in ("set_trial_intermediate_value", "set_trial_user_attr"):
        real = getattr(storage, name)
        monkeypatch.setattr(storage, name, lambda *a, _real=real, _name=name: calls.append((_name, a[0])) or _real(*a))
    study = optuna.create_study(storage=storage, study_name="s")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        live, done = study.ask(), study.ask()
    study.tell(done, 0.5)
    rows = {live._trial_id: ({1: 0.25, 2: float("nan")}, {"history": [{"epoch": 1}], "val_acc": 0.3}),
            done._trial_id: ({1: 0.1}, {"val_acc": 0.9})}
    assert write_records(storage, rows) == {done._trial_id}
    # Optuna's public setters: the live trial's four rows; the finished trial's first row refused by Optuna.
    assert sorted(calls) == sorted([("set_trial_intermediate_value", live._trial_id)] * 2
                                   + [("set_trial_user_attr", live._trial_id)] * 2
                                   + [("set_trial_intermediate_value", done._trial_id)])
    assert write_records(storage, rows) == {done._trial_id}  # a retry leaves the same rows
    got = study.trials
    assert got[0].intermediate_values[1] == 0.25 and got[0].intermediate_values[2] != got[0].intermediate_values[2]
    assert got[0].user_attrs == {"history": [{"epoch": 1}], "val_acc": 0.3}
    assert got[1].intermediate_values == {} and got[1].user_attrs == {}


@pytest.mark.parametrize("blob", [{}, {"notes": {"device": "cpu"}, "epochs": [{"train_s": 1.0, "eval_s": 0.5}]}])
def test_the_summary_has_every_section_whatever_was_recorded(blob):
    text = sections(blob, "study-x")
    assert text.startswith("== where the time goes: study-x ==")
    for head in SECTIONS:
        assert f"-- {head} --" in text
    assert "GPU time per step (CUDA events): n/a (cpu)" in text
