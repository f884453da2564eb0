"""Recording with others around (issue 10, findings 3, 7 and 10): one writer per session (an OS
lock), recovery only of parts whose writer is gone, disk full stops cleanly with the way to
recover, and a kill during the final merge leaves no duplicate.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_runner import cli

from imu.core.session import RawSession
from imu.io import chunks
from imu.io.chunks import (
    ChunkedRawWriter,
    SessionBusyError,
    is_live,
    recover_leftovers,
    recover_parts,
)
from imu.io.rawfile import read_raw, write_raw
from imu.testing.recordings import random_recording

ROOT = Path(__file__).resolve().parents[1]
RATE = 104


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> RawSession:
    """A 60 s recording of random counts (any loss or reordering shows in an exact compare)."""
    rec = random_recording(60 * RATE, RATE, seed=10)  # +-8 g, +-1000 deg/s
    raw = RawSession(
        t_s=rec.t_s,
        acc_g=rec.acc_g.astype(np.float64),
        gyr_dps=rec.gyr_dps.astype(np.float64),
        seq=np.arange(len(rec.t_s), dtype=np.int64),
        meta={"sample_rate_hz": float(RATE), "acc_range_g": 8, "gyr_range_dps": 1000},
    )
    path = tmp_path_factory.mktemp("src") / "source.raw.parquet"
    write_raw(path, raw)
    raw.meta["path"] = str(path)
    return raw


def imu(*args: str, fsize: int | None = None) -> subprocess.Popen[str]:
    def limits() -> None:
        if fsize is not None:  # a file-size limit: writes beyond it fail (EFBIG), as on a
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))  # full small disk

    return subprocess.Popen([sys.executable, "-m", "imu.cli", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limits)


def exact_prefix(path: Path, src: RawSession) -> RawSession:
    got = read_raw(path, plausible=False)
    n = got.n_samples
    assert n > 0 and np.array_equal(got.seq, np.arange(n))
    assert np.array_equal(got.acc_g.astype(np.float32), src.acc_g[:n].astype(np.float32))
    assert np.array_equal(got.gyr_dps.astype(np.float32), src.gyr_dps[:n].astype(np.float32))
    return got


def wait_for_parts(out: Path, n: int, timeout_s: float = 60.0) -> None:
    t0 = time.monotonic()
    while len(list(out.glob("*.parts/part-*.parquet"))) < n:
        assert time.monotonic() - t0 < timeout_s, "no part files appeared"
        time.sleep(0.05)


def one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("imu: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("imu: error:") and "Traceback" not in err
    return lines[0]


# ---- finding 3: two recorders ---------------------------------------------------------------


def test_a_second_recorder_leaves_the_first_ones_live_parts_alone(source: RawSession,
                                                                  tmp_path: Path) -> None:
    first = imu("record", "--virtual", source.meta["path"], "--time-scale", "2", "--out",
                str(tmp_path), "--session-name", "first", "--no-analyze", "--quiet")
    wait_for_parts(tmp_path, 3)
    second = imu("record", "--virtual", source.meta["path"], "--time-scale", "20",
                 "--duration-s", "2", "--out", str(tmp_path), "--session-name", "second",
                 "--no-analyze", "--quiet")
    out2, err2 = second.communicate(timeout=120)
    assert second.returncode == 0, err2
    assert "recovered" not in err2
    assert not (tmp_path / "first.raw.parquet").exists()  # still being recorded
    first.send_signal(signal.SIGINT)
    out1, err1 = first.communicate(timeout=60)
    assert first.returncode == 0, err1
    got = exact_prefix(tmp_path / "first.raw.parquet", source)  # from its first sample on
    assert got.meta["lost_samples"] == 0 and got.t_s[-1] > 2.0
    assert f"recorded {got.n_samples} samples" in out1
    exact_prefix(tmp_path / "second.raw.parquet", source)
    assert not list(tmp_path.glob("*recovered*")) and not list(tmp_path.glob("*.parts"))


def test_the_same_session_name_twice_fails_at_once(source: RawSession, tmp_path: Path) -> None:
    first = imu("record", "--virtual", source.meta["path"], "--time-scale", "4", "--out",
                str(tmp_path), "--session-name", "s", "--no-analyze", "--quiet")
    wait_for_parts(tmp_path, 1)
    t0 = time.monotonic()
    code, _, err = cli("record", "--virtual", source.meta["path"], "--out", str(tmp_path),
                       "--session-name", "s", "--no-analyze", "--quiet")
    assert time.monotonic() - t0 < 10
    assert code == 2
    assert "another imu record is writing this session" in one_error_line(err)
    first.send_signal(signal.SIGINT)
    out1, err1 = first.communicate(timeout=60)
    assert first.returncode == 0, err1
    got = exact_prefix(tmp_path / "s.raw.parquet", source)
    assert got.meta["lost_samples"] == 0 and got.n_samples > RATE
    # and once it is finished, the name is taken: no silent overwrite either
    code, _, err = cli("record", "--virtual", "bridge", "--out", str(tmp_path),
                       "--session-name", "s", "--no-analyze", "--quiet")
    assert code == 2 and "exists already" in one_error_line(err)
    assert read_raw(tmp_path / "s.raw.parquet", plausible=False).n_samples == got.n_samples


def test_the_lock_is_the_writers_for_its_whole_life(tmp_path: Path) -> None:
    path = tmp_path / "a.raw.parquet"
    w = ChunkedRawWriter(path, {"sample_rate_hz": 104.0})
    w.append(np.arange(5) / 104, np.ones((5, 3)), np.zeros((5, 3)), np.arange(5))
    w.flush()
    assert is_live(w.parts_dir)
    with pytest.raises(SessionBusyError):
        ChunkedRawWriter(path, {})
    assert recover_parts(w.parts_dir) is None and recover_leftovers(tmp_path) == []
    assert len(list(w.parts_dir.glob("part-*.parquet"))) == 1  # untouched
    w.release()  # its writer is gone (as after a crash): now it is a leftover
    assert not is_live(w.parts_dir)
    assert recover_leftovers(tmp_path) == [path]
    assert read_raw(path, plausible=False).n_samples == 5


# ---- finding 10: a kill during the final merge ----------------------------------------------

_KILL_DURING_MERGE = """
import os, signal, sys
import numpy as np
from imu.io import chunks
w = chunks.ChunkedRawWriter(sys.argv[1], {"sample_rate_hz": 104.0})
for k in range(3):
    w.append(np.arange(k * 50, k * 50 + 50) / 104, np.ones((50, 3)), np.zeros((50, 3)),
             np.arange(k * 50, k * 50 + 50))
    w.flush()
