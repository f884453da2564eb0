"""Gait analysis of any session: walking and running steps, their events and sides, pelvis
motion, run starts and the sensor's side (docs/running.md).

A stage the orchestrator runs on every session, whatever else it holds; it needs neither a
gyroscope nor a standing start, at any rate from 50 to 1000 Hz. Stages (numbered as in
docs/running.md; each is a function or algorithm a reader can run alone):

1. The samples on a uniform grid (:func:`imu.pipeline.signals.uniform_grid`); grid points in a
   time gap longer than ``max_gap_s`` (lost samples) are not data: no event there.
2. Bouts (:class:`imu.pipeline.gait_bouts.GaitBouts`): walking and running per sample and "up"
   from the mean specific force over whole strides.
3. Calibration: the opening quiet standing when there is one
   (:class:`imu.pipeline.calibration.StandingCalibration`: gyroscope bias, up, neutral), else
   the gait (``calibration = "gait"``: up from the strides, the gyroscope bias from
   :func:`imu.pipeline.running.gait_gyro_bias`, neutral obliquity = its median at contacts).
4. Orientation (gyroscope only, :func:`imu.pipeline.running.vqf_orientation`) and the vertical
   specific force ``f_v`` of the sensor: earth-up from the orientation, else ``GaitBouts.up_``.
5. Events (:mod:`imu.pipeline.gait_events`): running steps from the stance pulses, walking
   steps from the loading peaks.
6. Pelvis frame from the gait (:func:`imu.pipeline.stance_side.forward_axis`; its data, the
   horizontal force at ~50 Hz, taken before the orientation so that the bouts' per-sample "up"
   can go), the sensor's lateral offset and so its side
   (:func:`imu.pipeline.stance_side.lateral_offset_m`, gyroscope only), then the pelvis
   centre (:func:`imu.pipeline.running.pelvis_centre_fv`) and the events again on the
   centre's ``f_v``.
7. Stance sides (:func:`imu.pipeline.stance_side.side_scores`, ``alternating_sides``).
8. Vertical oscillation, pelvis angles and drop per step; bouts of steps and cadence; run
   starts; summary (:mod:`imu.metrics.gait`).
"""

from __future__ import annotations

import copy
from typing import Any, Self

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from imu.core import arrow
from imu.core.arrow import column
from imu.core.errors import InputError
from imu.core.rotation import Rotation
from imu.core.schema import STEPS
from imu.core.session import RawSession
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M, PLACEMENTS
from imu.metrics.gait import (
    cadence_per_bout,
    empty_minutes,
    minutes_by_running_time,
    run_summary,
    starts_summary,
    walk_summary,
)
from imu.metrics.timeseries import timeseries_nearest
from imu.pipeline.base import AnalysisAlgorithm
from imu.pipeline.calibration import StandingCalibration
from imu.pipeline.dsp import maximum_filter1d
from imu.pipeline.gait_bouts import GaitBouts, gait_samples, spread
from imu.pipeline.gait_events import (
    RunEvents,
    WalkEvents,
    merge_events,
    step_columns,
    step_ranges,
    walk_toe_off,
    window_std,
)
from imu.pipeline.pelvis import mounting_from_axes
from imu.pipeline.run_starts import run_starts
from imu.pipeline.running import (
    double_integrate,
    gait_gyro_bias,
    level_obliquity,
    lever_vertical_m_s2,
    pelvis_angles,
    pelvis_centre_fv,
    vertical_force,
    vqf_orientation,
    z_blocks,
)
from imu.pipeline.signals import (
    grid_times,
    lowpass,
    segment_mean,
    segment_min,
    uniform_grid,
)
from imu.pipeline.stance_side import (
    SIDE_CUES,
    HorizontalForce,
    alternating_sides,
    forward_axis,
    horizontal_force,
    lateral_offset_m,
    side_scores,
)

Array = NDArray[np.float64]


