"""The gait stage on the gait's samples only (a workout's walks between sets, issue 12): the
same steps as on the whole session, and a run always on every sample."""

from __future__ import annotations

import numpy as np
import pytest

import imu
from imu.pipeline.gait import GaitAnalysis
from imu.pipeline.gait_bouts import GaitBouts, gait_samples, spread
from imu.sim.gait_session import simulate_gait
from imu.sim.workout import simulate_workout


def test_gait_samples_margins_share_and_reference() -> None:
    gait = np.zeros(1000, dtype=bool)
    gait[400:450] = True
    keep = gait_samples(gait, 20, slice(0, 30))
    assert keep is not None
    np.testing.assert_array_equal(keep, np.r_[0:30, 380:470])
    assert gait_samples(gait, 300) is None  # 650 of 1000 samples: the whole session
    assert gait_samples(np.zeros(50, dtype=bool), 5) is None  # no gait
    assert gait_samples(gait, 20, max_share=0.0) is None  # 0: never


def test_bouts_on_some_samples_and_spread() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(6000) / 100.0
    acc = np.zeros((t.size, 3))
    acc[:, 2] = 1.0 + 0.3 * np.sin(2 * np.pi * 1.8 * t) * (t > 20) * (t < 40)
    acc += 0.005 * rng.normal(size=acc.shape)
    gb = GaitBouts().detect(acc, 100.0)
    gait = gb.walking_ | gb.running_
    keep = gait_samples(gait, 300)
    assert keep is not None and gb.walk_steps_.size >= 20
    part = gb.take(keep)
    np.testing.assert_array_equal(part.walking_, gb.walking_[keep])
    np.testing.assert_array_equal(part.up_, gb.up_[keep])
    np.testing.assert_array_equal(keep[part.walk_steps_], gb.walk_steps_)
    assert part.bouts_ is gb.bouts_
    x = rng.normal(size=(keep.size, 3))
    full = spread(x, keep, t.size)
    np.testing.assert_array_equal(full[keep], x)
    assert np.isnan(np.delete(full, keep, axis=0)).all()


@pytest.fixture(scope="module")
def workout() -> imu.sim.SimSession:
    """Four sets with standing and short walks between them: a quarter of it gait."""
    return simulate_workout(
        seed=51, program=[("squat", 8), ("hip_thrust", 8), ("squat", 8), ("hip_thrust", 8)],
        start="quiet", standing_s=5.0, warmup_jog_s=0.0, rest_activities=["stand", "walk"],
        rest_s=(90.0, 120.0), sample_rate_hz=100.0, cooldown_walk_s=0.0, reseats=0)


def test_the_gait_samples_give_the_whole_sessions_steps(workout: imu.sim.SimSession) -> None:
    whole = GaitAnalysis(max_gait_share=0.0).analyze(workout.raw)
    part = GaitAnalysis(max_gait_share=1.0).analyze(workout.raw)
    assert part.cropped_ and not whole.cropped_
    a, b = whole.steps_.to_pandas(), part.steps_.to_pandas()
    assert len(a) == len(b) > 200
    near = np.abs(b["contact_s"].to_numpy() - a["contact_s"].to_numpy()) < 0.001
    assert near.mean() >= 0.95
    assert (b["side"] == a["side"]).all() and (b["gait"] == a["gait"]).all()
    # steps away from the cuts are the same to a microsecond; the few near them differ by
    # far less than a contact time's error against force plates (~15-20 ms, docs/running.md)
    gct = np.abs(b["gct_ms"] - a["gct_ms"]).to_numpy()
    assert np.nanmedian(gct) < 0.01 and np.nanmax(gct) < 15.0
    assert np.nanmax(np.abs(b["vo_cm"] - a["vo_cm"])) < 0.5
    drop = np.abs(b["pelvic_drop_deg"] - a["pelvic_drop_deg"]).to_numpy()
    assert np.nanmedian(drop) < 0.05 and np.nanmax(drop) < 2.0
    assert part.summary_["walk_steps"] == whole.summary_["walk_steps"]
    assert part.placement_ == whole.placement_
    series = part.timeseries_.to_pandas()  # angles only where the gait was analysed
    assert series["obliquity_deg"].isna().any() and series["obliquity_deg"].notna().any()


def test_a_run_is_analysed_on_every_sample() -> None:
    """A run of 70 s, then long standing: its gait is a small share of the session, but a run
    detected from the bouts is analysed again on every sample (its 25 Hz series too)."""
    sim = simulate_gait(seed=5, sample_rate_hz=100.0, standing_s=5.0,
                        pattern=[("run", 70.0), ("stand", 200.0)])
    part = GaitAnalysis().analyze(sim.raw)
    assert part.cropped_  # on its own, the gait stage would crop it
    result = imu.analyze(sim.raw)
    assert result.activity == "run"
    assert len(result.timeseries) and result.timeseries["obliquity_deg"].notna().all()
    given = imu.analyze(sim.raw, activity="run")
    np.testing.assert_array_equal(result.steps["contact_s"], given.steps["contact_s"])
