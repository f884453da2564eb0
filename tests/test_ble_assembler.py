"""StreamAssembler: duplicates, reordering, gaps, clock unwrapping, epochs (no BLE)."""

from __future__ import annotations

import numpy as np

from imu.ble.assembler import ClockFit, StreamAssembler
from imu.device import protocol as P

RATE = 104
TPS = P.TICKS_PER_S / RATE


def packets(seq0: int, n_packets: int, per: int, tick0: int, compact: bool = False,
            flags: int = 0) -> tuple[list[bytes], np.ndarray]:
    rng = np.random.default_rng(seq0)
    out, counts = [], []
    for k in range(n_packets):
        s = seq0 + k * per
        c = rng.integers(-32768, 32767, (per, 6)).astype(np.int16)
        counts.append(c)
        out.append(P.DataPacket(seq=s, ticks=int(round(tick0 + s * TPS)), acc_counts=c[:, :3],
                                gyr_counts=c[:, 3:], rate_hz=RATE,
                                flags=flags | (P.FLAG_COMPACT if compact else 0)).encode())
    return out, np.concatenate(counts)


def feed_all(a: StreamAssembler, batches: list[list[bytes]], host0: float = 0.0) -> list:
    blocks = []
    for i, b in enumerate(batches):
        block, _ = a.feed(P.decode_stream(b), host0 + i * 0.1)
        blocks += a.take_flushed()
        if block is not None:
            blocks.append(block)
    return blocks


def test_in_order_with_duplicates_and_reordering_is_exact() -> None:
    pk, counts = packets(0, 40, 5, tick0=(1 << 32) - 2000)  # ticks wrap inside the stream
    shuffled = [pk[:10], pk[5:20], pk[25:30], pk[20:25] + pk[18:22], pk[30:]]
    a = StreamAssembler(RATE)
    blocks = feed_all(a, shuffled)
    seq = np.concatenate([b.seq for b in blocks])
    t = np.concatenate([b.t_s for b in blocks])
    acc = np.concatenate([b.acc_counts for b in blocks])
    assert np.array_equal(seq, np.arange(200))
    assert np.array_equal(acc, counts[:, :3])
    assert np.allclose(np.diff(t), 1 / RATE, atol=2 * P.TICK_S)  # across the 32-bit wrap
    assert a.stats.duplicates == 25 + 10 + 10  # pk[5:10], pk[18:20] again, pk[20:22] twice
    assert a.stats.lost_samples == 0


def test_gap_is_accepted_after_timeout_and_resend_asked() -> None:
    pk, _ = packets(0, 20, 5, tick0=0)
    a = StreamAssembler(RATE, gap_timeout_s=1.0)
    b1, r1 = a.feed(P.decode_stream(pk[:5]), 0.0)
    b2, r2 = a.feed(P.decode_stream(pk[8:12]), 0.1)  # 15 samples missing
    assert b1 is not None and b2 is None and r1 is None and r2 == 25
    assert a.pending == 20
    b3, _ = a.feed(P.decode_stream([]), 1.5)  # no resend came: accept the gap
    assert b3 is not None and b3.seq[0] == 40
    assert a.stats.lost_samples == 15 and a.stats.gaps == [(25, 15, "not resent")]
    assert np.isclose(b3.t_s[0], 40 / RATE, atol=1e-4)  # time from the chip clock, not packets


def test_compact_24_bit_wrap_across_batches() -> None:
    tick0 = (1 << 24) - 1500
    pk, counts = packets((1 << 24) - 30, 12, 1, tick0=tick0, compact=True)
    a = StreamAssembler(RATE)
    blocks = feed_all(a, [pk[:4], pk[4:8], pk[8:]])
    seq = np.concatenate([b.seq for b in blocks])
    t = np.concatenate([b.t_s for b in blocks])
    assert np.array_equal(seq, (1 << 24) - 30 + np.arange(12))
    assert np.all(np.diff(t) > 0) and np.allclose(np.diff(t), 1 / RATE, atol=2 * P.TICK_S)


def test_malformed_counted_and_skipped() -> None:
    pk, counts = packets(0, 6, 4, tick0=0)
    bad = [pk[0][:15], b"\xff" * 30, pk[1][:-1], b""]
    a = StreamAssembler(RATE)
    blocks = feed_all(a, [pk[:2] + bad + pk[2:]])
    seq = np.concatenate([b.seq for b in blocks])
    assert np.array_equal(seq, np.arange(24)) and a.stats.malformed == 4


def test_new_epoch_continues_after_recorded_gap() -> None:
    a = StreamAssembler(RATE)
    pk, _ = packets(0, 10, 5, tick0=123_456)
    feed_all(a, [pk])
    t_last = a.last_t_s
    # reboot: seq and the clock restart; the old clock says the new tick 0 is 2 s later
    a.new_epoch(tick_anchor=0, t_anchor_s=t_last + 2.0)
    pk2, _ = packets(0, 4, 5, tick0=0)
    blocks = feed_all(a, [pk2])
    b = blocks[0]
    gap = int(round(2.0 * RATE))
    assert b.seq[0] == 49 + gap and np.isclose(b.t_s[0], t_last + 2.0)
    assert a.stats.lost_samples == gap - 1 and a.stats.epochs == 2


def test_clock_fit_slope() -> None:
    f = ClockFit()
    rng = np.random.default_rng(1)
    host = np.sort(rng.uniform(100, 200, 50))
    for h in host:
        f.add(h, 3.0 + 1.00005 * h + rng.normal(0, 1e-4))
    assert abs((f.slope - 1.00005) * 1e6) < 20 and abs(f.sensor_at(150.0) - 153.0075) < 1e-3


def test_chip_fifo_overflow_gap_is_accepted_without_resend() -> None:
    pk, _ = packets(0, 10, 5, tick0=0)
    late, _ = packets(60, 4, 5, tick0=0, flags=P.FLAG_OVERFLOW)  # seq jumps 50 -> 60
    a = StreamAssembler(RATE, gap_timeout_s=100.0)
    a.feed(P.decode_stream(pk), 0.0)
    block, resend = a.feed(P.decode_stream(late), 0.1)
    assert resend is None and block is not None and block.seq[0] == 60
    assert a.stats.gaps == [(50, 10, "chip FIFO overflow")]
