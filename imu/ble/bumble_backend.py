"""A bleak backend over an in-process Bumble stack (bleak ships none for Bumble).

``BumbleRadio(link)`` is one host "adapter": a Bumble central :class:`~bumble.device.Device` with
its own :class:`~bumble.controller.Controller` on a shared :class:`bumble.link.LocalLink`. Its
``scanner_backend`` and ``client_backend`` are subclasses of bleak's ``BaseBleakScanner`` and
``BaseBleakClient`` bound to that radio, passed as ``backend=`` to the REAL ``BleakScanner`` /
``BleakClient``, so the application's bleak code paths run unchanged over a real GATT stack
(ATT, L2CAP, HCI) instead of BlueZ/CoreBluetooth/WinRT.

Notes (bleak 3.1, bumble 0.0.236): Bumble keeps ATT_MTU at 23 unless the client asks and silently
cuts longer notifications, so ``connect`` requests ``mtu`` itself (default 247). The device and
controller come from :mod:`imu.ble.stack`, as do link losses (:meth:`BumbleRadio.drop_links`).

Pairing: ``BleakClient.pair()`` runs LE Secure Connections pairing with bonding on Bumble's
Security Manager (IO capability NoInputNoOutput: Just Works, as the sensor has no display or
keys); the radio keeps the keys in its key store, and ``connect`` encrypts the link with them
when it holds a bond for the peer, as a desktop stack (BlueZ, CoreBluetooth) does for a bonded
device.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from bleak.args import SizedBuffer
from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import hci
from bumble.controller import Controller
from bumble.core import AdvertisingData, BaseBumbleError
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate

from imu.ble.stack import AddressKeyStore, bumble_device, drop_links

_radio_ids = itertools.count(1)
log = logging.getLogger(__name__)


@contextlib.contextmanager
def _as_bleak_errors() -> Iterator[None]:
    """Bumble's protocol errors and GATT timeouts surface as bleak errors, as on other backends."""
    try:
        yield
    except (BaseBumbleError, hci.HCI_Error) as exc:
        raise BleakError(f"{type(exc).__name__}: {exc}") from exc


