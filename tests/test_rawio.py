"""Raw session files: schema, metadata, validation of bad input (contract sections 2 and 5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imu.core.errors import InputError
from imu.core.session import RawSession
from imu.io.rawfile import ROW_GROUP_ROWS, from_dataframe, read_raw, write_raw


def _session(n: int = 400, rate: float = 200.0) -> RawSession:
    rng = np.random.default_rng(1)
    t = np.arange(n) / rate
    acc = np.tile([0.0, 0.0, 1.0], (n, 1)) + rng.normal(0, 0.01, (n, 3))
    gyr = rng.normal(0, 0.5, (n, 3))
    meta = {"session_id": "abc", "sample_rate_hz": rate, "placement": "left_hip",
            "acc_range_g": 8, "gyr_range_dps": 1000}
    return RawSession(t, acc, gyr, np.arange(n, dtype=np.int64), meta)


def test_write_read_round_trip(tmp_path: Path) -> None:
    s = _session()
    path = write_raw(tmp_path / "s.raw.parquet", s)
    schema = pq.read_schema(path)
    assert str(schema.field("t_s").type) == "double"
    assert str(schema.field("acc_x_g").type) == "float"
    assert str(schema.field("seq").type) == "int64"
    assert json.loads(schema.metadata[b"imu"])["session_id"] == "abc"
    back = read_raw(path)
    np.testing.assert_array_equal(back.t_s, s.t_s)
    np.testing.assert_array_equal(back.acc_g, s.acc_g.astype(np.float32))
    assert back.meta == s.meta
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_lost_and_saturated_samples_are_counted() -> None:
    s = _session()
    s.seq = np.concatenate([np.arange(100), np.arange(105, 405)]).astype(np.int64)
    s.acc_g[10, 0] = 7.995  # the int16 rail of +-8 g at 0.244 mg/LSB
    s.acc_g[20, 2] = -7.995
    s.acc_g[30, 1] = 7.9  # large but not clipped
    assert s.lost_samples() == 5
    assert list(np.flatnonzero(s.saturated_mask())) == [10, 20]


def test_gyro_columns_may_be_absent() -> None:
    df = pd.DataFrame({"t_s": [0.0, 0.01], "acc_x_g": [0, 0], "acc_y_g": [0, 0],
                       "acc_z_g": [1, 1]})
    assert from_dataframe(df).gyr_dps is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda df: df.drop(columns="acc_y_g"), "missing required column(s): acc_y_g"),
        (lambda df: df.drop(columns="gyr_z_dps"), "incomplete gyroscope columns"),
        (lambda df: df.assign(t_s=df["t_s"].where(df.index != 7, 0.0)), "not strictly increasing"),
        (lambda df: df.assign(acc_x_g=df["acc_x_g"].where(df.index != 9, np.nan)), "NaN"),
        (lambda df: df.assign(gyr_y_dps=df["gyr_y_dps"].where(df.index != 3, np.inf)), "infinite"),
    ],
)
def test_bad_frames_raise_one_line(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    s = _session()
    df = pd.DataFrame({"t_s": s.t_s})
    for i, a in enumerate("xyz"):
        df[f"acc_{a}_g"] = s.acc_g[:, i]
        df[f"gyr_{a}_dps"] = s.gyr_dps[:, i]  # type: ignore[index]
    with pytest.raises(InputError) as err:
        from_dataframe(mutate(df))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_metadata_values_are_rejected() -> None:
    s = _session()
    df = pd.DataFrame({"t_s": s.t_s, "acc_x_g": 0.0, "acc_y_g": 0.0, "acc_z_g": 1.0})
    with pytest.raises(InputError, match="unknown placement 'belt'"):
        from_dataframe(df, {"placement": "belt"})


def test_not_parquet(tmp_path: Path) -> None:
    p = tmp_path / "x.raw.parquet"
    p.write_text("t_s,acc_x_g\n0,1\n")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_raw(p)


BAD_FRAMES = [  # a good session's frame mutated, and the one line the reader must give
    (lambda df: df.drop(columns="acc_y_g"), "missing required column(s): acc_y_g"),
    (lambda df: df.drop(columns="gyr_z_dps"), "incomplete gyroscope columns"),
    (lambda df: df.assign(t_s=df["t_s"].where(df.index != 7, 0.0)),
     "time t_s is not strictly increasing at row 7"),
    (lambda df: df.assign(acc_x_g=df["acc_x_g"].where(df.index != 9, np.nan)),
     "NaN or infinite acc value at row 9"),
    (lambda df: df.assign(acc_y_g=pd.array([None] * 3 + [0.0] * 397, dtype="Float64")),
     "NaN or infinite acc value at row 0"),
    (lambda df: df.assign(acc_z_g=df["acc_z_g"] > 0), "column acc_z_g holds booleans"),
    (lambda df: df.assign(t_s=pd.to_datetime(df["t_s"], unit="s")), "t_s holds timestamps"),
    (lambda df: df.assign(gyr_x_dps="x"), "column gyr_x_dps holds non-numeric values"),
    (lambda df: df.assign(seq=df["seq"].astype(float)), "column seq holds non-integers"),
    (lambda df: df.assign(seq=pd.array([None] + list(range(1, 400)), dtype="Int64")),
     "column seq holds non-integers"),
    (lambda df: df.assign(seq=df["seq"][::-1].to_numpy()), "seq is not strictly increasing"),
    (lambda df: df.iloc[:1], "too few samples (1)"),
]
"""Shared with tests/test_raw_scan.py: the streaming scan gives the same lines."""


@pytest.mark.parametrize(("mutate", "message"), BAD_FRAMES)
def test_bad_files_raise_one_line(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    """The file reader (streamed by row groups) refuses what the DataFrame path refuses."""
    s = _session()
    df = pd.DataFrame({"t_s": s.t_s})
    for i, a in enumerate("xyz"):
        df[f"acc_{a}_g"] = s.acc_g[:, i]
        df[f"gyr_{a}_dps"] = s.gyr_dps[:, i]  # type: ignore[index]
    df["seq"] = s.seq
    path = tmp_path / "bad.raw.parquet"
    pq.write_table(pa.Table.from_pandas(mutate(df), preserve_index=False), path,
                   row_group_size=64)
    with pytest.raises(InputError) as err:
        read_raw(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_row_groups_read_as_one(tmp_path: Path) -> None:
    """Raw files are written in row groups of ROW_GROUP_ROWS, not dictionary-encoded; a file
    of many row groups (or of integer columns) reads exactly as the samples written."""
    n = ROW_GROUP_ROWS * 2 + 123
    s = _session(n=n)
    path = write_raw(tmp_path / "s.raw.parquet", s)
    md = pq.ParquetFile(path).metadata
    assert md.num_row_groups == 3
    assert md.row_group(0).num_rows == ROW_GROUP_ROWS
    assert "PLAIN_DICTIONARY" not in str(md.row_group(0).column(1).encodings)
    assert "RLE_DICTIONARY" not in str(md.row_group(0).column(1).encodings)
    back = read_raw(path)
    np.testing.assert_array_equal(back.t_s, s.t_s)
    np.testing.assert_array_equal(back.acc_g, s.acc_g.astype(np.float32))
    np.testing.assert_array_equal(back.gyr_dps, s.gyr_dps.astype(np.float32))  # type: ignore[union-attr]
    np.testing.assert_array_equal(back.seq, s.seq)
    assert back.acc_g.dtype == np.float64 and back.acc_g.flags.c_contiguous
    ints = pa.table({"t_s": s.t_s[:500], **{f"acc_{a}_g": np.full(500, k, dtype=np.int16)
                                            for k, a in enumerate("xyz")}})
    pq.write_table(ints.replace_schema_metadata({"imu": json.dumps(s.meta)}),
                   tmp_path / "i.raw.parquet", row_group_size=100)
    back = read_raw(tmp_path / "i.raw.parquet", plausible=False)
    np.testing.assert_array_equal(back.acc_g, np.tile([0.0, 1.0, 2.0], (500, 1)))
    assert back.gyr_dps is None and back.seq is None
