"""Strength metrics (contract section 3): the expected lockout angle, lockout tilt and its class,
the posterior-tilt share of a session's bridge reps, and the form-break rule (docs/trends.md).

The pipeline computes these with the functions here and the simulator's truth uses the same
ones, so "tilt" or "form break" means one thing everywhere.
"""

from __future__ import annotations

import warnings
from typing import Any, Final

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike, NDArray

from imu.core import arrow
from imu.core.arrow import column, names
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


def _n_rows(table: Any) -> int:
    cols = names(table)
    return len(column(table, cols[0])) if cols else 0


def posterior_tilt_pct(reps: Any) -> float:
    """Share (%) of a session's bridge-family reps whose lockout tilt class is 'posterior'.

    The denominator is EVERY bridge rep, also one without a tilt class (NaN tilt); NaN without
    bridge reps. This is the strength summary's ``posterior_tilt_pct``. The per-session rep
    statistics of :mod:`imu.metrics.sessions` (``posterior_reps / bridge_reps``, what trends
    read) count only bridge reps WITH a tilt class; the two agree whenever every tilt is known.
    ``reps``: an Arrow table, a DataFrame or arrays by name (``exercise``, ``tilt_class``).
    """
    if not _n_rows(reps):
        return float("nan")
    bridge = np.isin(column(reps, "exercise"), list(BRIDGE_EXERCISES))
    if not bridge.any():
        return float("nan")
    return float(100.0 * np.mean(column(reps, "tilt_class")[bridge] == "posterior"))


# ------------------------------------------------------------------------------ form breaks ---

FORM_BREAK_COLUMNS: Final = ("set", "rep", "start_s", "end_s", "tilt_deg")
"""The reps columns the form-break rule reads (``exercise``, when present, names the fault)."""


def _pct(v: float) -> str:
    return f"{abs(100 * v):.0f}%"


def form_breaks(
    reps: Any,
    baseline_reps: int = 3,
    tilt_drop_deg: float = 3.0,
    tempo_change_frac: float = 0.3,
    anterior_is_break: bool = True,
) -> dict[str, NDArray[Any]]:
    """The form-break rule, per rep (row by row of ``reps``; docs/trends.md).

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

    ``reps``: an Arrow table, a DataFrame or arrays by name. Returns arrays by name, one entry
    per rep: ``form_break`` (bool), ``form_reason`` (object array of str, '' when none: what
    broke, in words a lifter can act on), ``tilt_change_deg`` and ``tempo_change_frac``
    (against the baseline). InputError for ``baseline_reps < 1`` or missing columns.
    """
    if baseline_reps < 1:
        raise InputError(f"baseline_reps must be >= 1, got {baseline_reps}")
    cols = names(reps)
    missing = [c for c in FORM_BREAK_COLUMNS if c not in cols]
    if missing:
        raise InputError(f"reps table lacks column(s): {', '.join(missing)}")
    set_no = column(reps, "set")
    n = len(set_no)
    if not n:
        return {"form_break": np.zeros(0, bool), "form_reason": np.zeros(0, object),
                "tilt_change_deg": np.zeros(0), "tempo_change_frac": np.zeros(0)}
    rep_no = column(reps, "rep")
    tilt = column(reps, "tilt_deg").astype(float)
    dur = (column(reps, "end_s") - column(reps, "start_s")).astype(float)
    # per set, reps in order of their rep number (ties: in table order): the position of
    # each rep within its set
    sets, inverse = np.unique(set_no, return_inverse=True)
    order = np.lexsort((rep_no, inverse))
    size = np.bincount(inverse, minlength=len(sets))
    first = np.r_[0, np.cumsum(size)[:-1]]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(first, size) + 1
    in_base = rank <= baseline_reps
    b_tilt = np.full(len(sets), np.nan)
    b_dur = np.full(len(sets), np.nan)
    with warnings.catch_warnings():  # a set whose baseline tilts are all NaN: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        for k in range(len(sets)):
            m = in_base & (inverse == k)
            b_tilt[k], b_dur[k] = np.nanmedian(tilt[m]), np.nanmedian(dur[m])
    b_tilt, b_dur = b_tilt[inverse], b_dur[inverse]

    tilt_change = tilt - b_tilt
    with np.errstate(divide="ignore", invalid="ignore"):
        tempo_change = np.where(b_dur > 0, dur / b_dur - 1.0, np.nan)
    eligible = ~in_base & (size[inverse] > baseline_reps)
    anterior = bool(anterior_is_break) & (tilt <= -TILT_CLASS_THRESHOLD_DEG)  # NaN: False
    posterior = tilt >= TILT_CLASS_THRESHOLD_DEG
    tilt_bad = eligible & (tilt_change < -tilt_drop_deg) & ~posterior & ~anterior
    tempo_bad = eligible & (np.abs(tempo_change) > tempo_change_frac)

    if "exercise" in cols:
        bridge = np.isin(column(reps, "exercise"), list(BRIDGE_EXERCISES))
    else:
        bridge = np.zeros(n, dtype=bool)
    reasons = np.empty(n, dtype=object)
    for i in range(n):
        why = []
        if anterior[i]:
            why.append("anterior tilt at lockout" + (" (back bend)" if bridge[i] else ""))
        if tilt_bad[i]:
            why.append(f"tilt {abs(tilt_change[i]):.0f} deg below the set's first reps")
        if tempo_bad[i]:
            pace = "slower" if tempo_change[i] > 0 else "faster"
            why.append(f"{_pct(tempo_change[i])} {pace} than the set's first reps")
        reasons[i] = "; ".join(why)
    return {
        "form_break": np.asarray(anterior | tilt_bad | tempo_bad, dtype=bool),
        "form_reason": reasons,
        "tilt_change_deg": tilt_change,
        "tempo_change_frac": tempo_change,
    }


def add_form_break(reps: Any, **params: float | int | bool) -> Any:
    """A copy of ``reps`` (an Arrow table or a DataFrame) with ``form_break`` (bool) and
    ``form_reason`` (str) columns (:func:`form_breaks` with ``params``)."""
    fb = form_breaks(reps, **params)  # type: ignore[arg-type]
    if isinstance(reps, pa.Table):
        return reps.append_column("form_break", arrow.array(fb["form_break"], pa.bool_())
                                  ).append_column("form_reason",
                                                  arrow.array(fb["form_reason"], pa.string()))
    out = reps.copy()
    out["form_break"] = fb["form_break"]
    out["form_reason"] = fb["form_reason"].astype(str)
    return out
