"""``time`` shim on the virtual clock: ticks_ms/us with MicroPython's 2^30 wrap, sleeps."""

from __future__ import annotations

import time as _time
import types
from typing import Any

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2


def make(env: Any) -> types.ModuleType:
    clock = env.clock
    m = types.ModuleType("time")

    def ticks_us() -> int:
        return clock.now_us() & TICKS_MAX

    def ticks_ms() -> int:
        return (clock.now_us() // 1000) & TICKS_MAX

    def ticks_diff(a: int, b: int) -> int:
        return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    def ticks_add(a: int, d: int) -> int:
        return (a + d) & TICKS_MAX

    def sleep(s: float) -> None:
        _time.sleep(clock.real_seconds(s))

    m.ticks_us = ticks_us  # type: ignore[attr-defined]
    m.ticks_ms = ticks_ms  # type: ignore[attr-defined]
    m.ticks_cpu = ticks_us  # type: ignore[attr-defined]
    m.ticks_diff = ticks_diff  # type: ignore[attr-defined]
    m.ticks_add = ticks_add  # type: ignore[attr-defined]
    m.sleep = sleep  # type: ignore[attr-defined]
    m.sleep_ms = lambda ms: sleep(ms / 1000)  # type: ignore[attr-defined]
    m.sleep_us = lambda us: sleep(us / 1e6)  # type: ignore[attr-defined]
    m.time = lambda: int(clock.now_s())  # type: ignore[attr-defined]
    m.time_ns = lambda: clock.now_us() * 1000  # type: ignore[attr-defined]
    return m
