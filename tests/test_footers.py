"""The bulk read of one-row summaries from their bare footers (issue 12: trends at study scale)
gives exactly what the general read gives, file by file, for imu's own files and for other
writers' types; whatever it cannot decide goes the general way, with the same warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imu.io import catalog
from imu.io.catalog import UnreadableSessionWarning, _read_tables
from imu.io.footers import FooterPlan, footer
from imu.trends import SESSION_SCHEMA

STARTED = pd.Timestamp("2026-11-02T07:00:05.250Z")
BULK = catalog._row_from_footer


def _write(root: Path, name: str, table: pa.Table) -> Path:
    path = root / f"session={name}" / "summary.parquet"
    path.parent.mkdir()
    pq.write_table(table, path)
    return path


def _files(root: Path) -> list[Path]:
    w = _write
    t = STARTED.to_pydatetime()
    files = [
        # as imu analyze writes them: int64 counts, UTC microseconds, text, NaN, nulls
        w(root, "a", pa.table({"session_id": ["a"], "started_at": pa.array([t], pa.timestamp(
            "us", tz="UTC")), "activity": ["strength"], "exercise": ["glute_bridge"],
            "n_sets": [3], "n_reps": [30], "duration_s": [np.nan], "tempo_cv": [0.25],
            "reps_seen": pa.array([None], pa.int64()), "note": ["x" * 300]})),
        w(root, "b", pa.table({"session_id": ["b" * 100], "started_at": pa.array([None],
            pa.timestamp("us", tz="UTC")), "activity": ["run"], "exercise": pa.array(
            [None], pa.string()), "cadence_spm": [171.5], "gct_ms": [-0.0],
            "vo_cm": [float("inf")], "n_sets": [0], "n_reps": [0]})),
        # other units, naive time, unicode, float32, a dictionary column
        w(root, "c", pa.table({"session_id": ["é ünïcode ✓"], "started_at": pa.array(
            [t], pa.timestamp("ms")), "activity": pa.array(["run"]).dictionary_encode(),
            "duration_s": pa.array([1.5], pa.float32()), "n_reps": [5]})),
        w(root, "d", pa.table({"session_id": ["d"], "started_at": pa.array(
            [STARTED.value], pa.timestamp("ns", tz="UTC")), "activity": ["strength"]})),
        # types the bulk path leaves to the general read: small ints, a date beyond 2200,
        # a number where text is expected, text where a number is expected
        w(root, "e", pa.table({"session_id": ["e"], "n_sets": pa.array([2], pa.int8()),
                               "reps_seen": pa.array([3], pa.uint16())})),
        w(root, "f", pa.table({"session_id": ["f"], "started_at": pa.array(
            [pd.Timestamp("2500-01-01").to_pydatetime()], pa.timestamp("us", tz="UTC"))})),
        w(root, "g", pa.table({"session_id": ["g"], "started_at": pa.array([12345],
                                                                            pa.int64())})),
        w(root, "h", pa.table({"session_id": ["h"], "n_reps": ["twelve"]})),
        # not one row, not Parquet, not imu's
        w(root, "i", pa.table({"session_id": ["i1", "i2"]})),
        w(root, "j", pa.table({"x": [1.0]})),
    ]
    bad = root / "session=k" / "summary.parquet"
    bad.parent.mkdir()
    bad.write_bytes(b"PAR1 not really PAR1")
    return [*files, bad]


def _read(files: list[Path], bulk: bool, monkeypatch: pytest.MonkeyPatch
          ) -> tuple[pa.Table, list[str], int]:
    taken = []

    def spy(data: bytes, i: int, sch: pa.Schema, plans: list[FooterPlan]) -> bool:
        ok = bulk and BULK(data, i, sch, plans)
        taken.append(ok)
        return ok

    monkeypatch.setattr(catalog, "_row_from_footer", spy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableSessionWarning)
        table = _read_tables(files, SESSION_SCHEMA, expect_rows=1)
    return table, [str(w.message) for w in caught], sum(taken)


def test_bulk_footer_read_equals_the_general_read(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files(tmp_path)
    general, general_warnings, none = _read(files, False, monkeypatch)
    bulk, bulk_warnings, taken = _read(files, True, monkeypatch)
    assert none == 0 and taken == 4  # a, b, c, d in bulk; the others the general way
    assert bulk.schema == general.schema
    for name in general.column_names:  # repr: NaN equals NaN, -0.0 differs from 0.0
        assert [repr(v) for v in bulk.column(name).to_pylist()] == [
            repr(v) for v in general.column(name).to_pylist()], name
    assert bulk_warnings == general_warnings and len(bulk_warnings) == 4  # h, i, j, k
    assert bulk.column("session_dir").to_pylist() == list("abcdefg")
    assert bulk.column("started_at").to_pylist()[:4] == [
        "2026-11-02T07:00:05+0000", None, "2026-11-02T07:00:05", "2026-11-02T07:00:05+0000"]
    # the trends read of the whole folder agrees too (parsed times, numbers as floats)
    rows = catalog.read_summaries(tmp_path)
    assert rows.loc[rows["session_dir"] == "a", "started_at"].item() == STARTED.floor("s")


def test_footer_needs_a_parquet_file() -> None:
    for data in (b"", b"PAR1", b"PAR1" + b"\0" * 8 + b"PAR1", b"PAR1\xff\xff\xff\x7fPAR1"):
        with pytest.raises(ValueError):
            footer(data)
