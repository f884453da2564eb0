"""Bond storage for the BLE stack's pairing secrets (MicroPython ``_IRQ_GET_SECRET`` /
``_IRQ_SET_SECRET``), kept in a small JSON file on the board's flash (docs/ble.md).

The stack hands over opaque (sec_type, key, value) triples; this module stores them, answers
look-ups, and decides whether a NEW peer may bond: only while the sensor holds no bond yet
(first use) or while its pairing window is open (the first minutes after power-on). A peer that
is refused gets no stored keys, so its link is never trusted for control (``ble.Server``).
Flash is written from the main loop (:meth:`Bonds.save`), never inside the IRQ.
"""

import json

from micropython import const

try:
    from binascii import hexlify, unhexlify
except ImportError:  # pragma: no cover - every MicroPython port has binascii
    from ubinascii import hexlify, unhexlify

PATH = "imu_bonds.json"
_PEER_TYPES = (1, 2)
"""Secret types that belong to one bonded peer (NimBLE: our and the peer's LTK material)."""
_MAX_ENTRIES = const(24)


class Bonds:
    def __init__(self, path: str = PATH) -> None:
        self.path = path
        self.entries = []  # [sec_type, key bytes, value bytes], oldest first
        self.dirty = False
        self.load()

    def load(self) -> None:
        self.entries = []
        try:
            with open(self.path) as f:
                for t, k, v in json.load(f):
                    self.entries.append([int(t), unhexlify(k), unhexlify(v)])
        except (OSError, ValueError, TypeError):
            self.entries = []  # no file yet, or unreadable: no bonds

    def save(self) -> None:
        """Write the entries to flash if they changed (call from the main loop)."""
        if not self.dirty:
            return
        self.dirty = False
        rows = [[t, hexlify(k).decode(), hexlify(v).decode()] for t, k, v in self.entries]
        try:
            with open(self.path, "w") as f:
                json.dump(rows, f)
        except OSError:
            self.dirty = True  # try again later

    def bonded(self) -> bool:
        """Whether any peer's bond is stored (the sensor is no longer open to anyone)."""
        for e in self.entries:
            if e[0] in _PEER_TYPES:
                return True
        return False

    def get(self, sec_type: int, index: int, key):  # -> bytes | None
        """The value for (sec_type, key), or the index'th value of sec_type when key is None."""
        n = 0
        for t, k, v in self.entries:
            if t != sec_type:
                continue
            if key is None:
                if n == index:
                    return v
                n += 1
            elif k == bytes(key):
                return v
        return None

    def set(self, sec_type: int, key, value, allow_new: bool) -> bool:
        """Store (value not None) or delete (value None) a secret; False when refused: a new
        peer's key while ``allow_new`` is False, or a delete of nothing."""
        key = bytes(key)
        for i in range(len(self.entries)):
            e = self.entries[i]
            if e[0] == sec_type and e[1] == key:
                if value is None:
                    self.entries.pop(i)
                else:
                    e[2] = bytes(value)
                self.dirty = True
                return True
        if value is None:
            return False
        if sec_type in _PEER_TYPES and not allow_new:
            return False
        if len(self.entries) >= _MAX_ENTRIES:
            self.entries.pop(0)
        self.entries.append([sec_type, key, bytes(value)])
        self.dirty = True
        return True

    def clear(self) -> None:
        self.entries = []
        self.dirty = True
