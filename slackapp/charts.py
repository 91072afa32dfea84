"""PNG charts of KPI trends (matplotlib, no display needed)."""

from __future__ import annotations

import io
from datetime import date

import matplotlib

matplotlib.use("Agg")  # headless: scheduler and servers have no display

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def kpi_trend_png(
    series: dict[str, list[tuple[date, float]]],
    title: str,
    *,
    width: float = 8.0,
    height: float = 4.0,
) -> bytes:
    """One line per series name, dates on x. Empty series still give a readable image."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    try:
        plotted = False
        for name, points in sorted(series.items()):
            points = sorted(points)
            if not points:
                continue
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker="o",
                markersize=3,
                linewidth=1.6,
                label=name,
            )
            plotted = True
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if plotted:
            ax.legend(loc="best", fontsize=8)
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
            fig.autofmt_xdate()
        else:
            ax.text(0.5, 0.5, "No values yet", ha="center", va="center", transform=ax.transAxes)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()
    finally:
        plt.close(fig)
