"""The numbered stages of :func:`imu.analysis.analyze` (module docstring of
:mod:`imu.analysis`), each a plain function a reader can run one by one, and the helpers the
one-piece and the long-session analyses share.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from imu.analysis.result import NONE, AnalysisResult
from imu.core import arrow
from imu.core.errors import InputError
from imu.core.options import SessionOptions, check_options, resolve
from imu.core.schema import (
    RUN_START_SUMMARY_COLUMNS,
    RUN_SUMMARY_COLUMNS,
    WALK_EXTRA_COLUMNS,
    WALK_SUMMARY_COLUMNS,
)
from imu.core.session import RawSession, SampleFacts
from imu.io.rawfile import from_dataframe, read_raw
from imu.io.store import jsonable
from imu.pipeline.form import FormBreakDetector
from imu.pipeline.gait import GaitAnalysis
from imu.pipeline.neutral import NeutralCalibration
from imu.pipeline.orientation import SampledOrientation
from imu.pipeline.strength import Session, StrengthAnalysis

if TYPE_CHECKING:
    import pandas as pd

def s2_load(source: str | Path | pd.DataFrame | RawSession) -> RawSession:
    """Stage 2: the validated raw session from a path, a DataFrame (metadata in
    ``.attrs['imu']``) or itself."""
    if isinstance(source, RawSession):
        return source
    pd = sys.modules.get("pandas")  # a DataFrame comes with pandas imported: never import it
    if pd is not None and isinstance(source, pd.DataFrame):
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


def s4_sensor(raw: RawSession, options: SessionOptions) -> Session:
    """Stage 4, for a session the strength stages analyse: their time base and sensor stages
    (:meth:`~imu.pipeline.strength.StrengthAnalysis.sensor`: the samples as box means on a
    ~50 Hz grid, the gyroscope bias, the accelerometer refined and offline VQF). Its
    orientation is the session's one (:meth:`~imu.pipeline.strength.Session.orientation`):
    the gait stage reads it on the walks and jogs between sets instead of estimating its own,
    and the 200 Hz samples can go once the gait stage has run. InputError: too short."""
    return strength_algorithm(options, None).sensor(raw, options.sample_rate_hz)


def s5_gait(raw: RawSession, options: SessionOptions, placement: str | None,
            release: bool = False, orientation: SampledOrientation | None = None
            ) -> GaitAnalysis:
    """Stage 5: steps of walking and running, run starts and the sensor's side, on every
    session. ``placement`` is the one given or in the metadata (None: found from the gait).
    A run is analysed on every sample (its 25 Hz series covers the session); any other
    session on its gait's samples when those are a small share (``GaitAnalysis.cropped_``),
    and then with the session's ``orientation`` (stage 4's) when there is one.
    ``release``: ``raw`` is handed over (no later stage needs its samples): the stage lets
    each array go after its last use (``GaitAnalysis.analyze(release_samples=True)``)."""
    whole = {"max_gait_share": 0.0} if options.activity == "run" else {}
    return GaitAnalysis(placement=placement, sensor_offset_m=options.sensor_offset_m,
                        **whole).analyze(raw, sampling_rate_hz=options.sample_rate_hz,
                                         release_samples=release, orientation=orientation)


def s6_strength(data: RawSession | Session, options: SessionOptions, placement: str,
                gait: GaitAnalysis | None = None) -> StrengthAnalysis:
    """Stage 6: the strength stages (sets, reps, calibration per mounting), on the raw session
    or on what stage 4 made of it, with the walking and running bouts the gait stage found
    (one bout detection per session; None: the strength stages detect them on their grid)."""
    bouts = None if gait is None else gait.gait_bouts_.bouts_
    return strength_algorithm(options, placement).analyze(
        data, sampling_rate_hz=options.sample_rate_hz, gait_bouts=bouts)


def strength_algorithm(options: SessionOptions, placement: str | None,
                       carried_up: tuple[float, float, float] | None = None
                       ) -> StrengthAnalysis:
    """The strength stages with the session's options (``carried_up``: the first mounting's
    neutral carried from the segment before, :func:`imu.analysis.long.analyze_segmented`)."""
    offset = None if options.sensor_offset_m is None else tuple(options.sensor_offset_m)
    cal = None if carried_up is None else NeutralCalibration(carried_up=carried_up)
    return StrengthAnalysis(exercise=options.exercise, trunk_length_m=options.trunk_length_m,
                            sensor_offset_m=offset, placement=placement, calibration=cal)


def s7_form(reps: pa.Table) -> tuple[pa.Table, FormBreakDetector]:
    """Stage 7: the reps with their ``form_break`` flag and ``form_reason``."""
    form = FormBreakDetector()
    flags, reasons = np.zeros(0, dtype=bool), np.zeros(0, dtype=object)
    if reps.num_rows:
        form.detect(reps)
        flags, reasons = form.form_break_, form.reasons_
    reps = reps.append_column("form_break", arrow.array(np.asarray(flags, dtype=bool)))
    return reps.append_column("form_reason", arrow.array(reasons, pa.string())), form


def s8_summary(
    raw: RawSession | SampleFacts,
    options: SessionOptions,
    activity: str,
    placement: str,
    sets: pa.Table,
    reps: pa.Table,
    gait: GaitAnalysis,
    strength: dict[str, Any] | None,
) -> dict[str, Any]:
    """Stage 8: the summary row (contract section 3; extras after the contract's columns).
    ``strength`` is the strength stages' summary when they made the sets (else None); ``raw``
    the session or its :class:`~imu.core.session.SampleFacts`."""
    facts = raw.facts() if isinstance(raw, RawSession) else raw
    exercise = options.exercise
    if exercise is None and activity != "run":
        given = arrow.values(sets.column("exercise")) if sets.num_rows else []
        names = list(dict.fromkeys(e for e in given if e is not None and e == e))
        exercise = str(names[0]) if len(names) == 1 else ""
    extra = dict(strength or {})
    gait_summary = dict(gait.summary_)
    running = gait_summary.get("n_steps", 0) > 0  # running steps
    summary: dict[str, Any] = {
        "session_id": facts.session_id,
        "started_at": facts.meta.get("started_at"),
        "activity": activity,
        "exercise": exercise if activity != "run" else None,
        "duration_s": facts.duration_s,
        "n_sets": int(sets.num_rows),
        "n_reps": int(reps.num_rows),
    }
    if activity != "strength" or running:
        summary |= {c: gait_summary.pop(c, np.nan) for c in RUN_SUMMARY_COLUMNS}
        summary |= {c: gait_summary.pop(c) for c in RUN_START_SUMMARY_COLUMNS}
    if gait_summary.get("walk_steps", 0) > 0:
        summary |= {c: gait_summary.pop(c) for c in WALK_SUMMARY_COLUMNS}
    calibration = extra.pop("calibration", None)
    summary |= {
        "gyro_present": facts.gyro_present,
        "calibration": calibration if calibration not in (None, "none") else gait.calibration_,
        "mounting_changes": int(extra.pop("mounting_changes", 0)),
        "sample_rate_hz": options.sample_rate_hz,
        "n_samples": facts.n_samples,
        "saturated_samples": facts.saturated_samples,
        "lost_samples": facts.lost_samples,
        "placement": placement,
    }
    if activity != "strength" or running:
        summary |= {k: v for k, v in gait_summary.items() if k not in summary}
    elif gait.steps_.num_rows:  # walking in a strength session: its steps, not the run's extras
        summary |= {k: gait_summary[k] for k in WALK_EXTRA_COLUMNS}
    return summary | {k: v for k, v in extra.items() if k not in summary}


def s9_result(raw: RawSession | SampleFacts, summary: dict[str, Any],
              tables: dict[str, pa.Table], parameters: dict[str, Any], warnings: list[str]
              ) -> AnalysisResult:
    """Stage 9: the result (tables, provenance, warnings)."""
    meta = dict(raw.meta)
    meta.setdefault("session_id", raw.session_id)
    return AnalysisResult(summary, dict(tables), session=meta, parameters=parameters,
                          warnings=warnings)



def from_gait(gait: GaitAnalysis, options: SessionOptions, given_placement: str | None
               ) -> tuple[bool, bool, str, list[str], dict[str, pa.Table]]:
    """What a session takes from its gait stage: whether it has steps and running steps, the
    placement used (found from the gait when none was given), the warnings, the steps and
    starts tables."""
    has_steps = gait.steps_.num_rows > 0
    running = gait.summary_.get("n_steps", 0) > 0
    where = gait.placement_ if given_placement is None and has_steps else options.placement
    warnings = list(gait.warnings_) if has_steps else []
    return has_steps, running, where, warnings, {
        "steps": gait.steps_, "starts": gait.starts_ if running else NONE}


def params_of(algo: Any) -> dict[str, Any]:
    """JSON-friendly parameters of an algorithm (provenance)."""
    return jsonable(algo.get_params())
