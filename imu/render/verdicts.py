"""What a session means, in words a lifter or runner can act on: the verdicts both reports
(terminal and HTML) lead with.

Tables are Arrow tables (an analysis) or DataFrames (a stored session), read as numpy columns
(:func:`imu.core.arrow.columns`): the report of ``imu analyze`` needs no pandas.

Which sections a session gets follows from the tables it has, not from one activity word:
sets and reps give the strength section, running steps (or run metrics in the summary) the run
section, so a mixed session (a warm-up jog, then sets) gets both. Numbers are rounded to what
the sensor resolves and judged against the typical ranges of :mod:`imu.metrics.display`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from imu.core import arrow
from imu.core.exercises import BRIDGE_EXERCISES, REGISTRY
from imu.metrics.display import (
    DROP_ASYMMETRY_DEG,
    DROP_DRIFT_DEG,
    TYPICAL,
    judge_band,
    shown,
)

RUN_ROWS: Final = (
    "cadence_spm",
    "gct_ms",
    "gct_balance_left_pct",
    "vo_cm",
    "pelvic_drop_left_deg",
    "pelvic_drop_right_deg",
    "drop_drift_deg",
    "pelvic_rotation_deg",
)
"""The run metrics each report shows, in this order."""

HEIDERSCHEIT: Final = "Heiderscheit et al. 2011, Med Sci Sports Exerc 43:296"


@dataclass(frozen=True)
class Finding:
    """One plain sentence; ``level`` is 'good', 'note' or 'check' (worth acting on)."""

    text: str
    level: str = "note"


@dataclass(frozen=True)
class RunRow:
    """One run metric: label, value, typical range, verdict ('typical', 'better', 'check' or
    '') and what it means."""

    column: str
    label: str
    value: str
    typical: str
    verdict: str
    words: str


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


def _finite(v: Any) -> bool:
    return math.isfinite(_num(v))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def exercise_words(name: Any) -> str:
    """The exercise in words (the registry's label; an unknown name with spaces for '_')."""
    if not isinstance(name, str) or not name:
        return ""
    return REGISTRY[name].label if name in REGISTRY else name.replace("_", " ")


def text(value: Any) -> str:
    """A text cell: '' for a missing value (None, NaN)."""
    return "" if value is None or isinstance(value, float) and value != value else str(value)


def flags(values: np.ndarray) -> np.ndarray:
    """A flag column as bools: a missing value (None, NaN) is False."""
    if values.dtype == bool:
        return values
    return np.array([v is not None and v == v and bool(v) for v in values.tolist()], dtype=bool)


def has_strength(sets: Any, reps: Any) -> bool:
    return len(reps) > 0 or len(sets) > 0


def has_run(summary: dict[str, Any], steps: Any) -> bool:
    if _finite(summary.get("cadence_spm")):
        return True
    if len(steps) and "gait" in arrow.names(steps):
        return bool((arrow.column(steps, "gait") == "run").any())
    return len(steps) > 0 and summary.get("activity") in ("run", "mixed")


def headline(summary: dict[str, Any]) -> str:
    """'Glute bridge session, 2026-11-27 08:18 UTC, 4 min 36 s' style first line."""
    activity = str(summary.get("activity") or "session")
    ex = exercise_words(summary.get("exercise"))
    what = {"run": "Run", "strength": "Strength session", "mixed": "Run and strength session"}
    title = f"{ex[0].upper() + ex[1:]} session" if ex and ex != "mixed" else what.get(
        activity, activity.capitalize()
    )
    parts = [title]
    started = summary.get("started_at")
    if isinstance(started, str) and started:
        started = datetime.fromisoformat(started)
    if isinstance(started, datetime) and started == started:  # NaT is no time
        parts.append(started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
                     if started.tzinfo else started.strftime("%Y-%m-%d %H:%M"))
    if _finite(summary.get("duration_s")):
        d = int(round(_num(summary["duration_s"])))
        parts.append(f"{d // 60} min {d % 60:02d} s")
    return ", ".join(parts)


def data_notes(summary: dict[str, Any]) -> list[Finding]:
    """Lost or saturated samples, a missing gyroscope, re-seated sensor: what limits the data."""
    out = []
    lost = _num(summary.get("lost_samples"))
    if lost > 0:
        out.append(Finding(f"{int(lost)} samples were lost in transmission (gaps are bridged).",
                           "note"))
    sat = _num(summary.get("saturated_samples"))
    if sat > 0:
        out.append(Finding(f"{int(sat)} samples hit the sensor's range limit; peaks there are "
                           "clipped.", "note"))
    if summary.get("gyro_present", summary.get("has_gyro")) is False:
        out.append(Finding("No gyroscope data: pelvic drop and tilt cannot be measured.", "check"))
    moves = _num(summary.get("mounting_changes"))
    if moves > 0:
        out.append(Finding(f"The sensor was re-seated {_plural(int(moves), 'time')}; each new "
                           "mounting was calibrated again.", "note"))
    return out


# ---- strength ---------------------------------------------------------------------------------


def form_words(reps: Any) -> np.ndarray:
    """Per rep: 'ok' or what broke (the stored ``form_reason``)."""
    c = arrow.columns(reps)
    why = np.array([text(v) for v in c["form_reason"].tolist()] if "form_reason" in c
                   else [""] * len(reps), dtype=object)
    if "form_break" in c:
        why[flags(c["form_break"]) & (why == "")] = "form break"
    why[why == ""] = "ok"
    return why


FORM_KINDS: Final = (
    ("anterior tilt", "anterior tilt at the top"),
    ("below the set's first reps", "lockout tilt fell below the set's first reps"),
    ("slower", "slower than the set's first reps"),
    ("faster", "rushed: faster than the set's first reps"),
)
"""Kinds of form break (a phrase of ``form_reason`` -> how a set's summary names it)."""


def _kinds(reason: str) -> list[str]:
    found = [name for key, name in FORM_KINDS if key in reason]
    return found or ["form break"]


def strength_findings(sets: Any, reps: Any) -> list[Finding]:
    """Sets and reps, how many reached posterior tilt, where form broke and why."""
    out: list[Finding] = []
    n_sets, n_reps = len(sets), len(reps)
    s, c = arrow.columns(sets), arrow.columns(reps)
    names = sorted({exercise_words(e) for e in s.get("exercise", []) if exercise_words(e)})
    what = f" of {', '.join(names)}" if names else ""
    out.append(Finding(f"{_plural(n_sets, 'set')}{what}, {_plural(n_reps, 'rep')}.", "note"))
    if not n_reps:
        return out
    if "tilt_class" in c:
        # posterior tilt is the goal of the bridge family: with bridges among other exercises,
        # the share is theirs (the summary's posterior_tilt_pct)
        bridge = np.isin(c.get("exercise", np.full(n_reps, "", dtype=object)),
                         list(BRIDGE_EXERCISES))
        mixed = bool(bridge.any() and not bridge.all())
        cls = c["tilt_class"][bridge] if mixed else c["tilt_class"]
        known = np.isin(cls, ["posterior", "neutral", "anterior"])
        post = int((cls == "posterior").sum())
        ant = int((cls == "anterior").sum())
        if known.any():
            share = 100.0 * post / int(known.sum())
            level = "good" if share >= 80 else "note" if share >= 50 else "check"
            kind = "bridge and hip-thrust reps" if mixed else "reps"
            out.append(Finding(
                f"{post} of {int(known.sum())} {kind} ({share:.0f}%) reached posterior tilt at "
                f"the top (tilt +3 deg or more: the pelvis tucked under)."
                + (f" {ant} tipped into anterior tilt." if ant else ""),
                level,
            ))
    if "form_break" in c:
        broke = flags(c["form_break"])
        if not broke.any():
            out.append(Finding("Form held in every rep.", "good"))
        else:
            why = form_words(reps)
            set_no, rep = c["set"], c["rep"]
            first_break = {}
            for k in sorted({v for v in set_no[broke].tolist() if v == v}):
                rows = np.flatnonzero(broke & (set_no == k))
                kinds = Counter(x for r in why[rows] for x in _kinds(r)).most_common()
                listed = ", ".join(str(int(r)) for r in rep[rows])
                because = "; ".join(
                    f"{x}" + (f" ({n} reps)" if n > 1 else "") for x, n in kinds
                )
                word = "rep" if len(rows) == 1 else "reps"
                out.append(Finding(f"Set {int(k)}: form broke in {word} {listed}: {because}.",
                                   "check"))
                first_break[k] = rep[rows].min()
            late = [int(k) for k, r in first_break.items() if r > 1]
            if late:
                out.append(Finding(
                    "Stop a set at the first rep whose form breaks: the reps after it train "
                    "the fault (" + ", ".join(
                        f"set {k} from rep {int(first_break[k])}" for k in late
                    ) + ").",
                    "check",
                ))
    return out


# ---- runs -------------------------------------------------------------------------------------


def run_rows(summary: dict[str, Any]) -> list[RunRow]:
    """The run metrics with their typical ranges and verdicts."""
    rows = []
    for col in RUN_ROWS:
        v = summary.get(col)
        if not _finite(v):
            continue
        sh = shown(col)
        band = TYPICAL.get(col)
        verdict, words = judge_band(col, v)
        typical = ""
        if band is not None:
            typical = f"{band.low:g}-{band.high:g}"
        if col == "drop_drift_deg":
            typical = f"within ±{DROP_DRIFT_DEG:g}"
            verdict = "check" if _num(v) > DROP_DRIFT_DEG else "typical"
            words = ("the pelvis dropped more as you tired" if verdict == "check"
                     else "steady from start to end")
        value = sh.text(v, sign=col == "drop_drift_deg")
        rows.append(RunRow(col, sh.label, value, typical, verdict, words))
    return rows


def run_findings(summary: dict[str, Any], steps: Any) -> list[Finding]:
    """Steps, then what to act on: cadence, balance, drop per side and its asymmetry, drift."""
    out: list[Finding] = []
    n = _num(summary.get("n_steps"))
    if not _finite(n) and len(steps):
        n = float(len(steps))
    run_s = _num(summary.get("running_time_s"))
    if _finite(n):
        out.append(Finding(
            f"{int(n)} running steps" + (f" in {_clock(run_s)} min" if _finite(run_s) else "")
            + (f", sensor on the {str(summary['placement']).replace('_', ' ')}"
               if summary.get("placement") else "") + ".",
            "note",
        ))
    note = summary.get("note")
    if isinstance(note, str) and note and "running steps in" not in note:
        out.append(Finding(note, "note"))
    cad = summary.get("cadence_spm")
    verdict, _ = judge_band("cadence_spm", cad)
    if verdict == "check":
        out.append(Finding(
            f"Cadence {shown('cadence_spm').text(cad)} is lower than most runners': shorter, "
            f"quicker steps (5-10 % more) lower the load on hip and knee ({HEIDERSCHEIT}).",
            "check",
        ))
    bal = summary.get("gct_balance_left_pct")
    verdict, words = judge_band("gct_balance_left_pct", bal)
    if verdict == "check":
        out.append(Finding(
            f"Ground contact is uneven ({shown('gct_balance_left_pct').text(bal)} on the left "
            f"foot): {words}. A lasting imbalance can point to a weaker or sore side.",
            "check",
        ))
    left, right = summary.get("pelvic_drop_left_deg"), summary.get("pelvic_drop_right_deg")
    for col, value in (("pelvic_drop_left_deg", left), ("pelvic_drop_right_deg", right)):
        verdict, words = judge_band(col, value)
        if verdict == "check":
            label = shown(col).label
            out.append(Finding(
                f"{label[0].upper() + label[1:]} is {shown(col).text(value)}: {words}.",
                "check",
            ))
    if _finite(left) and _finite(right):
        diff = shown("pelvic_drop_deg").round(_num(right) - _num(left))
        if abs(diff) > DROP_ASYMMETRY_DEG:
            weak = "right" if diff > 0 else "left"
            out.append(Finding(
                f"The pelvis drops {abs(diff):g} deg more in {weak}-leg stance: the {weak} "
                "hip abductors (gluteus medius) hold it less well; single-leg work on that "
                "side helps.",
                "check",
            ))
        elif max(_num(left), _num(right)) <= TYPICAL["pelvic_drop_left_deg"].high:
            out.append(Finding("The pelvis stays level on both legs (drop within the typical "
                               "range, left and right alike).", "good"))
    drift = summary.get("drop_drift_deg")
    if _finite(drift) and _num(drift) > DROP_DRIFT_DEG:
        out.append(Finding(
            f"Pelvic drop grew by {shown('drop_drift_deg').text(drift)} from the first to the "
            "last tenth of the run: the hip abductors tire; build their endurance.",
            "check",
        ))
    return out


SOURCES: Final = (
    "Typical ranges: cadence, contact time, its balance and vertical oscillation from Garmin's "
    "running dynamics colour zones (the green band, 30th-69th percentile of Garmin's runners; "
    "they shift with speed); pelvic drop from Bramah et al. 2018, Am J Sports Med 46:3023 "
    "(healthy runners about 5 deg, injured ones about 2 deg more)."
)
