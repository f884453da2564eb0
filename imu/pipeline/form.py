"""Form breakdown within a set: reps whose lockout tilt or tempo deteriorates beyond the set's
first reps.

Rule (per set, reps in order; docs/trends.md):

* Baseline = the median over the set's first ``baseline_reps`` reps of the lockout ``tilt_deg``
  and of the rep duration ``end_s - start_s``. Those first reps define "good form" for the set
  and are never flagged themselves; a set with no more reps than that has no flags.
* A later rep is a form break when its lockout tilt has fallen by more than ``tilt_drop_deg``
  below the baseline (towards anterior tilt, the "back bend" at a bridge top), or when its
  duration differs from the baseline by more than ``tempo_change_frac`` of it (rushed reps or
  grinding reps).
* Missing values (NaN tilt for accelerometer-only recordings) never cause a flag.

The practice of "stopping a set when form breaks down" (fatigue-related loss of lumbopelvic
control and tempo) follows e.g. Sanchez-Medina & Gonzalez-Badillo (2011), Med Sci Sports Exerc
43:1725-1734 (velocity loss as a marker of fatigue within a set), adapted here to lockout tilt
and rep duration, which one hip sensor measures directly.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from imu.core.errors import InputError
from imu.pipeline.base import Algorithm

REQUIRED_COLUMNS = ("set", "rep", "start_s", "end_s", "tilt_deg")


class FormBreakDetector(Algorithm):
    """Flag reps whose lockout tilt or tempo has deteriorated against the set's first reps.

    Parameters
    ----------
    baseline_reps
        How many opening reps of each set define its baseline (median).
    tilt_drop_deg
        A fall of lockout tilt larger than this below the baseline is a form break (deg).
    tempo_change_frac
        A rep duration differing from the baseline by more than this fraction is a form break.
    """

    _action_method = "detect"

    def __init__(
        self, baseline_reps: int = 3, tilt_drop_deg: float = 3.0, tempo_change_frac: float = 0.3
    ) -> None:
        self.baseline_reps = baseline_reps
        self.tilt_drop_deg = tilt_drop_deg
        self.tempo_change_frac = tempo_change_frac

    def detect(self, reps: pd.DataFrame) -> Self:
        """Compute ``form_break_`` (bool Series) and ``reasons_`` (str Series), both on
        ``reps.index``; also ``tilt_change_deg_`` and ``tempo_change_frac_`` per rep."""
        if self.baseline_reps < 1:
            raise InputError(f"baseline_reps must be >= 1, got {self.baseline_reps}")
        missing = [c for c in REQUIRED_COLUMNS if c not in reps.columns]
        if missing:
            raise InputError(f"reps table lacks column(s): {', '.join(missing)}")
        idx = reps.index
        if reps.empty:
            self.form_break_ = pd.Series(False, index=idx, dtype=bool, name="form_break")
            self.reasons_ = pd.Series("", index=idx, dtype=object, name="form_break_reason")
            self.tilt_change_deg_ = pd.Series(np.nan, index=idx, name="tilt_change_deg")
            self.tempo_change_frac_ = pd.Series(np.nan, index=idx, name="tempo_change_frac")
            return self

        df = pd.DataFrame(
            {
                "set": reps["set"].to_numpy(),
                "rep": reps["rep"].to_numpy(),
                "tilt": pd.to_numeric(reps["tilt_deg"], errors="coerce").to_numpy(float),
                "dur": (reps["end_s"] - reps["start_s"]).to_numpy(float),
            }
        )
        # Order within set by rep number (the table may come in any order).
        order = df.groupby("set", sort=False)["rep"].rank(method="first").to_numpy()
        df["in_base"] = order <= self.baseline_reps
        base = df[df["in_base"]].groupby("set")[["tilt", "dur"]].median()
        n_in_set = df.groupby("set")["rep"].transform("size").to_numpy()
        b_tilt = df["set"].map(base["tilt"]).to_numpy(float)
        b_dur = df["set"].map(base["dur"]).to_numpy(float)

        tilt_change = df["tilt"].to_numpy() - b_tilt
        with np.errstate(divide="ignore", invalid="ignore"):
            tempo_change = np.where(b_dur > 0, df["dur"].to_numpy() / b_dur - 1.0, np.nan)
        eligible = (~df["in_base"].to_numpy()) & (n_in_set > self.baseline_reps)
        tilt_bad = eligible & (tilt_change < -self.tilt_drop_deg)  # NaN compares False
        tempo_bad = eligible & (np.abs(tempo_change) > self.tempo_change_frac)

        tilt_txt = np.where(
            tilt_bad, [f"lockout tilt {v:+.1f} deg vs first reps" for v in tilt_change], ""
        )
        tempo_txt = np.where(
            tempo_bad, [f"rep duration {100 * v:+.0f}% vs first reps" for v in tempo_change], ""
        )
        sep = np.where(tilt_bad & tempo_bad, "; ", "")
        reasons = np.char.add(np.char.add(tilt_txt.astype(str), sep.astype(str)), tempo_txt)

        self.form_break_ = pd.Series(tilt_bad | tempo_bad, index=idx, name="form_break")
        self.reasons_ = pd.Series(reasons.astype(object), index=idx, name="form_break_reason")
        self.tilt_change_deg_ = pd.Series(tilt_change, index=idx, name="tilt_change_deg")
        self.tempo_change_frac_ = pd.Series(tempo_change, index=idx, name="tempo_change_frac")
        return self


def add_form_break(reps: pd.DataFrame, **params: float | int) -> pd.DataFrame:
    """A copy of ``reps`` with ``form_break`` (bool) and ``form_break_reason`` (str) columns."""
    det = FormBreakDetector(**params).detect(reps)  # type: ignore[arg-type]
    out = reps.copy()
    out["form_break"] = det.form_break_.astype(bool)
    out["form_break_reason"] = det.reasons_.astype(str)
    return out
