"""Per-session rep statistics, stored in each strength session's summary so that trends read one
small file per session: bridge reps, posterior ones, tempo variability, form breaks."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from imu.core.exercises import BRIDGE_EXERCISES


def _per_session_rep_stats(reps: pd.DataFrame) -> pd.DataFrame:
    """Per session: bridge reps, posterior ones, CV of rep duration, reps with form breaks."""
    if reps.empty:
        return pd.DataFrame(
            columns=list(REP_STAT_COLUMNS), index=pd.Index([], name="session_dir"), dtype=float
        )
    r = pd.DataFrame(
        {
            "session_dir": reps["session_dir"].to_numpy(),
            "dur": (reps["end_s"] - reps["start_s"]).to_numpy(float),
            "bridge": reps["exercise"].isin(BRIDGE_EXERCISES).to_numpy()
            & reps["tilt_class"].isin(["posterior", "neutral", "anterior"]).to_numpy(),
            "posterior": (reps["tilt_class"] == "posterior").to_numpy(),
            "form_break": reps.get("form_break", pd.Series(pd.NA, index=reps.index))
            .astype("boolean")
            .to_numpy(dtype=float, na_value=np.nan),
        }
    )
    r["posterior"] &= r["bridge"]
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


def rep_stats(reps: pd.DataFrame) -> dict[str, float]:
    """One session's rep statistics (``REP_STAT_COLUMNS``), as stored in its summary."""
    stats = _per_session_rep_stats(reps.assign(session_dir="session"))
    if stats.empty:
        return {"bridge_reps": 0.0, "posterior_reps": 0.0, "tempo_cv": np.nan,
                "form_break_reps": np.nan, "reps_seen": 0.0}
    return {c: float(stats[c].iloc[0]) for c in REP_STAT_COLUMNS}


def session_rep_stats(summaries: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Per-session rep statistics (``REP_STAT_COLUMNS``, indexed by ``session_dir``); reps
    without an exercise of their own take their session's (summary) exercise."""
    if not reps.empty:
        own = reps["exercise"] if "exercise" in reps.columns else pd.Series(pd.NA, index=reps.index)
        by_dir = summaries.drop_duplicates("session_dir").set_index("session_dir")["exercise"]
        reps = reps.assign(exercise=own.fillna(reps["session_dir"].map(by_dir)))
    return _per_session_rep_stats(reps)
