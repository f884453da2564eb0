"""Analysis orchestrator: raw session -> per-session tables (contract section 3).

Stages, each swappable: validation (:mod:`imu.io.rawfile`) -> activity detection
(:mod:`imu.pipeline.activity`) -> strength (:mod:`imu.pipeline.strength`) or running
(:mod:`imu.pipeline.running`) analysis, which share calibration, orientation and the pelvis frame
-> form-break flags (:mod:`imu.pipeline.form`) -> :class:`AnalysisResult`, which prints a table and
writes Parquet files with provenance.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from imu import __version__
from imu.core.errors import InputError
from imu.core.exercises import EXERCISES
from imu.core.vocabulary import ACTIVITIES, PLACEMENTS
from imu.io.rawfile import RawSession, from_dataframe, read_raw, umask_mode, write_parquet_atomic
from imu.metrics.sessions import rep_stats

REPS_COLUMNS: Final = (
    "set", "rep", "start_s", "end_s", "lockout_s", "concentric_s", "top_hold_s", "eccentric_s",
    "pelvis_angle_deg", "hip_travel_cm", "tilt_deg", "tilt_class",
)
SETS_COLUMNS: Final = ("set", "exercise", "start_s", "end_s", "reps")
STEPS_COLUMNS: Final = (
    "step", "side", "contact_s", "toe_off_s", "gct_ms", "vo_cm", "pelvic_drop_deg",
)
SUMMARY_COLUMNS: Final = (
    "session_id", "started_at", "activity", "exercise", "duration_s", "n_sets", "n_reps",
)
RUN_SUMMARY_COLUMNS: Final = (
    "cadence_spm", "gct_ms", "gct_balance_left_pct", "vo_cm", "pelvic_drop_left_deg",
    "pelvic_drop_right_deg", "pelvic_rotation_deg", "drop_drift_deg",
)
SESSION_DIR_PREFIX: Final = "session="
"""Hive-style partition folder: DIR/session=<session_id>/ (one dataset for DuckDB, Spark, Dask)."""


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})


@dataclass
class AnalysisResult:
    """Everything one session yields: the contract's tables plus extras, and their provenance."""

    summary: pd.DataFrame
    sets: pd.DataFrame
    reps: pd.DataFrame
    steps: pd.DataFrame
    minutes: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per-minute metrics of a run (empty for strength)."""
    timeseries: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Pelvis angles and height at 25 Hz, for plots."""
    session: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def session_id(self) -> str:
        return str(self.summary["session_id"].iloc[0])

    @property
    def activity(self) -> str:
        return str(self.summary["activity"].iloc[0])

    def provenance(self) -> dict[str, Any]:
        return {
            "package_version": __version__,
            "parameters": self.parameters,
            "session": self.session,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The files this session writes, by stem; strength and run tables as they apply."""
        out = {"summary": self.summary}
        if self.activity == "strength":
            out |= {"sets": self.sets, "reps": self.reps}
        else:
            out |= {"steps": self.steps, "minutes": self.minutes}
        if not self.timeseries.empty:
            out["timeseries"] = self.timeseries
        return out

    def write(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/session=<id>/*.parquet``; the folder appears whole or not at all."""
        root = Path(out_dir)
        if root.exists() and not root.is_dir():
            raise InputError(f"{root}: --out exists and is not a directory")
        root.mkdir(parents=True, exist_ok=True)
        final = root / f"{SESSION_DIR_PREFIX}{self.session_id}"
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
        os.chmod(staging, umask_mode(0o777))
        meta = json.dumps(self.provenance(), sort_keys=True, default=_json_default)
        try:
            for stem, df in self.tables().items():
                # Only our provenance in the footer (no pandas block): small footers keep
                # reading thousands of sessions fast.
                table = pa.Table.from_pandas(df, preserve_index=False)
                table = table.replace_schema_metadata({b"imu": meta.encode()})
                write_parquet_atomic(table, staging / f"{stem}.parquet")
            if final.exists():  # re-analysis replaces the old folder
                old = final.with_name(f".{final.name}.old-{os.getpid()}")
                os.replace(final, old)
                os.replace(staging, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final

    def to_text(self) -> str:
        """A readable report for the terminal."""
        from imu.render.terminal import render

        return render(self)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def load(source: str | Path | pd.DataFrame | RawSession) -> RawSession:
    """Validated raw session from a path, a DataFrame (metadata in ``.attrs['imu']``) or itself."""
    if isinstance(source, RawSession):
        return source
    if isinstance(source, pd.DataFrame):
        return from_dataframe(source, dict(source.attrs.get("imu", {})))
    if isinstance(source, (str, os.PathLike)):
        return read_raw(source)
    raise InputError(f"cannot analyse a {type(source).__name__}; give a path or a DataFrame")


def _check_choice(name: str, value: str | None, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise InputError(f"unknown {name} {value!r} (expected one of {', '.join(allowed)})")


def _session_id(raw: RawSession) -> str:
    if raw.meta.get("session_id"):
        return str(raw.meta["session_id"])
    digest = hashlib.sha1(raw.t_s.tobytes() + raw.acc_g.tobytes()).hexdigest()
    return digest[:12]


def analyze(
    source: str | Path | pd.DataFrame | RawSession,
    activity: str = "auto",
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
) -> AnalysisResult:
    """Analyse one raw session. Options override the file's metadata (contract section 2)."""
    _check_choice("activity", activity, ("auto", *ACTIVITIES))
    _check_choice("exercise", exercise, EXERCISES)
    _check_choice("placement", placement, PLACEMENTS)
    if trunk_length_m is not None and not (math.isfinite(trunk_length_m) and trunk_length_m > 0):
        raise InputError(f"trunk length must be a positive number of metres, got {trunk_length_m}")
    offset = None
    if sensor_offset_m is not None:
        offset = np.asarray(sensor_offset_m, dtype=float)
        if offset.shape != (3,) or not np.isfinite(offset).all():
            raise InputError("sensor offset must be three finite numbers X,Y,Z in metres")
    raw = load(source)
    meta = dict(raw.meta)
    placement = placement or meta.get("placement") or "left_hip"
    exercise = exercise or meta.get("exercise")
    trunk = float(trunk_length_m or meta.get("trunk_length_m") or 0.50)
    if activity == "auto":
        activity = meta.get("activity")
        if activity is None:
            from imu.pipeline.activity import detect_activity

            activity = detect_activity(raw)
    rate = raw.sample_rate_hz
    session_id = _session_id(raw)
    meta.setdefault("session_id", session_id)
    parameters: dict[str, Any] = {
        "activity": activity,
        "exercise": exercise,
        "placement": placement,
        "trunk_length_m": trunk,
        "sensor_offset_m": None if offset is None else offset.tolist(),
        "sample_rate_hz": rate,
    }

    sets, reps, steps = _empty(SETS_COLUMNS), _empty(REPS_COLUMNS), _empty(STEPS_COLUMNS)
    minutes, timeseries = pd.DataFrame(), pd.DataFrame()
    extra: dict[str, Any] = {}
    if activity == "strength":
        from imu.pipeline.form import FormBreakDetector
        from imu.pipeline.strength import StrengthAnalysis

        algo = StrengthAnalysis(
            exercise=exercise, trunk_length_m=trunk, sensor_offset_m=offset, placement=placement
        ).analyze(raw, sampling_rate_hz=rate)
        reps, sets, timeseries = algo.reps_, algo.sets_, algo.timeseries_
        extra = dict(algo.summary_)
        form = FormBreakDetector()
        if not reps.empty:
            form.detect(reps)
            reps = reps.assign(form_break=form.form_break_.to_numpy(dtype=bool))
        else:
            reps = reps.assign(form_break=pd.Series(dtype=bool))
        parameters["strength"] = _params(algo)
        parameters["form_break"] = _params(form)
        extra |= rep_stats(reps)  # lets `imu trends` read one file per session
        if exercise is None and not sets.empty:
            names = sets["exercise"].dropna().unique()
            exercise = str(names[0]) if len(names) == 1 else "mixed"
    else:
        from imu.pipeline.running import RunAnalysis

        algo = RunAnalysis(placement=placement, sensor_offset_m=offset).analyze(
            raw, sampling_rate_hz=rate
        )
        steps, minutes, timeseries = algo.steps_, algo.minutes_, algo.timeseries_
        extra = dict(algo.summary_)
        parameters["run"] = _params(algo)
        exercise = None

    summary: dict[str, Any] = {
        "session_id": session_id,
        "started_at": meta.get("started_at"),
        "activity": activity,
        "exercise": exercise,
        "duration_s": float(raw.t_s[-1] - raw.t_s[0]),
        "n_sets": int(len(sets)),
        "n_reps": int(len(reps)),
    }
    if activity == "run":
        summary |= {c: extra.pop(c, np.nan) for c in RUN_SUMMARY_COLUMNS}
    summary |= {
        "sample_rate_hz": rate,
        "n_samples": raw.n_samples,
        "saturated_samples": int(raw.saturated_mask().sum()),
        "lost_samples": raw.lost_samples(),
        "placement": placement,
        "has_gyro": raw.gyr_dps is not None,
    }
    summary |= {k: v for k, v in extra.items() if k not in summary}
    return AnalysisResult(
        summary=pd.DataFrame([summary]),
        sets=sets,
        reps=reps,
        steps=steps,
        minutes=minutes,
        timeseries=timeseries,
        session=meta,
        parameters=parameters,
    )


def _params(algo: Any) -> dict[str, Any]:
    """JSON-friendly parameters of an algorithm (provenance)."""
    return json.loads(json.dumps(algo.get_params(), default=_json_default))
