"""What every plot shares: a non-interactive backend, one colour per ε, axis styling, saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: a report never opens a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402


def seeds_label(n: int) -> str:
    return "one seed" if n == 1 else f"n = {n}"


def eps_colors(eps_values) -> dict:
    """One colour per ε, the same in every plot; a sequential map once there are more than ten."""
    eps_values = sorted(eps_values)
    if len(eps_values) <= 10:
        return {e: f"C{i}" for i, e in enumerate(eps_values)}
    cmap = matplotlib.colormaps["viridis"]
    return {e: cmap(i / (len(eps_values) - 1)) for i, e in enumerate(eps_values)}


def style(ax, title, ylabel, percent=False, symbol="%", xlabel="label smoothing ε"):
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, symbol=symbol))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
