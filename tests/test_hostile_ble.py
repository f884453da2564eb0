"""Strangers in radio range (issue 10, findings 4, 5 and 8; issue 11's errors without hardware):
an impostor advertising the sensor's name is never picked nor reconnected to, the sensor bonds
(LE Secure Connections) and then takes control commands only over a link encrypted with a
stored bond, and broken peripherals or missing hardware give one clear line.

Everything runs through the real bleak API on Bumble's GATT and SMP stack, with the firmware
itself in the virtual sensor, an impostor (the protocol-only mini sensor under the same name)
and a rogue central (a plain Bumble central speaking the protocol).
"""

from __future__ import annotations

import asyncio
import logging
import types
from typing import Any

import numpy as np
import pytest
from bleak.exc import BleakError
from bumble.link import LocalLink
from cli_runner import cli

from imu.ble import discovery, pairing
from imu.ble.bumble_backend import BumbleRadio
from imu.ble.client import (
    AmbiguousDeviceError,
    IncompatibleSensorError,
    SensorClient,
    SensorError,
    StreamConfig,
)
from imu.ble.pairing import PairingRefusedError, pair_sensor
from imu.ble.stack import OutOfRange, fast_bumble_formatting
from imu.core.errors import InputError
from imu.device import protocol as P
from imu.device.chip import SampleBlock
from imu.testing.harness import Central, Rig
from imu.testing.mini_sensor import MiniSensor
from imu.testing.recordings import random_recording

RATE = 104
logging.getLogger("bumble").setLevel(logging.CRITICAL)
fast_bumble_formatting()

FAST = dict(scan_timeout_s=3.0, watchdog_s=1.0, sync_interval_s=0.25, backoff_initial_s=0.05,
            settle_s=0.3)


async def impostor(link: LocalLink, name: str, address: str = "F0:F0:F0:F0:F0:66",
                   ) -> tuple[MiniSensor, list[Any]]:
    """A device advertising ``name`` that streams other data; returns it and its connections."""
    fake = MiniSensor(link, random_recording(5000, RATE, seed=666), name=name, address=address,
                      time_scale=10.0)
    connections: list[Any] = []
    fake.device.on("connection", connections.append)
    await fake.start()
    return fake, connections


async def until(cond: Any, timeout_s: float = 30.0) -> None:
    t_end = asyncio.get_running_loop().time() + timeout_s
    while not cond():
        assert asyncio.get_running_loop().time() < t_end, "timed out"
        await asyncio.sleep(0.02)


# ---- finding 4: an impostor with the same name ----------------------------------------------


@pytest.mark.parametrize("trial", range(4))
def test_a_name_two_devices_advertise_is_refused_not_guessed(trial: int) -> None:
    async def go() -> list[Any]:
        rig = await Rig.start("virtual", random_recording(5000, RATE), time_scale=10.0)
        fake, connections = await impostor(rig.link, rig.sensor.name)
        client = rig.client(**FAST)
        with pytest.raises(AmbiguousDeviceError) as err:
            await client.run(asyncio.Event())
        assert "F0:F0:F0:F0:F0:66" in str(err.value) and rig.sensor.dev.address in str(err.value)
        assert "--address" in str(err.value)
        assert not rig.sensor.dev.connected
        await fake.stop()
        await rig.stop()
        return connections

    assert asyncio.run(go()) == []


