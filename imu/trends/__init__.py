"""Trends across sessions: what changed over days and weeks, and whether it is worth saying.

Reads every ``session=<id>/summary.parquet`` (and ``reps.parquet``) under a folder written by
``imu analyze --out DIR`` (docs/formats.md), builds one row per training day and one per ISO
week, and fits each metric's trend as an ordinary-least-squares line through the DAILY values
(slope per week with a 95% confidence interval from Student's t; scipy.stats.linregress).

A trend becomes a plain-language flag only when both hold (docs/trends.md):

* statistically: the 95% CI of the slope excludes zero, with at least ``MIN_POINTS`` values;
* practically: the fitted change over the observed span (slope x span) is at least the metric's
  ``min_change`` (e.g. 1 deg of pelvic drop, 10 percentage points of posterior-tilt share).

Advice is attached to flags that go the wrong way. Strength advice follows the usual glute
activation practice (daily low-load drills, sets stopped at form breakdown); running advice
follows the hip-abductor literature on contralateral pelvic drop and fatigue (e.g. Bramah et al.
2018, Am J Sports Med 46:3023-3031).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyarrow._parquet import ParquetReader  # pyarrow is pinned; public API adds 30% here
from scipy import stats

from imu.analysis import RUN_SUMMARY_COLUMNS
from imu.core.errors import InputError
from imu.io.rawfile import write_parquet_atomic
from imu.metrics.sessions import REP_STAT_COLUMNS, session_rep_stats

"""Exercises counted as "bridge reps" for the posterior-tilt share."""

FAMILY_ALPHA: Final = 0.05
"""Holm-adjusted p-value below which a trend counts across the family of all metrics."""

MIN_POINTS: Final = 4
"""Fewer values than this: the trend is reported without a confidence interval and never flagged."""

STRENGTH_ADVICE: Final = (
    "Do activation drills every day for at least a month, 10-100 reps a day in sets of 5-20, "
    "and stop a set when form breaks down; consistency beats volume."
)
RUN_ADVICE: Final = "Keep the pelvis level as you tire."

SUMMARY_SCHEMA: Final = pa.schema(
    [
        ("session_id", pa.string()),
        ("started_at", pa.string()),
        ("activity", pa.string()),
        ("exercise", pa.string()),
        ("duration_s", pa.float64()),
        ("n_sets", pa.float64()),
        ("n_reps", pa.float64()),
        ("cadence_spm", pa.float64()),
        ("gct_ms", pa.float64()),
        ("gct_balance_left_pct", pa.float64()),
        ("vo_cm", pa.float64()),
        ("pelvic_drop_left_deg", pa.float64()),
        ("pelvic_drop_right_deg", pa.float64()),
        ("pelvic_rotation_deg", pa.float64()),
        ("drop_drift_deg", pa.float64()),
    ]
)
"""The summary columns trends use (contract section 3); absent ones read as null, other types
are cast (e.g. a timestamp ``started_at`` becomes its ISO text, parsed afterwards)."""

REPS_SCHEMA: Final = pa.schema(
    [
        ("set", pa.float64()),
        ("rep", pa.float64()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("tilt_deg", pa.float64()),
        ("tilt_class", pa.string()),
        ("exercise", pa.string()),
        ("form_break", pa.bool_()),
    ]
)

RUN_METRICS: Final = RUN_SUMMARY_COLUMNS
"""The contract's run summary columns, each trended."""


@dataclass(frozen=True)
class Metric:
    """A trended metric: how to name it, when a change matters and which way is worse."""

    name: str
    label: str
    unit: str
    min_change: float
    """Smallest fitted change over the observed span that is worth a flag (metric units)."""
    worse: str | None = None
    """'up' or 'down' when a change that way is a deterioration (gets advice); None if neither."""
    advice: str | None = None
    per: str = "day"
    """'day': fitted on daily values; 'week': on complete ISO weeks."""


