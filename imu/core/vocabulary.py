"""The words of the contract (../shared/contract.md, docs/formats.md): placements, activities,
gaits, sides, postures, calibration sources, and the sensor's default offsets.

Plain Python, no numpy: the command line builds its choices from here at start-up.
"""

from __future__ import annotations

from typing import Final

PLACEMENTS: Final = ("left_hip", "right_hip", "sacrum")
"""Where the sensor is clipped (contract section 2)."""

DEFAULT_SENSOR_OFFSET_M: Final[dict[str, tuple[float, float, float]]] = {
    "left_hip": (0.0, 0.16, 0.0),
    "right_hip": (0.0, -0.16, 0.0),
    "sacrum": (-0.12, 0.0, 0.0),
}
"""Sensor position relative to the pelvis centre (midway between the hip joints), pelvis frame
(forward, left, up), metres."""

ACTIVITIES: Final = ("strength", "run")
"""Values of the raw file's ``activity`` and of ``--activity`` (besides ``auto``)."""

SUMMARY_ACTIVITIES: Final = ("strength", "run", "mixed")
"""Values of the summary's ``activity``: ``mixed`` when a session holds sets and running."""

GAITS: Final = ("walk", "run")
"""Values of ``steps.parquet``'s ``gait``."""

SIDES: Final = ("L", "R")
"""Stance leg of a step; empty where it cannot be told."""

POSTURES: Final = ("standing", "supine", "prone", "kneeling", "seated")
"""Rest postures of the body (prone covers hands and knees: trunk horizontal, face down)."""

CALIBRATIONS: Final = ("opening_standing", "standing_rest", "walking", "gait")
"""What neutral / vertical came from (summary ``calibration``)."""