def test_after_a_dropout_the_client_reconnects_only_to_the_pinned_address() -> None:
    async def go() -> tuple[SensorClient, list[SampleBlock], Rig, list[Any]]:
        rig = await Rig.start("virtual", random_recording(40_000, RATE), time_scale=10.0)
        blocks: list[SampleBlock] = []
        client = rig.client(config=StreamConfig(rate_hz=RATE), on_block=blocks.append, **FAST)
        stop = asyncio.Event()
        seen: list[Any] = []

        async def script() -> None:
            await until(lambda: client.assembler.stats.samples > 500)
            assert client.pinned_address == rig.sensor.dev.address
            with OutOfRange(rig.sensor.controller):  # the sensor walks away ...
                fake, connections = await impostor(rig.link, rig.sensor.name)  # ... a twin
                seen.append(connections)
                await asyncio.sleep(3.0)  # appears and advertises while the client rescans
            n = client.assembler.stats.samples
            await until(lambda: client.assembler.stats.samples > n + 2000)
            await until(lambda: not client.assembler.pending)
            await fake.stop()
            stop.set()

        task = asyncio.create_task(script())
        await asyncio.wait_for(client.run(stop), 90)
        await task
        await rig.stop()
        return client, blocks, rig, seen[0]

    client, blocks, rig, connections = asyncio.run(go())
    assert connections == []  # the impostor was never connected to
    assert client.stats.link_losses >= 1 and client.stats.connects >= 2
    seq = np.concatenate([b.seq for b in blocks])
    assert np.array_equal(seq, np.arange(len(seq)))
    produced_seq, acc, gyr = rig.sensor.sessions()[-1]
    got = np.concatenate([b.acc_counts for b in blocks])
    assert np.array_equal(got, acc[: len(got)])  # every sample is the sensor's own
    assert client.assembler.stats.lost_samples == 0


# ---- finding 5: bonding, encrypted control, rogue centrals ----------------------------------


async def paired_rig(**sensor_config: Any) -> Rig:
    rig = await Rig.start("virtual", random_recording(40_000, RATE), time_scale=5.0,
                          config=sensor_config or None)
    r = rig.radio
    paired = await pair_sensor(address=rig.sensor.dev.address, scanner_backend=r.scanner_backend,
                               client_backend=r.client_backend, scan_timeout_s=3.0)
    assert paired.status.flags & P.STATUS_BONDED and paired.status.flags & P.STATUS_SECURE
    return rig


async def record_a_little(rig: Rig, radio: BumbleRadio | None = None,
                          seconds: float = 1.0) -> SensorClient:
    radio = radio or rig.radio
    client = SensorClient(address=rig.sensor.dev.address, config=StreamConfig(rate_hz=RATE),
                          scanner_backend=radio.scanner_backend,
                          client_backend=radio.client_backend, **FAST)
    await asyncio.wait_for(client.run(asyncio.Event(), duration_s=seconds), 60)
    return client


def test_before_bonding_anyone_may_control_the_sensor() -> None:
    """First use (documented): until a host bonds, the sensor is open; the rogue test below
    would pass trivially if writes were refused anyway."""

    async def go() -> P.Status:
        rig = await Rig.start("virtual", random_recording(5000, RATE), time_scale=5.0)
        rogue = Central(rig.link)
        await rogue.power_on()
        await rogue.connect(rig.sensor.dev.address)
        await rogue.command(P.ControlCommand.start())
        await asyncio.sleep(0.1)
        status = await rogue.read_status()
        await rig.stop()
        return status

    status = asyncio.run(go())
    assert status.flags & P.STATUS_RUNNING and not status.flags & P.STATUS_BONDED


def test_a_rogue_central_cannot_control_a_bonded_sensor() -> None:
    async def go() -> None:
        rig = await paired_rig()
        host = await record_a_little(rig)  # the bonded host records (encrypted)
        assert host.assembler.stats.samples > 50 and not host.stats.errors
        rogue = Central(rig.link, address="F1:F1:F1:F1:F1:66")
        await rogue.power_on()
        await rogue.connect(rig.sensor.dev.address)
        before = await rogue.read_status()  # reading the status is allowed
        assert before.flags & P.STATUS_BONDED and not before.flags & P.STATUS_SECURE
        for cmd in (P.ControlCommand.start(), P.ControlCommand.stop(),
                    P.ControlCommand.set_rate(52), P.ControlCommand.set_ranges(2, 125),
                    P.ControlCommand.resend(0)):
            with pytest.raises(Exception, match="INSUFFICIENT_ENCRYPTION"):
                await rogue.command(cmd)
        after = await rogue.read_status()
        assert after.settings == before.settings and after.epoch == before.epoch
        assert not after.flags & P.STATUS_RUNNING
        await rig.stop()

    asyncio.run(go())


