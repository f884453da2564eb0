"""Analysis orchestrator: raw session -> per-session tables (contract section 3).

Numbered stages, each a plain function a reader can run one by one
(:mod:`imu.analysis.stages`):

1. :func:`s1_options` -- check the explicit options (before any file is read);
2. :func:`s2_load` -- the validated raw session (:mod:`imu.io.rawfile`);
3. :func:`s3_resolve` -- option, else metadata, else default, once (:mod:`imu.core.options`);
4. :func:`s4_sensor` -- for a session the strength stages analyse: the samples on their ~50 Hz
   grid and the session's one orientation (offline VQF), shared with the gait stage;
5. :func:`s5_gait` -- walking and running steps of EVERY session, run starts, the sensor's side
   (:class:`imu.pipeline.gait.GaitAnalysis`): walking between sets is steps, never reps;
6. :func:`s6_strength` -- sets and reps (:class:`imu.pipeline.strength.StrengthAnalysis`:
   bouts, calibration per mounting, posture, candidates, recognition, sets, reps, metrics);
7. :func:`s7_form` -- form-break flags and their reasons (:mod:`imu.pipeline.form`);
8. :func:`s8_summary` -- the summary row: ``activity`` is ``mixed`` when the session holds sets
   and running (contract section 3);
9. :func:`s9_result` -- :class:`AnalysisResult` (:mod:`imu.analysis.result`), whose tables
   :mod:`imu.io.store` writes with provenance and :mod:`imu.render.terminal` prints. Table
   columns: :mod:`imu.core.schema`.

Which stages run: the gait stage always; ``activity='run'`` (option or metadata) nothing more;
``strength`` the strength stages; ``auto`` without metadata the strength stages too, and the
session is a run when they find no set and the gait stage found running.

One orientation per session: a workout's is stage 4's, which the gait stage reads on its walks
and jogs (they are a small share of it); a run's or a walk's is the gait stage's own, on every
sample at the sample rate. Only a session whose activity is detected and which is mostly gait
still has two (the strength stages then look for sets with their own).

A file longer than 32 minutes is read a window at a time (memory: docs/scale.md;
:mod:`imu.analysis.long`): a run window by window (:func:`analyze_windowed`), a workout in
segments (:func:`analyze_segmented`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from imu.analysis.long import analyze_segmented, analyze_windowed, long_kind
from imu.analysis.result import NONE, STEMS, AnalysisResult, empty_table
from imu.analysis.stages import (
    from_gait,
    load,
    params_of,
    s1_options,
    s2_load,
    s3_resolve,
    s4_sensor,
    s5_gait,
    s6_strength,
    s7_form,
    s8_summary,
    s9_result,
)
from imu.core.errors import InputError
from imu.core.schema import REPS_CONTRACT_COLUMNS, SETS, columns
from imu.core.session import RawSession
from imu.io.rawscan import peek_raw
from imu.metrics.sessions import rep_stats
from imu.pipeline.activity import activity_of_bouts
from imu.pipeline.strength import Session

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "STEMS", "AnalysisResult", "analyze", "analyze_segmented", "analyze_windowed", "load",
    "s1_options", "s2_load", "s3_resolve", "s4_sensor", "s5_gait", "s6_strength", "s7_form",
    "s8_summary", "s9_result",
]


def analyze(
    source: str | Path | pd.DataFrame | RawSession,
    activity: str = "auto",
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
) -> AnalysisResult:
    """Analyse one raw session: stages 1-9 (module docstring). Options override the file's
    metadata (contract section 2). A placement neither given nor in the metadata is the one the
    gait shows (``result.warnings`` says so)."""
    given = s1_options(activity, exercise, placement, trunk_length_m, sensor_offset_m)
    if isinstance(source, (str, os.PathLike)):
        peek = peek_raw(source)
        kind = long_kind(peek, given)
        result = (analyze_windowed(source, given) if kind == "run" else
                  analyze_segmented(source, given, peek) if kind == "strength" else None)
        if result is not None:
            return result
    raw: RawSession | None = s2_load(source)
    assert raw is not None
    options, detected = s3_resolve(raw, given)
    facts = raw.facts()
    # a file's samples go once the last stage that needs them has run (memory: docs/scale.md):
    # stage 4 makes the strength stages' ~50 Hz grid and the session's orientation first, then
    # the gait stage has the samples to itself; given in memory, they stay with the caller
    reload = isinstance(source, (str, os.PathLike))
    if reload:
        raw = replace(raw, seq=None)  # the counter has told its lost samples
    sensor: Session | InputError | None = None
    if options.activity == "strength" or detected:
        try:
            sensor = s4_sensor(raw, options)
        except InputError as exc:  # raised where the strength stages run (below)
            sensor = exc
    given_placement = given["placement"] or raw.meta.get("placement")
    gait = s5_gait(raw, options, given_placement, release=reload,
                   orientation=sensor.orientation() if isinstance(sensor, Session) else None)
    if reload:
        raw = None  # released by the gait stage
    if detected:  # from the bouts the gait stage found (detected once, not twice)
        options = replace(options, activity=activity_of_bouts(gait.gait_bouts_,
                                                              options.sample_rate_hz))
    parameters: dict[str, Any] = options.parameters()
    parameters["gait"] = params_of(gait)
    has_steps, running, where, warnings, gait_tables = from_gait(gait, options, given_placement)
    tables: dict[str, pa.Table] = {
        "sets": empty_table(columns(SETS)), "reps": empty_table(REPS_CONTRACT_COLUMNS),
        **gait_tables, "minutes": NONE, "timeseries": NONE,
    }
    act = options.activity
    strength = None
    if act == "strength" or detected:
        try:
            if isinstance(sensor, InputError):
                raise sensor
            assert sensor is not None
            strength = s6_strength(sensor, options, where, gait)
            del sensor
        except InputError:
            if not has_steps:
                raise
            if act == "strength" and not detected:
                warnings.append("no sets analysed: no reference for neutral (standing, "
                                "walking or upright reps) anywhere in the session (the steps are)")
        if strength is not None and detected:
            if strength.sets_.num_rows:
                act = "strength"
            elif running:
                strength, act = None, "run"  # no set: a run
    if act == "strength" and running and strength is not None and strength.sets_.num_rows:
        act = "mixed"
    if act == "run" and gait.cropped_:  # a run after all: its gait on every sample
        raw = raw if raw is not None else s2_load(source)
        gait = s5_gait(raw, replace(options, activity="run"), given_placement)
        parameters["gait"] = params_of(gait)
        has_steps, running, where, warnings, gait_tables = from_gait(gait, options,
                                                                      given_placement)
        tables |= gait_tables
    strength_summary = None
    if strength is not None:
        parameters["strength"] = params_of(strength)
        reps, form = s7_form(strength.reps_)
        parameters["form_break"] = params_of(form)
        tables |= {"sets": strength.sets_, "reps": reps, "timeseries": strength.timeseries_}
        strength_summary = dict(strength.summary_) | rep_stats(reps)  # trends: one file each
    if act != "strength":
        tables["minutes"] = gait.minutes_
    if act == "run":
        tables["timeseries"] = gait.timeseries_
    summary = s8_summary(facts, options, act, where, tables["sets"], tables["reps"], gait,
                         strength_summary)
    return s9_result(facts, summary, tables, parameters, warnings)

