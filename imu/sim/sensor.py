"""From a pelvis pose to what a real IMU on the hip reports.

Physics: a sensor at offset ``r`` (pelvis frame) from the pelvis centre ``p`` sits at
``p_s = p + R_wp r``. Its accelerometer measures specific force, the acceleration minus gravity,
rotated into the sensor frame: ``f_s = R_ws^T (d2 p_s/dt2 - g)`` with ``g = (0, 0, -9.80665)``,
so a sensor at rest reads +1 g upward. The gyroscope measures the body angular rate in the sensor
frame, ``[w_s]x = R_ws^T dR_ws/dt``.

The pose is given on a fine time grid (oversampled); derivatives are central differences there,
the chip's digital low-pass is a zero-phase Butterworth, and the result is decimated to the output
data rate. Errors (Titterton & Weston, Strapdown Inertial Navigation Technology, ch. 8): white
noise from the noise density, a constant turn-on bias, a bias random walk, scale-factor error,
small axis misalignment, int16 quantisation at the chip's sensitivity, and saturation at full scale.
Default figures are those of the LSM6DSOX data sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation

from imu.core.frames import GRAVITY_M_S2, quat_mul
from imu.device.chip import ACC_LSB_G, GYR_LSB_DPS, ImuRecording, quantise

FINE_RATE_MIN_HZ: Final = 800.0
"""The pose is generated at least this fast before the chip's filter and decimation."""


@dataclass
class Pose:
    """Pelvis pose on a uniform time grid: centre position and world <- pelvis orientation."""

    t_s: NDArray[np.float64]
    position_m: NDArray[np.float64]
    orientation: Rotation

    @property
    def rate_hz(self) -> float:
        return float(1.0 / (self.t_s[1] - self.t_s[0]))


def oversample_factor(sample_rate_hz: float) -> int:
    """How many fine pose samples per output sample."""
    return max(1, int(np.ceil(FINE_RATE_MIN_HZ / sample_rate_hz)))


def body_rate_rad_s(orientation: Rotation, dt_s: float) -> NDArray[np.float64]:
    """Angular rate in the body frame by central differences of the orientation, (N, 3)."""
    q = orientation.as_quat()
    n = len(q)
    w = np.empty((n, 3))
    # R_k^-1 R_{k+1} is the body-frame increment; central difference at interior points.
    # Quaternion product conj(q_k) q_{k+1} and its rotation vector in numpy (much faster than
    # Rotation products for millions of samples).
    d = quat_mul(q[:-1] * [-1.0, -1.0, -1.0, 1.0], q[1:])
    dv, dw = d[:, :3], d[:, 3]
    sign = np.where(dw < 0, -1.0, 1.0)
    s = np.linalg.norm(dv, axis=1)
    angle = 2.0 * np.arctan2(s, np.abs(dw))
    scale = np.where(s > 1e-12, angle / np.maximum(s, 1e-300), 2.0 / np.maximum(np.abs(dw), 1e-12))
    inc = dv * (sign * scale)[:, None] / dt_s
    w[1:-1] = 0.5 * (inc[:-1] + inc[1:])
    w[0] = inc[0]
    w[-1] = inc[-1]
    return w


