"""``imu pair``: bond this computer with the sensor (LE Secure Connections, docs/ble.md).

Finds the sensor (by address, or by a name that only one device advertises:
:func:`imu.ble.discovery.find_unique`), connects with bleak, runs ``BleakClient.pair()`` and
reads the status back: the sensor must report the link as secure (encrypted with keys it
stored). A sensor that already holds another host's bond accepts a new one only in its pairing
window after power-on; outside it the pairing completes on the radio but the sensor refuses to
store the keys, and :class:`PairingRefusedError` says what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from imu.ble.discovery import (
    DeviceNotFoundError,
    IncompatibleSensorError,
    SensorError,
    find_unique,
    matcher,
)
from imu.device import protocol as P


class PairingRefusedError(SensorError):
    """The sensor did not keep this computer's bond (another host is bonded and its pairing
    window is closed), or the radio could not pair."""


@dataclass
class Paired:
    """The outcome of :func:`pair_sensor`."""

    address: str
    name: str
    status: P.Status


async def pair_sensor(
    *,
    name: str | None = None,
    address: str | None = None,
    scan_timeout_s: float = 10.0,
    settle_s: float = 1.0,
    scanner_backend: type[BaseBleakScanner] | None = None,
    client_backend: type[BaseBleakClient] | None = None,
) -> Paired:
    """Bond with the sensor; see the module docstring."""
    if address is not None:
        device = await BleakScanner.find_device_by_filter(
            matcher(None, address), timeout=scan_timeout_s, backend=scanner_backend)
    else:
        device = await find_unique(name, scan_timeout_s, settle_s, scanner_backend)
    if device is None:
        what = address or name or f"{P.NAME_PREFIX}*"
        raise DeviceNotFoundError(f"no sensor {what} found within {scan_timeout_s:g} s")
    client = BleakClient(device, timeout=scan_timeout_s, backend=client_backend)
    try:
        await client.connect()
        try:
            await client.pair()
        except NotImplementedError:
            raise PairingRefusedError(
                "this platform pairs on first use (macOS): run imu record and accept the "
                "system's pairing prompt"
            ) from None
        except (TimeoutError, BleakError) as exc:
            raise PairingRefusedError(f"pairing with {device.address} failed: {exc}") from None
        status = await _secure_status(client, device.address)
        if not status.flags & P.STATUS_SECURE:
            with contextlib.suppress(BleakError, NotImplementedError, OSError):
                await client.unpair()  # keep no bond the sensor does not have
            raise PairingRefusedError(
                f"{device.address} did not keep the bond: it is bonded with another computer; "
                "switch it off and on, then run imu pair within two minutes"
            )
    finally:
        if client.is_connected:
            await client.disconnect()
    return Paired(address=device.address, name=device.name or name or "", status=status)


async def _secure_status(client: BleakClient, address: str, timeout_s: float = 2.0) -> P.Status:
    """The status once it reports the link secure (the sensor's main loop publishes a change
    within a poll), or the last one read after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    t_end = loop.time() + timeout_s
    while True:
        raw = await client.read_gatt_char(P.STATUS_UUID)
        try:
            status = P.Status.decode(bytes(raw))
        except ValueError as exc:
            raise IncompatibleSensorError(f"{address} is not a compatible sensor: {exc}") from None
        if status.flags & P.STATUS_SECURE or loop.time() > t_end:
            return status
        await asyncio.sleep(0.05)
