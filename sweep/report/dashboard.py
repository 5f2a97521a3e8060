"""What optuna-dashboard shows of a report, kept in the study by every report (the end of `run`, and
`sweep report`): the answer as the study's note, with the report's path; the gap against ε and every
trial's per-epoch accuracies as Plotly figures on the study's page; each trial's per-epoch table as its
note. A note is rewritten only where its text changed; a figure under its fixed id replaces the last.

    optuna-dashboard --host 127.0.0.1 sqlite:///studies/label-smoothing.db
"""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pandas as pd
from matplotlib.colors import to_hex

from ..metrics import digits, scale
from .plotting import eps_colors, seeds_label

GAP_FIGURE, CURVES_FIGURE = "gap-vs-epsilon", "accuracy-per-epoch"  # graph object ids: one of each per study
TABLE = (("train_acc", "train acc %"), ("val_acc", "val acc %"), ("gap", "gap pp"), ("train_nll", "train NLL"),
         ("val_nll", "val NLL"), ("val_ece", "val ECE %"))  # a trial note's columns, shown as the report shows them


def publish(study: optuna.Study, trials: pd.DataFrame, summary: pd.DataFrame, epochs: pd.DataFrame,
            answer: str, out: Path, command: str | None) -> None:
    """The study's note, its two figures and each trial's note; one warning, and the report itself kept, where
    the database takes no writes (a read-only file, a role that may only read)."""
    import sys

    from ..study.patience import database_error

    try:
        _publish(study, trials, summary, epochs, answer, out, command)
    except Exception as e:
        if not database_error(e):  # a refused write is the database's; anything else is a bug to see
            raise
        print(f"sweep: warning: the dashboard's notes and figures were not written ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:200] if str(e) else 'no message'})", file=sys.stderr)


def _publish(study, trials, summary, epochs, answer, out, command) -> None:
    from optuna_dashboard import save_plotly_graph_object

    _note(study, study_note(answer, out, command))
    if not len(trials) or not {"epoch", "train_acc", "val_acc"} <= set(epochs.columns):
        return
    save_plotly_graph_object(study, gap_figure(trials, summary), graph_object_id=GAP_FIGURE)
    save_plotly_graph_object(study, curves_figure(epochs), graph_object_id=CURVES_FIGURE)
    numbers = {t.number: t._trial_id for t in study.get_trials(deepcopy=False)}
    for number, g in epochs.groupby("trial"):
        _note(optuna.Trial(study, numbers[number]), trial_note(g))


def _note(target, body: str) -> None:
    from optuna_dashboard import get_note, save_note

    if get_note(target) != body:  # each save is a new version: a report rerun leaves unchanged notes alone
        save_note(target, body)


def study_note(answer: str, out: Path, command: str | None) -> str:
    # Relative to where the command ran (the repository, for the default folders): a path that holds on a clone.
    where = Path(os.path.relpath(out.resolve(), Path.cwd())).as_posix()
    from .paths import portable_paths

    by = f"`{portable_paths(command, Path.cwd())}`" if command else "`python -m sweep run` at its end"
    return (f"# The answer\n\n{answer}\n\n# Report\n\nPlots and tables: `{where}/README.md`, written by {by}. "
            "The study's page draws the gap against ε and each trial's accuracies per epoch; each trial's note is its "
            "per-epoch table.\n")


