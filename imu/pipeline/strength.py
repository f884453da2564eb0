"""Strength-session analysis: sets, reps, tempo, lockout angle, hip travel and tilt.

Stages (docs/algorithms.md): uniform time grid -> block-mean decimation to ~50 Hz (anti-alias
and speed; results do not depend on the input rate) -> standing calibration (gyro bias, up)
-> accelerometer bias/scale from still postures -> VQF orientation -> pelvis frame (up from
standing, medio-lateral axis = dominant rotation axis, sign from the exercise's known direction)
-> excursion signal (sagittal angle; for lying exercises the 3-D rotation from the rest posture)
and 3-D angular speed -> set/rep/phase segmentation (with a vertical-travel consistency check)
-> vertical accelerometer error fit from the reps' zero-velocity and height closure -> per-rep
lockout angle, anchored hip travel, tilt and tilt class.
"""

from __future__ import annotations

from typing import Any, Final, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.ndimage import minimum_filter1d
from scipy.spatial.transform import Rotation

from imu.core.errors import InputError
from imu.core.exercises import REST_AT_BOTTOM, exercises_in_posture
from imu.core.options import check_option
from imu.core.schema import REPS, SETS
from imu.core.session import RawSession
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M
from imu.metrics.strength import posterior_tilt_pct, tilt_class, tilt_deg
from imu.metrics.timeseries import empty_timeseries, timeseries_interpolated
from imu.pipeline.base import AnalysisAlgorithm
from imu.pipeline.calibration import AccelerometerRefinement, StandingCalibration
from imu.pipeline.orientation import VqfOrientation
from imu.pipeline.pelvis import PelvisOrientation, dominant_axis, mounting_from_axes
from imu.pipeline.segmentation import RepSegmentation
from imu.pipeline.signals import block_mean, runs, still_mask, uniform_grid
from imu.pipeline.travel import (
    HipTravel,
    VerticalErrorFit,
    centre_vertical_acc_m_s2,
    session_height_m,
)

SUPINE_EXERCISES: Final = exercises_in_posture("supine")
"""Lying on the back (or shoulders on a bench): the pelvis is turned posteriorly, about +90 deg."""
PRONE_EXERCISES: Final = exercises_in_posture("prone")
"""Trunk horizontal, face down: about -90 deg."""

REPS_OUTPUT_COLUMNS: Final = tuple(c for c in REPS.names if c not in ("form_break", "form_reason"))
"""``reps_`` columns: the reps table (``imu.core.schema.REPS``) without ``form_break`` and
``form_reason``, which the form-break stage adds."""


