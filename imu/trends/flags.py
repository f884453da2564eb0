"""The trended metrics (which way is worse, what change matters) and flags in plain words.

A trend becomes a flag only when both hold (docs/trends.md):

* statistically: the 95% CI of the slope excludes zero, with at least ``MIN_POINTS`` values, and
  the slope's Holm-adjusted p-value over all metrics is below ``FAMILY_ALPHA``;
* practically: the fitted change over the observed span (slope x span) is at least the metric's
  ``min_change`` (e.g. 1 deg of pelvic drop, 10 percentage points of posterior-tilt share).

Advice is attached to flags that go the wrong way. Strength advice follows the usual glute
activation practice (daily low-load drills, sets stopped at form breakdown); running advice
follows the hip-abductor literature on contralateral pelvic drop and fatigue (e.g. Bramah et al.
2018, Am J Sports Med 46:3023-3031).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from imu.metrics.display import SHOWN
from imu.trends.stats import FAMILY_ALPHA, MIN_POINTS, TrendFit

STRENGTH_ADVICE: Final = (
    "Do activation drills every day for at least a month, 10-100 reps a day in sets of 5-20, "
    "and stop a set when form breaks down; consistency beats volume."
)
RUN_ADVICE: Final = "Keep the pelvis level as you tire."


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
        SHOWN["pelvic_drop_left_deg"].label,
        "deg",
        1.0,
        "up",
        RUN_ADVICE,
    ),
    Metric(
        "pelvic_drop_right_deg",
        SHOWN["pelvic_drop_right_deg"].label,
        "deg",
        1.0,
        "up",
        RUN_ADVICE,
    ),
    Metric("pelvic_rotation_deg", "pelvic rotation", "deg", 2.0),
    Metric("drop_drift_deg", "pelvic drop drift within a run", "deg", 1.0, "up", RUN_ADVICE),
)
METRIC_BY_NAME: Final = {m.name: m for m in METRICS}


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
    slope's p-value adjusted over all metrics of the report (:func:`imu.trends.stats.holm`)."""
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
        "better": bool(flagged and metric.worse is not None and not worse),
        "message": message,
        "advice": advice,
    }
