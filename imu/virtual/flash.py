"""The board's flash file system for the firmware on the host: a dict of file name -> bytes.

The firmware opens files with the builtin ``open`` (its bond store, :mod:`imu_fw.bonds`); in
the virtual sensor that ``open`` is :meth:`VirtualFlash.open`, so the firmware never touches the
host's disk, and the contents survive a reboot of the virtual sensor (as flash does) but not
the Python process.
"""

from __future__ import annotations

import io
from typing import Any


class _File(io.BytesIO):
    """A file being written: committed to the flash when closed."""

    def __init__(self, flash: VirtualFlash, name: str, initial: bytes = b"") -> None:
        super().__init__(initial)
        self._flash = flash
        self._name = name
        self.seek(0, io.SEEK_END)

    def close(self) -> None:
        if not self.closed:
            self._flash.files[self._name] = self.getvalue()
        super().close()


class VirtualFlash:
    """Files by name; ``open`` supports the modes MicroPython code uses (r, w, a, +b)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def open(self, name: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        key = str(name).lstrip("/")
        binary = "b" in mode
        if "r" in mode and "+" not in mode:
            if key not in self.files:
                raise OSError(2, "ENOENT", key)
            raw: io.IOBase = io.BytesIO(self.files[key])
        elif "w" in mode:
            raw = _File(self, key)
        elif "a" in mode or "+" in mode:
            raw = _File(self, key, self.files.get(key, b""))
        else:
            raise ValueError(f"unsupported mode {mode!r}")
        if binary:
            return raw
        return _Text(raw)

    def remove(self, name: str) -> None:
        self.files.pop(str(name).lstrip("/"), None)


class _Text(io.TextIOWrapper):
    def __init__(self, raw: io.IOBase) -> None:
        super().__init__(raw, encoding="utf-8")  # type: ignore[arg-type]
