"""A virtual sensor: the real firmware on the host, a Bumble BLE controller and an emulated
LSM6DSOX fed by a simulated recording.

Design: the firmware's main loop is an asyncio coroutine (MicroPython has asyncio too), so it
runs as a task on the same event loop as Bumble; its sleeps and ticks use a virtual clock that
can run ``time_scale`` times faster than real time. The firmware is loaded unmodified through
:class:`imu.virtual.loader.FirmwareEnv` with shims for ``bluetooth`` (Bumble), ``machine``
(I2C to the emulated chip), ``micropython``, ``time`` and ``asyncio``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import numpy as np
from bumble.controller import Controller
from bumble.device import Device
from bumble.link import LocalLink

from imu.ble.stack import bumble_device, drop_links
from imu.device.chip import RATES_HZ, ImuRecording
from imu.virtual.clock import VirtualClock
from imu.virtual.flash import VirtualFlash
from imu.virtual.loader import FirmwareEnv
from imu.virtual.lsm6dsox import Lsm6dsoxEmulator, Produced
from imu.virtual.shims.machine import MachineReset

log = logging.getLogger(__name__)

IMU_I2C_ADDR = 0x6A


class VirtualSensor:
    """The firmware of ``firmware/`` running on the host behind a Bumble controller.

    ``time_scale`` > 1 runs the virtual clock (firmware ticks and sleeps, chip sampling) faster
    than real time; ``max_stall_s`` (virtual) freezes that clock through host stalls longer
    than this, and turns on the chip's stall guard (the device pauses whenever the firmware
    has not drained the FIFO below half full), so a busy machine never overflows the chip FIFO
    (``None``: strict wall time, overflows then show up as FIFO overflow flags and seq holes,
    like on a real board).
    ``tick_offset`` presets the chip's 32-bit timestamp counter (e.g. near its wrap);
    ``ring_samples`` overrides the firmware ring capacity (board default 6400); ``config``
    adds other ``imu_config`` values (e.g. ``PAIRING_WINDOW_S``).

    ``produced`` holds every sample the emulated chip batched in the current session (seq,
    counts, ticks) to compare what a host received against; ``sessions`` all of them.
    """

    def __init__(self, controller_link: LocalLink, recording: ImuRecording,
                 name: str = "IMU-VIRT", address: str = "F0:F0:F0:F0:F0:01",
                 time_scale: float = 1.0, sample_rate_hz: float | None = None,
                 tick_offset: int = 0, ring_samples: int | None = None,
                 max_stall_s: float | None = 0.1, config: dict[str, Any] | None = None) -> None:
        self.link = controller_link
        self.recording = recording
        self.name = name
        self.address = address
        self.clock = VirtualClock(time_scale, max_step_s=max_stall_s)
        rec_rate = float(1.0 / (recording.t_s[1] - recording.t_s[0]))
        rate = sample_rate_hz if sample_rate_hz is not None else rec_rate
        self.sample_rate_hz = int(min(RATES_HZ, key=lambda r: abs(r - rate)))
        self.chip = Lsm6dsoxEmulator(recording, self.clock, tick_offset=tick_offset)
        self.config: dict[str, Any] = {
            "NAME": name,
            "RATE_HZ": self.sample_rate_hz,
            "ACC_RANGE_G": int(recording.acc_range_g),
            "GYR_RANGE_DPS": int(recording.gyr_range_dps),
        }
        if ring_samples is not None:
            self.config["RING_SAMPLES"] = int(ring_samples)
        self.config.update(config or {})
        self.controller: Controller | None = None
        self.device: Device | None = None
        self.env: FirmwareEnv | None = None
        self.flash = VirtualFlash()
        """The board's flash (the bond store): kept across reboots, as on the board."""
        self.app: Any = None
        self.boots = 0
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Power on: controller + bumble device on the link, then boot the firmware."""
        if self.device is None:
            self.controller, self.device = bumble_device(
                self.link, self.address, name=self.name, controller_name=f"{self.name}-ctrl")
            await self.device.power_on()
        elif self.controller is not None and self.controller not in self.link.controllers:
            self.link.add_controller(self.controller)  # started again after stop()
        await self._boot()

    async def _boot(self) -> None:
        assert self.device is not None
        uid = bytes.fromhex(self.address.replace(":", ""))[::-1] + b"\x00\x00"
        self.env = FirmwareEnv(clock=self.clock, device=self.device,
                               i2c_devices={IMU_I2C_ADDR: self.chip}, unique_id=uid,
                               config=self.config, flash=self.flash)
        app_mod = self.env.load("imu_fw.app")
        self.app = app_mod.App()
        self.boots += 1
        self._task = asyncio.get_running_loop().create_task(self._run(), name="imu-firmware")
        await asyncio.sleep(0)

    async def _run(self) -> None:
        try:
            await self.app.main()
        except MachineReset:
            asyncio.get_running_loop().create_task(self.reboot())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("virtual firmware crashed")
            raise

    async def _halt_firmware(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, MachineReset):
                await self._task
            self._task = None
        if self.env is not None and self.env.ble is not None:
            self.env.ble.close()
        if self.device is not None and self.device.is_advertising:
            await self.device.stop_advertising()

    async def stop(self) -> None:
        """Firmware off, link dropped, controller removed from the link."""
        await self._halt_firmware()
        await self.drop_link()
        if self.controller is not None and self.controller in self.link.controllers:
            self.link.remove_controller(self.controller)

    async def reboot(self) -> None:
        """The MCU restarts: links drop, the RAM ring is lost, the firmware boots again (new
        epoch, seq restarts at 0 with the next START), the chip gets a software reset."""
        await self._halt_firmware()
        await self.drop_link()
        await self._boot()

    async def drop_link(self) -> None:
        """Link loss (supervision timeout, reason 0x08) seen by both controllers."""
        if self.controller is not None:
            drop_links(self.controller)
        await asyncio.sleep(0.01)

    # --- ground truth ----------------------------------------------------------------------
    @property
    def produced(self) -> Produced:
        """Samples of the current chip session (empty before the first START)."""
        self.chip._advance()
        return self.chip.sessions[-1] if self.chip.sessions else Produced()

    @property
    def sessions(self) -> list[Produced]:
        self.chip._advance()
        return list(self.chip.sessions)

    @property
    def connected(self) -> bool:
        return bool(self.controller and self.controller.le_connections)

    def produced_counts(self) -> np.ndarray:
        """(N, 6) int16: acc xyz, gyr xyz of the current session."""
        p = self.produced
        return np.hstack([p.acc_counts, p.gyr_counts])
