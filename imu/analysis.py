"""Analysis orchestrator: raw session -> per-session tables (contract section 3).

Numbered stages, each a plain function a reader can run one by one:

1. :func:`s1_options` -- check the explicit options (before any file is read);
2. :func:`s2_load` -- the validated raw session (:mod:`imu.io.rawfile`);
3. :func:`s3_resolve` -- option, else metadata, else default, once (:mod:`imu.core.options`);
4. :func:`s4_gait` -- walking and running steps of EVERY session, run starts, the sensor's side
   (:class:`imu.pipeline.gait.GaitAnalysis`): walking between sets is steps, never reps;
5. :func:`s5_strength` -- sets and reps (:class:`imu.pipeline.strength.StrengthAnalysis`:
   bouts, calibration per mounting, posture, candidates, recognition, sets, reps, metrics);
6. :func:`s6_form` -- form-break flags and their reasons (:mod:`imu.pipeline.form`);
7. :func:`s7_summary` -- the summary row: ``activity`` is ``mixed`` when the session holds sets
   and running (contract section 3);
8. :func:`s8_result` -- :class:`AnalysisResult`, whose tables :mod:`imu.io.store` writes with
   provenance and :mod:`imu.render.terminal` prints. Table columns: :mod:`imu.core.schema`.

Which stages run: the gait stage always; ``activity='run'`` (option or metadata) nothing more;
``strength`` the strength stages; ``auto`` without metadata the strength stages too, and the
session is a run when they find no set and the gait stage found running.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imu.core.errors import InputError
from imu.core.options import SessionOptions, check_options, resolve
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
from imu.pipeline.activity import activity_of_bouts
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


def s2_load(source: str | Path | pd.DataFrame | RawSession) -> RawSession:
    """Stage 2: the validated raw session from a path, a DataFrame (metadata in
    ``.attrs['imu']``) or itself."""
    if isinstance(source, RawSession):
        return source
    if isinstance(source, pd.DataFrame):
        return from_dataframe(source, dict(source.attrs.get("imu", {})))
    if isinstance(source, (str, os.PathLike)):
        return read_raw(source)
    raise InputError(f"cannot analyse a {type(source).__name__}; give a path or a DataFrame")


load = s2_load
"""The raw-session loader (stage 2), by its older name."""


def s1_options(
    activity: str = "auto",
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Stage 1: the explicit options, checked before the file is read (InputError)."""
    return check_options(activity, exercise, placement, trunk_length_m, sensor_offset_m)


def s3_resolve(raw: RawSession, given: dict[str, Any]) -> tuple[SessionOptions, bool]:
    """Stage 3: the session's options (option, else metadata, else default) and whether the
    activity is to be detected from the signal (neither option nor metadata gave it; until the
    gait stage's bouts say otherwise, it is ``strength``)."""
    detected = given["activity"] in (None, "auto") and raw.meta.get("activity") is None
    return resolve(raw, **given, detect_activity=lambda _raw: "strength"), detected


def s4_gait(raw: RawSession, options: SessionOptions, placement: str | None) -> GaitAnalysis:
    """Stage 4: steps of walking and running, run starts and the sensor's side, on every
    session. ``placement`` is the one given or in the metadata (None: found from the gait)."""
    return GaitAnalysis(placement=placement, sensor_offset_m=options.sensor_offset_m).analyze(
        raw, sampling_rate_hz=options.sample_rate_hz
    )


def s5_strength(raw: RawSession, options: SessionOptions, placement: str) -> StrengthAnalysis:
    """Stage 5: the strength stages (sets, reps, calibration per mounting, bouts)."""
    offset = None if options.sensor_offset_m is None else tuple(options.sensor_offset_m)
    return StrengthAnalysis(
        exercise=options.exercise, trunk_length_m=options.trunk_length_m,
        sensor_offset_m=offset, placement=placement,
    ).analyze(raw, sampling_rate_hz=options.sample_rate_hz)


def s6_form(reps: pd.DataFrame) -> tuple[pd.DataFrame, FormBreakDetector]:
    """Stage 6: the reps with their ``form_break`` flag and ``form_reason``."""
    form = FormBreakDetector()
    if reps.empty:
        return reps.assign(form_break=pd.Series(dtype=bool),
                           form_reason=pd.Series(dtype=str)), form
    form.detect(reps)
    return reps.assign(form_break=form.form_break_.to_numpy(dtype=bool),
                       form_reason=form.reasons_.to_numpy(dtype=object)), form


