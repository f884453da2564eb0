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

import numpy as np
import pandas as pd


def run_starts(steps: pd.DataFrame, restart_gap_s: float = 2.0,
               half_step_ratio: float = 0.8, n_following: int = 8) -> pd.DataFrame:
    """One row per start of running (``imu.core.schema.STARTS``) from a steps table (``gait``,
    ``side``, ``contact_s``, ``step_s``)."""
    cols = ["start", "t_s", "first_side", "second_side", "half_step", "first_step_s", "after"]
    if steps.empty or not (steps["gait"] == "run").any():
        return pd.DataFrame(columns=cols)
    c_all = steps["contact_s"].to_numpy(dtype=float)
    run = (steps["gait"] == "run").to_numpy()
    idx = np.flatnonzero(run)
    c = c_all[idx]
    begin = np.concatenate([[True], np.diff(c) > restart_gap_s])
    rows = []
    sides_all = steps["side"].to_numpy()
    for k, i in enumerate(np.flatnonzero(begin)):  # one per start: a short loop
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
        rows.append({
            "start": k + 1,
            "t_s": float(c_all[first]),
            "first_side": str(sides_all[first]),
            "second_side": str(sides_all[second]),
            "half_step": half,
            "first_step_s": float(c_all[second] - c_all[first]),
            "after": "walking" if came.size else "standing",
        })
    out = pd.DataFrame(rows, columns=cols)
    out["start"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out.astype({"start": "int64", "t_s": "float64", "half_step": "bool",
                       "first_step_s": "float64"})
