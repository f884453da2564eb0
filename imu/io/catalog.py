"""Reading many sessions fast, and the trends cache.

``imu analyze --out DIR`` writes one ``DIR/session=<id>/`` folder per session (docs/formats.md).
Trends need one row per session from thousands of such folders, so this module reads them in
bulk: a one-row ``summary.parquet`` is read from its footer's column statistics alone (a
metadata-only read, several times cheaper than decoding its column chunks), other files are read
whole into memory and only the wanted columns decoded. :func:`read_sessions` keeps the rows in
``DIR/.imu-trends-cache.parquet``, keyed by file sizes and modification times, so that re-running
trends reads only new or changed sessions.

A folder that is not a readable ``imu analyze`` session (a corrupt, empty or foreign Parquet
file, a summary of more than one row, columns of types that do not fit) is left out with one
:class:`UnreadableSessionWarning` each, never stopping the others; a ``started_at`` that is not
an ISO 8601 date reads as missing (with a warning too). ``imu trends`` prints the warnings and
their count.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from imu.core import schema
from imu.core.errors import InputError
from imu.io.atomic import write_parquet_atomic
from imu.io.footers import FooterPlan, RowPlan, footer, keyed_row


def _as_float(fields: Iterable[pa.Field]) -> pa.Schema:
    """The fields with integer types read as float64 (so that a missing value is NaN), and
    timestamps as their ISO text (parsed afterwards, whichever way a writer stored them)."""

    def read_type(t: pa.DataType) -> pa.DataType:
        if pa.types.is_integer(t):
            return pa.float64()
        return pa.string() if pa.types.is_timestamp(t) else t

    return pa.schema([(f.name, read_type(f.type)) for f in fields])


SUMMARY_SCHEMA: Final = _as_float(schema.SUMMARY)
"""The summary columns trends use (contract section 3); absent ones read as null, other types
are cast (e.g. a timestamp ``started_at`` becomes its ISO text, parsed afterwards)."""

REPS_SCHEMA: Final = _as_float(
    schema.REPS.field(n)
    for n in ("set", "rep", "start_s", "end_s", "tilt_deg", "tilt_class", "exercise", "form_break")
)
"""The reps columns trends use."""

CACHE_FILE: Final = ".imu-trends-cache.parquet"
"""Per-session index (summary columns + rep statistics + file stamps) kept in DIR so that
re-running trends reads only new or changed sessions. The leading dot keeps it out of the
hive dataset (pyarrow, Spark and Dask ignore dot files; it matches no session=* pattern)."""
CACHE_VERSION: Final = b"1"
_CACHE_KEY: Final = b"imu_trends_cache"


class UnreadableSessionWarning(UserWarning):
    """A session folder left out of a bulk read (the message names the folder and why)."""


def _unreadable(path: str | Path, why: str) -> None:
    warnings.warn(f"{Path(path).parent}: left out: {why}", UnreadableSessionWarning,
                  stacklevel=3)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def session_dirs(root: str | Path) -> list[Path]:
    """The ``session=<id>`` folders under ``root`` (sorted)."""
    p = Path(root)
    return [p / name for name in _session_names(p)]


def _session_names(root: Path) -> list[str]:
    """The names of the ``session=<id>`` folders under ``root``, sorted; InputError if ``root``
    is not a folder. ``os.scandir``: the entries with their type, no stat per entry, and plain
    strings (a study holds 100,000 of them: pathlib's objects would cost seconds)."""
    if not root.exists():
        raise InputError(f"{root}: no such folder")
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (expected the output folder of imu analyze)")
    with os.scandir(root) as entries:
        return sorted(e.name for e in entries if e.name.startswith("session=") and e.is_dir())


# --------------------------------------------------------------------------------------------
# One-row files from their footer statistics

_RAW_PHYSICAL: Final = frozenset({"BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE"})
_FLOAT_TYPES: Final = frozenset({"FLOAT", "DOUBLE"})


@dataclass
class _Layout:
    """Where the wanted columns sit in files of one Parquet schema (resolved once per batch)."""

    schema: pq.ParquetSchema
    columns: list[tuple[int, str, bool, bool, str]]
    """(index, name, is_float, is_always_null, value kind) of each wanted column present. The
    kind says how a statistic becomes the column's Python value: ``"raw"`` (a plain number or
    bool: the physical value), ``"utf8"`` (text: the physical bytes decoded) or ``"logical"``
    (anything else, e.g. a timestamp: pyarrow's logical-type conversion)."""

    @classmethod
    def of(cls, md: pq.FileMetaData, wanted: frozenset[str]) -> _Layout:
        sch = md.schema
        cols = []
        for j in range(md.num_columns):
            col = sch.column(j)
            if col.path in wanted:
                logical = col.logical_type.type
                null_typed = logical == "UNKNOWN"  # Parquet's "always null"
                if logical == "NONE" and col.physical_type in _RAW_PHYSICAL:
                    kind = "raw"
                elif logical == "STRING" and col.physical_type == "BYTE_ARRAY":
                    kind = "utf8"
                else:
                    kind = "logical"
                cols.append((j, col.path, col.physical_type in _FLOAT_TYPES, null_typed, kind))
        return cls(sch, cols)


def _one_row_from_statistics(
    md: pq.FileMetaData, wanted: frozenset[str], layouts: list[_Layout] | None = None
) -> dict[str, Any] | None:
    """The single row of a one-row file, from its footer's column statistics (min == max).

    A metadata-only read: a summary's footer must be parsed anyway, and decoding its one-value
    column chunks costs several times more than the footer. ``None`` where any wanted value is
    not determined by the statistics (the caller then decodes the file). ``layouts`` caches
    column positions across files of the same schema. Plain numbers and text are taken from
    the statistics' physical values (``min_raw``), which is what pyarrow's logical conversion
    (``min``) gives for them, at a fraction of its cost.
    """
    if md.num_rows != 1 or md.num_row_groups != 1:
        return None
    sch = md.schema
    layout = next((lay for lay in layouts or () if lay.schema.equals(sch)), None)
    if layout is None:
        layout = _Layout.of(md, wanted)
        if layouts is not None:
            layouts.append(layout)
    rg = md.row_group(0)
    row: dict[str, Any] = {}
    for j, name, is_float, null_typed, kind in layout.columns:
        st = rg.column(j).statistics
        if st is None:
            if not null_typed:
                return None
            row[name] = None
        elif st.has_null_count and st.null_count == 1:
            row[name] = None
        elif st.has_min_max and (lo := _min_if_single(st, kind)) is not _UNDETERMINED:
            row[name] = lo
        elif is_float and st.has_null_count and st.null_count == 0:
            row[name] = np.nan  # writers keep NaN out of float statistics
        else:
            return None
    return row


_UNDETERMINED: Final = object()


def _min_if_single(st: pq.Statistics, kind: str) -> Any:
    """The statistics' minimum when it equals the maximum, else ``_UNDETERMINED``."""
    if kind == "logical":
        lo = st.min
        return lo if lo == st.max else _UNDETERMINED
    lo = st.min_raw
    if lo != st.max_raw:
        return _UNDETERMINED
    if kind == "utf8":
        try:
            return lo.decode("utf-8")
        except UnicodeDecodeError:
            return _UNDETERMINED
    return lo


def _rows_to_table(rows: list[dict[str, Any]], sch: pa.Schema) -> pa.Table:
    """Rows of Python values as a table with ``sch`` (absent keys null)."""
    try:
        return pa.table([pa.array([r.get(f.name) for r in rows], f.type) for f in sch], schema=sch)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. a timestamp where text is expected
        cols = []
        for f in sch:
            values = [r.get(f.name) for r in rows]
            if pa.types.is_string(f.type):  # as _conform renders timestamps and numbers
                values = [
                    v.strftime("%Y-%m-%dT%H:%M:%S%z") if isinstance(v, dt.datetime)
                    else (v if v is None or isinstance(v, str) else str(v))
                    for v in values
                ]
            cols.append(pa.array(values, f.type))
        return pa.table(cols, schema=sch)


def _read_one(
    source: Path | bytes, wanted: frozenset[str], layouts: list[_Layout] | None = None
) -> pa.Table | dict[str, Any]:
    """One small Parquet file (its path, or its bytes): a one-row file's row from its footer,
    else the wanted columns it has, decoded from memory in one go (the footer parsed once for
    both)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    pf = pq.ParquetFile(pa.BufferReader(data))
    row = _one_row_from_statistics(pf.metadata, wanted, layouts)
    if row is not None:
        return row
    names = [n for n in pf.schema_arrow.names if n in wanted]
    return pf.read(columns=names, use_threads=False)


def _conform(table: pa.Table, sch: pa.Schema) -> pa.Table:
    """``table`` with exactly ``sch``'s columns: missing ones null, others cast."""
    cols = []
    for f in sch:
        if f.name in table.column_names:
            col = table[f.name]
            if col.type != f.type:
                if pa.types.is_timestamp(col.type) and pa.types.is_string(f.type):
                    col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S%z")
                else:
                    col = col.cast(f.type)
            cols.append(col)
        else:
            cols.append(pa.nulls(len(table), f.type))
    return pa.table(cols, schema=sch)


def _read_tables(
    files: list[str] | list[Path], sch: pa.Schema, expect_rows: int | None = None
) -> pa.Table:
    """Read many small Parquet files into one table with ``sch`` (missing columns null,
    compatible types cast) plus a ``session_dir`` column (the ``session=`` folder's value).

    One-row files (summaries) are read from their footer statistics alone: first by the bulk
    path of :mod:`.footers` (the bare footer, a plan per schema, values gathered per column),
    else, for any file that path cannot decide, from a full reader's view of the footer;
    others are read whole into memory and only the wanted columns decoded. (A thread pool was
    measured slower: its per-file overhead exceeds the work.) A file that cannot be read,
    holds none of the wanted columns, has other than ``expect_rows`` rows, or whose types do
    not fit is left out with an :class:`UnreadableSessionWarning`."""
    wanted = frozenset(sch.names)
    layouts: list[_Layout] = []
    plans: list[FooterPlan] = []
    keyed = RowPlan(sch)
    parts: list[pa.Table | dict[str, Any]] = []
    kept: list[int] = []
    for i, f in enumerate(files):
        try:
            data = _read_bytes(f)
        except OSError as exc:
            _unreadable(f, f"{_name(f)} is not a readable Parquet file ({_first_line(exc)})")
            continue
        if expect_rows == 1 and (_row_from_key(data, i, keyed)
                                 or _row_from_footer(data, i, sch, plans)):
            continue
        try:
            part = _read_one(data, wanted, layouts)
        except (pa.ArrowException, OSError, ValueError) as exc:
            _unreadable(f, f"{_name(f)} is not a readable Parquet file ({_first_line(exc)})")
            continue
        rows = 1 if isinstance(part, dict) else part.num_rows
        columns = part.keys() if isinstance(part, dict) else part.column_names
        if not any(c in wanted for c in columns):
            _unreadable(f, f"{_name(f)} is not an imu table (none of its columns)")
            continue
        if expect_rows is not None and rows != expect_rows:
            _unreadable(f, f"{_name(f)} has {rows} rows, expected {expect_rows}")
            continue
        parts.append(part)
        kept.append(i)
    try:
        table = _assemble(parts, sch)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError):
        # Some file's types do not fit: find it (them), one by one, and leave it out.
        good = []
        for part, i in zip(parts, kept, strict=True):
            try:
                _assemble([part], sch)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                f = files[i]
                _unreadable(f, f"{_name(f)} has columns of other types ({_first_line(exc)})")
                continue
            good.append((part, i))
        parts, kept = [g[0] for g in good], [g[1] for g in good]
        try:
            table = _assemble(parts, sch)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot read session tables: {_first_line(exc)}") from None
    lengths = np.array([1 if isinstance(p, dict) else p.num_rows for p in parts], dtype=np.int64)
    index = np.repeat(np.asarray(kept, dtype=np.int64), lengths)
    tables = [table]
    if keyed.files:
        tables.append(keyed.table())
        index = np.concatenate([index, np.asarray(keyed.files, dtype=np.int64)])
    for plan in plans:
        if plan.files:
            tables.append(plan.table(sch))
            index = np.concatenate([index, np.asarray(plan.files, dtype=np.int64)])
    if len(tables) > 1:  # rows from the bulk path and the others: back in file order
        table = pa.concat_tables(tables).take(np.argsort(index, kind="stable"))
        index = np.sort(index, kind="stable")
    names = np.array([os.path.basename(os.path.dirname(f)).split("=", 1)[-1] for f in files],
                     dtype=object)
    return table.append_column("session_dir", pa.array(names[index], pa.string()))


