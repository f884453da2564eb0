"""Crash-safe raw session writing while streaming (contract section 2; docs/ble.md).

Design: samples are buffered in memory and every ``roll_s`` (default 1 s) the buffer becomes one
small Parquet *part* file ``<name>.raw.parquet.parts/part-000001.parquet``, written atomically
(temporary sibling + rename, :func:`imu.io.atomic.write_parquet_atomic`) with the full ``imu``
metadata, so each part is a valid raw file on its own. On stop the parts are merged into
``<name>.raw.parquet`` (atomically) and the folder is removed. A SIGKILL therefore loses at most
the samples of the last ``roll_s``; the leftover folder is merged by :func:`recover_parts`
(``imu record`` runs :func:`recover_leftovers` on its ``--out`` folder before recording).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imu.core.errors import InputError
from imu.core.schema import METADATA_KEY
from imu.io.atomic import write_parquet_atomic
from imu.io.rawfile import raw_table

PARTS_SUFFIX = ".parts"
RAW_SUFFIX = ".raw.parquet"


def parts_dir_for(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + PARTS_SUFFIX)


class ChunkedRawWriter:
    """Append samples; roll a part file every ``roll_s`` seconds; merge on :meth:`close`."""

    def __init__(self, path: str | Path, meta: dict[str, Any], roll_s: float = 1.0) -> None:
        self.path = Path(path)
        self.meta = dict(meta)
        self.roll_s = roll_s
        self.parts_dir = parts_dir_for(self.path)
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        self._buf: list[tuple[np.ndarray, ...]] = []
        self._n_parts = len(list(self.parts_dir.glob("part-*.parquet")))
        self._last_roll = time.monotonic()
        self._lock = threading.Lock()
        self.n_samples = 0
        self.n_written = 0

    def append(
        self, t_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray, seq: np.ndarray
    ) -> None:
        """Buffer a block of samples (already in order and de-duplicated)."""
        if len(t_s) == 0:
            return
        with self._lock:
            self._buf.append(
                (
                    np.asarray(t_s, np.float64),
                    np.asarray(acc_g, np.float32),
                    np.asarray(gyr_dps, np.float32),
                    np.asarray(seq, np.int64),
                )
            )
            self.n_samples += len(t_s)
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Roll a part if ``roll_s`` has passed since the last one (call it periodically too,
        so that samples received just before a link loss reach the disk)."""
        if time.monotonic() - self._last_roll >= self.roll_s:
            self.flush()

    def update_meta(self, **values: Any) -> None:
        """Metadata for the following parts and the merged file (e.g. a fitted clock drift)."""
        self.meta.update(values)

    def flush(self) -> None:
        """Write the buffered samples as the next part file (atomic)."""
        with self._lock:
            self._last_roll = time.monotonic()
            if not self._buf:
                return
            t, acc, gyr, seq = (np.concatenate(x) for x in zip(*self._buf, strict=True))
            self._buf.clear()
            self._n_parts += 1
            table = raw_table(t, acc, gyr, seq, self.meta)
            write_parquet_atomic(table, self.parts_dir / f"part-{self._n_parts:06d}.parquet")
            self.n_written += len(t)

    def close(self) -> Path | None:
        """Flush, merge the parts into the final file, remove the parts folder."""
        self.flush()
        return merge_parts(self.parts_dir, self.path, meta=self.meta)


def merge_parts(
    parts_dir: Path, path: Path, meta: dict[str, Any] | None = None
) -> Path | None:
    """Concatenate ``parts_dir/part-*.parquet`` into ``path`` (atomic) and remove the folder.

    Parts that cannot be read (a torn temporary file never has the final name, but a disk error
    might) are skipped. Returns None when there are no samples at all.
    """
    parts = sorted(parts_dir.glob("part-*.parquet"))
    tables: list[pa.Table] = []
    for p in parts:
        try:
            tables.append(pq.read_table(p))
        except (pa.ArrowInvalid, OSError):
            continue
    if not tables:
        shutil.rmtree(parts_dir, ignore_errors=True)
        return None
    if meta is None:
        raw = tables[-1].schema.metadata or {}
        meta = json.loads(raw.get(METADATA_KEY, b"{}"))
    table = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta, sort_keys=True)})
    write_parquet_atomic(table, path)
    shutil.rmtree(parts_dir, ignore_errors=True)
    return path


def recover_parts(parts_dir: str | Path) -> Path | None:
    """Merge a leftover ``<name>.raw.parquet.parts`` folder (after a crash) into its raw file."""
    d = Path(parts_dir)
    if not d.is_dir() or not d.name.endswith(RAW_SUFFIX + PARTS_SUFFIX):
        raise InputError(f"{d}: not a '<name>{RAW_SUFFIX}{PARTS_SUFFIX}' folder")
    target = d.with_name(d.name[: -len(PARTS_SUFFIX)])
    if target.exists():  # never overwrite a finished file: recover next to it
        stem = target.name[: -len(RAW_SUFFIX)]
        target = target.with_name(f"{stem}-recovered{RAW_SUFFIX}")
    return merge_parts(d, target)


def recover_leftovers(out_dir: str | Path) -> list[Path]:
    """Recover every leftover parts folder in ``out_dir``; returns the files written."""
    root = Path(out_dir)
    if not root.is_dir():
        return []
    done = []
    for d in sorted(root.glob(f"*{RAW_SUFFIX}{PARTS_SUFFIX}")):
        p = recover_parts(d)
        if p is not None:
            done.append(p)
    return done
