"""The real-data evaluation (benchmarks/evaluate_real.py, benchmarks/realdata.py).

The scoring rules of shared/realdata/README.md ("Scoring against these files") on hand-made
truth and estimate tables, each with cases that an off-by-one, a wrong window or a greedy
per-truth match would get wrong; then the loader on one real session of each dataset. The
recordings live beside the repository (../shared/realdata, or $IMU_REALDATA); CI has them, so
their absence is a failure, not a skip.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import evaluate_real as ev  # noqa: E402
from realdata import DATASETS, DEV, HELDOUT, RealData, RealDataMissing, Truth  # noqa: E402


def steps_df(contacts, side=None, gct=None) -> pd.DataFrame:
    n = len(contacts)
    return pd.DataFrame({
        "step": np.arange(1, n + 1),
        "side": side if side is not None else [""] * n,
        "contact_s": np.asarray(contacts, float),
        "toe_off_s": np.full(n, np.nan),
        "gct_ms": np.asarray(gct, float) if gct is not None else np.full(n, np.nan),
    })


# ------------------------------------------------------------------------------------------------
# one-to-one matching, closest pairs first
# ------------------------------------------------------------------------------------------------


def test_match_is_closest_pairs_first_not_first_come():
    # The estimate at 1.10 is 0.10 from true 1.00 but 0.02 from true 1.12: the closer pair wins,
    # so true 1.00 is left unmatched (a per-truth scan in time order would pair 1.00 instead).
    assert ev.match_closest([1.00, 1.12], [1.10], 0.15) == [(1, 0)]


def test_match_is_one_to_one():
    assert ev.match_closest([5.0], [4.95, 5.01, 5.08], 0.1) == [(0, 1)]
    assert ev.match_closest([5.0, 5.03], [5.02], 0.1) == [(1, 0)]  # 0.01 beats 0.02


def test_match_tolerance_is_inclusive_and_tight():
    # 10.15 - 10.00 is 0.15000000000000036 in floating point: still "within 0.15 s".
    assert ev.match_closest([10.0], [10.15], 0.15) == [(0, 0)]
    assert ev.match_closest([10.0], [9.85], 0.15) == [(0, 0)]
    assert ev.match_closest([10.0], [10.16], 0.15) == []
    assert ev.match_closest([1.5], [1.56], 0.060) == [(0, 0)]
    assert ev.match_closest([1.5], [1.561], 0.060) == []


def test_match_empty():
    assert ev.match_closest([], [1.0], 0.1) == []
    assert ev.match_closest([1.0], [], 0.1) == []


def test_windows_are_inclusive_at_both_edges():
    m = ev.in_windows([0.99, 1.0, 3.0, 5.0, 5.01, 6.0, 7.0], [(1.0, 5.0), (6.0, 7.0)])
    assert m.tolist() == [False, True, True, True, False, True, True]


def test_outside_distance():
    assert ev.outside_s(1.0, (0.9, 1.2)) == 0.0
    assert ev.outside_s(0.9, (0.9, 1.2)) == 0.0
    assert ev.outside_s(1.2, (0.9, 1.2)) == 0.0
    assert ev.outside_s(0.7, (0.9, 1.2)) == pytest.approx(0.2)
    assert ev.outside_s(1.5, (0.9, 1.2)) == pytest.approx(0.3)


# ------------------------------------------------------------------------------------------------
# squat: midpoint rule, best-overlap set, outside-window distances
# ------------------------------------------------------------------------------------------------


def squat_truth() -> Truth:
    # Three reps cut at 1.0 | 4.0 | 7.0 | 10.0; windows cut +-0.15 s, rep 2's start window widened
    # over a pause to 4.5 (a start may come later than its cut), rep 3's end window widened
    # earlier to 9.6 (an end may come earlier).
    reps = [
        {"set": 1, "rep": 1, "start_s": 1.0, "end_s": 4.0,
         "start_window_s": [0.85, 1.15], "end_window_s": [3.85, 4.15]},
        {"set": 1, "rep": 2, "start_s": 4.0, "end_s": 7.0,
         "start_window_s": [3.85, 4.5], "end_window_s": [6.85, 7.15]},
        {"set": 1, "rep": 3, "start_s": 7.0, "end_s": 10.0,
         "start_window_s": [6.85, 7.15], "end_window_s": [9.6, 10.15]},
    ]
    data = {"name": "sq", "suite": "strength", "subject": 1, "reps": reps,
            "sets": [{"set": 1, "exercise": "squat", "start_s": 1.0, "end_s": 10.0, "reps": 3}]}
    return Truth(name="sq", suite="strength", data=data)


def reps_df(pairs) -> pd.DataFrame:
    return pd.DataFrame({"set": 1, "rep": np.arange(1, len(pairs) + 1),
                         "start_s": [a for a, _ in pairs], "end_s": [b for _, b in pairs]})


def test_truth_reps_table():
    tr = squat_truth().reps
    assert tr["mid_s"].tolist() == [2.5, 5.5, 8.5]
    assert tr["start_window_hi_s"].tolist() == [1.15, 4.5, 7.15]
    assert tr["end_window_lo_s"].tolist() == [3.85, 6.85, 9.6]


def test_rep_midpoint_rule_uses_start_window_lo_and_end_window_hi():
    tr = squat_truth().reps
    # midpoint exactly at rep 1's start_window_s[0] = 0.85: inside (inclusive)
    assert ev.match_reps(reps_df([(0.5, 1.2)]), tr) == [(0, 0)]
    # midpoint exactly at rep 3's end_window_s[1] = 10.15: inside
    assert ev.match_reps(reps_df([(10.0, 10.3)]), tr) == [(0, 2)]
    # midpoint 0.84 / 10.16: outside every rep's range, no match
    assert ev.match_reps(reps_df([(0.5, 1.18)]), tr) == []
    assert ev.match_reps(reps_df([(10.0, 10.32)]), tr) == []


def test_rep_nearest_to_true_middle_wins_and_is_one_to_one():
    tr = squat_truth().reps
    # Midpoint 4.1 lies in rep 1's range [0.85, 4.15] and in rep 2's [3.85, 7.15]; it is nearer
    # rep 2's middle (1.4 s from 5.5 against 1.6 s from 2.5).
    assert ev.match_reps(reps_df([(3.9, 4.3)]), tr) == [(0, 1)]
    # Two reported reps inside rep 2: the one whose midpoint is nearer 5.5 takes it; the other
    # may still take rep 1 if its midpoint is in rep 1's range.
    est = reps_df([(4.0, 6.9), (3.0, 5.0)])  # midpoints 5.45 and 4.0
    assert ev.match_reps(est, tr) == [(0, 1), (1, 0)]
    est = reps_df([(4.0, 6.9), (4.5, 6.0)])  # midpoints 5.45 and 5.25, both only in rep 2
    assert ev.match_reps(est, tr) == [(0, 1)]


def test_score_squat_outside_windows_use_each_boundarys_own_window():
    truth = squat_truth()
    sets = pd.DataFrame({"set": [1], "exercise": ["squat"], "start_s": [0.8], "end_s": [10.1],
                         "reps": [3]})
    # rep 1: start 0.8 is 0.05 before [0.85, 1.15]; end 4.3 is 0.15 after its end window
    #        [3.85, 4.15] although inside rep 2's START window [3.85, 4.5]: still outside
    # rep 2: start 4.4 inside the widened start window [3.85, 4.5] although 0.4 after the cut;
    #        end 6.7 is 0.15 before [6.85, 7.15]
    # rep 3: end 9.7 inside the widened end window [9.6, 10.15]; start 7.4 is 0.25 late
    est = reps_df([(0.8, 4.3), (4.4, 6.7), (7.4, 9.7)])
    sc = ev.score_squat(truth, sets, est)
    assert sc["matched"] == 3 and sc["reps_best_set"] == 3 and sc["n_sets"] == 1
    assert sc["start_out_s"] == pytest.approx([0.05, 0.0, 0.25])
    assert sc["end_out_s"] == pytest.approx([0.15, 0.15, 0.0])
    assert sc["start_cut_s"] == pytest.approx([-0.2, 0.4, 0.4])
    assert sc["end_cut_s"] == pytest.approx([0.3, -0.3, -0.3])


def test_best_set_is_the_one_overlapping_the_truth_most():
    sets = pd.DataFrame({"set": [1, 2, 3], "exercise": ["squat", "deadlift", "squat"],
                         "start_s": [0.0, 2.0, 9.0], "end_s": [3.0, 9.5, 20.0],
                         "reps": [12, 2, 30]})
    # truth 1.0-10.0: overlaps 2.0, 7.5 and 1.0 s -> set 2, whatever its rep count
    assert ev.best_set_reps(sets, 1.0, 10.0) == (2, "deadlift")
    # no overlap at all (touching is not overlapping) -> nothing found
    assert ev.best_set_reps(sets.iloc[[0]], 3.0, 10.0) == (0, None)
    assert ev.best_set_reps(sets.iloc[:0], 1.0, 10.0) == (0, None)


def test_refused_squat_session_counts_as_nothing_found():
    truth = squat_truth()
    sc = ev.score_squat(truth, ev.EMPTY["sets"], ev.EMPTY["reps"])
    sc.update({"rc": 2})
    agg = ev.aggregate_squat([sc])
    assert agg["one_set_pct"] == 0 and agg["reps_exact_pct"] == 0
    assert agg["rep_recall_pct"] == 0 and math.isnan(agg["rep_precision_pct"])
    assert math.isnan(agg["start_out_median_s"])


def test_squat_aggregate_pools_counts_and_shares():
    truth = squat_truth()
    sets = pd.DataFrame({"set": [1], "exercise": ["squat"], "start_s": [0.8], "end_s": [10.1],
                         "reps": [3]})
    good = ev.score_squat(truth, sets, reps_df([(1.0, 4.0), (4.0, 7.0), (7.0, 10.0)]))
    two = pd.DataFrame({"set": [1, 2], "exercise": ["squat"] * 2, "start_s": [0.8, 4.0],
                        "end_s": [4.0, 10.1], "reps": [1, 3]})
    # 2 sets, best overlap set 2 (6.0 s) has 3 reps -> exact, but not "one set"; one extra rep
    bad = ev.score_squat(truth, two, reps_df([(1.0, 4.0), (4.0, 7.0), (7.0, 10.0), (12, 13)]))
    for sc in (good, bad):
        sc["rc"] = 0
    agg = ev.aggregate_squat([good, bad])
    assert agg["one_set_pct"] == 50 and agg["reps_exact_pct"] == 100
    assert agg["rep_recall_pct"] == 100
    assert agg["rep_precision_pct"] == pytest.approx(100 * 6 / 7)


# ------------------------------------------------------------------------------------------------
# walk: windowed recall / precision, all truths matchable, tolerances, cadence, stance, side
# ------------------------------------------------------------------------------------------------


def walk_truth() -> Truth:
    steps = [
        # straight part 1: window [1.0, 5.0]
        (1.5, "R", 700.0, "straight"), (2.0, "L", 650.0, "straight"),
        (2.5, "R", None, "straight"), (3.0, "L", 640.0, "straight"),
        (4.98, "R", 600.0, "straight"),
        (5.3, "L", None, "uturn"),  # U-turn [5.0, 7.0]: incomplete, not scored but matchable
        (7.5, "R", 620.0, "straight"), (8.0, "L", 630.0, "straight"),
        (10.0, "R", None, "straight"),  # last heel strike = window end: inside
        (11.0, "L", None, "outside_trial"),
    ]
    data = {
        "name": "w", "suite": "walk", "subject": 5,
        "steps": [{"step": k + 1, "contact_s": c, "side": s, "gct_ms": g, "phase": p,
                   "toe_off_s": None if g is None else c + g / 1000}
                  for k, (c, s, g, p) in enumerate(steps)],
        "walk_windows_s": [[1.0, 5.0], [7.0, 10.0]], "uturn_windows_s": [[5.0, 7.0]],
        "summary": {"cadence_spm": 100.0},
    }
    return Truth(name="w", suite="walk", data=data)


def test_walk_recall_precision_windowing_and_tolerances():
    truth = walk_truth()
    est = steps_df(
        [1.52,   # true 1.5, +0.02
         2.12,   # true 2.0, +0.12: matched at 0.15 and 0.25 only
         2.75,   # true 2.5 at exactly 0.25 (3.0 is 0.25 away too, the tie goes to 2.5)
         3.0,    # true 3.0
         5.02,   # outside the windows (U-turn): matched to 4.98 or 5.3 but never counted
         7.0,    # inside window 2 (edge), 0.5 from any truth: a false positive
         8.02,   # true 8.0
         10.1,   # true 10.0 (inside at the window end) matched, estimate 10.1 outside window
         11.02], # after the trial: matched to the outside_trial step, not counted
    )
    sc = ev.score_walk(truth, est, {"walk_cadence_spm": 101.0})
    # true contacts in the windows: 1.5 2.0 2.5 3.0 4.98 7.5 8.0 10.0 = 8
    assert sc["n_true_in"] == 8
    # reported in the windows: 1.52 2.12 2.75 3.0 7.0 8.02 = 6
    assert sc["n_est_in"] == 6 and sc["n_est"] == 9
    # @0.10: 1.5, 3.0, 8.0, 10.0 (via 10.1), 4.98 (via 5.02: 0.04 beats 5.3's 0.28) -> 5 true;
    #        est in windows matched: 1.52, 3.0, 8.02 -> 3
    assert sc["tol"]["0.10"] == {"tp_true": 5, "tp_est": 3}
    # @0.15: + 2.0 via 2.12 -> 6 / 4
    assert sc["tol"]["0.15"] == {"tp_true": 6, "tp_est": 4}
    # @0.25: + 2.5 via 2.75 (exactly 0.25) -> 7 / 5; 7.0 is still 0.5 from 7.5
    assert sc["tol"]["0.25"] == {"tp_true": 7, "tp_est": 5}
    assert sc["cadence_err_pct"] == pytest.approx(1.0)
    agg = ev.aggregate_walk([{**sc, "rc": 0}])
    assert agg["recall_0.15_pct"] == pytest.approx(75.0)
    assert agg["precision_0.15_pct"] == pytest.approx(100 * 4 / 6)


def test_walk_a_contact_near_the_uturn_may_match_a_uturn_heel_strike():
    # A reported contact inside the window (1.98) whose heel strike is the U-turn's first (2.1,
    # outside the window) is a true positive: matching runs over ALL true heel strikes.
    steps = [(1.0, "straight"), (1.5, "straight"), (2.1, "uturn")]
    data = {"name": "w", "suite": "walk",
            "steps": [{"step": k + 1, "contact_s": c, "side": "L", "phase": p}
                      for k, (c, p) in enumerate(steps)],
            "walk_windows_s": [[0.9, 2.0]], "summary": {"cadence_spm": 100.0}}
    sc = ev.score_walk(Truth(name="w", suite="walk", data=data), steps_df([1.0, 1.5, 1.98]), None)
    assert (sc["n_true_in"], sc["n_est_in"]) == (2, 3)
    assert sc["tol"]["0.15"] == {"tp_true": 2, "tp_est": 3}
    assert sc["tol"]["0.10"] == {"tp_true": 2, "tp_est": 2}


def test_walk_signed_error_stance_and_side_from_matches_at_015():
    truth = walk_truth()
    est = steps_df([1.55, 2.05, 2.55, 7.6], side=["R", "R", "", "R"],
                   gct=[680.0, 600.0, 500.0, np.nan])
    sc = ev.score_walk(truth, est, None)
    assert sc["signed_err_s"] == pytest.approx([0.05, 0.05, 0.05, 0.1])
    # stance: only matched steps whose truth has gct_ms and whose estimate has one
    # (2.5 has none in truth; 7.6 reports none)
    assert sc["gct_err_ms"] == pytest.approx([-20.0, -50.0])
    # side: 1.5 R right, 2.0 L wrong, 2.5 not given, 7.5 R right -> 2 right of 3 given, 4 matched
    assert (sc["side_correct"], sc["side_given"], sc["matched_main"]) == (2, 3, 4)
    agg = ev.aggregate_walk([{**sc, "rc": 0}])
    assert agg["stance_mae_ms"] == pytest.approx(35.0)
    assert agg["side_accuracy_pct"] == pytest.approx(50.0)
    assert agg["signed_err_median_s"] == pytest.approx(0.05)
    # no cadence reported at all -> 100 % error
    assert sc["cadence_err_pct"] == 100.0


def test_walk_cadence_falls_back_to_cadence_spm_only_when_walk_cadence_is_absent():
    assert ev.walk_cadence_spm({"walk_cadence_spm": 98.0, "cadence_spm": 170.0}) == 98.0
    assert ev.walk_cadence_spm({"walk_cadence_spm": float("nan"), "cadence_spm": 99.0}) == 99.0
    assert ev.walk_cadence_spm({"cadence_spm": 99.0}) == 99.0
    assert math.isnan(ev.walk_cadence_spm({}))
    assert math.isnan(ev.walk_cadence_spm(None))
    assert ev.cadence_error_pct(96.0, 100.0) == pytest.approx(4.0)
    assert ev.cadence_error_pct(104.0, 100.0) == pytest.approx(4.0)
    assert ev.cadence_error_pct(float("nan"), 100.0) == 100.0
    assert ev.cadence_error_pct(0.0, 100.0) == 100.0


# ------------------------------------------------------------------------------------------------
# run: 60 ms, precision over [first true - tol, last true + tol]
# ------------------------------------------------------------------------------------------------


def run_truth() -> Truth:
    contacts = [1.0, 1.3, 1.6, 1.9, 2.2]
    data = {"name": "r", "suite": "run",
            "steps": [{"step": k + 1, "contact_s": c, "toe_off_s": c + 0.25, "gct_ms": 250.0,
                       "side": None} for k, c in enumerate(contacts)],
            "summary": {"cadence_spm": 200.0, "gct_ms": 250.0}}
    return Truth(name="r", suite="run", data=data)


def test_run_precision_window_and_tolerance():
    truth = run_truth()
    est = steps_df(
        [0.5,    # before first true - 60 ms: ignored for precision
         0.93,   # 0.07 before 1.0: outside [0.94, 2.26], ignored, and too far to match
         1.06,   # true 1.0 at exactly 60 ms
         1.361,  # true 1.3 at 61 ms: not matched, counted as a false positive (in range)
         1.6,    # true 1.6
         1.9, 1.95,  # true 1.9 once; 1.95 a false positive
         2.26,   # last true + 60 ms exactly: in range, matched to 2.2
         2.4],   # after the range: ignored
        gct=[0, 0, 270.0, 0, 240.0, 250.0, 0, 200.0, 0],
    )
    sc = ev.score_run(truth, est, {"cadence_spm": 201.0})
    assert sc["n_true"] == 5 and sc["tp_true"] == 4
    assert sc["n_est_in"] == 6 and sc["tp_est"] == 4
    assert sorted(sc["gct_err_ms"]) == pytest.approx([-50.0, -10.0, 0.0, 20.0])
    assert sc["cadence_err_pct"] == pytest.approx(0.5)
    agg = ev.aggregate_run([{**sc, "rc": 0, "clean_refusal": False}])
    assert agg["recall_pct"] == pytest.approx(80.0)
    assert agg["precision_pct"] == pytest.approx(100 * 4 / 6)
    assert agg["gct_mae_ms"] == pytest.approx(20.0)


def test_run_refused_and_clean_refusal_shares():
    truth = run_truth()
    sc = ev.score_run(truth, ev.EMPTY["steps"], None)
    rows = [{**sc, "rc": 2, "clean_refusal": True}, {**sc, "rc": 2, "clean_refusal": False},
            {**ev.score_run(truth, steps_df([1.0]), None), "rc": 0, "clean_refusal": False}]
    agg = ev.aggregate_run(rows)
    assert agg["analysed"] == 1 and agg["clean_refusals"] == 1
    assert agg["analysed_or_clean_pct"] == pytest.approx(100 * 2 / 3)
    assert agg["recall_pct"] == pytest.approx(100 / 15)
    assert agg["cadence_err_max_pct"] == 100.0


# ------------------------------------------------------------------------------------------------
# bars and the harness
# ------------------------------------------------------------------------------------------------


def test_per_session_bars_judge_the_max_and_missing_figures_fail():
    row = ("cadence", ("cadence_err_max_pct", "cadence_err_mean_pct"), "pct_mean_max",
           ("<=", 4.0))
    text, ok = ev.format_cell({"cadence_err_max_pct": 5.0, "cadence_err_mean_pct": 1.0}, row)
    assert not ok and "1.00 / 5.00" in text
    _, ok = ev.format_cell({"cadence_err_max_pct": 4.0, "cadence_err_mean_pct": 1.0}, row)
    assert ok
    prec = ("precision", ("precision_pct",), "pct", (">=", 95.0))
    assert ev.format_cell({"precision_pct": float("nan")}, prec) == ("-", False)
    assert ev.format_cell({"precision_pct": 95.0}, prec)[1] is True


def test_as_recorded_figures_without_analysed_sessions_are_not_judged():
    agg = {"analysed_or_clean_pct": 100.0, ev.ONLY_ANALYSED + "none": True,
           ev.ONLY_ANALYSED + "recall_pct": float("nan")}
    share = ("analysed or refused cleanly", ("analysed_or_clean_pct",), "pct", (">=", 100.0))
    assert ev.format_cell(agg, share) == ("100.0 %", True)
    recall = ("recall", (ev.ONLY_ANALYSED + "recall_pct",), "pct", (">=", 95.0))
    assert ev.format_cell(agg, recall)[1] is None
    agg[ev.ONLY_ANALYSED + "none"] = False
    assert ev.format_cell(agg, recall)[1] is False


def test_error_line():
    assert ev._error_line("imu: error: no standing start\n", 2) == "imu: error: no standing start"
    assert ev._error_line("Traceback ...\n  x\nValueError: bad\n", 1) == (
        "crash (exit 1): ValueError: bad")


def test_unprompted_copy_drops_only_the_exercise(tmp_path):
    meta = {"session_id": "s1", "activity": "strength", "exercise": "squat", "placement": "sacrum"}
    table = pa.table({"t_s": [0.0, 0.01], "acc_x_g": pa.array([0.0, 0.0], pa.float32())})
    table = table.replace_schema_metadata({b"imu": json.dumps(meta).encode()})
    pq.write_table(table, tmp_path / "a.raw.parquet")
    out = ev.copy_without_exercise(tmp_path / "a.raw.parquet", tmp_path / "b.raw.parquet")
    got = pq.read_table(out)
    assert json.loads(got.schema.metadata[b"imu"]) == {
        k: v for k, v in meta.items() if k != "exercise"}
    assert got.column("t_s").to_pylist() == [0.0, 0.01]


def test_analysis_runs_as_a_process_and_a_refusal_is_clean(tmp_path):
    bad = tmp_path / "x.raw.parquet"
    bad.write_text("not parquet")
    res = ev.run_analysis({"key": "k", "name": "x", "raw": str(bad), "options": [],
                           "strip_exercise": False, "workdir": str(tmp_path / "w"),
                           "env": ev.child_env(), "timeout_s": 120})
    assert res["rc"] == 2
    assert res["error"].startswith("imu: error:")
    assert res["clean_refusal"] and not res["tables"]


# ------------------------------------------------------------------------------------------------
# the loader on the real recordings (present on CI: absence is a failure)
# ------------------------------------------------------------------------------------------------


def real_data() -> RealData:
    """The recordings, or a clear failure (not a skip: CI runs beside ../shared)."""
    rd = RealData()
    try:
        rd.check()
    except RealDataMissing as exc:
        message = str(exc)
    else:
        return rd
    pytest.fail(f"{message}. The real-data tests need the shared recordings.", pytrace=False)


EXPECTED = {"squat": 22, "walk": 40, "run": 20}


@pytest.mark.parametrize("dataset", DATASETS)
def test_loader_reads_one_real_session(dataset: str):
    realdata = real_data()
    sessions = realdata.sessions(dataset)
    assert len(sessions) == EXPECTED[dataset]
    assert {s.split for s in sessions} == {DEV, HELDOUT}
    s = sessions[0]
    raw, meta = s.read_raw()
    assert raw["t_s"].is_monotonic_increasing and len(raw) > 100
    assert {"acc_x_g", "acc_y_g", "acc_z_g"} <= set(raw.columns)
    assert meta["placement"] == "sacrum" and meta["session_id"]
    truth = s.truth
    assert truth.name == s.name
    if dataset == "squat":
        assert s.subject in (1, 2) and s.split == (DEV if s.subject == 1 else HELDOUT)
        tr = truth.reps
        assert len(tr) == truth.n_reps == int(truth.sets["reps"].iloc[0]) >= 10
        assert (tr["start_window_lo_s"] <= tr["start_s"]).all()
        assert (tr["start_s"] <= tr["start_window_hi_s"]).all()
        assert (tr["end_window_lo_s"] <= tr["end_s"]).all()
        assert (tr["end_s"] <= tr["end_window_hi_s"]).all()
        assert truth.steps.empty
    elif dataset == "walk":
        assert s.split == (DEV if s.subject <= 4 else HELDOUT)
        st = truth.steps
        assert set(st["side"]) <= {"L", "R"} and st["contact_s"].is_monotonic_increasing
        assert set(st["phase"]) <= {"straight", "uturn", "outside_trial"}
        assert len(truth.walk_windows_s) == 2 and 70 < truth.cadence_spm < 130
        with_gct = st.dropna(subset=["gct_ms"])
        assert len(with_gct) > 10
        np.testing.assert_allclose(with_gct["toe_off_s"] - with_gct["contact_s"],
                                   with_gct["gct_ms"] / 1000, atol=1e-6)
        assert {"gyr_x_dps", "gyr_y_dps", "gyr_z_dps"} <= set(raw.columns)
    else:
        assert s.trial == 0 and s.split == DEV
        variants = {x.variant for x in sessions}
        assert variants == {"withstand", "as_recorded"}
        st = truth.steps
        assert 10 <= len(st) <= 20 and (st["gct_ms"] > 100).all()
        assert truth.cadence_spm > 150
        assert "gyr_x_dps" not in raw.columns
        w = realdata.session(s.name + "_withstand" if s.variant == "as_recorded" else s.name)
        assert w.truth.time_offset_s == pytest.approx(3.1)
        assert w.truth.steps["contact_s"].iloc[0] == pytest.approx(
            truth.steps["contact_s"].iloc[0] + (3.1 if s.variant == "as_recorded" else 0))
        assert {x.split for x in sessions if x.trial >= 5} == {HELDOUT}


@pytest.mark.parametrize("dataset", DATASETS)
def test_truth_scored_against_itself_is_perfect(dataset: str):
    """The real truth files through the whole scoring path: reporting the truth scores 100 %."""
    realdata = real_data()
    rows = []
    for s in realdata.sessions(dataset)[:4]:
        t = s.truth
        if dataset == "squat":
            sc = ev.score_squat(t, t.sets, t.reps[["set", "rep", "start_s", "end_s"]])
        elif dataset == "walk":
            sc = ev.score_walk(t, t.steps, {"walk_cadence_spm": t.cadence_spm})
        else:
            sc = ev.score_run(t, t.steps, {"cadence_spm": t.cadence_spm})
        rows.append({**sc, "rc": 0, "clean_refusal": False})
    agg = ev.AGGREGATE[dataset](rows)
    if dataset == "squat":
        assert agg["one_set_pct"] == agg["reps_exact_pct"] == 100
        assert agg["rep_recall_pct"] == agg["rep_precision_pct"] == 100
        assert agg["start_out_p90_s"] == agg["end_out_p90_s"] == agg["end_cut_p90_s"] == 0
    elif dataset == "walk":
        for tol in ev.WALK_TOLERANCES_S:
            assert agg[f"recall_{tol:.2f}_pct"] == agg[f"precision_{tol:.2f}_pct"] == 100
        assert agg["cadence_err_max_pct"] == 0 and agg["stance_mae_ms"] == 0
        assert agg["side_accuracy_pct"] == 100 and agg["signed_err_median_s"] == 0
    else:
        assert agg["recall_pct"] == agg["precision_pct"] == 100
        assert agg["gct_mae_ms"] == 0 and agg["cadence_err_max_pct"] == 0
