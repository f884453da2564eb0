"""Register-level LSM6DSOX emulation: registers, FIFO words, watermark, overflow, and the stall
guard that pauses the virtual device instead of overflowing when the firmware is starved."""

from __future__ import annotations

import time

import numpy as np
import pytest

from imu.device.chip import ImuRecording
from imu.testing.recordings import small_recording
from imu.virtual import lsm6dsox as L
from imu.virtual.clock import ManualClock, VirtualClock


@pytest.fixture(scope="module")
def rec() -> ImuRecording:
    return small_recording(duration_s=4.0)


def _chip(rec: ImuRecording, **kw: int) -> tuple[L.Lsm6dsoxEmulator, ManualClock]:
    clock = ManualClock()
    return L.Lsm6dsoxEmulator(rec, clock, **kw), clock


def _start(chip: L.Lsm6dsoxEmulator, odr_code: int = 4, fs_xl: int = 3, fs_g: int = 0x8,
           wtm: int = 30) -> None:
    chip.write(L.CTRL1_XL, bytes([odr_code << 4 | fs_xl << 2]))
    chip.write(L.CTRL2_G, bytes([odr_code << 4 | fs_g]))
    chip.write(L.FIFO_CTRL1, bytes([wtm]))
    chip.write(L.FIFO_CTRL3, bytes([odr_code << 4 | odr_code]))
    chip.write(L.FIFO_CTRL4, bytes([0x46]))


def _status(chip: L.Lsm6dsoxEmulator) -> tuple[int, int]:
    s1, s2 = chip.read(L.FIFO_STATUS1, 2)
    return s1 | (s2 & 0x3) << 8, s2


def test_who_am_i_and_reset(rec: ImuRecording) -> None:
    chip, _ = _chip(rec)
    assert chip.read(L.WHO_AM_I, 1) == b"\x6c"
    chip.write(L.CTRL1_XL, b"\x4c")
    assert chip.read(L.CTRL1_XL, 1) == b"\x4c"
    chip.write(L.CTRL3_C, b"\x01")  # SW_RESET
    assert chip.read(L.CTRL1_XL, 1) == b"\x00"
    assert chip.read(L.CTRL3_C, 1)[0] & 0x01 == 0


def test_fifo_words_watermark_and_timestamps(rec: ImuRecording) -> None:
    chip, clock = _chip(rec)
    _start(chip, wtm=30)
    clock.advance(0.05)  # 5 samples at 104 Hz -> 15 words, below the watermark
    level, s2 = _status(chip)
    assert level == 15 and not s2 & 0x80
    clock.advance(0.1)  # 15 samples -> 45 words
    level, s2 = _status(chip)
    assert level == 45 and s2 & 0x80 and not s2 & 0x40
    raw = chip.read(L.FIFO_DATA_OUT_TAG, 7 * 45)  # burst read rolls back to 0x78
    words = np.frombuffer(raw, np.uint8).reshape(15, 3, 7)
    np.testing.assert_array_equal(words[:, :, 0] >> 3, [[L.TAG_TIMESTAMP, L.TAG_GYRO,
                                                         L.TAG_ACC]] * 15)
    acc = words[:, 2, 1:].copy().view("<i2")
    gyr = words[:, 1, 1:].copy().view("<i2")
    np.testing.assert_array_equal(acc, rec.acc_counts[:15])  # same rate and full scale
    np.testing.assert_array_equal(gyr, rec.gyr_counts[:15])
    ticks = words[:, 0, 1:5].copy().view("<u4").ravel().astype(np.int64)
    np.testing.assert_allclose(np.diff(ticks), 40000 / 104, atol=1)
    assert _status(chip)[0] == 0
    p = chip.sessions[-1]
    np.testing.assert_array_equal(p.seq, np.arange(15))
    np.testing.assert_array_equal(p.ticks, ticks)


def test_fifo_overflow_flag_when_not_drained(rec: ImuRecording) -> None:
    chip, clock = _chip(rec)
    _start(chip, odr_code=6)  # 416 Hz
    clock.advance(0.3)  # 125 samples = 375 words: fits
    assert not _status(chip)[1] & 0x48
    clock.advance(1.0)  # 540 samples = 1620 words > 512: the oldest were overwritten
    level, s2 = _status(chip)
    assert level == L.FIFO_CAPACITY_WORDS
    assert s2 & 0x40 and s2 & 0x08 and s2 & 0x20
    assert not _status(chip)[1] & 0x08  # OVR_LATCHED clears on read
    raw = chip.read(L.FIFO_DATA_OUT_TAG, 7)
    assert raw[0] >> 3 in (L.TAG_TIMESTAMP, L.TAG_GYRO, L.TAG_ACC)
    assert not _status(chip)[1] & 0x40  # overrun clears once data are read
    assert len(chip.sessions[-1]) == 540  # floor(1.3 s x 416 Hz): all produced samples logged


