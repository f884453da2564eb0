"""Simulated runs: physics (free fall in flight, 1 g mean over a stride), smoothness and the
consistency of the ground truth with the simulated pelvis."""

from __future__ import annotations

import numpy as np
import pytest

from imu.frames import GRAVITY_M_S2, pelvic_drop_deg
from imu.pipeline.running import stride_range
from imu.sim import simulate
from imu.sim.running import simulate_run
from imu.sim.session import SimSession

STEP_COLUMNS = ("step", "side", "contact_s", "toe_off_s", "gct_ms", "vo_cm", "pelvic_drop_deg")


@pytest.fixture(scope="module")
def sim() -> SimSession:
    return simulate(
        "run", duration_s=60.0, sample_rate_hz=200.0, seed=11, warmup_walk_s=10.0,
        cooldown_walk_s=8.0, speed_m_s=3.5, cadence_spm=172.0, drop_left_deg=4.0,
        drop_right_deg=7.0, drift_deg=2.0,
    )


def _vertical_specific_force_g(sim: SimSession) -> tuple[np.ndarray, np.ndarray]:
    p = sim.truth.pelvis
    t = p["t_s"].to_numpy()
    dt = t[1] - t[0]
    h = p["height_m"].to_numpy()
    return t, (np.gradient(np.gradient(h, dt), dt) + GRAVITY_M_S2) / GRAVITY_M_S2


def test_flight_is_free_fall(sim: SimSession) -> None:
    t, fz = _vertical_specific_force_g(sim)
    st = sim.truth.steps
    summ = sim.truth.summary
    plateau = (st["contact_s"] > summ["run_start_s"] + 5) & (st["contact_s"] < summ["run_end_s"] - 5)
    st = st[plateau]
    flight = np.zeros(t.size, dtype=bool)
    for to, nxt in zip(st["toe_off_s"].to_numpy()[:-1] + 0.01, st["contact_s"].to_numpy()[1:] - 0.01,
                       strict=True):
        flight |= (t > to) & (t < nxt)
    assert flight.sum() > 1000
    assert np.max(np.abs(fz[flight])) < 0.02
    # ... and stance carries the body: peaks well above 1 g
    stance = np.zeros(t.size, dtype=bool)
    for c, to in zip(st["contact_s"], st["toe_off_s"], strict=True):
        stance |= (t > c) & (t < to)
    assert np.min(fz[stance]) >= -0.01 and np.percentile(fz[stance], 90) > 1.8


def test_mean_vertical_force_over_a_stride_is_1_g(sim: SimSession) -> None:
    t, fz = _vertical_specific_force_g(sim)
    st = sim.truth.steps
    lc = st.loc[st["side"] == "L", "contact_s"].to_numpy()
    idx = np.searchsorted(t, lc)
    means = np.array([fz[a:b].mean() for a, b in zip(idx[:-1], idx[1:], strict=True)])
    means = means[5:-5]  # away from the walk-run transitions
    assert means.size > 50
    # Each stride balances up to the small vertical-velocity change that keeps the contact
    # height from drifting (step-to-step variability); on average exactly 1 g.
    assert np.all(np.abs(means - 1.0) < 0.05)
    assert abs(means.mean() - 1.0) < 0.003


def test_motion_is_smooth(sim: SimSession) -> None:
    """Position is C2: the vertical acceleration has no jumps. A jump of 0.15 g between samples
    would alone give a jerk of 30 g/s at 200 Hz on top of the half-sine's own (~30 g/s)."""
    t, fz = _vertical_specific_force_g(sim)
    jerk_g_s = np.diff(fz) / (t[1] - t[0])
    assert np.max(np.abs(jerk_g_s)) < 60.0
    for col in ("obliquity_deg", "rotation_deg", "sagittal_deg"):
        acc = np.diff(sim.truth.pelvis[col].to_numpy(), 2)
        # angular acceleration changes gradually from sample to sample
        assert np.max(np.abs(np.diff(acc))) < 0.3 * np.ptp(acc), col


def test_truth_tables_are_consistent(sim: SimSession) -> None:
    st = sim.truth.steps
    assert set(STEP_COLUMNS) <= set(st.columns)
    assert sim.raw.meta["activity"] == "run"
    sides = st["side"].to_numpy()
    assert np.all(sides[1:] != sides[:-1])
    assert np.all(np.diff(st["contact_s"]) > 0)
    np.testing.assert_allclose(st["gct_ms"], 1000 * (st["toe_off_s"] - st["contact_s"]))
    # running time ~ 60 s at 172 spm, minus the walk-run ramps
    assert 150 < len(st) < 175
    p = sim.truth.pelvis
    t, h, obl = p["t_s"].to_numpy(), p["height_m"].to_numpy(), p["obliquity_deg"].to_numpy()
    k = 40
    a, b = np.searchsorted(t, [st["contact_s"].iloc[k], st["contact_s"].iloc[k + 1]])
    assert st["vo_cm"].iloc[k] == pytest.approx(100 * np.ptp(h[a : b + 1]), abs=0.05)
    c = np.searchsorted(t, st["toe_off_s"].iloc[k])
    drop = np.max(pelvic_drop_deg(obl[a : c + 1], st["side"].iloc[k]))
    assert st["pelvic_drop_deg"].iloc[k] == pytest.approx(drop, abs=0.05)
    s = sim.truth.summary
    assert s["cadence_spm"] == pytest.approx(172.0, rel=0.02)
    assert 4 < s["vo_cm"] < 15
    assert 150 < s["gct_ms"] < 350
    # per-side drops near the nominal values (+ drift/2 on average), contralateral sign positive
    assert s["pelvic_drop_left_deg"] == pytest.approx(4.0 + 1.0, abs=0.8)
    assert s["pelvic_drop_right_deg"] == pytest.approx(7.0 + 1.0, abs=0.8)
    assert s["drop_drift_deg"] == pytest.approx(2.0 * 0.9, abs=0.8)
    lc = st.loc[st["side"] == "L", "contact_s"].to_numpy()
    rot = stride_range(t, p["rotation_deg"].to_numpy(), lc, detrend=True)
    assert s["pelvic_rotation_deg"] == pytest.approx(np.nanmean(rot))
    assert 7 < s["pelvic_rotation_deg"] < 17


def test_standing_opening_and_determinism() -> None:
    a = simulate_run(duration_s=10.0, warmup_walk_s=3.0, cooldown_walk_s=0.0, sample_rate_hz=100.0,
                     seed=5)
    b = simulate_run(duration_s=10.0, warmup_walk_s=3.0, cooldown_walk_s=0.0, sample_rate_hz=100.0,
                     seed=5)
    np.testing.assert_array_equal(a.raw.acc_g, b.raw.acc_g)
    n = int(4.0 * 100)
    norm = np.linalg.norm(a.raw.acc_g[:n], axis=1)
    assert abs(norm.mean() - 1.0) < 0.05 and norm.std() < 0.01
    assert np.abs(a.raw.gyr_dps[:n] - a.raw.gyr_dps[:n].mean(axis=0)).max() < 0.5


def test_walk_only_has_no_running_steps() -> None:
    s = simulate_run(duration_s=0.0, warmup_walk_s=15.0, cooldown_walk_s=0.0,
                     sample_rate_hz=100.0, seed=6)
    assert s.truth.steps.empty and set(STEP_COLUMNS) <= set(s.truth.steps.columns)
    assert np.isnan(s.truth.summary["cadence_spm"])
