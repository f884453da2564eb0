"""imu: companion library for a hip-worn motion sensor.

Strength work (reps, sets, tempo, lockout pelvic tilt) and running (steps, contact time,
vertical oscillation, contralateral pelvic drop) from one IMU on the hip or sacrum.

Entry points: :func:`imu.analyze` (one raw session -> tables), :func:`imu.analyze_many` (many
raw sessions into a folder: local processes or a Dask cluster), :func:`imu.report` (its readable
report), :func:`imu.read_session` (one stored session folder), :func:`imu.read_sessions` (one row
per stored session), :func:`imu.trends` (trends across stored sessions) and the ``imu`` command
line. Frames,
units and signs are defined once in :mod:`imu.core.frames` and documented in ``docs/formats.md``;
the package's layers in ``docs/architecture.md``.

The top-level names load lazily (PEP 562): ``import imu.device.protocol`` imports this file but
none of the analysis stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from imu.core.version import __version__

if TYPE_CHECKING:
    from imu import trends
    from imu.analysis import AnalysisResult, analyze
    from imu.batch import Outcome, analyze_many
    from imu.io.store import SessionTables, read_session
    from imu.render.terminal import render as report
    from imu.trends import TrendReport, read_sessions

_LAZY: dict[str, tuple[str, str]] = {
    "analyze": ("imu.analysis", "analyze"),
    "AnalysisResult": ("imu.analysis", "AnalysisResult"),
    "analyze_many": ("imu.batch", "analyze_many"),
    "Outcome": ("imu.batch", "Outcome"),
    "report": ("imu.render.terminal", "render"),
    "read_session": ("imu.io.store", "read_session"),
    "SessionTables": ("imu.io.store", "SessionTables"),
    "read_sessions": ("imu.trends", "read_sessions"),
    "trends": ("imu.trends", ""),  # the subpackage itself, callable: imu.trends(DIR)
    "TrendReport": ("imu.trends", "TrendReport"),
}
"""Top-level name -> (module, name there), imported on first use."""

__all__ = [
    "AnalysisResult",
    "Outcome",
    "SessionTables",
    "TrendReport",
    "__version__",
    "analyze",
    "analyze_many",
    "read_session",
    "read_sessions",
    "report",
    "trends",
]


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'imu' has no attribute {name!r}")
    module, attr = where
    loaded = importlib.import_module(module)
    value = getattr(loaded, attr) if attr else loaded
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
