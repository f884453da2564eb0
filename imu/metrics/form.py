"""The form-break rule on arrays (docs/trends.md): the arithmetic of
:func:`imu.metrics.strength.form_breaks`, without pandas, for the analysis process
(:class:`imu.pipeline.form.FormBreakDetector`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from imu.core import arrow
from imu.core.errors import InputError
from imu.core.exercises import BRIDGE_EXERCISES
from imu.metrics.strength import FORM_BREAK_COLUMNS, TILT_CLASS_THRESHOLD_DEG


def _ranks_in_set(set_no: np.ndarray, rep: np.ndarray) -> np.ndarray:
    """Each rep's place in its set by rep number, 1 first (ties in table order)."""
    order = np.lexsort((rep, set_no))
    s = set_no[order]
    first = np.r_[True, s[1:] != s[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(s)), 0))
    out = np.empty(len(s), dtype=np.int64)
    out[order] = np.arange(len(s)) - start + 1
    return out


def form_break_arrays(
    reps: Any,
    baseline_reps: int = 3,
    tilt_drop_deg: float = 3.0,
    tempo_change_frac: float = 0.3,
    anterior_is_break: bool = True,
) -> dict[str, np.ndarray]:
    """The form-break rule per rep of ``reps`` (an Arrow table; :func:`imu.core.arrow.columns`),
    as arrays by the names of :func:`imu.metrics.strength.form_breaks`' columns:
    ``form_break`` (bool), ``form_reason`` (str, '' when none), ``tilt_change_deg`` and
    ``tempo_change_frac``. InputError for ``baseline_reps < 1`` or missing columns."""
    if baseline_reps < 1:
        raise InputError(f"baseline_reps must be >= 1, got {baseline_reps}")
    names = reps.column_names if hasattr(reps, "column_names") else list(reps.columns)
    missing = [c for c in FORM_BREAK_COLUMNS if c not in names]
    if missing:
        raise InputError(f"reps table lacks column(s): {', '.join(missing)}")
    n = len(reps)
    if not n:
        return {"form_break": np.zeros(0, dtype=bool), "form_reason": np.zeros(0, dtype=object),
                "tilt_change_deg": np.zeros(0), "tempo_change_frac": np.zeros(0)}
    c = arrow.columns(reps)
    set_no, rep = c["set"], c["rep"]
    tilt = np.array([v if isinstance(v, (int, float)) else np.nan for v in c["tilt_deg"].tolist()],
                    dtype=float)
    dur = np.asarray(c["end_s"] - c["start_s"], dtype=float)
    in_base = _ranks_in_set(set_no, rep) <= baseline_reps
    keys, which, n_in = np.unique(set_no, return_inverse=True, return_counts=True)
    b_tilt, b_dur = np.full(len(keys), np.nan), np.full(len(keys), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a baseline of NaN tilts: NaN
        for k in range(len(keys)):
            base = in_base & (which == k)
            b_tilt[k], b_dur[k] = np.nanmedian(tilt[base]), np.nanmedian(dur[base])
    b_tilt, b_dur, n_in_set = b_tilt[which], b_dur[which], n_in[which]
    tilt_change = tilt - b_tilt
    with np.errstate(divide="ignore", invalid="ignore"):
        tempo_change = np.where(b_dur > 0, dur / b_dur - 1.0, np.nan)
    eligible = ~in_base & (n_in_set > baseline_reps)
    anterior = bool(anterior_is_break) & (tilt <= -TILT_CLASS_THRESHOLD_DEG)  # NaN: False
    posterior = tilt >= TILT_CLASS_THRESHOLD_DEG
    tilt_bad = eligible & (tilt_change < -tilt_drop_deg) & ~posterior & ~anterior
    tempo_bad = eligible & (np.abs(tempo_change) > tempo_change_frac)
    bridge = (np.isin(c["exercise"], list(BRIDGE_EXERCISES)) if "exercise" in c
              else np.zeros(n, dtype=bool))
    reasons = np.empty(n, dtype=object)
    for i in range(n):
        why = []
        if anterior[i]:
            why.append("anterior tilt at lockout" + (" (back bend)" if bridge[i] else ""))
        if tilt_bad[i]:
            why.append(f"tilt {abs(tilt_change[i]):.0f} deg below the set's first reps")
        if tempo_bad[i]:
            pace = "slower" if tempo_change[i] > 0 else "faster"
            why.append(f"{abs(100 * tempo_change[i]):.0f}% {pace} than the set's first reps")
        reasons[i] = "; ".join(why)
    return {"form_break": anterior | tilt_bad | tempo_bad, "form_reason": reasons,
            "tilt_change_deg": tilt_change, "tempo_change_frac": tempo_change}