METRICS: Final[tuple[Metric, ...]] = (
    Metric("training_days", "training days per week", "days", 1.0, "down", STRENGTH_ADVICE, "week"),
    Metric("reps_per_day", "reps per strength day", "reps", 10.0, "down", STRENGTH_ADVICE),
    Metric(
        "posterior_tilt_pct",
        "share of bridge reps with posterior tilt",
        "percentage points",
        10.0,
        "down",
        STRENGTH_ADVICE,
    ),
    Metric(
        "tempo_cv_pct",
        "rep-duration variability (CV)",
        "percentage points",
        5.0,
        "up",
        STRENGTH_ADVICE,
    ),
    Metric(
        "form_break_pct",
        "share of reps with form breaks",
        "percentage points",
        10.0,
        "up",
        STRENGTH_ADVICE,
    ),
    Metric("cadence_spm", "running cadence", "steps/min", 3.0),
    Metric("gct_ms", "ground contact time", "ms", 10.0, "up"),
    Metric("gct_balance_left_pct", "left share of ground contact time", "percentage points", 2.0),
    Metric("vo_cm", "vertical oscillation", "cm", 0.5, "up"),
    Metric(
        "pelvic_drop_left_deg",
        "left-side pelvic drop (left-leg stance)",
        "deg",
        1.0,
        "up",
        RUN_ADVICE,
    ),
    Metric(
        "pelvic_drop_right_deg",
        "right-side pelvic drop (right-leg stance)",
        "deg",
        1.0,
        "up",
        RUN_ADVICE,
    ),
    Metric("pelvic_rotation_deg", "pelvic rotation", "deg", 2.0),
    Metric("drop_drift_deg", "pelvic drop drift within a run", "deg", 1.0, "up", RUN_ADVICE),
)
METRIC_BY_NAME: Final = {m.name: m for m in METRICS}


# --------------------------------------------------------------------------------------------
# Reading


def session_dirs(root: str | Path) -> list[Path]:
    """The ``session=<id>`` folders under ``root`` (sorted)."""
    p = Path(root)
    if not p.exists():
        raise InputError(f"{p}: no such folder")
    if not p.is_dir():
        raise InputError(f"{p}: not a folder (expected the output folder of imu analyze)")
    return sorted(d for d in p.glob("session=*") if d.is_dir())


_FLOAT_TYPES: Final = frozenset({"FLOAT", "DOUBLE"})


@dataclass
class _Layout:
    """Where the wanted columns sit in files of one Parquet schema (resolved once per batch)."""

    schema: pq.ParquetSchema
    columns: list[tuple[int, str, bool, bool]]
    """(index, name, is_float, is_always_null) of each wanted column present."""

    @classmethod
    def of(cls, md: pq.FileMetaData, wanted: frozenset[str]) -> _Layout:
        schema = md.schema
        cols = []
        for j in range(md.num_columns):
            col = schema.column(j)
            if col.path in wanted:
                null_typed = col.logical_type.type == "UNKNOWN"  # Parquet's "always null"
                cols.append((j, col.path, col.physical_type in _FLOAT_TYPES, null_typed))
        return cls(schema, cols)


def _one_row_from_statistics(
    md: pq.FileMetaData, wanted: frozenset[str], layouts: list[_Layout] | None = None
) -> dict[str, Any] | None:
    """The single row of a one-row file, from its footer's column statistics (min == max).

    A metadata-only read: a summary's footer must be parsed anyway, and decoding its one-value
    column chunks costs several times more than the footer. ``None`` where any wanted value is
    not determined by the statistics (the caller then decodes the file). ``layouts`` caches
    column positions across files of the same schema.
    """
    if md.num_rows != 1 or md.num_row_groups != 1:
        return None
    schema = md.schema
    layout = next((lay for lay in layouts or () if lay.schema.equals(schema)), None)
    if layout is None:
        layout = _Layout.of(md, wanted)
        if layouts is not None:
            layouts.append(layout)
    rg = md.row_group(0)
    row: dict[str, Any] = {}
    for j, name, is_float, null_typed in layout.columns:
        st = rg.column(j).statistics
        if st is None:
            if not null_typed:
                return None
            row[name] = None
        elif st.has_null_count and st.null_count == 1:
            row[name] = None
        elif st.has_min_max and st.min == st.max:
            row[name] = st.min
        elif is_float and st.has_null_count and st.null_count == 0:
            row[name] = np.nan  # writers keep NaN out of float statistics
        else:
            return None
    return row


