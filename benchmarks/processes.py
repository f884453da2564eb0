"""Measuring a command the way a user runs it: a child process, its wall time from start to
exit and its own peak RSS (shared by ``bench_process.py`` and ``bench_trends.py``).

    from processes import imu_command, measure
    wall_s, peak_mb, stdout = measure([*imu_command(), "trends", "sessions/"])
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child_env() -> dict[str, str]:
    """The environment as it is, with this checkout first on the module path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def imu_command() -> list[str]:
    """The ``imu`` console script of this venv, else the same through the interpreter."""
    script = Path(sys.executable).with_name("imu")
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from imu.cli import main; sys.exit(main())"]


LAUNCHER = r"""
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=sys.stdout, stderr=sys.stderr)
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "maxrss_kib": usage.ru_maxrss,
                  "code": os.waitstatus_to_exitcode(status)}), file=sys.stderr)
"""
"""Starts the measured process and reports its wall time and peak RSS. Linux counts into a
child's ``ru_maxrss`` the high-water mark of the image it was forked from (exec keeps it), so
the child is started by this small launcher, never by the benchmark itself, which may hold
gigabytes of simulated sessions."""


def measure(argv: list[str], stdout_to_null: bool = False) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process, from its start to its exit
    (``os.wait4``: exactly that child's resource usage). SystemExit if it fails."""
    out = subprocess.DEVNULL if stdout_to_null else subprocess.PIPE
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], stdout=out,
                          stderr=subprocess.PIPE, text=True, env=child_env())
    err = proc.stderr.strip()
    try:
        info = json.loads(err.splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        info = {"code": proc.returncode}
    if info.get("code", 1) != 0:
        raise SystemExit(f"{' '.join(argv)} failed with exit {info.get('code')}:\n{err[-2000:]}")
    return info["wall"], info["maxrss_kib"] / 1024.0, proc.stdout or ""
