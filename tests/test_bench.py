"""The benchmark runs every path on tiny data and writes its table (timings are not asserted)."""

import re

import pytest

from sweep.runtime import cpu_cores
from sweep.cli import main
from tests.conftest import write_folders


@pytest.fixture(scope="module")
def bench_data(tmp_path_factory):
    return write_folders(tmp_path_factory.mktemp("bench"), train_per_class=60, test_per_class=10)


def test_bench_times_every_path_and_writes_the_table(bench_data, workdir, capsys):
    code = main(["bench", "--data-dir", str(bench_data), "--cache-dir", "cache", "--device", "cpu",
                 "--steps", "1", "--rounds", "2", "--ks", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    table = (workdir / "reports" / "benchmark.md").read_text()
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^\| ([^|]+) \| (\d+) \| (\d+) \| ([\d.]+) \(([\d.]+)–([\d.]+)\) \| ([\d.]+)x \| (\d+) \|$", table, re.M)}
    expected = {"seed loop (DataLoader, PIL)", "one trial, fp32", "batched (grouped), fp32", "batched (vmap), fp32"}
    if cpu_cores() > 1:
        expected.add(f"{cpu_cores()} processes x 1 thread, one trial each, fp32")
    assert set(rows) == expected
    assert rows["seed loop (DataLoader, PIL)"][-2] == "1.00"
    for k, img_s, median, lo, hi, ratio, peak in rows.values():
        assert float(lo) <= float(median) <= float(hi) and float(ratio) > 0 and int(peak) > 0
    assert rows["batched (grouped), fp32"][0] == "2"
    assert "2 round(s)" in table and "A whole epoch with its evaluation" in table
    assert "best path:" in out


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


def test_bench_refuses_too_little_data(folder_data, workdir, capsys):
    code = main(["bench", "--data-dir", str(folder_data), "--cache-dir", "cache", "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "needs at least 512 training images" in err[0]
