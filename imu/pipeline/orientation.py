"""Sensor orientation from accelerometer and gyroscope with VQF (offline variant).

VQF (Laidig D, Seel T (2023) VQF: Highly accurate IMU orientation estimation with bias estimation
and magnetic disturbance rejection. Information Fusion 91:187-204, doi:10.1016/j.inffus.2022.10.014)
fuses gyroscope strapdown integration with an accelerometer inclination correction and estimates
the remaining gyroscope bias; the offline variant runs forward and backward, so the estimate at a
sample also uses later data. Without a magnetometer (6D) the inclination is absolute and the
heading drifts slowly; pelvis sagittal angle and obliquity depend on the inclination only.

:class:`SampledOrientation` is such an estimate on its uniform grid, read at other times: a
workout's one orientation, estimated by the strength stages at ~50 Hz and read by the gait stage
at the sample rate on the walks and jogs between sets (docs/algorithms.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from vqf import offlineVQF

from imu.core.frames import GRAVITY_M_S2, quat_wxyz_to_rotation
from imu.core.rotation import Rotation
from imu.pipeline.base import OrientationAlgorithm

Array = NDArray[np.float64]


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


READ_BLOCK = 65_536
"""Times per block of :meth:`SampledOrientation.at` (bounded temporaries)."""


@dataclass(frozen=True)
class SampledOrientation:
    """Earth <- sensor orientation known on a uniform grid, its sample ``k`` at time
    ``t0_s + k / rate_hz``, read at any times by normalised linear interpolation of the
    neighbouring quaternions (nlerp; at 50 Hz its difference to slerp is below 0.01 deg for
    rates under 400 deg/s); held at the ends outside the grid."""

    rotation: Rotation
    t0_s: float
    rate_hz: float

    def at(self, t_s: Array) -> Rotation:
        """The orientation at the times ``t_s`` (s, same clock as the grid), (N,) rotations."""
        q = self.rotation.as_quat()  # (K, 4) scalar last
        t = np.asarray(t_s, dtype=float)
        out = np.empty((t.size, 4))
        last = max(len(q) - 2, 0)
        for a in range(0, t.size, READ_BLOCK):
            x = (t[a:a + READ_BLOCK] - self.t0_s) * self.rate_hz
            i = np.clip(np.floor(x), 0, last).astype(np.int64)
            w = np.clip(x - i, 0.0, 1.0 if len(q) > 1 else 0.0)[:, None]
            lo, hi = q[i], q[np.minimum(i + 1, len(q) - 1)]
            hi *= np.where(np.einsum("ij,ij->i", lo, hi) < 0.0, -1.0, 1.0)[:, None]  # one sign
            out[a:a + READ_BLOCK] = lo + w * (hi - lo)
        return Rotation.from_quat(out, copy=False)
