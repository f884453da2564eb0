"""Is this a recording of a person's hip in the contract's units? The ONE place that says so.

Structural checks (columns, NaN, time order) live with the reader (:mod:`imu.io.rawfile`);
this module judges the numbers of a :class:`~imu.core.session.RawSession` that is already
well-formed, so that a unit slip or a bogus clock becomes one clear :class:`InputError` instead
of a confident wrong answer or an unbounded allocation. It runs for every input: a raw file
(:func:`imu.io.rawfile.from_dataframe`), a DataFrame, a :class:`RawSession` built in memory
(:func:`imu.core.options.resolve`), and the recordings of ``imu record``. Limits (docs/formats.md):

* **Time**: ``t_s`` in seconds. The median sample interval must give a rate within
  :data:`RATE_RANGE_HZ` (the contract's 50-1000 Hz, with room for clock error); a file in
  milliseconds is named as such. ``sample_rate_hz`` in the metadata must agree with it within
  :data:`RATE_TOLERANCE`.
* **Gaps**: no single jump of ``t_s`` may exceed :data:`MAX_GAP_S` (a longer pause is not one
  session: the file is rejected, not split, so the user decides where each session starts),
  and the whole span may hold at most :func:`max_span_samples` sample periods, so every
  analysis that resamples onto a uniform grid stays within a few times the memory of the file,
  whatever the file claims.
* **seq**: a jump must not claim more lost samples than the time between the samples holds.
* **Acceleration in g**: the median magnitude must lie in :data:`ACC_MEDIAN_RANGE_G` (a sensor
  at rest reads 1 g); about 9.8 is named as m/s^2.
* **Angular rate in deg/s**: when the acceleration shows that the pelvis moved (the gravity
  direction turned by more than :data:`MOVED_DEG` or the magnitude varied by more than
  :data:`MOVED_STD_G`), the angular rate must exceed :data:`MIN_MOVING_RATE` somewhere
  (its 99.9th percentile); below that it is in rad/s (a pelvis never turns at 10 rad/s).
* **A constant signal**: every sample identical (acceleration and angular rate) is a stuck
  sensor, not a still person (whose sensor always shows noise); it is refused, since no
  neutral posture or axis can be found in it. A still recording with noise analyses to an
  honest empty result (no sets, no steps).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from imu.core.errors import InputError

RATE_RANGE_HZ: Final = (40.0, 1250.0)
"""Sample rates accepted from ``t_s`` (contract: 50-1000 Hz, +-20 % for clocks)."""
RATE_TOLERANCE: Final = 0.15
"""Largest relative difference between ``sample_rate_hz`` and the rate of ``t_s``."""
MAX_GAP_S: Final = 300.0
"""Longest jump of ``t_s`` within one session (a sensor out of range for up to 2 minutes, a
reboot: seconds; five minutes of nothing is a different session)."""
SPAN_FACTOR: Final = 2.0
"""The span may hold this many times the sample count, plus :data:`MAX_GAP_S` (see
:func:`max_span_samples`)."""
ACC_MEDIAN_RANGE_G: Final = (0.5, 3.0)
"""Median |acceleration| of a worn sensor, g (1 at rest; running raises it)."""
MS2_PER_G: Final = 9.80665
MOVED_STD_G: Final = 0.1
TURN_MIN_DEG: Final = 5.0
QUASI_STATIC_STD_G: Final = 0.02
MIN_TURN_RATIO: Final = 10.0
"""Integrated angular rate per radian of turn below which it is rad/s (deg/s gives ~57)."""
MIN_MOVING_RATE: Final = 8.0
"""99.9th percentile of |angular rate| below which a moving pelvis is read in rad/s (8 deg/s
would be a crawl; 8 rad/s = 460 deg/s is beyond any pelvis)."""


def max_span_samples(n_samples: int, rate_hz: float) -> int:
    """Most sample periods a session of ``n_samples`` may span: twice its samples plus
    :data:`MAX_GAP_S` worth (lost samples up to that are fine). The one bound on every uniform
    grid the pipeline builds (:func:`imu.pipeline.signals.uniform_grid`)."""
    return int(SPAN_FACTOR * n_samples + MAX_GAP_S * rate_hz) + 1


def _fmt_s(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.3g} s"


def check_time(t_s: np.ndarray, meta_rate_hz: float | None, name: str = "input") -> float:
    """Check ``t_s`` (strictly increasing, finite: the reader's checks) and the metadata's rate;
    returns the rate the analysis will use."""
    dt = np.diff(t_s)
    implied = float(1.0 / np.median(dt))
    lo, hi = RATE_RANGE_HZ
    if not lo <= implied <= hi:
        if lo <= implied * 1000 <= hi:
            raise InputError(
                f"{name}: t_s looks like milliseconds (median interval {np.median(dt):g}); "
                "the raw file holds seconds"
            )
        raise InputError(
            f"{name}: t_s gives {implied:.4g} Hz (median interval {np.median(dt):.4g} s); "
            f"expected 50-1000 Hz with t_s in seconds"
        )
    rate = implied
    if meta_rate_hz is not None:
        rate = float(meta_rate_hz)
        if abs(rate / implied - 1.0) > RATE_TOLERANCE:
            raise InputError(
                f"{name}: metadata sample_rate_hz {rate:g} disagrees with t_s "
                f"({implied:.4g} Hz from the median interval)"
            )
    big = np.flatnonzero(dt > MAX_GAP_S)
    if big.size:
        i = int(big[0])
        raise InputError(
            f"{name}: t_s jumps by {_fmt_s(float(dt[i]))} at row {i + 1} (more than "
            f"{MAX_GAP_S / 60:g} min): not one session; split the file there"
        )
    span = float(t_s[-1] - t_s[0]) * max(rate, implied)
    if span > max_span_samples(t_s.size, max(rate, implied)):
        raise InputError(
            f"{name}: t_s spans {_fmt_s(float(t_s[-1] - t_s[0]))} for only {t_s.size} samples "
            f"at {rate:g} Hz (mostly gaps); not one session"
        )
    return rate


def check_seq(seq: np.ndarray, t_s: np.ndarray, rate_hz: float, name: str = "input") -> None:
    """A ``seq`` jump may not claim more lost samples than the time between the samples holds
    (the contract counts seq jumps as lost samples)."""
    d = np.diff(seq)
    allowed = np.diff(t_s) * rate_hz * 1.5 + 2
    bad = np.flatnonzero(d > allowed)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{name}: seq jumps by {int(d[i])} at row {i + 1} but t_s only by "
            f"{float(t_s[i + 1] - t_s[i]):.3g} s: the counter is not this recording's"
        )


def check_units(
    acc_g: np.ndarray, gyr_dps: np.ndarray | None, rate_hz: float, name: str = "input"
) -> None:
    """Acceleration in g, angular rate in deg/s, and not a constant (stuck) signal."""
    mag = np.sqrt(np.einsum("ij,ij->i", acc_g, acc_g))
    med = float(np.median(mag))
    lo, hi = ACC_MEDIAN_RANGE_G
    if not lo <= med <= hi:
        if lo <= med / MS2_PER_G <= hi:
            raise InputError(
                f"{name}: acceleration looks like m/s^2 (median magnitude {med:.3g}); "
                "the raw file holds g (a sensor at rest reads 1 g)"
            )
        raise InputError(
            f"{name}: implausible acceleration (median magnitude {med:.3g} g; a sensor at "
            "rest reads 1 g)"
        )
    acc_const = bool((acc_g == acc_g[0]).all())
    if gyr_dps is None:
        return
    if acc_const and bool((gyr_dps == gyr_dps[0]).all()):
        raise InputError(
            f"{name}: all {len(acc_g)} samples are identical: a stuck sensor, not a recording "
            "(a still sensor still shows noise)"
        )
    ratio = turn_ratio(acc_g, gyr_dps, rate_hz)
    if ratio is not None:
        if ratio < MIN_TURN_RATIO:
            raise InputError(
                f"{name}: angular rate looks like rad/s (it integrates to {ratio:.2g} units per "
                "radian the gravity direction turns, not 57.3 degrees); the raw file holds deg/s"
            )
        return
    rate = np.sqrt(np.einsum("ij,ij->i", gyr_dps, gyr_dps))
    if float(np.std(mag)) > MOVED_STD_G and float(np.percentile(rate, 99.9)) < MIN_MOVING_RATE:
        raise InputError(
            f"{name}: angular rate looks like rad/s (at most {float(rate.max()):.3g} while the "
            "acceleration shows movement); the raw file holds deg/s"
        )


def turn_ratio(acc_g: np.ndarray, gyr: np.ndarray, rate_hz: float) -> float | None:
    """Integrated angular rate per radian that the gravity direction turns (about 57.3 for
    deg/s, about 1 for rad/s), the median over 1-s windows between quasi-static moments that
    turn by more than :data:`TURN_MIN_DEG`; None when fewer than 3 such windows exist.

    Quarter-second blocks: each block's mean acceleration direction (quasi-static when the
    magnitude's standard deviation within it is below :data:`QUASI_STATIC_STD_G`) and the
    integral of the angular rate over it. The rotation between two blocks is at least the
    angle between their gravity directions and, over one second, close to it.
    """
    k = max(1, int(round(rate_hz * 0.25)))
    n = len(acc_g) // k
    if n < 8:
        return None
    a = acc_g[: n * k].reshape(n, k, 3)
    mean = a.mean(axis=1)
    mag = np.sqrt(np.einsum("ij,ij->i", mean, mean)).clip(1e-9)
    u = mean / mag[:, None]
    quiet = np.sqrt(np.einsum("ijk,ijk->ij", a, a)).std(axis=1) < QUASI_STATIC_STD_G
    quiet &= np.abs(mag - 1.0) < 0.1
    g = gyr[: n * k].reshape(n, k, 3).sum(axis=1) / rate_hz
    w = 4  # blocks per window: one second
    cum = np.concatenate([np.zeros((1, 3)), np.cumsum(g, axis=0)])
    turned = np.arccos(np.clip(np.einsum("ij,ij->i", u[:-w], u[w:]), -1.0, 1.0))
    # from the middle of block i to the middle of block i + w
    integral = cum[w:-1] - cum[1:-w] + 0.5 * (g[:-w] + g[w:])
    ok = quiet[:-w] & quiet[w:] & (turned > np.radians(TURN_MIN_DEG))
    if int(ok.sum()) < 3:
        return None
    r = np.sqrt(np.einsum("ij,ij->i", integral[ok], integral[ok])) / turned[ok]
    return float(np.median(r))


def check_plausible(
    t_s: np.ndarray,
    acc_g: np.ndarray,
    gyr_dps: np.ndarray | None,
    seq: np.ndarray | None,
    meta_rate_hz: float | None,
    name: str = "input",
) -> None:
    """Every check of this module on one session's arrays (:class:`InputError` on the first
    failure); :meth:`imu.core.session.RawSession.ensure_plausible` runs it once per session."""
    rate = check_time(t_s, meta_rate_hz, name)
    if seq is not None and seq.size == t_s.size:
        check_seq(seq, t_s, rate, name)
    check_units(acc_g, gyr_dps, rate, name)