def _read_bytes(path: str | Path) -> bytes:
    """A file's bytes through plain system calls (``open()``'s buffered file object costs
    more than reading a summary): a summary takes one read and the one that finds its end."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20 if chunks else 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _name(path: str | Path) -> str:
    return os.path.basename(path)


def _row_from_key(data: bytes, i: int, plan: RowPlan) -> bool:
    """File ``i``'s one row taken from its ``imu.row`` footer key, if it has a good one."""
    if not plan.usable:
        return False
    doc = keyed_row(data)
    return doc is not None and plan.take(doc, i)


def _row_from_footer(data: bytes, i: int, sch: pa.Schema, plans: list[FooterPlan]) -> bool:
    """File ``i``'s one row taken by the bulk path (:class:`FooterPlan`), if it can be."""
    try:
        md = footer(data)
    except (ValueError, OSError, pa.ArrowException):
        return False
    if md.num_rows != 1 or md.num_row_groups != 1:
        return False
    sch_file = md.schema
    plan = next((p for p in plans if p.schema.equals(sch_file)), None)
    if plan is None:
        plan = FooterPlan.of(md, sch)
        plans.append(plan)
    return plan.usable and plan.take(md, i)


def _assemble(parts: list[pa.Table | dict[str, Any]], sch: pa.Schema) -> pa.Table:
    """Rows from footers and decoded tables as one table with ``sch``, in file order."""
    if not parts:
        return sch.empty_table()
    is_row = np.array([isinstance(p, dict) for p in parts], dtype=bool)
    tables = [p for p in parts if not isinstance(p, dict)]
    try:
        decoded = [pa.concat_tables(tables, promote_options="permissive")] if tables else []
        decoded = [_conform(t, sch) for t in decoded]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # Types that do not promote (e.g. a timestamp in one file, text in another).
        decoded = [_conform(t, sch) for t in tables]
    rows = [p for p in parts if isinstance(p, dict)]
    table = pa.concat_tables(([_rows_to_table(rows, sch)] if rows else []) + decoded)
    lengths = np.array([1 if isinstance(p, dict) else p.num_rows for p in parts])
    # Rows were gathered first, decoded tables after: put everything back in file order.
    file_index = np.repeat(np.arange(len(parts)), lengths)
    order = np.concatenate(
        [file_index[np.repeat(is_row, lengths)], file_index[np.repeat(~is_row, lengths)]]
    )
    return table.take(np.argsort(order, kind="stable"))


