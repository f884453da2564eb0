"""imu.pipeline.dsp against the scipy functions it replaces (same results, same edge cases)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import ndimage, signal

from imu.pipeline import dsp
from imu.pipeline.peaks import _prominences_in_window

# (order, Wn, btype) as the analysis designs them, at the sampling rates it meets
DESIGNS = [
    (2, 3.0, "lowpass"),
    (2, 20.0, "lowpass"),
    (2, 0.08, "highpass"),
    (2, 0.5, "highpass"),
    (2, [1.2, 3.5], "bandpass"),
    (2, [0.1, 0.9], "bandpass"),
]
RATES = [52.0, 100.0, 200.0]


def _signal(rng: np.random.Generator, n: int, fs: float, ncol: int = 0) -> np.ndarray:
    shape = (n, ncol) if ncol else (n,)
    drift = np.cumsum(rng.standard_normal(shape), axis=0) / fs  # an integrated signal
    return drift + rng.standard_normal(shape) + 3.0


def _close(ref: np.ndarray, got: np.ndarray, x: np.ndarray) -> bool:
    """Within 1e-10 of the output's scale, or 1e-12 of the input's (an output far smaller than
    the input, e.g. a slow band-pass of a short signal, carries scipy's own rounding, ~1e-13
    of the input, in its recursion)."""
    assert got.shape == ref.shape
    return bool(
        np.max(np.abs(ref - got)) <= 1e-10 * np.max(np.abs(ref)) + 1e-12 * np.max(np.abs(x))
    )


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("wn,btype", [(3.0, "lowpass"), (0.08, "highpass"), ([1.2, 3.5], "band")])
@pytest.mark.parametrize("fs", RATES)
def test_butter_sos_matches_scipy(order, wn, btype, fs):
    ref = signal.butter(order, wn, btype, fs=fs, output="sos")
    got = dsp.butter_sos(order, wn, btype, fs=fs)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-300)
    assert np.array_equal(got == 0, ref == 0)  # exact zeros decide sosfiltfilt's padlen


def test_butter_sos_rejects_bad_frequencies():
    with pytest.raises(ValueError):
        dsp.butter_sos(2, 60.0, fs=100.0)
    with pytest.raises(ValueError):
        dsp.butter_sos(2, [1.0, 2.0], "lowpass", fs=100.0)


@pytest.mark.parametrize("order,wn,btype", DESIGNS)
@pytest.mark.parametrize("fs", RATES)
def test_sosfiltfilt_matches_scipy(order, wn, btype, fs):
    rng = np.random.default_rng(int(fs))
    sos = signal.butter(order, wn, btype, fs=fs, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    for n in (padlen + 1, padlen + 2, 100, 1001, 20000):
        x = _signal(rng, n, fs)
        assert _close(signal.sosfiltfilt(sos, x), dsp.sosfiltfilt(sos, x), x)
    x2 = _signal(rng, 5001, fs, ncol=3)
    ref = signal.sosfiltfilt(sos, x2, axis=0)
    got = dsp.sosfiltfilt(sos, x2, axis=0)
    assert _close(ref, got, x2)
    assert _close(signal.sosfiltfilt(sos, x2.T), dsp.sosfiltfilt(sos, x2.T), x2)


@pytest.mark.parametrize("order,wn,btype", [DESIGNS[0], DESIGNS[2], DESIGNS[5]])
def test_sosfiltfilt_long_signal(order, wn, btype):
    fs = 200.0
    sos = signal.butter(order, wn, btype, fs=fs, output="sos")
    x = _signal(np.random.default_rng(7), 720_000, fs)
    assert _close(signal.sosfiltfilt(sos, x), dsp.sosfiltfilt(sos, x), x)


@pytest.mark.parametrize("order,wn,btype", DESIGNS)
@pytest.mark.parametrize("fs", [52.0, 200.0])
def test_sosfiltfilt_one_convolution_form(order, wn, btype, fs, monkeypatch):
    """The one-convolution form (used for signals much longer than the response's decay) down
    to the shortest signal it can take (its end correction spans all but a few samples)."""
    monkeypatch.setattr(dsp, "_ZERO_PHASE_MIN_RATIO", 0)
    rng = np.random.default_rng(int(fs) + 1)
    sos = signal.butter(order, wn, btype, fs=fs, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    shortest = dsp._fast_size(2 * dsp._response_length(sos)) - 2 * padlen
    for n in (shortest, shortest + 1, shortest + 777, 3 * shortest + 5):
        x = _signal(rng, n, fs)
        assert _close(signal.sosfiltfilt(sos, x), dsp.sosfiltfilt(sos, x), x)
    x2 = _signal(rng, shortest + 301, fs, ncol=3)
    assert _close(signal.sosfiltfilt(sos, x2, axis=0), dsp.sosfiltfilt(sos, x2, axis=0), x2)
    assert _close(signal.sosfiltfilt(sos, x2.T), dsp.sosfiltfilt(sos, x2.T), x2)
    x3 = _signal(rng, 2 * shortest, fs, ncol=2).reshape(-1, 2, 1)
    assert _close(signal.sosfiltfilt(sos, x3, axis=0), dsp.sosfiltfilt(sos, x3, axis=0), x3)


@pytest.mark.parametrize("order,wn,btype", [DESIGNS[0], DESIGNS[5]])
def test_sosfiltfilt_blocks_grouped_change_no_number(order, wn, btype, monkeypatch):
    """The overlap-save blocks are transformed a group at a time (bounded temporaries): one
    block per call gives the same numbers bit for bit, in 1-D and along either axis of 2-D."""
    fs = 200.0
    sos = signal.butter(order, wn, btype, fs=fs, output="sos")
    rng = np.random.default_rng(11)
    x, x2 = _signal(rng, 200_003, fs), _signal(rng, 60_001, fs, ncol=3)
    grouped = [dsp.sosfiltfilt(sos, x), dsp.sosfiltfilt(sos, x2, axis=0),
               dsp.sosfiltfilt(sos, x2.T)]
    monkeypatch.setattr(dsp, "_GROUP_SAMPLES", 1)  # one block per FFT call
    single = [dsp.sosfiltfilt(sos, x), dsp.sosfiltfilt(sos, x2, axis=0),
              dsp.sosfiltfilt(sos, x2.T)]
    for a, b in zip(grouped, single, strict=True):
        assert np.array_equal(a, b)


def test_sosfiltfilt_constant_and_too_short():
    sos = signal.butter(2, [0.1, 0.9], "bandpass", fs=100.0, output="sos")
    x = np.full(50, 2.5)
    np.testing.assert_allclose(dsp.sosfiltfilt(sos, x), signal.sosfiltfilt(sos, x), atol=1e-12)
    for n in (1, 10, 15):  # padlen is 15 for two sections
        with pytest.raises(ValueError, match="greater than padlen, which is 15"):
            signal.sosfiltfilt(sos, np.ones(n))
        with pytest.raises(ValueError, match="greater than padlen, which is 15"):
            dsp.sosfiltfilt(sos, np.ones(n))
    lp = signal.butter(2, 3.0, fs=100.0, output="sos")
    with pytest.raises(ValueError, match="which is 9"):
        dsp.sosfiltfilt(lp, np.ones(9))
    assert dsp.sosfiltfilt(lp, np.arange(10.0)).shape == (10,)


def _peak_signals(rng: np.random.Generator):
    for trial in range(1200):
        n = int(rng.integers(1, 400))
        kind = trial % 5
        if kind == 0:
            x = rng.standard_normal(n)
        elif kind == 1:  # many plateaus and equal peaks
            x = np.round(rng.standard_normal(n) * 2)
        elif kind == 2:
            x = np.round(np.cumsum(rng.standard_normal(n)))
        elif kind == 3:
            x = np.sin(np.arange(n) / rng.uniform(1, 20)) + 0.1 * np.round(rng.standard_normal(n))
        else:
            x = np.repeat(rng.integers(0, 4, max(1, n // 3)).astype(float), 3)
        yield trial, x


def test_find_peaks_matches_scipy():
    rng = np.random.default_rng(3)
    for trial, x in _peak_signals(rng):
        kw: dict = {}
        if trial % 2:
            kw["distance"] = float(rng.integers(1, 30)) if trial % 3 else rng.uniform(1, 10)
        if trial % 5 in (1, 3):
            kw["height"] = float(rng.uniform(-1, 2))
        if trial % 7 < 5:
            kw["prominence"] = float(rng.uniform(0, 2)) if trial % 4 else (0.5, 1.5)
            if trial % 3 == 0:
                kw["wlen"] = int(rng.integers(2, 60))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref, ref_props = signal.find_peaks(x, **kw)
            got, props = dsp.find_peaks(x, **kw)
        np.testing.assert_array_equal(got, ref, err_msg=f"{kw} {x.tolist()}")
        assert set(props) == set(ref_props)
        for key in ref_props:
            np.testing.assert_array_equal(props[key], ref_props[key], err_msg=key)


@pytest.mark.parametrize(
    "kw",
    [
        dict(distance=40, prominence=0.05),
        dict(distance=30, height=0.1),
        dict(prominence=0.02, wlen=801, distance=100),
    ],
)
def test_find_peaks_long_signal(kw):
    rng = np.random.default_rng(5)
    sos = signal.butter(2, 3.0, fs=100.0, output="sos")
    x = signal.sosfiltfilt(sos, rng.standard_normal(200_000))
    ref, ref_props = signal.find_peaks(x, **kw)
    got, props = dsp.find_peaks(x, **kw)
    np.testing.assert_array_equal(got, ref)
    for key in ref_props:
        np.testing.assert_array_equal(props[key], ref_props[key])


def test_find_peaks_edge_cases():
    for x in ([], [1.0], [1.0, 2.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 2.0, 2.0, 0.0]):
        ref = signal.find_peaks(np.asarray(x, dtype=float), prominence=0.1)[0]
        got = dsp.find_peaks(np.asarray(x, dtype=float), prominence=0.1)[0]
        np.testing.assert_array_equal(got, ref)
    plateau = np.array([0.0, 5, 5, 5, 5, 5, 0])  # the window stays on the plateau
    with pytest.warns(RuntimeWarning, match="prominence of 0"):
        ref = signal.find_peaks(plateau, prominence=0, wlen=3)
    with pytest.warns(RuntimeWarning, match="prominence of 0"):
        got = dsp.find_peaks(plateau, prominence=0, wlen=3)
    np.testing.assert_array_equal(got[1]["prominences"], ref[1]["prominences"])
    with pytest.raises(ValueError):
        dsp.find_peaks(np.arange(5.0), distance=0.5)
    with pytest.raises(ValueError):
        dsp.find_peaks(np.arange(5.0), prominence=1, wlen=1)


@pytest.mark.parametrize("name", ["uniform_filter1d", "minimum_filter1d", "maximum_filter1d"])
@pytest.mark.parametrize("mode", ["reflect", "nearest", "constant", "mirror", "wrap"])
def test_moving_filters_match_scipy_exactly(name, mode):
    rng = np.random.default_rng(11)
    ours, ref = getattr(dsp, name), getattr(ndimage, name)
    for trial in range(150):
        n = int(rng.integers(2, 70))
        size = int(rng.integers(1, 90))  # odd, even, longer than the signal
        x = rng.standard_normal((n, 3)) if trial % 3 == 0 else rng.standard_normal(n) * 1e3
        axis = 0 if x.ndim == 2 else -1
        expected = ref(x, size, axis=axis, mode=mode, cval=0.25)
        got = ours(x, size, axis=axis, mode=mode, cval=0.25)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected, err_msg=f"{n} {size}")


def test_moving_filters_long_and_integer():
    rng = np.random.default_rng(13)
    x = rng.standard_normal(300_000) * 100 + 1e3
    for mode in ("reflect", "nearest", "constant"):
        np.testing.assert_array_equal(
            dsp.uniform_filter1d(x, 400, mode=mode), ndimage.uniform_filter1d(x, 400, mode=mode)
        )
        np.testing.assert_array_equal(
            dsp.minimum_filter1d(x, 401, mode=mode), ndimage.minimum_filter1d(x, 401, mode=mode)
        )
    b = (rng.random(100_000) < 0.3).astype(np.int8)
    got = dsp.maximum_filter1d(b, 601)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, ndimage.maximum_filter1d(b, 601))
    const = np.full(50, 7.0)
    expected = ndimage.uniform_filter1d(const, 9)
    np.testing.assert_array_equal(dsp.uniform_filter1d(const, 9), expected)


def _scan(x: np.ndarray, peaks: np.ndarray, half: int) -> tuple[np.ndarray, ...]:
    """scipy's two scans per peak, one sample at a time."""
    prom, lb, rb = [], [], []
    for p in peaks:
        side = []
        for step in (-1, 1):
            best, base, i = x[p], p, p
            while 0 <= i + step < x.size and abs(i + step - p) <= half and x[i + step] <= x[p]:
                i += step
                if x[i] < best:
                    best, base = x[i], i
            side.append((best, base))
        prom.append(x[p] - max(side[0][0], side[1][0]))
        lb.append(side[0][1])
        rb.append(side[1][1])
    return np.array(prom), np.array(lb, dtype=np.int64), np.array(rb, dtype=np.int64)


def test_prominences_in_window_as_the_scans() -> None:
    rng = np.random.default_rng(4)
    for k in range(300):
        n = int(rng.integers(1, 200))
        x = (rng.integers(0, 4, size=n).astype(float) if k % 2 else
             np.cumsum(rng.normal(size=n)))  # plateaus and ties, or a random walk
        if k % 5 == 0:
            x[rng.random(n) < 0.05] = np.inf
        peaks = np.sort(rng.integers(0, n, size=int(rng.integers(1, 12))))
        half = int(rng.integers(1, 40))
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore")  # prominences of 0
            got = _prominences_in_window(x, peaks, half)
        ref = _scan(x, peaks, half)
        assert all(g.dtype == r.dtype and g.tobytes() == r.tobytes()
                   for g, r in zip(got, ref, strict=True)), k
