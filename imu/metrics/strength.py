"""Strength metrics: lockout tilt and its class (contract section 3)."""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

TILT_CLASS_THRESHOLD_DEG: Final = 3.0
"""|tilt| >= this is posterior (+) or anterior (-); between is neutral."""


def tilt_class(tilt_deg: ArrayLike) -> NDArray[np.str_]:
    """'posterior' (tilt >= +3 deg), 'anterior' (<= -3 deg) or 'neutral'; NaN stays ''."""
    t = np.asarray(tilt_deg, dtype=float)
    out = np.full(t.shape, "neutral", dtype=object)
    out[t >= TILT_CLASS_THRESHOLD_DEG] = "posterior"
    out[t <= -TILT_CLASS_THRESHOLD_DEG] = "anterior"
    out[~np.isfinite(t)] = ""
    return out
