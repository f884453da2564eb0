"""Numpy-only equivalents of the few scipy.signal / scipy.ndimage functions the analysis uses.

Importing ``scipy.signal`` costs about 0.8 s (it pulls scipy.stats, interpolate, optimize...)
and ``scipy.ndimage`` 0.25 s; the analysis needs five functions of them. These reproduce their
results (same semantics, same edge handling; tests/test_dsp.py compares them with scipy):

* :func:`butter_sos` -- ``scipy.signal.butter(N, Wn, btype, fs=fs, output="sos")``.
* :func:`sosfiltfilt` -- ``scipy.signal.sosfiltfilt(sos, x, axis)`` (odd padding, steady-state
  initial conditions), computed exactly as FFT convolutions with the filter's response.
* :func:`find_peaks` -- ``scipy.signal.find_peaks`` with ``height``, ``distance``,
  ``prominence`` and ``wlen`` (in :mod:`imu.pipeline.peaks`, re-exported here).
* :func:`uniform_filter1d`, :func:`minimum_filter1d`, :func:`maximum_filter1d` --
  ``scipy.ndimage``'s, all boundary modes, ``origin`` 0.

Inputs are assumed free of NaN (scipy's results with NaN are not reproduced).
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imu.pipeline.peaks import PeakPropertyWarning, find_peaks, peak_prominences

__all__ = [
    "PeakPropertyWarning",
    "butter_sos",
    "find_peaks",
    "maximum_filter1d",
    "minimum_filter1d",
    "peak_prominences",
    "sosfiltfilt",
    "uniform_filter1d",
]

Array = NDArray[np.float64]
Mode = Literal["reflect", "nearest", "mirror", "constant", "wrap"]

# ------------------------------------------------------------------------- filter design ---

_BTYPES = {
    alias: kind
    for kind, aliases in (
        ("lowpass", ("lowpass", "low", "lp", "l")),
        ("highpass", ("highpass", "high", "hp", "h")),
        ("bandpass", ("bandpass", "band", "pass", "bp")),
    )
    for alias in aliases
}


def butter_sos(
    order: int, wn: float | ArrayLike, btype: str = "lowpass", *, fs: float | None = None
) -> Array:
    """Digital Butterworth filter as second-order sections, as
    ``scipy.signal.butter(order, wn, btype, fs=fs, output="sos")`` (low-, high- and band-pass):
    the analog prototype, pre-warping, the bilinear transform and scipy's 'nearest' pole/zero
    pairing (the poles closest to the unit circle in the last section, the gain in the first).
    """
    kind = _BTYPES.get(btype)
    if kind is None:
        raise NotImplementedError(f"btype {btype!r} is not implemented")
    w = np.atleast_1d(np.asarray(wn, dtype=float))
    if fs is not None:
        w = 2 * w / fs
    if np.any(w <= 0) or np.any(w >= 1):
        raise ValueError("Digital filter critical frequencies must be 0 < Wn < 1 (Wn/(fs/2))")
    warped = 4.0 * np.tan(np.pi * w / 2.0)
    m = np.arange(-order + 1, order, 2)
    p = -np.exp(1j * np.pi * m / (2 * order))
    z = np.zeros(0, dtype=complex)
    k = 1.0
    degree = len(p)
    if kind in ("lowpass", "highpass"):
        if w.size != 1:
            raise ValueError("Must specify a single critical frequency Wn for lowpass or highpass")
        wo = float(warped[0])
        if kind == "lowpass":
            p, k = wo * p, k * wo**degree
        else:
            k = k * float(np.real(np.prod(-z) / np.prod(-p)))
            p, z = wo / p, np.zeros(degree, dtype=complex)
    else:
        if w.size != 2:
            raise ValueError("Wn must specify start and stop frequencies for bandpass")
        bw = float(warped[1] - warped[0])
        wo = float(np.sqrt(warped[0] * warped[1]))
        p_lp = (p * bw / 2).astype(complex)
        p = np.concatenate((p_lp + np.sqrt(p_lp**2 - wo**2), p_lp - np.sqrt(p_lp**2 - wo**2)))
        z = np.zeros(degree, dtype=complex)
        k = k * bw**degree
    # bilinear transform (fs = 2 after pre-warping)
    fs2 = 4.0
    deg = len(p) - len(z)
    k = k * float(np.real(np.prod(fs2 - z) / np.prod(fs2 - p)))
    z = np.append((fs2 + z) / (fs2 - z), -np.ones(deg))
    p = (fs2 + p) / (fs2 - p)
    return _zpk2sos_nearest(z, p, k)


def _cplxreal(z: NDArray[np.complex128]) -> tuple[NDArray[np.complex128], Array]:
    """One of each complex-conjugate pair (sorted by real part) and the real values (sorted),
    as scipy's ``_cplxreal`` (for exact conjugate pairs)."""
    tol = 100 * np.finfo(float).eps
    z = np.atleast_1d(np.asarray(z, dtype=complex))
    if z.size == 0:
        return z, z.real
    z = z[np.lexsort((abs(z.imag), z.real))]
    real = abs(z.imag) <= tol * abs(z)
    zr = z[real].real
    zc = z[~real]
    zp, zn = zc[zc.imag > 0], zc[zc.imag < 0]
    if len(zp) != len(zn):
        raise ValueError("Array contains complex value with no matching conjugate.")
    return (zp + zn.conj()) / 2, zr


