"""Pelvis motion during gait: orientation, the pelvis centre, vertical oscillation and pelvis
angles (docs/running.md, stages 5-8 of the gait analysis).

* :func:`gait_gyro_bias` -- without a standing start, the gyroscope bias from the gait itself:
  over whole strides the pelvis returns to its orientation, so the mean angular rate about the
  horizontal axes is the bias (the rate about up also holds the turns: its bias only turns the
  heading, which no gait metric uses).
* :func:`vqf_orientation` -- BasicVQF (Laidig & Seel 2023), forward batch, earth <- sensor, on
  the bias-corrected gyroscope.
* :func:`pelvis_centre_fv` -- ``f_v(centre) = f_v(sensor) - d2/dt2 (R r)_z / g``: the up-and-
  down of a hip sensor caused by pelvic obliquity (0.16 m x sin 8 deg = 2 cm) removed.
* :func:`double_integrate` -- vertical displacement from ``(f_v - 1) g``, integrated twice with a
  zero-phase high-pass after each integration (drift removal; Zijlstra & Hof 2003).
* :func:`pelvis_angles` -- Baker (2001) rotation, obliquity and sagittal angle of the pelvis from
  the orientation and the mounting, the heading of a reference stretch removed;
  :func:`obliquity_neutral` -- the obliquity's zero without a standing start.

References: Laidig D, Seel T (2023) VQF: Highly accurate IMU orientation estimation with bias
estimation and magnetic disturbance rejection. Information Fusion 91:187-204. Zijlstra W, Hof AL
(2003) Gait Posture 18:1-10. Baker R (2001) Pelvic angles: a mathematically rigorous definition
which is consistent with a conventional clinical understanding of the terms. Gait Posture
13:1-6.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray
from vqf import BasicVQF

from imu.core.frames import GRAVITY_M_S2
from imu.core.rotation import Rotation
from imu.pipeline.dsp import butter_sos, sosfiltfilt

Array = NDArray[np.float64]


def gait_gyro_bias(gyr_dps: Array, up: Array, mask: NDArray[np.bool_]) -> Array:
    """Gyroscope bias (deg/s, (3,)) from gait: the mean rate over the ``mask`` samples with its
    component along the mean ``up`` removed (zeros without gait)."""
    if not mask.any():
        return np.zeros(3)
    m = gyr_dps[mask].mean(axis=0)
    u = up[mask].mean(axis=0)
    u /= max(float(np.linalg.norm(u)), 1e-12)
    return m - (m @ u) * u


VQF_CHUNK = 65_536
"""Samples per ``updateBatch`` call of :func:`vqf_orientation`: the filter's state carries from
chunk to chunk (the same numbers as one call), its inputs and outputs stay a few MB."""


def vqf_orientation(
    acc_g: Array, gyr_dps: Array, fs: float, gyro_bias_dps: Array | None = None,
    state: dict[str, Any] | None = None, keep_state_at: int | None = None,
) -> tuple[Rotation, dict[str, Any] | None]:
    """Earth <- sensor with BasicVQF (forward batch) on the gyroscope minus ``gyro_bias_dps``;
    full VQF is ~2x and offline VQF ~5x slower for the same gait figures. Run in chunks of
    ``VQF_CHUNK`` samples into one quaternion array (bounded temporaries, no copy).

    ``state``: the filter's state to start from (a window of a session analysed in windows
    goes on where the window before left it: the same numbers as one pass); with
    ``keep_state_at`` the filter's state before that sample is returned too (else None)."""
    v = BasicVQF(1.0 / fs)
    if state is not None:
        v.state = state
    n = len(acc_g)
    q = np.empty((n, 4))  # scalar last, as Rotation stores them
    bounds = list(range(0, n, VQF_CHUNK)) or [0]
    if keep_state_at is not None and 0 <= keep_state_at <= n:
        bounds = sorted({*bounds, keep_state_at})
    kept = None
    for a, b in zip(bounds, [*bounds[1:], n], strict=True):  # the filter's loop is in C++
        if a == keep_state_at:
            kept = copy.deepcopy(v.state)
        if b <= a:
            continue
        gyr = gyr_dps[a:b]
        if gyro_bias_dps is not None:
            gyr = gyr - gyro_bias_dps
        out = v.updateBatch(np.ascontiguousarray(np.radians(gyr)),
                            np.ascontiguousarray(acc_g[a:b] * GRAVITY_M_S2))
        q[a:b] = out["quat6D"][:, [1, 2, 3, 0]]
    if keep_state_at == n:
        kept = copy.deepcopy(v.state)
    return Rotation.from_quat(q, copy=False), kept


