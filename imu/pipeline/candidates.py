"""Rep candidates over the whole session, posture by posture (strength stage c, first half;
docs/algorithms.md section 4).

A rep leaves a rest posture and comes back to it. Every such excursion of the pelvis is a
candidate; the recogniser (:mod:`imu.pipeline.recognition`) then tells each candidate's exercise
or "none" (a fidget, sitting down, picking up a weight, lying down), and :mod:`imu.pipeline.sets`
groups the candidates into sets. The excursion signal depends on the posture bout
(:class:`imu.pipeline.bouts.PostureBouts`), not on the exercise:

* outside lying blocks and gait: the tilt from neutral (sign-free angle between gravity now and
  in standing) plus ``height_weight`` x the drop of the hips (band-passed height, cm). In every
  upright exercise the pelvis leans forward as the hips go down, so both grow toward the
  bottom: a hinge mostly tilts, a squat or split squat mostly drops (real squats tilt as little
  as 7 deg, or twice per rep when the pelvis tucks under at the bottom), a deadlift peaks at its
  bottom rest;
* inside a lying block: the 3-D rotation angle from the rest posture (the quiet run just before
  each set's first movement): bridges and hip thrusts tilt, a quadruped hip extension tips and
  turns, to either side.

Candidates are peaks of the signal with a prominence of at least ``min_prominence_deg``
(:func:`imu.pipeline.dsp.find_peaks`, as scipy's, measured within ``max_rep_s``). Each
candidate has a window: from the lowest point toward the previous candidate (or where the
signal is back within 10 % of the prominence, at most ``max_rep_s`` / 2 away) to the same on
the other side. Its features
(:data:`FEATURES`) describe posture, range and axis of rotation, vertical travel, closure,
rhythm and left-right asymmetry, all independent of how the sensor is mounted.
"""

from __future__ import annotations

import warnings
from typing import Final, Self

import numpy as np
from numpy.typing import NDArray

from imu.core.rotation import Rotation
from imu.pipeline.base import SegmentationAlgorithm
from imu.pipeline.dsp import butter_sos, find_peaks, sosfiltfilt
from imu.pipeline.signals import runs

FEATURES: Final = (
    "lying", "tilt_rest_deg", "tilt_ext_deg", "dtilt_deg", "amp_deg", "sag_frac", "yaw_frac",
    "travel_cm", "travel_per_deg", "net_cm", "net_tilt_deg", "dur_s", "ext_hold_s",
    "end_speed_frac", "peak_speed_dps", "gap_prev_s", "gap_next_s", "same_prev", "same_next",
)
"""Per-candidate features, in the order the recogniser's model reads them."""
INDEX_COLUMNS: Final = ("span", "peak", "lo", "hi")
"""Candidate columns that are indices (int64): posture span, extreme, window start and end."""
CANDIDATE_COLUMNS: Final = (*INDEX_COLUMNS, "prominence_deg", "yaw_deg", *FEATURES)
"""The columns of :attr:`ExcursionCandidates.candidates_`, in order."""


def bridge_gaps(acc_z_m_s2: NDArray[np.float64], gap: NDArray[np.bool_], sampling_rate_hz: float,
                fit_s: float = 0.3) -> NDArray[np.float64]:
    """Vertical acceleration made consistent across lost samples.

    Inside a gap the acceleration is unknown (the time base interpolates it linearly), which
    leaves a step in the integrated velocity and a ramp in the height. The velocity is assumed
    smooth across the gap: lines fitted to it over ``fit_s`` before and after are extrapolated
    to the gap's middle, and their difference is removed by a constant acceleration over it."""
    fs = float(sampling_rate_hz)
    out = np.asarray(acc_z_m_s2, dtype=float).copy()
    r = runs(gap)
    if r.size == 0:
        return out
    v = np.cumsum(out) / fs
    m = max(3, int(fit_s * fs))
    for g0, g1 in r:  # a loop over gaps only
        if g0 < m or g1 + m > out.size:
            continue
        tb, ta = np.arange(g0 - m, g0), np.arange(g1, g1 + m)
        mid = 0.5 * (g0 + g1)
        jump = np.polyval(np.polyfit(ta, v[ta], 1), mid) - np.polyval(np.polyfit(tb, v[tb], 1),
                                                                      mid)
        out[g0:g1] -= jump * fs / (g1 - g0)
        v = np.cumsum(out) / fs
    return out


