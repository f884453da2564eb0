"""Activity recognition and running / walking bout detection (docs/running.md).

Running is the only gait with a flight phase: for tens of milliseconds every step the body is in
free fall and an accelerometer on the pelvis reads ~0 g, while the stance peaks exceed ~1.8 g
(Cavanagh & Lafortune 1980; Lee et al. 2010). Walking always has a foot on the ground, so the
pelvis specific force stays around 0.6-1.5 g. A sample belongs to a running bout when the
low-passed specific force within a +-0.5 s window both falls below ``flight_g`` and rises above
``stance_g``; short gaps are closed and short bouts dropped (morphological closing/opening).
Walking is periodic movement with a moderate spread of the signal and no flight.

References: Cavanagh PR, Lafortune MA (1980) Ground reaction forces in distance running.
J Biomech 13:397-406. Lee JB, Mellifont RB, Burkett BJ (2010) The use of a single inertial
sensor to identify stride, step, and stance durations of running gait. J Sci Med Sport 13:270-273.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from imu.core.session import RawSession
from imu.pipeline.base import BoutAlgorithm
from imu.pipeline.signals import clean_mask, lowpass, moving_std, runs


class GaitBouts(BoutAlgorithm):
    """Running and walking bouts from a (vertical or norm) specific-force signal in g.

    Parameters
    ----------
    lowpass_hz
        Low-pass of the signal first (no-op at or above 0.45 x the sampling rate, e.g. for a
        signal low-passed already).
    window_s
        Window of the moving minimum, maximum and standard deviation.
    flight_g, stance_g
        Running: within the window the signal falls below ``flight_g`` (flight) and rises above
        ``stance_g`` (stance peak).
    walk_std_g
        Walking: moving standard deviation above this, without flight.
    close_gap_s, min_bout_s
        Gaps shorter than ``close_gap_s`` are closed, then bouts shorter than ``min_bout_s``
        dropped.

    Results
    -------
    running_, walking_
        Boolean per sample (a sample is never both).
    running_bouts_s_
        (K, 2) start and end (s from the first sample) of the running bouts.
    """

    def __init__(
        self,
        lowpass_hz: float = 25.0,
        window_s: float = 1.0,
        flight_g: float = 0.45,
        stance_g: float = 1.6,
        walk_std_g: float = 0.08,
        close_gap_s: float = 2.0,
        min_bout_s: float = 4.0,
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.window_s = window_s
        self.flight_g = flight_g
        self.stance_g = stance_g
        self.walk_std_g = walk_std_g
        self.close_gap_s = close_gap_s
        self.min_bout_s = min_bout_s

    def detect(self, force_g: NDArray[np.float64], sampling_rate_hz: float) -> Self:
        """Detect the bouts in ``force_g`` (g, one value per sample)."""
        fs = float(sampling_rate_hz)
        f = lowpass(np.asarray(force_g, dtype=float), self.lowpass_hz, fs)
        w = max(int(round(self.window_s * fs)), 1)
        lo = minimum_filter1d(f, w, mode="nearest")
        hi = maximum_filter1d(f, w, mode="nearest")
        run = (lo < self.flight_g) & (hi > self.stance_g)
        run = self._clean(run, fs)
        sd = moving_std(f, w)
        walk = (sd > self.walk_std_g) & (lo > self.flight_g) & ~run
        walk = self._clean(walk, fs)
        self.running_ = run
        self.walking_ = walk & ~run
        self.running_bouts_s_ = runs(run).astype(float) / fs
        return self

    def _clean(self, mask: NDArray[np.bool_], fs: float) -> NDArray[np.bool_]:
        """Close gaps shorter than ``close_gap_s``, then drop bouts shorter than ``min_bout_s``."""
        return clean_mask(mask, int(round(self.close_gap_s * fs)), int(round(self.min_bout_s * fs)))


def detect_activity(
    raw: RawSession,
    min_running_s: float = 20.0,
    min_share: float = 0.2,
    bouts: GaitBouts | None = None,
) -> str:
    """'run' when the recording holds running (>= ``min_running_s`` and >= ``min_share`` of its
    moving time, or >= 60 s), else 'strength'. Uses the specific-force norm, so it needs no
    orientation and no gyroscope. ``bouts`` (cloned before use) defaults to ``GaitBouts()``."""
    fs = raw.sample_rate_hz
    norm = np.linalg.norm(raw.acc_g, axis=1)
    bouts = (bouts or GaitBouts()).clone().detect(norm, fs)
    running_s = float(bouts.running_.sum()) / fs
    moving_s = float((bouts.running_ | bouts.walking_).sum()) / fs
    if running_s >= 60.0 or (running_s >= min_running_s and running_s >= min_share * moving_s):
        return "run"
    return "strength"
