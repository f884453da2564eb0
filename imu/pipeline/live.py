"""The live line of ``imu record``: link state, samples/s, lost samples, a live rep count.

The rep counter is deliberately simple and causal (the real analysis runs on the whole file at the
end): the gyroscope magnitude is smoothed by a first-order low-pass and a movement burst is counted
when it rises above ``high_dps`` after having been below ``low_dps`` (hysteresis). A rep of a
strength exercise is two bursts (into and out of lockout), so reps = bursts // 2.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from scipy.signal import lfilter

from imu.device.chip import SampleBlock
from imu.pipeline.base import StreamingAlgorithm


class LiveRepCounter(StreamingAlgorithm):
    """Causal burst counter on |gyro| (hysteresis between ``low_dps`` and ``high_dps``).

    Parameters
    ----------
    tau_s
        Time constant of the first-order low-pass on |w|.
    high_dps
        A burst starts when the smoothed |w| rises above this ...
    low_dps
        ... after having been below this (hysteresis).

    Results
    -------
    bursts_
        Movement bursts counted so far.
    reps_
        Reps so far: two bursts (into and out of lockout) per rep.
    """

    def __init__(self, tau_s: float = 0.15, high_dps: float = 30.0, low_dps: float = 10.0) -> None:
        self.tau_s = tau_s
        self.high_dps = high_dps
        self.low_dps = low_dps
        self._zi: np.ndarray | None = None
        self._armed = True

    @property
    def reps_(self) -> int:
        return self.bursts_ // 2

    def update(self, gyr_dps: np.ndarray, sampling_rate_hz: float) -> LiveRepCounter:
        """Feed a block of (N, 3) angular rates (deg/s); keeps state between calls."""
        if not hasattr(self, "bursts_"):
            self.bursts_ = 0
        if len(gyr_dps) == 0:
            return self
        mag = np.linalg.norm(np.asarray(gyr_dps, dtype=np.float64), axis=1)
        alpha = 1.0 - np.exp(-1.0 / (self.tau_s * sampling_rate_hz))
        if self._zi is None:
            self._zi = np.array([(1 - alpha) * mag[0]])
        y, self._zi = lfilter([alpha], [1.0, alpha - 1.0], mag, zi=self._zi)
        # hysteresis over crossing events only (few per block)
        starts_hi = np.flatnonzero(np.diff(np.r_[False, y > self.high_dps].astype(np.int8)) > 0)
        starts_lo = np.flatnonzero(np.diff(np.r_[False, y < self.low_dps].astype(np.int8)) > 0)
        idx = np.r_[starts_hi, starts_lo]
        kind = np.r_[np.ones(len(starts_hi), bool), np.zeros(len(starts_lo), bool)]
        for is_high in kind[np.argsort(idx, kind="stable")]:
            if is_high and self._armed:
                self.bursts_ += 1
                self._armed = False
            elif not is_high:
                self._armed = True
        return self


class LiveStatus:
    """Thread-safe counters fed by the consumer thread, rendered by the live-line task."""

    def __init__(self, rate_hz: float, count_reps: bool = True) -> None:
        self.rate_hz = rate_hz
        self.reps = LiveRepCounter() if count_reps else None
        self.samples = 0
        self.t_s = 0.0
        self._lock = threading.Lock()
        self._hist: list[tuple[float, int]] = []

    def add(self, block: SampleBlock) -> None:
        with self._lock:
            self.samples += len(block)
            self.t_s = float(block.t_s[-1])
            if self.reps is not None:
                self.reps.update(block.gyr_dps, self.rate_hz)

    def rate(self) -> float:
        """Samples per host second over the last ~2 s."""
        now = time.monotonic()
        with self._lock:
            self._hist.append((now, self.samples))
            self._hist = [h for h in self._hist if now - h[0] <= 2.0]
            (t0, n0), (t1, n1) = self._hist[0], self._hist[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def line(self, state: str, lost: int, link_losses: int) -> str:
        counted = getattr(self.reps, "bursts_", 0) // 2  # no block yet: no bursts_
        reps = f" | reps {counted}" if self.reps is not None else ""
        return (
            f"{state:<12} | t {self.t_s:7.1f} s | {self.rate():6.0f} samples/s | "
            f"lost {lost} | reconnects {link_losses}{reps}"
        )
