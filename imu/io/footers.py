"""One-row Parquet files in bulk, from their footers alone (the fast path of :mod:`.catalog`).

A session's ``summary.parquet`` holds one row, so each column's footer statistics (min == max)
ARE its value: a metadata-only read. For a study of 100,000 sessions the cost per file is what
matters, so this module keeps it to the minimum pyarrow offers: the file's bytes, its footer
parsed as a bare ``FileMetaData`` (the Thrift structure, without opening a reader and building
the Arrow schema), and the statistics of the wanted columns only, through a plan made once per
schema (:class:`FooterPlan`). Values are collected per column and turned into Arrow arrays at
the end, timestamps vectorised.

Every file this path cannot decide (another schema with types the plan does not cover, a value
its statistics do not determine, a footer that does not parse) is handed back to the caller,
which reads it the general way: the results are the same either way, only the time differs.

Faster still, and first: ``imu analyze`` writes a summary's row into its own footer as JSON,
under the key ``imu.row`` (:func:`keyed_one_row`), with the SHA-1 of every byte before the
footer. :func:`keyed_row` finds it with a byte search, no Thrift parsing, and accepts it only
if that hash matches (so a file re-written with other values is never read from a stale row),
and :class:`RowPlan` takes the wanted columns as the statistics would give them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imu.io.atomic import write_parquet

try:  # the footer alone as FileMetaData (what unpickling one does); else a full reader
    from pyarrow._parquet import _reconstruct_filemetadata
except ImportError:  # pragma: no cover - other pyarrow versions
    _reconstruct_filemetadata = None

_MAGIC: Final = b"PAR1"
_NUMERIC: Final = frozenset({"INT32", "INT64", "FLOAT", "DOUBLE"})
_FLOAT_PHYSICAL: Final = frozenset({"FLOAT", "DOUBLE"})
_TS_UNITS: Final = {"milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns"}
_EXACT_INT: Final = 2**53
"""Integers read into float columns up to this size (beyond: not one float exactly)."""
_TS_RANGE_S: Final = (0, 7_258_118_400)
"""Timestamps taken from statistics: 1970 to 2200 (others are read the general way)."""


def footer(data: bytes) -> pq.FileMetaData:
    """The ``FileMetaData`` of a Parquet file held in ``data`` (ValueError if it has none)."""
    n = len(data)
    if n < 12 or data[:4] != _MAGIC or data[-4:] != _MAGIC:
        raise ValueError("not a plain Parquet file")
    size = int.from_bytes(data[-8:-4], "little")
    if size <= 0 or size > n - 12:
        raise ValueError("bad footer length")
    if _reconstruct_filemetadata is not None:
        return _reconstruct_filemetadata(pa.py_buffer(data[n - 8 - size : n - 8]))
    return pq.ParquetFile(pa.BufferReader(data)).metadata  # pragma: no cover


@dataclass
class FooterPlan:
    """How to take the wanted columns' values from the statistics of files of one schema.

    ``columns``: (column index in the file, name, kind) per wanted column present, where kind
    is ``"int"`` or ``"float"`` (a plain number column), ``"bool"``, ``"utf8"`` (text) or
    ``"ts:<unit>[:utc]"`` (a timestamp read into a text column as its ISO time, to the second,
    as pyarrow's conversion and ``strftime('%Y-%m-%dT%H:%M:%S%z')`` give it). ``usable`` is
    False where some wanted column has a type this path does not cover.
    """

    schema: pq.ParquetSchema
    columns: list[tuple[int, str, str]]
    usable: bool
    values: dict[str, list[Any]] = field(default_factory=dict)
    """Collected values per column name, one per accepted file."""
    files: list[int] = field(default_factory=list)
    """Index (in the caller's list) of each accepted file."""

    @classmethod
    def of(cls, md: pq.FileMetaData, target: pa.Schema) -> FooterPlan:
        sch = md.schema
        cols: list[tuple[int, str, str]] = []
        usable = True
        for j in range(md.num_columns):
            col = sch.column(j)
            name = col.path
            idx = target.get_field_index(name)
            if idx < 0:
                continue
            want = target.field(idx).type
            kind = _kind(col, want)
            if kind is None:
                usable = False
                break
            cols.append((j, name, kind))
        usable = usable and bool(cols)
        return cls(sch, cols, usable, {name: [] for _, name, _ in cols})

    def take(self, md: pq.FileMetaData, index: int) -> bool:
        """Collect the one row of ``md`` (file number ``index``); False (nothing collected)
        where the statistics do not determine every value."""
        rg = md.row_group(0)
        row = []
        for j, _, kind in self.columns:
            st = rg.column(j).statistics
            if st is None:
                return False
            if st.has_null_count and st.null_count == 1:
                row.append(None)
            elif st.has_min_max:
                lo = st.min_raw
                if lo != st.max_raw:
                    return False
                if kind == "utf8":
                    try:
                        lo = lo.decode("utf-8")
                    except UnicodeDecodeError:
                        return False
                elif kind[0] == "t" and not _in_range(lo, kind):
                    return False
                elif kind == "int" and not -_EXACT_INT <= lo <= _EXACT_INT:
                    return False  # not exactly a float: the general read says so
                row.append(lo)
            elif kind == "float" and st.has_null_count and st.null_count == 0:
                row.append(np.nan)  # writers keep NaN out of float statistics
            else:
                return False
        for (_, name, _), value in zip(self.columns, row, strict=True):
            self.values[name].append(value)
        self.files.append(index)
        return True

    def table(self, target: pa.Schema) -> pa.Table:
        """The collected rows with ``target``'s columns (absent ones null)."""
        kinds = {name: kind for _, name, kind in self.columns}
        n = len(self.files)
        cols = []
        for f in target:
            if f.name not in kinds:
                cols.append(pa.nulls(n, f.type))
                continue
            values = self.values[f.name]
            kind = kinds[f.name]
            if kind[0] == "t":
                cols.append(_iso_seconds(values, kind))
            else:
                cols.append(pa.array(values, f.type))
        return pa.table(cols, schema=target)


def _kind(col: Any, want: pa.DataType) -> str | None:
    """How a file column becomes a value of type ``want``, or None if this path cannot."""
    logical = col.logical_type.type
    physical = col.physical_type
    if pa.types.is_floating(want) and logical == "NONE" and physical in _NUMERIC:
        return "float" if physical in _FLOAT_PHYSICAL else "int"
    if pa.types.is_boolean(want) and logical == "NONE" and physical == "BOOLEAN":
        return "bool"
    if pa.types.is_string(want) and logical == "STRING" and physical == "BYTE_ARRAY":
        return "utf8"
    if pa.types.is_string(want) and logical == "TIMESTAMP" and physical == "INT64":
        info = json.loads(col.logical_type.to_json())
        unit = _TS_UNITS.get(info.get("timeUnit", ""))
        if unit is None:
            return None
        return f"ts:{unit}" + (":utc" if info.get("isAdjustedToUTC") else "")
    return None


def _in_range(raw: int, kind: str) -> bool:
    per_s = {"ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[kind.split(":")[1]]
    lo, hi = _TS_RANGE_S
    return lo * per_s <= raw < hi * per_s


def _iso_seconds(values: list[Any], kind: str) -> pa.Array:
    """Raw timestamps as ``YYYY-MM-DDTHH:MM:SS[+0000]`` text (null stays null)."""
    parts = kind.split(":")
    unit, utc = parts[1], len(parts) > 2
    mask = np.array([v is None for v in values], dtype=bool)
    raw = np.array([0 if v is None else v for v in values], dtype=np.int64)
    text = np.datetime_as_string(raw.astype(f"datetime64[{unit}]").astype("datetime64[s]"))
    if utc:
        text = np.char.add(text, "+0000")
    return pa.array(text.astype(object), pa.string(), mask=mask)


# --------------------------------------------------------------------------------------------
# The row as JSON in the footer (``imu.row``)

ROW_KEY: Final = "imu.row"
"""Footer key of a one-row file's row: ``{"sha1": <hex of the bytes before the footer>,
"timestamps": [<names of timestamp columns>], "row": {<column>: <value>}}`` (timestamps as
ISO 8601 text, floats as JSON numbers, ``NaN``/``Infinity`` as Python's json writes them)."""
_ROW_NEEDLE: Final = b"\x18\x07" + ROW_KEY.encode() + b"\x18"
"""The key as Thrift's compact protocol stores a KeyValue: field 1 (binary, length 7), the
key, then field 2's header (binary); the value's length (a varint) and bytes follow."""


def keyed_one_row(table: pa.Table, write: Callable[..., None] = write_parquet) -> bytes:
    """``table`` (one row) as Parquet bytes, written by ``write(table, sink,
    footer_metadata=...)`` (by default :func:`imu.io.atomic.write_parquet`), whose footer also
    holds its row under :data:`ROW_KEY` (in the Parquet footer only, not in the Arrow schema:
    a table read and written again does not carry it on); without it where a value is not
    plain (a list, bytes, a date...). The file is written twice: the first gives the bytes
    the hash covers, the second must reproduce them (else the key is left out)."""
    plain = _parquet_bytes(table, write, None)
    if table.num_rows != 1:
        return plain
    row, stamps = {}, []
    for f, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(f.type):  # read by hand: pyarrow's conversion imports pandas
            stamps.append(f.name)
            v = _iso(column.combine_chunks(), f.type)
        else:
            v = column.to_pylist()[0]
            if v is not None and not isinstance(v, (bool, int, float, str)):
                return plain
        row[f.name] = v
    body = plain[: _footer_start(plain)]
    doc = {"sha1": body_sha1(plain), "timestamps": stamps, "row": row}
    keyed = _parquet_bytes(table, write, {ROW_KEY: json.dumps(doc)})
    return keyed if keyed[: len(body)] == body and _footer_start(keyed) == len(body) else plain


def _iso(column: pa.Array, t: pa.TimestampType) -> str | None:
    """A one-value timestamp column's value as ISO 8601 text to its unit (UTC ``+00:00``
    where the type has a time zone: Arrow's values are UTC then), or None."""
    if column.null_count:
        return None
    value = np.datetime64(column.view(pa.int64()).to_pylist()[0], t.unit)
    return np.datetime_as_string(value) + ("+00:00" if t.tz is not None else "")


def _parquet_bytes(table: pa.Table, write: Callable[..., None],
                   footer_metadata: dict[str, str] | None) -> bytes:
    sink = pa.BufferOutputStream()
    write(table, sink, footer_metadata=footer_metadata)
    return sink.getvalue().to_pybytes()


def body_sha1(data: bytes) -> str:
    """The hex SHA-1 of the bytes before a Parquet file's footer (what :data:`ROW_KEY` keeps)."""
    return hashlib.sha1(memoryview(data)[: _footer_start(data)]).hexdigest()


def _footer_start(data: bytes) -> int:
    return len(data) - 8 - int.from_bytes(data[-8:-4], "little")


def keyed_row(data: bytes) -> dict[str, Any] | None:
    """The :data:`ROW_KEY` document of a Parquet file held in ``data`` (its integers read as
    floats, as the float columns hold them), or None where it has none, it does not parse, or
    the bytes before the footer are not the ones it was made for."""
    n = len(data)
    if n < 12 or data[-4:] != _MAGIC:
        return None
    start = _footer_start(data)
    if start < 4:
        return None
    at = data.rfind(_ROW_NEEDLE, start, n - 8)
    if at < 0:
        return None
    p = at + len(_ROW_NEEDLE)
    size = shift = 0
    while p < n and shift < 35:  # the value's length: a varint
        b = data[p]
        size |= (b & 0x7F) << shift
        p += 1
        shift += 7
        if b < 0x80:
            break
    else:
        return None
    try:
        text = data[p : p + size].decode("utf-8")
        doc, end = _DECODER.raw_decode(text)
        good = end == len(text) and body_sha1(data) == doc["sha1"]
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None
    if not good or not isinstance(doc.get("row"), dict):
        return None
    stamps = doc.get("timestamps", [])
    if not isinstance(stamps, list) or not all(isinstance(name, str) for name in stamps):
        return None
    return doc


class _BigInt(int):
    """An integer of the row beyond 2**53: no float holds it exactly, no plan accepts it."""


def _number(text: str) -> float | _BigInt:
    """A JSON integer as the float a float column reads it as (the row's integers are counts)."""
    value = int(text)
    return float(value) if -_EXACT_INT <= value <= _EXACT_INT else _BigInt(value)


_DECODER: Final = json.JSONDecoder(parse_int=_number)

_ALLOWED: Final = {"float": frozenset({float, type(None)}), "bool": frozenset({bool, type(None)}),
                   "utf8": frozenset({str, type(None)})}


@dataclass
class RowPlan:
    """Collects the wanted columns of keyed rows (:func:`keyed_row`), values as the statistics
    path gives them: numbers for float columns (integers too, up to 2**53), flags for bool
    ones, text for text ones, timestamps as ISO text to the second (``+0000`` when UTC).
    A row with any other value for a wanted column is refused (the caller reads it another
    way)."""

    target: pa.Schema
    rows: list[list[Any]] = field(default_factory=list)
    files: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = self.target.names
        kinds = [_row_kind(f.type) for f in self.target]
        self.usable = all(kinds)
        self.allowed = [_ALLOWED.get(k, frozenset()) for k in kinds]
        self.text = {n for n, k in zip(self.names, kinds, strict=True) if k == "utf8"}
        self.position = {n: i for i, n in enumerate(self.names)}

    def take(self, doc: dict[str, Any], index: int) -> bool:
        """Collect file ``index``'s row; False (nothing collected) where it does not fit or
        has none of the wanted columns (not an imu table: the general read says so)."""
        row = doc["row"]
        if row.keys().isdisjoint(self.position):
            return False
        got = [row.get(n) for n in self.names]
        for name in doc.get("timestamps") or ():
            i = self.position.get(name)
            v = None if i is None else got[i]
            if v is None:
                continue
            if name not in self.text or not isinstance(v, str) or not "1970" <= v[:4] <= "2199":
                return False
            got[i] = v[:19] + ("+0000" if v.endswith("+00:00") else "")
        if not all(map(frozenset.__contains__, self.allowed, map(type, got))):
            return False
        self.rows.append(got)
        self.files.append(index)
        return True

    def table(self) -> pa.Table:
        """The collected rows with the target's columns."""
        columns = zip(*self.rows, strict=True) if self.rows else ([] for _ in self.names)
        return pa.table([pa.array(list(c), f.type) for c, f in zip(columns, self.target,
                                                                     strict=True)],
                        schema=self.target)


def _row_kind(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_boolean(t):
        return "bool"
    return "utf8" if pa.types.is_string(t) else ""

