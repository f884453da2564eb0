"""The sensor's BLE protocol: constants, packet codecs and a vectorised stream decoder.

Pure bytes <-> numpy; no BLE here. The wire format is specified in ``docs/protocol.md``; the
firmware (``firmware/imu_fw/proto.py``) encodes the same layout with ``struct.pack_into`` and both
sides are checked against the vectors in ``fixtures/protocol/``.

Data packet (little-endian), full header (12 bytes)::

    u8 ver_flags (version << 4 | flags) | u8 ranges | u8 n | u8 epoch | u32 seq | u32 ticks
    n x (i16 acc x, y, z, i16 gyr x, y, z)

compact header (8 bytes, flag COMPACT, for MTU 23): ``u8 ver_flags | u8 ranges | u24 seq |
u24 ticks`` and n = (len - 8) / 12. ``ranges`` = acc code | gyr code << 2 | odr code << 5.
``ticks`` is the LSM6DSOX timestamp counter (25 us per tick) of the packet's first sample.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from imu.device.chip import (
    ACC_LSB_G,
    ACC_RANGES_G,
    DEFAULT_ACC_RANGE_G,
    DEFAULT_GYR_RANGE_DPS,
    DEFAULT_RATE_HZ,
    GYR_LSB_DPS,
    GYR_RANGES_DPS,
    RATES_HZ,
    TICK_S,
    TICKS_PER_S,
    counts_to_units,
)

# --- GATT ------------------------------------------------------------------------------------
SERVICE_UUID: Final = "7a1e0001-3c5b-4d8e-9f21-6b0c4e5d7a10"
DATA_UUID: Final = "7a1e0002-3c5b-4d8e-9f21-6b0c4e5d7a10"
"""Notify: data packets."""
CONTROL_UUID: Final = "7a1e0003-3c5b-4d8e-9f21-6b0c4e5d7a10"
"""Write with response: :class:`ControlCommand`."""
STATUS_UUID: Final = "7a1e0004-3c5b-4d8e-9f21-6b0c4e5d7a10"
"""Read + notify: :class:`Status`."""
BATTERY_SERVICE_UUID: Final = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_SERVICE_UUID: Final = "0000180a-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID: Final = "00002a29-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID: Final = "00002a24-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID: Final = "00002a26-0000-1000-8000-00805f9b34fb"
NAME_PREFIX: Final = "IMU-"
PREFERRED_MTU: Final = 247

# --- Data packets ----------------------------------------------------------------------------
PROTOCOL_VERSION: Final = 1
HEADER_SIZE: Final = 12
COMPACT_HEADER_SIZE: Final = 8
SAMPLE_SIZE: Final = 12
"""acc xyz + gyr xyz, int16 each."""
FLAG_OVERFLOW: Final = 0x1
"""The chip's FIFO overflowed before this packet's first sample (the seq jumps by the loss)."""
FLAG_RESEND: Final = 0x2
"""Re-sent from the ring buffer after a RESEND command."""
FLAG_COMPACT: Final = 0x4
"""8-byte header with 24-bit seq and ticks (used when MTU - 3 < 24)."""
FLAG_RESERVED: Final = 0x8

_FULL = struct.Struct("<BBBBII")
_U32_MOD: Final = 1 << 32
_U24_MOD: Final = 1 << 24


def ranges_code(acc_range_g: int, gyr_range_dps: int, rate_hz: int) -> int:
    """The ``ranges`` byte of a packet/status for these settings (ValueError if unsupported)."""
    return (
        ACC_RANGES_G.index(int(acc_range_g))
        | GYR_RANGES_DPS.index(int(gyr_range_dps)) << 2
        | RATES_HZ.index(int(rate_hz)) << 5
    )


def parse_ranges(code: int) -> tuple[int, int, int]:
    """(acc_range_g, gyr_range_dps, rate_hz) from a ``ranges`` byte (ValueError if invalid)."""
    acc, gyr, odr = code & 0x3, (code >> 2) & 0x7, (code >> 5) & 0x3
    if gyr >= len(GYR_RANGES_DPS) or code & 0x80:
        raise ValueError(f"invalid ranges byte 0x{code:02x}")
    return ACC_RANGES_G[acc], GYR_RANGES_DPS[gyr], RATES_HZ[odr]


def max_samples_per_packet(mtu: int) -> int:
    """How many samples fit in one notification at this ATT MTU (payload = MTU - 3)."""
    payload = mtu - 3
    if payload >= HEADER_SIZE + SAMPLE_SIZE:
        return min(255, (payload - HEADER_SIZE) // SAMPLE_SIZE)
    return max(0, (payload - COMPACT_HEADER_SIZE) // SAMPLE_SIZE)


@dataclass
class DataPacket:
    """One notification of the data characteristic."""

    seq: int
    """Sequence number of the first sample (uint32 on the wire, uint24 when compact)."""
    ticks: int
    """Timestamp counter of the first sample (25 us ticks; uint32, uint24 when compact)."""
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    acc_range_g: int = DEFAULT_ACC_RANGE_G
    gyr_range_dps: int = DEFAULT_GYR_RANGE_DPS
    rate_hz: int = DEFAULT_RATE_HZ
    flags: int = 0
    epoch: int = 0
    """Low byte of the session epoch (full header only)."""
    version: int = PROTOCOL_VERSION

    @property
    def compact(self) -> bool:
        return bool(self.flags & FLAG_COMPACT)

    @property
    def n(self) -> int:
        return len(self.acc_counts)

    def encode(self) -> bytes:
        acc = np.asarray(self.acc_counts, dtype="<i2").reshape(-1, 3)
        gyr = np.asarray(self.gyr_counts, dtype="<i2").reshape(-1, 3)
        if len(acc) != len(gyr) or not 1 <= len(acc) <= 255:
            raise ValueError("a packet holds 1..255 samples with acc and gyr of equal length")
        body = np.hstack([acc, gyr]).astype("<i2").tobytes()
        vf = (self.version & 0xF) << 4 | (self.flags & 0xF)
        rc = ranges_code(self.acc_range_g, self.gyr_range_dps, self.rate_hz)
        if self.compact:
            s, t = self.seq % _U24_MOD, self.ticks % _U24_MOD
            head = bytes([vf, rc]) + s.to_bytes(3, "little") + t.to_bytes(3, "little")
            return head + body
        head = _FULL.pack(vf, rc, len(acc), self.epoch & 0xFF, self.seq % _U32_MOD,
                          self.ticks % _U32_MOD)
        return head + body

    @classmethod
    def decode(cls, data: bytes) -> DataPacket:
        """Decode one packet; ValueError if malformed."""
        if len(data) < COMPACT_HEADER_SIZE + SAMPLE_SIZE:
            raise ValueError(f"packet too short ({len(data)} bytes)")
        vf, rc = data[0], data[1]
        version, flags = vf >> 4, vf & 0xF
        if version != PROTOCOL_VERSION:
            raise ValueError(f"unknown protocol version {version}")
        if flags & FLAG_RESERVED:
            raise ValueError("reserved flag set")
        acc_g, gyr_dps, rate = parse_ranges(rc)
        if flags & FLAG_COMPACT:
            hdr, epoch = COMPACT_HEADER_SIZE, 0
            seq = int.from_bytes(data[2:5], "little")
            ticks = int.from_bytes(data[5:8], "little")
            if (len(data) - hdr) % SAMPLE_SIZE:
                raise ValueError("compact packet length is not 8 + 12 n")
            n = (len(data) - hdr) // SAMPLE_SIZE
        else:
            hdr = HEADER_SIZE
            _, _, n, epoch, seq, ticks = _FULL.unpack_from(data)
            if n < 1 or len(data) != hdr + SAMPLE_SIZE * n:
                raise ValueError(f"packet length {len(data)} does not match n={n}")
        s = np.frombuffer(data, dtype="<i2", offset=hdr).reshape(n, 6).astype(np.int16)
        return cls(seq=seq, ticks=ticks, acc_counts=s[:, :3].copy(), gyr_counts=s[:, 3:].copy(),
                   acc_range_g=acc_g, gyr_range_dps=gyr_dps, rate_hz=rate, flags=flags,
                   epoch=epoch, version=version)


@dataclass
class DecodedBatch:
    """Samples of many packets, in packet order (resent packets are NOT merged or sorted)."""

    seq: NDArray[np.int64]
    """Unwrapped sample sequence numbers."""
    sensor_ticks: NDArray[np.int64]
    """Unwrapped chip timestamp of every sample (first sample's ticks + k x ticks per sample)."""
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    acc_lsb_g: float
    """Sensitivity of the first valid packet (NaN if none); see ``acc_lsb_per_sample``."""
    gyr_lsb_dps: float
    n_malformed: int
    flags: NDArray[np.uint8] = field(repr=False)
    """The packet flags, per sample."""
    ranges: NDArray[np.uint8] = field(repr=False)
    """The packet ``ranges`` byte, per sample."""
    n_packets: int = 0

    def __len__(self) -> int:
        return len(self.seq)

    @property
    def rate_hz(self) -> NDArray[np.float64]:
        return np.asarray(RATES_HZ, dtype=np.float64)[(self.ranges >> 5) & 0x3]

    @property
    def acc_lsb_per_sample(self) -> NDArray[np.float64]:
        table = np.array([ACC_LSB_G[g] for g in ACC_RANGES_G])
        return table[self.ranges & 0x3]

    @property
    def gyr_lsb_per_sample(self) -> NDArray[np.float64]:
        table = np.array([GYR_LSB_DPS[d] for d in GYR_RANGES_DPS] + [np.nan] * 3)
        return table[(self.ranges >> 2) & 0x7]

    @property
    def t_s(self) -> NDArray[np.float64]:
        """Sensor time in seconds relative to the first sample."""
        if len(self.sensor_ticks) == 0:
            return np.zeros(0)
        return (self.sensor_ticks - self.sensor_ticks[0]) * TICK_S

    def acc_g(self) -> NDArray[np.float64]:
        return counts_to_units(self.acc_counts, self.acc_lsb_per_sample)

    def gyr_dps(self) -> NDArray[np.float64]:
        return counts_to_units(self.gyr_counts, self.gyr_lsb_per_sample)


def _signed(d: NDArray[np.int64], mod: NDArray[np.int64]) -> NDArray[np.int64]:
    """Difference modulo ``mod`` mapped into [-mod/2, mod/2)."""
    half = mod // 2
    return (d + half) % mod - half


def decode_stream(packets: list[bytes]) -> DecodedBatch:
    """Decode many data packets at once with numpy; malformed packets are counted and skipped.

    Sequence numbers and timestamps are unwrapped across packets (uint32, or uint24 for compact
    packets): seq by the signed modular difference to the previous packet, ticks by the
    difference closest to what the seq step predicts at the packet's rate, so a gap of any
    length between packets unwraps correctly. Never raises on bad packets.
    """
    p = len(packets)
    lens = np.fromiter(map(len, packets), dtype=np.int64, count=p)
    buf = np.frombuffer(b"".join(packets), dtype=np.uint8)
    starts = np.cumsum(lens) - lens
    # Every packet of >= 20 bytes has its first 12 bytes inside itself; shorter ones are bad.
    long_enough = lens >= COMPACT_HEADER_SIZE + SAMPLE_SIZE
    st = starts[long_enough]
    ln = lens[long_enough]
    h = buf[st[:, None] + np.arange(HEADER_SIZE)].astype(np.int64) if len(st) else np.zeros(
        (0, HEADER_SIZE), dtype=np.int64)
    vf, rc = h[:, 0], h[:, 1]
    flags = vf & 0xF
    compact = (flags & FLAG_COMPACT) != 0
    n_full = h[:, 2]
    n_compact = (ln - COMPACT_HEADER_SIZE) // SAMPLE_SIZE
    n = np.where(compact, n_compact, n_full)
    ok = (
        ((vf >> 4) == PROTOCOL_VERSION)
        & ((flags & FLAG_RESERVED) == 0)
        & ((rc & 0x80) == 0)
        & (((rc >> 2) & 0x7) < len(GYR_RANGES_DPS))
        & np.where(
            compact,
            (ln - COMPACT_HEADER_SIZE) % SAMPLE_SIZE == 0,
            (n_full >= 1) & (ln == HEADER_SIZE + SAMPLE_SIZE * n_full),
        )
    )
    seq_raw = np.where(compact, h[:, 2] | h[:, 3] << 8 | h[:, 4] << 16,
                       h[:, 4] | h[:, 5] << 8 | h[:, 6] << 16 | h[:, 7] << 24)
    tick_raw = np.where(compact, h[:, 5] | h[:, 6] << 8 | h[:, 7] << 16,
                        h[:, 8] | h[:, 9] << 8 | h[:, 10] << 16 | h[:, 11] << 24)
    hdr = np.where(compact, COMPACT_HEADER_SIZE, HEADER_SIZE)

    st, ln, n, hdr, compact = st[ok], ln[ok], n[ok], hdr[ok], compact[ok]
    seq_raw, tick_raw, rc, flags = seq_raw[ok], tick_raw[ok], rc[ok], flags[ok]
    n_ok = len(st)
    n_malformed = p - n_ok

    # Unwrap per packet. Pairs of full packets differ modulo 2^32, others modulo 2^24.
    seq0 = np.zeros(n_ok, dtype=np.int64)
    tick0 = np.zeros(n_ok, dtype=np.int64)
    rate = np.asarray(RATES_HZ, dtype=np.float64)[(rc >> 5) & 0x3]
    if n_ok:
        both_full = ~compact[1:] & ~compact[:-1]
        mod = np.where(both_full, _U32_MOD, _U24_MOD).astype(np.int64)
        dseq = _signed(seq_raw[1:] - seq_raw[:-1], mod)
        seq0 = seq_raw[0] + np.concatenate([[0], np.cumsum(dseq)])
        expected = dseq * (TICKS_PER_S / rate[:-1])
        dmod = (tick_raw[1:] - tick_raw[:-1]) % mod
        wraps = np.rint((expected - dmod) / mod).astype(np.int64)
        tick0 = tick_raw[0] + np.concatenate([[0], np.cumsum(dmod + wraps * mod)])
        full_idx = np.flatnonzero(~compact)
        if len(full_idx) and compact[0]:
            j = full_idx[0]  # anchor the absolute value on the first full (32-bit) packet
            seq0 += seq_raw[j] - seq0[j]
            tick0 += tick_raw[j] - tick0[j]
        # A sequence number is never negative: a packet half the modulus behind the first one
        # (a bogus one, or a restart) keeps its value on the wire, not a negative unwrap.
        neg = seq0 < 0
        if neg.any():
            seq0[neg] = seq_raw[neg]

    per_sample = TICKS_PER_S / rate
    if n_ok == p and p and not compact.any() and (ln == ln[0]).all():
        # Fast path (the normal stream): equal full packets -> one 2-D view of the buffer.
        nn = int(n[0])
        body = buf.reshape(p, int(ln[0]))[:, HEADER_SIZE:]
        samples = np.ascontiguousarray(body).view("<i2").reshape(-1, 6)
        kk = np.arange(nn)
        seq = (seq0[:, None] + kk).ravel()
        if (per_sample == per_sample[0]).all():
            offs = np.rint(kk * per_sample[0]).astype(np.int64)[None, :]
        else:
            offs = np.rint(kk[None, :] * per_sample[:, None]).astype(np.int64)
        ticks = (tick0[:, None] + offs).ravel()
    else:
        # General path: every byte of a valid packet except its header, compressed at once.
        ok_all = np.zeros(p, dtype=bool)
        ok_all[np.flatnonzero(long_enough)[ok]] = True
        keep = np.repeat(ok_all, lens)
        if n_ok:
            cols = np.arange(HEADER_SIZE)
            head_idx = st[:, None] + cols
            keep[head_idx[cols < hdr[:, None]]] = False
        samples = buf[keep].view("<i2").reshape(-1, 6)
        k = np.arange(len(samples)) - np.repeat(np.cumsum(n) - n, n)
        seq = np.repeat(seq0, n) + k
        ticks = np.repeat(tick0, n) + np.rint(k * np.repeat(per_sample, n)).astype(np.int64)
    if n_ok:
        acc_g, gyr_dps, _ = parse_ranges(int(rc[0]))
        acc_lsb, gyr_lsb = ACC_LSB_G[acc_g], GYR_LSB_DPS[gyr_dps]
    else:
        acc_lsb = gyr_lsb = float("nan")
    return DecodedBatch(
        seq=seq.astype(np.int64, copy=False),
        sensor_ticks=ticks.astype(np.int64, copy=False),
        acc_counts=samples[:, :3],
        gyr_counts=samples[:, 3:],
        acc_lsb_g=acc_lsb,
        gyr_lsb_dps=gyr_lsb,
        n_malformed=int(n_malformed),
        flags=np.repeat(flags.astype(np.uint8), n),
        ranges=np.repeat(rc.astype(np.uint8), n),
        n_packets=int(n_ok),
    )


# --- Control commands ------------------------------------------------------------------------
OP_START: Final = 0x01
OP_STOP: Final = 0x02
OP_SET_RATE: Final = 0x03
OP_SET_RANGES: Final = 0x04
OP_RESEND: Final = 0x05
OP_TIME_SYNC: Final = 0x06

ERR_OK: Final = 0
ERR_UNKNOWN_OP: Final = 1
ERR_BAD_LENGTH: Final = 2
ERR_BAD_VALUE: Final = 3
ERR_BUSY: Final = 4
"""Rate/range changes are only accepted while stopped."""
ERR_RESEND_TRUNCATED: Final = 5
"""RESEND asked for samples no longer in the ring; sending resumed at the oldest held."""
ERR_NOT_BONDED: Final = 6
"""The sensor is bonded and this link is not encrypted with a bond's key: command ignored
(an unencrypted write is refused by the stack first, with ATT error 0x0F)."""
ERROR_TEXT: Final = {
    ERR_OK: "ok",
    1: "unknown command",
    2: "wrong command length",
    3: "bad value (or the IMU chip did not answer)",
    4: "busy: settings change only while stopped",
    5: "resend truncated",
    6: "not bonded: pair with imu pair first",
}


def error_text(code: int) -> str:
    """``last_error`` of the status in words."""
    return f"error {code}: {ERROR_TEXT.get(code, 'unknown error')}"

_CONTROL_LEN: Final = {OP_START: 1, OP_STOP: 1, OP_SET_RATE: 3, OP_SET_RANGES: 4, OP_RESEND: 5,
                       OP_TIME_SYNC: 5}


def _check_in(what: str, value: object, allowed: tuple[int, ...], unit: str) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise ValueError(
            f"{what} {value!r} {unit} is not one of {', '.join(map(str, allowed))} {unit}"
        )


def _counter(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return int(value)


@dataclass
class ControlCommand:
    """A write to the control characteristic: opcode byte then little-endian arguments."""

    op: int
    rate_hz: int = 0
    acc_range_g: int = 0
    gyr_range_dps: int = 0
    from_seq: int = 0
    token: int = 0

    @classmethod
    def start(cls) -> ControlCommand:
        return cls(OP_START)

    @classmethod
    def stop(cls) -> ControlCommand:
        return cls(OP_STOP)

    @classmethod
    def set_rate(cls, rate_hz: int) -> ControlCommand:
        return cls(OP_SET_RATE, rate_hz=rate_hz)

    @classmethod
    def set_ranges(cls, acc_range_g: int, gyr_range_dps: int) -> ControlCommand:
        return cls(OP_SET_RANGES, acc_range_g=acc_range_g, gyr_range_dps=gyr_range_dps)

    @classmethod
    def resend(cls, from_seq: int) -> ControlCommand:
        return cls(OP_RESEND, from_seq=from_seq)

    @classmethod
    def time_sync(cls, token: int) -> ControlCommand:
        return cls(OP_TIME_SYNC, token=token)

    def encode(self) -> bytes:
        """The bytes to write; ValueError for a value the sensor does not support (a rate or
        full scale not in :data:`RATES_HZ` etc., a negative sequence number or token)."""
        if self.op in (OP_START, OP_STOP):
            return bytes([self.op])
        if self.op == OP_SET_RATE:
            _check_in("rate", self.rate_hz, RATES_HZ, "Hz")
            return struct.pack("<BH", self.op, self.rate_hz)
        if self.op == OP_SET_RANGES:
            _check_in("accelerometer full scale", self.acc_range_g, ACC_RANGES_G, "g")
            _check_in("gyroscope full scale", self.gyr_range_dps, GYR_RANGES_DPS, "dps")
            return struct.pack("<BBH", self.op, self.acc_range_g, self.gyr_range_dps)
        if self.op == OP_RESEND:
            return struct.pack("<BI", self.op, _counter("from_seq", self.from_seq) % _U32_MOD)
        if self.op == OP_TIME_SYNC:
            return struct.pack("<BI", self.op, _counter("token", self.token) % _U32_MOD)
        raise ValueError(f"unknown opcode {self.op}")

    @classmethod
    def decode(cls, data: bytes) -> ControlCommand:
        """ValueError on an unknown opcode or a wrong length."""
        if not data:
            raise ValueError("empty control command")
        op = data[0]
        if op not in _CONTROL_LEN:
            raise ValueError(f"unknown opcode {op}")
        if len(data) != _CONTROL_LEN[op]:
            raise ValueError(f"opcode {op} needs {_CONTROL_LEN[op]} bytes, got {len(data)}")
        if op == OP_SET_RATE:
            return cls(op, rate_hz=struct.unpack_from("<H", data, 1)[0])
        if op == OP_SET_RANGES:
            a, g = struct.unpack_from("<BH", data, 1)
            return cls(op, acc_range_g=a, gyr_range_dps=g)
        if op == OP_RESEND:
            return cls(op, from_seq=struct.unpack_from("<I", data, 1)[0])
        if op == OP_TIME_SYNC:
            return cls(op, token=struct.unpack_from("<I", data, 1)[0])
        return cls(op)


# --- Status ----------------------------------------------------------------------------------
STATUS_RUNNING: Final = 0x01
"""A session is running (the chip samples into the ring)."""
STATUS_STREAMING: Final = 0x02
"""Notifying data to the connected central."""
STATUS_RING_LOST: Final = 0x04
"""Samples were overwritten in the ring before they were sent (lost for good)."""
STATUS_CHIP_OK: Final = 0x08
"""The IMU answered WHO_AM_I at boot."""
STATUS_BONDED: Final = 0x10
"""The sensor holds a bond: control needs a link encrypted with a bond's keys (docs/ble.md)."""
STATUS_SECURE: Final = 0x20
"""This link is encrypted with a stored bond's keys (the reader may control the sensor)."""
STATUS_PAIRING: Final = 0x40
"""A new central may bond now (no bond stored yet, or the window after power-on)."""
STATUS_CORE_SIZE: Final = 20
STATUS_SIZE: Final = 32
_STATUS_CORE = struct.Struct("<BBBBBBHHHII")
_STATUS_EXT = struct.Struct("<IIHH")


@dataclass
class Status:
    """The status characteristic: 20-byte core (fits MTU 23 notifications) + 12-byte extension."""

    flags: int = 0
    battery_pct: int = 100
    fw_major: int = 0
    fw_minor: int = 1
    ranges: int = 0
    last_error: int = ERR_OK
    epoch: int = 0
    fifo_overflows: int = 0
    ring_fill: int = 0
    """Samples held in the ring (sent or not)."""
    packets_sent: int = 0
    seq: int = 0
    """Sequence number the next sample will get."""
    sync_token: int = 0
    """Token of the last TIME_SYNC command (extension; 0 when absent)."""
    sync_ticks: int = 0
    """Chip ticks when that command arrived."""
    ring_capacity: int = 0

    @property
    def settings(self) -> tuple[int, int, int]:
        """(acc_range_g, gyr_range_dps, rate_hz)."""
        return parse_ranges(self.ranges)

    def encode(self) -> bytes:
        core = _STATUS_CORE.pack(self.flags, self.battery_pct, self.fw_major, self.fw_minor,
                                 self.ranges, self.last_error, self.epoch & 0xFFFF,
                                 self.fifo_overflows & 0xFFFF, self.ring_fill & 0xFFFF,
                                 self.packets_sent % _U32_MOD, self.seq % _U32_MOD)
        return core + _STATUS_EXT.pack(self.sync_token % _U32_MOD, self.sync_ticks % _U32_MOD,
                                       self.ring_capacity & 0xFFFF, 0)

    @classmethod
    def decode(cls, data: bytes) -> Status:
        """Accepts the 20-byte core (a notification at MTU 23) or the full 32 bytes."""
        if len(data) not in (STATUS_CORE_SIZE, STATUS_SIZE):
            raise ValueError(f"status must be 20 or 32 bytes, got {len(data)}")
        s = cls(*_STATUS_CORE.unpack_from(data))
        if len(data) == STATUS_SIZE:
            s.sync_token, s.sync_ticks, s.ring_capacity, _ = _STATUS_EXT.unpack_from(data, 20)
        return s
