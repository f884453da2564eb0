"""The gait analysis on short simulated runs (seeds not used for tuning): running steps, sides,
contact times, vertical oscillation, pelvic drop and rotation; both hips and the sacrum with
random mountings at 100-400 Hz; without the standing start; without the gyroscope; any rate from
50 to 1000 Hz; the sensor's side from the gait; activity detection."""

from __future__ import annotations

import numpy as np
import pytest

from imu.core.errors import InputError
from imu.core.schema import (
    MINUTES,
    STARTS,
    STARTS_CONTRACT_COLUMNS,
    STEPS,
    STEPS_CONTRACT_COLUMNS,
    TIMESERIES,
)
from imu.core.session import RawSession
from imu.core.vocabulary import CALIBRATIONS, GAITS
from imu.pipeline.activity import detect_activity
from imu.pipeline.gait import GaitAnalysis
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


def _variant(raw: RawSession, cut_s: float = 0.0, gyro: bool = True) -> RawSession:
    """The session without its first ``cut_s`` seconds and/or without its gyroscope."""
    keep = raw.t_s >= raw.t_s[0] + cut_s
    return RawSession(t_s=raw.t_s[keep], acc_g=raw.acc_g[keep],
                      gyr_dps=raw.gyr_dps[keep] if gyro and raw.gyr_dps is not None else None,
                      seq=None, meta=dict(raw.meta))


def _running(res: GaitAnalysis):  # type: ignore[no-untyped-def]
    """The running steps as a DataFrame (what the simulator's ``score_steps`` reads)."""
    steps = res.steps_.to_pandas()
    return steps[steps["gait"] == "run"].reset_index(drop=True)


