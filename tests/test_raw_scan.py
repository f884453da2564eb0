"""A raw file checked in one streaming pass (:func:`imu.io.rawscan.scan_raw`) and read a range
of rows at a time (:func:`imu.io.rawscan.read_rows`): the same errors, facts and samples as
:func:`imu.io.rawfile.read_raw`, in memory bounded by a batch, not by the session."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_cli_bad_input import _frame, _standing_then_moving
from test_hostile_files import BRIDGE, still, with_frame, with_meta
from test_rawio import BAD_FRAMES, _session

import imu.core.plausibility as plausibility
import imu.io.rawscan as rawscan
from imu.core.errors import InputError
from imu.core.plausibility import check_plausible
from imu.core.session import RawSession
from imu.io.atomic import write_parquet_atomic
from imu.io.rawfile import ROW_GROUP_ROWS, raw_table, read_raw, write_raw
from imu.io.rawscan import RawScan, read_rows, scan_raw
from imu.sim import simulate

ROOT = Path(__file__).resolve().parents[1]
BATCHES = (97, 4999, rawscan.SCAN_BATCH_ROWS)
"""Scan batch sizes: none a multiple of a quarter second at 200 Hz (50 rows)."""


def _write(path: Path, s: RawSession, row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    table = raw_table(s.t_s, s.acc_g, s.gyr_dps, s.seq, s.meta)
    return write_parquet_atomic(table, path, row_group_rows=row_group_rows, dictionary=False)


def _run(seconds: float = 60.0, seed: int = 1) -> RawSession:
    return simulate("run", duration_s=seconds, seed=seed, sample_rate_hz=200.0).raw


def _drop_gyro(s: RawSession) -> RawSession:
    return RawSession(s.t_s, s.acc_g, None, s.seq, dict(s.meta))


def _drop_seq(s: RawSession) -> RawSession:
    return RawSession(s.t_s, s.acc_g, s.gyr_dps, None, dict(s.meta))


def _lost(s: RawSession) -> RawSession:
    """Samples lost in three places (seq jumps and time gaps), one across a row group edge."""
    keep = np.ones(s.n_samples, dtype=bool)
    keep[[*range(1000, 1011), *range(4990, 5090), *range(9000, 9003)]] = False
    return RawSession(s.t_s[keep], s.acc_g[keep], s.gyr_dps[keep],  # type: ignore[index]
                      s.seq[keep], dict(s.meta))  # type: ignore[index]


def _saturated(s: RawSession) -> RawSession:
    """Samples on the rails of +-8 g and +-1000 deg/s, some on both, in several batches."""
    acc, gyr = s.acc_g.copy(), s.gyr_dps.copy()  # type: ignore[union-attr]
    acc[[10, 4999, 5000, 7777], [0, 2, 1, 0]] = [7.995, -7.995, 7.995, 7.995]
    gyr[[10, 3000, 11000], [1, 1, 2]] = [999.9, -999.9, 999.9]
    return RawSession(s.t_s, acc, gyr, s.seq, dict(s.meta, acc_range_g=8, gyr_range_dps=1000))


def _meta(s: RawSession, **changes: object) -> RawSession:
    meta = {k: v for k, v in {**s.meta, **changes}.items() if v is not None}
    return RawSession(s.t_s, s.acc_g, s.gyr_dps, s.seq, meta)


CASES: dict[str, Callable[[RawSession], RawSession]] = {
    "plain": lambda s: s,
    "no_gyro": _drop_gyro,
    "no_seq": _drop_seq,
    "no_gyro_no_seq": lambda s: _drop_seq(_drop_gyro(s)),
    "lost": _lost,
    "saturated": _saturated,
    "no_session_id": lambda s: _meta(s, session_id=None),
    "empty_session_id": lambda s: _meta(s, session_id=""),
    "no_rate": lambda s: _meta(s, sample_rate_hz=None),
    "no_id_no_rate_lost_saturated": lambda s: _meta(_saturated(_lost(s)), session_id=None,
                                                    sample_rate_hz=None),
}


@pytest.fixture(scope="module")
def run60() -> RawSession:
    return _run()


def assert_rows_equal(got: RawSession, want: RawSession, a: int, b: int) -> None:
    for f in ("t_s", "acc_g", "gyr_dps", "seq"):
        x, y = getattr(got, f), getattr(want, f)
        if y is None:
            assert x is None, f
            continue
        y = y[max(a, 0):max(min(b, len(y)), max(a, 0))]
        assert x.dtype == y.dtype and x.shape == y.shape and x.flags.c_contiguous, f
        assert np.array_equal(x, y), f
    assert got.meta == want.meta and got.checked


def check_file(path: Path, batch_rows: int) -> RawScan:
    """scan_raw's facts are read_raw's; read_rows gives read_raw's rows, at both ends and
    across every row group edge."""
    whole = read_raw(path)
    scan = scan_raw(path, batch_rows=batch_rows)
    assert scan.facts == whole.facts()
    assert (scan.n_samples, scan.gyro_present, scan.has_seq) == (
        whole.n_samples, whole.gyr_dps is not None, whole.seq is not None)
    assert (scan.t_first_s, scan.t_last_s) == (whole.t_s[0], whole.t_s[-1])
    assert scan.sample_rate_hz == whole.sample_rate_hz and scan.meta == whole.meta
    n = scan.n_samples
    edges = scan.row_group_starts[1:-1]
    ranges = [(0, 1), (0, 137), (n - 137, n), (n - 1, n), (0, n), (-50, 20), (n - 20, n + 50),
              (n // 3, n // 3), (n, n + 5), *[(e - 70, e + 70) for e in edges],
              *[(e, e + 1) for e in edges]]
    if len(edges) > 1:
        ranges.append((edges[0] - 3, edges[1] + 3))
    for a, b in ranges:
        assert_rows_equal(read_rows(scan, a, b), whole, a, b)
    return scan


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("batch_rows", BATCHES)
def test_scan_facts_and_rows_equal_read_raw(case: str, batch_rows: int, run60: RawSession,
                                            tmp_path: Path) -> None:
    s = CASES[case](run60)
    path = _write(tmp_path / f"{case}.raw.parquet", s, row_group_rows=3333)
    scan = check_file(path, batch_rows)
    assert len(scan.row_group_starts) > 3
    if case == "lost":
        assert scan.facts.lost_samples == 114
    if case == "saturated":
        assert scan.facts.saturated_samples == 6  # rows 10, 3000, 4999, 5000, 7777, 11000
    if "no_session_id" in case or case == "empty_session_id":
        assert scan.facts.session_id == RawSession(s.t_s, s.acc_g.astype(np.float32).astype(
            np.float64), None, None, {}).session_id


def test_a_session_longer_than_a_row_group_written_by_write_raw(tmp_path: Path) -> None:
    s = _meta(_saturated(_lost(_run(400.0, seed=4))), session_id=None)
    path = write_raw(tmp_path / "long.raw.parquet", s)
    assert pq.ParquetFile(path).metadata.num_row_groups == 2
    scan = check_file(path, rawscan.SCAN_BATCH_ROWS)
    assert scan.row_group_starts == (0, ROW_GROUP_ROWS, s.n_samples)
    assert scan.facts.lost_samples == 114 and scan.facts.saturated_samples == 6


def test_floods_of_suspect_rows_are_read_again(run60: RawSession, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """More rows near full scale, or seq jumps, than the scan keeps: counted by reading the
    columns again, with the same facts and the same first bad jump."""
    monkeypatch.setattr(rawscan, "RAIL_ROWS_KEPT", 2)
    monkeypatch.setattr(plausibility, "SEQ_JUMPS_KEPT", 2)
    s = _meta(_saturated(_lost(run60)), sample_rate_hz=None)
    check_file(_write(tmp_path / "flood.raw.parquet", s, 3333), 997)
    bad = _meta(_lost(run60), sample_rate_hz=None)
    assert bad.seq is not None
    bad.seq[7000:] += 10_000  # the first jump the time does not hold, after three that it does
    same_error(_write(tmp_path / "badseq.raw.parquet", bad, 3333), "seq jumps by 10001 at row",
               (997, 7000))


def test_scan_and_read_rows_do_not_import_pandas(run60: RawSession, tmp_path: Path) -> None:
    path = _write(tmp_path / "s.raw.parquet", _meta(run60, session_id=None), 3333)
    code = ("import sys; from imu.io.rawscan import scan_raw, read_rows; "
            f"s = scan_raw({str(path)!r}); r = read_rows(s, 5000, 9000); "
            "assert r.n_samples == 4000; assert 'pandas' not in sys.modules, 'pandas'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_read_rows_reads_only_the_row_groups_of_the_range(
    run60: RawSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "s.raw.parquet", run60, 3000)
    scan = scan_raw(path)
    asked: list[list[int]] = []
    iter_batches = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: object, **kwargs: object) -> object:
        asked.append(list(kwargs["row_groups"]))  # type: ignore[call-overload]
        return iter_batches(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    read_rows(scan, 2990, 6010)
    read_rows(scan, 3000, 6000)
    read_rows(scan, 100, 100)
    assert asked == [[0, 1, 2], [1]]


def test_read_rows_refuses_a_file_that_changed(run60: RawSession, tmp_path: Path) -> None:
    path = _write(tmp_path / "s.raw.parquet", run60, 3333)
    scan = scan_raw(path)
    _write(path, RawSession(run60.t_s[:5000], run60.acc_g[:5000], None, None, run60.meta))
    with pytest.raises(InputError, match="changed since it was scanned"):
        read_rows(scan, 0, 10)


# ---- the same errors as read_raw ----------------------------------------------------------


def same_error(path: Path, needle: str,
               batches: tuple[int, ...] = (7, 64, 1000, rawscan.SCAN_BATCH_ROWS)) -> None:
    """read_raw and scan_raw (in each of ``batches`` rows) refuse ``path`` with the same line."""
    with pytest.raises(InputError) as want:
        read_raw(path)
    assert needle in str(want.value)
    for batch_rows in batches:
        with pytest.raises(InputError) as got:
            scan_raw(path, batch_rows=batch_rows)
        assert str(got.value) == str(want.value), batch_rows


def _frame_of(s: RawSession) -> pd.DataFrame:
    df = pd.DataFrame({"t_s": s.t_s})
    for i, a in enumerate("xyz"):
        df[f"acc_{a}_g"] = s.acc_g[:, i]
        df[f"gyr_{a}_dps"] = s.gyr_dps[:, i]  # type: ignore[index]
    df["seq"] = s.seq
    return df


RAWIO_BAD = [
    *BAD_FRAMES,  # tests/test_rawio.py::test_bad_files_raise_one_line
    # two problems at different rows: the one read_raw reports first
    (lambda df: df.assign(t_s=df["t_s"].where(df.index != 20, 0.0),
                          acc_x_g=df["acc_x_g"].where(df.index != 300, np.inf)),
     "NaN or infinite acc value at row 300"),
    (lambda df: df.assign(t_s=df["t_s"].where(df.index != 390, np.nan),
                          gyr_x_dps=df["gyr_x_dps"].where(df.index != 5, np.nan),
                          acc_z_g=df["acc_z_g"].where(df.index != 200, np.nan)),
     "NaN or infinite t_s value at row 390"),
    (lambda df: df.assign(gyr_x_dps=df["gyr_x_dps"].where(df.index != 300, -np.inf),
                          t_s=df["t_s"].where(df.index != 100, 99.0)),
     "NaN or infinite gyr value at row 300"),
    (lambda df: df.assign(t_s=df["t_s"].where(df.index != 350, 0.0),
                          seq=np.where(df.index == 3, 0, df["seq"])),
     "time t_s is not strictly increasing at row 350"),
    (lambda df: df.assign(t_s=df["t_s"].where(~df.index.isin([64, 300]), 0.0)),
     "time t_s is not strictly increasing at row 64"),
    (lambda df: df.assign(t_s=df["t_s"].where(df.index != 5, np.nan),
                          seq=pd.array([*range(300), None, *range(301, 400)], dtype="Int64")),
     "column seq holds non-integers"),
]


@pytest.mark.parametrize(("mutate", "needle"), RAWIO_BAD)
def test_bad_frames_give_the_same_error(mutate, needle: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.raw.parquet"
    table = pa.Table.from_pandas(mutate(_frame_of(_session())), preserve_index=False)
    pq.write_table(table.replace_schema_metadata({b"imu": json.dumps(_session().meta)}), path,
                   row_group_size=64)
    same_error(path, needle)


def _cli_case(name: str, path: Path) -> str:
    """tests/test_cli_bad_input.py's bad files."""
    s = _standing_then_moving()
    if name == "not_parquet":
        path.write_bytes(b"PAR1 junk")
        return "not a readable Parquet"
    if name == "missing_col":
        _frame(s).drop(columns="acc_z_g").to_parquet(path)
        return "acc_z_g"
    if name == "time_backwards":
        _frame(s).assign(t_s=s.t_s[::-1].copy()).to_parquet(path)
        return "not strictly increasing"
    if name == "nan_sample":
        _frame(s).assign(gyr_x_dps=np.where(np.arange(len(s.t_s)) == 50, np.nan, 0.0)
                         ).to_parquet(path)
        return "NaN"
    if name == "unknown_exercise":
        s.meta["exercise"] = "curl"
        write_raw(path, s)
        return "unknown exercise"
    if name == "missing_file":
        return "no such file"
    assert name == "directory"
    path.mkdir()
    return "is a directory"


