"""Stepped gait simulator (imu.sim.gait, imu.sim.gait_session): walking bouts with step truth,
run starts with a chosen lead foot and half-step, no standing start, accelerometer-only
recordings, rates 50-1000 Hz; physics of walking and running steps."""

from __future__ import annotations

import numpy as np
import pytest

from imu.core.errors import InputError
from imu.core.frames import GRAVITY_M_S2
from imu.sim import simulate
from imu.sim.gait import BoutBuilder, GaitStyle, heel_strike_shape
from imu.sim.gait_session import simulate_gait

RESTARTS = [("walk", 8.0), ("run", 20.0), ("walk", 5.0), ("stand", 5.0), ("run", 15.0),
            ("walk", 8.0), ("run", 15.0), ("walk", 6.0)]


@pytest.fixture(scope="module")
def restarts():
    return simulate_gait(seed=61, pattern=RESTARTS, sample_rate_hz=200.0)


def _fz_g(sim):
    p = sim.truth.pelvis
    t = p["t_s"].to_numpy()
    dt = t[1] - t[0]
    return t, (np.gradient(np.gradient(p["height_m"].to_numpy(), dt), dt) + GRAVITY_M_S2) / (
        GRAVITY_M_S2)


def _flight_s(sim):
    st = sim.truth.steps
    t, fz = _fz_g(sim)
    low = np.concatenate([[0], np.cumsum(fz < 0.45)])
    ok = st["step_s"].notna().to_numpy()
    c = st["contact_s"].to_numpy()[ok]
    nxt = c + st["step_s"].to_numpy()[ok]
    return ok, (low[np.searchsorted(t, nxt)] - low[np.searchsorted(t, c)]) * (t[1] - t[0])


def test_gait_labels_follow_flight(restarts):
    st = restarts.truth.steps
    ok, flight = _flight_s(restarts)
    run = (st["gait"] == "run").to_numpy()[ok]
    assert run.sum() > 100 and (~run).sum() > 20
    assert (flight[run] >= 0.03).all() and (flight[~run] == 0.0).all()


def test_flight_is_free_fall_and_a_stride_averages_1_g(restarts):
    t, fz = _fz_g(restarts)
    st = restarts.truth.steps
    run = st[(st["gait"] == "run") & st["step_s"].notna()]
    steady = run.iloc[10:-10]
    for _, s in steady.iloc[::7].iterrows():
        sel = (t >= s["toe_off_s"] + 0.01) & (t <= s["contact_s"] + s["step_s"] - 0.01)
        assert np.abs(fz[sel]).max() < 0.02
    a, b = steady["contact_s"].iloc[0], steady["contact_s"].iloc[20]
    assert fz[(t >= a) & (t < b)].mean() == pytest.approx(1.0, abs=0.02)
    walk = st[(st["gait"] == "walk")]
    a, b = walk["contact_s"].iloc[2], walk["contact_s"].iloc[8]
    assert fz[(t >= a) & (t < b)].mean() == pytest.approx(1.0, abs=0.02)


def test_walking_heel_strike_peaks_after_contact(restarts):
    t, fz = _fz_g(restarts)
    st = restarts.truth.steps
    walk = st[(st["gait"] == "walk") & st["step_s"].notna() & st["gct_ms"].notna()]
    lags = []
    for c, d in zip(walk["contact_s"], walk["step_s"], strict=True):
        sel = (t >= c - 0.15) & (t < c + 0.5 * d)
        lags.append(t[sel][np.argmax(fz[sel])] - c)
    assert 0.0 < np.median(lags) < 0.06  # the sharp peak 20-50 ms after contact
    # stance outlasts the step: double support
    assert (walk["gct_ms"] / 1000.0 > walk["step_s"]).all()


def test_starts_table(restarts):
    tr = restarts.truth
    st, sts = tr.steps, tr.starts
    assert list(sts.columns[:6]) == ["start", "t_s", "first_side", "second_side", "half_step",
                                     "after"]
    assert list(sts["after"]) == ["walking", "standing", "walking"]
    for _, row in sts.iterrows():
        k = int(np.flatnonzero(np.isclose(st["contact_s"], row["t_s"]))[0])
        assert st["side"].iloc[k] == row["first_side"]
        assert st["side"].iloc[k + 1] == row["second_side"]
        assert st["gait"].iloc[k] == "run" and st["gait"].iloc[k + 1] == "run"
        before = st.iloc[k - 1] if k > 0 else None
        if row["after"] == "walking":
            assert before is not None and before["gait"] == "walk"
        else:
            assert before is None or before["bout"] != st["bout"].iloc[k]


