"""``asyncio`` as the firmware sees it: CPython's asyncio plus MicroPython's ``sleep_ms``,
with sleeps measured on the virtual clock (``time_scale`` x faster than real time)."""

from __future__ import annotations

import asyncio as _asyncio
import types
from typing import Any


def make(env: Any) -> types.ModuleType:
    clock = env.clock
    m = types.ModuleType("asyncio")
    for name in ("create_task", "gather", "Event", "Lock", "CancelledError", "TimeoutError",
                 "wait_for", "get_event_loop", "current_task", "run", "Task"):
        setattr(m, name, getattr(_asyncio, name))

    async def sleep(s: float) -> None:
        await _asyncio.sleep(clock.real_seconds(s))

    async def sleep_ms(ms: int) -> None:
        await _asyncio.sleep(clock.real_seconds(ms / 1000))

    m.sleep = sleep  # type: ignore[attr-defined]
    m.sleep_ms = sleep_ms  # type: ignore[attr-defined]
    return m
