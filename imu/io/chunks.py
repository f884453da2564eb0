"""Crash-safe raw session writing while streaming (contract section 2; docs/ble.md).

Design: samples are buffered in memory and every ``roll_s`` (default 1 s) the buffer becomes one
small Parquet *part* file ``<name>.raw.parquet.parts/part-000001.parquet``, written atomically
(temporary sibling + rename, :func:`imu.io.atomic.write_parquet_atomic`) with the full ``imu``
metadata, so each part is a valid raw file on its own. On stop the parts are merged into
``<name>.raw.parquet`` (atomically) and the folder is removed. A SIGKILL therefore loses at most
the samples of the last ``roll_s``; the leftover folder is merged by :func:`recover_parts`
(``imu record`` runs :func:`recover_leftovers` on its ``--out`` folder before recording,
``imu recover DIR`` on its own).

One writer per session: the writer holds an exclusive OS lock (``fcntl.flock``) on
``<parts>/.lock`` for its whole life, so a second writer of the same session fails at once
(:class:`SessionBusyError`) and recovery touches only parts folders whose lock is free (their
writer is gone: killed, crashed, or the machine went down; the kernel drops a dead process's
locks). Before the merge writes the final file it records the row count it is about to write
(``<parts>/merging.json``); if the writer dies after the final file is complete but before the
parts folder is removed, recovery sees a complete final file and only removes the folder (no
duplicate ``-recovered`` file).

Write errors (disk full, file too large, I/O errors) never escape :meth:`ChunkedRawWriter.append`
or :meth:`~ChunkedRawWriter.maybe_flush` (they run in the BLE consumer thread): the writer keeps
the samples it could not write, stops, and reports the error in :attr:`ChunkedRawWriter.error`;
what reached the disk stays in the parts folder for :func:`recover_parts`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imu.core.errors import InputError
from imu.core.schema import METADATA_KEY
from imu.io.atomic import write_bytes_atomic, write_parquet_atomic
from imu.io.rawfile import ROW_GROUP_ROWS, raw_table

PARTS_SUFFIX = ".parts"
RAW_SUFFIX = ".raw.parquet"
LOCK_FILE: Final = ".lock"
"""In the parts folder: flock()ed by its writer (and by a recovery) for as long as it works."""
MERGE_MARKER: Final = "merging.json"
"""In the parts folder: the final file and row count a merge is writing."""


class SessionBusyError(InputError):
    """Another process is writing (or recovering) this session's parts folder."""


def parts_dir_for(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + PARTS_SUFFIX)