def _rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows of Python values as a table with ``schema`` (absent keys null)."""
    try:
        return pa.table(
            [pa.array([r.get(f.name) for r in rows], f.type) for f in schema], schema=schema
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. a timestamp where text is expected
        cols = []
        for f in schema:
            values = [r.get(f.name) for r in rows]
            if pa.types.is_string(f.type):  # as _conform renders timestamps
                values = [
                    v.strftime("%Y-%m-%dT%H:%M:%S%z") if isinstance(v, dt.datetime) else v
                    for v in values
                ]
            cols.append(pa.array(values, f.type))
        return pa.table(cols, schema=schema)


def _read_one(
    path: Path, wanted: frozenset[str], layouts: list[_Layout] | None = None
) -> pa.Table | dict[str, Any]:
    """One small Parquet file: a one-row file's row from its footer, else the wanted columns
    it has, decoded from memory in one go."""
    data = path.read_bytes()
    # The footer alone, without ParquetFile's Python-side set-up (a third of its cost here).
    footer = ParquetReader()
    footer.open(pa.BufferReader(data))
    row = _one_row_from_statistics(footer.metadata, wanted, layouts)
    if row is not None:
        return row
    pf = pq.ParquetFile(pa.BufferReader(data))
    names = [n for n in pf.schema_arrow.names if n in wanted]
    return pf.read(columns=names, use_threads=False)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns: missing ones null, others cast."""
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table[f.name]
            if col.type != f.type:
                if pa.types.is_timestamp(col.type) and pa.types.is_string(f.type):
                    col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S%z")
                else:
                    col = col.cast(f.type)
            cols.append(col)
        else:
            cols.append(pa.nulls(len(table), f.type))
    return pa.table(cols, schema=schema)


def _read_tables(files: list[Path], schema: pa.Schema) -> pa.Table:
    """Read many small Parquet files into one table with ``schema`` (missing columns null,
    compatible types cast) plus a ``session_dir`` column (the ``session=`` folder's value).

    One-row files (summaries) are read from their footer statistics alone; others are read
    whole into memory and only the wanted columns decoded. (A thread pool was measured slower:
    its per-file overhead exceeds the work.)"""
    if not files:
        return schema.empty_table().append_column("session_dir", pa.array([], pa.string()))
    wanted = frozenset(schema.names)
    try:
        layouts: list[_Layout] = []
        parts = [_read_one(f, wanted, layouts) for f in files]
        is_row = np.array([isinstance(p, dict) for p in parts], dtype=bool)
        tables = [p for p in parts if not isinstance(p, dict)]
        try:
            decoded = [pa.concat_tables(tables, promote_options="permissive")] if tables else []
            decoded = [_conform(t, schema) for t in decoded]
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            # Types that do not promote (e.g. a timestamp in one file, text in another).
            decoded = [_conform(t, schema) for t in tables]
        rows = [p for p in parts if isinstance(p, dict)]
        table = pa.concat_tables(([_rows_to_table(rows, schema)] if rows else []) + decoded)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read session tables: {first}") from None
    lengths = np.array([1 if isinstance(p, dict) else p.num_rows for p in parts])
    # Rows were gathered first, decoded tables after: put everything back in file order.
    file_index = np.repeat(np.arange(len(parts)), lengths)
    order = np.concatenate([file_index[np.repeat(is_row, lengths)],
                            file_index[np.repeat(~is_row, lengths)]])
    table = table.take(np.argsort(order, kind="stable"))
    dirs = np.repeat(
        np.array([f.parent.name.split("=", 1)[1] for f in files], dtype=object), lengths
    )
    return table.append_column("session_dir", pa.array(dirs, pa.string()))


