"""A hip placement given settles the pelvis frame's forward sign (docs/running.md, stage 6b):
the fitted lateral offset changes sign with the left axis, so a hip given whose offset comes
out as the other hip's means the forward sign was the wrong way round."""

from __future__ import annotations

import numpy as np
import pytest

import imu.analysis as analysis
from imu.pipeline.gait import GaitAnalysis
from imu.sim.workout import simulate_workout


def _side_agreement(gait: GaitAnalysis, sim: object) -> tuple[float, int]:
    """Share of the reported sides that are the truth's, over the contacts matched within
    0.15 s, and how many were matched."""
    steps, truth = gait.steps_.to_pandas(), sim.truth.steps  # type: ignore[attr-defined]
    tc, ts = truth["contact_s"].to_numpy(), truth["side"].to_numpy()
    ec, es = steps["contact_s"].to_numpy(), steps["side"].to_numpy()
    j = np.searchsorted(tc, ec).clip(1, len(tc) - 1)
    j = np.where(np.abs(tc[j - 1] - ec) < np.abs(tc[j] - ec), j - 1, j)
    ok = (np.abs(tc[j] - ec) < 0.15) & np.isin(es, ["L", "R"])
    return float((es[ok] == ts[j[ok]]).mean()), int(ok.sum())


@pytest.fixture(scope="module")
def workout() -> tuple[object, object]:
    """A 34-minute workout on the left hip whose walks give the forward sign the wrong way
    round (found by a search of seeds 9000-9199), with its shared orientation."""
    sim = simulate_workout(seed=9085, sample_rate_hz=100.0)
    options = analysis.s3_resolve(sim.raw, analysis.s1_options())[0]
    return sim, analysis.s4_sensor(sim.raw, options).orientation()


def test_without_a_placement_the_frame_is_the_gaits(workout) -> None:
    """Nothing tells the sign: the gait's frame is kept, mirrored here (every side the other
    one, the sensor said to be on the right hip). The case the rule is for."""
    sim, orientation = workout
    assert sim.raw.meta["placement"] == "left_hip"
    gait = GaitAnalysis(placement=None).analyze(sim.raw, 100.0, orientation=orientation)
    agreement, matched = _side_agreement(gait, sim)
    assert matched > 200 and agreement < 0.05
    assert gait.lateral_offset_m_ <= -0.08 and gait.placement_ == "right_hip"


def test_a_hip_given_turns_the_frame_and_the_sides_come_right(workout) -> None:
    """With ``left_hip`` given, the frame is turned about up: every side is the truth's, the
    offset is the left hip's, and no warning of a disagreement is left."""
    sim, orientation = workout
    gait = GaitAnalysis(placement="left_hip").analyze(sim.raw, 100.0, orientation=orientation)
    agreement, matched = _side_agreement(gait, sim)
    assert matched > 200 and agreement > 0.98
    assert 0.08 <= gait.lateral_offset_m_ < 0.3
    assert gait.placement_detected_ in (None, "left_hip")
    assert not [w for w in gait.warnings_ if "but the gait says" in w]
    assert gait.side_source_.endswith(", forward from the placement")


def test_a_hip_given_that_agrees_changes_nothing() -> None:
    """A session whose offset is its hip's: the steps are bit for bit those of the analysis
    whose rule cannot fire (``hip_offset_m`` = 1 m)."""
    sim = simulate_workout(seed=53, program=[("squat", 6), ("hip_thrust", 6)], start="quiet",
                           standing_s=5.0, warmup_jog_s=30.0, rest_activities=["walk"],
                           rest_s=(40.0, 50.0), sample_rate_hz=100.0, cooldown_walk_s=0.0,
                           reseats=0)
    given = sim.raw.meta["placement"]
    told = GaitAnalysis(placement=given).analyze(sim.raw)
    off = GaitAnalysis(placement=given, hip_offset_m=1.0).analyze(sim.raw)
    hip = 1.0 if given == "left_hip" else -1.0
    assert given in ("left_hip", "right_hip") and hip * told.lateral_offset_m_ > 0
    assert told.steps_.to_pandas().equals(off.steps_.to_pandas())  # NaN where NaN
