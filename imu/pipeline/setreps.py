"""From a recognised set to its reps (strength stage e): the set's pelvis frame, its excursion
signal signed by the exercise's structure, and the reps' extremes (docs/algorithms.md
section 6).

**The set's pelvis frame** comes from gravity alone: "up" is neutral standing of the set's
mounting (:mod:`imu.pipeline.neutral`); "forward" is the direction in which the pelvis leans in
the set's most tilted posture. Upright exercises and the face-down quadruped lean forward
(anterior); lying on the back leans backward (posterior), so forward is minus (upright, prone)
or plus (supine) that lean direction, taken at the candidates' extremes for upright sets (the
bottom of a hinge, squat or split squat; a deadlift's bottom rest) and at the rest posture for
lying sets. Sagittal angle and obliquity then follow from world-up in the sensor frame alone
(:func:`imu.pipeline.pelvis.sagittal_obliquity_deg`). The exercise thus fixes the sign that the
data cannot (supine and prone mirror each other for a hip sensor).

**Extremes.** Exercises that rest at the top: each rep candidate's extreme (the bottom).
Deadlifts rest at the bottom and their candidates are the bottoms: the reps' extremes are the
highest points between consecutive bottoms. Lying exercises: the candidates' extremes (tops).
An extreme whose prominence (the smaller rise from the lowest point towards either neighbour)
is under ``MIN_PROMINENCE`` of the median of the set's larger half is a wobble in the rest
between reps, not a rep: it is dropped, smallest first (:func:`drop_wobbles`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imu.core.exercises import REGISTRY
from imu.core.rotation import Rotation
from imu.pipeline.pelvis import (
    dominant_axis,
    frame_from_forward,
    sagittal_obliquity_deg,
    tilt_direction,
)

MIN_PROMINENCE: Final = 0.15
"""An extreme rising less than this share of the set's typical prominence is not a rep."""
LEAN_SIGN: Final = {"standing": -1.0, "kneeling": -1.0, "prone": -1.0, "supine": 1.0}
"""forward = LEAN_SIGN[posture] x the direction the pelvis leans in the set's tilted posture."""
Members: TypeAlias = Mapping[str, ArrayLike]
"""A set's rep candidates: their columns ``lo``, ``hi`` and ``peak`` (sample indices), as
arrays by name."""


def _ids(members: Members, name: str) -> NDArray[np.int64]:
    """One column of ``members`` as sample indices."""
    return np.asarray(members[name], dtype=np.int64)


def _ends(members: Members) -> NDArray[np.int64]:
    """The candidates' window ends: all starts, then all ends."""
    return np.r_[_ids(members, "lo"), _ids(members, "hi")]


def set_frame(
    exercise: str,
    up_sensor: NDArray[np.float64],
    neutral_up: NDArray[np.float64],
    members: Members,
    gyr_dps: NDArray[np.float64] | None = None,
) -> Rotation:
    """pelvis <- sensor of a set (module docstring). ``members``: the set's candidates (``lo``,
    ``hi``, ``peak``); ``gyr_dps``: the angular rate over the set (upright sets: the reps'
    rotation axis, Principal axis of the rate perpendicular to up, gives the medio-lateral axis
    more precisely than the lean; the lean gives its sign)."""
    posture = REGISTRY[exercise].posture
    if posture in ("supine", "prone"):
        ends = _ends(members)
        u = up_sensor[ends]  # the rest posture between the reps
        w = np.ones(len(u))
    else:
        idx = _ids(members, "peak")
        u = up_sensor[idx]
        w = np.clip(1.0 - u @ neutral_up, 1e-6, None)  # weight the most tilted extremes
    d = LEAN_SIGN[posture] * (tilt_direction(u, neutral_up) * w[:, None]).sum(axis=0)
    if posture not in ("supine", "prone") and gyr_dps is not None and len(gyr_dps) > 10:
        left, _ = dominant_axis(gyr_dps, neutral_up)
        fwd = np.cross(left, neutral_up)
        d = fwd if fwd @ d >= 0 else -fwd
    return frame_from_forward(neutral_up, d)


def neutral_from_tops(up_sensor: NDArray[np.float64], members: Members) -> NDArray[np.float64]:
    """Last-resort neutral for an upright set in a mounting without any reference: world-up at
    the rest between the reps (the candidates' window ends, where an upright rep stands)."""
    idx = _ends(members)
    u = up_sensor[idx].mean(axis=0)
    return u / np.linalg.norm(u)


