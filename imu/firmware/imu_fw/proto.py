"""Wire format shared with the host (imu/protocol.py, docs/protocol.md), encoded in place.

Everything writes into preallocated bytearrays with struct.pack_into; nothing here allocates in
the streaming path.
"""

import struct

from micropython import const

SERVICE_UUID = "7a1e0001-3c5b-4d8e-9f21-6b0c4e5d7a10"
DATA_UUID = "7a1e0002-3c5b-4d8e-9f21-6b0c4e5d7a10"
CONTROL_UUID = "7a1e0003-3c5b-4d8e-9f21-6b0c4e5d7a10"
STATUS_UUID = "7a1e0004-3c5b-4d8e-9f21-6b0c4e5d7a10"
NAME_PREFIX = "IMU-"
PREFERRED_MTU = const(247)

PROTOCOL_VERSION = const(1)
HEADER_SIZE = const(12)
COMPACT_HEADER_SIZE = const(8)
SAMPLE_SIZE = const(12)
FLAG_OVERFLOW = const(0x1)
FLAG_RESEND = const(0x2)
FLAG_COMPACT = const(0x4)

RATES_HZ = (52, 104, 208, 416)
ACC_RANGES_G = (2, 4, 8, 16)
GYR_RANGES_DPS = (125, 250, 500, 1000, 2000)

OP_START = const(0x01)
OP_STOP = const(0x02)
OP_SET_RATE = const(0x03)
OP_SET_RANGES = const(0x04)
OP_RESEND = const(0x05)
OP_TIME_SYNC = const(0x06)
CONTROL_LEN = {OP_START: 1, OP_STOP: 1, OP_SET_RATE: 3, OP_SET_RANGES: 4, OP_RESEND: 5,
               OP_TIME_SYNC: 5}

ERR_OK = const(0)
ERR_UNKNOWN_OP = const(1)
ERR_BAD_LENGTH = const(2)
ERR_BAD_VALUE = const(3)
ERR_BUSY = const(4)
ERR_RESEND_TRUNCATED = const(5)
ERR_NOT_BONDED = const(6)

STATUS_RUNNING = const(0x01)
STATUS_STREAMING = const(0x02)
STATUS_RING_LOST = const(0x04)
STATUS_CHIP_OK = const(0x08)
STATUS_BONDED = const(0x10)
STATUS_SECURE = const(0x20)
STATUS_PAIRING = const(0x40)
STATUS_SIZE = const(32)

_FULL = "<BBBBI"  # ver_flags, ranges, n, epoch, seq; the 4 tick bytes are copied raw
_STATUS = "<BBBBBBHHHIIIIHH"


def ranges_code(acc_range_g: int, gyr_range_dps: int, rate_hz: int) -> int:
    """The ranges byte (acc | gyr << 2 | odr << 5); -1 if a value is unsupported."""
    if (acc_range_g not in ACC_RANGES_G or gyr_range_dps not in GYR_RANGES_DPS
            or rate_hz not in RATES_HZ):
        return -1
    return (ACC_RANGES_G.index(acc_range_g) | GYR_RANGES_DPS.index(gyr_range_dps) << 2
            | RATES_HZ.index(rate_hz) << 5)


def max_samples(mtu: int) -> int:
    """Samples per notification at this ATT MTU (payload MTU - 3)."""
    payload = mtu - 3
    if payload >= HEADER_SIZE + SAMPLE_SIZE:
        return min(255, (payload - HEADER_SIZE) // SAMPLE_SIZE)
    return (payload - COMPACT_HEADER_SIZE) // SAMPLE_SIZE


def header_size(mtu: int) -> int:
    return HEADER_SIZE if mtu - 3 >= HEADER_SIZE + SAMPLE_SIZE else COMPACT_HEADER_SIZE


def write_header(buf: bytearray, flags: int, ranges: int, n: int, epoch: int, seq: int,
                 ticks_bytes: bytearray, ticks_off: int) -> int:
    """Write a packet header into ``buf``; returns its size (12, or 8 with FLAG_COMPACT).

    ``ticks_bytes[ticks_off:ticks_off + 4]`` holds the first sample's raw uint32 timestamp.
    """
    if flags & FLAG_COMPACT:
        buf[0] = PROTOCOL_VERSION << 4 | flags
        buf[1] = ranges
        buf[2] = seq & 0xFF
        buf[3] = (seq >> 8) & 0xFF
        buf[4] = (seq >> 16) & 0xFF
        buf[5] = ticks_bytes[ticks_off]
        buf[6] = ticks_bytes[ticks_off + 1]
        buf[7] = ticks_bytes[ticks_off + 2]
        return COMPACT_HEADER_SIZE
    struct.pack_into(_FULL, buf, 0, PROTOCOL_VERSION << 4 | flags, ranges, n, epoch & 0xFF,
                     seq & 0xFFFFFFFF)
    buf[8] = ticks_bytes[ticks_off]
    buf[9] = ticks_bytes[ticks_off + 1]
    buf[10] = ticks_bytes[ticks_off + 2]
    buf[11] = ticks_bytes[ticks_off + 3]
    return HEADER_SIZE


def decode_control(data: bytes) -> tuple:
    """(op, a, b, error): SET_RATE a=hz; SET_RANGES a=acc_g b=gyr_dps; RESEND a=seq;
    TIME_SYNC a=token. ``error`` is ERR_OK or the error code."""
    if len(data) == 0:
        return 0, 0, 0, ERR_BAD_LENGTH
    op = data[0]
    need = CONTROL_LEN.get(op, 0)
    if need == 0:
        return op, 0, 0, ERR_UNKNOWN_OP
    if len(data) != need:
        return op, 0, 0, ERR_BAD_LENGTH
    if op == OP_SET_RATE:
        return op, struct.unpack_from("<H", data, 1)[0], 0, ERR_OK
    if op == OP_SET_RANGES:
        a, b = struct.unpack_from("<BH", data, 1)
        return op, a, b, ERR_OK
    if op == OP_RESEND or op == OP_TIME_SYNC:
        return op, struct.unpack_from("<I", data, 1)[0], 0, ERR_OK
    return op, 0, 0, ERR_OK


def encode_status(buf: bytearray, flags: int, battery_pct: int, fw_major: int, fw_minor: int,
                  ranges: int, last_error: int, epoch: int, fifo_overflows: int,
                  ring_fill: int, packets_sent: int, seq: int, sync_token: int,
                  sync_ticks: int, ring_capacity: int) -> None:
    """Write the 32-byte status value into ``buf``."""
    struct.pack_into(_STATUS, buf, 0, flags, battery_pct, fw_major, fw_minor, ranges,
                     last_error, epoch & 0xFFFF, fifo_overflows & 0xFFFF, ring_fill & 0xFFFF,
                     packets_sent & 0xFFFFFFFF, seq & 0xFFFFFFFF, sync_token & 0xFFFFFFFF,
                     sync_ticks & 0xFFFFFFFF, ring_capacity & 0xFFFF, 0)
