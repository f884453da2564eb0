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

from imu.core.errors import InputError
from imu.core.rotation import Rotation
from imu.core.session import RawSession
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M, PLACEMENTS
from imu.pipeline.base import AnalysisAlgorithm
from imu.pipeline.calibration import StandingCalibration
from imu.pipeline.gait_bouts import GaitBouts, gait_samples, spread
from imu.pipeline.gait_events import (
    RunEvents,
    WalkEvents,
    gait_steps,
    step_ranges,
)
from imu.pipeline.gait_parts import (
    GaitConstants,
    GaitWindow,
    WindowPlace,
    gait_grid,
    gait_tables,
    join_windows,
    placement_used,
    stretch_window,
)
from imu.pipeline.orientation import SampledOrientation
from imu.pipeline.pelvis import mounting_from_axes
from imu.pipeline.running import (
    double_integrate,
    gait_gyro_bias,
    lever_vertical_m_s2,
    pelvis_angles,
    pelvis_centre_fv,
    reference_heading,
    vertical_force,
    vqf_orientation,
    z_blocks,
    z_row,
)
from imu.pipeline.signals import grid_times, grid_times_of
from imu.pipeline.stance_side import (
    SIDE_CUES,
    HorizontalForce,
    forward_axis,
    horizontal_force,
    lateral_offset_m,
    side_scores,
    stance_sides,
)

Array = NDArray[np.float64]


