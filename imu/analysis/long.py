"""Sessions longer than 32 minutes, read from their file a window at a time (memory:
docs/scale.md): a run window by window (:func:`analyze_windowed`), a workout in segments
(:func:`analyze_segmented`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from imu.analysis.result import NONE, AnalysisResult, empty_table
from imu.analysis.stages import (
    from_gait,
    params_of,
    s3_resolve,
    s4_sensor,
    s7_form,
    s8_summary,
    s9_result,
    strength_algorithm,
)
from imu.core.errors import InputError
from imu.core.memory import release_free_memory
from imu.core.schema import REPS_CONTRACT_COLUMNS, SETS, columns
from imu.core.session import RawSession
from imu.io.rawscan import scan_raw
from imu.metrics.sessions import rep_stats
from imu.pipeline.activity import activity_of_times
from imu.pipeline.gait import GaitAnalysis
from imu.pipeline.gait_parts import GaitWindow
from imu.pipeline.gait_windows import OVERLAP_S, WINDOW_S, WindowedGait, windowed
from imu.pipeline.segments import Segmenter, join_strength
from imu.pipeline.strength import StrengthAnalysis

if TYPE_CHECKING:
    pass

def long_kind(peek: tuple[dict[str, Any], int, float | None] | None, given: dict[str, Any]
               ) -> str | None:
    """``run`` or ``strength`` when a file's footer (:func:`~imu.io.rawscan.peek_raw`) shows
    it long enough for windows or segments (:func:`imu.pipeline.gait_windows.windowed`), else
    None (an unreadable footer goes the usual way, whose reader says what is wrong)."""
    if peek is None:
        return None
    meta, n_rows, rate_hz = peek
    act = given["activity"] if given["activity"] not in (None, "auto") else meta.get("activity")
    if rate_hz is None or not windowed(n_rows, rate_hz):
        return None
    return "run" if act == "run" else "strength" if act in (None, "strength") else None


def analyze_windowed(path: str | os.PathLike[str], given: dict[str, Any],
                     window_s: float = WINDOW_S, overlap_s: float = OVERLAP_S
                     ) -> AnalysisResult | None:
    """Stages 2-8 of a long run window by window (:class:`~imu.pipeline.gait_windows.
    WindowedGait`): the file checked in one streaming pass, then read a window at a time.
    None when the session is not one (not a run once resolved, too short, or no pelvis frame
    in its first window): :func:`analyze` then analyses it in one piece."""
    scan = scan_raw(path)
    options, detected = s3_resolve(scan, given)  # type: ignore[arg-type]
    fs = options.sample_rate_hz
    if options.activity != "run" or detected or not windowed(scan.n_samples, fs, window_s,
                                                               overlap_s):
        return None
    given_placement = given["placement"] or scan.meta.get("placement")
    gait_algo = GaitAnalysis(placement=given_placement,
                             sensor_offset_m=options.sensor_offset_m, max_gait_share=0.0)
    windows = WindowedGait(gait_algo, window_s, overlap_s).analyze(scan, fs)
    gait = windows.gait_
    if gait is None:
        return None
    parameters: dict[str, Any] = options.parameters()
    parameters["gait"] = params_of(gait)
    parameters["gait_windows"] = {"window_s": window_s, "overlap_s": overlap_s,
                                  "windows": len(windows.windows_)}
    _, _, where, warnings, gait_tables = from_gait(gait, options, given_placement)
    tables: dict[str, pa.Table] = {
        "sets": empty_table(columns(SETS)), "reps": empty_table(REPS_CONTRACT_COLUMNS),
        **gait_tables, "minutes": gait.minutes_, "timeseries": gait.timeseries_,
    }
    facts = scan.facts
    summary = s8_summary(facts, options, "run", where, tables["sets"], tables["reps"], gait,
                         None)
    return s9_result(facts, summary, tables, parameters, warnings)


def analyze_segmented(path: str | os.PathLike[str], given: dict[str, Any],
                      peek: tuple[dict[str, Any], int, float | None],
                      segment_s: float = WINDOW_S) -> AnalysisResult | None:
    """Stages 2-8 of a long workout in segments, in the file's one pass (docs/scale.md): the
    scan hands its rows to a :class:`~imu.pipeline.segments.Segmenter` (cuts mid-rest near
    every ``segment_s``); each segment is analysed as a session once cut (the first one's
    placement, the neutral carried on), the tables joined. None when not one (no rate in the
    metadata, no rest to cut in, a segment without a reference, a run): one piece."""
    meta, n_rows, _ = peek  # ``peek``: the file's footer (:func:`~imu.io.rawscan.peek_raw`)
    if meta.get("sample_rate_hz") is None:
        return None  # the segments are analysed before the scan has the median interval
    given_placement = given["placement"] or meta.get("placement")
    stub = RawSession(np.empty(0), np.empty((0, 3)), None, None, meta, checked=True)
    options, detected = s3_resolve(stub, given)
    if options.activity != "strength":
        return None
    fs = options.sample_rate_hz
    state: dict[str, Any] = {"place": given_placement, "first": None, "ok": True,
                             "running_s": 0.0, "gait_s": 0.0}
    parts: list[GaitWindow] = []
    strengths: list[StrengthAnalysis] = []

    def segment(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None) -> None:
        if not state["ok"] or gyr is None:
            state["ok"] = False
            return
        try:
            segment_tables(RawSession(t, acc, gyr, None, stub.meta, checked=True))
        except InputError:  # e.g. no neutral reference in this segment: one piece
            state["ok"] = False
        except (pa.ArrowException, OSError) as exc:  # a fault of the analysis, not the file's
            raise RuntimeError(f"segment analysis failed: {exc!r}") from exc
        release_free_memory()  # the segment's arrays are gone (its tables stay)

    def segment_tables(raw: RawSession) -> None:
        sensor = s4_sensor(raw, options)  # the segment's one orientation, shared
        gait = GaitAnalysis(placement=state["place"], sensor_offset_m=options.sensor_offset_m)
        part = gait.analyze_window(raw, fs, release_samples=True,
                                   orientation=sensor.orientation())
        part.timeseries = part.timeseries.slice(0, 0)  # a workout's is the strength one's
        parts.append(part)
        gb = gait.gait_bouts_
        state["running_s"] += float(gb.running_.sum()) / fs
        state["gait_s"] += float((gb.running_ | gb.walking_).sum()) / fs
        if state["first"] is None:  # the first segment's gait tells the placement
            state["first"] = gait
            if state["place"] is None:
                state["place"] = (gait.placement_ if parts[0].cols is not None
                                  else options.placement)
        st = strength_algorithm(options, state["place"], state.get("up")).analyze(
            sensor, fs, gait_bouts=gb.bouts_)
        last = st.diagnostics_["mountings"][-1]  # its neutral goes on into the next
        state["up"] = (last["ux"], last["uy"], last["uz"])
        del st.bouts_, st.diagnostics_  # per sample: what the joined tables do not need
        strengths.append(st)

    cutter = Segmenter(int(round(fs)), n_rows, segment_s, segment)
    scan = scan_raw(path, on_batch=cutter.add)  # every check of the reader, then the last cut
    if not cutter.cuts_:
        return None
    cutter.finish()
    first = state["first"]
    if not state["ok"] or first is None:
        return None
    gait = first.finish(parts, fs)
    strength = join_strength(strengths, options.exercise)
    if detected:
        options = replace(options, activity=activity_of_times(state["running_s"],
                                                              state["gait_s"]))
    _, running, where, warnings, gait_tables = from_gait(gait, options, given_placement)
    if detected and not strength.sets_.num_rows and running:
        return None  # a run after all: its gait on every sample, in one piece
    act = "mixed" if running and strength.sets_.num_rows else "strength"
    parameters: dict[str, Any] = options.parameters()
    parameters |= {"gait": params_of(gait), "strength": params_of(strength),
                   "segments": {"segment_s": segment_s,
                                "cuts_s": [c / fs for c in cutter.cuts_]}}
    reps, form = s7_form(strength.reps_)
    parameters["form_break"] = params_of(form)
    tables: dict[str, pa.Table] = {
        "sets": strength.sets_, "reps": reps, **gait_tables,
        "minutes": gait.minutes_ if act != "strength" else NONE,
        "timeseries": strength.timeseries_}
    strength_summary = dict(strength.summary_) | rep_stats(reps)
    summary = s8_summary(scan.facts, options, act, where, tables["sets"], tables["reps"], gait,
                         strength_summary)
    return s9_result(scan.facts, summary, tables, parameters, warnings)

