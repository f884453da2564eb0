"""The readable terminal report printed by ``imu analyze`` (and ``imu record`` on stop).

It leads with the verdicts (:mod:`imu.render.verdicts`): for strength work the sets and reps,
how many reached posterior tilt, where form broke and why; for a run the metrics against their
typical ranges and what to act on. Then the tables, labelled in words with units and rounded to
what the sensor resolves (:mod:`imu.metrics.display`). Sections follow the tables a session
has, so a mixed session shows both. Tables are Arrow tables or DataFrames (numpy columns
inside: :func:`imu.core.arrow.columns`); the report of an analysis needs no pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from imu.core import arrow
from imu.metrics.display import shown
from imu.render.verdicts import (
    SOURCES,
    Finding,
    data_notes,
    exercise_words,
    flags,
    form_words,
    has_run,
    has_strength,
    headline,
    run_findings,
    run_rows,
    strength_findings,
)

if TYPE_CHECKING:
    from imu.analysis import AnalysisResult

MARK = {"good": "+", "note": "-", "check": "!"}
"""Line marks: + good, - for information, ! worth acting on."""

REP_COLUMNS = (
    ("set", "set", None),
    ("rep", "rep", None),
    ("concentric_s", "up s", "concentric_s"),
    ("top_hold_s", "hold s", "top_hold_s"),
    ("eccentric_s", "down s", "eccentric_s"),
    ("hip_travel_cm", "travel cm", "hip_travel_cm"),
    ("tilt_deg", "tilt deg", "tilt_deg"),
    ("tilt_class", "tilt", None),
    ("form", "form (what broke)", None),
)
"""Reps table: (column, header, how to round it: a :mod:`imu.metrics.display` column)."""


def _cell(value: Any, how: str | None, sign: bool = False) -> str:
    if how is not None:
        return shown(how).text(value, unit=False, sign=sign)
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float) and float(value).is_integer():
        return str(int(value))
    return str(value)


TEXT_COLUMNS = ("form", "tilt_class", "exercise")
"""Left-aligned columns; the others are numbers (or like them: times), right-aligned."""


def table(data: Any, columns: tuple[tuple[str, str, str | None], ...]) -> str:
    """Fixed-width table of the columns ``data`` has (a table, or numpy columns by name):
    (column, header, rounding column); text columns are left-aligned, numbers right-aligned."""
    c = arrow.columns(data)
    present = [col for col in columns if col[0] in c]
    cells = [[h for _, h, _ in present]]
    for rec in zip(*(c[col].tolist() for col, _, _ in present), strict=True):
        cells.append([
            _cell(v, how, sign=col == "tilt_deg") for v, (col, _, how) in zip(rec, present,
                                                                               strict=True)
        ])
    widths = [max(len(r[i]) for r in cells) for i in range(len(present))]
    text_cols = {i for i, (col, _, _) in enumerate(present) if col in TEXT_COLUMNS}

    def line(r: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i in text_cols else v.rjust(w)
            for i, (v, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _findings(items: list[Finding], width: int = 100) -> list[str]:
    out = []
    for f in items:
        out += _wrap(f"  {MARK[f.level]} {f.text}", width, indent="    ").splitlines()
    return out


def _per_set(set_no: np.ndarray, hits: np.ndarray, sets: np.ndarray) -> list[int]:
    """For each set number of ``sets``: how many reps of it are ``hits``."""
    return [int((hits & (set_no == k)).sum()) for k in sets.tolist()]


def strength_section(sets: Any, reps: Any) -> list[str]:
    lines = ["", "STRENGTH", *_findings(strength_findings(sets, reps))]
    if len(sets):
        s, r = arrow.columns(sets), arrow.columns(reps)
        s["exercise"] = np.array([exercise_words(e) or "-" for e in
                                  s.get("exercise", [""] * len(sets))], dtype=object)
        s["time"] = np.array([f"{_clock(a)}-{_clock(b)}" for a, b in
                              zip(s["start_s"].tolist(), s["end_s"].tolist(), strict=True)])
        if len(reps) and "tilt_class" in r:
            post = _per_set(r["set"], r["tilt_class"] == "posterior", s["set"])
            s["posterior"] = np.array([f"{p}/{int(n)}" for p, n in
                                       zip(post, s["reps"].tolist(), strict=True)])
        if len(reps) and "form_break" in r:
            s["breaks"] = np.array(_per_set(r["set"], flags(r["form_break"]), s["set"]))
        lines += ["", table(s, (("set", "set", None), ("exercise", "exercise", None),
                                ("reps", "reps", None), ("posterior", "posterior tilt", None),
                                ("breaks", "form breaks", None), ("time", "time (min:s)", None)))]
    if len(reps):
        r = arrow.columns(reps)
        r["form"] = form_words(reps)
        lines += ["", "Reps (tilt at the top: + posterior, the pelvis tucked; - anterior):",
                  table(r, REP_COLUMNS)]
    return lines


def _clock(seconds: Any) -> str:
    try:
        s = int(round(float(seconds)))
    except (TypeError, ValueError):
        return "-"
    return f"{s // 60}:{s % 60:02d}"


def run_section(summary: Mapping[str, Any], steps: Any) -> list[str]:
    s = dict(summary)
    lines = ["", "RUN", *_findings(run_findings(s, steps))]
    rows = run_rows(s)
    if rows:
        lw = max(len(r.label) for r in rows)
        vw = max(len(r.value) for r in rows)
        tw = max(len(r.typical) for r in rows)
        lines += ["", f"  {'':{lw}}  {'you':>{vw}}  {'typical':<{tw}}  verdict"]
        for r in rows:
            mark = {"typical": " ", "better": "+", "check": "!"}.get(r.verdict, " ")
            lines.append(f"{mark} {r.label:<{lw}}  {r.value:>{vw}}  {r.typical:<{tw}}  {r.words}")
        lines += ["", _wrap(SOURCES, 96)]
    return lines


def _wrap(text: str, width: int, indent: str = "") -> str:
    """``text`` wrapped at ``width``; continuation lines start with ``indent``."""
    lead = text[: len(text) - len(text.lstrip())]
    out, cur = [], lead
    for w in text.split():
        if len(cur) + len(w) + 1 > width and cur.strip():
            out.append(cur)
            cur = indent + w
        else:
            cur = f"{cur} {w}" if cur.strip() else cur + w
    out.append(cur)
    return "\n".join(out)


def render_tables(summary: Mapping[str, Any], tables: Mapping[str, Any]) -> str:
    """The report of a session given its summary row and tables (by file stem: Arrow tables
    or DataFrames)."""
    s = dict(summary)
    empty: dict[str, np.ndarray] = {}
    sets, reps = tables.get("sets", empty), tables.get("reps", empty)
    steps = tables.get("steps", empty)
    lines = [headline(s) + f"  (session {s.get('session_id', '?')})"]
    lines += _findings(data_notes(s))
    if has_strength(sets, reps):
        lines += strength_section(sets, reps)
    if has_run(s, steps):
        lines += run_section(s, steps)
    if not has_strength(sets, reps) and not has_run(s, steps):
        lines += ["", "  - No sets and no running found in this session."]
    return "\n".join(lines)


def render(result: AnalysisResult) -> str:
    """The terminal report of an analysis result (``imu.report(result)``), from its Arrow
    tables (no pandas)."""
    return render_tables(result.record, {stem: result.table(stem)
                                         for stem in ("sets", "reps", "steps")})
