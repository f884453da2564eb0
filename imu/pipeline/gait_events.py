"""Initial contact and toe-off from the vertical specific force of the pelvis (docs/running.md).

``f_v`` is the specific force along "up" (g): of the sensor (accelerometer only) or of the
pelvis centre (with a gyroscope, the sensor's lever arm removed). Both detectors work on one
signal per sample and a mask of the samples in their gait.

* :class:`WalkEvents` -- walking. IC at the peak of ``f_v`` low-passed at ``lowpass_hz``
  (zero phase, sub-sample parabola) minus a fixed latency: the lower back feels the loading of
  the leading leg a few tens of ms after heel strike. This is the Gaussian-smoothing
  (continuous wavelet) idea of McCamley et al. (2012) applied to ``f_v`` directly (their
  integration + Gaussian derivative is a Gaussian-smoothed ``f_v``); Zijlstra & Hof (2003) place
  IC at the forward-acceleration peak for the same reason. Toe-off of the same foot = the next
  IC plus a double support of ``ds_ratio`` x the step time. Measured on real walking
  (docs/running.md): 95 % of heel strikes within 0.15 s, stance time MAE ~40 ms.
* :class:`RunEvents` -- running. One stance pulse of ``f_v`` per step (the highest peak within
  ``min_step_s``). IC / toe-off = the last upward / downward crossing of
  ``base + fraction (peak - base)`` before the stance maximum / the next flight minimum, on
  ``f_v`` low-passed at ``lowpass_hz``; ``base`` = the flight level, the median of the low part
  (< min + 20 % of the pulse) of the interval between pulses (robust to the dips a hip sensor
  shows around impact). The vertical specific force of the pelvis is close to the vertical
  ground reaction force in body weights, so this is the force-plate threshold rule on the
  sacral signal (Auvinet et al. 2002; Lee et al. 2010; Patoz et al. 2022). At a run -> walk
  transition there is no flight left: a pulse followed by a flight level above ``max_flight_g``
  is not a running step (walking detects it); nor is a stance within ``min_edge_s`` of the
  start or end of the data (cut by it: the contact or toe-off is not in the data).

:func:`merge_events` puts the two in one time order (a walking step near a running one is that
step), :func:`step_bouts` groups them into bouts of consecutive steps of one gait.

References: Auvinet B et al. (2002) Gait Posture 16:124-134. Lee JB, Sutter KJ, Askew CD,
Burkett BJ (2010) Identifying symmetry in running gait using a single inertial sensor. J Sci Med
Sport 13:559-563. McCamley J, Donati M, Grimpampi E, Mazza C (2012) An enhanced estimate of
initial contact and final contact instants of time using lower trunk inertial sensor data. Gait
Posture 36:316-318. Patoz A et al. (2022) A single sacral-mounted inertial measurement unit to
estimate peak vertical ground reaction force, contact time, and flight time in running. Sensors
22:784. Zijlstra W, Hof AL (2003) Assessment of spatio-temporal gait parameters from trunk
accelerations during human walking. Gait Posture 18:1-10.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import numpy as np
from numpy.typing import NDArray

from imu.metrics.gait import pelvic_drop_deg
from imu.pipeline.base import SegmentationAlgorithm
from imu.pipeline.dsp import find_peaks, maximum_filter1d
from imu.pipeline.signals import lowpass, running_sum, segment_max, segment_range

if TYPE_CHECKING:
    from imu.pipeline.gait_bouts import GaitBouts

Array = NDArray[np.float64]


# ------------------------------------------------------------------------------- helpers ---
def _lowpass(x: Array, cutoff_hz: float, fs: float) -> Array:
    """:func:`imu.pipeline.signals.lowpass`, a no-op on a signal too short to filter."""
    return lowpass(x, cutoff_hz, fs) if x.size > 15 else np.asarray(x, dtype=float)


ROW_BLOCK = 1024
"""Steps per block of the window matrices (:func:`window_rows`) of :class:`RunEvents`."""


def _row_blocks(n: int, size: int = ROW_BLOCK) -> list[slice]:
    """Slices of ``size`` rows covering ``range(n)``."""
    return [slice(a, min(a + size, n)) for a in range(0, n, size)]


def window_rows(start: NDArray[np.int64], stop: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Index rows ``[start_k, stop_k)`` padded with -1 (ragged windows as one matrix)."""
    width = int(max(1, np.max(stop - start))) if start.size else 1
    idx = start[:, None] + np.arange(width)[None, :]
    idx[(idx >= stop[:, None]) | (idx < 0) | (idx >= n)] = -1
    return idx


