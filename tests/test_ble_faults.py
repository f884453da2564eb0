"""The sensor client over a real GATT stack (bleak -> Bumble) survives the faults of the field:
every sample the sensor produced arrives exactly once, in order, bit-identical after decoding.

Sensors: the firmware's :class:`imu.virtual.VirtualSensor` and the protocol-only
:class:`imu.testing.mini_sensor.MiniSensor` (for faults the firmware never makes: malformed
packets), both on the in-process link of :class:`imu.testing.harness.Rig`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from bumble.link import LocalLink

from imu.ble.bumble_backend import BumbleRadio
from imu.ble.client import DeviceNotFoundError, SensorClient, StreamConfig
from imu.ble.stack import OutOfRange
from imu.device.chip import SampleBlock
from imu.testing.harness import Rig, SensorKind, SensorUnderTest
from imu.testing.recordings import random_recording

RATE = 104

logging.getLogger("bumble").setLevel(logging.ERROR)


@dataclass
class Run:
    client: SensorClient
    sensor: SensorUnderTest
    blocks: list[SampleBlock] = field(default_factory=list)

    def cat(self, name: str) -> np.ndarray:
        return np.concatenate([getattr(b, name) for b in self.blocks])


async def stream(
    kind: SensorKind,
    faults: Callable[[SensorUnderTest, SensorClient, BumbleRadio], Awaitable[None]],
    *,
    mtu: int = 247,
    time_scale: float = 10.0,
    stall: tuple[int, float] | None = None,
    sensor_kw: dict[str, Any] | None = None,
    **client_kw: Any,
) -> Run:
    # random counts: any reordering, loss or corruption shows in a bit-exact comparison
    rig = await Rig.start(kind, random_recording(40_000, RATE), time_scale=time_scale, mtu=mtu,
                          **(sensor_kw or {}))
    sensor, radio = rig.sensor, rig.radio
    run = Run(client=None, sensor=sensor)  # type: ignore[arg-type]

    def on_block(b: SampleBlock) -> None:
        run.blocks.append(b)
        if stall is not None and len(run.blocks) == stall[0]:
            time.sleep(stall[1])  # a slow consumer (a disk stall) in the worker thread

    kw = dict(scan_timeout_s=3.0, watchdog_s=1.0, sync_interval_s=0.25, backoff_initial_s=0.05)
    kw.update(client_kw)
    client = rig.client(config=StreamConfig(rate_hz=RATE), on_block=on_block, **kw)
    run.client = client
    stop = asyncio.Event()

    async def script() -> None:
        try:
            await faults(sensor, client, radio)
        finally:
            stop.set()

    task = asyncio.create_task(script())
    await asyncio.wait_for(client.run(stop), 90)
    await task
    await rig.stop()
    return run


def check_session(run: Run, got: slice, session: int, tail_s: float = 1.0) -> None:
    """Received[got] == what the chip produced in ``session`` from its start, bit-identical
    after decoding; only an unsent tail (at stop or reboot) may be missing."""
    seq, acc_g, gyr_dps = run.cat("seq")[got], run.cat("acc_g")[got], run.cat("gyr_dps")[got]
    p_seq, p_acc, p_gyr = run.sensor.sessions()[session]
    n = len(seq)
    assert np.array_equal(seq - seq[0], p_seq[:n] - p_seq[0])
    rec = run.sensor.rec
    assert np.array_equal(acc_g, (p_acc[:n] * rec.acc_lsb_g).astype(np.float32))
    assert np.array_equal(gyr_dps, (p_gyr[:n] * rec.gyr_lsb_dps).astype(np.float32))
    assert 0 <= len(p_seq) - n <= tail_s * RATE * run.sensor.time_scale


def check_exact(run: Run) -> None:
    """One session, received exactly once, in order, on a strictly increasing clock."""
    seq, t = run.cat("seq"), run.cat("t_s")
    assert np.array_equal(seq, np.arange(len(seq)))
    assert np.all(np.diff(t) > 0)
    check_session(run, slice(None), -1)
    assert run.client.assembler.stats.lost_samples == 0


async def wait_samples(client: SensorClient, n: int, timeout_s: float = 30.0) -> None:
    t0 = time.monotonic()
    while client.assembler.stats.samples < n:
        assert time.monotonic() - t0 < timeout_s, f"only {client.assembler.stats.samples} samples"
        await asyncio.sleep(0.02)


async def wait_no_open_gap(client: SensorClient, quiet_s: float = 0.3,
                           timeout_s: float = 15.0) -> None:
    """Stop only once no gap waits for its RESEND and the bounded queue has dropped nothing
    for ``quiet_s``: stopping earlier would end the session with a gap open (recorded as lost
    at the end of the session) however well the sensor and the client behave."""
    t0 = time.monotonic()
    quiet_since, dropped = t0, client.stats.overflow_dropped
    while time.monotonic() - quiet_since < quiet_s:
        assert time.monotonic() - t0 < timeout_s, f"{client.assembler.pending} samples wait"
        await asyncio.sleep(0.02)
        if client.assembler.pending or client.stats.overflow_dropped != dropped:
            quiet_since, dropped = time.monotonic(), client.stats.overflow_dropped


def test_link_loss_30_s_out_of_range_loses_nothing() -> None:
    clock: list[tuple[float, float]] = []

    async def faults(sensor: SensorUnderTest, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 500)
        clock.append((time.monotonic(), sensor.dev.clock.now_s()))
        with OutOfRange(sensor.controller):  # walked away: link lost, no adverts reach us
            await asyncio.sleep(30.0 / sensor.time_scale)  # ... for 30 s of sensor time
        n = client.assembler.stats.samples
        await wait_samples(client, n + 3500)  # everything held in the ring, then live again
        clock.append((time.monotonic(), sensor.dev.clock.now_s()))

    run = asyncio.run(stream("virtual", faults))
    check_exact(run)
    st = run.client.stats
    assert st.link_losses >= 1 and st.connects >= 2 and st.reboots == 0
    assert run.cat("t_s")[-1] > 35.0
    # the TIME_SYNC fit finds the virtual clock's pace (10x, less when the loop lags)
    pace = (clock[1][1] - clock[0][1]) / (clock[1][0] - clock[0][0])
    assert abs(st.sensor_per_host / pace - 1.0) < 0.1


def test_missed_disconnect_is_caught_by_the_watchdog() -> None:
    async def faults(sensor: SensorUnderTest, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 500)
        # only the sensor's side learns about the loss: the host's callback never fires
        for conn in list(sensor.controller.le_connections.values()):
            sensor.controller.on_le_disconnected(conn, 0x08)
        n = client.assembler.stats.samples
        await wait_samples(client, n + 2000)

    run = asyncio.run(stream("virtual", faults, watchdog_s=0.5, sync_interval_s=30.0))
    check_exact(run)
    assert run.client.stats.watchdog_trips >= 1


def test_sensor_reboot_is_a_recorded_gap_and_the_session_goes_on() -> None:
    async def faults(sensor: SensorUnderTest, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 1500)
        await asyncio.sleep(0.1)
        await sensor.reboot()
        n = client.assembler.stats.samples
        await wait_samples(client, n + 1500)

    run = asyncio.run(stream("virtual", faults))
    c = run.client
    assert c.stats.reboots == 1 and c.assembler.stats.epochs == 2
    gaps = c.assembler.stats.gaps
    assert len(gaps) == 1 and gaps[0][2] == "reboot" and gaps[0][1] >= 1
    seq, t = run.cat("seq"), run.cat("t_s")
    assert np.all(np.diff(t) > 0)
    jumps = np.flatnonzero(np.diff(seq) != 1)
    assert len(jumps) == 1  # one recorded gap, otherwise consecutive
    j = int(jumps[0]) + 1
    assert seq[j] - seq[j - 1] - 1 == gaps[0][1] == c.assembler.stats.lost_samples
    # before: the first session up to the last sample sent; after: the new one from its start
    check_session(run, slice(0, j), 0, tail_s=2.0)
    check_session(run, slice(j, None), -1)
    # the gap in time matches the gap in samples (the clock fit carries across the reboot)
    assert abs((t[j] - t[j - 1]) * RATE - (gaps[0][1] + 1)) <= 1.0


def test_mtu_23_smaller_packets_same_data() -> None:
    async def faults(sensor: SensorUnderTest, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 1500)

    run = asyncio.run(stream("virtual", faults, mtu=23, time_scale=3.0))
    check_exact(run)
    a = run.client.assembler.stats
    assert run.client.stats.mtu == 23 and a.packets >= a.samples  # one sample per packet


def test_slow_consumer_bounded_queue_loses_nothing() -> None:
    async def faults(sensor: SensorUnderTest, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 4000)
        await wait_no_open_gap(client)

    # the consumer stalls for 1.5 s (15 s of sensor time) on its 5th block; the queue holds 16
    run = asyncio.run(stream("virtual", faults, stall=(5, 1.5), max_queue_packets=16,
                             watchdog_s=3.0))
    check_exact(run)
    st = run.client.stats
    assert st.overflow_dropped > 0 and st.queue_high_water <= 16  # bounded, drops happened
    assert run.client.assembler.stats.resend_requests >= 1  # ... and RESEND filled them


def test_malformed_and_truncated_notifications_are_counted_and_skipped() -> None:
    async def faults(sensor: SensorUnderTest, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 300)
        sensor.dev.inject += [b"", b"\x10", b"\xff" * 40, b"\x10\x41\x02\x00" + b"\x00" * 20,
                              b"\x18" + b"\x00" * 50]
        await asyncio.sleep(0.2)
        sensor.dev.inject += [b"\x20" * 100]
        n = client.assembler.stats.samples
        await wait_samples(client, n + 500)

    run = asyncio.run(stream("mini", faults))
    check_exact(run)
    assert run.client.assembler.stats.malformed == 6


def test_absent_device_clear_error_within_timeout() -> None:
    async def go() -> None:
        radio = BumbleRadio(LocalLink())
        client = SensorClient(name="IMU-NOPE", scanner_backend=radio.scanner_backend,
                              client_backend=radio.client_backend, scan_timeout_s=0.5)
        with pytest.raises(DeviceNotFoundError, match="IMU-NOPE"):
            await client.run(asyncio.Event())

    t0 = time.monotonic()
    asyncio.run(go())
    assert time.monotonic() - t0 < 2.5


@pytest.mark.hardware
def test_hardware_streams_ten_seconds_without_loss(request: pytest.FixtureRequest) -> None:
    """With --ble-address: the platform backend (BlueZ/CoreBluetooth/WinRT) and a real sensor."""
    address = request.config.getoption("--ble-address")
    blocks: list[SampleBlock] = []
    client = SensorClient(address=address, config=StreamConfig(rate_hz=RATE),
                          on_block=blocks.append, scan_timeout_s=15.0)
    stats = asyncio.run(client.run(asyncio.Event(), duration_s=10.0))
    seq = np.concatenate([b.seq for b in blocks])
    assert len(seq) >= 9 * RATE and client.assembler.stats.lost_samples == 0
    assert np.array_equal(seq, seq[0] + np.arange(len(seq))) and stats.mtu >= 23