@pytest.mark.parametrize("name", ["not_parquet", "missing_col", "time_backwards", "nan_sample",
                                  "unknown_exercise", "missing_file", "directory"])
def test_cli_bad_files_give_the_same_error(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.raw.parquet"
    same_error(path, _cli_case(name, path))


@pytest.fixture(scope="module")
def bridge() -> pa.Table:
    return pq.read_table(BRIDGE)


def _frame_file(bridge: pa.Table, path: Path,
                change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    return with_frame(bridge, path, change(bridge.to_pandas()))


def _scaled(df: pd.DataFrame, cols: str, factor: float) -> pd.DataFrame:
    return df.assign(**{c: df[c] * factor for c in df.columns if c.startswith(cols)})


def _shift(df: pd.DataFrame, col: str, rows: slice, by: float) -> pd.DataFrame:
    out = df.copy()
    out.loc[out.index[rows], col] += by
    return out


HOSTILE: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame] | dict[str, object], str]] = {
    # tests/test_hostile_files.py
    "bad_session_id": ({"session_id": "x/../../victim"}, "session_id"),
    "long_session_id": ({"session_id": "a" * 129}, "session_id"),
    "rate": ({"sample_rate_hz": 100}, "sample_rate_hz 100 disagrees with t_s"),
    "trunk": ({"trunk_length_m": 50}, "trunk length"),
    "started_at": ({"started_at": 12345}, "started_at 12345 is not an ISO 8601"),
    "rate_string": ({"sample_rate_hz": "fast"}, "sample_rate_hz must be a positive number"),
    "range_string": ({"acc_range_g": "8g"}, "acc_range_g must be a positive number"),
    "jump": (lambda df: _shift(df, "t_s", slice(len(df) // 2, None), 116 * 86400.0),
             "jumps by 116.0 days"),
    "ms": (lambda df: df.assign(t_s=df.t_s * 1000), "t_s looks like milliseconds"),
    "rad": (lambda df: _scaled(df, "gyr_", np.pi / 180), "angular rate looks like rad/s"),
    "ms2": (lambda df: _scaled(df, "acc_", 9.80665), "acceleration looks like m/s^2"),
    "bool": (lambda df: df.assign(acc_x_g=df.acc_x_g > 0), "acc_x_g holds booleans"),
    "timestamps": (lambda df: df.assign(t_s=pd.to_datetime(df["t_s"], unit="s")),
                   "t_s holds timestamps"),
    "mostly_gaps": (lambda df: df.iloc[:4000].assign(t_s=np.arange(4000) * 270.0),
                    "gives"),
    # more of the plausibility checks, and two problems in one file
    "seq_not_this_recording": (lambda df: _shift(df, "seq", slice(3000, None), 5000),
                               "seq jumps by 5001 at row 3000"),
    "gap_and_rate": (lambda df: _shift(df.assign(t_s=df.t_s * 1.5), "t_s", slice(100, None),
                                       400.0), "sample_rate_hz 200 disagrees"),
    "two_gaps": (lambda df: _shift(_shift(df, "t_s", slice(9000, None), 4000.0), "t_s",
                                   slice(2000, None), 301.0), "jumps by 5.0 min at row 2000"),
    "seq_and_units": (lambda df: _scaled(_shift(df, "seq", slice(2500, None), 900), "acc_",
                                         9.80665), "seq jumps by 901 at row 2500"),
    "units_and_metadata": (lambda df: _scaled(df, "acc_", 9.80665), "unknown placement"),
    "nan_and_metadata": (lambda df: df.assign(acc_y_g=df.acc_y_g.where(df.index != 4000)),
                         "NaN or infinite acc value at row 4000"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files_give_the_same_error(case: str, bridge: pa.Table, tmp_path: Path) -> None:
    change, needle = HOSTILE[case]
    path = tmp_path / f"{case}.raw.parquet"
    if isinstance(change, dict):
        with_meta(bridge, path, **change)
    else:
        _frame_file(bridge, path, change)
        if case in ("units_and_metadata", "nan_and_metadata"):
            table = pq.read_table(path)
            with_meta(table, path, placement="belt")
    same_error(path, needle, (997, 5003, rawscan.SCAN_BATCH_ROWS))


def test_metadata_that_is_not_json_gives_the_same_error(bridge: pa.Table,
                                                        tmp_path: Path) -> None:
    bad = tmp_path / "bad.raw.parquet"
    pq.write_table(bridge.replace_schema_metadata({b"imu": b'{"session_id": "\xff\xfe"}'}), bad)
    same_error(bad, "not UTF-8", (997,))
    deep = tmp_path / "deep.raw.parquet"
    nested = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    pq.write_table(bridge.replace_schema_metadata({b"imu": nested}), deep)
    same_error(deep, "nested too deeply", (997,))


def test_a_stuck_sensor_gives_the_same_error(tmp_path: Path) -> None:
    path = tmp_path / "still.raw.parquet"
    still().to_parquet(path)
    same_error(path, "samples are identical")


@pytest.mark.parametrize("rate", [200.0, None])
def test_the_first_seq_jump_the_time_does_not_hold(rate: float | None, tmp_path: Path) -> None:
    """A jump that only the session's own rate refuses (5 samples in one interval at 200 Hz:
    40 Hz would allow it), before one that every rate refuses: the first is reported."""
    s = _standing_then_moving(n=6000)
    assert s.seq is not None
    s.seq[1500:] += 4
    s.seq[4000:] += 100_000
    if rate is None:
        del s.meta["sample_rate_hz"]
    same_error(write_raw(tmp_path / "seq.raw.parquet", s), "seq jumps by 5 at row 1500",
               (61, 1500, 2000))
    with pytest.raises(InputError, match="seq jumps by 5 at row 1500"):
        check_plausible(s.t_s, s.acc_g, s.gyr_dps, s.seq, rate)


# ---- memory --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twenty_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    s = _meta(_run(1200.0, seed=3), session_id=None)
    return write_raw(tmp_path_factory.mktemp("mem") / "run20.raw.parquet", s)


def _peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_scan_and_read_rows_hold_no_session_of_samples(twenty_minutes: Path) -> None:
    """scan_raw holds a few small arrays per sample (the intervals and |acc| for their
    medians), read_raw the samples (64 bytes each); read_rows of a minute holds that minute."""
    n = pq.ParquetFile(twenty_minutes).metadata.num_rows
    assert n > 200 * 1200
    read_raw(twenty_minutes)  # imports and caches warmed up
    scan = scan_raw(twenty_minutes)
    whole = _peak(lambda: read_raw(twenty_minutes))
    scanned = _peak(lambda: scan_raw(twenty_minutes))
    assert whole > 56 * n
    assert scanned < 40 * n, scanned / n
    minute = 200 * 60
    rows = _peak(lambda: read_rows(scan, 100_000, 100_000 + minute))
    assert rows < 2 * 64 * minute + 1_000_000, rows


@pytest.mark.parametrize("rate", [200.0, None])
def test_streamed_plausibility_sees_the_session_as_a_whole(rate: float | None) -> None:
    """Fed in uneven batches, the plausibility scan keeps the intervals of the whole session,
    the mean and spread of |acc| and the same quarter-second blocks (turn_ratio bit for bit)."""
    s = read_raw(BRIDGE)
    assert s.gyr_dps is not None and s.seq is not None
    n = s.n_samples
    scan = plausibility.PlausibilityScan(n, rate, gyro=True, seq=True)
    cuts = [0, 1, 2, 51, 99, 3000, 3049, 7777, 7778, 20_001, n]
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        scan.add_batch(s.t_s[a:b], s.acc_g[a:b], s.gyr_dps[a:b], s.seq[a:b])
    assert np.array_equal(scan._dt.values, np.diff(s.t_s))  # type: ignore[arg-type]
    mag = np.sqrt(np.einsum("ij,ij->i", s.acc_g, s.acc_g))  # |acc|: its mean and spread
    assert scan._mag.n == n
    assert scan._mag.mean == pytest.approx(float(np.mean(mag)), rel=1e-12)
    assert scan._mag.std() == pytest.approx(float(np.std(mag)), rel=1e-9)
    whole = plausibility._Moments()  # one batch: numpy's numbers
    whole.put(mag)
    assert (whole.mean, whole.std()) == (float(np.mean(mag)), float(np.std(mag)))
    if rate is not None:
        assert scan._blocks is not None
        ratio = scan._blocks.ratio(rate)
        assert ratio is not None and ratio == plausibility.turn_ratio(s.acc_g, s.gyr_dps, rate)
    assert scan.finish(lambda names: [tuple(getattr(s, f) for f in names)]) == (
        rate or 1 / np.median(np.diff(s.t_s)))
