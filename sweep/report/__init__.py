"""The report: reads a study and writes CSV tables, PNG plots and a README to a folder.

By role: `tables` (the study as frames), `analysis` (which test fits the design, on `sweep.stats`),
`plots_eps` and `plots_time` (one module per family of plots), `answer` (the first screen), `markdown`
and `readme` (the rest of the text), `dashboard` (the answer, figures and notes that optuna-dashboard
shows), `folder` (one study per report folder), `paths` (no machine paths in what is shared). It reads
the study and writes back only what the dashboard shows.

    python -m sweep report --storage sqlite:///studies/label-smoothing.db --out reports
"""

from __future__ import annotations

from pathlib import Path

import optuna

from .analysis import comparisons_frame, first_stage, margins, primary_metric, shape
from .paths import portable_paths
from ..metrics import COMPARED, HEADLINE, margin_kind
from ..stats import sign_change
from .tables import epochs_frame, per_epsilon_table, seed_matrix, summary_frame, trials_frame

OVER_TIME = ("nll_rise", "stopped_val_acc")  # compared with ε = 0 in the over-time section
TARGET = 0.5  # planning: the seeds for an adjusted 95 % CI half-width of this fraction of the margin

__all__ = ["write_report", "trials_frame", "per_epsilon_table", "portable_paths"]


def write_report(study: optuna.Study, out: Path, storage_url: str | None = None, command: str | None = None) -> Path:
    """Every table, plot and the README into `out`, and what optuna-dashboard shows into the study; the files
    an earlier report of the study wrote there and this one does not are removed (folder.py). `command`: the
    `sweep report` command line that asked for it (None: a run's own report)."""
    # Plots load matplotlib: imported here, so that the statistics import without it.
    from .answer import answer_prose
    from .dashboard import publish
    from .folder import record
    from .plots_eps import is_grid, plot_accuracy, plot_differences, plot_gap, plot_loss
    from .plots_time import plot_calibration, plot_overfitting_over_time
    from .readme import PLOTS, Analysis, render_readme

    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"report folder {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    epochs = epochs_frame(study)
    trials = trials_frame(study, epochs)
    protocol = study.user_attrs.get("protocol", {})
    margin, recorded = margins(protocol)
    summary = summary_frame(trials)
    primary, n0 = primary_metric(protocol), first_stage(study.user_attrs)
    comparisons = comparisons_frame(trials, (*COMPARED, *OVER_TIME), margin, TARGET, primary, n0)
    shapes = {m: shape(trials, m, margin[margin_kind(m)]) for m in (*HEADLINE, "val_sce")}
    written = []
    for name, frame in (("trials", trials), ("epochs", epochs), ("summary", summary), ("comparisons", comparisons)):
        frame.to_csv(out / f"{name}.csv", index=False)
        written.append(f"{name}.csv")
    plots = PLOTS
    if len(trials):
        grid = is_grid(trials)
        if not plot_differences(comparisons, out / "differences_vs_zero.png", primary):
            plots = tuple(p for p in PLOTS if p[0] != "differences_vs_zero")
        plot_gap(trials, summary, out / "gap_vs_epsilon.png", grid)
        plot_accuracy(trials, summary, out / "accuracy_vs_epsilon.png", grid)
        plot_overfitting_over_time(epochs, out / "overfitting_over_time.png")
        plot_loss(trials, summary, out / "loss_vs_epsilon.png", grid)
        plot_calibration(trials, summary, epochs, out / "calibration.png", grid)
        written += [f"{p[0]}.png" for p in plots]
    sce = seed_matrix(trials[["eps", "seed", "val_sce"]].dropna(), "val_sce") if len(trials) else None
    crossing = sign_change(sce.to_numpy(), sce.columns.to_numpy(dtype=float)) \
        if sce is not None and len(sce) >= 2 and sce.shape[1] >= 2 else None
    analysis = Analysis(trials, summary, comparisons, shapes, crossing, margin, recorded, primary, n0)
    text = render_readme(study, analysis, storage_url, cwd=Path.cwd(), target=TARGET, plots=plots, command=command)
    (out / "README.md").write_text(text)
    record(out, study.study_name, storage_url, [*written, "README.md"])
    answer = answer_prose(comparisons, summary, primary, crossing) if len(trials) else "No complete trial yet."
    publish(study, trials, summary, epochs, answer, out, command)
    return out

