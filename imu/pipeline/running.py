"""Running analysis from one IMU on the hip or sacrum (docs/running.md).

Stages (all vectorised over the whole recording):

1. Standing calibration (:class:`imu.pipeline.calibration.StandingCalibration`): gyroscope bias
   and "up" in the sensor frame from the opening quiet standing.
2. Orientation: BasicVQF (Laidig & Seel 2023) on the bias-corrected gyroscope, forward batch
   for speed, earth <- sensor.
   Vertical specific force ``f_v`` = earth-z component of the specific force (without a
   gyroscope: projection on the standing "up").
3. Running bouts (:class:`imu.pipeline.activity.GaitBouts`): flight (~0 g) and stance peaks.
4. Steps: one stance peak of ``f_v`` per step. Initial contact and toe-off: the loading and
   unloading flanks of the vertical force pulse are extrapolated linearly to the flight baseline
   from their crossings of two fractions of the pulse height (15/30 % for the loading flank,
   closer to the onset because an impact transient steepens its upper part; 25/50 % for the
   unloading flank) - a tangent to the flank, as in force-plate event detection.
   Published basis for taking contact events from the pelvis vertical acceleration: Auvinet et
   al. 2002, Lee et al. 2010, Patoz et al. 2022 (sacral IMU, contact time RMSE ~20 ms).
5. Pelvis frame: up from standing; the fore-aft line is the principal axis of the step-averaged
   horizontal acceleration (stride-frequency parts, sway and alternating obliquity, cancel in the
   average over consecutive steps), its sign from braking-then-propulsion during stance;
   left = up x forward. :func:`imu.pipeline.pelvis.mounting_from_axes` builds the mounting.
6. Stance side: steps alternate within a run of consecutive steps; one parity decision per run
   from all its steps. Cue with the gyroscope: the pelvis sways toward the stance leg, so with
   gravity removed the lateral acceleration points right during a left stance. Without it: in
   flight (free fall, no gravity leakage) the tangential acceleration of the offset sensor from
   the pelvis transverse rotation, whose sign alternates with the side (Schache et al. 1999).
7. Pelvis centre: the sensor offset (placement default or ``sensor_offset_m``) is removed with
   the orientation, ``f_v(centre) = f_v - d2/dt2 (R r)_z / g``; steps are then re-detected.
8. Vertical oscillation: double integration of ``(f_v - 1) g`` with zero-phase high-pass
   filtering of velocity and position (drift removal), range from contact to next contact.
9. Angles (gyroscope only): Baker (2001) rotation, obliquity, sagittal relative to standing;
   pelvic drop per step = largest contralateral drop during stance
   (imu.metrics.gait.pelvic_drop_deg).

References: Auvinet B et al. (2002) Reference data for normal subjects obtained with an
accelerometric device. Gait Posture 16:124-134. Lee JB, Mellifont RB, Burkett BJ (2010) J Sci Med
Sport 13:270-273. Patoz A et al. (2022) A single sacral-mounted inertial measurement unit to
estimate peak vertical ground reaction force, contact time, and flight time in running. Sensors
22:784. Laidig D, Seel T (2023) VQF. Information Fusion 91:187-204. Baker R (2001) Gait Posture
13:1-6. Schache AG et al. (1999) The coordinated movement of the lumbo-pelvic-hip complex during
running. Gait Posture 10:30-47. Zijlstra W, Hof AL (2003) Assessment of spatio-temporal gait
parameters from trunk accelerations during human walking. Gait Posture 18:1-10 (double
integration with high-pass).
"""

from __future__ import annotations

from typing import Any, Final, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.signal import butter, find_peaks, sosfiltfilt
from scipy.spatial.transform import Rotation
from vqf import BasicVQF

