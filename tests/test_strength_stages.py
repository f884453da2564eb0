"""The strength stages one by one (issue 9): time base, bouts, neutral calibration and mounting
changes, posture, rep candidates, recognition, sets, the set's frame and rep phases.

Inputs are hand-made signals with known answers; the stages must find exactly those.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imu.core.frames import pelvis_angles_deg, pelvis_rotation_from_angles_deg
from imu.pipeline.bouts import ActivityBouts, PostureBouts, Runs, gait_masks
from imu.pipeline.candidates import (
    CANDIDATE_COLUMNS,
    ExcursionCandidates,
    bandpassed_height_cm,
    bridge_gaps,
)
from imu.pipeline.neutral import NeutralCalibration, gyro_bias_dps, upright_from_motion
from imu.pipeline.pelvis import frame_from_forward, sagittal_obliquity_deg, tilt_direction
from imu.pipeline.recognition import CLASSES, ExerciseRecognizer
from imu.pipeline.segmentation import RepSegmentation
from imu.pipeline.setreps import drop_wobbles, set_extremes, set_frame
from imu.pipeline.sets import SetGrouping
from imu.pipeline.timebase import internal_grid, internal_rate_hz

FS = 50.0


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# ---- time base -------------------------------------------------------------------------------


def test_internal_rate_is_an_integer_fraction_of_the_input() -> None:
    assert internal_rate_hz(100.0) == 50.0
    assert internal_rate_hz(400.0) == 50.0
    assert internal_rate_hz(110.0) == 55.0
    assert internal_rate_hz(52.0) == 52.0


def test_box_means_on_a_jittered_clock_with_a_gap() -> None:
    rng = np.random.default_rng(1)
    dt = rng.uniform(0.006, 0.012, 4000)
    t = np.cumsum(dt)
    t = np.concatenate([t[:1500], t[1600:] + 0.0])  # ~0.9 s of lost samples
    f = 0.7
    acc = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t), np.ones_like(t)], 1)
    g = internal_grid(t, acc, acc * 10.0, 110.0)
    assert g.rate_hz == 55.0
    assert g.gyr_dps is not None
    # bin means of a slow sine equal the sine at the bin centre up to the clock's jitter (the
    # integral is linear within a sample interval: errors ~ omega x dt / 2 x a fraction of the
    # bin), except in and next to the gap (bins straddling its edges hold the interpolation)
    ok = ~np.convolve(g.gap, np.ones(5), mode="same").astype(bool)
    assert np.allclose(g.acc_g[ok, 0], np.sin(2 * np.pi * f * g.t_s[ok]), atol=5e-3)
    assert np.allclose(g.gyr_dps[ok, 2], 10.0)
    gap_s = g.t_s[g.gap]
    assert gap_s.size and gap_s.min() >= t[1499] - 0.02 and gap_s.max() <= t[1500] + 0.02
    assert np.allclose(np.diff(g.t_s), 1 / 55.0)


# ---- bouts -----------------------------------------------------------------------------------


def _vertical_force(f_hz: float, amp_g: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    acc = np.zeros((t.size, 3))
    acc[:, 2] = 1.0 + amp_g * np.sin(2 * np.pi * f_hz * t)
    acc[:, 0] = 0.05 * np.sin(2 * np.pi * f_hz / 2 * t)
    return acc


def test_gait_masks_take_steps_for_walking_and_squats_not() -> None:
    up = np.tile([0.0, 0.0, 1.0], (int(30 * FS), 1))
    walk, run = gait_masks(_vertical_force(1.9, 0.25, 30.0), up, FS)
    assert walk[int(3 * FS) : int(27 * FS)].all() and not run.any()
    # squats: the hips go up and down at 0.4 Hz with large forces
    walk, run = gait_masks(_vertical_force(0.4, 0.3, 30.0), up, FS)
    assert not walk.any() and not run.any()


def test_activity_bouts_list_quiet_runs_with_their_gravity() -> None:
    n = int(20 * FS)
    acc = np.tile([0.0, 0.6, 0.8], (n, 1))
    gyr = np.zeros((n, 3))
    gyr[int(8 * FS) : int(11 * FS)] = [30.0, 0.0, 0.0]  # a turn of the pelvis
    up = acc / np.linalg.norm(acc, axis=1, keepdims=True)
    b = ActivityBouts().detect(acc, gyr, up, FS)
    q = b.quiet_runs_
    assert len(q) == 2
    assert np.allclose(q.up, [[0.0, 0.6, 0.8]] * 2)
    assert q.start[0] == 0 and q.end[1] == n
    assert (q.spread_deg < 1e-6).all()
    assert not b.walking_.any() and len(b.gait_runs_) == 0


def test_gyro_bias_from_still_samples_in_any_posture() -> None:
    gyr = np.tile([0.5, -1.0, 2.0], (200, 1))
    gyr[50:100] += 40.0
    still = np.ones(200, dtype=bool)
    still[50:100] = False
    assert np.allclose(gyro_bias_dps(gyr, still, FS), [0.5, -1.0, 2.0])
    assert np.allclose(gyro_bias_dps(gyr, np.zeros(200, dtype=bool), FS), 0.0)


# ---- neutral calibration ---------------------------------------------------------------------

UP_A = _unit([0.1, 0.2, 0.97])
UP_B = _unit([0.8, -0.5, 0.3])  # after a re-seat
SIT = _unit(Rotation.from_rotvec([0.35, 0.0, 0.0]).apply(UP_A))  # 20 deg from standing


def _runs(rows: list[tuple[float, float, np.ndarray]], gait: str = "") -> Runs:
    return Runs(
        start=np.array([int(a * FS) for a, _, _ in rows], dtype=np.int64),
        end=np.array([int(b * FS) for _, b, _ in rows], dtype=np.int64),
        up=np.array([u for *_, u in rows], dtype=float).reshape(-1, 3),
        acc_norm_g=np.ones(len(rows)),
        spread_deg=np.full(len(rows), 0.5),
        gait=np.full(len(rows), gait, dtype=object),
    )


def _no_gait() -> Runs:
    return _runs([], "walk")


def test_opening_standing_is_neutral() -> None:
    q = _runs([(0.0, 3.0, UP_A), (20.0, 30.0, SIT), (40.0, 45.0, UP_A)])
    cal = NeutralCalibration().calibrate(q, _no_gait(), int(60 * FS), FS)
    assert cal.calibration_ == "opening_standing" and cal.mounting_changes_ == 0
    assert np.allclose(cal.segments_.up[0], UP_A)


def test_a_short_opening_falls_back_to_standing_rests_and_a_sit_is_not_a_reseat() -> None:
    q = _runs([(0.0, 1.5, UP_A), (20.0, 50.0, SIT), (60.0, 63.0, UP_A), (70.0, 72.6, UP_A)])
    walk = _runs([(5.0, 15.0, UP_A)], "walk")
    cal = NeutralCalibration().calibrate(q, walk, int(80 * FS), FS)
    assert cal.calibration_ == "standing_rest" and cal.mounting_changes_ == 0
    assert np.allclose(cal.segments_.up[0], UP_A, atol=1e-6)


def test_walking_is_the_reference_without_standing() -> None:
    walk = _runs([(0.0, 10.0, UP_A), (30.0, 40.0, UP_A)], "walk")
    cal = NeutralCalibration().calibrate(_runs([(20.0, 25.0, SIT)]), walk, int(50 * FS), FS)
    assert cal.calibration_ == "walking"


def test_a_reseat_between_walks_starts_a_new_mounting() -> None:
    walk = _runs([(0.0, 10.0, UP_A), (100.0, 110.0, UP_B), (150.0, 160.0, UP_B)], "walk")
    q = _runs([(12.0, 20.0, UP_A), (40.0, 45.0, SIT), (60.0, 70.0, UP_A), (85.0, 95.0, UP_B)])
    cal = NeutralCalibration().calibrate(q, walk, int(170 * FS), FS)
    assert cal.mounting_changes_ == 1
    seg = cal.segments_
    assert seg.start[1] == int(85 * FS)  # the first rest in the new mounting
    assert list(seg.source) == ["standing_rest", "standing_rest"]
    assert np.allclose(seg.up[1], UP_B)
    assert cal.handling_.tolist() == [[int(70 * FS), int(85 * FS)]]


def test_the_handling_starts_after_the_old_mountings_last_rest_in_any_posture() -> None:
    """Sets lying down between the last standing and a re-seat are the old mounting's: the
    sensor is in the hand only after their last rest (seed 250026: two single-leg bridge sets
    fell in the handling and were lost). A rest nearer the new upright (seated in the new
    mounting, 20 deg off its standing) is not the old mounting's."""
    lying_a = _unit(Rotation.from_rotvec([-np.pi / 2, 0.0, 0.0]).apply(UP_A))
    sit_b = _unit(Rotation.from_rotvec([0.0, 0.35, 0.0]).apply(UP_B))
    angle = lambda u, v: np.degrees(np.arccos(np.clip(u @ v, -1.0, 1.0)))  # noqa: E731
    assert angle(lying_a, UP_A) < angle(lying_a, UP_B) and angle(sit_b, UP_B) < angle(sit_b,
                                                                                     UP_A)
    assert 12.0 < angle(sit_b, UP_B)  # not a standing of the new mounting
    walk = _runs([(0.0, 10.0, UP_A), (100.0, 110.0, UP_B), (150.0, 160.0, UP_B)], "walk")
    q = _runs([(12.0, 20.0, UP_A), (60.0, 65.0, UP_A), (68.0, 71.0, lying_a),
               (75.0, 78.0, lying_a), (86.0, 89.0, sit_b), (92.0, 95.0, UP_B)])
    cal = NeutralCalibration().calibrate(q, walk, int(170 * FS), FS)
    assert cal.mounting_changes_ == 1 and cal.segments_.start[1] == int(92 * FS)
    assert cal.handling_.tolist() == [[int(78 * FS), int(92 * FS)]]


