"""Raw session files (``*.raw.parquet``, docs/formats.md): reading, validation, atomic writing.

Validation is the pipeline's first stage: every problem a user can cause with a file becomes a
one-line :class:`~imu.core.errors.InputError` before any analysis runs. The session in memory is
:class:`imu.core.session.RawSession`; columns and the metadata key come from :mod:`imu.core.schema`,
metadata checks from :func:`imu.core.options.check_metadata`.

:func:`read_raw` reads a whole session; :mod:`imu.io.rawscan` runs the same checks and takes
the summary's facts in one streaming pass without holding the samples, then reads any range of
rows of the file (a long run, window by window).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imu.core import arrow
from imu.core.errors import InputError
from imu.core.options import check_metadata
from imu.core.plausibility import batch_diff
from imu.core.schema import ACC_COLUMNS, GYR_COLUMNS, METADATA_KEY, REQUIRED_RAW_COLUMNS
from imu.core.session import RawSession
from imu.io.atomic import write_parquet_atomic

if TYPE_CHECKING:
    import pandas as pd

MAX_METADATA_BYTES = 1 << 20
"""Largest ``imu`` metadata accepted (a real one is a few hundred bytes)."""


def parse_metadata(raw: bytes | str, name: str = "input") -> dict[str, Any]:
    """The ``imu`` metadata value as a dict; anything else (not UTF-8, not JSON, not an object,
    nested too deeply, too big) is an :class:`InputError` naming ``name``."""
    if len(raw) > MAX_METADATA_BYTES:
        raise InputError(f"{name}: metadata key 'imu' is too big ({len(raw)} bytes)")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text)
    except UnicodeDecodeError:
        raise InputError(f"{name}: metadata key 'imu' is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: metadata key 'imu' is not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InputError(f"{name}: metadata key 'imu' is nested too deeply") from None
    if not isinstance(value, dict):
        raise InputError(f"{name}: metadata key 'imu' is not a JSON object")
    return value


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``imu`` JSON metadata of a Parquet file ({} when absent)."""
    return schema_metadata(pq.read_schema(path), str(path))


def schema_metadata(schema: pa.Schema, name: str) -> dict[str, Any]:
    """The ``imu`` JSON metadata of an Arrow schema ({} when absent)."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    return {} if raw is None else parse_metadata(raw, name)


BATCH_ROWS = 1 << 16
"""Rows per batch when a raw file is streamed into the session's arrays."""

ROW_GROUP_ROWS = 1 << 16
"""Rows per row group of the raw files this package writes (5.5 min at 200 Hz), without
dictionary encoding: a reader decodes one row group at a time (measured: an hour written as one
row group costs its reader 8 MB more peak RSS, two hours 14 MB); the file is 7 % larger than one
dictionary-encoded row group (per-group dictionaries of the quantised samples would cost 32 %)."""


FIELDS: dict[str, tuple[str, ...]] = {
    "t_s": ("t_s",), "acc_g": ACC_COLUMNS, "gyr_dps": GYR_COLUMNS, "seq": ("seq",)}
"""A session's arrays (:class:`RawSession`'s fields) and the file's columns of each."""


@contextmanager
def _readable(p: Path) -> Iterator[None]:
    """Arrow's and the system's errors while a file is read: one :class:`InputError` line."""
    try:
        yield
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{p}: not a readable Parquet file ({first})") from None


def _open(p: Path) -> tuple[pq.ParquetFile, dict[str, Any], tuple[str, ...]]:
    """The file (decoded a page at a time, not whole chunks), its metadata and the session's
    fields it holds, after the checks of its schema (columns, their types)."""
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a .raw.parquet file")
    name = str(p)
    pf = pq.ParquetFile(p, pre_buffer=False)
    schema = pf.schema_arrow
    meta = schema_metadata(schema, name)
    names = set(schema.names)
    gyr_present = _check_columns(names, pf.metadata.num_rows, name)
    kinds = {c: _arrow_kind(schema.field(c).type) for c in _value_columns(gyr_present)}
    for c, kind in kinds.items():
        if kind is not None:
            raise InputError(f"{name}: column {c} holds {kind}, expected numbers ({UNITS[c]})")
    has_seq = "seq" in names
    if has_seq and not pa.types.is_integer(schema.field("seq").type):
        kind = _arrow_kind(schema.field("seq").type) or "non-integers"
        raise InputError(f"{name}: column seq holds {kind}, expected a counter")
    fields = ("t_s", "acc_g", *(("gyr_dps",) if gyr_present else ()),
              *(("seq",) if has_seq else ()))
    return pf, meta, fields


def _columns(fields: tuple[str, ...]) -> list[str]:
    return [c for f in fields for c in FIELDS[f]]


def _allocate(fields: tuple[str, ...], n: int) -> dict[str, np.ndarray]:
    """Arrays of ``n`` rows for ``fields``, as :class:`RawSession` holds them."""
    return {f: np.empty((n, 3) if len(FIELDS[f]) == 3 else n,
                        dtype=np.int64 if f == "seq" else np.float64) for f in fields}


