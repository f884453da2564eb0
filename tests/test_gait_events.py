"""Gait events on synthetic vertical specific forces whose events are known exactly: running
stance pulses (half sines between free-fall flights), walking loading peaks, and the helpers."""

from __future__ import annotations

import numpy as np
import pytest

from imu.pipeline.gait_events import (
    RunEvents,
    WalkEvents,
    crossing,
    parabolic_peak,
    walk_toe_off,
    window_rows,
)

FS = 500.0


def _running(step_s: float = 0.35, gct_s: float = 0.22, n: int = 30, flight_g: float = 0.0,
             fs: float = FS) -> tuple[np.ndarray, np.ndarray]:
    """Half-sine stance pulses (mean 1 g over a step) between flights at ``flight_g``;
    returns the signal and the contact times."""
    t = np.arange(int((n + 2) * step_s * fs)) / fs
    contacts = step_s * (1 + np.arange(n))
    peak = (1.0 - flight_g * (1 - gct_s / step_s)) * np.pi * step_s / (2 * gct_s)
    f = np.full(t.size, flight_g)
    for c in contacts:
        m = (t >= c) & (t < c + gct_s)
        f[m] = flight_g + (peak - flight_g) * np.sin(np.pi * (t[m] - c) / gct_s)
    return f, contacts


def test_run_events_find_the_threshold_crossings() -> None:
    f, contacts = _running()
    ev = RunEvents(lowpass_hz=1e9).segment(f, FS, np.ones(f.size, dtype=bool))  # no filtering
    assert ev.ic_idx_.size == contacts.size
    # the 6 % level of a half sine is crossed asin(0.06)/pi of the contact time after contact
    lag = 0.22 * np.arcsin(0.06) / np.pi
    np.testing.assert_allclose(ev.ic_idx_ / FS, contacts + lag, atol=1.5 / FS)
    np.testing.assert_allclose(ev.to_idx_ / FS, contacts + 0.22 - lag, atol=1.5 / FS)
    np.testing.assert_allclose(ev.base_before_g_, 0.0, atol=1e-9)
    assert np.all(ev.peak_g_ > 2.0)


def test_run_events_respect_the_mask_and_need_a_flight() -> None:
    f, contacts = _running()
    mask = np.zeros(f.size, dtype=bool)
    mask[: int(5.0 * FS)] = True
    ev = RunEvents().segment(f, FS, mask)
    assert ev.ic_idx_.size == np.sum(contacts + 0.11 < 5.0)
    # pulses over a supported "flight" at 0.8 g: no flight, so no running step
    g, _ = _running(flight_g=0.8)
    ev = RunEvents().segment(g, FS, np.ones(g.size, dtype=bool))
    assert ev.ic_idx_.size > 0 and np.isnan(ev.ic_idx_).all()


@pytest.mark.parametrize("fs", [50.0, 1000.0])
def test_run_events_at_any_rate(fs: float) -> None:
    f, contacts = _running(fs=fs)
    ev = RunEvents().segment(f, fs, np.ones(f.size, dtype=bool))
    ok = np.isfinite(ev.ic_idx_)
    assert ok.sum() == contacts.size
    gct = (ev.to_idx_ - ev.ic_idx_)[ok] / fs
    assert np.median(gct) == pytest.approx(0.22, abs=0.02)


def test_walk_events_peak_minus_latency() -> None:
    step = 0.55
    t = np.arange(int(20 * FS)) / FS
    f = 1.0 + 0.2 * np.cos(2 * np.pi * (t - 0.3) / step)  # loading peaks at 0.3 + k step
    ev = WalkEvents(latency_s=0.05).segment(f, FS, np.ones(t.size, dtype=bool))
    peaks = 0.3 + step * np.arange(1, 35)
    got = ev.ic_idx_ / FS + 0.05
    assert got.size >= 33
    inner = (got > 1.0) & (got < 19.0)
    np.testing.assert_allclose(got[inner], peaks[np.searchsorted(peaks, got[inner] - step / 2)],
                               atol=0.004)
    # toe-off: the next contact plus 0.22 of the step
    np.testing.assert_allclose(np.diff(ev.to_idx_[inner]) / FS, step, atol=0.01)
    np.testing.assert_allclose((ev.to_idx_ - ev.ic_idx_)[inner] / FS, 1.22 * step, atol=0.01)


def test_walk_toe_off_after_a_pause_uses_the_median_step() -> None:
    ic = np.array([0.0, 50.0, 100.0, 150.0, 400.0, 450.0])
    to = walk_toe_off(ic, 100.0, 0.2, 1.6)
    np.testing.assert_allclose(to, [60.0, 110.0, 160.0, 210.0, 460.0, 510.0])


def test_crossing_and_helpers() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0])
    idx = window_rows(np.array([0, 3]), np.array([4, 7]), x.size)
    assert idx.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6]]
    up = crossing(x, idx, np.array([1.5, 1.5]), rising=True, last=True)
    down = crossing(x, idx, np.array([1.5, 1.5]), rising=False, last=True)
    assert up[0] == pytest.approx(1.5) and np.isnan(up[1])
    assert np.isnan(down[0]) and down[1] == pytest.approx(4.5)
    assert window_rows(np.array([2]), np.array([4]), 3).tolist() == [[2, -1]]
    y = -((np.arange(11) - 4.3) ** 2)
    assert parabolic_peak(y, np.array([4]))[0] == pytest.approx(4.3)
