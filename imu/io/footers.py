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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

try:  # the footer alone as FileMetaData (what unpickling one does); else a full reader
    from pyarrow._parquet import _reconstruct_filemetadata
except ImportError:  # pragma: no cover - other pyarrow versions
    _reconstruct_filemetadata = None

_MAGIC: Final = b"PAR1"
_NUMERIC: Final = frozenset({"INT32", "INT64", "FLOAT", "DOUBLE"})
_FLOAT_PHYSICAL: Final = frozenset({"FLOAT", "DOUBLE"})
_TS_UNITS: Final = {"milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns"}
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
