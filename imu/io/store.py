"""The session store: ``DIR/session=<id>/<table>.parquet`` folders, their provenance, reading back.

One folder per session (Hive-style partition: DuckDB, Spark, Dask and ``pyarrow.dataset`` read
``DIR`` as one dataset), written whole or not at all (:func:`imu.io.atomic.staged_dir`); each
table is zstd Parquet (:func:`imu.io.atomic.write_parquet_atomic`) whose footer holds the
provenance under the ``imu`` key (:data:`imu.core.schema.METADATA_KEY`): package version,
parameters, session metadata (docs/formats.md); the summary's footer also holds its row as JSON
(``imu.row``, :func:`imu.io.footers.keyed_one_row`: what ``imu trends`` reads of a study).

Columns are written and read with the types of :data:`imu.core.schema.TABLES` (:func:`conform`
for DataFrames, :func:`typed_table` for the Arrow tables of an analysis): counts as integers,
``started_at`` as a UTC timestamp, flags as booleans. Writing an analysis needs no pandas (the
``imu analyze`` process never imports it); reading a session back gives DataFrames.
Re-analysing a session replaces the tables analysis writes and keeps everything else in its
folder (a saved report, the user's notes): :func:`write_session`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imu.core import arrow
from imu.core.errors import InputError
from imu.core.options import check_identifier
from imu.core.schema import METADATA_KEY, TABLES
from imu.core.version import __version__
from imu.io.atomic import staged_dir, write_bytes_atomic, write_parquet_atomic
from imu.io.footers import keyed_one_row

if TYPE_CHECKING:
    import pandas as pd

SESSION_DIR_PREFIX: Final = "session="
"""Hive-style partition folder: DIR/session=<session_id>/ (one dataset for DuckDB, Spark, Dask)."""
TABLE_STEMS: Final = tuple(TABLES)
"""Every table a session folder may hold, by file stem, in the order they are written."""
REPORT_NAME: Final = "report.html"
"""The HTML report ``imu report`` saves in a session folder by default (a user file: kept, and
redrawn, when the session is analysed again)."""


# ---- provenance -------------------------------------------------------------------------------


def provenance(parameters: Mapping[str, Any], session: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance of every output file: package version, parameters, session metadata."""
    return {"package_version": __version__, "parameters": parameters, "session": session}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)  # Path and anything else: as text


def to_json(value: Any) -> str:
    """``value`` as the store writes JSON: keys sorted, numpy values as Python, others as text."""
    return json.dumps(value, sort_keys=True, default=_json_default)


def jsonable(value: Any) -> Any:
    """``value`` in plain JSON types (key order kept), as it will read back from a footer."""
    return json.loads(json.dumps(value, default=_json_default))


# ---- column types -----------------------------------------------------------------------------


