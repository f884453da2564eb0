"""Reps and rep phases of ONE set, with its exercise's structure (strength stage e; contract
section 3, docs/algorithms.md section 6).

Input: the set's excursion signal signed by its exercise (its peaks are the reps' extremes: the
bottom of a rest-at-top rep, the top of a rest-at-bottom rep), the 3-D angular speed |w| and the
extremes. A movement phase starts or ends where |w| crosses ``phase_fraction`` (5 %) of that
phase's peak, linearly interpolated between samples. Every boundary is searched only in its
zone: where the excursion is within ``top_zone`` of the swing from the turning point (the rest
between two reps, the extreme of a rep, the rest before and after the set); real pelvises pause
in mid-movement and such dips of |w| are not boundaries.

**Fallback.** Back-to-back reps (no pause between them: real squats) often never bring |w| below
5 % of the peak at the turning point; there the boundary is the |w| minimum inside the zone
(flagged in ``fallback_start`` / ``fallback_end``). At a set's outer ends the level is
max(5 % of the peak, ``rest_floor_k`` x the median |w| of the rest next to the set), so fidgeting
at rest does not stretch the set.

* Rest at the bottom: concentric = into the extreme (lockout), top hold, eccentric = out of it;
  ``start_s`` = concentric start, ``end_s`` = eccentric end, ``lockout_s`` = middle of the hold.
* Rest at the top: eccentric = into the extreme (bottom), concentric = out of it; ``top_hold_s``
  = from the concentric end to the next rep's start (NaN for the last rep); ``lockout_s`` = middle
  of that hold, for the last rep the middle of the final hold, which ends where the next movement
  crosses 5 % of its peak.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from imu.core import arrow
from imu.core.schema import REP_PHASE_COLUMNS
from imu.pipeline.base import SegmentationAlgorithm


def _first_true(m: NDArray[np.bool_]) -> int:
    """Index of the first True of ``m``, -1 if none (``argmax`` stops at the first True: no
    scan of the whole window, unlike ``flatnonzero``)."""
    if m.size == 0:
        return -1
    j = int(m.argmax())
    return j if m[j] else -1


def _first_below(w: NDArray[np.float64], a: int, b: int, level: float) -> float | None:
    """Fractional index of the first downward crossing of ``level`` in [a, b]; None if none."""
    if b < a:
        return None
    j = _first_true(w[a : b + 1] < level)
    if j < 0:
        return None
    j0 = a + j
    if j0 == a:
        return float(a)
    return j0 - 1 + (w[j0 - 1] - level) / max(w[j0 - 1] - w[j0], 1e-12)


def _last_below(w: NDArray[np.float64], a: int, b: int, level: float) -> float | None:
    """Fractional index of the last upward crossing of ``level`` in [a, b]; None if none."""
    if b < a:
        return None
    m = w[a : b + 1] < level
    j = _first_true(m[::-1])
    if j < 0:
        return None
    j0 = a + m.size - 1 - j
    if j0 == b:
        return float(b)
    return j0 + (level - w[j0]) / max(w[j0 + 1] - w[j0], 1e-12)


def _zone_edge(x: NDArray[np.float64], c: int, limit: int, level: float, step: int,
               below: bool) -> int:
    """From ``c`` toward ``limit``, the last index of the contiguous run where x <= level
    (``below``) or x >= level; ``c`` itself if it is not in the run."""
    seg = x[limit : c + 1][::-1] if step < 0 else x[c : limit + 1]
    bad = _first_true(seg > level if below else seg < level)
    off = max((bad - 1) if bad >= 0 else seg.size - 1, 0)
    return c - off if step < 0 else c + off


def _enter(x: NDArray[np.float64], c: int, limit: int, level: float, step: int) -> int:
    """From ``c`` toward ``limit``, the first index where x <= level (else ``limit``)."""
    seg = x[limit : c + 1][::-1] if step < 0 else x[c : limit + 1]
    j = _first_true(seg <= level)
    if j < 0:
        return limit
    return c - j if step < 0 else c + j


class RepSegmentation(SegmentationAlgorithm):
    """Phase times of the reps of one set (module docstring).

    Parameters
    ----------
    phase_fraction
        Phase boundary level as a fraction of the phase's peak |w| (contract: 5 %).
    top_zone
        Boundaries are searched where the excursion is within this fraction of the swing from
        the turning point.
    max_rep_s
        Longest rep: the outer search limit of the set's first and last rep.
    onset_fraction, lead_s, lag_s
        Outer ends: the speed peak of the first (last) phase is looked for up to ``lead_s``
        before (``lag_s`` after) the rest zone; from it, the last sample below
        ``onset_fraction`` of the peak is the rough onset next to the rest.
    rest_floor_k, rest_floor_s
        Outer ends: the crossing level is max(``phase_fraction`` x peak, ``rest_floor_k`` x the
        median |w| over ``rest_floor_s`` of the rest beyond the onset).
    final_hold_speed_dps
        After a rest-at-top set's last rep the next movement starts where |w| first exceeds
        this (and 3x the quiet level); the final hold ends at its ``phase_fraction`` crossing.

    Results
    -------
    reps_
        One row per rep: ``imu.core.schema.REP_PHASE_COLUMNS`` (set, rep, start, end, lockout
        and the phase durations, s) plus ``extreme_idx``, ``fallback_start``, ``fallback_end``
        (an Arrow table of ``rep_columns_``, made on first use).
    rep_columns_
        The same columns as arrays by name, in that order (a caller that joins many sets
        makes one table, not one per set).
    phases_
        (K, 4) fractional sample indices: start and end of the phase into each extreme and of
        the phase out of it.
    """

    def __init__(
        self,
        phase_fraction: float = 0.05,
        top_zone: float = 0.1,
        max_rep_s: float = 10.0,
        onset_fraction: float = 0.2,
        lead_s: float = 1.0,
        lag_s: float = 0.3,
        rest_floor_k: float = 0.0,
        rest_floor_s: float = 1.5,
        final_hold_speed_dps: float = 5.0,
    ) -> None:
        self.phase_fraction = phase_fraction
        self.top_zone = top_zone
        self.max_rep_s = max_rep_s
        self.onset_fraction = onset_fraction
        self.lead_s = lead_s
        self.lag_s = lag_s
        self.rest_floor_k = rest_floor_k
        self.rest_floor_s = rest_floor_s
        self.final_hold_speed_dps = final_hold_speed_dps

    def _outer(self, w: NDArray[np.float64], limit: int, zone_edge: int, p: int, fs: float,
               step: int) -> tuple[float, bool]:
        """Start of the set's first rep (step -1) or end of its last rep (step +1)."""
        frac = self.phase_fraction
        n_rest = int(self.rest_floor_s * fs)
        if step < 0:
            a = max(limit, zone_edge - int(self.lead_s * fs))
            i_pk = a + int(np.argmax(w[a : p + 1]))
            z = max(min(i_pk, zone_edge), limit)
            on = _last_below(w, limit, z, self.onset_fraction * w[i_pk])
            if on is None:
                return float(limit + np.argmin(w[limit : z + 1])), True
            on_i = int(on)
            r0 = max(limit, on_i - n_rest)
            floor = float(np.median(w[r0 : on_i + 1])) if on_i > r0 else 0.0
            c = _last_below(w, r0, z, max(frac * w[i_pk], self.rest_floor_k * floor))
            return (c, False) if c is not None else (on, True)
        b = min(limit, zone_edge + int(self.lag_s * fs))
        i_pk = p + int(np.argmax(w[p : b + 1]))
        z = min(max(i_pk, zone_edge), limit)
        on = _first_below(w, z, limit, self.onset_fraction * w[i_pk])
        if on is None:
            return float(z + np.argmin(w[z : limit + 1])), True
        on_i = int(np.ceil(on))
        r1 = min(limit, on_i + n_rest)
        floor = float(np.median(w[on_i : r1 + 1])) if r1 > on_i else 0.0
        c = _first_below(w, z, r1, max(frac * w[i_pk], self.rest_floor_k * floor))
        return (c, False) if c is not None else (on, True)

    def _phases(self, x: NDArray[np.float64], w: NDArray[np.float64], peaks: NDArray[np.int64],
                lo_lim: int, hi_lim: int, fs: float) -> tuple[NDArray[np.float64], NDArray]:
        k_reps = peaks.size
        fz, frac = self.top_zone, self.phase_fraction
        valleys = [int(a + np.argmin(x[a : b + 1])) for a, b in zip(peaks[:-1], peaks[1:],
                                                                     strict=True)]
        bounds = [lo_lim, *valleys, hi_lim]
        sp_pk, bases = [], []
        for k, p in enumerate(peaks):
            lo, hi = bounds[k], bounds[k + 1]
            b_lo, b_hi = float(x[lo : p + 1].min()), float(x[p : hi + 1].min())
            bases.append((b_lo, b_hi))
            j1 = _enter(x, p, lo, b_lo + 0.3 * (x[p] - b_lo), -1)
            j2 = _enter(x, p, hi, b_hi + 0.3 * (x[p] - b_hi), +1)
            sp_pk.append((j1 + int(np.argmax(w[j1 : p + 1])), p + int(np.argmax(w[p : j2 + 1]))))
        out = np.zeros((k_reps, 4))
        fb = np.zeros((k_reps, 2), dtype=bool)
        p = int(peaks[0])
        z1 = _enter(x, p, lo_lim, bases[0][0] + fz * (x[p] - bases[0][0]), -1)
        out[0, 0], fb[0, 0] = self._outer(w, lo_lim, z1, p, fs, -1)
        p = int(peaks[-1])
        z0 = _enter(x, p, hi_lim, bases[-1][1] + fz * (x[p] - bases[-1][1]), +1)
        out[-1, 3], fb[-1, 1] = self._outer(w, hi_lim, z0, p, fs, +1)
        for k in range(1, k_reps):  # the rest zone between two reps
            v = valleys[k - 1]
            i2p, i1n = sp_pk[k - 1][1], sp_pk[k][0]
            amp = min(x[peaks[k - 1]], x[peaks[k]]) - x[v]
            lvl = x[v] + fz * amp
            z0 = max(_zone_edge(x, v, i2p, lvl, -1, below=True), i2p)
            z1 = min(_zone_edge(x, v, i1n, lvl, +1, below=True), i1n)
            e = _first_below(w, z0, z1, frac * w[i2p])
            s = _last_below(w, z0, z1, frac * w[i1n])
            if e is None or s is None or e > s:
                e = s = float(z0 + np.argmin(w[z0 : z1 + 1]))
                fb[k - 1, 1] = fb[k, 0] = True
            out[k - 1, 3], out[k, 0] = e, s
        for k, p in enumerate(peaks):  # the extreme of each rep
            i1, i2 = sp_pk[k]
            lvl = x[p] - fz * (x[p] - max(bases[k]))
            z0 = max(_zone_edge(x, p, i1, lvl, -1, below=False), i1)
            z1 = min(_zone_edge(x, p, i2, lvl, +1, below=False), i2)
            a_end = _first_below(w, z0, z1, frac * w[i1])
            b_start = _last_below(w, z0, z1, frac * w[i2])
            if a_end is None or b_start is None or a_end > b_start:
                a_end = b_start = float(z0 + np.argmin(w[z0 : z1 + 1]))
            out[k, 1], out[k, 2] = a_end, b_start
        return out, fb

    def _final_hold_end(self, w: NDArray[np.float64], end_idx: float, limit: int,
                        fs: float) -> float:
        i0 = int(np.ceil(end_idx))
        seg = w[i0 : limit + 1]
        if seg.size == 0:
            return float(min(i0, w.size - 1))
        level = max(self.final_hold_speed_dps, 3.0 * float(np.percentile(seg, 10)))
        moving = np.flatnonzero(seg > level)
        if moving.size == 0:
            return float(i0 + seg.size - 1)
        j = i0 + int(moving[0])
        pk = j + int(np.argmax(w[j : min(limit + 1, j + max(2, int(1.5 * fs)))]))
        c = _last_below(w, i0, pk, self.phase_fraction * w[pk])
        return float(c if c is not None else i0 + np.argmin(w[i0 : pk + 1]))

    def segment(
        self,
        excursion_deg: NDArray[np.float64],
        speed_dps: NDArray[np.float64],
        sampling_rate_hz: float,
        peaks: NDArray[np.int64],
        rest_at_bottom: bool,
        t0_s: float = 0.0,
        set_no: int = 1,
        limits: tuple[int, int] | None = None,
    ) -> Self:
        """Phases of the reps whose extremes are ``peaks`` (sample indices, ascending) in one
        set. ``limits`` (sample indices) bound the outer search (default ``max_rep_s`` / 2
        around the first and last extreme); times are ``t0_s + index / sampling_rate_hz``."""
        fs = float(sampling_rate_hz)
        x = np.asarray(excursion_deg, dtype=float)
        w = np.asarray(speed_dps, dtype=float)
        peaks = np.asarray(peaks, dtype=np.int64)
        half = int(0.5 * self.max_rep_s * fs)
        lo_lim = max(0, int(peaks[0]) - half)
        hi_lim = min(x.size - 1, int(peaks[-1]) + half)
        if limits is not None:
            lo_lim = max(lo_lim, min(int(limits[0]), int(peaks[0]) - 1))
            hi_lim = min(hi_lim, max(int(limits[1]), int(peaks[-1]) + 1))
            lo_lim, hi_lim = max(lo_lim, 0), min(hi_lim, x.size - 1)
        ph, fb = self._phases(x, w, peaks, lo_lim, hi_lim, fs)
        s, a_end, b_start, e = ph.T
        if rest_at_bottom:
            conc, ecc, hold = a_end - s, e - b_start, b_start - a_end
            lock = 0.5 * (a_end + b_start)
        else:
            ecc, conc = a_end - s, e - b_start
            hold = np.r_[s[1:] - e[:-1], np.nan]
            lock = np.r_[0.5 * (e[:-1] + s[1:]), 0.5 * (e[-1] + self._final_hold_end(
                w, e[-1], min(w.size - 1, int(e[-1]) + int(self.max_rep_s * fs)), fs))]
        k = np.arange(peaks.size)
        cols = {
            "set": np.full(peaks.size, set_no, dtype=np.int64),
            "rep": (k + 1).astype(np.int64),
            "start_s": t0_s + s / fs,
            "end_s": t0_s + e / fs,
            "lockout_s": t0_s + lock / fs,
            "concentric_s": conc / fs,
            "top_hold_s": hold / fs,
            "eccentric_s": ecc / fs,
            "extreme_idx": peaks,
            "fallback_start": fb[:, 0],
            "fallback_end": fb[:, 1],
        }
        # in the table's final column order: no reordering copy
        order = (*REP_PHASE_COLUMNS, "extreme_idx", "fallback_start", "fallback_end")
        self.rep_columns_ = {c: cols[c] for c in order}
        self._reps: pa.Table | None = None
        self.phases_ = ph
        return self

    @property
    def reps_(self) -> pa.Table:
        """The reps table (class docstring), made from ``rep_columns_`` on first use."""
        if getattr(self, "_reps", None) is None:
            self._reps = arrow.table(self.rep_columns_)
        return self._reps
