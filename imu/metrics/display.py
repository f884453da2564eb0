"""How each output metric is shown to a person: its name in words, its unit, the resolution it
is rounded to, which way is better, and the typical range it is judged against.

One definition, used by the terminal and HTML reports (:mod:`imu.render`), the figures
(:mod:`imu.viz`: axis labels, the smallest y-range a per-minute plot may show) and the trend
report (:mod:`imu.trends`: labels, better/worse colours).

Resolution (what a number is rounded to): the step below which the measurement does not
resolve a difference, from the project's measured errors (README, ``make eval``) and the
sample period, rounded up to a step a person reads easily:

=================================  ========  ==============================================
metric                             step      why
=================================  ========  ==============================================
cadence                            1 spm     error 0.2 % (0.3 spm at 170 spm)
ground contact time                5 ms      one sample at 200 Hz; MAE 7 ms
left share of contact time         0.5 %     a 5 ms left/right difference at 300 ms GCT
vertical oscillation               0.5 cm    MAE 0.2 cm, strap movement on real bodies
pelvic drop, drift                 0.5 deg   MAE 0.4 deg; drift error 0.1 deg
pelvic rotation                    1 deg     range error 0.2 deg, soft tissue
lockout tilt, pelvis angle         1 deg     RMSE 0.3 deg simulated; mounting on real bodies
                                             (tilt toward zero: its class cuts at +-3 deg)
phase durations                    0.1 s     p90 error 0.01 s; a lifter counts tenths
hip travel                         1 cm      MAE 0.3 cm
=================================  ========  ==============================================

Typical ranges for a run. Cadence, ground contact time, its balance and vertical oscillation:
the colour zones Garmin publishes for its running dynamics (owner's manuals of the Forerunner
and fenix watches, "Color Gauges and Running Dynamics Data"; percentiles of Garmin's runners):
the green band (30th-69th percentile) is "typical", blue and purple "better than most", orange
and red "worse than most". These are population percentiles, not injury thresholds; GCT and
vertical oscillation depend on speed. Contralateral pelvic drop: healthy runners average about
5 deg and runners with common soft-tissue injuries about 2 deg more; every 1 deg more raised the
odds of being in the injured group by 80 % (Bramah C, Preece SJ, Gill N, Herrington L (2018)
Is there a pathological gait associated with common soft tissue running injuries? Am J Sports
Med 46:3023-3031). A left/right difference of drop above 2 deg, and a drift of more than 1 deg
from the first to the last tenth of a run (fatigue of the hip abductors), are worth attention
(the trend report flags 1 deg changes for the same reason).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class Shown:
    """How one metric (a column name) is shown."""

    column: str
    label: str
    """The metric in words, without the unit (sentence case, no code names)."""
    unit: str
    """As a person reads it: 'steps/min', 'ms', '%', 'cm', 'deg', 's'."""
    step: float
    """Resolution: values are rounded to a multiple of this."""
    better: str | None = None
    """'up' or 'down' when more or less is better; None when neither (or nearer a target)."""
    toward_zero: bool = False
    """Round toward zero (whole steps of the magnitude), so that a shown value and a class
    cut at a whole number agree: a -2.98 deg tilt shows as -2, never as a neutral -3."""

    @property
    def axis(self) -> str:
        """An axis label: the words and the unit, e.g. 'ground contact time (ms)'."""
        return f"{self.label} ({self.unit})"

    def round(self, value: float) -> float:
        """``value`` rounded to the resolution (NaN stays NaN)."""
        if value is None or not math.isfinite(value):
            return float("nan")
        if self.toward_zero:
            return math.trunc(value / self.step + math.copysign(1e-9, value)) * self.step
        return round(value / self.step) * self.step

    @property
    def decimals(self) -> int:
        s = f"{self.step:g}"
        return len(s.split(".")[1]) if "." in s else 0

    def text(self, value: Any, unit: bool = True, sign: bool = False) -> str:
        """``value`` rounded to the resolution, with its unit ('-' when unknown)."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            return "-"
        if not math.isfinite(v):
            return "-"
        r = self.round(v) + 0.0  # + 0.0: no "-0"
        if r == 0:
            r = 0.0
        body = f"{r:+.{self.decimals}f}" if sign and r != 0 else f"{r:.{self.decimals}f}"
        if not unit:
            return body
        sep = "" if self.unit == "%" else " "
        return f"{body}{sep}{self.unit}"


