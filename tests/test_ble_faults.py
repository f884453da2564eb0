"""The sensor client over a real GATT stack (bleak -> Bumble) survives the faults of the field:
every sample the sensor produced arrives exactly once, in order, bit-identical after decoding.

Sensors: the firmware's :class:`imu.virtual.VirtualSensor` and the protocol-only
:class:`imu.ble.mini_sensor.MiniSensor` (for faults the firmware never makes: malformed packets).
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

from imu.ble.assembler import SampleBlock
from imu.ble.bumble_backend import BumbleRadio, OutOfRange
from imu.ble.client import DeviceNotFoundError, SensorClient, StreamConfig
from imu.ble.mini_sensor import MiniSensor
from imu.sim.sensor import ImuRecording

logging.getLogger("bumble").setLevel(logging.ERROR)


def recording(n: int = 40_000, seed: int = 0) -> ImuRecording:
    """Random counts: any reordering, loss or corruption shows in a bit-exact comparison."""
    rng = np.random.default_rng(seed)
    acc = rng.integers(-32768, 32768, (n, 3)).astype(np.int16)
    gyr = rng.integers(-32768, 32768, (n, 3)).astype(np.int16)
    z = np.zeros((n, 3))
    return ImuRecording(np.arange(n) / 104.0, acc, gyr, 0.244e-3, 35e-3, 8, 1000, z, z)


@dataclass
class Run:
    client: SensorClient
    sensor: Any
    blocks: list[SampleBlock] = field(default_factory=list)

    @property
    def seq(self) -> np.ndarray:
        return np.concatenate([b.seq for b in self.blocks])

    @property
    def t_s(self) -> np.ndarray:
        return np.concatenate([b.t_s for b in self.blocks])

    @property
    def acc_g(self) -> np.ndarray:
        return np.concatenate([b.acc_g for b in self.blocks])

    @property
    def gyr_dps(self) -> np.ndarray:
        return np.concatenate([b.gyr_dps for b in self.blocks])


async def stream(
    make_sensor: Callable[[LocalLink], Any],
    faults: Callable[[Any, SensorClient, BumbleRadio], Awaitable[None]],
    *,
    mtu: int = 247,
    rate_hz: int = 104,
    slow_s: float = 0.0,
    **client_kw: Any,
) -> Run:
    link = LocalLink()
    sensor = make_sensor(link)
    await sensor.start()
    radio = BumbleRadio(link, mtu=mtu)
    run = Run(client=None, sensor=sensor)  # type: ignore[arg-type]

    def on_block(b: SampleBlock) -> None:
        run.blocks.append(b)
        if slow_s:
            time.sleep(slow_s)  # a slow consumer (e.g. a disk stall) in the worker thread

    kw = dict(scan_timeout_s=3.0, watchdog_s=1.0, sync_interval_s=0.25, backoff_initial_s=0.05)
    kw.update(client_kw)
    client = SensorClient(
        name=sensor.name, config=StreamConfig(rate_hz=rate_hz), on_block=on_block,
        scanner_backend=radio.scanner_backend, client_backend=radio.client_backend, **kw,
    )
    run.client = client
    stop = asyncio.Event()

    async def script() -> None:
        try:
            await faults(sensor, client, radio)
        finally:
            stop.set()

    task = asyncio.create_task(script())
    await asyncio.wait_for(client.run(stop), 60)
    await task
    await sensor.stop()
    return run


def mini(time_scale: float = 10.0, **kw: Any) -> Callable[[LocalLink], MiniSensor]:
    return lambda link: MiniSensor(link, recording(), time_scale=time_scale, **kw)


def check_exact(run: Run, epoch: int | None = None, tail_s: float = 1.0) -> np.ndarray:
    """Received == produced (one epoch, from its start), except an unsent tail at stop."""
    s: MiniSensor = run.sensor
    produced = s.produced(epoch)
    seq = run.seq
    assert np.all(np.diff(seq) >= 1)
    assert np.all(np.diff(run.t_s) > 0)
    got = seq[: len(produced)] if epoch is None else seq
    assert np.array_equal(got, produced[: len(got)])
    rows = got % len(s.rec.acc_counts)
    assert np.array_equal(run.acc_g[: len(got)], s.rec.acc_g[rows])
    assert np.array_equal(run.gyr_dps[: len(got)], s.rec.gyr_dps[rows])
    missing_tail = len(produced) - len(got)
    assert 0 <= missing_tail <= tail_s * s.rate_hz * s.time_scale
    return got


async def wait_samples(client: SensorClient, n: int, timeout_s: float = 20.0) -> None:
    t0 = time.monotonic()
    while client.assembler.stats.samples < n:
        assert time.monotonic() - t0 < timeout_s, "stream did not start"
        await asyncio.sleep(0.02)


def test_link_loss_30_s_out_of_range_loses_nothing() -> None:
    async def faults(sensor: MiniSensor, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 500)
        with OutOfRange(sensor.controller):  # walked away: link lost, no adverts reach us
            await asyncio.sleep(30.0 / sensor.time_scale)  # ... for 30 s of sensor time
        n = client.assembler.stats.samples
        await wait_samples(client, n + 3000)

    run = asyncio.run(stream(mini(), faults))
    got = check_exact(run)
    st = run.client.stats
    assert st.link_losses >= 1 and st.connects >= 2
    assert run.client.assembler.stats.lost_samples == 0
    assert run.t_s[-1] > 35.0 and len(got) > 30 * 104


def test_missed_disconnect_is_caught_by_the_watchdog() -> None:
    async def faults(sensor: MiniSensor, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 500)
        # only the sensor's side learns about the loss: the host's callback never fires
        for conn in list(sensor.controller.le_connections.values()):
            sensor.controller.on_le_disconnected(conn, 0x08)
        n = client.assembler.stats.samples
        await wait_samples(client, n + 2000)

    run = asyncio.run(stream(mini(), faults, watchdog_s=0.5))
    check_exact(run)
    assert run.client.stats.watchdog_trips >= 1
    assert run.client.assembler.stats.lost_samples == 0


def test_sensor_reboot_is_a_recorded_gap_and_the_session_goes_on() -> None:
    async def faults(sensor: MiniSensor, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 1500)
        await asyncio.sleep(0.1)
        sensor.reboot()
        n = client.assembler.stats.samples
        await wait_samples(client, n + 1500)

    run = asyncio.run(stream(mini(), faults))
    c = run.client
    assert c.stats.reboots == 1 and c.assembler.stats.epochs == 2
    gaps = c.assembler.stats.gaps
    assert len(gaps) == 1 and gaps[0][2] == "reboot" and gaps[0][1] >= 1
    seq, t = run.seq, run.t_s
    assert np.all(np.diff(seq) >= 1) and np.all(np.diff(t) > 0)
    jump = int(np.flatnonzero(np.diff(seq) > 1)[0]) + 1
    assert seq[jump] - seq[jump - 1] - 1 == gaps[0][1] == c.assembler.stats.lost_samples
    # before the reboot: exactly what epoch 1 produced up to the last sent sample
    s: MiniSensor = run.sensor
    first_epoch = sorted(s.produced_seq)[0]
    prod1 = s.produced(first_epoch)
    assert np.array_equal(seq[:jump], prod1[:jump])
    # after: the new epoch from its seq 0, bit-identical, on a continuous time axis
    prod2 = s.produced()
    after = seq[jump:] - seq[jump]
    assert np.array_equal(after, prod2[: len(after)])
    rows = after % len(s.rec.acc_counts)
    assert np.array_equal(run.acc_g[jump:], s.rec.acc_g[rows])
    # the gap in time matches the gap in samples (clock fit across the reboot)
    dt_gap = t[jump] - t[jump - 1]
    assert abs(dt_gap * 104 - (gaps[0][1] + 1)) <= 1.0


def test_mtu_23_smaller_packets_same_data() -> None:
    async def faults(sensor: MiniSensor, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 1500)

    run = asyncio.run(stream(mini(time_scale=3.0), faults, mtu=23))
    check_exact(run)
    a = run.client.assembler.stats
    assert run.client.stats.mtu == 23 and a.packets >= a.samples  # one sample per packet


def test_malformed_and_truncated_notifications_are_counted_and_skipped() -> None:
    async def faults(sensor: MiniSensor, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 300)
        sensor.inject += [b"", b"\x10", b"\xff" * 40, b"\x10\x41\x02\x00" + b"\x00" * 20,
                          b"\x18" + b"\x00" * 50]
        await asyncio.sleep(0.2)
        sensor.inject += [b"\x20" * 100]
        n = client.assembler.stats.samples
        await wait_samples(client, n + 500)

    run = asyncio.run(stream(mini(), faults))
    check_exact(run)
    assert run.client.assembler.stats.malformed == 6
    assert run.client.assembler.stats.lost_samples == 0


def test_slow_consumer_bounded_queue_loses_nothing() -> None:
    async def faults(sensor: MiniSensor, client: SensorClient, radio: BumbleRadio) -> None:
        await wait_samples(client, 3000, timeout_s=40)

    run = asyncio.run(stream(mini(), faults, slow_s=0.25, max_queue_packets=16,
                             watchdog_s=3.0))
    check_exact(run)
    st = run.client.stats
    assert st.overflow_dropped > 0 and st.queue_high_water <= 16  # bounded, drops happened
    assert run.client.assembler.stats.lost_samples == 0  # ... and RESEND filled them


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