def _try_lock(parts_dir: Path) -> int | None:
    """An fd holding the exclusive lock of ``parts_dir`` (created if needed), or None when
    another process holds it. FileNotFoundError if the folder is gone."""
    fd = os.open(parts_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    if os.fstat(fd).st_nlink == 0:  # removed by a recovery between open and lock
        os.close(fd)
        raise FileNotFoundError(errno.ENOENT, "parts folder removed", str(parts_dir))
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing the last descriptor releases the flock


def is_live(parts_dir: str | Path) -> bool:
    """Whether a writer (or a recovery) holds ``parts_dir``'s lock right now."""
    d = Path(parts_dir)
    try:
        fd = _try_lock(d)
    except OSError:
        return False
    _unlock(fd)
    return fd is None


class ChunkedRawWriter:
    """Append samples; roll a part file every ``roll_s`` seconds; merge on :meth:`close`.

    Creating the writer takes the session's lock: :class:`SessionBusyError` when another
    process writes the same session, :class:`InputError` when the final file exists already or
    an interrupted recording of the same name waits for :func:`recover_parts`.
    """

    def __init__(self, path: str | Path, meta: dict[str, Any], roll_s: float = 1.0) -> None:
        self.path = Path(path)
        self.meta = dict(meta)
        self.roll_s = roll_s
        self.parts_dir = parts_dir_for(self.path)
        self._fd: int | None = None
        self._fd = self._acquire()
        self._buf: list[tuple[np.ndarray, ...]] = []
        self._n_parts = 0
        self._last_roll = time.monotonic()
        self._lock = threading.Lock()
        self.n_samples = 0
        """Samples appended."""
        self.n_written = 0
        """Samples in part files on disk."""
        self.error: OSError | None = None
        """The first write error; the writer stopped there (see the module docstring)."""
        self.n_dropped = 0
        """Samples appended after the write error (not kept)."""

    def _acquire(self) -> int:
        if self.path.exists():
            raise InputError(f"{self.path} exists already; choose another name")
        for _ in range(10):
            self.parts_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = _try_lock(self.parts_dir)
            except FileNotFoundError:
                continue  # a recovery removed the empty folder just now: make it again
            if fd is None:
                raise SessionBusyError(
                    f"{self.path}: another imu record is writing this session right now "
                    f"(lock held on {self.parts_dir / LOCK_FILE})"
                )
            if any(self.parts_dir.glob("part-*.parquet")):
                _unlock(fd)
                raise InputError(
                    f"{self.parts_dir}: an interrupted recording of this name waits to be "
                    "recovered (imu recover); choose another name"
                )
            return fd
        raise SessionBusyError(f"{self.parts_dir}: could not take the session's lock")

    def append(
        self, t_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray, seq: np.ndarray
    ) -> None:
        """Buffer a block of samples (already in order and de-duplicated)."""
        if len(t_s) == 0:
            return
        with self._lock:
            if self.error is not None:
                self.n_dropped += len(t_s)
                return
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
        """Write the buffered samples as the next part file (atomic). A write error is kept in
        :attr:`error` (the samples stay buffered) instead of raised."""
        with self._lock:
            self._last_roll = time.monotonic()
            if not self._buf or self.error is not None:
                return
            t, acc, gyr, seq = (np.concatenate(x) for x in zip(*self._buf, strict=True))
            table = raw_table(t, acc, gyr, seq, self.meta)
            try:
                write_parquet_atomic(
                    table, self.parts_dir / f"part-{self._n_parts + 1:06d}.parquet"
                )
            except OSError as exc:
                self.error = exc
                return
            self._buf.clear()
            self._n_parts += 1
            self.n_written += len(t)

    @property
    def n_pending(self) -> int:
        """Samples appended but not (yet, or after an error never) on disk."""
        with self._lock:
            return sum(len(b[0]) for b in self._buf)

    def close(self) -> Path | None:
        """Flush, merge the parts into the final file, remove the parts folder, release the
        lock. After a write error nothing is merged (the parts stay for :func:`recover_parts`)
        and the error is raised; a failing merge raises too and keeps the parts."""
        try:
            self.flush()
            if self.error is not None:
                raise self.error
            return merge_parts(self.parts_dir, self.path, meta=self.meta)
        finally:
            _unlock(self._fd)
            self._fd = None

    def release(self) -> None:
        """Release the lock without merging (the parts stay, e.g. for a later recovery)."""
        _unlock(self._fd)
        self._fd = None


def merge_parts(
    parts_dir: Path, path: Path, meta: dict[str, Any] | None = None
) -> Path | None:
    """Concatenate ``parts_dir/part-*.parquet`` into ``path`` (atomic) and remove the folder.

    Parts that cannot be read (a torn temporary file never has the final name, but a disk error
    might) are skipped. Returns None when there are no samples at all. The caller holds the
    folder's lock. The row count is recorded (:data:`MERGE_MARKER`) before the final file is
    written, so an interrupted merge is recognised by :func:`recover_parts`.
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
    marker = json.dumps({"file": path.name, "rows": table.num_rows}).encode()
    write_bytes_atomic(marker, parts_dir / MERGE_MARKER)
    write_parquet_atomic(table, path, row_group_rows=ROW_GROUP_ROWS, dictionary=False)
    shutil.rmtree(parts_dir, ignore_errors=True)
    return path


def _merged_already(d: Path, target: Path) -> bool:
    """Whether ``d``'s merge wrote ``target`` completely before it was interrupted."""
    try:
        marker = json.loads((d / MERGE_MARKER).read_bytes())
        return bool(
            marker.get("file") == target.name
            and pq.read_metadata(target).num_rows == int(marker["rows"])
        )
    except (OSError, ValueError, TypeError, KeyError, pa.ArrowException):
        return False


def recover_parts(parts_dir: str | Path) -> Path | None:
    """Merge a leftover ``<name>.raw.parquet.parts`` folder (after a crash) into its raw file
    (``<name>-recovered.raw.parquet`` when ``<name>.raw.parquet`` exists and is not the
    folder's own completed merge). Returns None when there is nothing to recover: no samples,
    a merge that had completed, or a live folder (its writer holds the lock)."""
    d = Path(parts_dir)
    if not d.is_dir() or not d.name.endswith(RAW_SUFFIX + PARTS_SUFFIX):
        raise InputError(f"{d}: not a '<name>{RAW_SUFFIX}{PARTS_SUFFIX}' folder")
    try:
        fd = _try_lock(d)
    except FileNotFoundError:
        return None  # removed meanwhile by its writer or another recovery
    if fd is None:
        return None  # live: its writer is still recording
    try:
        target = d.with_name(d.name[: -len(PARTS_SUFFIX)])
        stem = target.name[: -len(RAW_SUFFIX)]
        names = [target.name, f"{stem}-recovered{RAW_SUFFIX}"]
        names += [f"{stem}-recovered-{k}{RAW_SUFFIX}" for k in range(2, 100)]
        for name in names:  # never overwrite a finished file: recover next to it
            candidate = d.with_name(name)
            if not candidate.exists():
                return merge_parts(d, candidate)
            if _merged_already(d, candidate):  # killed after its merge had completed
                shutil.rmtree(d, ignore_errors=True)
                return None
        raise InputError(f"{d}: too many recovered files next to it")
    finally:
        _unlock(fd)


def leftovers(out_dir: str | Path) -> list[Path]:
    """The parts folders in ``out_dir`` (live or not)."""
    root = Path(out_dir)
    if not root.is_dir():
        return []
    return sorted(d for d in root.glob(f"*{RAW_SUFFIX}{PARTS_SUFFIX}") if d.is_dir())


def recover_leftovers(out_dir: str | Path) -> list[Path]:
    """Recover every leftover parts folder in ``out_dir`` whose writer is gone (live ones, held
    by a running ``imu record``, are left alone); returns the files written."""
    done = []
    for d in leftovers(out_dir):
        p = recover_parts(d)
        if p is not None:
            done.append(p)
    return done
