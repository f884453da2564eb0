"""Signal helpers shared by the pipeline's algorithms, in one place (vectorised numpy).

Filtering (:func:`lowpass`), moving statistics (:func:`moving_std`, :func:`still_mask`),
boolean masks as runs (:func:`runs`, :func:`clean_mask`), resampling (:func:`uniform_grid`,
:func:`block_mean`) and per-segment reductions over index intervals (:func:`segment_max`,
:func:`segment_min`, :func:`segment_range`, :func:`segment_mean`, :func:`window_min`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from imu.core.errors import InputError
from imu.core.plausibility import max_span_samples
from imu.pipeline.dsp import butter_sos, sosfiltfilt, uniform_filter1d

# ------------------------------------------------------------------------------ filtering ---


def lowpass(
    x: NDArray[np.float64], cutoff_hz: float, sampling_rate_hz: float
) -> NDArray[np.float64]:
    """Zero-phase 2nd-order Butterworth low-pass along axis 0 (no-op above Nyquist)."""
    if cutoff_hz >= 0.45 * sampling_rate_hz:
        return np.asarray(x, dtype=float)
    sos = butter_sos(2, cutoff_hz, fs=sampling_rate_hz)
    return sosfiltfilt(sos, x, axis=0)


def moving_std(x: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Centred moving standard deviation along axis 0 (O(N), vectorised)."""
    window = max(int(window), 1)
    m2 = uniform_filter1d(x * x, window, axis=0, mode="nearest")  # the square gone before m
    m = uniform_filter1d(x, window, axis=0, mode="nearest")
    m *= m  # in place: sqrt(max(m2 - m m, 0))
    m2 -= m
    del m
    np.maximum(m2, 0.0, out=m2)
    return np.sqrt(m2, out=m2)


