"""Load the unmodified firmware (``imu/firmware/``, package data) into an isolated namespace
with host shims.

Every firmware module gets its own ``__builtins__`` whose ``__import__`` resolves
``machine``, ``bluetooth``, ``micropython``, ``time``, ``asyncio``, ``sys`` (and an optional
``imu_config``) to this environment's shims and ``imu_fw.*`` to this environment's copies; every
other import goes to CPython. Nothing is put in ``sys.modules``, so each virtual sensor (or
test) has its own firmware instance, clock and chip.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from imu.device.firmware import FIRMWARE_DIR
from imu.virtual.clock import VirtualClock
from imu.virtual.flash import VirtualFlash
from imu.virtual.shims import asyncio as asyncio_shim
from imu.virtual.shims import bluetooth as bluetooth_shim
from imu.virtual.shims import machine as machine_shim
from imu.virtual.shims import micropython as micropython_shim
from imu.virtual.shims import sys as sys_shim
from imu.virtual.shims import time as time_shim

SHIMS: dict[str, Callable[[Any], types.ModuleType]] = {
    "machine": machine_shim.make,
    "bluetooth": bluetooth_shim.make,
    "micropython": micropython_shim.make,
    "time": time_shim.make,
    "asyncio": asyncio_shim.make,
    "sys": sys_shim.make,
}
"""MicroPython module name -> ``make(env)`` of its host stand-in (:mod:`imu.virtual.shims`)."""
SHIM_NAMES = tuple(SHIMS)


class FirmwareEnv:
    """One board's worth of host stand-ins plus the firmware modules loaded against them."""

    def __init__(self, *, clock: VirtualClock | None = None, device: Any = None,
                 i2c_devices: dict[int, Any] | None = None, unique_id: bytes = b"\x00" * 8,
                 config: dict[str, Any] | None = None, root: Path = FIRMWARE_DIR,
                 shims: Iterable[str] = SHIM_NAMES, flash: VirtualFlash | None = None) -> None:
        self.clock = clock or VirtualClock()
        self.device = device
        self.i2c_devices = i2c_devices if i2c_devices is not None else {}
        self.unique_id = unique_id
        self.pins: dict[Any, Any] = {}
        self.ble: Any = None
        self.root = Path(root)
        self.modules: dict[str, types.ModuleType] = {}
        self.shims: dict[str, types.ModuleType] = {}
        for name in shims:
            self.shims[name] = SHIMS[name](self)
        if config is not None:
            cfg = types.ModuleType("imu_config")
            cfg.__dict__.update(config)
            self.shims["imu_config"] = cfg
        self.flash = flash if flash is not None else VirtualFlash()
        """The board's files (the firmware's ``open``; never the host's disk)."""
        self.builtins = dict(builtins.__dict__)
        self.builtins["__import__"] = self._import
        self.builtins["open"] = self.flash.open

    def _is_firmware(self, name: str) -> bool:
        top = name.split(".")[0]
        return (self.root / top).is_dir() or (self.root / f"{top}.py").is_file()

    def _import(self, name: str, globals: dict[str, Any] | None = None,
                locals: Any = None, fromlist: Any = (), level: int = 0) -> types.ModuleType:
        if level:
            package = (globals or {}).get("__package__") or ""
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            name = f"{base}.{name}" if name else base
        if name in self.shims:
            return self.shims[name]
        if name == "imu_config":
            raise ImportError("no imu_config on this device")
        if not self._is_firmware(name):
            return builtins.__import__(name, globals, locals, fromlist, level=0)
        mod = self.load(name)
        if fromlist:
            for item in fromlist:
                if item != "*" and not hasattr(mod, item):
                    try:
                        self.load(f"{name}.{item}")
                    except ImportError:
                        pass
            return mod
        return self.load(name.split(".")[0])

    def load(self, name: str) -> types.ModuleType:
        """Import firmware module ``name`` (e.g. ``imu_fw.app``) into this environment."""
        if name in self.modules:
            return self.modules[name]
        parts = name.split(".")
        parent = self.load(".".join(parts[:-1])) if len(parts) > 1 else None
        base = self.root.joinpath(*parts)
        is_pkg = (base / "__init__.py").is_file()
        path = base / "__init__.py" if is_pkg else base.with_suffix(".py")
        if not path.is_file():
            raise ImportError(f"no firmware module {name}")
        mod = types.ModuleType(name)
        mod.__file__ = str(path)
        mod.__builtins__ = self.builtins  # type: ignore[attr-defined]
        mod.__package__ = name if is_pkg else ".".join(parts[:-1])
        if is_pkg:
            mod.__path__ = [str(base)]
        self.modules[name] = mod
        try:
            exec(compile(path.read_text(), str(path), "exec"), mod.__dict__)
        except BaseException:
            del self.modules[name]
            raise
        if parent is not None:
            setattr(parent, parts[-1], mod)
        return mod
