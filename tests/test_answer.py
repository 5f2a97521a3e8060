"""The first screen: the primary verdict in words, at most 160 of them, and a table that agrees with itself."""

import numpy as np
import pandas as pd
import pytest

from sweep.report.analysis import comparisons_frame
from sweep.report.answer import MAX_WORDS, answer_prose, primary_sentence, verdict_table, word_count
from sweep.metrics import COMPARED, METRICS
from sweep.report.tables import ONSET, summary_frame


def design(effects: dict, seeds=6, noise=0.002, eps=(0.0, 0.05, 0.1, 0.2), rng_seed=0) -> pd.DataFrame:
    """Trials whose metrics are a seed's own level plus `effects[metric](ε)` plus a little noise."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for s in range(seeds):
        level = rng.normal(0, 0.02)
        for e in eps:
            row = {"eps": e, "seed": s}
            for m in (*COMPARED, *METRICS, *ONSET):
                row[m] = 0.5 + level + effects.get(m, lambda e: 0.0)(e) + rng.normal(0, noise)
            row["val_sce"] = 0.1 - e + rng.normal(0, noise)
            rows.append(row)
    return pd.DataFrame(rows)


def sentence(effect, **kw) -> str:
    trials = design({"gap": effect}, **kw)
    return primary_sentence(comparisons_frame(trials, ("gap",))[lambda c: c.metric == "gap"], "gap")


def test_the_primary_verdict_answers_the_question_first():
    assert sentence(lambda e: 0.03 * (e > 0)) == ("No: smoothing widened the train–validation accuracy gap by "
                                                   "3.0–3.2 pp at ε = 0.05, 0.1 and 0.2.")  # the estimates, as they are
    assert sentence(lambda e: -0.04 * e / 0.2 * (e > 0.06)) == (
        "Yes, at some ε: smoothing narrowed the train–validation accuracy gap by 1.9–4.0 pp at ε = 0.1 and 0.2; "
        "within ±1 pp of ε = 0 at ε = 0.05.")
    assert sentence(lambda e: 0.0) == "No: the train–validation accuracy gap stayed within ±1 pp of ε = 0 at every ε tested."
    mixed = sentence(lambda e: {0.0: 0.0, 0.05: 0.03, 0.1: 0.0, 0.2: -0.03}[e])
    assert mixed.startswith("It depends on ε: smoothing widened the train–validation accuracy gap at ε = 0.05")
    assert sentence(lambda e: 0.03 * (e > 0.06)).startswith(
        "No shrinking shown at any ε: smoothing widened the train–validation accuracy gap by")  # one ε within the margin
    assert sentence(lambda e: -0.03 * (e > 0)).startswith("Yes: smoothing narrowed")
    unclear = sentence(lambda e: 0.008 * (e > 0), noise=0.02, seeds=3)
    assert unclear.startswith("Not shown either way: the train–validation accuracy gap moved by ")
    assert "no change is significant and none is shown within ±1 pp" in unclear


def test_the_prose_stays_within_160_words_on_a_long_grid():
    eps = tuple(np.round(np.linspace(0, 0.3, 13), 3))
    effects = {m: (lambda e, m=m: 0.02 * np.sin(40 * e + len(m))) for m in COMPARED}
    trials = design(effects, eps=eps, seeds=4, noise=0.004)
    cmp = comparisons_frame(trials, COMPARED)
    prose = answer_prose(cmp, summary_frame(trials), "gap", None)
    assert word_count(prose) <= MAX_WORDS
    assert prose.startswith("**Does label smoothing shrink the train–validation accuracy gap?**")


@pytest.mark.parametrize("primary", ["gap", "val_ece"])
def test_the_verdict_table_puts_the_primary_first_and_each_word_matches_its_interval(primary):
    trials = design({"gap": lambda e: 0.02 * (e > 0), "val_ece": lambda e: -0.05 * e / 0.2,
                     "val_acc": lambda e: 0.0}, seeds=5)
    cmp = comparisons_frame(trials, COMPARED, primary=primary)
    lines = verdict_table(cmp, primary)
    assert lines[0] == "| against ε = 0 | ε = 0.05 | ε = 0.1 | ε = 0.2 |" and ", primary**" in lines[2]
    assert lines[2].startswith("| **" + {"gap": "accuracy gap", "val_ece": "ECE"}[primary])
    for _, r in cmp[cmp.metric.isin(["gap", "val_acc", "val_ece"])].iterrows():
        cell = f"{r['diff'] * 100:+.2f} [{r.lo_adj * 100:+.2f}, {r.hi_adj * 100:+.2f}]"
        row = next(line for line in lines if cell in line)
        word = row.split(cell)[1].split("|")[0].strip().strip("*")
        if r.lo_adj > 0 or r.hi_adj < 0:
            assert word.split(",")[0] in ("higher", "lower", "wider", "narrower")
        elif -r.margin < r.lo_adj and r.hi_adj < r.margin:
            assert word == "equivalent"
        else:
            assert word == "inconclusive"