chunks.shutil.rmtree = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
w.close()
"""


def test_a_kill_after_the_merge_wrote_the_file_leaves_no_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "m.raw.parquet"
    proc = subprocess.run([sys.executable, "-c", _KILL_DURING_MERGE, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert path.exists() and (tmp_path / "m.raw.parquet.parts").is_dir()  # killed in between
    assert recover_leftovers(tmp_path) == []
    assert not list(tmp_path.glob("*recovered*")) and not list(tmp_path.glob("*.parts"))
    assert read_raw(path, plausible=False).n_samples == 150


def test_an_interrupted_merge_before_the_file_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "m.raw.parquet"
    w = ChunkedRawWriter(path, {"sample_rate_hz": 104.0})
    w.append(np.arange(50) / 104, np.ones((50, 3)), np.zeros((50, 3)), np.arange(50))
    w.flush()
    (w.parts_dir / chunks.MERGE_MARKER).write_text('{"file": "m.raw.parquet", "rows": 50}')
    w.release()
    assert recover_leftovers(tmp_path) == [path]
    assert read_raw(path, plausible=False).n_samples == 50


# ---- finding 7: disk full -------------------------------------------------------------------


def test_a_full_disk_at_the_final_merge_keeps_the_parts_and_says_how_to_recover(
    source: RawSession, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    p = imu("record", "--virtual", source.meta["path"], "--time-scale", "5", "--duration-s",
            "20", "--out", str(out), "--session-name", "d", "--no-analyze", "--quiet",
            fsize=48_000)  # each part (1 s of host time: 5 s of samples) fits, 20 s do not
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2, err
    line = one_error_line(err)
    assert "Bluetooth" not in line and "File too large" in line
    assert f"imu recover {out}" in line
    safe = int(line.split(" samples are safe")[0].rsplit(" ", 1)[1])
    assert safe > 15 * RATE
    assert not (out / "d.raw.parquet").exists() and list(out.glob("d.raw.parquet.parts/part-*"))
    code, stdout, err = cli("recover", str(out))
    assert code == 0, err
    got = exact_prefix(out / "d.raw.parquet", source)
    assert got.n_samples == safe


def test_disk_full_while_recording_stops_cleanly(source: RawSession, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC injected where the writer meets the disk, after three parts were written."""
    real = chunks.write_parquet_atomic
    calls = []

    def write(table: object, path: Path) -> Path:
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(table, path)  # type: ignore[arg-type]

    monkeypatch.setattr(chunks, "write_parquet_atomic", write)
    out = tmp_path / "out"
    t0 = time.monotonic()
    code, stdout, err = cli("record", "--virtual", source.meta["path"], "--time-scale", "5",
                            "--out", str(out), "--session-name", "f", "--quiet")
    assert time.monotonic() - t0 < 60  # stopped at the error, not at the end of the session
    assert code == 2
    line = one_error_line(err)
    assert "No space left on device" in line and "recording stopped" in line
    assert "Bluetooth" not in line and f"imu recover {out}" in line
    assert "recorded" not in stdout
    monkeypatch.setattr(chunks, "write_parquet_atomic", real)
    assert recover_leftovers(out) == [out / "f.raw.parquet"]
    got = exact_prefix(out / "f.raw.parquet", source)
    assert got.n_samples >= 3 and got.n_samples < source.n_samples


def test_recover_command_leaves_a_live_recording_alone(tmp_path: Path) -> None:
    w = ChunkedRawWriter(tmp_path / "live.raw.parquet", {"sample_rate_hz": 104.0})
    w.append(np.arange(5) / 104, np.ones((5, 3)), np.zeros((5, 3)), np.arange(5))
    w.flush()
    code, stdout, err = cli("recover", str(tmp_path))
    assert code == 0 and "being recorded right now" in err
    assert not (tmp_path / "live.raw.parquet").exists()
    w.close()
    assert read_raw(tmp_path / "live.raw.parquet", plausible=False).n_samples == 5
