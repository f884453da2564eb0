"""Gait tables from hand-made steps: cadence per bout, the walking and run-start summaries, run
starts, and the run summary's sides (undecided steps count for neither side)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imu.core.schema import STARTS_CONTRACT_COLUMNS
from imu.metrics.gait import cadence_per_bout, run_summary, starts_summary, walk_summary
from imu.pipeline.run_starts import run_starts


def _steps(contacts: list[float], gait: list[str], side: list[str],
           bout: list[int] | None = None) -> pd.DataFrame:
    c = np.asarray(contacts, dtype=float)
    b = np.asarray(bout if bout is not None else [0] * c.size)
    step_s = np.append(np.diff(c), np.nan)
    step_s[np.append(b[1:] != b[:-1], True)] = np.nan
    return pd.DataFrame({"step": np.arange(1, c.size + 1), "gait": gait, "side": side,
                         "contact_s": c, "toe_off_s": c + 0.2, "gct_ms": 200.0, "vo_cm": 8.0,
                         "pelvic_drop_deg": np.nan, "step_s": step_s, "bout": b})


def test_cadence_per_bout_is_the_interquartile_mean() -> None:
    # step times 0.5 x 6, one pause-like 1.4 and one short 0.3: the IQR keeps the 0.5s
    c = np.cumsum([0, 0.5, 0.5, 1.4, 0.5, 0.5, 0.3, 0.5, 0.5])
    steps = _steps(list(c), ["walk"] * 9, ["L", "R"] * 4 + ["L"])
    out = cadence_per_bout(steps)
    assert len(out) == 1 and out["n_steps"].iloc[0] == 9
    assert out["cadence_spm"].iloc[0] == pytest.approx(120.0)
    assert out["start_s"].iloc[0] == 0.0 and out["end_s"].iloc[0] == pytest.approx(c[-1])
    two = _steps([0, 0.6], ["walk"] * 2, ["L", "R"])
    assert np.isnan(cadence_per_bout(two)["cadence_spm"].iloc[0])  # fewer than 3 steps
    assert cadence_per_bout(two.iloc[:0]).empty


def test_walk_summary_weights_bouts_by_intervals() -> None:
    a = _steps([0, 0.5, 1.0, 1.5, 2.0], ["walk"] * 5, ["L", "R", "L", "R", "L"], [0] * 5)
    b = _steps([10, 10.6, 11.2], ["walk"] * 3, ["R", "L", "R"], [1] * 3)
    r = _steps([20, 20.35, 20.7, 21.05], ["run"] * 4, ["L", "R", "L", "R"], [2] * 4)
    steps = pd.concat([a, b, r], ignore_index=True)
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
    assert list(st.columns[:5]) == list(STARTS_CONTRACT_COLUMNS)
    assert st["start"].tolist() == [1, 2]
    assert st["t_s"].tolist() == [5.0, 10.0]
    assert st["first_side"].tolist() == ["R", "L"] and st["second_side"].tolist() == ["L", "R"]
    assert st["half_step"].tolist() == [True, False]
    assert st["after"].tolist() == ["standing", "walking"]
    assert st["first_step_s"].iloc[0] == pytest.approx(0.25)
    s = starts_summary(st)
    assert s["run_start_lead_side"] == "" and s["run_start_consistency_pct"] == 50.0
    three = pd.concat([st, st.iloc[[0]]], ignore_index=True)
    s = starts_summary(three)
    assert s["run_start_lead_side"] == "R"
    assert s["run_start_consistency_pct"] == pytest.approx(200 / 3)
    assert np.isnan(starts_summary(st.iloc[:0])["run_start_consistency_pct"])
    # a pause shorter than restart_gap_s is not a new start
    assert len(run_starts(steps, restart_gap_s=5.0)) == 1


def test_run_summary_sides_exclude_undecided_steps() -> None:
    steps = _steps([0, 0.35, 0.7, 1.05, 1.4], ["run"] * 5, ["L", "R", "", "R", "L"])
    steps["gct_ms"] = [200.0, 220.0, 500.0, 220.0, 200.0]
    steps["pelvic_drop_deg"] = [4.0, 6.0, 50.0, 6.0, 4.0]
    s = run_summary(steps)
    assert s["pelvic_drop_left_deg"] == 4.0 and s["pelvic_drop_right_deg"] == 6.0
    assert s["gct_balance_left_pct"] == pytest.approx(100 * 200 / 420)
    assert s["gct_ms"] == pytest.approx(np.mean([200, 220, 500, 220, 200]))
