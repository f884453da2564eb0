"""imu: companion library for a hip-worn motion sensor.

Strength work (reps, sets, tempo, lockout pelvic tilt) and running (steps, contact time,
vertical oscillation, contralateral pelvic drop) from one IMU on the hip or sacrum.

Entry points: :func:`imu.analyze`, :func:`imu.read_session` and the ``imu`` command line. Frames,
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
    from imu.analysis import AnalysisResult, analyze
    from imu.io.store import SessionTables, read_session

_LAZY: dict[str, str] = {
    "analyze": "imu.analysis",
    "AnalysisResult": "imu.analysis",
    "read_session": "imu.io.store",
    "SessionTables": "imu.io.store",
    # room for the catalog and trends API (read_sessions, trends) once they settle
}
"""Top-level name -> the module that defines it (imported on first use)."""

__all__ = ["AnalysisResult", "SessionTables", "__version__", "analyze", "read_session"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'imu' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
