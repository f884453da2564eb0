"""One self-contained HTML page per analysed session (``imu report SESSION_DIR``).

The page leads with the verdicts in plain words (:mod:`imu.render.verdicts`, the same as the
terminal report): for strength work the sets, the reps that reached posterior tilt, where form
broke and why; for a run the metrics against their typical ranges. Then the plots
(:mod:`imu.viz.session`) as PNGs embedded in base64 ``data:`` URIs, the tables labelled in words
with units and rounded to what the sensor resolves, and, folded away, every summary column by
its code name. Sections follow the tables a session has (a mixed session gets both). One file,
no external resources: it can be mailed or archived.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imu.io.atomic import write_bytes_atomic
from imu.io.store import REPORT_NAME, SessionTables, read_session
from imu.metrics.display import shown
from imu.metrics.gait import minutes_by_clock
from imu.pipeline.form import REQUIRED_COLUMNS, FormBreakDetector
from imu.render.verdicts import (
    SOURCES,
    Finding,
    data_notes,
    exercise_words,
    form_words,
    has_run,
    has_strength,
    headline,
    run_findings,
    run_rows,
    strength_findings,
)
from imu.viz.figure import figure_png
from imu.viz.session import session_figures

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1060px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:0.2em}
.sub{color:#555;margin-top:0}
table{border-collapse:collapse;font-size:0.9em;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
td.t,th.t{text-align:left}
th{background:#f3f3f3}
img{max-width:100%;height:auto}
figure{margin:1em 0}
figcaption{font-size:0.9em;color:#555}
ul.verdicts{list-style:none;padding-left:0}
ul.verdicts li{margin:0.3em 0;padding:0.3em 0.6em;border-left:4px solid #999;background:#f7f7f7}
li.good{border-left-color:#2a7d2a !important}
li.check{border-left-color:#c0392b !important}
tr.check td{background:#fdecea}
tr.good td{background:#eaf6ea}
tr.brk td{background:#fdecea}
.posterior{color:#2a7d2a}
.anterior{color:#c0392b}
.src{font-size:0.85em;color:#555}
details{margin:1em 0}
"""


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return "" if pd.isna(v) else v.isoformat()
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _e(text: Any) -> str:
    return html.escape(str(text))


def _table(header: list[str], rows: list[list[str]], text_cols: set[int] = frozenset(),
           row_class: list[str] | None = None) -> str:
    """An HTML table of already formatted cells; ``text_cols`` are left-aligned."""
    def cls(i: int) -> str:
        return ' class="t"' if i in text_cols else ""

    head = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(header))
    body = []
    for k, r in enumerate(rows):
        rc = f' class="{row_class[k]}"' if row_class and row_class[k] else ""
        cells = "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r))
        body.append(f"<tr{rc}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _kv_table(d: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><th class="t">{_e(k)}</th><td>{_e(_fmt(v))}</td></tr>' for k, v in d.items()
    )
    return f"<table><tbody>{rows}</tbody></table>"


def _findings(items: list[Finding]) -> str:
    lis = "".join(f'<li class="{f.level}">{_e(f.text)}</li>' for f in items)
    return f'<ul class="verdicts">{lis}</ul>'


def form_break_reasons(reps: pd.DataFrame, meta: dict[str, Any]) -> pd.Series | None:
    """Why each rep is a form break: the stored ``form_reason``, or for files written before it
    existed, re-derived with the parameters the analysis used (from the file's provenance);
    None if the reps lack the columns the rule needs."""
    if "form_reason" in reps.columns:
        return reps["form_reason"].fillna("").astype(str)
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


