"""What the gait analysis of a session is made of when it runs in stretches (docs/scale.md):
the session's decisions a window takes from its first (:class:`GaitConstants`), where a
window sits on the session's grid (:class:`WindowPlace`), what each stretch leaves
(:class:`GaitWindow`), their joining (:func:`join_windows`) and the session's tables and
summary from them (:func:`gait_tables`, stage 8 of :mod:`imu.pipeline.gait`). A session in one
piece is one stretch: the same functions, the same numbers. Also stage 1, the grid
(:func:`gait_grid`), and the placement used with its warning (:func:`placement_used`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from imu.core import arrow
from imu.core.arrow import column
from imu.core.rotation import Rotation
from imu.core.schema import STEPS
from imu.core.session import RawSession
from imu.metrics.gait import (
    cadence_per_bout,
    empty_minutes,
    minutes_by_running_time,
    run_summary,
    starts_summary,
    stride_ranges,
    walk_summary,
)
from imu.metrics.timeseries import timeseries_nearest
from imu.pipeline.gait_events import step_bouts, step_columns
from imu.pipeline.run_starts import run_starts
from imu.pipeline.running import obliquity_neutral
from imu.pipeline.signals import (
    at_times,
    grid_times_of,
    lowpass,
    segment_mean,
    segment_min,
    uniform_grid,
)

if TYPE_CHECKING:
    from imu.pipeline.gait import GaitAnalysis

Array = NDArray[np.float64]


@dataclass(frozen=True)
class GaitConstants:
    """A session's gait decisions (:meth:`~imu.pipeline.gait.GaitAnalysis.constants_`): fitted
    on its first window when it is analysed in windows (:mod:`imu.pipeline.gait_windows`) and
    kept for the others, so that every window has the same pelvis frame, sensor side and
    rotation zero."""

    gyro_bias_dps: Array | None
    up_sensor: Array
    mounting: Rotation | None
    fwd: Array | None
    heading_rad: float
    offset_m: Array
    standing: bool
    """An opening standing gave the neutral (else the obliquity is levelled over the gait)."""
    calibration: str
    placement: str
    placement_detected: str | None
    lateral_offset_m: float
    braking_evidence: float
    handedness_check: float
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class WindowPlace:
    """Where a window's samples sit on its session's uniform grid (windowed analysis,
    :mod:`imu.pipeline.gait_windows`): the session's grid starts at ``t0_s``, ends at
    ``t_last_s`` and has ``n`` samples; the window holds grid samples ``[first, stop)`` and
    reports those in ``core`` = ``[a, b)``; ``complete``: the session misses no sample (its
    rows are its grid). The orientation filter starts from ``vqf_state`` (None: afresh) and
    keeps its state at sample ``next_first``, where the next window starts; the rotation is
    unwrapped on from ``rotation_deg``."""

    t0_s: float
    t_last_s: float
    n: int
    first: int
    stop: int
    core: tuple[int, int]
    complete: bool
    vqf_state: dict[str, Any] | None = None
    next_first: int | None = None
    rotation_deg: float | None = None
    """The pelvis rotation at the window's first sample, unwrapped by the window before."""

    def times(self, fs: float) -> Array:
        """The window's grid times: the session's
        (:func:`~imu.pipeline.signals.grid_times_of`), the same numbers."""
        return grid_times_of(self.t0_s, np.arange(self.first, self.stop), fs)


@dataclass
class GaitWindow:
    """What one stretch of samples leaves for its session's tables (:func:`join_windows`):
    the steps whose contact lies in its core (``STEPS`` columns but ``bout_cadence_spm``; the
    drop not yet levelled), whether each ends its bout, the obliquity at each contact, the
    braking per step, the strides that start in the core, the 25 Hz rows of the core, the
    walking samples of the core, the side cues used, and its notes."""

    cols: dict[str, NDArray[Any]] | None
    last: NDArray[np.bool_]
    obliquity_at_contact: Array
    braking_g: Array
    strides: dict[str, NDArray[Any]]
    timeseries: pa.Table
    walking_samples: int
    side_source: str
    has_gyro: bool
    notes: list[str]