def test_two_reseats_with_one_anchor_between_are_two_mountings() -> None:
    """A re-seat, one walk in the new mounting, another re-seat: the lone walk is a mounting of
    its own (only a return to the old direction makes an anchor a stray)."""
    up_c = _unit([-0.3, 0.9, 0.3])
    walk = _runs([(0.0, 10.0, UP_A), (100.0, 110.0, UP_B), (200.0, 210.0, up_c)], "walk")
    q = _runs([(12.0, 20.0, UP_A), (85.0, 95.0, UP_B), (185.0, 195.0, up_c)])
    cal = NeutralCalibration().calibrate(q, walk, int(220 * FS), FS)
    assert cal.mounting_changes_ == 2
    assert cal.segments_.start.tolist() == [0, int(85 * FS), int(185 * FS)]
    assert np.allclose(cal.segments_.up[1], UP_B)
    stray = _runs([(0.0, 10.0, UP_A), (100.0, 110.0, UP_B), (200.0, 210.0, UP_A)], "walk")
    cal = NeutralCalibration().calibrate(_runs([(12.0, 20.0, UP_A)]), stray, int(220 * FS), FS)
    assert cal.mounting_changes_ == 0


def test_no_reference_at_all_is_none() -> None:
    cal = NeutralCalibration().calibrate(_runs([]), _no_gait(), int(30 * FS), FS)
    assert cal.calibration_ == "none"


