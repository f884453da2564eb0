"""Analysis orchestrator: raw session -> per-session tables (contract section 3).

Numbered stages, each a plain function a reader can run one by one:

1. :func:`s1_options` -- check the explicit options (before any file is read);
2. :func:`s2_load` -- the validated raw session (:mod:`imu.io.rawfile`);
3. :func:`s3_resolve` -- option, else metadata, else default, once (:mod:`imu.core.options`);
4. :func:`s4_strength` -- sets and reps (:class:`imu.pipeline.strength.StrengthAnalysis`:
   bouts, calibration, posture, candidates, recognition, sets, reps, metrics);
5. :func:`s5_gait` -- steps of walking and running (a run session: :class:`imu.pipeline.running.
   RunAnalysis`);
6. :func:`s6_form` -- form-break flags (:mod:`imu.pipeline.form`);
7. :func:`s7_summary` -- the summary row: ``activity`` is ``mixed`` when the session holds sets
   and running (contract section 3);
8. :func:`s8_result` -- :class:`AnalysisResult`, whose tables :mod:`imu.io.store` writes with
   provenance and :mod:`imu.render.terminal` prints. Table columns: :mod:`imu.core.schema`.

Which stages run: ``activity='run'`` (option or metadata) runs the running analysis alone;
``strength`` the strength stages; ``auto`` without metadata runs the strength stages and, when
they find no set in a recording that holds running, the running analysis.
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
from imu.core.options import SessionOptions, check_options, resolve
from imu.core.schema import (
    REPS_CONTRACT_COLUMNS,
    RUN_SUMMARY_COLUMNS,
    SETS,
    STEPS_CONTRACT_COLUMNS,
    columns,
)
from imu.core.session import RawSession
from imu.io.rawfile import from_dataframe, read_raw
from imu.io.store import jsonable, provenance, write_session
from imu.metrics.sessions import rep_stats
from imu.pipeline.activity import detect_activity
from imu.pipeline.form import FormBreakDetector
from imu.pipeline.running import RunAnalysis
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
        return provenance(self.parameters, self.session)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The files this session writes, by stem; strength and run tables as they apply."""
        out = {"summary": self.summary}
        if self.activity != "run":
            out |= {"sets": self.sets, "reps": self.reps}
        if self.activity == "run" or not self.steps.empty:
            out |= {"steps": self.steps, "minutes": self.minutes}
        if not self.timeseries.empty:
            out["timeseries"] = self.timeseries
        return out

    def write(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/session=<id>/*.parquet``; the folder appears whole or not at all."""
        return write_session(out_dir, self.session_id, self.tables(), self.provenance())


def s1_options(
    activity: str = "auto",
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Stage 1: the explicit options, checked before the file is read (InputError)."""
    return check_options(activity, exercise, placement, trunk_length_m, sensor_offset_m)


def s2_load(source: str | Path | pd.DataFrame | RawSession) -> RawSession:
    """Stage 2: validated raw session from a path, a DataFrame (metadata in
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


def s3_resolve(raw: RawSession, given: dict[str, Any]) -> tuple[SessionOptions, bool]:
    """Stage 3: the session's options (option, else metadata, else default) and whether the
    activity was detected from the signal (neither option nor metadata gave it)."""
    detected = given["activity"] in (None, "auto") and raw.meta.get("activity") is None
    return resolve(raw, **given, detect_activity=detect_activity), detected


def s4_strength(raw: RawSession, options: SessionOptions) -> StrengthAnalysis:
    """Stage 4: the strength stages (sets, reps, calibration, bouts)."""
    offset = None if options.sensor_offset_m is None else tuple(options.sensor_offset_m)
    return StrengthAnalysis(
        exercise=options.exercise, trunk_length_m=options.trunk_length_m,
        sensor_offset_m=offset, placement=options.placement,
    ).analyze(raw, sampling_rate_hz=options.sample_rate_hz)


def s5_gait(raw: RawSession, options: SessionOptions) -> RunAnalysis:
    """Stage 5: steps of walking and running (today the running analysis of a run session)."""
    offset = None if options.sensor_offset_m is None else np.asarray(options.sensor_offset_m)
    return RunAnalysis(placement=options.placement, sensor_offset_m=offset).analyze(
        raw, sampling_rate_hz=options.sample_rate_hz
    )


def s6_form(reps: pd.DataFrame) -> tuple[pd.DataFrame, FormBreakDetector]:
    """Stage 6: the reps with their ``form_break`` flag."""
    form = FormBreakDetector()
    if reps.empty:
        return reps.assign(form_break=pd.Series(dtype=bool)), form
    form.detect(reps)
    return reps.assign(form_break=form.form_break_.to_numpy(dtype=bool)), form


def s7_summary(
    raw: RawSession,
    options: SessionOptions,
    activity: str,
    sets: pd.DataFrame,
    reps: pd.DataFrame,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Stage 7: the summary row (contract section 3; extras after the contract's columns)."""
    exercise = options.exercise
    if exercise is None and activity != "run":
        names = sets["exercise"].dropna().unique() if not sets.empty else []
        exercise = str(names[0]) if len(names) == 1 else ""
    summary: dict[str, Any] = {
        "session_id": raw.session_id,
        "started_at": raw.meta.get("started_at"),
        "activity": activity,
        "exercise": exercise if activity != "run" else None,
        "duration_s": float(raw.t_s[-1] - raw.t_s[0]),
        "n_sets": int(len(sets)),
        "n_reps": int(len(reps)),
    }
    if activity == "run":
        summary |= {c: extra.pop(c, np.nan) for c in RUN_SUMMARY_COLUMNS}
    summary |= {
        "sample_rate_hz": options.sample_rate_hz,
        "n_samples": raw.n_samples,
        "saturated_samples": int(raw.saturated_mask().sum()),
        "lost_samples": raw.lost_samples(),
        "placement": options.placement,
        "has_gyro": raw.gyr_dps is not None,
    }
    return summary | {k: v for k, v in extra.items() if k not in summary}


def s8_result(raw: RawSession, summary: dict[str, Any], tables: dict[str, pd.DataFrame],
              parameters: dict[str, Any]) -> AnalysisResult:
    """Stage 8: the result (tables, provenance)."""
    meta = dict(raw.meta)
    meta.setdefault("session_id", raw.session_id)
    return AnalysisResult(summary=pd.DataFrame([summary]), session=meta, parameters=parameters,
                          **tables)


def analyze(
    source: str | Path | pd.DataFrame | RawSession,
    activity: str = "auto",
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
) -> AnalysisResult:
    """Analyse one raw session: stages 1-8 (module docstring). Options override the file's
    metadata (contract section 2)."""
    given = s1_options(activity, exercise, placement, trunk_length_m, sensor_offset_m)
    raw = s2_load(source)
    options, detected = s3_resolve(raw, given)
    parameters: dict[str, Any] = options.parameters()
    tables: dict[str, pd.DataFrame] = {
        "sets": _empty(columns(SETS)), "reps": _empty(REPS_CONTRACT_COLUMNS),
        "steps": _empty(STEPS_CONTRACT_COLUMNS), "minutes": pd.DataFrame(),
        "timeseries": pd.DataFrame(),
    }
    extra: dict[str, Any] = {}
    act = options.activity
    strength = None
    if act == "strength" or detected:
        strength = s4_strength(raw, options)
        running = strength.diagnostics_.get("running_s", 0.0) > 0.0
        if len(strength.sets_) or act == "strength":
            act = "mixed" if running and len(strength.sets_) else "strength"
        else:
            strength = None  # no set: a run (detected)
    if strength is not None:
        parameters["strength"] = _params(strength)
        reps, form = s6_form(strength.reps_)
        parameters["form_break"] = _params(form)
        tables |= {"sets": strength.sets_, "reps": reps, "timeseries": strength.timeseries_}
        extra = dict(strength.summary_) | rep_stats(reps)  # trends read one file per session
    else:
        act = "run"
        run = s5_gait(raw, options)
        parameters["run"] = _params(run)
        tables |= {"steps": run.steps_, "minutes": run.minutes_, "timeseries": run.timeseries_}
        extra = dict(run.summary_)
    summary = s7_summary(raw, options, act, tables["sets"], tables["reps"], extra)
    return s8_result(raw, summary, tables, parameters)


def _params(algo: Any) -> dict[str, Any]:
    """JSON-friendly parameters of an algorithm (provenance)."""
    return jsonable(algo.get_params())