def _convert(batch: pa.RecordBatch, field: str, name: str,
             out: np.ndarray | None = None) -> np.ndarray:
    """One field of a batch as :func:`read_raw` holds it (float64; ``seq`` int64), into ``out``
    (rows of the session's array) when given, else into a new array."""
    cols = FIELDS[field]
    if out is None:
        out = _allocate((field,), batch.num_rows)[field]
    if field == "seq":
        col = batch.column("seq")
        if col.null_count:
            raise InputError(f"{name}: column seq holds non-integers, expected a counter")
        out[:] = arrow.values(col)
    elif len(cols) == 1:
        out[:] = _floats(batch.column(cols[0]))
    else:
        for i, c in enumerate(cols):
            out[:, i] = _floats(batch.column(c))
    return out


def read_raw(path: str | Path, *, plausible: bool = True) -> RawSession:
    """Read and validate a raw session file; ``plausible=False`` skips the plausibility checks
    (:mod:`imu.core.plausibility`) for a file that is replayed, not analysed (any counts).

    The file is streamed by row groups in batches of :data:`BATCH_ROWS` straight into the
    session's float64 arrays: no table or DataFrame of the whole file is ever held, so reading
    costs the arrays themselves (64 bytes per sample with a gyroscope and a counter).
    :func:`imu.io.rawscan.scan_raw` checks a file without holding its samples."""
    p = Path(path)
    name = str(p)
    with _readable(p):
        pf, meta, fields = _open(p)
        n = pf.metadata.num_rows
        x = _allocate(fields, n)
        at = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=_columns(fields),
                                     use_threads=False):
            b = at + batch.num_rows
            for f in fields:
                _convert(batch, f, name, x[f][at:b])
            at = b
        del batch
        pa.default_memory_pool().release_unused()  # the batches' buffers: back to the system
    return session_from_arrays(x["t_s"], x["acc_g"], x.get("gyr_dps"), x.get("seq"), meta,
                               name, plausible=plausible)