def _finish_summaries(df: pd.DataFrame) -> pd.DataFrame:
    df["session_id"] = df["session_id"].fillna(df["session_dir"])
    try:
        df["started_at"] = pd.to_datetime(df["started_at"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise InputError(f"unreadable started_at in a summary: {exc}") from None
    return df


def read_summaries(root: str | Path) -> pd.DataFrame:
    """Every session's summary row under ``root``; ``started_at`` parsed to UTC timestamps."""
    files = [d / "summary.parquet" for d in session_dirs(root)]
    files = [f for f in files if f.is_file()]
    return _finish_summaries(_read_tables(files, SUMMARY_SCHEMA).to_pandas())


def read_reps(root: str | Path, session_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Every session's reps under ``root`` with a ``session_dir`` column."""
    dirs = session_dirs(root)
    if session_ids is not None:
        keep = set(session_ids)
        dirs = [d for d in dirs if d.name.split("=", 1)[1] in keep]
    files = [d / "reps.parquet" for d in dirs]
    files = [f for f in files if f.is_file()]
    return _read_tables(files, REPS_SCHEMA).to_pandas()


# --------------------------------------------------------------------------------------------
# Daily and weekly tables


SESSION_SCHEMA: Final = pa.schema(
    [*SUMMARY_SCHEMA, *[(c, pa.float64()) for c in REP_STAT_COLUMNS]]
)
"""What trends read from a summary: the contract columns plus the rep statistics that
``imu analyze`` stores there (:func:`rep_stats`), so a session costs one small file, not two."""


def daily_table(summaries: pd.DataFrame, reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per calendar day (UTC) with at least one session.

    Columns: ``date``, ``sessions``, ``strength_sessions``, ``run_sessions``, ``reps_per_day``
    (reps of the day's strength sessions; NaN without one), ``bridge_reps``,
    ``posterior_tilt_pct``, ``tempo_cv_pct`` (mean over the day's sessions of the CV of rep
    duration), ``form_break_pct`` (when reps carry ``form_break``) and, for run days, the mean
    over the day's runs of each run metric.
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


def _streaks(dates: pd.Series) -> pd.DataFrame:
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

    streak = _streaks(days["date"])
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


# --------------------------------------------------------------------------------------------
# Trend fitting and flags


@dataclass
class TrendFit:
    """OLS slope of a metric against time, per week, with its 95% confidence interval."""

    metric: str
    n: int
    slope_per_week: float
    ci_low: float
    ci_high: float
    span_weeks: float
    change: float
    """Fitted change over the observed span: slope x span (metric units)."""
    first: float
    last: float
    p_value: float = float("nan")
    """Two-sided p-value of the slope (t test, n - 2 degrees of freedom)."""


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaNs stay NaN and do not count). Holm S (1979) A simple
    sequentially rejective multiple test procedure. Scand J Stat 6:65-70."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def fit_trend(x_weeks: np.ndarray, y: np.ndarray, metric: str = "") -> TrendFit:
    """OLS of ``y`` on ``x_weeks`` (NaNs dropped); CI = slope +- t(0.975, n-2) x stderr."""
    x = np.asarray(x_weeks, dtype=float)
    v = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(v)
    x, v = x[ok], v[ok]
    n = int(x.size)
    nan = float("nan")
    if n < 2 or np.ptp(x) == 0:
        mean = float(v.mean()) if n else nan
        return TrendFit(metric, n, nan, nan, nan, 0.0, nan, mean, mean)
    res = stats.linregress(x, v)
    span = float(np.ptp(x))
    if n >= 3:
        half = float(stats.t.ppf(0.975, n - 2) * res.stderr)
        lo, hi = float(res.slope) - half, float(res.slope) + half
        if res.stderr > 0:
            p_value = float(res.pvalue)
        else:  # an exact line: certain if it moves at all
            p_value = 0.0 if res.slope != 0 else 1.0
    else:
        lo = hi = p_value = nan
    intercept = float(res.intercept)
    return TrendFit(
        metric,
        n,
        float(res.slope),
        lo,
        hi,
        span,
        float(res.slope) * span,
        intercept + float(res.slope) * float(x.min()),
        intercept + float(res.slope) * float(x.max()),
        p_value,
    )


def _span_text(span_weeks: float) -> str:
    days = round(span_weeks * 7)
    if days < 14:
        return f"{days} days"
    return f"{round(span_weeks)} weeks"


def _number(v: float) -> str:
    a = abs(v)
    return f"{a:.0f}" if a >= 20 else f"{a:.1f}" if a >= 0.95 else f"{a:.2f}"


def judge(fit: TrendFit, metric: Metric, p_holm: float = 0.0) -> dict[str, Any]:
    """Flag decision, direction, message and advice for one fitted trend. ``p_holm`` is the
    slope's p-value adjusted over all metrics of the report (:func:`holm`)."""
    significant = bool(
        fit.n >= MIN_POINTS and np.isfinite(fit.ci_low) and (fit.ci_low > 0 or fit.ci_high < 0)
    )
    family_significant = bool(np.isfinite(p_holm) and p_holm < FAMILY_ALPHA)
    meaningful = bool(np.isfinite(fit.change) and abs(fit.change) >= metric.min_change)
    flagged = significant and family_significant and meaningful
    direction = "up" if fit.change > 0 else "down" if fit.change < 0 else "flat"
    worse = metric.worse is not None and direction == metric.worse
    message = ""
    advice = ""
    if flagged:
        verb = "rose" if direction == "up" else "fell"
        unit = f" {metric.unit}"
        message = (
            f"{metric.label} {verb} {_number(fit.change)}{unit} over {_span_text(fit.span_weeks)} "
            f"({fit.slope_per_week:+.2f} per week, 95% CI {fit.ci_low:+.2f} to {fit.ci_high:+.2f})"
        )
        if worse and metric.advice:
            advice = metric.advice
        elif metric.worse is not None and not worse:
            message += " - an improvement"
    return {
        "significant": significant,
        "family_significant": family_significant,
        "meaningful": meaningful,
        "flagged": flagged,
        "direction": direction,
        "worse": bool(flagged and worse),
        "message": message,
        "advice": advice,
    }


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

    def long_table(self) -> pd.DataFrame:
        """Tidy table: one row per (ISO week, metric) with the metric's trend repeated."""
        metrics = [m.name for m in METRICS if m.name in self.weekly.columns]
        extra = ["longest_streak_days", "current_streak_days", "run_sessions"]
        value_cols = [c for c in [*metrics, *extra] if c in self.weekly.columns]
        long = self.weekly.melt(
            id_vars=["week", "week_start", "complete"],
            value_vars=value_cols,
            var_name="metric",
            value_name="value",
        )
        t = self.trends.set_index("metric")[
            ["unit", "n", "slope_per_week", "ci_low", "ci_high", "change", "flagged", "message"]
        ]
        long = long.join(t, on="metric")
        long["value"] = long["value"].astype(float)
        return long

    def to_json(self) -> str:
        """JSON with ``period``, ``streaks``, ``weekly``, ``trends``, ``flags``, ``advice``."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            out = df.copy()
            for c in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[c]):
                    out[c] = out[c].dt.strftime("%Y-%m-%d")
            return json.loads(out.to_json(orient="records"))

        doc = {
            "sessions": self.sessions,
            "period": {
                "first_day": self.first_day.isoformat() if self.first_day else None,
                "last_day": self.last_day.isoformat() if self.last_day else None,
            },
            "streaks": {
                "longest_days": self.longest_streak_days,
                "current_days": self.current_streak_days,
            },
            "weekly": records(self.weekly),
            "trends": records(self.trends),
            "flags": self.flags,
            "advice": self.advice,
            "skipped_sessions": self.skipped,
        }
        return json.dumps(doc, indent=2)

    def to_text(self) -> str:
        """Human-readable tables (weekly values, trends) and the flags with advice."""
        lines = [
            f"{self.sessions} sessions, {self.first_day} to {self.last_day}; "
            f"streak: longest {self.longest_streak_days} days, current "
            f"{self.current_streak_days} days",
            "",
        ]
        if self.skipped:
            lines[-1:-1] = [f"skipped {len(self.skipped)} session(s) without started_at"]
        w = self.weekly.drop(columns=["week_start"]).set_index("week")
        w = w.dropna(axis=1, how="all")
        with pd.option_context("display.width", 200, "display.max_columns", 50):
            lines += ["Per ISO week:", w.T.round(2).to_string(), ""]
            t = self.trends[
                ["metric", "unit", "n", "slope_per_week", "ci_low", "ci_high", "change", "flagged"]
            ]
            t = t[t["n"] > 0]
            lines += ["Trends (OLS on daily values; slope per week, 95% CI):"]
            lines += [t.round(3).to_string(index=False), ""]
        if self.flags:
            lines += ["Flags:"] + [f"- {f}" for f in self.flags]
        else:
            lines += ["Flags: none (no change both significant and practically meaningful)."]
        if self.advice:
            lines += ["", "Advice:"] + [f"- {a}" for a in self.advice]
        return "\n".join(lines) + "\n"


def trends_from_tables(summaries: pd.DataFrame, reps: pd.DataFrame | None = None) -> TrendReport:
    """Trends from already-read summaries (and reps with ``session_dir``)."""
    daily = daily_table(summaries, reps)
    weekly = weekly_table(daily)
    fits: list[TrendFit] = []
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
    streak = _streaks(daily["date"]) if not daily.empty else pd.DataFrame()
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
    )


CACHE_FILE: Final = ".imu-trends-cache.parquet"
"""Per-session index (summary columns + rep statistics + file stamps) kept in DIR so that
re-running trends reads only new or changed sessions. The leading dot keeps it out of the
hive dataset (pyarrow, Spark and Dask ignore dot files; it matches no session=* pattern)."""
CACHE_VERSION: Final = b"1"


def _stamps(dirs: list[Path]) -> pd.DataFrame:
    """Size and mtime (ns) of each session's summary and reps files (-1 when absent)."""
    rows = np.full((len(dirs), 4), -1, dtype=np.int64)
    for i, d in enumerate(dirs):
        for j, name in enumerate(("summary.parquet", "reps.parquet")):
            try:
                st = os.stat(d / name)
            except FileNotFoundError:
                continue
            rows[i, 2 * j] = st.st_size
            rows[i, 2 * j + 1] = st.st_mtime_ns
    out = pd.DataFrame(
        rows, columns=["summary_size", "summary_mtime_ns", "reps_size", "reps_mtime_ns"]
    )
    out.insert(0, "session_dir", [d.name.split("=", 1)[1] for d in dirs])
    return out


def _load_cache(path: Path) -> pd.DataFrame | None:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException):
        return None
    if (table.schema.metadata or {}).get(b"imu_trends_cache") != CACHE_VERSION:
        return None
    return table.to_pandas()


def read_sessions(root: str | Path, cache: bool = True) -> pd.DataFrame:
    """One row per session under ``root``: the summary columns plus per-session rep statistics.

    With ``cache`` the rows are kept in ``root/.imu-trends-cache.parquet`` keyed by each
    session's file sizes and modification times, so only new or changed sessions are read
    again (a folder that cannot be written is read in full each time, which is fine).
    """
    root = Path(root)
    dirs = session_dirs(root)
    stamps = _stamps(dirs)
    stamps = stamps[stamps["summary_size"] >= 0].reset_index(drop=True)
    dir_of = {d.name.split("=", 1)[1]: d for d in dirs}
    key_cols = list(stamps.columns)
    cached = _load_cache(root / CACHE_FILE) if cache else None
    if cached is not None and set(key_cols) <= set(cached.columns):
        fresh = cached.merge(stamps, on=key_cols, how="inner")
    else:
        fresh = pd.DataFrame(columns=key_cols)
    todo = stamps[~stamps["session_dir"].isin(fresh["session_dir"])]
    new = pd.DataFrame()
    if len(todo):
        files = [dir_of[k] / "summary.parquet" for k in todo["session_dir"]]
        new = _finish_summaries(_read_tables(files, SESSION_SCHEMA).to_pandas())
        # Rep statistics come with the summary; only summaries written without them (older
        # versions, other writers) make us open their reps files.
        missing = new["reps_seen"].isna().to_numpy() & (todo["reps_size"].to_numpy() >= 0)
        if missing.any():
            dirs_missing = new.loc[missing, "session_dir"]
            reps = _read_tables(
                [dir_of[k] / "reps.parquet" for k in dirs_missing], REPS_SCHEMA
            ).to_pandas()
            stats = session_rep_stats(new[missing], reps).reindex(dirs_missing)
            new.loc[missing, list(REP_STAT_COLUMNS)] = stats[list(REP_STAT_COLUMNS)].to_numpy()
        new = new.merge(todo, on="session_dir", how="left")
    parts = [p for p in (fresh, new) if len(p)]
    if not parts:
        return pd.DataFrame(columns=[*SUMMARY_SCHEMA.names, "session_dir", *REP_STAT_COLUMNS])
    sessions = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    sessions = sessions.sort_values("session_dir", ignore_index=True)
    if cache and (len(todo) or cached is None or len(cached) != len(sessions)):
        table = pa.Table.from_pandas(sessions, preserve_index=False)
        table = table.replace_schema_metadata({b"imu_trends_cache": CACHE_VERSION})
        try:
            write_parquet_atomic(table, root / CACHE_FILE)
        except OSError:
            pass  # read-only folder: no cache
    return sessions


def compute_trends(root: str | Path, cache: bool = True) -> TrendReport:
    """Read every session under ``root`` (``imu analyze`` output layout) and compute trends."""
    sessions = read_sessions(root, cache=cache)
    if sessions.empty:
        raise InputError(f"{root}: no session=<id>/summary.parquet found")
    undated = sessions["started_at"].isna()
    if undated.all():
        raise InputError(f"{root}: no session has a started_at date; trends need dates")
    report = trends_from_tables(sessions[~undated])
    report.skipped = sorted(sessions.loc[undated, "session_dir"].astype(str))
    return report


# --------------------------------------------------------------------------------------------
# Plots


def trend_figures(report: TrendReport) -> list[tuple[str, Any]]:
    """One matplotlib figure per metric with data: daily values, weekly means, OLS line and its
    95% band. Returns (file stem, figure) pairs; every axis has a title and labelled units."""
    from imu.render.html import new_figure

    figs: list[tuple[str, Any]] = []
    daily, weekly = report.daily, report.weekly
    if daily.empty:
        return figs
    t0 = daily["date"].min()
    for m in METRICS:
        row = report.trends.set_index("metric").loc[m.name]
        unit = "%" if m.unit == "percentage points" else m.unit
        if m.per == "week":
            src = weekly[weekly["complete"]] if weekly["complete"].any() else weekly
            x = src["week_start"] + pd.Timedelta(days=3)
            y = src[m.name].astype(float)
        else:
            if m.name not in daily.columns:
                continue
            x, y = daily["date"], daily[m.name].astype(float)
        if y.notna().sum() < 2:
            continue
        fig, ax = new_figure(figsize=(7, 3.6), layout="constrained")
        ax.plot(x, y, "o", ms=4, color="tab:blue", label="daily" if m.per == "day" else "weekly")
        if m.per == "day" and m.name in weekly.columns:
            ax.plot(
                weekly["week_start"] + pd.Timedelta(days=3),
                weekly[m.name],
                "s-",
                color="tab:gray",
                alpha=0.7,
                label="ISO-week mean",
            )
        if np.isfinite(row["slope_per_week"]):
            ok = y.notna().to_numpy()
            xs = pd.date_range(x[ok].min(), x[ok].max(), periods=50)
            xw = (xs - t0).total_seconds().to_numpy() / (7 * 86400.0)
            xw_data = (x - t0).dt.total_seconds().to_numpy() / (7 * 86400.0)
            res = stats.linregress(xw_data[ok], y.to_numpy()[ok])
            fit = res.intercept + res.slope * xw
            color = "tab:red" if row["flagged"] else "tab:green"
            ax.plot(xs, fit, "-", color=color, label=f"trend {res.slope:+.2f} {unit}/week")
            n = int(ok.sum())
            if n >= 3:
                resid = y.to_numpy()[ok] - (res.intercept + res.slope * xw_data[ok])
                s = np.sqrt(np.sum(resid**2) / (n - 2))
                xm = xw_data[ok].mean()
                sxx = np.sum((xw_data[ok] - xm) ** 2)
                half = stats.t.ppf(0.975, n - 2) * s * np.sqrt(1 / n + (xw - xm) ** 2 / sxx)
                ax.fill_between(
                    xs, fit - half, fit + half, color=color, alpha=0.15, label="95% CI of the line"
                )
        title = m.label[0].upper() + m.label[1:]
        if row["flagged"]:
            title += " - flagged"
        ax.set_title(title)
        ax.set_xlabel("date (UTC)")
        ax.set_ylabel(f"{m.name} ({unit})")
        ax.legend(fontsize=7, loc="best")
        fig.autofmt_xdate()
        figs.append((f"trend_{m.name}", fig))
    return figs


def write_trend_plots(report: TrendReport, out_dir: str | Path) -> list[Path]:
    """Write the trend plots as PNG files into ``out_dir``; returns their paths."""
    from imu.render.html import check_figure, save_png

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, fig in trend_figures(report):
        check_figure(fig)
        paths.append(save_png(fig, out / f"{stem}.png"))
    return paths
