"""Stance side of each step, the pelvis forward axis, and the sensor's side from the gait
(docs/running.md).

* :func:`forward_axis` -- the fore-aft line is the principal direction of the horizontal
  specific force high-passed at 0.75 x the step frequency (the stride-frequency sway goes, the
  step-frequency braking and propulsion stay); its sign makes each stance start with braking
  (correlation with ``-sin(2 pi tau / T)``, T = contact time in running, step time in walking;
  Cavanagh & Lafortune 1980; Zijlstra & Hof 2003). Left = up x forward. Its data come from
  :func:`horizontal_force` (~50 Hz block means), taken while the per-sample up exists.
* :func:`side_scores` -- one number per step, positive for a left stance, from the cues the
  recording has: ``sway`` (orientation known: the lateral acceleration with gravity removed;
  the pelvis sways over the stance foot and is pushed back towards the midline, so it points
  right during a left stance), ``yaw`` (gyroscope: the rate about up; after a left contact the
  right hip swings forward, a positive rate), ``ml`` (accelerometer only: minus the mean lateral
  specific force over the step, the sway cue with the gravity leak of the pelvic obliquity left
  in: it points the other way, so this cue fails on subjects whose obliquity dominates their
  sway), ``flight`` (accelerometer only, running: in flight the sensor reads neither gravity nor
  sway, only its tangential acceleration ``alpha_z x r`` from the pelvis turning about up; the
  pelvis turns towards the side of the leading leg before each contact (Schache et al. 1999),
  so the sign alternates with the side; it needs the sensor offset ``r``, i.e. the placement).
  Each cue is centred and scaled per bout.
* :func:`alternating_sides` -- steps alternate: each step's side is the sign of the
  alternating sum of the scores of its +-``half_window`` neighbours within a run of steps (a
  long interval breaks the run), so one wrong score or a missed step affects a few steps only.
  A step whose window is weaker than ``min_confidence`` keeps no side.
* :func:`lateral_offset_m` -- the sensor's lateral offset from the pelvis centre (placement):
  with the orientation, the vertical specific force at a sensor on the left hip contains
  ``r_y`` x the vertical acceleration of a point one metre left of the centre, a signal that
  alternates with the stance side and is uncorrelated with the centre's own (the same every
  step); a least-squares fit gives ``r_y`` (Lee et al. 2010 use the same left/right lever for
  the side of a hip sensor).

References: Cavanagh PR, Lafortune MA (1980) J Biomech 13:397-406. Zijlstra W, Hof AL (2003) Gait
Posture 18:1-10. Lee JB, Sutter KJ, Askew CD, Burkett BJ (2010) Identifying symmetry in running
gait using a single inertial sensor. J Sci Med Sport 13:559-563. Schache AG et al. (1999) Gait
Posture 10:30-47 (pelvis rotation and the leading leg).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from imu.core.frames import GRAVITY_M_S2
from imu.pipeline.gait_events import step_ranges
from imu.pipeline.signals import block_mean, lowpass, running_sum

Array = NDArray[np.float64]

SIDE_CUES = ("sway", "yaw", "flight", "ml")
"""Per-step side cues, in the order they are preferred when several are available."""


def _unit_rows(v: Array) -> Array:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-12, n, 1.0)


class HorizontalForce(NamedTuple):
    """The data of the forward-axis fit at ~50 Hz (:func:`horizontal_force`)."""

    h: Array
    """(M, 3) block means of the horizontal specific force (sensor frame, g)."""
    up: Array
    """(M, 3) block means of the local up."""
    gait: NDArray[np.bool_]
    """Blocks wholly inside the gait."""
    k: int
    """Samples per block."""


def horizontal_force(
    acc_g: Array, fv_g: Array, up: Array, gait: NDArray[np.bool_], fs: float
) -> HorizontalForce:
    """The specific force minus its part along the local ``up`` (``fv_g`` along it), and up
    itself, as means over blocks of ``k`` samples (~50 Hz: the braking pattern is below 10 Hz;
    computed block by block, never whole at the sample rate); ``gait``: the samples that take
    part in the fit. The session-long ``up`` and ``fv_g`` can go once this is taken."""
    k = max(1, int(round(fs / 50.0)))
    m = acc_g.shape[0] // k * k
    if m < 4 * k:
        k, m = 1, acc_g.shape[0]
    h, u_sub = np.empty((m // k, 3)), np.empty((m // k, 3))
    rows = 8192 * k
    for a in range(0, m, rows):
        b = min(a + rows, m)
        h[a // k : b // k] = block_mean(acc_g[a:b] - fv_g[a:b, None] * up[a:b], k)
        u_sub[a // k : b // k] = block_mean(up[a:b], k)
    return HorizontalForce(h, u_sub, gait[:m].reshape(-1, k).all(axis=1), k)


def forward_axis(
    force: HorizontalForce, ic: Array, to: Array, is_run: NDArray[np.bool_], fs: float
) -> tuple[Array, float] | None:
    """Forward (unit, horizontal to the mean up of the gait) in the sensor frame and the
    strength of the braking evidence for its sign (correlation coefficient, 0..1), or None with
    fewer than 4 steps or no gait.

    ``force``: the fit's data (:func:`horizontal_force` of the specific force, the local up and
    the gait samples); ``ic``, ``to``: contact and toe-off (fractional sample indices, time
    order); ``is_run`` per step."""
    h, u_sub, g_sub, k = force
    if ic.size < 4 or not g_sub.any():
        return None
    fk = fs / k
    step = float(np.median(np.diff(ic))) / fs
    hp = h - lowpass(h, min(0.75 / max(step, 1e-3), 0.4 * fk), fk)
    _, vecs = np.linalg.eigh(hp[g_sub].T @ hp[g_sub])
    u_mean = _unit_rows(u_sub[g_sub].mean(axis=0))
    ax = vecs[:, -1] - (vecs[:, -1] @ u_mean) * u_mean
    ax /= max(float(np.linalg.norm(ax)), 1e-12)
    # sign: braking then propulsion within each step
    n = h.shape[0]
    ic_k, to_k = ic / k, to / k
    kk = np.searchsorted(ic_k, np.arange(n), side="right") - 1
    ok = (kk >= 0) & (kk < ic.size - 1)
    kk = np.clip(kk, 0, max(ic.size - 2, 0))
    tau = np.arange(n) - ic_k[kk]
    period = np.where(is_run[kk], to_k[kk] - ic_k[kk], ic_k[kk + 1] - ic_k[kk])
    ok &= np.isfinite(period) & (period > 0) & (tau < period) & (
        ic_k[kk + 1] - ic_k[kk] < 2.0 * fk)
    w = np.where(ok, -np.sin(2 * np.pi * np.where(ok, tau / np.where(period > 0, period, 1), 0)), 0)
    ap = hp @ ax
    c = float(np.sum(ap * w))
    if c < 0:
        ax = -ax
    strength = abs(c) / max(float(np.sqrt(np.sum(ap[ok] ** 2) * np.sum(w**2))), 1e-12)
    return ax, strength


def step_means(x: Array, a: NDArray[np.int64], b: NDArray[np.int64]) -> Array:
    """Mean of ``x`` over ``[a_k, b_k)`` per step (cumulative sums; at least one sample)."""
    c = running_sum(x)
    b = np.maximum(b, a + 1)
    return (c[b] - c[a]) / (b - a)


def _standardise(s: Array, bout: NDArray[np.int64]) -> Array:
    """Centred per bout and scaled by the overall standard deviation."""
    mean = np.bincount(bout, weights=s) / np.maximum(np.bincount(bout), 1)
    s = s - mean[bout]
    return s / (float(np.std(s)) + 1e-12)


def side_scores(
    cues: dict[str, Array], a: NDArray[np.int64], b: NDArray[np.int64], bout: NDArray[np.int64]
) -> dict[str, Array]:
    """Per-step scores (positive = left stance) from per-sample cue signals, each the cue's mean
    over the step (``a``: contact, ``b``: next contact, sample indices) centred per ``bout`` and
    scaled. ``cues``: ``sway`` (lateral kinematic acceleration, g, pelvis left positive),
    ``yaw`` (rate about up, deg/s), ``ml`` (lateral specific force, g), ``flight`` (minus the
    tangential specific force of the turning pelvis, g; ``a``: the toe-off) -- any subset."""
    sign = {"sway": -1.0, "ml": -1.0, "yaw": 1.0, "flight": 1.0}
    return {
        name: _standardise(sign[name] * step_means(x, a, b), bout) for name, x in cues.items()
    }


def alternating_sides(
    ic_s: Array, score: Array, half_window: int = 4, gap_ratio: float = 1.6,
    max_gap_s: float = 1.6, min_confidence: float = 0.0,
) -> NDArray[np.str_]:
    """Stance side ('L', 'R' or '' where undecided) per step from per-step scores (positive =
    left) by the alternating sum over +-``half_window`` neighbours within a run of steps; a run
    breaks at an interval longer than ``max_gap_s`` or ``gap_ratio`` x the median interval.
    ``min_confidence``: the window's mean |alternating score| must reach this."""
    n = ic_s.size
    side = np.full(n, "", dtype=object)
    if n == 0:
        return side.astype(str)
    dt = np.diff(ic_s)
    med = float(np.median(dt)) if dt.size else np.inf
    brk = np.concatenate([[True], (dt > max_gap_s) | (dt > gap_ratio * med)])
    grp = np.cumsum(brk) - 1
    first = np.flatnonzero(brk)
    last = np.concatenate([first[1:], [n]])
    k = np.arange(n) - first[grp]
    alt = np.where(k % 2 == 0, 1.0, -1.0)
    finite = np.isfinite(score)
    c = np.concatenate([[0.0], np.cumsum(alt * np.where(finite, score, 0.0))])
    cn = np.concatenate([[0], np.cumsum(finite)])
    lo = np.maximum(np.arange(n) - half_window, first[grp])
    hi = np.minimum(np.arange(n) + half_window + 1, last[grp])
    local = (c[hi] - c[lo]) * alt
    count = np.maximum(cn[hi] - cn[lo], 1)
    decided = finite & (np.abs(local) / count >= min_confidence) & (local != 0)
    side[decided] = np.where(local[decided] > 0, "L", "R")
    return side.astype(str)


