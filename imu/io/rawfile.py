"""Raw session files (``*.raw.parquet``, docs/formats.md): reading, validation, atomic writing.

Validation is the pipeline's first stage: every problem a user can cause with a file becomes a
one-line :class:`~imu.core.errors.InputError` before any analysis runs.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES
from imu.core.vocabulary import ACTIVITIES, PLACEMENTS

ACC_COLUMNS: Final = ("acc_x_g", "acc_y_g", "acc_z_g")
GYR_COLUMNS: Final = ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
REQUIRED_COLUMNS: Final = ("t_s", *ACC_COLUMNS)
"""Gyro columns may be absent (accelerometer-only recordings); then angle outputs are empty."""
METADATA_KEY: Final = b"imu"

RAW_SCHEMA: Final = pa.schema(
    [
        ("t_s", pa.float64()),
        *[(c, pa.float32()) for c in ACC_COLUMNS],
        *[(c, pa.float32()) for c in GYR_COLUMNS],
        ("seq", pa.int64()),
    ]
)


@dataclass
class RawSession:
    """A validated raw session: contiguous float64 arrays plus metadata."""

    t_s: np.ndarray
    acc_g: np.ndarray
    """(N, 3) specific force, sensor frame."""
    gyr_dps: np.ndarray | None
    """(N, 3) angular rate, sensor frame; None when the recording has no gyroscope."""
    seq: np.ndarray | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_rate_hz(self) -> float:
        rate = self.meta.get("sample_rate_hz")
        if rate:
            return float(rate)
        return float(1.0 / np.median(np.diff(self.t_s)))

    @property
    def n_samples(self) -> int:
        return int(self.t_s.size)

    def saturated_mask(self) -> np.ndarray:
        """Samples with any axis on a rail of its full scale.

        The rail is the largest magnitude in the recording when that lies within 1% of the full
        scale (the chip clips there: e.g. 7.995 g for +-8 g, the int16 limit); every sample at it
        is saturated.
        """
        mask = np.zeros(self.n_samples, dtype=bool)
        for data, full_scale in (
            (self.acc_g, self.meta.get("acc_range_g")),
            (self.gyr_dps, self.meta.get("gyr_range_dps")),
        ):
            if data is None or not full_scale:
                continue
            magnitude = np.abs(data)
            rail = float(magnitude.max())
            if rail >= 0.99 * float(full_scale):
                mask |= (magnitude >= rail * (1 - 1e-6)).any(axis=1)
        return mask

    def lost_samples(self) -> int:
        """Samples missing according to ``seq`` jumps (0 without ``seq``)."""
        if self.seq is None or self.seq.size < 2:
            return 0
        d = np.diff(self.seq)
        return int(np.sum(d[d > 1] - 1))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``imu`` JSON metadata of a Parquet file ({} when absent)."""
    md = pq.read_schema(path).metadata or {}
    raw = md.get(METADATA_KEY)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: metadata key 'imu' is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: metadata key 'imu' is not a JSON object")
    return value


def read_raw(path: str | Path) -> RawSession:
    """Read and validate a raw session file."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a .raw.parquet file")
    try:
        table = pq.read_table(p)
        meta = read_metadata(p)
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{p}: not a readable Parquet file ({first})") from None
    return from_dataframe(table.to_pandas(), meta, name=str(p))


def from_dataframe(
    df: pd.DataFrame, meta: dict[str, Any] | None = None, name: str = "input"
) -> RawSession:
    """Validate a raw DataFrame (contract columns) and return a :class:`RawSession`."""
    meta = dict(meta or {})
    if "imu" in getattr(df, "attrs", {}) and not meta:
        meta = dict(df.attrs["imu"])
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{name}: missing required column(s): {', '.join(missing)}")
    gyr_present = [c for c in GYR_COLUMNS if c in df.columns]
    if gyr_present and len(gyr_present) != 3:
        absent = sorted(set(GYR_COLUMNS) - set(gyr_present))
        raise InputError(f"{name}: incomplete gyroscope columns, missing {', '.join(absent)}")
    if len(df) < 2:
        raise InputError(f"{name}: too few samples ({len(df)})")

    def numeric(cols: tuple[str, ...] | str) -> np.ndarray:
        try:
            arr = df[list(cols) if isinstance(cols, tuple) else cols].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{name}: non-numeric values in {cols}") from None
        return np.ascontiguousarray(arr)

    t = numeric("t_s")
    acc = numeric(ACC_COLUMNS)
    gyr = numeric(GYR_COLUMNS) if gyr_present else None
    for label, arr in (("t_s", t), ("acc", acc), ("gyr", gyr)):
        if arr is not None and not np.isfinite(arr).all():
            bad = int(np.flatnonzero(~np.isfinite(arr).reshape(len(t), -1).all(axis=1))[0])
            raise InputError(f"{name}: NaN or infinite {label} value at row {bad}")
    dt = np.diff(t)
    if (dt <= 0).any():
        bad = int(np.flatnonzero(dt <= 0)[0]) + 1
        raise InputError(f"{name}: time t_s is not strictly increasing at row {bad}")
    seq = None
    if "seq" in df.columns:
        seq = df["seq"].to_numpy(dtype=np.int64)
        if (np.diff(seq) <= 0).any():
            raise InputError(f"{name}: seq is not strictly increasing")
    validate_meta(meta, name)
    return RawSession(t_s=t, acc_g=acc, gyr_dps=gyr, seq=seq, meta=meta)


def validate_meta(meta: dict[str, Any], name: str = "input") -> None:
    """Check the enumerated metadata fields (unknown values are an error, absent ones are fine)."""
    checks = {"placement": PLACEMENTS, "activity": ACTIVITIES, "exercise": EXERCISES}
    for key, allowed in checks.items():
        value = meta.get(key)
        if value is not None and value not in allowed:
            expected = ", ".join(allowed)
            raise InputError(f"{name}: unknown {key} {value!r} in metadata (expected {expected})")
    for key in ("sample_rate_hz", "acc_range_g", "gyr_range_dps", "trunk_length_m"):
        value = meta.get(key)
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise InputError(f"{name}: metadata {key} must be a positive number, got {value!r}")


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


def umask_mode(mode: int) -> int:
    """``mode`` as the user's umask would leave it for a newly created file or folder
    (temporary files and folders are created private; outputs should not stay so)."""
    current = os.umask(0)
    os.umask(current)
    return mode & ~current


def write_parquet_atomic(table: pa.Table, path: str | Path) -> Path:
    """Write a Parquet file via a temporary sibling and rename: never a half-written file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.chmod(tmp, umask_mode(0o666))
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_raw(path: str | Path, session: RawSession) -> Path:
    """Write a :class:`RawSession` as a raw session file (atomically)."""
    table = raw_table(session.t_s, session.acc_g, session.gyr_dps, session.seq, session.meta)
    return write_parquet_atomic(table, path)
