"""The sensor client on bleak: lossless streaming across link losses, reboots and slow consumers.

Works with any bleak backend: the platform's (BlueZ, CoreBluetooth, WinRT; ``backend=None``) or
the in-process Bumble one (:mod:`imu.ble.bumble_backend`). Architecture (docs/ble.md):

* the notify callback ONLY appends ``(host time, bytes)`` to a bounded deque (never blocks, never
  decodes); when the deque is full the packet is dropped and counted (``overflow_dropped``) — the
  resulting seq gap is filled from the sensor's ring by RESEND, so memory stays bounded and a
  consumer stall shorter than the ring loses nothing;
* a consumer task drains the deque in batches and, in a worker thread, decodes them with
  :func:`imu.device.protocol.decode_stream` (vectorised), feeds :class:`StreamAssembler`
  (de-duplicate, reorder, gaps, sensor clock) and hands :class:`SampleBlock` objects to
  ``on_block``;
* a supervisor runs the link state machine: scan -> connect -> subscribe -> read status ->
  START (new session) or RESEND(next seq) (resume) or, after a reboot (epoch changed), a new
  epoch + START; a watchdog on notification silence (disconnect callbacks can be missed) and the
  disconnect callback both lead to reconnecting with exponential backoff, rescanning first
  (BlueZ forgets a device after a drop) and never scanning while connecting;
* periodic TIME_SYNC round trips fit the chip clock against the host clock (drift, reboot gaps).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from imu.ble.assembler import ClockFit, StreamAssembler, signed_mod
from imu.ble.discovery import (
    NOT_BONDED,
    WRONG_BOND,
    AmbiguousDeviceError,
    DeviceNotFoundError,
    IncompatibleSensorError,
    SensorError,
    find_unique,
    matcher,
    scan,
)
from imu.device import protocol as P
from imu.device.chip import (
    DEFAULT_ACC_RANGE_G,
    DEFAULT_GYR_RANGE_DPS,
    DEFAULT_RATE_HZ,
    TICK_S,
    SampleBlock,
)

log = logging.getLogger(__name__)

__all__ = ["AmbiguousDeviceError", "DeviceNotFoundError", "IncompatibleSensorError", "LinkStats",
           "SensorClient", "SensorError", "StreamConfig", "scan"]


@dataclass
class StreamConfig:
    rate_hz: int = DEFAULT_RATE_HZ
    acc_range_g: int = DEFAULT_ACC_RANGE_G
    gyr_range_dps: int = DEFAULT_GYR_RANGE_DPS


@dataclass
class LinkStats:
    """Live counters of the link (read by the live line and the report)."""

    state: str = "idle"
    connects: int = 0
    link_losses: int = 0
    watchdog_trips: int = 0
    notifications: int = 0
    overflow_dropped: int = 0
    queue_high_water: int = 0
    reboots: int = 0
    resend_truncated: int = 0
    mtu: int = 0
    device_name: str = ""
    device_address: str = ""
    firmware: str = ""
    drift_ppm: float = 0.0
    sensor_per_host: float = 1.0
    errors: list[str] = field(default_factory=list)


@dataclass
class _EpochMarker:
    """Queued BEFORE the new session's START, so no packet of it is taken for the old one; its
    clock anchor is filled in after the first TIME_SYNC (the consumer waits for ``ready``)."""

    tick_anchor: int | None = None
    t_anchor_s: float | None = None
    ready: threading.Event = field(default_factory=threading.Event)


class SensorClient:
    """Stream one sensor session to ``on_block`` (called in a worker thread, in order).

    Parameters
    ----------
    name, address
        Which sensor (address wins; neither = the first ``IMU-*`` seen).
    config
        Output data rate and full scales written before START.
    on_block
        Receives every accepted :class:`SampleBlock` (in order, exactly once).
    scanner_backend, client_backend
        bleak backends; None = the platform's.
    scan_timeout_s
        Per scan attempt; the first connection fails with :class:`DeviceNotFoundError` after it.
    watchdog_s
        Host seconds of notification silence after which the link is declared lost.
    backoff_initial_s, backoff_max_s
        Exponential backoff between reconnection attempts.
    give_up_s
        Host seconds of unsuccessful reconnection after which the session ends.
    max_queue_packets
        Bound of the notification deque (see module docstring for what happens when full).
    sync_interval_s
        Host seconds between TIME_SYNC round trips.
    gap_timeout_s
        Host seconds a seq gap may wait for its RESEND before it is recorded as lost.
    command_timeout_s
        Limit for one control write or status read.
    settle_s
        Finding a sensor by name (or the first ``IMU-*``): host seconds to keep listening after
        the first match for other devices advertising the same; several distinct addresses are
        refused (:class:`AmbiguousDeviceError`) rather than one picked at random.

    Address pinning: the address of the first connection is kept (:attr:`pinned_address`);
    every reconnection of the session scans for that address only, so a device advertising
    the same name (an impostor, or a second sensor) is never connected to mid-session.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        address: str | None = None,
        config: StreamConfig | None = None,
        on_block: Callable[[SampleBlock], None] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        watchdog_s: float = 2.0,
        backoff_initial_s: float = 0.25,
        backoff_max_s: float = 4.0,
        give_up_s: float = 120.0,
        max_queue_packets: int = 20_000,
        sync_interval_s: float = 2.0,
        gap_timeout_s: float = 3.0,
        command_timeout_s: float = 2.0,
        settle_s: float = 1.0,
    ) -> None:
        self.name = name
        self.address = address
        self.config = config or StreamConfig()
        self.on_block = on_block
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.watchdog_s = watchdog_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.give_up_s = give_up_s
        self.max_queue_packets = max_queue_packets
        self.sync_interval_s = sync_interval_s
        self.command_timeout_s = command_timeout_s
        self.settle_s = settle_s
        self.pinned_address: str | None = None
        """The sensor's address from the first connection on (reconnections accept no other)."""
        self.stats = LinkStats()
        self.assembler = StreamAssembler(self.config.rate_hz, gap_timeout_s=gap_timeout_s)
        self.started_at: str | None = None
        self._queue: collections.deque[tuple[float, bytes | _EpochMarker]] = collections.deque()
        self._wake = asyncio.Event()
        self._lost = asyncio.Event()
        self._client: BleakClient | None = None
        self._last_rx = 0.0
        self._epoch: int | None = None
        self._fit = ClockFit()
        self._arrival_fit = ClockFit()
        self._token = 0
        self._resend_wanted: int | None = None
        self._last_arrival_host = 0.0
        self._consumer_error: BaseException | None = None
        self.session_t_s = 0.0

    # --- the notify callback: append only --------------------------------------------------
    def _on_data(self, _char: Any, data: bytearray) -> None:
        q = self._queue
        now = time.monotonic()
        self._last_rx = now  # the link is alive even when the queue is full
        if len(q) >= self.max_queue_packets:
            self.stats.overflow_dropped += 1
            return
        q.append((now, bytes(data)))
        self._wake.set()

    def _on_disconnect(self, _client: BleakClient) -> None:
        self._lost.set()

    # --- public ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, duration_s: float | None = None) -> LinkStats:
        """Record until ``stop`` is set, ``duration_s`` of session time has been received, or
        the sensor stays away longer than ``give_up_s``. Raises DeviceNotFoundError if the
        sensor is not found at the start."""
        consumer = asyncio.create_task(self._consume(stop))
        try:
            await self._supervise(stop, duration_s)
        finally:
            await self._shutdown()
            self._wake.set()
            self._stopping = True
            await consumer
        if self._consumer_error is not None:
            raise self._consumer_error
        return self.stats

    _stopping = False

    # --- supervisor ----------------------------------------------------------------------------
    async def _find(self) -> BLEDevice | None:
        self.stats.state = "scanning"
        address = self.pinned_address or self.address
        if address is not None:
            return await BleakScanner.find_device_by_filter(
                matcher(None, address), timeout=self.scan_timeout_s,
                backend=self.scanner_backend,
            )
        return await find_unique(self.name, self.scan_timeout_s, self.settle_s,
                                 self.scanner_backend)

    async def _connect_once(self) -> bool:
        device = await self._find()
        if device is None:
            return False
        self.stats.state = "connecting"
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnect,
            timeout=self.connect_timeout_s,
            backend=self.client_backend,
        )
        self._lost.clear()
        self._client = client
        try:
            await asyncio.wait_for(self._open(client, device), self.connect_timeout_s)
        except BaseException:
            await self._drop_client()
            raise
        return True

    async def _open(self, client: BleakClient, device: BLEDevice) -> None:
        await client.connect()
        self.stats.connects += 1
        self.stats.mtu = client.mtu_size
        self.pinned_address = device.address
        self.stats.device_address = device.address
        self.stats.device_name = device.name or self.name or ""
        self.stats.state = "configuring"
        await client.start_notify(P.DATA_UUID, self._on_data)
        status = await self._read_status()
        if status.ring_capacity:
            self.assembler.ring_capacity = status.ring_capacity
        if not self.stats.firmware:
            self.stats.firmware = await self._firmware_string(status)
        await self._resume_or_start(status)
        self._last_rx = time.monotonic()
        self.stats.state = "streaming"

    async def _firmware_string(self, status: P.Status) -> str:
        assert self._client is not None
        rev = f"{status.fw_major}.{status.fw_minor}"
        with contextlib.suppress(BleakError, KeyError, ValueError, AttributeError):
            raw = await self._client.read_gatt_char(P.FIRMWARE_REVISION_UUID)
            rev = bytes(raw).decode("utf-8", "replace") or rev
        return rev

    async def _gatt(self, operation: Awaitable[Any]) -> Any:
        """One GATT operation within ``command_timeout_s``. A link that drops meanwhile may
        cancel the operation's future inside the stack (Bumble does): that is a lost link
        (BleakError), not a cancellation of this task, which would end the session."""
        try:
            return await asyncio.wait_for(operation, self.command_timeout_s)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            raise BleakError("the link dropped during a GATT operation") from None

    async def _read_status(self) -> P.Status:
        assert self._client is not None
        raw = await self._gatt(self._client.read_gatt_char(P.STATUS_UUID))
        try:
            return P.Status.decode(bytes(raw))
        except ValueError as exc:
            who = self.pinned_address or "the device"
            raise IncompatibleSensorError(f"{who} is not a compatible sensor: {exc}") from None

    async def _command(self, cmd: P.ControlCommand) -> None:
        """Write a control command (with response); a silent link fails it within
        ``command_timeout_s`` instead of the 30 s ATT timeout, so the watchdog stays prompt."""
        assert self._client is not None
        await self._gatt(
            self._client.write_gatt_char(P.CONTROL_UUID, cmd.encode(), response=True)
        )

    async def _await_status(
        self, done: Callable[[P.Status], bool], timeout_s: float = 1.5
    ) -> P.Status:
        """Poll the status until ``done`` (the firmware applies commands in its main loop, so a
        write's effect shows a few ms later); returns the last status read either way."""
        t_end = time.monotonic() + timeout_s
        while True:
            st = await self._read_status()
            if done(st) or time.monotonic() > t_end:
                return st
            await asyncio.sleep(0.01)

    async def _start_new_session(self) -> P.Status:
        c = self.config
        status = await self._read_status()
        try:
            if status.flags & P.STATUS_RUNNING:
                await self._command(P.ControlCommand.stop())
                status = await self._await_status(lambda s: not s.flags & P.STATUS_RUNNING)
            old_epoch = status.epoch
            await self._command(P.ControlCommand.set_rate(c.rate_hz))
            await self._command(P.ControlCommand.set_ranges(c.acc_range_g, c.gyr_range_dps))
            await self._command(P.ControlCommand.start())
        except BleakError:
            if status.flags & P.STATUS_BONDED and not status.flags & P.STATUS_SECURE:
                raise SensorError(NOT_BONDED) from None  # ATT 0x0F: encryption needed
            raise
        status = await self._await_status(
            lambda s: bool(s.flags & P.STATUS_RUNNING) and s.epoch != old_epoch
        )
        if status.last_error == P.ERR_NOT_BONDED:
            raise SensorError(NOT_BONDED)
        if not status.flags & P.STATUS_RUNNING or status.last_error != P.ERR_OK:
            raise SensorError(f"the sensor did not start ({P.error_text(status.last_error)})")
        try:
            settings = status.settings
        except ValueError as exc:
            raise IncompatibleSensorError(f"the sensor reports {exc}") from None
        if settings != (c.acc_range_g, c.gyr_range_dps, c.rate_hz):
            raise SensorError(f"the sensor runs {settings}, not the requested settings")
        self._epoch = status.epoch
        return status

    async def _resume_or_start(self, status: P.Status) -> None:
        if self._epoch is None:  # first connection of this recording
            await self._start_new_session()
            self.started_at = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
            await self._time_sync()
            return
        rebooted = status.epoch != self._epoch or not status.flags & P.STATUS_RUNNING
        if rebooted:
            self.stats.reboots += 1
            # anchor the new epoch on the old epoch's clock: sync now, before START resets seq
            host_now = time.monotonic()
            a = self.assembler
            t_old_now = (
                self._fit.sensor_at(host_now) + a.session_t_offset_s if self._fit.n >= 2 else None
            )
            self._fit = ClockFit()
            self._arrival_fit = ClockFit()
            marker = _EpochMarker()
            self._queue.append((time.monotonic(), marker))
            try:
                await self._start_new_session()
                pair = await self._time_sync(record=False)
                if pair is not None and t_old_now is not None:
                    tick, host_mid = pair
                    marker.tick_anchor = tick
                    marker.t_anchor_s = t_old_now + (host_mid - host_now) * self._slope
            finally:
                marker.ready.set()
                self._wake.set()
            return
        nxt = self.assembler.next_expected
        await self._resend(nxt if nxt is not None else 0)

    async def _resend(self, seq: int) -> None:
        """RESEND from ``seq``; if the sensor no longer holds it, the gap is accepted at once."""
        await self._command(P.ControlCommand.resend(seq))
        after = await self._await_status(lambda s: bool(s.flags & P.STATUS_STREAMING))
        if after.last_error == P.ERR_RESEND_TRUNCATED:
            self.stats.resend_truncated += 1
            self.assembler.accept_gap_now = True

    _slope = 1.0

    async def _time_sync(self, record: bool = True) -> tuple[int, float] | None:
        """One TIME_SYNC round trip: (chip ticks, host mid-point) or None if unsupported."""
        if self._client is None or not self._client.is_connected:
            return None
        self._token = (self._token + 1) % (1 << 32)
        t0 = time.monotonic()
        await self._command(P.ControlCommand.time_sync(self._token))
        t1 = time.monotonic()
        token = self._token
        st = await self._await_status(lambda s: s.sync_token == token, timeout_s=0.5)
        if st.sync_token != token:
            return None
        host_mid = 0.5 * (t0 + t1)
        ref = self.assembler.last_tick
        tick = ref + int(signed_mod(st.sync_ticks - ref, self.assembler.tick_mod))
        if record and self.assembler.next_expected is not None:  # needs a tick reference
            self._fit.add(host_mid, tick * TICK_S)
            self._slope = self._fit.slope if self._fit.n >= 2 else self._slope
            self.assembler.sensor_per_host = self._slope
            self.stats.sensor_per_host = self._slope
            self.stats.drift_ppm = (self._slope - 1.0) * 1e6
        return tick, host_mid

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 3.0)

    async def _supervise(self, stop: asyncio.Event, duration_s: float | None) -> None:
        # first connection: a clear error if the sensor is absent; Ctrl-C is not kept waiting
        first = asyncio.create_task(self._connect_once())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({first, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if first.done() and not first.cancelled() and isinstance(first.exception(), BleakError):
            if "encrypt" in str(first.exception()).lower():  # the stack's bond did not match
                raise SensorError(WRONG_BOND.format(first.exception())) from None
        if not first.done():
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await first
            return
        if not first.result():
            what = self.address or self.name or f"{P.NAME_PREFIX}*"
            raise DeviceNotFoundError(
                f"no sensor {what} found within {self.scan_timeout_s:g} s "
                "(is it on, in range and not connected to another host?)"
            )
        next_sync = time.monotonic() + self.sync_interval_s
        while not stop.is_set():
            if duration_s is not None and self.assembler.last_t_s >= duration_s:
                break
            now = time.monotonic()
            connected = self._client is not None and self._client.is_connected
            silent = now - self._last_rx > self.watchdog_s
            if self._lost.is_set() or not connected or silent:
                if silent and connected and not self._lost.is_set():
                    self.stats.watchdog_trips += 1
                self.stats.link_losses += 1
                await self._reconnect(stop)
                next_sync = time.monotonic() + self.sync_interval_s
                continue
            try:
                if self._resend_wanted is not None:
                    seq, self._resend_wanted = self._resend_wanted, None
                    await self._resend(seq)
                if now >= next_sync:
                    next_sync = now + self.sync_interval_s
                    await self._time_sync()
            except (BleakError, TimeoutError, OSError) as exc:
                log.info("command failed: %s", exc)
                self._lost.set()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), 0.05)

    async def _reconnect(self, stop: asyncio.Event) -> None:
        self.stats.state = "reconnecting"
        await self._drop_client()
        delay = self.backoff_initial_s
        t_start = time.monotonic()
        while not stop.is_set():
            try:
                if await self._connect_once():
                    return
            except Exception as exc:  # noqa: BLE001 - any failure: back off and try again
                log.info("reconnect attempt failed: %s", exc)
            if time.monotonic() - t_start > self.give_up_s:
                self.stats.errors.append(f"sensor away for more than {self.give_up_s:g} s")
                stop.set()
                return
            self.stats.state = "backoff"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(self.backoff_max_s, delay * 2)

    async def _shutdown(self) -> None:
        self.stats.state = "stopping"
        client = self._client
        if client is not None and client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._command(P.ControlCommand.stop()), 2.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.stop_notify(P.DATA_UUID), 2.0)
        await self._drop_client()
        self.stats.state = "stopped"

    # --- consumer ------------------------------------------------------------------------------
    async def _consume(self, stop: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.2)
            self._wake.clear()
            q = self._queue
            self.stats.queue_high_water = max(self.stats.queue_high_water, len(q))
            items = [q.popleft() for _ in range(min(len(q), 5000))]
            if items:
                try:
                    resend = await asyncio.to_thread(self._process, items)
                except BaseException as exc:  # keep the session alive; report at the end
                    log.exception("consumer failed")
                    self._consumer_error = exc
                    stop.set()
                    return
                if resend is not None:
                    self._resend_wanted = resend
                if q:
                    self._wake.set()
                continue
            if self._stopping and not q:
                break
            if self.assembler.pending:  # let a gap time out even without new packets
                await asyncio.to_thread(self._process, [])
        blocks = self.assembler.finish()
        for b in blocks:
            self._deliver(b)

    def _process(self, items: list[tuple[float, bytes | _EpochMarker]]) -> int | None:
        """Worker thread: decode, assemble, deliver. Returns a seq to RESEND from, if any."""
        resend: int | None = None
        segment: list[bytes] = []
        host_t = time.monotonic()

        def run_segment() -> None:
            nonlocal resend
            batch = P.decode_stream(segment)
            gap = (host_t - self._last_arrival_host) * self._slope
            block, want = self.assembler.feed(batch, host_t, host_gap_s=gap)
            for b in self.assembler.take_flushed():
                self._deliver(b)
            if block is not None:
                self._deliver(block)
                self._last_arrival_host = host_t
                if not (batch.flags & P.FLAG_RESEND).any() and self._fit.n < 2:
                    self._arrival_fit.add(host_t, self.assembler.last_tick * TICK_S)
                    if self._arrival_fit.n >= 2:
                        self._slope = self._arrival_fit.slope
                        self.assembler.sensor_per_host = self._slope
            if want is not None:
                resend = want
            segment.clear()

        for host_t_item, item in items:
            if isinstance(item, _EpochMarker):
                if segment:
                    run_segment()
                item.ready.wait(5.0)
                self.assembler.new_epoch(item.tick_anchor, item.t_anchor_s)
                for b in self.assembler.take_flushed():
                    self._deliver(b)
                continue
            host_t = host_t_item
            segment.append(item)
            self.stats.notifications += 1
        if segment or not items:
            run_segment()
        return resend

    def _deliver(self, block: SampleBlock) -> None:
        self.session_t_s = float(block.t_s[-1])
        if self.on_block is not None:
            self.on_block(block)
