"""Register-level emulation of the ST LSM6DSOX on I2C, fed by a simulated recording.

Emulated: WHO_AM_I (0x6C), CTRL1_XL/CTRL2_G (ODR, full scale), CTRL3_C (SW_RESET, IF_INC),
CTRL10_C, FIFO_CTRL1-4 (watermark, batch data rates, timestamp decimation, bypass/continuous
mode), FIFO_STATUS1/2 (level, WTM_IA, OVR_IA, FIFO_FULL_IA, OVR_LATCHED cleared on read),
FIFO_DATA_OUT_TAG + 6 bytes (burst reads roll back from 0x7E to 0x78), TIMESTAMP0-3 (25 us
counter) and the OUTX registers. Per sample the FIFO receives a timestamp word, a gyro word and
an accelerometer word (AN5272 order), 512 words deep; in continuous mode a full FIFO drops its
oldest words and flags the overrun. Samples are produced on the virtual clock at the configured
ODR; sample k of a batching session plays recording sample floor(k x rate_rec / ODR) (the
recording loops), rescaled if the full scale differs from the recording's.

Stall guard (on when the clock has a ``max_step_s``, i.e. a virtual sensor on wall time): while
batching, the chip holds the virtual clock (:meth:`VirtualClock.hold`) at the instant its FIFO
would pass ``stall_fill`` of its capacity, and moves the hold on whenever the firmware reads.
A firmware task starved by the host thus pauses the whole device (timestamps, seq and MCU ticks
stay consistent: no sample is lost, later samples are simply stamped later) instead of
overflowing the FIFO. Strict mode (``ManualClock`` or ``max_step_s=None``) keeps the real chip's
behaviour: overruns drop the oldest words, for the firmware's overflow handling to be tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from imu.device.chip import ACC_LSB_G, GYR_LSB_DPS, TICKS_PER_S, ImuRecording
from imu.virtual.clock import VirtualClock

WHO_AM_I = 0x0F
FIFO_CTRL1, FIFO_CTRL2, FIFO_CTRL3, FIFO_CTRL4 = 0x07, 0x08, 0x09, 0x0A
CTRL1_XL, CTRL2_G, CTRL3_C, CTRL10_C = 0x10, 0x11, 0x12, 0x19
STATUS_REG = 0x1E
OUTX_L_G, OUTX_L_A = 0x22, 0x28
FIFO_STATUS1, FIFO_STATUS2 = 0x3A, 0x3B
TIMESTAMP0 = 0x40
FIFO_DATA_OUT_TAG = 0x78
FIFO_DATA_OUT_Z_H = 0x7E
FIFO_CAPACITY_WORDS = 512
TAG_GYRO, TAG_ACC, TAG_TIMESTAMP = 0x01, 0x02, 0x04

ODR_HZ = {1: 12.5, 2: 26, 3: 52, 4: 104, 5: 208, 6: 416, 7: 833, 8: 1666}
FS_XL_G = {0: 2, 1: 16, 2: 4, 3: 8}
FS_G_DPS = {0: 250, 1: 500, 2: 1000, 3: 2000}
_TICK_US = 1_000_000 // TICKS_PER_S


@dataclass
class Produced:
    """Samples the chip batched into its FIFO during one session (FIFO bypass -> continuous)."""

    chunks_k: list[NDArray[np.int64]] = field(default_factory=list)
    chunks_ticks: list[NDArray[np.int64]] = field(default_factory=list)
    chunks_acc: list[NDArray[np.int16]] = field(default_factory=list)
    chunks_gyr: list[NDArray[np.int16]] = field(default_factory=list)
    acc_range_g: int = 8
    gyr_range_dps: int = 1000
    rate_hz: float = 104.0

    def _cat(self, chunks: list[NDArray], shape: tuple[int, ...], dtype: type) -> NDArray:
        return np.concatenate(chunks) if chunks else np.zeros(shape, dtype=dtype)

    @property
    def seq(self) -> NDArray[np.int64]:
        """Sample index since the session's FIFO start (= the firmware's sequence number)."""
        return self._cat(self.chunks_k, (0,), np.int64)

    @property
    def ticks(self) -> NDArray[np.int64]:
        """Raw uint32 timestamp of each sample."""
        return self._cat(self.chunks_ticks, (0,), np.int64)

    @property
    def acc_counts(self) -> NDArray[np.int16]:
        return self._cat(self.chunks_acc, (0, 3), np.int16)

    @property
    def gyr_counts(self) -> NDArray[np.int16]:
        return self._cat(self.chunks_gyr, (0, 3), np.int16)

    def __len__(self) -> int:
        return int(sum(len(c) for c in self.chunks_k))


class Lsm6dsoxEmulator:
    """The chip behind an emulated I2C bus: ``read(reg, n)`` and ``write(reg, data)``."""

    def __init__(self, recording: ImuRecording, clock: VirtualClock, tick_offset: int = 0,
                 fifo_words: int = FIFO_CAPACITY_WORDS, stall_guard: bool | None = None,
                 stall_fill: float = 0.5) -> None:
        self.recording = recording
        self.clock = clock
        self.stall_guard = clock.max_step_s is not None if stall_guard is None else stall_guard
        self.stall_fill = float(stall_fill)
        self.tick_offset = int(tick_offset)
        self.fifo_words = fifo_words
        self.rec_rate_hz = float(1.0 / (recording.t_s[1] - recording.t_s[0]))
        self.sessions: list[Produced] = []
        self._power_on()

    # --- state -----------------------------------------------------------------------------
    def _power_on(self) -> None:
        self.regs = bytearray(128)
        self.regs[CTRL3_C] = 0x04  # IF_INC
        self._fifo = bytearray()
        self._ovr = False
        self._ovr_latched = False
        self._t_base_us = self.clock.now_us()
        self._odr_hz = 0.0
        self._t_odr_us = 0
        self._n_odr = 0  # samples produced since the ODR was set
        self._batching = False
        self._n_batch = 0  # samples batched in this FIFO session
        self._n_before_batch = 0  # ODR sample index where batching started
        self._last = np.zeros(6, dtype=np.int16)
        if self.stall_guard:
            self.clock.hold(None)

    def _update_hold(self) -> None:
        """Stall guard: let the clock run only until the FIFO would reach ``stall_fill``."""
        if not self.stall_guard:
            return
        if not self._batching or self._odr_hz <= 0:
            self.clock.hold(None)
            return
        room = max(0, int(self.stall_fill * self.fifo_words) - self.fifo_level) // 3
        # sample i is due at t_odr + (i + 1) / ODR: stop just before sample n_odr + room
        t_next = self._t_odr_us + math.ceil((self._n_odr + room + 1) * 1e6 / self._odr_hz)
        self.clock.hold(t_next - 1)

    def ticks_at(self, t_us: int | NDArray[np.int64]) -> NDArray[np.int64] | int:
        return ((np.asarray(t_us) - self._t_base_us) // _TICK_US + self.tick_offset) % (1 << 32)

    @property
    def fifo_level(self) -> int:
        return len(self._fifo) // 7

    def _ranges(self) -> tuple[int, int]:
        acc = FS_XL_G[(self.regs[CTRL1_XL] >> 2) & 0x3]
        g = self.regs[CTRL2_G]
        gyr = 125 if g & 0x2 else FS_G_DPS[(g >> 2) & 0x3]
        return acc, gyr

    def _advance(self) -> None:
        """Produce every sample due by now on the virtual clock."""
        if self._odr_hz <= 0:
            return
        now = self.clock.now_us()
        due = int((now - self._t_odr_us) * self._odr_hz // 1_000_000)
        m = due - self._n_odr
        if m <= 0:
            return
        idx = np.arange(self._n_odr, due, dtype=np.int64)
        t_us = self._t_odr_us + ((idx + 1) * 1_000_000 / self._odr_hz).astype(np.int64)
        self._n_odr = due
        if not self._batching:
            return
        k = idx - self._n_before_batch
        src = np.floor(k * self.rec_rate_hz / self._odr_hz).astype(np.int64) % len(
            self.recording.t_s)
        acc_g, gyr_dps = self._ranges()
        acc = _rescale(self.recording.acc_counts[src], self.recording.acc_lsb_g, ACC_LSB_G[acc_g])
        gyr = _rescale(self.recording.gyr_counts[src], self.recording.gyr_lsb_dps,
                       GYR_LSB_DPS[gyr_dps])
        ticks = np.asarray(self.ticks_at(t_us), dtype=np.int64)
        sess = self.sessions[-1]
        sess.chunks_k.append(k)
        sess.chunks_ticks.append(ticks)
        sess.chunks_acc.append(acc)
        sess.chunks_gyr.append(gyr)
        self._last = np.concatenate([gyr[-1], acc[-1]])
        self._n_batch += m
        self._push(k, ticks, acc, gyr)

    def _push(self, k: NDArray[np.int64], ticks: NDArray[np.int64], acc: NDArray[np.int16],
              gyr: NDArray[np.int16]) -> None:
        m = len(k)
        with_ts = (self.regs[FIFO_CTRL4] >> 6) & 0x3 != 0
        bdr_xl, bdr_g = self.regs[FIFO_CTRL3] & 0xF, self.regs[FIFO_CTRL3] >> 4
        words = []
        cnt = ((k & 0x3) << 1).astype(np.uint8)
        if with_ts:
            w = np.zeros((m, 7), dtype=np.uint8)
            w[:, 0] = TAG_TIMESTAMP << 3 | cnt
            w[:, 1:5] = ticks.astype("<u4").view(np.uint8).reshape(m, 4)
            words.append(w)
        if bdr_g:
            w = np.zeros((m, 7), dtype=np.uint8)
            w[:, 0] = TAG_GYRO << 3 | cnt
            w[:, 1:7] = gyr.astype("<i2").view(np.uint8).reshape(m, 6)
            words.append(w)
        if bdr_xl:
            w = np.zeros((m, 7), dtype=np.uint8)
            w[:, 0] = TAG_ACC << 3 | cnt
            w[:, 1:7] = acc.astype("<i2").view(np.uint8).reshape(m, 6)
            words.append(w)
        if not words:
            return
        self._fifo += np.stack(words, axis=1).tobytes()
        excess = self.fifo_level - self.fifo_words
        if excess > 0:  # continuous mode: the newest data overwrite the oldest
            del self._fifo[: excess * 7]
            self._ovr = True
            self._ovr_latched = True

    # --- register access -------------------------------------------------------------------
    def write(self, reg: int, data: bytes) -> None:
        self._advance()
        for i, value in enumerate(data):
            self._write_reg(reg + i, value)
        self._update_hold()

    def _write_reg(self, reg: int, value: int) -> None:
        if reg == CTRL3_C and value & 0x01:
            self._power_on()
            return
        old = self.regs[reg]
        self.regs[reg] = value
        if reg == CTRL1_XL and (old >> 4) != (value >> 4):
            self._odr_hz = float(ODR_HZ.get(value >> 4, 0.0))
            self._t_odr_us = self.clock.now_us()
            self._n_odr = 0
            self._n_before_batch = 0
        elif reg == FIFO_CTRL4:
            mode = value & 0x7
            if mode == 0:
                self._batching = False
                self._fifo = bytearray()
                self._ovr = False
            elif mode == 6 and not self._batching:
                self._batching = True
                self._n_batch = 0
                self._n_before_batch = self._n_odr
                acc, gyr = self._ranges()
                self.sessions.append(Produced(acc_range_g=acc, gyr_range_dps=gyr,
                                              rate_hz=self._odr_hz))

    def read(self, reg: int, n: int) -> bytes:
        self._advance()
        out = bytearray()
        if reg == FIFO_DATA_OUT_TAG:
            words = (n + 6) // 7
            take = min(words, self.fifo_level)
            out += self._fifo[: take * 7]
            del self._fifo[: take * 7]
            if take:
                self._ovr = False
            out += bytes(7 * (words - take))
            self._update_hold()
            return bytes(out[:n])
        for r in range(reg, reg + n):
            out.append(self._read_reg(r, first=(r == reg)))
        self._update_hold()
        return bytes(out)

    def _read_reg(self, reg: int, first: bool) -> int:
        if reg == WHO_AM_I:
            return 0x6C
        if reg in (FIFO_STATUS1, FIFO_STATUS2):
            level = min(self.fifo_level, 0x3FF)
            if reg == FIFO_STATUS1:
                return level & 0xFF
            wtm = self.regs[FIFO_CTRL1] | (self.regs[FIFO_CTRL2] & 0x1) << 8
            v = (level >> 8) & 0x3
            if wtm and level >= wtm:
                v |= 0x80
            if self._ovr:
                v |= 0x40
            if level >= self.fifo_words:
                v |= 0x20
            if self._ovr_latched:
                v |= 0x08
                self._ovr_latched = False
            return v
        if TIMESTAMP0 <= reg <= TIMESTAMP0 + 3:
            if first or reg == TIMESTAMP0:
                self._ts_latch = int(self.ticks_at(self.clock.now_us()))
            return (getattr(self, "_ts_latch", 0) >> (8 * (reg - TIMESTAMP0))) & 0xFF
        if STATUS_REG == reg:
            return 0x03 if self._odr_hz > 0 else 0x00
        if OUTX_L_G <= reg < OUTX_L_A + 6:
            b = self._last.astype("<i2").tobytes()
            return b[reg - OUTX_L_G]
        return self.regs[reg & 0x7F]


def _rescale(counts: NDArray[np.int16], lsb_from: float, lsb_to: float) -> NDArray[np.int16]:
    if lsb_from == lsb_to:
        return counts.astype(np.int16)
    return np.clip(np.rint(counts * (lsb_from / lsb_to)), -32768, 32767).astype(np.int16)
