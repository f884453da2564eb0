"""Faster forms of the pipeline's helpers against the forms they replace: the same bits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from imu.core import arrow
from imu.pipeline import dsp
from imu.pipeline.gait_events import _window_arg, window_rows
from imu.pipeline.signals import block_mean, row_norm, segment_max, segment_min


def _segment_reduce_padded(ufunc: np.ufunc, x: np.ndarray, a: np.ndarray,
                           b: np.ndarray) -> np.ndarray:
    """The former form for overlapping segments: a padded index matrix."""
    w = int(np.max(b - a)) + 1
    m = a[:, None] + np.arange(w)[None, :]
    fill = -np.inf if ufunc is np.maximum else np.inf
    return ufunc.reduce(np.where(m <= b[:, None], x[np.clip(m, 0, x.size - 1)], fill), axis=1)


def test_segment_reduce_overlapping_as_padded_matrix() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5000)
    x[rng.integers(0, x.size, 40)] = np.nan
    a = np.sort(rng.integers(0, x.size, 700))
    b = np.minimum(a + rng.integers(0, 40, a.size), x.size - 1)  # overlapping, up to the end
    b[-1] = x.size - 1
    for fn, uf in ((segment_max, np.maximum), (segment_min, np.minimum)):
        got, want = fn(x, a, b), _segment_reduce_padded(uf, x, a, b)
        assert got.tobytes() == want.tobytes()
        perm = rng.permutation(a.size)  # any order
        assert fn(x, a[perm], b[perm]).tobytes() == want[perm].tobytes()


def _minmax_van_herk(x: np.ndarray, size: int, axis: int, mode: str, acc: np.ufunc
                     ) -> np.ndarray:
    """The former O(n) form: block prefix and suffix extrema combined at each window."""
    xm = np.moveaxis(np.asarray(x), axis, 0)
    pre, post = dsp._edges(xm, size, mode, 0.0)  # the extension, built whole
    e = np.concatenate((pre, xm, post))
    if size == 1:
        return np.ascontiguousarray(np.moveaxis(e, 0, axis))
    m, rest = e.shape[0], e.shape[1:]
    n, nb = m - size + 1, -(-m // size)
    if np.issubdtype(e.dtype, np.integer):
        info = np.iinfo(e.dtype)
        fill = info.min if acc is np.maximum else info.max
    else:
        fill = -np.inf if acc is np.maximum else np.inf
    buf = np.empty((nb * size,) + rest, dtype=e.dtype)
    buf[:m], buf[m:] = e, fill
    suffix = acc.accumulate(buf[::-1].reshape((nb, size) + rest), axis=1).reshape(buf.shape)
    prefix = acc.accumulate(buf.reshape((nb, size) + rest), axis=1).reshape(buf.shape)
    out = acc(suffix[::-1][:n], prefix[size - 1 : size - 1 + n])
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def test_minmax_filter_doubling_as_van_herk() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3001, 2))
    x[rng.integers(0, 3001, 20), 0] = np.nan
    ints = rng.integers(-100, 100, 3001).astype(np.int8)
    for size in (1, 2, 3, 5, 6, 8, 31, 201, 601, 4000):
        for mode in ("reflect", "nearest", "constant"):
            for fn, acc in ((dsp.maximum_filter1d, np.maximum), (dsp.minimum_filter1d, np.minimum)):
                for arr, axis in ((x, 0), (x.T, 1), (ints, 0)):
                    got = fn(arr, size, axis=axis, mode=mode)
                    want = _minmax_van_herk(arr, size, axis, mode, acc)
                    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_text_array_by_sort_as_by_dict() -> None:
    rng = np.random.default_rng(7)
    words = np.array(["run", "walk", "", "L", "é", "R"])
    for n in (0, 1, 500):
        v = words[rng.integers(0, words.size, n)]
        by_sort, by_dict = arrow.array(v, pa.string()), arrow.array(v.astype(object), pa.string())
        assert [None if b is None else b.to_pybytes() for b in by_sort.buffers()] == [
            None if b is None else b.to_pybytes() for b in by_dict.buffers()]
        assert by_sort.to_pylist() == v.tolist()


def test_block_mean_as_reshaped_mean() -> None:
    rng = np.random.default_rng(11)
    for k in (1, 2, 3, 4, 8, 13, 20, 50):
        x = rng.standard_normal((40 * k + 3, 3)) * 10.0 ** rng.integers(-3, 4, (40 * k + 3, 3))
        n = x.shape[0] // k
        assert block_mean(x, k).tobytes() == x[: n * k].reshape(n, k, 3).mean(axis=1).tobytes()


def test_row_norm_as_linalg_norm() -> None:
    rng = np.random.default_rng(13)
    for k in (1, 2, 3, 4, 7):
        x = rng.standard_normal((3000, k)) * 10.0 ** rng.integers(-3, 4, (3000, k))
        for arr in (x, np.asfortranarray(x), x[::2]):
            assert row_norm(arr).tobytes() == np.linalg.norm(arr, axis=1).tobytes()


def test_window_arg_as_index_matrix() -> None:
    rng = np.random.default_rng(17)
    f = np.round(rng.standard_normal(4000), 1)  # ties: the first extremum
    h = 60
    view = np.lib.stride_tricks.sliding_window_view(np.append(f, np.zeros(2 * h + 1)), 2 * h + 1)
    start = np.sort(rng.integers(0, f.size, 500))
    stop = np.minimum(start + rng.integers(1, 2 * h + 2, start.size), f.size)
    w = window_rows(start, stop, f.size)
    rows = np.arange(start.size)
    for fill, arg in ((np.inf, np.argmin), (-np.inf, np.argmax)):
        want = w[rows, arg(np.where(w >= 0, f[np.clip(w, 0, f.size - 1)], fill), 1)]
        assert np.array_equal(_window_arg(view, start, stop, fill, arg), want)