def stretch_window(
    t: Array, fs: float, ic: Array, to: Array, is_run: NDArray[np.bool_],
    valid: NDArray[np.bool_], side: NDArray[np.str_], angles: Array, height: Array,
    obl_ic: Array, acc: Array, forward: Array | None, lowpass_hz: float,
    walking: NDArray[np.bool_], side_source: str, has_gyro: bool, notes: list[str],
    place: WindowPlace | None,
) -> GaitWindow:
    """What a stretch of samples (grid times ``t``) leaves for the session's tables: its steps
    (contacts ``ic``, toe-offs ``to`` in fractional samples, their gait and side), strides,
    braking (the fore-aft axis ``forward`` of the sensor frame, None without a pelvis frame)
    and 25 Hz rows from its pelvis ``angles`` and ``height``; of a window (``place``) those
    whose contact or sample lies in its core."""
    a, b = (0, t.size) if place is None else (place.core[0] - place.first,
                                              place.core[1] - place.first)
    cols = step_columns(t, fs, ic, to, is_run, valid, side, angles[:, 1], height)
    n_steps = 0 if cols is None else ic.size
    last = step_bouts(ic, is_run, valid, fs)[1] if n_steps else np.zeros(0, bool)
    braking = np.empty(0)
    if cols is not None:
        braking = braking_per_step(cols, acc, t, fs, forward, lowpass_hz)
    run_cols = arrow.empty(STEPS) if cols is None else {  # the strides of the running
        k: v[cols["gait"] == "run"] for k, v in cols.items()}
    strides = stride_ranges(run_cols, t, angles[:, 0], angles[:, 2])
    window = None if place is None else (place.t0_s, place.t_last_s, place.n, place.first,
                                         *place.core)
    series = timeseries_nearest(t, angles, height, fs, window)
    if place is not None and cols is not None:  # the core's steps and the strides they start
        core = (ic >= a) & (ic < b)
        in_core = np.isin(strides["start_s"], cols["contact_s"][core])
        strides = {k: v[in_core] for k, v in strides.items()}
        cols = {k: v[core] for k, v in cols.items()}
        obl_ic, last, braking = obl_ic[core], last[core], braking[core]
        n_steps = int(core.sum())
    return GaitWindow(cols=cols if n_steps else None, last=last, obliquity_at_contact=obl_ic,
                      braking_g=braking, strides=strides, timeseries=series,
                      walking_samples=int(np.count_nonzero(walking[a:b])),
                      side_source=side_source, has_gyro=has_gyro, notes=notes)


def braking_per_step(cols: dict[str, NDArray[Any]], acc: Array, t: Array, fs: float,
                     forward: Array | None, lowpass_hz: float) -> Array:
    """Per running step the stance-mean minus stance-minimum fore-aft specific force (the
    braking peak, low-passed at ``lowpass_hz``), g; NaN for the other steps (all NaN without
    the fore-aft axis)."""
    out = np.full(cols["gait"].size, np.nan)
    is_run = cols["gait"] == "run"
    if forward is None or not is_run.any():
        return out
    a_fwd = lowpass(acc @ forward, lowpass_hz, fs)
    i0, i1 = (np.clip(np.round((cols[c][is_run] - t[0]) * fs).astype(np.int64), 0,
                      t.size - 1) for c in ("contact_s", "toe_off_s"))
    i1 = np.maximum(i1, i0)
    out[is_run] = segment_mean(a_fwd, i0, i1) - segment_min(a_fwd, i0, i1)
    return out


class Joined(NamedTuple):
    """The stretches of a session joined (:func:`join_windows`)."""

    cols: dict[str, NDArray[Any]] | None
    strides: dict[str, NDArray[Any]]
    braking: Array
    series: pa.Table
    walking_samples: int
    side_sources: list[str]