def bandpassed_height_cm(
    acc_z_m_s2: NDArray[np.float64], sampling_rate_hz: float, hp_hz: float = 0.08,
    lp_hz: float = 3.0, gap: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    """Vertical position (cm) by double integration with a zero-phase high-pass after each
    integration: right for the shape of reps (0.1-1 Hz), not for absolute height. ``gap``:
    samples inside lost-sample gaps (:func:`bridge_gaps`)."""
    fs = float(sampling_rate_hz)
    hp = butter_sos(2, hp_hz, "highpass", fs=fs)
    lp = butter_sos(2, min(lp_hz, 0.45 * fs), "lowpass", fs=fs)
    a = np.asarray(acc_z_m_s2, dtype=float)
    if gap is not None and gap.any():
        a = bridge_gaps(a, gap, fs)
    v = sosfiltfilt(hp, np.cumsum(a - a.mean()) / fs)
    h = sosfiltfilt(hp, np.cumsum(v) / fs)
    return 100.0 * sosfiltfilt(lp, h)


def rest_excursion_deg(
    r_earth_sensor: Rotation, quiet: NDArray[np.bool_], a: int, b: int, sampling_rate_hz: float,
    long_rest_s: float = 3.5, min_peak_deg: float = 6.0,
) -> tuple[NDArray[np.float64], int, int]:
    """3-D rotation angle (deg) from the rest posture in the lying block ``[a, b)``.

    The block is cut at its long rests (>= ``long_rest_s``: between two sets, e.g. switching
    legs without getting up); in each part the rest posture is the quiet run (>= 0.3 s) just
    before the first movement of at least ``min_peak_deg`` (the set's starting position, after
    any repositioning), else the part's first quiet run. The way in before the block's first
    quiet run and the way out after its last are excluded. The angle has no sign: the two sides
    of unilateral work turn the pelvis in opposite directions. Returns the signal on
    ``[i0, i1)`` and ``(i0, i1)``.
    """
    fs = float(sampling_rate_hz)
    st = runs(quiet[a:b]) + a
    st = st[(st[:, 1] - st[:, 0]) >= max(1, int(0.3 * fs))]
    if len(st) == 0:
        return np.zeros(0), a, a
    i0, i1 = int(st[0, 0]), int(st[-1, 1])
    cuts = [0] + [k for k in range(1, len(st)) if st[k, 1] - st[k, 0] >= long_rest_s * fs]
    x = np.zeros(i1 - i0)
    for j, k in enumerate(cuts):
        p0 = int(st[k, 0])
        p1 = int(st[cuts[j + 1], 0]) if j + 1 < len(cuts) else i1
        last = cuts[j + 1] if j + 1 < len(cuts) else len(st)
        ref_k = k
        for _ in range(2):  # the rest just before the first movement
            ref = r_earth_sensor[int(st[ref_k, 0]) : int(st[ref_k, 1])].mean()
            rv = (ref.inv() * r_earth_sensor[p0:p1]).as_rotvec()
            seg = np.degrees(np.linalg.norm(rv, axis=1))
            moved = np.flatnonzero(seg - seg[: max(1, int(st[ref_k, 1]) - p0)].max()
                                   >= min_peak_deg)
            if moved.size == 0:
                break
            before = [m for m in range(k, last) if st[m, 1] <= p0 + moved[0]]
            if not before or before[-1] == ref_k:
                break
            ref_k = before[-1]
        x[p0 - i0 : p1 - i0] = seg
    return x, i0, i1


class ExcursionCandidates(SegmentationAlgorithm):
    """Every excursion of the pelvis from a rest posture and back, with its features.

    Parameters
    ----------
    min_prominence_deg
        Smallest excursion considered (deg).
    lying_prominence_deg
        The same inside lying blocks, where the pelvis rests steadier (a quadruped hip
        extension may turn it by as little as 8 deg).
    max_rep_s
        Longest rep: the window in which prominence is measured, and how far a candidate's
        window reaches at most.
    min_distance_s
        Candidates are at least this far apart.
    height_weight
        Upright spans: deg of excursion per cm of hip drop.
    merge_drop_cm, merge_frac, merge_within_s, merge_valley_frac
        Upright spans: two tilt peaks are one rep when the hips stay down between them and
        the excursion does not come back near its rest level (:meth:`_merge_humps`).

    Results
    -------
    candidates_
        Arrays by name (:data:`CANDIDATE_COLUMNS`), one entry per candidate: ``span`` (posture
        span number), ``peak``, ``lo``, ``hi`` (sample indices: extreme, window start and end),
        ``prominence_deg``, ``yaw_deg`` (signed turn about the vertical into the extreme) and
        the :data:`FEATURES`.
    excursion_
        The excursion signal per sample (deg; 0 where no span applies).
    spans_
        Arrays by name, one entry per posture span: ``start``, ``end`` (sample indices),
        ``lying`` (bool), ``rest_start``, ``rest_end`` (the rest posture used, lying spans).
    """

    def __init__(
        self,
        min_prominence_deg: float = 6.0,
        max_rep_s: float = 12.0,
        min_distance_s: float = 0.6,
        merge_drop_cm: float = 10.0,
        merge_frac: float = 0.35,
        merge_within_s: float = 3.0,
        merge_valley_frac: float = 0.3,
        height_weight: float = 1.0,
        lying_prominence_deg: float = 4.0,
    ) -> None:
        self.min_prominence_deg = min_prominence_deg
        self.max_rep_s = max_rep_s
        self.min_distance_s = min_distance_s
        self.merge_drop_cm = merge_drop_cm
        self.merge_frac = merge_frac
        self.merge_within_s = merge_within_s
        self.merge_valley_frac = merge_valley_frac
        self.height_weight = height_weight
        self.lying_prominence_deg = lying_prominence_deg

    def _merge_humps(self, x: NDArray[np.float64], h: NDArray[np.float64],
                     pk: NDArray[np.int64], prom: NDArray[np.float64], wins: NDArray[np.int64],
                     fs: float) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray]:
        """Merge neighbouring tilt peaks that are one rep: the hips stay down between them.

        Between two reps an upright exercise comes back up; the pelvis can tilt twice within
        one rep (a squat whose pelvis tucks under at the bottom, "butt wink") while the hips
        stay low. Two peaks less than ``merge_within_s`` apart merge when the hips drop by more
        than ``merge_drop_cm`` and, at the tilt valley between the peaks, are within
        ``merge_frac`` of that drop from their lowest point, and the excursion there stays
        above ``merge_valley_frac`` of the lower peak's rise from the rest (the windows' ends):
        back-to-back hinge reps come back to the rest between them while the band-passed
        height, drifting near bigger moves, may not show it.
        """
        if pk.size < 2:
            return pk, prom, wins
        out = [[int(pk[0]), float(prom[0]), int(wins[0, 0]), int(wins[0, 1])]]
        for i in range(1, pk.size):
            cur = out[-1]
            a, b = cur[0], int(pk[i])
            v = a + int(np.argmin(x[a : b + 1]))
            h_bot = float(h[a : b + 1].min())
            drop = max(float(h[cur[2]]), float(h[wins[i, 1]])) - h_bot
            rest = min(float(x[cur[2]]), float(x[wins[i, 1]]))
            held = x[v] - rest >= self.merge_valley_frac * (min(x[a], x[b]) - rest)
            if (b - a) <= self.merge_within_s * fs and drop > self.merge_drop_cm and (
                h[v] - h_bot < self.merge_frac * drop
            ) and held:
                if x[b] > x[a]:
                    cur[0] = b
                cur[1] = max(cur[1], float(prom[i]))
                cur[3] = int(wins[i, 1])
            else:
                out.append([b, float(prom[i]), int(wins[i, 0]), int(wins[i, 1])])
        arr = np.asarray(out)
        return (arr[:, 0].astype(np.int64), arr[:, 1].astype(float),
                arr[:, 2:4].astype(np.int64))

    def _peaks(self, x: NDArray[np.float64], fs: float, lying: bool
               ) -> tuple[NDArray[np.int64], NDArray]:
        prominence = self.lying_prominence_deg if lying else self.min_prominence_deg
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "some peaks have a prominence of 0", RuntimeWarning)
            pk, props = find_peaks(
                x, prominence=prominence, wlen=int(self.max_rep_s * fs) | 1,
                distance=max(1, int(self.min_distance_s * fs)),
            )
        return pk, props["prominences"]

    def _windows(self, x: NDArray[np.float64], pk: NDArray[np.int64], prom: NDArray[np.float64],
                 quiet: NDArray[np.bool_], fs: float) -> NDArray[np.int64]:
        """Each candidate's window: to the lowest point toward a neighbouring candidate, else
        to where the signal is back within 10 % of the prominence and on to the first quiet
        sample (at most 2 s further: the rep starts and ends at rest)."""
        half = int(0.5 * self.max_rep_s * fs)
        ext = int(2.0 * fs)
        n = x.size
        wins = np.zeros((pk.size, 2), dtype=np.int64)
        for i, p in enumerate(pk):
            if i > 0 and p - pk[i - 1] <= 2 * half:
                lo = int(pk[i - 1] + np.argmin(x[pk[i - 1] : p + 1]))
            else:
                seg = x[max(0, p - half) : p + 1][::-1]
                j = np.flatnonzero(seg <= x[p] - 0.9 * prom[i])
                lo = p - int(j[0]) if j.size else max(0, p - half)
                q = np.flatnonzero(quiet[max(0, lo - ext) : lo + 1][::-1])
                lo = lo - int(q[0]) if q.size else lo
            if i + 1 < pk.size and pk[i + 1] - p <= 2 * half:
                hi = int(p + np.argmin(x[p : pk[i + 1] + 1]))
            else:
                seg = x[p : p + half + 1]
                j = np.flatnonzero(seg <= x[p] - 0.9 * prom[i])
                hi = p + int(j[0]) if j.size else min(n - 1, p + half)
                q = np.flatnonzero(quiet[hi : min(n, hi + ext + 1)])
                hi = hi + int(q[0]) if q.size else hi
            wins[i] = lo, hi
        return wins

    def segment(
        self,
        tilt_deg: NDArray[np.float64],
        r_earth_sensor: Rotation,
        speed_dps: NDArray[np.float64],
        acc_z_m_s2: NDArray[np.float64],
        quiet: NDArray[np.bool_],
        lying: NDArray[np.bool_],
        excluded: NDArray[np.bool_],
        sampling_rate_hz: float,
        boundaries: NDArray[np.int64] | None = None,
        height_cm: NDArray[np.float64] | None = None,
        up_sensor: NDArray[np.float64] | None = None,
    ) -> Self:
        """Candidates in every posture span. ``tilt_deg`` from neutral per sample; ``excluded``
        samples (gait) belong to no span; ``boundaries`` (sample indices, e.g. mounting
        changes) split spans; ``height_cm`` the band-passed height (default: from
        ``acc_z_m_s2``, :func:`bandpassed_height_cm`); ``up_sensor`` world-up in the sensor
        frame, ``r_earth_sensor.apply([0, 0, 1], inverse=True)`` (None: computed here)."""
        fs = float(sampling_rate_hz)
        n = tilt_deg.size
        x = np.zeros(n)
        cut = np.zeros(n, dtype=bool)
        if boundaries is not None and len(boundaries):
            cut[np.clip(np.asarray(boundaries, dtype=np.int64), 0, n - 1)] = True
        h = bandpassed_height_cm(acc_z_m_s2, fs) if height_cm is None else height_cm
        spans = []
        for lying_span, mask in ((False, ~lying & ~excluded & ~cut), (True, lying & ~cut)):
            for a, b in runs(mask):
                if b - a < int(1.0 * fs):
                    continue
                if lying_span:
                    sig, i0, i1 = rest_excursion_deg(r_earth_sensor, quiet, a, b, fs)
                    if i1 - i0 < int(1.0 * fs):
                        continue
                    x[i0:i1] = sig
                    spans.append((i0, i1, True, i0, i1))
                else:
                    x[a:b] = tilt_deg[a:b] - self.height_weight * h[a:b]
                    spans.append((a, b, False, a, a))
        spans.sort()
        up = (r_earth_sensor.apply(np.array([0.0, 0.0, 1.0]), inverse=True)
              if up_sensor is None else up_sensor)
        rows: list[dict[str, NDArray]] = []  # one table at the end, not one per span
        for si, (a, b, is_lying, _, _) in enumerate(spans):
            pk, prom = self._peaks(x[a:b], fs, is_lying)
            if pk.size == 0:
                continue
            wins = self._windows(x[a:b], pk, prom, quiet[a:b], fs) + a
            pk = pk + a
            if not is_lying:
                pk, prom, wins = self._merge_humps(x, h, pk, prom, wins, fs)
            feats = self._features(x, tilt_deg, h, speed_dps, r_earth_sensor, up, pk, wins, fs)
            feats["lying"] = np.full(pk.size, float(is_lying))
            feats["span"] = np.full(pk.size, si, dtype=np.int64)
            feats["peak"] = pk
            feats["lo"] = wins[:, 0]
            feats["hi"] = wins[:, 1]
            feats["prominence_deg"] = prom
            rows.append(feats)
        self.candidates_ = {
            c: np.concatenate([f[c] for f in rows]) if rows
            else np.zeros(0, np.int64 if c in INDEX_COLUMNS else float)
            for c in CANDIDATE_COLUMNS
        }
        self.excursion_ = x
        sp = np.asarray(spans, dtype=np.int64).reshape(-1, 5)
        self.spans_ = {"start": sp[:, 0], "end": sp[:, 1], "lying": sp[:, 2].astype(bool),
                       "rest_start": sp[:, 3], "rest_end": sp[:, 4]}
        return self

    def _features(
        self, x: NDArray[np.float64], tilt: NDArray[np.float64], h: NDArray[np.float64],
        speed: NDArray[np.float64], r: Rotation, up: NDArray[np.float64],
        pk: NDArray[np.int64], wins: NDArray[np.int64], fs: float,
    ) -> dict[str, NDArray[np.float64]]:
        lo, hi = wins[:, 0], wins[:, 1]
        t_rest = 0.5 * (tilt[lo] + tilt[hi])
        t_ext = tilt[pk]
        rel_lo = (r[lo].inv() * r[pk]).as_rotvec()
        rel_hi = (r[hi].inv() * r[pk]).as_rotvec()
        amp = np.degrees(0.5 * (np.linalg.norm(rel_lo, axis=1) + np.linalg.norm(rel_hi, axis=1)))
        # rotation about the vertical (yaw) as a share of the rotation, rest -> extreme
        # ``yaw_deg``: signed, from the window's start to the extreme (unilateral work turns
        # the pelvis toward one side, the other leg toward the other); its size is exact after
        # the conversion to degrees, so its abs is the share's numerator
        yaw_signed = np.degrees(np.sum(rel_lo * up[lo], axis=1))
        yaw = np.abs(yaw_signed)
        # every window's samples in one flat index (windows may overlap)
        size = hi - lo + 1
        first = np.concatenate([[0], np.cumsum(size)[:-1]])
        idx = np.arange(int(size.sum())) - np.repeat(first - lo, size)
        # the height furthest from the window's ends (the first such sample, as np.argmax)
        dev = np.abs(h[idx] - np.repeat(0.5 * (h[lo] + h[hi]), size))
        far = np.flatnonzero((dev == np.repeat(np.maximum.reduceat(dev, first), size))
                             | np.isnan(dev))
        ext_h = h[idx[far[np.searchsorted(far, first)]]]
        d_lo, d_hi = ext_h - h[lo], ext_h - h[hi]
        same = np.sign(d_lo) == np.sign(d_hi)
        travel = np.where(same, np.sign(d_lo) * np.minimum(np.abs(d_lo), np.abs(d_hi)), 0.0)
        # Python's min/max of two floats, element by element
        x_lo, x_hi = x[lo], x[hi]
        amp_x = x[pk] - np.where(x_hi < x_lo, x_hi, x_lo)
        near = x[idx] >= np.repeat(x[pk] - 0.1 * np.where(1e-6 > amp_x, 1e-6, amp_x), size)
        ext_hold = np.add.reduceat(near.astype(np.int64), first) / fs
        peak_speed = np.maximum.reduceat(speed[idx], first)
        k = max(1, int(0.2 * fs))
        # the means over the first and last k samples, window by window (np.mean's own order)
        ends = np.array([speed[a : min(a + k, b + 1)].mean() + speed[max(a, b + 1 - k) : b + 1]
                         .mean() for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
        end_speed = 0.5 * ends / np.where(1e-6 > peak_speed, 1e-6, peak_speed)
        t_pk = pk / fs
        gap_prev = np.minimum(np.r_[np.inf, np.diff(t_pk)], 20.0)
        gap_next = np.minimum(np.r_[np.diff(t_pk), np.inf], 20.0)
        rel_amp = np.log(np.maximum(amp, 1.0))
        same_prev = np.r_[3.0, np.abs(np.diff(rel_amp))]
        same_next = np.r_[np.abs(np.diff(rel_amp)), 3.0]
        same_prev[gap_prev >= 20.0] = 3.0
        same_next[gap_next >= 20.0] = 3.0
        return {
            "yaw_deg": yaw_signed,
            "tilt_rest_deg": t_rest,
            "tilt_ext_deg": t_ext,
            "dtilt_deg": t_ext - t_rest,
            "amp_deg": amp,
            "sag_frac": np.minimum(np.abs(t_ext - t_rest) / np.maximum(amp, 1.0), 1.5),
            "yaw_frac": np.minimum(yaw / np.maximum(amp, 1.0), 1.5),
            "travel_cm": travel,
            "travel_per_deg": np.abs(travel) / np.maximum(amp, 1.0),
            "net_cm": h[hi] - h[lo],
            "net_tilt_deg": tilt[hi] - tilt[lo],
            "dur_s": (hi - lo) / fs,
            "ext_hold_s": ext_hold,
            "end_speed_frac": end_speed,
            "peak_speed_dps": peak_speed,
            "gap_prev_s": gap_prev,
            "gap_next_s": gap_next,
            "same_prev": np.minimum(same_prev, 3.0),
            "same_next": np.minimum(same_next, 3.0),
        }
