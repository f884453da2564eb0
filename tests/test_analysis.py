"""End to end through the orchestrator: simulated raw session -> imu.analyze -> Parquet tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import imu
from imu.core.errors import InputError
from imu.core.schema import (
    REPS_CONTRACT_COLUMNS,
    RUN_SUMMARY_COLUMNS,
    SETS,
    STEPS_CONTRACT_COLUMNS,
    columns,
)
from imu.core.version import __version__
from imu.io.atomic import umask_mode
from imu.sim import simulate
from imu.sim.sensor import SensorModel


@pytest.fixture(scope="module")
def bridge_sim():  # type: ignore[no-untyped-def]
    return simulate(
        "strength", exercise="glute_bridge", n_sets=2, reps_per_set=[5, 6],
        sample_rate_hz=100.0, seed=4242, walking=True,
    )


@pytest.fixture(scope="module")
def run_sim():  # type: ignore[no-untyped-def]
    return simulate(
        "run", duration_s=90.0, sample_rate_hz=100.0, seed=4243,
        warmup_walk_s=10.0, cooldown_walk_s=10.0,
    )


def test_strength_tables_have_contract_columns(bridge_sim) -> None:  # type: ignore[no-untyped-def]
    result = imu.analyze(bridge_sim.to_dataframe())
    assert set(REPS_CONTRACT_COLUMNS) <= set(result.reps.columns)
    assert set(columns(SETS)) <= set(result.sets.columns)
    s = result.summary.iloc[0]
    assert s["activity"] == "strength"
    assert s["exercise"] == "glute_bridge"
    assert s["n_reps"] == len(result.reps) and s["n_sets"] == len(result.sets)
    assert s["session_id"] == bridge_sim.raw.meta["session_id"]
    assert result.reps["form_break"].dtype == bool
    # Sets and reps agree with the truth of this (untuned) session.
    assert len(result.sets) == len(bridge_sim.truth.sets)
    assert list(result.sets["reps"]) == list(bridge_sim.truth.sets["reps"])


def test_write_layout_and_provenance(bridge_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = imu.analyze(bridge_sim.to_dataframe(), trunk_length_m=0.52)
    folder = result.write(tmp_path)
    assert folder.name == f"session={result.session_id}"
    names = sorted(p.name for p in folder.iterdir())
    assert {"summary.parquet", "sets.parquet", "reps.parquet"} <= set(names)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    # Outputs follow the umask like any new file (temporary files are created private).
    assert folder.stat().st_mode & 0o777 == umask_mode(0o777)
    assert (folder / "reps.parquet").stat().st_mode & 0o777 == umask_mode(0o666)
    for path in folder.iterdir():
        meta = json.loads(pq.read_schema(path).metadata[b"imu"])
        assert meta["package_version"] == __version__
        assert meta["parameters"]["trunk_length_m"] == 0.52
        assert meta["session"]["session_id"] == result.session_id
    # The output folder reads as one Hive-partitioned dataset.
    result.write(tmp_path)  # idempotent re-write replaces the folder
    table = ds.dataset(
        [str(p) for p in tmp_path.glob("session=*/summary.parquet")],
        format="parquet", partitioning="hive", partition_base_dir=str(tmp_path),
    ).to_table()
    assert table.num_rows == 1
    assert table.column("session").to_pylist() == [result.session_id]


def test_run_tables_have_contract_columns(run_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = imu.analyze(run_sim.to_dataframe())
    assert result.activity == "run"
    assert set(STEPS_CONTRACT_COLUMNS) <= set(result.steps.columns)
    assert set(RUN_SUMMARY_COLUMNS) <= set(result.summary.columns)
    assert set(result.steps["side"]) == {"L", "R"}
    folder = result.write(tmp_path)
    assert (folder / "steps.parquet").exists() and (folder / "summary.parquet").exists()
    assert not (folder / "reps.parquet").exists()


def test_activity_is_detected_without_metadata(run_sim, bridge_sim) -> None:  # type: ignore[no-untyped-def]
    for sim, expected in ((run_sim, "run"), (bridge_sim, "strength")):
        df = sim.to_dataframe()
        df.attrs["imu"] = {k: v for k, v in df.attrs["imu"].items() if k != "activity"}
        assert imu.analyze(df).activity == expected


def test_saturation_and_gaps_are_tolerated_and_counted() -> None:
    # Running impacts at the hip exceed 2 g: a +-2 g accelerometer saturates.
    sim = simulate(
        "run", duration_s=60.0, sample_rate_hz=100.0, seed=4244, warmup_walk_s=5.0,
        cooldown_walk_s=5.0, sensor_model=SensorModel(acc_range_g=2, gyr_range_dps=125),
    )
    assert sim.recording.saturated().any()
    df = sim.to_dataframe()
    keep = np.ones(len(df), dtype=bool)
    keep[3000:3007] = False  # 7 samples lost in transit
    result = imu.analyze(df[keep].reset_index(drop=True).pipe(_with_attrs, df.attrs))
    s = result.summary.iloc[0]
    assert s["lost_samples"] == 7
    assert s["saturated_samples"] > 0


def _with_attrs(df: pd.DataFrame, attrs: dict) -> pd.DataFrame:  # type: ignore[type-arg]
    df.attrs.update(attrs)
    return df


def test_options_override_metadata(bridge_sim) -> None:  # type: ignore[no-untyped-def]
    df = bridge_sim.to_dataframe()
    df.attrs["imu"] = {**df.attrs["imu"], "exercise": "hip_thrust"}
    result = imu.analyze(df, exercise="glute_bridge")
    assert result.parameters["exercise"] == "glute_bridge"
    assert set(result.sets["exercise"]) == {"glute_bridge"}


def test_cli_analyze_prints_and_writes(bridge_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raw = bridge_sim.write(tmp_path / "bridge.raw.parquet")
    out = tmp_path / "sessions"
    proc = subprocess.run(
        [sys.executable, "-m", "imu.cli", "analyze", str(raw), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tilt" in proc.stdout and "sets" in proc.stdout
    reps = pd.read_parquet(next(out.glob("session=*/reps.parquet")))
    assert len(reps) == int(bridge_sim.truth.summary["n_reps"])


def test_bad_options_fail_before_the_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown placement 'belt'"):
        imu.analyze(tmp_path / "missing.raw.parquet", placement="belt")
    with pytest.raises(InputError, match="no such file"):
        imu.analyze(tmp_path / "missing.raw.parquet", placement="sacrum")