def test_upright_end_of_the_motion_arc() -> None:
    t = np.arange(int(20 * FS)) / FS
    phase = 0.5 - 0.5 * np.cos(2 * np.pi * 0.4 * t)  # 0 standing .. 1 bottom
    tilt = np.radians(40.0) * phase
    up0 = _unit([0.2, -0.1, 0.97])
    axis = _unit(np.cross(up0, [1.0, 0.0, 0.0]))
    u = Rotation.from_rotvec(axis[None, :] * tilt[:, None]).apply(up0)
    height = -45.0 * phase
    got = upright_from_motion(u, height)
    assert got is not None and np.degrees(np.arccos(got @ up0)) < 1.0
    assert upright_from_motion(u, np.zeros_like(height)) is None


# ---- posture ---------------------------------------------------------------------------------


def test_posture_lying_blocks_need_sustained_tilt() -> None:
    n = int(60 * FS)
    tilt = np.zeros(n)
    tilt[int(10 * FS) : int(40 * FS)] = 85.0  # lying for 30 s
    tilt[int(45 * FS) : int(47 * FS)] = 60.0  # a 2-s hinge bottom
    up0 = np.array([0.0, 0.0, 1.0])
    u = Rotation.from_rotvec(np.outer(np.radians(tilt), [0.0, 1.0, 0.0])).apply(up0)
    p = PostureBouts().detect(u, up0, np.ones(n, dtype=bool), FS)
    assert np.allclose(p.tilt_deg_, tilt, atol=1e-6)
    assert p.lying_blocks_.tolist() == [[int(10 * FS), int(40 * FS)]]
    assert p.posture_[int(20 * FS)] == 3 and p.posture_[int(46 * FS)] == 2
    assert p.posture_[int(5 * FS)] == 0


