"""``micropython`` shim: const, schedule, emergency buffer, decorators."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from typing import Any


def make(env: Any) -> types.ModuleType:
    m = types.ModuleType("micropython")

    def const(x: Any) -> Any:
        return x

    def schedule(fn: Callable[[Any], Any], arg: Any) -> None:
        asyncio.get_running_loop().call_soon(fn, arg)

    def identity(f: Any) -> Any:
        return f

    m.const = const  # type: ignore[attr-defined]
    m.schedule = schedule  # type: ignore[attr-defined]
    m.alloc_emergency_exception_buf = lambda n: None  # type: ignore[attr-defined]
    m.native = m.viper = m.bytecode = identity  # type: ignore[attr-defined]
    m.mem_info = lambda *a: None  # type: ignore[attr-defined]
    m.opt_level = lambda *a: 0  # type: ignore[attr-defined]
    return m
