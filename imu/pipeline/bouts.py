"""Bouts over the whole session (strength stage a, docs/algorithms.md section 3).

:class:`ActivityBouts` labels every sample of the internal grid from the sensor frame alone:
quiet (resting), walking, running; it lists the quiet runs with the direction of gravity in the
sensor frame (what calibration needs). :class:`PostureBouts` runs after calibration: with
neutral "up" known per mounting it gives each sample its tilt from neutral and a posture
(standing, seated, bent, lying), and marks the lying blocks (the pelvis held far from upright
for a while: on the back, on hands and knees, shoulders on a bench), inside which lying sets are
looked for.

Walking and running come from ONE adapter, :func:`gait_masks` (today the specific-force bout
detector :class:`imu.pipeline.gait_bouts.GaitBouts`, refined by the step band of the vertical
specific force, so that exercise sets are never taken for walking); the gait stage may replace
it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Self

import numpy as np
from numpy.typing import NDArray

from imu.pipeline.base import BoutAlgorithm
from imu.pipeline.dsp import butter_sos, minimum_filter1d, sosfiltfilt, uniform_filter1d
from imu.pipeline.gait_bouts import GaitBouts
from imu.pipeline.signals import clean_mask, row_norm, running_sum, runs, still_mask

TILT_CLASSES: Final = ("standing", "seated", "bent", "lying")
"""Coarse posture codes of :attr:`PostureBouts.posture_` (index = code), from the tilt alone;
the exact posture of a set (:data:`imu.core.vocabulary.POSTURES`) comes with its exercise.
Standing includes kneeling upright (the pelvis alone cannot tell them apart); lying is on the
back, face down or on hands and knees."""


def gait_masks(
    acc_g: NDArray[np.float64],
    up_sensor: NDArray[np.float64],
    sampling_rate_hz: float,
    bouts: GaitBouts | None = None,
    step_band_ratio: float = 2.0,
    step_band_min_g: float = 0.05,
    vertical_g: NDArray[np.float64] | None = None,
    found: tuple[NDArray[np.bool_], NDArray[np.bool_]] | None = None,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(walking, running) per sample: THE adapter to the gait bout detector.

    :class:`~imu.pipeline.gait_bouts.GaitBouts` (the package's one walking/running bout
    algorithm, the one the gait analysis uses; its defaults: bouts from 2 s, gaps up to 1 s
    closed, walking only where the steps repeat), walking kept only
    where the vertical specific force has its energy in the step band (1.2-3.5 Hz, RMS over 2 s at
    least ``step_band_min_g`` and ``step_band_ratio`` x the RMS at rep frequencies, 0.1-0.9 Hz):
    squats and hinges move the pelvis at < 1 Hz and can look like walking to a spread test.
    ``vertical_g``: ``np.sum(acc_g * up_sensor, axis=1)`` when the caller has it already.
    ``found``: the (walking, running) the gait stage's detector found on the raw samples, put
    on these samples (:func:`imu.pipeline.gait_bouts.bouts_on_grid`): used instead of
    detecting again (one bout detection per session); walking is still refined.
    """
    fs = float(sampling_rate_hz)
    if found is None:
        b = (bouts or GaitBouts()).clone().detect(acc_g, fs)
        found = (b.walking_, b.running_)
    walking, running = found
    if walking.any() and fs > 8.0:
        f = np.sum(acc_g * up_sensor, axis=1) if vertical_g is None else vertical_g
        hi = sosfiltfilt(butter_sos(2, [1.2, min(3.5, 0.45 * fs)], "bandpass", fs=fs), f)
        lo = sosfiltfilt(butter_sos(2, [0.1, 0.9], "bandpass", fs=fs), f)
        w = max(1, int(round(2.0 * fs)))
        rms_hi = np.sqrt(uniform_filter1d(hi * hi, w))
        rms_lo = np.sqrt(uniform_filter1d(lo * lo, w))
        steps = (rms_hi > step_band_min_g) & (rms_hi > step_band_ratio * rms_lo)
        walking = clean_mask(walking & steps, int(round(1.0 * fs)), int(round(2.0 * fs)))
    return walking & ~running, running