@pytest.mark.parametrize(("dip_deg", "blocks"), [(24.0, 1), (15.0, 2)])
def test_a_hip_thrust_dip_under_the_lying_tilt_does_not_split_the_block(
    dip_deg: float, blocks: int
) -> None:
    """Hysteresis: a dip between two stretches of lying joins them while it stays above
    ``hold_deg`` (20 deg); the block's outer ends stay where the tilt crosses ``lying_deg``."""
    n = int(60 * FS)
    tilt = np.zeros(n)
    tilt[int(10 * FS) : int(50 * FS)] = 40.0  # shoulders on a bench, reps from here
    tilt[int(28 * FS) : int(29 * FS)] = dip_deg  # one bottom lower than the others
    tilt[int(50 * FS) : int(51 * FS)] = 24.0  # getting up: under lying_deg, above hold_deg
    up0 = np.array([0.0, 0.0, 1.0])
    u = Rotation.from_rotvec(np.outer(np.radians(tilt), [0.0, 1.0, 0.0])).apply(up0)
    p = PostureBouts().detect(u, up0, np.ones(n, dtype=bool), FS)
    assert len(p.lying_blocks_) == blocks
    assert p.lying_blocks_[0, 0] == int(10 * FS) and p.lying_blocks_[-1, 1] == int(50 * FS)


def test_a_sit_and_the_way_in_and_out_are_marked() -> None:
    """Quiet seated for 8 s (20 deg from standing) is a sit, widened by 2.5 s each side; a 2-s
    squat bottom is not."""
    n = int(40 * FS)
    tilt = np.zeros(n)
    tilt[int(10 * FS) : int(18 * FS)] = 20.0
    tilt[int(30 * FS) : int(32 * FS)] = 20.0
    up0 = np.array([0.0, 0.0, 1.0])
    u = Rotation.from_rotvec(np.outer(np.radians(tilt), [0.0, 1.0, 0.0])).apply(up0)
    p = PostureBouts().detect(u, up0, np.ones(n, dtype=bool), FS)
    assert p.sits_.tolist() == [[int(7.5 * FS), int(20.5 * FS)]]
    assert PostureBouts(min_sit_s=10.0).detect(u, up0, np.ones(n, dtype=bool), FS).sits_.size == 0


# ---- candidates ------------------------------------------------------------------------------


def _hinge_session(n_reps: int, butt_wink: bool = False) -> tuple[Rotation, np.ndarray, ...]:
    """Standing, ``n_reps`` hinge-like reps (60 deg, 10 cm), standing: world <- sensor with an
    identity mounting (pelvis = sensor)."""
    t = np.arange(int((10 + 5 * n_reps) * FS)) / FS
    phase = np.zeros_like(t)
    for k in range(n_reps):
        a = 5.0 + 5.0 * k
        m = (t >= a) & (t < a + 4.0)
        phase[m] = 0.5 - 0.5 * np.cos(2 * np.pi * (t[m] - a) / 4.0)
    sag = -60.0 * phase
    if butt_wink:
        sag = sag + 25.0 * np.clip(phase - 0.8, 0.0, None) / 0.2
    r = pelvis_rotation_from_angles_deg(np.zeros_like(t), np.zeros_like(t), sag)
    height_cm = -(45.0 if butt_wink else 10.0) * phase
    speed = np.abs(np.gradient(sag, 1 / FS))
    return r, t, sag, height_cm, speed


