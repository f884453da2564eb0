"""The virtual sensor's clock: real monotonic time scaled by ``time_scale``."""

from __future__ import annotations

import time


class VirtualClock:
    """Microseconds since ``start()``, running ``time_scale`` times faster than real time."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self._t0 = time.monotonic()

    def now_us(self) -> int:
        return int((time.monotonic() - self._t0) * self.time_scale * 1e6)

    def now_s(self) -> float:
        return (time.monotonic() - self._t0) * self.time_scale

    def real_seconds(self, virtual_s: float) -> float:
        """How long ``virtual_s`` of virtual time takes in real time."""
        return virtual_s / self.time_scale


class ManualClock(VirtualClock):
    """A clock that only moves when told (``advance``): deterministic tests of the firmware."""

    def __init__(self, start_us: int = 0) -> None:
        super().__init__(1.0)
        self.t_us = int(start_us)

    def now_us(self) -> int:
        return self.t_us

    def now_s(self) -> float:
        return self.t_us / 1e6

    def advance(self, seconds: float) -> None:
        self.t_us += int(round(seconds * 1e6))

    def real_seconds(self, virtual_s: float) -> float:
        return 0.0
