"""Analysis orchestrator: raw session -> per-session tables (contract section 3).

Stages, each swappable: validation (:mod:`imu.io.rawfile`) -> options resolved once
(:func:`imu.core.options.resolve`) -> activity detection (:mod:`imu.pipeline.activity`) -> the
gait stage on EVERY session (:class:`imu.pipeline.gait.GaitAnalysis`: walking and running steps,
run starts, the sensor's side) -> for strength sessions the strength analysis
(:mod:`imu.pipeline.strength`) and form-break flags (:mod:`imu.pipeline.form`) ->
:class:`AnalysisResult`, whose tables :mod:`imu.io.store` writes with provenance and
:mod:`imu.render.terminal` prints. Table columns: :mod:`imu.core.schema`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imu.core.errors import InputError
from imu.core.options import check_options, resolve
from imu.core.schema import (
    REPS_CONTRACT_COLUMNS,
    RUN_START_SUMMARY_COLUMNS,
    RUN_SUMMARY_COLUMNS,
    SETS,
    WALK_EXTRA_COLUMNS,
    WALK_SUMMARY_COLUMNS,
    columns,
)
from imu.core.session import RawSession
from imu.io.rawfile import from_dataframe, read_raw
from imu.io.store import conform, jsonable, provenance, write_session
from imu.metrics.sessions import rep_stats
from imu.pipeline.activity import detect_activity
from imu.pipeline.form import FormBreakDetector
from imu.pipeline.gait import GaitAnalysis
from imu.pipeline.strength import StrengthAnalysis


def _empty(names: Sequence[str]) -> pd.DataFrame:
    """An empty table with float columns: the tables an activity does not produce."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in names})