def _strength_html(session: SessionTables) -> list[str]:
    sets, reps = session["sets"], session["reps"].copy()
    if len(reps) and "form_reason" not in reps.columns:  # written before form_reason existed
        why = form_break_reasons(reps, session.meta)
        if why is not None:
            reps["form_reason"] = np.asarray(why)
    parts = ['<section id="strength">', "<h2>Strength: verdict</h2>",
             _findings(strength_findings(sets, reps))]
    if len(sets):
        post = (reps.assign(p=reps.get("tilt_class", "") == "posterior").groupby("set")["p"].sum()
                if len(reps) else pd.Series(dtype=int))
        brk = (reps.assign(b=reps["form_break"].fillna(False).astype(bool)).groupby("set")["b"]
               .sum() if "form_break" in reps else pd.Series(dtype=int))
        rows = []
        for r in sets.itertuples(index=False):
            rows.append([
                str(int(r.set)), _e(exercise_words(getattr(r, "exercise", "")) or "-"),
                str(int(r.reps)), f"{int(post.get(r.set, 0))} of {int(r.reps)}",
                str(int(brk.get(r.set, 0))),
                f"{shown('duration_s').text(r.start_s, unit=False)}-"
                f"{shown('duration_s').text(r.end_s, unit=False)}",
            ])
        parts += ["<h3>Sets</h3>", _table(
            ["set", "exercise", "reps", "reached posterior tilt", "form breaks",
             "from-to (s into the session)"], rows, {1})]
    if len(reps):
        form = form_words(reps)
        rows, classes = [], []
        for (_, r), f in zip(reps.iterrows(), form, strict=True):
            cls = str(r.get("tilt_class", "") or "")
            rows.append([
                str(int(r["set"])), str(int(r["rep"])),
                shown("concentric_s").text(r.get("concentric_s"), unit=False),
                shown("top_hold_s").text(r.get("top_hold_s"), unit=False),
                shown("eccentric_s").text(r.get("eccentric_s"), unit=False),
                shown("hip_travel_cm").text(r.get("hip_travel_cm"), unit=False),
                shown("tilt_deg").text(r.get("tilt_deg"), unit=False, sign=True),
                f'<span class="{_e(cls)}">{_e(cls or "-")}</span>',
                _e(f),
            ])
            classes.append("brk" if f != "ok" else "")
        parts += [
            "<h3>Reps</h3>",
            "<p>Tilt at the top of each rep, relative to the body line: + posterior (the pelvis "
            "tucked under, the aim), - anterior (at a bridge top, the lower back arching). "
            "Posterior from +3 deg, anterior from -3 deg.</p>",
            _table(["set", "rep", "up (s)", "hold (s)", "down (s)", "hip travel (cm)",
                    "tilt (deg)", "tilt class", "form: ok, or what broke"], rows, {7, 8},
                   classes),
        ]
    parts.append("</section>")
    return parts


def _run_html(session: SessionTables) -> list[str]:
    s = session.summary
    steps = session["steps"]
    parts = ['<section id="run">', "<h2>Run: verdict</h2>", _findings(run_findings(s, steps))]
    rows, classes = [], []
    for r in run_rows(s):
        rows.append([_e(r.label), _e(r.value), _e(r.typical or "-"), _e(r.words)])
        classes.append({"check": "check", "better": "good"}.get(r.verdict, ""))
    if rows:
        parts += [_table(["", "you", "typical", "meaning"], rows, {0, 3}, classes),
                  f'<p class="src">{_e(SOURCES)}</p>']
    minutes = session["minutes"]
    if minutes.empty and not steps.empty:
        minutes = minutes_by_clock(steps)
    if not minutes.empty:
        cols = [c for c in ("cadence_spm", "gct_ms", "gct_balance_left_pct", "vo_cm",
                            "pelvic_drop_left_deg", "pelvic_drop_right_deg") if c in minutes]
        header = ["minute", "steps"] + [shown(c).axis for c in cols]
        body = []
        for r in minutes.itertuples(index=False):
            rec = r._asdict()
            body.append([str(int(rec.get("minute", 0))), _fmt(rec.get("n_steps", ""))]
                        + [shown(c).text(rec.get(c), unit=False) for c in cols])
        parts += ["<h3>Minute by minute</h3>", _table(header, body)]
    parts.append("</section>")
    return parts


def render_html(session: SessionTables) -> str:
    """The report page as one HTML5 string (plots embedded as base64 PNG data URIs)."""
    s = session.summary
    sid = str(s.get("session_id", session.path.name))
    title = headline(s)
    sub = f"session {sid}"
    if s.get("placement"):
        sub += f", sensor on the {str(s['placement']).replace('_', ' ')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(sub)}</p>',
    ]
    notes = data_notes(s)
    if notes:
        parts.append(_findings(notes))
    strength = has_strength(session["sets"], session["reps"])
    run = has_run(s, session["steps"])
    if strength:
        parts += _strength_html(session)
    if run:
        parts += _run_html(session)
    if not strength and not run:
        parts.append("<p>No sets and no running were found in this session.</p>")
    figs = session_figures(session)
    if figs:
        parts.append('<section id="plots"><h2>Plots</h2>')
        for key, caption, fig in figs:
            alt = (fig.get_suptitle() or fig.get_axes()[0].get_title()) if fig.get_axes() else key
            data = base64.b64encode(figure_png(fig)).decode("ascii")
            parts.append(
                f'<figure id="fig-{key}"><img src="data:image/png;base64,{data}" '
                f'alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>'
            )
        parts.append("</section>")
    parts += [
        "<details><summary>Every summary value (code names, as stored in summary.parquet; "
        "docs/formats.md)</summary>",
        _kv_table(s),
        "</details>",
    ]
    version = session.meta.get("package_version", "")
    parts += [
        "<footer><p>",
        _e(f"Written by imu {version} from {session.path.name}." if version
           else f"From {session.path.name}."),
        "</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(session_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a session folder; default ``SESSION_DIR/report.html`` (kept,
    and redrawn by ``imu analyze``, when the session is analysed again)."""
    session = read_session(session_dir)
    page = render_html(session)
    target = Path(out) if out is not None else Path(session_dir) / REPORT_NAME
    return write_bytes_atomic(page.encode("utf-8"), target)
