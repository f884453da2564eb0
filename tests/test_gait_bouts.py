"""The one bout algorithm (imu.pipeline.gait_bouts.GaitBouts): walking and running from the
sensor-frame accelerometer alone, on simulated runs and strength sessions and on real squat sets
(which must not look like walking). The real recordings live beside the repository
(../shared/realdata or $IMU_REALDATA); their absence is a failure, not a skip."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from imu.core import arrow
from imu.core.vocabulary import GAITS
from imu.io.rawfile import read_raw
from imu.pipeline.gait_bouts import BOUT_COLUMNS, BOUTS, GaitBouts, bouts_on_grid, centred_mean
from imu.pipeline.signals import runs
from imu.sim import simulate
from imu.sim.running import simulate_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from realdata import RealData  # noqa: E402


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)))


@pytest.fixture(scope="module")
def run_sim():  # type: ignore[no-untyped-def]
    return simulate_run(duration_s=60.0, warmup_walk_s=15.0, cooldown_walk_s=10.0,
                        walk_breaks=1, sample_rate_hz=100.0, placement="left_hip", seed=211)


def test_running_and_walking_of_a_run(run_sim) -> None:  # type: ignore[no-untyped-def]
    raw = run_sim.raw
    gb = GaitBouts().detect(raw.acc_g, raw.sample_rate_hz, raw.t_s)
    t = raw.t_s
    bouts = run_sim.truth.summary["run_bouts_s"]
    inside = np.zeros(t.size, dtype=bool)
    for a, b in bouts:
        inside |= (t > a + 2.0) & (t < b - 2.0)
    assert gb.running_[inside].mean() > 0.99
    warmup = (t > 7.0) & (t < 5.0 + 15.0 - 2.0)
    assert not gb.running_[warmup].any() and gb.walking_[warmup].mean() > 0.95
    brk = (t > bouts[0][1] + 3.0) & (t < bouts[1][0] - 3.0)
    assert not gb.running_[brk].any() and gb.walking_[brk].mean() > 0.95
    assert not (gb.running_ & gb.walking_).any()
    standing = t < 4.5
    assert not (gb.running_ | gb.walking_)[standing].any()
    # the table: walk, run, walk, run, walk in time order
    assert gb.bouts_.column_names == list(BOUT_COLUMNS) and gb.bouts_.schema == BOUTS
    assert gb.bouts_["gait"].to_pylist() == ["walk", "run", "walk", "run", "walk"]
    assert set(gb.bouts_["gait"].to_pylist()) <= set(GAITS)
    assert np.all(np.diff(gb.bouts_["start_s"].to_numpy()) > 0)
    # up: the pelvis up seen by the sensor (within the running lean and the walking sway)
    up_true = run_sim.mounting.inv().apply([0.0, 0.0, 1.0])
    assert np.median(_angle_deg(gb.up_[inside], up_true)) < 5.0
    assert np.median(_angle_deg(gb.up_[warmup], up_true)) < 3.0
    np.testing.assert_allclose(gb.fv_, np.einsum("ij,ij->i", raw.acc_g, gb.up_))
    # the walking step candidates lie in walking bouts, ~1.8 per second
    assert gb.walking_[gb.walk_steps_].all()
    assert np.median(np.diff(t[gb.walk_steps_])) == pytest.approx(1 / 1.8, rel=0.05)


def test_walking_between_sets_is_found_and_sets_are_not_walking() -> None:
    sim = simulate("strength", exercise="squat", n_sets=3, reps_per_set=8,
                   sample_rate_hz=100.0, seed=212, walking=True)
    raw = sim.raw
    gb = GaitBouts().detect(raw.acc_g, raw.sample_rate_hz, raw.t_s)
    t = raw.t_s
    assert not gb.running_.any()
    in_sets = np.zeros(t.size, dtype=bool)
    for a, b in zip(sim.truth.sets["start_s"], sim.truth.sets["end_s"], strict=True):
        in_sets |= (t >= a) & (t <= b)
    assert not gb.walking_[in_sets].any()
    assert gb.walking_.sum() / raw.sample_rate_hz > 10.0  # the walks between the sets


def test_real_squat_sets_are_not_walking() -> None:
    """Every real squat set (waist IMU, 10-25 squats in a row): no walking, no running."""
    rd = RealData()
    sessions = rd.sessions("squat")
    assert len(sessions) == 22
    for s in sessions:
        raw = read_raw(s.raw_path)
        gb = GaitBouts().detect(raw.acc_g, raw.sample_rate_hz, raw.t_s)
        assert not gb.walking_.any() and not gb.running_.any(), s.name
        assert gb.bouts_.num_rows == 0


def test_real_walks_are_walking() -> None:
    rd = RealData()
    for s in rd.sessions("walk")[::5]:
        raw = read_raw(s.raw_path)
        gb = GaitBouts().detect(raw.acc_g, raw.sample_rate_hz, raw.t_s)
        t = raw.t_s
        for a, b in s.truth.walk_windows_s:
            window = (t > a + 1.0) & (t < b - 1.0)
            assert gb.walking_[window].mean() > 0.9, s.name
        assert not gb.running_.any(), s.name


@pytest.mark.parametrize("rate", [50.0, 1000.0])
def test_any_rate(rate: float) -> None:
    sim = simulate_run(duration_s=20.0, warmup_walk_s=10.0, cooldown_walk_s=0.0,
                       sample_rate_hz=rate, seed=213)
    gb = GaitBouts().detect(sim.raw.acc_g, rate)
    assert gb.bouts_["gait"].to_pylist() == ["walk", "run"]
    a, b = sim.truth.summary["run_bouts_s"][0]
    t = sim.raw.t_s
    assert gb.running_[(t > a + 2.0) & (t < b - 2.0)].all()


def test_a_time_gap_ends_every_bout(run_sim) -> None:  # type: ignore[no-untyped-def]
    """Lost samples: a 0.5 s jump of the clock splits the running bout there."""
    raw = run_sim.raw
    t = raw.t_s.copy()
    i = np.searchsorted(t, 40.0)
    t[i:] += 0.5
    gb = GaitBouts().detect(raw.acc_g, raw.sample_rate_hz, t)
    assert not gb.running_[i - 1] and not gb.running_[i]
    spans = runs(gb.running_)
    assert ((spans[:, 0] < i) & (spans[:, 1] > i + 1)).sum() == 0
    assert (gb.bouts_["end_s"].to_numpy() < t[i]).any()
    assert (gb.bouts_["start_s"].to_numpy() > t[i - 1]).any()


def test_stillness_and_tiny_input_have_no_gait() -> None:
    rng = np.random.default_rng(214)
    acc = np.tile([0.1, 0.2, 0.97], (3000, 1)) + rng.normal(0, 0.005, (3000, 3))
    gb = GaitBouts().detect(acc, 100.0)
    assert not (gb.walking_ | gb.running_).any() and gb.bouts_.num_rows == 0
    assert _angle_deg(gb.up_, np.array([0.1, 0.2, 0.97]) / np.linalg.norm([0.1, 0.2, 0.97])).max(
    ) < 1.0
    tiny = GaitBouts().detect(acc[:10], 100.0)
    assert tiny.walking_.shape == (10,) and tiny.bouts_.num_rows == 0
    assert tiny.bouts_.schema == BOUTS  # the columns and types without rows


def test_centred_mean_shrinks_at_the_ends() -> None:
    x = np.arange(10.0)
    m = centred_mean(x, 2)
    assert m[0] == pytest.approx(1.0) and m[1] == pytest.approx(1.5) and m[5] == 5.0
    assert m[-1] == pytest.approx(8.0)


def _steps_and_moves(steps: np.ndarray, moves: list[float], move_g: float, move_s: float,
                     fs: float) -> np.ndarray:
    """30 s of specific force (g, sensor z up) with a loading pulse at each step time and a
    slow bump of ``move_g`` (width ``move_s``) at each move time, on light noise."""
    t = np.arange(int(30 * fs)) / fs
    fv = np.random.default_rng(0).normal(0.0, 0.005, t.size)
    for c in steps:
        fv += 0.25 * np.exp(-(((t - c) / 0.08) ** 2)) - 0.12 * np.exp(-(((t - c - 0.2) / 0.1) ** 2))
    for c in moves:
        fv += move_g * np.exp(-(((t - c) / move_s) ** 2))
    return np.c_[np.zeros_like(t), np.zeros_like(t), 1.0 + fv]


def test_a_walk_ending_in_slower_moves_is_still_walking() -> None:
    """Twelve steps, then two slow moves as the person stops and settles (1.4 s apart): the
    slow moves end the bout; left in the sequence they spoil its step-to-step likeness and the
    whole walk is lost (seen in a simulated workout: a 6-s walk to the bench)."""
    fs = 100.0
    steps = 5.0 + 0.56 * np.arange(12)
    acc = _steps_and_moves(steps, [steps[-1] + 1.5, steps[-1] + 2.9], 0.3, 0.35, fs)
    gb = GaitBouts().detect(acc, fs)
    assert gb.bouts_["gait"].to_pylist() == ["walk"]
    assert gb.bouts_["start_s"].to_numpy()[0] < steps[0]
    assert gb.bouts_["end_s"].to_numpy()[0] > steps[-1]
    # without the split its steady core is the walk too; without both it is lost
    assert GaitBouts(walk_split_ratio=1e9).detect(acc, fs).walking_.any()
    assert not GaitBouts(walk_split_ratio=1e9, walk_steady_ratio=1.0).detect(acc,
                                                                            fs).walking_.any()


def test_a_walk_set_off_by_slower_moves_is_walking_from_its_first_step() -> None:
    """Two slower moves 0.85 s apart, then eight steps 0.57 s apart: too close to split the
    sequence, unlike enough to spoil its step-to-step likeness, so the whole walk was lost
    (seen in a simulated workout, seed 210008: a 4-s walk between sets, then a 2-rep
    split-squat set). Its steady core, without the uneven ends, is the walk."""
    fs = 100.0
    steps = 5.0 + 0.57 * np.arange(8)
    acc = _steps_and_moves(steps, [steps[0] - 1.7, steps[0] - 0.85], 0.5, 0.2, fs)
    gb = GaitBouts().detect(acc, fs)
    assert gb.bouts_["gait"].to_pylist() == ["walk"]
    assert steps[0] - 0.57 < gb.bouts_["start_s"].to_numpy()[0] < steps[0]
    assert gb.bouts_["end_s"].to_numpy()[0] > steps[-1]
    np.testing.assert_allclose(gb.walk_steps_ / fs, steps, atol=0.03)
    assert not GaitBouts(walk_steady_ratio=1.0).detect(acc, fs).walking_.any()


def test_bouts_on_another_grid() -> None:
    """A bin is in a bout when its centre lies within the bout's first and last sample time."""
    bouts = arrow.table({"start_s": np.array([1.0, 3.0, 5.5]), "end_s": np.array([2.0, 4.0, 6.0]),
                         "gait": ["walk", "run", "walk"]}, BOUTS)
    centre = (np.arange(400) + 0.5) / 50.0  # a 50 Hz grid's bin centres over 8 s
    walk, run = bouts_on_grid(bouts, centre, "walk"), bouts_on_grid(bouts, centre, "run")
    inside = lambda a, b: (centre >= a) & (centre <= b)  # noqa: E731
    np.testing.assert_array_equal(walk, inside(1.0, 2.0) | inside(5.5, 6.0))
    np.testing.assert_array_equal(run, inside(3.0, 4.0))
    assert walk.sum() == 50 + 25 and run.sum() == 50
    assert not bouts_on_grid(arrow.empty(BOUTS), centre, "walk").any()


