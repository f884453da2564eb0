"""Strength metrics (contract section 3): the expected lockout angle, lockout tilt and its class,
the posterior-tilt share of a session's bridge reps, and the form-break rule (docs/trends.md).

The pipeline computes these with the functions here and the simulator's truth uses the same
ones, so "tilt" or "form break" means one thing everywhere.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from imu.core.errors import InputError
from imu.core.exercises import BRIDGE_EXERCISES, REGISTRY

TILT_CLASS_THRESHOLD_DEG: Final = 3.0
"""|tilt| >= this is posterior (+) or anterior (-); between is neutral."""


def expected_lockout_deg(
    exercise: str, rise_m: ArrayLike, trunk_length_m: float
) -> NDArray[np.float64]:
    """Expected sagittal pelvis angle at lockout (deg): the reference the tilt is measured from.

    The registry's ``lockout_deg`` (0 standing or kneeling, +90 lying on the back or shoulders
    on a bench, -90 trunk horizontal face down), plus for body-line exercises (glute bridges:
    shoulders on the floor) the body-line inclination ``beta = asin(rise / trunk length)`` from
    the hip rise ``rise_m`` between the rep's start and its lockout. Same shape as ``rise_m``.
    """
    e = REGISTRY[exercise]
    rise = np.asarray(rise_m, dtype=float)
    if e.body_line:
        beta = np.degrees(np.arcsin(np.clip(rise / trunk_length_m, -1.0, 1.0)))
        return e.lockout_deg + beta
    return np.full(np.shape(rise), e.lockout_deg)


def tilt_deg(
    pelvis_angle_deg: ArrayLike, exercise: str, rise_m: ArrayLike, trunk_length_m: float
) -> NDArray[np.float64]:
    """Lockout tilt (deg): pelvis angle at lockout minus :func:`expected_lockout_deg`;
    positive = posterior (contract section 1)."""
    expected = expected_lockout_deg(exercise, rise_m, trunk_length_m)
    return np.asarray(pelvis_angle_deg, dtype=float) - expected


def tilt_class(tilt_deg: ArrayLike) -> NDArray[np.str_]:
    """'posterior' (tilt >= +3 deg), 'anterior' (<= -3 deg) or 'neutral'; NaN stays ''."""
    t = np.asarray(tilt_deg, dtype=float)
    out = np.full(t.shape, "neutral", dtype=object)
    out[t >= TILT_CLASS_THRESHOLD_DEG] = "posterior"
    out[t <= -TILT_CLASS_THRESHOLD_DEG] = "anterior"
    out[~np.isfinite(t)] = ""
    return out


def posterior_tilt_pct(reps: pd.DataFrame) -> float:
    """Share (%) of a session's bridge-family reps whose lockout tilt class is 'posterior'.

    The denominator is EVERY bridge rep, also one without a tilt class (NaN tilt); NaN without
    bridge reps. This is the strength summary's ``posterior_tilt_pct``. The per-session rep
    statistics of :mod:`imu.metrics.sessions` (``posterior_reps / bridge_reps``, what trends
    read) count only bridge reps WITH a tilt class; the two agree whenever every tilt is known.
    """
    if not len(reps):
        return float("nan")
    bridges = reps[reps["exercise"].isin(list(BRIDGE_EXERCISES))]
    if not len(bridges):
        return float("nan")
    return float(100.0 * (bridges["tilt_class"] == "posterior").mean())


# ------------------------------------------------------------------------------ form breaks ---

FORM_BREAK_COLUMNS: Final = ("set", "rep", "start_s", "end_s", "tilt_deg")
"""The reps columns the form-break rule reads (``exercise``, when present, names the fault)."""


def _pct(v: float) -> str:
    return f"{abs(100 * v):.0f}%"


def form_breaks(
    reps: pd.DataFrame,
    baseline_reps: int = 3,
    tilt_drop_deg: float = 3.0,
    tempo_change_frac: float = 0.3,
    anterior_is_break: bool = True,
) -> pd.DataFrame:
    """The form-break rule, per rep (on ``reps.index``; docs/trends.md).

    A rep is a form break, for the first reason that applies (all are listed in the reason):

    1. ``anterior_is_break`` and its lockout tilt class is ``anterior`` (tilt <= -3 deg, the
       class of :func:`tilt_class`): the pelvis tipped forward at the top (at a bridge top the
       lumbar "back bend"). This holds for every rep, also a set's first ones, so an anterior
       rep is never "ok" and the form column never contradicts the tilt column.
    2. Against the set's baseline: per set, reps in order of their rep number, the baseline is
       the median over the first ``baseline_reps`` reps of the lockout ``tilt_deg`` and of the
       rep duration ``end_s - start_s``. Those reps are never flagged by a baseline criterion,
       and a set with no more reps than that has none. A later rep breaks when its lockout tilt
       has fallen by more than ``tilt_drop_deg`` below the baseline AND it no longer reaches
       posterior tilt (a rep still in posterior tilt kept its form: a +5 deg rep is never a
       tilt break), or when its duration differs from the baseline by more than
       ``tempo_change_frac`` of it (slower: a grind; faster: rushed). NaN tilt never flags.

    Columns: ``form_break`` (bool), ``form_reason`` (str, '' when none: what broke, in words a
    lifter can act on), ``tilt_change_deg`` and ``tempo_change_frac`` (against the baseline).
    InputError for ``baseline_reps < 1`` or missing columns.
    """
    if baseline_reps < 1:
        raise InputError(f"baseline_reps must be >= 1, got {baseline_reps}")
    missing = [c for c in FORM_BREAK_COLUMNS if c not in reps.columns]
    if missing:
        raise InputError(f"reps table lacks column(s): {', '.join(missing)}")
    idx = reps.index
    if reps.empty:
        return pd.DataFrame(
            {
                "form_break": pd.Series(False, index=idx, dtype=bool),
                "form_reason": pd.Series("", index=idx, dtype=object),
                "tilt_change_deg": pd.Series(np.nan, index=idx),
                "tempo_change_frac": pd.Series(np.nan, index=idx),
            },
            index=idx,
        )

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
    df["in_base"] = order <= baseline_reps
    base = df[df["in_base"]].groupby("set")[["tilt", "dur"]].median()
    n_in_set = df.groupby("set")["rep"].transform("size").to_numpy()
    b_tilt = df["set"].map(base["tilt"]).to_numpy(float)
    b_dur = df["set"].map(base["dur"]).to_numpy(float)

    tilt = df["tilt"].to_numpy()
    tilt_change = tilt - b_tilt
    with np.errstate(divide="ignore", invalid="ignore"):
        tempo_change = np.where(b_dur > 0, df["dur"].to_numpy() / b_dur - 1.0, np.nan)
    eligible = (~df["in_base"].to_numpy()) & (n_in_set > baseline_reps)
    anterior = bool(anterior_is_break) & (tilt <= -TILT_CLASS_THRESHOLD_DEG)  # NaN: False
    posterior = tilt >= TILT_CLASS_THRESHOLD_DEG
    tilt_bad = eligible & (tilt_change < -tilt_drop_deg) & ~posterior & ~anterior
    tempo_bad = eligible & (np.abs(tempo_change) > tempo_change_frac)

    if "exercise" in reps.columns:
        bridge = reps["exercise"].isin(list(BRIDGE_EXERCISES)).to_numpy()
    else:
        bridge = np.zeros(len(reps), dtype=bool)
    reasons = []
    for i in range(len(df)):
        why = []
        if anterior[i]:
            why.append("anterior tilt at lockout" + (" (back bend)" if bridge[i] else ""))
        if tilt_bad[i]:
            why.append(f"tilt {abs(tilt_change[i]):.0f} deg below the set's first reps")
        if tempo_bad[i]:
            pace = "slower" if tempo_change[i] > 0 else "faster"
            why.append(f"{_pct(tempo_change[i])} {pace} than the set's first reps")
        reasons.append("; ".join(why))
    return pd.DataFrame(
        {
            "form_break": anterior | tilt_bad | tempo_bad,
            "form_reason": pd.Series(reasons, index=idx, dtype=object),
            "tilt_change_deg": tilt_change,
            "tempo_change_frac": tempo_change,
        },
        index=idx,
    )


def add_form_break(reps: pd.DataFrame, **params: float | int | bool) -> pd.DataFrame:
    """A copy of ``reps`` with ``form_break`` (bool) and ``form_reason`` (str) columns
    (:func:`form_breaks` with ``params``)."""
    fb = form_breaks(reps, **params)  # type: ignore[arg-type]
    out = reps.copy()
    out["form_break"] = fb["form_break"].astype(bool)
    out["form_reason"] = fb["form_reason"].astype(str)
    return out
