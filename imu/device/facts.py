"""The sensor chip's facts as plain Python (no numpy): rates, full scales, sensitivities, the
timestamp tick. :mod:`imu.device.chip` re-exports them with the conversions; the command line
reads them from here so that ``imu --help`` imports no numpy. LSM6DSOX data sheet (ST DocID
030289).
"""

from __future__ import annotations

from typing import Final

ACC_LSB_G: Final[dict[int, float]] = {2: 0.061e-3, 4: 0.122e-3, 8: 0.244e-3, 16: 0.488e-3}
"""Accelerometer sensitivity per full scale (g per LSB)."""
GYR_LSB_DPS: Final[dict[int, float]] = {
    125: 4.375e-3, 250: 8.75e-3, 500: 17.5e-3, 1000: 35e-3, 2000: 70e-3,
}
"""Gyroscope sensitivity per full scale (deg/s per LSB)."""

RATES_HZ: Final = (52, 104, 208, 416)
"""Supported output data rates; the wire protocol's ODR code is the index."""
ACC_RANGES_G: Final = tuple(ACC_LSB_G)
"""Accelerometer full scales; the code is the index."""
GYR_RANGES_DPS: Final = tuple(GYR_LSB_DPS)
"""Gyroscope full scales; the code is the index."""
DEFAULT_RATE_HZ: Final = 104
DEFAULT_ACC_RANGE_G: Final = 8
DEFAULT_GYR_RANGE_DPS: Final = 1000

TICK_S: Final = 25e-6
"""One tick of the chip's timestamp counter (nominal)."""
TICKS_PER_S: Final = 40000
