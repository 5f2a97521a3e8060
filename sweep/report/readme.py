"""The README as a whole: the answer, method, the run, the tables, calibration, over time, the plots."""

from __future__ import annotations

import os
from dataclasses import dataclass

import optuna
import pandas as pd

from .analysis import Shape, onset_tests
from .answer import answer_prose, verdict_table
from .markdown import (calibration_lines, comparison_section, findings, method_lines, protocol_lines, results_table,
                       signed)
from .paths import portable_paths
from ..stats import Crossing, mean_correlation
from .tables import NOISE_EPOCHS, RISE_NOISE, duration, machines, seed_matrix, wall_span


@dataclass(frozen=True)
class Analysis:
    """Everything the text is written from, computed once by `write_report`."""
    trials: pd.DataFrame
    summary: pd.DataFrame
    comparisons: pd.DataFrame
    shapes: dict[str, Shape]
    crossing: Crossing | None
    margin: dict
    recorded: bool  # margins recorded with the study
    primary: str
    first_stage: int | None  # Stein's first stage, where `--until-precise` ran

PLOTS = (("differences_vs_zero", "The answer: each ε minus ε = 0, per headline metric, with the interval each "
                                 "verdict is read off and the equivalence margin"),
         ("gap_vs_epsilon", "Train − validation gap against ε, one line per seed"),
         ("accuracy_vs_epsilon", "Accuracy against ε, with the claimed region"),
         ("overfitting_over_time", "Overfitting over time: validation NLL, accuracies and gaps per epoch"),
         ("loss_vs_epsilon", "Validation NLL and smoothed loss against ε"),
         ("calibration", "Calibration: over- or under-confidence, ECE and reliability diagrams"))


def run_lines(study: optuna.Study, trials: pd.DataFrame) -> list[str]:
    """Where and how long the sweep ran: wall time from the trials' datetimes, machines from their attrs."""
    span = wall_span(study)
    lines = []
    if span:
        summed = (f"; {duration(trials.seconds.sum())} of training summed over the complete trials"
                  if trials.seconds.notna().any() else "")
        lines.append(f"- wall time: {duration(span.seconds)}, from the first trial's start "
                     f"({span.first:%Y-%m-%d %H:%M}) to the last trial's completion ({span.last:%Y-%m-%d %H:%M}), "
                     f"pauses between reruns included{summed}")
        if span.corrected:
            lines.append(f"- {span.corrected} trial start{'s' * (span.corrected > 1)} had been written in local time "
                         f"(sweep 0.6.0, outside UTC) and are moved by {_signed(span.shift)}, the zone's offset "
                         "read off the training time each trial recorded; the wall time counts complete trials only")
    else:
        lines.append("- wall time: not recorded")
    if len(trials):
        lines.append("- ran on: " + "; ".join(machines(trials)))
    return lines


def _signed(shift) -> str:
    minutes = round(shift.total_seconds() / 60)
    h, m = divmod(abs(minutes), 60)
    return ("+" if minutes > 0 else "−") + (f"{h} h" if h else "") + (f" {m} min" if m else "")


