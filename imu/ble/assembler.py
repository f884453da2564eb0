"""From decoded packets to an in-order, de-duplicated sample stream on the session clock.

Pure numpy, no BLE: :class:`StreamAssembler` receives :class:`imu.device.protocol.DecodedBatch`
objects (any order, duplicates, gaps, several sensor epochs) and emits :class:`SampleBlock` objects
whose ``seq`` is strictly increasing by one except at recorded gaps, and whose ``t_s`` comes from
the sensor's own clock (chip ticks, unwrapped against the seq step; docs/protocol.md).

Rules (docs/ble.md): a sample with ``seq < next_expected`` is a duplicate (dropped, counted); one
with ``seq > next_expected`` waits in a bounded reorder buffer while the missing range is asked
for again (RESEND); a gap that is still open after ``gap_timeout_s`` (or that the sensor reports
it can no longer fill) is accepted and counted as lost. A new sensor epoch (reboot) continues the
session after a recorded gap whose length comes from the host/sensor clock fit.

A sequence number further from ``next_expected`` than the sensor can have moved
(:meth:`StreamAssembler.window`: what it sampled since the last accepted packet, plus slack and
its ring) is not a gap but a malformed packet: counted in ``malformed`` and dropped, so one bogus
header neither holds the reorder buffer (with a RESEND every second) nor records a "lost" gap of
a billion samples. Each sample is converted with the full scales of its own packet's header
(``ranges``), so a device that changes its range mid-stream is decoded right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from imu.device.chip import (
    ACC_LSB_G,
    ACC_RANGES_G,
    GYR_LSB_DPS,
    GYR_RANGES_DPS,
    TICK_S,
    TICKS_PER_S,
    SampleBlock,
)
from imu.device.protocol import FLAG_COMPACT, FLAG_OVERFLOW, DecodedBatch, parse_ranges

MAX_GAPS_LISTED = 10_000
_M24 = 1 << 24
_M32 = 1 << 32


def signed_mod(d: NDArray[np.int64] | int, mod: NDArray[np.int64] | int) -> NDArray[np.int64]:
    """``d`` modulo ``mod`` mapped into [-mod/2, mod/2)."""
    half = np.asarray(mod, dtype=np.int64) // 2
    return (np.asarray(d, dtype=np.int64) + half) % mod - half


@dataclass
class ClockFit:
    """Least-squares line sensor_s = a + b * host_s from (host, sensor) pairs, O(1) memory.

    Pairs come from TIME_SYNC round trips (chip ticks at the write, host mid-point) or, without
    them, from notification arrivals. ``b`` is 1 + drift for real hardware and the time scale for
    the virtual sensor.
    """

    n: int = 0
    h0: float = 0.0
    s0: float = 0.0
    sh: float = 0.0
    ss: float = 0.0
    shh: float = 0.0
    shs: float = 0.0

    def add(self, host_s: float, sensor_s: float) -> None:
        if self.n == 0:
            self.h0, self.s0 = host_s, sensor_s
        h, s = host_s - self.h0, sensor_s - self.s0
        self.n += 1
        self.sh += h
        self.ss += s
        self.shh += h * h
        self.shs += h * s

    @property
    def slope(self) -> float:
        """Sensor seconds per host second (1.0 until two distinct pairs exist)."""
        den = self.n * self.shh - self.sh * self.sh
        if self.n < 2 or den <= 1e-12:
            return 1.0
        return (self.n * self.shs - self.sh * self.ss) / den

    def sensor_at(self, host_s: float) -> float:
        b = self.slope
        a = (self.ss - b * self.sh) / self.n if self.n else 0.0
        return self.s0 + a + b * (host_s - self.h0)


@dataclass
class AssemblerStats:
    samples: int = 0
    duplicates: int = 0
    lost_samples: int = 0
    gaps: list[tuple[int, int, str]] = field(default_factory=list)
    """(first missing session seq, count, reason) per accepted gap (the first 10 000)."""
    n_gaps: int = 0
    malformed: int = 0
    packets: int = 0
    epochs: int = 1
    resend_requests: int = 0
    time_fixes: int = 0


class StreamAssembler:
    """De-duplicate, reorder, gap-fill and time-stamp decoded samples (one sensor session).

    Parameters
    ----------
    rate_hz
        Output data rate (for tick unwrapping and gap lengths).
    gap_timeout_s
        Host seconds a gap may stay open while waiting for a RESEND before it is accepted.
    max_pending
        Samples the reorder buffer may hold; beyond that the oldest gap is accepted.
    slack_s
        Sensor seconds a sequence number may run ahead of the time elapsed (see :meth:`window`).
    """

    def __init__(self, rate_hz: float, gap_timeout_s: float = 3.0, max_pending: int = 50_000,
                 slack_s: float = 10.0):
        self.rate_hz = float(rate_hz)
        self.gap_timeout_s = gap_timeout_s
        self.max_pending = max_pending
        self.slack_s = slack_s
        self.ring_capacity = 6400
        """Samples the sensor's ring holds (the client sets it from the status)."""
        self.sensor_per_host = 1.0
        """Sensor seconds per host second (the client's clock fit; the virtual sensor's scale)."""
        self._last_accept_host: float | None = None
        self.stats = AssemblerStats()
        self.next_expected: int | None = None
        """Next device seq (current epoch) to accept."""
        self.last_tick: int = 0
        """Unwrapped chip ticks of the last accepted sample (current epoch)."""
        self.last_t_s: float = -np.inf
        self.last_session_seq: int = -1
        self.acc_lsb_g = float("nan")
        self.gyr_lsb_dps = float("nan")
        self._tick_anchor = 0
        self._t_anchor = 0.0
        self._seq_offset = 0
        self._epoch_start = True
        self._epoch_t_hint: tuple[int, float] | None = None
        self._pending: tuple[NDArray, ...] | None = None
        self._gap_since: float | None = None
        self._last_resend_at = -np.inf
        self.accept_gap_now = False
        """Set when the sensor says it cannot fill the open gap (RESEND truncated)."""
        self._flushed: list[SampleBlock] = []
        self._chip_loss: set[int] = set()
        self.tick_mod = _M32
        """Modulus of the chip ticks on the wire (2^24 in compact packets at MTU 23)."""

    # --- epochs -------------------------------------------------------------------------------
    def new_epoch(self, tick_anchor: int | None = None, t_anchor_s: float | None = None) -> None:
        """The sensor started a new session (reboot): continue after a recorded gap.

        ``(tick_anchor, t_anchor_s)``: a chip tick of the NEW epoch and the session time it
        corresponds to (from the clock fit of the old epoch); None = estimate from the host gap.
        """
        self._flush_pending_as_gap("reboot")
        self.next_expected = None
        self._chip_loss.clear()
        self._epoch_start = True
        self._epoch_t_hint = (
            (int(tick_anchor), float(t_anchor_s))
            if tick_anchor is not None and t_anchor_s is not None
            else None
        )
        self.stats.epochs += 1

    # --- main entry ---------------------------------------------------------------------------
    def feed(
        self, batch: DecodedBatch, host_s: float, host_gap_s: float | None = None
    ) -> tuple[SampleBlock | None, int | None]:
        """Add a decoded batch; returns (accepted block or None, seq to RESEND from or None).

        ``host_gap_s``: host seconds since the previous epoch's last sample, converted to sensor
        seconds (used for a new epoch without a time-sync anchor).
        """
        self.stats.malformed += batch.n_malformed
        self.stats.packets += batch.n_packets
        if len(batch) and np.isnan(self.acc_lsb_g):
            self.acc_lsb_g, self.gyr_lsb_dps = batch.acc_lsb_g, batch.gyr_lsb_dps
        if len(batch) == 0 and self._pending is None:
            return None, None
        if self._last_accept_host is None:
            self._last_accept_host = host_s
        compact = (batch.flags & FLAG_COMPACT) != 0
        seq_mod = np.where(compact, _M24, _M32).astype(np.int64)
        seq_raw = batch.seq % seq_mod
        tick_raw = batch.sensor_ticks % seq_mod
        if len(batch):
            self.tick_mod = int(seq_mod[-1])
        if self.next_expected is None and len(batch):
            self._start_epoch(int(seq_raw[0]), int(tick_raw[0]), host_gap_s)
        assert self.next_expected is not None or len(batch) == 0
        ref_seq = self.next_expected if self.next_expected is not None else 0
        seq = ref_seq + signed_mod(seq_raw - ref_seq, seq_mod)
        # ticks: the wrap count that best matches the seq step from the last accepted sample
        expected = self.last_tick + (seq - (ref_seq - 1)) * (TICKS_PER_S / self.rate_hz)
        exp_i = np.rint(expected).astype(np.int64)
        ticks = exp_i + signed_mod(tick_raw - exp_i, seq_mod)
        acc, gyr, rng = batch.acc_counts, batch.gyr_counts, batch.ranges
        if len(seq):
            limit = self.window(host_s)
            far = np.abs(seq - ref_seq) > limit
            if far.any():  # not where the sensor can be: a bogus header, not a gap
                edges = np.flatnonzero(far[1:] & ~far[:-1]).size + int(far[0])
                self.stats.malformed += edges
                self.stats.packets -= edges
                keep = ~far
                seq, ticks, acc, gyr, rng = seq[keep], ticks[keep], acc[keep], gyr[keep], rng[keep]
                batch_flags = batch.flags[keep]
                if len(seq) == 0 and self._pending is None:
                    return None, None
            else:
                batch_flags = batch.flags
        else:
            batch_flags = batch.flags
        overflow = (batch_flags & FLAG_OVERFLOW) != 0
        if overflow.any():  # the chip lost samples before these: no RESEND can bring them
            self._chip_loss.update(int(x) for x in seq[overflow])
            if len(self._chip_loss) > 4096:  # bounded: forget what is already behind us
                self._chip_loss = {x for x in self._chip_loss if x >= ref_seq}
        if (
            self._pending is None
            and len(seq)
            and seq[0] == ref_seq
            and bool((np.diff(seq) == 1).all())
        ):  # the common case: the next samples, in order, nothing waiting
            self._last_accept_host = host_s
            return self._emit(seq, ticks, acc, gyr, rng), None
        if self._pending is not None:
            ps, pt, pa, pg, pr = self._pending
            seq = np.concatenate([ps, seq])
            ticks = np.concatenate([pt, ticks])
            acc = np.concatenate([pa, acc])
            gyr = np.concatenate([pg, gyr])
            rng = np.concatenate([pr, rng])
            self._pending = None
        n_in = len(seq)
        # duplicates: already accepted, or repeated within this batch
        keep = seq >= ref_seq
        order = np.argsort(seq[keep], kind="stable")
        seq, ticks = seq[keep][order], ticks[keep][order]
        acc, gyr, rng = acc[keep][order], gyr[keep][order], rng[keep][order]
        uniq = np.ones(len(seq), dtype=bool)
        uniq[1:] = seq[1:] != seq[:-1]
        seq, ticks, acc, gyr, rng = seq[uniq], ticks[uniq], acc[uniq], gyr[uniq], rng[uniq]
        self.stats.duplicates += n_in - len(seq)
        blocks: list[SampleBlock] = []
        resend: int | None = None
        while len(seq):
            # contiguous run starting at next_expected
            if seq[0] != self.next_expected:
                waited = host_s - self._gap_since if self._gap_since is not None else 0.0
                if self._gap_since is None:
                    self._gap_since = host_s
                if int(seq[0]) in self._chip_loss:
                    self._accept_gap(int(seq[0]), "chip FIFO overflow")
                    continue
                if (
                    self.accept_gap_now
                    or waited >= self.gap_timeout_s
                    or len(seq) > self.max_pending
                ):
                    self._accept_gap(int(seq[0]), "not resent")
                    self.accept_gap_now = False
                    continue
                self._pending = (seq, ticks, acc, gyr, rng)
                if host_s - self._last_resend_at >= 1.0:
                    self._last_resend_at = host_s
                    self.stats.resend_requests += 1
                    resend = int(self.next_expected)  # type: ignore[arg-type]
                break
            self._gap_since = None
            run = np.flatnonzero(np.diff(seq) != 1)
            end = int(run[0]) + 1 if len(run) else len(seq)
            blocks.append(self._emit(seq[:end], ticks[:end], acc[:end], gyr[:end], rng[:end]))
            seq, ticks, acc, gyr = seq[end:], ticks[end:], acc[end:], gyr[end:]
            rng = rng[end:]
        if not blocks:
            return None, resend
        self._last_accept_host = host_s
        if len(blocks) == 1:
            return blocks[0], resend
        return join_blocks(blocks), resend

    def window(self, host_s: float) -> float:
        """How far (in samples) a sequence number may lie from ``next_expected``: what the
        sensor sampled in the host time since the last accepted sample (at the fitted sensor
        speed, +50 %), plus ``slack_s`` of samples, plus its ring (a RESEND re-sends that)."""
        last = self._last_accept_host
        elapsed = 0.0 if last is None else max(0.0, host_s - last)
        speed = float(self.sensor_per_host)
        speed = max(1.0, speed) if np.isfinite(speed) else 1.0
        return self.rate_hz * (1.5 * elapsed * speed + self.slack_s) + self.ring_capacity

    @property
    def session_t_offset_s(self) -> float:
        """Add to ``ticks x TICK_S`` (current epoch) to get session time."""
        return self._t_anchor - self._tick_anchor * TICK_S

    @property
    def pending(self) -> int:
        return 0 if self._pending is None else len(self._pending[0])

    # --- internals ----------------------------------------------------------------------------
    def _start_epoch(self, seq0: int, tick0: int, host_gap_s: float | None) -> None:
        self.next_expected = seq0
        self.last_tick = tick0 - int(round(TICKS_PER_S / self.rate_hz))
        if self.last_session_seq < 0:  # first epoch of the session: t = 0 at its first sample
            self._tick_anchor, self._t_anchor, self._seq_offset = tick0, 0.0, 0
            self._epoch_start = False
            return
        period = 1.0 / self.rate_hz
        if self._epoch_t_hint is not None:
            ta, t_at = self._epoch_t_hint
            ta = tick0 + int(signed_mod(ta - tick0, self.tick_mod))
            t_first = t_at + (tick0 - ta) * TICK_S
        else:
            t_first = self.last_t_s + (host_gap_s if host_gap_s is not None else period)
        t_first = max(t_first, self.last_t_s + period)
        self._tick_anchor, self._t_anchor = tick0, t_first
        gap = max(1, int(np.rint((t_first - self.last_t_s) * self.rate_hz)))
        self._seq_offset = self.last_session_seq + gap - seq0
        if gap > 1:
            self.stats.lost_samples += gap - 1
            self.stats.n_gaps += 1
            self.stats.gaps.append((self.last_session_seq + 1, gap - 1, "reboot"))
        self._epoch_start = False

    def _accept_gap(self, seq_now: int, reason: str) -> None:
        assert self.next_expected is not None
        n = seq_now - self.next_expected
        self.stats.lost_samples += n
        self.stats.n_gaps += 1
        if len(self.stats.gaps) < MAX_GAPS_LISTED:
            self.stats.gaps.append((self.next_expected + self._seq_offset, n, reason))
        self.last_tick += int(round(n * TICKS_PER_S / self.rate_hz))
        self.next_expected = seq_now
        self._gap_since = None
        self._chip_loss = {x for x in self._chip_loss if x > seq_now}

    def _flush_pending_as_gap(self, reason: str) -> None:
        if self._pending is None:
            return
        seq, ticks, acc, gyr, rng = self._pending
        self._pending = None
        while len(seq):
            if seq[0] != self.next_expected:
                self._accept_gap(int(seq[0]), reason)
            run = np.flatnonzero(np.diff(seq) != 1)
            end = int(run[0]) + 1 if len(run) else len(seq)
            self._flushed.append(
                self._emit(seq[:end], ticks[:end], acc[:end], gyr[:end], rng[:end])
            )
            seq, ticks, acc, gyr = seq[end:], ticks[end:], acc[end:], gyr[end:]
            rng = rng[end:]

    def take_flushed(self) -> list[SampleBlock]:
        """Blocks released by :meth:`new_epoch` or :meth:`finish` (the pending reorder buffer)."""
        out, self._flushed = self._flushed, []
        return out

    def finish(self) -> list[SampleBlock]:
        """End of session: release what waits in the reorder buffer (its gaps are lost)."""
        self._flush_pending_as_gap("end of session")
        return self.take_flushed()

    def _emit(
        self, seq: NDArray[np.int64], ticks: NDArray[np.int64], acc: NDArray, gyr: NDArray,
        rng: NDArray[np.uint8],
    ) -> SampleBlock:
        t = self._t_anchor + (ticks - self._tick_anchor) * TICK_S
        # strictly increasing time even if the chip's timestamps misbehave
        floor = np.maximum.accumulate(np.concatenate([[self.last_t_s], t]))[:-1]
        bad = t <= floor
        if bad.any():
            self.stats.time_fixes += int(bad.sum())
            period = 1.0 / self.rate_hz
            for i in np.flatnonzero(bad):  # rare; per-sample fix only where needed
                t[i] = (t[i - 1] if i else self.last_t_s) + period
        self.next_expected = int(seq[-1]) + 1
        self.last_tick = int(ticks[-1])
        self.last_t_s = float(t[-1])
        out_seq = seq + self._seq_offset
        self.last_session_seq = int(out_seq[-1])
        self.stats.samples += len(seq)
        acc_lsb, gyr_lsb = sensitivities(rng)
        return SampleBlock(out_seq, t, acc, gyr, acc_lsb, gyr_lsb)