def _finish_summaries(df: pd.DataFrame) -> pd.DataFrame:
    df["session_id"] = df["session_id"].fillna(df["session_dir"])
    try:
        df["started_at"] = pd.to_datetime(df["started_at"], utc=True, format="ISO8601")
    except (ValueError, TypeError):  # some value is no date: those read as missing
        text = df["started_at"]
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        for d, value in zip(df.loc[parsed.isna() & text.notna(), "session_dir"],
                            text[parsed.isna() & text.notna()], strict=True):
            warnings.warn(f"session={d}: started_at {value!r} is not an ISO 8601 date; "
                          "the session has no date", UnreadableSessionWarning, stacklevel=3)
        df["started_at"] = parsed
    return df


def _files(root: Path, names: Iterable[str], stem: str) -> list[str]:
    """``root/<name>/<stem>.parquet`` of each session folder name, where it is a file."""
    out = []
    for name in names:
        path = os.path.join(root, name, f"{stem}.parquet")
        if os.path.isfile(path):
            out.append(path)
    return out


def read_summaries(root: str | Path) -> pd.DataFrame:
    """Every session's summary row under ``root``; ``started_at`` parsed to UTC timestamps."""
    root = Path(root)
    files = _files(root, _session_names(root), "summary")
    return _finish_summaries(_read_tables(files, SUMMARY_SCHEMA, expect_rows=1).to_pandas())


