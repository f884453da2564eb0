"""Gait in every session, through the orchestrator (imu.analyze) and the command line: walking
between strength sets is steps, never reps; runs without a standing start or a gyroscope are
analysed; the summary's gait fields; the starts table; the placement warning on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import imu
from imu.core.schema import (
    GAIT_SUMMARY,
    RUN_SUMMARY_COLUMNS,
    STARTS_CONTRACT_COLUMNS,
    STEPS_CONTRACT_COLUMNS,
)
from imu.core.vocabulary import CALIBRATIONS
from imu.sim import simulate
from imu.sim.gait_session import simulate_gait


def _df(sim, cut_s: float = 0.0, gyro: bool = True, **meta: object) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    df = sim.to_dataframe()
    attrs = {**df.attrs["imu"], **meta}
    df = df[df["t_s"] >= cut_s].reset_index(drop=True)
    if not gyro:
        df = df.drop(columns=[c for c in df.columns if c.startswith("gyr_")])
    df.attrs["imu"] = {k: v for k, v in attrs.items() if v is not None}
    return df


@pytest.fixture(scope="module")
def run_sim():  # type: ignore[no-untyped-def]
    return simulate("run", duration_s=60.0, sample_rate_hz=100.0, seed=321, placement="right_hip",
                    warmup_walk_s=10.0, cooldown_walk_s=8.0)


def test_walking_between_sets_is_steps_not_reps() -> None:
    sim = simulate("strength", exercise="hip_hinge", n_sets=3, reps_per_set=[6, 8, 7],
                   sample_rate_hz=100.0, seed=322, walking=True)
    result = imu.analyze(sim.to_dataframe())
    assert result.activity == "strength" and len(result.sets) == 3
    steps = result.steps
    assert len(steps) > 10 and set(steps["gait"]) == {"walk"}
    assert list(steps.columns[: len(STEPS_CONTRACT_COLUMNS)]) == list(STEPS_CONTRACT_COLUMNS)
    for a, b in zip(sim.truth.sets["start_s"], sim.truth.sets["end_s"], strict=True):
        assert not ((steps["contact_s"] > a) & (steps["contact_s"] < b)).any()
    s = result.summary.iloc[0]
    assert s["walk_steps"] == len(steps) and 90 < s["walk_cadence_spm"] < 125
    assert "cadence_spm" not in result.summary  # no running: no run metrics
    assert s["gyro_present"] and s["calibration"] == "opening_standing"
    assert set(result.tables()) >= {"summary", "sets", "reps", "steps"}
    assert "starts" not in result.tables()


def test_run_summary_tables_and_starts(run_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = imu.analyze(_df(run_sim))
    assert result.activity == "run" and result.warnings == []
    s = result.summary.iloc[0]
    assert set(RUN_SUMMARY_COLUMNS) <= set(result.summary.columns)
    assert set(GAIT_SUMMARY.names) <= set(result.summary.columns)
    assert s["calibration"] == "opening_standing" and s["gyro_present"]
    assert s["run_start_lead_side"] in ("L", "R") and s["run_start_consistency_pct"] == 100.0
    assert s["walk_steps"] > 20 and s["walk_cadence_spm"] == pytest.approx(108.0, rel=0.03)
    assert s["cadence_spm"] == pytest.approx(run_sim.truth.summary["cadence_spm"], rel=0.01)
    folder = result.write(tmp_path)
    starts = pq.read_table(folder / "starts.parquet").to_pandas()
    assert list(starts.columns[: len(STARTS_CONTRACT_COLUMNS)]) == list(STARTS_CONTRACT_COLUMNS)
    assert len(starts) == 1 and starts["half_step"].dtype == bool
    steps = pq.read_table(folder / "steps.parquet").to_pandas()
    assert set(steps["gait"]) == {"walk", "run"}
    assert (folder / "minutes.parquet").exists() and not (folder / "reps.parquet").exists()


def test_run_without_standing_or_gyroscope(run_sim) -> None:  # type: ignore[no-untyped-def]
    full = imu.analyze(_df(run_sim)).summary.iloc[0]
    for gyro in (True, False):
        r = imu.analyze(_df(run_sim, cut_s=6.0, gyro=gyro))  # no standing start: not refused
        s = r.summary.iloc[0]
        assert s["calibration"] == "gait" and s["calibration"] in CALIBRATIONS
        assert bool(s["gyro_present"]) is gyro
        assert s["cadence_spm"] == pytest.approx(full["cadence_spm"], rel=0.01)
        assert s["gct_ms"] == pytest.approx(full["gct_ms"], abs=15.0)
        assert bool(np.isnan(s["pelvic_drop_left_deg"])) is (not gyro)
        if not gyro:
            assert "gyroscope" in s["note"]


def test_walking_only_session_is_analysed() -> None:
    """Walking has no contract activity: without one the session is a strength session without
    sets, whose steps are written (and no standing is needed: upright walking is neutral's
    reference)."""
    sim = simulate("run", duration_s=0.0, warmup_walk_s=25.0, cooldown_walk_s=0.0,
                   sample_rate_hz=100.0, seed=323)
    result = imu.analyze(_df(sim, cut_s=6.0, activity=None))
    s = result.summary.iloc[0]
    assert result.activity == "strength" and s["n_sets"] == 0
    assert s["walk_steps"] >= 30 and s["walk_cadence_spm"] == pytest.approx(108.0, rel=0.03)
    assert "steps" in result.tables() and set(result.steps["gait"]) == {"walk"}
    assert "sets" in result.tables() and result.sets.empty
    assert s["calibration"] == "walking" and s["mounting_changes"] == 0
    assert not any("no sets analysed" in w for w in result.warnings)


def test_wrong_placement_warns_on_stderr(run_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raw = tmp_path / "run.raw.parquet"
    run_sim.write(raw)
    cmd = [sys.executable, "-m", "imu.cli", "analyze", str(raw), "--out", str(tmp_path / "o"),
           "--placement", "left_hip", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imu: warning: placement left_hip given")
    assert "right hip" in lines[0]
    right = subprocess.run(cmd[:-3] + ["--placement", "right_hip", "--quiet"],
                           capture_output=True, text=True, timeout=300)
    assert right.returncode == 0 and right.stderr == ""


@pytest.mark.parametrize("lead, half", [("R", False), ("L", True)])
def test_walking_steps_and_run_starts(lead: str, half: bool) -> None:
    """The stepped-gait simulator: walking with step truth, restarts after standing and after
    walking with a forced lead foot and half-step, no standing start."""
    sim = simulate_gait(seed=331 if half else 332, placement="left_hip", sample_rate_hz=100.0,
                        standing_s=0.0, lead_side=lead, half_step=half)
    result = imu.analyze(_df(sim))
    steps, truth = result.steps, sim.truth.steps
    for gait in ("walk", "run"):
        t = truth.loc[truth["gait"] == gait, "contact_s"].to_numpy()
        e = steps.loc[steps["gait"] == gait, "contact_s"].to_numpy()
        hit_t = np.min(np.abs(t[:, None] - e[None, :]), axis=1) <= 0.15
        hit_e = np.min(np.abs(e[:, None] - t[None, :]), axis=1) <= 0.15
        assert hit_t.mean() >= 0.95 and hit_e.mean() >= 0.95, gait
    s = result.summary.iloc[0]
    assert s["walk_cadence_spm"] == pytest.approx(sim.truth.summary["walk_cadence_spm"], rel=0.03)
    starts, true_starts = result.starts, sim.truth.starts
    assert len(starts) == len(true_starts) == 3
    np.testing.assert_allclose(starts["t_s"], true_starts["t_s"], atol=0.25)
    assert (starts["first_side"] == lead).sum() >= 2
    assert (starts["half_step"] == half).sum() >= 2
    assert s["run_start_lead_side"] == lead
    assert starts["after"].tolist() == true_starts["after"].tolist()
