"""Calibration from the quiet standing that opens every session (docs/algorithms.md).

During quiet standing the gyroscope reads only its bias and the accelerometer only gravity
(+1 g along world-up), so one still window gives the gyroscope bias and the world-up direction in
the sensor frame, which is also the pelvis "up" axis (neutral = standing, contract section 1).
Still samples elsewhere in the session (rests, lying, holds) show the accelerometer in other
orientations; :class:`AccelerometerRefinement` fits its bias and scale from them (multi-position
calibration, Skog & Haendel 2006) so that hip travel is not bent by a bias whose projection on the
vertical changes as the pelvis turns.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray

from imu.core.errors import InputError
from imu.pipeline.base import CalibrationAlgorithm, ErrorFitAlgorithm
from imu.pipeline.signals import runs, still_mask


class StandingCalibration(CalibrationAlgorithm):
    """Gyroscope bias and world-up in the sensor frame from the opening quiet standing.

    Parameters
    ----------
    min_still_s
        Shortest usable standing (the contract promises >= 3 s).
    max_start_s
        The standing must begin within this time of the recording start.
    window_s, gyr_std_dps, acc_std_g
        Stillness detector: moving standard deviation below these thresholds on every axis.
    acc_norm_tol_g
        The mean specific force during standing must be 1 g within this tolerance.

    Results
    -------
    still_start_s_, still_end_s_, still_slice_
        The standing used (seconds from the first sample, and as a sample slice).
    gyro_bias_dps_
        Mean angular rate during the standing (3,): the gyroscope bias.
    up_sensor_
        World-up in the sensor frame (unit vector, 3,): the pelvis up axis.
    acc_norm_g_
        Norm of the mean specific force during the standing (g).
    """

    def __init__(
        self,
        min_still_s: float = 3.0,
        max_start_s: float = 5.0,
        window_s: float = 0.4,
        gyr_std_dps: float = 2.0,
        acc_std_g: float = 0.02,
        acc_norm_tol_g: float = 0.1,
    ) -> None:
        self.min_still_s = min_still_s
        self.max_start_s = max_start_s
        self.window_s = window_s
        self.gyr_std_dps = gyr_std_dps
        self.acc_std_g = acc_std_g
        self.acc_norm_tol_g = acc_norm_tol_g

    def calibrate(
        self, acc_g: NDArray[np.float64], gyr_dps: NDArray[np.float64], sampling_rate_hz: float
    ) -> Self:
        """Find the opening standing (InputError if there is none) and calibrate from it."""
        acc = np.asarray(acc_g, dtype=float)
        gyr = np.asarray(gyr_dps, dtype=float)
        fs = float(sampling_rate_hz)
        # Only the opening part of the recording matters; keep this O(opening).
        n_head = min(len(acc), int((self.max_start_s + 120.0) * fs))
        still = still_mask(
            acc[:n_head], gyr[:n_head], fs, self.window_s, self.gyr_std_dps, self.acc_std_g
        )
        found = None
        for a, b in runs(still):
            if a > self.max_start_s * fs:
                break
            if (b - a) >= self.min_still_s * fs:
                found = (int(a), int(b))
                break
        if found is None:
            raise InputError(
                f"no usable standing start: the session must open with >= {self.min_still_s:g} s "
                f"of quiet standing (found none starting in the first {self.max_start_s:g} s)"
            )
        a, b = found
        mean_acc = acc[a:b].mean(axis=0)
        norm = float(np.linalg.norm(mean_acc))
        if abs(norm - 1.0) > self.acc_norm_tol_g:
            raise InputError(
                f"no usable standing start: the still opening reads {norm:.2f} g, not 1 g"
            )
        self.still_start_s_ = a / fs
        self.still_end_s_ = b / fs
        self.still_slice_ = slice(a, b)
        self.gyro_bias_dps_ = gyr[a:b].mean(axis=0)
        self.up_sensor_ = mean_acc / norm
        self.acc_norm_g_ = norm
        return self


class AccelerometerRefinement(ErrorFitAlgorithm):
    """Accelerometer bias and scale from still postures (multi-position calibration).

    At rest the true specific force has norm 1 g. With the measurement model
    ``f = (I + diag(s)) f_true + b`` and unit direction ``u`` of ``f``, to first order
    ``|f| - 1 = u.b + sum_k s_k u_k^2``. Each still segment gives one such equation; a Gaussian
    prior (``bias_sigma_g``, ``scale_sigma``) regularises the directions the postures do not
    excite (MAP / ridge solution), so with a single posture nothing changes much.
    Reference: Skog I, Haendel P (2006) Calibration of a MEMS inertial measurement unit,
    XVII IMEKO World Congress.

    Parameters
    ----------
    bias_sigma_g, scale_sigma
        Prior standard deviations of the bias (g) and of the scale error (fraction).
    noise_sigma_g
        Standard deviation of a still segment's norm error besides bias and scale (g).
    min_segment_s
        Shortest still segment used (after trimming).
    trim_s
        Trimmed from both ends of every still run.
    enabled
        False: fit nothing (zero bias and scale), e.g. to measure what the refinement brings.

    Results
    -------
    bias_g_, scale_
        Fitted accelerometer bias (g, 3,) and scale error (3,).
    n_segments_
        Still segments used (after dropping outliers).
    """

    def __init__(
        self,
        bias_sigma_g: float = 0.02,
        scale_sigma: float = 0.01,
        noise_sigma_g: float = 0.002,
        min_segment_s: float = 0.4,
        trim_s: float = 0.1,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self.trim_s = trim_s
        self.bias_sigma_g = bias_sigma_g
        self.scale_sigma = scale_sigma
        self.noise_sigma_g = noise_sigma_g
        self.min_segment_s = min_segment_s

    def fit(
        self, acc_g: NDArray[np.float64], still: NDArray[np.bool_], sampling_rate_hz: float
    ) -> Self:
        """Fit from the still runs of ``still`` (each trimmed by ``trim_s`` at both ends)."""
        trim = int(round(self.trim_s * sampling_rate_hz))
        segs = runs(still)
        segs[:, 0] += trim
        segs[:, 1] -= trim
        segs = segs[(segs[:, 1] - segs[:, 0]) >= self.min_segment_s * sampling_rate_hz]
        self.n_segments_ = len(segs)
        self.bias_g_ = np.zeros(3)
        self.scale_ = np.zeros(3)
        if len(segs) == 0 or not self.enabled:
            return self
        csum = np.concatenate([np.zeros((1, 3)), np.cumsum(acc_g, axis=0)])
        means = (csum[segs[:, 1]] - csum[segs[:, 0]]) / (segs[:, 1] - segs[:, 0])[:, None]
        norms = np.linalg.norm(means, axis=1)
        u = means / norms[:, None]
        a = np.hstack([u, u**2]) / self.noise_sigma_g
        y = (norms - 1.0) / self.noise_sigma_g
        prior = np.r_[np.full(3, 1 / self.bias_sigma_g**2), np.full(3, 1 / self.scale_sigma**2)]
        keep = np.ones(len(y), dtype=bool)
        for _ in range(2):  # one refit without outlying segments (not truly still)
            p = np.linalg.solve(a[keep].T @ a[keep] + np.diag(prior), a[keep].T @ y[keep])
            resid = np.abs(y - a @ p)
            keep = resid < 3.0
            if keep.all():
                break
        self.n_segments_ = int(keep.sum())
        self.bias_g_ = p[:3]
        self.scale_ = p[3:]
        return self

    def apply(self, acc_g: NDArray[np.float64]) -> NDArray[np.float64]:
        """Corrected specific force ``(f - b) / (1 + s)``."""
        return (acc_g - self.bias_g_) / (1.0 + self.scale_)