def s7_summary(
    raw: RawSession,
    options: SessionOptions,
    activity: str,
    placement: str,
    sets: pd.DataFrame,
    reps: pd.DataFrame,
    gait: GaitAnalysis,
    strength: dict[str, Any] | None,
) -> dict[str, Any]:
    """Stage 7: the summary row (contract section 3; extras after the contract's columns).
    ``strength`` is the strength stages' summary when they made the sets (else None)."""
    exercise = options.exercise
    if exercise is None and activity != "run":
        names = sets["exercise"].dropna().unique() if not sets.empty else []
        exercise = str(names[0]) if len(names) == 1 else ""
    extra = dict(strength or {})
    gait_summary = dict(gait.summary_)
    running = gait_summary.get("n_steps", 0) > 0  # running steps
    summary: dict[str, Any] = {
        "session_id": raw.session_id,
        "started_at": raw.meta.get("started_at"),
        "activity": activity,
        "exercise": exercise if activity != "run" else None,
        "duration_s": float(raw.t_s[-1] - raw.t_s[0]),
        "n_sets": int(len(sets)),
        "n_reps": int(len(reps)),
    }
    if activity != "strength" or running:
        summary |= {c: gait_summary.pop(c, np.nan) for c in RUN_SUMMARY_COLUMNS}
        summary |= {c: gait_summary.pop(c) for c in RUN_START_SUMMARY_COLUMNS}
    if gait_summary.get("walk_steps", 0) > 0:
        summary |= {c: gait_summary.pop(c) for c in WALK_SUMMARY_COLUMNS}
    calibration = extra.pop("calibration", None)
    summary |= {
        "gyro_present": raw.gyr_dps is not None,
        "calibration": calibration if calibration not in (None, "none") else gait.calibration_,
        "mounting_changes": int(extra.pop("mounting_changes", 0)),
        "sample_rate_hz": options.sample_rate_hz,
        "n_samples": raw.n_samples,
        "saturated_samples": int(raw.saturated_mask().sum()),
        "lost_samples": raw.lost_samples(),
        "placement": placement,
    }
    if activity != "strength" or running:
        summary |= {k: v for k, v in gait_summary.items() if k not in summary}
    elif not gait.steps_.empty:  # walking in a strength session: its steps, not the run's extras
        summary |= {k: gait_summary[k] for k in WALK_EXTRA_COLUMNS}
    return summary | {k: v for k, v in extra.items() if k not in summary}


def s8_result(raw: RawSession, summary: dict[str, Any], tables: dict[str, pd.DataFrame],
              parameters: dict[str, Any], warnings: list[str]) -> AnalysisResult:
    """Stage 8: the result (tables, provenance, warnings)."""
    meta = dict(raw.meta)
    meta.setdefault("session_id", raw.session_id)
    return AnalysisResult(summary=pd.DataFrame([summary]), session=meta, parameters=parameters,
                          warnings=warnings, **tables)


def analyze(
    source: str | Path | pd.DataFrame | RawSession,
    activity: str = "auto",
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
) -> AnalysisResult:
    """Analyse one raw session: stages 1-8 (module docstring). Options override the file's
    metadata (contract section 2). A placement neither given nor in the metadata is the one the
    gait shows (``result.warnings`` says so)."""
    given = s1_options(activity, exercise, placement, trunk_length_m, sensor_offset_m)
    raw = s2_load(source)
    options, detected = s3_resolve(raw, given)
    given_placement = given["placement"] or raw.meta.get("placement")
    gait = s4_gait(raw, options, given_placement)
    if detected:  # from the bouts the gait stage found (detected once, not twice)
        options = replace(options, activity=activity_of_bouts(gait.gait_bouts_,
                                                              options.sample_rate_hz))
    parameters: dict[str, Any] = options.parameters()
    parameters["gait"] = _params(gait)
    has_steps = not gait.steps_.empty
    running = gait.summary_.get("n_steps", 0) > 0
    where = options.placement
    if given_placement is None and has_steps:
        where = gait.placement_  # found from the gait (with a warning)
    warnings = list(gait.warnings_) if has_steps else []
    tables: dict[str, pd.DataFrame] = {
        "sets": _empty(columns(SETS)), "reps": _empty(REPS_CONTRACT_COLUMNS),
        "steps": gait.steps_, "starts": gait.starts_ if running else pd.DataFrame(),
        "minutes": pd.DataFrame(), "timeseries": pd.DataFrame(),
    }
    act = options.activity
    strength = None
    if act == "strength" or detected:
        try:
            strength = s5_strength(raw, options, where)
        except InputError:
            if not has_steps:
                raise
            if act == "strength" and not detected:
                warnings.append("no sets analysed: no reference for neutral (standing, "
                                "walking or upright reps) anywhere in the session (the steps are)")
        if strength is not None and detected:
            if len(strength.sets_):
                act = "strength"
            elif running:
                strength, act = None, "run"  # no set: a run
    if act == "strength" and running and strength is not None and len(strength.sets_):
        act = "mixed"
    strength_summary = None
    if strength is not None:
        parameters["strength"] = _params(strength)
        reps, form = s6_form(strength.reps_)
        parameters["form_break"] = _params(form)
        tables |= {"sets": strength.sets_, "reps": reps, "timeseries": strength.timeseries_}
        strength_summary = dict(strength.summary_) | rep_stats(reps)  # trends: one file each
    if act != "strength":
        tables["minutes"] = gait.minutes_
    if act == "run":
        tables["timeseries"] = gait.timeseries_
    summary = s7_summary(raw, options, act, where, tables["sets"], tables["reps"], gait,
                         strength_summary)
    return s8_result(raw, summary, tables, parameters, warnings)


def _params(algo: Any) -> dict[str, Any]:
    """JSON-friendly parameters of an algorithm (provenance)."""
    return jsonable(algo.get_params())
