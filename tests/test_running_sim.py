"""Simulated runs: physics (free fall in flight, 1 g mean over a stride), smoothness and the
consistency of the ground truth with the simulated pelvis."""

from __future__ import annotations

import numpy as np
import pytest

from imu.core.frames import GRAVITY_M_S2
from imu.core.schema import STEPS_CONTRACT_COLUMNS
from imu.metrics.gait import pelvic_drop_deg, stride_range
from imu.sim import simulate
from imu.sim.running import simulate_run
from imu.sim.session import SimSession

STEP_COLUMNS = tuple(c for c in STEPS_CONTRACT_COLUMNS if c != "gait")
"""The truth table of this simulator holds running steps only (its gait is implied)."""


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
    c = st["contact_s"]
    st = st[(c > summ["run_start_s"] + 5) & (c < summ["run_end_s"] - 5)]
    flight = np.zeros(t.size, dtype=bool)
    toe_off, contact = st["toe_off_s"].to_numpy(), st["contact_s"].to_numpy()
    for to, nxt in zip(toe_off[:-1] + 0.01, contact[1:] - 0.01, strict=True):
        flight |= (t > to) & (t < nxt)
    assert flight.sum() > 1000
    assert np.max(np.abs(fz[flight])) < 0.02
    # ... and stance carries the body: peaks well above 1 g
    stance = np.zeros(t.size, dtype=bool)
    for c, to in zip(st["contact_s"], st["toe_off_s"], strict=True):
        stance |= (t > c) & (t < to)
    assert np.min(fz[stance]) >= -0.01 and np.percentile(fz[stance], 90) > 1.8


def test_rendered_sensor_reads_free_fall_in_flight() -> None:
    """End to end through imu.sim.sensor: a sensor at the pelvis centre reads ~0 g on every axis
    in flight (ballistic in all directions when running straight) and ~1 g on average."""
    s = simulate_run(duration_s=30.0, warmup_walk_s=4.0, cooldown_walk_s=2.0,
                     sample_rate_hz=200.0, seed=12, turns=False, sensor_offset_m=(0.0, 0.0, 0.0))
    t = s.recording.t_s
    f = s.recording.true_acc_g
    st = s.truth.steps
    st = st[(st["contact_s"] > 13.0) & (st["contact_s"] < 33.0)]
    flight = np.zeros(t.size, dtype=bool)
    toe_off, contact = st["toe_off_s"].to_numpy(), st["contact_s"].to_numpy()
    for to, nxt in zip(toe_off[:-1] + 0.015, contact[1:] - 0.015, strict=True):
        flight |= (t > to) & (t < nxt)
    assert flight.sum() > 200
    assert np.max(np.linalg.norm(f[flight], axis=1)) < 0.05
    a, b = np.searchsorted(t, [contact[0], contact[-1]])
    up = s.mounting.inv().apply([0.0, 0.0, 1.0])  # pelvis up in the sensor frame
    assert np.mean(f[a:b] @ up) == pytest.approx(1.0, abs=0.02)


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


def test_motion_is_smooth() -> None:
    """Position is C2: the acceleration is continuous, so its largest sample-to-sample change
    halves when the sampling rate doubles (a jump would stay the same size). The motion depends
    only on the seed, and 400 and 800 Hz share the same 800 Hz pose grid."""
    kw = dict(duration_s=20.0, warmup_walk_s=4.0, cooldown_walk_s=2.0, seed=13, impact_g=1.0)
    steps = {}
    for rate in (400.0, 800.0):
        p = simulate_run(sample_rate_hz=rate, **kw).truth.pelvis  # type: ignore[arg-type]
        dt = 1.0 / rate
        cols = {"height": p["height_m"].to_numpy(), **{c: p[c].to_numpy() for c in (
            "obliquity_deg", "rotation_deg", "sagittal_deg")}}
        steps[rate] = {k: np.max(np.abs(np.diff(np.diff(x, 2)))) / dt**2 for k, x in cols.items()}
    for key in steps[400.0]:
        assert steps[800.0][key] < 0.6 * steps[400.0][key], key


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
    rot_deg = np.degrees(np.unwrap(np.radians(p["rotation_deg"].to_numpy())))
    rot = stride_range(t, rot_deg, lc, detrend=True)
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
