"""What every plot shares: a non-interactive backend, one colour per ε, axis styling, saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: a report never opens a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402


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
    if ax.get_legend_handles_labels()[0]:  # below the axes: never over a seed's point or an error bar
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)


def epoch_axis(ax, epochs) -> None:
    """Whole epochs only, also where a one- or two-epoch run leaves a narrow range."""
    lo, hi = int(min(epochs)), int(max(epochs))
    if hi - lo <= 12:
        ax.set_xticks(range(lo, hi + 1))
        ax.set_xlim(lo - 0.5, hi + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")  # the legends below the axes included
    plt.close(fig)
