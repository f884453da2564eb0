"""A small pure-Python protocol-v1 sensor on Bumble (docs/protocol.md), for testing the client.

It is not the firmware (that runs in :mod:`imu.virtual`); it exists so that the host side can be
tested on its own, including faults the firmware would never produce (malformed notifications).
Ring buffer, START/STOP/SET_RATE/SET_RANGES/RESEND/TIME_SYNC and the status characteristic
follow docs/protocol.md; the chip's timestamp counter starts near its 32-bit wrap so that the
host's unwrapping is exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink

from imu.ble.stack import advertise, bumble_device, drop_links
from imu.device import protocol as P
from imu.device.chip import RATES_HZ, TICKS_PER_S, ImuRecording


class MiniSensor:
    """Streams ``recording``'s counts (looped) at ``time_scale`` x real time."""

    def __init__(
        self,
        link: LocalLink,
        recording: ImuRecording,
        name: str = "IMU-MINI",
        address: str = "F0:F0:F0:F0:F0:0A",
        time_scale: float = 1.0,
        ring_capacity: int = 20_000,
        tick0: int = (1 << 32) - 40_000 * 3,
    ) -> None:
        self.link = link
        self.rec = recording
        self.name = name
        self.address = address
        self.time_scale = time_scale
        self.ring_capacity = ring_capacity
        self.tick0 = tick0
        self.rate_hz = 104
        self.acc_range_g, self.gyr_range_dps = 8, 1000
        self.epoch = 0
        self.running = False
        self.streaming = False
        self.seq = 0
        self.sent = 0
        self.last_error = P.ERR_OK
        self.sync = (0, 0)
        self.produced_seq: dict[int, list[np.ndarray]] = {}
        """Device seqs the chip produced, per epoch."""
        self.inject: list[bytes] = []
        """Raw notifications to send before the next packet (fault injection)."""
        self._t0 = 0.0
        self._task: asyncio.Task[None] | None = None
        self.connection: Connection | None = None
        self.controller, self.device = bumble_device(link, address, name=name,
                                                     controller_name="mini")
        props = Characteristic.Properties
        self.data = Characteristic(P.DATA_UUID, props.NOTIFY, Characteristic.READABLE, b"")
        self.control = Characteristic(
            P.CONTROL_UUID, props.WRITE, Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_control),
        )
        self.status = Characteristic(
            P.STATUS_UUID, props.READ | props.NOTIFY, Characteristic.READABLE,
            CharacteristicValue(read=lambda _c: self._status().encode()),
        )
        self.device.add_service(Service(P.SERVICE_UUID, [self.data, self.control, self.status]))
        fw = Characteristic(
            P.FIRMWARE_REVISION_UUID, props.READ, Characteristic.READABLE, b"mini-1.0"
        )
        self.device.add_service(Service(P.DEVICE_INFO_SERVICE_UUID, [fw]))
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        # ring: device seq -> row of the recording
        self._ring_first = 0

    # --- chip ----------------------------------------------------------------------------------
    def _ticks(self, seq: np.ndarray | int) -> np.ndarray | int:
        ticks = np.rint(np.asarray(seq) * (TICKS_PER_S / self.rate_hz)).astype(np.int64)
        return (self.tick0 + ticks) % (1 << 32)

    def _produce(self) -> None:
        if not self.running:
            return
        want = int((time.monotonic() - self._t0) * self.rate_hz * self.time_scale)
        if want > self.seq:
            self.produced_seq.setdefault(self.epoch, []).append(np.arange(self.seq, want))
            self.seq = want
            self._ring_first = max(self._ring_first, self.seq - self.ring_capacity)

    def produced(self, epoch: int | None = None) -> np.ndarray:
        """Device seqs produced in ``epoch`` (default: the current one)."""
        parts = self.produced_seq.get(self.epoch if epoch is None else epoch, [])
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def counts(self, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(seq) % len(self.rec.acc_counts)
        return self.rec.acc_counts[rows], self.rec.gyr_counts[rows]

    # --- GATT ----------------------------------------------------------------------------------
    def _status(self) -> P.Status:
        flags = (P.STATUS_RUNNING if self.running else 0) | (
            P.STATUS_STREAMING if self.streaming else 0) | P.STATUS_CHIP_OK
        return P.Status(
            flags=flags, ranges=P.ranges_code(self.acc_range_g, self.gyr_range_dps, self.rate_hz),
            last_error=self.last_error, epoch=self.epoch, seq=self.seq, packets_sent=0,
            ring_fill=min(self.seq, self.ring_capacity) & 0xFFFF,
            sync_token=self.sync[0], sync_ticks=self.sync[1],
            ring_capacity=min(self.ring_capacity, 0xFFFF),
        )

    def _on_control(self, _conn: Connection, value: bytes) -> None:
        self._produce()
        try:
            cmd = P.ControlCommand.decode(bytes(value))
        except ValueError:
            self.last_error = P.ERR_BAD_LENGTH
            return
        self.last_error = P.ERR_OK
        if cmd.op == P.OP_START:
            if not self.running:
                self.running, self.seq, self._ring_first, self.sent = True, 0, 0, 0
                self.epoch += 1
                self._t0 = time.monotonic()
            self.streaming = True
        elif cmd.op == P.OP_STOP:
            self.running = self.streaming = False
        elif cmd.op == P.OP_SET_RATE:
            if self.running:
                self.last_error = P.ERR_BUSY
            elif cmd.rate_hz in RATES_HZ:
                self.rate_hz = cmd.rate_hz
            else:
                self.last_error = P.ERR_BAD_VALUE
        elif cmd.op == P.OP_SET_RANGES:
            if self.running:
                self.last_error = P.ERR_BUSY
            else:
                self.acc_range_g, self.gyr_range_dps = cmd.acc_range_g, cmd.gyr_range_dps
        elif cmd.op == P.OP_RESEND:
            self.sent = max(cmd.from_seq, self._ring_first)
            if cmd.from_seq < self._ring_first:
                self.last_error = P.ERR_RESEND_TRUNCATED
            self.streaming = True
        elif cmd.op == P.OP_TIME_SYNC:
            self.sync = (cmd.token, int(self._ticks(self.seq)))

    def _on_connection(self, conn: Connection) -> None:
        self.connection = conn
        self.streaming = False
        conn.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, _reason: int) -> None:
        self.connection = None
        self.streaming = False

    async def _pump(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self._produce()
            conn = self.connection
            if conn is None or not self.streaming:
                continue
            for raw in self.inject:
                await self.device.notify_subscriber(conn, self.data, raw)
            self.inject.clear()
            per = max(1, P.max_samples_per_packet(conn.att_mtu))
            compact = conn.att_mtu - 3 < P.HEADER_SIZE + P.SAMPLE_SIZE
            while self.sent < self.seq and self.connection is conn and self.streaming:
                n = min(per, self.seq - self.sent)
                seqs = np.arange(self.sent, self.sent + n)
                acc, gyr = self.counts(seqs)
                pkt = P.DataPacket(
                    seq=self.sent, ticks=int(self._ticks(self.sent)), acc_counts=acc,
                    gyr_counts=gyr, acc_range_g=self.acc_range_g,
                    gyr_range_dps=self.gyr_range_dps, rate_hz=self.rate_hz,
                    flags=P.FLAG_COMPACT if compact else 0, epoch=self.epoch,
                )
                self.sent += n
                await self.device.notify_subscriber(conn, self.data, pkt.encode())

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.device.power_on()
        await advertise(self.device, self.name, P.SERVICE_UUID)
        self._task = asyncio.create_task(self._pump())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.device.is_advertising:
            await self.device.stop_advertising()

    async def drop_link(self) -> None:
        """Radio link loss (supervision timeout) on both ends."""
        drop_links(self.controller)
        await asyncio.sleep(0)

    async def reboot(self) -> None:
        """Power cycle: link lost, RAM (ring, seq, settings) gone, new epoch, not running."""
        drop_links(self.controller)
        self._produce()
        self.running = self.streaming = False
        self.seq = self.sent = self._ring_first = 0
        self.epoch += 1
        self.rate_hz, self.acc_range_g, self.gyr_range_dps = 104, 8, 1000