def z_row(r: Rotation) -> Array:
    """Bottom row of the rotation matrices: earth-up seen in the sensor frame, (N, 3)."""
    return r.apply([0.0, 0.0, 1.0], inverse=True)


ANGLE_BLOCK = 65_536
"""Samples per block of the per-sample rotations (:func:`z_blocks`, :func:`pelvis_angles`):
bounded temporaries on a long recording."""


def z_blocks(r: Rotation) -> Iterator[tuple[slice, Array]]:
    """:func:`z_row` of a stack of rotations block by block (its bits; never the (N, 3) whole):
    the rows of each block and their earth-up in the sensor frame."""
    n = len(r)
    for a in range(0, n, ANGLE_BLOCK):
        s = slice(a, min(a + ANGLE_BLOCK, n))
        yield s, r.inverse_z(s)


def z_dot(r: Rotation, v: Array) -> Array:
    """``z_row(r) @ v`` (N,) block by block: the component along ``v`` (sensor frame) of
    earth-up, or the vertical component of ``v`` in the earth frame."""
    out = np.empty(len(r))
    for s, z in z_blocks(r):
        np.matmul(z, v, out=out[s])
    return out


def vertical_force(
    r: Rotation, acc_g: Array, mask: NDArray[np.bool_]
) -> tuple[Array, Array]:
    """The vertical specific force ``einsum("ij,ij->i", z_row(r), acc_g)`` (g) and the mean of
    ``z_row(r)`` over the ``mask`` samples (one of them at least), block by block (the same
    bits: the rows of the mean are summed in order, the running sum heading each block)."""
    fv = np.empty(len(r))
    total = np.zeros((0, 3))
    for s, z in z_blocks(r):
        np.einsum("ij,ij->i", z, acc_g[s], out=fv[s])
        total = np.vstack([total, z[mask[s]]]).sum(axis=0, keepdims=True)
    return fv, total[0] / np.count_nonzero(mask)


def lever_vertical_m_s2(r_es: Rotation, r_sensor_m: Array, fs: float) -> Array:
    """Vertical acceleration (m/s^2) of a point at ``r_sensor_m`` (sensor frame) relative to the
    pelvis centre: ``d2/dt2 (R r)_z`` (central second difference; ``r_es`` earth <- sensor)."""
    rz = z_dot(r_es, np.asarray(r_sensor_m, dtype=float))
    out = np.empty_like(rz)
    if rz.size < 3:
        out[:] = 0.0
        return out
    mid = out[1:-1]  # (rz[2:] - 2 rz[1:-1] + rz[:-2]) fs fs, in place
    np.multiply(rz[1:-1], 2.0, out=mid)
    np.subtract(rz[2:], mid, out=mid)
    mid += rz[:-2]
    mid *= fs
    mid *= fs
    out[0], out[-1] = out[1], out[-2]
    return out


def pelvis_centre_fv(fv_sensor_g: Array, r_es: Rotation, r_sensor_m: Array, fs: float) -> Array:
    """Vertical specific force of the pelvis centre from the sensor's (``r_sensor_m``: the
    sensor's offset from the centre in the sensor frame), in the lever's array."""
    lever = lever_vertical_m_s2(r_es, r_sensor_m, fs)
    lever /= GRAVITY_M_S2
    return np.subtract(fv_sensor_g, lever, out=lever)


def double_integrate(fv_g: Array, fs: float, highpass_hz: float) -> Array:
    """Vertical displacement (m) from the vertical specific force (g): integrate twice with a
    zero-phase 2nd-order high-pass after each integration (in place: one signal at a time)."""
    if fv_g.size < 16:
        return np.zeros(fv_g.size)
    sos = butter_sos(2, highpass_hz, "highpass", fs=fs)
    a = fv_g - np.mean(fv_g)
    a *= GRAVITY_M_S2
    np.cumsum(a, out=a)
    a /= fs
    v = sosfiltfilt(sos, a)
    del a
    np.cumsum(v, out=v)
    v /= fs
    return sosfiltfilt(sos, v)