@dataclass
class Runs:
    """Runs of samples (quiet runs, gait bouts), one entry per run in every array.

    ``start``, ``end``: sample indices (end exclusive); ``up``: (K, 3) mean direction (world-up
    in the sensor frame, unit); ``acc_norm_g``: mean specific-force norm; ``spread_deg``:
    largest angle of a sample's direction from the mean; ``gait``: ``walk`` | ``run`` for gait
    bouts, '' for quiet runs."""

    start: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    end: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    up: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3)))
    acc_norm_g: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    spread_deg: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    gait: NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, object))

    def __post_init__(self) -> None:
        # column-major, as the (K, 3) directions have always been (the products and sums over
        # them keep their summation order, so their bits)
        self.up = np.asfortranarray(self.up, dtype=float)

    def __len__(self) -> int:
        return int(self.start.size)

    @property
    def length(self) -> NDArray[np.int64]:
        """Samples per run."""
        return self.end - self.start

    def take(self, idx: NDArray[np.intp] | NDArray[np.bool_]) -> Runs:
        """The runs at positions (or mask) ``idx``, in that order."""
        return Runs(self.start[idx], self.end[idx], self.up[idx], self.acc_norm_g[idx],
                    self.spread_deg[idx], self.gait[idx])

    def within(self, a: int, b: int) -> Runs:
        """The runs lying wholly in samples ``[a, b)``."""
        return self.take((self.start >= a) & (self.end <= b))

    @staticmethod
    def concat(parts: list[Runs]) -> Runs:
        """The runs of ``parts`` in one, ordered by start (stable)."""
        if not parts:
            return Runs()
        cat = Runs(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("start", "end", "up", "acc_norm_g", "spread_deg", "gait")))
        return cat.take(np.argsort(cat.start, kind="stable"))


class ActivityBouts(BoutAlgorithm):
    """Quiet, walking and running samples and the quiet runs, in the sensor frame.

    Parameters
    ----------
    window_s, gyr_std_dps, acc_std_g, speed_dps
        Quiet: over a centred window the angular rate varies less than ``gyr_std_dps`` and the
        specific force less than ``acc_std_g`` on every axis, and the mean angular speed stays
        below ``speed_dps`` (MEMS gyroscopes on real people are noisy: looser than the strict
        stillness of the accelerometer fit).
    min_quiet_s
        Quiet runs shorter than this are not listed in ``quiet_runs_``.
    gait
        The gait bout detector behind :func:`gait_masks` (None: ``GaitBouts()``).

    Results
    -------
    quiet_, walking_, running_
        Boolean per sample.
    quiet_runs_
        The quiet runs (>= ``min_quiet_s``, :class:`Runs`): ``start``, ``end`` (sample
        indices, end exclusive), ``up`` (world-up in the sensor frame, unit), ``acc_norm_g``,
        ``spread_deg`` (largest angle of world-up within the run from its mean).
    gait_runs_
        The walking and running bouts (:class:`Runs`, by start): ``gait`` (walk | run), ``up``
        (mean world-up in the sensor frame over the bout), ``acc_norm_g``, ``spread_deg``.
    """

    def __init__(
        self,
        window_s: float = 0.4,
        gyr_std_dps: float = 3.0,
        acc_std_g: float = 0.02,
        speed_dps: float = 8.0,
        min_quiet_s: float = 0.5,
        gait: GaitBouts | None = None,
    ) -> None:
        self.window_s = window_s
        self.gyr_std_dps = gyr_std_dps
        self.acc_std_g = acc_std_g
        self.speed_dps = speed_dps
        self.min_quiet_s = min_quiet_s
        self.gait = gait

    def detect(
        self,
        acc_g: NDArray[np.float64],
        gyr_dps: NDArray[np.float64],
        up_sensor: NDArray[np.float64],
        sampling_rate_hz: float,
        speed_dps: NDArray[np.float64] | None = None,
        vertical_g: NDArray[np.float64] | None = None,
        gait: tuple[NDArray[np.bool_], NDArray[np.bool_]] | None = None,
    ) -> Self:
        """Label the samples; ``gyr_dps`` bias-corrected, ``up_sensor`` world-up in the sensor
        frame per sample (from the orientation). ``speed_dps`` (``np.linalg.norm(gyr_dps,
        axis=1)``) and ``vertical_g`` (``np.sum(acc_g * up_sensor, axis=1)``): the same values
        when the caller has them already (None: computed here). ``gait``: (walking, running)
        per sample found by the gait stage (:func:`gait_masks`' ``found``; None: detected
        here by the ``gait`` detector)."""
        fs = float(sampling_rate_hz)
        w = max(1, int(round(self.window_s * fs)))
        speed = row_norm(gyr_dps) if speed_dps is None else speed_dps
        quiet = still_mask(acc_g, gyr_dps, fs, self.window_s, self.gyr_std_dps, self.acc_std_g) & (
            uniform_filter1d(speed, w, mode="nearest") < self.speed_dps)
        walking, running = gait_masks(acc_g, up_sensor, fs, self.gait, vertical_g=vertical_g,
                                      found=gait)
        quiet &= ~(walking | running)
        self.quiet_ = quiet
        self.walking_ = walking
        self.running_ = running
        acc_sums = _RunSums(acc_g, acc_g)
        self.quiet_runs_ = _runs_table(quiet, acc_sums, self.min_quiet_s * fs,
                                       trim_n=int(round(0.75 * w)))
        up_sums = _RunSums(up_sensor, acc_g, acc_sums.acc_norm_cs)
        self.gait_runs_ = Runs.concat([_runs_table(mask, up_sums, 1.0, gait=name)
                                       for name, mask in (("walk", walking), ("run", running))])
        return self