def _nearest_idx(fro: NDArray[np.complex128], to: complex, which: str) -> int:
    order = np.argsort(np.abs(fro - to))
    if which == "any":
        return int(order[0])
    mask = np.isreal(fro[order])
    if which == "complex":
        mask = ~mask
    return int(order[np.nonzero(mask)[0][0]])


def _section(z: list[complex], p: list[complex]) -> Array:
    s = np.zeros(6)
    b = np.real(np.poly(z)) if len(z) else np.ones(1)
    a = np.real(np.poly(p)) if len(p) else np.ones(1)
    s[3 - len(b) : 3] = b
    s[6 - len(a) : 6] = a
    return s


def _zpk2sos_nearest(z: NDArray[np.complex128], p: NDArray[np.complex128], k: float) -> Array:
    """scipy's ``zpk2sos(z, p, k)`` with the default 'nearest' pairing (digital)."""
    p = np.concatenate((p, np.zeros(max(len(z) - len(p), 0))))
    z = np.concatenate((z, np.zeros(max(len(p) - len(z), 0))))
    n_sections = (max(len(p), len(z)) + 1) // 2
    if len(p) % 2 == 1:
        p, z = np.append(p, 0.0), np.append(z, 0.0)
    z = np.concatenate(_cplxreal(z))
    p = np.concatenate(_cplxreal(p))
    sos = np.zeros((n_sections, 6))

    def worst(v: NDArray[np.complex128]) -> int:
        return int(np.argmin(np.abs(1 - np.abs(v))))

    for si in range(n_sections - 1, -1, -1):
        i1 = worst(p)
        p1 = p[i1]
        p = np.delete(p, i1)
        if np.isreal(p1) and np.isreal(p).sum() == 0:  # last remaining real pole
            j = _nearest_idx(z, p1, "real")
            z1 = z[j]
            z = np.delete(z, j)
            sos[si] = _section([z1, 0], [p1, 0])
        elif (
            len(p) + 1 == len(z)
            and not np.isreal(p1)
            and np.isreal(p).sum() == 1
            and np.isreal(z).sum() == 1
        ):  # must pair with a complex zero
            j = _nearest_idx(z, p1, "complex")
            z1 = z[j]
            z = np.delete(z, j)
            sos[si] = _section([z1, z1.conj()], [p1, p1.conj()])
        else:
            if np.isreal(p1):
                real_idx = np.flatnonzero(np.isreal(p))
                i2 = int(real_idx[worst(p[real_idx])])
                p2 = p[i2]
                p = np.delete(p, i2)
            else:
                p2 = p1.conj()
            if len(z) > 0:
                j = _nearest_idx(z, p1, "any")
                z1 = z[j]
                z = np.delete(z, j)
                if not np.isreal(z1):
                    sos[si] = _section([z1, z1.conj()], [p1, p2])
                elif len(z) > 0:
                    j = _nearest_idx(z, p1, "real")
                    z2 = z[j]
                    z = np.delete(z, j)
                    sos[si] = _section([z1, z2], [p1, p2])
                else:
                    sos[si] = _section([z1], [p1, p2])
            else:
                sos[si] = _section([], [p1, p2])
    sos[0][:3] *= k
    return sos


# ------------------------------------------------------------------- zero-phase filtering ---


