"""The terminal report (issue 11): verdicts first, in words, rounded to what the sensor resolves;
the form column never contradicts the tilt column; sections follow the tables a session has."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import imu
from imu.metrics.display import SHOWN, judge_band, shown, value_limits
from imu.render.terminal import render_tables
from imu.render.verdicts import strength_findings

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


@pytest.fixture(scope="module")
def bridge() -> imu.AnalysisResult:
    return imu.analyze(DEMO / "bridge_session.raw.parquet")


@pytest.fixture(scope="module")
def run() -> imu.AnalysisResult:
    return imu.analyze(DEMO / "run_session.raw.parquet")


def _rep_lines(text: str) -> list[list[str]]:
    body = text.split("Reps (tilt at the top", 1)[1].splitlines()[3:]
    return [ln.split(None, 8) for ln in body if re.match(r"\s*\d+\s+\d+\s", ln)]


def test_strength_report_leads_with_verdicts(bridge: imu.AnalysisResult) -> None:
    text = imu.report(bridge)
    first = text.splitlines()[0]
    assert first.startswith("Glute bridge session, ") and "UTC" in first
    reps = bridge.reps
    post = int((reps["tilt_class"] == "posterior").sum())
    verdict = text.split("set  exercise")[0]  # everything before the first table
    assert f"{post} of {len(reps)} reps" in verdict and "reached posterior tilt" in verdict
    for s in sorted(reps.loc[reps["form_break"], "set"].unique()):
        assert f"Set {s}: form broke in rep" in verdict
    assert "n_sets" not in text and "tilt_class" not in text  # words, not code names


def test_form_column_never_contradicts_the_tilt_column(bridge: imu.AnalysisResult) -> None:
    lines = _rep_lines(imu.report(bridge))
    assert len(lines) == len(bridge.reps)
    for cells in lines:
        tilt, cls, form = int(cells[6]), cells[7], cells[8]
        assert (tilt <= -3) == (cls == "anterior") and (tilt >= 3) == (cls == "posterior")
        if cls == "anterior":
            assert form.startswith("anterior tilt at lockout"), cells
        if cls == "posterior":
            assert "below the set's first reps" not in form, cells
    stored = bridge.reps
    assert (stored.loc[stored["tilt_class"] == "anterior", "form_break"]).all()
    assert (stored["form_reason"] != "").equals(stored["form_break"])


def test_reps_rounded_to_the_resolution(bridge: imu.AnalysisResult) -> None:
    for cells in _rep_lines(imu.report(bridge)):
        assert re.fullmatch(r"\d+\.\d", cells[2]) and re.fullmatch(r"\d+\.\d", cells[4])
        assert re.fullmatch(r"\d+", cells[5])  # hip travel, whole cm
        assert re.fullmatch(r"[+-]?\d+", cells[6])  # tilt, whole degrees


def test_run_report_against_typical_ranges(run: imu.AnalysisResult) -> None:
    text = imu.report(run)
    s = run.summary.iloc[0]
    assert text.startswith("Run, ")
    assert "RUN" in text and "STRENGTH" not in text
    table = text.split("verdict\n", 1)[1]
    cad = re.search(r"cadence\s+(\d+) steps/min\s+164-173", table)
    assert cad and int(cad.group(1)) == round(s["cadence_spm"])
    gct = re.search(r"ground contact time\s+(\d+) ms", table)
    assert gct and int(gct.group(1)) % 5 == 0  # 5 ms resolution
    assert "right side sinking during left-leg stance" in table
    assert "left side sinking during right-leg stance" in table
    assert "left-side pelvic drop" not in text.lower()
    assert "Garmin" in text and "Bramah" in text
    worse = "right" if s["pelvic_drop_right_deg"] > s["pelvic_drop_left_deg"] else "left"
    if abs(s["pelvic_drop_right_deg"] - s["pelvic_drop_left_deg"]) > 2:
        assert f"more in {worse}-leg stance" in text


def test_sections_follow_the_tables() -> None:
    """A mixed session (a warm-up run, then sets) gets both sections; none gets a note."""
    reps = pd.DataFrame({"set": [1, 1], "rep": [1, 2], "start_s": [0.0, 4.0], "end_s": [3.0, 7.0],
                         "tilt_deg": [5.0, -4.0], "tilt_class": ["posterior", "anterior"],
                         "form_break": [False, True],
                         "form_reason": ["", "anterior tilt at lockout"]})
    sets = pd.DataFrame({"set": [1], "exercise": ["hip_thrust"], "start_s": [0.0],
                         "end_s": [7.0], "reps": [2]})
    summary = {"session_id": "m1", "activity": "mixed", "duration_s": 900.0,
               "cadence_spm": 176.0, "gct_ms": 231.0, "pelvic_drop_left_deg": 4.1,
               "pelvic_drop_right_deg": 8.3, "n_steps": 1500}
    text = render_tables(summary, {"sets": sets, "reps": reps})
    assert "STRENGTH" in text and "RUN" in text
    assert "1 of 2 reps (50%) reached posterior tilt" in text
    assert "Left side sinking during right-leg stance is 8.5 deg" in text
    assert "RIGHT hip abductors" in text
    empty = render_tables({"session_id": "e", "activity": "strength"}, {})
    assert "No sets and no running" in empty


def test_posterior_tilt_share_is_the_bridges_in_a_mixed_workout() -> None:
    """Posterior tilt is the goal at a bridge's top: among squats and hinges, the headline
    counts the bridge-family reps only."""
    reps = pd.DataFrame({
        "set": [1, 1, 2, 2, 2], "rep": [1, 2, 1, 2, 3],
        "exercise": ["glute_bridge"] * 2 + ["squat"] * 3,
        "tilt_class": ["posterior", "anterior", "posterior", "posterior", "neutral"],
    })
    sets = pd.DataFrame({"set": [1, 2], "exercise": ["glute_bridge", "squat"],
                         "start_s": [0.0, 60.0], "end_s": [10.0, 80.0], "reps": [2, 3]})
    text = " ".join(f.text for f in strength_findings(sets, reps))
    assert "1 of 2 bridge and hip-thrust reps (50%) reached posterior tilt" in text
    only_squats = " ".join(f.text for f in strength_findings(sets[1:], reps[2:]))
    assert "2 of 3 reps (67%) reached posterior tilt" in only_squats


def test_display_rules() -> None:
    assert shown("gct_ms").text(298.7) == "300 ms"
    assert shown("cadence_spm").text(148.34) == "148 steps/min"
    assert shown("tilt_deg").text(-2.98, sign=True) == "-2 deg"  # toward zero: class agrees
    assert shown("tilt_deg").text(-3.0, sign=True) == "-3 deg"
    assert shown("tilt_deg").text(0.2, sign=True) == "0 deg"
    assert shown("vo_cm").text(np.nan) == "-"
    assert judge_band("cadence_spm", 190)[0] == "better"
    assert judge_band("gct_ms", 330)[0] == "check"
    assert judge_band("gct_balance_left_pct", 52.0) == ("check", "more time on the left foot")
    lo, hi = value_limits("cadence_spm", 148.2, 148.5)
    assert hi - lo >= 10 * SHOWN["cadence_spm"].step
    lo, hi = value_limits("cadence_spm", 140.0, 180.0)
    assert lo < 140 and hi > 180 and hi - lo < 50
