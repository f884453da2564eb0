"""The built wheel works on its own: it ships the firmware (package data, not a host package),
and `imu record --virtual`, the firmware compile check and `imu firmware deploy` run from it,
outside the checkout.

The wheel is built offline (no build isolation: the venv's setuptools, from the dev extra) from a
copy of the sources, so no stale ``build/`` folder can hide a missing file; it is installed with
``--no-deps`` into a fresh venv that sees this venv's site-packages through a ``.pth`` file, so
nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_REQUIRES = "setuptools>=77"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _setuptools_version() -> tuple[int, ...]:
    out = subprocess.run(
        [sys.executable, "-c", "import setuptools; print(setuptools.__version__)"],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        return (0,)
    return tuple(int(p) for p in out.stdout.strip().split(".")[:2] if p.isdigit())


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                       check=False)
    assert r.returncode == 0, f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(venv bin folder, wheel, environment) of the wheel installed in a fresh venv."""
    assert _setuptools_version() >= (77,), (
        f"building offline needs {BUILD_REQUIRES} in this venv (the dev extra: `make venv`)"
    )
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "imu", src / "imu",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mpy"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env["PIP_NO_INDEX"] = "1"  # offline: nothing may be downloaded
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
          "-q", "-w", str(dist)], cwd=src, env=env)
    (wheel,) = dist.glob("imu-*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp, env=env)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / ("python.exe" if os.name == "nt" else "python")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
          str(wheel)], cwd=tmp, env=env)
    # the dependencies: where this interpreter imports from (its site-packages and what their
    # .pth files add), after the new venv's own site-packages, and never a checkout of imu
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp, env=env).strip())
    deps = [p for p in dict.fromkeys(sys.path)
            if p and Path(p).is_dir() and not (Path(p) / "imu").exists()]
    (site / "_imu_test_deps.pth").write_text("\n".join(deps) + "\n")
    return bindir, wheel, env


def test_firmware_is_not_a_host_package(
        installed: tuple[Path, Path, dict[str, str]]) -> None:
    """setuptools finds every host package but none under imu/firmware (MicroPython)."""
    code = ("from setuptools.config.pyprojecttoml import read_configuration as r; "
            "print(' '.join(r('pyproject.toml')['tool']['setuptools']['packages']))")
    _, _, env = installed
    packages = _run([sys.executable, "-c", code], cwd=ROOT, env=env).split()
    assert "imu.device" in packages and "imu.virtual.shims" in packages
    assert not [p for p in packages if p.startswith("imu.firmware")]


def test_wheel_ships_the_firmware_as_data(installed: tuple[Path, Path, dict[str, str]]) -> None:
    _, wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (ROOT / "imu" / "firmware").rglob("*"):
        if f.is_file() and f.suffix in (".py", ".md") and "__pycache__" not in f.parts:
            assert f.relative_to(ROOT).as_posix() in names, f"{f} is not in the wheel"
    assert "imu/py.typed" in names and "imu/device/firmware.py" in names
    # nothing outside the imu package (the top-level `firmware` link is not shipped twice)
    assert {n.split("/")[0] for n in names} == {"imu", next(
        n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))}


def test_installed_wheel_records_a_virtual_session(
    installed: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    bindir, _, env = installed
    py = str(bindir / "python")
    where = _run([py, "-c", "import imu, imu.device.firmware as f; "
                  "print(imu.__file__); print(f.FIRMWARE_DIR)"], cwd=tmp_path, env=env)
    init, fw = (Path(line) for line in where.split()[:2])
    venv = bindir.parent
    assert venv in init.parents and venv in fw.parents, where  # not the checkout
    assert (fw / "imu_fw" / "app.py").is_file()

    out = tmp_path / "sessions"
    log = _run([str(bindir / "imu"), "record", "--virtual", "bridge", "--duration-s", "5",
                "--out", str(out), "--quiet"], cwd=tmp_path, env=env)
    assert "recorded" in log and "lost 0" in log, log
    assert len(list(out.glob("*.raw.parquet"))) == 1
    (session,) = out.glob("session=*")
    assert (session / "summary.parquet").is_file() and (session / "reps.parquet").is_file()

    check = _run([py, "-m", "imu.device.firmware", "check"], cwd=tmp_path, env=env)
    assert check.startswith("ok:"), check
    plan = _run([str(bindir / "imu"), "firmware", "deploy", "--port", "/dev/null", "--dry-run"],
                cwd=tmp_path, env=env)
    assert f"{fw / 'imu_fw' / 'app.py'} :imu_fw/app.py" in plan, plan