MAX_LATERAL_OFFSET_M = 0.3
"""A fitted lateral offset this large or larger is implausible: it tells nothing."""


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
    standing_
        Whether an opening standing gave the neutral (else the obliquity is levelled over the
        gait's contacts).
    vqf_state_, rotation_at_next_
        A window of a longer session (:meth:`analyze_window` with a ``place``): the orientation
        filter's state and the unwrapped rotation (deg) at the next window's first sample
        (None otherwise).
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
                release_samples: bool = False, orientation: SampledOrientation | None = None
                ) -> Self:
        """Analyse the gait of a validated raw session (``sampling_rate_hz`` None: its rate).
        ``release_samples``: the caller hands ``raw`` over (:meth:`RawSession.release` once on
        the grid): each array goes with its last use here (memory, docs/scale.md).
        ``orientation``: the session's, estimated by another stage (a workout's: the strength
        stages'), read at the samples when the gait is a small share (``cropped_``) instead of
        estimating one here; on every sample (a run, a walk) the stage estimates its own."""
        fs = float(sampling_rate_hz if sampling_rate_hz is not None else raw.sample_rate_hz)
        part = self.analyze_window(raw, fs, release_samples=release_samples,
                                   orientation=orientation)
        return self.finish([part], fs)

    def analyze_window(
        self, raw: RawSession, fs: float, *, release_samples: bool = False,
        constants: GaitConstants | None = None, place: WindowPlace | None = None,
        orientation: SampledOrientation | None = None,
    ) -> GaitWindow:
        """Stages 1-8 on one stretch of samples: the whole session (``place`` None), or one
        window of a session analysed in windows (:mod:`imu.pipeline.gait_windows`), which takes
        the session's ``constants`` (bias, pelvis frame, placement, heading: those of its
        first window, :meth:`constants_`) instead of fitting its own; ``orientation``: as in
        :meth:`analyze`. Returns what :meth:`finish` makes the session's tables of."""
        if self.placement is not None and self.placement not in PLACEMENTS:
            raise InputError(f"unknown placement {self.placement!r}")
        self.warnings_ = [] if constants is None else list(constants.warnings)
        self._from_placement = False  # stage 6b turned the pelvis frame
        notes: list[str] = []
        t0, acc, gyr, valid = gait_grid(raw, fs, self.max_gap_s, place)  # 1
        if release_samples:
            raw.release()
        gb = (self.bouts or GaitBouts()).clone().detect(acc, fs, valid=valid)  # 2
        self.gait_bouts_ = gb
        cal = self._calibrate(acc, gyr, fs) if constants is None else None  # 3
        if constants is not None:
            self.calibration_ = constants.calibration
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
        force = (horizontal_force(acc, gb.fv_, gb.up_, gait, fs)
                 if gait.any() and constants is None else None)
        shared = None if keep is None or orientation is None else orientation.at(
            grid_times_of(t0, keep, fs))  # the session's, at the gait's samples
        r_es, fv_s, up_sensor = self._orientation(acc, gyr, gb, cal, fs, constants, place,
                                                  shared)  # 4
        if constants is None:  # the pelvis frame and the placement from this stretch's gait
            ic, to, is_run = self._events(fv_s, gb, valid, fs, first_pass=True)  # 5
            cues = self._pelvis_frame(acc, gyr, r_es, gb, force, up_sensor, ic, to, is_run,
                                      valid, fs)  # 6
        else:  # ... or the session's
            self.mounting_, self._fwd = constants.mounting, constants.fwd
            self.braking_evidence_ = constants.braking_evidence
            self.handedness_check_ = constants.handedness_check
            cues = self._first_cue(self._cues(acc, gyr, r_es, gb, constants.fwd))
        has_gyro = gyr is not None
        del force, gyr  # the side cues were the gyroscope's last use
        if constants is None:
            side = self._sides(ic, to, is_run, valid, cues, fs)
            self._placement(fv_s, r_es, ic, side, is_run, fs)
            if self._mirrored_to_placement(cues):  # 6b
                side = self._sides(ic, to, is_run, valid, cues, fs)
                self._placement(fv_s, r_es, ic, side, is_run, fs)
            offset = self._used_placement(ic)
        else:
            offset = self._take_placement(constants)
        fv = fv_s
        if r_es is not None and self.mounting_ is not None:  # the pelvis centre, events again
            fv = pelvis_centre_fv(fv_s, r_es, self.mounting_.inv().apply(offset), fs)
        del fv_s
        gb.release_signals()  # "up" and f_v of the bouts have served (memory: docs/scale.md)
        angles = self._angles(r_es, cal, gb, acc.shape[0], constants)  # 8 (the frame is final)
        self.rotation_at_next_ = None
        if place is not None:  # the rotation unwrapped on from the window before
            if place.rotation_deg is not None and np.isfinite(angles[0, 0]):
                angles[:, 0] += 360.0 * np.round((place.rotation_deg - angles[0, 0]) / 360.0)
            if place.next_first is not None:
                self.rotation_at_next_ = float(angles[place.next_first - place.first, 0])
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
        self.standing_ = cal is not None if constants is None else constants.standing
        # the obliquity at the contacts: its median levels it once the session's steps are
        # known when no standing gave the neutral (``finish``)
        obl_ic = angles[np.clip(np.round(ic).astype(np.int64), 0, angles.shape[0] - 1), 1]
        height = double_integrate(fv, fs, self.highpass_hz)
        del fv
        if keep is not None:  # back on every sample: the steps' times and the tables
            ic, to = (np.interp(x, np.arange(keep.size), keep) for x in (ic, to))
            angles, height = spread(angles, keep, n), spread(height, keep, n)
            acc, valid = acc_all, valid_all
        if not has_gyro:
            notes.append("no gyroscope: pelvic drop, rotation and tilt not available; vertical "
                         "oscillation is that of the sensor")
        # made once needed: the steps' and the tables' times
        t = grid_times(t0, n, fs) if place is None else place.times(fs)
        fwd = None if self.mounting_ is None else self.mounting_.inv().apply([1.0, 0.0, 0.0])
        return stretch_window(t, fs, ic, to, is_run, valid, side, angles, height, obl_ic, acc,
                              fwd, self.lowpass_hz, self.gait_bouts_.walking_,
                              self.side_source_, has_gyro, notes, place)

    def finish(self, parts: list[GaitWindow], fs: float) -> Self:
        """The session's tables and summary from its stretches (one: the whole session; or its
        windows in order): the steps joined (a bout going on across a window's edge stays one
        bout), the obliquity levelled once over the session's contacts when no standing gave
        its neutral (:func:`~imu.pipeline.running.obliquity_neutral`, taken after the fact: the
        drop is a maximum of the obliquity less that constant)."""
        joined = join_windows(parts, self.standing_)
        if len(parts) > 1 and joined.side_sources:
            self.side_source_ = ", ".join(joined.side_sources)
        walking_s = float(joined.walking_samples) / fs
        cols, strides, braking, series = joined.cols, joined.strides, joined.braking, joined.series
        notes = list(parts[0].notes)
        self._tables(cols, strides, braking, series, walking_s, parts[0].has_gyro, notes)
        return self

    # -- stages -----------------------------------------------------------------------------
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
        fs: float, constants: GaitConstants | None = None, place: WindowPlace | None = None,
        shared: Rotation | None = None,
    ) -> tuple[Rotation | None, Array, Array]:
        """4. Orientation (gyroscope and gait only; earth-up in the sensor frame from it block
        by block, :func:`~imu.pipeline.running.z_blocks`), the sensor's vertical specific force
        and the pelvis up axis in the sensor frame (standing, else the mean over the gait; a
        window of a longer session: the session's, and its filter goes on from the state the
        window before left, keeping the state the next window starts from; ``shared``: the
        session's orientation at these samples, estimated by another stage, used instead)."""
        gait = gb.walking_ | gb.running_
        self._bias = None if constants is None else constants.gyro_bias_dps
        self.vqf_state_ = None
        # a window of a longer session runs its filter on even without gait: the next window
        # goes on from its state
        if gyr is not None and (gait.any() or place is not None):
            if constants is None:
                self._bias = (cal.gyro_bias_dps_ if cal is not None
                              else gait_gyro_bias(gyr, gb.up_, gait))
            gb.release_signals()  # from here on the orientation gives up and f_v
            state, at = (None, None) if place is None else (
                place.vqf_state, None if place.next_first is None else
                place.next_first - place.first)
            if shared is not None:
                r_es = shared
            else:
                r_es, self.vqf_state_ = vqf_orientation(acc, gyr, fs, self._bias, state, at)
            with np.errstate(invalid="ignore"):  # no gait: no mean (a window)
                fv_s, up_mean = vertical_force(r_es, acc, gait)
        else:
            r_es, fv_s = None, gb.fv_
            up_mean = gb.up_[gait].mean(axis=0) if gait.any() else np.array([0.0, 0.0, 1.0])
        if constants is not None:
            return r_es, fv_s, constants.up_sensor
        if cal is not None and shared is not None:  # the standing as that orientation sees
            # it (its accelerometer refined): the neutral in the frame the angles are taken in
            up_mean = z_row(shared[cal.still_slice_]).mean(axis=0)
        up = (cal.up_sensor_ if cal is not None and shared is None
              else up_mean / np.linalg.norm(up_mean))
        self._up = up
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
        self._fwd = fwd
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
        return self._first_cue(cues)

    def _first_cue(self, cues: dict[str, Array]) -> dict[str, Array]:
        """The sides use the first cue the recording has (``flight`` may join it later): the
        others have served."""
        first = next((c for c in self.side_cues if c in cues), None)
        return {c: cue for c, cue in cues.items() if c == first}

    def _angles(
        self, r_es: Rotation | None, cal: StandingCalibration | None, gb: GaitBouts, n: int,
        constants: GaitConstants | None = None,
    ) -> Array:
        """8. Pelvis angles (NaN without the gyroscope). Neutral: the standing, else the gait
        (sagittal: the mean over the strides; obliquity: once the steps are known,
        :func:`~imu.pipeline.running.obliquity_neutral`); the rotation's zero: the heading of the
        standing, else of the gait (a window of a longer session: the session's)."""
        self._heading = float("nan") if constants is None else constants.heading_rad
        if r_es is None or self.mounting_ is None:
            return np.full((n, 3), np.nan)
        if constants is None:
            ref = np.zeros(n, dtype=bool)
            if cal is not None:
                ref[cal.still_slice_] = True
            self._heading = reference_heading(r_es, self.mounting_, ref if ref.any() else (
                gb.walking_ | gb.running_))
        return pelvis_angles(r_es, self.mounting_, None, heading=self._heading)

    def _events(
        self, fv: Array, gb: GaitBouts, valid: NDArray[np.bool_], fs: float,
        first_pass: bool = False,
    ) -> tuple[Array, Array, NDArray[np.bool_]]:
        """5. Contacts, toe-offs and gait of the steps (:func:`~imu.pipeline.gait_events.
        gait_steps`)."""
        return gait_steps(fv, gb, valid, fs, self.run_events or RunEvents(),
                          self.walk_events or WalkEvents(), self.still_sd_g, first_pass)

    def _placement(
        self, fv_s: Array, r_es: Rotation | None, ic: Array, side: NDArray[np.str_],
        is_run: NDArray[np.bool_], fs: float,
    ) -> None:
        """The sensor's lateral offset fitted from the gait and the placement it shows (sets
        ``lateral_offset_m_`` and ``placement_detected_``)."""
        self.lateral_offset_m_ = float("nan")
        self.placement_detected_: str | None = None
        if r_es is not None and self.mounting_ is not None:
            left = self.mounting_.inv().apply([0.0, 1.0, 0.0])
            use = is_run if is_run.sum() >= 20 else np.ones(ic.size, dtype=bool)
            r_y = lateral_offset_m(fv_s, lever_vertical_m_s2(r_es, left, fs), ic[use],
                                   side[use])
            self.lateral_offset_m_ = r_y
            if not (self.handedness_check_ > 0 and abs(r_y) < MAX_LATERAL_OFFSET_M):
                pass  # the left axis is not sure (cues disagree) or the fit is implausible
            elif abs(r_y) >= self.hip_offset_m:
                self.placement_detected_ = "left_hip" if r_y > 0 else "right_hip"
            elif abs(r_y) <= 0.5 * self.hip_offset_m:
                self.placement_detected_ = "sacrum"

    def _mirrored_to_placement(self, cues: dict[str, Array]) -> bool:
        """6b. With weak braking evidence for the forward sign, a hip given decides it: when
        the fitted lateral offset is the other hip's, beyond ``hip_offset_m`` and plausible
        (its sign follows the left axis), the pelvis frame is turned about up and its side
        cues with it (True; the caller tells the sides and fits again). With strong braking
        evidence the frame stays and the user is warned of the disagreement (a hip given
        wrongly)."""
        hip = {"left_hip": 1.0, "right_hip": -1.0}.get(self.placement or "")
        r_y = self.lateral_offset_m_
        if (hip is None or self.mounting_ is None
                or not self.hip_offset_m <= -hip * r_y < MAX_LATERAL_OFFSET_M
                or not self.braking_evidence_ < self.min_braking_evidence):
            return False
        inv = self.mounting_.inv()
        self.mounting_ = mounting_from_axes(inv.apply([0.0, 0.0, 1.0]),
                                            -inv.apply([0.0, 1.0, 0.0]))
        self._fwd = None if self._fwd is None else -self._fwd
        cues.update({k: -v for k, v in cues.items() if k in ("sway", "ml")})
        self.handedness_check_, self._from_placement = -self.handedness_check_, True
        return True

    def _used_placement(self, ic: Array) -> Array:
        """The placement used (``placement_``, its warning) and its sensor offset (m)."""
        self.placement_, warning = placement_used(self.placement, self.placement_detected_,
                                                  self.lateral_offset_m_, ic.size > 0)
        if warning:
            self.warnings_.append(warning)
        off = self.sensor_offset_m if self.sensor_offset_m is not None else (
            DEFAULT_SENSOR_OFFSET_M[self.placement_])
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
        """Stance side per step (:func:`~imu.pipeline.stance_side.stance_sides`; sets
        ``side_source_``)."""
        side, self.side_source_ = stance_sides(ic, to, is_run, valid, cues, fs, self.side_cues,
                                               self.side_half_window)
        if self._from_placement:
            self.side_source_ += ", forward from the placement"
        return side

    def _tables(
        self, cols: dict[str, NDArray[Any]] | None, strides: dict[str, NDArray[Any]],
        braking: Array, series: pa.Table, walking_s: float, has_gyro: bool, notes: list[str],
    ) -> None:
        """The tables and the summary (:func:`~imu.pipeline.gait_parts.gait_tables`)."""
        t = gait_tables(cols, strides, braking, series, walking_s, has_gyro, notes, self)
        self.bouts_, self.steps_, self.starts_ = t.bouts, t.steps, t.starts
        self.summary_, self.minutes_, self.timeseries_ = t.summary, t.minutes, t.timeseries

    def _take_placement(self, constants: GaitConstants) -> Array:
        """The session's placement and sensor offset (a window of a longer session)."""
        self.placement_ = constants.placement
        self.placement_detected_ = constants.placement_detected
        self.lateral_offset_m_ = constants.lateral_offset_m
        return constants.offset_m

    def constants_(self) -> GaitConstants:
        """The session's gait decisions this analysis fitted (on a session's first window): the
        other windows take them (:mod:`imu.pipeline.gait_windows`)."""
        off = self.sensor_offset_m if self.sensor_offset_m is not None else (
            DEFAULT_SENSOR_OFFSET_M[self.placement_])
        return GaitConstants(
            gyro_bias_dps=self._bias, up_sensor=self._up, mounting=self.mounting_,
            fwd=self._fwd, heading_rad=self._heading, offset_m=np.asarray(off, dtype=float),
            standing=self.standing_, calibration=self.calibration_,
            placement=self.placement_, placement_detected=self.placement_detected_,
            lateral_offset_m=self.lateral_offset_m_, braking_evidence=self.braking_evidence_,
            handedness_check=self.handedness_check_, warnings=tuple(self.warnings_))
