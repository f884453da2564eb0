"""Gait metrics (contract sections 1 and 3): contralateral pelvic drop, per-stride ranges, the
run summary, cadence per bout, the walking and run-start summaries and the per-minute tables,
from a steps table (``imu.core.schema.STEPS``).

The gait analysis computes its summary and minutes with these functions and the simulator's
truth uses the same ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from imu.core.schema import MINUTES


def pelvic_drop_deg(obliquity_deg: ArrayLike, stance_side: ArrayLike) -> NDArray[np.float64]:
    """Contralateral pelvic drop from obliquity and the stance side ('L' or 'R').

    Positive when the side opposite the stance leg is lower than in neutral: obliquity > 0
    lifts the LEFT side, so a left stance gives drop = +obliquity, a right stance -obliquity.
    """
    obl = np.asarray(obliquity_deg, dtype=float)
    side = np.asarray(stance_side)
    return np.where(side == "L", obl, -obl)


def stride_range(
    t_s: NDArray[np.float64],
    x: NDArray[np.float64],
    bounds_s: NDArray[np.float64],
    detrend: bool = False,
) -> NDArray[np.float64]:
    """Range of ``x`` within each interval between consecutive ``bounds_s`` (vectorised); NaN
    for an interval without samples.

    With ``detrend`` the straight line between the values at the bounds is removed first, so a
    heading change while turning does not count as pelvic rotation.
    """
    b = np.asarray(bounds_s, dtype=float)
    if b.size < 2:
        return np.empty(0)
    idx = np.clip(np.searchsorted(t_s, b), 0, t_s.size - 1)
    y = np.asarray(x, dtype=float)
    if detrend:
        y = y - np.interp(t_s, t_s[idx], y[idx])
    lo, hi = idx[0], idx[-1]
    seg = y[lo : hi + 1]
    starts = idx[:-1] - lo
    ok = idx[1:] > idx[:-1]
    mx = np.maximum.reduceat(seg, starts)
    mn = np.minimum.reduceat(seg, starts)
    # include the end sample of each interval (reduceat stops one before the next start)
    mx = np.maximum(mx, seg[idx[1:] - lo])
    mn = np.minimum(mn, seg[idx[1:] - lo])
    return np.where(ok, mx - mn, np.nan)


def _finite_mean(x: NDArray[np.float64]) -> float:
    """Mean of the finite values (NaN if none)."""
    x = x[np.isfinite(x)]
    return float(np.mean(x)) if x.size else float("nan")


def run_summary(
    steps: pd.DataFrame,
    t_s: NDArray[np.float64] | None = None,
    rotation_deg: NDArray[np.float64] | None = None,
    sagittal_deg: NDArray[np.float64] | None = None,
    max_step_s: float = 0.6,
) -> dict[str, Any]:
    """Run summary columns (contract section 3) from a steps table; rotation and tilt ranges per
    stride (left contact to next left contact; strides longer than 2 x ``max_step_s``, i.e.
    across a pause, are skipped). Running time counts step durations only, so the first and last
    tenths of ``drop_drift_deg`` leave pauses out. Means skip NaN; NaN when nothing is known."""
    nan = float("nan")
    out: dict[str, Any] = {
        "cadence_spm": nan,
        "gct_ms": nan,
        "gct_balance_left_pct": nan,
        "vo_cm": nan,
        "pelvic_drop_left_deg": nan,
        "pelvic_drop_right_deg": nan,
        "pelvic_rotation_deg": nan,
        "pelvic_tilt_range_deg": nan,
        "drop_drift_deg": nan,
    }
    if steps.empty:
        return out
    c = steps["contact_s"].to_numpy(dtype=float)
    dur = np.diff(c)
    ok = (dur > 0.15) & (dur < max_step_s)
    if ok.any():
        out["cadence_spm"] = 60.0 / float(np.mean(dur[ok]))
    left = (steps["side"] == "L").to_numpy()
    right = (steps["side"] == "R").to_numpy()
    gct = steps["gct_ms"].to_numpy(dtype=float)
    drop = steps["pelvic_drop_deg"].to_numpy(dtype=float)
    mean = _finite_mean
    gl, gr = mean(gct[left]), mean(gct[right])
    out["gct_ms"] = mean(gct)
    out["gct_balance_left_pct"] = 100.0 * gl / (gl + gr) if np.isfinite(gl + gr) else nan
    out["vo_cm"] = mean(steps["vo_cm"].to_numpy(dtype=float))
    out["pelvic_drop_left_deg"] = mean(drop[left])
    out["pelvic_drop_right_deg"] = mean(drop[right])
    if t_s is not None:
        lc = c[left]
        good = np.diff(lc) < 2 * max_step_s if lc.size > 1 else np.zeros(0, bool)
        for key, sig, detrend in (
            ("pelvic_rotation_deg", rotation_deg, True),
            ("pelvic_tilt_range_deg", sagittal_deg, False),
        ):
            if sig is None or lc.size < 2 or not np.isfinite(sig).any():
                continue
            r = stride_range(t_s, sig, lc, detrend=detrend)
            out[key] = mean(r[good])
    # running time at each contact: step durations summed, pauses (> max_step_s) left out
    run_t = np.concatenate([[0.0], np.cumsum(np.where(ok, dur, 0.0))])
    tenth = run_t[-1] / 10.0
    first, last = run_t <= tenth, run_t >= run_t[-1] - tenth
    if tenth > 0 and first.any() and last.any():
        out["drop_drift_deg"] = mean(drop[last]) - mean(drop[first])
    return out


# ------------------------------------------------------------------------ per-minute tables ---


def empty_minutes() -> pd.DataFrame:
    """The per-minute table without rows (``imu.core.schema.MINUTES`` columns, float)."""
    return pd.DataFrame({c: pd.Series(dtype=float) for c in MINUTES.names})


def minutes_by_running_time(steps: pd.DataFrame) -> pd.DataFrame:
    """Per-minute table (``imu.core.schema.MINUTES``) in minutes counted from the FIRST CONTACT:
    minute k holds the steps whose contact lies in [c0 + 60 (k - 1), c0 + 60 k) s. This is the
    table the running analysis writes (``minutes.parquet``).

    Cadence is 60 / mean step duration from ``step_s`` (steps before a pause have NaN there, so
    pauses do not count); contact time, balance, oscillation and drops are means of the finite
    values of the minute's steps. Minutes without steps are left out.
    """
    if steps.empty:
        return empty_minutes()
    c = steps["contact_s"].to_numpy(dtype=float)
    c0 = float(c[0])
    minute = ((c - c0) // 60.0).astype(np.int64)
    nm = int(minute[-1]) + 1
    left = (steps["side"] == "L").to_numpy()
    right = (steps["side"] == "R").to_numpy()

    def mean(x: NDArray[np.float64], sel: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        ok = np.isfinite(x) if sel is None else np.isfinite(x) & sel
        n = np.bincount(minute[ok], minlength=nm)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.bincount(minute[ok], weights=x[ok], minlength=nm) / n

    step_s = steps["step_s"].to_numpy(dtype=float) if "step_s" in steps else np.full(c.size, np.nan)
    gct = steps["gct_ms"].to_numpy(dtype=float)
    drop = steps["pelvic_drop_deg"].to_numpy(dtype=float)
    gl, gr = mean(gct, left), mean(gct, right)
    out = pd.DataFrame(
        {
            "minute": np.arange(1, nm + 1),
            "start_s": c0 + 60.0 * np.arange(nm),
            "n_steps": np.bincount(minute, minlength=nm),
            "cadence_spm": 60.0 / mean(step_s),
            "gct_ms": mean(gct),
            "gct_balance_left_pct": 100.0 * gl / (gl + gr),
            "vo_cm": mean(steps["vo_cm"].to_numpy(dtype=float)),
            "pelvic_drop_left_deg": mean(drop, left),
            "pelvic_drop_right_deg": mean(drop, right),
        },
        columns=list(MINUTES.names),
    )
    return out[out["n_steps"] > 0].reset_index(drop=True)


def minutes_by_clock(steps: pd.DataFrame) -> pd.DataFrame:
    """Per-minute table in CLOCK minutes of the recording: minute m (from 0) holds the steps
    whose contact lies in [60 m, 60 (m + 1)) s of the session clock, whatever the first
    contact. The HTML report's fallback when a session has no ``minutes.parquet``.

    Columns: ``minute``, ``steps`` (count), ``cadence_spm`` = (steps - 1) / (last - first
    contact) x 60 (NaN for a single step; a pause inside the minute lowers it), ``gct_ms``,
    ``vo_cm``, ``pelvic_drop_left_deg``, ``pelvic_drop_right_deg`` (plain means). Empty frame
    without steps.
    """
    if steps.empty:
        return pd.DataFrame()
    m = (steps["contact_s"] // 60).astype(int)
    g = steps.assign(minute=m).groupby("minute")
    span = g["contact_s"].agg(lambda s: s.max() - s.min())
    count = g.size()
    out = pd.DataFrame({"steps": count})
    out["cadence_spm"] = ((count - 1) / span * 60).where(span > 0)
    out["gct_ms"] = g["gct_ms"].mean()
    out["vo_cm"] = g["vo_cm"].mean()
    for side, name in (("L", "left"), ("R", "right")):
        out[f"pelvic_drop_{name}_deg"] = (
            steps[steps["side"] == side]
            .assign(minute=m)
            .groupby("minute")["pelvic_drop_deg"]
            .mean()
        )
    return out.reset_index()


# ------------------------------------------------------------------- bouts, walking, starts ---


def cadence_per_bout(steps: pd.DataFrame) -> pd.DataFrame:
    """Per bout of steps (``bout`` column): ``bout``, ``gait``, ``start_s`` / ``end_s`` (first /
    last contact), ``n_steps`` and ``cadence_spm`` = 60 / the mean of the bout's step times
    (``step_s``) inside their interquartile range (robust to gait initiation and termination,
    turns and a missed or extra step); NaN for a bout of fewer than 3 steps."""
    cols = {"bout": "int64", "gait": "str", "start_s": "float64", "end_s": "float64",
            "n_steps": "int64", "cadence_spm": "float64"}
    if steps.empty:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
    g = steps.groupby("bout", sort=True)
    out = g.agg(gait=("gait", "first"), start_s=("contact_s", "min"), end_s=("contact_s", "max"),
                n_steps=("contact_s", "size")).reset_index()
    st = steps["step_s"].astype(float)
    q1 = g["step_s"].transform("quantile", 0.25)
    q3 = g["step_s"].transform("quantile", 0.75)
    mid = st[(st >= q1) & (st <= q3)].groupby(steps["bout"]).mean()
    cad = 60.0 / out["bout"].map(mid).astype(float)
    out["cadence_spm"] = np.where(out["n_steps"] >= 3, cad, np.nan)
    return out[list(cols)]


def walk_summary(steps: pd.DataFrame, bouts: pd.DataFrame) -> dict[str, Any]:
    """``walk_steps`` (walking steps) and ``walk_cadence_spm``: the walking bouts' cadences
    (:func:`cadence_per_bout`) weighted by their number of step intervals (NaN without)."""
    walk = steps["gait"] == "walk" if not steps.empty else pd.Series(dtype=bool)
    b = bouts[(bouts["gait"] == "walk") & np.isfinite(bouts["cadence_spm"].astype(float))]
    cad = (float(np.average(b["cadence_spm"].astype(float), weights=b["n_steps"] - 1))
           if len(b) else float("nan"))
    return {"walk_steps": int(walk.sum()), "walk_cadence_spm": cad}


def starts_summary(starts: pd.DataFrame) -> dict[str, Any]:
    """``run_start_lead_side``: the side of the first step of most starts ('' when there is no
    start with a known side, or a tie); ``run_start_consistency_pct``: the share of the starts
    with a known first side that begin with the lead side (50 in a tie, NaN without)."""
    first = starts["first_side"] if len(starts) else pd.Series(dtype=str)
    n_l, n_r = int((first == "L").sum()), int((first == "R").sum())
    if n_l + n_r == 0:
        return {"run_start_lead_side": "", "run_start_consistency_pct": float("nan")}
    lead = "L" if n_l > n_r else "R" if n_r > n_l else ""
    return {"run_start_lead_side": lead,
            "run_start_consistency_pct": 100.0 * max(n_l, n_r) / (n_l + n_r)}
