"""The plots of a trend report (``imu trends --plot DIR``): one figure per metric with data.

Each figure draws the values the trend was fitted on, the ISO-week means, and THE fitted line
of the report (:attr:`imu.trends.TrendReport.fits`) with its 95% confidence band; nothing is
refitted here, so the picture shows exactly the trend the text and JSON report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from imu.viz.figure import check_figure, new_figure, save_png

if TYPE_CHECKING:
    from imu.trends import TrendReport


def trend_figures(report: TrendReport) -> list[tuple[str, Any]]:
    """One matplotlib figure per metric with data: daily values, weekly means, the fitted OLS
    line and its 95% band. Returns (file stem, figure) pairs; every axis has a title and
    labelled units."""
    figs: list[tuple[str, Any]] = []
    daily, weekly = report.daily, report.weekly
    if daily.empty:
        return figs
    for row in report.trends.itertuples(index=False):
        name = str(row.metric)
        unit = "%" if row.unit == "percentage points" else row.unit
        if row.per == "week":
            src = weekly[weekly["complete"]] if weekly["complete"].any() else weekly
            x = src["week_start"] + pd.Timedelta(days=3)
            y = src[name].astype(float)
        else:
            if name not in daily.columns:
                continue
            x, y = daily["date"], daily[name].astype(float)
        if y.notna().sum() < 2:
            continue
        fig, ax = new_figure(figsize=(7, 3.6), layout="constrained")
        ax.plot(x, y, "o", ms=4, color="tab:blue", label="daily" if row.per == "day" else "weekly")
        if row.per == "day" and name in weekly.columns:
            ax.plot(
                weekly["week_start"] + pd.Timedelta(days=3),
                weekly[name],
                "s-",
                color="tab:gray",
                alpha=0.7,
                label="ISO-week mean",
            )
        fit = report.fits.get(name)
        if fit is not None and np.isfinite(fit.slope_per_week):
            ok = y.notna().to_numpy()
            xs = pd.date_range(x[ok].min(), x[ok].max(), periods=50)
            xw = report.weeks_since_origin(xs)
            line = fit.line(xw)
            color = "tab:red" if row.flagged else "tab:green"
            label = f"trend {fit.slope_per_week:+.2f} {unit}/week"
            ax.plot(xs, line, "-", color=color, label=label)
            if fit.n >= 3:
                half = fit.band(xw)
                ax.fill_between(
                    xs, line - half, line + half, color=color, alpha=0.15,
                    label="95% CI of the line",
                )
        title = row.label[0].upper() + row.label[1:]
        if row.flagged:
            title += " - flagged"
        ax.set_title(title)
        ax.set_xlabel("date (UTC)")
        ax.set_ylabel(f"{name} ({unit})")
        ax.legend(fontsize=7, loc="best")
        fig.autofmt_xdate()
        figs.append((f"trend_{name}", fig))
    return figs


def write_trend_plots(report: TrendReport, out_dir: str | Path) -> list[Path]:
    """Write the trend plots as PNG files into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, fig in trend_figures(report):
        check_figure(fig)
        paths.append(save_png(fig, out / f"{stem}.png"))
    return paths
