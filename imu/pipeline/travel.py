"""Vertical travel of the pelvis centre by anchored double integration (docs/algorithms.md).

The sensor sits at a lever arm ``r`` (pelvis frame) from the pelvis centre, so
``p_centre = p_sensor - R_wp r``. Its vertical acceleration is the sensor's specific force
rotated to the world frame plus gravity, minus the second derivative of the lever arm's vertical
component (which holds the centripetal and tangential terms ``w x (w x r) + dw/dt x r``).

Integration is anchored on still moments (zero-velocity updates, Foxlin 2005, IEEE CG&A 25:38):
between two still moments velocity is integrated from zero and the linear trend that makes it
end at zero is removed (a constant acceleration error over the interval); position is the
integral of that velocity. The vertical range of a rep is then insensitive to a constant
accelerometer bias and to slow orientation errors.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from imu.frames import GRAVITY_M_S2
from imu.pipeline.base import Algorithm
from imu.pipeline.calibration import runs


def centre_vertical_acc_m_s2(
    acc_g: NDArray[np.float64],
    r_world_sensor: Rotation,
    r_world_pelvis: Rotation,
    offset_m: NDArray[np.float64],
    sampling_rate_hz: float,
) -> NDArray[np.float64]:
    """World-vertical acceleration (m/s^2) of the pelvis centre, per sample."""
    a_sensor_z = r_world_sensor.apply(acc_g)[:, 2] * GRAVITY_M_S2 - GRAVITY_M_S2
    lever_z = r_world_pelvis.apply(np.asarray(offset_m, dtype=float))[:, 2]
    dt = 1.0 / float(sampling_rate_hz)
    lever_acc = np.gradient(np.gradient(lever_z, dt), dt)
    return a_sensor_z - lever_acc


def anchored_height_m(
    acc_z_m_s2: NDArray[np.float64], a: int, b: int, sampling_rate_hz: float
) -> NDArray[np.float64]:
    """Height (m) over samples ``a..b`` (inclusive) with zero velocity at both ends.

    Trapezoidal integration; the velocity's linear trend to its end value is removed.
    """
    dt = 1.0 / float(sampling_rate_hz)
    acc = acc_z_m_s2[a : b + 1]
    if acc.size < 2:
        return np.zeros(acc.size)
    v = np.concatenate([[0.0], np.cumsum(0.5 * (acc[1:] + acc[:-1])) * dt])
    v -= np.linspace(0.0, v[-1], v.size)
    return np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1])) * dt])


def session_height_m(
    acc_z_m_s2: NDArray[np.float64], still: NDArray[np.bool_], sampling_rate_hz: float
) -> NDArray[np.float64]:
    """Pelvis-centre height relative to the start, anchored on every still sample.

    Each movement between still runs is integrated with :func:`anchored_height_m`; heights are
    chained, so errors of long sessions accumulate (a display signal, not a measurement).
    """
    n = acc_z_m_s2.size
    dz = np.zeros(n)
    moving = runs(~np.asarray(still, dtype=bool))
    for a, b in moving:
        lo, hi = max(int(a) - 1, 0), min(int(b), n - 1)
        h = anchored_height_m(acc_z_m_s2, lo, hi, sampling_rate_hz)
        dz[lo + 1 : hi + 1] += np.diff(h)
    return np.cumsum(dz)


class HipTravel(Algorithm):
    """Vertical range of the pelvis centre within given intervals (reps).

    ``pad_s`` widens each interval on both sides so the anchors sit in the still moments around
    the rep (the phase boundaries at 5 % of peak speed are not perfectly still).
    """

    def __init__(self, pad_s: float = 0.1) -> None:
        self.pad_s = pad_s

    def estimate(
        self,
        acc_z_m_s2: NDArray[np.float64],
        start_s: NDArray[np.float64],
        end_s: NDArray[np.float64],
        sampling_rate_hz: float,
        lockout_s: NDArray[np.float64] | None = None,
        t0_s: float = 0.0,
    ) -> Self:
        fs = float(sampling_rate_hz)
        n = acc_z_m_s2.size
        travel = np.full(len(start_s), np.nan)
        rise = np.full(len(start_s), np.nan)
        for k, (s, e) in enumerate(zip(start_s, end_s, strict=True)):
            a = int(np.clip(np.floor((s - t0_s - self.pad_s) * fs), 0, n - 1))
            b = int(np.clip(np.ceil((e - t0_s + self.pad_s) * fs), 0, n - 1))
            if b - a < 2:
                continue
            h = anchored_height_m(acc_z_m_s2, a, b, fs)
            t = a + np.arange(h.size)
            ia = int(np.clip(round((s - t0_s) * fs) - a, 0, h.size - 1))
            ib = int(np.clip(round((e - t0_s) * fs) - a, 0, h.size - 1))
            travel[k] = float(np.ptp(h[ia : ib + 1])) if ib > ia else 0.0
            if lockout_s is not None:
                h_lock = float(np.interp((lockout_s[k] - t0_s) * fs, t, h))
                rise[k] = h_lock - h[ia]
        self.travel_m_ = travel
        self.rise_m_ = rise
        return self
