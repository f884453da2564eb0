"""One self-contained HTML page per analysed session (``imu report SESSION_DIR``).

The page holds a summary table, the session's plots (:mod:`imu.viz.session`) as PNGs embedded in
base64 ``data:`` URIs, the reps (with why each form break is one) or the per-minute table, so it
can be mailed or archived as one file with no external resources.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imu.io.atomic import write_bytes_atomic
from imu.io.store import SessionTables, read_session
from imu.metrics.gait import minutes_by_clock
from imu.pipeline.form import REQUIRED_COLUMNS, FormBreakDetector
from imu.viz.figure import figure_png
from imu.viz.session import session_figures

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1060px;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.9em;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f3f3f3}
img{max-width:100%;height:auto}
figure{margin:1em 0}
figcaption{font-size:0.9em;color:#555}
.flag{color:#b00}
"""


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


def _table_html(df: pd.DataFrame, max_rows: int = 200) -> str:
    cols = list(df.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False):
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in rec)
        rows.append(f"<tr>{cells}</tr>")
    more = ""
    if len(df) > max_rows:
        more = f"<p>{len(df) - max_rows} more rows not shown.</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _kv_table(d: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in d.items()
    )
    return f"<table><tbody>{rows}</tbody></table>"


def form_break_reasons(reps: pd.DataFrame, meta: dict[str, Any]) -> pd.Series | None:
    """Why each rep is a form break, re-derived with the parameters the analysis used (from the
    file's provenance); None if the reps lack the columns the rule needs."""
    if not set(REQUIRED_COLUMNS) <= set(reps.columns):
        return None
    params = (meta.get("parameters") or {}).get("form_break") or {}
    det = FormBreakDetector()
    try:
        det.set_params(**{k: v for k, v in params.items() if k in det.get_params()})
        det.detect(reps)
    except (ValueError, TypeError):
        return None
    return det.reasons_


def render_html(session: SessionTables) -> str:
    """The report page as one HTML5 string (plots embedded as base64 PNG data URIs)."""
    s = session.summary
    sid = str(s.get("session_id", session.path.name))
    title = f"imu session {sid}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(_fmt(s.get('activity')))} "
        f"{html.escape(_fmt(s.get('exercise')))}, started {html.escape(_fmt(s.get('started_at')))}"
        f", {html.escape(_fmt(s.get('duration_s')))} s.</p>",
        "<h2>Summary</h2>",
        _kv_table(s),
    ]
    figs = session_figures(session)
    if figs:
        parts.append("<h2>Plots</h2>")
    for key, caption, fig in figs:
        alt = fig.get_axes()[0].get_title() if fig.get_axes() else key
        data = base64.b64encode(figure_png(fig)).decode("ascii")
        parts.append(
            f'<figure id="fig-{key}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(alt)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
    if not figs:
        parts.append("<p>No plots: the session has no angle, rep or step data.</p>")
    reps = session["reps"]
    if session.activity != "run" and not reps.empty:
        cols = [
            c
            for c in (
                "set",
                "rep",
                "concentric_s",
                "top_hold_s",
                "eccentric_s",
                "tilt_deg",
                "tilt_class",
                "hip_travel_cm",
                "form_break",
            )
            if c in reps.columns
        ]
        broke = int(reps["form_break"].fillna(False).sum()) if "form_break" in reps else 0
        parts.append("<h2>Reps</h2>")
        table = reps[cols]
        if broke:
            parts.append(f'<p class="flag">{broke} rep(s) flagged as form breaks.</p>')
            reasons = form_break_reasons(reps, session.meta)
            if reasons is not None:
                table = table.assign(why=reasons.to_numpy())
        parts.append(_table_html(table))
    minutes = session["minutes"]
    if session.activity == "run":
        if minutes.empty:
            minutes = minutes_by_clock(session["steps"])
        if not minutes.empty:
            parts += ["<h2>Per minute</h2>", _table_html(minutes)]
    version = session.meta.get("package_version", "")
    parts += [
        "<footer><p>",
        html.escape(
            f"Written by imu {version} from {session.path.name}."
            if version
            else f"From {session.path.name}."
        ),
        "</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(session_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a session folder; default ``SESSION_DIR/report.html``."""
    session = read_session(session_dir)
    page = render_html(session)
    target = Path(out) if out is not None else Path(session_dir) / "report.html"
    return write_bytes_atomic(page.encode("utf-8"), target)
