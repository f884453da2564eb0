"""``imu record`` end to end in a subprocess (virtual sensor in-process): complete sessions,
Ctrl-C, SIGKILL (crash safety), recovery of leftovers, bad input and an absent sensor."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from imu.cli import main
from imu.core.session import RawSession
from imu.io.chunks import recover_leftovers
from imu.io.rawfile import read_raw, write_raw
from imu.testing.recordings import random_recording

ROOT = Path(__file__).resolve().parents[1]
RATE = 104


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> RawSession:
    """A 60 s recording of random counts (any loss or reordering shows in an exact compare)."""
    rec = random_recording(60 * RATE, RATE, seed=7)  # +-8 g, +-1000 deg/s
    raw = RawSession(
        t_s=rec.t_s,
        acc_g=rec.acc_g.astype(np.float64),
        gyr_dps=rec.gyr_dps.astype(np.float64),
        seq=np.arange(len(rec.t_s), dtype=np.int64),
        meta={"sample_rate_hz": float(RATE), "acc_range_g": 8, "gyr_range_dps": 1000,
              "placement": "sacrum", "activity": "strength", "exercise": "hip_thrust"},
    )
    path = tmp_path_factory.mktemp("src") / "source.raw.parquet"
    write_raw(path, raw)
    raw.meta["path"] = str(path)
    return raw


def imu(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "imu.cli", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def assert_prefix_of_source(path: Path, src: RawSession) -> RawSession:
    """The recorded file is the source's first samples, exactly, on a clean time axis (random
    counts: read without the plausibility checks, which would call them m/s^2)."""
    got = read_raw(path, plausible=False)
    n = got.n_samples
    assert np.array_equal(got.seq, np.arange(n))
    assert np.array_equal(got.acc_g.astype(np.float32), src.acc_g[:n].astype(np.float32))
    assert np.array_equal(got.gyr_dps.astype(np.float32), src.gyr_dps[:n].astype(np.float32))
    # the chip's clock (t_s) runs within 0.5 % of the nominal rate
    assert abs(np.median(np.diff(got.t_s)) * RATE - 1) < 5e-3
    return got


def wait_for_parts(out: Path, n: int, timeout_s: float = 60.0) -> None:
    t0 = time.monotonic()
    while len(list(out.glob("*.parts/part-*.parquet"))) < n:
        assert time.monotonic() - t0 < timeout_s, "no part files appeared"
        time.sleep(0.05)


def test_record_virtual_file_complete_session(source: RawSession, tmp_path: Path) -> None:
    p = imu("record", "--virtual", source.meta["path"], "--time-scale", "20", "--out",
            str(tmp_path), "--session-name", "s", "--no-analyze", "--quiet")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    got = assert_prefix_of_source(tmp_path / "s.raw.parquet", source)
    assert source.n_samples - 2 <= got.n_samples <= source.n_samples  # the whole session
    m = got.meta
    for key in ("session_id", "started_at", "sample_rate_hz", "device", "firmware",
                "acc_range_g", "gyr_range_dps"):
        assert m.get(key), key
    assert (m["placement"], m["activity"], m["exercise"]) == ("sacrum", "strength", "hip_thrust")
    assert m["sample_rate_hz"] == RATE and m["acc_range_g"] == 8 and m["lost_samples"] == 0
    assert "IMU-VIRT" in m["device"]
    assert not list(tmp_path.glob("*.parts"))
    assert "recorded" in out and "lost 0" in out


def test_ctrl_c_finishes_the_file(source: RawSession, tmp_path: Path) -> None:
    p = imu("record", "--virtual", source.meta["path"], "--time-scale", "4", "--out",
            str(tmp_path), "--session-name", "s", "--no-analyze", "--quiet")
    wait_for_parts(tmp_path, 2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    got = assert_prefix_of_source(tmp_path / "s.raw.parquet", source)
    assert 2 * RATE < got.n_samples < source.n_samples
    assert not list(tmp_path.glob("*.parts"))


def test_sigkill_leaves_everything_but_the_last_second(source: RawSession,
                                                       tmp_path: Path) -> None:
    p = imu("record", "--virtual", source.meta["path"], "--time-scale", "1", "--out",
            str(tmp_path), "--session-name", "s", "--no-analyze")
    wait_for_parts(tmp_path, 3)
    time.sleep(0.6)
    p.kill()
    _, err = p.communicate(timeout=30)
    live_t = [float(x) for x in re.findall(r"\| t\s+([\d.]+) s", err)]
    assert live_t and live_t[-1] > 2.0
    assert not (tmp_path / "s.raw.parquet").exists()
    # the parts are valid raw files on their own ...
    parts = sorted(tmp_path.glob("s.raw.parquet.parts/part-*.parquet"))
    assert parts and all(read_raw(x, plausible=False).n_samples > 0 for x in parts)
    # ... and the next `imu record` merges them first
    q = imu("record", "--virtual", source.meta["path"], "--time-scale", "20", "--duration-s",
            "2", "--out", str(tmp_path), "--session-name", "s2", "--no-analyze", "--quiet")
    _, err2 = q.communicate(timeout=120)
    assert q.returncode == 0, err2
    assert "recovered" in err2
    got = assert_prefix_of_source(tmp_path / "s.raw.parquet", source)
    # the live line showed live_t[-1] at most 0.5 s before the kill; parts roll every 1 s and
    # a 0.25 s ticker flushes them: what was received more than ~1.25 s before the kill is there
    assert got.t_s[-1] >= live_t[-1] - 1.5
    assert recover_leftovers(tmp_path) == []


def test_virtual_bridge_records_and_analyses(tmp_path: Path) -> None:
    p = imu("record", "--virtual", "bridge", "--time-scale", "25", "--out", str(tmp_path),
            "--session-name", "b", "--quiet", "--trunk-length-m", "0.55")
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err
    got = read_raw(tmp_path / "b.raw.parquet")
    assert got.lost_samples() == 0 and got.meta["exercise"] == "glute_bridge"
    assert got.meta["trunk_length_m"] == 0.55  # carried to the analysis through the file
    summaries = list(tmp_path.glob("session=*/summary.parquet"))
    assert len(summaries) == 1
    provenance = json.loads(pq.read_schema(summaries[0]).metadata[b"imu"])
    assert provenance["parameters"]["trunk_length_m"] == 0.55
    assert "reps" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--rate-hz", "100"],
        ["--time-scale", "2"],
        ["--virtual", "missing.raw.parquet"],
        ["--virtual", "bridge", "--duration-s", "-1"],
        ["--virtual", "bridge", "--name", "IMU-X"],
    ],
)
def test_bad_input_is_one_line_exit_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:  # argparse's own errors exit from the parser
        sys.exit(main(["record", "--out", str(tmp_path / "out"), *args]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and err.startswith("imu: error:")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_absent_sensor_fails_clearly_within_the_timeout(tmp_path: Path) -> None:
    t0 = time.monotonic()
    p = imu("record", "--out", str(tmp_path), "--name", "IMU-NOPE", "--scan-timeout-s", "2",
            "--quiet")
    _, err = p.communicate(timeout=60)
    assert p.returncode not in (0, 2)
    assert "imu: error:" in err and len(err.strip().splitlines()) <= 2
    assert time.monotonic() - t0 < 2 + 10  # the timeout plus interpreter start-up


def test_scan_lists_the_virtual_sensor() -> None:
    p = imu("scan", "--virtual", "run", "--timeout-s", "1")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert "IMU-VIRT" in out and "F0:F0:F0:F0:F0:01" in out


def test_firmware_deploy_dry_run_lists_mpremote_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["firmware", "deploy", "--port", "/dev/ttyFAKE0", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out and all("mpremote" in line and "/dev/ttyFAKE0" in line for line in out)
    assert any(" cp " in line for line in out) and out[-1].endswith("reset")
