"""The one Bumble harness for tests and benchmarks: a sensor and a host on an in-process link.

Every party is built by :mod:`imu.ble.stack` (device, controller, link loss). What this module
adds is the test side:

* :class:`SensorUnderTest`: one handle on both sensors, the firmware's
  :class:`imu.virtual.VirtualSensor` and the protocol-only
  :class:`imu.testing.mini_sensor.MiniSensor` (lifecycle, reboot, the controller to take out of
  range, what the chip produced);
* :class:`Rig`: a fresh :class:`~bumble.link.LocalLink` with a started sensor and the host's
  :class:`imu.ble.bumble_backend.BumbleRadio` (the bleak backend), and a
  :class:`~imu.ble.client.SensorClient` on it;
* :class:`Central`: a plain Bumble central speaking the wire protocol without bleak or the client
  (docs/protocol.md), to test the sensor side on its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from bumble.controller import Controller
from bumble.device import Peer
from bumble.hci import Address
from bumble.link import LocalLink

from imu.ble.bumble_backend import BumbleRadio
from imu.ble.client import SensorClient
from imu.ble.stack import bumble_device
from imu.device import protocol as P
from imu.device.chip import ImuRecording
from imu.testing.mini_sensor import MiniSensor
from imu.virtual import VirtualSensor

SensorKind = Literal["virtual", "mini"]


class SensorUnderTest:
    """The same handle on both sensors: lifecycle, faults and what the chip produced.

    ``kind`` ``"virtual"``: the firmware on the emulated chip; ``"mini"``: the protocol-only
    sensor (fault injection through ``dev.inject``). Extra keywords go to the sensor.
    """

    def __init__(self, kind: SensorKind, link: LocalLink, recording: ImuRecording,
                 time_scale: float = 1.0, **kw: Any) -> None:
        self.kind = kind
        self.time_scale = time_scale
        self.rec = recording
        self.dev: VirtualSensor | MiniSensor
        if kind == "virtual":
            self.dev = VirtualSensor(link, recording, time_scale=time_scale, **kw)
        elif kind == "mini":
            self.dev = MiniSensor(link, recording, time_scale=time_scale, **kw)
        else:
            raise ValueError(f"unknown sensor kind {kind!r} (expected virtual or mini)")
        self.name: str = self.dev.name

    @property
    def controller(self) -> Controller:
        """The sensor's controller (e.g. for :class:`imu.ble.stack.OutOfRange`)."""
        ctrl = self.dev.controller
        assert ctrl is not None, "the sensor is not started"
        return ctrl

    async def start(self) -> None:
        await self.dev.start()

    async def stop(self) -> None:
        await self.dev.stop()

    async def reboot(self) -> None:
        await self.dev.reboot()

    async def drop_link(self) -> None:
        await self.dev.drop_link()

    def sessions(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(seq, acc counts, gyr counts) of every sensor session (START .. reboot/stop)."""
        dev = self.dev
        if isinstance(dev, VirtualSensor):
            return [(p.seq, p.acc_counts, p.gyr_counts) for p in dev.sessions]
        out = []
        for epoch in sorted(dev.produced_seq):
            seq = dev.produced(epoch)
            acc, gyr = dev.counts(seq)
            out.append((seq, acc, gyr))
        return out


@dataclass
class Rig:
    """A fresh in-process link with a started sensor on it and the host's radio."""

    link: LocalLink
    sensor: SensorUnderTest
    radio: BumbleRadio

    @classmethod
    async def start(cls, kind: SensorKind, recording: ImuRecording, *, time_scale: float = 1.0,
                    mtu: int = 247, **sensor_kw: Any) -> Rig:
        """Start the sensor (``kind``, playing ``recording``) and a host radio of ``mtu``."""
        link = LocalLink()
        sensor = SensorUnderTest(kind, link, recording, time_scale, **sensor_kw)
        await sensor.start()
        return cls(link, sensor, BumbleRadio(link, mtu=mtu))

    def client(self, **kw: Any) -> SensorClient:
        """A :class:`SensorClient` for this rig's sensor, through this rig's radio."""
        return SensorClient(name=self.sensor.name, scanner_backend=self.radio.scanner_backend,
                            client_backend=self.radio.client_backend, **kw)

    async def stop(self) -> None:
        await self.sensor.stop()


class Central:
    """A plain Bumble central speaking the wire protocol (no bleak, no client)."""

    def __init__(self, link: LocalLink, max_mtu: int = 247,
                 address: str = "F1:F1:F1:F1:F1:01") -> None:
        self.ctrl, self.dev = bumble_device(link, address, name="central",
                                            controller_name="central", max_mtu=max_mtu)
        self.max_mtu = max_mtu
        self.packets: list[bytes] = []
        """Every DATA notification received, in order."""
        self.conn: Any = None

    async def power_on(self) -> None:
        await self.dev.power_on()

    async def scan(self, seconds: float = 0.3) -> list[Any]:
        """Advertisements seen within ``seconds``."""
        ads: list[Any] = []
        self.dev.on("advertisement", ads.append)
        await self.dev.start_scanning()
        await asyncio.sleep(seconds)
        await self.dev.stop_scanning()
        self.dev.remove_listener("advertisement", ads.append)
        return ads

    async def connect(self, address: str) -> None:
        """Connect, exchange the MTU, find the sensor service and subscribe to DATA."""
        self.conn = await self.dev.connect(Address(address))
        peer = Peer(self.conn)
        if self.max_mtu > 23:
            await peer.request_mtu(self.max_mtu)
        svc = (await peer.discover_service(P.SERVICE_UUID))[0]
        await svc.discover_characteristics()
        by_uuid = {str(c.uuid).lower(): c for c in svc.characteristics}
        self.data = by_uuid[P.DATA_UUID]
        self.control = by_uuid[P.CONTROL_UUID]
        self.status = by_uuid[P.STATUS_UUID]
        await self.data.subscribe(lambda v: self.packets.append(bytes(v)))

    async def command(self, cmd: P.ControlCommand) -> None:
        await self.control.write_value(cmd.encode(), with_response=True)

    async def read_status(self) -> P.Status:
        return P.Status.decode(bytes(await self.status.read_value()))
