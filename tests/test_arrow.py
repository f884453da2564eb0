"""imu.core.arrow: numpy columns to Arrow and back as pyarrow's own conversions give them, and
without importing pandas (pyarrow's conversions do)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from imu.core import arrow

CASES = [
    np.array([1.0, np.nan, 3.0]),
    np.array([1, 2, 3]),
    np.array([True, False, True]),
    np.array(["a", None, "é"], dtype=object),
    np.array([], dtype=float),
    np.array([], dtype=object),
    np.array(["2020-01-01T00:00:00", "NaT"], dtype="datetime64[us]"),
]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "fM":
        return bool(np.array_equal(a, b, equal_nan=True))
    return a.tolist() == b.tolist()


@pytest.mark.parametrize("values", CASES, ids=lambda v: str(v.dtype))
def test_array_and_values_are_pyarrows_conversions(values: np.ndarray) -> None:
    built = arrow.array(values)
    ref = pa.array(values, type=pa.string()) if values.dtype == object else pa.array(values)
    assert built.type == ref.type and built.null_count == ref.null_count
    assert str(built.to_pylist()) == str(ref.to_pylist())  # NaN stays NaN, not null
    assert _same(arrow.values(built), ref.to_numpy(zero_copy_only=False))
    chunked = pa.chunked_array([built, built])
    assert _same(arrow.values(chunked), chunked.to_numpy())


def test_nulls_slices_and_types() -> None:
    nan = np.array([1.0, np.nan, 3.0])
    assert arrow.array(nan, nan_is_null=True).null_count == 1
    assert arrow.array(nan).null_count == 0
    assert arrow.array(np.array([1.0, np.nan]), pa.int64()).to_pylist() == [1, None]
    assert arrow.array([True, None], pa.bool_()).to_pylist() == [True, None]
    assert arrow.array(["x"], pa.large_string()).type == pa.large_string()
    with pytest.raises(ValueError, match="fractional"):
        arrow.array(np.array([1.5]), pa.int64())
    flags = np.arange(20) % 3 == 0
    assert arrow.values(arrow.array(flags)[5:12]).tolist() == flags[5:12].tolist()
    assert _same(arrow.values(arrow.array(nan, nan_is_null=True)[1:]), np.array([np.nan, 3.0]))
    ints = arrow.array(np.array([1.0, np.nan]), pa.int64())
    assert _same(arrow.values(ints), ints.to_numpy(zero_copy_only=False))
    bools = arrow.array([True, None], pa.bool_())
    assert arrow.values(bools).tolist() == bools.to_numpy(zero_copy_only=False).tolist()
    assert arrow.values(pa.nulls(2)).tolist() == [None, None]


def test_tables() -> None:
    schema = pa.schema([("a", pa.float64()), ("b", pa.string()), ("c", pa.int64())])
    t = arrow.table({"b": ["x", None], "a": np.array([0.5, np.nan]), "c": np.array([1, 2])},
                    schema)
    assert t.schema == schema and t.column("b").to_pylist() == ["x", None]
    assert arrow.table({"a": np.zeros(2), "b": ["x", "y"]}).column_names == ["a", "b"]
    empty = arrow.empty(schema)
    assert empty.schema == schema and empty.num_rows == 0
    cols = arrow.columns(t)
    assert list(cols) == ["a", "b", "c"] and cols["c"].dtype == np.int64


def test_no_pandas_is_imported() -> None:
    code = (
        "import sys, numpy as np; from imu.core import arrow; "
        "t = arrow.table({'a': np.array([1.0, np.nan]), 'b': ['x', None], "
        "'c': np.array([True, False]), 'd': np.array([1, 2])}); "
        "[arrow.values(t.column(c)) for c in t.column_names]; arrow.columns(t); "
        "arrow.empty(t.schema); "
        "print(sorted({'pandas', 'pyarrow.compute'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