@pytest.mark.parametrize("lead,half", [("L", True), ("R", False), ("R", True)])
def test_lead_foot_and_half_step_are_honoured(lead, half):
    sim = simulate_gait(seed=62, pattern=RESTARTS, lead_side=lead, half_step=half,
                        sample_rate_hz=100.0)
    sts, st = sim.truth.starts, sim.truth.steps
    assert len(sts) == 3
    assert (sts["first_side"] == lead).all() and (sts["half_step"] == half).all()
    assert sim.truth.summary["run_start_lead_side"] == lead
    assert sim.truth.summary["run_start_consistency_pct"] == 100.0
    for t_s in sts["t_s"]:
        k = int(np.flatnonzero(np.isclose(st["contact_s"], t_s))[0])
        first, second = st["step_s"].iloc[k], st["step_s"].iloc[k + 2]
        assert (first < 0.8 * second) == half
        assert bool(st["half_step"].iloc[k]) == half


def test_habitual_lead_side_from_the_seed():
    sims = [simulate_gait(seed=s, pattern=RESTARTS, sample_rate_hz=50.0) for s in (63, 64)]
    for sim in sims:
        s = sim.truth.summary
        counts = sim.truth.starts["first_side"].value_counts()
        assert s["run_start_consistency_pct"] == pytest.approx(100 * counts.max() / 3)


def test_no_standing_start_walking_and_running():
    walk = simulate_gait(seed=65, standing_s=0.0, pattern=[("walk", 15.0), ("run", 20.0),
                                                           ("walk", 5.0)])
    run = simulate_gait(seed=66, standing_s=0.0, pattern=[("run", 20.0)], end_standing_s=1.0)
    for sim, gait in ((walk, "walk"), (run, "run")):
        st = sim.truth.steps
        assert st["contact_s"].iloc[0] < 0.7 and st["gait"].iloc[0] == gait
        acc = sim.raw.acc_g[: int(0.5 * 200)]
        assert np.linalg.norm(acc, axis=1).std() > 0.05  # moving from the first sample
        assert sim.truth.summary["calibration"] == ("walking" if gait == "walk" else "gait")
        assert sim.truth.quiet["start_s"].min() > 1.0
    assert len(run.truth.starts) == 0  # already running: no start


def test_walk_only_cadence_and_summary():
    sim = simulate_gait(seed=67, pattern=[("walk", 30.0)], style={"walk_hz": 1.8})
    st, s = sim.truth.steps, sim.truth.summary
    assert (st["gait"] == "walk").all() and s["activity"] == "walk"
    assert s["walk_steps"] == len(st) and "cadence_spm" not in s
    assert s["walk_cadence_spm"] == pytest.approx(108.0, rel=0.03)
    assert s["calibration"] == "opening_standing"


def test_accelerometer_only():
    sim = simulate("gait", seed=68, pattern=[("walk", 6.0), ("run", 10.0), ("walk", 4.0)],
                   with_gyro=False)
    s = sim.truth.summary
    assert sim.raw.gyr_dps is None and s["gyro_present"] is False
    assert np.isnan(s["pelvic_drop_left_deg"]) and np.isnan(s["pelvic_rotation_deg"])
    assert np.isfinite(s["cadence_spm"]) and np.isfinite(s["gct_ms"])


@pytest.mark.parametrize("rate", [50.0, 333.0, 1000.0])
def test_any_rate_same_steps(rate):
    pat = [("walk", 5.0), ("run", 8.0), ("walk", 4.0)]
    ref = simulate_gait(seed=69, pattern=pat, sample_rate_hz=200.0)
    sim = simulate_gait(seed=69, pattern=pat, sample_rate_hz=rate)
    assert sim.raw.meta["sample_rate_hz"] == rate
    np.testing.assert_allclose(np.diff(sim.raw.t_s), 1.0 / rate, rtol=1e-9)
    np.testing.assert_array_equal(sim.truth.steps["contact_s"], ref.truth.steps["contact_s"])
    np.testing.assert_allclose(sim.truth.steps["vo_cm"], ref.truth.steps["vo_cm"], atol=0.3)


def test_heel_strike_shape_is_self_contained():
    tau = np.linspace(0.0, 0.55, 5501)
    z = heel_strike_shape(tau, np.full(tau.size, 0.55), 0.07)
    dt = tau[1] - tau[0]
    v = np.gradient(z, dt)
    a = np.gradient(v, dt)
    assert abs(z[-1]) < 1e-12 and abs(v[-1]) < 1e-8 and abs(a[1]) < 1e-3
    assert a.max() == pytest.approx(1.0, abs=0.06) and 0.02 < tau[np.argmax(a)] < 0.05


def test_builder_rules():
    b = BoutBuilder(GaitStyle(), np.random.default_rng(1), 0.0).walk(4)
    b.run(6, lead="R")
    with pytest.raises(ValueError):
        b.run(4)
    bout = b.finish()
    assert not bout.run[-1] and np.isnan(bout.stance[-1])  # the closing step stays down
    assert (np.diff(bout.left.astype(int)) != 0).all()
    with pytest.raises(InputError):
        simulate_gait(seed=1, pattern=[("swim", 3.0)])
    with pytest.raises(InputError):
        simulate_gait(seed=1, sample_rate_hz=20.0)
    with pytest.raises(InputError):
        simulate_gait(seed=1, pattern=[("run", 5.0, {"lead": "X"})])
