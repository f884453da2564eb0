"""The batched forms of the strength stages' numerics give the same bits as one item at a time
(issue 12: speed without changing any output)."""

from __future__ import annotations

import numpy as np

from imu.pipeline.segmentation import _enter, _first_below, _last_below, _zone_edge
from imu.pipeline.setreps import prominences
from imu.pipeline.signals import row_max
from imu.pipeline.timebase import box_means
from imu.pipeline.travel import anchored_height_m, anchored_heights_m


def test_box_means_equal_one_channel_at_a_time() -> None:
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.004, 0.006, 5000))
    x = rng.normal(size=(5000, 4))
    tc, out = box_means(t, x, 40.0)
    n = int(np.floor((t[-1] - t[0]) * 40.0 + 1e-9))
    edges = t[0] + np.arange(n + 1) / 40.0
    for j in range(4):
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (x[1:, j] + x[:-1, j]) * np.diff(t))])
        assert (np.diff(np.interp(edges, t, cum)) * 40.0).tobytes() == out[:, j].tobytes()
    assert tc.tobytes() == (0.5 * (edges[:-1] + edges[1:])).tobytes()


def _anchored_linspace(acc: np.ndarray, a: int, b: int, fs: float) -> np.ndarray:
    """The textbook form: trapezoids, the velocity's trend removed with np.linspace."""
    seg = acc[a : b + 1]
    if seg.size < 2:
        return np.zeros(seg.size)
    v = np.concatenate([[0.0], np.cumsum(0.5 * (seg[1:] + seg[:-1])) * (1.0 / fs)])
    v -= np.linspace(0.0, v[-1], v.size)
    return np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1])) * (1.0 / fs)])


def test_anchored_heights_equal_one_interval_at_a_time() -> None:
    rng = np.random.default_rng(7)
    acc = rng.normal(size=20000)
    acc[5000:6000] = 0.0  # a zero velocity step: numpy's linspace takes its other branch
    a = np.r_[rng.integers(0, 17000, 300), 5000, 5100]
    b = a + np.r_[rng.integers(-2, 2500, 300), 500, 3]
    for k, h in enumerate(anchored_heights_m(acc, a, b, 50.0)):
        ref = _anchored_linspace(acc, int(a[k]), int(b[k]), 50.0)
        assert h.shape == ref.shape and h.tobytes() == ref.tobytes()
        one = anchored_height_m(acc, int(a[k]), int(b[k]), 50.0)
        assert one.tobytes() == ref.tobytes()


def test_prominences_equal_the_window_by_window_form() -> None:
    rng = np.random.default_rng(2)
    for _ in range(2000):
        x = np.round(rng.normal(size=int(rng.integers(1, 60))), 1)
        pk = np.unique(rng.integers(0, x.size, int(rng.integers(0, 8))))
        low = [x[a : b + 1].min() for a, b in zip(pk[:-1], pk[1:], strict=True)]
        ref = np.minimum(np.r_[np.inf, x[pk[1:]] - low], np.r_[x[pk[:-1]] - low, np.inf])
        assert prominences(x, pk).tobytes() == ref.tobytes()


def _below_ref(w: np.ndarray, a: int, b: int, level: float, last: bool) -> float | None:
    """The searches as they were, with flatnonzero: the first downward crossing of ``level``
    in [a, b], or (``last``) the last upward one."""
    if b < a:
        return None
    j = np.flatnonzero(w[a : b + 1] < level)
    if j.size == 0:
        return None
    if last:
        j0 = a + int(j[-1])
        return float(b) if j0 == b else j0 + (level - w[j0]) / max(w[j0 + 1] - w[j0], 1e-12)
    j0 = a + int(j[0])
    if j0 == a:
        return float(a)
    return j0 - 1 + (w[j0 - 1] - level) / max(w[j0 - 1] - w[j0], 1e-12)


def test_crossing_searches_equal_flatnonzero() -> None:
    rng = np.random.default_rng(11)
    for _ in range(3000):
        w = np.round(rng.normal(size=int(rng.integers(1, 40))), 1)
        a, b = (int(v) for v in rng.integers(0, w.size, 2))
        level = float(np.round(rng.normal(), 1))
        assert _first_below(w, a, b, level) == _below_ref(w, a, b, level, last=False)
        assert _last_below(w, a, b, level) == _below_ref(w, a, b, level, last=True)
        c, lim = (int(v) for v in rng.integers(0, w.size, 2))
        for step in (-1, 1):
            seg = w[lim : c + 1][::-1] if step < 0 else w[c : lim + 1]
            hit = np.flatnonzero(seg <= level)
            ref = lim if hit.size == 0 else (c - int(hit[0]) if step < 0 else c + int(hit[0]))
            assert _enter(w, c, lim, level, step) == ref
            for below in (True, False):
                bad = np.flatnonzero(seg > level) if below else np.flatnonzero(seg < level)
                off = max((int(bad[0]) - 1) if bad.size else seg.size - 1, 0)
                ref = c - off if step < 0 else c + off
                assert _zone_edge(w, c, lim, level, step, below) == ref


def test_row_max_is_numpys_row_maximum() -> None:
    rng = np.random.default_rng(5)
    for k in (1, 3, 6):
        x = rng.normal(size=(1000, k))
        x[rng.integers(0, 1000, 20), rng.integers(0, k, 20)] = np.nan  # NaN propagates alike
        assert row_max(x).tobytes() == x.max(axis=1).tobytes()
