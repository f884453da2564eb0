"""The sensor chip's facts (LSM6DSOX): output data rates, full scales, sensitivities, the
timestamp tick, and the one conversion from int16 counts to units.

Numpy only: the wire protocol, the BLE client, the chip emulator and the simulator all read
these, so importing them costs nothing beyond numpy. The plain numbers live in
:mod:`imu.device.facts` (no numpy, for the command line's start-up) and are re-exported
here. Figures are those of the LSM6DSOX data sheet (ST DocID 030289).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from imu.device.facts import (
    ACC_LSB_G,
    ACC_RANGES_G,
    DEFAULT_ACC_RANGE_G,
    DEFAULT_GYR_RANGE_DPS,
    DEFAULT_RATE_HZ,
    GYR_LSB_DPS,
    GYR_RANGES_DPS,
    RATES_HZ,
    TICK_S,
    TICKS_PER_S,
)

__all__ = [
    "ACC_LSB_G",
    "ACC_RANGES_G",
    "DEFAULT_ACC_RANGE_G",
    "DEFAULT_GYR_RANGE_DPS",
    "DEFAULT_RATE_HZ",
    "GYR_LSB_DPS",
    "GYR_RANGES_DPS",
    "RATES_HZ",
    "TICKS_PER_S",
    "TICK_S",
    "CountsInUnits",
    "ImuRecording",
    "SampleBlock",
    "counts_to_float32",
    "counts_to_units",
    "quantise",
]


def counts_to_units(counts: NDArray[np.integer], lsb: float | NDArray[np.floating]) -> NDArray:
    """Raw int16 counts -> physical units (g or deg/s): ``counts * lsb`` as float64.

    ``lsb`` is a scalar or a per-sample array (broadcast over the last axis).
    """
    lsb_arr = np.asarray(lsb, dtype=np.float64)
    if lsb_arr.ndim == 1:
        lsb_arr = lsb_arr[:, None]
    return counts.astype(np.float64) * lsb_arr


def counts_to_float32(counts: NDArray[np.integer], lsb: float) -> NDArray[np.float32]:
    """Counts as the raw file stores them (float32 of ``counts * lsb``): one definition, so
    that the simulator, the BLE decoder and a replay agree to the bit."""
    return counts_to_units(counts, lsb).astype(np.float32)


def quantise(
    x: NDArray[np.float64], lsb: float, full_scale: float | None = None
) -> NDArray[np.int16]:
    """Round to counts and saturate at the full scale (or the int16 rail, whichever is nearer).

    The nominal full scale is the rail: e.g. +-1000 deg/s at 35 mdps/LSB is +-28571 counts, and
    +-8 g at 0.244 mg/LSB meets the int16 limit first (7.995 g).
    """
    rail = 32767.0 if full_scale is None else min(32767.0, np.floor(full_scale / lsb))
    return np.clip(np.rint(x / lsb), -rail, rail).astype(np.int16)


class CountsInUnits:
    """``acc_g`` / ``gyr_dps`` for a class holding int16 counts and their sensitivities, as
    the raw file stores them (shared by the simulator's recording and the BLE decoder)."""

    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    acc_lsb_g: float
    gyr_lsb_dps: float

    @property
    def acc_g(self) -> NDArray[np.float32]:
        return counts_to_float32(self.acc_counts, self.acc_lsb_g)

    @property
    def gyr_dps(self) -> NDArray[np.float32]:
        return counts_to_float32(self.gyr_counts, self.gyr_lsb_dps)


@dataclass
class ImuRecording(CountsInUnits):
    """What the chip produced: int16 counts at the output data rate plus their scales (from
    the simulator, or a replayed file), as the chip emulator plays it out."""

    t_s: NDArray[np.float64]
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    acc_lsb_g: float
    gyr_lsb_dps: float
    acc_range_g: int
    gyr_range_dps: int
    true_acc_g: NDArray[np.float64] = field(repr=False)
    """Ideal specific force at the output rate, before the sensor errors (for tests)."""
    true_gyr_dps: NDArray[np.float64] = field(repr=False)

    def saturated(self) -> NDArray[np.bool_]:
        """Samples with any axis on its rail."""
        acc_rail = min(32767.0, np.floor(self.acc_range_g / self.acc_lsb_g))
        gyr_rail = min(32767.0, np.floor(self.gyr_range_dps / self.gyr_lsb_dps))
        rails = (np.abs(self.acc_counts.astype(np.int32)) >= acc_rail) | (
            np.abs(self.gyr_counts.astype(np.int32)) >= gyr_rail
        )
        return rails.any(axis=1)


@dataclass
class SampleBlock(CountsInUnits):
    """Consecutive samples as they arrive from the sensor: counts with their sensitivities,
    the session sequence number ``seq`` and the session time ``t_s`` of each sample (what the
    stream assembler emits and the recorder and the live rep counter consume)."""

    seq: NDArray[np.int64]
    t_s: NDArray[np.float64]
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    acc_lsb_g: float
    gyr_lsb_dps: float

    def __len__(self) -> int:
        return len(self.seq)
