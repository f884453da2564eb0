"""Sets, reps and rep phases from an excursion signal and the angular speed (docs/algorithms.md).

Reps are found as repeated excursions toward (rest at bottom) or away from (rest at top) the
lockout: peaks of an excursion signal (e.g. ``x = sagittal`` or ``x = -sagittal``, or the 3-D
rotation from a lying rest posture) whose local prominence (computed within a window of
``max_rep_s``) is large enough. One-sided changes (lying down,
sitting up, standing up) are steps, not peaks, so their prominence on the plateau side is small;
walking and fidgets have small prominence. Peaks are grouped into sets by time gaps and by deep
valleys between them (a posture change), outliers in amplitude are dropped, setup and exit moves
are dropped by their vertical travel, and groups with fewer than ``min_reps_per_set`` reps are
discarded.

Phase boundaries follow the contract: a movement phase starts or ends where the pelvis's 3-D
angular speed crosses ``phase_fraction`` (5 %) of that phase's peak, with linear interpolation
between samples.
"""

from __future__ import annotations

import warnings
from typing import Final, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.signal import find_peaks

from imu.core.schema import REP_PHASE_COLUMNS, SETS
from imu.pipeline.base import SegmentationAlgorithm
from imu.pipeline.travel import anchored_height_m

SEGMENTED_SETS_COLUMNS: Final = tuple(c for c in SETS.names if c != "exercise")
"""``sets_`` columns: the sets table without the exercise (segmentation does not know it)."""


def _crossing_before(w: NDArray[np.float64], i_peak: int, lo: int, level: float) -> float:
    """Fractional index of the last upward crossing of ``level`` before ``i_peak`` (>= lo)."""
    seg = w[lo : i_peak + 1]
    below = np.flatnonzero(seg < level)
    if below.size == 0:
        return float(lo)
    j = lo + int(below[-1])  # w[j] < level <= w[j+1]
    if j >= i_peak:
        return float(i_peak)
    return j + (level - w[j]) / max(w[j + 1] - w[j], 1e-12)


def _crossing_after(w: NDArray[np.float64], i_peak: int, hi: int, level: float) -> float:
    """Fractional index of the first downward crossing of ``level`` after ``i_peak`` (<= hi)."""
    seg = w[i_peak : hi + 1]
    below = np.flatnonzero(seg < level)
    if below.size == 0:
        return float(hi)
    j = i_peak + int(below[0])  # w[j-1] >= level > w[j]
    if j <= i_peak:
        return float(i_peak)
    return j - 1 + (w[j - 1] - level) / max(w[j - 1] - w[j], 1e-12)