SHOWN: Final[dict[str, Shown]] = {
    s.column: s
    for s in (
        # runs (summary, minutes, steps)
        Shown("cadence_spm", "cadence", "steps/min", 1.0, "up"),
        Shown("walk_cadence_spm", "walking cadence", "steps/min", 1.0),
        Shown("gct_ms", "ground contact time", "ms", 5.0, "down"),
        Shown("gct_balance_left_pct", "left share of ground contact time", "%", 0.5),
        Shown("vo_cm", "vertical oscillation", "cm", 0.5, "down"),
        Shown(
            "pelvic_drop_left_deg", "right side sinking during left-leg stance", "deg", 0.5, "down"
        ),
        Shown(
            "pelvic_drop_right_deg", "left side sinking during right-leg stance", "deg", 0.5, "down"
        ),
        Shown("pelvic_drop_deg", "pelvic drop (opposite side sinks)", "deg", 0.5, "down"),
        Shown("pelvic_rotation_deg", "pelvic rotation range", "deg", 1.0),
        Shown(
            "drop_drift_deg", "change of pelvic drop from start to end", "deg", 0.5, "down"
        ),
        Shown("n_steps", "steps", "steps", 1.0),
        # strength (reps, sets, summary)
        Shown("tilt_deg", "lockout tilt (+ posterior)", "deg", 1.0, toward_zero=True),
        Shown("pelvis_angle_deg", "pelvis angle at lockout", "deg", 1.0),
        Shown("concentric_s", "up", "s", 0.1),
        Shown("top_hold_s", "hold at the top", "s", 0.1),
        Shown("eccentric_s", "down", "s", 0.1),
        Shown("hip_travel_cm", "hip travel", "cm", 1.0),
        Shown("duration_s", "duration", "s", 1.0),
        # trends (daily and weekly tables)
        Shown("training_days", "training days per week", "days", 1.0, "up"),
        Shown("reps_per_day", "reps per strength day", "reps", 1.0, "up"),
        Shown("posterior_tilt_pct", "bridge reps reaching posterior tilt", "%", 1.0, "up"),
        Shown("tempo_cv_pct", "rep-duration variability", "%", 1.0, "down"),
        Shown("form_break_pct", "reps with a form break", "%", 1.0, "down"),
    )
}
"""Every shown metric by column name."""


def shown(column: str) -> Shown:
    """How ``column`` is shown; an unknown column gets its name in words and a 0.01 step."""
    if column in SHOWN:
        return SHOWN[column]
    for suffix, unit in (("_deg", "deg"), ("_cm", "cm"), ("_ms", "ms"), ("_spm", "steps/min"),
                         ("_pct", "%"), ("_s", "s")):
        if column.endswith(suffix):
            return Shown(column, column[: -len(suffix)].replace("_", " "), unit, 0.01)
    return Shown(column, column.replace("_", " "), "-", 0.01)


@dataclass(frozen=True)
class Band:
    """A typical range of a run metric: [low, high] is typical; where a value outside it is
    better or worse; where it comes from."""

    column: str
    low: float
    high: float
    below: str
    """What a value below ``low`` means, in words."""
    above: str
    source: str


GARMIN: Final = "Garmin running dynamics colour zones (green band: 30th-69th percentile)"
BRAMAH: Final = "Bramah et al. 2018, Am J Sports Med 46:3023 (healthy runners about 5 deg)"

TYPICAL: Final[dict[str, Band]] = {
    b.column: b
    for b in (
        Band("cadence_spm", 164.0, 173.0, "lower than most runners", "higher than most runners",
             GARMIN),
        Band("gct_ms", 249.0, 277.0, "shorter than most runners", "longer than most runners",
             GARMIN),
        Band("gct_balance_left_pct", 49.3, 50.7, "more time on the right foot",
             "more time on the left foot", GARMIN),
        Band("vo_cm", 8.2, 9.7, "less bounce than most runners", "more bounce than most runners",
             GARMIN),
        Band("pelvic_drop_left_deg", 3.0, 7.0, "less than most healthy runners",
             "more than most healthy runners: strengthen the LEFT hip abductors", BRAMAH),
        Band("pelvic_drop_right_deg", 3.0, 7.0, "less than most healthy runners",
             "more than most healthy runners: strengthen the RIGHT hip abductors", BRAMAH),
    )
}
"""Typical ranges of run metrics (see the module docstring for the sources)."""

DROP_ASYMMETRY_DEG: Final = 2.0
"""A left/right difference of mean pelvic drop above this is worth attention."""
DROP_DRIFT_DEG: Final = 1.0
"""A drift of mean pelvic drop over a run above this suggests the hip abductors tire."""
BETTER_THAN_TYPICAL: Final = {"cadence_spm": "above", "gct_ms": "below", "vo_cm": "below"}
"""Run metrics for which being outside the typical band on this side is better, not worse."""


def judge_band(column: str, value: Any) -> tuple[str, str]:
    """(verdict, words) for a run value against its typical band: verdict 'typical', 'better'
    (outside on the good side), 'check' (outside on the other side) or '' (no band/value)."""
    band = TYPICAL.get(column)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "", ""
    if band is None or not math.isfinite(v):
        return "", ""
    v = shown(column).round(v)
    if band.low <= v <= band.high:
        return "typical", "typical"
    side = "above" if v > band.high else "below"
    words = band.above if side == "above" else band.below
    good = BETTER_THAN_TYPICAL.get(column) == side or (
        column.startswith("pelvic_drop") and side == "below"
    )
    return ("better" if good else "check"), words


MIN_SPAN_STEPS: Final = 10
"""A plot's value axis spans at least this many resolution steps, so that differences the
sensor does not resolve (a cadence of 148.2 vs 148.5 steps/min) never look like swings."""


def value_limits(column: str, lo: float, hi: float) -> tuple[float, float]:
    """Axis limits around data from ``lo`` to ``hi``: the data's range with a margin, but never
    narrower than :data:`MIN_SPAN_STEPS` steps of the column's resolution (centred)."""
    step = shown(column).step
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (0.0, MIN_SPAN_STEPS * step)
    span = max(hi - lo, 0.0)
    margin = 0.08 * span
    low, high = lo - margin, hi + margin
    need = MIN_SPAN_STEPS * step
    if high - low < need:
        mid = (lo + hi) / 2
        low, high = mid - need / 2, mid + need / 2
    return (low, high)