def test_a_rogue_that_pairs_after_the_window_is_ignored_and_dropped() -> None:
    async def go() -> None:
        rig = await paired_rig(PAIRING_WINDOW_S=0)
        bonds = dict(rig.sensor.dev.flash.files)
        rogue = Central(rig.link, address="F1:F1:F1:F1:F1:67")
        await rogue.power_on()
        await rogue.connect(rig.sensor.dev.address)
        await rogue.conn.pair()  # the radio pairs (Just Works) ...
        assert rogue.conn.encryption
        await rogue.command(P.ControlCommand.start())  # ... but the sensor keeps no bond
        await until(lambda: rogue.conn.handle not in rogue.dev.connections, 5.0)
        assert rig.sensor.dev.app.last_error == P.ERR_NOT_BONDED
        assert not rig.sensor.dev.app.running
        assert rig.sensor.dev.flash.files == bonds  # only the host's bond on flash
        host = await record_a_little(rig)  # the bonded host still records
        assert host.assembler.stats.samples > 50
        await rig.stop()

    asyncio.run(go())


def test_a_second_computer_is_refused_outside_the_window_and_told_why() -> None:
    async def go() -> None:
        rig = await paired_rig(PAIRING_WINDOW_S=0)
        other = BumbleRadio(rig.link, address="C0:C0:C0:C0:C0:77")
        with pytest.raises(PairingRefusedError, match="bonded with another computer"):
            await pair_sensor(address=rig.sensor.dev.address,
                              scanner_backend=other.scanner_backend,
                              client_backend=other.client_backend, scan_timeout_s=3.0)
        with pytest.raises(SensorError, match="imu pair"):
            await record_a_little(rig, other)
        await rig.stop()

    asyncio.run(go())


def test_the_bond_survives_a_reboot_and_a_new_host_may_pair_in_the_window() -> None:
    async def go() -> None:
        rig = await paired_rig()
        await rig.sensor.reboot()  # flash kept, RAM gone: the bond is read back at boot
        assert rig.sensor.dev.app.server.locked
        host = await record_a_little(rig)
        assert host.assembler.stats.samples > 50
        rogue = Central(rig.link, address="F1:F1:F1:F1:F1:68")
        await rogue.power_on()
        await rogue.connect(rig.sensor.dev.address)
        with pytest.raises(Exception, match="INSUFFICIENT_ENCRYPTION"):
            await rogue.command(P.ControlCommand.start())
        await rogue.conn.disconnect()
        other = BumbleRadio(rig.link, address="C0:C0:C0:C0:C0:78")  # within the window
        paired = await pair_sensor(address=rig.sensor.dev.address,
                                   scanner_backend=other.scanner_backend,
                                   client_backend=other.client_backend, scan_timeout_s=3.0)
        assert paired.status.flags & P.STATUS_SECURE
        await rig.stop()

    asyncio.run(go())


