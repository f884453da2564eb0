"""``bluetooth`` shim on Google's Bumble: MicroPython's low-level BLE API on a bumble Device.

``gatts_register_services`` builds bumble GATT services (a CCCD is added to notify
characteristics by bumble), ``gatts_notify`` queues a notification that a sender task pushes
with ``notify_subscriber`` (truncated to MTU - 3; OSError(ENOMEM) when the buffers are full,
like NimBLE). MicroPython sends notifications whatever the CCCD says; a central drops those it
did not subscribe to, so here bumble drops them at the source instead (no warnings on the
central). Bumble events become the IRQs
``_IRQ_CENTRAL_CONNECT/DISCONNECT``, ``_IRQ_GATTS_WRITE`` and ``_IRQ_MTU_EXCHANGED``.

Pairing and bonding on Bumble's Security Manager (SMP), as MicroPython's NimBLE ports offer it:
``config(bond=, le_secure=, mitm=, io=)`` sets the device's pairing configuration, and the
device's key store becomes :class:`FirmwareKeyStore`, which keeps nothing itself: every key
goes to the firmware through ``_IRQ_SET_SECRET`` and comes back through ``_IRQ_GET_SECRET``
(sec_type 2, key = the peer's identity address, value = Bumble's keys as JSON), so the
firmware's own bond store decides, as on the board. ``_IRQ_ENCRYPTION_UPDATE`` is raised when a
link is encrypted (after the keys are stored when it comes from a pairing), with ``bonded``
true when the store holds (and accepted) this peer's keys. ``FLAG_WRITE_ENCRYPTED`` /
``FLAG_READ_ENCRYPTED`` become Bumble's permissions (ATT error 0x0F on an unencrypted link).
``gap_pair`` sends a Security Request; ``gap_passkey`` is accepted and ignored (Just Works).
"""

from __future__ import annotations

import asyncio
import collections
import errno
import json
import logging
import types
import uuid as _uuid
from typing import Any

from bumble.core import UUID as BumbleUUID
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.keys import KeyStore, PairingKeys
from bumble.pairing import PairingConfig, PairingDelegate

from imu.ble.stack import key_name

log = logging.getLogger(__name__)

FLAG_BROADCAST = 0x0001
FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020
FLAG_READ_ENCRYPTED = 0x0200
FLAG_WRITE_ENCRYPTED = 0x1000

IRQ_CENTRAL_CONNECT = 1
IRQ_CENTRAL_DISCONNECT = 2
IRQ_GATTS_WRITE = 3
IRQ_MTU_EXCHANGED = 21
IRQ_ENCRYPTION_UPDATE = 28
IRQ_GET_SECRET = 29
IRQ_SET_SECRET = 30

SEC_TYPE_PEER = 2
"""The secret type the shim stores a peer's keys under (NimBLE's peer security material)."""
_IO_CAPABILITIES = {
    0: PairingDelegate.IoCapability.DISPLAY_OUTPUT_ONLY,
    1: PairingDelegate.IoCapability.DISPLAY_OUTPUT_AND_YES_NO_INPUT,
    2: PairingDelegate.IoCapability.KEYBOARD_INPUT_ONLY,
    3: PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT,
    4: PairingDelegate.IoCapability.DISPLAY_OUTPUT_AND_KEYBOARD_INPUT,
}


class FirmwareKeyStore(KeyStore):
    """Bumble's key store backed by the firmware's ``_IRQ_GET_SECRET`` / ``_IRQ_SET_SECRET``."""

    def __init__(self, ble: BLE) -> None:
        self.ble = ble
        self.refused: set[str] = set()
        """Peers whose keys the firmware refused (their link is not bonded)."""

    def _get(self, index: int, name: str | None) -> dict[str, Any] | None:
        key = None if name is None else memoryview(key_name(name).encode())
        value = self.ble._irq(IRQ_GET_SECRET, (SEC_TYPE_PEER, index, key))
        return None if value is None else json.loads(bytes(value))

    async def update(self, name: str, keys: PairingKeys) -> None:
        name = key_name(name)
        value = json.dumps({"name": name, "keys": keys.to_dict()}).encode()
        ok = self.ble._irq(IRQ_SET_SECRET,
                           (SEC_TYPE_PEER, memoryview(name.encode()), memoryview(value)))
        if ok:
            self.refused.discard(name)
        else:
            self.refused.add(name)

    async def get(self, name: str) -> PairingKeys | None:
        entry = self._get(0, name)
        return None if entry is None else PairingKeys.from_dict(entry["keys"])

    async def delete(self, name: str) -> None:
        self.ble._irq(IRQ_SET_SECRET, (SEC_TYPE_PEER, memoryview(key_name(name).encode()), None))

    async def get_all(self) -> list[tuple[str, PairingKeys]]:
        out = []
        while (entry := self._get(len(out), None)) is not None:
            out.append((entry["name"], PairingKeys.from_dict(entry["keys"])))
        return out

    def holds(self, name: str) -> bool:
        return key_name(name) not in self.refused and self._get(0, name) is not None