def lying_excursion_deg(
    r_earth_sensor: Rotation, members: Members, lo: int, hi: int
) -> NDArray[np.float64]:
    """A lying set's signed excursion on ``[lo, hi)``: the rotation from the set's rest (the
    mean orientation at its candidates' window ends) projected on the mean direction of the
    rotation at their extremes (deg; reps peak positive). Per set, so the two sides of a
    unilateral exercise in one lying block do not mix, and signed, so a rest a degree or two
    off the reference does not fold the signal."""
    ends = _ends(members)
    ref = r_earth_sensor[ends].mean()
    pk = _ids(members, "peak")
    d = (ref.inv() * r_earth_sensor[pk]).as_rotvec().mean(axis=0)
    d /= max(float(np.linalg.norm(d)), 1e-12)
    rv = (ref.inv() * r_earth_sensor[lo:hi]).as_rotvec()
    return np.degrees(rv @ d)


def set_signal(
    exercise: str,
    up_sensor: NDArray[np.float64],
    mounting: Rotation,
    r_earth_sensor: Rotation,
    members: Members,
    height_cm: NDArray[np.float64],
    height_weight: float,
    lo: int,
    hi: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """On samples ``[lo, hi)``: the sagittal angle, the obliquity (deg) and the excursion
    signal whose peaks are the reps' extremes: for upright exercises the forward lean plus
    ``height_weight`` x the hip drop (band-passed height ``height_cm``), i.e. -sagittal - w h
    for rest-at-top exercises and +sagittal + w h for the deadlift; for lying exercises
    :func:`lying_excursion_deg`."""
    sag, obl = sagittal_obliquity_deg(up_sensor[lo:hi], mounting)
    e = REGISTRY[exercise]
    if e.posture in ("supine", "prone"):
        x = lying_excursion_deg(r_earth_sensor, members, lo, hi)
    elif e.rest_at_bottom:
        x = sag + height_weight * height_cm[lo:hi]
    else:
        x = -sag - height_weight * height_cm[lo:hi]
    return sag, obl, x


def set_extremes(exercise: str, x: NDArray[np.float64], members: Members, lo: int
                 ) -> NDArray[np.int64]:
    """Sample indices (relative to ``lo``) of the reps' extremes (module docstring)."""
    e = REGISTRY[exercise]
    m_lo = _ids(members, "lo") - lo
    m_hi = _ids(members, "hi") - lo
    m_pk = _ids(members, "peak") - lo
    n = x.size
    if e.rest_at_bottom and e.posture not in ("supine", "prone"):
        out = [a + int(np.argmax(x[a : b + 1])) for a, b in zip(m_pk[:-1], m_pk[1:], strict=True)
               if b > a]
    else:
        out = []
        for a, b, p in zip(m_lo, m_hi, m_pk, strict=True):
            a, b = max(a, 0), min(b, n - 1)
            out.append(a + int(np.argmax(x[a : b + 1])) if b > a else int(np.clip(p, 0, n - 1)))
    return drop_wobbles(x, np.unique(np.asarray(out, dtype=np.int64)))


def prominences(x: NDArray[np.float64], peaks: NDArray[np.int64]) -> NDArray[np.float64]:
    """Rise of ``x`` at each peak above the lowest point between it and each neighbouring peak,
    the smaller of the two sides; the outer sides of the first and last peak (the rest before
    and after the set, perhaps cut by the set's limits) do not count."""
    peaks = np.asarray(peaks, dtype=np.int64)
    if peaks.size < 2:
        return np.full(1, np.inf)
    if np.any(np.diff(peaks) <= 0):  # not ascending: one window at a time
        low = np.array([x[a : b + 1].min() for a, b in zip(peaks[:-1], peaks[1:], strict=True)])
    else:  # min(x[a:b + 1]) of consecutive peaks: one reduceat over [a, b), then x[b]
        low = np.minimum(np.minimum.reduceat(x, peaks)[:-1], x[peaks[1:]])
    left = np.r_[np.inf, x[peaks[1:]] - low]
    right = np.r_[x[peaks[:-1]] - low, np.inf]
    return np.minimum(left, right)


def drop_wobbles(x: NDArray[np.float64], peaks: NDArray[np.int64],
                 min_prominence: float = MIN_PROMINENCE) -> NDArray[np.int64]:
    """``peaks`` without those whose prominence is under ``min_prominence`` x the median
    prominence of the set's larger half (the largest for sets of one or two; wobbles must not
    drag the reference down), removed one at a time,
    smallest first, since removing one changes its neighbours' prominence."""
    peaks = np.asarray(peaks, dtype=np.int64)
    while peaks.size > 1:
        prom = prominences(x, peaks)
        ranked = np.sort(prom)
        ref = float(np.median(ranked[ranked.size // 2 :])) if peaks.size >= 3 else ranked[-1]
        k = int(np.argmin(prom))
        if prom[k] >= min_prominence * ref:
            break
        peaks = np.delete(peaks, k)
    return peaks
