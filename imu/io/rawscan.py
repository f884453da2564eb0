"""A raw session file without its samples in memory (docs/scale.md): :func:`scan_raw` runs every
check of :func:`imu.io.rawfile.read_raw` (the same :class:`~imu.core.errors.InputError` for the
same file) and takes the summary's facts in one streaming pass; :func:`read_rows` and
:func:`rows_between` then read any stretch of it, a window at a time; :func:`peek_raw` tells
from the footer alone what a file is (how to analyse it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imu.core.errors import InputError
from imu.core.options import check_metadata
from imu.core.plausibility import PlausibilityScan, Reread, batch_diff
from imu.core.session import (
    RawSession,
    SampleFacts,
    count_lost,
    rail_floor,
    rail_threshold,
    session_id_of,
)
from imu.io.rawfile import (
    BATCH_ROWS,
    _allocate,
    _columns,
    _convert,
    _floats,
    _open,
    _readable,
    _Structure,
    schema_metadata,
)

SCAN_BATCH_ROWS = 1 << 14
"""Rows per batch when :func:`scan_raw` streams a file (its per-batch arrays stay small)."""

@dataclass(frozen=True)
class RawScan:
    """A raw file that :func:`scan_raw` accepted (every check of :func:`read_raw`) and the
    facts of its samples, without the samples: :func:`read_rows` reads any rows of it."""

    path: Path
    meta: dict[str, Any]
    n_samples: int
    gyro_present: bool
    has_seq: bool
    facts: SampleFacts
    """Bit for bit ``read_raw(path).facts()``."""
    t_first_s: float
    t_last_s: float
    sample_rate_hz: float
    """As :attr:`RawSession.sample_rate_hz`: the metadata's, else the median interval's."""
    row_group_starts: tuple[int, ...]
    """The first row of each row group, then the number of rows."""
    fields: tuple[str, ...]
    """The session's arrays the file holds (:data:`FIELDS`)."""

    @property
    def checked(self) -> bool:
        """Always: the file passed every check (as :attr:`RawSession.checked`)."""
        return True


RAIL_ROWS_KEPT = 1 << 16
"""Rows near full scale that :func:`scan_raw` keeps per sensor to count the saturated samples
at the end; a file with more is read again for the count."""


class _Rail:
    """:meth:`RawSession.saturated_mask` for one sensor (``field``), streamed: its largest
    magnitude and the rows that come near full scale."""

    def __init__(self, field: str, full_scale: Any) -> None:
        self.field, self.full_scale = field, full_scale
        try:
            self.floor = rail_floor(full_scale)
        except (TypeError, ValueError, OverflowError):  # refused by the metadata check
            self.floor = float("inf")
        self.peak = -np.inf
        self._rows: list[np.ndarray] = []
        self._top: list[np.ndarray] = []
        self._kept, self.flood = 0, False

    def add_batch(self, at: int, data: np.ndarray) -> None:
        magnitude = np.abs(data)
        peak = float(magnitude.max())
        self.peak = max(self.peak, peak)
        if self.flood or peak < self.floor:
            return
        near = np.flatnonzero((magnitude >= self.floor).any(axis=1))
        self._kept += near.size
        if self._kept > RAIL_ROWS_KEPT:
            self._rows, self._top, self.flood = [], [], True
        else:
            self._rows.append(at + near)
            self._top.append(magnitude[near].max(axis=1))

    def threshold(self) -> float | None:
        return rail_threshold(self.peak, self.full_scale)

    def rows(self) -> np.ndarray:
        """The saturated rows (not after a flood)."""
        threshold = self.threshold()
        if threshold is None or not self._rows:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(self._rows)[np.concatenate(self._top) >= threshold]


BatchSink = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], None]
"""Called with each batch's time, specific force and angular rate (None without) while a file
is scanned: what else a caller takes from the samples in the same pass."""


