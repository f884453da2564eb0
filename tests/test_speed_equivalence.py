"""Faster forms of the pipeline's helpers against the forms they replace: the same bits."""

from __future__ import annotations

import numpy as np

from imu.pipeline.signals import segment_max, segment_min


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
