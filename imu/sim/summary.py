"""Truth summaries shared by the workout and gait simulators (contract section 3).

``calibration`` says which reference the contract tells a perfect analysis to use for neutral /
vertical (contract section 1): the opening quiet standing (at least :data:`OPENING_MIN_S` from the
first sample), else the best quiet standing anywhere (at least :data:`QUIET_MIN_S`), else upright
walking (at least :data:`WALK_MIN_STEPS` steps), else the mean specific force over running strides
(``gait``). A re-seat starts a new
mounting, which needs its own reference: :func:`calibrations` gives one per mounting, and the
summary's ``calibration`` is the first mounting's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imu.metrics.gait import run_summary
from imu.sim.gait_truth import starts_summary, walk_summary

OPENING_MIN_S = 3.0
"""An opening quiet standing of at least this long is the contract's standing start."""
QUIET_MIN_S = 2.5
"""A quiet standing stretch of at least this long is a usable neutral reference (issue 9)."""
WALK_MIN_STEPS = 10
"""Walking steps (about 5 s) that make upright walking a usable reference."""


def quiet_table(intervals: list[tuple[float, float]], mount_from_s: list[float]) -> pd.DataFrame:
    """Quiet neutral standing intervals with the index of the mounting they belong to."""
    rows = []
    for a, b in intervals:
        if b - a <= 0:
            continue
        m = int(np.searchsorted(np.asarray(mount_from_s[1:]), a, side="right"))
        rows.append({"start_s": float(a), "end_s": float(b), "mounting": m})
    df = pd.DataFrame(rows, columns=["start_s", "end_s", "mounting"])
    df["mounting"] = df["mounting"].astype("int64")
    return df


def calibrations(quiet: pd.DataFrame, steps: pd.DataFrame, mount_from_s: list[float],
                 mount_to_s: list[float]) -> list[str]:
    """The contract's reference for each mounting (``'none'`` where there is none)."""
    out = []
    for m, (a, b) in enumerate(zip(mount_from_s, mount_to_s, strict=True)):
        q = quiet[quiet["mounting"] == m]
        length = q["end_s"] - q["start_s"]
        if m == 0 and ((q["start_s"] <= 1e-9) & (length >= OPENING_MIN_S)).any():
            out.append("opening_standing")
            continue
        if (length >= QUIET_MIN_S).any():
            out.append("standing_rest")
            continue
        inside = steps[(steps["contact_s"] >= a) & (steps["contact_s"] < b)] if len(
            steps) else steps
        if len(inside) and (inside["gait"] == "walk").sum() >= WALK_MIN_STEPS:
            out.append("walking")
        elif len(inside) and (inside["gait"] == "run").sum() >= WALK_MIN_STEPS:
            out.append("gait")
        else:
            out.append("none")
    return out


def gait_summary(steps: pd.DataFrame, starts: pd.DataFrame, pelvis: pd.DataFrame,
                 gyro: bool) -> dict[str, Any]:
    """Walking and running summary fields from the truth tables (the run metrics over running
    steps with :func:`imu.metrics.gait.run_summary`, as the analysis computes them)."""
    out: dict[str, Any] = {}
    if steps.empty:
        return out
    out |= walk_summary(steps)
    run = steps[steps["gait"] == "run"].reset_index(drop=True)
    if len(run):
        t = pelvis["t_s"].to_numpy()
        rot = np.degrees(np.unwrap(np.radians(pelvis["rotation_deg"].to_numpy())))
        rs = run_summary(run, t, rot, pelvis["sagittal_deg"].to_numpy())
        if not gyro:
            rs = rs | {k: float("nan") for k in ("pelvic_drop_left_deg", "pelvic_drop_right_deg",
                                                 "pelvic_rotation_deg", "drop_drift_deg")}
        out |= rs
        out["run_steps"] = int(len(run))
        out |= starts_summary(starts)
    return out