def render_readme(study, a: Analysis, storage_url, cwd: str | os.PathLike = "/", target: float = 0.5,
                  plots=PLOTS, command: str | None = None) -> str:
    """The report's README; `command` is the `sweep report` that writes it, where one does (a run's own report
    is listed by the run's command)."""
    from ..study.storage import recorded_commands

    here = lambda text: portable_paths(text, cwd)  # noqa: E731
    trials, summary = a.trials, a.summary
    lines = [f"# Label smoothing and overfitting: study `{study.study_name}`", ""]
    if len(trials):
        lines += ["## The answer", "", answer_prose(a.comparisons, summary, a.primary, a.crossing), ""]
        lines += verdict_table(a.comparisons, a.primary) + [""]
        declared = "primary" in study.user_attrs.get("protocol", {})
        lines += method_lines(a.comparisons, a.primary, a.first_stage, declared)
    lines += protocol_lines(study, summary, storage_url, here, a.margin, a.recorded) + run_lines(study, trials) + [""]
    commands = [here(c) for c in [*recorded_commands(study), *([command] if command else [])]]
    if commands:
        lines += ["Made by these commands, in order:", "", "```", *commands, "```", ""]
    if not len(trials):
        return "\n".join(lines + ["No complete trial yet.", ""])
    if summary.n.max() < 2:
        lines += ["One seed per ε: no confidence intervals, and no significance test.", ""]
    lines += precision_section(study, trials)
    correlations = {}
    for metric in a.shapes:
        matrix = seed_matrix(trials[["eps", "seed", metric]].dropna(), metric)
        correlations[metric] = mean_correlation(matrix.to_numpy()) if len(matrix) >= 2 else float("nan")
    lines += results_table(summary) + comparison_section(a.comparisons, target)
    lines += findings(summary, a.shapes, correlations) + calibration_lines(summary, a.crossing)
    lines += onset_section(trials, summary, a.comparisons) + ["## Plots", ""]
    for name, caption in plots:
        lines += [f"### {caption}", "", f"![{caption}]({name}.png)", ""]
    lines += ["Tables: `trials.csv` (one row per trial, with its onset epoch, NLL rise and noise, signed calibration "
              "error and stopped accuracy), `epochs.csv` (trial × epoch), `summary.csv` (per ε), `comparisons.csv` "
              "(each ε against ε = 0, in the metrics' raw units: accuracies as fractions; `lo`, `hi` the unadjusted "
              "95 % CI, `lo_adj`, `hi_adj` the interval each verdict is read off).", ""]
    return "\n".join(lines)


def precision_section(study, trials: pd.DataFrame) -> list[str]:
    """How `--until-precise` ran: Stein's rule, what the first stage asked for, and where the study stands."""
    attrs = study.user_attrs
    recorded = attrs.get("until_precise")
    if recorded is None or not len(trials):
        return []
    grid = len(recorded.get("epsilons") or trials.eps.unique())
    seeds = trials.seed.nunique()
    lines = ["## Seeds set by the first stage (`--until-precise`)", ""]
    if recorded.get("procedure") != "stein":
        return lines + [f"This study was extended by an earlier sequential rule (before sweep 0.5.0), to {seeds} seeds "
                        "per ε: its intervals are ordinary paired t-intervals and cover somewhat less than their "
                        "nominal level, since the stopping looked at the SD along the way.", ""]
    n0, cap = recorded["first_stage_seeds"], recorded["max_trials"] // grid
    plan = attrs.get("precise_plan") or {}
    needed = plan.get("needed")
    lines += [f"Stein's two-stage rule: the first {n0} seeds per ε are the first stage; the SD of each targeted "
              f"comparison's paired differences over them sets, once, the seeds its Bonferroni-adjusted 95 % interval "
              f"needs to be at most ±{recorded['target_pp']:g} pp"
              + (f" (NLL gap ±{recorded['target_nats']:.3g} nats)" if "nll_gap" in recorded["metrics"] else "")
              + f"; the study takes the most any of them needs, at most {cap} seeds per ε (`--max-trials "
              f"{recorded['max_trials']}`). Targeted: {', '.join(recorded['metrics'])}. Every comparison with ε = 0 "
              f"in this report uses the first-stage SD with t on {n0 - 1} degrees of freedom, so its coverage does not "
              "depend on how the number of seeds fell; the per-ε intervals, the steps along the grid and the "
              "calibration intervals are ordinary t-intervals over the seeds run.", ""]
    if not plan:
        return lines + [f"- No plan yet: the first stage is still running ({seeds} seeds per ε so far).", ""]
    if needed is None:
        return lines + ["- No plan: the first stage gives no SD for any targeted comparison.", ""]
    if plan.get("action") == "precise" and needed <= n0:
        state = "the first stage was precise enough: no seed added"
    else:
        per = trials.groupby("eps").seed.nunique()
        done = f"{per.min()}" if per.min() == per.max() else f"{per.min()}–{per.max()}"
        state = ("complete" if per.min() >= min(needed, cap) else f"not finished: {done} of {min(needed, cap)} seeds "
                 "per ε done (rerun the same command to go on)")
    lines += [f"- Plan: {needed} seeds per ε" + (f", capped at {cap}" if needed > cap else "") + f"; {state}.", "",
              "| targeted comparison | ε | first-stage seeds | first-stage SD | seeds needed |", "|---|---|---|---|---|"]
    for n in plan.get("needs", []):
        unit = "pp" if n["metric"] != "nll_gap" else "nats"
        sd = "–" if n["needed"] is None else f"{n['sd']:.3g} {unit}"
        lines.append(f"| {n['metric']} | {n['eps']:g} | {n['seeds']} | {sd} | {n['needed'] or '–'} |")
    return lines + [""]


