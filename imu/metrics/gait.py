"""Gait metrics (contract sections 1 and 3): contralateral pelvic drop, per-stride ranges, the
run summary, cadence per bout, the walking and run-start summaries and the per-minute tables,
from a steps table (``imu.core.schema.STEPS``).

The gait analysis computes its summary and minutes with these functions and the simulator's
truth uses the same ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray

from imu.core import arrow
from imu.core.arrow import column, names
from imu.core.schema import MINUTES

if TYPE_CHECKING:
    import pandas as pd


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


def stride_ranges(
    steps: pa.Table | pd.DataFrame | dict[str, NDArray[Any]],
    t_s: NDArray[np.float64],
    rotation_deg: NDArray[np.float64] | None,
    sagittal_deg: NDArray[np.float64] | None,
    max_step_s: float = 0.6,
) -> dict[str, NDArray[Any]]:
    """Per stride (a left contact to the next, :func:`stride_range`): ``start_s`` (its left
    contact), ``rotation_deg`` (detrended) and ``tilt_deg`` ranges (NaN without the signal),
    ``good`` (not across a pause: shorter than 2 x ``max_step_s``). A session analysed in
    windows keeps each window's strides that start in its core (docs/scale.md)."""
    c = column(steps, "contact_s", float)
    lc = c[column(steps, "side") == "L"]
    n = max(lc.size - 1, 0)
    good = np.diff(lc) < 2 * max_step_s if lc.size > 1 else np.zeros(0, bool)
    out: dict[str, NDArray[Any]] = {"start_s": lc[:n], "good": good}
    for key, sig, detrend in (("rotation_deg", rotation_deg, True),
                              ("tilt_deg", sagittal_deg, False)):
        known = sig is not None and lc.size >= 2 and bool(np.isfinite(sig).any())
        out[key] = stride_range(t_s, sig, lc, detrend=detrend) if known else np.full(n, np.nan)
    return out


def run_summary(
    steps: pa.Table | pd.DataFrame,
    t_s: NDArray[np.float64] | None = None,
    rotation_deg: NDArray[np.float64] | None = None,
    sagittal_deg: NDArray[np.float64] | None = None,
    max_step_s: float = 0.6,
    strides: dict[str, NDArray[Any]] | None = None,
) -> dict[str, Any]:
    """Run summary columns (contract section 3) from a steps table; rotation and tilt ranges per
    stride (left contact to next left contact; strides longer than 2 x ``max_step_s``, i.e.
    across a pause, are skipped): from ``strides`` (:func:`stride_ranges`, e.g. joined from
    the windows of a long session) when given, else from ``t_s`` and the signals. Running time
    counts step durations only, so the first and last tenths of ``drop_drift_deg`` leave pauses
    out. Means skip NaN; NaN when nothing is known."""
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
    if len(steps) == 0:
        return out
    c = column(steps, "contact_s", float)
    dur = np.diff(c)
    ok = (dur > 0.15) & (dur < max_step_s)
    if ok.any():
        out["cadence_spm"] = 60.0 / float(np.mean(dur[ok]))
    side = column(steps, "side")
    left, right = side == "L", side == "R"
    gct = column(steps, "gct_ms", float)
    drop = column(steps, "pelvic_drop_deg", float)
    mean = _finite_mean
    gl, gr = mean(gct[left]), mean(gct[right])
    out["gct_ms"] = mean(gct)
    out["gct_balance_left_pct"] = 100.0 * gl / (gl + gr) if np.isfinite(gl + gr) else nan
    out["vo_cm"] = mean(column(steps, "vo_cm", float))
    out["pelvic_drop_left_deg"] = mean(drop[left])
    out["pelvic_drop_right_deg"] = mean(drop[right])
    if strides is None and t_s is not None:
        strides = stride_ranges(steps, t_s, rotation_deg, sagittal_deg, max_step_s)
    if strides is not None:
        good = strides["good"]
        for key, name in (("pelvic_rotation_deg", "rotation_deg"),
                          ("pelvic_tilt_range_deg", "tilt_deg")):
            r = strides[name]
            if good.size and np.isfinite(r).any():
                out[key] = mean(r[good])
    # running time at each contact: step durations summed, pauses (> max_step_s) left out
    run_t = np.concatenate([[0.0], np.cumsum(np.where(ok, dur, 0.0))])
    tenth = run_t[-1] / 10.0
    first, last = run_t <= tenth, run_t >= run_t[-1] - tenth
    if tenth > 0 and first.any() and last.any():
        out["drop_drift_deg"] = mean(drop[last]) - mean(drop[first])
    return out


