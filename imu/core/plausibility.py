"""Is this a recording of a person's hip in the contract's units? The ONE place that says so.

Structural checks (columns, NaN, time order) live with the reader (:mod:`imu.io.rawfile`);
this module judges the numbers of a :class:`~imu.core.session.RawSession` that is already
well-formed, so that a unit slip or a bogus clock becomes one clear :class:`InputError` instead
of a confident wrong answer or an unbounded allocation. It runs for every input: a raw file
(:func:`imu.io.rawfile.from_dataframe`), a DataFrame, a :class:`RawSession` built in memory
(:func:`imu.core.options.resolve`), the recordings of ``imu record``, and a file streamed in
batches (:class:`PlausibilityScan`, :func:`imu.io.rawfile.scan_raw`: the same checks without the
whole session in memory). Limits (docs/formats.md):

* **Time**: ``t_s`` in seconds. The median sample interval must give a rate within
  :data:`RATE_RANGE_HZ` (the contract's 50-1000 Hz, with room for clock error); a file in
  milliseconds is named as such. ``sample_rate_hz`` in the metadata must agree with it within
  :data:`RATE_TOLERANCE`.
* **Gaps**: no single jump of ``t_s`` may exceed :data:`MAX_GAP_S` (a longer pause is not one
  session: the file is rejected, not split, so the user decides where each session starts),
  and the whole span may hold at most :func:`max_span_samples` sample periods, so every
  analysis that resamples onto a uniform grid stays within a few times the memory of the file,
  whatever the file claims.
* **seq**: a jump must not claim more lost samples than the time between the samples holds.
* **Acceleration in g**: the mean magnitude must lie in :data:`ACC_MEAN_RANGE_G` (a sensor
  at rest reads 1 g); about 9.8 is named as m/s^2.
* **Angular rate in deg/s**: when the acceleration shows that the pelvis moved (the gravity
  direction turned by more than :data:`MOVED_DEG` or the magnitude varied by more than
  :data:`MOVED_STD_G`), the angular rate must exceed :data:`MIN_MOVING_RATE` somewhere
  (its 99.9th percentile); below that it is in rad/s (a pelvis never turns at 10 rad/s).
* **A constant signal**: every sample identical (acceleration and angular rate) is a stuck
  sensor, not a still person (whose sensor always shows noise); it is refused, since no
  neutral posture or axis can be found in it. A still recording with noise analyses to an
  honest empty result (no sets, no steps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

import numpy as np

from imu.core.errors import InputError

RATE_RANGE_HZ: Final = (40.0, 1250.0)
"""Sample rates accepted from ``t_s`` (contract: 50-1000 Hz, +-20 % for clocks)."""
RATE_TOLERANCE: Final = 0.15
"""Largest relative difference between ``sample_rate_hz`` and the rate of ``t_s``."""
MAX_GAP_S: Final = 300.0
"""Longest jump of ``t_s`` within one session (a sensor out of range for up to 2 minutes, a
reboot: seconds; five minutes of nothing is a different session)."""
SPAN_FACTOR: Final = 2.0
"""The span may hold this many times the sample count, plus :data:`MAX_GAP_S` (see
:func:`max_span_samples`)."""
ACC_MEAN_RANGE_G: Final = (0.5, 3.0)
"""Mean |acceleration| of a worn sensor, g: 1 at rest, and at least about 1 in any movement
(over time the vertical specific force averages 1 g). Not the median: in fast running the
sensor reads ~0 g for half of every stride (flight), and the median of a long run falls below
0.5 g (0.29 g measured on a simulated 100-minute run at 5.1 m/s)."""
MS2_PER_G: Final = 9.80665
MOVED_STD_G: Final = 0.1
TURN_MIN_DEG: Final = 5.0
QUASI_STATIC_STD_G: Final = 0.02
MIN_TURN_RATIO: Final = 10.0
"""Integrated angular rate per radian of turn below which it is rad/s (deg/s gives ~57)."""
MIN_MOVING_RATE: Final = 8.0
"""99.9th percentile of |angular rate| below which a moving pelvis is read in rad/s (8 deg/s
would be a crawl; 8 rad/s = 460 deg/s is beyond any pelvis)."""


def max_span_samples(n_samples: int, rate_hz: float) -> int:
    """Most sample periods a session of ``n_samples`` may span: twice its samples plus
    :data:`MAX_GAP_S` worth (lost samples up to that are fine). The one bound on every uniform
    grid the pipeline builds (:func:`imu.pipeline.signals.uniform_grid`)."""
    return int(SPAN_FACTOR * n_samples + MAX_GAP_S * rate_hz) + 1


def _fmt_s(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.3g} s"


Reread = Callable[[tuple[str, ...]], Iterable[tuple[np.ndarray, ...]]]
"""The session again, batch by batch in the same order: ``reread(("t_s", "seq"))`` yields each
batch's arrays of those fields (of ``t_s``, ``acc_g``, ``gyr_dps``, ``seq``)."""

