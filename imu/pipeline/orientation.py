"""Sensor orientation from accelerometer and gyroscope with VQF (offline variant).

VQF (Laidig D, Seel T (2023) VQF: Highly accurate IMU orientation estimation with bias estimation
and magnetic disturbance rejection. Information Fusion 91:187-204, doi:10.1016/j.inffus.2022.10.014)
fuses gyroscope strapdown integration with an accelerometer inclination correction and estimates
the remaining gyroscope bias; the offline variant runs forward and backward, so the estimate at a
sample also uses later data. Without a magnetometer (6D) the inclination is absolute and the
heading drifts slowly; pelvis sagittal angle and obliquity depend on the inclination only.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from vqf import offlineVQF

from imu.core.frames import GRAVITY_M_S2, quat_wxyz_to_rotation
from imu.core.rotation import Rotation
from imu.pipeline.base import OrientationAlgorithm


class VqfOrientation(OrientationAlgorithm):
    """Earth <- sensor orientation per sample (earth z up, heading arbitrary but constant).

    Parameters
    ----------
    vqf_params
        Passed to ``vqf.offlineVQF`` (see VQFParams); None uses VQF's defaults.

    Results
    -------
    orientation_
        Earth <- sensor rotation per sample (scipy ``Rotation``).
    quat_wxyz_
        The same as VQF's (N, 4) scalar-first quaternions.
    gyro_bias_dps_
        VQF's gyroscope bias estimate per sample (N, 3).
    rest_
        VQF's rest detection per sample.
    """

    def __init__(self, vqf_params: dict[str, Any] | None = None) -> None:
        self.vqf_params = vqf_params

    def estimate(
        self, acc_g: NDArray[np.float64], gyr_dps: NDArray[np.float64], sampling_rate_hz: float
    ) -> Self:
        """Estimate the orientation from the specific force (g) and angular rate (deg/s)."""
        gyr = np.ascontiguousarray(np.radians(np.asarray(gyr_dps, dtype=np.float64)))
        acc = np.ascontiguousarray(np.asarray(acc_g, dtype=np.float64) * GRAVITY_M_S2)
        out = offlineVQF(gyr, acc, None, 1.0 / float(sampling_rate_hz), self.vqf_params)
        self.quat_wxyz_ = out["quat6D"]
        self.orientation_: Rotation = quat_wxyz_to_rotation(out["quat6D"])
        self.gyro_bias_dps_ = np.degrees(out["bias"])
        self.rest_ = out["restDetected"]
        return self