def join_windows(parts: list[GaitWindow], standing: bool) -> Joined:
    """The session's steps, strides, braking and 25 Hz rows from its stretches in order (one:
    the whole session): steps and bouts numbered over the session (a bout going on across a
    window's edge stays one bout) and, when no standing gave the neutral (``standing``
    False), the obliquity levelled once by its median at the running contacts (else all
    contacts; :func:`~imu.pipeline.running.obliquity_neutral`, taken after the fact: the
    drop is a maximum of the obliquity less that constant, the same numbers)."""
    got = [p for p in parts if p.cols is not None]
    cols: dict[str, NDArray[Any]] | None = None
    series = pa.concat_tables([p.timeseries for p in parts]) if len(parts) > 1 else (
        parts[0].timeseries)
    if got:
        cols = {k: np.concatenate([p.cols[k] for p in got]) for k in got[0].cols}  # type: ignore[index]
        obl = np.concatenate([p.obliquity_at_contact for p in got])
        if len(got) > 1:  # the bouts and steps numbered over the session
            bouts = [p.cols["bout"] for p in got]  # type: ignore[index]
            new = np.concatenate([np.r_[True, b[1:] != b[:-1]] for b in bouts])
            ends = np.cumsum([b.size for b in bouts])[:-1]
            new[ends] = np.concatenate([p.last for p in got])[ends - 1]
            cols["bout"] = (np.cumsum(new) - 1).astype(np.int64)
            cols["step"] = np.arange(1, cols["bout"].size + 1, dtype=np.int64)
        if not standing and np.isfinite(obl).any():  # the neutral from the gait
            m = obliquity_neutral(obl, cols["gait"] == "run")
            drop, side = cols["pelvic_drop_deg"], cols["side"]
            cols["pelvic_drop_deg"] = np.where(side == "L", drop - m,
                                               np.where(side == "R", drop + m, drop))
            at = series.schema.get_field_index("obliquity_deg")
            series = series.set_column(at, "obliquity_deg", arrow.array(
                column(series, "obliquity_deg", float) - m))
    strides = {k: np.concatenate([p.strides[k] for p in parts]) for k in parts[0].strides}
    braking = np.concatenate([p.braking_g for p in got]) if got else np.empty(0)
    sources = list(dict.fromkeys(x for p in got for x in p.side_source.split(", ") if x))
    return Joined(cols, strides, braking, series, sum(p.walking_samples for p in parts),
                  sources)


class GaitTables(NamedTuple):
    """A session's gait tables and summary (:func:`gait_tables`)."""

    steps: pa.Table
    bouts: pa.Table
    starts: pa.Table
    summary: dict[str, Any]
    minutes: pa.Table
    timeseries: pa.Table


def gait_tables(
    cols: dict[str, NDArray[Any]] | None, strides: dict[str, NDArray[Any]], braking: Array,
    series: pa.Table, walking_s: float, has_gyro: bool, notes: list[str], gait: GaitAnalysis,
) -> GaitTables:
    """The tables and the summary from the steps' columns (None: no steps), the strides'
    ranges (:func:`~imu.metrics.gait.stride_ranges`), the braking per step, the 25 Hz series,
    the walking time and the analysis's decisions (``gait``: placement, calibration, side
    source, pelvis frame; its run-start parameters)."""
    steps = run = arrow.empty(STEPS)
    bouts = cadence_per_bout(steps if cols is None else cols)
    run_braking = np.empty(0)
    if cols is not None:  # the cadence of each step's bout (walking: the one asked for)
        at = np.searchsorted(column(bouts, "bout"), cols["bout"])
        cols["bout_cadence_spm"] = column(bouts, "cadence_spm")[at]
        steps = arrow.table(cols, STEPS)
        is_run = cols["gait"] == "run"
        run = arrow.table({k: v[is_run] for k, v in cols.items()}, STEPS)
        run_braking = braking[is_run]
    starts = run_starts(steps, gait.restart_gap_s, gait.half_step_ratio)
    n_run = run.num_rows
    summary: dict[str, Any] = run_summary(run, strides=strides)
    if not has_gyro and gait.placement_ != "sacrum" and n_run:
        summary["gct_balance_left_pct"] = float("nan")
        notes.append("no gyroscope on a hip: no contact-time balance (the hip's own rise and "
                     "fall in each stance, not the runner, would make an asymmetry)")
    summary |= walk_summary(steps, bouts) if steps.num_rows else {
        "walk_steps": 0, "walk_cadence_spm": float("nan")}
    summary |= starts_summary(starts)
    flight = column(run, "flight_ms", float)
    summary |= {
        "gyro_present": has_gyro,
        "calibration": gait.calibration_,
        "placement_detected": gait.placement_detected_ or "",
        "sensor_lateral_offset_cm": 100.0 * gait.lateral_offset_m_,
        "side_source": gait.side_source_ if steps.num_rows else "no steps",
        "n_steps": n_run,
        "running_time_s": float(np.nansum(column(run, "step_s", float))) if n_run else 0.0,
        "walking_time_s": walking_s,
        "first_contact_s": float(column(run, "contact_s", float)[0]) if n_run
        else float("nan"),
        "flight_ms": float(np.nanmean(flight)) if (~np.isnan(flight)).any()
        else float("nan"),
        "braking_peak_g": float(np.nanmean(run_braking))
        if gait.mounting_ is not None and n_run else float("nan"),
    }
    if not n_run:
        notes.insert(0, "no running found: no steps with a flight phase")
    else:
        notes.append(f"{n_run} running steps in {summary['running_time_s']:.0f} s")
    summary["note"] = "; ".join(notes)
    minutes = minutes_by_running_time(run) if n_run else empty_minutes()
    return GaitTables(steps, bouts, starts, summary, minutes, series)


