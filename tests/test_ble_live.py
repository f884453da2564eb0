"""The live line's causal rep counter and status text."""

from __future__ import annotations

import numpy as np

from imu.device.chip import SampleBlock
from imu.pipeline.live import LiveRepCounter, LiveStatus

RATE = 104


def bridge_like_gyro(n_reps: int, seed: int = 0) -> np.ndarray:
    """Per rep: up (~60 deg/s burst), hold, down (burst), rest; plus sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 4.0, 1 / RATE)
    burst = lambda t0: 60 * np.exp(-0.5 * ((t - t0) / 0.2) ** 2)  # noqa: E731
    rep = burst(1.0) + burst(2.6)
    mag = np.concatenate([np.zeros(3 * RATE), np.tile(rep, n_reps), np.zeros(2 * RATE)])
    axis = rng.normal(size=3)
    return np.outer(mag, axis / np.linalg.norm(axis)) + rng.normal(0, 1.0, (len(mag), 3))


def test_counts_reps_and_does_not_depend_on_block_sizes() -> None:
    gyr = bridge_like_gyro(7)
    whole = LiveRepCounter().update(gyr, RATE)
    chunked = LiveRepCounter()
    for i in range(0, len(gyr), 19):
        chunked.update(gyr[i:i + 19], RATE)
    assert whole.reps_ == chunked.reps_ == 7


def test_quiet_standing_counts_nothing() -> None:
    gyr = np.random.default_rng(1).normal(0, 2.0, (60 * RATE, 3))
    assert LiveRepCounter().update(gyr, RATE).bursts_ == 0


def test_status_line() -> None:
    st = LiveStatus(RATE)
    gyr = bridge_like_gyro(2)
    counts = np.zeros((len(gyr), 3), np.int16)
    st.add(SampleBlock(np.arange(len(gyr)), np.arange(len(gyr)) / RATE, counts,
                       np.round(gyr / 0.035).astype(np.int16), 0.000244, 0.035))
    line = st.line("streaming", lost=3, link_losses=1)
    assert "streaming" in line and "lost 3" in line and "reps 2" in line
