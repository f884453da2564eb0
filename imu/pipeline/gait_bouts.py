"""Walking and running bouts from the sensor-frame accelerometer alone (docs/running.md).

The ONE bout algorithm of the package: the gait analysis (:mod:`imu.pipeline.gait`) and the
strength path both use :class:`GaitBouts`, on any mounting, with or without a gyroscope, with or
without a standing start.

1. **Vertical without standing.** Over whole strides the pelvis returns to where it was, so the
   mean acceleration is zero and the mean specific force is gravity: "up" in the sensor frame is
   the direction of the centred moving mean of the specific force over ``up_window_s``
   (Moe-Nilssen 1998). Inside running bouts "up" is then replaced by the first principal axis of
   the specific force (the 0 -> 3 g stance pulses dominate its variance, chunks of at most
   ``run_up_window_s``), signed towards the mean: a covariance ignores a constant accelerometer
   offset, which the mean does not (a real sacral recording with a -0.5 g offset on its
   fore-aft axis tilts the mean by 25 deg). ``f_v`` = specific force along "up".
2. **Moving**: moving standard deviation of ``f_v`` over ``move_window_s`` above ``move_sd_g``.
3. **Running** is the only gait with a flight phase: within +-``flight_window_s`` the low-passed
   ``f_v`` stays below ``flight_g`` (free fall, ~0 g) for ``flight_min_s`` and rises above
   ``stance_g`` (Cavanagh & Lafortune 1980; Lee et al. 2010); the dip of a hard heel strike in
   walking is too short to count. Gaps shorter than ``close_gap_s`` are closed, running
   shorter than ``min_run_s`` dropped.
4. **Walking** is rhythmic stepping without flight: the step candidates are the peaks of ``f_v``
   low-passed at ``walk_lowpass_hz`` (the loading response of each step; McCamley et al. 2012,
   :func:`imu.pipeline.gait_events.walk_step_peaks`) in moving, non-running samples; a walking
   bout is a sequence of at least ``min_walk_steps`` of them, each within ``walk_max_step_s`` of
   the previous and within ``walk_split_ratio`` times the sequence's median interval (the
   slower moves as someone stops and settles end the bout instead of spoiling its rhythm),
   whose median interval lies in ``walk_step_range_s`` (60-170 steps/min) and
   whose signal repeats step after step (autocorrelation at one step >= ``walk_min_regularity``;
   Moe-Nilssen & Helbostad 2004 use the same step regularity). A strength rep does not make a
   walking bout: its descent and ascent are not alike (measured on real squat sets: the
   autocorrelation at the candidates' interval is below 0.05, real walking 0.82-0.95).

References: Moe-Nilssen R (1998) A new method for evaluating motor control in gait under
real-life environmental conditions. Part 1. Clin Biomech 13:320-327. Cavanagh PR, Lafortune MA
(1980) Ground reaction forces in distance running. J Biomech 13:397-406. Lee JB, Mellifont RB,
Burkett BJ (2010) J Sci Med Sport 13:270-273. McCamley J et al. (2012) Gait Posture 36:316-318.
Moe-Nilssen R, Helbostad JL (2004) Estimation of gait cycle characteristics by trunk
accelerometry. J Biomech 37:121-126.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from imu.core import arrow
from imu.pipeline.base import BoutAlgorithm
from imu.pipeline.dsp import maximum_filter1d
from imu.pipeline.gait_events import walk_step_peaks
from imu.pipeline.signals import (
    clean_mask,
    interval_mask,
    lowpass,
    moving_std,
    row_norm,
    runs,
)

BOUTS = pa.schema([("start_s", pa.float64()), ("end_s", pa.float64()), ("gait", pa.string())])
"""The bouts table of :class:`GaitBouts`."""
BOUT_COLUMNS = tuple(BOUTS.names)


def centred_mean(x: NDArray[np.float64], half: int) -> NDArray[np.float64]:
    """Mean over ``[i - half, i + half]`` clipped to the data, along axis 0 (the window shrinks
    at the ends instead of repeating the first and last samples).

    The bits of ``uniform_filter1d(x, size, axis=0, mode="constant") / c`` with ``c`` the
    same filter of ones (the window's share inside the data), computed in the output array
    alone: its running sum (the steps added in order by np.cumsum, the zeros outside read as
    the subtractions with 0.0 the filter makes), then divided by ``size``, and by ``c`` where
    the window is cut (``c`` is exactly 1.0 elsewhere)."""
    x = np.asarray(x, dtype=float)
    n, size = x.shape[0], 2 * half + 1
    out = np.empty(x.shape)
    if n == 0:
        return out
    first = np.zeros((size,) + x.shape[1:])  # the first window: half zeros, then the data
    first[half : half + min(n, half + 1)] = x[: half + 1]
    out[0] = np.cumsum(first, axis=0)[-1]
    # step i >= 1: x[i + half] - x[i - 1 - half], each 0.0 outside the data: rows [1, a) have
    # the first term only, [lo, hi) both, [hi, lo) neither, [b, n) the second only
    lo, hi = min(half + 1, n), max(n - half, 1)
    a, b = min(lo, hi), max(lo, hi)
    np.subtract(x[1 + half : a + half], 0.0, out=out[1:a])
    if hi > lo:
        np.subtract(x[lo + half : hi + half], x[lo - 1 - half : hi - 1 - half], out=out[lo:hi])
    out[hi:lo] = 0.0
    np.subtract(0.0, x[b - 1 - half : n - 1 - half], out=out[b:n])
    np.cumsum(out, axis=0, out=out)
    out /= size
    cut = np.concatenate((np.arange(min(half, n)), np.arange(max(n - half, half), n)))
    c = (np.minimum(cut + half, n - 1) - np.maximum(cut - half, 0) + 1) / size
    out[cut] /= c.reshape((-1,) + (1,) * (x.ndim - 1))
    return out


def principal_up(
    acc_g: NDArray[np.float64], mask: NDArray[np.bool_], chunk: int,
    out: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """First principal axis of the specific force over each True run of ``mask`` (chunks of at
    most ``chunk`` samples; a remainder shorter than a chunk joins the last one), signed towards
    the mean. Returns (N, 3) axes and the mask of samples that got one; the axes are written
    into ``out`` where found (its other rows untouched), else into a new array, NaN elsewhere."""
    up = np.full(acc_g.shape, np.nan) if out is None else out
    has = np.zeros(acc_g.shape[0], dtype=bool)
    for i0, i1 in runs(mask):  # per bout and chunk: a short loop
        c0 = int(i0)
        while c0 < i1:
            c1 = int(i1) if i1 - c0 < 2 * chunk else c0 + chunk
            seg = acc_g[c0:c1]
            if seg.shape[0] >= 3:
                _, vecs = np.linalg.eigh(np.cov(seg.T))
                axis = vecs[:, -1]
                up[c0:c1] = axis * np.sign(axis @ seg.mean(axis=0) or 1.0)
                has[c0:c1] = True
            c0 = c1
    return up, has


class GaitBouts(BoutAlgorithm):
    """Walking and running per sample, from the sensor-frame specific force (module docstring).

    ``detect(acc_g, sampling_rate_hz, t_s=None, valid=None)``: ``acc_g`` (N, 3) in g in the
    sensor frame, any mounting; ``t_s`` (optional) the sample times: a time gap longer than
    ``max_gap_s`` (lost samples) ends every bout; ``valid`` (optional, bool per sample) marks
    samples that are not real data (e.g. interpolated across lost samples): no gait there.

    Parameters
    ----------
    up_window_s
        Window of the moving mean that gives "up" (whole strides).
    run_up, run_up_window_s
        ``"pca"``: inside running bouts "up" is the first principal axis of the specific force
        over chunks of at most ``run_up_window_s``; ``"mean"``: the moving mean everywhere.
    move_window_s, move_sd_g
        Moving: the moving standard deviation of ``f_v`` over ``move_window_s`` exceeds
        ``move_sd_g``.
    lowpass_hz
        Low-pass of ``f_v`` before the flight / stance test.
    flight_g, flight_min_s, stance_g, flight_window_s
        Running: within +-``flight_window_s`` the low-passed ``f_v`` stays below ``flight_g``
        for ``flight_min_s`` (a flight) and rises above ``stance_g``.
    close_gap_s, min_bout_s, min_run_s, min_run_flights
        Gaps shorter than ``close_gap_s`` are closed; moving stretches shorter than
        ``min_bout_s`` and running shorter than ``min_run_s`` or with fewer than
        ``min_run_flights`` flights are dropped.
    walk_lowpass_hz, walk_min_step_s, walk_prominence_g
        Walking step candidates (:func:`imu.pipeline.gait_events.walk_step_peaks`).
    walk_step_range_s, walk_max_step_s, walk_split_ratio, min_walk_steps, walk_min_regularity
        A walking bout: at least ``min_walk_steps`` candidates, each within ``walk_max_step_s``
        of the previous one and within ``walk_split_ratio`` x the median interval of its
        sequence, median interval inside ``walk_step_range_s``, and the low-passed
        ``f_v`` alike from step to step (autocorrelation at the median interval at least
        ``walk_min_regularity``).
    walk_steady_ratio
        A sequence that fails those tests as a whole is tried once more without its uneven
        ends: the candidates before the first and after the last interval within
        ``[m / walk_steady_ratio, m * walk_steady_ratio]`` of its median interval ``m``
        (slower moves and an extra peak as someone gets going; <= 1 turns this off).
    max_gap_s
        A time gap in ``t_s`` longer than this ends every bout.

    Results
    -------
    up_
        (N, 3) unit "up" in the sensor frame per sample (moving mean; principal axis in
        running).
    fv_
        (N,) vertical specific force along ``up_`` (g). Both go with :meth:`release_signals`.
    moving_, running_, walking_
        Bool per sample; running and walking never overlap.
    walk_steps_
        Sample indices of the walking step candidates inside walking bouts.
    bouts_
        Arrow table ``start_s``, ``end_s``, ``gait`` (``walk`` | ``run``; :data:`BOUTS`), one
        row per bout, in time order (times on ``t_s``, else seconds from the first sample).
    """

    def __init__(
        self,
        up_window_s: float = 4.0,
        run_up: str = "pca",
        run_up_window_s: float = 30.0,
        move_window_s: float = 1.0,
        move_sd_g: float = 0.05,
        lowpass_hz: float = 25.0,
        flight_g: float = 0.5,
        stance_g: float = 1.6,
        flight_window_s: float = 0.5,
        flight_min_s: float = 0.03,
        close_gap_s: float = 1.0,
        min_bout_s: float = 2.0,
        min_run_s: float = 1.5,
        min_run_flights: int = 3,
        walk_lowpass_hz: float = 2.0,
        walk_min_step_s: float = 0.3,
        walk_prominence_g: float = 0.03,
        walk_step_range_s: tuple[float, float] = (0.35, 1.0),
        walk_max_step_s: float = 1.6,
        walk_split_ratio: float = 1.6,
        min_walk_steps: int = 4,
        walk_min_regularity: float = 0.5,
        walk_steady_ratio: float = 1.3,
        max_gap_s: float = 0.1,
    ) -> None:
        self.up_window_s = up_window_s
        self.run_up = run_up
        self.run_up_window_s = run_up_window_s
        self.move_window_s = move_window_s
        self.move_sd_g = move_sd_g
        self.lowpass_hz = lowpass_hz
        self.flight_g = flight_g
        self.stance_g = stance_g
        self.flight_window_s = flight_window_s
        self.flight_min_s = flight_min_s
        self.close_gap_s = close_gap_s
        self.min_bout_s = min_bout_s
        self.min_run_s = min_run_s
        self.min_run_flights = min_run_flights
        self.walk_lowpass_hz = walk_lowpass_hz
        self.walk_min_step_s = walk_min_step_s
        self.walk_prominence_g = walk_prominence_g
        self.walk_step_range_s = walk_step_range_s
        self.walk_max_step_s = walk_max_step_s
        self.walk_split_ratio = walk_split_ratio
        self.min_walk_steps = min_walk_steps
        self.walk_min_regularity = walk_min_regularity
        self.walk_steady_ratio = walk_steady_ratio
        self.max_gap_s = max_gap_s

    def detect(
        self,
        acc_g: NDArray[np.float64],
        sampling_rate_hz: float,
        t_s: NDArray[np.float64] | None = None,
        valid: NDArray[np.bool_] | None = None,
    ) -> Self:
        """Detect walking and running in ``acc_g`` (class docstring)."""
        fs = float(sampling_rate_hz)
        acc = np.asarray(acc_g, dtype=float)
        n = acc.shape[0]
        t = None if t_s is None else np.asarray(t_s, dtype=float)  # None: sample index / fs
        ok = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool).copy()
        if n > 1 and (t is not None or 2.0 / fs >= self.max_gap_s):
            # a time gap ends every bout: the samples on both sides of it are not gait
            gap = np.flatnonzero(np.diff(np.arange(n) / fs if t is None else t) > self.max_gap_s)
            ok[gap] = False
            ok[np.minimum(gap + 1, n - 1)] = False
        up = centred_mean(acc, max(1, int(round(0.5 * self.up_window_s * fs))))
        norm = row_norm(up)  # column by column: no (N, 3) square of "up"
        norm[~(norm > 1e-9)] = 1.0
        up /= norm[:, None]
        del norm
        fv = np.einsum("ij,ij->i", acc, up)
        moving, running = self._moving_running(fv, fs, ok)
        if self.run_up == "pca" and running.any():  # in place: the axes replace the means
            principal_up(acc, running, max(int(self.run_up_window_s * fs), 3), out=up)
            del fv, moving, running  # the first pass's, gone before the second's
            fv = np.einsum("ij,ij->i", acc, up)
            moving, running = self._moving_running(fv, fs, ok)
        mask = moving & ~running
        mask &= ok
        del ok
        walking, steps = self._walking(fv, fs, mask, t)
        del mask
        self.up_, self.fv_ = up, fv
        self.moving_, self.running_, self.walking_ = moving, running, walking & ~running
        self.walk_steps_ = steps
        self.bouts_ = _bouts_table(self.walking_, self.running_, t, fs)
        return self

    def take(self, keep: NDArray[np.int64]) -> GaitBouts:
        """These bouts on the samples ``keep`` (increasing indices that hold every walking and
        running sample): the per-sample results at those samples, the walking step candidates
        as indices among them; ``bouts_`` as it is."""
        out = self.clone()
        for name in ("up_", "fv_", "moving_", "running_", "walking_"):
            if name in self.__dict__:
                setattr(out, name, getattr(self, name)[keep])
        out.walk_steps_ = np.searchsorted(keep, self.walk_steps_)
        out.bouts_ = self.bouts_
        return out

    def release_signals(self) -> Self:
        """Drop the per-sample ``up_`` and ``fv_`` (32 bytes a sample) when only the bouts
        and the steps are needed further (the gait analysis, once its pelvis frame is found)."""
        self.__dict__.pop("up_", None)
        self.__dict__.pop("fv_", None)
        return self

    # -- pieces -----------------------------------------------------------------------------
    def _regular_lag(self, x: NDArray[np.float64], pk: NDArray[np.int64], a: int, b: int,
                     fs: float) -> int | None:
        """The median step interval (samples) of candidates ``a..b`` if they make a walking
        bout (enough of them, a walking step rate, step after step alike), else None."""
        if b - a + 1 < self.min_walk_steps:
            return None
        lag = int(np.median(np.diff(pk[a : b + 1])))
        lo, hi = self.walk_step_range_s
        if not lo * fs <= lag <= hi * fs:
            return None
        if _autocorrelation(x[pk[a] : pk[b] + 1], lag) < self.walk_min_regularity:
            return None  # not step after step alike (e.g. the two halves of a squat)
        return lag

    def _moving_running(
        self, fv: NDArray[np.float64], fs: float, ok: NDArray[np.bool_]
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Moving and running samples (class docstring), one signal-sized temporary at a time."""
        close = int(round(self.close_gap_s * fs))
        moving = moving_std(fv, max(3, int(round(self.move_window_s * fs)))) > self.move_sd_g
        moving &= ok
        moving = clean_mask(moving, close, int(round(self.min_bout_s * fs)))
        moving &= ok
        f = lowpass(fv, self.lowpass_hz, fs) if fv.size > 12 else fv
        w = max(3, int(2 * self.flight_window_s * fs) | 1)
        # flight: below flight_g for flight_min_s on end (a spike at a hard heel strike is not)
        flight = maximum_filter1d(f, max(1, int(round(self.flight_min_s * fs)))) < self.flight_g
        run = maximum_filter1d(f, w) > self.stance_g
        del f
        run &= maximum_filter1d(flight, w)  # a flight within the window
        run &= moving
        run = clean_mask(run, close, int(round(self.min_run_s * fs)))
        run &= ok
        # a run holds several flights (one jump is not running): the flights that start inside
        # it (the rising edges of ``flight``) and one under way at its start
        bouts = runs(run)
        rise = runs(flight)[:, 0]
        rise = rise[rise > 0]
        flights = (np.searchsorted(rise, bouts[:, 1] - 1, "right")
                   - np.searchsorted(rise, bouts[:, 0], "right") + flight[bouts[:, 0]])
        for a, b in bouts[flights < self.min_run_flights]:  # per running bout: a short loop
            run[a:b] = False
        return moving, run

    def _walking(
        self, fv: NDArray[np.float64], fs: float, mask: NDArray[np.bool_],
        t: NDArray[np.float64] | None,
    ) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
        """Walking samples and the step candidates of the walking bouts."""
        x = lowpass(fv, self.walk_lowpass_hz, fs) if fv.size > 15 else fv
        pk = walk_step_peaks(fv, fs, self.walk_lowpass_hz, self.walk_min_step_s,
                             self.walk_prominence_g, lowpassed=x)
        pk = pk[mask[pk]]
        walking = np.zeros(fv.size, dtype=bool)
        if pk.size < self.min_walk_steps:
            return walking, np.empty(0, dtype=np.int64)
        dt = np.diff(_times(t, pk, fs))
        # a new sequence after a long interval or a stretch that is not moving / is running
        # (the candidates are in ``mask``: in different runs of it, something else is between)
        within = np.searchsorted(runs(mask)[:, 0], pk, "right")
        brk = (dt > self.walk_max_step_s) | (within[1:] != within[:-1])
        first = np.flatnonzero(np.concatenate([[True], brk]))
        last = np.flatnonzero(np.concatenate([brk, [True]]))
        keep = np.zeros(pk.size, dtype=bool)
        seqs = []
        for a, b in zip(first, last, strict=True):  # per sequence of candidates: a short loop
            if b - a + 1 < self.min_walk_steps:
                continue
            # an interval far longer than the sequence's median ends a bout there
            d = np.diff(pk[a : b + 1])
            cut = np.flatnonzero(d > self.walk_split_ratio * np.median(d))
            edges = np.r_[a, a + cut + 1]
            seqs += list(zip(edges, np.r_[a + cut, b], strict=True))
        for a, b in seqs:
            if b - a + 1 < self.min_walk_steps:
                continue
            lag = self._regular_lag(x, pk, a, b, fs)
            if lag is None and self.walk_steady_ratio > 1.0:
                # not regular as a whole: its steady core may be (a walk set off by slower
                # moves and an extra peak as someone gets going)
                a, b = _steady_core(pk, a, b, self.walk_steady_ratio)
                lag = self._regular_lag(x, pk, a, b, fs)
            if lag is None:
                continue
            keep[a : b + 1] = True
            i0 = max(int(pk[a]) - lag // 2, 0)
            walking[i0 : int(pk[b]) + lag // 2 + 1] = True
        walking &= mask
        return walking, pk[keep].astype(np.int64)


def _steady_core(pk: NDArray[np.int64], a: int, b: int, ratio: float) -> tuple[int, int]:
    """Candidates ``a..b`` without the ends whose intervals lie outside ``[m / ratio, m *
    ratio]`` of the sequence's median interval ``m`` (trimmed from both ends inwards)."""
    d = np.diff(pk[a : b + 1])
    m = np.median(d)
    steady = (d <= ratio * m) & (d >= m / ratio)
    if not steady.any():
        return a, a
    good = np.flatnonzero(steady)
    return a + int(good[0]), a + int(good[-1]) + 1


def _times(t: NDArray[np.float64] | None, idx: NDArray[np.int64] | int, fs: float
           ) -> NDArray[np.float64]:
    """Times of sample indices: ``t[idx]``, or ``idx / fs`` without sample times (the values
    of ``np.arange(n) / fs`` at ``idx``, without that array)."""
    return np.asarray(idx) / fs if t is None else t[idx]


def _autocorrelation(x: NDArray[np.float64], lag: int) -> float:
    """Correlation coefficient of ``x`` with itself ``lag`` samples later (-1 if too short)."""
    if lag <= 0 or x.size < lag + 3:
        return -1.0
    a, b = x[:-lag] - x[:-lag].mean(), x[lag:] - x[lag:].mean()
    den = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b) / den if den > 0 else -1.0


def _bouts_table(
    walking: NDArray[np.bool_], running: NDArray[np.bool_], t: NDArray[np.float64] | None,
    fs: float,
) -> pa.Table:
    """One row per walking or running bout (:data:`BOUTS`), in time order."""
    rows = sorted(
        (float(_times(t, a, fs)), float(_times(t, b - 1, fs)), gait)
        for gait, mask in (("walk", walking), ("run", running))
        for a, b in runs(mask)
    )
    if not rows:
        return arrow.empty(BOUTS)
    start, end, gait = zip(*rows, strict=True)
    return arrow.table({"start_s": np.array(start), "end_s": np.array(end), "gait": list(gait)},
                       BOUTS)


def bouts_on_grid(bouts: pa.Table, centre_s: NDArray[np.float64], gait: str) -> NDArray[np.bool_]:
    """The samples of another grid inside the ``gait`` bouts of ``bouts`` (:data:`BOUTS`):
    those whose time ``centre_s`` (from the same time zero as the bouts' times, e.g. the
    strength stages' bin centres from the first raw sample) lies within a bout's
    ``start_s`` .. ``end_s``. One bout detection per session: the strength stages take the gait
    stage's bouts this way instead of detecting them again on their ~50 Hz grid."""
    if not bouts.num_rows:
        return np.zeros(centre_s.size, dtype=bool)
    sel = np.asarray(arrow.values(bouts.column("gait"))) == gait
    lo = np.searchsorted(centre_s, arrow.values(bouts.column("start_s"))[sel], "left")
    hi = np.searchsorted(centre_s, arrow.values(bouts.column("end_s"))[sel], "right")
    return interval_mask(lo, hi, centre_s.size)


def gait_samples(gait: NDArray[np.bool_], margin: int, also: slice | None = None,
                 max_share: float = 0.5) -> NDArray[np.int64] | None:
    """The samples the per-sample gait analysis needs: every walking or running sample with
    ``margin`` samples either side (the filters and the orientation settle there) and ``also``
    (the standing reference); None when they are ``max_share`` of the session or more (a run,
    a walk: the whole session is analysed) or there is no gait."""
    if not gait.any():
        return None
    keep = maximum_filter1d(gait.astype(np.int8), 2 * margin + 1) > 0
    if also is not None:
        keep[also] = True
    return np.flatnonzero(keep) if keep.mean() < max_share else None


def spread(x: NDArray[np.float64], keep: NDArray[np.int64], n: int) -> NDArray[np.float64]:
    """Per-sample values known at the samples ``keep`` on all ``n`` samples (NaN elsewhere)."""
    out = np.full((n, *x.shape[1:]), np.nan)
    out[keep] = x
    return out
