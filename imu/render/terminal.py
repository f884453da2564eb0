"""The readable terminal report printed by ``imu analyze`` (and ``imu record`` on stop)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from imu.analysis import AnalysisResult


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _table(df: pd.DataFrame, columns: dict[str, tuple[str, int]]) -> str:
    """Fixed-width table: columns maps name -> (header, decimals)."""
    present = {c: spec for c, spec in columns.items() if c in df.columns}
    cells = [[spec[0] for spec in present.values()]]
    for _, row in df.iterrows():
        cells.append([_fmt(row[c], digits=spec[1]) for c, spec in present.items()])
    widths = [max(len(r[i]) for r in cells) for i in range(len(present))]
    lines = ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(result: AnalysisResult) -> str:
    s = result.summary.iloc[0]
    head = (
        f"session {s['session_id']}  {s.get('started_at') or ''}  activity: {s['activity']}"
        + (f"  exercise: {s['exercise']}" if s.get("exercise") else "")
        + f"  duration: {_fmt(s['duration_s'], ' s', 0)}"
    )
    lines = [head]
    quality = []
    if s.get("lost_samples"):
        quality.append(f"{s['lost_samples']} lost samples")
    if s.get("saturated_samples"):
        quality.append(f"{s['saturated_samples']} saturated samples")
    if quality:
        lines.append("data: " + ", ".join(quality))
    if s["activity"] == "strength":
        lines.append(f"{s['n_sets']} sets, {s['n_reps']} reps")
        if not result.sets.empty:
            lines += ["", _table(result.sets, {
                "set": ("set", 0), "exercise": ("exercise", 0), "reps": ("reps", 0),
                "start_s": ("start s", 1), "end_s": ("end s", 1),
            })]
        if not result.reps.empty:
            reps = result.reps.copy()
            if "form_break" in reps:
                reps["form"] = np.where(reps["form_break"].astype(bool), "BREAK", "ok")
            lines += ["", _table(reps, {
                "set": ("set", 0), "rep": ("rep", 0), "lockout_s": ("lockout s", 1),
                "concentric_s": ("up s", 2), "top_hold_s": ("hold s", 2),
                "eccentric_s": ("down s", 2), "pelvis_angle_deg": ("pelvis deg", 1),
                "hip_travel_cm": ("travel cm", 1), "tilt_deg": ("tilt deg", 1),
                "tilt_class": ("tilt", 0), "form": ("form", 0),
            })]
            if "tilt_class" in reps and (reps["tilt_class"] != "").any():
                share = (reps["tilt_class"] == "posterior").mean() * 100
                lines.append(f"\nposterior tilt at lockout: {share:.0f}% of reps")
    else:
        if s.get("note"):
            lines.append(str(s["note"]))
        items = [
            ("steps", s.get("n_steps"), "", 0), ("cadence", s.get("cadence_spm"), " spm", 1),
            ("GCT", s.get("gct_ms"), " ms", 0),
            ("GCT balance left", s.get("gct_balance_left_pct"), " %", 1),
            ("vertical oscillation", s.get("vo_cm"), " cm", 1),
            ("pelvic drop left stance", s.get("pelvic_drop_left_deg"), " deg", 1),
            ("pelvic drop right stance", s.get("pelvic_drop_right_deg"), " deg", 1),
            ("pelvic rotation range", s.get("pelvic_rotation_deg"), " deg", 1),
            ("drop drift (last - first tenth)", s.get("drop_drift_deg"), " deg", 1),
        ]
        width = max(len(k) for k, *_ in items)
        lines += [""] + [f"{k.ljust(width)}  {_fmt(v, u, d)}" for k, v, u, d in items]
    return "\n".join(lines)
