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

A file longer than 32 minutes is read a window at a time (memory: docs/scale.md): a run
window by window (:func:`analyze_windowed`), a workout in segments (:func:`analyze_segmented`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from imu.core import arrow
from imu.core.errors import InputError
from imu.core.memory import release_free_memory
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
from imu.core.session import RawSession, SampleFacts
from imu.io.rawfile import from_dataframe, read_raw
from imu.io.rawscan import peek_raw, scan_raw
from imu.io.store import (
    conform,
    jsonable,
    provenance,
    row_table,
    typed_table,
    utc,
    write_session,
)
from imu.metrics.sessions import rep_stats
from imu.pipeline.activity import activity_of_bouts, activity_of_times
from imu.pipeline.form import FormBreakDetector
from imu.pipeline.gait import GaitAnalysis
from imu.pipeline.gait_parts import GaitWindow
from imu.pipeline.gait_windows import OVERLAP_S, WINDOW_S, WindowedGait, windowed
from imu.pipeline.neutral import NeutralCalibration
from imu.pipeline.segments import Segmenter, join_strength
from imu.pipeline.strength import StrengthAnalysis
from imu.pipeline.timebase import InternalGrid

if TYPE_CHECKING:
    import pandas as pd

STEMS = ("sets", "reps", "steps", "starts", "minutes", "timeseries")
"""The tables of a result besides the summary, by file stem."""


def _empty(names: Sequence[str]) -> pa.Table:
    """An empty table with float columns: the tables an activity does not produce."""
    return arrow.table({c: np.empty(0) for c in names})


NONE = arrow.table({})
"""The table of a stem that does not apply (no columns)."""


@dataclass
class AnalysisResult:
    """Everything one session yields: the contract's tables plus extras, and their provenance.

    The tables are held as Arrow tables (:attr:`arrow`, as the pipelines made them) and the
    summary as one row (:attr:`row`); ``summary``, ``sets``, ``reps``, ``steps``, ``starts``,
    ``minutes`` and ``timeseries`` are DataFrames made on first use (pandas is imported only
    then), with the documented column types (docs/formats.md; :func:`imu.io.store.conform`):
    counts int64, ``started_at`` a UTC pandas Timestamp, flags bool. The terminal report is
    :func:`imu.render.terminal.render`; :meth:`write` stores the tables through
    :func:`imu.io.store.write_session`; neither needs pandas.
    """

    row: dict[str, Any]
    """The summary row (contract section 3), as the analysis made it."""
    arrow: dict[str, pa.Table] = field(default_factory=dict)
    """The other tables by stem (:data:`STEMS`); a missing one, or one without columns, is
    a table the session does not have."""
    session: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """One line each, for the user (``imu analyze`` prints ``imu: warning: ...`` on stderr)."""

    def __repr__(self) -> str:
        s = self.record
        started = s.get("started_at")
        when = started.strftime("%Y-%m-%d %H:%M UTC") if isinstance(started, datetime) else "-"
        what = str(s.get("activity", "?"))
        if isinstance(s.get("exercise"), str) and s.get("exercise"):
            what += f" ({s['exercise']})"
        head = f"<AnalysisResult session {s.get('session_id', '?')}: {what}, {when}"
        duration = s.get("duration_s")
        if isinstance(duration, float) and np.isfinite(duration):
            head += f", {duration / 60:.1f} min"
        counts = ", ".join(
            f"{name} {len(t)} rows" for name, t in self.arrow_tables().items() if name != "summary"
        )
        return "\n".join([head + ">", f"  tables: {counts}" if counts else "  tables: summary",
                          "  print(imu.report(result)) for the readable report; "
                          "result.write(DIR) stores the tables"])

    @property
    def record(self) -> dict[str, Any]:
        """The summary row with ``started_at`` as a UTC datetime (None when unknown)."""
        started = self.row.get("started_at")
        return self.row | {"started_at": None if started is None else utc(started)}

    @property
    def session_id(self) -> str:
        return str(self.row["session_id"])

    @property
    def activity(self) -> str:
        return str(self.row["activity"])

    def table(self, stem: str) -> pa.Table:
        """Table ``stem`` as an Arrow table (``summary``: its one typed row)."""
        if stem == "summary":
            return typed_table(row_table(self.row), "summary")
        return self.arrow.get(stem, NONE)

    def frame(self, stem: str) -> pd.DataFrame:
        """Table ``stem`` as a DataFrame with the documented column types (imports pandas)."""
        import pandas as pd

        if stem == "summary":
            return conform(pd.DataFrame([self.row]), "summary")
        t = self.table(stem)
        if not t.num_columns:
            return pd.DataFrame()
        return conform(t.to_pandas(), stem)

    summary = cached_property(lambda self: self.frame("summary"))
    sets = cached_property(lambda self: self.frame("sets"))
    reps = cached_property(lambda self: self.frame("reps"))
    steps = cached_property(lambda self: self.frame("steps"))
    minutes = cached_property(lambda self: self.frame("minutes"))
    """Per-minute metrics of a run (empty for strength)."""
    starts = cached_property(lambda self: self.frame("starts"))
    """Starts and restarts of running (empty without running)."""
    timeseries = cached_property(lambda self: self.frame("timeseries"))
    """Pelvis angles and height at 25 Hz, for plots."""

    def provenance(self) -> dict[str, Any]:
        return provenance(self.parameters, self.session)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The files this session writes, by stem, as DataFrames (:meth:`arrow_tables`)."""
        return {stem: getattr(self, stem) for stem in self.arrow_tables()}

    def arrow_tables(self) -> dict[str, pa.Table]:
        """The files this session writes, by stem, as Arrow tables; strength, gait and run
        tables as they apply (steps whenever the session has any, and for every run)."""
        out = {"summary": self.table("summary")}
        steps, starts, series = self.table("steps"), self.table("starts"), self.table("timeseries")
        if self.activity in ("strength", "mixed"):
            out |= {"sets": self.table("sets"), "reps": self.table("reps")}
        if self.activity != "strength" or steps.num_rows:
            out["steps"] = steps
        if starts.num_rows:
            out["starts"] = starts
        if self.activity != "strength":
            out["minutes"] = self.table("minutes")
        if series.num_rows:
            out["timeseries"] = series
        return out

    def write(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/session=<id>/*.parquet``; the folder appears whole or not at all."""
        return write_session(out_dir, self.session_id, self.arrow_tables(), self.provenance())


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


def s4_gait(raw: RawSession, options: SessionOptions, placement: str | None,
            release: bool = False) -> GaitAnalysis:
    """Stage 4: steps of walking and running, run starts and the sensor's side, on every
    session. ``placement`` is the one given or in the metadata (None: found from the gait).
    A run is analysed on every sample (its 25 Hz series covers the session); any other
    session on its gait's samples when those are a small share (``GaitAnalysis.cropped_``).
    ``release``: ``raw`` is handed over (no later stage needs its samples): the stage lets
    each array go after its last use (``GaitAnalysis.analyze(release_samples=True)``)."""
    whole = {"max_gait_share": 0.0} if options.activity == "run" else {}
    return GaitAnalysis(placement=placement, sensor_offset_m=options.sensor_offset_m,
                        **whole).analyze(raw, sampling_rate_hz=options.sample_rate_hz,
                                         release_samples=release)


def s5_strength(raw: RawSession | InternalGrid, options: SessionOptions, placement: str,
                gait: GaitAnalysis | None = None) -> StrengthAnalysis:
    """Stage 5: the strength stages (sets, reps, calibration per mounting), on the raw session
    or on the internal grid their first stage made of it (:func:`strength_grid`), with the
    walking and running bouts the gait stage found (one bout detection per session; None:
    the strength stages detect them on their grid)."""
    bouts = None if gait is None else gait.gait_bouts_.bouts_
    return _strength(options, placement).analyze(raw, sampling_rate_hz=options.sample_rate_hz,
                                                 gait_bouts=bouts)


def strength_grid(raw: RawSession, options: SessionOptions) -> InternalGrid:
    """The strength stages' first stage alone: the raw samples as box means on their ~50 Hz
    grid (:meth:`~imu.pipeline.strength.StrengthAnalysis.s1_time_base`), so that the 200 Hz
    samples can go before the other strength stages run (:func:`analyze`)."""
    return _strength(options, None).s1_time_base(raw, options.sample_rate_hz).grid


def _strength(options: SessionOptions, placement: str | None,
              carried_up: tuple[float, float, float] | None = None) -> StrengthAnalysis:
    offset = None if options.sensor_offset_m is None else tuple(options.sensor_offset_m)
    cal = None if carried_up is None else NeutralCalibration(carried_up=carried_up)
    return StrengthAnalysis(exercise=options.exercise, trunk_length_m=options.trunk_length_m,
                            sensor_offset_m=offset, placement=placement, calibration=cal)


def s6_form(reps: pa.Table) -> tuple[pa.Table, FormBreakDetector]:
    """Stage 6: the reps with their ``form_break`` flag and ``form_reason``."""
    form = FormBreakDetector()
    flags, reasons = np.zeros(0, dtype=bool), np.zeros(0, dtype=object)
    if reps.num_rows:
        form.detect(reps)
        flags, reasons = form.form_break_, form.reasons_
    reps = reps.append_column("form_break", arrow.array(np.asarray(flags, dtype=bool)))
    return reps.append_column("form_reason", arrow.array(reasons, pa.string())), form


def s7_summary(
    raw: RawSession | SampleFacts,
    options: SessionOptions,
    activity: str,
    placement: str,
    sets: pa.Table,
    reps: pa.Table,
    gait: GaitAnalysis,
    strength: dict[str, Any] | None,
) -> dict[str, Any]:
    """Stage 7: the summary row (contract section 3; extras after the contract's columns).
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


def s8_result(raw: RawSession | SampleFacts, summary: dict[str, Any],
              tables: dict[str, pa.Table], parameters: dict[str, Any], warnings: list[str]
              ) -> AnalysisResult:
    """Stage 8: the result (tables, provenance, warnings)."""
    meta = dict(raw.meta)
    meta.setdefault("session_id", raw.session_id)
    return AnalysisResult(summary, dict(tables), session=meta, parameters=parameters,
                          warnings=warnings)


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
    if isinstance(source, (str, os.PathLike)):
        peek = peek_raw(source)
        kind = _long_kind(peek, given)
        result = (analyze_windowed(source, given) if kind == "run" else
                  analyze_segmented(source, given, peek) if kind == "strength" else None)
        if result is not None:
            return result
    raw: RawSession | None = s2_load(source)
    assert raw is not None
    options, detected = s3_resolve(raw, given)
    facts = raw.facts()
    # a file's samples go once the last stage that needs them has run (memory: docs/scale.md):
    # the strength stages' ~50 Hz grid is made first, then the gait stage has the samples
    # to itself; given in memory, they stay with the caller anyway
    reload = isinstance(source, (str, os.PathLike))
    grid: InternalGrid | InputError | None = None
    if reload:
        raw = replace(raw, seq=None)  # the counter has told its lost samples
        if options.activity == "strength" or detected:
            try:
                grid = strength_grid(raw, options)
            except InputError as exc:  # raised where the strength stages run (below)
                grid = exc
    given_placement = given["placement"] or raw.meta.get("placement")
    gait = s4_gait(raw, options, given_placement, release=reload)
    if reload:
        raw = None  # released by the gait stage
    if detected:  # from the bouts the gait stage found (detected once, not twice)
        options = replace(options, activity=activity_of_bouts(gait.gait_bouts_,
                                                              options.sample_rate_hz))
    parameters: dict[str, Any] = options.parameters()
    parameters["gait"] = _params(gait)
    has_steps, running, where, warnings, gait_tables = _from_gait(gait, options, given_placement)
    tables: dict[str, pa.Table] = {
        "sets": _empty(columns(SETS)), "reps": _empty(REPS_CONTRACT_COLUMNS),
        **gait_tables, "minutes": NONE, "timeseries": NONE,
    }
    act = options.activity
    strength = None
    if act == "strength" or detected:
        try:
            if isinstance(grid, InputError):
                raise grid
            data = grid if grid is not None else raw
            assert data is not None
            strength = s5_strength(data, options, where, gait)
            del data, grid
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
        gait = s4_gait(raw, replace(options, activity="run"), given_placement)
        parameters["gait"] = _params(gait)
        has_steps, running, where, warnings, gait_tables = _from_gait(gait, options,
                                                                      given_placement)
        tables |= gait_tables
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
    summary = s7_summary(facts, options, act, where, tables["sets"], tables["reps"], gait,
                         strength_summary)
    return s8_result(facts, summary, tables, parameters, warnings)


def _long_kind(peek: tuple[dict[str, Any], int, float | None] | None, given: dict[str, Any]
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
    parameters["gait"] = _params(gait)
    parameters["gait_windows"] = {"window_s": window_s, "overlap_s": overlap_s,
                                  "windows": len(windows.windows_)}
    _, _, where, warnings, gait_tables = _from_gait(gait, options, given_placement)
    tables: dict[str, pa.Table] = {
        "sets": _empty(columns(SETS)), "reps": _empty(REPS_CONTRACT_COLUMNS), **gait_tables,
        "minutes": gait.minutes_, "timeseries": gait.timeseries_,
    }
    facts = scan.facts
    summary = s7_summary(facts, options, "run", where, tables["sets"], tables["reps"], gait,
                         None)
    return s8_result(facts, summary, tables, parameters, warnings)


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
        raw = RawSession(t, acc, gyr, None, stub.meta, checked=True)
        try:
            grid = strength_grid(raw, options)
            gait = GaitAnalysis(placement=state["place"], sensor_offset_m=options.sensor_offset_m)
            part = gait.analyze_window(raw, fs, release_samples=True)
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
            st = _strength(options, state["place"], state.get("up")).analyze(
                grid, fs, gait_bouts=gb.bouts_)
            last = st.diagnostics_["mountings"][-1]  # its neutral goes on into the next
            state["up"] = (last["ux"], last["uy"], last["uz"])
            del st.bouts_, st.diagnostics_  # per sample: what the joined tables do not need
            strengths.append(st)
        except InputError:  # e.g. no neutral reference in this segment: one piece
            state["ok"] = False
        except (pa.ArrowException, OSError) as exc:  # a fault of the analysis, not the file's
            raise RuntimeError(f"segment analysis failed: {exc!r}") from exc
        release_free_memory()

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
    _, running, where, warnings, gait_tables = _from_gait(gait, options, given_placement)
    if detected and not strength.sets_.num_rows and running:
        return None  # a run after all: its gait on every sample, in one piece
    act = "mixed" if running and strength.sets_.num_rows else "strength"
    parameters: dict[str, Any] = options.parameters()
    parameters |= {"gait": _params(gait), "strength": _params(strength),
                   "segments": {"segment_s": segment_s,
                                "cuts_s": [c / fs for c in cutter.cuts_]}}
    reps, form = s6_form(strength.reps_)
    parameters["form_break"] = _params(form)
    tables: dict[str, pa.Table] = {
        "sets": strength.sets_, "reps": reps, **gait_tables,
        "minutes": gait.minutes_ if act != "strength" else NONE,
        "timeseries": strength.timeseries_}
    strength_summary = dict(strength.summary_) | rep_stats(reps)
    summary = s7_summary(scan.facts, options, act, where, tables["sets"], tables["reps"], gait,
                         strength_summary)
    return s8_result(scan.facts, summary, tables, parameters, warnings)


def _from_gait(gait: GaitAnalysis, options: SessionOptions, given_placement: str | None
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


def _params(algo: Any) -> dict[str, Any]:
    """JSON-friendly parameters of an algorithm (provenance)."""
    return jsonable(algo.get_params())