@dataclass
class AnalysisResult:
    """Everything one session yields: the contract's tables plus extras, and their provenance.

    The terminal report is :func:`imu.render.terminal.render`; :meth:`write` stores the tables
    through :func:`imu.io.store.write_session`.
    """

    summary: pd.DataFrame
    sets: pd.DataFrame
    reps: pd.DataFrame
    steps: pd.DataFrame
    minutes: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per-minute metrics of a run (empty for strength)."""
    starts: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Starts and restarts of running (empty without running)."""
    timeseries: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Pelvis angles and height at 25 Hz, for plots."""
    session: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """One line each, for the user (``imu analyze`` prints ``imu: warning: ...`` on stderr)."""

    def __post_init__(self) -> None:
        # The documented column types (docs/formats.md): counts int64, started_at a UTC
        # pandas Timestamp, flags bool; the same types the files are written and read with.
        for stem in ("summary", "sets", "reps", "steps", "starts", "minutes", "timeseries"):
            setattr(self, stem, conform(getattr(self, stem), stem))

    def __repr__(self) -> str:
        s = self.summary.iloc[0] if len(self.summary) else pd.Series(dtype=object)
        started = s.get("started_at")
        when = started.strftime("%Y-%m-%d %H:%M UTC") if isinstance(started, pd.Timestamp) else "-"
        what = str(s.get("activity", "?"))
        if isinstance(s.get("exercise"), str) and s.get("exercise"):
            what += f" ({s['exercise']})"
        head = f"<AnalysisResult session {s.get('session_id', '?')}: {what}, {when}"
        duration = s.get("duration_s")
        if isinstance(duration, float) and np.isfinite(duration):
            head += f", {duration / 60:.1f} min"
        counts = ", ".join(
            f"{name} {len(df)} rows" for name, df in self.tables().items() if name != "summary"
        )
        return "\n".join([head + ">", f"  tables: {counts}" if counts else "  tables: summary",
                          "  print(imu.report(result)) for the readable report; "
                          "result.write(DIR) stores the tables"])

    @property
    def session_id(self) -> str:
        return str(self.summary["session_id"].iloc[0])

    @property
    def activity(self) -> str:
        return str(self.summary["activity"].iloc[0])

    def provenance(self) -> dict[str, Any]:
        return provenance(self.parameters, self.session)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The files this session writes, by stem; strength, gait and run tables as they
        apply (steps whenever the session has any, and for every run)."""
        out = {"summary": self.summary}
        if self.activity in ("strength", "mixed"):
            out |= {"sets": self.sets, "reps": self.reps}
        if self.activity != "strength" or not self.steps.empty:
            out["steps"] = self.steps
        if not self.starts.empty:
            out["starts"] = self.starts
        if self.activity != "strength":
            out["minutes"] = self.minutes
        if not self.timeseries.empty:
            out["timeseries"] = self.timeseries
        return out

    def write(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/session=<id>/*.parquet``; the folder appears whole or not at all."""
        return write_session(out_dir, self.session_id, self.tables(), self.provenance())


def load(source: str | Path | pd.DataFrame | RawSession) -> RawSession:
    """Validated raw session from a path, a DataFrame (metadata in ``.attrs['imu']``) or itself."""
    if isinstance(source, RawSession):
        return source
    if isinstance(source, pd.DataFrame):
        return from_dataframe(source, dict(source.attrs.get("imu", {})))
    if isinstance(source, (str, os.PathLike)):
        return read_raw(source)
    raise InputError(f"cannot analyse a {type(source).__name__}; give a path or a DataFrame")


def analyze(
    source: str | Path | pd.DataFrame | RawSession,
    activity: str = "auto",
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
) -> AnalysisResult:
    """Analyse one raw session. Options override the file's metadata (contract section 2).

    load -> :func:`imu.core.options.resolve` (once) -> activity stage -> gait stage (every
    session) -> strength analysis (+ form-break flags) for strength sessions ->
    :class:`AnalysisResult`. A placement neither given nor in the metadata is the one the gait
    shows (``result.warnings`` says so).
    """
    given = check_options(activity, exercise, placement, trunk_length_m, sensor_offset_m)
    raw = load(source)  # bad options fail before the file is read
    options = resolve(raw, **given, detect_activity=detect_activity)
    activity, exercise, placement = options.activity, options.exercise, options.placement
    trunk, rate = options.trunk_length_m, options.sample_rate_hz
    offset = None if options.sensor_offset_m is None else np.asarray(options.sensor_offset_m)
    meta = dict(raw.meta)
    session_id = raw.session_id
    meta.setdefault("session_id", session_id)
    parameters: dict[str, Any] = options.parameters()

    sets, reps = _empty(columns(SETS)), _empty(REPS_CONTRACT_COLUMNS)
    timeseries = pd.DataFrame()
    extra: dict[str, Any] = {}
    # the gait stage runs on every session: walking between sets is steps, never reps
    given_placement = given["placement"] or meta.get("placement")
    gait = GaitAnalysis(placement=given_placement, sensor_offset_m=options.sensor_offset_m)
    gait.analyze(raw, sampling_rate_hz=rate)
    parameters["gait"] = _params(gait)
    steps = gait.steps_
    has_steps = not steps.empty
    if given_placement is None and has_steps:
        placement = gait.placement_  # found from the gait (with a warning)
    strength_ran = False
    if activity == "strength":
        try:
            algo = StrengthAnalysis(
                exercise=exercise, trunk_length_m=trunk, sensor_offset_m=offset,
                placement=placement,
            ).analyze(raw, sampling_rate_hz=rate)
        except InputError:
            if not has_steps:
                raise
            gait.warnings_.append("no sets analysed: no standing start for the strength "
                                  "analysis (the steps are)")
        else:
            strength_ran = True
            reps, sets, timeseries = algo.reps_, algo.sets_, algo.timeseries_
            extra = dict(algo.summary_)
            form = FormBreakDetector()
            if not reps.empty:
                form.detect(reps)
                reps = reps.assign(
                    form_break=form.form_break_.to_numpy(dtype=bool),
                    form_reason=form.reasons_.to_numpy(dtype=object),
                )
            else:
                reps = reps.assign(form_break=pd.Series(dtype=bool),
                                   form_reason=pd.Series(dtype=str))
            parameters["strength"] = _params(algo)
            parameters["form_break"] = _params(form)
            extra |= rep_stats(reps)  # lets `imu trends` read one file per session
            if exercise is None and not sets.empty:
                names = sets["exercise"].dropna().unique()
                exercise = str(names[0]) if len(names) == 1 else "mixed"
    gait_summary = dict(gait.summary_)
    running = gait_summary.get("n_steps", 0) > 0  # running steps
    if activity == "strength" and running and not sets.empty:
        activity = "mixed"
    if activity == "run":
        timeseries, exercise = gait.timeseries_, None
    summary: dict[str, Any] = {
        "session_id": session_id,
        "started_at": meta.get("started_at"),
        "activity": activity,
        "exercise": exercise,
        "duration_s": float(raw.t_s[-1] - raw.t_s[0]),
        "n_sets": int(len(sets)),
        "n_reps": int(len(reps)),
    }
    if activity != "strength" or running:
        summary |= {c: gait_summary.pop(c, np.nan) for c in RUN_SUMMARY_COLUMNS}
        summary |= {c: gait_summary.pop(c) for c in RUN_START_SUMMARY_COLUMNS}
    if gait_summary.get("walk_steps", 0) > 0:
        summary |= {c: gait_summary.pop(c) for c in WALK_SUMMARY_COLUMNS}
    summary |= {
        "gyro_present": raw.gyr_dps is not None,
        "calibration": extra.pop("calibration", "opening_standing") if strength_ran
        else gait.calibration_,
        "sample_rate_hz": rate,
        "n_samples": raw.n_samples,
        "saturated_samples": int(raw.saturated_mask().sum()),
        "lost_samples": raw.lost_samples(),
        "placement": placement,
    }
    if activity != "strength" or running:
        summary |= {k: v for k, v in gait_summary.items() if k not in summary}
    elif has_steps:  # walking in a strength session: its steps, not the run's extras
        summary |= {k: gait_summary[k] for k in WALK_EXTRA_COLUMNS}
    summary |= {k: v for k, v in extra.items() if k not in summary}
    return AnalysisResult(
        summary=pd.DataFrame([summary]),
        sets=sets,
        reps=reps,
        steps=steps,
        minutes=gait.minutes_ if activity != "strength" else pd.DataFrame(),
        starts=gait.starts_ if running else pd.DataFrame(),
        timeseries=timeseries,
        session=meta,
        parameters=parameters,
        warnings=list(gait.warnings_) if has_steps else [],
    )


def _params(algo: Any) -> dict[str, Any]:
    """JSON-friendly parameters of an algorithm (provenance)."""
    return jsonable(algo.get_params())
