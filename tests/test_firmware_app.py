"""The firmware's main loop on the emulated chip, stepped on a manual clock (no real time):
FIFO draining, seq = chip sample index, FIFO overflow -> a seq hole of exactly the lost samples
(stalls of any length, overruns cutting a sample's words, overruns while the FIFO is being read),
ring overwrite, commands."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from bumble.link import LocalLink

from imu.ble.stack import bumble_device
from imu.device import protocol as P
from imu.testing.recordings import small_recording
from imu.virtual.clock import ManualClock
from imu.virtual.loader import FirmwareEnv
from imu.virtual.lsm6dsox import FIFO_DATA_OUT_TAG, Lsm6dsoxEmulator


class SlowBus:
    """The chip behind an I2C bus on which every FIFO burst read takes ``read_s`` of (virtual)
    time, as a slow bus or a preempted MCU would: the chip keeps sampling, so a FIFO that is
    near full overruns while the firmware reads it. ``split``: the overrun happens in the
    middle of a burst (the chip's write pointer overtakes the read pointer)."""

    def __init__(self, chip: Lsm6dsoxEmulator, clock: ManualClock, read_s: float = 0.0,
                 split: bool = False) -> None:
        self.chip, self.clock, self.read_s, self.split = chip, clock, read_s, split

    def read(self, reg: int, n: int) -> bytes:
        if reg != FIFO_DATA_OUT_TAG or not self.read_s:
            return self.chip.read(reg, n)
        if self.split and n >= 14:
            k = n // 7 // 2 * 7
            first = self.chip.read(reg, k)
            self.clock.advance(self.read_s)
            return first + self.chip.read(reg, n - k)
        self.clock.advance(self.read_s)
        return self.chip.read(reg, n)

    def write(self, reg: int, data: bytes) -> None:
        self.chip.write(reg, data)


async def _boot(rate_hz: int, ring: int, read_s: float = 0.0, split: bool = False,
                rec_s: float = 6.0) -> tuple[Any, Any, Lsm6dsoxEmulator, ManualClock]:
    clock = ManualClock()
    rec = small_recording(rate_hz=104, duration_s=rec_s)
    chip = Lsm6dsoxEmulator(rec, clock)
    _, dev = bumble_device(LocalLink(), "F0:F0:F0:F0:F0:09", name="IMU-T")
    await dev.power_on()
    env = FirmwareEnv(clock=clock, device=dev,
                      i2c_devices={0x6A: SlowBus(chip, clock, read_s, split)},
                      config={"RATE_HZ": rate_hz, "RING_SAMPLES": ring, "NAME": "IMU-T"})
    app = env.load("imu_fw.app").App()
    return env, app, chip, clock


def _ring_counts(app: Any, seqs: np.ndarray) -> np.ndarray:
    data = np.frombuffer(bytes(app.ring.data), "<i2").reshape(-1, 6)
    return data[seqs % app.ring.capacity]


def test_app_drains_fifo_and_handles_overflow() -> None:
    async def run() -> None:
        env, app, chip, clock = await _boot(416, 4000)
        assert app.chip_ok and not app.running
        app.handle(P.ControlCommand.start().encode())
        assert app.running and app.last_error == P.ERR_OK
        for _ in range(10):
            clock.advance(0.02)
            app.step()
        prod = chip.sessions[-1]
        n = app.ring.head
        assert abs(n - 0.2 * 416) <= 2
        np.testing.assert_array_equal(prod.seq[:n], np.arange(n))
        np.testing.assert_array_equal(_ring_counts(app, np.arange(n)),
                                      np.hstack([prod.acc_counts, prod.gyr_counts])[:n])
        # Stall for 1.5 s: the 512-word FIFO (170 samples) overflows.
        clock.advance(1.5)
        app.step()
        assert app.fifo_overflows == 1
        head = app.ring.head
        assert head == len(prod)  # the seq counts the lost samples too
        state = np.frombuffer(bytes(app.ring.state), np.uint8)[:head]
        missing = np.flatnonzero(state == 0)
        assert 400 < len(missing) < 500  # 1.5 s x 416 - ~170 kept in the FIFO
        assert missing[0] == n and missing[-1] + 1 < head
        assert state[missing[-1] + 1] == 2  # first sample after the hole carries the mark
        kept = np.flatnonzero(state > 0)
        np.testing.assert_array_equal(_ring_counts(app, kept),
                                      np.hstack([prod.acc_counts, prod.gyr_counts])[kept])
        # Settings are refused while running; STOP then SET_RATE works.
        app.handle(P.ControlCommand.set_rate(52).encode())
        assert app.last_error == P.ERR_BUSY
        app.handle(P.ControlCommand.stop().encode())
        app.handle(P.ControlCommand.set_rate(52).encode())
        assert app.last_error == P.ERR_OK and app.rate_hz == 52
        app.handle(bytes([0x7F]))
        assert app.last_error == P.ERR_UNKNOWN_OP
        env.ble.close()

    asyncio.run(run())


def test_app_ring_overwrite_and_resend_truncation() -> None:
    async def run() -> None:
        env, app, chip, clock = await _boot(208, 500)
        app.handle(P.ControlCommand.start().encode())
        for _ in range(200):  # 4 s at 208 Hz = 832 samples > 500 held
            clock.advance(0.02)
            app.step()
        assert app.ring.head > 800 and app.ring.fill() == 500
        assert app.ring_lost  # never sent (no central): the oldest were overwritten
        app.handle(P.ControlCommand.resend(0).encode())
        assert app.last_error == P.ERR_RESEND_TRUNCATED
        assert app.send_seq == app.ring.oldest()
        app.handle(P.ControlCommand.time_sync(1234).encode())
        assert app.sync_token == 1234 and app.sync_ticks == 4 * 40000
        app.update_status(False)
        st = P.Status.decode(bytes(env.ble.gatts_read(app.server.h_status)))
        assert st.seq == app.ring.head and st.ring_fill == 500 and st.ring_capacity == 500
        assert st.flags & P.STATUS_RUNNING and st.flags & P.STATUS_RING_LOST
        assert st.settings == (8, 1000, 208) and st.sync_token == 1234
        env.ble.close()

    asyncio.run(run())


def _check_ring_exact(app: Any, chip: Lsm6dsoxEmulator) -> tuple[int, int]:
    """Every sample held in the ring is the chip's sample with the same index (counts and
    timestamp), every other index is a hole, and every hole is followed by the overflow mark.
    Returns (samples kept, samples in holes)."""
    prod = chip.sessions[-1]
    head, cap = app.ring.head, app.ring.capacity
    assert head <= len(prod)
    np.testing.assert_array_equal(prod.seq, np.arange(len(prod)))
    seqs = np.arange(app.ring.oldest(), head)
    state = np.frombuffer(bytes(app.ring.state), np.uint8)[seqs % cap]
    kept = seqs[state > 0]
    np.testing.assert_array_equal(_ring_counts(app, kept),
                                  np.hstack([prod.acc_counts, prod.gyr_counts])[kept])
    ticks = np.frombuffer(bytes(app.ring.ts), "<u4").astype(np.int64)[kept % cap]
    np.testing.assert_array_equal(ticks, prod.ticks[kept])
    after_hole = np.flatnonzero((state[:-1] == 0) & (state[1:] > 0)) + 1
    assert np.all(state[after_hole] == 2)  # a seq jump always comes with the overflow mark
    return len(kept), int(np.sum(state == 0))


@pytest.mark.parametrize(("rate_hz", "read_s", "split"), [
    (416, 0.02, False), (416, 0.013, False), (208, 0.031, False), (104, 0.07, False),
    (416, 0.02, True), (416, 0.05, True), (208, 0.031, True)])
def test_overrun_while_reading_the_fifo_keeps_every_seq_exact(rate_hz: int, read_s: float,
                                                               split: bool) -> None:
    """Burst reads slower than the ODR after a stall: the FIFO overruns again and again while
    the firmware reads it. Before the fix, the words after each jump were numbered on as if
    contiguous (seq drifting by one sample per jump, data of later samples under earlier seq)."""

    async def run() -> None:
        env, app, chip, clock = await _boot(rate_hz, 20_000, read_s, split)
        app.handle(P.ControlCommand.start().encode())
        for dt in [0.02] * 10 + [300 / rate_hz] + [0.02] * 40:  # 300 samples > 170 held
            clock.advance(dt)
            app.step()
        n_kept, n_holes = _check_ring_exact(app, chip)
        assert app.fifo_overflows >= 2 and n_holes > 0 and n_kept > 1000
        env.ble.close()

    asyncio.run(run())


@pytest.mark.parametrize(("rate_hz", "stall_s"), [
    *[(416, (171 + k) / 416) for k in range(7)],  # overruns cutting a word group anywhere
    (416, 0.45 + 1 / 1248), (208, 1.0), (52, 11.1),  # ... at other rates
    (416, 5.0),  # many FIFO capacities
    (104, 430.0), (52, 900.0),  # longer than the 24-bit tick counter's 419 s wrap
])
def test_stall_overruns_leave_exact_holes(rate_hz: int, stall_s: float) -> None:
    async def run() -> None:
        env, app, chip, clock = await _boot(rate_hz, 60_000)
        app.handle(P.ControlCommand.start().encode())
        for dt in [0.02] * 7 + [stall_s] + [0.02] * 12:
            clock.advance(dt)
            app.step()
        assert app.fifo_overflows == 1
        n_kept, n_holes = _check_ring_exact(app, chip)
        assert n_holes >= 1 and app.ring.head + 3 >= len(chip.sessions[-1])
        env.ble.close()

    asyncio.run(run())
