"""imu: companion library for a hip-worn motion sensor.

Strength work (reps, sets, tempo, lockout pelvic tilt) and running (steps, contact time,
vertical oscillation, contralateral pelvic drop) from one IMU on the hip or sacrum.

Entry points: :func:`imu.analyze` and the ``imu`` command line. Frames, units and signs are
defined once in :mod:`imu.core.frames` and documented in ``docs/formats.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from imu.analysis import AnalysisResult

__all__ = ["__version__", "analyze"]


def analyze(source: Any, **options: Any) -> AnalysisResult:
    """Analyse a raw session (path or DataFrame); see :func:`imu.analysis.analyze`."""
    from imu.analysis import analyze as _analyze

    return _analyze(source, **options)