def sensitivities(rng: NDArray[np.uint8]) -> tuple[Any, Any]:
    """(acc g/LSB, gyr dps/LSB) of samples whose packets carry the ``ranges`` bytes ``rng``:
    scalars when they all agree (the usual case), else per-sample arrays."""
    if len(rng) and bool((rng == rng[0]).all()):
        acc_g, gyr_dps, _ = parse_ranges(int(rng[0]))
        return ACC_LSB_G[acc_g], GYR_LSB_DPS[gyr_dps]
    acc = np.array([ACC_LSB_G[g] for g in ACC_RANGES_G])[rng & 0x3]
    table = [GYR_LSB_DPS[d] for d in GYR_RANGES_DPS] + [np.nan] * 3
    return acc, np.array(table)[(rng >> 2) & 0x7]


def join_blocks(blocks: list[SampleBlock]) -> SampleBlock:
    """Consecutive blocks as one (sensitivities per sample where they differ)."""
    acc = [np.broadcast_to(np.asarray(b.acc_lsb_g, float), (len(b),)) for b in blocks]
    gyr = [np.broadcast_to(np.asarray(b.gyr_lsb_dps, float), (len(b),)) for b in blocks]
    acc_lsb, gyr_lsb = np.concatenate(acc), np.concatenate(gyr)
    same = bool((acc_lsb == acc_lsb[0]).all() and (gyr_lsb == gyr_lsb[0]).all())
    return SampleBlock(
        np.concatenate([b.seq for b in blocks]),
        np.concatenate([b.t_s for b in blocks]),
        np.concatenate([b.acc_counts for b in blocks]),
        np.concatenate([b.gyr_counts for b in blocks]),
        float(acc_lsb[0]) if same else acc_lsb,
        float(gyr_lsb[0]) if same else gyr_lsb,
    )