from imu.core.frames import GRAVITY_M_S2, pelvis_angles_deg, quat_mul, quat_wxyz_to_rotation
from imu.core.options import check_choice, check_option
from imu.core.schema import STEPS, STEPS_CONTRACT_COLUMNS
from imu.core.session import RawSession
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M
from imu.metrics.gait import empty_minutes, minutes_by_running_time, run_summary
from imu.metrics.timeseries import timeseries_nearest
from imu.pipeline.activity import GaitBouts
from imu.pipeline.base import AnalysisAlgorithm
from imu.pipeline.calibration import StandingCalibration
from imu.pipeline.orientation import VqfOrientation
from imu.pipeline.pelvis import mounting_from_axes
from imu.pipeline.signals import (
    lowpass,
    segment_max,
    segment_mean,
    segment_min,
    segment_range,
    window_min,
)

_PANDAS_DTYPE = {"int64": "int64", "string": "str", "double": "float64"}
_EMPTY_STEP_DTYPES = {c: _PANDAS_DTYPE[str(STEPS.field(c).type)] for c in STEPS_CONTRACT_COLUMNS}
"""dtypes of an empty ``steps_``: the contract's columns of ``imu.core.schema.STEPS``."""


ORIENTATION_FILTERS: Final = ("basic_vqf", "offline_vqf")


