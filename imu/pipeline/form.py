"""Form breaks: reps whose lockout tipped into anterior tilt, or whose lockout tilt or tempo
deteriorated beyond the set's first reps.

The rule itself (an anterior lockout always; per set, a baseline from the first reps, a tilt
drop out of posterior tilt or a tempo change beyond thresholds; docs/trends.md) is the metric
:func:`imu.metrics.strength.form_breaks` (Arrow tables, DataFrames or arrays by name), shared
with the simulated month; this module wraps it as an algorithm so that its
parameters are recorded in every output file's provenance.

The practice of "stopping a set when form breaks down" (fatigue-related loss of lumbopelvic
control and tempo) follows e.g. Sanchez-Medina & Gonzalez-Badillo (2011), Med Sci Sports Exerc
43:1725-1734 (velocity loss as a marker of fatigue within a set), adapted here to lockout tilt
and rep duration, which one hip sensor measures directly.
"""

from __future__ import annotations

from typing import Any, Self

from imu.metrics.strength import FORM_BREAK_COLUMNS, add_form_break, form_breaks
from imu.pipeline.base import FormAlgorithm

REQUIRED_COLUMNS = FORM_BREAK_COLUMNS
"""The reps columns the rule reads (:data:`imu.metrics.strength.FORM_BREAK_COLUMNS`)."""

__all__ = ["REQUIRED_COLUMNS", "FormBreakDetector", "add_form_break"]


class FormBreakDetector(FormAlgorithm):
    """Flag reps whose lockout is anterior, or whose lockout tilt or tempo has deteriorated
    against the set's first reps (:func:`imu.metrics.strength.form_breaks`).

    Parameters
    ----------
    baseline_reps
        How many opening reps of each set define its baseline (median).
    tilt_drop_deg
        A fall of lockout tilt larger than this below the baseline is a form break (deg).
    tempo_change_frac
        A rep duration differing from the baseline by more than this fraction is a form break.
    anterior_is_break
        An anterior lockout (tilt <= -3 deg, the ``anterior`` tilt class) is a form break, also
        in a set's first reps.

    Results
    -------
    form_break_
        Bool per rep (numpy, in the reps' order).
    reasons_
        Why, in words ('' for no break): the ``form_reason`` column of ``reps.parquet``.
    tilt_change_deg_
        Lockout tilt minus the set's baseline (deg).
    tempo_change_frac_
        Rep duration relative to the set's baseline, minus 1.
    """

    def __init__(
        self,
        baseline_reps: int = 3,
        tilt_drop_deg: float = 3.0,
        tempo_change_frac: float = 0.3,
        anterior_is_break: bool = True,
    ) -> None:
        self.baseline_reps = baseline_reps
        self.tilt_drop_deg = tilt_drop_deg
        self.tempo_change_frac = tempo_change_frac
        self.anterior_is_break = anterior_is_break

    def detect(self, reps: Any) -> Self:
        """Apply the rule (:func:`imu.metrics.strength.form_breaks`) to a reps table (an
        Arrow table, or a stored session's DataFrame)."""
        fb = form_breaks(
            reps,
            self.baseline_reps,
            self.tilt_drop_deg,
            self.tempo_change_frac,
            self.anterior_is_break,
        )
        self.form_break_ = fb["form_break"]
        self.reasons_ = fb["form_reason"]
        self.tilt_change_deg_ = fb["tilt_change_deg"]
        self.tempo_change_frac_ = fb["tempo_change_frac"]
        return self
