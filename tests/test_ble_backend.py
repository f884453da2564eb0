"""The bleak backend over Bumble: the real BleakScanner/BleakClient code paths against a tiny
Bumble GATT peripheral written here (not the sensor firmware)."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink

from imu.ble.bumble_backend import BumbleRadio
from imu.ble.stack import advertise, bumble_device

SVC = "12345678-0000-4000-8000-00000000a000"
NOTIFY = "12345678-0000-4000-8000-00000000a001"
WRITE = "12345678-0000-4000-8000-00000000a002"
ADDRESS = "F0:F0:F0:F0:F0:02"


class Tiny:
    """A peripheral with one service: a notify+read characteristic and a writable one."""

    def __init__(self, link: LocalLink, name: str = "TINY") -> None:
        self.written: list[bytes] = []
        self.controller, self.device = bumble_device(link, ADDRESS, name=name,
                                                     controller_name="tiny")
        props = Characteristic.Properties
        self.notify = Characteristic(NOTIFY, props.NOTIFY | props.READ, Characteristic.READABLE,
                                     b"hello")
        self.write = Characteristic(
            WRITE, props.WRITE | props.WRITE_WITHOUT_RESPONSE, Characteristic.WRITEABLE,
            CharacteristicValue(write=lambda _c, v: self.written.append(bytes(v))),
        )
        self.device.add_service(Service(SVC, [self.notify, self.write]))
        self.name = name

    async def start(self) -> None:
        await self.device.power_on()
        await advertise(self.device, self.name, SVC)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_scan_connect_read_write_notify() -> None:
    async def go() -> None:
        link = LocalLink()
        tiny = Tiny(link)
        await tiny.start()
        radio = BumbleRadio(link)
        found = await BleakScanner.discover(timeout=0.5, return_adv=True,
                                            backend=radio.scanner_backend)
        assert ADDRESS in found
        dev, ad = found[ADDRESS]
        assert ad.local_name == "TINY" and SVC in ad.service_uuids
        # service-UUID filtering
        none = await BleakScanner.discover(timeout=0.3, backend=radio.scanner_backend,
                                           service_uuids=["0000feed-0000-1000-8000-00805f9b34fb"])
        assert none == []
        by_name = await BleakScanner.find_device_by_name("TINY", timeout=2,
                                                         backend=radio.scanner_backend)
        assert by_name is not None and by_name.address == ADDRESS
        got: list[bytes] = []
        async with BleakClient(by_name, backend=radio.client_backend, timeout=5) as c:
            assert c.is_connected and c.mtu_size == 247
            char = c.services.get_characteristic(NOTIFY)
            assert char is not None and {"notify", "read"} <= set(char.properties)
            assert bytes(await c.read_gatt_char(NOTIFY)) == b"hello"
            await c.write_gatt_char(WRITE, b"\x01\x02", response=True)
            await c.write_gatt_char(WRITE, b"\x03", response=False)
            await c.start_notify(NOTIFY, lambda _ch, data: got.append(bytes(data)))
            payloads = [i.to_bytes(4, "little") * 60 for i in range(300)]  # 240 B each
            for p in payloads:
                await tiny.device.notify_subscribers(tiny.notify, p)
            for _ in range(100):
                if len(got) == len(payloads):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.05)
            assert tiny.written == [b"\x01\x02", b"\x03"]
            assert got == payloads  # all, in order, full length (MTU 247)
            await c.stop_notify(NOTIFY)
        assert not c.is_connected

    run(go())


def test_mtu_23_and_link_loss_callback() -> None:
    async def go() -> None:
        link = LocalLink()
        tiny = Tiny(link)
        await tiny.start()
        radio = BumbleRadio(link, mtu=23)
        lost = asyncio.Event()
        dev = await BleakScanner.find_device_by_address(ADDRESS, timeout=2,
                                                        backend=radio.scanner_backend)
        assert dev is not None
        c = BleakClient(dev, disconnected_callback=lambda _c: lost.set(),
                        backend=radio.client_backend, timeout=5)
        await c.connect()
        assert c.mtu_size == 23
        assert radio.drop_links() == 1
        await asyncio.wait_for(lost.wait(), 2)
        assert not c.is_connected
        # reconnect after the loss (the peripheral re-advertises)
        dev = await BleakScanner.find_device_by_address(ADDRESS, timeout=2,
                                                        backend=radio.scanner_backend)
        assert dev is not None
        await c.connect()
        assert c.is_connected
        await c.disconnect()

    run(go())


def test_absent_device_not_found_within_timeout() -> None:
    async def go() -> float:
        radio = BumbleRadio(LocalLink())
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        dev = await BleakScanner.find_device_by_name("IMU-NOPE", timeout=0.5,
                                                     backend=radio.scanner_backend)
        assert dev is None
        return loop.time() - t0

    assert run(go()) < 2.0


@pytest.mark.hardware
def test_hardware_scan_finds_sensor(request: pytest.FixtureRequest) -> None:
    """With --ble-address: the platform backend sees the sensor."""
    address = request.config.getoption("--ble-address")
    dev = asyncio.run(BleakScanner.find_device_by_address(address, timeout=10))
    assert dev is not None
