"""Bad input through the real command line: one line, exit 2, nothing written (contract s.5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imu.core.session import RawSession
from imu.io.rawfile import write_raw


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imu.cli", *args], capture_output=True, text=True, timeout=120
    )


def _standing_then_moving(n: int = 2400, rate: float = 200.0) -> RawSession:
    """5 s of quiet standing then slow rotations: a structurally valid session."""
    rng = np.random.default_rng(3)
    t = np.arange(n) / rate
    acc = np.tile([0.0, 0.0, 1.0], (n, 1)) + rng.normal(0, 0.003, (n, 3))
    gyr = rng.normal(0, 0.1, (n, 3))
    gyr[1000:, 1] += 40 * np.sin(2 * np.pi * 0.4 * t[1000:])
    meta = {"session_id": "badinput", "sample_rate_hz": rate, "placement": "left_hip",
            "acc_range_g": 8, "gyr_range_dps": 1000}
    return RawSession(t, acc, gyr, np.arange(n, dtype=np.int64), meta)


def _write_df(path: Path, df: pd.DataFrame) -> Path:
    df.to_parquet(path)
    return path


def _frame(s: RawSession) -> pd.DataFrame:
    df = pd.DataFrame({"t_s": s.t_s})
    for i, a in enumerate("xyz"):
        df[f"acc_{a}_g"] = s.acc_g[:, i].astype(np.float32)
        df[f"gyr_{a}_dps"] = s.gyr_dps[:, i].astype(np.float32)  # type: ignore[index]
    return df


def _assert_clean_failure(proc: subprocess.CompletedProcess[str], out: Path, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("imu: error:")
    assert needle in lines[0]
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("name", "make", "needle"),
    [
        ("not_parquet", lambda p, s: p.write_bytes(b"PAR1 junk"), "not a readable Parquet"),
        ("missing_col", lambda p, s: _write_df(p, _frame(s).drop(columns="acc_z_g")), "acc_z_g"),
        (
            "time_backwards",
            lambda p, s: _write_df(p, _frame(s).assign(t_s=s.t_s[::-1].copy())),
            "not strictly increasing",
        ),
        (
            "nan_sample",
            lambda p, s: _write_df(
                p, _frame(s).assign(gyr_x_dps=np.where(np.arange(len(s.t_s)) == 50, np.nan, 0.0))
            ),
            "NaN",
        ),
    ],
)
def test_bad_files(tmp_path: Path, name: str, make, needle: str) -> None:  # type: ignore[no-untyped-def]
    raw = tmp_path / f"{name}.raw.parquet"
    make(raw, _standing_then_moving())
    out = tmp_path / "out"
    _assert_clean_failure(run_cli("analyze", str(raw), "--out", str(out)), out, needle)


def test_missing_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("analyze", str(tmp_path / "nope.raw.parquet"), "--out", str(out))
    _assert_clean_failure(proc, out, "no such file")


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        (["--placement", "belt"], "--placement"),
        (["--activity", "swim"], "--activity"),
        (["--exercise", "curl"], "--exercise"),
        (["--trunk-length-m", "-1"], "--trunk-length-m"),
        (["--sensor-offset-m", "1,2"], "--sensor-offset-m"),
    ],
)
def test_unknown_option_values(tmp_path: Path, option: list[str], needle: str) -> None:
    raw = write_raw(tmp_path / "ok.raw.parquet", _standing_then_moving())
    out = tmp_path / "out"
    _assert_clean_failure(run_cli("analyze", str(raw), "--out", str(out), *option), out, needle)


def test_unknown_metadata_value(tmp_path: Path) -> None:
    s = _standing_then_moving()
    s.meta["exercise"] = "curl"
    raw = write_raw(tmp_path / "meta.raw.parquet", s)
    out = tmp_path / "out"
    _assert_clean_failure(run_cli("analyze", str(raw), "--out", str(out)), out, "unknown exercise")


def test_no_standing_start(tmp_path: Path) -> None:
    s = _standing_then_moving()
    rng = np.random.default_rng(5)
    s.gyr_dps = s.gyr_dps + 60 * np.sin(2 * np.pi * 1.3 * s.t_s)[:, None]  # type: ignore[operator]
    s.acc_g = s.acc_g + rng.normal(0, 0.3, s.acc_g.shape)
    raw = write_raw(tmp_path / "nostand.raw.parquet", s)
    out = tmp_path / "out"
    proc = run_cli("analyze", str(raw), "--out", str(out), "--activity", "strength")
    _assert_clean_failure(proc, out, "standing")
