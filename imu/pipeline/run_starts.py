"""Starts and restarts of running: the side of the first two steps and whether the first is a
short half-step (docs/running.md).

Runners are taught to notice their first two running steps after every stop; a grooved start is
the same every time. A start is the first running step after ``restart_gap_s`` without one
(standing or walking in between, or the recording's first running step). A half-step is a
short first step, shorter than ``half_step_ratio`` x the median step time of the running steps
that follow (a shuffle into the rhythm rather than a full stride): either the first running step
itself, or a step without a flight just before it (it has none: a half-step is walked), which
then is the start's first step. The start's first and second sides are those of its first two
steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from imu.core import arrow
from imu.core.arrow import column
from imu.core.schema import STARTS

if TYPE_CHECKING:
    import pandas as pd


def run_starts(steps: pa.Table | pd.DataFrame, restart_gap_s: float = 2.0,
               half_step_ratio: float = 0.8, n_following: int = 8) -> pa.Table:
    """One row per start of running (``imu.core.schema.STARTS``) from a steps table (``gait``,
    ``side``, ``contact_s``, ``step_s``)."""
    run = column(steps, "gait") == "run" if len(steps) else np.zeros(0, dtype=bool)
    if not run.any():
        return arrow.empty(STARTS)
    c_all = column(steps, "contact_s", float)
    idx = np.flatnonzero(run)
    c = c_all[idx]
    begin = np.concatenate([[True], np.diff(c) > restart_gap_s])
    rows = []
    sides_all = column(steps, "side")
    for i in np.flatnonzero(begin):  # one per start: a short loop
        end = np.flatnonzero(begin[i + 1:])
        j_end = i + 1 + int(end[0]) if end.size else c.size
        seq = idx[i:j_end]
        if seq.size < 3:
            continue
        d = np.diff(c_all[seq])
        following = d[1 : 1 + n_following]
        med = float(np.median(following)) if following.size else np.nan
        first = int(seq[0])
        half = bool(np.isfinite(med) and d[0] < half_step_ratio * med)
        before = first - 1  # a walked half-step just before the first running step
        if (not half and before >= 0 and not run[before] and np.isfinite(med)
                and c_all[first] - c_all[before] < half_step_ratio * med):
            first, half = before, True
        second = first + 1
        came = c_all[(c_all < c_all[first]) & (c_all >= c_all[first] - restart_gap_s) & ~run]
        rows.append((float(c_all[first]), str(sides_all[first]), str(sides_all[second]), half,
                     float(c_all[second] - c_all[first]), "walking" if came.size else "standing"))
    if not rows:
        return arrow.empty(STARTS)
    t_s, first_side, second_side, half_step, first_step_s, after = zip(*rows, strict=True)
    return arrow.table({
        "start": np.arange(1, len(rows) + 1, dtype=np.int64),
        "t_s": np.array(t_s, dtype=np.float64),
        "first_side": list(first_side),
        "second_side": list(second_side),
        "half_step": np.array(half_step, dtype=bool),
        "first_step_s": np.array(first_step_s, dtype=np.float64),
        "after": list(after),
    }, schema=STARTS)