def _window_arg(view: Array, start: NDArray[np.int64], stop: NDArray[np.int64],
                fill: float, arg: Callable[..., NDArray[np.int64]]) -> NDArray[np.int64]:
    """Sample index of the first minimum (``arg`` np.argmin, ``fill`` +inf) or maximum
    (np.argmax, -inf) of ``x[start_k:stop_k]`` per k (non-empty windows inside ``x``):
    ``view`` holds the sliding windows of ``x`` padded at the end, so each row is one
    contiguous copy (a gather of whole rows, not of single samples)."""
    width = int(np.max(stop - start))
    v = np.where(np.arange(width)[None, :] < (stop - start)[:, None], view[start, :width], fill)
    return start + arg(v, 1)


def crossing(x: Array, idx: NDArray[np.int64], level: Array, rising: bool, last: bool) -> Array:
    """Fractional sample index where ``x`` crosses ``level[k]`` inside the index row ``idx[k]``
    (-1 = padding): ``rising`` from below to >= level, else from >= level to below; ``last``
    the last such crossing of the row, else the first. NaN where there is none."""
    valid = idx >= 0
    xi = np.where(valid, x[np.clip(idx, 0, x.size - 1)], np.nan)
    a, b = xi[:, :-1], xi[:, 1:]
    lv = level[:, None]
    hit = (a < lv) & (b >= lv) if rising else (a >= lv) & (b < lv)
    hit &= valid[:, :-1] & valid[:, 1:]
    any_hit = hit.any(axis=1)
    k = hit.shape[1] - 1 - np.argmax(hit[:, ::-1], axis=1) if last else np.argmax(hit, axis=1)
    r = np.arange(idx.shape[0])
    a0, b0 = a[r, k], b[r, k]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip((level - a0) / (b0 - a0), 0.0, 1.0)
    out = idx[r, k] + frac
    out[~any_hit] = np.nan
    return out


def parabolic_peak(x: Array, i: NDArray[np.int64]) -> Array:
    """Sub-sample position of the local extrema at ``i`` (parabola through three samples)."""
    j = np.clip(np.asarray(i, dtype=np.int64), 1, max(x.size - 2, 1))
    y0, y1, y2 = x[j - 1], x[j], x[j + 1]
    den = y0 - 2.0 * y1 + y2
    with np.errstate(all="ignore"):
        d = np.where(np.abs(den) > 1e-12, 0.5 * (y0 - y2) / den, 0.0)
    return j + np.clip(d, -0.5, 0.5)


