"""The one atomic writer: every file and folder the package writes appears whole or not at all.

A file is written to a temporary sibling and renamed over the target (``os.replace`` is atomic
on POSIX); a folder is built in a temporary sibling and swapped in. Temporary files are created
private; outputs get the permissions the user's umask gives (:func:`umask_mode`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_COMPRESSION = "zstd"


def umask_mode(mode: int) -> int:
    """``mode`` as the user's umask would leave it for a newly created file or folder
    (temporary files and folders are created private; outputs should not stay so)."""
    current = os.umask(0)
    os.umask(current)
    return mode & ~current


def write_atomic(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary sibling of ``path``, then rename it into place."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, umask_mode(0o666))
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_parquet_atomic(table: pa.Table, path: str | Path, row_group_rows: int | None = None,
                         dictionary: bool | None = None) -> Path:
    """Write a Parquet file (zstd) atomically, in row groups of at most ``row_group_rows``
    (None: pyarrow's default, about a million rows), dictionary-encoded: every column (True),
    none (False) or the text columns only (None: measured numbers rarely repeat, and trying a
    dictionary on them tripled the time to write an hour's 25 Hz series, for the same file)."""
    return write_atomic(path, lambda tmp: write_parquet(table, tmp, row_group_rows, dictionary))


def write_parquet(table: pa.Table, where: str | pa.NativeFile, row_group_rows: int | None = None,
                  dictionary: bool | None = None,
                  footer_metadata: dict[str, str] | None = None) -> None:
    """The one way the package writes Parquet (to a path or a stream): zstd, row groups and
    dictionary as :func:`write_parquet_atomic` describes (what ``pq.write_table`` writes).
    ``footer_metadata``: key-value pairs for the Parquet footer alone, not the Arrow schema
    (so a reader's ``pq.read_table(...).schema.metadata`` does not carry them on)."""
    use: bool | list[str] = dictionary if dictionary is not None else [
        f.name for f in table.schema if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)] or False
    with pq.ParquetWriter(where, table.schema, compression=PARQUET_COMPRESSION,
                          use_dictionary=use) as writer:
        writer.write_table(table, row_group_size=row_group_rows)
        if footer_metadata:
            writer.add_key_value_metadata(footer_metadata)


def write_bytes_atomic(data: bytes, path: str | Path) -> Path:
    """Write bytes (HTML, PNG, JSON, ...) atomically."""
    return write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


@contextmanager
def staged_dir(final: str | Path) -> Iterator[Path]:
    """Build a folder in a temporary sibling; on success it replaces ``final`` as a whole
    (an existing ``final`` is swapped out, then removed), on error it is removed."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    os.chmod(staging, umask_mode(0o777))
    try:
        yield staging
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