def scan_raw(path: str | Path, *, batch_rows: int = SCAN_BATCH_ROWS,
             on_batch: BatchSink | None = None) -> RawScan:
    """Every check of :func:`read_raw` (the same :class:`InputError` for the same file) and
    the facts of the samples (:meth:`RawSession.facts`, bit for bit) in one pass over the file
    in batches of ``batch_rows``, holding 8 bytes a sample (the sample intervals,
    for their medians). Columns are read again only when needed: the acceleration (and the
    time) for the samples' hash when the metadata has no ``session_id``, and for checks that
    need the rate when the metadata does not give it, or on thousands of suspect rows.
    ``on_batch`` sees every batch of a well-formed file (the samples in the same pass)."""
    p = Path(path)
    name = str(p)
    with _readable(p):
        pf, meta, fields = _open(p)
        n = pf.metadata.num_rows
        gyro, has_seq = "gyr_dps" in fields, "seq" in fields
        rate = meta.get("sample_rate_hz")
        try:
            meta_rate = None if rate is None else float(rate)
        except (TypeError, ValueError, OverflowError):  # refused by the metadata check
            meta_rate = float("nan")
        structure = _Structure(name)
        plausibility = PlausibilityScan(n, meta_rate, name, gyro=gyro, seq=has_seq)
        rails = [_Rail(f, meta.get(k)) for f, k in (("acc_g", "acc_range_g"),
                                                     ("gyr_dps", "gyr_range_dps"))
                 if f in fields and meta.get(k)]
        lost, last_seq, t_first, t_last, at = 0, None, 0.0, 0.0, 0
        for batch in pf.iter_batches(batch_size=batch_rows, columns=_columns(fields),
                                     use_threads=False):
            x = {f: _convert(batch, f, name) for f in fields}
            t, acc, gyr, seq = x["t_s"], x["acc_g"], x.get("gyr_dps"), x.get("seq")
            structure.add_batch(t, acc, gyr, seq)
            if structure.ok and len(t):
                plausibility.add_batch(t, acc, gyr, seq)
                for rail in rails:
                    rail.add_batch(at, x[rail.field])
                if on_batch is not None:
                    on_batch(t, acc, gyr)
                if seq is not None:
                    lost += count_lost(batch_diff(seq, last_seq))
                    last_seq = seq[-1:].copy()
                t_first, t_last = (float(t[0]) if at == 0 else t_first), float(t[-1])
            at += batch.num_rows
        del batch, x, t, acc, gyr, seq
        pa.default_memory_pool().release_unused()
    structure.raise_first()
    check_metadata(meta, name)
    reread = _reread(p, batch_rows)
    with _readable(p):
        rate_hz = plausibility.finish(reread)
        del plausibility
        facts = SampleFacts(
            meta=meta, session_id=session_id_of(meta, _lazy(reread, ("t_s",), ("acc_g",))),
            duration_s=t_last - t_first, n_samples=n, gyro_present=gyro,
            saturated_samples=_saturated(rails, reread), lost_samples=lost)
    md = pf.metadata
    starts = np.concatenate([[0], np.cumsum([md.row_group(i).num_rows
                                             for i in range(md.num_row_groups)])])
    return RawScan(path=p, meta=meta, n_samples=n, gyro_present=gyro, has_seq=has_seq,
                   facts=facts, t_first_s=t_first, t_last_s=t_last, sample_rate_hz=rate_hz,
                   row_group_starts=tuple(int(v) for v in starts), fields=fields)


def _reread(p: Path, batch_rows: int) -> Reread:
    """:data:`imu.core.plausibility.Reread` of a file: its fields again, batch by batch."""
    name = str(p)

    def reread(wanted: tuple[str, ...]) -> Iterator[tuple[np.ndarray, ...]]:
        pf = pq.ParquetFile(p, pre_buffer=False)
        for batch in pf.iter_batches(batch_size=batch_rows, columns=_columns(wanted),
                                     use_threads=False):
            yield tuple(_convert(batch, f, name) for f in wanted)

    return reread


def _lazy(reread: Reread, *passes: tuple[str, ...]) -> Iterator[np.ndarray]:
    """The arrays of one field after another, each read in its own pass (only when iterated)."""
    return chain.from_iterable((x for (x,) in reread(f)) for f in passes)


