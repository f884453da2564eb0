"""Arrow columns from numpy arrays and back, without pandas.

pyarrow imports pandas (and its own ``compute`` module) the first time it converts between numpy
and Arrow when pandas is installed: ``pa.array(ndarray)``, ``pa.table({...: ndarray})``,
``.to_numpy()``, ``schema.empty_table()``. The ``imu analyze`` process must not pay for that
(0.3 s and 46 MB, docs/scale.md), so the tables the analysis hands on are built and read here
from the arrays' buffers (no copy for numbers): :func:`table` / :func:`array` in,
:func:`values` out. Float NaN stays NaN (not null) unless ``nan_is_null``: the store makes it
null when it writes, as ``pa.Table.from_pandas`` did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import DTypeLike

_NUMPY: dict[pa.DataType, type] = {
    pa.float64(): np.float64, pa.float32(): np.float32, pa.int64(): np.int64,
    pa.int32(): np.int32, pa.int16(): np.int16, pa.int8(): np.int8, pa.uint64(): np.uint64,
    pa.uint32(): np.uint32, pa.uint16(): np.uint16, pa.uint8(): np.uint8,
}
"""Arrow number types and their numpy dtypes (same memory layout)."""


def _bits(flags: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(np.asarray(flags, dtype=bool), bitorder="little"))


def _unbits(buf: pa.Buffer, offset: int, n: int) -> np.ndarray:
    raw = np.frombuffer(buf, dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[offset:offset + n].astype(bool)


def _missing(v: Any) -> bool:
    return v is None or isinstance(v, float) and v != v


def _natural(values: np.ndarray) -> pa.DataType:
    """The Arrow type a numpy array's values take (object arrays: text)."""
    kind = values.dtype.kind
    if kind == "b":
        return pa.bool_()
    if kind in "iu":
        return pa.int64()
    if kind == "f":
        return pa.float64()
    if kind == "M":
        return pa.timestamp(np.datetime_data(values.dtype)[0])
    return pa.string()


def array(values: np.ndarray | Sequence[Any], type: pa.DataType | None = None, *,
          nan_is_null: bool = False) -> pa.Array:
    """``values`` as an Arrow array of ``type`` (default: numbers as float64 / int64, flags
    bool, anything else text with None as null). Numbers are not copied where their dtype is
    the type's; floats cast to an integer type must be whole (ValueError), NaN becomes null."""
    v = values if isinstance(values, np.ndarray) else np.asarray(
        values, dtype=object if any(isinstance(x, str) or x is None for x in values) else None)
    if v.ndim != 1:
        raise ValueError(f"expected one dimension, got shape {v.shape}")
    t = _natural(v) if type is None else type
    n = len(v)
    if pa.types.is_null(t):
        return pa.nulls(n)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # each distinct value is checked and encoded once (a column holds few: "L", "run")
        if v.dtype.kind == "U":  # numpy text (never missing): its distinct values by a sort
            uniq, idx = np.unique(v, return_inverse=True)
            keys = uniq.tolist()
        else:
            codes: dict[tuple[type, Any], int] = {}
            idx = np.fromiter((codes.setdefault((x.__class__, x), len(codes))
                               for x in v.tolist()), np.int64, n)
            keys = [x for _, x in codes]
        miss = np.array([_missing(x) for x in keys], dtype=bool)
        enc = [b"" if m else str(x).encode("utf-8") for x, m in zip(keys, miss, strict=True)]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.array([len(e) for e in enc], dtype=np.int64)[idx], out=offsets[1:])
        if pa.types.is_string(t):
            if offsets[-1] >= 2**31:
                raise ValueError("text column too long for a string array")
            offsets = offsets.astype(np.int32)
        valid = ~miss[idx]
        return pa.Array.from_buffers(
            t, n, [_bits(valid) if not valid.all() else None,
                   pa.py_buffer(offsets), pa.py_buffer(b"".join([enc[i] for i in idx.tolist()]))])
    if v.dtype == object:  # numbers or flags with None: to floats, None as NaN
        valid = np.array([not _missing(x) for x in v.tolist()], dtype=bool)
        fill = [x if ok else 0 for x, ok in zip(v.tolist(), valid, strict=True)]
        v = np.asarray(fill, dtype=bool if pa.types.is_boolean(t) else np.float64)
    else:
        valid = ~np.isnan(v) if v.dtype.kind == "f" and (nan_is_null or t not in (
            pa.float64(), pa.float32())) else np.ones(n, dtype=bool)
    if pa.types.is_boolean(t):
        data = _bits(v)
    elif pa.types.is_timestamp(t):
        data = pa.py_buffer(np.ascontiguousarray(v.astype(f"datetime64[{t.unit}]")
                                                 .view(np.int64)))
        valid = valid & ~np.isnat(v) if v.dtype.kind == "M" else valid
    else:
        dtype = _NUMPY[t]
        if np.dtype(dtype).kind in "iu" and v.dtype.kind == "f":
            w = v[valid]
            if not np.array_equal(w, np.trunc(w)):
                raise ValueError("fractional values cannot be integers")
            v = np.where(valid, v, 0)
        data = pa.py_buffer(np.ascontiguousarray(v, dtype=dtype))
    return pa.Array.from_buffers(t, n, [None if valid.all() else _bits(valid), data])