def gait_grid(raw: RawSession, fs: float, max_gap_s: float, place: WindowPlace | None = None,
              ) -> tuple[float, Array, Array | None, NDArray[np.bool_]]:
    """Stage 1 of the gait analysis: the grid's first time (its times:
    :func:`~imu.pipeline.signals.grid_times`), specific force and angular rate on the uniform
    grid and the valid samples (none missing for longer than ``max_gap_s``). A window
    (``place``) is put on its session's grid: its samples hold one before and one after its
    grid points."""
    t_in = np.asarray(raw.t_s, dtype=float)
    acc_in = np.asarray(raw.acc_g, dtype=float)
    gyr_in = None if raw.gyr_dps is None else np.asarray(raw.gyr_dps, dtype=float)
    if place is not None:
        if place.complete:  # the session misses no sample: its rows are its grid
            return place.t0_s, acc_in, gyr_in, np.ones(t_in.size, bool)
        t = place.times(fs)
        acc = at_times(t, t_in, acc_in)
        gyr = None if gyr_in is None else at_times(t, t_in, gyr_in)
    elif int(round((t_in[-1] - t_in[0]) * fs)) + 1 == t_in.size:  # no sample missing
        return float(t_in[0]), acc_in, gyr_in, np.ones(t_in.size, bool)
    else:
        t, acc = uniform_grid(t_in, acc_in, fs)  # each sensor alone: no (N, 6) copy
        gyr = None if gyr_in is None else uniform_grid(t_in, gyr_in, fs)[1]
        if acc is acc_in:
            return float(t[0]), acc, gyr, np.ones(t.size, dtype=bool)
    j = np.clip(np.searchsorted(t_in, t), 1, t_in.size - 1)
    valid = (t_in[j] - t_in[j - 1]) <= max_gap_s + 0.5 / fs
    return float(t[0]), acc, gyr, valid


def _words(placement: str | None) -> str:
    return {"left_hip": "left hip", "right_hip": "right hip", "sacrum": "sacrum"}.get(
        placement or "", "?")


def placement_used(given: str | None, found: str | None, lateral_offset_m: float,
                   has_steps: bool) -> tuple[str, str | None]:
    """The placement the gait analysis uses: the one given, else the one the gait shows, else
    ``left_hip``; and the warning the user gets about it (None: none)."""
    if given is None:
        if not has_steps:  # without gait there is nothing to tell nor to analyse
            return found or "left_hip", None
        return found or "left_hip", (
            f"no placement given: the gait says the sensor is on the {_words(found)}, "
            "analysed as such" if found else
            "no placement given and the gait cannot tell it: analysed as left_hip "
            "(give --placement)")
    if found is not None and found != given:
        return given, (f"placement {given} given, but the gait says the sensor is on the "
                       f"{_words(found)} (lateral offset {100 * lateral_offset_m:+.0f} cm); "
                       f"analysed as {given}")
    return given, None
