"""The plots of a trend report (``imu trends --plot DIR``): one figure per metric with data.

Each figure draws the values the trend was fitted on, the ISO-week means, and THE fitted line
of the report (:attr:`imu.trends.TrendReport.fits`) with its 95% confidence band; nothing is
refitted here, so the picture shows exactly the trend the text and JSON report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from imu.metrics.display import shown, value_limits
from imu.viz.figure import check_figure, new_figure, save_png

if TYPE_CHECKING:
    from imu.trends import TrendReport


BETTER: Final = "tab:green"
WORSE: Final = "tab:red"
CHANGED: Final = "tab:blue"
UNCLEAR: Final = "tab:gray"
"""Line colours: a flagged change for the better, for the worse, a flagged change with no
better side (e.g. cadence), no clear trend."""


def trend_colour(row: Any) -> tuple[str, str]:
    """(colour, words) of a trend row (:attr:`imu.trends.TrendReport.trends`): better or worse
    only for a flagged change of a metric that has a worse direction."""
    if not row.flagged:
        return UNCLEAR, "no clear change"
    if row.worse:
        return WORSE, "getting worse"
    if row.better:
        return BETTER, "getting better"
    return CHANGED, "changed"


def trend_figures(report: TrendReport) -> list[tuple[str, Any]]:
    """One matplotlib figure per metric with data: daily values, weekly means, the fitted OLS
    line and its 95% band, coloured by what the change means (green better, red worse, grey
    no clear trend). Returns (file stem, figure) pairs; axes are labelled in words with units,
    dates are short and do not overlap, and the value axis is never narrower than the
    metric's resolution allows (:func:`imu.metrics.display.value_limits`)."""
    figs: list[tuple[str, Any]] = []
    daily, weekly = report.daily, report.weekly
    if daily.empty:
        return figs
    for row in report.trends.itertuples(index=False):
        name = str(row.metric)
        sh = shown(name)
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
        colour, words = trend_colour(row)
        fig, ax = new_figure(figsize=(7, 3.6), layout="constrained")
        ax.plot(x, y, "o", ms=4, color="tab:blue", alpha=0.6,
                label="each day" if row.per == "day" else "each week")
        if row.per == "day" and name in weekly.columns:
            ax.plot(
                weekly["week_start"] + pd.Timedelta(days=3),
                weekly[name],
                "s-",
                color="black",
                alpha=0.6,
                ms=4,
                label="week's mean",
            )
        fit = report.fits.get(name)
        lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
        if fit is not None and np.isfinite(fit.slope_per_week):
            ok = y.notna().to_numpy()
            xs = pd.date_range(x[ok].min(), x[ok].max(), periods=50)
            xw = report.weeks_since_origin(xs)
            line = fit.line(xw)
            unit = "%" if row.unit == "percentage points" else sh.unit
            label = f"trend {fit.slope_per_week:+.2f} {unit}/week ({words})"
            ax.plot(xs, line, "-", color=colour, lw=2, label=label)
            if fit.n >= 3:
                half = fit.band(xw)
                ax.fill_between(
                    xs, line - half, line + half, color=colour, alpha=0.15,
                    label="95% CI of the line",
                )
            lo, hi = min(lo, float(np.nanmin(line))), max(hi, float(np.nanmax(line)))
        ax.set_ylim(*value_limits(name, lo, hi))
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        title = sh.label[0].upper() + sh.label[1:]
        ax.set_title(f"{title}: {words}", color=colour if row.flagged else "black")
        ax.set_xlabel("date (UTC)")
        ax.set_ylabel(sh.axis if sh.unit != "%" else f"{sh.label} (%)")
        ax.legend(fontsize=7, loc="best")
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