class _RunSums:
    """What :func:`_runs_table` reads of a direction signal ``src`` (N, 3) and of the specific
    force, computed once for all its calls: running sums of ``src`` and of the specific-force
    norm, and the norm of ``src`` per sample (row by row, so the same values as on any slice)."""

    def __init__(self, src: NDArray[np.float64], acc_g: NDArray[np.float64],
                 acc_norm_cs: NDArray[np.float64] | None = None) -> None:
        self.src = src
        self.cs = np.vstack([np.zeros((1, 3)), np.cumsum(src, axis=0)])
        self.src_norm = row_norm(src)
        if acc_norm_cs is None:
            acc_norm = self.src_norm if src is acc_g else row_norm(acc_g)
            acc_norm_cs = running_sum(acc_norm)
        self.acc_norm_cs = acc_norm_cs


def _runs_table(mask: NDArray[np.bool_], sums: _RunSums, min_len: float, trim_n: int = 0,
                gait: str = "") -> Runs:
    """Runs of ``mask`` with their mean direction of ``sums.src`` and mean specific-force
    norm."""
    r = runs(mask)
    r = r[(r[:, 1] - r[:, 0]) >= max(min_len, 1)]
    src, cs, csn = sums.src, sums.cs, sums.acc_norm_cs
    length = np.maximum(r[:, 1] - r[:, 0], 1).astype(float)
    # the means leave out the run's edges: the centred window calls a sample quiet up to half a
    # window into the next movement
    trim = np.minimum(trim_n, (r[:, 1] - r[:, 0]) // 4).astype(np.int64) if len(r) else r[:, 0]
    a, b = r[:, 0] + trim, r[:, 1] - trim
    mean = (cs[b] - cs[a]) / np.maximum(b - a, 1)[:, None] if len(r) else np.zeros((0, 3))
    norm = np.linalg.norm(mean, axis=1, keepdims=True)
    u = mean / np.maximum(norm, 1e-12)
    spread = np.zeros(len(r))
    if len(r):  # largest angle of a sample's direction from the run's mean
        # one matrix-vector product per run (the same BLAS call as on the run alone)
        dots = np.concatenate([src[i:j] @ u[k] for k, (i, j) in enumerate(r.tolist())])
        edge = np.zeros(mask.size + 1, dtype=np.int8)
        edge[r[:, 0]] = 1
        edge[r[:, 1]] = -1
        inside = np.cumsum(edge[:-1], dtype=np.int8) > 0
        d = dots / np.maximum(sums.src_norm[inside], 1e-12)
        first = np.concatenate([[0], np.cumsum(r[:, 1] - r[:, 0])[:-1]])
        spread = np.degrees(np.arccos(np.clip(np.minimum.reduceat(d, first), -1.0, 1.0)))
    return Runs(
        start=r[:, 0].astype(np.int64),
        end=r[:, 1].astype(np.int64),
        up=u,
        acc_norm_g=(csn[r[:, 1]] - csn[r[:, 0]]) / length if len(r) else np.zeros(0),
        spread_deg=spread,
        gait=np.full(len(r), gait, dtype=object),
    )


class PostureBouts(BoutAlgorithm):
    """Tilt from neutral, posture and lying blocks per sample, after calibration.

    Parameters
    ----------
    standing_deg, seated_deg
        Quiet with a tilt below ``standing_deg`` is standing (or kneeling upright), below
        ``seated_deg`` seated (the pelvis rolls back 10-25 deg on a chair, Lord et al. 1997).
    lying_deg, lying_window_s, min_lying_s
        Lying blocks: the tilt stays above ``lying_deg`` over every ``lying_window_s`` window
        (a moving minimum: a hip thrust's bottom on a bench is still ~30-60 deg from upright,
        while a hinge, a glute-ham raise or a deadlift comes back up within a few seconds), for
        at least ``min_lying_s`` (a block still open at the end of the data: 2 s, for the live
        count).
    hold_deg
        Two pieces of a block join across a dip that stays above this (hysteresis: a hip
        thrust's bottom dips under ``lying_deg`` between reps; seated is 10-25 deg).
    min_sit_s, sit_margin_s
        Sits: quiet seated (``standing_deg`` to ``seated_deg``) for at least ``min_sit_s``,
        widened by ``sit_margin_s`` on each side (sitting down and getting up take 1.5-2.5 s,
        Schenkman et al. 1990): no rep is looked for there (sitting down on a bench and
        getting up look like a squat or split squat rep).

    Results
    -------
    tilt_deg_
        Angle between gravity now and in neutral standing (deg, 0..180; sign-free).
    posture_
        Posture code per sample (index into :data:`TILT_CLASSES`).
    lying_
        Boolean per sample: inside a lying block.
    lying_blocks_
        (K, 2) start and end (exclusive) sample indices of the lying blocks.
    sits_
        (K, 2) start and end (exclusive) sample indices of the sits, margins included.
    """

    def __init__(
        self,
        standing_deg: float = 10.0,
        seated_deg: float = 35.0,
        lying_deg: float = 28.0,
        lying_window_s: float = 6.0,
        min_lying_s: float = 6.0,
        hold_deg: float = 20.0,
        min_sit_s: float = 4.0,
        sit_margin_s: float = 2.5,
    ) -> None:
        self.standing_deg = standing_deg
        self.seated_deg = seated_deg
        self.lying_deg = lying_deg
        self.lying_window_s = lying_window_s
        self.min_lying_s = min_lying_s
        self.hold_deg = hold_deg
        self.min_sit_s = min_sit_s
        self.sit_margin_s = sit_margin_s

    def detect(
        self,
        up_sensor: NDArray[np.float64],
        neutral_up: NDArray[np.float64],
        quiet: NDArray[np.bool_],
        sampling_rate_hz: float,
    ) -> Self:
        """``up_sensor`` world-up in the sensor frame per sample; ``neutral_up`` the same in
        neutral standing, per sample (its mounting's) or one vector."""
        fs = float(sampling_rate_hz)
        ref = np.broadcast_to(np.asarray(neutral_up, dtype=float), up_sensor.shape)
        c = np.clip(np.sum(up_sensor * ref, axis=1), -1.0, 1.0)
        tilt = np.degrees(np.arccos(c))
        w = max(1, int(round(self.lying_window_s * fs)))
        lying = minimum_filter1d(tilt, w, mode="nearest") > self.lying_deg
        # The moving minimum shrinks a block by half a window at each end: grow it back.
        shortest = max(self.min_lying_s - self.lying_window_s, 1.0)
        lying = clean_mask(lying, 1, int(round(shortest * fs)))
        grown = np.zeros_like(lying)
        half = w // 2
        for a, b in runs(lying):
            grown[max(0, a - half) : b + half] = True
        # A block is the stretch of tilt above ``lying_deg`` around the core, its pieces
        # joined across dips that stay above ``hold_deg`` (hysteresis: a hip thrust's bottom
        # may dip under ``lying_deg`` between reps).
        pieces = runs(tilt > self.lying_deg)
        lying = np.zeros_like(grown)
        if len(pieces) and grown.any():
            gaps = np.c_[pieces[:-1, 1], pieces[1:, 0]]
            low = (np.minimum.reduceat(tilt, gaps.ravel())[::2] if len(gaps)
                   else np.zeros(0))
            new_group = np.r_[True, low <= self.hold_deg]
            starts = pieces[new_group, 0]
            ends = np.maximum.reduceat(pieces[:, 1], np.flatnonzero(new_group))
            core = np.r_[0, np.cumsum(grown)]
            for a, b in zip(starts, ends, strict=True):
                if core[b] > core[a]:
                    lying[a:b] = True
        raw_lying = clean_mask(lying, int(round(1.0 * fs)), 1)
        lying = clean_mask(lying, int(round(1.0 * fs)), int(round(self.min_lying_s * fs)))
        # a block still open at the end of the data (a live stream) counts from 2 s
        r = runs(raw_lying)
        if len(r) and r[-1, 1] == tilt.size and r[-1, 1] - r[-1, 0] >= int(2.0 * fs):
            lying[r[-1, 0] :] = True
        posture = np.full(tilt.size, 2, dtype=np.int8)
        posture[tilt < self.seated_deg] = 1
        posture[tilt < self.standing_deg] = 0
        posture[~quiet & (tilt < self.seated_deg)] = 0
        posture[lying] = 3
        self.tilt_deg_ = tilt
        self.posture_ = posture
        self.lying_ = lying
        self.lying_blocks_ = runs(lying)
        sits = runs(posture == 1)
        sits = sits[(sits[:, 1] - sits[:, 0]) >= int(round(self.min_sit_s * fs))]
        m = int(round(self.sit_margin_s * fs))
        self.sits_ = np.c_[np.maximum(sits[:, 0] - m, 0), np.minimum(sits[:, 1] + m, tilt.size)
                           ].astype(np.int64).reshape(-1, 2)
        return self