def conform(df: pd.DataFrame, stem: str) -> pd.DataFrame:
    """``df`` with the column types of table ``stem`` (:data:`imu.core.schema.TABLES`), for the
    columns it has: integers as ``int64`` (``Int64`` where a value is missing), timestamps as
    ``datetime64[us, UTC]``, booleans as ``bool`` (``boolean`` where one is missing). Other
    columns are left as they are. InputError if a value cannot take its column's type (a
    fractional count, a ``started_at`` that is not an ISO 8601 time)."""
    import pandas as pd

    schema = TABLES.get(stem)
    if schema is None or df.empty and not len(df.columns):
        return df
    out = df.copy()
    for f in schema:
        if f.name not in out.columns:
            continue
        col = out[f.name]
        try:
            if pa.types.is_integer(f.type):
                if col.dtype != "int64":
                    col = pd.to_numeric(col).astype("Int64")
                    if not col.isna().any():
                        col = col.astype("int64")
            elif pa.types.is_timestamp(f.type):
                col = pd.to_datetime(col, utc=True, format="ISO8601").astype("datetime64[us, UTC]")
            elif pa.types.is_boolean(f.type) and col.dtype != bool:
                col = col.astype("boolean")
                if not col.isna().any():
                    col = col.astype(bool)
        except (TypeError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{stem} column {f.name}: {first}") from None
        out[f.name] = col
    return out


def typed_table(data: pa.Table | pd.DataFrame, stem: str) -> pa.Table:
    """``data`` as the Arrow table that is written, each column that table ``stem`` defines in
    its schema type and float NaN as null (as ``pa.Table.from_pandas`` makes it). An Arrow
    table is typed without pandas (:func:`_typed`); a DataFrame through :func:`conform`."""
    if isinstance(data, pa.Table):
        return _typed(data, stem)
    table = pa.Table.from_pandas(conform(data, stem), preserve_index=False)
    schema = TABLES.get(stem)
    if schema is None:
        return table
    for i, name in enumerate(table.column_names):
        idx = schema.get_field_index(name)
        want = schema.field(idx) if idx >= 0 else None
        if want is not None and table.schema.field(i).type != want.type:
            try:
                table = table.set_column(i, want, table[i].cast(want.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(f"{stem} column {name}: {exc}") from None
    return table


def _typed(table: pa.Table, stem: str) -> pa.Table:
    """An Arrow table with the column types of table ``stem`` (:func:`typed_table`): a column
    that already has its type is kept as it is, but for float NaN made null."""
    schema = TABLES.get(stem)
    columns = {}
    for name in table.column_names:
        idx = -1 if schema is None else schema.get_field_index(name)
        col = table.column(name)
        want = schema.field(idx).type if idx >= 0 else col.type
        if want == col.type and not pa.types.is_floating(want):
            columns[name] = col
            continue
        values = arrow.values(col)
        if want == col.type and not np.isnan(values).any():
            columns[name] = col
            continue
        try:
            if pa.types.is_timestamp(want) and values.dtype == object:
                values = np.array([np.datetime64("NaT", "us") if v is None else
                                   np.datetime64(utc(v).replace(tzinfo=None), "us")
                                   for v in values], dtype="datetime64[us]")
            columns[name] = arrow.array(values, want, nan_is_null=True)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{stem} column {name}: {exc}") from None
    return arrow.table(columns)


def utc(value: str | datetime) -> datetime:
    """An ISO 8601 time (naive: UTC) as a UTC datetime, as ``started_at`` is stored."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def row_table(row: Mapping[str, Any]) -> pa.Table:
    """A one-row table of ``row`` with the column types ``pd.DataFrame([row])`` infers (flags
    bool, integers int64, floats their width, text ``large_string``, None alone ``null``);
    :func:`typed_table` then gives it the schema's types."""
    columns: dict[str, pa.Array] = {}
    for name, v in row.items():
        if isinstance(v, (bool, np.bool_)):
            columns[name] = arrow.array(np.array([v], dtype=bool))
        elif isinstance(v, (int, np.integer)):
            columns[name] = arrow.array(np.array([v], dtype=np.int64))
        elif isinstance(v, np.floating):
            columns[name] = arrow.array(np.array([v]), pa.from_numpy_dtype(v.dtype))
        elif isinstance(v, float):
            columns[name] = arrow.array(np.array([v], dtype=np.float64))
        elif isinstance(v, str):
            columns[name] = arrow.array([v], pa.large_string())
        elif v is None:
            columns[name] = pa.nulls(1)
        else:  # anything else as pandas would make it (not met in a summary row)
            import pandas as pd

            columns[name] = pa.Table.from_pandas(pd.DataFrame([{name: v}]))[0]
    return arrow.table(columns)


def session_table(
    df: pa.Table | pd.DataFrame,
    provenance_json: bytes,
    *,
    keep_pandas_metadata: bool = False,
    stem: str = "",
) -> pa.Table:
    """An output table with its footer: only the ``imu`` provenance (small footers keep reading
    thousands of sessions fast), or, with ``keep_pandas_metadata``, pandas' block as well.
    Columns of a known table ``stem`` get their schema types (:func:`typed_table`)."""
    table = typed_table(df, stem)
    kept = (table.schema.metadata or {}) if keep_pandas_metadata else {}
    return table.replace_schema_metadata({**kept, METADATA_KEY: provenance_json})


# ---- writing ----------------------------------------------------------------------------------


def session_dir(out_dir: str | Path, session_id: str) -> Path:
    """``out_dir/session=<session_id>``; the id must be a plain name
    (:func:`imu.core.options.check_identifier`), so the folder is a child of ``out_dir``."""
    return Path(out_dir) / f"{SESSION_DIR_PREFIX}{check_identifier('session id', session_id)}"


def output_file(path: str | Path, option: str = "--out") -> Path:
    """``path`` if a file can be written there (it is not a folder, its parent is not a file),
    else :class:`InputError` naming ``option``; checked before any work is done."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{option} {p} is a folder; give a file name")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{option} {p}: {parent} is not a folder")
            break
    return p


def output_folder(path: str | Path, option: str = "--out") -> Path:
    """``path`` if a folder can be made or used there, else :class:`InputError`."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{option} {p} exists and is not a folder")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{option} {p}: {parent} is not a folder")
            break
    return p


def inside(root: str | Path, path: str | Path) -> Path:
    """``path`` if it resolves to a place inside ``root`` (symbolic links followed), else
    :class:`InputError`: the last check before anything is written or replaced."""
    base = Path(root).resolve()
    target = Path(path)
    resolved = target.parent.resolve() / target.name
    if target.is_symlink() or not resolved.is_relative_to(base) or resolved == base:
        raise InputError(f"{target}: refusing to write outside {root}")
    return target


def write_session(
    out_dir: str | Path,
    session_id: str,
    tables: Mapping[str, pa.Table | pd.DataFrame],
    provenance: Mapping[str, Any],
    *,
    keep_pandas_metadata: bool = False,
) -> Path:
    """Write ``out_dir/session=<id>/<stem>.parquet`` for each table (an Arrow table, or a
    DataFrame: :func:`typed_table`); the folder appears whole or
    not at all. A re-write replaces the tables of the old folder and keeps every other file
    in it (a report, notes: :func:`user_files`). Returns the folder.

    ``keep_pandas_metadata`` keeps pandas' footer block next to the provenance: only the
    simulated month's table-mode sessions (:mod:`imu.sim.month`) are written so today, and its
    golden data pins it; every analysis output has the ``imu`` key alone.
    """
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: --out exists and is not a directory")
    meta = to_json(provenance).encode()
    final = inside(root, session_dir(root, session_id))
    with staged_dir(final) as staging:
        for stem, df in tables.items():
            table = session_table(df, meta, keep_pandas_metadata=keep_pandas_metadata, stem=stem)
            if stem == "summary":  # its one row in its footer too, for trends
                write_bytes_atomic(keyed_one_row(table), staging / f"{stem}.parquet")
            else:
                write_parquet_atomic(table, staging / f"{stem}.parquet")
        for name in user_files(final):
            _carry(final / name, staging / name)
    return final


def user_files(folder: str | Path) -> list[str]:
    """Names of the entries in a session folder that analysis does not write: everything but
    the ``<table>.parquet`` files of :data:`TABLE_STEMS` (and hidden temporary files)."""
    p = Path(folder)
    if not p.is_dir():
        return []
    ours = {f"{stem}.parquet" for stem in TABLE_STEMS}
    return sorted(e.name for e in p.iterdir() if e.name not in ours and not e.name.startswith("."))


def _carry(src: Path, dst: Path) -> None:
    """Carry a user's file or folder into the new session folder: a hard link where the file
    system allows (no copy), else a copy; the old folder is removed after the swap."""
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(src), str(dst))


def _link_or_copy(src: str, dst: str) -> None:
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# ---- reading ----------------------------------------------------------------------------------


@dataclass
class SessionTables:
    """The tables of one ``session=<id>`` folder (missing ones are empty) and its metadata."""

    path: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    """The provenance of ``summary.parquet`` (package version, parameters, session)."""

    def __getitem__(self, stem: str) -> pd.DataFrame:
        import pandas as pd

        return self.tables.get(stem, pd.DataFrame())

    def __repr__(self) -> str:
        s = self.summary
        rows = ", ".join(f"{k} {len(v)} rows" for k, v in self.tables.items() if k != "summary")
        return (
            f"<SessionTables {self.path.name}: {s.get('activity', '?')}, "
            f"started {s.get('started_at', '?')}>\n  tables: {rows or 'summary only'}; "
            "session['reps'] etc. are DataFrames"
        )

    @property
    def summary(self) -> dict[str, Any]:
        s = self["summary"]
        return s.iloc[0].to_dict() if not s.empty else {}

    @property
    def activity(self) -> str:
        return str(self.summary.get("activity") or "strength")


def read_session(session_dir: str | Path) -> SessionTables:
    """Read a session folder written by ``imu analyze`` (needs ``summary.parquet``)."""
    p = Path(session_dir)
    if not p.is_dir():
        raise InputError(f"{p}: no such session folder")
    if not (p / "summary.parquet").is_file():
        raise InputError(f"{p}: no summary.parquet (expected a session=<id> folder of imu analyze)")
    out = SessionTables(path=p)
    for stem in TABLE_STEMS:
        f = p / f"{stem}.parquet"
        if not f.is_file():
            continue
        try:
            table = pq.read_table(f)
        except Exception as exc:  # any unreadable file is the user's input problem
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{f}: not a readable Parquet file ({first})") from None
        out.tables[stem] = conform(table.to_pandas(), stem)
        if stem == "summary":
            raw = (table.schema.metadata or {}).get(METADATA_KEY)
            if raw:
                try:
                    out.meta = json.loads(raw)
                except json.JSONDecodeError:
                    out.meta = {}
    return out