def phase_matrix(ic: Array, n: int, bins: int = 40) -> NDArray[np.int64]:
    """Sample indices at ``bins`` equally spaced phases of each step (contact to the next
    contact), (len(ic) - 1, bins)."""
    a, b = ic[:-1], ic[1:]
    ph = np.arange(bins) / bins
    return np.clip(np.round(a[:, None] + (b - a)[:, None] * ph[None, :]).astype(np.int64), 0,
                   n - 1)


def lateral_offset_m(
    fv_sensor_g: Array, lever_z_m_s2: Array, ic: Array, side: NDArray[np.str_],
    max_step_ratio: float = 1.5,
) -> float:
    """Least-squares lateral offset (m, left positive) of the sensor from the pelvis centre.

    ``lever_z_m_s2``: vertical acceleration (m/s^2) of a point 1 m to the left of the pelvis
    centre relative to it (from the orientation); ``fv_sensor_g``: the sensor's vertical
    specific force; ``ic`` contacts (fractional sample indices) with their stance ``side``.
    Both signals are averaged over the phase of the left steps and of the right steps; the
    pelvis centre moves alike in both and drops out of the difference, which is ``r_y`` x the
    lever's difference (a hip sensor rises in its own stance, when the other side drops).
    Steps longer than ``max_step_ratio`` x the median (pauses) are left out. NaN with fewer
    than 4 steps of each side."""
    if ic.size < 9:
        return float("nan")
    d = np.diff(ic)
    ok = (d < max_step_ratio * np.median(d)) & np.isin(side[:-1], ["L", "R"])
    is_l = side[:-1] == "L"
    if (ok & is_l).sum() < 4 or (ok & ~is_l).sum() < 4:
        return float("nan")
    idx = phase_matrix(ic, fv_sensor_g.size)
    y = fv_sensor_g[idx] * GRAVITY_M_S2
    x = lever_z_m_s2[idx]
    dy = y[ok & is_l].mean(axis=0) - y[ok & ~is_l].mean(axis=0)
    dx = x[ok & is_l].mean(axis=0) - x[ok & ~is_l].mean(axis=0)
    den = float(dx @ dx)
    return float(dx @ dy) / den if den > 0 else float("nan")


