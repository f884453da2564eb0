"""Smooth-motion building blocks for the simulators (C2-continuous by construction).

An accelerometer measures the second derivative of position, so every simulated trajectory must
be twice continuously differentiable: a kink in velocity would be an infinite acceleration spike.
All profiles here have zero first and second derivatives at their ends, so they can be chained
and summed freely.

* :func:`min_jerk` -- the minimum-jerk point-to-point profile (Flash & Hogan 1985, J Neurosci
  5:1688), a quintic ``10 s^3 - 15 s^4 + 6 s^5``; the classic model of smooth human reaching and
  a good model of the bell-shaped velocity of a single repetition.
* :func:`cruise` -- travel with a constant cruising speed and minimum-jerk-shaped speed ramps
  (walking from A to B).
* :class:`Track` -- named channels built from additive segments ``delta * profile``; cheap to
  render vectorised over millions of samples (one slice operation per segment).
* :func:`sway` -- quiet-standing postural sway as a sum of a few slow sinusoids (C-infinity).
* :func:`envelope` -- a 0..1..0 window with minimum-jerk ramps, to switch oscillations on/off.
* :func:`gait_oscillation` -- the pelvis's periodic motion in walking (vertical bob at the step
  frequency, obliquity, rotation and lateral sway at the stride frequency), after Perry &
  Burnfield, Gait Analysis (2nd ed., 2010), ch. 2, and Saunders, Inman & Eberhart (1953) J Bone
  Joint Surg 35A:543 ("determinants of gait").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray


def min_jerk(s: ArrayLike) -> NDArray[np.float64]:
    """Minimum-jerk profile 0 -> 1 for normalised time ``s`` (clipped to [0, 1])."""
    x = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
    return x * x * x * (10.0 + x * (-15.0 + 6.0 * x))


def min_jerk_rate(s: ArrayLike) -> NDArray[np.float64]:
    """d(min_jerk)/ds = 30 s^2 (1 - s)^2 (peak 1.875 at s = 0.5)."""
    x = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
    return 30.0 * x * x * (1.0 - x) ** 2


def skewed_min_jerk(s: ArrayLike, skew: float) -> NDArray[np.float64]:
    """Minimum-jerk profile on warped time ``g(s) = s + skew s (1 - s)``, |skew| < 1.

    g is smooth and monotonic with g(0) = 0, g(1) = 1, so the result still has zero velocity and
    acceleration at both ends (C2 chaining is preserved) while the speed peak moves earlier
    (skew > 0: explosive start, slow arrival) or later (skew < 0). Real lifts are rarely
    symmetric.
    """
    x = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
    k = float(np.clip(skew, -0.95, 0.95))
    return min_jerk(x + k * x * (1.0 - x))


def _min_jerk_integral(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Integral of the minimum-jerk profile from 0 to x (x in [0, 1]); 0.5 at x = 1."""
    return x**4 * (2.5 + x * (-3.0 + x))


def cruise(s: ArrayLike, ramp_fraction: float = 0.2) -> NDArray[np.float64]:
    """Travel profile 0 -> 1 with constant speed in the middle and minimum-jerk speed ramps.

    The speed rises as ``min_jerk`` over the first ``ramp_fraction`` of the time and falls
    symmetrically at the end, so position, speed and acceleration are continuous (C2).
    """
    r = float(np.clip(ramp_fraction, 1e-6, 0.5))
    x = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
    area = 1.0 - r
    head = r * _min_jerk_integral(np.minimum(x, r) / r)
    mid = np.clip(x - r, 0.0, 1.0 - 2.0 * r)
    tail_x = np.clip((x - (1.0 - r)) / r, 0.0, 1.0)
    # Falling ramp: integral of min_jerk(1 - u) for u from 0 to y = 0.5 - I(1 - y).
    tail = r * (0.5 - _min_jerk_integral(1.0 - tail_x))
    return (head + mid + tail) / area


def cruise_speed(s: ArrayLike, ramp_fraction: float = 0.2) -> NDArray[np.float64]:
    """d(cruise)/ds, normalised so that the cruising plateau is 1 / (1 - ramp_fraction)."""
    r = float(np.clip(ramp_fraction, 1e-6, 0.5))
    x = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
    v = np.minimum(min_jerk(x / r), min_jerk((1.0 - x) / r))
    return v / (1.0 - r)


