"""``scipy.signal.find_peaks`` / ``peak_prominences`` in numpy (re-exported by
:mod:`imu.pipeline.dsp`): the same peaks and properties for ``height``, ``distance``,
``prominence`` and ``wlen``, vectorised (a Python loop only over peaks closer than ``distance``
to another, where scipy's priority order decides). Inputs are assumed free of NaN.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


class PeakPropertyWarning(RuntimeWarning):
    """A peak property is unexpected (as scipy's: a prominence of 0)."""


def _unpack(interval: float | tuple | None) -> tuple[float | None, float | None]:
    if isinstance(interval, tuple):
        return interval[0], interval[1]
    return interval, None


def _select(values: Array, lo: float | None, hi: float | None) -> NDArray[np.bool_]:
    keep = np.ones(values.size, dtype=bool)
    if lo is not None:
        keep &= lo <= values
    if hi is not None:
        keep &= values <= hi
    return keep


def _runs(x: Array) -> tuple[NDArray[np.int64] | None, NDArray[np.int64] | None,
                             NDArray[np.bool_]]:
    """Runs of equal values: starts, ends (inclusive) and whether each run is followed by a
    higher one (for all but the last). Starts and ends are None when every run is one sample
    (no two neighbours equal, as in any filtered signal): run k is sample k."""
    d = np.diff(x)
    nz = np.flatnonzero(d)
    if nz.size == d.size:
        return None, None, d > 0
    up = d[nz] > 0
    del d
    starts = np.concatenate(([0], nz + 1))
    ends = np.concatenate((nz, [x.size - 1]))
    return starts, ends, up


def _local_maxima(x: Array) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Plateau midpoints, left and right edges of the local maxima (as scipy's
    ``_local_maxima_1d``: a plateau touching either end of ``x`` is not a maximum)."""
    if x.size < 3:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    # the runs of :func:`_runs` without their start and end arrays (a smooth signal has a run
    # per sample): run k >= 1 spans nz[k-1] + 1 .. nz[k]
    d = np.diff(x)
    nz = np.flatnonzero(d)
    up = (d > 0)[nz]
    del d
    k = np.flatnonzero(up[:-1] & ~up[1:]) + 1
    left, right = nz[k - 1] + 1, nz[k]
    return (left + right) // 2, left, right


def _peak_distance(peaks: NDArray[np.int64], priority: Array, distance: float) -> NDArray[np.bool_]:
    """scipy's ``_select_by_peak_distance``: the peaks in decreasing priority (its argsort
    order) each remove the lower-priority ones closer than ``distance``. Only peaks with a
    neighbour closer than ``distance`` take part (a Python loop over those peaks only)."""
    d = math.ceil(distance)
    size = peaks.size
    keep = np.ones(size, dtype=bool)
    if size < 2:
        return keep
    close = np.diff(peaks) < d
    involved = np.zeros(size, dtype=bool)
    involved[:-1] |= close
    involved[1:] |= close
    if not involved.any():
        return keep
    order = np.argsort(priority)
    order = order[involved[order]][::-1].tolist()
    pk = peaks.tolist()
    kp = [True] * size
    for j in order:
        if not kp[j]:
            continue
        k = j - 1
        while k >= 0 and pk[j] - pk[k] < d:
            kp[k] = False
            k -= 1
        k = j + 1
        while k < size and pk[k] - pk[j] < d:
            kp[k] = False
            k += 1
    return np.asarray(kp, dtype=bool)


def _sparse_table(v: Array, better: np.ufunc, prefer_right: bool) -> list[NDArray[np.int64]]:
    """Levels t[k][i] = arg-extremum of v[i : i + 2**k] (ties: rightmost or leftmost)."""
    t = [np.arange(v.size)]
    k = 1
    while (1 << k) <= v.size:
        a = t[-1][: v.size - (1 << k) + 1]
        b = t[-1][(1 << (k - 1)) : (1 << (k - 1)) + a.size]
        va, vb = v[a], v[b]
        take_b = (better(vb, va) == vb) & ((vb != va) | prefer_right)
        t.append(np.where(take_b, b, a))
        k += 1
    return t


def _range_arg(
    t: list[NDArray[np.int64]],
    v: Array,
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
    better: np.ufunc,
    prefer_right: bool,
) -> NDArray[np.int64]:
    """Arg-extremum of v[lo : hi] (hi > lo) per query from a sparse table."""
    length = hi - lo
    k = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
    k = np.where((1 << (k + 1)) <= length, k + 1, k)  # guard log2 rounding
    k = np.where((1 << k) > length, k - 1, k)
    out = np.empty(lo.size, dtype=np.int64)
    for level in np.unique(k):
        s = k == level
        a = t[level][lo[s]]
        b = t[level][hi[s] - (1 << level)]
        va, vb = v[a], v[b]
        take_b = (better(vb, va) == vb) & ((vb != va) | prefer_right)
        out[s] = np.where(take_b, b, a)
    return out


def _nearest_greater(
    t: list[NDArray[np.int64]], ev: Array, pos: NDArray[np.int64], val: Array, left: bool
) -> NDArray[np.int64]:
    """For each query, the nearest index before (``left``) or after ``pos`` in ``ev`` whose
    value exceeds ``val`` (-1 or ev.size when none): binary lifting over ``t``, the max sparse
    table of ``ev``."""
    n = ev.size
    if left:
        cur = pos.copy()  # [cur, pos) all <= val
        for lev in range(len(t) - 1, -1, -1):
            c = cur - (1 << lev)
            ok = c >= 0
            ci = np.where(ok, c, 0)
            ok &= ev[t[lev][np.minimum(ci, t[lev].size - 1)]] <= val
            cur = np.where(ok, c, cur)
        return cur - 1
    cur = pos + 1  # (pos, cur) all <= val
    for lev in range(len(t) - 1, -1, -1):
        ok = cur + (1 << lev) <= n
        ci = np.where(ok, cur, 0)
        ok &= ev[t[lev][np.minimum(ci, t[lev].size - 1)]] <= val
        cur = np.where(ok, cur + (1 << lev), cur)
    return cur


def peak_prominences(
    x: ArrayLike, peaks: ArrayLike, wlen: int | None = None
) -> tuple[Array, NDArray[np.int64], NDArray[np.int64]]:
    """Prominences, left and right bases of ``peaks`` (local maxima of ``x``, as
    :func:`find_peaks` finds them), as ``scipy.signal.peak_prominences``: from the peak, the
    base on each side is the lowest point before the signal rises above the peak (or the
    window of ``wlen`` samples ends); ties go to the base nearest the peak.

    Vectorised over runs of equal values: between two extrema the runs are monotone, so a
    range minimum is the range's first (or last) run or a valley; the stopping points are
    found from the previous/next higher maximum (binary lifting on a sparse table) and a
    bisection down its flank.
    """
    x = np.asarray(x, dtype=float)
    peaks = np.asarray(peaks, dtype=np.int64)
    nq = peaks.size
    prom = np.zeros(nq)
    lb = np.zeros(nq, dtype=np.int64)
    rb = np.zeros(nq, dtype=np.int64)
    if nq == 0:
        return prom, lb, rb
    if np.any(peaks < 0) or np.any(peaks >= x.size):
        raise ValueError("peak index out of bounds")
    w = -1 if wlen is None else int(wlen)
    n = x.size
    if 2 <= w and nq * (w // 2 + 1) <= _WINDOW_CELLS:
        return _prominences_in_window(x, peaks, w // 2)
    starts, ends, up = _runs(x)
    # a smooth signal has a run per sample: then runs are samples (no index arrays, rv is x)
    rv = x if starts is None else x[starts]
    nr = rv.size
    xp = x[peaks]
    i_min = np.zeros(nq, dtype=np.int64)
    i_max = np.full(nq, n - 1, dtype=np.int64)
    if w >= 2:
        i_min = np.maximum(peaks - w // 2, 0)
        i_max = np.minimum(peaks + w // 2, n - 1)
    if starts is None:
        rp, r_lo, r_hi = peaks, i_min, i_max
    else:
        rp = np.searchsorted(starts, peaks, "right") - 1
        r_lo = np.searchsorted(starts, i_min, "right") - 1
        r_hi = np.searchsorted(starts, i_max, "right") - 1
    # maxima (interior peak runs) plus both end runs, and the valleys (interior minima)
    inner = np.arange(1, nr - 1)
    is_max = np.zeros(nr, dtype=bool)
    is_min = np.zeros(nr, dtype=bool)
    if nr > 2:
        is_max[inner] = up[:-1] & ~up[1:]
        is_min[inner] = ~up[:-1] & up[1:]
    is_max[0] = is_max[-1] = True
    er = np.flatnonzero(is_max)
    ev = rv[er]
    vr = np.flatnonzero(is_min)
    vv = rv[vr]
    # left: nearest higher maximum run, then the last run of its descent above the peak
    e_pos = np.searchsorted(er, rp)  # the peaks' own runs are maxima: er[e_pos] == rp
    table = _sparse_table(ev, np.maximum, False)
    q = _nearest_greater(table, ev, e_pos, xp, left=True)
    has = q >= 0
    lo = np.where(has, er[np.maximum(q, 0)], 0)  # rv[lo] > xp
    hi = rp.copy()  # rv[hi] <= xp
    _bisect(rv, lo, hi, xp, has, first_true=False)
    g = np.where(has, lo, -1)
    u = np.maximum(g + 1, r_lo)
    # right: nearest higher maximum after, then the first run of its ascent above the peak
    q2 = _nearest_greater(table, ev, e_pos, xp, left=False)
    has2 = q2 < er.size
    hi2 = np.where(has2, er[np.minimum(q2, er.size - 1)], nr - 1)  # rv[hi2] > xp
    lo2 = rp.copy()
    _bisect(rv, lo2, hi2, xp, has2, first_true=True)
    g2 = np.where(has2, hi2, nr)
    v_end = np.minimum(g2 - 1, r_hi)
    # minima: the first/last run of the range or the lowest valley inside
    left_min, left_base = _range_min(rv, vr, vv, u, rp, ends, right=True)
    right_min, right_base = _range_min(rv, vr, vv, rp, v_end, starts, right=False)
    left_base = np.where(left_min < xp, left_base, peaks)
    right_base = np.where(right_min < xp, right_base, peaks)
    left_min = np.minimum(left_min, xp)
    right_min = np.minimum(right_min, xp)
    prom = xp - np.maximum(left_min, right_min)
    if np.any(prom == 0):
        warnings.warn("some peaks have a prominence of 0", PeakPropertyWarning, stacklevel=2)
    return prom, left_base, right_base


_WINDOW_CELLS = 1 << 22
"""Largest peaks x half-window matrix :func:`_prominences_in_window` builds (32 MB)."""


def _prominences_in_window(
    x: Array, peaks: NDArray[np.int64], half: int
) -> tuple[Array, NDArray[np.int64], NDArray[np.int64]]:
    """:func:`peak_prominences` when a window bounds the search (``wlen`` >= 2): scipy's two
    scans per peak as one matrix of the ``half + 1`` samples on each side, walking away from
    the peak; a scan stops before the first sample above the peak or at the window's edge, and
    its base is the first lowest sample scanned (the nearest to the peak).

    The rows are windows of one array, ``x`` padded with ``half`` infinities on either side
    (the window's part outside ``x``) followed by the same reversed: a right scan is a window
    of the first half, a left scan one of the second; both sides in one matrix."""
    n, nq = x.size, peaks.size
    xp = x[peaks]
    pad = np.full(2 * (n + 2 * half), np.inf)
    pad[half : half + n] = x
    pad[n + 2 * half :] = pad[n + 2 * half - 1 :: -1]
    # row r: pad[r : r + half + 1]; right scan of p at p + half, left scan at 2 n + 3 half - 1 - p
    start = np.concatenate((2 * n + 3 * half - 1 - peaks, peaks + half))
    v = sliding_window_view(pad, half + 1)[start]
    top = np.concatenate((xp, xp))[:, None]
    above = v > top
    stop = np.argmax(above, axis=1)  # the first sample above the peak, or 0 if none
    rows = np.arange(2 * nq)
    stop[~above[rows, stop]] = half + 1  # none: the whole window (the peak itself is not above)
    np.copyto(v, np.inf, where=np.arange(half + 1) >= stop[:, None])  # from the stop on
    k = np.argmin(v, axis=1)
    low = v[rows, k]
    prom = xp - np.maximum(low[:nq], low[nq:])
    if np.any(prom == 0):
        warnings.warn("some peaks have a prominence of 0", PeakPropertyWarning, stacklevel=3)
    return prom, (peaks - k[:nq]).astype(np.int64), (peaks + k[nq:]).astype(np.int64)


def _bisect(
    rv: Array,
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
    val: Array,
    active: NDArray[np.bool_],
    first_true: bool,
) -> None:
    """In place: narrow [lo, hi] to adjacent runs where ``rv > val`` switches (true at lo,
    false at hi; or, with ``first_true``, false at lo, true at hi)."""
    while True:
        gap = active & (hi - lo > 1)
        if not gap.any():
            return
        mid = (lo + hi) // 2
        above = rv[mid] > val
        move_lo = gap & (above != first_true)
        move_hi = gap & (above == first_true)
        lo[move_lo] = mid[move_lo]
        hi[move_hi] = mid[move_hi]


def _range_min(
    rv: Array,
    vr: NDArray[np.int64],
    vv: Array,
    a: NDArray[np.int64],
    b: NDArray[np.int64],
    edge_idx: NDArray[np.int64] | None,
    right: bool,
) -> tuple[Array, NDArray[np.int64]]:
    """Minimum of runs a..b (inclusive) and its sample index: the rightmost (``right``: the
    run's end) or leftmost (the run's start) occurrence. Between extrema runs are monotone, so
    the minimum is the outer end run (a for right, b for left) or a valley inside.
    ``edge_idx`` None: runs are samples."""
    end_run = a if right else b
    best = rv[end_run].copy()
    idx = end_run.copy() if edge_idx is None else edge_idx[end_run].copy()
    v0 = np.searchsorted(vr, a, "left")
    v1 = np.searchsorted(vr, b, "right")
    ok = v1 > v0
    if ok.any() and vr.size:
        t = _sparse_table(vv, np.minimum, right)
        j = _range_arg(t, vv, v0[ok], v1[ok], np.minimum, right)
        val = vv[j]
        run = vr[j]
        take = val <= best[ok]
        best[ok] = np.where(take, val, best[ok])
        idx[ok] = np.where(take, run if edge_idx is None else edge_idx[run], idx[ok])
    return best, idx


def find_peaks(
    x: ArrayLike,
    height: float | tuple | None = None,
    distance: float | None = None,
    prominence: float | tuple | None = None,
    wlen: float | None = None,
) -> tuple[NDArray[np.int64], dict[str, NDArray]]:
    """Peaks of a 1-D signal, as ``scipy.signal.find_peaks`` with these arguments (applied
    in scipy's order: height, distance, prominence) and the same properties
    (``peak_heights``; ``prominences``, ``left_bases``, ``right_bases``)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError("`x` must be a 1-D array")
    if distance is not None and distance < 1:
        raise ValueError("`distance` must be greater or equal to 1")
    peaks, _, _ = _local_maxima(x)
    props: dict[str, NDArray] = {}
    if height is not None:
        heights = x[peaks]
        keep = _select(heights, *_unpack(height))
        peaks = peaks[keep]
        props["peak_heights"] = heights[keep]
    if distance is not None:
        keep = _peak_distance(peaks, x[peaks], distance)
        peaks = peaks[keep]
        props = {key: v[keep] for key, v in props.items()}
    if prominence is not None:
        if wlen is not None:
            if wlen <= 1:
                raise ValueError("`wlen` must be larger than 1, was " + str(wlen))
            wlen = math.ceil(wlen)
        prom, lb, rb = peak_prominences(x, peaks, None if wlen is None else int(wlen))
        props.update(prominences=prom, left_bases=lb, right_bases=rb)
        keep = _select(prom, *_unpack(prominence))
        peaks = peaks[keep]
        props = {key: v[keep] for key, v in props.items()}
    return peaks, props