def _onset_line(g: pd.DataFrame, r) -> str:
    head = f"- ε = {r.eps:g} ({'one seed' if r.n < 2 else f'n = {int(r.n)}'}): "
    if g.last_epoch.max() < 2:
        return head + "one epoch: no curve to find an onset or a rise on."
    rises, judged = int(g.rises.sum()), int(g.rises.notna().sum())  # NaN: too few epochs to measure noise
    judge = (f"{rises} of {judged} seeds rise beyond their noise (median noise {g.nll_noise.median():.3f} nats)"
             if judged else f"too few epochs to measure the noise a rise is judged against (it takes {NOISE_EPOCHS})")
    return head + (f"lowest validation NLL at epoch {r.best_epoch_mean:.1f} on average (range "
                   f"{g.best_epoch.min():g}–{g.best_epoch.max():g}, last epoch {g.last_epoch.max():g}); mean rise "
                   f"{r.nll_rise_mean:.3f} nats; {judge}.")


def onset_section(trials: pd.DataFrame, summary: pd.DataFrame, comparisons: pd.DataFrame) -> list[str]:
    lines = ["## Overfitting over time", "",
             "Per trial, the onset is the epoch of its lowest validation NLL (unsmoothed; the first on ties) and the "
             "rise is the last epoch's validation NLL minus that lowest value. A rise counts only when it exceeds "
             f"{RISE_NOISE:g} × the trial's own epoch-to-epoch noise: the root mean square of the second differences "
             "of its validation NLL over the second half of its epochs, divided by √6 (for a smooth curve plus "
             "independent noise of SD σ, a second difference has SD σ√6). That is a rule of thumb, not a test: ten "
             "epochs give the noise estimate few degrees of freedom.", ""]
    for _, r in summary.iterrows():
        lines.append(_onset_line(trials[trials.eps == r.eps], r))
    onsets = onset_tests(trials)
    if len(onsets):
        parts = [f"ε = {r.eps:g}: {r['diff']:+.1f} epochs, p = {r.p:.2g}, Holm p = {r.p_holm:.2g} ({r.method})"
                 if pd.notna(r.p) else
                 f"ε = {r.eps:g}: {r['diff']:+.1f} epochs (described, not tested: over these {int(r.n)} seeds the "
                 f"smallest p this test can give is {r.p_min:.2g})" for _, r in onsets[onsets.method.notna()].iterrows()]
        if parts:
            lines += ["", "- Onset against ε = 0 (secondary), by exact permutation tests of the onset epochs (integer "
                          "epochs with ties would make a t-test's p unreliable): " + "; ".join(parts) + "."]
    lines += _compared_line(comparisons, "nll_rise", "- Rise against ε = 0")
    lines += _compared_line(comparisons, "stopped_val_acc",
                            "- Validation accuracy when each trial stops where the *other* seeds' mean validation "
                            "accuracy at its ε peaks (picked on the quantity reported, the same rule at every ε; a "
                            "trial's own validation scores never pick its epoch, though the other seeds' are on the "
                            "same images, so read this test as approximate), against ε = 0")
    lines += _compared_line(comparisons, "val_acc", "- For reference, validation accuracy at the last epoch")
    return lines + [""]


def _compared_line(comparisons: pd.DataFrame, metric: str, head: str) -> list[str]:
    rows = comparisons[(comparisons.metric == metric) & comparisons.p.notna()]
    if not len(rows):
        return []
    parts = [f"ε = {r.eps:g}: {signed(r, metric, adjusted=True)} (adjusted CI), {r.verdict}"
             for _, r in rows.iterrows()]
    return [f"{head} ({rows.method.iloc[0]}, secondary, Bonferroni over the ε): " + "; ".join(parts) + "."]