def test_an_impostor_at_the_bonded_address_is_never_recorded() -> None:
    """Once bonded, even a device that copies the sensor's address (and name) while the sensor
    is away cannot stand in for it: it has no bond keys, the host's encryption fails, the link
    drops, and the session resumes when the sensor is back."""

    async def go() -> tuple[SensorClient, list[SampleBlock], Rig, list[Any]]:
        rig = await paired_rig()
        blocks: list[SampleBlock] = []
        client = SensorClient(address=rig.sensor.dev.address, config=StreamConfig(rate_hz=RATE),
                              on_block=blocks.append, scanner_backend=rig.radio.scanner_backend,
                              client_backend=rig.radio.client_backend, **FAST)
        stop = asyncio.Event()
        seen: list[Any] = []

        async def script() -> None:
            await until(lambda: client.assembler.stats.samples > 300)
            with OutOfRange(rig.sensor.controller):
                fake, connections = await impostor(rig.link, rig.sensor.name,
                                                   address=rig.sensor.dev.address)
                seen.append(connections)
                await asyncio.sleep(3.0)
                await fake.stop()
                fake.controller.link.remove_controller(fake.controller)
            n = client.assembler.stats.samples
            await until(lambda: client.assembler.stats.samples > n + 1000)
            await until(lambda: not client.assembler.pending)
            stop.set()

        task = asyncio.create_task(script())
        await asyncio.wait_for(client.run(stop), 90)
        await task
        await rig.stop()
        return client, blocks, rig, seen[0]

    client, blocks, rig, connections = asyncio.run(go())
    assert connections  # it was reached ... but never streamed into the session:
    seq = np.concatenate([b.seq for b in blocks])
    assert np.array_equal(seq, np.arange(len(seq)))
    _, acc, _ = rig.sensor.sessions()[-1]
    got = np.concatenate([b.acc_counts for b in blocks])
    assert np.array_equal(got, acc[: len(got)])
    assert client.assembler.stats.lost_samples == 0 and client.stats.reboots == 0


def test_imu_pair_on_the_command_line() -> None:
    code, out, err = cli("pair", "--virtual", "bridge", "--scan-timeout-s", "5")
    assert code == 0, err
    assert "bonded with IMU-VIRT F0:F0:F0:F0:F0:01" in out and "--address" in out


# ---- finding 8 (the peripheral's part): a malformed status ----------------------------------


def test_a_malformed_status_is_one_line_not_a_traceback() -> None:
    async def go() -> None:
        rig = await Rig.start("mini", random_recording(5000, RATE), time_scale=5.0)
        rig.sensor.dev._status = lambda: types.SimpleNamespace(encode=lambda: b"\x01" * 7)
        client = rig.client(**FAST)
        with pytest.raises(IncompatibleSensorError) as err:
            await client.run(asyncio.Event())
        assert isinstance(err.value, InputError)  # one line and exit 2 on the command line
        assert "not a compatible sensor" in str(err.value) and "\n" not in str(err.value)
        await rig.stop()

    asyncio.run(go())


# ---- issue 11: clear errors without hardware ------------------------------------------------


class _NoAdapter:
    def __init__(self, *a: Any, **k: Any) -> None:
        raise BleakError("No Bluetooth adapters found.")

    @classmethod
    async def discover(cls, *a: Any, **k: Any) -> Any:
        raise BleakError("No Bluetooth adapters found.")

    @classmethod
    async def find_device_by_filter(cls, *a: Any, **k: Any) -> Any:
        raise BleakError("No Bluetooth adapters found.")


@pytest.mark.parametrize("command", [["scan", "--timeout-s", "1"],
                                     ["record", "--out", "OUT", "--scan-timeout-s", "1", "--quiet"],
                                     ["pair", "--scan-timeout-s", "1"]])
def test_no_bluetooth_adapter_suggests_the_virtual_sensor(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(discovery, "BleakScanner", _NoAdapter)
    monkeypatch.setattr(pairing, "BleakScanner", _NoAdapter)
    code, _, err = cli(*[str(tmp_path / "out") if c == "OUT" else c for c in command])
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imu: error: no usable Bluetooth adapter")
    assert "--virtual" in lines[0]


def test_firmware_deploy_to_a_missing_port_says_so() -> None:
    code, _, err = cli("firmware", "deploy", "--port", "/dev/ttyNOPE0")
    assert code == 1
    assert err.strip() == (
        "imu: error: no serial port /dev/ttyNOPE0 (is the board plugged in? its port is "
        "usually /dev/ttyACM0 on Linux, /dev/cu.usbmodem* on macOS)"
    )
    assert "another program" not in err
