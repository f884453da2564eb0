"""The firmware's main loop on the emulated chip, stepped on a manual clock (no real time):
FIFO draining, seq = chip sample index, FIFO overflow -> a seq hole of exactly the lost samples,
ring overwrite, commands."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from imu import protocol as P
from imu.virtual.clock import ManualClock
from imu.virtual.loader import FirmwareEnv
from imu.virtual.lsm6dsox import Lsm6dsoxEmulator
from imu.virtual.recording import small_recording


async def _boot(rate_hz: int, ring: int) -> tuple[Any, Any, Lsm6dsoxEmulator, ManualClock]:
    clock = ManualClock()
    rec = small_recording(rate_hz=104, duration_s=6.0)
    chip = Lsm6dsoxEmulator(rec, clock)
    ctrl = Controller("c", link=LocalLink(), public_address="F0:F0:F0:F0:F0:09")
    dev = Device(name="IMU-T", host=Host(ctrl, AsyncPipeSink(ctrl)))
    await dev.power_on()
    env = FirmwareEnv(clock=clock, device=dev, i2c_devices={0x6A: chip},
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
