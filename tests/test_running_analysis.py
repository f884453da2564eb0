"""Running analysis on short simulated runs (seeds not used for tuning): steps, sides, contact
times, vertical oscillation, pelvic drop and rotation; both hips and the sacrum with random
mountings at 100-400 Hz; no gyroscope; no running; activity detection."""

from __future__ import annotations

import numpy as np
import pytest

from imu.core.errors import InputError
from imu.core.schema import MINUTES, STEPS_CONTRACT_COLUMNS, TIMESERIES
from imu.pipeline.activity import detect_activity
from imu.pipeline.running import RunAnalysis
from imu.pipeline.signals import clean_mask
from imu.sim import simulate
from imu.sim.running import score_steps, simulate_run
from imu.sim.session import SimSession

CASES = {
    "left_hip": dict(sample_rate_hz=200.0, speed_m_s=3.2, cadence_spm=166.0, drift_deg=3.0),
    "right_hip": dict(sample_rate_hz=100.0, speed_m_s=4.8, cadence_spm=184.0, drift_deg=-2.0),
    "sacrum": dict(sample_rate_hz=400.0, speed_m_s=2.7, cadence_spm=156.0, drift_deg=0.0),
}


def _run(placement: str, seed: int, **kw: float) -> SimSession:
    return simulate_run(duration_s=75.0, warmup_walk_s=10.0, cooldown_walk_s=8.0,
                        placement=placement, seed=seed, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def analysed() -> dict[str, tuple[SimSession, RunAnalysis]]:
    out = {}
    for i, (placement, kw) in enumerate(CASES.items()):
        sim = _run(placement, 77 + i, **kw)
        res = RunAnalysis(placement=placement).analyze(sim.raw, sim.raw.sample_rate_hz)
        out[placement] = (sim, res)
    return out


@pytest.mark.parametrize("placement", list(CASES))
def test_steps_events_and_pelvis(
    analysed: dict[str, tuple[SimSession, RunAnalysis]], placement: str
) -> None:
    sim, res = analysed[placement]
    s = score_steps(sim.truth.steps, res.steps_)
    assert s["recall"] >= 0.97 and s["precision"] >= 0.97, s
    assert s["side_agreement"] >= 0.97, s
    assert s["gct_mae_ms"] <= 20.0, s
    assert abs(s["contact_bias_ms"]) <= 15.0, s
    assert s["vo_mae_cm"] <= 1.0, s
    assert s["drop_mae_deg"] <= 1.5, s
    t, e = sim.truth.summary, res.summary_
    assert e["cadence_spm"] == pytest.approx(t["cadence_spm"], rel=0.01)
    assert e["gct_ms"] == pytest.approx(t["gct_ms"], abs=15.0)
    assert e["vo_cm"] == pytest.approx(t["vo_cm"], abs=1.0)
    assert e["gct_balance_left_pct"] == pytest.approx(t["gct_balance_left_pct"], abs=2.0)
    for key in ("pelvic_drop_left_deg", "pelvic_drop_right_deg"):
        assert e[key] == pytest.approx(t[key], abs=1.5), key
    assert e["pelvic_rotation_deg"] == pytest.approx(t["pelvic_rotation_deg"], abs=2.0)
    assert e["pelvic_tilt_range_deg"] == pytest.approx(t["pelvic_tilt_range_deg"], abs=2.0)
    assert e["drop_drift_deg"] == pytest.approx(t["drop_drift_deg"], abs=1.0)
    assert e["braking_peak_g"] == pytest.approx(t["brake_peak_g"], rel=0.5)
    assert e["n_steps"] == len(res.steps_)


def test_output_tables(analysed: dict[str, tuple[SimSession, RunAnalysis]]) -> None:
    sim, res = analysed["left_hip"]
    assert list(res.steps_.columns[: len(STEPS_CONTRACT_COLUMNS)]) == list(STEPS_CONTRACT_COLUMNS)
    assert set(res.steps_["side"]) == {"L", "R"}
    assert list(res.minutes_.columns) == list(MINUTES.names)
    assert len(res.minutes_) == 2 and res.minutes_["n_steps"].sum() == len(res.steps_)
    assert np.all(np.abs(res.minutes_["cadence_spm"] - 166.0) < 5.0)
    ts = res.timeseries_
    assert list(ts.columns) == list(TIMESERIES.names)
    assert np.allclose(np.diff(ts["t_s"]), 0.04)
    assert ts["t_s"].iloc[-1] == pytest.approx(sim.raw.t_s[-1], abs=0.05)
    # angles agree with the truth pelvis (rotation only up to the heading drift)
    truth = sim.truth.pelvis.set_index("t_s").reindex(ts["t_s"], method="nearest")
    for col in ("obliquity_deg", "sagittal_deg"):
        assert np.nanmedian(np.abs(ts[col].to_numpy() - truth[col].to_numpy())) < 1.0, col


def test_walk_breaks() -> None:
    """Two walking breaks: new runs of steps (side parity decided again), running time and the
    drift's first/last tenths count running only."""
    sim = simulate_run(duration_s=120.0, warmup_walk_s=8.0, cooldown_walk_s=4.0, walk_breaks=2,
                       sample_rate_hz=100.0, placement="left_hip", seed=97, drift_deg=3.0,
                       speed_m_s=3.8, cadence_spm=172.0)
    res = RunAnalysis().analyze(sim.raw, 100.0)
    s = score_steps(sim.truth.steps, res.steps_)
    assert s["recall"] >= 0.97 and s["precision"] >= 0.95 and s["side_agreement"] >= 0.97, s
    e, t = res.summary_, sim.truth.summary
    assert e["cadence_spm"] == pytest.approx(t["cadence_spm"], rel=0.01)
    assert e["drop_drift_deg"] == pytest.approx(t["drop_drift_deg"], abs=1.0)
    assert e["running_time_s"] == pytest.approx(120.0, abs=12.0)
    assert e["walking_time_s"] > 30.0


def test_mounting_does_not_matter() -> None:
    kw = dict(placement="right_hip", duration_s=40.0, warmup_walk_s=6.0, cooldown_walk_s=4.0,
              sample_rate_hz=100.0, seed=91, speed_m_s=4.0, cadence_spm=175.0)
    algo = RunAnalysis(placement="right_hip")
    a = algo.clone().analyze(simulate_run(mounting=None, **kw).raw, 100.0).summary_  # type: ignore[arg-type]
    b = algo.clone().analyze(simulate_run(**kw).raw, 100.0).summary_  # type: ignore[arg-type]
    for key in ("cadence_spm", "gct_ms", "vo_cm", "pelvic_drop_left_deg", "pelvic_drop_right_deg"):
        assert a[key] == pytest.approx(b[key], rel=0.05, abs=0.3), key


def test_offline_vqf_agrees() -> None:
    sim = simulate_run(duration_s=40.0, warmup_walk_s=6.0, cooldown_walk_s=4.0,
                       sample_rate_hz=100.0, placement="left_hip", seed=92)
    a = RunAnalysis().analyze(sim.raw, 100.0).summary_
    b = RunAnalysis(orientation_filter="offline_vqf").analyze(sim.raw, 100.0).summary_
    for key in ("gct_ms", "vo_cm", "pelvic_drop_left_deg", "pelvic_rotation_deg"):
        assert a[key] == pytest.approx(b[key], rel=0.05, abs=0.3), key
    with pytest.raises(ValueError, match="orientation_filter"):
        RunAnalysis(orientation_filter="madgwick").analyze(sim.raw, 100.0)


def test_without_gyroscope() -> None:
    sim = simulate_run(duration_s=50.0, warmup_walk_s=6.0, cooldown_walk_s=4.0,
                       sample_rate_hz=100.0, placement="sacrum", seed=93, with_gyro=False)
    assert sim.raw.gyr_dps is None
    res = RunAnalysis(placement="sacrum").analyze(sim.raw, 100.0)
    s = score_steps(sim.truth.steps, res.steps_)
    assert s["recall"] >= 0.97 and s["gct_mae_ms"] <= 20.0
    assert s["side_agreement"] >= 0.97  # from the flight-phase rotation cue
    e, t = res.summary_, sim.truth.summary
    assert e["cadence_spm"] == pytest.approx(t["cadence_spm"], rel=0.01)
    assert e["vo_cm"] == pytest.approx(t["vo_cm"], abs=1.5)
    assert res.steps_["pelvic_drop_deg"].isna().all()
    assert np.isnan(e["pelvic_drop_left_deg"]) and np.isnan(e["pelvic_rotation_deg"])
    assert res.timeseries_["obliquity_deg"].isna().all()
    assert "gyroscope" in e["note"]


def test_no_running_gives_empty_steps() -> None:
    sim = simulate_run(duration_s=0.0, warmup_walk_s=20.0, cooldown_walk_s=0.0,
                       sample_rate_hz=100.0, seed=94)
    res = RunAnalysis().analyze(sim.raw, 100.0)
    assert res.steps_.empty and list(res.steps_.columns) == list(STEPS_CONTRACT_COLUMNS)
    assert res.summary_["n_steps"] == 0 and np.isnan(res.summary_["cadence_spm"])
    assert "no running" in res.summary_["note"]
    assert 14.0 < res.summary_["walking_time_s"] < 24.0
    assert res.minutes_.empty
    assert detect_activity(sim.raw) == "strength"


def test_activity_detection(analysed: dict[str, tuple[SimSession, RunAnalysis]]) -> None:
    assert detect_activity(analysed["right_hip"][0].raw) == "run"
    bridge = simulate("strength", exercise="glute_bridge", n_sets=1, reps_per_set=6,
                      sample_rate_hz=100.0, seed=95)
    assert detect_activity(bridge.raw) == "strength"


def test_bad_placement_and_missing_standing() -> None:
    sim = simulate_run(duration_s=20.0, warmup_walk_s=3.0, cooldown_walk_s=0.0,
                       sample_rate_hz=100.0, seed=96)
    with pytest.raises(InputError, match="placement"):
        RunAnalysis(placement="knee").analyze(sim.raw, 100.0)
    cut = int(5.5 * 100)  # drop the opening standing
    raw = type(sim.raw)(t_s=sim.raw.t_s[cut:] - sim.raw.t_s[cut], acc_g=sim.raw.acc_g[cut:],
                        gyr_dps=sim.raw.gyr_dps[cut:], seq=None, meta=sim.raw.meta)
    with pytest.raises(InputError, match="standing"):
        RunAnalysis().analyze(raw, 100.0)


def test_clean_mask() -> None:
    m = np.zeros(100, dtype=bool)
    m[10:20] = m[22:30] = True  # gap of 2 -> closed
    m[50:53] = True  # short -> dropped
    out = clean_mask(m, max_gap=3, min_len=5)
    expected = np.zeros(100, dtype=bool)
    expected[10:30] = True
    np.testing.assert_array_equal(out, expected)
