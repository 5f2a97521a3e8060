"""The README as a whole: the answer, the run, the tables, overfitting over time, the plots."""

from __future__ import annotations

import os

import optuna
import pandas as pd

from .analysis import Curve, onset_tests
from .markdown import comparison_section, findings, headline, protocol_lines, results_table, signed
from .paths import portable_paths
from .stats import seeds_for_halfwidth
from .tables import RISE_NOISE

PLOTS = (("differences_vs_zero", "The answer: each ε minus ε = 0, per headline metric, with the equivalence margin"),
         ("gap_vs_epsilon", "Train − validation gap against ε, one line per seed"),
         ("accuracy_vs_epsilon", "Accuracy against ε, with the claimed region"),
         ("overfitting_over_time", "Overfitting over time: validation NLL, accuracies and gaps per epoch"),
         ("loss_vs_epsilon", "Validation NLL and smoothed loss against ε"),
         ("calibration", "Calibration: ECE and reliability diagrams"))


def _duration(seconds: float) -> str:
    minutes, s = divmod(round(seconds), 60)
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if h else f"{m} min {s} s" if m else f"{s} s"


def run_lines(study: optuna.Study, trials: pd.DataFrame) -> list[str]:
    """Where and how long the sweep ran: wall time from the trials' datetimes, machines from their attrs."""
    all_trials = study.get_trials(deepcopy=False)
    starts = [t.datetime_start for t in all_trials if t.datetime_start]
    ends = [t.datetime_complete for t in all_trials if t.datetime_complete]
    lines = []
    if starts and ends:
        first, last = min(starts), max(ends)
        summed = (f"; {_duration(trials.seconds.sum())} of training summed over the complete trials"
                  if trials.seconds.notna().any() else "")
        lines.append(f"- wall time: {_duration((last - first).total_seconds())}, from the first trial's start "
                     f"({first:%Y-%m-%d %H:%M}) to the last trial's completion ({last:%Y-%m-%d %H:%M}), pauses "
                     f"between reruns included{summed}")
    else:
        lines.append("- wall time: not recorded")
    if len(trials):
        where = trials.fillna({"machine": "machine not recorded", "device": "?"}).groupby(["machine", "device"]).size()
        lines.append("- ran on: " + "; ".join(f"{m} (device {d}): {k} trial{'s' * (k > 1)}"
                                              for (m, d), k in where.items()))
    return lines


def render_readme(study, trials, summary, comparisons, curves: dict[str, Curve], margin, recorded, storage_url,
                  cwd: str | os.PathLike = "/", target: float = 0.5, plots=PLOTS) -> str:
    from ..storage import recorded_commands

    here = lambda text: portable_paths(text, cwd)  # noqa: E731
    lines = [f"# Label smoothing and overfitting: study `{study.study_name}`", "",
             "Question: how does label smoothing (ε) change the train/validation gap of a fixed CNN on CIFAR-10?", ""]
    if len(trials):
        lines += ["## The answer", "", " ".join(headline(comparisons, curves)), ""]
        if (state := precision_state(study, trials)) is not None:
            lines += [f"Run with `--until-precise`: a seed for every ε is added while any headline CI is wider than "
                      f"±{state[0].target_pp:g} pp (NLL gap ±{state[0].target_nats:.3g} nats); {state[2]}.", ""]
    lines += protocol_lines(study, summary, storage_url, here, margin, recorded) + run_lines(study, trials) + [""]
    commands = [here(c) for c in recorded_commands(study)]
    if commands:
        lines += ["Made by these commands, in order:", "", "```", *commands, "python -m sweep report", "```", ""]
    if not len(trials):
        return "\n".join(lines + ["No complete trial yet.", ""])
    if summary.n.max() < 2:
        lines += ["One seed per ε: no confidence intervals, and no significance test.", ""]
    lines += precision_section(study, trials, comparisons)
    lines += results_table(summary) + comparison_section(comparisons, curves, target) + findings(summary, curves)
    lines += onset_section(trials, summary, comparisons) + ["## Plots", ""]
    for name, caption in plots:
        lines += [f"### {caption}", "", f"![{caption}]({name}.png)", ""]
    lines += ["Tables: `trials.csv` (one row per trial, with its onset epoch, NLL rise and noise, and stopped "
              "accuracy), `epochs.csv` (trial × epoch), `summary.csv` (per ε), `comparisons.csv` (each ε against "
              "ε = 0, in the metrics' raw units: accuracies as fractions).", ""]
    return "\n".join(lines)


def precision_state(study, trials: pd.DataFrame):
    """Where `--until-precise` left the study: (rule, widths, why it stopped), or None if it never ran."""
    from ..precision import METRICS, Rule, decide, widths

    recorded = study.user_attrs.get("until_precise")
    if recorded is None or not len(trials):
        return None
    rule = Rule(recorded["target_pp"], recorded["target_nats"], recorded["max_trials"])
    epsilons, seeds = trials.eps.nunique(), trials.seed.nunique()
    ws = widths({(r.eps, int(r.seed)): {m: r[m] for m in METRICS} for _, r in trials.iterrows()}, rule)
    action = decide(ws, rule, epsilons * seeds, epsilons, 0).action
    why = {"precise": f"it stopped on precision: every headline CI fits its target, with {seeds} seeds per ε",
           "cap": f"it stopped on the cap, with {seeds} seeds per ε: another block would pass --max-trials "
                  f"{rule.max_trials}",
           "add": "it has not stopped yet: the next block is due, or cells are still running (rerun the same "
                  "command)"}[action]
    return rule, ws, why


