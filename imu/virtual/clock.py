"""The virtual sensor's clock: real monotonic time scaled by ``time_scale``."""

from __future__ import annotations

import time


class VirtualClock:
    """Microseconds since creation, running ``time_scale`` times faster than real time.

    ``max_step_s`` (virtual seconds): a longer gap between two readings is cut to this, so a
    host stall (a loaded machine not running the firmware task) freezes the virtual device
    instead of overflowing the emulated chip's FIFO. ``None``: strict scaled wall time.
    ``skipped_s`` sums the virtual time dropped that way.

    ``hold(t_us)`` freezes the clock at ``t_us`` until released or moved on (``hold(None)`` or
    a later ``t_us``); time that passes meanwhile is skipped too. The emulated chip uses it to
    pause the whole device (MCU ticks and chip alike) when the firmware does not drain the FIFO
    in time, so a host stall becomes a consistent pause instead of a FIFO overflow.
    """

    def __init__(self, time_scale: float = 1.0, max_step_s: float | None = 0.25) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self.max_step_s = max_step_s
        self.skipped_s = 0.0
        self._last_real = time.monotonic()
        self._virtual_s = 0.0
        self.hold_us: int | None = None

    def hold(self, t_us: int | None) -> None:
        """Virtual time may not pass ``t_us`` (None: free running again)."""
        self.hold_us = None if t_us is None else int(t_us)

    def now_s(self) -> float:
        real = time.monotonic()
        dv = (real - self._last_real) * self.time_scale
        self._last_real = real
        if self.max_step_s is not None and dv > self.max_step_s:
            self.skipped_s += dv - self.max_step_s
            dv = self.max_step_s
        self._virtual_s += dv
        if self.hold_us is not None and self._virtual_s * 1e6 > self.hold_us:
            held = max(self.hold_us / 1e6, self._virtual_s - dv)  # never backwards
            self.skipped_s += self._virtual_s - held
            self._virtual_s = held
        return self._virtual_s

    def now_us(self) -> int:
        return int(self.now_s() * 1e6)

    def real_seconds(self, virtual_s: float) -> float:
        """How long ``virtual_s`` of virtual time takes in real time."""
        return virtual_s / self.time_scale


class ManualClock(VirtualClock):
    """A clock that only moves when told (``advance``): deterministic tests of the firmware."""

    def __init__(self, start_us: int = 0) -> None:
        super().__init__(1.0, max_step_s=None)
        self.t_us = int(start_us)
        self._t_read = self.t_us

    def now_us(self) -> int:
        if self.hold_us is not None and self.t_us > self.hold_us:
            held = max(self.hold_us, self._t_read)  # never backwards
            self.skipped_s += (self.t_us - held) / 1e6
            self.t_us = held
        self._t_read = self.t_us
        return self.t_us

    def now_s(self) -> float:
        return self.now_us() / 1e6

    def advance(self, seconds: float) -> None:
        self.t_us += int(round(seconds * 1e6))

    def real_seconds(self, virtual_s: float) -> float:
        return 0.0