@pytest.mark.parametrize("butt_wink", [False, True])
def test_candidates_are_one_per_rep(butt_wink: bool) -> None:
    r, t, sag, h, speed = _hinge_session(4, butt_wink)
    up = r.apply([0.0, 0.0, 1.0], inverse=True)
    tilt = np.degrees(np.arccos(np.clip(up[:, 2], -1, 1)))
    n = t.size
    c = ExcursionCandidates().segment(
        tilt, r, speed, np.zeros(n), speed < 1.0, np.zeros(n, bool), np.zeros(n, bool), FS,
        height_cm=h,
    ).candidates_
    assert list(c) == list(CANDIDATE_COLUMNS) and c["peak"].size == 4
    bottoms = 5.0 + 5.0 * np.arange(4) + 2.0
    # a tucked-under bottom: the peak is the more tilted of the two humps, within the bottom
    assert np.allclose(c["peak"] / FS, bottoms, atol=0.7 if butt_wink else 0.05)
    assert not c["lying"].any()
    assert np.allclose(c["tilt_rest_deg"], 0.0, atol=0.5)
    assert np.allclose(c["travel_cm"], -45.0 if butt_wink else -10.0, atol=1.0)


def test_back_to_back_reps_that_come_back_up_stay_two() -> None:
    """Two hinge reps with no pause, the tilt back at rest between them, while the band-passed
    height stays low (it drifts near bigger moves): two candidates, not one tucked-under rep."""
    t = np.arange(int(20 * FS)) / FS
    phase = np.zeros_like(t)
    for a in (7.0, 10.0):
        m = (t >= a) & (t < a + 3.0)
        phase[m] = 0.5 - 0.5 * np.cos(2 * np.pi * (t[m] - a) / 3.0)
    sag = -60.0 * phase
    r = pelvis_rotation_from_angles_deg(np.zeros_like(t), np.zeros_like(t), sag)
    ramp = np.clip(np.minimum(t - 7.0, 13.0 - t) / 0.5, 0.0, 1.0)
    h = -15.0 * ramp  # low from 7.5 s to 12.5 s, both reps and the moment between them
    up = r.apply([0.0, 0.0, 1.0], inverse=True)
    tilt = np.degrees(np.arccos(np.clip(up[:, 2], -1, 1)))
    speed = np.abs(np.gradient(sag, 1 / FS))
    n = t.size

    def count(**kw: float) -> int:
        return int(ExcursionCandidates(**kw).segment(
            tilt, r, speed, np.zeros(n), speed < 1.0, np.zeros(n, bool), np.zeros(n, bool), FS,
            height_cm=h,
        ).candidates_["peak"].size)

    assert count() == 2
    assert count(merge_valley_frac=0.0) == 1  # the hips alone would merge them


def test_bridged_gap_removes_the_height_ramp() -> None:
    n = int(30 * FS)
    acc = np.zeros(n)
    gap = np.zeros(n, dtype=bool)
    gap[700:712] = True
    acc[700:712] = 0.3  # what linear interpolation over a gap leaves behind
    h_raw = np.cumsum(np.cumsum(acc) / FS) / FS
    h = np.cumsum(np.cumsum(bridge_gaps(acc, gap, FS)) / FS) / FS
    assert abs(h_raw[-1]) > 1.0 and abs(h[-1]) < 0.02
    assert bandpassed_height_cm(acc, FS, gap=gap).shape == (n,)


# ---- recognition and sets --------------------------------------------------------------------


def _toy_model(tmp_path: object) -> str:
    """A model on two features: tilt_rest_deg > 45 deg is glute_bridge, else squat; a travel
    near 0 cm is none."""
    k = len(CLASSES)
    feats = ["tilt_rest_deg", "travel_cm"]
    w1 = np.array([[1.0, 0.0], [0.0, 1.0]])
    w2 = np.zeros((2, k))
    for name, sign in (("glute_bridge", 1.0), ("squat", -1.0)):
        w2[0, CLASSES.index(name)] = 20.0 * sign
        w2[1, CLASSES.index(name)] = 20.0
    b2 = np.full(k, -50.0)
    b2[[CLASSES.index("glute_bridge"), CLASSES.index("squat")]] = 0.0
    b2[CLASSES.index("none")] = 25.0
    model = {"version": "toy", "classes": list(CLASSES), "features": feats, "log_features": [],
             "mean": [45.0, 0.0], "std": [10.0, 1.0], "W1": w1.tolist(), "b1": [0.0, 0.0],
             "W2": w2.tolist(), "b2": b2.tolist()}
    path = f"{tmp_path}/model.json"
    with open(path, "w") as f:
        json.dump(model, f)
    return path