def read_reps(root: str | Path, session_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Every session's reps under ``root`` with a ``session_dir`` column."""
    root = Path(root)
    names = _session_names(root)
    if session_ids is not None:
        keep = {f"session={k}" for k in session_ids}
        names = [n for n in names if n in keep]
    return _read_tables(_files(root, names, "reps"), REPS_SCHEMA).to_pandas()


# --------------------------------------------------------------------------------------------
# Sessions with their stored rep statistics, and the cache


@dataclass(frozen=True)
class StoredRepStats:
    """Per-session rep statistics that ``imu analyze`` stores in each summary (float columns),
    and how to compute them from a reps table for summaries written without them."""

    columns: tuple[str, ...]
    present: str
    """A column that every summary storing the statistics has (not null)."""
    from_reps: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]
    """(summaries, reps with ``session_dir``) -> ``columns`` indexed by ``session_dir``."""

    @property
    def schema(self) -> pa.Schema:
        """What is read from a summary: the contract columns plus these statistics."""
        return pa.schema([*SUMMARY_SCHEMA, *[(c, pa.float64()) for c in self.columns]])


_STAMP_COLUMNS: Final = ("summary_size", "summary_mtime_ns", "reps_size", "reps_mtime_ns")


def _stamps(root: Path, names: list[str]) -> pd.DataFrame:
    """Size and mtime (ns) of each session's summary and reps files (-1 when absent), for the
    session folders that have a summary."""
    rows = np.full((len(names), 4), -1, dtype=np.int64)
    base = os.fspath(root)
    stat = os.stat
    for i, name in enumerate(names):
        for j, stem in ((0, "summary.parquet"), (2, "reps.parquet")):
            try:
                st = stat(f"{base}/{name}/{stem}")
            except (FileNotFoundError, NotADirectoryError):
                continue
            rows[i, j] = st.st_size
            rows[i, j + 1] = st.st_mtime_ns
    has = rows[:, 0] >= 0
    out = pd.DataFrame(rows[has], columns=list(_STAMP_COLUMNS))
    out.insert(0, "session_dir", [n.split("=", 1)[1] for n, h in zip(names, has, strict=True)
                                  if h])
    return out