NOTIFY_QUEUE = 32
"""Notifications the stack buffers before gatts_notify raises ENOMEM (NimBLE mbufs)."""


class UUID:
    """``bluetooth.UUID``: 16-bit int or 128-bit string; ``bytes()`` is little-endian."""

    def __init__(self, value: int | str | bytes | UUID) -> None:
        if isinstance(value, UUID):
            value = value.value
        if isinstance(value, int):
            self.value: int | str = value
            self._bytes = value.to_bytes(2, "little")
        elif isinstance(value, str):
            u = _uuid.UUID(value)
            self.value = str(u)
            self._bytes = u.bytes[::-1]
        else:
            b = bytes(value)
            self._bytes = b
            self.value = (int.from_bytes(b, "little") if len(b) == 2
                          else str(_uuid.UUID(bytes=b[::-1])))

    def __bytes__(self) -> bytes:
        return self._bytes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UUID) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def bumble(self) -> BumbleUUID:
        if isinstance(self.value, int):
            return BumbleUUID.from_16_bits(self.value)
        return BumbleUUID(self.value)

    def __repr__(self) -> str:
        v = self.value
        return f"UUID(0x{v:04x})" if isinstance(v, int) else f"UUID('{v}')"


class BLE:
    """The singleton-per-sensor BLE object (MicroPython ``bluetooth.BLE()``)."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.device: Device = env.device
        self._active = False
        self._handler: Any = None
        self._mtu = 23
        self._values: dict[int, bytes] = {}
        self._chars: dict[int, Characteristic] = {}
        self._conns: dict[int, Connection] = {}
        self._queue: collections.deque[tuple[Connection, Characteristic, bytes]] = (
            collections.deque())
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sender = self._spawn(self._send_loop())
        self._security: dict[str, Any] = {"bond": False, "le_secure": False, "mitm": False,
                                          "io": 3}
        self.keystore: FirmwareKeyStore | None = None
        self.device.on("connection", self._on_connection)

    # --- helpers ---------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    def _irq(self, event: int, data: tuple[Any, ...]) -> Any:
        if self._handler is not None and self._active:
            return self._handler(event, data)
        return None

    def close(self) -> None:
        """Detach from the bumble device (the firmware stopped or rebooted)."""
        self._active = False
        self._handler = None
        self.device.remove_listener("connection", self._on_connection)
        if self.keystore is not None and self.device.keystore is self.keystore:
            self.device.keystore = KeyStore()  # the firmware's store is gone with it
        for t in list(self._tasks):
            t.cancel()

    # --- bumble events ---------------------------------------------------------------------
    def _on_connection(self, conn: Connection) -> None:
        h = conn.handle
        self._conns[h] = conn
        addr = bytes(conn.peer_address.address_bytes)[::-1]
        conn.on("disconnection", lambda reason: self._on_disconnection(conn, reason))
        conn.on("connection_att_mtu_update", lambda: self._irq(IRQ_MTU_EXCHANGED,
                                                               (h, conn.att_mtu)))
        conn.on("connection_encryption_change", lambda: self._on_encryption(conn))
        conn.on("pairing", lambda keys: self._report_encryption(conn))
        self._irq(IRQ_CENTRAL_CONNECT, (h, 0, memoryview(addr)))

    def _on_encryption(self, conn: Connection) -> None:
        if self.device.smp_manager.sessions.get(conn.handle) is not None:
            return  # a pairing: reported once its keys are stored (the "pairing" event)
        self._report_encryption(conn)

    def _report_encryption(self, conn: Connection) -> None:
        if conn.handle not in self._conns:
            return
        name = str(conn.peer_address)
        bonded = self.keystore is not None and self.keystore.holds(name)
        entry = self.keystore._get(0, name) if bonded and self.keystore is not None else None
        ltk = (entry or {}).get("keys", {}).get("ltk") or {}
        self._irq(IRQ_ENCRYPTION_UPDATE, (conn.handle, bool(conn.encryption),
                                          bool(ltk.get("authenticated")), bonded,
                                          int(getattr(conn, "encryption_key_size", 16) or 16)))

    def _on_disconnection(self, conn: Connection, reason: int) -> None:
        self._conns.pop(conn.handle, None)
        addr = bytes(conn.peer_address.address_bytes)[::-1]
        self._irq(IRQ_CENTRAL_DISCONNECT, (conn.handle, 0, memoryview(addr)))

    # --- configuration ---------------------------------------------------------------------
    def active(self, state: bool | None = None) -> bool:
        if state is not None:
            self._active = bool(state)
        return self._active

    def config(self, *args: str, **kw: Any) -> Any:
        if args:
            key = args[0]
            if key == "mac":
                return (1, bytes(self.device.random_address.address_bytes)[::-1])
            if key == "gap_name":
                return self.device.name.encode()
            if key == "mtu":
                return self._mtu
            if key in self._security:
                return self._security[key]
            raise ValueError(f"unknown config param {key}")
        security = {k: kw[k] for k in ("bond", "le_secure", "mitm", "io") if k in kw}
        if security:
            if "io" in security and int(security["io"]) not in _IO_CAPABILITIES:
                raise ValueError(f"unknown io capability {security['io']}")
            self._security.update(security)
            self._configure_pairing()
        if "gap_name" in kw:
            self.device.name = str(kw["gap_name"])
        if "mtu" in kw:
            self._mtu = int(kw["mtu"])
            self.device.gatt_server.max_mtu = self._mtu
        return None

    def irq(self, handler: Any) -> None:
        self._handler = handler

    def _configure_pairing(self) -> None:
        sec = self._security
        delegate = PairingDelegate(io_capability=_IO_CAPABILITIES[int(sec["io"])])
        self.device.pairing_config_factory = lambda conn: PairingConfig(
            sc=bool(sec["le_secure"]), mitm=bool(sec["mitm"]), bonding=bool(sec["bond"]),
            delegate=delegate,
        )
        if self.keystore is None:
            self.keystore = FirmwareKeyStore(self)
        self.device.keystore = self.keystore

    # --- pairing ---------------------------------------------------------------------------
    def gap_pair(self, conn_handle: int) -> None:
        conn = self._conns.get(conn_handle)
        if conn is None:
            raise OSError(errno.ENOTCONN, "not connected")
        self.device.request_pairing(conn)

    def gap_passkey(self, conn_handle: int, action: int, passkey: int) -> None:
        if conn_handle not in self._conns:
            raise OSError(errno.ENOTCONN, "not connected")

    # --- GAP -------------------------------------------------------------------------------
    def gap_advertise(self, interval_us: int | None, adv_data: bytes | None = None,
                      resp_data: bytes | None = None, connectable: bool = True) -> None:
        if interval_us is None:
            self._spawn(self.device.stop_advertising())
            return
        self._spawn(self._advertise(max(20.0, interval_us / 1000), bytes(adv_data or b""),
                                    bytes(resp_data or b"")))

    async def _advertise(self, interval_ms: float, adv: bytes, resp: bytes) -> None:
        if self.device.is_advertising:
            await self.device.stop_advertising()
        await self.device.start_advertising(advertising_data=adv, scan_response_data=resp,
                                            advertising_interval_min=interval_ms,
                                            advertising_interval_max=interval_ms)

    def gap_disconnect(self, conn_handle: int) -> bool:
        conn = self._conns.get(conn_handle)
        if conn is None:
            return False
        self._spawn(conn.disconnect())
        return True

    # --- GATT server -----------------------------------------------------------------------
    def gatts_register_services(self, definitions: Any) -> tuple[tuple[int, ...], ...]:
        """Replaces all services registered before (as MicroPython does)."""
        server = self.device.gatt_server
        # The database before the first registration is remembered on the device, so a
        # rebooted firmware (a new BLE object) replaces its services instead of adding more.
        base = getattr(self.device, "_micropython_gatt_base", None)
        if base is None:
            base = (len(server.attributes), len(server.services))
            self.device._micropython_gatt_base = base  # type: ignore[attr-defined]
        del server.attributes[base[0]:]
        del server.services[base[1]:]
        server.attributes_by_handle = {}
        self._values.clear()
        self._chars.clear()
        result = []
        for svc_uuid, char_defs in definitions:
            chars = []
            for cdef in char_defs:
                c_uuid, flags = cdef[0], cdef[1]
                chars.append(self._characteristic(UUID(c_uuid), int(flags)))
            server.add_service(Service(UUID(svc_uuid).bumble(), chars))
            handles = []
            for c in chars:
                self._chars[c.handle] = c
                self._values[c.handle] = b""
                handles.append(c.handle)
            result.append(tuple(handles))
        return tuple(result)

    def _characteristic(self, uuid: UUID, flags: int) -> Characteristic:
        props = Characteristic.Properties(flags & 0xFF)
        perms = Characteristic.Permissions(0)
        if flags & FLAG_READ:
            perms |= Characteristic.READABLE
        if flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
            perms |= Characteristic.WRITEABLE
        if flags & FLAG_READ_ENCRYPTED:
            perms |= Characteristic.READ_REQUIRES_ENCRYPTION
        if flags & FLAG_WRITE_ENCRYPTED:
            perms |= Characteristic.WRITE_REQUIRES_ENCRYPTION
        holder: dict[str, Characteristic] = {}

        def read(conn: Connection) -> bytes:
            return self._values.get(holder["c"].handle, b"")

        def write(conn: Connection, value: bytes) -> None:
            h = holder["c"].handle
            self._values[h] = bytes(value)
            self._irq(IRQ_GATTS_WRITE, (conn.handle, h))

        c = Characteristic(uuid.bumble(), props, perms, CharacteristicValue(read=read,
                                                                            write=write))
        holder["c"] = c
        return c

    def gatts_read(self, value_handle: int) -> bytes:
        return self._values[value_handle]

    def gatts_write(self, value_handle: int, data: Any, send_update: bool = False) -> None:
        self._values[value_handle] = bytes(data)
        if send_update:
            for h in list(self._conns):
                self.gatts_notify(h, value_handle)

    def gatts_set_buffer(self, value_handle: int, length: int, append: bool = False) -> None:
        pass

    def gatts_notify(self, conn_handle: int, value_handle: int, data: Any = None) -> None:
        conn = self._conns.get(conn_handle)
        if conn is None:
            raise OSError(errno.ENOTCONN, "not connected")
        if len(self._queue) >= NOTIFY_QUEUE:
            raise OSError(errno.ENOMEM, "notification buffers full")
        value = self._values[value_handle] if data is None else bytes(data)
        self._queue.append((conn, self._chars[value_handle], value[: conn.att_mtu - 3]))
        self._wake.set()

    async def _send_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                conn, char, value = self._queue.popleft()
                if conn.handle not in self._conns:
                    continue
                try:
                    await self.device.notify_subscriber(conn, char, value)
                except Exception as e:  # noqa: BLE001 - a dropped link must not kill the stack
                    log.debug("notification dropped: %s", e)

    # --- GATT client (only what a peripheral uses) -----------------------------------------
    def gattc_exchange_mtu(self, conn_handle: int) -> None:
        conn = self._conns.get(conn_handle)
        if conn is None:
            raise OSError(errno.ENOTCONN, "not connected")
        self._spawn(self._exchange(conn))

    async def _exchange(self, conn: Connection) -> None:
        try:
            await conn.gatt_client.request_mtu(self._mtu)
        except Exception as e:  # noqa: BLE001
            log.debug("MTU exchange failed: %s", e)
        # bumble emits connection_att_mtu_update itself, which raises _IRQ_MTU_EXCHANGED.


def make(env: Any) -> types.ModuleType:
    m = types.ModuleType("bluetooth")
    ble_holder: dict[str, BLE] = {}

    def ble_factory() -> BLE:
        if "ble" not in ble_holder:
            ble_holder["ble"] = BLE(env)
            env.ble = ble_holder["ble"]
        return ble_holder["ble"]

    m.BLE = ble_factory  # type: ignore[attr-defined]
    m.UUID = UUID  # type: ignore[attr-defined]
    for k, v in globals().items():
        if k.startswith("FLAG_"):
            setattr(m, k, v)
    return m
