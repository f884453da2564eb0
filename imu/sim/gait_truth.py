"""Step truth of the stepped gait (:mod:`imu.sim.gait`) in the contract's terms (section 3):
the steps table (with ``gait``), the run starts, the bouts, and the walking and start summaries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imu.metrics.gait import pelvic_drop_deg
from imu.sim.gait import Bout


def steps_truth(bouts: list[Bout], pelvis: pd.DataFrame, t_end: float) -> pd.DataFrame:
    """Contract steps table (plus ``bout``, ``step_s``, ``half_step``) for every contact inside
    the recording, from the output-rate truth pelvis (same definitions as the run simulator:
    ``vo_cm`` = height range contact to next contact, ``pelvic_drop_deg`` = largest drop from
    contact to toe-off). The closing step has no toe-off, stance time, oscillation or drop (NaN)."""
    ts = pelvis["t_s"].to_numpy()
    obl = pelvis["obliquity_deg"].to_numpy()
    hgt = pelvis["height_m"].to_numpy()
    rows = []
    for bi, b in enumerate(bouts):
        for k in range(b.n):
            c = float(b.contact[k])
            if not 0.0 <= c < t_end:
                continue
            closing = k == b.n - 1
            nxt = c + float(b.duration[k])
            toe = c + float(b.stance[k])
            side = "L" if b.left[k] else "R"
            vo = drop = np.nan
            i0 = int(np.searchsorted(ts, c))
            if not closing and nxt <= ts[-1]:
                i1 = int(np.searchsorted(ts, nxt))
                vo = 100.0 * float(np.ptp(hgt[i0 : i1 + 1]))
            if np.isfinite(toe) and toe <= ts[-1]:
                ito = int(np.searchsorted(ts, toe))
                drop = float(np.max(pelvic_drop_deg(obl[i0 : ito + 1], side)))
            rows.append({
                "gait": "run" if b.run[k] else "walk", "side": side, "contact_s": c,
                "toe_off_s": toe, "gct_ms": 1000.0 * float(b.stance[k]), "vo_cm": vo,
                "pelvic_drop_deg": drop, "bout": bi + 1,
                "step_s": np.nan if closing else float(b.duration[k]),
                "half_step": bool(b.half[k]),
            })
    cols = ["step", "gait", "side", "contact_s", "toe_off_s", "gct_ms", "vo_cm",
            "pelvic_drop_deg", "bout", "step_s", "half_step"]
    df = pd.DataFrame(rows, columns=cols[1:])
    df = df.sort_values("contact_s", kind="stable").reset_index(drop=True)
    df.insert(0, "step", np.arange(1, len(df) + 1, dtype=np.int64))
    df["bout"] = df["bout"].astype("int64")
    df["half_step"] = df["half_step"].astype(bool)
    return df[cols]


def starts_truth(bouts: list[Bout], t_end: float) -> pd.DataFrame:
    """Contract starts table (plus ``after``: standing | walking, and ``bout``)."""
    rows = []
    for bi, b in enumerate(bouts):
        for k, after in b.starts:
            if k + 1 >= b.n or not 0.0 <= b.contact[k] < t_end:
                continue
            rows.append({
                "t_s": float(b.contact[k]), "first_side": "L" if b.left[k] else "R",
                "second_side": "L" if b.left[k + 1] else "R", "half_step": bool(b.half[k]),
                "after": after, "bout": bi + 1,
            })
    df = pd.DataFrame(rows, columns=["t_s", "first_side", "second_side", "half_step", "after",
                                     "bout"])
    df = df.sort_values("t_s", kind="stable").reset_index(drop=True)
    df.insert(0, "start", np.arange(1, len(df) + 1, dtype=np.int64))
    df["half_step"] = df["half_step"].astype(bool)
    df["bout"] = df["bout"].astype("int64")
    return df


def bouts_table(bouts: list[Bout]) -> pd.DataFrame:
    """One row per bout: bout, start_s, end_s, gait (walk | run | mixed)."""
    rows = []
    for i, b in enumerate(bouts):
        kinds = set(np.where(b.run, "run", "walk"))
        rows.append({"bout": i + 1, "start_s": max(b.t0, 0.0), "end_s": b.t1,
                     "gait": kinds.pop() if len(kinds) == 1 else "mixed"})
    df = pd.DataFrame(rows, columns=["bout", "start_s", "end_s", "gait"])
    df["bout"] = df["bout"].astype("int64")
    return df


def walk_summary(steps: pd.DataFrame) -> dict[str, float | int]:
    """``walk_steps`` and ``walk_cadence_spm`` (60 / mean duration of the walking steps followed
    by another walking step of the same bout: starts, stops and transitions to running left out)."""
    wk = steps[steps["gait"] == "walk"]
    nxt_walk = (steps["gait"].shift(-1) == "walk") & (steps["bout"].shift(-1) == steps["bout"])
    ok = (steps["gait"] == "walk") & nxt_walk & steps["step_s"].notna()
    ok &= ~steps["half_step"]
    dur = steps.loc[ok, "step_s"].to_numpy(dtype=float)
    return {"walk_steps": int(len(wk)),
            "walk_cadence_spm": 60.0 / float(np.mean(dur)) if dur.size else float("nan")}


def starts_summary(starts: pd.DataFrame) -> dict[str, Any]:
    """``run_start_lead_side`` (the most frequent first side) and ``run_start_consistency_pct``."""
    if starts.empty:
        return {"run_start_lead_side": "", "run_start_consistency_pct": float("nan")}
    counts = starts["first_side"].value_counts()
    lead = "L" if counts.get("L", 0) > counts.get("R", 0) else "R"
    return {"run_start_lead_side": lead,
            "run_start_consistency_pct": 100.0 * float(counts.get(lead, 0)) / len(starts)}
