"""The internal time base of the strength stages: samples at any rate and on any clock (jitter,
lost samples) -> box means on a uniform grid at ~50 Hz (docs/algorithms.md, section 1).

The cumulative trapezoidal integral of every channel is interpolated at the bin edges of the
uniform grid; a bin's mean is the difference of the integral at its edges times the rate. That is
the integral-preserving anti-alias filter for rate gyroscopes (a block mean when the input rate
is a multiple of the grid rate and the clock is clean), it copes with a jittering clock and any
input rate (50-1000 Hz), and across lost samples it interpolates linearly. Bins inside a gap
longer than ``gap_factor`` median intervals are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from imu.pipeline.signals import interval_mask


@dataclass(frozen=True)
class InternalGrid:
    """Signals on the internal grid (results of :func:`internal_grid`)."""

    t_s: NDArray[np.float64]
    """Bin centres on the session clock (s)."""
    acc_g: NDArray[np.float64]
    """(N, 3) specific force, bin means (g)."""
    gyr_dps: NDArray[np.float64] | None
    """(N, 3) angular rate, bin means (deg/s); None without a gyroscope."""
    rate_hz: float
    """Grid rate (Hz)."""
    gap: NDArray[np.bool_]
    """Bins inside a gap of lost samples."""

    @property
    def n(self) -> int:
        return int(self.t_s.size)

    def index(self, t_s: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Fractional grid index of session times."""
        return (np.asarray(t_s, dtype=float) - self.t_s[0]) * self.rate_hz

    def time(self, idx: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Session time of fractional grid indices."""
        return self.t_s[0] + np.asarray(idx, dtype=float) / self.rate_hz


def internal_rate_hz(input_rate_hz: float, target_hz: float = 50.0) -> float:
    """The grid rate: the input rate divided by the nearest integer factor (>= 1) that brings it
    close to ``target_hz`` (50 Hz for 100, 200, 400 Hz; 55 Hz for a 110 Hz logger)."""
    k = max(1, int(round(float(input_rate_hz) / target_hz)))
    return float(input_rate_hz) / k


def box_means(
    t_s: NDArray[np.float64], x: NDArray[np.float64], rate_hz: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bin centres and box means of ``x`` (N, C) sampled at ``t_s`` on a grid at ``rate_hz``."""
    return _box_means(np.asarray(t_s, dtype=float), [np.asarray(x, dtype=float)], rate_hz)


def _box_means(t: NDArray[np.float64], blocks: list[NDArray[np.float64]], rate_hz: float
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`box_means` of the columns of the (N, C_i) ``blocks`` side by side: per channel,
    the trapezoids ``0.5 (x[1:] + x[:-1]) dt``, their running sum and its interpolation at
    the bin edges, in two scratch rows reused channel after channel (the input rate's
    temporaries stay two signals' worth, not two per channel)."""
    n = int(np.floor((t[-1] - t[0]) * rate_hz + 1e-9))
    edges = t[0] + np.arange(n + 1) / rate_hz
    dt = np.diff(t)
    trap = np.empty(t.size - 1)
    cum = np.empty(t.size)
    cum[0] = 0.0
    out = np.empty((n, sum(b.shape[1] for b in blocks)))
    j = 0
    for b in blocks:
        for c in range(b.shape[1]):
            np.add(b[1:, c], b[:-1, c], out=trap)
            trap *= 0.5
            trap *= dt
            np.cumsum(trap, out=cum[1:])
            out[:, j] = np.diff(np.interp(edges, t, cum)) * rate_hz
            j += 1
    return 0.5 * (edges[:-1] + edges[1:]), out


def internal_grid(
    t_s: NDArray[np.float64],
    acc_g: NDArray[np.float64],
    gyr_dps: NDArray[np.float64] | None,
    sampling_rate_hz: float,
    target_hz: float = 50.0,
    gap_factor: float = 3.0,
) -> InternalGrid:
    """Resample a recording to the internal grid (module docstring)."""
    rate = internal_rate_hz(sampling_rate_hz, target_hz)
    t = np.asarray(t_s, dtype=float)
    blocks = [np.asarray(acc_g, dtype=float)]
    if gyr_dps is not None:
        blocks.append(np.asarray(gyr_dps, dtype=float))
    tc, out = _box_means(t, blocks, rate)
    dt = np.diff(t)
    med = float(np.median(dt)) if dt.size else 1.0 / rate
    big = np.flatnonzero(dt > gap_factor * med)
    lo = np.floor((t[big] - t[0]) * rate).astype(int)
    hi = np.ceil((t[big + 1] - t[0]) * rate).astype(int)
    gap = interval_mask(np.clip(lo, 0, tc.size), np.clip(hi, 0, tc.size), tc.size)
    return InternalGrid(
        t_s=tc,
        acc_g=out[:, :3],
        gyr_dps=out[:, 3:] if gyr_dps is not None else None,
        rate_hz=rate,
        gap=gap,
    )