def _col(table, name: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(table[name])


@pytest.fixture(scope="module")
def analysed() -> dict[str, tuple[SimSession, GaitAnalysis]]:
    out = {}
    for i, (placement, kw) in enumerate(CASES.items()):
        sim = _run(placement, 77 + i, **kw)
        res = GaitAnalysis(placement=placement).analyze(sim.raw, sim.raw.sample_rate_hz)
        out[placement] = (sim, res)
    return out


@pytest.mark.parametrize("placement", list(CASES))
def test_steps_events_and_pelvis(
    analysed: dict[str, tuple[SimSession, GaitAnalysis]], placement: str
) -> None:
    sim, res = analysed[placement]
    s = score_steps(sim.truth.steps, _running(res))
    assert s["recall"] >= 0.98 and s["precision"] >= 0.98, s
    assert s["side_agreement"] >= 0.98, s
    assert s["gct_mae_ms"] <= 15.0, s
    assert abs(s["contact_bias_ms"]) <= 10.0, s
    assert s["vo_mae_cm"] <= 1.0, s
    assert s["drop_mae_deg"] <= 1.5, s
    t, e = sim.truth.summary, res.summary_
    assert e["cadence_spm"] == pytest.approx(t["cadence_spm"], rel=0.01)
    assert e["gct_ms"] == pytest.approx(t["gct_ms"], abs=10.0)
    assert e["vo_cm"] == pytest.approx(t["vo_cm"], abs=1.0)
    assert e["gct_balance_left_pct"] == pytest.approx(t["gct_balance_left_pct"], abs=2.0)
    for key in ("pelvic_drop_left_deg", "pelvic_drop_right_deg"):
        assert e[key] == pytest.approx(t[key], abs=1.0), key
    assert e["pelvic_rotation_deg"] == pytest.approx(t["pelvic_rotation_deg"], abs=2.0)
    assert e["pelvic_tilt_range_deg"] == pytest.approx(t["pelvic_tilt_range_deg"], abs=2.0)
    assert e["drop_drift_deg"] == pytest.approx(t["drop_drift_deg"], abs=1.0)
    assert e["braking_peak_g"] == pytest.approx(t["brake_peak_g"], rel=0.5)
    assert e["n_steps"] == len(_running(res))
    assert e["walk_steps"] == len(res.steps_) - len(_running(res))
    assert e["gyro_present"] and e["calibration"] == "opening_standing"
    # the sensor's side, found from the gait, is the simulated one: no warning
    assert res.placement_detected_ == placement and res.warnings_ == []


def test_output_tables(analysed: dict[str, tuple[SimSession, GaitAnalysis]]) -> None:
    sim, res = analysed["left_hip"]
    # Arrow tables with the schema's columns and types (NaN stays NaN, no nulls)
    assert res.steps_.schema == STEPS and res.starts_.schema == STARTS
    assert res.minutes_.schema == MINUTES and res.timeseries_.schema == TIMESERIES
    assert res.steps_.column_names[: len(STEPS_CONTRACT_COLUMNS)] == list(STEPS_CONTRACT_COLUMNS)
    assert all(c.null_count == 0 for c in res.steps_.columns)
    assert set(_col(res.steps_, "gait")) == set(GAITS)  # warm-up and cool-down walking, running
    assert set(_col(res.steps_, "side")) == {"L", "R"}
    assert res.minutes_.column_names == list(MINUTES.names)
    assert len(res.minutes_) == 2 and _col(res.minutes_, "n_steps").sum() == len(_running(res))
    assert np.all(np.abs(_col(res.minutes_, "cadence_spm") - 166.0) < 5.0)
    assert res.starts_.column_names[: len(STARTS_CONTRACT_COLUMNS)] == list(
        STARTS_CONTRACT_COLUMNS)
    assert len(res.starts_) == 1 and _col(res.starts_, "after")[0] == "walking"
    assert _col(res.starts_, "t_s")[0] == pytest.approx(_running(res)["contact_s"].iloc[0])
    ts = res.timeseries_
    assert ts.column_names == list(TIMESERIES.names)
    assert np.allclose(np.diff(_col(ts, "t_s")), 0.04)
    assert _col(ts, "t_s")[-1] == pytest.approx(sim.raw.t_s[-1], abs=0.05)
    truth = sim.truth.pelvis.set_index("t_s").reindex(_col(ts, "t_s"), method="nearest")
    for col in ("obliquity_deg", "sagittal_deg"):
        assert np.nanmedian(np.abs(_col(ts, col) - truth[col].to_numpy())) < 1.0, col
    # walking cadence of the warm-up and cool-down (the simulator walks at 108 steps/min)
    assert res.summary_["walk_cadence_spm"] == pytest.approx(108.0, rel=0.03)
    walk = _col(res.bouts_, "gait") == "walk"
    assert walk.sum() == 2 and (_col(res.bouts_, "n_steps")[walk] >= 12).all()
    walk_steps = _col(res.steps_, "gait") == "walk"
    np.testing.assert_allclose(_col(res.steps_, "bout_cadence_spm")[walk_steps], 108.0,
                               rtol=0.04)


def test_without_standing_start(analysed: dict[str, tuple[SimSession, GaitAnalysis]]) -> None:
    """Up and neutral from the strides; the gyroscope bias from the gait: the same figures."""
    sim, _ = analysed["right_hip"]
    res = GaitAnalysis(placement="right_hip").analyze(_variant(sim.raw, cut_s=6.0), 100.0)
    assert res.calibration_ == "gait" and res.summary_["calibration"] in CALIBRATIONS
    s = score_steps(sim.truth.steps, _running(res))
    assert s["recall"] >= 0.98 and s["precision"] >= 0.98 and s["side_agreement"] >= 0.98, s
    assert s["gct_mae_ms"] <= 15.0 and s["drop_mae_deg"] <= 1.5, s
    t, e = sim.truth.summary, res.summary_
    assert e["cadence_spm"] == pytest.approx(t["cadence_spm"], rel=0.01)
    for key in ("pelvic_drop_left_deg", "pelvic_drop_right_deg"):
        assert e[key] == pytest.approx(t[key], abs=1.0), key


@pytest.mark.parametrize("placement", ["left_hip", "sacrum"])
def test_without_gyroscope(placement: str) -> None:
    sim = simulate_run(duration_s=60.0, warmup_walk_s=6.0, cooldown_walk_s=4.0,
                       sample_rate_hz=100.0, placement=placement, seed=93, with_gyro=False)
    assert sim.raw.gyr_dps is None
    res = GaitAnalysis(placement=placement).analyze(_variant(sim.raw, cut_s=6.0), 100.0)
    s = score_steps(sim.truth.steps, _running(res))
    assert s["recall"] >= 0.98 and s["precision"] >= 0.98, s
    assert s["side_agreement"] >= 0.98, s  # the flight-phase turn of the pelvis
    assert s["gct_mae_ms"] <= 30.0, s
    e, t = res.summary_, sim.truth.summary
    assert e["cadence_spm"] == pytest.approx(t["cadence_spm"], rel=0.01)
    assert e["vo_cm"] == pytest.approx(t["vo_cm"], abs=2.5)
    assert np.isnan(_col(res.steps_, "pelvic_drop_deg")).all()
    assert np.isnan(e["pelvic_drop_left_deg"]) and np.isnan(e["pelvic_rotation_deg"])
    assert np.isnan(_col(res.timeseries_, "obliquity_deg")).all()
    assert "gyroscope" in e["note"] and not e["gyro_present"]
    # a hip without gyroscope: its own rise and fall would fake an asymmetry, so no balance
    assert np.isnan(e["gct_balance_left_pct"]) == (placement != "sacrum")
    assert res.placement_detected_ is None


@pytest.mark.parametrize("rate", [50.0, 1000.0])
def test_any_rate(rate: float) -> None:
    sim = simulate_run(duration_s=40.0, warmup_walk_s=6.0, cooldown_walk_s=4.0,
                       sample_rate_hz=rate, placement="sacrum", seed=95, speed_m_s=3.5,
                       cadence_spm=170.0)
    res = GaitAnalysis(placement="sacrum").analyze(sim.raw, rate)
    s = score_steps(sim.truth.steps, _running(res))
    assert s["recall"] >= 0.98 and s["precision"] >= 0.98 and s["side_agreement"] >= 0.98, s
    assert s["gct_mae_ms"] <= 15.0, s
    assert res.summary_["cadence_spm"] == pytest.approx(sim.truth.summary["cadence_spm"],
                                                        rel=0.01)


def test_walk_breaks_restart_the_run() -> None:
    """Two walking breaks: three starts of running; running time and the drift's tenths count
    running only; the walking between is steps of gait 'walk'."""
    sim = simulate_run(duration_s=120.0, warmup_walk_s=8.0, cooldown_walk_s=4.0, walk_breaks=2,
                       sample_rate_hz=100.0, placement="left_hip", seed=97, drift_deg=3.0,
                       speed_m_s=3.8, cadence_spm=172.0)
    res = GaitAnalysis(placement="left_hip").analyze(sim.raw, 100.0)
    s = score_steps(sim.truth.steps, _running(res))
    assert s["recall"] >= 0.97 and s["precision"] >= 0.97 and s["side_agreement"] >= 0.98, s
    e, t = res.summary_, sim.truth.summary
    assert e["cadence_spm"] == pytest.approx(t["cadence_spm"], rel=0.01)
    assert e["drop_drift_deg"] == pytest.approx(t["drop_drift_deg"], abs=1.0)
    assert e["running_time_s"] == pytest.approx(120.0, abs=12.0)
    assert len(res.starts_) == 3 and (_col(res.starts_, "after") == "walking").all()
    bouts = sim.truth.summary["run_bouts_s"]
    for (a, _), t_start in zip(bouts, _col(res.starts_, "t_s"), strict=True):
        assert a - 1.0 < t_start < a + 3.0  # the first running step of each bout
    assert e["run_start_lead_side"] in ("L", "R", "")
    walk = _col(res.steps_, "contact_s")[_col(res.steps_, "gait") == "walk"]
    in_breaks = [((walk > b0 + 2) & (walk < a1 - 2)).sum()
                 for (_, b0), (a1, _) in zip(bouts[:-1], bouts[1:], strict=True)]
    assert min(in_breaks) >= 20  # 15-30 s of walking at 1.8 steps/s


def test_mounting_does_not_matter() -> None:
    kw = dict(placement="right_hip", duration_s=40.0, warmup_walk_s=6.0, cooldown_walk_s=4.0,
              sample_rate_hz=100.0, seed=91, speed_m_s=4.0, cadence_spm=175.0)
    algo = GaitAnalysis(placement="right_hip")
    a = algo.clone().analyze(simulate_run(mounting=None, **kw).raw, 100.0).summary_  # type: ignore[arg-type]
    b = algo.clone().analyze(simulate_run(**kw).raw, 100.0).summary_  # type: ignore[arg-type]
    for key in ("cadence_spm", "gct_ms", "vo_cm", "pelvic_drop_left_deg", "pelvic_drop_right_deg"):
        assert a[key] == pytest.approx(b[key], rel=0.05, abs=0.3), key


def test_placement_from_the_gait() -> None:
    """A wrong placement is kept with a one-line warning; without one, the gait's is used."""
    sim = simulate_run(duration_s=40.0, warmup_walk_s=6.0, cooldown_walk_s=4.0,
                       sample_rate_hz=100.0, placement="right_hip", seed=92, speed_m_s=3.5)
    right = GaitAnalysis(placement="right_hip").analyze(sim.raw, 100.0)
    wrong = GaitAnalysis(placement="left_hip").analyze(sim.raw, 100.0)
    guess = GaitAnalysis().analyze(sim.raw, 100.0)
    assert right.warnings_ == [] and right.lateral_offset_m_ == pytest.approx(-0.16, abs=0.05)
    assert wrong.placement_ == "left_hip" and len(wrong.warnings_) == 1
    assert "right hip" in wrong.warnings_[0] and "\n" not in wrong.warnings_[0]
    assert guess.placement_ == "right_hip" and "no placement given" in guess.warnings_[0]
    assert guess.summary_["gct_ms"] == right.summary_["gct_ms"]
    # the wrong lever arm shows as a fake asymmetry; the right one does not
    t = sim.truth.summary["gct_balance_left_pct"]
    assert abs(right.summary_["gct_balance_left_pct"] - t) < abs(
        wrong.summary_["gct_balance_left_pct"] - t)


def test_no_gait_gives_empty_tables() -> None:
    sim = simulate("strength", exercise="glute_bridge", n_sets=1, reps_per_set=6,
                   sample_rate_hz=100.0, seed=94, walking=False)
    res = GaitAnalysis().analyze(sim.raw, 100.0)
    assert res.steps_.num_rows == 0 and res.steps_.schema == STEPS
    assert res.starts_.num_rows == 0 and res.starts_.schema == STARTS
    assert res.minutes_.num_rows == 0 and res.minutes_.column_names == list(MINUTES.names)
    assert res.bouts_.num_rows == 0
    assert res.summary_["n_steps"] == 0 and np.isnan(res.summary_["cadence_spm"])
    assert res.summary_["walk_steps"] == 0 and "no running" in res.summary_["note"]
    assert res.warnings_ == []


def test_activity_detection(analysed: dict[str, tuple[SimSession, GaitAnalysis]]) -> None:
    assert detect_activity(analysed["right_hip"][0].raw) == "run"
    bridge = simulate("strength", exercise="glute_bridge", n_sets=1, reps_per_set=6,
                      sample_rate_hz=100.0, seed=95)
    assert detect_activity(bridge.raw) == "strength"
    walk = simulate_run(duration_s=0.0, warmup_walk_s=20.0, cooldown_walk_s=0.0,
                        sample_rate_hz=100.0, seed=96)
    assert detect_activity(walk.raw) == "strength"


def test_bad_placement() -> None:
    sim = simulate_run(duration_s=10.0, warmup_walk_s=3.0, cooldown_walk_s=0.0,
                       sample_rate_hz=100.0, seed=96)
    with pytest.raises(InputError, match="placement"):
        GaitAnalysis(placement="knee").analyze(sim.raw, 100.0)


def test_clean_mask() -> None:
    m = np.zeros(100, dtype=bool)
    m[10:20] = m[22:30] = True  # gap of 2 -> closed
    m[50:53] = True  # short -> dropped
    out = clean_mask(m, max_gap=3, min_len=5)
    expected = np.zeros(100, dtype=bool)
    expected[10:30] = True
    np.testing.assert_array_equal(out, expected)
