"""``sys`` shim: the real module's attributes, with ``implementation._machine`` of the board the
virtual sensor stands in for (the reference board, Arduino Nano RP2040 Connect)."""

from __future__ import annotations

import sys as _sys
import types
from typing import Any


def make(env: Any) -> types.ModuleType:
    m = types.ModuleType("sys")
    for k in ("byteorder", "maxsize", "stdout", "stderr", "stdin", "exit", "print_exception",
              "argv", "path", "modules", "version", "version_info", "platform"):
        if hasattr(_sys, k):
            setattr(m, k, getattr(_sys, k))
    m.implementation = types.SimpleNamespace(  # type: ignore[attr-defined]
        name="micropython", version=(1, 24, 0),
        _machine="Arduino Nano RP2040 Connect with RP2040 (virtual)", _mpy=0)
    m.platform = "rp2"  # type: ignore[attr-defined]
    return m
