"""What ``imu trends --format table|csv|json|parquet`` prints or writes (docs/trends.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from imu.io.atomic import write_bytes_atomic, write_parquet_atomic
from imu.trends.flags import METRICS

if TYPE_CHECKING:
    from imu.trends import TrendReport

def long_table(report: TrendReport) -> pd.DataFrame:
    """Tidy table: one row per (ISO week, metric) with the metric's trend repeated."""
    metrics = [m.name for m in METRICS if m.name in report.weekly.columns]
    extra = ["longest_streak_days", "current_streak_days", "run_sessions"]
    value_cols = [c for c in [*metrics, *extra] if c in report.weekly.columns]
    long = report.weekly.melt(
        id_vars=["week", "week_start", "complete"],
        value_vars=value_cols,
        var_name="metric",
        value_name="value",
    )
    t = report.trends.set_index("metric")[
        ["unit", "n", "slope_per_week", "ci_low", "ci_high", "change", "flagged", "message"]
    ]
    long = long.join(t, on="metric")
    long["value"] = long["value"].astype(float)
    return long


def to_json(report: TrendReport) -> str:
    """JSON with ``period``, ``streaks``, ``weekly``, ``trends``, ``flags``, ``advice``."""

    def records(df: pd.DataFrame) -> list[dict[str, Any]]:
        out = df.copy()
        for c in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = out[c].dt.strftime("%Y-%m-%d")
        return json.loads(out.to_json(orient="records"))

    doc = {
        "sessions": report.sessions,
        "period": {
            "first_day": report.first_day.isoformat() if report.first_day else None,
            "last_day": report.last_day.isoformat() if report.last_day else None,
        },
        "streaks": {
            "longest_days": report.longest_streak_days,
            "current_days": report.current_streak_days,
        },
        "weekly": records(report.weekly),
        "trends": records(report.trends),
        "flags": report.flags,
        "advice": report.advice,
        "skipped_sessions": report.skipped,
    }
    return json.dumps(doc, indent=2)


def to_text(report: TrendReport) -> str:
    """Human-readable tables (weekly values, trends) and the flags with advice."""
    lines = [
        f"{report.sessions} sessions, {report.first_day} to {report.last_day}; "
        f"streak: longest {report.longest_streak_days} days, current "
        f"{report.current_streak_days} days",
        "",
    ]
    if report.skipped:
        lines[-1:-1] = [f"skipped {len(report.skipped)} session(s) without started_at"]
    w = report.weekly.drop(columns=["week_start"]).set_index("week")
    w = w.dropna(axis=1, how="all")
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        lines += ["Per ISO week:", w.T.round(2).to_string(), ""]
        t = report.trends[
            ["metric", "unit", "n", "slope_per_week", "ci_low", "ci_high", "change", "flagged"]
        ]
        t = t[t["n"] > 0]
        lines += ["Trends (OLS on daily values; slope per week, 95% CI):"]
        lines += [t.round(3).to_string(index=False), ""]
    if report.flags:
        lines += ["Flags:"] + [f"- {f}" for f in report.flags]
    else:
        lines += ["Flags: none (no change both significant and practically meaningful)."]
    if report.advice:
        lines += ["", "Advice:"] + [f"- {a}" for a in report.advice]
    return "\n".join(lines) + "\n"


def to_csv(report: TrendReport) -> str:
    """:func:`long_table` as CSV (dates as YYYY-MM-DD)."""
    return long_table(report).to_csv(index=False, date_format="%Y-%m-%d")


def render(report: TrendReport, fmt: str) -> str:
    """The text of ``fmt`` (``table``, ``csv`` or ``json``) as ``imu trends`` prints it."""
    if fmt == "table":
        return to_text(report)
    if fmt == "json":
        return to_json(report) + "\n"
    if fmt == "csv":
        return to_csv(report)
    raise ValueError(f"no text rendering for format {fmt!r}")


def write(report: TrendReport, fmt: str, path: str | Path) -> Path:
    """Write ``fmt`` (``table``, ``csv``, ``json`` or ``parquet``) to ``path`` atomically;
    Parquet holds :func:`long_table` (with pandas' metadata, as ``DataFrame.to_parquet``)."""
    if fmt == "parquet":
        table = pa.Table.from_pandas(long_table(report), preserve_index=False)
        return write_parquet_atomic(table, path)
    return write_bytes_atomic(render(report, fmt).encode("utf-8"), path)