def masked_median(x: Array, rows: NDArray[np.int64], below: Array) -> Array:
    """Per row: median of ``x`` over the row's indices whose value is below ``below[k]`` (NaN
    if none), vectorised (sorted with +inf for the excluded entries)."""
    v = np.where(rows >= 0, x[np.clip(rows, 0, x.size - 1)], np.inf)
    v[~(v < below[:, None])] = np.inf
    v.sort(axis=1)
    c = np.isfinite(v).sum(axis=1)
    r = np.arange(v.shape[0])
    lo = v[r, np.maximum((c - 1) // 2, 0)]
    hi = v[r, np.minimum(c // 2, v.shape[1] - 1)]
    med = np.where(c % 2 == 1, lo, 0.5 * (lo + hi))
    med[c == 0] = np.nan
    return med


def walk_step_peaks(
    fv_g: Array, sampling_rate_hz: float, lowpass_hz: float, min_step_s: float,
    min_prominence_g: float, lowpassed: Array | None = None,
) -> NDArray[np.int64]:
    """Walking step candidates: peaks of ``fv_g`` low-passed at ``lowpass_hz`` (or the given
    ``lowpassed`` signal), at least ``min_step_s`` apart and ``min_prominence_g`` prominent
    (sample indices)."""
    x = lowpassed if lowpassed is not None else _lowpass(
        np.asarray(fv_g, dtype=float), lowpass_hz, sampling_rate_hz)
    pk, _ = find_peaks(x, distance=max(1, int(min_step_s * sampling_rate_hz)),
                       prominence=min_prominence_g)
    return pk.astype(np.int64)


# ------------------------------------------------------------------------------- walking ---
class WalkEvents(SegmentationAlgorithm):
    """Walking initial contact and toe-off from ``f_v`` (module docstring).

    ``segment(fv_g, sampling_rate_hz, mask)``: steps are the candidates
    (:func:`walk_step_peaks`) on samples where ``mask`` is True.

    Parameters
    ----------
    lowpass_hz, min_step_s, min_prominence_g
        Step candidates: peaks of ``f_v`` low-passed at ``lowpass_hz`` (zero phase), at least
        ``min_step_s`` apart and ``min_prominence_g`` prominent.
    latency_s
        The lower back peaks this long after heel strike: IC = peak - ``latency_s``.
    ds_ratio
        Toe-off of a foot = the next IC + ``ds_ratio`` x that step time (double support).
    max_step_s
        A longer interval ends a sequence of steps; the last step of a sequence takes the
        median step time of the recording for its toe-off.

    Results
    -------
    peak_idx_
        Sample index of each step's ``f_v`` peak.
    ic_idx_, to_idx_
        Initial contact and toe-off as fractional sample indices.
    """

    def __init__(
        self,
        lowpass_hz: float = 2.0,
        min_step_s: float = 0.3,
        min_prominence_g: float = 0.03,
        latency_s: float = 0.05,
        ds_ratio: float = 0.22,
        max_step_s: float = 1.6,
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.min_step_s = min_step_s
        self.min_prominence_g = min_prominence_g
        self.latency_s = latency_s
        self.ds_ratio = ds_ratio
        self.max_step_s = max_step_s

    def segment(self, fv_g: Array, sampling_rate_hz: float, mask: NDArray[np.bool_]) -> Self:
        """Walking steps of ``fv_g`` (g) where ``mask`` is True."""
        fs = float(sampling_rate_hz)
        fv = np.asarray(fv_g, dtype=float)
        x = _lowpass(fv, self.lowpass_hz, fs)
        pk = walk_step_peaks(fv, fs, self.lowpass_hz, self.min_step_s, self.min_prominence_g, x)
        pk = pk[np.asarray(mask, dtype=bool)[pk]]
        ic = parabolic_peak(x, pk) - self.latency_s * fs if pk.size else np.empty(0)
        self.peak_idx_ = pk
        self.ic_idx_ = ic
        self.to_idx_ = walk_toe_off(ic, fs, self.ds_ratio, self.max_step_s)
        return self


def walk_toe_off(ic: Array, fs: float, ds_ratio: float, max_step_s: float) -> Array:
    """Toe-off of each walking step's foot (fractional sample index): the next contact plus
    ``ds_ratio`` x that step time; after the last step of a sequence (next contact more than
    ``max_step_s`` away) the median step time stands in."""
    d = np.diff(ic)
    ok = d <= max_step_s * fs
    med = float(np.median(d[ok])) if ok.any() else 0.55 * fs
    nxt = np.append(np.where(ok, ic[1:], np.nan), np.nan)
    step = np.append(np.where(ok, d, np.nan), np.nan)
    return np.where(np.isfinite(nxt), nxt + ds_ratio * step, ic + (1 + ds_ratio) * med)


# ------------------------------------------------------------------------------- running ---
class RunEvents(SegmentationAlgorithm):
    """Running initial contact and toe-off from the stance pulses of ``f_v`` (module
    docstring).

    ``segment(fv_g, sampling_rate_hz, mask)``: one step per stance pulse whose peak lies where
    ``mask`` is True.

    Parameters
    ----------
    count_lowpass_hz, min_step_s, min_peak_g
        Steps: peaks of ``f_v`` low-passed at ``count_lowpass_hz`` (None: the event signal;
        the impact and active peaks of one stance are less than ``min_step_s`` apart, so one of
        them is kept), at least ``min_step_s`` apart, above ``min_peak_g``.
    lowpass_hz
        Low-pass of ``f_v`` for the events.
    ic_fraction, to_fraction
        Contact / toe-off level: this fraction of the pulse height above the flight level.
    max_half_step_s
        The flight minima and levels are searched within this time of the stance peak.
    max_flight_g, min_flight_s
        A pulse whose flight level after it is above ``max_flight_g``, or that stays below it
        for less than ``min_flight_s``, has no flight: not a running step (a running step is a
        contact, a stance and a flight).
    min_edge_s
        A contact earlier or a toe-off later than this from the ends of the data is not kept
        (the stance is cut by the recording).

    Results
    -------
    peak_idx_
        Sample index of the stance maximum of each step.
    ic_idx_, to_idx_
        Initial contact and toe-off as fractional sample indices (NaN where not found).
    peak_g_, base_before_g_, base_after_g_
        Stance peak and the flight levels before and after it (g).
    """

    def __init__(
        self,
        count_lowpass_hz: float | None = None,
        lowpass_hz: float = 25.0,
        min_step_s: float = 0.2,
        min_peak_g: float = 1.2,
        ic_fraction: float = 0.06,
        to_fraction: float = 0.06,
        max_half_step_s: float = 0.45,
        max_flight_g: float = 0.5,
        min_flight_s: float = 0.03,
        min_edge_s: float = 0.05,
    ) -> None:
        self.count_lowpass_hz = count_lowpass_hz
        self.lowpass_hz = lowpass_hz
        self.min_step_s = min_step_s
        self.min_peak_g = min_peak_g
        self.ic_fraction = ic_fraction
        self.to_fraction = to_fraction
        self.max_half_step_s = max_half_step_s
        self.max_flight_g = max_flight_g
        self.min_flight_s = min_flight_s
        self.min_edge_s = min_edge_s

    def segment(self, fv_g: Array, sampling_rate_hz: float, mask: NDArray[np.bool_]) -> Self:
        """Running steps of ``fv_g`` (g) whose stance peak lies where ``mask`` is True."""
        fs = float(sampling_rate_hz)
        fv = np.asarray(fv_g, dtype=float)
        n = fv.size
        f = _lowpass(fv, self.lowpass_hz, fs)
        xc = f if self.count_lowpass_hz is None else _lowpass(fv, self.count_lowpass_hz, fs)
        pk, _ = find_peaks(xc, distance=max(1, int(self.min_step_s * fs)), height=self.min_peak_g)
        pk = pk[np.asarray(mask, dtype=bool)[pk]].astype(np.int64)
        empty = np.empty(0)
        if pk.size == 0:
            self.peak_idx_ = pk
            self.ic_idx_ = self.to_idx_ = self.peak_g_ = empty
            self.base_before_g_ = self.base_after_g_ = empty
            return self
        h = int(self.max_half_step_s * fs)
        prev_pk = np.concatenate([[pk[0] - h], pk[:-1]])
        next_pk = np.concatenate([pk[1:], [pk[-1] + h]])
        lo0 = np.maximum(np.maximum(prev_pk, pk - h), 0)
        hi1 = np.minimum(np.minimum(next_pk, pk + h), n - 1)
        # The windows of a block of steps at a time are index matrices (steps x samples): an
        # hour's 10,000 steps at once would hold ~100 MB of them; each row is independent.
        i_min0, i_min1, i_max = (np.empty(pk.size, dtype=np.int64) for _ in range(3))
        # the windows (at most 2 h + 1 samples) as rows of a view of f padded at the end
        view = np.lib.stride_tricks.sliding_window_view(np.append(f, np.zeros(2 * h + 1)),
                                                        2 * h + 1)
        for s in _row_blocks(pk.size):  # flight minima before / after, the stance maximum
            i_min0[s] = _window_arg(view, lo0[s], pk[s] + 1, np.inf, np.argmin)
            i_min1[s] = _window_arg(view, pk[s], hi1[s] + 1, np.inf, np.argmin)
            i_max[s] = _window_arg(view, i_min0[s], i_min1[s] + 1, -np.inf, np.argmax)
        peak = f[i_max]
        b0, b1 = f[i_min0], f[i_min1]
        prev_max = np.maximum(np.concatenate([[0], i_max[:-1]]), np.maximum(i_max - h, 0))
        next_max = np.minimum(np.concatenate([i_max[1:], [n - 1]]), np.minimum(i_max + h, n - 1))
        ic, to, flight = np.empty(pk.size), np.empty(pk.size), np.empty(pk.size, dtype=bool)
        for s in _row_blocks(pk.size):
            # flight level: median of the low part of the interval between pulses
            b0[s] = masked_median(f, window_rows(prev_max[s], i_max[s] + 1, n),
                                  b0[s] + 0.2 * (peak[s] - b0[s]))
            b1[s] = masked_median(f, window_rows(i_max[s], next_max[s] + 1, n),
                                  b1[s] + 0.2 * (peak[s] - b1[s]))
            ic[s] = crossing(f, window_rows(i_min0[s], i_max[s] + 1, n),
                             b0[s] + self.ic_fraction * (peak[s] - b0[s]), True, True)
            to[s] = crossing(f, window_rows(i_max[s], i_min1[s] + 1, n),
                             b1[s] + self.to_fraction * (peak[s] - b1[s]), False, True)
            # a running step has a flight after its stance: below max_flight_g for min_flight_s
            w_after = window_rows(i_max[s], next_max[s] + 1, n)
            low = (w_after >= 0) & (f[np.clip(w_after, 0, n - 1)] < self.max_flight_g)
            flight[s] = (b1[s] <= self.max_flight_g) & (
                low.sum(axis=1) >= self.min_flight_s * fs)
        # a stance at the very start or end of the data: its contact or toe-off is not in it
        edge = self.min_edge_s * fs
        flight &= (ic >= edge) & (to <= n - 1 - edge)
        ic[~flight] = np.nan
        to[~flight] = np.nan
        self.peak_idx_ = i_max
        self.ic_idx_ = ic
        self.to_idx_ = to
        self.peak_g_ = peak
        self.base_before_g_ = b0
        self.base_after_g_ = b1
        return self


# ------------------------------------------------------------------- steps from events ---
def window_std(x: Array, a: NDArray[np.int64], b: NDArray[np.int64]) -> Array:
    """Standard deviation of ``x[a_k:b_k]`` per k (cumulative sums)."""
    c1, c2 = running_sum(x), running_sum(x * x)
    m = np.maximum(b - a, 1)
    mean = (c1[b] - c1[a]) / m
    return np.sqrt(np.maximum((c2[b] - c2[a]) / m - mean * mean, 0.0))


def step_bouts(
    ic: Array, is_run: NDArray[np.bool_], valid: NDArray[np.bool_], fs: float
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Bout number per step (consecutive steps of one gait, intervals up to 0.8 s running and
    1.6 s walking, no lost samples between) and whether the step is the last of its bout."""
    n = valid.size
    i_ic = np.clip(np.round(ic).astype(np.int64), 0, n - 1)
    bad = np.concatenate([[0], np.cumsum(~valid)])
    d = np.diff(ic) / fs
    limit = np.where(is_run[1:] & is_run[:-1], 0.8, 1.6)
    new = np.concatenate([[True], (d > limit) | (is_run[1:] != is_run[:-1])
                          | (bad[i_ic[1:]] - bad[i_ic[:-1]] > 0)])
    return (np.cumsum(new) - 1).astype(np.int64), np.concatenate([new[1:], [True]])

def step_ranges(
    ic: Array, is_run: NDArray[np.bool_], valid: NDArray[np.bool_], fs: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Sample range of each step (contact to next contact; the last of a bout: the median
    step) and its bout number (:func:`step_bouts`)."""
    n = valid.size
    bout, last = step_bouts(ic, is_run, valid, fs)
    d = np.append(np.diff(ic), np.nan)
    med = float(np.median(d[~last])) if (~last).any() else 0.5 * fs
    a = np.clip(np.round(ic).astype(np.int64), 0, n - 1)
    b = np.clip(a + np.round(np.where(last, med, d)).astype(np.int64), 0, n)
    return a, b, bout


def merge_events(ric: Array, rto: Array, wic: Array, wto: Array, fs: float
           ) -> tuple[Array, Array, NDArray[np.bool_]]:
    """Running and walking events in time order: steps without a contact or toe-off dropped;
    a walking step within 0.2 s of a running step is that step. The first running step of a
    run (none in the 0.8 s before it) that a walking contact precedes by 0.05-0.3 s, itself
    within 1 s of the walking contact before, is the step that pushes off from walking into the
    first flight: a walking-like stance whose loading comes before its push, so its contact is
    the walking one."""
    ok = np.isfinite(ric) & np.isfinite(rto) & (rto > ric)
    ric, rto = ric[ok].copy(), rto[ok]
    if ric.size and wic.size:
        first = np.concatenate([[True], np.diff(ric) > 0.8 * fs])
        k = np.searchsorted(wic, ric) - 1  # the walking contact before each running one
        lead = np.where(k >= 0, ric - wic[np.maximum(k, 0)], np.inf)
        walked = np.concatenate([[False], np.diff(wic) < 1.0 * fs])  # the walk went on
        move = first & (lead > 0.05 * fs) & (lead <= 0.3 * fs) & (k >= 0) & walked[
            np.maximum(k, 0)]
        ric[move] = wic[k[move]]
        j = np.clip(np.searchsorted(ric, wic), 1, ric.size) - 1
        near = np.minimum(np.abs(wic - ric[j]), np.abs(wic - ric[np.minimum(j + 1, ric.size - 1)]))
        keep = near > 0.2 * fs
        wic, wto = wic[keep], wto[keep]
    ic = np.concatenate([ric, wic])
    to = np.concatenate([rto, wto])
    is_run = np.concatenate([np.ones(ric.size, bool), np.zeros(wic.size, bool)])
    order = np.argsort(ic, kind="stable")
    return ic[order], to[order], is_run[order]


def step_columns(
    t: Array, fs: float, ic: Array, to: Array, is_run: NDArray[np.bool_],
    valid: NDArray[np.bool_], side: NDArray[np.str_], obliquity: Array, height: Array,
) -> dict[str, NDArray[Any]] | None:
    """The columns of the steps table (``imu.core.schema.STEPS`` but ``bout_cadence_spm``;
    None without steps) from the contacts and toe-offs (fractional sample indices on the
    uniform grid ``t``), the steps' gait and sides, the obliquity and the height per sample."""
    n = t.size
    if ic.size == 0:
        return None
    i_ic = np.clip(np.round(ic).astype(np.int64), 0, n - 1)
    bout, last = step_bouts(ic, is_run, valid, fs)
    d = np.diff(ic) / fs
    t_ic = t[0] + ic / fs
    t_to = t[0] + to / fs
    step_s = np.where(last, np.nan, np.append(d, np.nan))
    med = float(np.median(d)) * fs if d.size else 0.5 * fs
    nxt = np.where(last, i_ic + med, np.append(i_ic[1:], 0))
    nxt = np.clip(np.round(nxt).astype(np.int64), 0, n - 1)
    vo = 100.0 * segment_range(height, i_ic, np.maximum(nxt, i_ic))
    i_to = np.clip(np.round(to).astype(np.int64), 0, n - 1)
    i_to = np.maximum(i_to, i_ic)
    drop = np.full(ic.size, np.nan)
    if np.isfinite(obliquity).any():
        drop_l = segment_max(pelvic_drop_deg(obliquity, "L"), i_ic, i_to)
        drop_r = segment_max(pelvic_drop_deg(obliquity, "R"), i_ic, i_to)
        drop = np.where(side == "L", drop_l, np.where(side == "R", drop_r, np.nan))
    flight = np.where(is_run & ~last, (np.append(t_ic[1:], np.nan) - t_to) * 1000.0, np.nan)
    return {
        "step": np.arange(1, ic.size + 1, dtype=np.int64),
        "gait": np.where(is_run, "run", "walk"),
        "side": side,
        "contact_s": t_ic,
        "toe_off_s": t_to,
        "gct_ms": (t_to - t_ic) * 1000.0,
        "vo_cm": vo,
        "pelvic_drop_deg": drop,
        "flight_ms": flight,
        "step_s": step_s,
        "bout": bout.astype(np.int64),
    }


def gait_steps(
    fv: Array, gb: GaitBouts, valid: NDArray[np.bool_], fs: float, run_events: RunEvents,
    walk_events: WalkEvents, still_sd_g: float, first_pass: bool = False,
) -> tuple[Array, Array, NDArray[np.bool_]]:
    """Contacts, toe-offs (fractional sample indices) and gait of the steps of the bouts
    ``gb`` (:class:`~imu.pipeline.gait_bouts.GaitBouts`) in the vertical specific force ``fv``,
    in time order (stage 5 of :mod:`imu.pipeline.gait`). The first pass (on the sensor's
    ``f_v``) takes the walking steps of the bouts as they are (whole samples: they only orient
    the pelvis frame); a stance pulse after ``still_sd_g`` of quiet is a push-off, not a
    contact."""
    run_ev = run_events.clone().segment(fv, fs, gb.running_ & valid)
    walk = walk_events
    if first_pass:
        steps = gb.walk_steps_[valid[gb.walk_steps_]]
        wic = steps - walk.latency_s * fs
        wto = walk_toe_off(wic, fs, walk.ds_ratio, walk.max_step_s)
    else:  # steps without a flight where running starts or ends (half-steps, transitions)
        context = maximum_filter1d((gb.walking_ | ~gb.moving_).astype(np.int8),
                                   max(1, int(3.0 * fs)) | 1) > 0
        walk_ev = walk.clone().segment(
            fv, fs, (gb.walking_ | (gb.running_ & context)) & valid)
        wic, wto = walk_ev.ic_idx_, walk_ev.to_idx_
    ric, rto = run_ev.ic_idx_, run_ev.to_idx_
    # a pulse out of quiet standing (no step in the 0.8 s before, a still signal, no
    # flight) is the push-off of a start, not a contact: the foot was on the ground already
    ok = np.flatnonzero(np.isfinite(ric))
    if ok.size:
        prev = np.sort(np.concatenate([ric[ok], wic]))
        # the step before: at least 0.25 s earlier (a walking peak in the push-off is it)
        j = np.searchsorted(prev, ric[ok] - 0.25 * fs) - 1
        gap = ric[ok] - np.where(j >= 0, prev[np.maximum(j, 0)], -np.inf)
        a = np.clip(np.round(ric[ok] - 0.8 * fs).astype(np.int64), 0, fv.size - 1)
        b = np.clip(np.round(ric[ok] - 0.15 * fs).astype(np.int64), 0, fv.size - 1)
        still = (window_std(fv, a, np.maximum(b, a + 1)) < still_sd_g) & (
            b - a >= 0.5 * fs)  # ... seen in the data
        supported = run_ev.base_before_g_[ok] > run_ev.max_flight_g  # not out of a flight
        push = ok[(gap > 0.8 * fs) & still & supported]
        if push.size:  # ... and a loading peak in the push-off is no walking step either
            near = np.abs(wic[:, None] - ric[push][None, :] + 0.3 * fs) <= 0.5 * fs
            wic, wto = wic[~near.any(axis=1)], wto[~near.any(axis=1)]
            ric = ric.copy()
            ric[push] = np.nan
    return merge_events(ric, rto, wic, wto, fs)