def row_max(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``x.max(axis=1)`` of an (N, k) array, column by column: the same values (NaN propagates
    alike), ~25x faster for k = 3 (numpy reduces short rows one at a time)."""
    out = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        np.maximum(out, x[:, j], out=out)
    return out


def row_norm(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.linalg.norm(x, axis=1)`` of an (N, k) array (k < 8), column by column: the same
    values (numpy adds fewer than 8 squares in order), ~5x faster for k = 3."""
    out = np.multiply(x[:, 0], x[:, 0])
    t = np.empty_like(out)
    for j in range(1, x.shape[1]):
        out += np.multiply(x[:, j], x[:, j], out=t)
    return np.sqrt(out, out=out)


def still_mask(
    acc_g: NDArray[np.float64],
    gyr_dps: NDArray[np.float64],
    sampling_rate_hz: float,
    window_s: float = 0.4,
    gyr_std_dps: float = 2.0,
    acc_std_g: float = 0.02,
) -> NDArray[np.bool_]:
    """Samples whose surrounding window shows no movement (all axes below the thresholds).

    Uses the moving standard deviation, so a constant gyroscope bias does not matter.
    """
    w = int(round(window_s * sampling_rate_hz))
    g = row_max(moving_std(gyr_dps, w))
    a = row_max(moving_std(acc_g, w))
    return (g < gyr_std_dps) & (a < acc_std_g)


# ---------------------------------------------------------------------------------- masks ---


def runs(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """(K, 2) start (inclusive) and end (exclusive) indices of the True runs of ``mask``."""
    m = np.zeros(np.size(mask) + 2, dtype=np.int8)
    m[1:-1] = np.asarray(mask, dtype=bool)
    d = np.flatnonzero(np.diff(m))
    return d.reshape(-1, 2).astype(np.int64)


def interval_mask(lo: NDArray[np.int64], hi: NDArray[np.int64], n: int) -> NDArray[np.bool_]:
    """The ``n`` samples inside any of the intervals ``[lo_k, hi_k)`` (bounds in 0..n; the
    intervals may overlap or be empty): the inverse of :func:`runs`."""
    edge = np.zeros(n + 1, dtype=np.int32)
    np.add.at(edge, lo, 1)
    np.add.at(edge, hi, -1)
    return np.cumsum(edge[:-1]) > 0


def clean_mask(mask: NDArray[np.bool_], max_gap: int, min_len: int) -> NDArray[np.bool_]:
    """Run-length closing (gaps < ``max_gap`` samples filled) and opening (runs < ``min_len``
    removed) of a boolean mask, O(number of runs) and no signal-sized temporary."""
    r = runs(mask)
    if r.size == 0:
        return np.zeros(mask.size, dtype=bool)
    keep = np.concatenate([[True], (r[1:, 0] - r[:-1, 1]) >= max_gap])
    starts = r[keep, 0]
    ends = np.maximum.reduceat(r[:, 1], np.flatnonzero(keep))
    long = (ends - starts) >= min_len
    # the kept runs are disjoint and in order: the mask is False, True, ..., False in turn
    edges = np.empty(2 * int(long.sum()) + 2, dtype=np.int64)
    edges[0], edges[-1] = 0, mask.size
    edges[1:-1:2], edges[2:-1:2] = starts[long], ends[long]
    return np.repeat(np.arange(edges.size - 1) % 2 == 1, np.diff(edges))


# ----------------------------------------------------------------------------- resampling ---


def uniform_grid(
    t_s: NDArray[np.float64], x: NDArray[np.float64], sampling_rate_hz: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Samples ``x`` (N, C) at times ``t_s`` on a uniform grid at ``sampling_rate_hz`` from
    ``t_s[0]``: unchanged when no sample is missing, else linearly interpolated per column.
    The grid may not exceed :func:`imu.core.plausibility.max_span_samples` (memory stays
    bounded whatever the timestamps claim)."""
    fs = sampling_rate_hz
    n_uniform = int(round((t_s[-1] - t_s[0]) * fs)) + 1
    if n_uniform > max_span_samples(t_s.size, fs):
        raise InputError(
            f"{t_s.size} samples span {t_s[-1] - t_s[0]:.4g} s at {fs:g} Hz: mostly gaps"
        )
    if n_uniform == t_s.size:
        return t_s[0] + np.arange(t_s.size) / fs, x
    t = t_s[0] + np.arange(n_uniform) / fs
    return t, at_times(t, t_s, x)


def at_times(t: NDArray[np.float64], t_s: NDArray[np.float64], x: NDArray[np.float64]
             ) -> NDArray[np.float64]:
    """Samples ``x`` (N, C) at times ``t_s`` linearly interpolated at ``t``, column by column
    (:func:`uniform_grid`'s grid, or a window's part of a session's grid)."""
    out = np.empty((t.size, x.shape[1]))
    for j in range(x.shape[1]):
        out[:, j] = np.interp(t, t_s, x[:, j])
    return out


def grid_times(t0: float, n: int, fs: float) -> NDArray[np.float64]:
    """The times of ``n`` samples of the uniform grid from ``t0`` at ``fs`` (those of
    :func:`uniform_grid`), made only when needed."""
    return grid_times_of(t0, np.arange(n), fs)


def grid_times_of(t0: float, samples: NDArray[np.int64], fs: float) -> NDArray[np.float64]:
    """The times of some samples (indices) of :func:`grid_times`'s grid: the same numbers."""
    return t0 + samples / fs


def block_mean(x: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Mean over consecutive blocks of ``k`` samples (drops the incomplete last block), added
    in order: for (N, C) ``x`` the bits of ``x.reshape(n, k, C).mean(axis=1)`` (numpy adds a
    middle axis in order too), without its slow reduction over a short axis."""
    x = np.asarray(x, dtype=float)
    if k == 1:
        return x
    n = len(x) // k
    out = x[0 : n * k : k].copy()
    for j in range(1, k):
        out += x[j : n * k : k]
    return out / k


# --------------------------------------------------------------------- segment reductions ---


def segment_reduce(
    ufunc: np.ufunc, x: NDArray[np.float64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``ufunc.reduce`` over ``x[a_k : b_k + 1]`` per k (a_k <= b_k; the segments may overlap
    and come in any order): one ``reduceat`` over the index pairs, whose every other result
    is a segment (the ones between are discarded)."""
    idx = np.empty(2 * a.size, dtype=np.int64)
    idx[0::2] = a
    idx[1::2] = b + 1
    xp = np.append(x, x[-1])
    return ufunc.reduceat(xp, np.minimum(idx, x.size))[0::2]


def segment_max(
    x: NDArray[np.float64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.float64]:
    """max(x[a_k : b_k + 1]) per k."""
    return segment_reduce(np.maximum, x, a, b)


def segment_min(
    x: NDArray[np.float64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.float64]:
    """min(x[a_k : b_k + 1]) per k."""
    return segment_reduce(np.minimum, x, a, b)


def segment_range(
    x: NDArray[np.float64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.float64]:
    """max - min of x[a_k : b_k + 1] per k."""
    return segment_max(x, a, b) - segment_min(x, a, b)


def running_sum(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``[0, x0, x0 + x1, ...]`` (``x.size + 1`` values, summed in order as ``np.cumsum``),
    written into one array: no concatenated copy of a long signal. Window sums are
    differences of it."""
    c = np.empty(x.size + 1)
    c[0] = 0.0
    np.cumsum(x, out=c[1:])
    return c


def segment_mean(
    x: NDArray[np.float64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.float64]:
    """mean(x[a_k : b_k + 1]) per k (cumulative sums)."""
    cs = running_sum(x)
    return (cs[b + 1] - cs[a]) / (b + 1 - a)


def window_min(
    x: NDArray[np.float64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.float64]:
    """min(x[a_k : b_k + 1]) per k for any (also overlapping) intervals, through a padded
    index matrix (for short windows)."""
    w = int(np.max(b - a)) + 1 if a.size else 1
    idx = a[:, None] + np.arange(w)[None, :]
    vals = np.where(idx <= b[:, None], x[np.clip(idx, 0, x.size - 1)], np.inf)
    return vals.min(axis=1)
