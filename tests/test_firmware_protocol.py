"""The firmware's own protocol code (firmware/imu_fw/proto.py, run on the host with the shims)
against the shared fixture vectors, and the firmware ring buffer."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imu.device import protocol as P
from imu.virtual.loader import FirmwareEnv

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "protocol"


@pytest.fixture(scope="module")
def fw() -> Any:
    env = FirmwareEnv(shims=("micropython",))
    return env.load("imu_fw.proto")


@pytest.fixture(scope="module")
def ring_mod() -> Any:
    return FirmwareEnv(shims=("micropython",)).load("imu_fw.ring")


def _vectors(name: str, key: str) -> list[dict]:
    return json.loads((FIX / name).read_text())[key]


def _encode_fw(fw: Any, e: dict) -> bytes:
    """Encode a packet the way the firmware does: header in place, then the raw samples."""
    n = e["n"]
    code = fw.ranges_code(e["acc_range_g"], e["gyr_range_dps"], e["rate_hz"])
    buf = bytearray(fw.HEADER_SIZE + fw.SAMPLE_SIZE * n)
    ticks = struct.pack("<I", e["ticks"])
    h = fw.write_header(buf, e["flags"], code, n, e["epoch"], e["seq"], ticks, 0)
    body = np.hstack([np.array(e["acc_counts"]), np.array(e["gyr_counts"])]).astype("<i2")
    return bytes(buf[:h]) + body.tobytes()


@pytest.mark.parametrize("vec", [v for v in _vectors("data_packets.json", "packets")
                                 if v["valid"]], ids=lambda v: v["name"])
def test_firmware_encodes_fixture_packets(fw: Any, vec: dict) -> None:
    assert _encode_fw(fw, vec["expected"]).hex() == vec["hex"]


@pytest.mark.parametrize("vec", _vectors("control.json", "commands"), ids=lambda v: v["name"])
def test_firmware_decodes_fixture_commands(fw: Any, vec: dict) -> None:
    op, a, b, err = fw.decode_control(bytes.fromhex(vec["hex"]))
    if not vec["valid"]:
        assert err != fw.ERR_OK
        return
    e = vec["expected"]
    assert err == fw.ERR_OK and op == e["op"]
    if op == fw.OP_SET_RATE:
        assert a == e["rate_hz"]
    elif op == fw.OP_SET_RANGES:
        assert (a, b) == (e["acc_range_g"], e["gyr_range_dps"])
    elif op == fw.OP_RESEND:
        assert a == e["from_seq"]
    elif op == fw.OP_TIME_SYNC:
        assert a == e["token"]


@pytest.mark.parametrize("vec", [v for v in _vectors("status.json", "status")
                                 if v["valid"] and len(v["hex"]) == 64], ids=lambda v: v["name"])
def test_firmware_encodes_fixture_status(fw: Any, vec: dict) -> None:
    e = vec["expected"]
    buf = bytearray(fw.STATUS_SIZE)
    fw.encode_status(buf, e["flags"], e["battery_pct"], e["fw_major"], e["fw_minor"],
                     e["ranges"], e["last_error"], e["epoch"], e["fifo_overflows"],
                     e["ring_fill"], e["packets_sent"], e["seq"], e["sync_token"],
                     e["sync_ticks"], e["ring_capacity"])
    assert buf.hex() == vec["hex"]


def test_firmware_constants_match_host(fw: Any) -> None:
    for name in ("SERVICE_UUID", "DATA_UUID", "CONTROL_UUID", "STATUS_UUID", "NAME_PREFIX",
                 "PROTOCOL_VERSION", "HEADER_SIZE", "COMPACT_HEADER_SIZE", "FLAG_OVERFLOW",
                 "FLAG_RESEND", "FLAG_COMPACT", "RATES_HZ", "ACC_RANGES_G", "GYR_RANGES_DPS",
                 "OP_START", "OP_STOP", "OP_SET_RATE", "OP_SET_RANGES", "OP_RESEND",
                 "OP_TIME_SYNC", "ERR_BUSY", "ERR_RESEND_TRUNCATED", "STATUS_SIZE"):
        assert getattr(fw, name) == getattr(P, name), name
    for mtu in (23, 26, 27, 100, 185, 247):
        assert fw.max_samples(mtu) == P.max_samples_per_packet(mtu)


def test_firmware_compact_header_matches_host(fw: Any) -> None:
    buf = bytearray(20)
    h = fw.write_header(buf, fw.FLAG_COMPACT, fw.ranges_code(4, 500, 208), 1, 0, 0x1234567,
                        struct.pack("<I", 0xAABBCCDD), 0)
    assert h == 8
    buf[8:] = np.arange(6, dtype="<i2").tobytes()
    p = P.DataPacket.decode(bytes(buf))
    assert (p.seq, p.ticks, p.rate_hz, p.acc_range_g, p.gyr_range_dps) == (
        0x234567, 0xBBCCDD, 208, 4, 500)


def test_ring_runs_holes_and_overwrite(ring_mod: Any) -> None:
    r = ring_mod.Ring(10)
    for _ in range(4):
        r.commit(ring_mod.VALID)
    r.skip(2)  # seq 4, 5 lost on the chip
    r.commit(ring_mod.AFTER_OVERFLOW)
    for _ in range(2):
        r.commit(ring_mod.VALID)
    assert r.head == 9 and r.oldest() == 0
    assert r.run(0, 19) == 4
    assert r.run(4, 19) == 0
    assert r.run(6, 19) == 3
    assert r.run(6, 2) == 2
    for _ in range(5):
        r.commit(ring_mod.VALID)
    assert r.oldest() == 4 and r.fill() == 10
    assert r.run(2, 19) == 0  # overwritten
    assert r.run(8, 19) == 2  # stops at the end of the buffer (slot 9), continues at slot 0
    assert r.run(10, 19) == 4


@settings(max_examples=60, deadline=None)
@given(seq=st.integers(0, 2**32 - 1), ticks=st.integers(0, 2**32 - 1),
       n=st.integers(1, 19), acc=st.sampled_from(P.ACC_RANGES_G),
       gyr=st.sampled_from(P.GYR_RANGES_DPS), rate=st.sampled_from(P.RATES_HZ),
       flags=st.integers(0, 3), epoch=st.integers(0, 2**16 - 1), compact=st.booleans(),
       seed=st.integers(0, 2**16))
def test_firmware_and_host_encode_identically(fw: Any, seq: int, ticks: int, n: int, acc: int,
                                              gyr: int, rate: int, flags: int, epoch: int,
                                              compact: bool, seed: int) -> None:
    counts = np.random.default_rng(seed).integers(-32768, 32767, (1 if compact else n, 6))
    flags |= P.FLAG_COMPACT if compact else 0
    host = P.DataPacket(seq=seq, ticks=ticks, acc_counts=counts[:, :3], gyr_counts=counts[:, 3:],
                        acc_range_g=acc, gyr_range_dps=gyr, rate_hz=rate, flags=flags,
                        epoch=epoch).encode()
    e = {"n": len(counts), "acc_range_g": acc, "gyr_range_dps": gyr, "rate_hz": rate,
         "flags": flags, "epoch": epoch, "seq": seq, "ticks": ticks,
         "acc_counts": counts[:, :3], "gyr_counts": counts[:, 3:]}
    assert _encode_fw(fw, e) == host


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=8))
def test_firmware_and_host_agree_on_any_control_bytes(fw: Any, raw: bytes) -> None:
    op, a, b, err = fw.decode_control(raw)
    try:
        c = P.ControlCommand.decode(raw)
    except ValueError:
        assert err != fw.ERR_OK
        return
    assert err == fw.ERR_OK and op == c.op
    expected = {P.OP_SET_RATE: (c.rate_hz, 0), P.OP_SET_RANGES: (c.acc_range_g, c.gyr_range_dps),
                P.OP_RESEND: (c.from_seq, 0), P.OP_TIME_SYNC: (c.token, 0)}.get(op, (0, 0))
    assert (a, b) == expected