def test_the_strength_stages_take_the_gait_stages_bouts() -> None:
    """One bout detection per session: in ``imu.analyze`` the strength stages' walking lies
    within the gait stage's walking bouts (refined by the step band; gaps of up to 1 s
    closed), and their running is the gait stage's."""
    import imu.analysis as analysis
    from imu.sim.workout import simulate_workout

    sim = simulate_workout(seed=53, program=[("squat", 6), ("hip_thrust", 6)], start="quiet",
                           standing_s=5.0, warmup_jog_s=30.0, rest_activities=["walk"],
                           rest_s=(40.0, 50.0), sample_rate_hz=100.0, cooldown_walk_s=0.0,
                           reseats=0)
    options = analysis.s3_resolve(sim.raw, analysis.s1_options())[0]
    gait = analysis.s5_gait(sim.raw, options, None)
    strength = analysis.s6_strength(sim.raw, options, gait.placement_, gait)
    b = strength.bouts_
    centre = (np.arange(b.walking_.size) + 0.5) / 50.0
    gb = gait.gait_bouts_.bouts_
    walk, run = bouts_on_grid(gb, centre, "walk"), bouts_on_grid(gb, centre, "run")
    assert b.walking_.sum() > 10 * 50 and run.sum() > 20 * 50
    for a, z in runs(b.walking_ & ~walk):  # only gaps of up to 1 s closed between two walks
        assert z - a <= 50 and walk[a - 1] and walk[z]
    np.testing.assert_array_equal(b.running_, run)
