"""Daily and weekly tables of training and run metrics, and streaks of consecutive days."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from imu.core.schema import RUN_SUMMARY_COLUMNS
from imu.metrics.sessions import REP_STAT_COLUMNS, session_rep_stats

RUN_METRICS: Final = RUN_SUMMARY_COLUMNS
"""The contract's run summary columns, each trended."""


def daily_table(summaries: pd.DataFrame, reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per calendar day (UTC) with at least one session.

    Columns: ``date``, ``sessions``, ``strength_sessions``, ``run_sessions``, ``reps_per_day``
    (reps of the day's strength sessions; NaN without one), ``bridge_reps``,
    ``posterior_tilt_pct``, ``tempo_cv_pct`` (mean over the day's sessions of the CV of rep
    duration), ``form_break_pct`` (when reps carry ``form_break``) and, for run days, the mean
    over the day's runs of each run metric. Rep statistics come from the summaries
    (``imu.metrics.sessions.REP_STAT_COLUMNS``) or, when ``reps`` is given, from the reps.
    """
    s = summaries.copy()
    if s.empty:
        return pd.DataFrame(columns=["date", "sessions"])
    s["date"] = s["started_at"].dt.tz_convert("UTC").dt.normalize().dt.tz_localize(None)
    if "session_dir" not in s.columns:
        s["session_dir"] = s["session_id"]
    is_run = (s["activity"] == "run").to_numpy()
    s["is_run"] = is_run
    s["is_strength"] = ~is_run
    s["strength_reps"] = s["n_reps"].where(~is_run)
    if reps is not None:
        s = s.drop(columns=[c for c in REP_STAT_COLUMNS if c in s.columns])
        s = s.join(session_rep_stats(s, reps), on="session_dir")
    for c in REP_STAT_COLUMNS:
        if c not in s.columns:
            s[c] = np.nan
    for c in RUN_METRICS:
        s[c] = s[c].where(is_run) if c in s.columns else np.nan

    g = s.groupby("date")
    day = pd.DataFrame(
        {
            "sessions": g.size(),
            "strength_sessions": g["is_strength"].sum(),
            "run_sessions": g["is_run"].sum(),
            "reps_per_day": g["strength_reps"].sum(min_count=1),
            "bridge_reps": g["bridge_reps"].sum(min_count=1),
            "posterior_reps": g["posterior_reps"].sum(min_count=1),
            "tempo_cv_pct": 100.0 * g["tempo_cv"].mean(),
            "form_break_reps": g["form_break_reps"].sum(min_count=1),
            "reps_seen": g["reps_seen"].sum(min_count=1),
        }
    )
    day.loc[day["strength_sessions"] == 0, "reps_per_day"] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        day["posterior_tilt_pct"] = (100.0 * day["posterior_reps"] / day["bridge_reps"]).where(
            day["bridge_reps"] > 0
        )
        day["form_break_pct"] = (100.0 * day["form_break_reps"] / day["reps_seen"]).where(
            day["reps_seen"] > 0
        )
    for c in RUN_METRICS:
        day[c] = g[c].mean()
    day = day.reset_index()
    return day


def streaks(dates: pd.Series) -> pd.DataFrame:
    """Per training day: length of the consecutive-day streak that ends on it."""
    d = np.unique(dates.to_numpy(dtype="datetime64[D]"))
    if d.size == 0:
        return pd.DataFrame({"date": pd.to_datetime([]), "streak_days": []})
    ordinal = d.astype(np.int64)
    new_run = np.r_[True, np.diff(ordinal) != 1]
    run_id = np.cumsum(new_run)
    start_of_run = ordinal[new_run][run_id - 1]
    return pd.DataFrame({"date": pd.to_datetime(d), "streak_days": ordinal - start_of_run + 1})


def weekly_table(daily: pd.DataFrame) -> pd.DataFrame:
    """One row per ISO week from the first to the last training week (empty weeks included).

    ``training_days``; ``longest_streak_days`` (longest run of consecutive training days up to
    the end of the week) and ``current_streak_days`` (the run still going at the end of the
    week, or on the last day with data for the last week); ``reps_per_day`` (reps / strength
    days); ``posterior_tilt_pct`` (posterior bridge reps / bridge reps); ``tempo_cv_pct`` and run
    metrics as means of the daily values; ``complete`` says the data cover the whole week.
    """
    if daily.empty:
        return pd.DataFrame(columns=["week", "week_start", "training_days"])
    days = daily.copy()
    days["week_start"] = days["date"] - pd.to_timedelta(days["date"].dt.day_of_week, unit="D")
    first, last = days["date"].min(), days["date"].max()
    weeks = pd.date_range(days["week_start"].min(), days["week_start"].max(), freq="7D")
    g = days.groupby("week_start")
    w = pd.DataFrame(index=pd.Index(weeks, name="week_start"))
    w["training_days"] = g.size().reindex(weeks, fill_value=0)
    sums = g[["reps_per_day", "bridge_reps", "posterior_reps", "form_break_reps", "reps_seen"]].sum(
        min_count=1
    )
    strength_days = g["reps_per_day"].count()
    w["reps_per_day"] = (sums["reps_per_day"] / strength_days).reindex(weeks)
    with np.errstate(invalid="ignore", divide="ignore"):
        w["posterior_tilt_pct"] = (100.0 * sums["posterior_reps"] / sums["bridge_reps"]).reindex(
            weeks
        )
        w["form_break_pct"] = (100.0 * sums["form_break_reps"] / sums["reps_seen"]).reindex(weeks)
    w["tempo_cv_pct"] = g["tempo_cv_pct"].mean().reindex(weeks)
    w["run_sessions"] = g["run_sessions"].sum().reindex(weeks, fill_value=0)
    for c in RUN_METRICS:
        w[c] = g[c].mean().reindex(weeks)

    streak = streaks(days["date"])
    as_of = np.minimum(weeks + pd.Timedelta(days=6), last)
    pos = np.searchsorted(streak["date"].to_numpy(), as_of.to_numpy(), side="right") - 1
    running_max = np.maximum.accumulate(streak["streak_days"].to_numpy())
    ok = pos >= 0
    w["longest_streak_days"] = np.where(ok, running_max[np.clip(pos, 0, None)], 0)
    ends_today = ok & (streak["date"].to_numpy()[np.clip(pos, 0, None)] == as_of.to_numpy())
    w["current_streak_days"] = np.where(ends_today, streak["streak_days"].to_numpy()[pos], 0)
    w["complete"] = (weeks >= first) & (weeks + pd.Timedelta(days=6) <= last)
    iso = weeks.isocalendar()
    w.insert(0, "week", [f"{y}-W{n:02d}" for y, n in zip(iso["year"], iso["week"], strict=True)])
    return w.reset_index()[["week", "week_start", *[c for c in w.columns if c != "week"]]]
