"""Trends across sessions: what changed over days and weeks, and whether it is worth saying.

Reads every ``session=<id>/summary.parquet`` under a folder written by ``imu analyze --out DIR``
(docs/formats.md; :mod:`imu.io.catalog`), builds one row per training day and one per ISO week
(:mod:`.tables`), and fits each metric's trend as an ordinary-least-squares line through the
DAILY values (slope per week with a 95% confidence interval from Student's t; :mod:`.stats`).
A trend is flagged in plain words only when it is both significant and practically meaningful
(:mod:`.flags`); :mod:`.text` renders a report as text, CSV, JSON or Parquet. The figures are in
:mod:`imu.viz.trends`.

The package is callable: ``imu.trends(DIR, weeks=None)`` is :func:`compute_trends`.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from imu.core.errors import InputError
from imu.io.catalog import (
    CACHE_FILE,
    REPS_SCHEMA,
    SUMMARY_SCHEMA,
    StoredRepStats,
    read_reps,
    read_summaries,
    session_dirs,
)
from imu.io.catalog import read_sessions as _read_sessions
from imu.metrics.sessions import REP_STAT_COLUMNS, session_rep_stats
from imu.trends import text
from imu.trends.flags import METRIC_BY_NAME, METRICS, RUN_ADVICE, STRENGTH_ADVICE, Metric, judge
from imu.trends.stats import FAMILY_ALPHA, MIN_POINTS, TrendFit, fit_trend, holm
from imu.trends.tables import RUN_METRICS, daily_table, streaks, weekly_table

__all__ = [
    "CACHE_FILE",
    "FAMILY_ALPHA",
    "METRICS",
    "METRIC_BY_NAME",
    "MIN_POINTS",
    "REPS_SCHEMA",
    "REP_STATS",
    "RUN_ADVICE",
    "RUN_METRICS",
    "SESSION_SCHEMA",
    "STRENGTH_ADVICE",
    "SUMMARY_SCHEMA",
    "Metric",
    "TrendFit",
    "TrendReport",
    "compute_trends",
    "daily_table",
    "fit_trend",
    "holm",
    "judge",
    "last_weeks",
    "read_reps",
    "read_sessions",
    "read_summaries",
    "session_dirs",
    "trends_from_tables",
    "weekly_table",
]

REP_STATS: Final = StoredRepStats(REP_STAT_COLUMNS, "reps_seen", session_rep_stats)
"""The rep statistics ``imu analyze`` stores in each summary (:mod:`imu.metrics.sessions`)."""

SESSION_SCHEMA: Final = REP_STATS.schema
"""What trends read from a summary: the contract columns plus the rep statistics that
``imu analyze`` stores there, so a session costs one small file, not two."""


def read_sessions(root: str | Path, cache: bool = True) -> pd.DataFrame:
    """One row per session under ``root``: the summary columns plus per-session rep statistics
    (cached in ``root/.imu-trends-cache.parquet``; :func:`imu.io.catalog.read_sessions`)."""
    return _read_sessions(root, REP_STATS, cache=cache)


@dataclass
class TrendReport:
    """Everything ``imu trends`` shows: daily and weekly tables, fitted trends and flags."""

    daily: pd.DataFrame
    weekly: pd.DataFrame
    trends: pd.DataFrame
    sessions: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    longest_streak_days: int = 0
    current_streak_days: int = 0
    flags: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Sessions left out because their summary has no ``started_at``."""
    fits: dict[str, TrendFit] = field(default_factory=dict)
    """Each metric's fitted line (x in weeks from :attr:`origin`), as ``trends`` reports it."""
    origin: pd.Timestamp | None = None
    """The first training day: x = 0 of every fit."""

    def __repr__(self) -> str:
        flagged = ", ".join(str(m) for m in self.trends.loc[self.trends["flagged"], "metric"])
        return (
            f"<TrendReport {self.sessions} sessions, {self.first_day} to {self.last_day}, "
            f"{len(self.weekly)} weeks; flagged: {flagged or 'none'}>\n"
            "  .weekly, .daily, .trends tables; print(report.to_text()) for the readable report"
        )

    def weeks_since_origin(self, when: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """Times as the fits' x: weeks since :attr:`origin`."""
        return (pd.DatetimeIndex(when) - self.origin).total_seconds().to_numpy() / (7 * 86400.0)

    def long_table(self) -> pd.DataFrame:
        """Tidy table: one row per (ISO week, metric) with the metric's trend repeated."""
        return text.long_table(self)

    def to_json(self) -> str:
        """JSON with ``period``, ``streaks``, ``weekly``, ``trends``, ``flags``, ``advice``."""
        return text.to_json(self)

    def to_text(self) -> str:
        """Human-readable tables (weekly values, trends) and the flags with advice."""
        return text.to_text(self)


def trends_from_tables(summaries: pd.DataFrame, reps: pd.DataFrame | None = None) -> TrendReport:
    """Trends from already-read summaries (and reps with ``session_dir``)."""
    daily = daily_table(summaries, reps)
    weekly = weekly_table(daily)
    fits: list[TrendFit] = []
    t0 = None
    if not daily.empty:
        t0 = daily["date"].min()
        x_day = (daily["date"] - t0).dt.days.to_numpy(float) / 7.0
        complete = weekly[weekly["complete"]]
        x_week = ((complete["week_start"] - t0).dt.days.to_numpy(float) + 3.0) / 7.0
    for m in METRICS:
        if m.per == "week":
            y = complete[m.name].to_numpy(float) if not daily.empty else np.array([])
            fit = fit_trend(x_week if not daily.empty else y, y, m.name)
        else:
            y = daily[m.name].to_numpy(float) if m.name in daily.columns else np.array([])
            fit = fit_trend(x_day if y.size else y, y, m.name)
        fits.append(fit)
    p = np.array([f.p_value if f.n >= MIN_POINTS else np.nan for f in fits])
    p_holm = holm(p)
    rows = []
    for m, fit, ph in zip(METRICS, fits, p_holm, strict=True):
        verdict = judge(fit, m, float(ph))
        rows.append(
            {
                "metric": m.name,
                "label": m.label,
                "unit": m.unit,
                "per": m.per,
                "n": fit.n,
                "slope_per_week": fit.slope_per_week,
                "ci_low": fit.ci_low,
                "ci_high": fit.ci_high,
                "p_value": fit.p_value,
                "p_holm": float(ph),
                "span_weeks": fit.span_weeks,
                "change": fit.change,
                "min_change": m.min_change,
                "fitted_first": fit.first,
                "fitted_last": fit.last,
                **verdict,
            }
        )
    trends = pd.DataFrame(rows)
    flags = [str(x) for x in trends.loc[trends["flagged"], "message"]]
    advice = list(dict.fromkeys(str(a) for a in trends["advice"] if a))
    streak = streaks(daily["date"]) if not daily.empty else pd.DataFrame()
    last = daily["date"].max() if not daily.empty else None
    longest = int(streak["streak_days"].max()) if not streak.empty else 0
    current = int(streak["streak_days"].iloc[-1]) if not streak.empty else 0
    return TrendReport(
        daily=daily,
        weekly=weekly,
        trends=trends,
        sessions=len(summaries),
        first_day=daily["date"].min().date() if last is not None else None,
        last_day=last.date() if last is not None else None,
        longest_streak_days=longest,
        current_streak_days=current,
        flags=flags,
        advice=advice,
        fits={f.metric: f for f in fits},
        origin=t0,
    )


def last_weeks(sessions: pd.DataFrame, weeks: int) -> pd.DataFrame:
    """The sessions of the last ``weeks`` ISO weeks (Monday to Sunday, UTC), counted back from
    the week of the latest session (not from today: a folder of old or simulated sessions
    still shows its last weeks)."""
    if weeks < 1:
        raise InputError(f"--weeks must be at least 1, got {weeks}")
    day = sessions["started_at"].dt.tz_convert("UTC").dt.normalize()
    last = day.max()
    first_week = last - pd.Timedelta(days=int(last.day_of_week) + 7 * (weeks - 1))
    return sessions[day >= first_week]


def compute_trends(
    root: str | Path, cache: bool = True, weeks: int | None = None
) -> TrendReport:
    """Read every session under ``root`` (``imu analyze`` output layout) and compute trends;
    with ``weeks``, only over the last that many ISO weeks (:func:`last_weeks`)."""
    sessions = read_sessions(root, cache=cache)
    if sessions.empty:
        raise InputError(f"{root}: no session=<id>/summary.parquet found")
    undated = sessions["started_at"].isna()
    if undated.all():
        raise InputError(f"{root}: no session has a started_at date; trends need dates")
    dated = sessions[~undated]
    if weeks is not None:
        dated = last_weeks(dated, weeks)
    report = trends_from_tables(dated)
    report.skipped = sorted(sessions.loc[undated, "session_dir"].astype(str))
    return report


class _CallableModule(types.ModuleType):
    """This package as a module that can be called: ``imu.trends(DIR)`` (the top-level API)."""

    def __call__(
        self, root: str | Path, cache: bool = True, weeks: int | None = None
    ) -> TrendReport:
        return compute_trends(root, cache=cache, weeks=weeks)


sys.modules[__name__].__class__ = _CallableModule