class _Structure:
    """:func:`session_from_arrays`'s checks of the samples (finite, time and counter strictly
    increasing) on consecutive batches of rows; :meth:`raise_first` reports the problem that
    the checks of the whole arrays report."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._rows = 0
        self._nonfinite: dict[str, int | None] = {"t_s": None, "acc": None, "gyr": None}
        self._backwards: int | None = None
        self._seq_backwards = False
        self._last_t: np.ndarray | None = None
        self._last_seq: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        """No problem so far."""
        return (self._backwards is None and not self._seq_backwards
                and all(v is None for v in self._nonfinite.values()))

    def add_batch(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None,
                  seq: np.ndarray | None) -> None:
        if not len(t):
            return
        for label, arr in (("t_s", t), ("acc", acc), ("gyr", gyr)):
            if arr is not None and self._nonfinite[label] is None and not np.isfinite(arr).all():
                bad = np.flatnonzero(~np.isfinite(arr).reshape(len(t), -1).all(axis=1))[0]
                self._nonfinite[label] = self._rows + int(bad)
        if self._backwards is None:
            bad = np.flatnonzero(batch_diff(t, self._last_t) <= 0)
            if bad.size:
                self._backwards = self._rows - (self._last_t is not None) + int(bad[0]) + 1
        if seq is not None:
            if not self._seq_backwards:
                self._seq_backwards = bool((batch_diff(seq, self._last_seq) <= 0).any())
            self._last_seq = seq[-1:].copy()
        self._last_t = t[-1:].copy()
        self._rows += len(t)

    def raise_first(self) -> None:
        name = self.name
        for label, row in self._nonfinite.items():
            if row is not None:
                raise InputError(f"{name}: NaN or infinite {label} value at row {row}")
        if self._backwards is not None:
            raise InputError(
                f"{name}: time t_s is not strictly increasing at row {self._backwards}")
        if self._seq_backwards:
            raise InputError(f"{name}: seq is not strictly increasing")


def _floats(col: pa.Array) -> np.ndarray:
    """A numeric column's values without a copy where Arrow allows (nulls as NaN: refused by
    the finiteness check); the caller's float64 array takes them (no float64 temporary).
    Read from the buffers (:func:`imu.core.arrow.values`): ``to_numpy`` would import pandas."""
    return arrow.values(col)


def _arrow_kind(dtype: pa.DataType) -> str | None:
    """What an Arrow column holds when it is not plain numbers (as :func:`_column_kind`)."""
    if pa.types.is_boolean(dtype):
        return "booleans"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype) or pa.types.is_time(dtype):
        return "timestamps"
    if pa.types.is_duration(dtype):
        return "durations"
    if not (pa.types.is_integer(dtype) or pa.types.is_floating(dtype)):
        return "non-numeric values"
    return None


def _value_columns(gyr_present: bool) -> tuple[str, ...]:
    return ("t_s", *ACC_COLUMNS, *(GYR_COLUMNS if gyr_present else ()))


def _check_columns(names: set[str], n_rows: int, name: str) -> bool:
    """Required columns present, the gyroscope whole or absent, two samples at least; whether
    the gyroscope is present."""
    missing = [c for c in REQUIRED_RAW_COLUMNS if c not in names]
    if missing:
        raise InputError(f"{name}: missing required column(s): {', '.join(missing)}")
    gyr_present = [c for c in GYR_COLUMNS if c in names]
    if gyr_present and len(gyr_present) != 3:
        absent = sorted(set(GYR_COLUMNS) - set(gyr_present))
        raise InputError(f"{name}: incomplete gyroscope columns, missing {', '.join(absent)}")
    if n_rows < 2:
        raise InputError(f"{name}: too few samples ({n_rows})")
    return bool(gyr_present)


def from_dataframe(
    df: pd.DataFrame, meta: dict[str, Any] | None = None, name: str = "input",
    *, plausible: bool = True,
) -> RawSession:
    """Validate a raw DataFrame (contract columns) and return a :class:`RawSession` (the
    plausibility checks of :mod:`imu.core.plausibility` too, unless ``plausible=False``)."""
    import pandas as pd

    meta = dict(meta or {})
    if "imu" in getattr(df, "attrs", {}) and not meta:
        meta = dict(df.attrs["imu"])
    gyr_present = _check_columns(set(df.columns), len(df), name)

    def numeric(cols: tuple[str, ...] | str) -> np.ndarray:
        for c in (cols,) if isinstance(cols, str) else cols:
            kind = _column_kind(df[c])
            if kind is not None:
                raise InputError(f"{name}: column {c} holds {kind}, expected numbers ({UNITS[c]})")
        try:
            arr = df[list(cols) if isinstance(cols, tuple) else cols].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{name}: non-numeric values in {cols}") from None
        return np.ascontiguousarray(arr)

    t = numeric("t_s")
    acc = numeric(ACC_COLUMNS)
    gyr = numeric(GYR_COLUMNS) if gyr_present else None
    seq = None
    if "seq" in df.columns:
        kind = _column_kind(df["seq"])
        if kind is not None or not pd.api.types.is_integer_dtype(df["seq"].dtype):
            what = kind or "non-integers"
            raise InputError(f"{name}: column seq holds {what}, expected a counter")
        seq = df["seq"].to_numpy(dtype=np.int64)
    return session_from_arrays(t, acc, gyr, seq, meta, name, plausible=plausible)


def session_from_arrays(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None, seq: np.ndarray | None,
    meta: dict[str, Any], name: str, *, plausible: bool = True,
) -> RawSession:
    """The checks every raw session passes, whatever it was read from: finite values, time
    and counter strictly increasing, the metadata, plausibility (unless ``plausible=False``)."""
    structure = _Structure(name)
    structure.add_batch(t, acc, gyr, seq)
    structure.raise_first()
    check_metadata(meta, name)
    raw = RawSession(t_s=t, acc_g=acc, gyr_dps=gyr, seq=seq, meta=meta)
    if plausible:
        raw.ensure_plausible(name)
    return raw


UNITS = {"t_s": "seconds", **{c: "g" for c in ACC_COLUMNS}, **{c: "deg/s" for c in GYR_COLUMNS}}


def _column_kind(col: pd.Series) -> str | None:
    """What a column holds when it is not plain numbers (booleans, timestamps, text), else
    None: a boolean would read as 0/1 and a timestamp as nanoseconds without complaint."""
    import pandas as pd

    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "booleans"
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "timestamps"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "durations"
    if not pd.api.types.is_numeric_dtype(dtype):
        return "non-numeric values"
    return None


def raw_table(
    t_s: np.ndarray,
    acc_g: np.ndarray,
    gyr_dps: np.ndarray | None,
    seq: np.ndarray | None,
    meta: dict[str, Any],
) -> pa.Table:
    """Arrow table in the raw-file schema with the ``imu`` metadata attached."""
    cols: dict[str, pa.Array] = {"t_s": pa.array(np.asarray(t_s, dtype=np.float64))}
    for i, c in enumerate(ACC_COLUMNS):
        cols[c] = pa.array(np.asarray(acc_g[:, i], dtype=np.float32))
    if gyr_dps is not None:
        for i, c in enumerate(GYR_COLUMNS):
            cols[c] = pa.array(np.asarray(gyr_dps[:, i], dtype=np.float32))
    if seq is not None:
        cols["seq"] = pa.array(np.asarray(seq, dtype=np.int64))
    table = pa.table(cols)
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(meta, sort_keys=True)})


def write_raw(path: str | Path, session: RawSession) -> Path:
    """Write a :class:`RawSession` as a raw session file (atomically)."""
    table = raw_table(session.t_s, session.acc_g, session.gyr_dps, session.seq, session.meta)
    return write_parquet_atomic(table, path, row_group_rows=ROW_GROUP_ROWS, dictionary=False)