def reference_heading(r_es: Rotation, mounting: Rotation, reference: NDArray[np.bool_]) -> float:
    """The heading (rad) of the pelvis's mean earth-frame forward axis over the ``reference``
    samples (every sample when none is marked; NaN without samples): the zero of the pelvis
    rotation (:func:`pelvis_angles`)."""
    fwd_s = mounting.inv().as_matrix()[:, 0]
    n = len(r_es)
    ref = np.flatnonzero(reference) if reference.any() else np.arange(n)
    # the mean earth-frame forward axis of the reference, its rows summed in order block by
    # block (the running sum heads each block: the same sum as one mean over all rows)
    total = np.zeros((0, 3))
    for a in range(0, ref.size, ANGLE_BLOCK):
        total = np.vstack([total, r_es[ref[a : a + ANGLE_BLOCK]].apply(fwd_s)]).sum(
            axis=0, keepdims=True)
    f_ref = total[0] / ref.size if ref.size else np.full(3, np.nan)  # no samples: no heading
    return float(np.arctan2(f_ref[1], f_ref[0]))


def pelvis_angles(r_es: Rotation, mounting: Rotation, reference: NDArray[np.bool_] | None,
                  heading: float | None = None) -> Array:
    """(N, 3) rotation, obliquity and sagittal angle (deg) of the pelvis (Baker 2001):
    world <- pelvis = Rz(-heading) R_es M^-1, the heading being the mean of the ``reference``
    samples (:func:`reference_heading`) unless given; the rotation unwrapped. Only the matrix
    elements the decomposition of :func:`imu.core.frames.pelvis_angles_deg` needs are computed
    (the earth-frame images of the pelvis axes), block by block."""
    m_inv = mounting.inv().as_matrix()  # columns: the pelvis axes in the sensor frame
    fwd_s, left_s, up_s = m_inv[:, 0], m_inv[:, 1], m_inv[:, 2]
    n = len(r_es)
    if heading is None:
        assert reference is not None
        heading = reference_heading(r_es, mounting, reference)
    c, s = np.cos(heading), np.sin(heading)
    out = np.empty((n, 3))  # rotation, obliquity, sagittal: filled column by column
    for rows, z in z_blocks(r_es):
        left_e = r_es[rows].apply(left_s)  # pelvis left axis, earth frame
        out[rows, 1] = np.arcsin(np.clip(left_e[:, 2], -1.0, 1.0))
        out[rows, 0] = np.arctan2(-(c * left_e[:, 0] + s * left_e[:, 1]),
                                  -s * left_e[:, 0] + c * left_e[:, 1])
        sag = z @ fwd_s  # -arctan2(-(zr fwd), zr up)
        np.negative(sag, out=sag)
        np.arctan2(sag, z @ up_s, out=sag)
        np.negative(sag, out=out[rows, 2])
    unwrap_in_place(out[:, 0])
    return np.degrees(out, out=out)


def obliquity_neutral(obliquity_at_contacts: Array, is_run: NDArray[np.bool_]) -> float:
    """The obliquity's neutral without a standing start (deg): its median at the contacts of
    the running steps, else of all steps (the pelvis passes level there). The obliquity
    (column 1 of :func:`pelvis_angles`) less it is level; the drop per step, a maximum of the
    obliquity, takes it after the fact (:func:`imu.pipeline.gait_parts.join_windows`)."""
    return float(np.nanmedian(obliquity_at_contacts[is_run] if is_run.any()
                              else obliquity_at_contacts))


def unwrap_in_place(p: Array, block: int | None = None) -> None:
    """``p[:] = np.unwrap(p)`` (period 2 pi) block by block: numpy's arithmetic, the running sum
    of the corrections carried from block to block (so the same sums), and no temporary of
    the whole signal (``np.unwrap`` holds five)."""
    block = block or ANGLE_BLOCK
    period = 2 * np.pi
    high, low = period / 2, -period / 2
    total, prev = None, None  # corrections so far; the original value before the block
    for a in range(0, p.size, block):
        seg = p[a : a + block]
        orig = seg.copy()
        if prev is None:  # the first sample stays
            dd, dst, src = np.diff(orig), seg[1:], orig[1:]
        else:
            dd, dst, src = np.diff(np.concatenate(([prev], orig))), seg, orig
        ddmod = np.mod(dd - low, period) + low
        np.copyto(ddmod, high, where=(ddmod == low) & (dd > 0))
        ph = ddmod - dd
        np.copyto(ph, 0, where=np.abs(dd) < high)
        cs = ph.cumsum() if total is None else np.concatenate(([total], ph)).cumsum()[1:]
        dst[:] = src + cs
        if cs.size:
            total = cs[-1]
        prev = orig[-1]
