"""The in-process Bumble stack, set up in ONE place: a device on its own controller on a
shared :class:`bumble.link.LocalLink`, advertising, and radio link loss.

Every in-process BLE party is built here: the host's adapter
(:class:`imu.ble.bumble_backend.BumbleRadio`), the firmware's virtual sensor
(:class:`imu.virtual.VirtualSensor`), and the test doubles of :mod:`imu.testing`. Bumble only (no
bleak), so the virtual sensor can use it without loading the BLE client.

Notes (bumble 0.0.236): a link loss is simulated with ``controller.on_le_disconnected(conn,
0x08)`` on both controllers of a connection (:func:`drop_links`); Bumble builds every debug log
line eagerly, which :func:`fast_bumble_formatting` makes cheap.
"""

from __future__ import annotations

import logging
from typing import Any

from bumble import att, controller, device, gatt_client, gatt_server, hci, host, l2cap
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Device
from bumble.host import Host
from bumble.keys import MemoryKeyStore, PairingKeys
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

LINK_LOSS_REASON = 0x08
"""HCI error 'Connection Timeout': what a supervision timeout (walked out of range) reports."""


def bumble_device(
    link: LocalLink, address: str, *, name: str | None = None,
    controller_name: str | None = None, max_mtu: int | None = None,
) -> tuple[Controller, Device]:
    """A Bumble :class:`Device` (not yet powered on) on a controller of its own on ``link``.

    ``name`` is the device's GAP name (Bumble's default when None); ``max_mtu`` the ATT MTU
    this device accepts, also when the peer starts the exchange (Bumble's default when None).
    """
    ctrl = Controller(controller_name or f"{name or 'bumble'}-{address}", link=link,
                      public_address=address)
    dev = Device(name=name, address=hci.Address(address), host=Host(ctrl, AsyncPipeSink(ctrl)))
    if max_mtu is not None:
        dev.gatt_server.max_mtu = max_mtu
    return ctrl, dev


def key_name(name: str) -> str:
    """A key store entry's name without Bumble's address-type qualifier (``/P``): the pairing
    stores keys under the peer's identity address (public, ``XX:..:XX/P``) while an in-process
    link reports the same bytes as a random address, so both must find the same keys."""
    return name.split("/", 1)[0].upper()


class AddressKeyStore(MemoryKeyStore):
    """Bumble's in-memory key store, keyed by address bytes whatever their type qualifier."""

    async def update(self, name: str, keys: PairingKeys) -> None:
        await super().update(key_name(name), keys)

    async def get(self, name: str) -> PairingKeys | None:
        return await super().get(key_name(name))

    async def delete(self, name: str) -> None:
        await super().delete(key_name(name))


async def advertise(dev: Device, name: str, service_uuid: str, interval_ms: float = 20) -> None:
    """Advertise ``name`` and one 128-bit service UUID, connectable, restarted after each
    disconnection (as a sensor does)."""
    ad = bytes(AdvertisingData([
        (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
        (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
         UUID(service_uuid).to_bytes()),
    ]))
    await dev.start_advertising(advertising_data=ad, auto_restart=True,
                                advertising_interval_min=interval_ms,
                                advertising_interval_max=interval_ms)


def drop_links(ctrl: Controller, reason: int = LINK_LOSS_REASON) -> int:
    """Radio link loss on every connection of ``ctrl``, seen by both ends; returns how many.

    Each connection's other end is the connection of another controller on the same link
    whose peer is ``ctrl``'s side of it.
    """
    n = 0
    for conn in list(ctrl.le_connections.values()):
        for other in list(ctrl.link.controllers):
            if other is ctrl:
                continue
            for oc in list(other.le_connections.values()):
                if oc.peer_address == conn.self_address and oc.self_address == conn.peer_address:
                    other.on_le_disconnected(oc, reason)
        if ctrl.le_connections.get(conn.peer_address) is conn:
            ctrl.on_le_disconnected(conn, reason)
        n += 1
    return n


class OutOfRange:
    """Move a controller to a link of its own (it keeps advertising into the void) and back:
    the radio side of walking away from the host, for tests and benchmarks."""

    def __init__(self, ctrl: Controller) -> None:
        self.controller = ctrl
        self.home = ctrl.link
        self.away = LocalLink()

    def __enter__(self) -> OutOfRange:
        drop_links(self.controller)
        self.home.remove_controller(self.controller)
        self.controller.link = self.away
        self.away.add_controller(self.controller)
        return self

    def __exit__(self, *exc: object) -> None:
        self.away.remove_controller(self.controller)
        self.controller.link = self.home
        self.home.add_controller(self.controller)


_FAST_FORMATTING = False


def fast_bumble_formatting() -> bool:
    """Make Bumble's per-packet debug strings cheap when nobody reads them.

    Bumble 0.0.236 builds its debug log lines with eager f-strings (coloured, every field of
    every HCI packet), which costs ~40 % of the CPU of an in-process link whether DEBUG is on
    or not. When the ``bumble`` logger is not enabled for DEBUG, this swaps the colouring
    helper for a pass-through and the HCI packets' ``__str__`` for their class name. Opt-in
    (``imu record --virtual`` and the benchmarks call it); returns whether it was applied.
    """
    global _FAST_FORMATTING
    if _FAST_FORMATTING or logging.getLogger("bumble").isEnabledFor(logging.DEBUG):
        return _FAST_FORMATTING

    def plain(text: Any, *_args: Any, **_kw: Any) -> str:
        return str(text)

    for module in (controller, host, hci, device, l2cap, att, gatt_server, gatt_client):
        if hasattr(module, "color"):
            module.color = plain  # type: ignore[attr-defined]

    def short(self: Any) -> str:
        return type(self).__name__

    for cls in (hci.HCI_Command, hci.HCI_Event, hci.HCI_AclDataPacket):
        cls.__str__ = short  # type: ignore[method-assign]
    _FAST_FORMATTING = True
    return True