# ------------------------------------------------------------------------------ events ---
def _crossing(
    f: NDArray[np.float64],
    peaks: NDArray[np.int64],
    level: NDArray[np.float64],
    w: int,
    backward: bool,
    limit: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """Fractional sample index where ``f`` crosses ``level`` nearest to each peak (before it if
    ``backward``, else after it); NaN when not found within ``w`` samples (or ``limit`` per
    peak: the distance to the neighbouring peak)."""
    n = f.size
    offs = np.arange(0, w + 1)
    idx = peaks[:, None] - offs[None, :] if backward else peaks[:, None] + offs[None, :]
    valid = (idx >= 0) & (idx < n)
    if limit is not None:
        valid &= offs[None, :] <= limit[:, None]
    vals = f[np.clip(idx, 0, n - 1)]
    below = (vals < level[:, None]) & valid
    has = below.any(axis=1)
    j = np.argmax(below, axis=1)  # first offset below the level
    j = np.maximum(j, 1)
    rows = np.arange(peaks.size)
    i_below = idx[rows, j]
    i_above = idx[rows, j - 1]
    fb, fa = f[np.clip(i_below, 0, n - 1)], f[np.clip(i_above, 0, n - 1)]
    frac = (level - fb) / np.where(fa != fb, fa - fb, 1.0)
    pos = i_below + np.where(backward, frac, -frac)
    return np.where(has, pos, np.nan)


def contact_events(
    fv_g: NDArray[np.float64],
    peaks: NDArray[np.int64],
    sampling_rate_hz: float,
    contact_levels: tuple[float, float] = (0.15, 0.3),
    toe_off_levels: tuple[float, float] = (0.25, 0.5),
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Initial contact and toe-off (fractional sample indices) for stance peaks of ``fv_g``.

    Each flank is extrapolated to the flight baseline from its crossings of two fractions
    ``(l1, l2)`` of the pulse height: ``t0 = t(l1) - l1 (t(l2) - t(l1)) / (l2 - l1)``. The
    loading flank uses lower fractions, closer to the onset, because an impact transient
    steepens its upper part; where they are not crossed, the toe-off fractions are used.
    """
    w = int(round(0.35 * sampling_rate_hz))
    n = fv_g.size
    # search no further than the neighbouring stance peaks
    gaps = np.diff(peaks)
    lim_before = np.minimum(np.append(w, gaps), w)
    lim_after = np.minimum(np.append(gaps, w), w)
    lo = np.clip(peaks - lim_before, 0, n - 1)
    hi = np.clip(peaks + lim_after, 0, n - 1)
    # baseline: the flight minimum on each side
    base_before = window_min(fv_g, lo, peaks)
    base_after = window_min(fv_g, peaks, hi)

    def flank(base: NDArray[np.float64], levels: tuple[float, float], backward: bool) -> NDArray[
        np.float64
    ]:
        height = fv_g[peaks] - base
        lim = lim_before if backward else lim_after
        t1 = _crossing(fv_g, peaks, base + levels[0] * height, w, backward, lim)
        t2 = _crossing(fv_g, peaks, base + levels[1] * height, w, backward, lim)
        return t1 - levels[0] / (levels[1] - levels[0]) * (t2 - t1)

    ic = flank(base_before, contact_levels, True)
    if contact_levels != toe_off_levels:
        ic = np.where(np.isfinite(ic), ic, flank(base_before, toe_off_levels, True))
    return ic, flank(base_after, toe_off_levels, False)


# ---------------------------------------------------------------------------- analysis ---
class RunAnalysis(AnalysisAlgorithm):
    """Steps, contact time, vertical oscillation and pelvic motion of a run (module docstring).

    The options are this algorithm's own parameters: it does not read the recording's metadata
    (the orchestrator, :func:`imu.analysis.analyze`, resolves option -> metadata -> default once
    and passes the result here). The standing calibration (``StandingCalibration()``) and the
    running bouts (``GaitBouts`` on the low-passed vertical force) are built with fixed settings.

    Parameters
    ----------
    placement
        ``left_hip`` | ``right_hip`` | ``sacrum``: gives the default sensor offset from the
        pelvis centre.
    sensor_offset_m
        Sensor position relative to the pelvis centre, pelvis frame (forward, left, up), metres.
    lowpass_hz
        Low-pass of the vertical specific force before event detection.
    min_peak_g
        Smallest stance peak of the vertical specific force counted as a running step.
    highpass_hz
        Drift removal of the double integration (vertical oscillation).
    contact_levels, toe_off_levels
        Fractions of the stance pulse height whose crossings define the tangents to the loading
        and unloading flanks (:func:`contact_events`).
    orientation_filter
        ``"basic_vqf"`` (forward BasicVQF on the bias-corrected gyroscope: fast) or
        ``"offline_vqf"`` (the shared :class:`imu.pipeline.orientation.VqfOrientation`,
        forward-backward with bias estimation: ~3x slower, same results on simulated runs).

    Results
    -------
    steps_
        One row per running step: ``imu.core.schema.STEPS`` (contract columns, then flight and
        step durations).
    summary_
        The run summary (:func:`imu.metrics.gait.run_summary`) plus counts, running and walking
        time, flight time, braking peak and a note.
    minutes_
        Per-minute table (:func:`imu.metrics.gait.minutes_by_running_time`).
    timeseries_
        Pelvis angles and centre height at 25 Hz
        (:func:`imu.metrics.timeseries.timeseries_nearest`).
    calibration_
        The fitted :class:`~imu.pipeline.calibration.StandingCalibration`.
    bouts_
        The fitted :class:`~imu.pipeline.activity.GaitBouts` (running and walking samples).
    mounting_
        Pelvis <- sensor rotation found from the steps (None with fewer than 8 steps).
    """

    def __init__(
        self,
        placement: str = "left_hip",
        sensor_offset_m: tuple[float, float, float] | None = None,
        lowpass_hz: float = 25.0,
        min_peak_g: float = 1.4,
        highpass_hz: float = 0.5,
        contact_levels: tuple[float, float] = (0.15, 0.3),
        toe_off_levels: tuple[float, float] = (0.25, 0.5),
        orientation_filter: str = "basic_vqf",
    ) -> None:
        self.placement = placement
        self.sensor_offset_m = sensor_offset_m
        self.lowpass_hz = lowpass_hz
        self.min_peak_g = min_peak_g
        self.highpass_hz = highpass_hz
        self.contact_levels = contact_levels
        self.toe_off_levels = toe_off_levels
        self.orientation_filter = orientation_filter

    # -- main action ------------------------------------------------------------------------
    def analyze(self, raw: RawSession, sampling_rate_hz: float | None = None) -> Self:
        """Analyse a validated raw session (``sampling_rate_hz`` None: the session's rate)."""
        fs = float(sampling_rate_hz if sampling_rate_hz is not None else raw.sample_rate_hz)
        placement = check_option("placement", self.placement)
        check_choice("orientation_filter", self.orientation_filter, ORIENTATION_FILTERS)
        offset = np.asarray(
            self.sensor_offset_m
            if self.sensor_offset_m is not None
            else DEFAULT_SENSOR_OFFSET_M[placement],
            dtype=float,
        )
        acc = np.asarray(raw.acc_g, dtype=float)
        has_gyro = raw.gyr_dps is not None
        gyr = np.asarray(raw.gyr_dps, dtype=float) if has_gyro else np.zeros_like(acc)
        t = np.asarray(raw.t_s, dtype=float)
        notes: list[str] = []

        cal = StandingCalibration().calibrate(acc, gyr, fs)
        up = cal.up_sensor_
        self.calibration_ = cal
        r_es: Rotation | None = None
        if has_gyro:
            if self.orientation_filter == "offline_vqf":
                r_es = VqfOrientation().estimate(acc, gyr, fs).orientation_
            else:
                r_es = _vqf_orientation(acc, gyr - cal.gyro_bias_dps_, fs)
            z_row = _z_row(r_es)
            fv_sensor = np.einsum("ij,ij->i", z_row, acc)
        else:
            fv_sensor = acc @ up
            notes.append(
                "no gyroscope: pelvis angles, drop and rotation not available; "
                "vertical oscillation is that of the sensor, not the pelvis centre"
            )
        fv_lp = lowpass(fv_sensor, self.lowpass_hz, fs)
        bouts = GaitBouts(lowpass_hz=fs).detect(fv_lp, fs)  # fv_lp is low-passed already
        self.bouts_ = bouts
        peaks = self._peaks(fv_lp, bouts.running_, fs)

        self.mounting_ = None
        fv = fv_lp
        if peaks.size >= 8:
            ic, to = contact_events(
                fv_lp, peaks, fs, self.contact_levels, self.toe_off_levels
            )
            fwd = _forward_axis(acc, up, ic, to, fs)
            left = np.cross(up, fwd)
            mounting = mounting_from_axes(up, left)
            self.mounting_ = mounting
            if r_es is not None:
                r_sensor = mounting.inv().apply(offset)
                rz = z_row @ r_sensor
                dt = 1.0 / fs
                rz_acc = np.gradient(np.gradient(rz, dt), dt)
                fv = lowpass(fv_sensor - rz_acc / GRAVITY_M_S2, self.lowpass_hz, fs)
                peaks = self._peaks(fv, bouts.running_, fs)

        n = t.size
        height_m = _double_integrate(fv, fs, self.highpass_hz)
        angles = np.full((n, 3), np.nan)
        if r_es is not None and self.mounting_ is not None:
            m_inv = self.mounting_.inv()
            still = cal.still_slice_
            f_st = (r_es[still] * m_inv).apply([1.0, 0.0, 0.0]).mean(axis=0)
            yaw = float(np.arctan2(f_st[1], f_st[0]))
            q_wp = quat_mul(
                quat_mul(Rotation.from_euler("z", -yaw).as_quat(), r_es.as_quat()),
                m_inv.as_quat(),
            )
            angles = pelvis_angles_deg(Rotation.from_quat(q_wp))
            del q_wp
            angles[:, 0] = np.degrees(np.unwrap(np.radians(angles[:, 0])))
        del r_es

        if peaks.size < 8:
            notes.insert(0, "no running found: no steps with a flight phase")
            self._empty(t, angles, height_m, notes, fs)
            return self

        ic, to = contact_events(fv, peaks, fs, self.contact_levels, self.toe_off_levels)
        good = np.isfinite(ic) & np.isfinite(to) & (to > ic)
        peaks, ic, to = peaks[good], ic[good], to[good]
        side = _stance_sides(
            acc, z_row if has_gyro else None, self.mounting_, offset, ic, to, fs, t.size
        )
        steps = self._steps(t, fs, ic, to, side, angles[:, 1], height_m)
        self.steps_ = steps
        summary = run_summary(steps, t, angles[:, 0], angles[:, 2])
        summary.update(self._extras(steps, acc, fs, notes))
        self.summary_ = summary
        self.minutes_ = minutes_by_running_time(steps)
        self.timeseries_ = timeseries_nearest(t, angles, height_m, fs)
        return self

    # -- pieces -----------------------------------------------------------------------------
    def _peaks(
        self, fv: NDArray[np.float64], running: NDArray[np.bool_], fs: float
    ) -> NDArray[np.int64]:
        p, _ = find_peaks(
            fv, height=self.min_peak_g, distance=max(int(0.2 * fs), 1), prominence=0.8
        )
        return p[running[p]].astype(np.int64)

    def _steps(
        self,
        t: NDArray[np.float64],
        fs: float,
        ic: NDArray[np.float64],
        to: NDArray[np.float64],
        side: NDArray[np.str_],
        obliquity: NDArray[np.float64],
        height_m: NDArray[np.float64],
    ) -> pd.DataFrame:
        n = t.size
        t_ic = np.interp(ic, np.arange(n), t)
        t_to = np.interp(to, np.arange(n), t)
        i_ic = np.clip(np.ceil(ic).astype(np.int64), 0, n - 1)
        i_to = np.clip(np.floor(to).astype(np.int64), 0, n - 1)
        i_to = np.maximum(i_to, i_ic)
        # next contact (end of the step); the last step and steps before a pause end at +1 step
        step_len = np.median(np.diff(i_ic)) if i_ic.size > 1 else int(0.33 * fs)
        nxt = np.append(i_ic[1:], i_ic[-1] + step_len)
        nxt = np.where(nxt - i_ic > 1.8 * step_len, i_ic + int(step_len), nxt)
        nxt = np.clip(nxt, 0, n - 1).astype(np.int64)
        vo_cm = 100.0 * segment_range(height_m, i_ic, nxt)
        drop = np.full(ic.size, np.nan)
        if np.isfinite(obliquity).any():
            dl = segment_max(obliquity, i_ic, i_to)
            dr = segment_max(-obliquity, i_ic, i_to)
            drop = np.where(side == "L", dl, dr)
        steps = pd.DataFrame(
            {
                "step": np.arange(1, ic.size + 1, dtype=np.int64),
                "side": pd.array(side, dtype="str"),
                "contact_s": t_ic,
                "toe_off_s": t_to,
                "gct_ms": (t_to - t_ic) * 1000.0,
                "vo_cm": vo_cm,
                "pelvic_drop_deg": drop,
                "flight_ms": (np.append(t_ic[1:], np.nan) - t_to) * 1000.0,
                "step_s": np.append(np.diff(t_ic), np.nan),
            }
        )
        gap = steps["step_s"] > 0.6
        steps.loc[gap, ["flight_ms", "step_s"]] = np.nan
        return steps

    def _extras(
        self, steps: pd.DataFrame, acc: NDArray[np.float64], fs: float, notes: list[str]
    ) -> dict[str, Any]:
        c = steps["contact_s"].to_numpy()
        running_time = float(np.nansum(steps["step_s"]))
        out: dict[str, Any] = {
            "n_steps": int(len(steps)),
            "running_time_s": running_time,
            "walking_time_s": float(self.bouts_.walking_.sum()) / fs,
            "first_contact_s": float(c[0]),
            "flight_ms": float(np.nanmean(steps["flight_ms"])),
        }
        if self.mounting_ is not None:
            fwd_sensor = self.mounting_.inv().apply([1.0, 0.0, 0.0])
            a_fwd = lowpass(acc @ fwd_sensor, self.lowpass_hz, fs)
            i_ic = np.clip(np.round(c * fs).astype(np.int64), 0, acc.shape[0] - 1)
            i_to = np.clip(
                np.round(steps["toe_off_s"].to_numpy() * fs).astype(np.int64), 0, acc.shape[0] - 1
            )
            base = segment_mean(a_fwd, i_ic, np.maximum(i_to, i_ic))
            mins = segment_min(a_fwd, i_ic, np.maximum(i_to, i_ic))
            out["braking_peak_g"] = float(np.nanmean(base - mins))
        notes.append(f"{len(steps)} running steps in {running_time:.0f} s")
        out["note"] = "; ".join(notes)
        return out

    def _empty(
        self,
        t: NDArray[np.float64],
        angles: NDArray[np.float64],
        height_m: NDArray[np.float64],
        notes: list[str],
        fs: float,
    ) -> None:
        self.steps_ = pd.DataFrame({c: pd.Series(dtype=d) for c, d in _EMPTY_STEP_DTYPES.items()})
        summary = run_summary(self.steps_)
        summary.update(
            {
                "n_steps": 0,
                "running_time_s": 0.0,
                "walking_time_s": float(self.bouts_.walking_.sum()) / fs,
                "braking_peak_g": float("nan"),
                "note": "; ".join(notes),
            }
        )
        self.summary_ = summary
        self.minutes_ = empty_minutes()
        self.timeseries_ = timeseries_nearest(t, angles, height_m, fs)


# ----------------------------------------------------------------------------- helpers ---
def _vqf_orientation(
    acc_g: NDArray[np.float64], gyr_dps: NDArray[np.float64], fs: float
) -> Rotation:
    """Earth <- sensor with BasicVQF (forward batch; the gyroscope bias was removed with the
    standing calibration; full VQF is ~2x and offline VQF ~5x slower for the same result here)."""
    v = BasicVQF(1.0 / fs)
    out = v.updateBatch(
        np.ascontiguousarray(np.radians(gyr_dps)), np.ascontiguousarray(acc_g * GRAVITY_M_S2)
    )
    return quat_wxyz_to_rotation(out["quat6D"])


def _z_row(r: Rotation) -> NDArray[np.float64]:
    """Bottom row of the rotation matrices (earth-z seen in the sensor frame), (N, 3)."""
    x, y, z, w = r.as_quat().T
    return np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=1)


def _phase_matrix(ic: NDArray[np.float64], n: int, bins: int = 40) -> NDArray[np.int64]:
    """Sample indices at ``bins`` equally spaced phases of each step (contact to next contact),
    (n_steps - 1, bins); the caller drops steps that span a pause."""
    a, b = ic[:-1], ic[1:]
    ph = np.arange(bins) / bins
    return np.clip(np.round(a[:, None] + (b - a)[:, None] * ph[None, :]).astype(np.int64), 0, n - 1)


def _forward_axis(
    acc: NDArray[np.float64],
    up: NDArray[np.float64],
    ic: NDArray[np.float64],
    to: NDArray[np.float64],
    fs: float,
) -> NDArray[np.float64]:
    """Pelvis forward axis in the sensor frame from the step-averaged horizontal acceleration.

    The fore-aft line is the principal axis of the average step pattern in the plane normal to
    up; the sign makes the first part of stance braking (Cavanagh & Lafortune 1980).
    """
    e1 = np.cross(up, [1.0, 0.0, 0.0])
    if np.linalg.norm(e1) < 0.3:
        e1 = np.cross(up, [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    h = np.stack([acc @ e1, acc @ e2], axis=1)
    ok = np.isfinite(ic) & np.isfinite(to)
    ic, to = ic[ok], to[ok]
    d = np.diff(ic)
    keep = (d > 0.15 * fs) & (d < 0.6 * fs)
    if keep.sum() < 4:
        keep = np.ones(d.size, dtype=bool)
    duty = float(np.clip(np.median(((to - ic)[:-1] / np.where(d > 0, d, 1.0))[keep]), 0.2, 0.95))
    idx = _phase_matrix(ic, acc.shape[0])[keep]
    pattern = h[idx].mean(axis=0)  # (bins, 2)
    pattern -= pattern.mean(axis=0)
    _, vecs = np.linalg.eigh(pattern.T @ pattern)
    axis = vecs[:, -1]
    a_f = pattern @ axis
    # braking then propulsion: correlate with -sin(2 pi tau / contact time) during stance.
    u = np.arange(pattern.shape[0]) / pattern.shape[0]
    template = np.where(u < duty, -np.sin(2.0 * np.pi * u / duty), 0.0)
    if a_f @ template < 0:
        axis = -axis
    fwd = axis[0] * e1 + axis[1] * e2
    return fwd / np.linalg.norm(fwd)


def _stance_sides(
    acc: NDArray[np.float64],
    gravity_sensor: NDArray[np.float64] | None,
    mounting: Rotation | None,
    offset_m: NDArray[np.float64],
    ic: NDArray[np.float64],
    to: NDArray[np.float64],
    fs: float,
    n: int,
) -> NDArray[np.str_]:
    """Stance side per step: alternating within runs of consecutive steps; the parity of each
    run is decided from all its steps together.

    With the orientation (``gravity_sensor``: earth-up in the sensor frame per sample) the cue is
    the lateral sway: gravity removed, the lateral acceleration points right during a left
    stance (weights ``sin(pi u)`` over the step phase u).

    Without a gyroscope gravity leaks into the lateral axis through the pelvic obliquity and
    points the other way during stance. The cue is then taken in flight, where the accelerometer
    reads no gravity at all (free fall) and no sway (ballistic): only the tangential acceleration
    ``alpha_z (-r_y, r_x)`` of the sensor at offset r from the pelvis transverse rotation. The
    pelvis turns right before a left contact and left before a right one (pelvis forward on the
    side of the leading leg at contact; Schache et al. 1999), so with weights ``cos(pi u)`` the
    flight of a left step scores positive.
    """
    side = np.full(ic.size, "L", dtype=object)
    if mounting is None or ic.size < 2:
        return side.astype(str)
    bins = 20
    u = (np.arange(bins) + 0.5) / bins
    d = np.diff(ic)
    idx = _phase_matrix(ic, n, bins)
    if gravity_sensor is None:
        r = np.asarray(offset_m, dtype=float)
        lever = np.array([-r[1], r[0], 0.0])
        axis = mounting.inv().apply(lever / max(float(np.linalg.norm(lever)), 1e-9))
        sig = acc @ axis
        duty = ((to - ic)[:-1] / np.where(d > 0, d, 1.0))[:, None]
        w = np.where(u[None, :] > duty + 0.05, -np.cos(np.pi * u)[None, :], 0.0)
    else:
        axis = mounting.inv().apply([0.0, 1.0, 0.0])
        sig = acc @ axis - gravity_sensor @ axis
        w = np.broadcast_to(np.sin(np.pi * u), (d.size, bins))
    sig = sig - lowpass(sig, 0.3, fs)
    s = np.einsum("ij,ij->i", sig[idx], w)  # < 0 for a left stance
    s = np.append(s, 0.0)
    brk = np.concatenate([[True], (d > 0.6 * fs) | (d < 0.15 * fs)])
    group = np.cumsum(brk) - 1
    pos = np.arange(ic.size) - np.flatnonzero(brk)[group]
    alt = np.where(pos % 2 == 0, 1.0, -1.0)
    score = np.bincount(group, weights=alt * s)
    even_left = score[group] < 0
    is_left = np.where(pos % 2 == 0, even_left, ~even_left)
    return np.where(is_left, "L", "R").astype(str)


def _double_integrate(fv_g: NDArray[np.float64], fs: float, hp_hz: float) -> NDArray[np.float64]:
    """Vertical displacement (m) from vertical specific force: integrate twice with zero-phase
    high-pass after each integration (drift removal, Zijlstra & Hof 2003)."""
    sos = butter(2, hp_hz, btype="highpass", fs=fs, output="sos")
    a = (fv_g - np.mean(fv_g)) * GRAVITY_M_S2
    v = sosfiltfilt(sos, np.cumsum(a) / fs)
    return sosfiltfilt(sos, np.cumsum(v) / fs)
