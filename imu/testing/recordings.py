"""Small recordings to feed a virtual or mini sensor when no activity simulation is needed
(tests, demos, benchmarks); activity sessions come from ``imu.sim``.

``small_recording``: physically simulated standing pelvis sway. ``random_recording``: random
counts, so that any reordering, loss or corruption on the way shows in a bit-exact comparison.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from imu.device.chip import ACC_LSB_G, GYR_LSB_DPS, ImuRecording
from imu.sim.sensor import Pose, SensorModel, render_imu


def small_recording(rate_hz: int = 104, duration_s: float = 10.0, seed: int = 0,
                    acc_range_g: int = 8, gyr_range_dps: int = 1000) -> ImuRecording:
    """``duration_s`` of a standing pelvis swaying slowly (0.3-0.5 Hz), rendered by the
    simulator's sensor model."""
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


def random_recording(n: int, rate_hz: float, seed: int = 0, acc_range_g: int = 8,
                     gyr_range_dps: int = 1000) -> ImuRecording:
    """``n`` samples of uniformly random int16 counts at ``rate_hz`` (no ground truth: zeros)."""
    rng = np.random.default_rng(seed)
    acc = rng.integers(-32768, 32768, (n, 3)).astype(np.int16)
    gyr = rng.integers(-32768, 32768, (n, 3)).astype(np.int16)
    zero = np.zeros((n, 3))
    return ImuRecording(np.arange(n) / rate_hz, acc, gyr, ACC_LSB_G[acc_range_g],
                        GYR_LSB_DPS[gyr_range_dps], acc_range_g, gyr_range_dps, zero, zero)