def precision_section(study, trials: pd.DataFrame, comparisons: pd.DataFrame) -> list[str]:
    """How `--until-precise` ran: the rule, the blocks it added, why it stopped, and each comparison's width."""
    from ..precision import METRICS, NAMES

    state = precision_state(study, trials)
    if state is None:
        return []
    rule, ws, why = state
    attrs = study.user_attrs
    base = attrs["until_precise"]["base_trials"]
    grid = len(attrs["until_precise"].get("epsilons") or trials.eps.unique())  # the grid, not the ε that finished
    added = sorted(int(s) for s in trials.seed.unique() if int(s) >= base // grid)
    lines = ["## Seeds added until precise", "",
             f"Run with `--until-precise`: after the first {base} trials, one seed for every ε was added at a time "
             "while any headline comparison with ε = 0 had a 95 % CI half-width above ±"
             f"{rule.target_pp:g} pp (NLL gap: ±{rule.target_nats:.3g} nats), adding no block past "
             f"{rule.max_trials} trials. The rule looks at the half-widths alone (the SD of the paired differences "
             "and the number of seeds), never at an estimate's sign or p-value, so it cannot stop on a result it "
             "likes. The tests below stay approximately valid: stopping when the SD happens to be small biases it "
             "a little low at the stop, so the deciding CI covers somewhat less than its nominal 95 %.", "",
             f"- seed blocks added: {len(added)}" + (": " + "; ".join(
                 _block_words(attrs.get(f"block:{seed:05d}", {}), seed) for seed in added) if added else ""),
             f"- {why}", "",
             "| comparison with ε = 0 | ε | seeds | 95 % CI half-width | target | fits | seeds for the target |",
             "|---|---|---|---|---|---|---|"]
    for w in ws:
        row = comparisons[(comparisons.metric == w.metric) & (comparisons.eps == w.eps)]
        sd = row.sd_diff.iloc[0] * (100 if METRICS[w.metric] == "pp" else 1) if len(row) else float("nan")
        need = seeds_for_halfwidth(sd, w.target) if pd.notna(sd) else None
        lines.append(f"| {NAMES[w.metric]} ({METRICS[w.metric]}) | {w.eps:g} | {w.seeds} | ±{w.halfwidth:.3g} | "
                     f"±{w.target:.3g} | {'yes' if w.ratio <= 1 else 'no'} | {need if need else '–'} |")
    return lines + ["", "The last column is planning, not a test: the seeds a CI that narrow would take at the observed "
                        "SD of the paired differences.", ""]


def _block_words(record: dict, seed: int) -> str:
    from ..precision import Width

    w = record.get("widest")
    return f"seed {seed} (decided on {Width(**w).text()})" if w else f"seed {seed}"


def onset_section(trials: pd.DataFrame, summary: pd.DataFrame, comparisons: pd.DataFrame) -> list[str]:
    lines = ["## Overfitting over time", "",
             "Per trial, the onset is the epoch of its lowest validation NLL (unsmoothed; the first on ties) and the "
             "rise is the last epoch's validation NLL minus that lowest value. A rise counts only when it exceeds "
             f"{RISE_NOISE:g} × the trial's own epoch-to-epoch noise: the root mean square of the second differences "
             "of its validation NLL over the second half of its epochs, divided by √6 (for a smooth curve plus "
             "independent noise of SD σ, a second difference has SD σ√6). That is a rule of thumb, not a test: ten "
             "epochs give the noise estimate few degrees of freedom.", ""]
    for _, r in summary.iterrows():
        g = trials[trials.eps == r.eps]
        rises, judged = int(g.rises.sum()), int(g.rises.notna().sum())  # NaN: too few epochs to measure noise
        lines.append(f"- ε = {r.eps:g} ({'one seed' if r.n < 2 else f'n = {int(r.n)}'}): lowest validation NLL at "
                     f"epoch {r.best_epoch_mean:.1f} on average (range {g.best_epoch.min():g}–{g.best_epoch.max():g}, "
                     f"last epoch {g.last_epoch.max():g}); mean rise {r.nll_rise_mean:.3f} nats; {rises} of {judged} "
                     f"seeds rise beyond their noise (median noise {g.nll_noise.median():.3f} nats).")
    onsets = onset_tests(trials)
    if onsets.p.notna().any():
        parts = [f"ε = {r.eps:g}: {r['diff']:+.1f} epochs, p = {r.p:.2g} ({r.method}, whose p cannot fall below "
                 f"{r.p_min:.2g} here), Holm p = {r.p_holm:.2g}" for _, r in onsets[onsets.p.notna()].iterrows()]
        lines += ["", "- Onset against ε = 0, by permutation tests of the onset epochs (integer epochs with ties "
                      "would make a t-test's p unreliable): " + "; ".join(parts) + "."]
    lines += _compared_line(comparisons, "nll_rise", "- Rise against ε = 0")
    lines += _compared_line(comparisons, "stopped_val_acc",
                            "- Validation accuracy when each trial stops where the *other* seeds' mean validation NLL "
                            "at its ε is lowest (the same rule at every ε, and a trial's own validation scores never "
                            "pick its epoch, though the other seeds' are on the same images, and seeds of one ε "
                            "share their stopping epochs, so read this test as approximate), against ε = 0")
    lines += _compared_line(comparisons, "val_acc", "- For reference, validation accuracy at the last epoch")
    return lines + [""]


def _compared_line(comparisons: pd.DataFrame, metric: str, head: str) -> list[str]:
    rows = comparisons[(comparisons.metric == metric) & comparisons.p.notna()]
    if not len(rows):
        return []
    parts = [f"ε = {r.eps:g}: {signed(r, metric)}, Holm p = {r.p_holm:.2g}, {r.verdict}" for _, r in rows.iterrows()]
    return [f"{head} ({rows.method.iloc[0]}): " + "; ".join(parts) + "."]
