"""Unit tests of the shared pipeline stages: calibration, orientation, pelvis frame,
segmentation and travel, on signals and poses made here."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy.spatial.transform import Rotation

from imu.core.errors import InputError
from imu.core.frames import pelvis_angles_deg, pelvis_rotation_from_angles_deg
from imu.pipeline.calibration import AccelerometerRefinement, StandingCalibration
from imu.pipeline.candidates import rest_excursion_deg
from imu.pipeline.orientation import VqfOrientation
from imu.pipeline.pelvis import PelvisOrientation, dominant_axis, mounting_from_axes
from imu.pipeline.segmentation import RepSegmentation
from imu.pipeline.signals import interval_mask, runs
from imu.pipeline.travel import (
    HipTravel,
    VerticalErrorFit,
    anchored_height_m,
    centre_vertical_acc_m_s2,
    session_height_m,
)
from imu.sim.motion import Track, min_jerk
from imu.sim.sensor import Pose, SensorModel, oversample_factor, render_imu

FS = 100.0


def _standing_then_moving(
    mount: Rotation, bias_dps: np.ndarray, standing_s: float = 4.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_still, n_move = int(standing_s * FS), int(3 * FS)
    up = mount.apply([0.0, 0.0, 1.0], inverse=True)
    acc = np.tile(up, (n_still + n_move, 1)) + rng.normal(0, 0.002, (n_still + n_move, 3))
    gyr = np.tile(bias_dps, (n_still + n_move, 1)) + rng.normal(0, 0.05, (n_still + n_move, 3))
    t = np.arange(n_move) / FS
    gyr[n_still:] += np.outer(80 * np.sin(2 * np.pi * t), [1.0, 0.3, -0.2])
    acc[n_still:] += np.outer(0.3 * np.sin(2 * np.pi * 1.3 * t), [0.2, 1.0, 0.1])
    return acc, gyr


def test_calibration_finds_bias_and_up() -> None:
    mount = Rotation.random(random_state=3)
    bias = np.array([1.2, -0.7, 0.4])
    acc, gyr = _standing_then_moving(mount, bias)
    cal = StandingCalibration().calibrate(acc, gyr, FS)
    assert np.allclose(cal.gyro_bias_dps_, bias, atol=0.05)
    assert np.allclose(cal.up_sensor_, mount.apply([0, 0, 1.0], inverse=True), atol=0.01)
    assert cal.still_start_s_ == pytest.approx(0.0, abs=0.3)
    assert 3.5 < cal.still_end_s_ < 4.5


def test_calibration_without_standing_start_raises() -> None:
    mount = Rotation.random(random_state=4)
    acc, gyr = _standing_then_moving(mount, np.zeros(3), standing_s=2.0)
    with pytest.raises(InputError, match="no usable standing start"):
        StandingCalibration().calibrate(acc, gyr, FS)
    # Moving from the first sample: no standing at all.
    with pytest.raises(InputError, match="no usable standing start"):
        StandingCalibration().calibrate(acc[200:], gyr[200:], FS)


def test_accelerometer_refinement_recovers_bias_in_excited_plane() -> None:
    rng = np.random.default_rng(0)
    bias = np.array([0.02, -0.015, 0.01])
    scale = np.array([0.0, 0.0, 0.0])
    # Still postures turned about the sensor x axis (as reps turn about the ML axis).
    chunks = []
    for ang in np.linspace(0, np.pi, 7):
        f = np.array([0.0, np.sin(ang), np.cos(ang)])
        chunks.append(np.tile(f * (1 + scale) + bias, (100, 1)) + rng.normal(0, 1e-3, (100, 3)))
        chunks.append(rng.normal(0, 0.5, (50, 3)))  # movement in between
    acc = np.vstack(chunks)
    still = np.ones(len(acc), dtype=bool)
    pos = 0
    for _ in range(7):
        pos += 100
        still[pos : pos + 50] = False
        pos += 50
    ref = AccelerometerRefinement(scale_sigma=1e-4).fit(acc, still, FS)
    assert ref.n_segments_ == 7
    # The y and z bias components are excited by these postures.
    assert np.allclose(ref.bias_g_[1:], bias[1:], atol=0.004)


def _pose(sag_deg: np.ndarray, fine: float, heading_deg: float = 40.0) -> Pose:
    t = np.arange(sag_deg.size) / fine
    rot = Rotation.from_euler("z", heading_deg, degrees=True) * pelvis_rotation_from_angles_deg(
        0.0, 0.0, sag_deg
    )
    return Pose(t, np.zeros((t.size, 3)), rot)


def _rotating_recording(mount: Rotation, seed: int = 0):  # type: ignore[no-untyped-def]
    k = oversample_factor(FS)
    fine = FS * k
    tr = Track({"sag": 0.0})
    tr.move_to(5.0, 7.0, {"sag": 60.0})
    tr.move_to(9.0, 10.5, {"sag": -30.0})
    tr.move_to(12.0, 13.0, {"sag": 0.0})
    t = np.arange(0.0, 16.0, 1 / fine)
    sag = tr.render(t)["sag"]
    rec = render_imu(
        _pose(sag, fine),
        k,
        mount,
        np.array([0.0, 0.16, 0.0]),
        SensorModel(),
        np.random.default_rng(seed),
    )
    return rec, sag[::k]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_orientation_and_pelvis_frame_for_random_mountings(seed: int) -> None:
    mount = Rotation.random(random_state=seed)
    rec, sag_true = _rotating_recording(mount, seed)
    acc, gyr = rec.acc_g.astype(float), rec.gyr_dps.astype(float)
    cal = StandingCalibration().calibrate(acc, gyr, FS)
    gyr = gyr - cal.gyro_bias_dps_
    ori = VqfOrientation().estimate(acc, gyr, FS)
    # VQF inclination: the sensor's up axis in the world matches the truth within ~1.5 deg.
    true_up = mount.apply([0.0, 0.0, 1.0], inverse=True)
    assert np.allclose(cal.up_sensor_, true_up, atol=0.03)
    left, share = dominant_axis(gyr, cal.up_sensor_)
    true_left = mount.apply([0.0, 1.0, 0.0], inverse=True)
    assert share > 0.99
    assert abs(abs(float(left @ true_left)) - 1.0) < 1e-3
    left = left * np.sign(left @ true_left)
    m = mounting_from_axes(cal.up_sensor_, left)
    assert (m * mount.inv()).magnitude() < np.radians(2.0)
    po = PelvisOrientation().estimate(ori.orientation_, m, cal.still_slice_, FS)
    err = po.angles_deg_[:, 2] - sag_true
    assert np.sqrt(np.mean(err**2)) < 1.5
    assert np.abs(po.angles_deg_[cal.still_slice_, 0]).max() < 1.0  # heading = neutral


def test_mounting_from_axes_exact() -> None:
    for seed in range(5):
        mount = Rotation.random(random_state=seed)  # pelvis <- sensor
        up = mount.apply([0.0, 0.0, 1.0], inverse=True)
        left = mount.apply([0.0, 1.0, 0.0], inverse=True) + 0.1 * up  # not orthogonal
        m = mounting_from_axes(up, left)
        assert (m * mount.inv()).magnitude() < 1e-9
        ang = pelvis_angles_deg(Rotation.identity())
        assert np.allclose(ang, 0.0)


def _rep_signals(rest_at_bottom: bool, fs: float = 50.0):  # type: ignore[no-untyped-def]
    """Two sets of 4 reps; fidgets, a walk-like oscillation and a posture step in between."""
    tr = Track({"x": 0.0})
    truth = []
    t = 3.0
    for _set in range(2):
        for _ in range(4):
            tr.add("x", t, t + 1.0, 30.0)
            tr.add("x", t + 2.0, t + 3.2, -30.0)
            truth.append((t, t + 1.0, t + 2.0, t + 3.2))
            t += 4.0
        tr.add("x", t + 5.0, t + 5.5, 4.0)  # fidget
        tr.add("x", t + 6.0, t + 6.5, -4.0)
        t += 30.0
    tr.add("x", t, t + 2.0, 70.0)  # posture change: single step
    ts = np.arange(0.0, t + 10.0, 1 / fs)
    x = tr.render(ts)["x"] + 1.5 * np.sin(2 * np.pi * 0.9 * ts) * (ts > 30) * (ts < 42)
    theta = x if rest_at_bottom else -x
    speed = np.abs(np.gradient(theta, 1 / fs))
    return theta, speed, np.asarray(truth)


@pytest.mark.parametrize("rest_at_bottom", [True, False])
def test_segmentation_on_simple_signals(rest_at_bottom: bool) -> None:
    theta, speed, truth = _rep_signals(rest_at_bottom)
    x = theta if rest_at_bottom else -theta
    fs = 50.0
    frames = []
    for k, set_truth in enumerate((truth[:4], truth[4:])):
        # the extreme of each rep: the middle of its hold (rest at bottom) / its pause
        peaks = np.round(0.5 * (set_truth[:, 1] + set_truth[:, 2]) * fs).astype(np.int64)
        seg = RepSegmentation().segment(x, speed, fs, peaks, rest_at_bottom, set_no=k + 1)
        frames.append(seg.reps_)
    table = pa.concat_tables(frames)
    r = {c: table.column(c).to_numpy() for c in table.column_names}
    assert np.unique(r["set"], return_counts=True)[1].tolist() == [4, 4]
    # min-jerk: the 5 % speed level is crossed 0.063 of the duration after the start.
    d = 0.0633
    if rest_at_bottom:
        assert np.allclose(r["start_s"], truth[:, 0] + d * 1.0, atol=0.03)
        assert np.allclose(r["end_s"], truth[:, 3] - d * 1.2, atol=0.03)
        assert np.allclose(r["concentric_s"], 1.0 * (1 - 2 * d), atol=0.04)
        assert np.allclose(r["eccentric_s"], 1.2 * (1 - 2 * d), atol=0.04)
        assert np.allclose(r["top_hold_s"], 1.0 + 2 * d, atol=0.04)
        assert np.allclose(r["lockout_s"], truth[:, 1] + 0.5, atol=0.03)
    else:
        # Here x is the negated angle: reps leave the top (eccentric) then come back.
        assert np.allclose(r["eccentric_s"], 1.0 * (1 - 2 * d), atol=0.04)
        assert np.allclose(r["concentric_s"], 1.2 * (1 - 2 * d), atol=0.04)
        hold = r["top_hold_s"]
        assert np.isnan(hold[3]) and np.isnan(hold[7])
        assert np.allclose(hold[:3], 0.8 + 2 * d, atol=0.04)
    assert not r["fallback_start"].any() and not r["fallback_end"].any()


def test_anchored_height_removes_constant_bias() -> None:
    fs = 50.0
    t = np.arange(0.0, 4.0, 1 / fs)
    z = 0.2 * min_jerk((t - 1.0) / 1.0) - 0.2 * min_jerk((t - 2.5) / 1.0)
    acc = np.gradient(np.gradient(z, 1 / fs), 1 / fs) + 0.15  # bias 0.15 m/s^2
    h = anchored_height_m(acc, 0, t.size - 1, fs)
    assert np.ptp(h) == pytest.approx(0.2, abs=0.01)
    assert abs(h[-1]) < 0.01


def test_centre_acceleration_removes_lever_arm() -> None:
    """A pure rotation about the pelvis centre gives ~zero centre acceleration."""
    k = oversample_factor(FS)
    fine = FS * k
    t = np.arange(0.0, 8.0, 1 / fine)
    sag = 40.0 * min_jerk((t - 3.0) / 1.0)
    pose = _pose(sag, fine)
    mount = Rotation.random(random_state=7)
    off = np.array([0.0, 0.16, 0.05])
    rec = render_imu(
        pose,
        k,
        mount,
        off,
        SensorModel(acc_bias_g=0, scale_error=0, misalignment_rad=0),
        np.random.default_rng(0),
    )
    r_wp = pose.orientation[::k]
    r_ws = r_wp * mount
    a = centre_vertical_acc_m_s2(rec.true_acc_g, r_ws, r_wp, off, FS)
    lever = centre_vertical_acc_m_s2(rec.true_acc_g, r_ws, r_wp, np.zeros(3), FS)
    assert np.abs(a[5:-5]).max() < 0.05
    assert np.abs(lever).max() > 0.1  # the lever arm did matter


def test_runs() -> None:
    assert runs(np.array([0, 1, 1, 0, 1], dtype=bool)).tolist() == [[1, 3], [4, 5]]


def test_interval_mask_is_the_inverse_of_runs() -> None:
    mask = np.random.default_rng(2).random(500) < 0.4
    r = runs(mask)
    np.testing.assert_array_equal(interval_mask(r[:, 0], r[:, 1], mask.size), mask)
    # overlapping, touching and empty intervals, one reaching the end
    got = interval_mask(np.array([1, 3, 6, 8]), np.array([4, 5, 6, 10]), 10)
    assert got.tolist() == [False, True, True, True, True, False, False, False, True, True]
    assert not interval_mask(np.zeros(0, np.int64), np.zeros(0, np.int64), 4).any()


def test_session_height_chains_anchored_movements() -> None:
    fs = 50.0
    t = np.arange(0.0, 12.0, 1 / fs)
    z = -0.3 * min_jerk((t - 2.0) / 1.5) + 0.1 * min_jerk((t - 7.0) / 1.0)
    acc = np.gradient(np.gradient(z, 1 / fs), 1 / fs) + 0.05
    still = (np.abs(np.gradient(z, 1 / fs)) < 1e-9) & (np.abs(acc - 0.05) < 1e-6)
    h = session_height_m(acc, still, fs)
    assert h[-1] == pytest.approx(-0.2, abs=0.01)
    assert h[int(5 * fs)] == pytest.approx(-0.3, abs=0.01)
    a, b = int(1.5 * fs), int(4.0 * fs)
    ref = anchored_height_m(acc, a, b, fs)
    assert np.allclose(h[a : b + 1] - h[a], ref, atol=0.005)


def test_vertical_error_fit_removes_orientation_dependent_error() -> None:
    """Bias/scale errors seen through a pitching pelvis bend the travel; the fit removes them."""
    fs = 50.0
    t = np.arange(0.0, 60.0, 1 / fs)
    tr = Track({"phi": 0.0, "z": 0.0})
    starts, ends = [], []
    for k in range(8):
        t0 = 5.0 + 6.0 * k
        dur_down, dur_up = 1.0 + 0.1 * k, 2.0 - 0.1 * k  # asymmetric reps
        tr.move_to(t0, t0 + dur_down, {"phi": 70.0, "z": -0.08})
        tr.move_to(t0 + dur_down + 0.3, t0 + dur_down + 0.3 + dur_up, {"phi": 0.0, "z": 0.0})
        starts.append(t0 * fs)
        ends.append((t0 + dur_down + 0.3 + dur_up) * fs)
    ch = tr.render(t)
    phi = np.radians(ch["phi"])
    up = np.stack([np.sin(phi), 0.3 * np.sin(phi), np.cos(phi)], axis=1)
    up /= np.linalg.norm(up, axis=1)[:, None]
    b, s = np.array([0.03, -0.02, 0.01]), np.array([0.01, -0.01, 0.005])
    true_acc = np.gradient(np.gradient(ch["z"], 1 / fs), 1 / fs)
    err = 9.80665 * (up @ b + up**2 @ s)
    still = np.abs(np.gradient(ch["phi"], 1 / fs)) < 1e-6
    fit = VerticalErrorFit().fit(
        true_acc + err, up, np.asarray(starts), np.asarray(ends), still, fs
    )
    corrected = true_acc + err - fit.error_m_s2(up)
    assert np.abs(corrected - true_acc).max() < 0.3 * np.abs(err - err[0]).max()
    travel_raw = HipTravel().estimate(
        true_acc + err, t[np.int64(starts)], t[np.int64(ends) - 1], fs
    )
    travel_fit = HipTravel().estimate(corrected, t[np.int64(starts)], t[np.int64(ends) - 1], fs)
    assert np.abs(travel_fit.travel_m_ - 0.08).max() < 0.005
    assert np.abs(travel_raw.travel_m_ - 0.08).max() > 0.01  # the error did matter
    assert not fit.rejected_
    # an error far outside the priors (a 12 % scale error: the model does not hold, e.g. moves
    # taken for reps that do not come back) makes a fit that is not applied
    wild = 9.80665 * (up @ b + up**2 @ np.array([0.12, 0.0, 0.0]))
    args = (up, np.asarray(starts), np.asarray(ends), still, fs)
    bad = VerticalErrorFit().fit(true_acc + wild, *args)
    assert bad.rejected_ and not bad.params_.any()
    assert VerticalErrorFit(max_sigmas=1e9).fit(true_acc + wild, *args).params_.any()


def test_rest_excursion_is_the_angle_from_the_rest_posture() -> None:
    fs = 50.0
    t = np.arange(0.0, 40.0, 1 / fs)
    tr = Track({"sag": 0.0, "obl": 0.0})
    tr.move_to(2.0, 4.0, {"sag": 88.0})  # lie down
    for k in range(4):
        t0 = 7.0 + 6.0 * k
        side = 1.0 if k < 2 else -1.0  # the other leg: the pelvis rolls the other way
        tr.move_to(t0, t0 + 1.0, {"sag": 92.0, "obl": -8.0 * side})  # a roll-dominated rep
        tr.move_to(t0 + 2.0, t0 + 3.0, {"sag": 88.0, "obl": 0.0})
    tr.move_to(33.0, 35.0, {"sag": 0.0})
    ch = tr.render(t)
    r = pelvis_rotation_from_angles_deg(0.0, ch["obl"], ch["sag"])
    speed = np.abs(np.gradient(ch["sag"], 1 / fs)) + np.abs(np.gradient(ch["obl"], 1 / fs))
    still = speed < 1e-3
    block = runs(ch["sag"] > 30.0)[0]
    x, i0, i1 = rest_excursion_deg(r, still, int(block[0]), int(block[1]), fs)
    assert i0 == int(np.flatnonzero(still[block[0] :])[0] + block[0])  # the way in is left out
    assert i1 <= int(33.0 * fs)  # and the way out
    tops = [x[int((7.0 + 6.0 * k + 1.5) * fs) - i0] for k in range(4)]
    assert np.allclose(tops, np.hypot(4.0, 8.0), atol=0.5)  # both sides count
    assert np.abs(x[: int(2.0 * fs)]).max() < 1e-6