def test_recognizer_probabilities_and_a_named_exercise(tmp_path: object) -> None:
    path = _toy_model(tmp_path)
    c = {"tilt_rest_deg": np.array([90.0, 0.0, 0.0]), "travel_cm": np.array([2.0, 2.0, 0.0])}
    rec = ExerciseRecognizer(model_path=path).recognize(c)
    assert list(rec.label_) == ["glute_bridge", "squat", "none"]
    assert rec.proba_.shape == (3, len(CLASSES)) and np.allclose(rec.proba_.sum(axis=1), 1.0)
    assert rec.rep_proba_[2] < 0.5 < rec.rep_proba_[0]
    named = ExerciseRecognizer(exercise="squat", model_path=path).recognize(c)
    assert list(named.label_) == ["none", "squat", "none"]
    # a candidate in a lying block is never a rep of an exercise that rests upright
    lying = c | {"lying": np.array([0.0, 1.0, 0.0])}
    rec = ExerciseRecognizer(model_path=path).recognize(lying)
    assert rec.proba_[1, CLASSES.index("squat")] == 0.0 and rec.label_[1] != "squat"
    assert np.allclose(rec.proba_.sum(axis=1), 1.0)
    named = ExerciseRecognizer(exercise="squat", model_path=path).recognize(lying)
    assert list(named.label_) == ["none", "none", "none"]


def test_sets_split_at_gaps_and_pauses_and_take_the_votes() -> None:
    peaks = np.array([5, 8, 11, 40, 43, 60]) * FS
    c = {"peak": peaks.astype(np.int64), "span": np.array([0, 0, 0, 0, 0, 1])}
    p = np.zeros((6, len(CLASSES)))
    # the middle rep alone would say RDL; the set's votes say hinge
    p[:, CLASSES.index("hip_hinge")] = [0.6, 0.45, 0.6, 0.1, 0.1, 0.1]
    p[:, CLASSES.index("romanian_deadlift")] = [0.4, 0.55, 0.4, 0.1, 0.1, 0.1]
    p[3:, CLASSES.index("squat")] = 0.8
    rep = np.full(6, 0.9)
    quiet = np.zeros(int(70 * FS), dtype=bool)
    quiet[int(41 * FS) : int(42 * FS)] = True  # a short pause inside the squat set
    g = SetGrouping().segment(c, p, rep, quiet, np.zeros(quiet.size), FS)
    assert [s.exercise for s in g.sets_] == ["hip_hinge", "squat", "squat"]
    assert [len(s.members) for s in g.sets_] == [3, 2, 1]
    assert [s.set for s in g.sets_] == [1, 2, 3]
    quiet[int(41 * FS) : int(42.9 * FS)] = False
    quiet[int(40.2 * FS) : int(42.9 * FS)] = True
    g2 = SetGrouping(split_pause_s=2.0).segment(c, p, rep, quiet, np.zeros(quiet.size), FS)
    assert [len(s.members) for s in g2.sets_] == [3, 1, 1, 1]