def _uuid_str(uuid: Any) -> str:
    """Bumble UUID -> bleak's lower-case 128-bit form."""
    h = bytes(reversed(uuid.uuid_128_bytes)).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class BumbleRadio:
    """A host adapter on a Bumble :class:`LocalLink` (created lazily inside the event loop)."""

    def __init__(self, link: LocalLink, address: str = "C0:C0:C0:C0:C0:01", mtu: int = 247) -> None:
        self.link = link
        self.address = address
        self.mtu = mtu
        self.device: Device | None = None
        self.controller: Controller | None = None
        self._lock: asyncio.Lock | None = None
        radio = self

        class _Scanner(BumbleScanner):
            _radio = radio

        class _Client(BumbleClient):
            _radio = radio

        self.scanner_backend: type[BaseBleakScanner] = _Scanner
        self.client_backend: type[BaseBleakClient] = _Client

    async def device_ready(self) -> Device:
        """The powered-on central device (created on first use)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.device is None:
                # the MTU this host accepts, also when the peripheral starts the exchange
                self.controller, self.device = bumble_device(
                    self.link, self.address, controller_name=f"host-{next(_radio_ids)}",
                    max_mtu=self.mtu,
                )
                await self.device.power_on()
                self.device.keystore = AddressKeyStore()
                self.device.pairing_config_factory = lambda conn: PairingConfig(
                    sc=True, mitm=False, bonding=True,
                    delegate=PairingDelegate(
                        io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
                )
        return self.device

    async def has_bond(self, address: hci.Address) -> bool:
        """Whether this radio holds a bond (keys) for ``address``."""
        device = await self.device_ready()
        return device.keystore is not None and (await device.keystore.get(str(address))) is not None

    def drop_links(self) -> int:
        """Simulate a radio link loss on every connection of this radio (both ends)."""
        return 0 if self.controller is None else drop_links(self.controller)


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend: Bumble advertisement reports -> bleak detection callbacks."""

    _radio: BumbleRadio

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._active = scanning_mode != "passive"
        self._device: Device | None = None

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = adv.data
        names = data.get_all(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get_all(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        uuids: list[str] = []
        for t in (
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        ):
            for entry in data.get_all(t):  # one list of UUIDs per AD structure
                uuids += [_uuid_str(u) for u in (entry if isinstance(entry, list) else [entry])]
        manufacturer: dict[int, bytes] = {}
        for company, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA):
            manufacturer[int(company)] = bytes(payload)
        if not self.is_allowed_uuid(uuids):
            return
        tx = adv.tx_power if adv.tx_power != Advertisement.TX_POWER_NOT_AVAILABLE else None
        name = str(names[0]) if names else None
        ad = AdvertisementData(
            local_name=name,
            manufacturer_data=manufacturer,
            service_data={},
            service_uuids=uuids,
            tx_power=tx,
            rssi=int(adv.rssi),
            platform_data=(adv,),
        )
        address = adv.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(address, address, name, adv.address, ad)
        self.call_detection_callbacks(device, ad)

    async def start(self) -> None:
        self.seen_devices = {}
        self._device = await self._radio.device_ready()
        self._device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self._device.start_scanning(active=self._active, filter_duplicates=False)

    async def stop(self) -> None:
        if self._device is None:
            return
        self._device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        if self._device.scanning:
            await self._device.stop_scanning()
        self._device = None


class BumbleClient(BaseBleakClient):
    """bleak client backend: GATT client of a Bumble central connection."""

    _radio: BumbleRadio

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = getattr(address_or_ble_device, "details", None)
        self._peer_address = (
            details if isinstance(details, hci.Address) else hci.Address(self.address)
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._proxies: dict[int, Any] = {}
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._closing = False

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return int(self._connection.att_mtu) if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        c = self._connection
        return c is not None and self._radio.device is not None and (
            self._radio.device.connections.get(c.handle) is c
        )

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        device = await self._radio.device_ready()
        self._closing = False
        try:
            conn = await device.connect(self._peer_address, timeout=self._timeout)
        except (TimeoutError, BaseBumbleError, hci.HCI_Error) as exc:
            raise BleakDeviceNotFoundError(self.address, f"cannot connect: {exc}") from exc
        self._connection = conn
        conn.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(conn)
        self._peer = peer
        with _as_bleak_errors():
            if await self._radio.has_bond(conn.peer_address):
                try:  # bonded: encrypt with the stored keys, as BlueZ does
                    await conn.encrypt()
                except hci.HCI_Error as exc:  # not the device we bonded with (or it forgot us)
                    log.info("encryption with %s failed: %s", self.address, exc)
                    await self.disconnect()
                    raise BleakError(
                        f"{self.address}: encryption with the bond's keys failed"
                    ) from exc
            await self._discover(peer)
            if pair:
                await self.pair()

    async def _discover(self, peer: Peer) -> None:
        if self._radio.mtu > 23:
            await peer.request_mtu(self._radio.mtu)
        await peer.discover_services()
        services = BleakGATTServiceCollection()
        for sp in peer.services:
            await sp.discover_characteristics()
            bs = BleakGATTService(sp, sp.handle, _uuid_str(sp.uuid))
            services.add_service(bs)
            for cp in sp.characteristics:
                mws: Callable[[], int] = lambda: self.mtu_size - 3  # noqa: E731
                bc = BleakGATTCharacteristic(
                    cp, cp.handle, _uuid_str(cp.uuid),
                    sorted(gatt_char_props_to_strs(int(cp.properties))), mws, bs,
                )
                services.add_characteristic(bc)
                self._proxies[cp.handle] = cp
                for dp in await peer.discover_descriptors(cp):
                    services.add_descriptor(
                        BleakGATTDescriptor(dp, dp.handle, _uuid_str(dp.type), bc)
                    )
        self.services = services

    async def disconnect(self) -> None:
        self._closing = True
        conn = self._connection
        if conn is not None and self.is_connected:
            try:
                await conn.disconnect()
            except hci.HCI_Error:
                pass
        self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """LE Secure Connections pairing with bonding (Just Works); the keys stay in the
        radio's key store. BleakError when the peer refuses or the link drops."""
        conn = self._connection
        if conn is None or not self.is_connected:
            raise BleakError("Not connected")
        with _as_bleak_errors():
            await conn.pair()

    async def unpair(self) -> None:
        """Forget the peer's keys (and disconnect, as bleak's other backends do)."""
        device = await self._radio.device_ready()
        if device.keystore is not None:
            with contextlib.suppress(KeyError):
                await device.keystore.delete(str(self._peer_address))
        await self.disconnect()

    def _peer_or_raise(self) -> Peer:
        if self._peer is None or not self.is_connected:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kw: Any
    ) -> bytearray:
        with _as_bleak_errors():
            return bytearray(await self._peer_or_raise().read_value(characteristic.handle))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kw: Any
    ) -> bytearray:
        with _as_bleak_errors():
            return bytearray(await self._peer_or_raise().read_value(descriptor.handle))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        with _as_bleak_errors():
            await self._peer_or_raise().write_value(
                characteristic.handle, bytes(data), with_response=response
            )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        with _as_bleak_errors():
            await self._peer_or_raise().write_value(
                descriptor.handle, bytes(data), with_response=True
            )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._peer_or_raise()
        proxy = self._proxies[characteristic.handle]

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        with _as_bleak_errors():
            await peer.subscribe(proxy, subscriber)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        subscriber = self._subscribers.pop(characteristic.handle, None)
        if self._peer is not None and self.is_connected:
            with _as_bleak_errors():
                await self._peer.unsubscribe(self._proxies[characteristic.handle], subscriber)