def empty_minutes() -> pa.Table:
    """The per-minute table without rows (``imu.core.schema.MINUTES`` columns, float)."""
    return arrow.empty(pa.schema([(c, pa.float64()) for c in MINUTES.names]))


def minutes_by_running_time(steps: pa.Table | pd.DataFrame) -> pa.Table:
    """Per-minute table (``imu.core.schema.MINUTES``) in minutes counted from the FIRST CONTACT:
    minute k holds the steps whose contact lies in [c0 + 60 (k - 1), c0 + 60 k) s. This is the
    table the running analysis writes (``minutes.parquet``).

    Cadence is 60 / mean step duration from ``step_s`` (steps before a pause have NaN there, so
    pauses do not count); contact time, balance, oscillation and drops are means of the finite
    values of the minute's steps. Minutes without steps are left out.
    """
    if len(steps) == 0:
        return empty_minutes()
    c = column(steps, "contact_s", float)
    c0 = float(c[0])
    minute = ((c - c0) // 60.0).astype(np.int64)
    nm = int(minute[-1]) + 1
    side = column(steps, "side")
    left, right = side == "L", side == "R"

    def mean(x: NDArray[np.float64], sel: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        ok = np.isfinite(x) if sel is None else np.isfinite(x) & sel
        n = np.bincount(minute[ok], minlength=nm)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.bincount(minute[ok], weights=x[ok], minlength=nm) / n

    step_s = (column(steps, "step_s", float) if "step_s" in names(steps)
              else np.full(c.size, np.nan))
    gct = column(steps, "gct_ms", float)
    drop = column(steps, "pelvic_drop_deg", float)
    gl, gr = mean(gct, left), mean(gct, right)
    n_steps = np.bincount(minute, minlength=nm)
    values = (
        np.arange(1, nm + 1),
        c0 + 60.0 * np.arange(nm),
        n_steps,
        60.0 / mean(step_s),
        mean(gct),
        100.0 * gl / (gl + gr),
        mean(column(steps, "vo_cm", float)),
        mean(drop, left),
        mean(drop, right),
    )
    keep = n_steps > 0
    return arrow.table({name: v[keep] for name, v in zip(MINUTES.names, values, strict=True)},
                       MINUTES)


def minutes_by_clock(steps: pd.DataFrame) -> pd.DataFrame:
    """Per-minute table in CLOCK minutes of the recording: minute m (from 0) holds the steps
    whose contact lies in [60 m, 60 (m + 1)) s of the session clock, whatever the first
    contact. The HTML report's fallback when a session has no ``minutes.parquet`` (a
    DataFrame: pandas is imported here, not by the analysis).

    Columns: ``minute``, ``steps`` (count), ``cadence_spm`` = (steps - 1) / (last - first
    contact) x 60 (NaN for a single step; a pause inside the minute lowers it), ``gct_ms``,
    ``vo_cm``, ``pelvic_drop_left_deg``, ``pelvic_drop_right_deg`` (plain means). Empty frame
    without steps.
    """
    import pandas as pd

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

BOUTS = pa.schema([("bout", pa.int64()), ("gait", pa.string()), ("start_s", pa.float64()),
                   ("end_s", pa.float64()), ("n_steps", pa.int64()), ("cadence_spm", pa.float64())])
"""The table of :func:`cadence_per_bout`."""


def group_quantile(
    x: NDArray[np.float64], group: NDArray[np.int64], n_groups: int, q: float
) -> NDArray[np.float64]:
    """Quantile ``q`` of the finite ``x`` of each group (``group`` in 0 .. ``n_groups`` - 1),
    linear between the order statistics as pandas' group quantile computes it (the same bits:
    ``lo + (hi - lo) * frac``); NaN for a group without finite values."""
    ok = np.isfinite(x)
    xs, gs = x[ok], group[ok]
    if xs.size == 0:
        return np.full(n_groups, np.nan)
    xs = xs[np.lexsort((xs, gs))]
    count = np.bincount(gs, minlength=n_groups)
    has = count > 0
    pos = q * (count - 1).astype(np.float64)
    frac = np.fmod(pos, 1.0)
    i = np.where(has, np.cumsum(count) - count + pos.astype(np.int64), 0)
    lo, hi = xs[i], xs[np.where(has & (frac != 0.0), i + 1, i)]
    return np.where(has, np.where(frac == 0.0, lo, lo + (hi - lo) * frac), np.nan)


def cadence_per_bout(steps: pa.Table | pd.DataFrame) -> pa.Table:
    """Per bout of steps (``bout`` column): ``bout``, ``gait``, ``start_s`` / ``end_s`` (first /
    last contact), ``n_steps`` and ``cadence_spm`` = 60 / the mean of the bout's step times
    (``step_s``) inside their interquartile range (robust to gait initiation and termination,
    turns and a missed or extra step); NaN for a bout of fewer than 3 steps (:data:`BOUTS`).

    The mean sums each bout's step times in step order with ``np.add.reduceat`` (the bits of
    pandas' group mean for bout numbers that never decrease, as the analysis numbers them)."""
    bout = column(steps, "bout", np.int64)
    if bout.size == 0:
        return arrow.empty(BOUTS)
    order = np.argsort(bout, kind="stable")  # bouts in order, steps in order within each
    bout = bout[order]
    first = np.flatnonzero(np.r_[True, bout[1:] != bout[:-1]])
    n_steps = np.diff(np.r_[first, bout.size])
    group = np.repeat(np.arange(first.size), n_steps)
    contact = column(steps, "contact_s", float)[order]
    st = column(steps, "step_s", float)[order]
    q1 = group_quantile(st, group, first.size, 0.25)
    q3 = group_quantile(st, group, first.size, 0.75)
    inside = (st >= q1[group]) & (st <= q3[group])
    mid = np.full(first.size, np.nan)
    if inside.any():
        g_in = group[inside]
        at = np.flatnonzero(np.r_[True, g_in[1:] != g_in[:-1]])
        sums = np.add.reduceat(st[inside], at)
        mid[g_in[at]] = sums / np.diff(at, append=g_in.size).astype(np.float64)
    return arrow.table({
        "bout": bout[first],
        "gait": column(steps, "gait")[order][first],
        "start_s": np.minimum.reduceat(contact, first),
        "end_s": np.maximum.reduceat(contact, first),
        "n_steps": n_steps,
        "cadence_spm": np.where(n_steps >= 3, 60.0 / mid, np.nan),
    }, BOUTS)


def walk_summary(steps: pa.Table | pd.DataFrame, bouts: pa.Table) -> dict[str, Any]:
    """``walk_steps`` (walking steps) and ``walk_cadence_spm``: the walking bouts' cadences
    (:func:`cadence_per_bout`) weighted by their number of step intervals (NaN without)."""
    walk_steps = int(np.count_nonzero(column(steps, "gait") == "walk")) if len(steps) else 0
    cad = column(bouts, "cadence_spm", float)
    sel = (column(bouts, "gait") == "walk") & np.isfinite(cad)
    avg = (float(np.average(cad[sel], weights=column(bouts, "n_steps", np.int64)[sel] - 1))
           if sel.any() else float("nan"))
    return {"walk_steps": walk_steps, "walk_cadence_spm": avg}


def starts_summary(starts: pa.Table | pd.DataFrame) -> dict[str, Any]:
    """``run_start_lead_side``: the side of the first step of most starts ('' when there is no
    start with a known side, or a tie); ``run_start_consistency_pct``: the share of the starts
    with a known first side that begin with the lead side (50 in a tie, NaN without)."""
    first = column(starts, "first_side") if len(starts) else np.empty(0, dtype=object)
    n_l, n_r = int(np.count_nonzero(first == "L")), int(np.count_nonzero(first == "R"))
    if n_l + n_r == 0:
        return {"run_start_lead_side": "", "run_start_consistency_pct": float("nan")}
    lead = "L" if n_l > n_r else "R" if n_r > n_l else ""
    return {"run_start_lead_side": lead,
            "run_start_consistency_pct": 100.0 * max(n_l, n_r) / (n_l + n_r)}
