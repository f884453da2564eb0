"""Strength-session simulator: physics, smoothness, ground truth, options and file round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES, REST_AT_BOTTOM
from imu.core.frames import GRAVITY_M_S2, pelvis_angles_deg, pelvis_rotation_from_angles_deg
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M
from imu.io.rawfile import read_raw
from imu.metrics.strength import tilt_class
from imu.sim import simulate
from imu.sim.motion import Track, cruise, min_jerk
from imu.sim.sensor import SensorModel, ideal_imu
from imu.sim.strength import simulate_strength, strength_motion

SHORT = {"rest_s": (8.0, 12.0), "standing_s": 4.0}
"""Short rests keep the sessions (and the tests) small."""


@pytest.fixture(scope="module")
def bridge_motion():
    return strength_motion("glute_bridge", n_sets=2, reps_per_set=4, seed=11, **SHORT)


@pytest.fixture(scope="module")
def mixed_session():
    return simulate_strength(
        ["glute_bridge", "romanian_deadlift", "squat"], n_sets=3, reps_per_set=[4, 5, 3],
        seed=3, **SHORT,
    )


# ---- smooth-motion helpers ------------------------------------------------------------------


def test_profiles_are_c2_and_go_from_0_to_1():
    s = np.linspace(0.0, 1.0, 20001)
    ds = s[1] - s[0]
    for prof in (min_jerk(s), cruise(s, 0.25)):
        assert prof[0] == pytest.approx(0.0, abs=1e-12)
        assert prof[-1] == pytest.approx(1.0, abs=1e-12)
        vel = np.gradient(prof, ds)
        acc = np.gradient(vel, ds)
        assert abs(vel[0]) < 1e-3 and abs(vel[-1]) < 1e-3
        assert abs(acc[1]) < 0.05 and abs(acc[-2]) < 0.05
        # No jumps in acceleration: neighbouring samples differ by a small amount.
        assert np.abs(np.diff(acc)).max() < 0.05


def test_track_sums_overlapping_segments():
    tr = Track({"x": 1.0})
    tr.add("x", 1.0, 2.0, 3.0)
    tr.add("x", 1.5, 3.0, -1.0, "cruise", 0.3)
    t = np.arange(0, 4, 0.001)
    x = tr.render(t)["x"]
    assert x[0] == 1.0 and x[-1] == pytest.approx(3.0)
    assert tr.value("x") == pytest.approx(3.0)
    mid = np.searchsorted(t, 1.5)
    assert x[mid] == pytest.approx(1.0 + 3.0 * 0.5, abs=1e-3)


# ---- physics ---------------------------------------------------------------------------------


def test_specific_force_is_one_g_at_rest(mixed_session):
    rec = mixed_session.recording
    quiet = rec.t_s < 3.5
    true_norm = np.linalg.norm(rec.true_acc_g[quiet], axis=1)
    assert np.abs(true_norm - 1.0).max() < 2e-3
    meas_norm = np.linalg.norm(mixed_session.raw.acc_g[quiet], axis=1)
    # Turn-on bias (0.02 g per axis, 1 sigma) + scale error + noise.
    assert abs(np.mean(meas_norm) - 1.0) < 0.08
    assert np.std(meas_norm) < 0.01


def test_gyro_integrates_to_the_pose_orientation(bridge_motion):
    pose = bridge_motion.pose
    mount = Rotation.from_euler("xyz", [30, -70, 120], degrees=True)
    _, w = ideal_imu(pose, mount, np.asarray(DEFAULT_SENSOR_OFFSET_M["left_hip"]))
    rate = pose.rate_hz
    reps = bridge_motion.truth.reps
    i0 = int((reps.start_s.iloc[0] - 6.0) * rate)  # includes lying down and the first reps
    i1 = int(reps.end_s.iloc[1] * rate)
    r_ws = pose.orientation * mount
    q = r_ws[i0]
    # Trapezoidal rate between samples; 800 Hz makes the coning error negligible.
    steps = Rotation.from_rotvec(0.5 * (w[i0:i1 - 1] + w[i0 + 1:i1]) / rate)
    for k in range(len(steps)):
        q = q * steps[k]
    err_deg = np.degrees((q.inv() * r_ws[i1 - 1]).magnitude())
    total_deg = np.degrees(np.sum(np.linalg.norm(w[i0:i1], axis=1)) / rate)
    assert total_deg > 100.0  # the window really contains motion
    assert err_deg < 0.5


def test_vertical_specific_force_is_height_acceleration_plus_g(bridge_motion):
    pose = bridge_motion.pose
    mount = Rotation.from_euler("zyx", [10, 50, -80], degrees=True)
    f, _ = ideal_imu(pose, mount, np.zeros(3))  # sensor at the pelvis centre
    rate = pose.rate_hz
    rep = bridge_motion.truth.reps.iloc[1]
    i0, i1 = int(rep.start_s * rate), int(rep.end_s * rate)
    f_world_z = (pose.orientation[i0:i1] * mount).apply(f[i0:i1])[:, 2]
    z = pose.position_m[:, 2]
    # Independent second derivative: 5-point stencil on a coarser step.
    h = 8
    zdd = (
        -z[i0 - 2 * h : i1 - 2 * h] + 16 * z[i0 - h : i1 - h] - 30 * z[i0:i1]
        + 16 * z[i0 + h : i1 + h] - z[i0 + 2 * h : i1 + 2 * h]
    ) / (12 * (h / rate) ** 2)
    assert np.abs(zdd).max() > 0.3  # the hips really accelerate during the rep
    assert np.abs(f_world_z - (zdd + GRAVITY_M_S2)).max() < 0.02


def test_motion_is_smooth_no_acceleration_jumps(bridge_motion):
    pose = bridge_motion.pose
    dt = 1.0 / pose.rate_hz
    acc = np.gradient(np.gradient(pose.position_m, dt, axis=0), dt, axis=0)
    # Continuous acceleration: neighbouring fine samples differ by at most jerk x dt with a
    # human jerk below 400 m/s^3. A velocity kink (C1 only) of a 0.3 m/s hip movement would
    # show as a 0.3 / dt = 240 m/s^2 spike instead.
    assert np.abs(np.diff(acc, axis=0)).max() < 400.0 * dt
    rot = pose.orientation
    w = np.linalg.norm((rot[:-1].inv() * rot[1:]).as_rotvec(), axis=1) / dt
    # Angular rate continuous too: angular acceleration below 60 rad/s^2.
    assert np.abs(np.diff(w)).max() < 60.0 * dt


def test_signs_lying_on_the_back_and_hinging():
    """Identity mounting at the sacrum: the sensor axes are the pelvis axes (forward, left, up).
    Lying on the back (sagittal +90) the forward axis points up and reads +1 g; bent forward in a
    hinge (sagittal < 0) it points down and reads -sin(|sagittal|)."""
    s = simulate_strength(["glute_bridge", "hip_hinge"], n_sets=2, reps_per_set=2, seed=6,
                          mounting=None, placement="sacrum", walking=False, **SHORT)
    rec, p, reps = s.recording, s.truth.pelvis, s.truth.reps
    t = p.t_s.to_numpy()
    bridge = reps[reps.exercise == "glute_bridge"].iloc[1]
    i = np.searchsorted(t, bridge.start_s - 0.2)  # resting on the floor before the rep
    assert p.sagittal_deg[i] == pytest.approx(90, abs=6)
    assert rec.true_acc_g[i, 0] == pytest.approx(1.0, abs=0.01)
    hinge = reps[reps.exercise == "hip_hinge"].iloc[0]
    m = np.flatnonzero((t >= hinge.start_s) & (t <= hinge.end_s))
    k = m[np.argmin(p.sagittal_deg.to_numpy()[m])]  # bottom of the hinge
    sag = p.sagittal_deg[k]
    assert sag < -40
    assert rec.true_acc_g[k, 0] == pytest.approx(np.sin(np.radians(sag)), abs=0.03)
    assert rec.true_acc_g[k, 2] == pytest.approx(np.cos(np.radians(sag)), abs=0.03)


def test_quiet_standing_defines_neutral(mixed_session):
    p = mixed_session.truth.pelvis
    quiet = p[p.t_s < 3.5]
    for col in ("rotation_deg", "obliquity_deg", "sagittal_deg"):
        assert quiet[col].abs().max() < 1.0
    assert np.ptp(quiet.height_m) < 0.01


# ---- ground truth ----------------------------------------------------------------------------


def _check_truth(reps: pd.DataFrame, sets: pd.DataFrame, requested: list[int]) -> None:
    assert list(sets.reps) == requested
    assert list(reps.groupby("set").rep.max()) == requested
    assert (reps.start_s.diff().dropna() > 0).all()
    assert (reps.end_s.iloc[:-1].to_numpy() <= reps.start_s.iloc[1:].to_numpy()).all()
    for ex, g in reps.groupby("exercise"):
        assert (g.start_s < g.lockout_s).all()
        assert (g.concentric_s > 0.3).all() and (g.eccentric_s > 0.3).all()
        assert (g.concentric_s < 2.6).all() and (g.eccentric_s < 2.6).all()
        span = g.end_s - g.start_s
        if ex in REST_AT_BOTTOM:
            assert (g.lockout_s < g.end_s).all()
            np.testing.assert_allclose(g.concentric_s + g.top_hold_s + g.eccentric_s, span,
                                       atol=1e-6)
        else:
            assert (g.lockout_s > g.end_s).all()
            np.testing.assert_allclose(g.eccentric_s + g.bottom_pause_s + g.concentric_s, span,
                                       atol=1e-6)
            for _, s in g.groupby("set"):
                assert np.isnan(s.top_hold_s.iloc[-1]) and s.top_hold_s.iloc[:-1].notna().all()
                # The top hold runs from this rep's end to the next rep's start.
                np.testing.assert_allclose(
                    s.end_s.iloc[:-1].to_numpy() + s.top_hold_s.iloc[:-1].to_numpy(),
                    s.start_s.iloc[1:].to_numpy(), atol=1e-6,
                )
                np.testing.assert_allclose(s.lockout_s.iloc[:-1].to_numpy(),
                                           0.5 * (s.end_s.to_numpy()[:-1]
                                                  + s.start_s.to_numpy()[1:]),
                                           atol=1e-6)
        assert (g.top_hold_s.dropna() >= 0).all() and (g.top_hold_s.dropna() < 3.5).all()
    np.testing.assert_allclose(reps.pelvis_angle_deg - reps.expected_deg, reps.tilt_deg)
    # The realised tilt equals the scripted one up to the tiny postural sway.
    assert (reps.tilt_deg - reps.scripted_tilt_deg).abs().max() < 1.0
    assert list(reps.tilt_class) == list(tilt_class(reps.tilt_deg))


def test_truth_is_consistent(mixed_session):
    t = mixed_session.truth
    _check_truth(t.reps, t.sets, [4, 5, 3])
    assert list(t.sets.exercise) == ["glute_bridge", "romanian_deadlift", "squat"]
    assert t.summary["n_reps"] == 12 and t.summary["n_sets"] == 3
    assert t.summary["exercise"] == "mixed" and "exercise" not in mixed_session.raw.meta
    assert t.summary["session_id"] == mixed_session.raw.meta["session_id"]
    assert t.summary["duration_s"] == pytest.approx(mixed_session.raw.n_samples / 200.0)


def test_truth_matches_the_pose(mixed_session):
    """Lockout angle, hip travel and phase boundaries re-derived from the output-rate pose."""
    reps, p = mixed_session.truth.reps, mixed_session.truth.pelvis
    t = p.t_s.to_numpy()
    sag = np.interp(reps.lockout_s, t, p.sagittal_deg)
    np.testing.assert_allclose(sag, reps.pelvis_angle_deg, atol=0.3)
    for _, r in reps.iterrows():
        m = (t >= r.start_s) & (t <= r.end_s)
        assert np.ptp(p.height_m[m]) * 100 == pytest.approx(r.hip_travel_cm, abs=0.3)
    # Bridges: expected = 90 + asin(rise / trunk length).
    b = reps[reps.exercise == "glute_bridge"]
    rise = np.interp(b.lockout_s, t, p.height_m) - np.interp(b.start_s, t, p.height_m)
    np.testing.assert_allclose(b.expected_deg, 90 + np.degrees(np.arcsin(rise / 0.5)), atol=0.2)
    # At the boundaries the true angular speed is at 5 % of the phase peak: still, not moving.
    w = np.linalg.norm(mixed_session.recording.true_gyr_dps, axis=1)
    w_start = np.interp(reps.start_s, t, w)
    peak = np.array([w[(t >= r.start_s) & (t <= r.end_s)].max() for _, r in reps.iterrows()])
    assert (w_start < 0.1 * peak).all()


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_exercise_simulates_with_plausible_kinematics(exercise):
    s = simulate_strength(exercise, n_sets=1, reps_per_set=3, seed=21, walking=False, **SHORT)
    r = s.truth.reps
    _check_truth(r, s.truth.sets, [3])
    assert s.raw.meta["exercise"] == exercise and s.raw.meta["activity"] == "strength"
    angle, travel = r.pelvis_angle_deg, r.hip_travel_cm
    expected = {"glute_bridge": (95, 135), "single_leg_bridge": (90, 125),
                "hip_thrust": (75, 105), "quadruped_hip_extension": (-105, -75)}
    lo, hi = expected.get(exercise, (-10, 10))
    assert angle.between(lo, hi).all(), angle
    travel_cm = {"glute_bridge": (10, 30), "single_leg_bridge": (7, 25), "hip_thrust": (18, 35),
                 "quadruped_hip_extension": (0, 4), "deadlift": (20, 45),
                 "bulgarian_split_squat": (20, 48), "squat": (30, 60),
                 "glute_ham_raise": (12, 45)}
    lo, hi = travel_cm.get(exercise, (1, 14))
    assert travel.between(lo, hi).all(), travel
    # The bottom of each rep: deepest sagittal angle inside the rep.
    p = s.truth.pelvis
    lowest = [p.sagittal_deg[(p.t_s >= x.start_s) & (p.t_s <= x.end_s)].min() for _, x in
              r.iterrows()]
    bottom = {"hip_hinge": (-80, -40), "romanian_deadlift": (-95, -45),
              "single_leg_rdl": (-95, -48), "deadlift": (-70, -30), "squat": (-38, -10),
              "bulgarian_split_squat": (-28, -5), "glute_ham_raise": (-90, -50),
              "hip_thrust": (25, 60)}
    if exercise in bottom:
        lo, hi = bottom[exercise]
        assert lo < min(lowest) and max(lowest) < hi, lowest
    # The medio-lateral axis dominates the reps' rotation (except in quadruped extension).
    if exercise != "quadruped_hip_extension":
        for _, x in r.iterrows():
            assert np.ptp(p.sagittal_deg[(p.t_s >= x.start_s) & (p.t_s <= x.end_s)]) > 7.5
    # One-sided exercises tip and turn the pelvis (minimum range within each rep, deg).
    side_motion = {"single_leg_bridge": ("obliquity_deg", 2.0),
                   "quadruped_hip_extension": ("obliquity_deg", 6.0),
                   "single_leg_rdl": ("rotation_deg", 5.0)}
    if exercise in side_motion:
        col, least = side_motion[exercise]
        for _, x in r.iterrows():
            assert np.ptp(p[col][(p.t_s >= x.start_s) & (p.t_s <= x.end_s)]) > least


def test_lockout_tilt_covers_all_classes():
    m = strength_motion("glute_bridge", n_sets=4, reps_per_set=8, seed=13, walking=False,
                        rest_s=(3.0, 4.0))
    reps = m.truth.reps
    assert set(reps.tilt_class) == {"posterior", "neutral", "anterior"}
    assert reps.tilt_deg.min() < -6 and reps.tilt_deg.max() > 6
    # Amplitudes vary from rep to rep (+-13 %): hip travel is not constant.
    assert reps.hip_travel_cm.std() > 0.5
    # The distribution can be overridden (e.g. for a posterior-tilt trend over a month).
    m = strength_motion("hip_thrust", n_sets=2, reps_per_set=6, seed=13, walking=False,
                        rest_s=(3.0, 4.0), tilt_range_deg=(4.0, 9.0))
    assert m.truth.reps.tilt_deg.between(3.0, 10.0).all()


# ---- options ---------------------------------------------------------------------------------


def test_sample_rates():
    truths = {}
    for rate in (100.0, 200.0, 400.0):
        s = simulate_strength("hip_thrust", n_sets=1, reps_per_set=3, sample_rate_hz=rate,
                              seed=4, **SHORT)
        dt = np.diff(s.raw.t_s)
        assert s.raw.meta["sample_rate_hz"] == rate
        np.testing.assert_allclose(dt, 1.0 / rate, rtol=1e-9)
        assert s.raw.n_samples == pytest.approx(s.truth.summary["duration_s"] * rate)
        truths[rate] = s.truth.reps
    for rate in (100.0, 400.0):
        cols = ["start_s", "end_s", "lockout_s", "pelvis_angle_deg", "hip_travel_cm"]
        np.testing.assert_allclose(truths[rate][cols], truths[200.0][cols], atol=0.02)


def test_truth_is_invariant_to_mounting_and_placement():
    kw = dict(exercise="single_leg_bridge", n_sets=2, reps_per_set=3, seed=9, **SHORT)
    a = simulate_strength(mounting=None, **kw)
    b = simulate_strength(mounting=Rotation.from_euler("xyz", [90, 10, -45], degrees=True),
                          placement="sacrum", **kw)
    c = simulate_strength(mounting="random", placement="right_hip", **kw)
    pd.testing.assert_frame_equal(a.truth.reps, b.truth.reps)
    pd.testing.assert_frame_equal(a.truth.reps, c.truth.reps)
    assert not np.allclose(a.raw.acc_g, b.raw.acc_g, atol=0.05)
    # Identity mounting, left hip: at the standing start the z axis reads +1 g.
    assert np.mean(a.raw.acc_g[:400, 2]) == pytest.approx(1.0, abs=0.08)
    # The random mounting is uniform, i.e. a different rotation for another seed.
    d = simulate_strength(**{**kw, "seed": 10}, mounting="random")
    assert (c.mounting.inv() * d.mounting).magnitude() > 1e-3


def test_heading_changes_between_sets():
    s = simulate_strength("squat", n_sets=3, reps_per_set=2, seed=2, **SHORT)
    p, sets = s.truth.pelvis, s.truth.sets
    headings = [
        np.degrees(np.angle(np.mean(np.exp(1j * np.radians(
            p.rotation_deg[(p.t_s >= x.start_s) & (p.t_s <= x.end_s)])))))
        for _, x in sets.iterrows()
    ]
    diffs = np.abs((np.diff(headings) + 180) % 360 - 180)
    assert (diffs > 10).all()


def test_walking_rests_have_a_gait_bounce():
    kw = dict(exercise="deadlift", n_sets=2, reps_per_set=2, seed=1, rest_s=(40, 40),
              standing_s=4.0)
    for walking in (True, False):
        m = strength_motion(walking=walking, **kw)
        pose, sets = m.pose, m.truth.sets
        rate = pose.rate_hz
        i0, i1 = int((sets.end_s.iloc[0] + 5) * rate), int((sets.start_s.iloc[1] - 5) * rate)
        speed = np.linalg.norm(np.gradient(pose.position_m[i0:i1, :2], 1 / rate, axis=0), axis=1)
        z = pose.position_m[i0:i1:4, 2]  # 200 Hz
        spec = np.abs(np.fft.rfft(z - z.mean())) * 2 / z.size
        f = np.fft.rfftfreq(z.size, 4 / rate)
        bob_m = spec[(f > 1.5) & (f < 2.2)].max()
        if walking:
            # Walking at 1.1-1.4 m/s with a vertical bob at the step frequency (1.7-1.95 Hz).
            assert speed.max() > 1.0
            assert bob_m > 10 * np.median(spec[(f > 0.5) & (f < 5)])
        else:
            # Standing, fidgets and turning on the spot only.
            assert speed.max() < 0.4


def test_saturation_when_the_range_is_tiny():
    kw = dict(exercise="romanian_deadlift", n_sets=3, reps_per_set=5, seed=4, **SHORT)
    normal = simulate_strength(**kw)
    tiny = simulate_strength(sensor_model=SensorModel(acc_range_g=2, gyr_range_dps=125), **kw)
    assert normal.raw.saturated_mask().sum() == 0
    rec = tiny.recording
    on_rail = rec.saturated()
    assert on_rail.sum() > 10
    # Exactly where the true rate goes beyond the int16 rails (4.375 mdps/LSB: 143 deg/s).
    beyond = (np.abs(rec.true_gyr_dps) > 32767 * rec.gyr_lsb_dps * 1.02).any(axis=1)
    assert on_rail[beyond].all()
    assert np.abs(tiny.raw.gyr_dps).max() <= 32768 * rec.gyr_lsb_dps * (1 + 1e-6)
    assert tiny.raw.saturated_mask().sum() >= on_rail.sum()


def test_without_gyro_and_dispatch():
    s = simulate("strength", exercise="glute_bridge", n_sets=1, reps_per_set=2, seed=1,
                 with_gyro=False, **SHORT)
    assert s.raw.gyr_dps is None
    assert len(s.truth.reps) == 2


def test_random_rep_counts_default():
    m = strength_motion("hip_hinge", n_sets=3, seed=8, walking=False, rest_s=(3.0, 4.0))
    counts = m.truth.sets.reps.tolist()
    assert all(5 <= c <= 15 for c in counts)


@pytest.mark.parametrize(
    "kw",
    [
        {"exercise": "burpee"},
        {"exercise": ["glute_bridge", "squat"], "n_sets": 3},
        {"reps_per_set": 0},
        {"placement": "ankle"},
        {"mounting": "sideways"},
        {"standing_s": 1.0},
        {"n_sets": 0},
        {"rest_s": (10.0, 5.0)},
        {"tilt_range_deg": (5.0, -5.0)},
    ],
)
def test_bad_options_raise_input_error(kw):
    with pytest.raises(InputError):
        simulate_strength(**kw)


# ---- file round trip -------------------------------------------------------------------------


def test_write_and_read_back(tmp_path, mixed_session):
    path = mixed_session.write(tmp_path / "s.raw.parquet")
    raw = read_raw(path)
    ref = mixed_session.raw
    np.testing.assert_array_equal(raw.t_s, ref.t_s)
    np.testing.assert_allclose(raw.acc_g, ref.acc_g, rtol=1e-6)
    np.testing.assert_allclose(raw.gyr_dps, ref.gyr_dps, rtol=1e-6)
    for key in ("session_id", "started_at", "sample_rate_hz", "placement", "acc_range_g",
                "gyr_range_dps", "activity", "trunk_length_m"):
        assert raw.meta[key] == ref.meta[key]
    # The truth's pelvis angles at the output rate decompose the same rotation again.
    p = mixed_session.truth.pelvis.iloc[::500]
    r = pelvis_rotation_from_angles_deg(p.rotation_deg, p.obliquity_deg, p.sagittal_deg)
    np.testing.assert_allclose(pelvis_angles_deg(r), p[["rotation_deg", "obliquity_deg",
                                                         "sagittal_deg"]], atol=1e-6)