def trial_note(g: pd.DataFrame) -> str:
    g = g.drop_duplicates("epoch", keep="last").assign(gap=lambda d: d.train_acc - d.val_acc)
    head = f"## ε = {g.eps.iloc[0]:g}, seed {int(g.seed.iloc[0])}: per epoch (eval mode)\n\n"
    columns = [c for c in TABLE if c[0] in g]
    lines = ["| epoch | " + " | ".join(c[1] for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for _, r in g.iterrows():
        lines.append(f"| {int(r.epoch)} | " + " | ".join(f"{r[k] * scale(k):.{digits(k)}f}" for k, _ in columns) + " |")
    return head + "\n".join(lines) + "\n"


def _list(values) -> list:
    # Plain JSON lists: Plotly 6 writes numpy arrays as base64, which an older dashboard's plotly.js cannot draw.
    return [float(v) for v in values]


def _colors(eps_values) -> dict:
    return {e: to_hex(c) for e, c in eps_colors(eps_values).items()}


def gap_figure(trials: pd.DataFrame, summary: pd.DataFrame):
    """Each seed's gap across ε (a line joins one seed's trials, which share their seed), and the mean per ε
    with its 95 % t-interval over seeds where it has two or more; a one-seed ε a hollow marker alone."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (seed, g) in enumerate(trials.sort_values("eps").groupby("seed")):
        fig.add_trace(go.Scatter(x=_list(g.eps), y=_list(g.gap * 100), mode="lines+markers", name="each seed",
                                 legendgroup="seeds", showlegend=i == 0, line={"color": "#bbbbbb", "width": 1},
                                 marker={"size": 5}, hovertemplate=f"seed {seed}: ε %{{x}}, gap %{{y:.2f}} pp"))
    many, one = summary[summary.n >= 2], summary[summary.n < 2]
    if len(many):
        fig.add_trace(go.Scatter(
            x=_list(many.eps), y=_list(many.gap_mean * 100), mode="lines+markers", name="mean ± 95 % CI over seeds",
            line={"color": "#d62728"}, marker={"size": 9},
            error_y={"type": "data", "symmetric": False, "array": _list((many.gap_ci_hi - many.gap_mean) * 100),
                     "arrayminus": _list((many.gap_mean - many.gap_ci_lo) * 100)}))
    if len(one):
        fig.add_trace(go.Scatter(x=_list(one.eps), y=_list(one.gap_mean * 100), mode="markers",
                                 name="one seed (no interval)",
                                 marker={"symbol": "diamond-open", "size": 10, "color": "#d62728"}))
    n = ", ".join(f"ε = {r.eps:g}: {seeds_label(int(r.n))}" for _, r in summary.iterrows()) if len(summary) <= 8 \
        else f"{len(summary)} values of ε, {int(summary.n.sum())} trials"
    fig.update_layout(title=f"Train − validation accuracy gap at the last epoch against ε<br><sup>{n}</sup>",
                      xaxis_title="label smoothing ε", yaxis_title="gap (pp)", template="plotly_white",
                      legend={"orientation": "h", "y": -0.2})
    return fig


def curves_figure(epochs: pd.DataFrame):
    """Every trial's train (eval mode, dashed) and validation (solid) accuracy per epoch, coloured by ε."""
    import plotly.graph_objects as go

    fig, colors, shown = go.Figure(), _colors(epochs.eps.unique()), set()
    for _, g in epochs.drop_duplicates(["trial", "epoch"], keep="last").sort_values(["eps", "seed"]).groupby(
            "trial", sort=False):
        eps, seed = g.eps.iloc[0], int(g.seed.iloc[0])
        for metric, dash, what in (("val_acc", "solid", "validation"), ("train_acc", "dash", "train")):
            fig.add_trace(go.Scatter(x=[int(e) for e in g.epoch], y=_list(g[metric] * 100), mode="lines+markers",
                                     name=f"ε = {eps:g}", legendgroup=f"{eps:g}",
                                     showlegend=eps not in shown and len(colors) <= 10,  # past ten: the hover says
                                     line={"color": colors[eps], "dash": dash}, marker={"size": 4},
                                     hovertemplate=f"ε {eps:g}, seed {seed}, {what}: epoch %{{x}}, %{{y:.2f}} %"))
            shown.add(eps)
    fig.update_layout(title="Accuracy per epoch, each trial<br><sup>validation solid, train (eval mode) dashed</sup>",
                      xaxis={"title": "epoch", "dtick": 1 if epochs.epoch.max() <= 20 else None},
                      yaxis_title="accuracy (%)", template="plotly_white", legend={"title": "label smoothing"})
    return fig
