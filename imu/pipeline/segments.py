"""Where a long workout may be cut into segments analysed as sessions of their own: in the
middle of a quiet rest (docs/scale.md).

A workout's sets are apart by rests; a rest of :data:`MIN_QUIET_S` or more of stillness is far
longer than any pause inside a set (the set grouping joins reps at most 12 s apart,
:class:`~imu.pipeline.sets.SetGrouping`), nobody walks or re-seats the clip through it, and each
side of it holds what a session needs. :class:`Segmenter` takes the rows in the file's scan (no
pass of its own), finds the still seconds (:class:`StillSeconds`) and hands each segment on as
soon as its cut is known: the middle of the still rest nearest each multiple of ``segment_s``.
:func:`join_strength` joins the segments' strength results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from imu.core import arrow
from imu.core.arrow import column

if TYPE_CHECKING:
    from imu.pipeline.strength import StrengthAnalysis

MIN_QUIET_S = 30.0
"""Shortest rest to cut in, s."""
QUIET_GYR_DPS = 15.0
"""A quiet second turns slower than this (largest |angular rate|, deg/s)..."""
QUIET_ACC_SD_G = 0.03
"""... and its |specific force| varies less than this (standard deviation, g)."""
SEARCH_S = 150.0
"""A cut lies within this of its multiple of ``segment_s``."""
DECIDE_S = 2 * SEARCH_S
"""How long after its multiple of ``segment_s`` a cut is decided (the rows held meanwhile)."""
MIN_SEGMENT_S = 300.0
"""No segment shorter than this."""


class StillSeconds:
    """Per second of rows (``rows_per_s`` rows from the first), whether it is still by the
    angular rate and the specific force's magnitude (:data:`QUIET_GYR_DPS`,
    :data:`QUIET_ACC_SD_G`), from batches of rows in order (:meth:`add`: a
    :data:`imu.io.rawscan.BatchSink`, so that the scan of a file takes them in its pass)."""

    def __init__(self, rows_per_s: int) -> None:
        self.k = max(1, int(rows_per_s))
        self._rest: tuple[np.ndarray, np.ndarray | None] | None = None
        self._still: list[NDArray[np.bool_]] = []

    def add(self, t_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None) -> None:
        """The next rows (their times are not needed)."""
        if self._rest is not None:  # the rows of the last, unfinished second
            acc_g = np.concatenate([self._rest[0], acc_g])
            if gyr_dps is not None and self._rest[1] is not None:
                gyr_dps = np.concatenate([self._rest[1], gyr_dps])
        n = len(acc_g) // self.k * self.k
        self._rest = (acc_g[n:].copy(), None if gyr_dps is None else gyr_dps[n:].copy())
        mag = np.sqrt(np.einsum("ij,ij->i", acc_g[:n], acc_g[:n])).reshape(-1, self.k)
        still = mag.std(axis=1) < QUIET_ACC_SD_G
        if gyr_dps is not None:
            g = gyr_dps[:n]
            turn = np.sqrt(np.einsum("ij,ij->i", g, g)).reshape(-1, self.k).max(axis=1)
            still &= turn < QUIET_GYR_DPS
        self._still.append(still)

    def seconds(self) -> NDArray[np.bool_]:
        """Still or not, per whole second so far."""
        return np.concatenate(self._still) if self._still else np.zeros(0, dtype=bool)


Segment = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], None]
"""Called with one segment's time, specific force and angular rate (None without)."""


