"""Small exact tests of every metric definition in ``imu.metrics`` (signs, units, NaN handling,
empty inputs), including the two per-minute tables on a hand-made steps table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES, REGISTRY
from imu.core.schema import MINUTES, TIMESERIES
from imu.metrics.gait import (
    minutes_by_clock,
    minutes_by_running_time,
    pelvic_drop_deg,
    run_summary,
    stride_range,
)
from imu.metrics.sessions import rep_stats
from imu.metrics.strength import (
    add_form_break,
    expected_lockout_deg,
    form_breaks,
    posterior_tilt_pct,
    tilt_class,
    tilt_deg,
)
from imu.metrics.timeseries import (
    empty_timeseries,
    timeseries_interpolated,
    timeseries_nearest,
)

# ---- strength --------------------------------------------------------------------------------


def test_expected_lockout_from_the_registry() -> None:
    rise = np.array([0.0, 0.25, 0.5, 0.7, np.nan])  # trunk 0.5 m: beta 0, 30, 90, clipped, NaN
    bridge = expected_lockout_deg("glute_bridge", rise, 0.5)
    np.testing.assert_allclose(bridge[:4], [90.0, 120.0, 180.0, 180.0])
    assert np.isnan(bridge[4])
    np.testing.assert_array_equal(expected_lockout_deg("single_leg_bridge", rise[:2], 0.5)[0], 90)
    # no body line: the registry's lockout whatever the rise (also NaN), shape kept
    assert expected_lockout_deg("hip_thrust", rise, 0.5).tolist() == [90.0] * 5
    assert expected_lockout_deg("quadruped_hip_extension", rise, 0.5).tolist() == [-90.0] * 5
    for name in ("squat", "hip_hinge", "deadlift", "glute_ham_raise"):
        assert expected_lockout_deg(name, rise, 0.5).tolist() == [0.0] * 5
    assert expected_lockout_deg("squat", 0.1, 0.5).shape == ()
    for name in EXERCISES:  # every exercise has an expected lockout
        e = REGISTRY[name]
        assert float(expected_lockout_deg(name, 0.0, 0.5)) == e.lockout_deg


def test_tilt_sign_and_class() -> None:
    # bridge, rise 0.25 m on a 0.5 m trunk: expected 120 deg; 123 is 3 deg posterior
    assert tilt_deg([123.0, 117.0], "glute_bridge", [0.25, 0.25], 0.5).tolist() == [3.0, -3.0]
    assert tilt_deg(-95.0, "quadruped_hip_extension", 0.0, 0.5) == -5.0
    cls = tilt_class([3.0, 2.999, 0.0, -2.999, -3.0, np.nan, np.inf])
    assert cls.tolist() == ["posterior", "neutral", "neutral", "neutral", "anterior", "", ""]


def _reps(exercise: list[str], tilt_class_: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"exercise": exercise, "tilt_class": tilt_class_})


def test_posterior_tilt_share_two_honest_definitions() -> None:
    reps = _reps(
        ["glute_bridge", "hip_thrust", "single_leg_bridge", "glute_bridge", "squat"],
        ["posterior", "neutral", "", "posterior", "posterior"],
    )
    # summary definition: every bridge rep counts (also the one without a class): 2 of 4
    assert posterior_tilt_pct(reps) == 50.0
    assert posterior_tilt_pct(pa.Table.from_pandas(reps)) == 50.0
    # sessions definition (what trends read): bridge reps WITH a class: 2 of 3
    stats = rep_stats(reps.assign(start_s=0.0, end_s=1.0))
    assert (stats["posterior_reps"], stats["bridge_reps"]) == (2.0, 3.0)
    assert np.isnan(posterior_tilt_pct(_reps(["squat"], ["posterior"])))
    assert np.isnan(posterior_tilt_pct(_reps([], [])))
    assert np.isnan(posterior_tilt_pct(pa.table({"exercise": pa.array([], pa.string()),
                                                 "tilt_class": pa.array([], pa.string())})))


def _set(tilts: list[float], durations: list[float], set_no: int = 1) -> pa.Table:
    start = 10.0 * set_no + np.cumsum(np.r_[0.0, np.asarray(durations, dtype=float) + 1.0])
    start = start[: len(durations)]
    return pa.table(
        {
            "set": np.full(len(tilts), set_no, dtype=np.int64),
            "rep": np.arange(1, len(tilts) + 1, dtype=np.int64),
            "start_s": start,
            "end_s": start + np.asarray(durations, dtype=float),
            "tilt_deg": np.asarray(tilts, dtype=float),
        }
    )


def test_form_break_rule() -> None:
    reps = _set([4.0, 5.0, 6.0, 1.9, 2.0, np.nan, 5.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.7])
    fb = form_breaks(reps)
    # baseline tilt 5, duration 2: 1.9 is 3.1 below (break), 2.0 is 3.0 below (not: "more
    # than"), NaN never flags, +35 % tempo flags
    assert fb["form_break"].tolist() == [False, False, False, True, False, False, True]
    np.testing.assert_allclose(fb["tilt_change_deg"][3:5], [-3.1, -3.0])
    assert fb["form_reason"][3] == "tilt 3 deg below the set's first reps"
    assert fb["form_reason"][6] == "35% slower than the set's first reps"
    assert all(len(v) == reps.num_rows for v in fb.values())
    # a DataFrame (the simulated month's) gets the same, row by row
    fb_df = form_breaks(reps.to_pandas())
    assert all(np.array_equal(fb_df[k], fb[k]) for k in ("form_break", "form_reason"))
    # a set no longer than the baseline never flags; empty tables give empty columns
    assert not form_breaks(_set([5.0, -2.0, -2.0], [2.0, 9.0, 9.0]))["form_break"].any()
    # ... but an anterior lockout is a break wherever it is (the form never says "ok" to it)
    assert form_breaks(_set([5.0, -20.0, -20.0], [2.0, 9.0, 9.0]))["form_break"].tolist() == [
        False, True, True,
    ]
    empty = form_breaks(_set([], []))
    assert all(len(v) == 0 for v in empty.values()) and empty["form_break"].dtype == bool
    with pytest.raises(InputError, match="baseline_reps"):
        form_breaks(reps, baseline_reps=0)
    with pytest.raises(InputError, match="tilt_deg"):
        form_breaks(reps.drop_columns(["tilt_deg"]))
    out = add_form_break(reps, tilt_drop_deg=3.05)
    assert out["form_break"].to_pylist() == fb["form_break"].tolist()
    assert "form_break" not in reps.column_names
    out_df = add_form_break(reps.to_pandas(), tilt_drop_deg=3.05)
    assert out_df["form_break"].tolist() == fb["form_break"].tolist()
    assert out_df["form_reason"].tolist() == out["form_reason"].to_pylist()


# ---- gait ------------------------------------------------------------------------------------


def test_pelvic_drop_sign() -> None:
    # obliquity > 0 lifts the LEFT side: in a left stance the right (swing) side is lower
    assert pelvic_drop_deg([4.0, 4.0, -2.0, np.nan], ["L", "R", "R", "L"]).tolist()[:3] == [
        4.0,
        -4.0,
        2.0,
    ]
    assert np.isnan(pelvic_drop_deg([np.nan], ["L"])[0])


def test_stride_range() -> None:
    t = np.arange(0.0, 3.01, 0.5)  # 0 .. 3 s
    x = np.array([0.0, 2.0, 1.0, 5.0, 4.0, 4.0, 10.0])
    assert stride_range(t, x, np.array([0.0, 1.0, 2.0, 3.0])).tolist() == [2.0, 4.0, 6.0]
    # detrended: the straight line through the values at the bounds is removed
    assert stride_range(t, 2.0 * t, np.array([0.0, 1.5, 3.0]), detrend=True).tolist() == [0, 0]
    # an interval without samples between its bounds gives NaN; < 2 bounds gives nothing
    r = stride_range(t, x, np.array([0.1, 0.2]))
    assert r.shape == (1,) and np.isnan(r[0])
    assert stride_range(t, x, np.array([1.0])).size == 0


def _steps(contacts: np.ndarray, drop_nan_at: int | None = None) -> pd.DataFrame:
    n = contacts.size
    side = np.where(np.arange(n) % 2 == 0, "L", "R")
    drop = np.where(side == "L", 4.0, 6.0)
    if drop_nan_at is not None:
        drop[drop_nan_at] = np.nan
    step_s = np.append(np.diff(contacts), np.nan)
    step_s[step_s > 0.6] = np.nan  # the step before a pause, as the analysis marks it
    return pd.DataFrame(
        {
            "step": np.arange(1, n + 1),
            "side": side,
            "contact_s": contacts,
            "toe_off_s": contacts + np.where(side == "L", 0.2, 0.22),
            "gct_ms": np.where(side == "L", 200.0, 220.0),
            "vo_cm": 8.0,
            "pelvic_drop_deg": drop,
            "step_s": step_s,
        }
    )


def test_run_summary_on_a_hand_made_table() -> None:
    steps = _steps(30.0 + 0.5 * np.arange(180), drop_nan_at=3)  # 90 s at 120 spm
    s = run_summary(steps)
    assert s["cadence_spm"] == pytest.approx(120.0)
    assert s["gct_ms"] == pytest.approx(210.0)
    assert s["gct_balance_left_pct"] == pytest.approx(100 * 200 / 420)
    assert s["vo_cm"] == 8.0
    assert (s["pelvic_drop_left_deg"], s["pelvic_drop_right_deg"]) == (4.0, 6.0)  # NaN skipped
    assert run_summary(_steps(30.0 + 0.5 * np.arange(180)))["drop_drift_deg"] == 0.0
    # drift: last tenth of the running time minus the first (pauses left out)
    later = _steps(30.0 + 0.5 * np.arange(180))
    later.loc[later["contact_s"] >= 100.0, "pelvic_drop_deg"] += 2.0
    assert run_summary(later)["drop_drift_deg"] == 2.0
    assert np.isnan(s["pelvic_rotation_deg"])  # no angles given
    empty = run_summary(steps.iloc[:0])
    assert set(empty) == set(s) and all(np.isnan(v) for v in empty.values())


def test_the_two_minute_tables() -> None:
    # 90 s of steps at 120 spm starting 30 s into the recording
    steps = _steps(30.0 + 0.5 * np.arange(180))
    run_time = minutes_by_running_time(pa.Table.from_pandas(steps, preserve_index=False))
    assert run_time.schema == MINUTES  # an Arrow table (the analysis), MINUTES' types
    assert minutes_by_running_time(steps).equals(run_time)  # a DataFrame gives the same
    assert run_time["minute"].to_pylist() == [1, 2]  # from the first contact
    assert run_time["start_s"].to_pylist() == [30.0, 90.0]
    assert run_time["n_steps"].to_pylist() == [120, 60]
    np.testing.assert_allclose(run_time["cadence_spm"].to_numpy(), [120.0, 120.0])
    np.testing.assert_allclose(run_time["gct_balance_left_pct"].to_numpy(), 100 * 200 / 420)
    assert run_time["pelvic_drop_right_deg"].to_pylist() == [6.0, 6.0]
    clock = minutes_by_clock(steps)
    assert clock["minute"].tolist() == [0, 1]  # clock minutes of the recording
    assert clock["steps"].tolist() == [60, 120]
    np.testing.assert_allclose(clock["cadence_spm"], [120.0, 120.0])
    assert clock["pelvic_drop_left_deg"].tolist() == [4.0, 4.0]
    # a 10 s pause inside a minute: the running-time cadence leaves it out, the clock one not
    c = np.r_[0.5 * np.arange(40), 30.0 + 0.5 * np.arange(40)]  # 20 s, pause, 20 s
    paused = _steps(c)
    assert minutes_by_running_time(paused)["cadence_spm"][0].as_py() == pytest.approx(120.0)
    assert minutes_by_clock(paused)["cadence_spm"].iloc[0] == pytest.approx(79 / 49.5 * 60)
    # empty inputs
    empty = minutes_by_running_time(steps.iloc[:0])
    assert empty.num_rows == 0 and empty.column_names == list(MINUTES.names)
    assert minutes_by_clock(steps.iloc[:0]).empty


# ---- time series -----------------------------------------------------------------------------


def test_the_two_timeseries() -> None:
    fs = 100.0
    t = 5.0 + np.arange(102) / fs  # 5.00 .. 6.01 s
    angles = np.stack([t, 2 * t, 3 * t], axis=1)  # rotation, obliquity, sagittal
    height = 0.01 * t
    a = timeseries_interpolated(t, angles, height).to_pandas()
    assert list(a.columns) == list(TIMESERIES.names)
    assert len(a) == 26 and a["t_s"].iloc[-1] == pytest.approx(6.0)
    np.testing.assert_allclose(np.diff(a["t_s"]), 0.04)
    np.testing.assert_allclose(a["sagittal_deg"], 3 * a["t_s"])
    np.testing.assert_allclose(a["rotation_deg"], a["t_s"])
    np.testing.assert_allclose(a["height_cm"], a["t_s"])  # m -> cm
    b = timeseries_nearest(t, angles, height, fs).to_pandas()
    assert list(b.columns) == list(TIMESERIES.names)
    assert np.isin(b["t_s"], t).all()  # input sample times, not interpolated
    np.testing.assert_allclose(b["t_s"], a["t_s"])
    np.testing.assert_allclose(b["obliquity_deg"], 2 * b["t_s"])
    assert empty_timeseries().schema.equals(TIMESERIES)
