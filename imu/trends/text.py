"""What ``imu trends --format table|csv|json|parquet`` prints or writes (docs/trends.md)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from imu.io.atomic import write_bytes_atomic, write_parquet_atomic
from imu.metrics.display import shown
from imu.trends.flags import METRICS
from imu.trends.stats import MIN_POINTS

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


STRENGTH_COLUMNS: Final = (
    ("training_days", "training", "days"),
    ("reps_per_day", "reps per", "str. day"),
    ("posterior_tilt_pct", "posterior", "tilt %"),
    ("form_break_pct", "form", "breaks %"),
    ("tempo_cv_pct", "tempo", "CV %"),
)
"""Weekly strength table: (column, header line 1, header line 2 with the unit)."""
RUN_COLUMNS: Final = (
    ("run_sessions", "runs", ""),
    ("cadence_spm", "cadence", "steps/min"),
    ("gct_ms", "contact", "ms"),
    ("gct_balance_left_pct", "left", "share %"),
    ("vo_cm", "bounce", "cm"),
    ("pelvic_drop_left_deg", "R sinks", "L stance °"),
    ("pelvic_drop_right_deg", "L sinks", "R stance °"),
    ("drop_drift_deg", "drop", "drift °"),
)
"""Weekly run table; "R sinks / L stance": how far the right side sinks while standing on the
left leg (``pelvic_drop_left_deg``), in degrees."""


def _cell(column: str, value: Any) -> str:
    if column in ("training_days", "run_sessions"):
        return "-" if value is None or pd.isna(value) else str(int(value))
    return shown(column).text(value, unit=False)


def _week_table(weekly: pd.DataFrame, spec: tuple[tuple[str, str, str], ...]) -> list[str]:
    cols = [c for c in spec if c[0] in weekly.columns and weekly[c[0]].notna().any()]
    if len(cols) <= 1:
        return []
    head1 = ["ISO week"] + [c[1] for c in cols]
    head2 = ["(Mon)"] + [c[2] for c in cols]
    body = []
    for rec in weekly.itertuples(index=False):
        row = rec._asdict()
        week = f"{row['week']} {row['week_start']:%m-%d}"
        if not row.get("complete", True):
            week += "*"
        body.append([week] + [_cell(c[0], row.get(c[0])) for c in cols])
    widths = [max(len(r[i]) for r in [head1, head2, *body]) for i in range(len(head1))]

    def line(r: list[str]) -> str:
        return "  ".join(
            (v.ljust(w) if i == 0 else v.rjust(w)) for i, (v, w) in enumerate(zip(r, widths,
                                                                               strict=True))
        ).rstrip()

    return [line(head1), line(head2)] + [line(r) for r in body]


def _trend_rows(report: TrendReport) -> list[str]:
    t = report.trends[report.trends["n"] >= 2]
    rows = [["metric", "per week (95% CI)", "change", "verdict"]]
    for r in t.itertuples(index=False):
        sh = shown(str(r.metric))
        unit = "pts" if r.unit == "percentage points" else r.unit
        step = sh.step / 10 if r.per == "day" else sh.step / 10
        digits = max(0, -int(np.floor(np.log10(step)))) if step < 1 else 0

        def num(v: float, d: int = digits) -> str:
            if not np.isfinite(v):
                return "-"
            return "0" if round(v, d) == 0 else f"{v:+.{d}f}"

        ci = f" ({num(r.ci_low)} to {num(r.ci_high)})" if np.isfinite(r.ci_low) else ""
        if r.flagged:
            verdict = "WORSE" if r.worse else "better" if r.better else "changed"
        elif r.n < MIN_POINTS:
            verdict = "too few values"
        else:
            verdict = "steady" if not r.significant else "small change"
        rows.append([str(r.label), f"{num(r.slope_per_week)} {unit}{ci}",
                     f"{num(r.change, sh.decimals)} {unit}", verdict])
    widths = [max(len(x[i]) for x in rows) for i in range(4)]
    return ["  ".join(v.ljust(w) for v, w in zip(x, widths, strict=True)).rstrip()
            for x in rows]


def to_text(report: TrendReport) -> str:
    """Readable report: what changed (flags in words, better or worse), then compact weekly
    tables (one row per ISO week, values rounded to what the sensor resolves) and the fitted
    trends."""
    d = report.daily
    n_runs = int(d["run_sessions"].sum()) if "run_sessions" in d else 0
    n_weeks = len(report.weekly)
    lines = textwrap.wrap(
        f"{report.sessions} sessions ({report.sessions - n_runs} strength, {n_runs} runs) on "
        f"{len(d)} days, {report.first_day} to {report.last_day} ({n_weeks} ISO weeks); "
        f"streak: longest {report.longest_streak_days} days, current "
        f"{report.current_streak_days} days", 100)
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)} session(s) without started_at")
    lines.append("")
    t = report.trends
    if report.flags:
        lines.append("What changed (significant and large enough to matter):")
        for r in t[t["flagged"]].itertuples(index=False):
            mark = "!" if r.worse else "+" if r.better else "-"
            lines += textwrap.wrap(f"{mark} {r.message}", 96, initial_indent="  ",
                                   subsequent_indent="    ")
    else:
        lines.append("What changed: nothing both significant and large enough to matter.")
    if report.advice:
        lines += ["", "Advice:"]
        for a in report.advice:
            lines += textwrap.wrap(f"- {a}", 96, initial_indent="  ", subsequent_indent="    ")
    strength = _week_table(report.weekly, STRENGTH_COLUMNS)
    if strength:
        lines += ["", "Strength by ISO week (* = week not complete):", *strength]
    runs = _week_table(report.weekly, RUN_COLUMNS)
    if runs:
        lines += ["", "Runs by ISO week (R sinks in L stance: how far the right side sinks while "
                  "on the left leg):", *runs]
    lines += ["", "Trends (a line through the daily values; slope per week with its 95% CI):",
              *_trend_rows(report)]
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
