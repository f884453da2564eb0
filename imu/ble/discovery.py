"""Finding the sensor: which advertisements match, the scan behind ``imu scan``, and the one
rule for a name given by the user (docs/ble.md): a name is not an identity, so when several
devices advertise it the client refuses to guess (:class:`AmbiguousDeviceError`) and the user
picks one by address. Errors of the BLE layer that reach the command line live here too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner

from imu.core.errors import InputError
from imu.device import protocol as P


class DeviceNotFoundError(RuntimeError):
    """No sensor matching the name/address answered within the scan timeout."""


class AmbiguousDeviceError(DeviceNotFoundError):
    """Several devices advertise the name asked for (one may be an impostor): the client
    refuses to guess; the user picks one by address."""


class IncompatibleSensorError(InputError):
    """The device answered, but not as the sensor does (e.g. a malformed status): one line,
    exit status 2 on the command line."""


class SensorError(RuntimeError):
    """The sensor reported that it cannot do what was asked (e.g. it did not start)."""


NOT_BONDED = (
    "the sensor is bonded with another computer and refuses control from this one: "
    "switch it off and on, then run imu pair within two minutes"
)


WRONG_BOND = (
    "{}; the device at that address does not hold this computer's bond (another device, or "
    "the sensor forgot its bonds): run imu pair"
)


def matcher(name: str | None, address: str | None) -> Callable[[BLEDevice, Any], bool]:
    addr = address.lower() if address else None

    def match(d: BLEDevice, ad: Any) -> bool:
        if addr is not None:
            return d.address.lower() == addr
        local = getattr(ad, "local_name", None) or d.name or ""
        if name is not None:
            return local == name
        return local.startswith(P.NAME_PREFIX) or P.SERVICE_UUID in (
            getattr(ad, "service_uuids", None) or []
        )

    return match


async def scan(
    timeout_s: float = 5.0, scanner_backend: type[BaseBleakScanner] | None = None
) -> list[tuple[BLEDevice, Any]]:
    """Sensors in range: (device, advertisement) whose name starts with ``IMU-`` or that
    advertise the IMU service."""
    found = await BleakScanner.discover(
        timeout=timeout_s, return_adv=True, backend=scanner_backend
    )
    match = matcher(None, None)
    return [(d, ad) for d, ad in found.values() if match(d, ad)]




async def find_unique(
    name: str | None, timeout_s: float, settle_s: float,
    scanner_backend: type[BaseBleakScanner] | None = None,
) -> BLEDevice | None:
    """The one device advertising ``name`` (None: any ``IMU-*``), or None within ``timeout_s``.

    Keeps listening ``settle_s`` past the first match; several distinct addresses raise
    :class:`AmbiguousDeviceError` instead of a coin toss between a sensor and an impostor.
    """
    match = matcher(name, None)
    found: dict[str, BLEDevice] = {}
    seen = asyncio.Event()

    def on_adv(device: BLEDevice, ad: Any) -> None:
        if match(device, ad):
            found.setdefault(device.address, device)
            seen.set()

    async with BleakScanner(detection_callback=on_adv, backend=scanner_backend):
        try:
            await asyncio.wait_for(seen.wait(), timeout_s)
        except TimeoutError:
            return None
        await asyncio.sleep(settle_s)
    if len(found) > 1:
        what = name or f"{P.NAME_PREFIX}*"
        raise AmbiguousDeviceError(
            f"{len(found)} devices advertise {what} ({', '.join(sorted(found))}); one may be "
            "an impostor: choose the sensor with --address"
        )
    return next(iter(found.values()))
