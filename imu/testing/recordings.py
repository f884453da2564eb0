"""A small physically simulated recording (standing pelvis sway) to feed a virtual sensor when
no activity simulation is needed (tests, demos); activity sessions come from ``imu.sim``."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from imu.device.chip import ImuRecording
from imu.sim.sensor import Pose, SensorModel, render_imu


def small_recording(rate_hz: int = 104, duration_s: float = 10.0, seed: int = 0,
                    acc_range_g: int = 8, gyr_range_dps: int = 1000) -> ImuRecording:
    factor = 8
    fine = rate_hz * factor
    t = np.arange(int(duration_s * fine)) / fine
    pos = np.zeros((len(t), 3))
    pos[:, 2] = 0.9 + 0.05 * np.sin(2 * np.pi * 0.5 * t)
    rot = Rotation.from_rotvec(np.c_[0.3 * np.sin(2 * np.pi * 0.5 * t),
                                     0.1 * np.sin(2 * np.pi * 0.3 * t), 0 * t])
    model = SensorModel(acc_range_g=acc_range_g, gyr_range_dps=gyr_range_dps)
    return render_imu(Pose(t, pos, rot), factor, Rotation.identity(), np.zeros(3), model,
                      np.random.default_rng(seed))
