"""Vertical travel of the pelvis centre by anchored double integration (docs/algorithms.md).

The sensor sits at a lever arm ``r`` (pelvis frame) from the pelvis centre, so
``p_centre = p_sensor - R_wp r``. Its vertical acceleration is the sensor's specific force
rotated to the world frame plus gravity, minus the second derivative of the lever arm's vertical
component (which holds the centripetal and tangential terms ``w x (w x r) + dw/dt x r``).

Integration is anchored on still moments (zero-velocity updates, Foxlin 2005, IEEE CG&A 25:38):
between two still moments velocity is integrated from zero and the linear trend that makes it
end at zero is removed (a constant acceleration error over the interval); position is the
integral of that velocity. The vertical range of a rep is then insensitive to a constant
accelerometer bias and to slow orientation errors.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray

from imu.core.frames import GRAVITY_M_S2
from imu.core.rotation import Rotation
from imu.pipeline.base import ErrorFitAlgorithm, TravelAlgorithm
from imu.pipeline.signals import runs


def centre_vertical_acc_m_s2(
    acc_g: NDArray[np.float64],
    r_world_sensor: Rotation,
    r_world_pelvis: Rotation,
    offset_m: NDArray[np.float64],
    sampling_rate_hz: float,
) -> NDArray[np.float64]:
    """World-vertical acceleration (m/s^2) of the pelvis centre, per sample."""
    a_sensor_z = r_world_sensor.apply(acc_g)[:, 2] * GRAVITY_M_S2 - GRAVITY_M_S2
    lever_z = r_world_pelvis.apply(np.asarray(offset_m, dtype=float))[:, 2]
    dt = 1.0 / float(sampling_rate_hz)
    lever_acc = np.gradient(np.gradient(lever_z, dt), dt)
    return a_sensor_z - lever_acc


def _clamp(v: float, lo: float, hi: float) -> float:
    """``v`` limited to ``[lo, hi]`` (a scalar ``np.clip`` without its per-call overhead; NaN
    stays NaN)."""
    return min(max(v, lo), hi)


def anchored_height_m(
    acc_z_m_s2: NDArray[np.float64], a: int, b: int, sampling_rate_hz: float
) -> NDArray[np.float64]:
    """Height (m) over samples ``a..b`` (inclusive) with zero velocity at both ends:
    :func:`anchored_heights_m` of one interval."""
    b = min(int(b), acc_z_m_s2.size - 1)
    return anchored_heights_m(acc_z_m_s2, np.array([int(a)]), np.array([b]), sampling_rate_hz)[0]


def anchored_heights_m(
    acc_z_m_s2: NDArray[np.float64], a: NDArray[np.int64], b: NDArray[np.int64],
    sampling_rate_hz: float,
) -> list[NDArray[np.float64]]:
    """Height (m) over samples ``a[k]..b[k]`` (inclusive, within the signal) with zero velocity
    at both ends, for every k: trapezoidal integration of the acceleration, the velocity's
    linear trend to its end value removed (``i * step`` with ``step = v_end / (n - 1)``, the
    last value exactly ``v_end``; ``i / (n - 1) * v_end`` when the step underflows to 0: numpy's
    ``linspace(0, v_end, n)``), integrated again. The intervals go in buckets of similar length
    (at most twice the samples), each a padded matrix integrated along its rows (a running sum
    along a row adds in order, as on the row alone)."""
    dt = 1.0 / float(sampling_rate_hz)
    a = np.asarray(a, dtype=np.int64)
    size = np.asarray(b, dtype=np.int64) - a + 1
    out: list[NDArray[np.float64]] = [np.zeros(max(int(m), 0)) for m in size]
    ok = np.flatnonzero(size >= 2)
    bucket = np.ceil(np.log2(np.maximum(size[ok], 2))).astype(np.int64)
    for level in np.unique(bucket):
        ks = ok[bucket == level]
        m = int(size[ks].max())
        acc = acc_z_m_s2[np.minimum(a[ks, None] + np.arange(m), acc_z_m_s2.size - 1)]
        v = np.zeros((ks.size, m))
        v[:, 1:] = np.cumsum(0.5 * (acc[:, 1:] + acc[:, :-1]), axis=1) * dt
        rows = np.arange(ks.size)
        last = size[ks] - 1
        v_end = v[rows, last]
        step = v_end / last
        trend = np.arange(m, dtype=float) * step[:, None]
        zero = step == 0  # numpy's linspace for a zero (subnormal) step
        if zero.any():
            trend[zero] = np.arange(m, dtype=float) / last[zero, None] * v_end[zero, None]
        trend += 0.0
        trend[rows, last] = v_end
        v -= trend
        h = np.zeros((ks.size, m))
        h[:, 1:] = np.cumsum(0.5 * (v[:, 1:] + v[:, :-1]), axis=1) * dt
        for r, k in enumerate(ks.tolist()):
            out[k] = h[r, : size[k]]
    return out


def session_height_m(
    acc_z_m_s2: NDArray[np.float64], still: NDArray[np.bool_], sampling_rate_hz: float
) -> NDArray[np.float64]:
    """Pelvis-centre height relative to the start, anchored on every still sample.

    Every movement between still runs is integrated as in :func:`anchored_height_m` (zero
    velocity at both ends, linear velocity trend removed), all at once; heights are chained, so
    errors of long sessions accumulate (a display signal, not a measurement).
    """
    n = acc_z_m_s2.size
    dt = 1.0 / float(sampling_rate_hz)
    # Velocity by trapezoidal integration, v[0] = 0.
    v = np.concatenate([[0.0], np.cumsum(0.5 * (acc_z_m_s2[1:] + acc_z_m_s2[:-1])) * dt])
    moving = runs(~np.asarray(still, dtype=bool))
    if len(moving) == 0:
        return np.zeros(n)
    lo = np.maximum(moving[:, 0] - 1, 0)
    hi = np.minimum(moving[:, 1], n - 1)
    seg_id = np.full(n, -1)
    lengths = hi - lo + 1
    idx = np.repeat(lo, lengths) + (
        np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    ids = np.repeat(np.arange(len(lo)), lengths)
    seg_id[idx] = ids  # overlapping end/start samples belong to the later segment
    vel = np.zeros(n)
    m = seg_id >= 0
    sid = seg_id[m]
    frac = (np.flatnonzero(m) - lo[sid]) / np.maximum(hi[sid] - lo[sid], 1)
    vel[m] = v[m] - v[lo[sid]] - frac * (v[hi[sid]] - v[lo[sid]])
    vel[~m] = 0.0
    vel[lo] = 0.0
    vel[hi] = 0.0
    dz = np.concatenate([[0.0], 0.5 * (vel[1:] + vel[:-1]) * dt])
    return np.cumsum(dz)


class VerticalErrorFit(ErrorFitAlgorithm):
    """Accelerometer bias and scale seen in the vertical channel, from reps and still moments.

    To first order the world-vertical acceleration error is ``g (u.b + sum_k s_k u_k^2)`` with
    ``u(t)`` world-up in the sensor frame (from the orientation): linear in the six parameters
    with known regressors. Every rep starts and ends at rest in the same posture, so the true
    vertical acceleration integrates to zero velocity and zero net height over the rep
    (zero-velocity update and height closure); every still run has zero true acceleration. These
    linear equations, with Gaussian priors (``bias_sigma_g``, ``scale_sigma``), give the MAP
    estimate (one refit without outlying reps). The fitted error is then subtracted from the
    vertical acceleration. This extends zero-velocity-aided calibration (Foxlin 2005) with the
    height closure of repetitive exercise.

    Parameters
    ----------
    bias_sigma_g, scale_sigma
        Prior standard deviations of the accelerometer bias (g) and scale error (fraction).
    velocity_sigma_m_s
        Weight of a rep's zero-velocity equation (m/s).
    closure_sigma_m
        Weight of a rep's height-closure equation (m).
    still_sigma_m_s2
        Weight of a still run's zero-acceleration equation (m/s^2).
    pad_s
        Each rep's interval is widened by this on both sides.
    max_sigmas
        A fit with any parameter beyond this many prior standard deviations is not applied
        (``rejected_``): the equations do not follow the error model.

    Results
    -------
    params_
        Fitted bias (g, 3) then scale error (3): subtract :meth:`error_m_s2` to correct
        (zeros when rejected).
    rejected_
        The fit broke ``max_sigmas``.
    n_reps_used_
        Reps whose two equations were kept.
    """

    def __init__(
        self,
        bias_sigma_g: float = 0.02,
        scale_sigma: float = 0.01,
        velocity_sigma_m_s: float = 0.02,
        closure_sigma_m: float = 0.01,
        still_sigma_m_s2: float = 0.02,
        pad_s: float = 0.1,
        max_sigmas: float = 3.0,
    ) -> None:
        self.bias_sigma_g = bias_sigma_g
        self.scale_sigma = scale_sigma
        self.velocity_sigma_m_s = velocity_sigma_m_s
        self.closure_sigma_m = closure_sigma_m
        self.still_sigma_m_s2 = still_sigma_m_s2
        self.pad_s = pad_s
        self.max_sigmas = max_sigmas

    def fit(
        self,
        acc_z_m_s2: NDArray[np.float64],
        up_sensor: NDArray[np.float64],
        start_idx: NDArray[np.float64],
        end_idx: NDArray[np.float64],
        still: NDArray[np.bool_],
        sampling_rate_hz: float,
    ) -> Self:
        """Fit from the vertical acceleration (m/s^2), world-up in the sensor frame per sample,
        the reps' start and end (fractional sample indices) and the still samples."""
        fs = float(sampling_rate_hz)
        dt = 1.0 / fs
        n = acc_z_m_s2.size
        phi = GRAVITY_M_S2 * np.hstack([up_sensor, up_sensor**2])
        rows: list[NDArray[np.float64]] = []
        ys: list[float] = []
        pad = int(round(self.pad_s * fs))
        for a0, b0 in zip(start_idx, end_idx, strict=True):
            a = int(max(np.floor(a0) - pad, 0))
            b = int(min(np.ceil(b0) + pad, n - 1))
            if b - a < 3:
                continue
            w = np.full(b - a + 1, dt)
            w[0] *= 0.5
            w[-1] *= 0.5
            wl = w * ((b - a) * dt - np.arange(b - a + 1) * dt)  # lever (T - t): position at T
            seg_phi = phi[a : b + 1]
            seg_acc = acc_z_m_s2[a : b + 1]
            rows.append((w @ seg_phi) / self.velocity_sigma_m_s)
            ys.append(float(w @ seg_acc) / self.velocity_sigma_m_s)
            rows.append((wl @ seg_phi) / self.closure_sigma_m)
            ys.append(float(wl @ seg_acc) / self.closure_sigma_m)
        n_rep_rows = len(rows)
        st = runs(still)
        st = st[(st[:, 1] - st[:, 0]) >= 2]
        if len(st):
            cs_phi = np.concatenate([np.zeros((1, 6)), np.cumsum(phi, axis=0)])
            cs_acc = np.concatenate([[0.0], np.cumsum(acc_z_m_s2)])
            length = (st[:, 1] - st[:, 0]).astype(float)
            mean_phi = (cs_phi[st[:, 1]] - cs_phi[st[:, 0]]) / length[:, None]
            mean_acc = (cs_acc[st[:, 1]] - cs_acc[st[:, 0]]) / length
            rows.extend(mean_phi / self.still_sigma_m_s2)
            ys.extend((mean_acc / self.still_sigma_m_s2).tolist())
        self.params_ = np.zeros(6)
        self.n_reps_used_ = n_rep_rows // 2
        self.rejected_ = False
        if not rows:
            return self
        a_mat = np.vstack(rows)
        y = np.asarray(ys)
        prior = np.r_[np.full(3, self.bias_sigma_g**-2), np.full(3, self.scale_sigma**-2)]
        keep = np.ones(len(y), dtype=bool)
        p = np.zeros(6)
        for _ in range(2):
            p = np.linalg.solve(
                a_mat[keep].T @ a_mat[keep] + np.diag(prior), a_mat[keep].T @ y[keep]
            )
            resid = np.abs(y - a_mat @ p)
            new_keep = resid < 3.0
            if (new_keep == keep).all():
                break
            keep = new_keep
        self.n_reps_used_ = int(keep[:n_rep_rows].reshape(-1, 2).all(axis=1).sum())
        sigma = np.r_[np.full(3, self.bias_sigma_g), np.full(3, self.scale_sigma)]
        # a parameter far beyond its prior means the equations break the model (moves taken
        # for reps that do not come back, a long session's drift): no correction then
        self.rejected_ = bool((np.abs(p) > self.max_sigmas * sigma).any())
        self.params_ = np.zeros(6) if self.rejected_ else p
        return self

    def error_m_s2(self, up_sensor: NDArray[np.float64]) -> NDArray[np.float64]:
        """The fitted vertical acceleration error per sample."""
        p = self.params_
        return GRAVITY_M_S2 * (up_sensor @ p[:3] + (up_sensor**2) @ p[3:])


