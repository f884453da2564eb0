"""``machine`` shim: I2C wired to emulated chips, Pin, ADC, WDT, unique_id, reset, freq."""

from __future__ import annotations

import errno
import types
from typing import Any


class MachineReset(BaseException):
    """Raised by ``machine.reset()``: the virtual sensor reboots the firmware."""


def make(env: Any) -> types.ModuleType:
    m = types.ModuleType("machine")
    bus: dict[int, Any] = env.i2c_devices

    class Pin:
        IN, OUT, OPEN_DRAIN = 0, 1, 2
        PULL_UP, PULL_DOWN = 1, 2
        IRQ_RISING, IRQ_FALLING = 1, 2

        def __init__(self, id: Any, mode: int = -1, pull: int = -1, value: int | None = None
                     ) -> None:
            self.id = id
            self._value = 0 if value is None else int(value)
            env.pins[id] = self

        def init(self, *args: Any, **kw: Any) -> None:
            pass

        def value(self, v: int | None = None) -> int | None:
            if v is None:
                return self._value
            self._value = int(bool(v))
            return None

        def on(self) -> None:
            self._value = 1

        def off(self) -> None:
            self._value = 0

        def irq(self, *args: Any, **kw: Any) -> None:
            return None

    class I2C:
        def __init__(self, id: int = 0, *, scl: Any = None, sda: Any = None,
                     freq: int = 400000, timeout: int = 50000) -> None:
            self.id = id

        def _dev(self, addr: int) -> Any:
            dev = bus.get(addr)
            if dev is None:
                raise OSError(errno.EIO, "I2C NACK")
            return dev

        def scan(self) -> list[int]:
            return sorted(bus)

        def readfrom_mem_into(self, addr: int, memaddr: int, buf: Any, *, addrsize: int = 8
                              ) -> None:
            data = self._dev(addr).read(memaddr, len(buf))
            buf[: len(data)] = data

        def readfrom_mem(self, addr: int, memaddr: int, n: int, *, addrsize: int = 8) -> bytes:
            return self._dev(addr).read(memaddr, n)

        def writeto_mem(self, addr: int, memaddr: int, buf: Any, *, addrsize: int = 8) -> None:
            self._dev(addr).write(memaddr, bytes(buf))

    class ADC:
        def __init__(self, pin: Any) -> None:
            self.pin = pin

        def read_u16(self) -> int:
            return 65535

    class WDT:
        def __init__(self, id: int = 0, timeout: int = 5000) -> None:
            self.timeout = timeout

        def feed(self) -> None:
            pass

    def reset() -> None:
        raise MachineReset

    m.Pin = Pin  # type: ignore[attr-defined]
    m.I2C = I2C  # type: ignore[attr-defined]
    m.SoftI2C = I2C  # type: ignore[attr-defined]
    m.ADC = ADC  # type: ignore[attr-defined]
    m.WDT = WDT  # type: ignore[attr-defined]
    m.reset = reset  # type: ignore[attr-defined]
    m.soft_reset = reset  # type: ignore[attr-defined]
    m.unique_id = lambda: env.unique_id  # type: ignore[attr-defined]
    m.freq = lambda *a: 133_000_000  # type: ignore[attr-defined]
    m.MachineReset = MachineReset  # type: ignore[attr-defined]
    return m
