"""Workout simulator (imu.sim.workout): truth consistency, physics of the re-seated clip, options
honoured, determinism, sample rates. Short programs keep every session to a few minutes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES, REGISTRY
from imu.core.frames import GRAVITY_M_S2, pelvis_rotation_from_angles_deg
from imu.core.schema import REPS_CONTRACT_COLUMNS, STEPS_CONTRACT_COLUMNS
from imu.io.rawfile import read_raw
from imu.sim import simulate
from imu.sim.workout import simulate_workout
from imu.sim.workout_plan import draw_scenario

PROGRAM = [("glute_bridge", 3), ("single_leg_rdl", 4, "L"), ("single_leg_rdl", 4, "R"),
           ("squat", 2), ("squat", 1)]
SHORT = {"rest_s": (14.0, 18.0), "warmup_jog_s": 0.0, "cooldown_walk_s": 0.0,
         "sample_rate_hz": 100.0}


@pytest.fixture(scope="module")
def reseated():
    """Quiet start, a re-seat in a standing rest, walking between sets: ~3 min at 400 Hz."""
    return simulate_workout(seed=21, program=PROGRAM, start="quiet", standing_s=4.0,
                            rest_activities=("stand", "walk"), reseats=1,
                            reseat_hand_s=(5.0, 7.0), **{**SHORT, "sample_rate_hz": 400.0})


@pytest.fixture(scope="module")
def jogged():
    """Walk-in start, a 60 s warm-up jog with one restart, rests that include sitting."""
    return simulate_workout(seed=22, program=[("hip_thrust", 5), ("quadruped_hip_extension", 4)],
                            start="walk", warmup_jog_s=60.0, jog_restarts=1,
                            rest_activities=("sit",), rest_s=(30.0, 35.0), cooldown_walk_s=20.0,
                            sample_rate_hz=100.0, style={"lead_side": "L",
                                                         "lead_consistency": 1.0})


def _fz_g(sim) -> tuple[np.ndarray, np.ndarray]:
    p = sim.truth.pelvis
    t = p["t_s"].to_numpy()
    dt = t[1] - t[0]
    h = p["height_m"].to_numpy()
    return t, (np.gradient(np.gradient(h, dt), dt) + GRAVITY_M_S2) / GRAVITY_M_S2


# ---- truth consistency -----------------------------------------------------------------------


def test_sets_and_reps_follow_the_program(reseated):
    tr = reseated.truth
    assert list(tr.sets["exercise"]) == [p[0] for p in PROGRAM]
    assert list(tr.sets["reps"]) == [p[1] for p in PROGRAM]
    assert list(tr.sets["side"]) == ["", "L", "R", "", ""]
    assert list(tr.reps.columns[:12]) == list(REPS_CONTRACT_COLUMNS)
    for _, s in tr.sets.iterrows():
        r = tr.reps[tr.reps["set"] == s["set"]]
        assert list(r["rep"]) == list(range(1, s["reps"] + 1))
        assert (r["start_s"] >= s["start_s"] - 1e-9).all()
        assert (r["end_s"] <= s["end_s"] + 1e-9).all()
        assert (r["start_s"] < r["lockout_s"]).all() and (r["lockout_s"] < r["end_s"] + 3.5).all()
        assert (r["exercise"] == s["exercise"]).all()
    assert (tr.sets["start_s"].diff().dropna() > 0).all()
    assert (tr.sets["start_s"].to_numpy()[1:] > tr.sets["end_s"].to_numpy()[:-1]).all()
    assert tr.summary["n_sets"] == 5 and tr.summary["n_reps"] == 14


def test_pose_at_each_lockout_is_the_truth_angle(reseated):
    tr = reseated.truth
    p = tr.pelvis
    sag = np.interp(tr.reps["lockout_s"], p["t_s"], p["sagittal_deg"])
    np.testing.assert_allclose(sag, tr.reps["pelvis_angle_deg"], atol=0.3)
    np.testing.assert_allclose(tr.reps["pelvis_angle_deg"] - tr.reps["expected_deg"],
                               tr.reps["tilt_deg"], atol=1e-9)
    standing = tr.reps[tr.reps["exercise"] != "glute_bridge"]
    assert (standing["pelvis_angle_deg"].abs() < 12).all()
    bridge = tr.reps[tr.reps["exercise"] == "glute_bridge"]
    assert ((bridge["pelvis_angle_deg"] > 95) & (bridge["pelvis_angle_deg"] < 140)).all()
    # the last rep of a rest-at-top set has no top hold; the others do
    squat = tr.reps[tr.reps["exercise"] == "squat"]
    last = squat.groupby("set")["rep"].transform("max") == squat["rep"]
    assert squat.loc[last, "top_hold_s"].isna().all()


def test_steps_alternate_and_never_fall_in_a_set(reseated, jogged):
    for sim in (reseated, jogged):
        st = sim.truth.steps
        assert list(st.columns[:8]) == list(STEPS_CONTRACT_COLUMNS)
        assert len(st) > 20
        assert (np.diff(st["contact_s"]) > 0).all()
        for _, g in st.groupby("bout"):
            assert (g["side"].to_numpy()[1:] != g["side"].to_numpy()[:-1]).all()
        done = st["toe_off_s"].notna()
        assert (st.loc[done, "toe_off_s"] > st.loc[done, "contact_s"]).all()
        c = st["contact_s"].to_numpy()
        for _, s in sim.truth.sets.iterrows():
            assert not ((c > s["start_s"]) & (c < s["end_s"])).any()
        for _, b in sim.truth.bouts.iterrows():
            inside = st[(st["contact_s"] >= b["start_s"]) & (st["contact_s"] <= b["end_s"])]
            assert len(inside) >= 2


def test_walking_stance_and_running_flight(jogged):
    st = jogged.truth.steps
    t, fz = _fz_g(jogged)
    low = np.concatenate([[0], np.cumsum(fz < 0.45)])
    dt = t[1] - t[0]
    ok = st["step_s"].notna()
    c = st.loc[ok, "contact_s"].to_numpy()
    nxt = c + st.loc[ok, "step_s"].to_numpy()
    flight = (low[np.searchsorted(t, nxt)] - low[np.searchsorted(t, c)]) * dt
    run = (st.loc[ok, "gait"] == "run").to_numpy()
    assert run.sum() > 50
    assert (flight[run] >= 0.03).all()  # the run simulator's definition of a running step
    assert (flight[~run] == 0).all()
    walk = st[(st["gait"] == "walk") & st["gct_ms"].notna()]
    # walking stance outlasts the step (double support), ~58-66 % of a stride
    ratio = walk["gct_ms"] / 1000.0 / walk["step_s"].fillna(walk["gct_ms"] / 1000.0)
    assert (ratio.dropna() > 1.0).all()
    steady = st[(st["gait"] == "run") & ~st["half_step"]]
    assert (steady["gct_ms"] < 1000.0 * steady["step_s"]).all()


def test_jog_starts_and_summary(jogged):
    tr = jogged.truth
    s = tr.summary
    assert s["activity"] == "mixed" and s["calibration"] != "opening_standing"
    assert len(tr.starts) == 2 and (tr.starts["first_side"] == "L").all()
    for _, row in tr.starts.iterrows():
        k = int(np.flatnonzero(np.isclose(tr.steps["contact_s"], row["t_s"]))[0])
        assert tr.steps["side"].iloc[k] == row["first_side"]
        assert tr.steps["side"].iloc[k + 1] == row["second_side"]
        assert tr.steps["gait"].iloc[k] == "run"
    assert s["run_start_lead_side"] == "L" and s["run_start_consistency_pct"] == 100.0
    assert s["walk_steps"] == int((tr.steps["gait"] == "walk").sum())
    assert 90 < s["walk_cadence_spm"] < 125 and 130 < s["cadence_spm"] < 200
    # walk-in start: stepping from the first second, no quiet standing at 0
    assert tr.steps["contact_s"].iloc[0] < 1.0
    assert not ((tr.quiet["start_s"] <= 0) & (tr.quiet["end_s"] > 0.5)).any()


def test_sitting_is_low_and_tilted_posteriorly(jogged):
    sits = jogged.truth.summary["sits"]
    assert sits
    p = jogged.truth.pelvis
    stand_h = p["height_m"].iloc[-50:].mean()
    for a, b in sits:
        mid = p[(p["t_s"] > a + 0.4 * (b - a)) & (p["t_s"] < a + 0.6 * (b - a))]
        assert 0.35 < stand_h - mid["height_m"].mean() < 0.5
        assert 0.0 < mid["sagittal_deg"].mean() < 30.0


# ---- the re-seated clip ----------------------------------------------------------------------


def test_reseat_changes_sensor_gravity_not_the_pelvis(reseated):
    tr = reseated.truth
    assert tr.summary["mounting_changes"] == 1 and len(tr.mountings) == 2
    off, on = tr.mountings["off_s"].iloc[1], tr.mountings["from_s"].iloc[1]
    assert 5.0 <= on - off <= 7.0
    q = tr.quiet
    before = q[q["end_s"] <= off].iloc[-1]
    after = q[q["start_s"] >= on].iloc[0]
    assert (q["mounting"] == (q["start_s"] >= on).astype(int)).all()
    raw, p = reseated.raw, tr.pelvis
    mounts = [Rotation.from_quat(r[["qx", "qy", "qz", "qw"]].to_numpy(float))
              for _, r in tr.mountings.iterrows()]
    for k, iv in enumerate((before, after)):
        sel = (raw.t_s > iv["start_s"] + 0.2) & (raw.t_s < iv["end_s"] - 0.2)
        g_meas = raw.acc_g[sel].mean(axis=0)
        sel_p = (p["t_s"] > iv["start_s"] + 0.2) & (p["t_s"] < iv["end_s"] - 0.2)
        assert p.loc[sel_p, "sagittal_deg"].abs().max() < 2.0  # the pelvis stands in neutral
        r_wp = pelvis_rotation_from_angles_deg(*p.loc[sel_p, ["rotation_deg", "obliquity_deg",
                                                               "sagittal_deg"]].mean())
        g_expected = (r_wp * mounts[k]).apply([0.0, 0.0, 1.0], inverse=True)
        cos = g_meas @ g_expected / np.linalg.norm(g_meas)
        assert np.degrees(np.arccos(min(cos, 1.0))) < 4.0
    change = np.degrees((mounts[0].inv() * mounts[1]).magnitude())
    assert change > 5.0  # a new random orientation (uniform: below 5 deg with p < 1e-4)


def test_gyro_sees_the_hand_and_integrates_to_the_new_mounting(reseated):
    tr, rec = reseated.truth, reseated.recording
    off, on = tr.mountings["off_s"].iloc[1], tr.mountings["from_s"].iloc[1]
    t = rec.t_s
    i0, i1 = np.searchsorted(t, [off - 0.5, on + 0.5])
    w = np.radians(rec.true_gyr_dps[i0:i1])
    dt = t[1] - t[0]
    r = Rotation.identity()
    for k in range(w.shape[0] - 1):
        r = r * Rotation.from_rotvec(0.5 * (w[k] + w[k + 1]) * dt)
    p = tr.pelvis
    ang = p[["rotation_deg", "obliquity_deg", "sagittal_deg"]].to_numpy()
    m0, m1 = (Rotation.from_quat(tr.mountings.iloc[k][["qx", "qy", "qz", "qw"]].to_numpy(float))
              for k in (0, 1))
    r_a = pelvis_rotation_from_angles_deg(*ang[i0]) * m0
    r_b = pelvis_rotation_from_angles_deg(*ang[i1 - 1]) * m1
    err = np.degrees((r.inv() * (r_a.inv() * r_b)).magnitude())
    assert err < 1.5
    assert np.abs(rec.true_gyr_dps[i0:i1]).max() > 60.0  # the hand turns the sensor
    pel = np.abs(np.diff(ang[i0:i1, 2])).max() / dt
    assert pel < 30.0  # while the pelvis stands


# ---- options, determinism, rates -------------------------------------------------------------


def test_metadata_names_no_activity_or_exercise(reseated):
    meta = reseated.raw.meta
    assert "activity" not in meta and "exercise" not in meta
    assert meta["placement"] in ("left_hip", "right_hip", "sacrum")
    assert meta["trunk_length_m"] == pytest.approx(reseated.truth.summary["trunk_length_m"])
    assert reseated.truth.summary["calibration"] == "opening_standing"
    assert reseated.truth.summary["activity"] == "strength"


def test_determinism_by_seed():
    opts = {"program": [("deadlift", 2)], "start": "short", **SHORT}
    a, b = simulate_workout(seed=31, **opts), simulate_workout(seed=31, **opts)
    c = simulate_workout(seed=32, **opts)
    np.testing.assert_array_equal(a.raw.acc_g, b.raw.acc_g)
    np.testing.assert_array_equal(a.raw.gyr_dps, b.raw.gyr_dps)
    pd.testing.assert_frame_equal(a.truth.reps, b.truth.reps)
    pd.testing.assert_frame_equal(a.truth.steps, b.truth.steps)
    assert a.raw.meta == b.raw.meta
    assert a.raw.n_samples != c.raw.n_samples or not np.array_equal(a.raw.acc_g, c.raw.acc_g)
    q = a.truth.quiet
    assert q["start_s"].iloc[0] == 0.0 and q["end_s"].iloc[0] < 2.5
    assert a.truth.summary["calibration"] in ("standing_rest", "walking")


@pytest.mark.parametrize("rate", [50.0, 208.0, 1000.0])
def test_sample_rates(rate):
    sim = simulate_workout(seed=41, program=[("glute_ham_raise", 2)], start="quiet",
                           standing_s=3.5, **{**SHORT, "sample_rate_hz": rate})
    ref = simulate_workout(seed=41, program=[("glute_ham_raise", 2)], start="quiet",
                           standing_s=3.5, **SHORT)
    assert sim.raw.meta["sample_rate_hz"] == rate
    dt = np.diff(sim.raw.t_s)
    np.testing.assert_allclose(dt, 1.0 / rate, rtol=1e-9)
    assert sim.raw.t_s[-1] == pytest.approx(ref.raw.t_s[-1], abs=0.03)
    # the script does not depend on the rate: same reps within a fine-grid sample or two
    np.testing.assert_allclose(sim.truth.reps["lockout_s"], ref.truth.reps["lockout_s"],
                               atol=0.01)
    np.testing.assert_allclose(sim.truth.steps["contact_s"], ref.truth.steps["contact_s"])


def test_accelerometer_only_and_dispatch(tmp_path):
    sim = simulate("workout", seed=51, program=[("hip_hinge", 2)], with_gyro=False,
                   placement="right_hip", **SHORT)
    assert sim.raw.gyr_dps is None and sim.truth.summary["gyro_present"] is False
    assert sim.raw.meta["placement"] == "right_hip"
    df = sim.to_dataframe()
    assert not any(c.startswith("gyr_") for c in df.columns)
    back = read_raw(sim.write(tmp_path / "w.raw.parquet"))
    assert back.gyr_dps is None
    np.testing.assert_allclose(back.acc_g, sim.raw.acc_g, atol=1e-6)


def test_realistic_default_mix_is_drawn_from_the_seed():
    starts, jogs, reseats, sets, short = set(), 0, 0, 0, 0
    for seed in range(40):
        scn = draw_scenario(np.random.default_rng(seed))
        starts.add(scn.start)
        jogs += scn.jog_s > 0
        reseats += len(scn.reseat_before)
        sets += len(scn.sets)
        short += sum(s.reps <= 3 for s in scn.sets)
        for s in scn.sets:
            assert s.exercise in EXERCISES and s.reps >= 1
            assert bool(s.side) == REGISTRY[s.exercise].unilateral
        if scn.start == "quiet":
            assert scn.standing_s >= 3.0
        elif scn.start == "short":
            assert 0 < scn.standing_s < 2.5
    assert starts == {"quiet", "short", "walk"}
    assert 4 <= jogs <= 25 and reseats >= 4 and 0.05 < short / sets < 0.3


def test_hour_preset_holds_28_sets_of_all_exercises():
    scn = draw_scenario(np.random.default_rng(3), preset="hour_all_exercises")
    assert len(scn.sets) == 28
    assert {s.exercise for s in scn.sets} == set(EXERCISES)
    rest = sum(s.rest_before_s for s in scn.sets)
    assert 35 * 60 < rest + 28 * 40 < 80 * 60
    assert "walk" in scn.rest_activities and not scn.reseat_before and scn.jog_s == 0


@pytest.mark.parametrize(
    "kw",
    [
        {"program": [("jumping_jack", 3)]},
        {"program": [("squat", 0)]},
        {"program": [("squat", 3, "X")]},
        {"sample_rate_hz": 40.0},
        {"sample_rate_hz": 1200.0},
        {"start": "crawl"},
        {"placement": "knee"},
        {"rest_activities": ("dance",)},
        {"program": [("squat", 3)], "reseats": 2},
        {"preset": "marathon"},
        {"standing_s": -1.0},
        {"mounting": "sideways"},
    ],
)
def test_bad_options_raise_input_error(kw):
    with pytest.raises(InputError):
        simulate_workout(seed=1, **{**SHORT, **kw})


def test_form_break_ends_a_short_set(reseated):
    reps = reseated.truth.reps
    broke = reps[reps["scripted_form_break"]]
    # program sets of 1-3 reps stop because form broke on their last rep: one rep each
    assert list(broke["set"]) == [1, 4, 5]
    last = reps.groupby("set")["rep"].max()
    assert list(broke["rep"]) == [last[1], last[4], last[5]]
    assert not reps.loc[reps["set"].isin([2, 3]), "scripted_form_break"].any()
