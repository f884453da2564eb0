"""Neutral ("up" in the sensor frame) per mounting, from the best reference anywhere in the
session (strength stage b, docs/algorithms.md section 3; contract section 1).

The pelvis "up" axis is world-up seen by the sensor in neutral standing. A session SHOULD open
with quiet standing but need not: any quiet standing of >= ``min_standing_s`` (rests between
sets, the end) serves, else upright walking (the mean of world-up over whole strides), else
running. Shorter standing (down to the pauses at the top of upright reps) is the last resort.

**Mounting changes.** The sensor may be taken off and clipped back on. Walking and running are
upright by nature, and so are the opening and the closing stand (a recording is started and
stopped standing; not so a window of a live stream): these "upright anchors" show
world-up in the sensor frame for the current mounting. When two consecutive anchors disagree by
more than ``change_deg`` (and the next anchor does not go back to the old direction), the
mounting changed in between; a sit, a lying set or a bent-over pause between two anchors does
not change the anchors' direction, so it is never taken for a re-seat. The change is placed at
the start of the first quiet run after the last old-direction rest that matches the new
direction.

:func:`gyro_bias_dps` gives the gyroscope bias from every still moment of the session (any
posture: at rest the gyroscope reads only its bias).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Self

import numpy as np
from numpy.typing import NDArray

from imu.pipeline.base import CalibrationAlgorithm
from imu.pipeline.bouts import Runs

SOURCES: Final = ("opening_standing", "standing_rest", "walking", "gait", "none")
"""What neutral came from (summary ``calibration``, contract section 3), best first."""


def gyro_bias_dps(
    gyr_dps: NDArray[np.float64], still: NDArray[np.bool_], sampling_rate_hz: float,
    min_still_s: float = 1.0,
) -> NDArray[np.float64]:
    """Median angular rate over the still samples (any posture); zeros when there are fewer than
    ``min_still_s`` of them (the orientation filter then estimates the bias itself)."""
    if int(still.sum()) < min_still_s * sampling_rate_hz:
        return np.zeros(3)
    return np.median(np.asarray(gyr_dps)[still], axis=0)


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _angle_deg(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.degrees(np.arccos(np.clip(a @ b, -1.0, 1.0)))


@dataclass
class Mountings:
    """The mounting segments, one entry per segment in every array: ``start``, ``end`` (sample
    indices, end exclusive), ``up`` (K, 3) neutral up in the sensor frame, ``source``
    (:data:`SOURCES`, or ``rep_tops`` / ``prior``), ``ref_start``, ``ref_end`` (the standing or
    gait samples used; -1 when none)."""

    start: NDArray[np.int64]
    end: NDArray[np.int64]
    up: NDArray[np.float64]
    source: NDArray[np.object_]
    ref_start: NDArray[np.int64]
    ref_end: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.start.size)

    def records(self) -> list[dict[str, Any]]:
        """One dict per segment (``start``, ``end``, ``ux``, ``uy``, ``uz``, ``source``,
        ``ref_start``, ``ref_end``; Python numbers)."""
        return [{"start": int(a), "end": int(b), "ux": float(u[0]), "uy": float(u[1]),
                 "uz": float(u[2]), "source": str(src), "ref_start": int(r0),
                 "ref_end": int(r1)}
                for a, b, u, src, r0, r1 in zip(self.start, self.end, self.up, self.source,
                                                self.ref_start, self.ref_end, strict=True)]


class NeutralCalibration(CalibrationAlgorithm):
    """Mounting segments and, per segment, neutral up and what it came from.

    Parameters
    ----------
    min_standing_s
        Shortest quiet standing used as a reference (issue 9: a 2.5-s stretch is enough).
    opening_s
        A reference standing starting within this time of the first sample is the opening one.
    standing_deg
        A quiet run within this angle of the mounting's upright direction is standing.
    change_deg
        Upright anchors further apart than this mean a new mounting.
    acc_norm_tol_g
        A standing's mean specific force must be 1 g within this.
    short_standing_s
        Last resort: quiet standing at least this long.
    max_spread_deg
        A quiet run whose world-up wanders further than this from its mean is not a reference
        (a slow rep can look quiet to the gyroscope).
    carried_up
        The neutral of the mounting a segment of a longer session begins in, from the segment
        before (the clip is not touched during the still rest it is cut in): its first
        mounting's, whatever this segment's own references say.
    prior_up
        Neutral up (sensor frame) known from earlier in the stream (the live counter): the
        first mounting uses it, with source ``prior``, when it has no reference of its own.
    closing_anchor
        The quiet run that ends the recording is taken as upright (people stop recording
        standing); False for a window of a live stream, which may end anywhere.

    Results
    -------
    segments_
        The mountings (:class:`Mountings`): ``start``, ``end`` (sample indices, end exclusive),
        ``up`` (neutral up in the sensor frame), ``source`` (:data:`SOURCES`), ``ref_start``,
        ``ref_end`` (the standing or gait samples used; -1 when none).
    handling_
        (K, 2) sample indices: from the end of the last rest in the old mounting to the start
        of the new one, per change (the sensor was in the hand: no reps there).
    mounting_changes_
        Number of mounting changes found.
    calibration_
        ``source`` of the first mounting (the summary's ``calibration``).
    """

    def __init__(
        self,
        min_standing_s: float = 2.5,
        opening_s: float = 1.0,
        standing_deg: float = 12.0,
        change_deg: float = 10.0,
        acc_norm_tol_g: float = 0.1,
        short_standing_s: float = 0.8,
        max_spread_deg: float = 3.0,
        prior_up: tuple[float, float, float] | None = None,
        carried_up: tuple[float, float, float] | None = None,
        closing_anchor: bool = True,
    ) -> None:
        self.min_standing_s = min_standing_s
        self.opening_s = opening_s
        self.standing_deg = standing_deg
        self.change_deg = change_deg
        self.acc_norm_tol_g = acc_norm_tol_g
        self.short_standing_s = short_standing_s
        self.max_spread_deg = max_spread_deg
        self.prior_up = prior_up
        self.carried_up = carried_up
        self.closing_anchor = closing_anchor

    # -- anchors and mountings -------------------------------------------------------------
    def _anchors(self, quiet: Runs, gait: Runs, n: int, fs: float) -> Runs:
        """Upright anchors: gait bouts, the opening and the closing quiet stand (by start)."""
        rows = [gait] if len(gait) else []
        ok = quiet.take((np.abs(quiet.acc_norm_g - 1.0) <= self.acc_norm_tol_g)
                        & (quiet.spread_deg <= self.max_spread_deg))
        if len(ok):
            first, last = ok.take(np.array([0])), ok.take(np.array([-1]))
            if first.start[0] <= self.opening_s * fs and (
                first.length[0] >= self.short_standing_s * fs
            ):
                rows.append(first)
            if self.closing_anchor and last.end[0] >= n - self.opening_s * fs and (
                last.length[0] >= 1.5 * fs
            ):
                rows.append(last)
        a = Runs.concat(rows)
        return a.take(np.unique(a.start, return_index=True)[1])  # one anchor per start

    def _boundaries(self, anchors: Runs, quiet: Runs) -> list[tuple[int, int]]:
        """(handling start, new mounting start) sample indices of every mounting change: the
        sensor is in the hand from the end of the last rest in the old mounting."""
        if len(anchors) < 2:
            return []
        u = anchors.up
        out = []
        cur = u[0]
        last_old = 0
        for j in range(1, len(anchors)):
            if _angle_deg(u[j], cur) <= self.change_deg:
                cur = _unit(cur + u[j] * 0.2)
                last_old = j
                continue
            # the next anchor confirms the new direction, or shows yet another mounting (two
            # re-seats with one anchor between them); only a return to the old direction
            # marks this anchor as a stray
            confirmed = j == len(anchors) - 1 or _angle_deg(u[j + 1], u[j]) <= self.change_deg \
                or _angle_deg(u[j + 1], cur) > self.change_deg
            if not confirmed:
                continue
            lo, hi = int(anchors.end[last_old]), int(anchors.start[j])
            q = quiet.within(lo, hi)
            cut, hand = hi, lo
            if len(q):
                to_old, to_new = _angle_deg(q.up, cur), _angle_deg(q.up, u[j])
                old = np.flatnonzero(to_old <= self.standing_deg)
                if old.size:
                    hand = int(q.end[old[-1]])
                after = np.arange(len(q)) > (old[-1] if old.size else -1)
                new = np.flatnonzero(after & (to_new <= self.standing_deg))
                if new.size:
                    cut = int(q.start[new[0]])
                # the sensor is not in the hand while the body rests: lying and seated rests
                # of the old mounting (the sets between them) come before the handling too;
                # a rest nearer the new upright than the old one is the new mounting's
                rested = np.flatnonzero((q.end <= cut) & (to_old < to_new))
                if rested.size:
                    hand = max(hand, int(q.end[rested[-1]]))
            out.append((min(hand, cut), cut))
            cur = u[j]
            last_old = j
        return out

    # -- neutral per mounting ---------------------------------------------------------------
    def _neutral(
        self, q: Runs, g: Runs, upright: NDArray[np.float64] | None,
        first: bool, start: int, fs: float,
    ) -> tuple[NDArray[np.float64], str, int, int]:
        length = q.length
        qu = q.up
        norm_ok = (np.abs(q.acc_norm_g - 1.0) <= self.acc_norm_tol_g) & (
            q.spread_deg <= self.max_spread_deg)
        if upright is None and len(q):
            upright = self._densest(qu[norm_ok], length[norm_ok]) if norm_ok.any() else None
        if upright is None:
            upright_ok = np.zeros(len(q), dtype=bool)
        else:
            upright_ok = _angle_deg(qu, upright) <= self.standing_deg
        cand = norm_ok & upright_ok & (length >= self.min_standing_s * fs)
        idx = np.flatnonzero(cand)
        if idx.size and first and q.start[idx[0]] - start <= self.opening_s * fs:
            k = idx[0]
            return qu[k], "opening_standing", int(q.start[k]), int(q.end[k])
        if idx.size:
            up = self._robust_mean(qu[idx], length[idx])
            k = idx[np.argmax(length[idx])]
            return up, "standing_rest", int(q.start[k]), int(q.end[k])
        for kind, source in (("walk", "walking"), ("run", "gait")):
            gk = g.take(g.gait == kind)
            if len(gk) and gk.length.sum() >= 3.0 * fs:
                w = gk.length.astype(float)
                up = _unit((gk.up * w[:, None]).sum(axis=0))
                k = int(np.argmax(w))
                return up, source, int(gk.start[k]), int(gk.end[k])
        short = np.flatnonzero(norm_ok & upright_ok & (length >= self.short_standing_s * fs))
        if short.size:
            up = self._robust_mean(qu[short], length[short])
            k = short[np.argmax(length[short])]
            return up, "standing_rest", int(q.start[k]), int(q.end[k])
        return np.full(3, np.nan), "none", -1, -1

    @staticmethod
    def _densest(u: NDArray[np.float64], w: NDArray[np.float64], tol_deg: float = 10.0
                 ) -> NDArray[np.float64] | None:
        """Direction with the most quiet time within ``tol_deg`` (no upright anchor known)."""
        if len(u) == 0:
            return None
        near = _angle_deg(u, u.T) <= tol_deg  # (K, K)
        k = int(np.argmax(near.astype(float) @ w))
        return _unit((u[near[k]] * w[near[k], None]).sum(axis=0))

    @staticmethod
    def _robust_mean(u: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
        """Duration-weighted mean direction of the standings within 4 deg of their medoid."""
        mean = _unit((u * w[:, None]).sum(axis=0))
        keep = _angle_deg(u, mean) <= 4.0
        if keep.sum() >= 1:
            mean = _unit((u[keep] * w[keep, None]).sum(axis=0))
        return mean

    def calibrate(
        self, quiet_runs: Runs, gait_runs: Runs, n_samples: int, sampling_rate_hz: float,
    ) -> Self:
        """From the quiet runs and gait bouts of :class:`~imu.pipeline.bouts.ActivityBouts`
        (a mounting without any reference gets source ``none``: see
        :func:`upright_from_motion`)."""
        fs = float(sampling_rate_hz)
        anchors = self._anchors(quiet_runs, gait_runs, n_samples, fs)
        changes = self._boundaries(anchors, quiet_runs)
        edges = [0, *[c for _, c in changes], n_samples]
        ups, sources, refs = [], [], []
        for k in range(len(edges) - 1):
            a, b = edges[k], edges[k + 1]
            an = anchors.within(a, b)
            upright = None
            if len(an):
                w = an.length.astype(float)
                upright = _unit((an.up * w[:, None]).sum(axis=0))
            up, source, r0, r1 = self._neutral(quiet_runs.within(a, b), gait_runs.within(a, b),
                                               upright, k == 0, a, fs)
            if source == "none" and k == 0 and self.prior_up is not None:
                up, source = _unit(np.asarray(self.prior_up, dtype=float)), "prior"
            if k == 0 and self.carried_up is not None:  # the stretch before's mounting
                up = _unit(np.asarray(self.carried_up, dtype=float))
                source = source if source != "none" else "prior"
            ups.append(up)
            sources.append(source)
            refs.append((r0, r1))
        ref = np.asarray(refs, dtype=np.int64).reshape(-1, 2)
        self.segments_ = Mountings(
            start=np.asarray(edges[:-1], dtype=np.int64), end=np.asarray(edges[1:], np.int64),
            up=np.asfortranarray(np.asarray(ups, dtype=float).reshape(-1, 3)),
            source=np.asarray(sources, dtype=object), ref_start=ref[:, 0], ref_end=ref[:, 1],
        )
        self.handling_ = np.asarray(changes, dtype=np.int64).reshape(-1, 2)
        self.mounting_changes_ = len(self.segments_) - 1
        self.calibration_ = str(self.segments_.source[0])
        return self

    def up_per_sample(self) -> NDArray[np.float64]:
        """(N, 3) neutral up of each sample's mounting (NaN where the mounting has none)."""
        seg = self.segments_
        return np.repeat(seg.up, seg.end - seg.start, axis=0)[: int(seg.end[-1])]


NO_REFERENCE: Final = (
    "no usable reference for neutral: the recording holds no quiet standing, no walking or "
    "running and no upright reps (a few seconds of quiet standing anywhere are enough)"
)
"""The one-line error of a session without any reference (contract section 5)."""


def upright_from_motion(
    up_sensor: NDArray[np.float64], height_cm: NDArray[np.float64], min_corr: float = 0.3,
) -> NDArray[np.float64] | None:
    """Last resort for a mounting without standing or gait: the most upright posture the
    movement comes back to (the standing tops of squats or hinges done back to back).

    World-up in the sensor frame moves mainly along one arc (the reps tilt the pelvis forward
    and back); the end of the arc where the hips are high (band-passed height ``height_cm``: in
    every upright exercise the hips are lowest when the pelvis is most tilted) is upright.
    Returns the mean world-up over the 5 % of samples nearest that end, or None when height and
    tilt do not move together (|correlation| < ``min_corr``).
    """
    u = np.asarray(up_sensor, dtype=float)
    if len(u) < 10:
        return None
    c = u - u.mean(axis=0)
    _, vecs = np.linalg.eigh(c.T @ c)
    p = c @ vecs[:, -1]
    h = np.asarray(height_cm, dtype=float)
    if np.std(p) < 1e-9 or np.std(h) < 1e-9:
        return None
    r = float(np.corrcoef(p, h)[0, 1])
    if not abs(r) >= min_corr:
        return None
    p = p if r > 0 else -p
    top = p >= np.percentile(p, 95)
    return _unit(u[top].mean(axis=0))