def _response_length(sos: Array) -> int:
    """Samples after which the impulse response is below ~1e-22 of its scale (from the
    largest pole modulus, with a margin for repeated and clustered poles)."""
    r = 0.0
    for a1, a2 in sos[:, 4:6]:
        r = max(r, float(np.max(np.abs(np.roots([1.0, a1, a2])), initial=0.0)))
    if r >= 1.0:
        raise ValueError("the filter is not stable (a pole on or outside the unit circle)")
    if r < 1e-3:
        return 8 * len(sos) + 8
    return int(math.ceil(1.25 * math.log(1e-22) / math.log(r))) + 8 * len(sos) + 64


@functools.lru_cache(maxsize=16)
def _frequency_response(sos_bytes: bytes, m: int) -> NDArray[np.complex128]:
    """H(e^{jw}) on the ``m``-point rfft grid, each section evaluated in u = 1 - e^{-jw}
    (2 sin^2(w/2) + j sin w) with coefficients summed exactly (math.fsum), so that a pole or
    zero near z = 1 costs no precision at low frequencies."""
    sos = np.frombuffer(sos_bytes).reshape(-1, 6)
    w = (2.0 * np.pi / m) * np.arange(m // 2 + 1)
    s = np.sin(0.5 * w)
    u = np.empty(w.size, dtype=complex)
    u.real = 2.0 * s * s
    u.imag = np.sin(w)
    h = np.ones(u.size, dtype=complex)
    for b0, b1, b2, _, a1, a2 in sos:
        num = (b2 * u - math.fsum((b1, 2.0 * b2))) * u + math.fsum((b0, b1, b2))
        den = (a2 * u - math.fsum((a1, 2.0 * a2))) * u + math.fsum((1.0, a1, a2))
        h *= num
        h /= den
    h.flags.writeable = False
    return h


def _zero_state(sos: Array, v: Array, length: int) -> Array:
    """Zero-state response of the filter to ``v`` along axis 0: overlap-save FFT convolution
    in blocks of a power-of-two length B >= 4 ``length`` (the response's decay): each block's
    first ``length`` outputs, spoilt by the circular wrap-around, are dropped."""
    m = v.shape[0]
    big = 1 << max(int(4 * length - 1).bit_length(), 12)
    whole = 1 << int(m + length - 1).bit_length()
    nb_len = min(big, whole)
    step = nb_len - length
    h = _frequency_response(np.ascontiguousarray(sos).tobytes(), nb_len)
    nblocks = -(-m // step)
    vt = np.moveaxis(v, 0, -1)  # (..., m)
    padded = np.zeros(vt.shape[:-1] + (nblocks * step + length,))
    padded[..., length : length + m] = vt
    blocks = np.lib.stride_tricks.sliding_window_view(padded, nb_len, axis=-1)[..., ::step, :]
    out = np.fft.irfft(np.fft.rfft(blocks, axis=-1) * h, nb_len, axis=-1)[..., length:]
    out = out.reshape(vt.shape[:-1] + (-1,))[..., :m]
    return np.moveaxis(out, -1, 0)


@functools.lru_cache(maxsize=16)
def _power_response(sos_bytes: bytes, m: int) -> Array:
    """|H(e^{jw})|^2 on the ``m``-point rfft grid: the frequency response of the forward-backward
    filter, a real, even kernel (the impulse response's autocorrelation, lags -m/2..m/2)."""
    h = _frequency_response(sos_bytes, m)
    p = h.real * h.real + h.imag * h.imag
    p.flags.writeable = False
    return p


def _zero_phase_block(m: int, span: int) -> int:
    """Power-of-two overlap-save block for a kernel of support ``span`` (both sides together)
    over ``m`` samples: the cheapest in a cost model fitted to numpy's pocketfft on 2 to 4 MB
    caches (per sample of a block: log2 B for the FFTs, 12 for the copies and the product,
    and 6 more per doubling past 2^16, where the blocks leave the cache), B >= 2 ``span``."""
    best, best_cost = 0, math.inf
    b = 1 << max(int(2 * span - 1).bit_length(), 10)
    while True:
        step = b - span
        nblocks = -(-m // step)
        log_b = math.log2(b)
        cost = nblocks * b * (log_b + 12.0 + 6.0 * max(log_b - 16.0, 0.0))
        if cost < best_cost:
            best, best_cost = b, cost
        if nblocks == 1:
            return best
        b *= 2


def _fast_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= ``n`` (a length pocketfft transforms fast)."""
    best = 1 << max(n - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            v = p35
            while v < n:
                v *= 2
            best = min(best, v)
            p35 *= 3
        p5 *= 5
    return best


def _filtfilt_two_pass(sos: Array, ext: Array, length: int, g: float) -> Array:
    """Forward then backward pass over the extended signal (time on axis 0), each as G times
    its first sample plus the zero-state response to the rest."""
    y = g * ext[0] + _zero_state(sos, ext - ext[0], length)
    y = y[::-1]
    y = g * y[0] + _zero_state(sos, y - y[0], length)
    return y[::-1]


_GROUP_SAMPLES = 1 << 18
"""Samples of overlap-save blocks transformed per FFT call in :func:`_filtfilt_zero_phase`
(each block is transformed alone: the grouping changes no number, only the temporaries)."""

# the one-convolution form is used when the extended signal is at least this many times the
# response's decay (for shorter ones the end correction costs about as much as a pass)
_ZERO_PHASE_MIN_RATIO = 8


def _filtfilt_zero_phase(sos: Array, xt: Array, edge: int, length: int, g: float) -> Array:
    """The two passes over the odd extension of ``xt`` (time on the last axis) as one
    convolution, returned over the extension (m = n + 2 ``edge`` samples). With e the
    extension, d = e - e[0], c = h * d (the forward pass's zero-state part: y1 = G e[0] + c)
    and L = ``length``, the backward pass's output is

        z[j] = G y1[m-1] + sum_{i=0}^{m-1-j} h[i] (y1[j+i] - y1[m-1])
             = G^2 e[0] + (R * d)[j] + c[m-1] (G - S[m-1-j]) - sum_{k>=m} h[k-j] c[k]

    (R[t] = sum_i h[i] h[i+t], S the step response, c continued past the end with no input).
    The last two terms are below the response's decay for j < m - L: there z is G^2 e[0] plus
    one two-sided convolution, in overlap-save blocks of a power of two B with the real kernel
    |H|^2, each block's first and last L outputs (spoilt by the circular wrap-around) dropped.
    The last L outputs are the two passes over the end (one FFT length N >= 2 L): y1 there
    needs the last N samples of d only, and the backward pass over them L zeros of padding."""
    n = xt.shape[-1]
    m = n + 2 * edge
    sos_bytes = np.ascontiguousarray(sos).tobytes()
    nb_len = _zero_phase_block(m, 2 * length)
    step = nb_len - 2 * length
    nblocks = -(-m // step)
    # d = e - e[0] (scipy's odd extension), in the middle of L zeros before and the rest after
    padded = np.zeros(xt.shape[:-1] + (nblocks * step + 2 * length,))
    e0 = 2 * xt[..., :1] - xt[..., edge : edge + 1]
    d = padded[..., length : length + m]
    np.subtract(2 * xt[..., :1] - xt[..., edge:0:-1], e0, out=d[..., :edge])
    np.subtract(xt, e0, out=d[..., edge : edge + n])
    np.subtract(2 * xt[..., -1:] - xt[..., -2 : -(edge + 2) : -1], e0, out=d[..., edge + n :])
    # the end first: it reads d's last samples, which the blocks' outputs overwrite
    n_end = _fast_size(2 * length)
    h_end = _frequency_response(sos_bytes, n_end)
    c_end = np.fft.irfft(np.fft.rfft(d[..., m - n_end :], axis=-1) * h_end, n_end, axis=-1)
    y1 = g * e0 + c_end[..., n_end - length :]
    r = y1[..., ::-1] - y1[..., -1:]  # backward pass from the last sample
    back = np.fft.irfft(np.fft.rfft(r, n_end, axis=-1) * h_end, n_end, axis=-1)[..., :length]
    end = (back + g * y1[..., -1:])[..., ::-1]
    blocks = np.lib.stride_tricks.sliding_window_view(padded, nb_len, axis=-1)[..., ::step, :]
    power = _power_response(sos_bytes, nb_len)
    # block k's outputs go to padded[k step : (k + 1) step], samples only the blocks before
    # it read: the output needs no second signal-sized array
    z = padded[..., : nblocks * step]
    group = max(1, _GROUP_SAMPLES // nb_len)  # blocks per FFT call: bounded temporaries
    for k in range(0, nblocks, group):
        spec = np.fft.rfft(blocks[..., k : k + group, :], axis=-1)
        spec *= power
        kept = np.fft.irfft(spec, nb_len, axis=-1)[..., length : nb_len - length]
        z[..., k * step : k * step + kept.shape[-2] * step] = kept.reshape(
            xt.shape[:-1] + (-1,))
    z = z[..., :m]
    z += g * g * e0
    z[..., m - length :] = end
    return z


def _dc_gain(sos: Array) -> float:
    g = 1.0
    for b0, b1, b2, _, a1, a2 in sos:
        g *= math.fsum((b0, b1, b2)) / math.fsum((1.0, a1, a2))
    return g


def sosfiltfilt(sos: ArrayLike, x: ArrayLike, axis: int = -1) -> Array:
    """Zero-phase forward-backward filtering, as ``scipy.signal.sosfiltfilt(sos, x, axis)``
    (defaults: ``padtype='odd'``, ``padlen = 3 * (2 * n_sections + 1 - min(#sos[:, 2] == 0,
    #sos[:, 5] == 0))``; ValueError when ``x`` is not longer than padlen).

    Each pass starts from the filter's steady state for the first sample (Gustafsson 1996, as
    scipy's ``sosfilt_zi``): by linearity it is ``G * x0`` (G the DC gain) plus the zero-state
    response to ``x - x0``, which is a convolution with the impulse response, computed with
    the FFT (overlap-save blocks) and the exact frequency response on blocks longer than the
    response's decay (so the circular wrap-around is below 1e-22): no recursion, no loop.
    Signals at least 8 times the decay take both passes as one convolution with |H|^2 and an
    exact correction of the last samples (:func:`_filtfilt_zero_phase`): half the FFTs.
    """
    sos = np.atleast_2d(np.asarray(sos, dtype=float))
    if sos.ndim != 2 or sos.shape[1] != 6:
        raise ValueError("sos array must be shape (n_sections, 6)")
    if not np.all(sos[:, 3] == 1.0):
        raise ValueError("sos[:, 3] should be all ones")
    x = np.asarray(x, dtype=float)
    xm = np.moveaxis(x, axis, 0)
    ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    edge = 3 * ntaps
    n = xm.shape[0]
    if n <= edge:
        raise ValueError(
            f"The length of the input vector x must be greater than padlen, which is {edge}."
        )
    m = n + 2 * edge
    length = _response_length(sos)
    g = _dc_gain(sos)
    if m >= max(_ZERO_PHASE_MIN_RATIO * length, _fast_size(2 * length)):
        z = _filtfilt_zero_phase(sos, np.moveaxis(x, axis, -1), edge, length, g)
        return np.ascontiguousarray(np.moveaxis(z[..., edge : m - edge], -1, axis))
    # odd extension (scipy.signal._arraytools.odd_ext)
    ext = np.concatenate((2 * xm[:1] - xm[edge:0:-1], xm, 2 * xm[-1:] - xm[-2 : -(edge + 2) : -1]))
    y = _filtfilt_two_pass(sos, ext, length, g)[edge : m - edge]
    return np.ascontiguousarray(np.moveaxis(y, 0, axis))


# ------------------------------------------------------------------------ moving filters ---


def _edges(xm: NDArray, size: int, mode: Mode, cval: float) -> tuple[NDArray, NDArray]:
    """The size // 2 samples scipy.ndimage puts before ``xm`` (time on axis 0) and the
    size - size // 2 - 1 after it (origin 0)."""
    n = xm.shape[0]
    before, after = size // 2, size - size // 2 - 1
    if mode == "constant":
        return (np.full((before,) + xm.shape[1:], cval, dtype=xm.dtype),
                np.full((after,) + xm.shape[1:], cval, dtype=xm.dtype))
    i = np.concatenate((np.arange(-before, 0), np.arange(n, n + after)))  # outside samples
    if mode == "nearest":
        j = np.clip(i, 0, n - 1)
    elif mode == "reflect":
        j = np.mod(i, 2 * n)
        j = np.where(j >= n, 2 * n - 1 - j, j)
    elif mode == "mirror":
        if n == 1:
            j = np.zeros_like(i)
        else:
            j = np.mod(i, 2 * n - 2)
            j = np.where(j >= n, 2 * n - 2 - j, j)
    elif mode == "wrap":
        j = np.mod(i, n)
    else:
        raise ValueError(f"mode {mode!r} is not supported")
    return xm[j[:before]], xm[j[before:]]


def _window(xm: NDArray, pre: NDArray, post: NDArray, lo: int, hi: int) -> NDArray:
    """Rows ``lo:hi`` of the extension ``(pre, xm, post)`` along axis 0 without building it:
    a view of ``xm`` when they lie inside it, else a copy of the few rows."""
    b, n = pre.shape[0], xm.shape[0]
    if b <= lo and hi <= b + n:
        return xm[lo - b : hi - b]
    return np.concatenate((pre[lo:hi], xm[max(lo - b, 0) : max(hi - b, 0)],
                           post[max(lo - b - n, 0) : max(hi - b - n, 0)]))


_FILTER_BLOCK = 1 << 16
"""Output rows per block of :func:`_minmax_filter` (its temporaries are a few blocks)."""


def uniform_filter1d(
    x: ArrayLike, size: int, axis: int = -1, mode: Mode = "reflect", cval: float = 0.0
) -> Array:
    """Moving mean over ``size`` samples, as ``scipy.ndimage.uniform_filter1d`` (float64):
    the same running sum (first window summed in order, then ``+= in - out`` per sample, in
    order: np.cumsum, divided by ``size``), so bit for bit the same values."""
    size = int(size)
    if size < 1:
        raise RuntimeError("incorrect filter size")
    xm = np.moveaxis(np.asarray(x, dtype=float), axis, 0)
    pre, post = _edges(xm, size, mode, cval)
    n = xm.shape[0]
    steps = np.empty(xm.shape)  # the output: no extended copy of x (rows of it at the ends)
    steps[0] = np.cumsum(_window(xm, pre, post, 0, size), axis=0)[-1]
    # steps[i] = e[i + size - 1] - e[i - 1] (e the extension): views of x between the ends
    head, tail = min(pre.shape[0] + 1, n), max(n - post.shape[0], min(pre.shape[0] + 1, n))
    for r0, r1 in ((1, head), (head, tail), (tail, n)):
        if r1 > r0:
            np.subtract(_window(xm, pre, post, r0 + size - 1, r1 + size - 1),
                        _window(xm, pre, post, r0 - 1, r1 - 1), out=steps[r0:r1])
    out = np.cumsum(steps, axis=0, out=steps)  # in place
    out /= size
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def _minmax_filter(
    x: ArrayLike, size: int, axis: int, mode: Mode, cval: float, acc: np.ufunc
) -> NDArray:
    """Moving min/max in O(n log size) by doubling: the extremum over 2p samples is that of two
    neighbouring p-sample extrema, and a window of ``size`` is covered by two overlapping
    windows of the largest power of two p <= size (a sparse table, one level at a time).
    Faster than the O(n) van Herk / Gil-Werman scheme for every size numpy meets here (its
    block scans run along a short axis); an extremum is a selection, so the same values."""
    size = int(size)
    if size < 1:
        raise RuntimeError("incorrect filter size")
    xm = np.moveaxis(np.asarray(x), axis, 0)
    pre, post = _edges(xm, size, mode, cval)
    n = xm.shape[0]
    out = np.empty(xm.shape, dtype=xm.dtype)
    for r0 in range(0, n, _FILTER_BLOCK):  # in blocks of rows: bounded temporaries
        r1 = min(r0 + _FILTER_BLOCK, n)
        e = _window(xm, pre, post, r0, r1 + size - 1)
        p = 1
        while 2 * p <= size:  # e[i] := extremum of the p-sample window from i
            e = acc(e[:-p], e[p:])
            p *= 2
        out[r0:r1] = e if p == size else acc(e[: r1 - r0], e[size - p : size - p + r1 - r0])
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def minimum_filter1d(
    x: ArrayLike, size: int, axis: int = -1, mode: Mode = "reflect", cval: float = 0.0
) -> NDArray:
    """Moving minimum over ``size`` samples, as ``scipy.ndimage.minimum_filter1d`` (same
    dtype, exact)."""
    return _minmax_filter(x, size, axis, mode, cval, np.minimum)


def maximum_filter1d(
    x: ArrayLike, size: int, axis: int = -1, mode: Mode = "reflect", cval: float = 0.0
) -> NDArray:
    """Moving maximum over ``size`` samples, as ``scipy.ndimage.maximum_filter1d`` (same
    dtype, exact)."""
    return _minmax_filter(x, size, axis, mode, cval, np.maximum)
