"""The bulk read of one-row summaries from their bare footers (issue 12: trends at study scale)
gives exactly what the general read gives, file by file, for imu's own files and for other
writers' types; whatever it cannot decide goes the general way, with the same warnings."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imu.io import catalog
from imu.io.atomic import write_parquet
from imu.io.catalog import UnreadableSessionWarning, _read_tables
from imu.io.footers import ROW_KEY, FooterPlan, body_sha1, footer, keyed_one_row, keyed_row
from imu.trends import SESSION_SCHEMA

STARTED = pd.Timestamp("2026-11-02T07:00:05.250Z")
BULK = catalog._row_from_footer
KEYED = catalog._row_from_key


def _write(root: Path, name: str, table: pa.Table) -> Path:
    path = root / f"session={name}" / "summary.parquet"
    path.parent.mkdir()
    pq.write_table(table, path)
    return path


def _write_keyed(root: Path, name: str, table: pa.Table) -> Path:
    """As ``imu analyze`` writes a summary: its row in its footer too."""
    path = root / f"session={name}" / "summary.parquet"
    path.parent.mkdir()
    path.write_bytes(keyed_one_row(table))
    return path


def _files(root: Path, keyed: bool = False) -> list[Path]:
    w = _write_keyed if keyed else _write
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
        w(root, "d2", pa.table({"session_id": ["d2"], "started_at": pa.array(
            [t], pa.timestamp("us", tz="Europe/Berlin")), "n_reps": [2**53],
            "gyro_present": [True]})),
        # a count no float holds exactly: left out the general way (it crashed the bulk path)
        w(root, "d3", pa.table({"session_id": ["d3"], "n_reps": [2**53 + 2]})),
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


def _read(files: list[Path], bulk: bool, monkeypatch: pytest.MonkeyPatch, key: bool = False
          ) -> tuple[pa.Table, list[str], int]:
    """The files read with the statistics path (``bulk``) and the footer key path (``key``)
    on or off; the count is of the files the enabled fast paths took."""
    taken = []

    def spy(data: bytes, i: int, sch: pa.Schema, plans: list[FooterPlan]) -> bool:
        ok = bulk and BULK(data, i, sch, plans)
        taken.append(ok)
        return ok

    def key_spy(data: bytes, i: int, plan: catalog.RowPlan) -> bool:
        ok = key and KEYED(data, i, plan)
        taken.append(ok)
        return ok

    monkeypatch.setattr(catalog, "_row_from_footer", spy)
    monkeypatch.setattr(catalog, "_row_from_key", key_spy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableSessionWarning)
        table = _read_tables(files, SESSION_SCHEMA, expect_rows=1)
    return table, [str(w.message) for w in caught], sum(taken)


def _same(a: pa.Table, b: pa.Table) -> None:
    assert a.schema == b.schema
    for name in a.column_names:  # repr: NaN equals NaN, -0.0 differs from 0.0
        assert [repr(v) for v in a.column(name).to_pylist()] == [
            repr(v) for v in b.column(name).to_pylist()], name


def test_bulk_footer_read_equals_the_general_read(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files(tmp_path)
    general, general_warnings, none = _read(files, False, monkeypatch)
    bulk, bulk_warnings, taken = _read(files, True, monkeypatch)
    assert none == 0 and taken == 5  # a, b, c, d, d2 in bulk; the others the general way
    _same(bulk, general)
    assert bulk_warnings == general_warnings and len(bulk_warnings) == 5  # d3, h, i, j, k
    assert bulk.column("session_dir").to_pylist() == [*"abcd", "d2", *"efg"]
    assert bulk.column("started_at").to_pylist()[:5] == [
        "2026-11-02T07:00:05+0000", None, "2026-11-02T07:00:05", "2026-11-02T07:00:05+0000",
        "2026-11-02T07:00:05+0000"]
    # the trends read of the whole folder agrees too (parsed times, numbers as floats)
    rows = catalog.read_summaries(tmp_path)
    assert rows.loc[rows["session_dir"] == "a", "started_at"].item() == STARTED.floor("s")


def test_footer_needs_a_parquet_file() -> None:
    for data in (b"", b"PAR1", b"PAR1" + b"\0" * 8 + b"PAR1", b"PAR1\xff\xff\xff\x7fPAR1"):
        with pytest.raises(ValueError):
            footer(data)


def test_keyed_rows_equal_the_statistics_and_the_general_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Summaries with their row in their footer (as imu analyze writes them) read the same by
    the key, by the statistics and the general way; what the key cannot give goes on to the
    statistics or the general read (a count beyond 2**53, small integers, a date beyond
    2200, text where a number is expected, an int64 where a date's text is)."""
    files = _files(tmp_path, keyed=True)
    # every file but the two-row one and the one that is not Parquet has a row in its footer
    assert [keyed_row(f.read_bytes()) is not None for f in files] == [True] * 10 + [
        False, True, False]
    general, general_warnings, _ = _read(files, False, monkeypatch)
    stats, stats_warnings, by_stats = _read(files, True, monkeypatch)
    keyed, keyed_warnings, by_key_or_stats = _read(files, True, monkeypatch, key=True)
    key_only, _, by_key = _read(files, False, monkeypatch, key=True)
    assert by_stats == 5 and by_key == 6 and by_key_or_stats == 6  # a-d, d2; e's small ints
    for table in (stats, keyed, key_only):
        _same(table, general)
    assert general_warnings == stats_warnings == keyed_warnings and len(keyed_warnings) == 5


