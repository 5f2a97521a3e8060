"""The benchmark runs every path on tiny data and writes a consistent table (timings are not asserted)."""

import re

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from sweep.bench import report as bench_report, run as bench
from sweep.training.runtime import cpu_cores
from sweep.cli import main
from tests.conftest import write_folders

NUM = r"([\d.]+)"
ROW = re.compile(rf"^\| ([^|]+) \| (\d+) \| {NUM} \| {NUM} \({NUM}–{NUM}\) \| {NUM}x \| {NUM} \| {NUM} \| (\d+) \|$",
                 re.M)


@pytest.fixture(scope="module")
def bench_data(tmp_path_factory):
    return write_folders(tmp_path_factory.mktemp("bench"), train_per_class=60, test_per_class=10)


def test_bench_times_every_path_and_writes_a_consistent_table(bench_data, workdir, capsys):
    code = main(["bench", "--data-dir", str(bench_data), "--cache-dir", "cache", "--device", "cpu",
                 "--steps", "1", "--rounds", "2", "--ks", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    table = (workdir / "reports" / "benchmark.md").read_text()
    assert "| path | K | img/s, all K trials | s/epoch per trial (range) | vs seed loop | GFLOP/s | % of peak |" in table
    rows = {m.group(1): m.groups()[1:] for m in ROW.finditer(table)}
    expected = {"seed loop (DataLoader, PIL)", "one trial, fp32", "batched (grouped), fp32", "batched (vmap), fp32"}
    if cpu_cores() > 1:
        expected.add(f"{cpu_cores()} processes x 1 thread, one trial each, fp32")
    assert set(rows) == expected
    assert rows["seed loop (DataLoader, PIL)"][5] == "1.00"
    for k, img_s, median, lo, hi, ratio, gflops, pct, peak in rows.values():
        img_s, median, gflops, pct = float(img_s), float(median), float(gflops), float(pct)
        assert float(lo) <= median <= float(hi) and float(ratio) > 0 and int(peak) > 0
        # s/epoch per trial is time / K, so the K trials' images per second times it is one epoch.
        assert img_s * median == pytest.approx(50_000, rel=0.01)
        assert gflops == pytest.approx(img_s * bench.train_flops_per_image() / 1e9, rel=0.01)
        assert gflops > 0 and 0 < pct <= 200  # a matmul slowed by a busy neighbour can trail a path
    assert rows["batched (grouped), fp32"][0] == "2"
    peaks = re.findall(r"^- peak \(matmul\): fp32, (\d+) CPU thread\(s\): ([\d.]+) GFLOP/s "
                       r"\(([\d.]+)–([\d.]+); (\d+)x\5\)$", table, re.M)
    assert {int(t) for t, *_ in peaks} == {torch.get_num_threads(), *([cpu_cores()] if cpu_cores() > 1 else [])}
    assert all(float(lo) <= float(median) <= float(hi) and float(median) > 0 for _, median, lo, hi, _ in peaks)
    assert all(int(n) in (256, 512, 1024, 2048) for *_, n in peaks)
    assert "35,003,904 training FLOPs per image" in table
    assert "2 round(s)" in table and "A whole epoch with its evaluation" in table
    assert "best path:" in out and "peak (matmul): fp32" in out


def test_img_s_is_all_trials_and_times_s_per_epoch_per_trial_to_one_epoch():
    peak = bench.Peak("fp32", 1, gflops=[100.0])
    b = bench.Bench("batched", 4, lambda steps: 0.0, seconds=[2.0, 1.0, 4.0])
    row = bench._row(b, 10, peak)
    assert row["img_s"] == pytest.approx(4 * 10 * 128 / 2.0)  # the median block: 4 trials x 1,280 images in 2 s
    assert row["img_s"] * row["s_per_epoch_per_trial"] == pytest.approx(50_000)
    assert (row["lo"], row["hi"]) == pytest.approx((50_000 / 5120, 50_000 / 1280))
    assert row["gflops"] == pytest.approx(row["img_s"] * 35_003_904 / 1e9)
    assert row["pct_peak"] == pytest.approx(row["gflops"])  # of a 100 GFLOP/s peak


def test_training_flops_per_image_by_hand():
    forward = 32 * 32 * 32 * 3 * 9 + 16 * 16 * 64 * 32 * 9 + 4096 * 128 + 128 * 10
    assert forward == 884_736 + 4_718_592 + 524_288 + 1_280 == 6_128_896
    assert sum(macs for macs, _ in bench_report.LAYERS.values()) == forward
    # 2 FLOPs per multiply-add; training = 3x forward, less conv1's input gradient (the images need none).
    assert bench.train_flops_per_image() == 2 * (3 * forward - 884_736) == 35_003_904


def test_training_flops_agree_with_torch_flop_counter():
    model, x, y = bench.SeedCNN(), torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    assert counter.get_total_flops() == 4 * bench.train_flops_per_image()


def test_peak_times_matmuls_on_its_threads_and_restores_them(monkeypatch):
    monkeypatch.setitem(bench_report.PEAK_SIZE, "cpu", 128)
    threads = torch.get_num_threads()
    seen = []
    monkeypatch.setattr(bench.torch, "mm", lambda a, b: seen.append(torch.get_num_threads()) or a @ b)
    peak = bench.Peak("fp32", 1)
    peak.block(torch.device("cpu"), 2, keep=False)
    peak.block(torch.device("cpu"), 3)
    assert len(peak.gflops) == 3 and all(g > 0 for g in peak.gflops) and peak.n == 128
    assert seen == [1] * 7 and torch.get_num_threads() == threads  # the size's 2-call probe, then 2 + 3


@pytest.mark.parametrize("gflops, n", [(100.0, 2048), (4.0, 1024), (0.3, 512), (0.2, 256), (0.001, 256)])
def test_the_peak_on_a_cpu_is_as_large_as_a_one_second_call_allows(monkeypatch, gflops, n):
    """A CPU that emulates bf16 (0.3 GFLOP/s) times a 512 matmul (0.9 s a call), not a 2048 one (57 s)."""
    peak = bench.Peak("bf16", 1)
    monkeypatch.setattr(peak, "_time", lambda device, calls: [2 * peak.n**3 / (gflops * 1e9)] * calls)
    peak.fit(torch.device("cpu"))
    assert peak.n == n
    assert 2 * n**3 / (gflops * 1e9) <= bench_report.PEAK_CALL_S or n == bench_report.PEAK_PROBE_N


@pytest.mark.parametrize("args, expected", [
    (["--engines", "grouped,magic"], "--engines"),
    (["--precisions", "fp16"], "--precisions"),
    (["--ks", "2,0"], "--ks"),
    (["--rounds", "0"], "--rounds"),
])
def test_bench_bad_input_is_one_line_exit_2(args, expected, bench_data, workdir, capsys):
    try:
        code = main(["bench", "--data-dir", str(bench_data), "--cache-dir", "cache", "--device", "cpu", *args])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expected in err[0]
    assert not (workdir / "reports" / "benchmark.md").exists()


def test_bench_refuses_too_little_data(small_data, workdir, capsys):
    code = main(["bench", "--data-dir", str(small_data), "--cache-dir", "cache", "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "needs at least 512 training images" in err[0]


def test_the_decisions_name_the_faster_of_each_pair_timed_side_by_side():
    from sweep.bench.report import decisions

    row = lambda path, k, s, warm=0.0: {"path": path, "K": k, "s_per_epoch_per_trial": s, "warmup_s": warm}  # noqa: E731
    rows = [row("seed loop (DataLoader, PIL)", 1, 90.0), row("one trial, fp32", 1, 40.0),
            row("one trial, fp32, compiled", 1, 50.0, warm=41.0), row("one trial, bf16", 1, 400.0),
            row("batched (grouped), fp32", 4, 20.0), row("batched (grouped), fp32, compiled", 4, 10.0),
            row("batched (grouped), fp32", 16, 9.5), row("batched (grouped), fp32", 64, 9.0),
            row("batched (grouped), bf16", 4, 200.0)]
    text = "\n".join(decisions(rows))
    assert "one trial, fp32, K = 1: eager 40 vs compiled 50 s/epoch per trial: eager is 1.25x faster" in text
    assert "(compilation took 41 s" in text
    assert "batched (grouped), fp32, K = 4: eager 20 vs compiled 10 s/epoch per trial: compiled is 2.00x faster" in text
    assert "math mode, one trial: fp32 40, bf16 400 s/epoch; fastest: fp32" in text
    assert "trials at once (fp32, grouped): K = 1: 40, K = 4: 20, K = 16: 9.5, K = 64: 9 s/epoch per trial; " \
           "within 10 % of the best from K = 16" in text