def test_a_lone_weak_rep_makes_no_set_a_clear_one_does() -> None:
    c = {"peak": (np.array([10, 40]) * FS).astype(np.int64), "span": np.array([0, 0])}
    p = np.zeros((2, len(CLASSES)))
    p[0, CLASSES.index("single_leg_rdl")] = 0.37  # sitting down: a weak vote
    p[0, CLASSES.index("single_leg_bridge")] = 0.33
    p[0, CLASSES.index("none")] = 0.30
    p[1, CLASSES.index("deadlift")] = 0.75  # a single deadlift
    p[1, CLASSES.index("none")] = 0.25
    quiet = np.zeros(int(50 * FS), dtype=bool)
    rep = np.array([0.7, 0.75])
    g = SetGrouping().segment(c, p, rep, quiet, np.zeros(quiet.size), FS)
    assert [s.exercise for s in g.sets_] == ["deadlift"] and g.set_of_candidate_.tolist() == [0, 1]
    g = SetGrouping(min_single_proba=0.3).segment(c, p, rep, quiet, np.zeros(quiet.size), FS)
    assert [s.exercise for s in g.sets_] == ["single_leg_rdl", "deadlift"]
    named = SetGrouping().segment(c, p, rep, quiet, np.zeros(quiet.size), FS,
                                  exercise="single_leg_rdl")
    assert named.set_of_candidate_.tolist() == [1, 0]  # named: the weak vote beats 'none'


def test_a_lone_sure_rep_of_an_uncertain_hinge_makes_a_set() -> None:
    """A lone rep the recogniser is sure of as a rep (p of 'none' 0.05) but not of which hinge
    (0.35 / 0.33 / 0.27) is a set (seeds 250034, 260004, 270007, 270013 lost one so);
    sitting down (p of 'none' 0.30) is still not."""
    c = {"peak": (np.array([10, 40]) * FS).astype(np.int64), "span": np.array([0, 0])}
    p = np.zeros((2, len(CLASSES)))
    p[0, [CLASSES.index(e) for e in ("glute_ham_raise", "deadlift", "single_leg_rdl")]] = [
        0.35, 0.33, 0.27]
    p[0, CLASSES.index("none")] = 0.05
    p[1, CLASSES.index("single_leg_rdl")] = 0.37  # sitting down: a weak vote
    p[1, CLASSES.index("single_leg_bridge")] = 0.33
    p[1, CLASSES.index("none")] = 0.30
    quiet = np.zeros(int(50 * FS), dtype=bool)
    rep = 1.0 - p[:, CLASSES.index("none")]
    g = SetGrouping().segment(c, p, rep, quiet, np.zeros(quiet.size), FS)
    assert [s.exercise for s in g.sets_] == ["glute_ham_raise"]
    assert g.set_of_candidate_.tolist() == [1, 0]
    strict = SetGrouping(min_single_rep_proba=1.1).segment(c, p, rep, quiet,
                                                           np.zeros(quiet.size), FS)
    assert strict.sets_ == []



def test_a_wobble_in_the_rest_is_not_a_rep() -> None:
    t = np.arange(0, 20, 0.02)
    x = np.clip(20 * np.sin(2 * np.pi * t / 5.0), 0, None)  # four bridge reps, rest between
    x += 1.5 * np.exp(-(((t - 4.0) / 0.1) ** 2))  # a small bump in the rest after rep 1
    x += 2.0 * np.exp(-(((t - 14.0) / 0.1) ** 2))  # and after rep 3
    reps = np.round(np.array([1.25, 6.25, 11.25, 16.25]) / 0.02).astype(int)
    bumps = np.round(np.array([4.0, 14.0]) / 0.02).astype(int)
    kept = drop_wobbles(x, np.sort(np.r_[reps, bumps]))
    assert kept.tolist() == reps.tolist()
    assert drop_wobbles(x, reps).tolist() == reps.tolist()
    assert drop_wobbles(x, reps[:1]).tolist() == reps[:1].tolist()


# ---- the set's frame and phases ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sagittal_and_obliquity_match_the_baker_angles(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mounting = Rotation.random(random_state=rng)  # pelvis <- sensor
    ang = rng.uniform([-20, -10, -80], [20, 10, 100], (50, 3))
    r_wp = pelvis_rotation_from_angles_deg(ang[:, 0], ang[:, 1], ang[:, 2])
    u_sensor = (r_wp * mounting).apply([0.0, 0.0, 1.0], inverse=True)
    sag, obl = sagittal_obliquity_deg(u_sensor, mounting)
    ref = pelvis_angles_deg(r_wp)
    assert np.allclose(sag, ref[:, 2], atol=1e-6) and np.allclose(obl, ref[:, 1], atol=1e-6)


