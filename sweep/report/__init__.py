"""The report: reads a study and writes CSV tables, PNG plots and a README to a folder.

By role: `tables` (the study as frames), `stats` (pure statistics), `analysis` (which test fits
the design), `plots_eps` and `plots_time` (one module per family of plots), `markdown` and
`readme` (the text), `paths` (no machine paths in what is shared). It only reads the study (plus
one dashboard note that points at the report).

    python -m sweep report --storage sqlite:///studies/label-smoothing.db --out reports
"""

from __future__ import annotations

from pathlib import Path

import optuna

from .analysis import comparisons_frame, curve, margins
from .paths import portable_paths
from .plots_eps import is_grid, plot_accuracy, plot_differences, plot_gap, plot_loss
from .plots_time import plot_calibration, plot_overfitting_over_time
from .readme import PLOTS, render_readme
from .tables import COMPARED, HEADLINE, epochs_frame, per_epsilon_table, summary_frame, trials_frame

OVER_TIME = ("nll_rise", "stopped_val_acc")  # compared with ε = 0 in the over-time section
TARGET = 0.5  # planning: the seeds for a 95 % CI half-width of this fraction of the margin

__all__ = ["write_report", "trials_frame", "per_epsilon_table", "portable_paths"]


def write_report(study: optuna.Study, out: Path, storage_url: str | None = None) -> Path:
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"report folder {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    epochs = epochs_frame(study)
    trials = trials_frame(study, epochs)
    margin, recorded = margins(study.user_attrs.get("protocol", {}))
    summary = summary_frame(trials)
    comparisons = comparisons_frame(trials, (*COMPARED, *OVER_TIME), margin, TARGET)
    curves = {m: curve(trials, m) for m in HEADLINE}
    for name, frame in (("trials", trials), ("epochs", epochs), ("summary", summary), ("comparisons", comparisons)):
        frame.to_csv(out / f"{name}.csv", index=False)
    plots = PLOTS
    if len(trials):
        grid = is_grid(trials)
        if not plot_differences(comparisons, out / "differences_vs_zero.png"):
            plots = tuple(p for p in PLOTS if p[0] != "differences_vs_zero")
        plot_gap(trials, summary, out / "gap_vs_epsilon.png", grid)
        plot_accuracy(trials, summary, out / "accuracy_vs_epsilon.png", grid)
        plot_overfitting_over_time(epochs, out / "overfitting_over_time.png")
        plot_loss(trials, summary, out / "loss_vs_epsilon.png", grid)
        plot_calibration(trials, summary, epochs, out / "calibration.png", grid)
    text = render_readme(study, trials, summary, comparisons, curves, margin, recorded, storage_url, cwd=Path.cwd(),
                         target=TARGET, plots=plots)
    (out / "README.md").write_text(text)
    _dashboard_note(study, out)
    return out


def _dashboard_note(study: optuna.Study, out: Path) -> None:
    try:
        from optuna_dashboard import save_note
    except ImportError:
        return
    # The database keeps the full record, so the note may name the folder in full.
    save_note(study, f"# Report\n\nPlots and tables: `{out.resolve()}/README.md` "
                     "(written by `python -m sweep report`).\n")
