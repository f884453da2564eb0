"""Gait tables from hand-made steps: cadence per bout, the walking and run-start summaries, run
starts, and the run summary's sides (undecided steps count for neither side)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from imu.core.schema import STARTS, STARTS_CONTRACT_COLUMNS
from imu.metrics.gait import (
    BOUTS,
    cadence_per_bout,
    run_summary,
    starts_summary,
    walk_summary,
)
from imu.pipeline.run_starts import run_starts


def _steps(contacts: list[float], gait: list[str], side: list[str],
           bout: list[int] | None = None) -> pa.Table:
    c = np.asarray(contacts, dtype=float)
    b = np.asarray(bout if bout is not None else [0] * c.size)
    step_s = np.append(np.diff(c), np.nan)
    step_s[np.append(b[1:] != b[:-1], True)] = np.nan
    n = c.size
    return pa.table({"step": np.arange(1, n + 1), "gait": gait, "side": side, "contact_s": c,
                     "toe_off_s": c + 0.2, "gct_ms": np.full(n, 200.0),
                     "vo_cm": np.full(n, 8.0), "pelvic_drop_deg": np.full(n, np.nan),
                     "step_s": step_s, "bout": b.astype(np.int64)})


def test_cadence_per_bout_is_the_interquartile_mean() -> None:
    # step times 0.5 x 6, one pause-like 1.4 and one short 0.3: the IQR keeps the 0.5s
    c = np.cumsum([0, 0.5, 0.5, 1.4, 0.5, 0.5, 0.3, 0.5, 0.5])
    steps = _steps(list(c), ["walk"] * 9, ["L", "R"] * 4 + ["L"])
    out = cadence_per_bout(steps)
    assert out.schema == BOUTS
    assert len(out) == 1 and out["n_steps"].to_pylist() == [9]
    assert out["gait"].to_pylist() == ["walk"] and out["bout"].to_pylist() == [0]
    assert out["cadence_spm"][0].as_py() == pytest.approx(120.0)
    assert out["start_s"][0].as_py() == 0.0 and out["end_s"][0].as_py() == pytest.approx(c[-1])
    two = _steps([0, 0.6], ["walk"] * 2, ["L", "R"])
    assert np.isnan(cadence_per_bout(two)["cadence_spm"][0].as_py())  # fewer than 3 steps
    empty = cadence_per_bout(two.slice(0, 0))
    assert empty.num_rows == 0 and empty.schema == BOUTS


def test_walk_summary_weights_bouts_by_intervals() -> None:
    a = _steps([0, 0.5, 1.0, 1.5, 2.0], ["walk"] * 5, ["L", "R", "L", "R", "L"], [0] * 5)
    b = _steps([10, 10.6, 11.2], ["walk"] * 3, ["R", "L", "R"], [1] * 3)
    r = _steps([20, 20.35, 20.7, 21.05], ["run"] * 4, ["L", "R", "L", "R"], [2] * 4)
    steps = pa.concat_tables([a, b, r])
    s = walk_summary(steps, cadence_per_bout(steps))
    assert s["walk_steps"] == 8
    assert s["walk_cadence_spm"] == pytest.approx((4 * 120.0 + 2 * 100.0) / 6)


def test_run_starts_after_standing_and_walking() -> None:
    run1 = [5.0, 5.25, 5.6, 5.95, 6.3, 6.65, 7.0]  # short first step: a half-step
    walk = [8.0, 8.55, 9.1, 9.65]
    run2 = [10.0, 10.35, 10.7, 11.05, 11.4, 11.75]
    steps = _steps(run1 + walk + run2, ["run"] * 7 + ["walk"] * 4 + ["run"] * 6,
                   ["R", "L", "R", "L", "R", "L", "R", "L", "R", "L", "R", "L", "R", "L", "R",
                    "L", "R"], [0] * 7 + [1] * 4 + [2] * 6)
    st = run_starts(steps, restart_gap_s=2.0, half_step_ratio=0.8)
    assert st.column_names[:5] == list(STARTS_CONTRACT_COLUMNS) and st.schema == STARTS
    assert st["start"].to_pylist() == [1, 2]
    assert st["t_s"].to_pylist() == [5.0, 10.0]
    assert st["first_side"].to_pylist() == ["R", "L"]
    assert st["second_side"].to_pylist() == ["L", "R"]
    assert st["half_step"].to_pylist() == [True, False]
    assert st["after"].to_pylist() == ["standing", "walking"]
    assert st["first_step_s"][0].as_py() == pytest.approx(0.25)
    s = starts_summary(st)
    assert s["run_start_lead_side"] == "" and s["run_start_consistency_pct"] == 50.0
    three = pa.concat_tables([st, st.slice(0, 1)])
    s = starts_summary(three)
    assert s["run_start_lead_side"] == "R"
    assert s["run_start_consistency_pct"] == pytest.approx(200 / 3)
    assert np.isnan(starts_summary(st.slice(0, 0))["run_start_consistency_pct"])
    # a pause shorter than restart_gap_s is not a new start
    assert len(run_starts(steps, restart_gap_s=5.0)) == 1
    # no running: no starts, the table's columns and types without rows
    walk = _steps([0, 0.5, 1.0], ["walk"] * 3, ["L", "R", "L"])
    assert run_starts(walk).num_rows == 0 and run_starts(walk).schema == STARTS


def test_run_summary_sides_exclude_undecided_steps() -> None:
    steps = _steps([0, 0.35, 0.7, 1.05, 1.4], ["run"] * 5, ["L", "R", "", "R", "L"])
    steps = steps.set_column(steps.column_names.index("gct_ms"), "gct_ms",
                             pa.array([200.0, 220.0, 500.0, 220.0, 200.0]))
    steps = steps.set_column(steps.column_names.index("pelvic_drop_deg"), "pelvic_drop_deg",
                             pa.array([4.0, 6.0, 50.0, 6.0, 4.0]))
    s = run_summary(steps)
    np.testing.assert_equal(run_summary(steps.to_pandas()), s)  # the simulator's DataFrames
    assert s["pelvic_drop_left_deg"] == 4.0 and s["pelvic_drop_right_deg"] == 6.0
    assert s["gct_balance_left_pct"] == pytest.approx(100 * 200 / 420)
    assert s["gct_ms"] == pytest.approx(np.mean([200, 220, 500, 220, 200]))


def test_cadence_per_bout_keeps_the_bits_of_pandas_group_statistics() -> None:
    """The interquartile mean per bout, bit for bit as the pandas groupby it replaced (quantile
    transform, then the group mean of the steps inside), on uneven step times of many bouts."""
    rng = np.random.default_rng(5)  # a case where numpy's mean and quantile differ in bits
    bout = np.cumsum(np.r_[True, rng.random(399) < 0.02]) - 1
    c = 10.0 + np.cumsum(rng.uniform(0.3, 0.6, 400))
    steps = _steps(list(c), ["run"] * 400, ["L", "R"] * 200, list(bout))
    df = steps.to_pandas()
    st, g = df["step_s"], df.groupby("bout")["step_s"]
    inside = (st >= g.transform("quantile", 0.25)) & (st <= g.transform("quantile", 0.75))
    mid = st[inside].groupby(df["bout"]).mean()
    want = 60.0 / df.groupby("bout").size().index.map(mid).to_numpy(dtype=float)
    want[df.groupby("bout").size().to_numpy() < 3] = np.nan
    got = cadence_per_bout(steps)["cadence_spm"].to_numpy()
    assert got.tobytes() == want.tobytes()