@pytest.mark.parametrize("exercise", ["glute_bridge", "quadruped_hip_extension", "hip_hinge"])
def test_set_frame_sign_follows_the_exercise(exercise: str) -> None:
    rng = np.random.default_rng(3)
    mounting = Rotation.random(random_state=rng)
    up_n = mounting.apply([0.0, 0.0, 1.0], inverse=True)
    rest = {"glute_bridge": 88.0, "quadruped_hip_extension": -90.0, "hip_hinge": 0.0}[exercise]
    ext = {"glute_bridge": 110.0, "quadruped_hip_extension": -90.0, "hip_hinge": -60.0}[exercise]
    sags = np.r_[np.full(50, rest), np.full(10, ext)]
    r_wp = pelvis_rotation_from_angles_deg(np.zeros(60), np.zeros(60), sags)
    u = (r_wp * mounting).apply([0.0, 0.0, 1.0], inverse=True)
    members = {"lo": np.array([0]), "hi": np.array([59]), "peak": np.array([55])}
    frame = set_frame(exercise, u, up_n, members, (0, 50))
    sag, _ = sagittal_obliquity_deg(u, frame)
    assert np.allclose(sag, sags, atol=1e-6)
    d = tilt_direction(u[55], up_n)
    assert d.shape == (1, 3)
    assert frame_from_forward(up_n, [1.0, 0.0, 0.0]).as_matrix()[2] @ up_n == pytest.approx(1.0)


def test_deadlift_extremes_are_the_tops_between_bottoms() -> None:
    x = np.zeros(300)
    x[100:120] = 40.0
    x[200:220] = 40.0  # two tops (standing) between three bottoms
    members = {"lo": np.array([0, 120, 220]), "hi": np.array([100, 200, 299]),
               "peak": np.array([50, 160, 260])}
    assert set_extremes("deadlift", x, members, 0).tolist() == [100, 200]
    assert set_extremes("hip_hinge", -x, members, 0).tolist() == [0, 120, 220]


@pytest.mark.parametrize("rest_at_bottom", [True, False])
def test_phases_cross_five_percent_and_fall_back_between_back_to_back_reps(
    rest_at_bottom: bool,
) -> None:
    t = np.arange(int(20 * FS)) / FS
    x = np.zeros_like(t)
    starts = [3.0, 7.0, 11.0]
    for a in starts:  # 1 s up, 1 s hold, 1 s down, then rest
        m = (t >= a) & (t < a + 3.0)
        tt = t[m] - a
        x[m] = np.where(tt < 1, 0.5 - 0.5 * np.cos(np.pi * tt), 1.0)
        dn = tt >= 2.0
        x[m] = np.where(dn, 0.5 + 0.5 * np.cos(np.pi * (tt - 2.0)), x[m])
    x *= 40.0
    w = np.abs(np.gradient(x, 1 / FS)) + 0.01
    peaks = np.array([int((a + 1.5) * FS) for a in starts])
    seg = RepSegmentation().segment(x, w, FS, peaks, rest_at_bottom)
    assert seg.reps_.column_names == list(seg.rep_columns_) and seg.reps_.num_rows == 3
    r = {c: seg.reps_.column(c).to_numpy() for c in seg.reps_.column_names}
    if rest_at_bottom:
        assert np.allclose(r["start_s"], starts, atol=0.05)
        assert np.allclose(r["end_s"], np.add(starts, 3.0), atol=0.05)
        assert np.allclose(r["top_hold_s"], 1.0, atol=0.1)
        assert not r["fallback_start"].any()
    # back to back: no rest between the reps, |w| never falls to 5 % there
    x2 = 20.0 - 20.0 * np.cos(2 * np.pi * 0.5 * t)
    w2 = np.abs(np.gradient(x2, 1 / FS)) + 5.0
    pk = np.array([int(k * FS) for k in (3, 5, 7, 9)])
    r2 = RepSegmentation().segment(x2, w2, FS, pk, False).rep_columns_
    assert r2["fallback_end"][:-1].all() and r2["fallback_start"][1:].all()
    assert np.allclose(r2["end_s"][:-1], r2["start_s"][1:])
    assert np.allclose(r2["end_s"][:-1], [4.0, 6.0, 8.0], atol=0.05)
