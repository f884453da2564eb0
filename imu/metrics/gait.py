"""Gait metrics: contralateral pelvic drop (contract sections 1 and 3)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def pelvic_drop_deg(obliquity_deg: ArrayLike, stance_side: ArrayLike) -> NDArray[np.float64]:
    """Contralateral pelvic drop from obliquity and the stance side ('L' or 'R').

    Positive when the side opposite the stance leg is lower than in neutral: obliquity > 0
    lifts the LEFT side, so a left stance gives drop = +obliquity, a right stance -obliquity.
    """
    obl = np.asarray(obliquity_deg, dtype=float)
    side = np.asarray(stance_side)
    return np.where(side == "L", obl, -obl)