def stance_sides(
    ic: NDArray[np.float64], to: NDArray[np.float64], is_run: NDArray[np.bool_],
    valid: NDArray[np.bool_], cues: dict[str, NDArray[np.float64]], fs: float,
    side_cues: tuple[str, ...] = SIDE_CUES, half_window: int = 4,
) -> tuple[NDArray[np.str_], str]:
    """Stance side per step and the cues used (the summary's ``side_source``): running steps
    from the first cue of ``side_cues`` in ``cues``, walking steps from the first but
    ``flight`` (:func:`side_scores`, then :func:`alternating_sides` over ``half_window``
    neighbours either side); contacts ``ic`` and toe-offs ``to`` in fractional samples."""
    n = valid.size
    a, b, bout = step_ranges(ic, is_run, valid, fs)
    score = np.full(ic.size, np.nan)
    used = []
    for steps, allowed in ((is_run, side_cues),
                           (~is_run, [c for c in side_cues if c != "flight"])):
        use = [c for c in allowed if c in cues]
        if not steps.any() or not use:
            continue
        if use[0] == "flight":  # the flight part of the step: toe-off to the next contact
            lo = np.clip(np.round(to).astype(np.int64), 0, n - 1)
            sc = side_scores({"flight": cues["flight"]}, np.minimum(lo, b - 1), b, bout)
        else:
            sc = side_scores({use[0]: cues[use[0]]}, a, b, bout)
        score[steps] = sc[use[0]][steps]
        used.append(use[0] + (" (running)" if steps is is_run else " (walking)"))
    if ic.size == 0 or not used:
        source = "no steps" if ic.size == 0 else (
            "no gyroscope and no medio-lateral accelerometer axis")
        return np.full(ic.size, "", dtype=str), source
    return alternating_sides(ic / fs, score, half_window), ", ".join(used)