class RepSegmentation(SegmentationAlgorithm):
    """Sets, reps and phase times from the sagittal angle and the 3-D angular speed.

    Parameters
    ----------
    min_prominence_deg
        Smallest sagittal excursion counted as a rep.
    rel_prominence
        Reps of a set must reach this fraction of the set's median excursion.
    max_rep_s
        Longest rep; also the window in which prominence is measured.
    max_gap_s
        A longer time between consecutive rep extremes starts a new set.
    split_depth
        A valley deeper than this many median excursions between two reps starts a new set
        (posture change).
    min_reps_per_set
        Shorter groups are taken for fidgets or transitions and dropped.
    phase_fraction
        Phase boundary level as a fraction of the phase's peak angular speed (contract: 5 %).
    final_hold_speed_dps
        After a set's last rep (rest at top), the next movement starts where the speed first
        exceeds this; the final hold ends at that movement's ``phase_fraction`` crossing.
    travel_ratio
        Reps travelling more than ``travel_ratio`` x (or less than 1 / ``travel_ratio`` x) the
        set's median vertical travel (+-5/3 cm) are setup or exit moves (:meth:`_travel_ok`).

    Results
    -------
    reps_
        One row per rep: ``imu.core.schema.REP_PHASE_COLUMNS`` (set, rep, start, end, lockout
        and the phase durations, s) plus ``extreme_idx`` (sample index of the rep's extreme).
    sets_
        One row per set: set, start_s, end_s, reps.
    """

    def __init__(
        self,
        min_prominence_deg: float = 6.0,
        rel_prominence: float = 0.3,
        max_rep_s: float = 12.0,
        max_gap_s: float = 15.0,
        split_depth: float = 1.8,
        min_reps_per_set: int = 3,
        phase_fraction: float = 0.05,
        final_hold_speed_dps: float = 5.0,
        travel_ratio: float = 1.8,
    ) -> None:
        self.min_prominence_deg = min_prominence_deg
        self.rel_prominence = rel_prominence
        self.max_rep_s = max_rep_s
        self.max_gap_s = max_gap_s
        self.split_depth = split_depth
        self.min_reps_per_set = min_reps_per_set
        self.phase_fraction = phase_fraction
        self.final_hold_speed_dps = final_hold_speed_dps
        self.travel_ratio = travel_ratio

    # -- rep candidates and sets ------------------------------------------------------------
    def _sets(self, x: NDArray[np.float64], fs: float) -> list[NDArray[np.int64]]:
        wlen = int(self.max_rep_s * fs) | 1
        with warnings.catch_warnings():  # plateaus of zero prominence are expected
            warnings.filterwarnings("ignore", "some peaks have a prominence of 0", RuntimeWarning)
            peaks, props = find_peaks(
                x, prominence=self.min_prominence_deg, wlen=wlen, distance=max(1, int(0.8 * fs))
            )
        if peaks.size == 0:
            return []
        prom = props["prominences"]
        # Split into groups by gaps and by deep valleys between neighbours.
        groups: list[NDArray[np.int64]] = []
        cur = [0]
        for k in range(1, peaks.size):
            a, b = peaks[k - 1], peaks[k]
            med = float(np.median(prom[cur]))
            valley = float(x[a:b].min())
            deep = min(x[a], x[b]) - valley > self.split_depth * max(med, prom[k]) + 5.0
            if (b - a) > self.max_gap_s * fs or deep:
                groups.append(np.asarray(cur))
                cur = [k]
            else:
                cur.append(k)
        groups.append(np.asarray(cur))
        sets = []
        for g in groups:
            med = float(np.median(prom[g]))
            keep = g[prom[g] >= self.rel_prominence * med]
            if keep.size >= self.min_reps_per_set:
                sets.append(peaks[keep])
        return sets

    def _phases(
        self, x: NDArray[np.float64], w: NDArray[np.float64], peaks: NDArray[np.int64], half: int
    ) -> NDArray[np.float64]:
        """(K, 4) fractional indices: start/end of the phase into and out of each extreme."""
        # Limits between neighbouring reps: the lowest point of x between their extremes.
        valleys = [
            int(a + np.argmin(x[a : b + 1])) for a, b in zip(peaks[:-1], peaks[1:], strict=True)
        ]
        if not valleys:
            valleys = [int(peaks[0])]
        base = [x[valleys[0]], *[x[v] for v in valleys], x[valleys[-1]]]
        if len(peaks) == 1:
            base = [x[peaks[0]] - 1.0, x[peaks[0]] - 1.0]
        bounds = [
            self._outer(x, w, peaks[0], base[0], -1, half),
            *valleys[: len(peaks) - 1],
            self._outer(x, w, peaks[-1], base[-1], +1, half),
        ]
        speed_peaks = []
        for k, p in enumerate(peaks):
            lo, hi = bounds[k], bounds[k + 1]
            # The speed peak of each phase lies where x is on its way (not at rest levels).
            # Rest levels on either side: the lowest x toward each neighbour (or outer limit).
            b_lo, b_hi = float(x[lo : p + 1].min()), float(x[p : hi + 1].min())
            j1 = self._leave(x, p, lo, b_lo + 0.3 * (x[p] - b_lo), -1)
            j2 = self._leave(x, p, hi, b_hi + 0.3 * (x[p] - b_hi), +1)
            i1 = j1 + int(np.argmax(w[j1 : p + 1]))  # phase into the extreme
            i2 = p + int(np.argmax(w[p : j2 + 1]))  # phase out of the extreme
            speed_peaks.append((i1, i2))
        reps = []
        for k, (i1, i2) in enumerate(speed_peaks):
            # Crossings are searched up to the neighbouring reps' speed peaks: the valley of x
            # between reps need not be where the movement stops.
            lo = speed_peaks[k - 1][1] if k > 0 else bounds[0]
            hi = speed_peaks[k + 1][0] if k + 1 < len(speed_peaks) else bounds[-1]
            l1 = self.phase_fraction * w[i1]
            l2 = self.phase_fraction * w[i2]
            a_start = _crossing_before(w, i1, lo, l1)
            a_end = _crossing_after(w, i1, i2, l1)
            b_start = _crossing_before(w, i2, i1, l2)
            b_end = _crossing_after(w, i2, hi, l2)
            if a_end > b_start:  # no pause at the extreme: split at the slowest point
                mid = float(i1 + np.argmin(w[i1 : i2 + 1]))
                a_end = b_start = mid
            reps.append((a_start, a_end, b_start, b_end))
        return np.asarray(reps, dtype=float).reshape(-1, 4)

    def _travel_ok(
        self, acc_z: NDArray[np.float64], ph: NDArray[np.float64], fs: float
    ) -> NDArray[np.bool_]:
        """Reps that return to their starting height and whose vertical travel fits the set.

        Setup and exit moves (picking up a weight, unracking, kneeling down) look like reps
        in the angle but change height for good or travel much more or less than the set.
        The net height change is compared with the set's median, as integration drift from
        accelerometer errors is much the same for every rep of a set, and must stay below
        0.6 x the travel + 5 cm (getting up from the floor is not a rep).
        """
        n = acc_z.size
        pad = int(round(0.1 * fs))
        travel = np.zeros(len(ph))
        net = np.zeros(len(ph))
        for k, (a, _, _, b) in enumerate(ph):
            lo = int(max(np.floor(a) - pad, 0))
            hi = int(min(np.ceil(b) + pad, n - 1))
            h = anchored_height_m(acc_z, lo, hi, fs)
            travel[k] = float(np.ptp(h))
            net[k] = float(h[-1] - h[0])
        med = float(np.median(travel))
        return (
            (np.abs(net - np.median(net)) <= 0.5 * travel + 0.02)
            & (np.abs(net) <= 0.6 * travel + 0.05)
            & (travel <= self.travel_ratio * med + 0.05)
            & (travel >= med / self.travel_ratio - 0.03)
        )

    def segment(
        self,
        excursion_deg: NDArray[np.float64],
        speed_dps: NDArray[np.float64],
        sampling_rate_hz: float,
        rest_at_bottom: bool,
        t0_s: float = 0.0,
        acc_z_m_s2: NDArray[np.float64] | None = None,
    ) -> Self:
        """Find sets and reps; times are ``t0_s + index / sampling_rate_hz``.

        ``excursion_deg`` peaks at the rep's extreme: the lockout for rest-at-bottom
        exercises (e.g. the sagittal angle), the bottom for rest-at-top ones (e.g. minus the
        sagittal angle). With the pelvis-centre vertical acceleration ``acc_z_m_s2``,
        candidates are also checked for consistent vertical travel (:meth:`_travel_ok`).
        """
        fs = float(sampling_rate_hz)
        x = np.asarray(excursion_deg, dtype=float)
        w = np.asarray(speed_dps, dtype=float)
        half = int(0.5 * self.max_rep_s * fs)
        rows = []
        set_rows = []
        si = 0
        groups: list[tuple[NDArray[np.int64], NDArray[np.float64]]] = []
        for cand in self._sets(x, fs):
            ph = self._phases(x, w, cand, half)
            if acc_z_m_s2 is None or (ok := self._travel_ok(acc_z_m_s2, ph, fs)).all():
                groups.append((cand, ph))
                continue
            # A setup or exit move between reps (picking up or putting down the weight,
            # re-racking) ends a set: split there, as with a long gap.
            cut = np.cumsum(~ok)[ok]
            for c in np.unique(cut):
                peaks = cand[ok][cut == c]
                if peaks.size >= self.min_reps_per_set:
                    groups.append((peaks, self._phases(x, w, peaks, half)))
        for peaks, ph in groups:
            si += 1
            r = ph / fs + t0_s
            if rest_at_bottom:
                start, c_end, e_start, end = r.T
                conc = c_end - start
                ecc = end - e_start
                hold = e_start - c_end
                lockout = 0.5 * (c_end + e_start)
            else:
                start, e_end, c_start, end = r.T
                ecc = e_end - start
                conc = end - c_start
                hold = np.r_[start[1:] - end[:-1], np.nan]
                # Final hold: until the next movement starts (its 5 % level), or max_rep_s.
                final_end = self._final_hold_end(w, (end[-1] - t0_s) * fs, fs)
                lockout = np.r_[0.5 * (end[:-1] + start[1:]), 0.5 * (end[-1] + final_end + t0_s)]
            for k in range(len(peaks)):
                rows.append(
                    (
                        si,
                        k + 1,
                        start[k],
                        end[k],
                        lockout[k],
                        conc[k],
                        hold[k],
                        ecc[k],
                        int(peaks[k]),
                    )
                )
            set_rows.append((si, float(start[0]), float(end[-1]), len(peaks)))
        reps = pd.DataFrame(rows, columns=[*REP_PHASE_COLUMNS, "extreme_idx"])
        sets = pd.DataFrame(set_rows, columns=list(SEGMENTED_SETS_COLUMNS))
        ints = {"set": "int64", "rep": "int64", "extreme_idx": "int64", "reps": "int64"}
        self.reps_ = reps.astype({c: ints.get(c, "float64") for c in reps.columns})
        self.sets_ = sets.astype({c: ints.get(c, "float64") for c in sets.columns})
        return self

    @staticmethod
    def _leave(x: NDArray[np.float64], p: int, limit: int, level: float, step: int) -> int:
        """From extreme ``p`` toward ``limit``, the first index where x is at or below level."""
        seg = x[limit : p + 1][::-1] if step < 0 else x[p : limit + 1]
        idx = np.flatnonzero(seg <= level)
        if idx.size == 0:
            return limit
        return p - int(idx[0]) if step < 0 else p + int(idx[0])

    @staticmethod
    def _outer(
        x: NDArray[np.float64], w: NDArray[np.float64], p: int, base: float, step: int, half: int
    ) -> int:
        """Outer search limit of a set's first/last rep: max_rep_s/2 away, or a posture change.

        From the extreme toward the outside: x first comes back toward the rest level, the
        movement stops (speed below 5 % of the phase's peak), and a later departure from the
        posture where it stopped by more than half the excursion is a posture change (e.g.
        lying down before a set of bridges, re-racking after a squat).
        """
        amp = x[p] - base
        n = x.size
        lim = max(0, p - half) if step < 0 else min(n - 1, p + half)
        seg = x[lim : p + 1][::-1] if step < 0 else x[p : lim + 1]
        sw = w[lim : p + 1][::-1] if step < 0 else w[p : lim + 1]
        at_base = np.flatnonzero(seg <= base + 0.3 * amp)
        if at_base.size == 0:
            return lim
        i0 = int(at_base[0])
        stop = np.flatnonzero(sw[i0:] < 0.05 * sw[: i0 + 1].max())
        if stop.size == 0:
            return lim
        r = i0 + int(stop[0])
        away = np.flatnonzero(np.abs(seg[r:] - seg[r]) > 0.5 * amp)
        if away.size == 0:
            return lim
        off = r + int(away[0])
        return p - off if step < 0 else p + off

    def _final_hold_end(self, w: NDArray[np.float64], end_idx: float, fs: float) -> float:
        """Seconds (from index 0) at which the next movement starts after a set's last rep.

        The next movement is where the speed first exceeds ``final_hold_speed_dps``; its start
        is where the speed crosses ``phase_fraction`` of that movement's peak (as for phases).
        """
        i0 = int(np.ceil(end_idx))
        n = w.size
        seg = w[i0 : i0 + int(self.max_rep_s * fs)]
        moving = np.flatnonzero(seg > self.final_hold_speed_dps)
        if moving.size == 0:
            return (i0 + seg.size) / fs
        j = i0 + int(moving[0])
        pk = j + int(np.argmax(w[j : min(n, j + int(1.5 * fs))]))
        return _crossing_before(w, pk, i0, self.phase_fraction * w[pk]) / fs