class Segmenter:
    """Cuts a session into segments as its rows go by (:meth:`add`, a
    :data:`imu.io.rawscan.BatchSink`: the scan of a file feeds it in its one pass) and hands
    each segment to ``on_segment`` as soon as its end is known, so that no more than a
    segment and :data:`DECIDE_S` of rows is ever held.

    The cut for each multiple of ``segment_s`` is the middle of the still rest
    (:data:`MIN_QUIET_S` or more) nearest to it within :data:`SEARCH_S`, every segment
    :data:`MIN_SEGMENT_S` long or more; decided once :data:`DECIDE_S` past the multiple (a
    rest still going on then counts as ending there). No rest: no cut there (the segment goes
    on to the next multiple). ``cuts_`` lists the rows cut at."""

    def __init__(self, rows_per_s: int, n_samples: int, segment_s: float,
                 on_segment: Segment) -> None:
        self.still = StillSeconds(rows_per_s)
        self.k, self.n_samples, self.on_segment = self.still.k, n_samples, on_segment
        total_s = n_samples / self.k
        self._targets = list(np.arange(segment_s, total_s - MIN_SEGMENT_S, segment_s))
        self._buf: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        self._first = self._seen = 0  # rows: the buffer's first, and seen so far
        self._last_cut_s = 0.0
        self.cuts_: list[int] = []

    def add(self, t_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None) -> None:
        """The next rows."""
        self.still.add(t_s, acc_g, gyr_dps)
        self._buf.append((t_s, acc_g, gyr_dps))
        self._seen += len(t_s)
        while self._targets and self._seen / self.k >= self._targets[0] + DECIDE_S:
            cut = self._cut(self._targets.pop(0))
            if cut is not None:
                self._emit(cut)

    def finish(self) -> None:
        """The last segment (all rows seen)."""
        self._emit(self._seen)

    def _cut(self, target: float) -> int | None:
        still = self.still.seconds()
        edges = np.flatnonzero(np.diff(np.r_[0, still.astype(np.int8), 0]))
        starts, ends = edges[0::2], edges[1::2]
        mids = ((starts + ends) // 2)[(ends - starts) >= MIN_QUIET_S]
        total_s = self.n_samples / self.k
        ok = mids[(np.abs(mids - target) <= SEARCH_S) & (mids - self._last_cut_s >= MIN_SEGMENT_S)
                  & (total_s - mids >= MIN_SEGMENT_S)]
        if not ok.size:
            return None
        best = int(ok[np.argmin(np.abs(ok - target))])
        self._last_cut_s = best
        self.cuts_.append(best * self.k)
        return best * self.k

    def _emit(self, row: int) -> None:
        """Rows up to ``row`` as one segment; the rest stays."""
        take = row - self._first
        if take <= 0:
            return
        gyro = self._buf[0][2] is not None
        t, acc = np.empty(take), np.empty((take, 3))
        gyr = np.empty((take, 3)) if gyro else None
        rest, got = [], 0
        for t_b, acc_b, gyr_b in self._buf:  # copied into the segment batch by batch
            m = min(len(t_b), take - got)
            if m > 0:
                t[got:got + m], acc[got:got + m] = t_b[:m], acc_b[:m]
                if gyr is not None and gyr_b is not None:
                    gyr[got:got + m] = gyr_b[:m]
                got += m
            if m < len(t_b):
                rest.append((t_b[max(m, 0):], acc_b[max(m, 0):],
                             None if gyr_b is None else gyr_b[max(m, 0):]))
        self._buf, self._first = rest, row
        self.on_segment(t, acc, gyr)


def join_strength(parts: list[StrengthAnalysis], exercise: str | None) -> StrengthAnalysis:
    """The strength stages' results of a session's segments as one (the first, updated): sets
    numbered over the session (the reps follow their set), the 25 Hz series joined, the
    summary over every rep, its mounting changes added up and its calibration the first
    segment's."""
    first = parts[0]
    sets, reps = [], []
    offset = 0
    for st in parts:
        for table, out in ((st.sets_, sets), (st.reps_, reps)):
            at = table.schema.get_field_index("set")
            out.append(table.set_column(at, "set", arrow.array(
                column(table, "set", np.int64) + offset)))
        offset += st.sets_.num_rows
    changes = sum(int(st.summary_["mounting_changes"]) for st in parts)
    calibration = first.summary_["calibration"]
    first.sets_, first.reps_ = pa.concat_tables(sets), pa.concat_tables(reps)
    first.timeseries_ = pa.concat_tables([st.timeseries_ for st in parts])
    first.summary_ = first._summary(exercise, None) | {  # noqa: SLF001
        "calibration": calibration, "mounting_changes": changes}
    return first