def test_a_stale_or_damaged_row_is_not_read(tmp_path: Path) -> None:
    """A file re-written with other values but the old footer metadata, or with a damaged key,
    is read from its data, never from the row. (``pq.read_table`` then ``pq.write_table`` does
    not carry the row on: it is in the Parquet footer, not in the Arrow schema.)"""
    path = _write_keyed(tmp_path, "a", pa.table({"session_id": ["a"], "n_reps": [30]}))
    data = path.read_bytes()
    doc = keyed_row(data)
    assert doc is not None and doc["row"] == {"session_id": "a", "n_reps": 30}
    old = pq.read_table(path)
    assert ROW_KEY.encode() in pq.ParquetFile(path).metadata.metadata
    assert ROW_KEY.encode() not in (old.schema.metadata or {})
    new = old.set_column(1, "n_reps", pa.array([31]))
    with pq.ParquetWriter(path, new.schema) as w:  # a tool that copies the footer's keys
        w.write_table(new)
        w.add_key_value_metadata({ROW_KEY: json.dumps(doc)})
    assert ROW_KEY.encode() in pq.ParquetFile(path).metadata.metadata
    assert keyed_row(path.read_bytes()) is None
    assert catalog.read_summaries(tmp_path)["n_reps"].tolist() == [31.0]
    for bad in (data.replace(b'"n_reps": 30', b'"n_reps": 3x'),  # the JSON no longer parses
                data.replace(b"imu.row", b"imu.rox"), data[:-5] + b"PAR1"):
        assert keyed_row(bad) is None
    path.write_bytes(data.replace(b'"n_reps": 30', b'"n_reps": 3x'))
    assert catalog.read_summaries(tmp_path)["n_reps"].tolist() == [30.0]


def test_imu_analyze_writes_its_summary_row_in_the_footer(tmp_path: Path) -> None:
    import imu
    from imu.sim import simulate

    rec = simulate("strength", exercise="glute_bridge", n_sets=1, reps_per_set=4,
                   sample_rate_hz=50, seed=7)
    folder = imu.analyze(rec.to_dataframe()).write(tmp_path)
    doc = keyed_row((folder / "summary.parquet").read_bytes())
    assert doc is not None and doc["timestamps"] == ["started_at"]
    summary = pq.read_table(folder / "summary.parquet").to_pylist()[0]
    started = summary.pop("started_at")
    assert dt.datetime.fromisoformat(doc["row"].pop("started_at")) == started
    assert doc["row"] == summary


def test_a_hostile_row_is_refused_and_the_file_read_from_its_data(tmp_path: Path) -> None:
    """Rows with the right hash but not the expected shape (or not JSON at all) are refused:
    no exception, the summary is read from its statistics."""
    table = pa.table({"session_id": ["a"], "n_reps": [30]})
    sink = pa.BufferOutputStream()
    write_parquet(table, sink)
    sha = body_sha1(sink.getvalue().to_pybytes())
    hostile = ["[" * 100_000, "{}", "[]", '"text"', "5", json.dumps({"sha1": sha}),
               json.dumps({"sha1": sha, "row": []}),
               json.dumps({"sha1": sha, "row": {"n_reps": 1}, "timestamps": 5}),
               json.dumps({"sha1": sha, "row": {"n_reps": 1}, "timestamps": [["x"]]}),
               json.dumps({"sha1": sha, "row": {"n_reps": 1}}) + " trailing", r'"\ud800"']
    path = tmp_path / "session=a" / "summary.parquet"
    path.parent.mkdir()
    for text in hostile:
        sink = pa.BufferOutputStream()
        write_parquet(table, sink, footer_metadata={ROW_KEY: text})
        data = sink.getvalue().to_pybytes()
        assert keyed_row(data) is None, text[:40]
        path.write_bytes(data)
        assert catalog.read_summaries(tmp_path)["n_reps"].tolist() == [30.0]
    good = json.dumps({"sha1": sha, "row": {"session_id": "a", "n_reps": 31}})
    sink = pa.BufferOutputStream()
    write_parquet(table, sink, footer_metadata={ROW_KEY: good})
    path.write_bytes(sink.getvalue().to_pybytes())  # (the row is what the key path reads)
    assert catalog.read_summaries(tmp_path)["n_reps"].tolist() == [31.0]


@pytest.mark.parametrize("size", [0, 10, 65_535, 65_536, 65_537, (1 << 20) + 70_000,
                                  3 * (1 << 20) + 5])
def test_files_are_read_whole_at_any_size(tmp_path: Path, size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    path = tmp_path / "f.parquet"
    path.write_bytes(data)
    assert catalog._read_bytes(path) == data and catalog._read_bytes(str(path)) == data
