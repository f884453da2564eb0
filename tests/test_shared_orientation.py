"""One orientation per workout (issue 12, "one pass"): the strength stages' offline VQF on their
~50 Hz grid (stage 4, ``analysis.s4_sensor``) is the session's; the gait stage reads it at
its samples on the walks and jogs between sets (``SampledOrientation.at``) instead of
estimating its own (docs/algorithms.md, docs/running.md)."""

from __future__ import annotations

import numpy as np
import pytest

import imu.analysis as analysis
from imu.core.rotation import Rotation
from imu.pipeline.orientation import SampledOrientation
from imu.sim.workout import simulate_workout


def test_read_between_grid_points_as_the_rotation_between_them() -> None:
    """400 deg/s about a tilted axis, known at 50 Hz: read at 1 kHz within 0.001 deg; a grid
    whose quaternions change sign between neighbours reads the same; outside, the ends."""
    axis = np.array([0.3, 0.5, 0.8]) / np.linalg.norm([0.3, 0.5, 0.8])
    rate = np.radians(400.0)
    t_grid = 2.0 + np.arange(50) / 50.0
    grid = Rotation.from_rotvec(np.outer((t_grid - 2.0) * rate, axis))
    t = np.arange(2.0, 2.98, 0.001)
    exact = Rotation.from_rotvec(np.outer((t - 2.0) * rate, axis))
    read = SampledOrientation(grid, 2.0, 50.0).at(t)
    assert np.degrees((read.inv() * exact).magnitude()).max() < 1e-3
    q = grid.as_quat()
    q[1::2] *= -1.0  # the same rotations
    flipped = SampledOrientation(Rotation.from_quat(q), 2.0, 50.0).at(t)
    assert np.degrees((flipped.inv() * exact).magnitude()).max() < 1e-3
    ends = SampledOrientation(grid, 2.0, 50.0).at(np.array([0.0, 10.0]))
    assert np.degrees((ends.inv() * grid[[0, -1]]).magnitude()).max() < 1e-9


@pytest.fixture(scope="module")
def workout() -> object:
    """Four sets with standing rests and a 40 s warm-up jog after an opening standing: the
    gait is a small share of it (the gait stage runs on its samples only)."""
    return simulate_workout(
        seed=61, program=[("glute_bridge", 10), ("squat", 10), ("hip_thrust", 10),
                          ("glute_bridge", 10)],
        start="quiet", standing_s=5.0, warmup_jog_s=40.0, rest_activities=["stand"],
        rest_s=(60.0, 70.0), sample_rate_hz=100.0, cooldown_walk_s=0.0, reseats=0)


def test_the_gait_stage_reads_the_workouts_orientation_in_its_own_frame(workout) -> None:
    """The jog's pelvic drop per side from the shared orientation is within 0.15 deg of the
    truth, and the pelvis is level over the opening standing (within 0.1 deg). The neutral
    "up" is the standing as that orientation sees it: taken from the raw accelerometer
    instead (the refined one made the orientation), the obliquity over the standing is
    0.32 deg and the drops +0.23 / -0.31 deg."""
    sim = workout
    options = analysis.s3_resolve(sim.raw, analysis.s1_options())[0]
    sensor = analysis.s4_sensor(sim.raw, options)
    gait = analysis.s5_gait(sim.raw, options, None, orientation=sensor.orientation())
    assert gait.cropped_ and gait.calibration_ == "opening_standing"
    truth = sim.truth.summary
    for side in ("left", "right"):
        key = f"pelvic_drop_{side}_deg"
        assert abs(gait.summary_[key] - truth[key]) < 0.15, side
    series = gait.timeseries_.to_pandas()
    standing = series[series["t_s"] < 4.0]["obliquity_deg"]
    assert len(standing) > 50 and abs(standing.mean()) < 0.1


def test_analyze_gives_the_gait_stage_the_sessions_orientation(workout) -> None:
    """``imu.analyze`` on the workout: its steps and drops are those of the stages run one by
    one with the shared orientation, not those of an orientation of the gait stage's own."""
    sim = workout
    result = analysis.analyze(sim.raw)
    options = analysis.s3_resolve(sim.raw, analysis.s1_options())[0]
    sensor = analysis.s4_sensor(sim.raw, options)
    shared = analysis.s5_gait(sim.raw, options, None, orientation=sensor.orientation())
    own = analysis.s5_gait(sim.raw, options, None)
    key = "pelvic_drop_left_deg"
    assert result.activity == "mixed"
    assert result.row[key] == shared.summary_[key] != own.summary_[key]