class HipTravel(TravelAlgorithm):
    """Vertical range of the pelvis centre within given intervals (reps).

    Parameters
    ----------
    pad_s
        Widens each interval on both sides so the anchors sit in the still moments around the
        rep (the phase boundaries at 5 % of peak speed are not perfectly still).

    Results
    -------
    travel_m_
        Vertical range of the pelvis centre from each rep's start to its end (m; NaN when the
        interval is too short).
    rise_m_
        Height at lockout minus height at the start (m; NaN without ``lockout_s``).
    """

    def __init__(self, pad_s: float = 0.1) -> None:
        self.pad_s = pad_s

    def estimate(
        self,
        acc_z_m_s2: NDArray[np.float64],
        start_s: NDArray[np.float64],
        end_s: NDArray[np.float64],
        sampling_rate_hz: float,
        lockout_s: NDArray[np.float64] | None = None,
        t0_s: float = 0.0,
    ) -> Self:
        """Anchored double integration of ``acc_z_m_s2`` (m/s^2) over each interval; times in
        s are ``t0_s + index / sampling_rate_hz``."""
        fs = float(sampling_rate_hz)
        n = acc_z_m_s2.size
        travel = np.full(len(start_s), np.nan)
        rise = np.full(len(start_s), np.nan)
        bounds = []
        for s, e in zip(start_s, end_s, strict=True):
            a = int(_clamp(np.floor((s - t0_s - self.pad_s) * fs), 0, n - 1))
            b = int(_clamp(np.ceil((e - t0_s + self.pad_s) * fs), 0, n - 1))
            bounds.append((a, b))
        ab = np.asarray(bounds, dtype=np.int64).reshape(-1, 2)
        used = np.flatnonzero(ab[:, 1] - ab[:, 0] >= 2)
        heights = anchored_heights_m(acc_z_m_s2, ab[used, 0], ab[used, 1], fs)
        for k, h in zip(used.tolist(), heights, strict=True):
            s, e = start_s[k], end_s[k]
            a = int(ab[k, 0])
            t = a + np.arange(h.size)
            ia = int(_clamp(round((s - t0_s) * fs) - a, 0, h.size - 1))
            ib = int(_clamp(round((e - t0_s) * fs) - a, 0, h.size - 1))
            travel[k] = float(np.ptp(h[ia : ib + 1])) if ib > ia else 0.0
            if lockout_s is not None:
                h_lock = float(np.interp((lockout_s[k] - t0_s) * fs, t, h))
                rise[k] = h_lock - h[ia]
        self.travel_m_ = travel
        self.rise_m_ = rise
        return self