def _saturated(rails: list[_Rail], reread: Reread) -> int:
    """:meth:`RawSession.saturated_mask`'s count from the streamed rails (the sensors read
    again after a flood of rows near full scale)."""
    on = [(r, th) for r in rails if (th := r.threshold()) is not None]
    if not on:
        return 0
    if not any(r.flood for r, _ in on):
        return int(np.unique(np.concatenate([r.rows() for r, _ in on])).size)
    count = 0
    for arrays in reread(tuple(r.field for r, _ in on)):
        mask = np.zeros(len(arrays[0]), dtype=bool)
        for data, (_, threshold) in zip(arrays, on, strict=True):
            mask |= (np.abs(data) >= threshold).any(axis=1)
        count += int(mask.sum())
    return count


def read_rows(scan: RawScan, start: int, stop: int) -> RawSession:
    """Rows ``[start, stop)`` of a scanned file (clipped to it) as a checked
    :class:`RawSession` with the scan's metadata, bit for bit those rows of
    :func:`read_raw`'s arrays: only the row groups holding them are read, batch by batch."""
    n, p, name = scan.n_samples, scan.path, str(scan.path)
    start = min(max(int(start), 0), n)
    stop = min(max(int(stop), start), n)
    x = _allocate(scan.fields, stop - start)
    starts = np.asarray(scan.row_group_starts)
    groups = np.flatnonzero((starts[:-1] < stop) & (starts[1:] > start))
    if groups.size and stop > start:
        with _readable(p):
            pf = pq.ParquetFile(p, pre_buffer=False)
            md = pf.metadata
            if md.num_rows != n or md.num_row_groups != len(starts) - 1:
                raise InputError(f"{name}: the file changed since it was scanned")
            at = int(starts[groups[0]])
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=groups.tolist(),
                                         columns=_columns(scan.fields), use_threads=False):
                lo, hi = max(at, start), min(at + batch.num_rows, stop)
                if lo < hi:
                    part = batch.slice(lo - at, hi - lo)
                    for f in scan.fields:
                        _convert(part, f, name, x[f][lo - start:hi - start])
                at += batch.num_rows
                if at >= stop:
                    break
            del batch
            pa.default_memory_pool().release_unused()
    return RawSession(t_s=x["t_s"], acc_g=x["acc_g"], gyr_dps=x.get("gyr_dps"),
                      seq=x.get("seq"), meta=scan.meta, checked=True)


def rows_between(scan: RawScan, t_lo_s: float, t_hi_s: float) -> tuple[int, int]:
    """The rows ``[start, stop)`` of a scanned file that hold the times ``t_lo_s`` to
    ``t_hi_s`` and one sample either side (what interpolating onto a grid over that span
    needs): the time column read batch by batch until past ``t_hi_s``."""
    p, n = scan.path, scan.n_samples
    start, stop, at = None, n, 0
    with _readable(p):
        pf = pq.ParquetFile(p, pre_buffer=False)
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=["t_s"],
                                     use_threads=False):
            t = _floats(batch.column("t_s"))
            if start is None and t.size and t[-1] >= t_lo_s:
                start = max(0, at + int(np.searchsorted(t, t_lo_s, side="left")) - 1)
            if t.size and t[-1] > t_hi_s:
                stop = min(n, at + int(np.searchsorted(t, t_hi_s, side="right")) + 1)
                break
            at += batch.num_rows
    return (n if start is None else start), stop


def peek_raw(path: str | Path) -> tuple[dict[str, Any], int, float | None] | None:
    """A raw file's metadata, row count and sample rate (the metadata's, else the time
    column's footer statistics), from its footer alone; None when the footer cannot tell
    (the reader then says what is wrong): for choosing how to analyse it."""
    try:
        pf = pq.ParquetFile(path)
        meta = schema_metadata(pf.schema_arrow, str(path))
        n = pf.metadata.num_rows
        rate = meta.get("sample_rate_hz")
        if rate is not None:
            rate = float(rate)
        elif n > 1 and "t_s" in pf.schema_arrow.names:
            at = pf.schema_arrow.names.index("t_s")
            md = pf.metadata
            first = md.row_group(0).column(at).statistics
            last = md.row_group(md.num_row_groups - 1).column(at).statistics
            if first is not None and last is not None and first.has_min_max:
                span = float(last.max) - float(first.min)
                rate = (n - 1) / span if span > 0 else None
        return meta, int(n), rate if rate is not None and np.isfinite(rate) else None
    except (InputError, pa.ArrowException, OSError, ValueError, TypeError, OverflowError):
        return None