def envelope(t: NDArray[np.float64], t0: float, t1: float, ramp_s: float) -> NDArray[np.float64]:
    """0 before t0, minimum-jerk rise to 1 over ``ramp_s``, 1, fall to 0 at t1 (C2)."""
    ramp = max(min(ramp_s, 0.5 * (t1 - t0)), 1e-6)
    return np.minimum(min_jerk((t - t0) / ramp), min_jerk((t1 - t) / ramp))


PROFILES = {"min_jerk": min_jerk, "cruise": cruise}


@dataclass
class _Segment:
    channel: str
    t0: float
    t1: float
    delta: float
    profile: str
    ramp_fraction: float
    skew: float = 0.0


@dataclass
class Track:
    """Named scalar channels as sums of smooth segments: ``x(t) = x0 + sum_k d_k P_k(t)``.

    ``P_k`` rises 0 -> 1 between the segment's ``t0`` and ``t1`` with zero first and second
    derivatives at both ends, so any sum is C2. Segments may overlap (e.g. a pelvic-tilt squeeze
    in the last part of a lift). :meth:`value` is the channel's value after all segments added so
    far (the planner's notion of "current posture").
    """

    initial: dict[str, float]
    segments: list[_Segment] = field(default_factory=list)
    _final: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._final = dict(self.initial)

    def value(self, channel: str) -> float:
        return self._final[channel]

    def add(
        self,
        channel: str,
        t0: float,
        t1: float,
        delta: float,
        profile: str = "min_jerk",
        ramp_fraction: float = 0.2,
        skew: float = 0.0,
    ) -> None:
        """Add ``delta`` to ``channel`` smoothly between ``t0`` and ``t1``.

        ``skew`` in (-1, 1) warps a minimum-jerk segment's time (:func:`skewed_min_jerk`):
        > 0 puts the speed peak earlier, < 0 later.
        """
        if channel not in self._final:
            raise KeyError(f"unknown channel {channel!r}")
        if t1 <= t0:
            raise ValueError(f"segment must have t1 > t0 (got {t0}, {t1})")
        if delta == 0.0:
            return
        self.segments.append(
            _Segment(channel, t0, t1, float(delta), profile, ramp_fraction, float(skew))
        )
        self._final[channel] += float(delta)

    def move_to(
        self, t0: float, t1: float, targets: dict[str, float], skew: float = 0.0
    ) -> None:
        """Minimum-jerk moves of several channels from their current values to ``targets``."""
        for ch, target in targets.items():
            self.add(ch, t0, t1, float(target) - self._final[ch], skew=skew)

    def render(self, t: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        """Evaluate every channel on the uniform grid ``t`` (vectorised per segment)."""
        n = t.size
        dt = float(t[1] - t[0]) if n > 1 else 1.0
        t_start = float(t[0])
        ends: dict[str, list[tuple[int, float]]] = {ch: [] for ch in self.initial}
        windows: list[tuple[_Segment, int, int]] = []
        for seg in self.segments:
            i0 = int(np.clip(np.ceil((seg.t0 - t_start) / dt), 0, n))
            i1 = int(np.clip(np.ceil((seg.t1 - t_start) / dt), 0, n))
            ends[seg.channel].append((i1, seg.delta))
            if i1 > i0:
                windows.append((seg, i0, i1))
        out: dict[str, NDArray[np.float64]] = {}
        for ch, v0 in self.initial.items():
            # Piecewise-constant part: each segment's full delta from its end on.
            if ends[ch]:
                idx, d = (np.asarray(x) for x in zip(*sorted(ends[ch], key=lambda e: e[0]),
                                                     strict=True))
                vals = np.concatenate([[v0], v0 + np.cumsum(d)])
                counts = np.diff(np.concatenate([[0], idx, [n]]))
                out[ch] = np.repeat(vals, counts)
            else:
                out[ch] = np.full(n, float(v0))
        for seg, i0, i1 in windows:
            s = (t[i0:i1] - seg.t0) / (seg.t1 - seg.t0)
            if seg.profile == "cruise":
                prof = cruise(s, seg.ramp_fraction)
            elif seg.skew:
                prof = skewed_min_jerk(s, seg.skew)
            else:
                prof = min_jerk(s)
            out[seg.channel][i0:i1] += seg.delta * prof
        return out


def sway(
    t: NDArray[np.float64],
    rng: np.random.Generator,
    amplitude: float,
    f_lo_hz: float = 0.05,
    f_hi_hz: float = 0.35,
    n_components: int = 3,
) -> NDArray[np.float64]:
    """Slow random sway: sum of ``n_components`` sinusoids with random frequencies and phases.

    Quiet-standing sway of the trunk and pelvis is dominated by frequencies below ~0.5 Hz and
    amplitudes of a few millimetres / tenths of a degree (Winter 1995, Gait Posture 3:193).
    ``amplitude`` is the RMS of the sum.
    """
    freqs = rng.uniform(f_lo_hz, f_hi_hz, n_components)
    phases = rng.uniform(0.0, 2 * np.pi, n_components)
    weights = rng.uniform(0.5, 1.0, n_components)
    weights *= amplitude * np.sqrt(2.0) / np.sqrt(np.sum(weights**2))
    out = np.zeros(t.size)
    for f, p, w in zip(freqs, phases, weights, strict=True):
        out += w * uniform_sine(t, f, p)
    return out


def uniform_sine(t: NDArray[np.float64], freq_hz: float, phase: float) -> NDArray[np.float64]:
    """``sin(2 pi f t + phase)`` on a uniform grid, by angle addition over blocks: two
    multiplications per sample instead of a transcendental call (same result to ~1e-15)."""
    n = t.size
    if n < 4096:
        return np.sin(2 * np.pi * freq_hz * t + phase)
    dt = float(t[1] - t[0])
    block = 2048
    nb = -(-n // block)
    a = 2 * np.pi * freq_hz * (t[0] + dt * block * np.arange(nb)) + phase
    b = 2 * np.pi * freq_hz * dt * np.arange(block)
    out = np.multiply.outer(np.sin(a), np.cos(b))
    out += np.multiply.outer(np.cos(a), np.sin(b))
    return out.reshape(-1)[:n]


@dataclass
class GaitAmplitudes:
    """Peak amplitudes of the pelvis's walking oscillation (half the peak-to-peak range)."""

    vertical_m: float = 0.015
    """Vertical bob at the step frequency: 2-4 cm peak-to-peak in adults walking at ~1.3 m/s."""
    obliquity_deg: float = 4.0
    """Frontal-plane tilt at the stride frequency, +-3-5 deg (Perry & Burnfield 2010)."""
    rotation_deg: float = 5.0
    """Transverse rotation at the stride frequency, +-4-6 deg."""
    sagittal_deg: float = 1.5
    """Anterior-posterior tilt at the step frequency, +-1-2 deg."""
    lateral_m: float = 0.02
    """Side-to-side shift toward the stance leg at the stride frequency, +-2 cm."""


def gait_oscillation(
    t: NDArray[np.float64], stride_phase0: float, step_hz: float, amp: GaitAmplitudes
) -> dict[str, NDArray[np.float64]]:
    """Pelvis oscillation in walking, stride phase 0 = left initial contact.

    Returns offsets for ``z`` (m, up), ``v`` (m, left), ``obl``, ``rot``, ``sag`` (deg). The
    centre is lowest at double support (contacts) and highest at mid-stance; during left stance
    the right side drops (obliquity > 0) and the pelvis shifts left; at left contact the left
    hip is forward, i.e. the pelvis is turned to the right (rotation < 0).
    """
    phi = stride_phase0 + np.pi * step_hz * t  # stride frequency = step frequency / 2
    return {
        "z": -amp.vertical_m * np.cos(2 * phi),
        "v": amp.lateral_m * np.sin(phi),
        "obl": amp.obliquity_deg * np.sin(phi),
        "rot": -amp.rotation_deg * np.cos(phi),
        "sag": amp.sagittal_deg * np.cos(2 * phi),
    }
