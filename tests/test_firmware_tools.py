"""mpy-cross compile check of every firmware file (the real MicroPython compiler) and deploy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from imu.device import firmware as ft


def test_all_firmware_files_compile_with_mpy_cross() -> None:
    files = ft.firmware_files()
    names = {p.relative_to(ft.FIRMWARE_DIR).as_posix() for p in files}
    assert {"main.py", "imu_fw/app.py", "imu_fw/ble.py", "imu_fw/lsm6dsox.py",
            "imu_fw/proto.py", "imu_fw/ring.py", "imu_fw/board.py"} <= names
    assert ft.check() == []


def test_check_fails_on_code_micropython_cannot_compile(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    failures = ft.check(tmp_path)
    assert [f.name for f, _ in failures] == ["bad.py"]
    assert ft.check(tmp_path / "empty") != []


def test_cli_exit_status() -> None:
    r = subprocess.run([sys.executable, "-m", "imu.device.firmware", "check"],
                       capture_output=True, text=True, check=False,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr
    assert "compile" in r.stdout


def test_deploy_commands_dry_run() -> None:
    cmds = ft.deploy("/dev/ttyACM0", dry_run=True)
    flat = [" ".join(c) for c in cmds]
    assert any("fs mkdir :imu_fw" in c for c in flat)
    assert any(c.endswith(":imu_fw/app.py") for c in flat)
    assert any(c.endswith(":main.py") for c in flat)
    assert all("connect /dev/ttyACM0" in c for c in flat)
    assert flat[-1].endswith("reset")
