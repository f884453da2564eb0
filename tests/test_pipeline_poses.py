"""Small hand-made pelvis poses for the strength-pipeline tests (helpers + a self-check)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from imu.core.frames import pelvis_rotation_from_angles_deg
from imu.core.session import RawSession
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M
from imu.sim.motion import Track
from imu.sim.sensor import Pose, SensorModel, oversample_factor, render_imu


def bridge_session(
    rate_hz: float = 100.0,
    mounting: Rotation | None = None,
    seed: int = 0,
    n_reps: int = 5,
    standing_s: float = 5.0,
    heading_deg: float = 30.0,
    rise_m: float = 0.15,
    lift_deg: float = 25.0,
) -> tuple[RawSession, dict[str, np.ndarray]]:
    """Standing, lie down on the back (+85 deg), ``n_reps`` bridges, sit back up, stand.

    Returns the raw session and the truth: rep start/end/lockout times and the hip travel.
    """
    k = oversample_factor(rate_hz)
    fine = rate_hz * k
    tr = Track({"sag": 0.0, "z": 0.95})
    t = standing_s
    tr.move_to(t, t + 3.0, {"sag": 85.0, "z": 0.15})
    t += 5.0
    starts, ends, locks = [], [], []
    for _ in range(n_reps):
        tr.move_to(t, t + 1.0, {"sag": 85.0 + lift_deg, "z": 0.15 + rise_m})
        tr.move_to(t + 2.0, t + 3.5, {"sag": 85.0, "z": 0.15})
        starts.append(t)
        ends.append(t + 3.5)
        locks.append(t + 1.5)
        t += 5.0
    tr.move_to(t, t + 3.0, {"sag": 0.0, "z": 0.95})
    t_end = t + 6.0
    grid = np.arange(0.0, t_end, 1.0 / fine)
    ch = tr.render(grid)
    rot = Rotation.from_euler("z", heading_deg, degrees=True) * pelvis_rotation_from_angles_deg(
        0.0, 0.0, ch["sag"]
    )
    pos = np.zeros((grid.size, 3))
    pos[:, 2] = ch["z"]
    rng = np.random.default_rng(seed)
    mounting = mounting if mounting is not None else Rotation.random(random_state=rng)
    rec = render_imu(
        Pose(grid, pos, rot),
        k,
        mounting,
        np.asarray(DEFAULT_SENSOR_OFFSET_M["left_hip"]),
        SensorModel(),
        rng,
    )
    raw = RawSession(
        t_s=rec.t_s.astype(float),
        acc_g=rec.acc_g.astype(float),
        gyr_dps=rec.gyr_dps.astype(float),
        seq=np.arange(rec.t_s.size),
        meta={"sample_rate_hz": rate_hz, "placement": "left_hip", "exercise": "glute_bridge"},
    )
    truth = {
        "start_s": np.asarray(starts),
        "end_s": np.asarray(ends),
        "lockout_s": np.asarray(locks),
        "travel_cm": np.full(n_reps, rise_m * 100),
        "angle_deg": np.full(n_reps, 85.0 + lift_deg),
        "sag_deg": ch["sag"][::k],
    }
    return raw, truth


def test_bridge_session_truth_is_consistent() -> None:
    """The helper's truth matches its own rendered pose (lockout at the highest angle)."""
    raw, truth = bridge_session(rate_hz=50.0, n_reps=2, seed=1)
    assert raw.acc_g.shape == (raw.t_s.size, 3)
    i = np.searchsorted(raw.t_s, truth["lockout_s"])
    assert np.allclose(truth["sag_deg"][i], truth["angle_deg"], atol=0.5)
    # At rest in the standing opening the sensor reads ~1 g.
    assert abs(np.linalg.norm(raw.acc_g[:100].mean(axis=0)) - 1.0) < 0.1
