"""The lower-memory forms of the bout detector's helpers give the bits of the forms they
replace (centred mean without a count array, moving filters without an extended copy, the
zero-phase filter's outputs over its input blocks, masks without integer cumulative sums,
flights counted by run starts), and hold no more than their outputs and a few blocks."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from imu.pipeline import dsp
from imu.pipeline.gait_bouts import GaitBouts, centred_mean
from imu.pipeline.signals import clean_mask, lowpass, moving_std, runs
from imu.sim import simulate_run

FS = 200.0
MODES = ("reflect", "nearest", "mirror", "constant", "wrap")


# -- the former forms ---------------------------------------------------------------------
def _extended(x: np.ndarray, size: int, axis: int, mode: str, cval: float) -> np.ndarray:
    """The extension the former filters built whole: ``x`` moved to axis 0 between the
    samples scipy.ndimage puts before and after it."""
    xm = np.moveaxis(np.asarray(x), axis, 0)
    pre, post = dsp._edges(xm, size, mode, cval)
    return np.concatenate((pre, xm, post))


def _former_uniform(x: np.ndarray, size: int, axis: int, mode: str, cval: float = 0.0
                    ) -> np.ndarray:
    e = _extended(np.asarray(x, dtype=float), size, axis, mode, cval)
    n = e.shape[0] - size + 1
    steps = np.empty((n,) + e.shape[1:])
    steps[0] = np.cumsum(e[:size], axis=0)[-1]
    np.subtract(e[size:], e[: n - 1], out=steps[1:])
    out = np.cumsum(steps, axis=0, out=steps)
    out /= size
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def _former_minmax(x: np.ndarray, size: int, axis: int, mode: str, acc: np.ufunc
                   ) -> np.ndarray:
    e = _extended(np.asarray(x), size, axis, mode, 0.0)
    n = e.shape[0] - size + 1
    p = 1
    while 2 * p <= size:
        e = acc(e[:-p], e[p:])
        p *= 2
    out = e if p == size else acc(e[:n], e[size - p : size - p + n])
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def _former_zero_phase(sos: np.ndarray, xt: np.ndarray, edge: int, length: int, g: float
                       ) -> np.ndarray:
    """dsp._filtfilt_zero_phase with its outputs in a second array and the end last."""
    n = xt.shape[-1]
    m = n + 2 * edge
    sos_bytes = np.ascontiguousarray(sos).tobytes()
    nb_len = dsp._zero_phase_block(m, 2 * length)
    step = nb_len - 2 * length
    nblocks = -(-m // step)
    padded = np.zeros(xt.shape[:-1] + (nblocks * step + 2 * length,))
    e0 = 2 * xt[..., :1] - xt[..., edge : edge + 1]
    d = padded[..., length : length + m]
    np.subtract(2 * xt[..., :1] - xt[..., edge:0:-1], e0, out=d[..., :edge])
    np.subtract(xt, e0, out=d[..., edge : edge + n])
    np.subtract(2 * xt[..., -1:] - xt[..., -2 : -(edge + 2) : -1], e0, out=d[..., edge + n :])
    blocks = np.lib.stride_tricks.sliding_window_view(padded, nb_len, axis=-1)[..., ::step, :]
    power = dsp._power_response(sos_bytes, nb_len)
    z = np.empty(xt.shape[:-1] + (nblocks * step,))
    group = max(1, dsp._GROUP_SAMPLES // nb_len)
    for k in range(0, nblocks, group):
        spec = np.fft.rfft(blocks[..., k : k + group, :], axis=-1)
        spec *= power
        kept = np.fft.irfft(spec, nb_len, axis=-1)[..., length : nb_len - length]
        z[..., k * step : k * step + kept.shape[-2] * step] = kept.reshape(
            xt.shape[:-1] + (-1,))
    z = z[..., :m]
    z += g * g * e0
    n_end = dsp._fast_size(2 * length)
    h_end = dsp._frequency_response(sos_bytes, n_end)
    c_end = np.fft.irfft(np.fft.rfft(d[..., m - n_end :], axis=-1) * h_end, n_end, axis=-1)
    y1 = g * e0 + c_end[..., n_end - length :]
    r = y1[..., ::-1] - y1[..., -1:]
    back = np.fft.irfft(np.fft.rfft(r, n_end, axis=-1) * h_end, n_end, axis=-1)[..., :length]
    z[..., m - length :] = (back + g * y1[..., -1:])[..., ::-1]
    return z


def _former_centred_mean(x: np.ndarray, half: int) -> np.ndarray:
    size = 2 * half + 1
    total = _former_uniform(x, size, 0, "constant")
    count = _former_uniform(np.ones(x.shape[0]), size, 0, "constant")
    total /= count.reshape((-1,) + (1,) * (x.ndim - 1))
    return total


def _former_runs(mask: np.ndarray) -> np.ndarray:
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    return np.flatnonzero(np.diff(m.astype(np.int8))).reshape(-1, 2).astype(np.int64)


def _former_clean_mask(mask: np.ndarray, max_gap: int, min_len: int) -> np.ndarray:
    r = _former_runs(mask)
    out = np.zeros(mask.size, dtype=bool)
    if r.size == 0:
        return out
    keep = np.concatenate([[True], (r[1:, 0] - r[:-1, 1]) >= max_gap])
    starts = r[keep, 0]
    ends = np.maximum.reduceat(r[:, 1], np.flatnonzero(keep))
    long = (ends - starts) >= min_len
    d = np.zeros(mask.size + 1, dtype=np.int32)
    np.add.at(d, starts[long], 1)
    np.add.at(d, ends[long], -1)
    out[:] = np.cumsum(d[:-1]) > 0
    return out


def _former_moving_running(gb: GaitBouts, fv: np.ndarray, fs: float, ok: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
    close = int(round(gb.close_gap_s * fs))
    moving = (moving_std(fv, max(3, int(round(gb.move_window_s * fs)))) > gb.move_sd_g) & ok
    moving = _former_clean_mask(moving, close, int(round(gb.min_bout_s * fs))) & ok
    f = lowpass(fv, gb.lowpass_hz, fs) if fv.size > 12 else fv
    w = max(3, int(2 * gb.flight_window_s * fs) | 1)
    flight = dsp.maximum_filter1d(f, max(1, int(round(gb.flight_min_s * fs)))) < gb.flight_g
    run = (dsp.maximum_filter1d(flight.astype(np.int8), w) > 0) & (
        dsp.maximum_filter1d(f, w) > gb.stance_g)
    run = _former_clean_mask(run & moving, close, int(round(gb.min_run_s * fs))) & ok
    starts = np.concatenate([[0], np.cumsum(np.diff(flight.astype(np.int8)) == 1)])
    for a, b in _former_runs(run):
        if starts[b - 1] - starts[a] + int(flight[a]) < gb.min_run_flights:
            run[a:b] = False
    return moving, run


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# -- the same bits ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 7, 12, 200, 401, 402, 1000, 20011])
def test_moving_filters_without_extended_copy(n: int, monkeypatch) -> None:  # noqa: ANN001
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 3)) * 10.0 ** rng.integers(-3, 4, (n, 3))
    x[rng.random((n, 3)) < 0.1] = -0.0
    for block in (dsp._FILTER_BLOCK, 7 if n < 2000 else 997):  # blocks that end anywhere
        monkeypatch.setattr(dsp, "_FILTER_BLOCK", block)
        for size in (1, 2, 3, 6, 9, 201, 800, 801):
            for mode in MODES:
                assert _same(dsp.uniform_filter1d(x, size, axis=0, mode=mode),
                             _former_uniform(x, size, 0, mode)), (size, mode)
                assert _same(dsp.uniform_filter1d(x.T, size, axis=1, mode=mode),
                             _former_uniform(x.T, size, 1, mode)), (size, mode)
                for v in (x, x > 0.3, (x * 20).astype(np.int8)):
                    for name, acc in (("maximum_filter1d", np.maximum),
                                      ("minimum_filter1d", np.minimum)):
                        got = getattr(dsp, name)(v, size, axis=0, mode=mode)
                        assert _same(got, _former_minmax(v, size, 0, mode, acc)), (
                            name, size, mode, v.dtype)


@pytest.mark.parametrize("cutoff", [0.3, 2.0, 25.0, (1.0, 8.0)])
def test_zero_phase_outputs_over_the_blocks_read(cutoff, monkeypatch) -> None:  # noqa: ANN001
    rng = np.random.default_rng(7)
    btype = "bandpass" if isinstance(cutoff, tuple) else "lowpass"
    sos = dsp.butter_sos(2, cutoff, btype, fs=FS)
    for group in (dsp._GROUP_SAMPLES, 1):
        monkeypatch.setattr(dsp, "_GROUP_SAMPLES", group)
        for shape in ((300_001,), (2, 70_001), (30_000,)):
            xt = rng.standard_normal(shape).cumsum(axis=-1)
            ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()),
                                           int((sos[:, 5] == 0).sum()))
            edge, length = 3 * ntaps, dsp._response_length(sos)
            g = dsp._dc_gain(sos)
            if shape[-1] + 2 * edge < max(8 * length, dsp._fast_size(2 * length)):
                continue  # the two-pass form
            got = dsp._filtfilt_zero_phase(sos, xt, edge, length, g)
            assert _same(got, _former_zero_phase(sos, xt, edge, length, g)), (group, shape)


def test_centred_mean_as_filter_over_count() -> None:
    rng = np.random.default_rng(11)
    for n in [*range(1, 25), 799, 800, 801, 802, 1601, 9999]:
        for half in (0, 1, 2, 3, 5, 8, 400):
            for shape in ((n,), (n, 3)):
                x = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4)
                x[rng.random(shape) < 0.1] = -0.0
                assert _same(centred_mean(x, half), _former_centred_mean(x, half)), (n, half)
    assert centred_mean(np.zeros((0, 3)), 4).shape == (0, 3)


def test_masks_without_integer_cumsums() -> None:
    rng = np.random.default_rng(13)
    for n in (0, 1, 2, 3, 10, 1000):
        for p in (0.0, 0.05, 0.5, 0.95, 1.0):
            for run_len in (1, 3, 25):
                m = np.repeat(rng.random(-(-n // run_len)) < p, run_len)[:n]
                assert _same(runs(m), _former_runs(m))
                for gap in (0, 1, 2, 5, 60):
                    for min_len in (0, 1, 4, 30, 2000):
                        assert _same(clean_mask(m, gap, min_len),
                                     _former_clean_mask(m, gap, min_len)), (n, p, gap, min_len)


@pytest.mark.parametrize("flights", [1, 3, 12, 60])
def test_flights_counted_by_run_starts(flights: int) -> None:
    raw = simulate_run(duration_s=60.0, sample_rate_hz=FS, seed=5, placement="left_hip").raw
    gb = GaitBouts(min_run_flights=flights)
    fv = GaitBouts(run_up="mean").detect(raw.acc_g, FS).fv_
    rng = np.random.default_rng(flights)
    ok = rng.random(fv.size) > 0.0005  # a few invalid samples break the bouts
    got, want = gb._moving_running(fv, FS, ok), _former_moving_running(gb, fv, FS, ok)
    assert want[1].any()
    assert _same(got[0], want[0]) and _same(got[1], want[1])


# -- the memory ---------------------------------------------------------------------------
def _traced_peak(fn: Callable[[], object]) -> float:
    """Peak of the numpy data ``fn`` allocates beyond what was there (bytes)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_helpers_hold_their_outputs_and_a_few_blocks() -> None:
    """Per helper, its peak in signal-sized arrays (8 bytes a sample) on 2 M samples: a form
    that holds another copy of the signal (the former ones held 1-3 more) fails here."""
    n = 2_000_000
    rng = np.random.default_rng(17)
    x = rng.standard_normal(n)
    acc = rng.standard_normal((n // 3, 3))
    signal = 8.0 * n
    sos = dsp.butter_sos(2, 25.0, fs=FS)
    assert _traced_peak(lambda: centred_mean(acc, 400)) < 1.05 * signal
    assert _traced_peak(lambda: dsp.uniform_filter1d(x, 201, mode="nearest")) < 1.05 * signal
    assert _traced_peak(lambda: dsp.maximum_filter1d(x, 201)) < 1.2 * signal
    assert _traced_peak(lambda: moving_std(x, 200)) < 2.05 * signal
    mask = np.repeat(rng.random(n // 500) < 0.5, 500)  # runs of a few seconds
    assert _traced_peak(lambda: clean_mask(mask, 5, 10)) < 0.3 * signal
    assert _traced_peak(lambda: dsp.sosfiltfilt(sos, x)) < 1.1 * signal + 8e6


def test_prominences_of_a_smooth_signal_without_run_indices() -> None:
    """A filtered signal has no two equal neighbours, so its runs are its samples: the
    prominences hold no run start, end or value arrays (the former form held 3 signal-sized
    int64 and float arrays beyond the differences: about 4.5 signals in all)."""
    n = 2_000_000
    x = dsp.sosfiltfilt(dsp.butter_sos(2, 2.0, fs=FS), np.random.default_rng(5).standard_normal(n))
    peaks = dsp.find_peaks(x)[0]
    assert peaks.size > 1000
    assert _traced_peak(lambda: dsp.peak_prominences(x, peaks)) < 2.3 * 8.0 * n
