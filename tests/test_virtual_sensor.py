"""The virtual sensor (unmodified firmware + Bumble + emulated LSM6DSOX) seen by a plain Bumble
central (:class:`imu.testing.harness.Central`) over a LocalLink: advertising, GATT, notifications
sized to the MTU, and no sample lost across a link loss (RESEND from the ring) or mixed up across
a reboot."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest
from bumble.link import LocalLink

from imu.device import protocol as P
from imu.device.chip import ImuRecording
from imu.testing.harness import Central
from imu.testing.recordings import small_recording
from imu.virtual import VirtualSensor

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def rec() -> ImuRecording:
    return small_recording(rate_hz=104, duration_s=8.0)


async def _wait_for(pred: Any, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not pred():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


def _check_against_chip(batch: P.DecodedBatch, sensor: VirtualSensor) -> None:
    prod = sensor.produced
    np.testing.assert_array_equal(batch.acc_counts, prod.acc_counts[batch.seq])
    np.testing.assert_array_equal(batch.gyr_counts, prod.gyr_counts[batch.seq])
    # Each packet carries its first sample's exact tick; others are interpolated (+-1 tick).
    assert np.abs(batch.sensor_ticks % 2**32 - prod.ticks[batch.seq]).max() <= 1


def test_advertise_stream_drop_resend_reboot(rec: ImuRecording) -> None:
    async def run() -> None:
        link = LocalLink()
        sensor = VirtualSensor(link, rec, time_scale=4.0)
        await sensor.start()
        central = Central(link)
        await central.power_on()
        ads = await central.scan()
        assert ads, "no advertisement"
        ad = ads[-1]
        assert str(ad.address) == "F0:F0:F0:F0:F0:01"
        assert "IMU-VIRT" in str(ad.data) and P.SERVICE_UUID.upper() in str(ad.data).upper()

        await central.connect(sensor.address)
        await _wait_for(lambda: sensor.app.mtu == 247)
        st0 = await central.read_status()
        assert st0.flags & P.STATUS_CHIP_OK and not st0.flags & P.STATUS_RUNNING
        # Put the chip's 32-bit timestamp counter 5 s (virtual) before its wrap.
        chip = sensor.chip
        chip.tick_offset += 2**32 - 5 * 40000 - int(chip.ticks_at(sensor.clock.now_us()))
        await central.command(P.ControlCommand.start())
        await _wait_for(lambda: len(P.decode_stream(central.packets)) >= 150)
        assert max(map(len, central.packets)) == 12 + 19 * 12  # sized to MTU 247
        assert all(len(p) <= 244 for p in central.packets)

        # Link loss while streaming: the sensor keeps sampling into its ring.
        await sensor.drop_link()
        assert not sensor.connected
        got = P.decode_stream(central.packets)
        await asyncio.sleep(0.5)  # 2 s of virtual time missed
        await central.connect(sensor.address)
        st = await central.read_status()
        assert st.epoch == st0.epoch + 1 and st.flags & P.STATUS_RUNNING
        await central.command(P.ControlCommand.resend(int(got.seq.max()) + 1))
        await _wait_for(lambda: P.decode_stream(central.packets).seq.max() > st.seq + 300)
        batch = P.decode_stream(central.packets)
        assert batch.n_malformed == 0
        uniq = np.unique(batch.seq)
        np.testing.assert_array_equal(uniq, np.arange(uniq[-1] + 1))  # nothing lost
        prod_ticks = sensor.produced.ticks
        assert prod_ticks[0] > prod_ticks[-1]  # the chip's counter wrapped in the session
        assert batch.sensor_ticks.max() > 2**32  # and the host unwrapped it
        assert (np.diff(batch.sensor_ticks[np.argsort(batch.seq, kind="stable")]) >= 0).all()
        _check_against_chip(batch, sensor)

        # Reboot: new epoch, RAM ring lost, idle until START; seq restarts at 0.
        old_epoch = st.epoch
        await sensor.reboot()
        central.packets.clear()
        await central.connect(sensor.address)
        st2 = await central.read_status()
        assert st2.epoch != old_epoch and not st2.flags & P.STATUS_RUNNING and st2.seq == 0
        await central.command(P.ControlCommand.start())
        await _wait_for(lambda: len(P.decode_stream(central.packets)) >= 40)
        b2 = P.decode_stream(central.packets)
        assert b2.seq[0] == 0
        np.testing.assert_array_equal(b2.seq, np.arange(len(b2)))
        _check_against_chip(b2, sensor)
        assert len(sensor.sessions) == 2
        await sensor.stop()

    asyncio.run(run())


def test_mtu_23_compact_packets(rec: ImuRecording) -> None:
    async def run() -> None:
        link = LocalLink()
        sensor = VirtualSensor(link, rec, time_scale=2.0, name="IMU-V23",
                               address="F0:F0:F0:F0:F0:02")
        await sensor.start()
        central = Central(link, max_mtu=23)
        await central.power_on()
        await central.connect(sensor.address)
        await central.command(P.ControlCommand.start())
        await _wait_for(lambda: len(central.packets) >= 30)
        assert {len(p) for p in central.packets} == {20}
        batch = P.decode_stream(central.packets)
        assert (batch.flags & P.FLAG_COMPACT).all() and batch.n_malformed == 0
        np.testing.assert_array_equal(batch.seq, np.arange(len(batch)))
        _check_against_chip(batch, sensor)
        await sensor.stop()

    asyncio.run(run())


def test_starved_firmware_task_pauses_the_device_instead_of_losing_samples(
        rec: ImuRecording) -> None:
    """The event loop running the firmware is starved while other code keeps reading the
    virtual clock (each reading capped at max_stall_s, but 30 of them between two FIFO drains
    = 3 s of device time = 7 FIFO capacities at 416 Hz). The stall guard pauses the device:
    no FIFO overrun, no hole, every sample in the ring is the chip's, timestamps contiguous."""

    async def run() -> None:
        sensor = VirtualSensor(LocalLink(), rec, time_scale=20.0, sample_rate_hz=416)
        await sensor.start()
        app = sensor.app
        app.handle(P.ControlCommand.start().encode())
        await asyncio.sleep(0.05)
        for _ in range(3):
            for _ in range(30):  # busy host: no await, the firmware task cannot run
                time.sleep(0.006)  # 0.12 s of virtual time, capped at 0.1
                sensor.clock.now_s()
            await asyncio.sleep(0.05)
        assert sensor.clock.skipped_s > 5.0  # the device was paused, not overrun
        assert app.fifo_overflows == 0
        head, cap = app.ring.head, app.ring.capacity
        prod = sensor.produced
        assert 0 < head <= len(prod) and head < cap
        state = np.frombuffer(bytes(app.ring.state), np.uint8)[:head]
        assert np.all(state == 1)
        data = np.frombuffer(bytes(app.ring.data), "<i2").reshape(-1, 6)[:head]
        np.testing.assert_array_equal(data, np.hstack([prod.acc_counts, prod.gyr_counts])[:head])
        ticks = np.frombuffer(bytes(app.ring.ts), "<u4")[:head].astype(np.int64)
        np.testing.assert_array_equal(ticks, prod.ticks[:head])
        assert np.abs(np.diff(ticks) - 40000 / 416).max() <= 1
        await sensor.stop()

    asyncio.run(run())
