"""Per-session rep statistics, stored in each strength session's summary so that trends read one
small file per session: bridge reps, posterior ones, tempo variability, form breaks."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from imu.core import arrow
from imu.core.exercises import BRIDGE_EXERCISES

if TYPE_CHECKING:
    import pandas as pd

TILT_CLASSES: Final = ("posterior", "neutral", "anterior")


def _flags(exercise: np.ndarray, tilt_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per rep: a bridge rep with a tilt class, and one of those in posterior tilt."""
    bridge = np.isin(exercise, list(BRIDGE_EXERCISES)) & np.isin(tilt_class, TILT_CLASSES)
    return bridge, bridge & (tilt_class == "posterior")


def _per_session_rep_stats(reps: pd.DataFrame) -> pd.DataFrame:
    """Per session: bridge reps, posterior ones, CV of rep duration, reps with form breaks."""
    import pandas as pd

    if reps.empty:
        return pd.DataFrame(
            columns=list(REP_STAT_COLUMNS), index=pd.Index([], name="session_dir"), dtype=float
        )
    bridge, posterior = _flags(reps["exercise"].to_numpy(dtype=object),
                               reps["tilt_class"].to_numpy(dtype=object))
    r = pd.DataFrame(
        {
            "session_dir": reps["session_dir"].to_numpy(),
            "dur": (reps["end_s"] - reps["start_s"]).to_numpy(float),
            "bridge": bridge,
            "posterior": posterior,
            "form_break": reps.get("form_break", pd.Series(pd.NA, index=reps.index))
            .astype("boolean")
            .to_numpy(dtype=float, na_value=np.nan),
        }
    )
    g = r.groupby("session_dir")
    mean = g["dur"].mean()
    std = g["dur"].std(ddof=1)
    n = g["dur"].count()
    out = pd.DataFrame(
        {
            "bridge_reps": g["bridge"].sum().astype(float),
            "posterior_reps": g["posterior"].sum().astype(float),
            "tempo_cv": (std / mean).where(n >= 3),
            "form_break_reps": g["form_break"].sum(min_count=1),
            "reps_seen": g["form_break"].count().astype(float),
        }
    )
    return out


REP_STAT_COLUMNS: Final = (
    "bridge_reps",
    "posterior_reps",
    "tempo_cv",
    "form_break_reps",
    "reps_seen",
)


def _mean_std(x: np.ndarray, had_nan: bool = False) -> tuple[float, float]:
    """Mean and sample standard deviation of ``x`` (no NaN) with the arithmetic of pandas'
    group reductions, so that one session's numbers are the bits :func:`session_rep_stats`
    gives for it: the mean is ``np.add.reduceat``'s sum over the count, or, when NaN had to be
    skipped (``had_nan``), a compensated sum; the variance Welford's. A loop: a session has
    few reps."""
    total = comp = mean = m2 = 0.0
    for i, v in enumerate(x.tolist(), start=1):
        y = v - comp
        t = total + y
        comp = t - total - y
        total = t
        old = mean
        mean += (v - old) / i
        m2 += (v - mean) * (v - old)
    n = len(x)
    if not had_nan:
        total = float(np.add.reduceat(x, [0])[0])
    return total / n, math.sqrt(m2 / (n - 1)) if n > 1 else float("nan")


def rep_stats(reps: Any) -> dict[str, float]:
    """One session's rep statistics (``REP_STAT_COLUMNS``), as stored in its summary, from its
    reps (an Arrow table; :func:`imu.core.arrow.columns`)."""
    if not len(reps):
        return {"bridge_reps": 0.0, "posterior_reps": 0.0, "tempo_cv": np.nan,
                "form_break_reps": np.nan, "reps_seen": 0.0}
    c = arrow.columns(reps)
    bridge, posterior = _flags(c["exercise"], c["tilt_class"])
    dur = np.asarray(c["end_s"] - c["start_s"], dtype=float)
    nan = np.isnan(dur)
    dur = dur[~nan]
    fb = c.get("form_break")
    seen = np.zeros(0) if fb is None else np.array([v for v in fb.tolist() if v is not None],
                                                  dtype=float)
    mean, std = _mean_std(dur, bool(nan.any())) if len(dur) else (np.nan, np.nan)
    return {
        "bridge_reps": float(bridge.sum()),
        "posterior_reps": float(posterior.sum()),
        "tempo_cv": std / mean if len(dur) >= 3 else np.nan,
        "form_break_reps": float(seen.sum()) if len(seen) else np.nan,
        "reps_seen": float(len(seen)),
    }


def session_rep_stats(summaries: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Per-session rep statistics (``REP_STAT_COLUMNS``, indexed by ``session_dir``); reps
    without an exercise of their own take their session's (summary) exercise."""
    import pandas as pd

    if not reps.empty:
        own = reps["exercise"] if "exercise" in reps.columns else pd.Series(pd.NA, index=reps.index)
        by_dir = summaries.drop_duplicates("session_dir").set_index("session_dir")["exercise"]
        reps = reps.assign(exercise=own.fillna(reps["session_dir"].map(by_dir)))
    return _per_session_rep_stats(reps)