class GaitAnalysis(AnalysisAlgorithm):
    """Steps (walking and running), run starts, pelvis motion and the gait summary of a session
    (module docstring).

    The options are this algorithm's own parameters: the orchestrator resolves them
    (:func:`imu.analysis.analyze`). ``placement`` None means "not given": the side found from
    the gait is used (``left_hip`` when none can be found), with a warning in ``warnings_``;
    a given placement that disagrees with the gait is kept, with a warning.

    Parameters
    ----------
    placement
        ``left_hip`` | ``right_hip`` | ``sacrum`` or None (not given).
    sensor_offset_m
        Sensor position relative to the pelvis centre, pelvis frame (forward, left, up),
        metres; overrides the placement's default offset.
    bouts, walk_events, run_events, calibration
        Sub-algorithms (instances, cloned before use); None = the defaults ``GaitBouts()``,
        ``WalkEvents()``, ``RunEvents()``, ``StandingCalibration()``.
    lowpass_hz
        Low-pass of the pelvis-centre ``f_v``.
    highpass_hz
        Drift removal of the double integration (vertical oscillation).
    max_gap_s
        Grid points in a time gap longer than this are not data.
    side_cues
        Side cues in order of preference (``sway``, ``yaw``, ``ml``); the first the recording
        has decides.
    side_half_window
        Neighbours on each side in the alternating side vote.
    hip_offset_m
        A lateral offset found from the gait beyond +-this is a hip (left positive); within
        half of it, the sacrum; in between, undecided.
    min_braking_evidence
        With weaker braking evidence for the forward sign (correlation, 0..1), the gyroscope
        decides it: the pelvis sways and turns towards the stance side together.
    restart_gap_s, half_step_ratio
        Run starts: running that follows this long without a running step is a (re)start;
        its first step is a half-step when shorter than ``half_step_ratio`` x the bout's median
        step time.
    still_sd_g
        A stance pulse after 0.65 s of ``f_v`` steadier than this (standard deviation), with
        no step and no flight before it, is the push-off of a start from standing, not a
        contact.
    gait_margin_s, max_gait_share
        When the walking and running with this margin either side (and the opening standing)
        are less than this share of the session (a workout's walks between sets), the
        orientation, events, sides and pelvis angles are computed on those samples only
        (``cropped_``; NaN angles elsewhere); else on the whole session (0: always).

    Results
    -------
    steps_
        One row per step: ``imu.core.schema.STEPS`` (an Arrow table, as every table here).
    bouts_
        One row per bout of steps: ``bout``, ``gait``, ``start_s``, ``end_s``, ``n_steps``,
        ``cadence_spm`` (:func:`imu.metrics.gait.cadence_per_bout`).
    starts_
        One row per start of running: ``imu.core.schema.STARTS``.
    summary_
        The gait summary fields (run metrics over running steps, walking, starts, calibration,
        ``gyro_present``, ``placement_detected`` and extras; docs/formats.md).
    minutes_
        Per-minute table of the running (:func:`imu.metrics.gait.minutes_by_running_time`).
    timeseries_
        Pelvis angles and centre height at 25 Hz (NaN angles without a gyroscope).
    warnings_
        One line each: what the user should know (placement disagreement or guess).
    placement_, placement_detected_, lateral_offset_m_
        The placement the analysis used, the one found from the gait (None when it cannot be
        told) and the lateral offset fitted (m, NaN without).
    calibration_
        ``opening_standing`` or ``gait``: where up and neutral came from.
    mounting_
        Pelvis <- sensor rotation from up and the gait (None with fewer than 4 steps).
    braking_evidence_, handedness_check_
        How clearly braking shows the forward sign (0..1) and how well the sway and turn cues
        agree on the sides in the pelvis frame used (> 0: they agree; NaN without the
        gyroscope). The sensor's side is told only when they agree.
    side_source_
        The side cue used, or why there is none.
    gait_bouts_
        The fitted :class:`~imu.pipeline.gait_bouts.GaitBouts`, its per-sample ``up_`` and
        ``fv_`` released once used (``release_signals``: memory bounded, docs/scale.md).
    cropped_
        Whether the per-sample stages ran on the gait's samples only (``max_gait_share``).
    """

    def __init__(
        self,
        placement: str | None = None,
        sensor_offset_m: tuple[float, float, float] | None = None,
        bouts: GaitBouts | None = None,
        walk_events: WalkEvents | None = None,
        run_events: RunEvents | None = None,
        calibration: StandingCalibration | None = None,
        lowpass_hz: float = 25.0,
        highpass_hz: float = 0.5,
        max_gap_s: float = 0.1,
        side_cues: tuple[str, ...] = SIDE_CUES,
        side_half_window: int = 4,
        hip_offset_m: float = 0.08,
        min_braking_evidence: float = 0.3,
        restart_gap_s: float = 2.0,
        half_step_ratio: float = 0.8,
        still_sd_g: float = 0.05,
        gait_margin_s: float = 10.0,
        max_gait_share: float = 0.5,
    ) -> None:
        self.placement = placement
        self.sensor_offset_m = sensor_offset_m
        self.bouts = bouts
        self.walk_events = walk_events
        self.run_events = run_events
        self.calibration = calibration
        self.lowpass_hz = lowpass_hz
        self.highpass_hz = highpass_hz
        self.max_gap_s = max_gap_s
        self.side_cues = side_cues
        self.side_half_window = side_half_window
        self.hip_offset_m = hip_offset_m
        self.min_braking_evidence = min_braking_evidence
        self.restart_gap_s = restart_gap_s
        self.half_step_ratio = half_step_ratio
        self.still_sd_g = still_sd_g
        self.gait_margin_s = gait_margin_s
        self.max_gait_share = max_gait_share

    # -- main action ------------------------------------------------------------------------
    def analyze(self, raw: RawSession, sampling_rate_hz: float | None = None,
                release_samples: bool = False) -> Self:
        """Analyse the gait of a validated raw session (``sampling_rate_hz`` None: its rate).
        ``release_samples``: the caller hands ``raw`` over (:meth:`RawSession.release` once on
        the grid): each array goes with its last use here (memory, docs/scale.md)."""
        fs = float(sampling_rate_hz if sampling_rate_hz is not None else raw.sample_rate_hz)
        if self.placement is not None and self.placement not in PLACEMENTS:
            raise InputError(f"unknown placement {self.placement!r}")
        self.warnings_: list[str] = []
        notes: list[str] = []
        t0, acc, gyr, valid = self._grid(raw, fs)  # 1
        if release_samples:
            raw.release()
        gb = (self.bouts or GaitBouts()).clone().detect(acc, fs, valid=valid)  # 2
        self.gait_bouts_ = gb
        cal = self._calibrate(acc, gyr, fs)  # 3
        # the forward-axis fit's data at ~50 Hz: the bouts' "up" and f_v need not stay
        gait = gb.walking_ | gb.running_
        keep = gait_samples(gait, int(round(self.gait_margin_s * fs)),
                            cal.still_slice_ if cal is not None else None, self.max_gait_share)
        self.cropped_ = keep is not None
        n, acc_all, valid_all = valid.size, acc, valid
        if keep is not None:  # the gait's samples only (the rest is not walked on)
            acc, gyr, valid = acc[keep], None if gyr is None else gyr[keep], valid[keep].copy()
            valid[np.flatnonzero(np.diff(keep) > 1) + [[0], [1]]] = False  # joins: gaps
            gb = gb.take(keep)
            self.gait_bouts_.release_signals()
            if cal is not None:
                cal = copy.copy(cal)
                cal.still_slice_ = slice(*np.searchsorted(keep, [cal.still_slice_.start,
                                                                 cal.still_slice_.stop]).tolist())
            gait = gb.walking_ | gb.running_
        force = horizontal_force(acc, gb.fv_, gb.up_, gait, fs) if gait.any() else None
        r_es, fv_s, up_sensor = self._orientation(acc, gyr, gb, cal, fs)  # 4
        ic, to, is_run = self._events(fv_s, gb, valid, fs, first_pass=True)  # 5
        cues = self._pelvis_frame(acc, gyr, r_es, gb, force, up_sensor, ic, to, is_run, valid,
                                  fs)  # 6
        has_gyro = gyr is not None
        del force, gyr  # the side cues were the gyroscope's last use
        side = self._sides(ic, to, is_run, valid, cues, fs)
        offset = self._placement(fv_s, r_es, ic, side, is_run, fs)
        fv = fv_s
        if r_es is not None and self.mounting_ is not None:  # the pelvis centre, events again
            fv = pelvis_centre_fv(fv_s, r_es, self.mounting_.inv().apply(offset), fs)
        del fv_s
        gb.release_signals()  # "up" and f_v of the bouts have served (memory: docs/scale.md)
        angles = self._angles(r_es, cal, gb, acc.shape[0])  # 8 (the frame is final)
        oriented = r_es is not None
        del r_es  # each per-sample signal is released once used (docs/scale.md)
        ic, to, is_run = self._events(fv, gb, valid, fs)
        if not oriented and self.mounting_ is not None:
            # no gyroscope: in flight the accelerometer reads only the sensor's tangential
            # acceleration from the pelvis turning about up (free fall, no sway)
            lever = np.array([-offset[1], offset[0], 0.0])
            if np.linalg.norm(lever) > 1e-3:
                cues["flight"] = -(acc @ self.mounting_.inv().apply(lever / np.linalg.norm(lever)))
        side = self._sides(ic, to, is_run, valid, cues, fs)  # 7
        del cues
        if cal is None:  # no standing: the obliquity's neutral from the gait
            level_obliquity(angles, ic, is_run)
        height = double_integrate(fv, fs, self.highpass_hz)
        del fv
        if keep is not None:  # back on every sample: the steps' times and the tables
            ic, to = (np.interp(x, np.arange(keep.size), keep) for x in (ic, to))
            angles, height = spread(angles, keep, n), spread(height, keep, n)
            acc, valid = acc_all, valid_all
        if not has_gyro:
            notes.append("no gyroscope: pelvic drop, rotation and tilt not available; vertical "
                         "oscillation is that of the sensor")
        t = grid_times(t0, n, fs)  # made once needed: the steps' and the tables' times
        steps = step_columns(t, fs, ic, to, is_run, valid, side, angles[:, 1], height)
        self._tables(steps, t, fs, angles, height, acc, has_gyro, notes)
        return self

    # -- stages -----------------------------------------------------------------------------
    def _grid(
        self, raw: RawSession, fs: float
    ) -> tuple[float, Array, Array | None, NDArray[np.bool_]]:
        """1. The grid's first time (its times: :func:`grid_times`), specific force and angular
        rate on the uniform grid and the valid samples."""
        t_in = np.asarray(raw.t_s, dtype=float)
        acc_in = np.asarray(raw.acc_g, dtype=float)
        gyr_in = None if raw.gyr_dps is None else np.asarray(raw.gyr_dps, dtype=float)
        if int(round((t_in[-1] - t_in[0]) * fs)) + 1 == t_in.size:  # no sample missing
            return float(t_in[0]), acc_in, gyr_in, np.ones(t_in.size, bool)
        t, acc = uniform_grid(t_in, acc_in, fs)  # each sensor alone: no (N, 6) copy
        gyr = None if gyr_in is None else uniform_grid(t_in, gyr_in, fs)[1]
        if acc is acc_in:
            valid = np.ones(t.size, dtype=bool)
        else:
            j = np.clip(np.searchsorted(t_in, t), 1, t_in.size - 1)
            valid = (t_in[j] - t_in[j - 1]) <= self.max_gap_s + 0.5 / fs
        return float(t[0]), acc, gyr, valid

    def _calibrate(self, acc: Array, gyr: Array | None, fs: float) -> StandingCalibration | None:
        """3. The opening quiet standing if there is one (sets ``calibration_``)."""
        try:
            cal = (self.calibration or StandingCalibration()).clone().calibrate(
                acc, gyr if gyr is not None else np.zeros_like(acc), fs)
        except InputError:
            cal = None
        self.calibration_ = "opening_standing" if cal is not None else "gait"
        return cal

    def _orientation(
        self, acc: Array, gyr: Array | None, gb: GaitBouts, cal: StandingCalibration | None,
        fs: float,
    ) -> tuple[Rotation | None, Array, Array]:
        """4. Orientation (gyroscope and gait only; earth-up in the sensor frame from it block
        by block, :func:`~imu.pipeline.running.z_blocks`), the sensor's vertical specific force
        and the pelvis up axis in the sensor frame (standing, else the mean over the gait)."""
        gait = gb.walking_ | gb.running_
        if gyr is not None and gait.any():
            bias = cal.gyro_bias_dps_ if cal is not None else gait_gyro_bias(gyr, gb.up_, gait)
            gb.release_signals()  # from here on the orientation gives up and f_v
            r_es = vqf_orientation(acc, gyr, fs, bias)
            fv_s, up_mean = vertical_force(r_es, acc, gait)
        else:
            r_es, fv_s = None, gb.fv_
            up_mean = gb.up_[gait].mean(axis=0) if gait.any() else np.array([0.0, 0.0, 1.0])
        up = cal.up_sensor_ if cal is not None else up_mean / np.linalg.norm(up_mean)
        return r_es, fv_s, up

    def _pelvis_frame(
        self, acc: Array, gyr: Array | None, r_es: Rotation | None, gb: GaitBouts,
        force: HorizontalForce | None, up: Array, ic: Array, to: Array, is_run: NDArray[np.bool_],
        valid: NDArray[np.bool_], fs: float,
    ) -> dict[str, Array]:
        """6. The pelvis frame from the gait (sets ``mounting_``, ``braking_evidence_``,
        ``handedness_check_``) and the side cue in it that the stance sides use; ``force``: the
        fit's data (:func:`imu.pipeline.stance_side.horizontal_force`; None without gait)."""
        found = None if force is None else forward_axis(force, ic, to, is_run, fs)
        fwd, self.braking_evidence_ = found if found is not None else (None, float("nan"))
        self.handedness_check_ = float("nan")
        self.mounting_ = None
        if fwd is not None:
            self.mounting_ = mounting_from_axes(up, np.cross(up, fwd))
        cues = self._cues(acc, gyr, r_es, gb, fwd)
        if "sway" in cues and "yaw" in cues and ic.size >= 8:
            # weak braking evidence for the forward sign: the sway and the turn of the pelvis
            # agree on the stance side only for the true left axis
            sc = side_scores({"sway": cues["sway"], "yaw": cues["yaw"]},
                             *step_ranges(ic, is_run, valid, fs))
            self.handedness_check_ = float(np.mean(sc["sway"] * sc["yaw"]))
            if self.handedness_check_ < 0 and self.braking_evidence_ < self.min_braking_evidence:
                self.mounting_ = mounting_from_axes(up, -np.cross(up, fwd))
                cues = {k: -v if k in ("sway", "ml") else v for k, v in cues.items()}
                self.handedness_check_ = -self.handedness_check_
        # the sides use the first cue the recording has (``flight`` may join it later): the
        # others have served
        first = next((c for c in self.side_cues if c in cues), None)
        return {c: cue for c, cue in cues.items() if c == first}

    def _angles(
        self, r_es: Rotation | None, cal: StandingCalibration | None, gb: GaitBouts, n: int,
    ) -> Array:
        """8. Pelvis angles (NaN without the gyroscope). Neutral: the standing, else the gait
        (sagittal: the mean over the strides; obliquity: once the steps are known,
        :func:`~imu.pipeline.running.level_obliquity`)."""
        if r_es is None or self.mounting_ is None:
            return np.full((n, 3), np.nan)
        ref = np.zeros(n, dtype=bool)
        if cal is not None:
            ref[cal.still_slice_] = True
        return pelvis_angles(r_es, self.mounting_, ref if ref.any() else (
            gb.walking_ | gb.running_))

    def _events(
        self, fv: Array, gb: GaitBouts, valid: NDArray[np.bool_], fs: float,
        first_pass: bool = False,
    ) -> tuple[Array, Array, NDArray[np.bool_]]:
        """5. Contacts, toe-offs (fractional sample indices) and gait of the steps, in time order.
        The first pass (on the sensor's ``f_v``) takes the walking steps of the bouts as they
        are (whole samples: they only orient the pelvis frame)."""
        run_ev = (self.run_events or RunEvents()).clone().segment(fv, fs, gb.running_ & valid)
        walk = self.walk_events or WalkEvents()
        if first_pass:
            steps = gb.walk_steps_[valid[gb.walk_steps_]]
            wic = steps - walk.latency_s * fs
            wto = walk_toe_off(wic, fs, walk.ds_ratio, walk.max_step_s)
        else:  # steps without a flight where running starts or ends (half-steps, transitions)
            context = maximum_filter1d((gb.walking_ | ~gb.moving_).astype(np.int8),
                                       max(1, int(3.0 * fs)) | 1) > 0
            walk_ev = walk.clone().segment(
                fv, fs, (gb.walking_ | (gb.running_ & context)) & valid)
            wic, wto = walk_ev.ic_idx_, walk_ev.to_idx_
        ric, rto = run_ev.ic_idx_, run_ev.to_idx_
        # a pulse out of quiet standing (no step in the 0.8 s before, a still signal, no
        # flight) is the push-off of a start, not a contact: the foot was on the ground already
        ok = np.flatnonzero(np.isfinite(ric))
        if ok.size:
            prev = np.sort(np.concatenate([ric[ok], wic]))
            # the step before: at least 0.25 s earlier (a walking peak in the push-off is it)
            j = np.searchsorted(prev, ric[ok] - 0.25 * fs) - 1
            gap = ric[ok] - np.where(j >= 0, prev[np.maximum(j, 0)], -np.inf)
            a = np.clip(np.round(ric[ok] - 0.8 * fs).astype(np.int64), 0, fv.size - 1)
            b = np.clip(np.round(ric[ok] - 0.15 * fs).astype(np.int64), 0, fv.size - 1)
            still = (window_std(fv, a, np.maximum(b, a + 1)) < self.still_sd_g) & (
                b - a >= 0.5 * fs)  # ... seen in the data
            supported = run_ev.base_before_g_[ok] > run_ev.max_flight_g  # not out of a flight
            push = ok[(gap > 0.8 * fs) & still & supported]
            if push.size:  # ... and a loading peak in the push-off is no walking step either
                near = np.abs(wic[:, None] - ric[push][None, :] + 0.3 * fs) <= 0.5 * fs
                wic, wto = wic[~near.any(axis=1)], wto[~near.any(axis=1)]
                ric = ric.copy()
                ric[push] = np.nan
        return merge_events(ric, rto, wic, wto, fs)

    def _placement(
        self, fv_s: Array, r_es: Rotation | None, ic: Array, side: NDArray[np.str_],
        is_run: NDArray[np.bool_], fs: float,
    ) -> Array:
        """The sensor offset (pelvis frame, m) to use; sets ``placement_*`` and warnings."""
        self.lateral_offset_m_ = float("nan")
        self.placement_detected_: str | None = None
        if r_es is not None and self.mounting_ is not None:
            left = self.mounting_.inv().apply([0.0, 1.0, 0.0])
            use = is_run if is_run.sum() >= 20 else np.ones(ic.size, dtype=bool)
            r_y = lateral_offset_m(fv_s, lever_vertical_m_s2(r_es, left, fs), ic[use],
                                   side[use])
            self.lateral_offset_m_ = r_y
            if not (self.handedness_check_ > 0 and abs(r_y) < 0.3):
                pass  # the left axis is not sure (cues disagree) or the fit is implausible
            elif abs(r_y) >= self.hip_offset_m:
                self.placement_detected_ = "left_hip" if r_y > 0 else "right_hip"
            elif abs(r_y) <= 0.5 * self.hip_offset_m:
                self.placement_detected_ = "sacrum"
        given, found = self.placement, self.placement_detected_
        if given is None:
            used = found or "left_hip"
            if ic.size:  # without gait there is nothing to tell nor to analyse
                self.warnings_.append(
                    f"no placement given: the gait says the sensor is on the {_words(found)}, "
                    "analysed as such" if found else
                    "no placement given and the gait cannot tell it: analysed as left_hip "
                    "(give --placement)")
        else:
            used = given
            if found is not None and found != given:
                self.warnings_.append(
                    f"placement {given} given, but the gait says the sensor is on the "
                    f"{_words(found)} (lateral offset {100 * self.lateral_offset_m_:+.0f} cm); "
                    f"analysed as {given}")
        self.placement_ = used
        off = self.sensor_offset_m if self.sensor_offset_m is not None else (
            DEFAULT_SENSOR_OFFSET_M[used])
        return np.asarray(off, dtype=float)

    def _cues(
        self, acc: Array, gyr: Array | None, r_es: Rotation | None, gb: GaitBouts,
        fwd: Array | None,
    ) -> dict[str, Array]:
        """The per-sample side cues of :func:`side_scores` the analysis uses: with the
        gyroscope ``sway`` and ``yaw``; without it ``ml`` where the lateral accelerometer axis
        exists (``flight`` is added once the placement is known)."""
        cues: dict[str, Array] = {}
        if r_es is not None and gyr is not None:
            left = None if self.mounting_ is None else self.mounting_.inv().apply([0.0, 1.0, 0.0])
            if left is not None:
                cues["sway"] = acc @ left
            cues["yaw"] = np.empty(gyr.shape[0])
            for s, z in z_blocks(r_es):  # earth-up, block by block
                if left is not None:
                    cues["sway"][s] -= z @ left
                np.einsum("ij,ij->i", gyr[s], z, out=cues["yaw"][s])
        elif fwd is not None:
            ml = np.cross(gb.up_, fwd)  # the local lateral axis (left)
            missing = np.std(acc, axis=0) < 1e-9
            if not (np.abs(np.cross(gb.up_[gb.walking_ | gb.running_].mean(axis=0), fwd))[
                    missing] > 0.5).any():
                cues["ml"] = np.einsum("ij,ij->i", acc, ml)
        return cues

    def _sides(
        self, ic: Array, to: Array, is_run: NDArray[np.bool_], valid: NDArray[np.bool_],
        cues: dict[str, Array], fs: float,
    ) -> NDArray[np.str_]:
        """Stance side per step (sets ``side_source_``): running steps from the first cue of
        ``side_cues`` the recording has, walking steps from the first but ``flight``."""
        n = valid.size
        a, b, bout = step_ranges(ic, is_run, valid, fs)
        score = np.full(ic.size, np.nan)
        used = []
        for steps, allowed in ((is_run, self.side_cues),
                               (~is_run, [c for c in self.side_cues if c != "flight"])):
            use = [c for c in allowed if c in cues]
            if not steps.any() or not use:
                continue
            if use[0] == "flight":  # the flight part of the step: toe-off to the next contact
                lo = np.clip(np.round(to).astype(np.int64), 0, n - 1)
                sc = side_scores({"flight": cues["flight"]}, np.minimum(lo, b - 1), b, bout)
            else:
                sc = side_scores({use[0]: cues[use[0]]}, a, b, bout)
            score[steps] = sc[use[0]][steps]
            used.append(use[0] + (" (running)" if steps is is_run else " (walking)"))
        if ic.size == 0 or not used:
            self.side_source_ = "no steps" if ic.size == 0 else (
                "no gyroscope and no medio-lateral accelerometer axis")
            return np.full(ic.size, "", dtype=str)
        self.side_source_ = ", ".join(used)
        return alternating_sides(ic / fs, score, self.side_half_window)

    def _tables(
        self, cols: dict[str, NDArray[Any]] | None, t: Array, fs: float, angles: Array,
        height: Array, acc: Array, has_gyro: bool, notes: list[str],
    ) -> None:
        """The tables and the summary from the steps' columns (None: no steps)."""
        steps = run = arrow.empty(STEPS)
        self.bouts_ = cadence_per_bout(steps if cols is None else cols)
        if cols is not None:  # the cadence of each step's bout (walking: the one asked for)
            at = np.searchsorted(column(self.bouts_, "bout"), cols["bout"])
            cols["bout_cadence_spm"] = column(self.bouts_, "cadence_spm")[at]
            steps = arrow.table(cols, STEPS)
            is_run = cols["gait"] == "run"
            run = arrow.table({k: v[is_run] for k, v in cols.items()}, STEPS)
        self.steps_ = steps
        self.starts_ = run_starts(steps, self.restart_gap_s, self.half_step_ratio)
        n_run = run.num_rows
        summary: dict[str, Any] = run_summary(run, t, angles[:, 0], angles[:, 2])
        if not has_gyro and self.placement_ != "sacrum" and n_run:
            summary["gct_balance_left_pct"] = float("nan")
            notes.append("no gyroscope on a hip: no contact-time balance (the hip's own rise and "
                         "fall in each stance, not the runner, would make an asymmetry)")
        summary |= walk_summary(steps, self.bouts_) if steps.num_rows else {
            "walk_steps": 0, "walk_cadence_spm": float("nan")}
        summary |= starts_summary(self.starts_)
        gb = self.gait_bouts_
        flight = column(run, "flight_ms", float)
        summary |= {
            "gyro_present": has_gyro,
            "calibration": self.calibration_,
            "placement_detected": self.placement_detected_ or "",
            "sensor_lateral_offset_cm": 100.0 * self.lateral_offset_m_,
            "side_source": self.side_source_ if steps.num_rows else "no steps",
            "n_steps": n_run,
            "running_time_s": float(np.nansum(column(run, "step_s", float))) if n_run else 0.0,
            "walking_time_s": float(gb.walking_.sum()) / fs,
            "first_contact_s": float(column(run, "contact_s", float)[0]) if n_run
            else float("nan"),
            "flight_ms": float(np.nanmean(flight)) if (~np.isnan(flight)).any()
            else float("nan"),
            "braking_peak_g": self._braking(run, acc, t, fs),
        }
        if not n_run:
            notes.insert(0, "no running found: no steps with a flight phase")
        else:
            notes.append(f"{n_run} running steps in {summary['running_time_s']:.0f} s")
        summary["note"] = "; ".join(notes)
        self.summary_ = summary
        self.minutes_ = minutes_by_running_time(run) if n_run else empty_minutes()
        self.timeseries_ = timeseries_nearest(t, angles, height, fs)

    def _braking(self, run: pa.Table, acc: Array, t: Array, fs: float) -> float:
        """Mean over running steps of the stance-mean minus stance-minimum fore-aft specific
        force (the braking peak), g."""
        if self.mounting_ is None or run.num_rows == 0:
            return float("nan")
        a_fwd = lowpass(acc @ self.mounting_.inv().apply([1.0, 0.0, 0.0]), self.lowpass_hz, fs)
        i0, i1 = (np.clip(np.round((column(run, c, float) - t[0]) * fs).astype(np.int64), 0,
                          t.size - 1) for c in ("contact_s", "toe_off_s"))
        i1 = np.maximum(i1, i0)
        return float(np.nanmean(segment_mean(a_fwd, i0, i1) - segment_min(a_fwd, i0, i1)))


def _words(placement: str | None) -> str:
    return {"left_hip": "left hip", "right_hip": "right hip", "sacrum": "sacrum"}.get(
        placement or "", "?")