def ideal_imu(
    pose: Pose, mounting: Rotation, offset_m: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ideal specific force (m/s^2) and angular rate (rad/s) in the sensor frame, on pose.t_s.

    ``mounting`` is pelvis <- sensor; ``offset_m`` the sensor position in the pelvis frame.
    """
    dt = 1.0 / pose.rate_hz
    p_sensor = pose.position_m + pose.orientation.apply(np.asarray(offset_m, dtype=float))
    acc_world = np.gradient(np.gradient(p_sensor, dt, axis=0), dt, axis=0)
    acc_world[:, 2] += GRAVITY_M_S2
    # (R_wp M)^-1 a = M^-1 (R_wp^-1 a); two applies avoid an N-element Rotation product.
    f_sensor = mounting.apply(pose.orientation.apply(acc_world, inverse=True), inverse=True)
    w_sensor = mounting.apply(body_rate_rad_s(pose.orientation, dt), inverse=True)
    return f_sensor, w_sensor


@dataclass
class SensorModel:
    """Error model of a 6-axis MEMS IMU (defaults: LSM6DSOX, high-performance mode)."""

    acc_range_g: int = 8
    gyr_range_dps: int = 1000
    acc_noise_ug_rthz: float = 70.0
    gyr_noise_mdps_rthz: float = 3.8
    acc_bias_g: float = 0.02
    """1-sigma turn-on bias per axis."""
    gyr_bias_dps: float = 1.0
    acc_bias_walk_g_rts: float = 2e-5
    """Bias random walk, g per sqrt(s)."""
    gyr_bias_walk_dps_rts: float = 2e-3
    scale_error: float = 0.01
    """1-sigma scale-factor error per axis (fraction)."""
    misalignment_rad: float = 0.005
    bandwidth_fraction: float = 0.4
    """Digital low-pass cut-off as a fraction of the output data rate."""

    @property
    def acc_lsb_g(self) -> float:
        return ACC_LSB_G[int(self.acc_range_g)]

    @property
    def gyr_lsb_dps(self) -> float:
        return GYR_LSB_DPS[int(self.gyr_range_dps)]

    def _errors(
        self, n: int, rate_hz: float, bias: float, walk: float, rng: np.random.Generator
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(N, 3) bias (constant + random walk) and a 3x3 scale/misalignment matrix."""
        b = rng.normal(0.0, bias, 3) + np.cumsum(
            rng.normal(0.0, walk / np.sqrt(rate_hz), (n, 3)), axis=0
        )
        m = np.eye(3) + np.diag(rng.normal(0.0, self.scale_error, 3))
        m += rng.normal(0.0, self.misalignment_rad, (3, 3)) * (1 - np.eye(3))
        return b, m

    def measure(
        self,
        f_m_s2: NDArray[np.float64],
        w_rad_s: NDArray[np.float64],
        fine_rate_hz: float,
        factor: int,
        rng: np.random.Generator,
    ) -> tuple[NDArray[np.int16], NDArray[np.int16]]:
        """Filter, decimate by ``factor`` and quantise ideal signals into int16 counts."""
        out_rate = fine_rate_hz / factor
        cutoff = min(self.bandwidth_fraction * out_rate, 0.45 * fine_rate_hz)
        sos = butter(4, cutoff, fs=fine_rate_hz, output="sos")
        f_g = sosfiltfilt(sos, f_m_s2 / GRAVITY_M_S2, axis=0)[::factor]
        w_dps = sosfiltfilt(sos, np.degrees(w_rad_s), axis=0)[::factor]
        n = len(f_g)
        acc_b, acc_m = self._errors(n, out_rate, self.acc_bias_g, self.acc_bias_walk_g_rts, rng)
        gyr_b, gyr_m = self._errors(n, out_rate, self.gyr_bias_dps, self.gyr_bias_walk_dps_rts, rng)
        # Noise density x sqrt(bandwidth) -> per-sample sigma at the output rate.
        acc_sigma = self.acc_noise_ug_rthz * 1e-6 * np.sqrt(out_rate / 2)
        gyr_sigma = self.gyr_noise_mdps_rthz * 1e-3 * np.sqrt(out_rate / 2)
        acc = f_g @ acc_m.T + acc_b + rng.normal(0.0, acc_sigma, (n, 3))
        gyr = w_dps @ gyr_m.T + gyr_b + rng.normal(0.0, gyr_sigma, (n, 3))
        return (
            quantise(acc, self.acc_lsb_g, self.acc_range_g),
            quantise(gyr, self.gyr_lsb_dps, self.gyr_range_dps),
        )


def render_imu(
    pose: Pose,
    factor: int,
    mounting: Rotation,
    offset_m: NDArray[np.float64],
    model: SensorModel,
    rng: np.random.Generator,
) -> ImuRecording:
    """Sensor output for a pose given at ``factor`` x the output data rate."""
    f, w = ideal_imu(pose, mounting, offset_m)
    acc_counts, gyr_counts = model.measure(f, w, pose.rate_hz, factor, rng)
    t = pose.t_s[::factor] - pose.t_s[0]
    return ImuRecording(
        t_s=t,
        acc_counts=acc_counts,
        gyr_counts=gyr_counts,
        acc_lsb_g=model.acc_lsb_g,
        gyr_lsb_dps=model.gyr_lsb_dps,
        acc_range_g=int(model.acc_range_g),
        gyr_range_dps=int(model.gyr_range_dps),
        true_acc_g=f[::factor] / GRAVITY_M_S2,
        true_gyr_dps=np.degrees(w[::factor]),
    )


def random_mounting(rng: np.random.Generator) -> Rotation:
    """A uniformly random pelvis <- sensor mounting orientation."""
    return Rotation.random(random_state=rng)