def _not_in(values: pd.Series, other: pd.Series) -> np.ndarray:
    """``~values.isin(other)`` for text columns, through a Python set (pandas' isin on Arrow
    strings converts element by element: seconds for a study)."""
    seen = set(other.tolist())
    return np.fromiter((v not in seen for v in values.tolist()), dtype=bool, count=len(values))


def _load_cache(path: Path) -> pd.DataFrame | None:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException):
        return None
    if (table.schema.metadata or {}).get(_CACHE_KEY) != CACHE_VERSION:
        return None
    return table.to_pandas()


def read_sessions(root: str | Path, stats: StoredRepStats, cache: bool = True) -> pd.DataFrame:
    """One row per session under ``root``: the summary columns plus per-session rep statistics.

    Statistics missing from a summary (older versions, other writers) are computed from the
    session's reps file with ``stats.from_reps``. With ``cache`` the rows are kept in
    ``root/.imu-trends-cache.parquet`` keyed by each session's file sizes and modification
    times, so only new or changed sessions are read again (a folder that cannot be written is
    read in full each time, which is fine).
    """
    root = Path(root)
    stamps = _stamps(root, _session_names(root))
    key_cols = list(stamps.columns)
    cached = _load_cache(root / CACHE_FILE) if cache else None
    if cached is not None and set(key_cols) <= set(cached.columns):
        fresh = cached.merge(stamps, on=key_cols, how="inner")
    else:
        fresh = pd.DataFrame(columns=key_cols)
    todo = stamps[_not_in(stamps["session_dir"], fresh["session_dir"])]
    new = pd.DataFrame()
    cols = list(stats.columns)
    if len(todo):
        base = os.fspath(root)  # plain strings: pathlib's objects cost seconds for a study
        files = [f"{base}/session={k}/summary.parquet" for k in todo["session_dir"]]
        new = _finish_summaries(_read_tables(files, stats.schema, expect_rows=1).to_pandas())
        todo = todo[~_not_in(todo["session_dir"], new["session_dir"])].reset_index(drop=True)
        # Rep statistics come with the summary; only summaries written without them make us
        # open their reps files.
        missing = new[stats.present].isna().to_numpy() & (todo["reps_size"].to_numpy() >= 0)
        if missing.any():
            dirs_missing = new.loc[missing, "session_dir"]
            reps = _read_tables(
                [f"{base}/session={k}/reps.parquet" for k in dirs_missing], REPS_SCHEMA
            ).to_pandas()
            computed = stats.from_reps(new[missing], reps).reindex(dirs_missing)
            new.loc[missing, cols] = computed[cols].to_numpy()
        new = new.merge(todo, on="session_dir", how="left")
    parts = [p for p in (fresh, new) if len(p)]
    if not parts:
        return pd.DataFrame(columns=[*SUMMARY_SCHEMA.names, "session_dir", *cols])
    sessions = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    sessions = sessions.sort_values("session_dir", ignore_index=True)
    if cache and (len(todo) or cached is None or len(cached) != len(sessions)):
        table = pa.Table.from_pandas(sessions, preserve_index=False)
        table = table.replace_schema_metadata({_CACHE_KEY: CACHE_VERSION})
        try:
            write_parquet_atomic(table, root / CACHE_FILE)
        except OSError:
            pass  # read-only folder: no cache
    return sessions