def table(columns: Mapping[str, Any], schema: pa.Schema | None = None, *,
          nan_is_null: bool = False) -> pa.Table:
    """A table of ``columns`` (name -> numpy array, list or Arrow array), in their order; with
    ``schema``, its columns in its order and types (no columns at all: its empty table)."""
    if schema is not None and not columns:  # no columns at all: the empty table
        return empty(schema)
    if schema is None:
        arrays = [c if isinstance(c, (pa.Array, pa.ChunkedArray)) else
                  array(c, nan_is_null=nan_is_null) for c in columns.values()]
        return pa.Table.from_arrays(arrays, names=list(columns))
    return pa.Table.from_arrays(
        [array(columns[f.name], f.type, nan_is_null=nan_is_null) for f in schema], schema=schema)


def empty(schema: pa.Schema) -> pa.Table:
    """A table of no rows with ``schema``'s columns (``schema.empty_table()`` imports pandas)."""
    return pa.Table.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)


def valid(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per value: not null."""
    if isinstance(column, pa.ChunkedArray):
        return np.concatenate([valid(c) for c in column.chunks] or [np.zeros(0, dtype=bool)])
    if pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=bool)
    buf = column.buffers()[0]
    if buf is None or column.null_count == 0:
        return np.ones(len(column), dtype=bool)
    return _unbits(buf, column.offset, len(column))


def values(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A column's values as numpy gives them (``.to_numpy(zero_copy_only=False)``, without
    pandas): numbers without a copy where there is no null; nulls as NaN (an integer column
    with nulls: floats), NaT (timestamps, UTC without its zone) or None (flags, text)."""
    if isinstance(column, pa.ChunkedArray):
        parts = [values(c) for c in column.chunks]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else values(pa.nulls(0, column.type))
    t, n, off = column.type, len(column), column.offset
    ok = valid(column)
    if pa.types.is_null(t):
        return np.full(n, None, dtype=object)
    if pa.types.is_boolean(t):
        buf = column.buffers()[1]
        flags = _unbits(buf, off, n) if n else np.zeros(0, dtype=bool)
        if ok.all():
            return flags
        out = flags.astype(object)
        out[~ok] = None
        return out
    if t in _NUMPY or pa.types.is_timestamp(t):
        dtype = np.dtype(np.int64 if pa.types.is_timestamp(t) else _NUMPY[t])
        buf = column.buffers()[1]
        data = (np.frombuffer(buf, dtype=dtype, count=n, offset=off * dtype.itemsize)
                if n else np.zeros(0, dtype=dtype))
        if pa.types.is_timestamp(t):
            data = data.view(f"datetime64[{t.unit}]")
            if not ok.all():
                data = np.where(ok, data, np.datetime64("NaT", t.unit))
            return data
        if ok.all():
            return data
        out = data.astype(np.float64) if dtype.kind != "f" else data.copy()
        out[~ok] = np.nan
        return out
    return np.array(column.to_pylist(), dtype=object)


def names(data: Any) -> list[str]:
    """Column names of an Arrow table, a DataFrame or arrays by name."""
    found = getattr(data, "column_names", None)
    return list(found if found is not None else getattr(data, "columns", data))


def column(data: Any, name: str, dtype: DTypeLike = None) -> np.ndarray:
    """Column ``name`` of an Arrow table (:func:`values`), a DataFrame or arrays by name, as a
    numpy array (of ``dtype`` when given)."""
    col = data[name]
    v = values(col) if isinstance(col, (pa.Array, pa.ChunkedArray)) else np.asarray(col)
    return v if dtype is None else np.asarray(v, dtype=dtype)


def columns(data: Any) -> dict[str, np.ndarray]:
    """Every column of an Arrow table (or of a DataFrame, for the readers of stored sessions:
    pandas is loaded then) as numpy arrays by name (:func:`values`); a mapping of numpy
    arrays as a new dict of them."""
    if isinstance(data, Mapping):
        return {name: np.asarray(v) for name, v in data.items()}
    if not isinstance(data, pa.Table):
        data = pa.Table.from_pandas(data, preserve_index=False)
    return {name: values(data.column(name)) for name in data.column_names}