BLOCK_ROWS: Final = 1 << 16
"""Rows per block of a per-sample count within a batch (bounded temporaries)."""
SEQ_JUMPS_KEPT: Final = 1 << 12
"""seq jumps that :class:`PlausibilityScan` keeps for its judgement at the end; a session with
more that may count (a counter stepping by 3 without a rate in the metadata) is read again."""


def batch_diff(x: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
    """``np.diff`` of a batch of rows preceded by ``prev``, the previous batch's last row (None
    for the first batch): the differences of a whole session, batch by batch."""
    return np.diff(x) if prev is None else np.diff(x, prepend=prev)


def _block_len(rate_hz: float) -> int:
    """Samples in a quarter second (:func:`turn_ratio`'s blocks)."""
    return max(1, int(round(rate_hz * 0.25)))


def _seq_exceeds(d: np.ndarray, dt: np.ndarray, rate_hz: float) -> np.ndarray:
    """Per seq jump: does it claim more lost samples than the time between the samples holds?"""
    return d > dt * rate_hz * 1.5 + 2


class _Whole:
    """A whole-session array filled batch by batch (one batch of all rows: kept as it is)."""

    def __init__(self, n: int) -> None:
        self.n, self.at = max(n, 0), 0
        self.values: np.ndarray | None = None

    def put(self, piece: np.ndarray) -> None:
        if self.values is None and len(piece) == self.n:
            self.values, self.at = piece, self.n
            return
        if self.values is None:
            self.values = np.empty(self.n, dtype=piece.dtype)
        self.values[self.at:self.at + len(piece)] = piece
        self.at += len(piece)


class _Moments:
    """Count, mean and sum of squared deviations of a whole-session signal, batch by batch
    (Chan, Golub & LeVeque 1979): of one batch numpy's ``mean`` and ``var`` (times the count),
    the same numbers; of several the same to rounding. Holds no samples."""

    def __init__(self) -> None:
        self.n, self.mean, self.var = 0, 0.0, 0.0

    def put(self, x: np.ndarray) -> None:
        if not x.size:
            return
        n_b, mean_b, var_b = x.size, float(np.mean(x)), float(np.var(x))
        if self.n == 0:
            self.n, self.mean, self.var = n_b, mean_b, var_b
            return
        n = self.n + n_b
        delta = mean_b - self.mean
        m2 = self.var * self.n + var_b * n_b + delta * delta * self.n * n_b / n
        self.mean += delta * n_b / n
        self.n, self.var = n, m2 / n

    def std(self) -> float:
        return float(np.sqrt(self.var)) if self.n else float("nan")


class _Blocks:
    """:func:`turn_ratio`'s quarter-second blocks from consecutive batches of rows (a block may
    span two; the rows after the last whole block are left out)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._carry: tuple[np.ndarray, np.ndarray] | None = None
        self._mean: list[np.ndarray] = []
        self._still: list[np.ndarray] = []
        self._gyr: list[np.ndarray] = []

    def add(self, acc_g: np.ndarray, gyr: np.ndarray) -> None:
        k = self.k
        if self._carry is not None:
            a0, g0 = self._carry
            take = k - len(a0)
            if len(acc_g) < take:
                self._carry = (np.concatenate([a0, acc_g]), np.concatenate([g0, gyr]))
                return
            self._stats(np.concatenate([a0, acc_g[:take]]), np.concatenate([g0, gyr[:take]]))
            acc_g, gyr, self._carry = acc_g[take:], gyr[take:], None
        whole = len(acc_g) // k * k
        if whole:
            self._stats(acc_g[:whole], gyr[:whole])
        if whole < len(acc_g):
            self._carry = (acc_g[whole:].copy(), gyr[whole:].copy())

    def _stats(self, acc_g: np.ndarray, gyr: np.ndarray) -> None:
        n, k = len(acc_g) // self.k, self.k
        a = acc_g.reshape(n, k, 3)
        self._mean.append(a.mean(axis=1))
        self._still.append(np.sqrt(np.einsum("ijk,ijk->ij", a, a)).std(axis=1)
                           < QUASI_STATIC_STD_G)
        self._gyr.append(gyr.reshape(n, k, 3).sum(axis=1))

    def ratio(self, rate_hz: float) -> float | None:
        """:func:`turn_ratio` of the rows added."""
        if sum(len(m) for m in self._mean) < 8:
            return None
        mean = np.concatenate(self._mean)
        mag = np.sqrt(np.einsum("ij,ij->i", mean, mean)).clip(1e-9)
        u = mean / mag[:, None]
        quiet = np.concatenate(self._still) & (np.abs(mag - 1.0) < 0.1)
        g = np.concatenate(self._gyr) / rate_hz
        w = 4  # blocks per window: one second
        cum = np.concatenate([np.zeros((1, 3)), np.cumsum(g, axis=0)])
        turned = np.arccos(np.clip(np.einsum("ij,ij->i", u[:-w], u[w:]), -1.0, 1.0))
        # from the middle of block i to the middle of block i + w
        integral = cum[w:-1] - cum[1:-w] + 0.5 * (g[:-w] + g[w:])
        ok = quiet[:-w] & quiet[w:] & (turned > np.radians(TURN_MIN_DEG))
        if int(ok.sum()) < 3:
            return None
        r = np.sqrt(np.einsum("ij,ij->i", integral[ok], integral[ok])) / turned[ok]
        return float(np.median(r))


def turn_ratio(acc_g: np.ndarray, gyr: np.ndarray, rate_hz: float) -> float | None:
    """Integrated angular rate per radian that the gravity direction turns (about 57.3 for
    deg/s, about 1 for rad/s), the median over 1-s windows between quasi-static moments that
    turn by more than :data:`TURN_MIN_DEG`; None when fewer than 3 such windows exist.

    Quarter-second blocks: each block's mean acceleration direction (quasi-static when the
    magnitude's standard deviation within it is below :data:`QUASI_STATIC_STD_G`) and the
    integral of the angular rate over it. The rotation between two blocks is at least the
    angle between their gravity directions and, over one second, close to it.
    """
    blocks = _Blocks(_block_len(rate_hz))
    blocks.add(acc_g, gyr)
    return blocks.ratio(rate_hz)


class PlausibilityScan:
    """:func:`check_plausible` on a session fed in consecutive batches of rows
    (:meth:`add_batch`), judged by :meth:`finish`: the same checks in the same order with the
    same messages, in bounded memory. Kept between batches: the sample intervals (8 bytes a
    sample, for their median), the mean and spread of |acc|, the first long gap, a few seq jumps,
    whether every sample equals the first, and the quarter-second blocks when the metadata
    gives the rate. What needs more (the blocks at a rate known only at the end, the
    percentile of |angular rate|, a flood of seq jumps) :meth:`finish` takes from ``reread``.
    """

    def __init__(self, n_samples: int, meta_rate_hz: float | None, name: str = "input", *,
                 gyro: bool, seq: bool) -> None:
        self.n_samples, self.name, self.gyro, self.has_seq = n_samples, name, gyro, seq
        self.meta_rate_hz = None if meta_rate_hz is None else float(meta_rate_hz)
        self._rows = 0
        self._dt, self._mag = _Whole(n_samples - 1), _Moments()
        self._t_first: np.ndarray | None = None
        self._last_t: np.ndarray | None = None
        self._last_seq: np.ndarray | None = None
        self._gap: tuple[int, float] | None = None
        self._jumps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._jumps_kept, self._jumps_done, self._jumps_flood = 0, False, False
        self._first: tuple[np.ndarray, np.ndarray] | None = None
        self._acc_const = self._gyr_const = True
        self._turning = 0  # samples whose |angular rate| is surely above MIN_MOVING_RATE
        rate = self.meta_rate_hz
        known = rate is not None and np.isfinite(rate) and rate > 0
        self._blocks = _Blocks(_block_len(rate)) if gyro and known else None  # type: ignore[arg-type]

    def add_batch(self, t_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None,
                  seq: np.ndarray | None) -> None:
        """The next rows of the session (``gyr_dps``, ``seq``: None when the session has none)."""
        if not len(t_s):
            return
        first = self._last_t is None
        start = self._rows - (0 if first else 1)  # the index of this batch's first interval
        dt = batch_diff(t_s, self._last_t)
        self._dt.put(dt)
        big = np.flatnonzero(dt > MAX_GAP_S)
        if self._gap is None and big.size:
            self._gap = (start + int(big[0]), float(dt[big[0]]))
        if self.has_seq and seq is not None:
            self._add_jumps(batch_diff(seq, self._last_seq), dt, start)
            self._last_seq = seq[-1:].copy()
        self._mag.put(np.sqrt(np.einsum("ij,ij->i", acc_g, acc_g)))
        if self.gyro and gyr_dps is not None:
            if self._first is None:
                self._first = (acc_g[0].copy(), gyr_dps[0].copy())
            if self._acc_const:
                self._acc_const = bool((acc_g == self._first[0]).all())
            if self._acc_const and self._gyr_const:
                self._gyr_const = bool((gyr_dps == self._first[1]).all())
            if self._blocks is not None:
                self._blocks.add(acc_g, gyr_dps)
            limit = (MIN_MOVING_RATE * (1 + 1e-9)) ** 2
            for a in range(0, len(gyr_dps), BLOCK_ROWS):  # small temporaries
                g = gyr_dps[a : a + BLOCK_ROWS]
                self._turning += int(np.count_nonzero(np.einsum("ij,ij->i", g, g) > limit))
        if first:
            self._t_first = t_s[:1].copy()
        self._last_t = t_s[-1:].copy()
        self._rows += len(t_s)

    def _add_jumps(self, d: np.ndarray, dt: np.ndarray, start: int) -> None:
        """Keep the jumps that fail at some rate the check may use (the metadata's, else any of
        :data:`RATE_RANGE_HZ`), up to the first that fails at every one of them."""
        if self._jumps_done:
            return
        rate = self.meta_rate_hz
        lo, hi = RATE_RANGE_HZ if rate is None else (rate, rate)
        with np.errstate(all="ignore"):  # a rate the metadata check refuses: no jumps kept
            at_lo, at_hi = _seq_exceeds(d, dt, lo), _seq_exceeds(d, dt, hi)
        rows = np.flatnonzero(at_lo | at_hi)  # the check is monotonic in the rate
        sure = np.flatnonzero(at_lo & at_hi)
        if sure.size:
            rows, self._jumps_done = rows[rows <= sure[0]], True
        self._jumps_kept += rows.size
        if self._jumps_kept > SEQ_JUMPS_KEPT:
            self._jumps, self._jumps_done, self._jumps_flood = [], True, True
        elif rows.size:
            self._jumps.append((start + rows, d[rows], dt[rows]))

    def finish(self, reread: Reread) -> float:
        """Judge the session (:class:`InputError` on the first failure, as
        :func:`check_plausible`); returns the rate the analysis will use."""
        rate = self._check_time()
        if self.has_seq:
            self._check_seq(rate, reread)
        self._check_units(rate, reread)
        return rate

    def _check_time(self) -> float:
        """``t_s`` in seconds (strictly increasing and finite: the reader's checks), the
        metadata's rate, no long gap, a bounded span; returns the rate the analysis will use."""
        name = self.name
        dt = self._dt.values if self._dt.values is not None else np.empty(0)
        self._dt = _Whole(0)  # only the median is needed: memory back before the next checks
        implied = float(1.0 / np.median(dt))
        lo, hi = RATE_RANGE_HZ
        if not lo <= implied <= hi:
            if lo <= implied * 1000 <= hi:
                raise InputError(
                    f"{name}: t_s looks like milliseconds (median interval {np.median(dt):g}); "
                    "the raw file holds seconds"
                )
            raise InputError(
                f"{name}: t_s gives {implied:.4g} Hz (median interval {np.median(dt):.4g} s); "
                f"expected 50-1000 Hz with t_s in seconds"
            )
        del dt
        rate = implied
        if self.meta_rate_hz is not None:
            rate = self.meta_rate_hz
            if abs(rate / implied - 1.0) > RATE_TOLERANCE:
                raise InputError(
                    f"{name}: metadata sample_rate_hz {rate:g} disagrees with t_s "
                    f"({implied:.4g} Hz from the median interval)"
                )
        if self._gap is not None:
            i, jump = self._gap
            raise InputError(
                f"{name}: t_s jumps by {_fmt_s(jump)} at row {i + 1} (more than "
                f"{MAX_GAP_S / 60:g} min): not one session; split the file there"
            )
        assert self._t_first is not None and self._last_t is not None
        spanned = float((self._last_t - self._t_first)[0])
        span = spanned * max(rate, implied)
        if span > max_span_samples(self._rows, max(rate, implied)):
            raise InputError(
                f"{name}: t_s spans {_fmt_s(spanned)} for only {self._rows} samples "
                f"at {rate:g} Hz (mostly gaps); not one session"
            )
        return rate

    def _check_seq(self, rate_hz: float, reread: Reread) -> None:
        """A ``seq`` jump may not claim more lost samples than the time between the samples
        holds (the contract counts seq jumps as lost samples)."""
        found: tuple[int, np.ndarray, np.ndarray] | None = None
        if not self._jumps_flood:
            for rows, d, dt in self._jumps:
                bad = np.flatnonzero(_seq_exceeds(d, dt, rate_hz))
                if bad.size:
                    found = (int(rows[bad[0]]), d[bad[0]], dt[bad[0]])
                    break
        else:
            at, prev_t, prev_s = 0, None, None
            for t_s, seq in reread(("t_s", "seq")):
                if not len(t_s):
                    continue
                dt, d = batch_diff(t_s, prev_t), batch_diff(seq, prev_s)
                bad = np.flatnonzero(_seq_exceeds(d, dt, rate_hz))
                if bad.size:
                    found = (at - (prev_t is not None) + int(bad[0]), d[bad[0]], dt[bad[0]])
                    break
                at, prev_t, prev_s = at + len(t_s), t_s[-1:].copy(), seq[-1:].copy()
        if found is not None:
            i, d_i, dt_i = found
            raise InputError(
                f"{self.name}: seq jumps by {int(d_i)} at row {i + 1} but t_s only by "
                f"{float(dt_i):.3g} s: the counter is not this recording's"
            )

    def _check_units(self, rate_hz: float, reread: Reread) -> None:
        """Acceleration in g, angular rate in deg/s, and not a constant (stuck) signal."""
        name = self.name
        mag = self._mag
        mean = mag.mean if mag.n else float("nan")
        lo, hi = ACC_MEAN_RANGE_G
        if not lo <= mean <= hi:
            if lo <= mean / MS2_PER_G <= hi:
                raise InputError(
                    f"{name}: acceleration looks like m/s^2 (mean magnitude {mean:.3g}); "
                    "the raw file holds g (a sensor at rest reads 1 g)"
                )
            raise InputError(
                f"{name}: implausible acceleration (mean magnitude {mean:.3g} g; a sensor at "
                "rest reads 1 g)"
            )
        if not self.gyro:
            return
        if self._acc_const and self._gyr_const:
            raise InputError(
                f"{name}: all {self._rows} samples are identical: a stuck sensor, not a "
                "recording (a still sensor still shows noise)"
            )
        blocks = self._blocks
        if blocks is None:  # the rate was not known while the rows went by
            blocks = _Blocks(_block_len(rate_hz))
            for acc_g, gyr in reread(("acc_g", "gyr_dps")):
                blocks.add(acc_g, gyr)
        ratio = blocks.ratio(rate_hz)
        if ratio is not None:
            if ratio < MIN_TURN_RATIO:
                raise InputError(
                    f"{name}: angular rate looks like rad/s (it integrates to {ratio:.2g} units "
                    "per radian the gravity direction turns, not 57.3 degrees); the raw file "
                    "holds deg/s"
                )
            return
        if mag.std() <= MOVED_STD_G:
            return
        del mag
        # the percentile lies between two order statistics: when more samples than those above
        # it turn surely faster than the limit, so does the percentile (no second pass)
        if self._turning > self._rows - int(np.floor((self._rows - 1) * 0.999)) + 1:
            return
        whole = _Whole(self._rows)
        for (gyr,) in reread(("gyr_dps",)):
            whole.put(np.sqrt(np.einsum("ij,ij->i", gyr, gyr)))
        rate = whole.values if whole.values is not None else np.empty(0)
        if float(np.percentile(rate, 99.9)) < MIN_MOVING_RATE:
            raise InputError(
                f"{name}: angular rate looks like rad/s (at most {float(rate.max()):.3g} while "
                "the acceleration shows movement); the raw file holds deg/s"
            )


def check_plausible(
    t_s: np.ndarray,
    acc_g: np.ndarray,
    gyr_dps: np.ndarray | None,
    seq: np.ndarray | None,
    meta_rate_hz: float | None,
    name: str = "input",
) -> None:
    """Every check of this module on one session's arrays (:class:`InputError` on the first
    failure); :meth:`imu.core.session.RawSession.ensure_plausible` runs it once per session.
    One batch of :class:`PlausibilityScan`."""
    if seq is not None and seq.size != t_s.size:
        seq = None
    scan = PlausibilityScan(t_s.size, meta_rate_hz, name, gyro=gyr_dps is not None,
                            seq=seq is not None)
    scan.add_batch(t_s, acc_g, gyr_dps, seq)
    fields = {"t_s": t_s, "acc_g": acc_g, "gyr_dps": gyr_dps, "seq": seq}
    scan.finish(lambda names: [tuple(fields[f] for f in names)])  # type: ignore[misc]