def merge_sets(
    reps_a: pd.DataFrame, sets_a: pd.DataFrame, reps_b: pd.DataFrame, sets_b: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join two segmentations of one session; sets are renumbered by start time."""
    reps_b = reps_b.assign(set=reps_b["set"] + 1000)
    sets_b = sets_b.assign(set=sets_b["set"] + 1000)
    sets = pd.concat([sets_a, sets_b], ignore_index=True).sort_values("start_s")
    new = {int(old): i + 1 for i, old in enumerate(sets["set"])}
    sets = sets.assign(set=sets["set"].map(new)).reset_index(drop=True)
    reps = pd.concat([reps_a, reps_b], ignore_index=True)
    reps = reps.assign(set=reps["set"].map(new)).sort_values(["set", "rep"])
    return reps.reset_index(drop=True), sets


def classify_posture(sagittal_deg: NDArray[np.float64]) -> str:
    """'supine' (> +50 deg), 'prone' (< -50 deg) or 'upright' from the median sagittal angle."""
    med = float(np.median(sagittal_deg))
    if med > 50.0:
        return "supine"
    if med < -50.0:
        return "prone"
    return "upright"


def rest_excursion_deg(
    r_world_pelvis: Rotation,
    still: NDArray[np.bool_],
    block: NDArray[np.bool_],
    sampling_rate_hz: float,
    min_block_s: float = 3.0,
) -> NDArray[np.float64]:
    """Signed rotation (deg) of the pelvis away from its rest posture within lying blocks.

    The rest posture of a block is the mean orientation of its first still run (a set starts
    at rest). The rotation from it (rotation vector) is projected on its principal direction
    within the block, signed so that the excursions are positive. Lying exercises turn the
    pelvis about any axis (a single-leg bridge or a quadruped hip extension rolls as much as
    it tilts), so this 3-D measure is the rep signal there. Outside blocks the result is 0.
    """
    x = np.zeros(len(block))
    min_still = max(1, int(0.3 * sampling_rate_hz))
    for a, b in runs(block):
        if b - a < min_block_s * sampling_rate_hz:
            continue
        st = runs(still[a:b])
        st = st[(st[:, 1] - st[:, 0]) >= min_still]
        if len(st) == 0:
            continue
        # From the first to the end of the last still run: the way in and out are not reps.
        i0, i1 = a + int(st[0, 0]), a + int(st[0, 1])
        a, b = i0, a + int(st[-1, 1])
        ref = r_world_pelvis[i0:i1].mean()
        rv = np.degrees((ref.inv() * r_world_pelvis[a:b]).as_rotvec())
        _, vecs = np.linalg.eigh(rv.T @ rv)
        proj = rv @ vecs[:, -1]
        x[a:b] = proj if proj.mean() >= 0 else -proj
    return x


class StrengthAnalysis(AnalysisAlgorithm):
    """Full strength pipeline on a raw session (module docstring).

    The options are this algorithm's own parameters: it does not read the recording's metadata
    (the orchestrator, :func:`imu.analysis.analyze`, resolves option -> metadata -> default once
    and passes the result here). Sub-algorithms given as instances are cloned before use; the
    orientation filter (``VqfOrientation()``), the pelvis frame (``PelvisOrientation()``) and the
    vertical error fit (``VerticalErrorFit()``) are built with their defaults.

    Parameters
    ----------
    exercise
        A contract exercise name (``imu.core.exercises``); None classifies each set (best
        effort, docs/algorithms.md).
    trunk_length_m
        Shoulder-joint-to-hip-joint length for the bridge body-line angle (m).
    sensor_offset_m
        Sensor position from the pelvis centre (pelvis frame, m); None uses the placement default.
    placement
        ``left_hip``/``right_hip``/``sacrum``: gives the default sensor offset.
    internal_rate_hz
        Processing rate after block-mean decimation.
    calibration
        Standing calibration (None: ``StandingCalibration()``).
    segmentation
        Set and rep segmentation (None: ``RepSegmentation()``).
    travel
        Hip travel per rep (None: ``HipTravel()``).
    refinement
        Accelerometer refinement from still postures (None: ``AccelerometerRefinement()``).
    vertical_fit
        Subtract the vertical accelerometer error fitted from the reps (``VerticalErrorFit``).

    Results
    -------
    reps_
        One row per rep: the reps table's columns (``imu.core.schema.REPS``) but
        ``form_break`` and ``form_reason``.
    sets_
        One row per set: ``imu.core.schema.SETS``.
    timeseries_
        Pelvis angles and centre height at 25 Hz (``imu.core.schema.TIMESERIES``).
    summary_
        Session summary values (exercise, counts, means, ``posterior_tilt_pct``).
    diagnostics_
        Intermediate estimates (gyroscope bias, accelerometer bias and scale, mounting, ...).
    """

    def __init__(
        self,
        exercise: str | None = None,
        trunk_length_m: float = 0.50,
        sensor_offset_m: tuple[float, float, float] | None = None,
        placement: str = "left_hip",
        internal_rate_hz: float = 50.0,
        calibration: StandingCalibration | None = None,
        segmentation: RepSegmentation | None = None,
        travel: HipTravel | None = None,
        refinement: AccelerometerRefinement | None = None,
        vertical_fit: bool = True,
    ) -> None:
        self.exercise = exercise
        self.trunk_length_m = trunk_length_m
        self.sensor_offset_m = sensor_offset_m
        self.placement = placement
        self.internal_rate_hz = internal_rate_hz
        self.calibration = calibration
        self.segmentation = segmentation
        self.travel = travel
        self.refinement = refinement
        self.vertical_fit = vertical_fit

    # -- helpers ----------------------------------------------------------------------------
    def _checked_options(self) -> tuple[str | None, NDArray[np.float64], float]:
        """The exercise, sensor offset and trunk length, checked (InputError)."""
        exercise = check_option("exercise", self.exercise)
        placement = check_option("placement", self.placement)
        offset = np.asarray(
            self.sensor_offset_m
            if self.sensor_offset_m is not None
            else DEFAULT_SENSOR_OFFSET_M[placement],
            dtype=float,
        )
        trunk = check_option("trunk_length_m", self.trunk_length_m)
        if trunk is None:
            raise InputError("trunk length must be a positive number of metres, got None")
        return exercise, offset, float(trunk)

    def _pelvis(
        self,
        r_es: Rotation,
        up: NDArray[np.float64],
        left: NDArray[np.float64],
        neutral: slice,
        fs: float,
    ) -> tuple[Rotation, PelvisOrientation]:
        mounting = mounting_from_axes(up, left)
        return mounting, PelvisOrientation().estimate(r_es, mounting, neutral, fs)

    # -- main -------------------------------------------------------------------------------
    def analyze(self, raw: RawSession, sampling_rate_hz: float) -> Self:
        """Analyse a validated raw session (results: ``reps_``, ``sets_``, ``summary_``, ...)."""
        exercise, offset, trunk = self._checked_options()
        if raw.gyr_dps is None:
            return self._empty(exercise)
        fs_in = float(sampling_rate_hz)
        t_raw = np.asarray(raw.t_s, dtype=float)
        if t_raw.size < 2 * fs_in:
            raise InputError("no usable standing start: the recording is shorter than 2 s")
        k = max(1, int(round(fs_in / self.internal_rate_hz)))
        fs = fs_in / k
        _, acc_u = uniform_grid(t_raw, np.asarray(raw.acc_g, dtype=float), fs_in)
        _, gyr_u = uniform_grid(t_raw, np.asarray(raw.gyr_dps, dtype=float), fs_in)
        acc = block_mean(acc_u, k)
        gyr = block_mean(gyr_u, k)
        del acc_u, gyr_u
        t0 = float(t_raw[0]) + 0.5 * (k - 1) / fs_in
        n = acc.shape[0]

        cal = (self.calibration or StandingCalibration()).clone().calibrate(acc, gyr, fs)
        gyr = gyr - cal.gyro_bias_dps_
        still = still_mask(acc, gyr, fs)
        # Stricter stillness for the accelerometer fit: any true acceleration biases it.
        strict = still_mask(acc, gyr, fs, window_s=0.5, gyr_std_dps=1.5, acc_std_g=0.01)
        refine = (self.refinement or AccelerometerRefinement()).clone().fit(acc, strict, fs)
        acc = refine.apply(acc)
        up = acc[cal.still_slice_].mean(axis=0)
        up /= np.linalg.norm(up)

        r_es = VqfOrientation().estimate(acc, gyr, fs).orientation_
        speed = np.linalg.norm(gyr, axis=1)
        left, share = dominant_axis(gyr, up)
        mounting, po = self._pelvis(r_es, up, left, cal.still_slice_, fs)
        theta = po.angles_deg_[:, 2]

        # Sign of the medio-lateral axis from the exercise's known direction (docs).
        lying = self._sustained_tilt_deg(theta, fs) > 25.0
        posture = "supine" if lying else "upright"
        if exercise is not None:
            expected_sign = 1.0 if exercise in SUPINE_EXERCISES else -1.0
        else:
            expected_sign = 1.0 if posture in ("supine", "prone") else -1.0
        q_lo, q_hi = np.percentile(theta, [1.0, 99.0])
        dominant_sign = 1.0 if abs(q_hi) >= abs(q_lo) else -1.0
        if dominant_sign != expected_sign:
            left = -left
            mounting, po = self._pelvis(r_es, up, left, cal.still_slice_, fs)
            theta = po.angles_deg_[:, 2]

        # Rep structure and the excursion signal whose peaks are the reps' extremes.
        if exercise is not None:
            rest_at_bottom = exercise in REST_AT_BOTTOM
            ex_posture = (
                "supine"
                if exercise in SUPINE_EXERCISES
                else "prone"
                if exercise in PRONE_EXERCISES
                else "upright"
            )
        else:
            rest_at_bottom = posture in ("supine", "prone")
            ex_posture = posture
        acc_z = centre_vertical_acc_m_s2(acc, r_es, po.orientation_, offset, fs)
        segmenter = self.segmentation or RepSegmentation()
        if ex_posture in ("supine", "prone"):
            block = theta > 30.0 if ex_posture == "supine" else theta < -45.0
            x = rest_excursion_deg(po.orientation_, still, block, fs)
        else:
            x = theta if rest_at_bottom else -theta
        seg = segmenter.clone().segment(x, speed, fs, rest_at_bottom, t0_s=t0, acc_z_m_s2=acc_z)
        reps = seg.reps_.copy()
        sets = seg.sets_.copy()
        if exercise is None and ex_posture == "supine":
            # Unknown exercise: upright sets may share the session with lying ones (mixed
            # sessions); find them too, with the upright (rest at top) structure.
            x_up = np.where(block, -30.0, -theta)
            up_seg = segmenter.clone().segment(x_up, speed, fs, False, t0_s=t0, acc_z_m_s2=acc_z)
            if len(up_seg.sets_):
                reps, sets = merge_sets(reps, sets, up_seg.reps_, up_seg.sets_)
        # Residual accelerometer error in the vertical channel from the reps' zero-velocity
        # and height-closure constraints and the still moments (travel.VerticalErrorFit).
        up_s = r_es.apply([0.0, 0.0, 1.0], inverse=True)
        vfit = VerticalErrorFit().fit(
            acc_z,
            up_s,
            (reps["start_s"].to_numpy() - t0) * fs,
            (reps["end_s"].to_numpy() - t0) * fs,
            strict,
            fs,
        )
        if self.vertical_fit:
            acc_z = acc_z - vfit.error_m_s2(up_s)

        trav = (
            (self.travel or HipTravel())
            .clone()
            .estimate(
                acc_z,
                reps["start_s"].to_numpy(),
                reps["end_s"].to_numpy(),
                fs,
                lockout_s=reps["lockout_s"].to_numpy(),
                t0_s=t0,
            )
        )
        t_int = t0 + np.arange(n) / fs
        reps["pelvis_angle_deg"] = np.interp(reps["lockout_s"].to_numpy(), t_int, theta)
        reps["hip_travel_cm"] = trav.travel_m_ * 100.0
        reps["hip_rise_cm"] = trav.rise_m_ * 100.0
        height = session_height_m(acc_z, still, fs)
        if (
            exercise is None
            and ex_posture == "supine"
            and self._lying_drop_m(theta, height, still, fs) < 0.45
        ):
            # The hips went down only ~0.25 m from standing: hands and knees, not lying on the
            # back (hips ~0.8 m lower). Supine and prone mirror each other in the data (docs),
            # so analyse again as a quadruped session.
            return (
                self.clone()
                .set_params(exercise="quadruped_hip_extension")
                .analyze(raw, sampling_rate_hz)
            )
        set_ex = self._set_exercises(exercise, reps, sets, theta, t_int)
        sets["exercise"] = set_ex
        ex_of_rep = sets.set_index("set")["exercise"]
        reps["exercise"] = reps["set"].map(ex_of_rep).astype(object) if len(reps) else []
        tilt = np.full(len(reps), np.nan)
        for name in pd.unique(reps["exercise"]) if len(reps) else []:
            m = (reps["exercise"] == name).to_numpy()
            angle = reps["pelvis_angle_deg"].to_numpy()[m]
            tilt[m] = tilt_deg(angle, str(name), trav.rise_m_[m], trunk)
        reps["tilt_deg"] = tilt
        reps["tilt_class"] = tilt_class(tilt)
        reps["peak_speed_dps"] = [
            float(speed[max(0, int((s - t0) * fs)) : int((e - t0) * fs) + 1].max(initial=0.0))
            for s, e in zip(reps["start_s"], reps["end_s"], strict=True)
        ]
        self.reps_ = reps[list(REPS_OUTPUT_COLUMNS)].reset_index(drop=True)
        self.sets_ = sets[list(SETS.names)]

        # 25 Hz time series of the pelvis angles and centre height.
        self.timeseries_ = timeseries_interpolated(t_int, po.angles_deg_, height)
        self.summary_ = self._summary(exercise)
        self.diagnostics_ = {
            "gyro_bias_dps": cal.gyro_bias_dps_.tolist(),
            "acc_bias_g": refine.bias_g_.tolist(),
            "acc_scale": refine.scale_.tolist(),
            "ml_axis_share": share,
            "vertical_error_params": vfit.params_.tolist(),
            "posture": posture,
            "mounting_quat": mounting.as_quat().tolist(),
            "internal_rate_hz": fs,
            "standing_s": [cal.still_start_s_, cal.still_end_s_],
        }
        return self

    @staticmethod
    def _sustained_tilt_deg(theta: NDArray[np.float64], fs: float, window_s: float = 10.0) -> float:
        """Largest |sagittal| held for ``window_s`` (max over the session of a moving min).

        Lying exercises keep the pelvis far from upright for a whole set (>= ~25 deg even at
        the bottom of a hip thrust); upright exercises come back to standing every rep.
        """
        w = max(1, int(window_s * fs))
        if theta.size <= w:
            return 0.0
        return float(minimum_filter1d(np.abs(theta), w, mode="nearest").max())

    @staticmethod
    def _lying_drop_m(
        theta: NDArray[np.float64],
        height_m: NDArray[np.float64],
        still: NDArray[np.bool_],
        fs: float,
    ) -> float:
        """Median drop of the pelvis centre from standing into each lying block (m).

        Lying on the back puts the hips near the floor (~0.8 m below standing), hands and
        knees only ~0.25 m lower; the chained height over the few seconds of the transition
        is accurate enough to tell them apart.
        """
        upright_still = still & (np.abs(theta) < 15.0)
        drops = []
        for a, b in runs(np.abs(theta) > 45.0):
            if b - a < 5 * fs:
                continue
            before = np.flatnonzero(upright_still[:a])
            if before.size == 0:
                continue
            h_lying = float(np.median(height_m[a : min(b, a + int(3 * fs))]))
            drops.append(float(height_m[before[-1]]) - h_lying)
        return float(np.median(drops)) if drops else np.inf

    def _empty(self, exercise: str | None) -> Self:
        """No gyroscope: no pelvis angles, so no reps (empty tables, documented)."""
        self.reps_ = pd.DataFrame({c: pd.Series(dtype=float) for c in REPS_OUTPUT_COLUMNS})
        self.sets_ = pd.DataFrame({c: pd.Series(dtype=float) for c in SETS.names})
        self.timeseries_ = empty_timeseries()
        self.summary_ = self._summary(exercise)
        self.diagnostics_ = {"note": "no gyroscope: strength analysis needs angular rate"}
        return self

    def _set_exercises(
        self,
        exercise: str | None,
        reps: pd.DataFrame,
        sets: pd.DataFrame,
        theta: NDArray[np.float64],
        t_int: NDArray[np.float64],
    ) -> list[str]:
        """The given exercise, or a best-effort per-set guess (docs/algorithms.md)."""
        if exercise is not None:
            return [exercise] * len(sets)
        out = []
        for _, s in sets.iterrows():
            m = (t_int >= s["start_s"]) & (t_int <= s["end_s"])
            r = reps[reps["set"] == s["set"]]
            posture = classify_posture(theta[m]) if m.any() else "upright"
            travel = float(np.median(r["hip_travel_cm"])) if len(r) else 0.0
            if posture == "supine":
                # The bottom of a bridge lies flat (~90 deg); a hip thrust sinks from a bench
                # (shoulders up), its bottom is far less tilted (~45-65 deg).
                rest = np.interp(r["start_s"].to_numpy(), t_int, theta) if len(r) else [90.0]
                out.append("hip_thrust" if float(np.median(rest)) < 75.0 else "glute_bridge")
            elif posture == "prone":
                out.append("quadruped_hip_extension")
            elif travel > 25.0:
                out.append("squat")
            else:
                out.append("hip_hinge")
        return out

    def _summary(self, exercise: str | None) -> dict[str, Any]:
        r = self.reps_
        ex = exercise
        if ex is None and len(self.sets_):
            names = pd.unique(self.sets_["exercise"])
            ex = str(names[0]) if len(names) == 1 else "mixed"
        out: dict[str, Any] = {
            "exercise": ex,
            "n_sets": int(len(self.sets_)),
            "n_reps": int(len(r)),
            "mean_concentric_s": float(r["concentric_s"].mean()) if len(r) else np.nan,
            "mean_top_hold_s": float(r["top_hold_s"].mean()) if len(r) else np.nan,
            "mean_eccentric_s": float(r["eccentric_s"].mean()) if len(r) else np.nan,
            "mean_pelvis_angle_deg": float(r["pelvis_angle_deg"].mean()) if len(r) else np.nan,
            "mean_hip_travel_cm": float(r["hip_travel_cm"].mean()) if len(r) else np.nan,
            "mean_tilt_deg": float(r["tilt_deg"].mean()) if len(r) else np.nan,
        }
        out["posterior_tilt_pct"] = posterior_tilt_pct(r)
        return out