def test_full_scale_rescaling_and_timestamp_wrap(rec: ImuRecording) -> None:
    chip, clock = _chip(rec, tick_offset=2**32 - 1000)
    _start(chip, fs_xl=1, fs_g=0xC)  # 16 g, 2000 dps: half the counts of the 8 g recording
    clock.advance(0.2)
    _status(chip)  # the chip produces lazily, on register access
    p = chip.sessions[-1]
    np.testing.assert_allclose(p.acc_counts, rec.acc_counts[: len(p)] / 2, atol=0.51)
    np.testing.assert_allclose(p.gyr_counts, rec.gyr_counts[: len(p)] / 2, atol=0.51)
    assert p.ticks.min() < 1000 < 2**32 - 1000 < p.ticks.max()  # wrapped
    ts = chip.read(L.TIMESTAMP0, 4)
    assert int.from_bytes(ts, "little") == (2**32 - 1000 + 200_000 // 25) % 2**32


def test_stall_guard_pauses_the_device_instead_of_overflowing(rec: ImuRecording) -> None:
    """Stall guard on: 5 s without a FIFO read freeze the clock once the FIFO is half full; no
    overrun, timestamps and sample indices run on without a gap (the device was paused)."""
    clock = ManualClock()
    chip = L.Lsm6dsoxEmulator(rec, clock, stall_guard=True)
    _start(chip, odr_code=6)  # 416 Hz: 170 samples fill the FIFO
    got = []
    for stall_s in (5.0, 0.01, 0.05, 2.0, 0.3):
        clock.advance(stall_s)
        level, s2 = _status(chip)
        assert 0 < level <= L.FIFO_CAPACITY_WORDS // 2 and not s2 & 0x48  # never overrun
        got.append(chip.read(L.FIFO_DATA_OUT_TAG, 7 * level))
    words = np.frombuffer(b"".join(got), np.uint8).reshape(-1, 3, 7)
    p = chip.sessions[-1]
    assert len(words) == len(p)  # every produced sample was read
    np.testing.assert_array_equal(p.seq, np.arange(len(p)))
    ticks = words[:, 0, 1:5].copy().view("<u4").ravel().astype(np.int64)
    np.testing.assert_array_equal(ticks, p.ticks)
    np.testing.assert_allclose(np.diff(ticks), 40000 / 416, atol=1)  # no gap in device time
    # the device ran only while it had FIFO room: the rest of the 7.36 s was skipped
    assert clock.skipped_s > 6.0
    assert abs(len(p) - (7.36 - clock.skipped_s) * 416) <= 1
    assert int.from_bytes(chip.read(L.TIMESTAMP0, 4), "little") * 25 <= clock.now_us()


def test_strict_mode_keeps_overruns() -> None:
    """A ManualClock (or max_step_s=None) is strict: no guard, the FIFO overruns like the chip."""
    clock = ManualClock()
    chip = L.Lsm6dsoxEmulator(small_recording(duration_s=2.0), clock)
    assert not chip.stall_guard
    _start(chip, odr_code=6)
    clock.advance(1.0)
    level, s2 = _status(chip)
    assert level == L.FIFO_CAPACITY_WORDS and s2 & 0x48 and clock.skipped_s == 0.0


def test_virtual_clock_hold_is_monotonic() -> None:
    clock = VirtualClock(time_scale=1000.0, max_step_s=None)
    t0 = clock.now_us()
    clock.hold(t0 + 500)
    time.sleep(0.01)  # 10 s virtual
    assert clock.now_us() <= t0 + 500 and clock.skipped_s > 5.0
    clock.hold(t0 - 1000)  # a hold in the past freezes, never goes back
    t1 = clock.now_us()
    assert t0 <= t1 <= t0 + 500 and clock.now_us() == t1
    clock.hold(None)
    time.sleep(0.002)
    assert clock.now_us() > t1 + 1000
