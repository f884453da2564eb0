"""The anatomical pelvis frame from the data, whatever the sensor mounting (contract section 1).

- "up": world-up seen by the sensor during the opening quiet standing (neutral posture);
- medio-lateral ("left"): the dominant rotation axis of the movement in the sensor frame
  (principal axis of the angular-rate vectors, orthogonalised against up); its sign is not
  observable from the rate alone and is set by the caller from the exercise's known direction
  (docs/algorithms.md);
- forward = left x up, so (forward, left, up) is right-handed.

World frame: z up, heading of the pelvis at neutral = x, so
:func:`imu.core.frames.pelvis_angles_deg` of the world <- pelvis orientation gives the contract's
angles directly.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray

from imu.core.frames import pelvis_angles_deg
from imu.core.rotation import Rotation
from imu.pipeline.base import OrientationAlgorithm


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def mounting_from_axes(
    up_sensor: NDArray[np.float64], left_sensor: NDArray[np.float64]
) -> Rotation:
    """pelvis <- sensor rotation from the pelvis up and (approximately) left axes in sensor frame.

    ``left`` is orthogonalised against ``up`` (Gram-Schmidt); forward = left x up.
    """
    up = _unit(up_sensor)
    left = np.asarray(left_sensor, dtype=float)
    left = _unit(left - np.dot(left, up) * up)
    fwd = np.cross(left, up)
    # Rows are the pelvis axes in sensor coordinates: v_pelvis = M v_sensor.
    return Rotation.from_matrix(np.vstack([fwd, left, up]))


def dominant_axis(
    gyr_dps: NDArray[np.float64],
    up_sensor: NDArray[np.float64],
    weights: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], float]:
    """Principal rotation axis perpendicular to ``up`` and its share of the in-plane energy.

    The angular rate is projected on the plane normal to up (turning about the vertical, as
    in walking, drops out); the leading eigenvector of its second-moment matrix is the axis.
    The returned share (0.5..1) says how dominant it is. Sign is arbitrary.
    """
    up = _unit(up_sensor)
    w = np.asarray(gyr_dps, dtype=float)
    w = w - np.outer(w @ up, up)
    if weights is not None:
        m = (w * weights[:, None]).T @ w
    else:
        m = w.T @ w
    vals, vecs = np.linalg.eigh(m)
    axis = vecs[:, -1]
    share = float(vals[-1] / max(vals[-1] + vals[-2], 1e-12))
    return _unit(axis - np.dot(axis, up) * up), share


def _quat_left(q: NDArray[np.float64]) -> NDArray[np.float64]:
    """4x4 matrix L with q * p == L @ p (scalar-last quaternions, Hamilton product)."""
    x, y, z, w = q
    return np.array([[w, -z, y, x], [z, w, -x, y], [-y, x, w, z], [-x, -y, -z, w]])


def _quat_right(q: NDArray[np.float64]) -> NDArray[np.float64]:
    """4x4 matrix R with p * q == R @ p (scalar-last quaternions, Hamilton product)."""
    x, y, z, w = q
    return np.array([[w, z, -y, x], [-z, w, x, y], [y, -x, w, z], [-x, -y, -z, w]])


def compose_constant(left: Rotation, r: Rotation, right: Rotation) -> Rotation:
    """``left * r * right`` for many ``r`` and constant ``left``/``right``, as one 4x4 matmul.

    (scipy's Rotation product is several times slower for long arrays.)
    """
    m = _quat_left(left.as_quat()) @ _quat_right(right.as_quat())
    return Rotation.from_quat(r.as_quat() @ m.T)


class PelvisOrientation(OrientationAlgorithm):
    """World <- pelvis orientation per sample with the world heading = neutral heading.

    ``estimate`` takes earth <- sensor orientations (e.g. :class:`VqfOrientation`), the
    pelvis <- sensor mounting and the neutral (standing) samples.

    Parameters
    ----------
    keep_orientation
        Keep ``orientation_`` (32 bytes a sample); False: only the angles are wanted, and
        they are computed block by block (:data:`ANGLE_BLOCK` samples) with bounded
        temporaries, the same numbers (the strength stages' 25 Hz series, docs/scale.md).

    Results
    -------
    orientation_
        World <- pelvis rotation per sample (None unless ``keep_orientation``).
    angles_deg_
        (N, 3) rotation, obliquity, sagittal (deg; :func:`imu.core.frames.pelvis_angles_deg`).
    heading_rad_
        Heading of the pelvis forward axis during the neutral standing, in the earth frame.
    """

    def __init__(self, keep_orientation: bool = True) -> None:
        self.keep_orientation = keep_orientation

    def estimate(
        self,
        r_earth_sensor: Rotation,
        mounting: Rotation,
        neutral: slice,
        sampling_rate_hz: float,
    ) -> Self:
        """World <- pelvis orientation from earth <- sensor, the pelvis <- sensor ``mounting``
        and the ``neutral`` (standing) samples, which fix the world heading."""
        # Heading of the pelvis forward axis during neutral standing (mean direction).
        r_neutral = r_earth_sensor[neutral] * mounting.inv()
        fwd = r_neutral.apply([1.0, 0.0, 0.0]).mean(axis=0)
        yaw = float(np.arctan2(fwd[1], fwd[0]))
        self.heading_rad_ = yaw
        left, right = Rotation.from_euler("z", -yaw), mounting.inv()
        if self.keep_orientation:
            self.orientation_: Rotation | None = compose_constant(left, r_earth_sensor, right)
            self.angles_deg_ = pelvis_angles_deg(self.orientation_)
            return self
        self.orientation_ = None
        n = len(r_earth_sensor)
        self.angles_deg_ = np.empty((n, 3))
        for a in range(0, n, ANGLE_BLOCK):
            rows = slice(a, min(a + ANGLE_BLOCK, n))
            self.angles_deg_[rows] = pelvis_angles_deg(
                compose_constant(left, r_earth_sensor[rows], right))
        return self


ANGLE_BLOCK = 1 << 14
"""Samples per block of :class:`PelvisOrientation`'s angles without the orientation kept."""


# ---- the pelvis frame of one set from gravity alone (strength stages, docs/algorithms.md) ----


def tilt_direction(u: NDArray[np.float64], up: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit direction (sensor frame) toward which world-up ``u`` leans away from neutral ``up``:
    ``u - (u.up) up``, normalised (rows)."""
    u = np.atleast_2d(np.asarray(u, dtype=float))
    up = _unit(up)
    d = u - np.outer(u @ up, up)
    return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)


def frame_from_forward(
    up_sensor: NDArray[np.float64], forward_sensor: NDArray[np.float64]
) -> Rotation:
    """pelvis <- sensor from neutral up and an (approximate) forward axis, both sensor frame;
    forward is orthogonalised against up and left = up x forward."""
    up = _unit(up_sensor)
    fwd = np.asarray(forward_sensor, dtype=float)
    fwd = _unit(fwd - np.dot(fwd, up) * up)
    return Rotation.from_matrix(np.vstack([fwd, np.cross(up, fwd), up]))


def sagittal_obliquity_deg(
    up_world_in_sensor: NDArray[np.float64], mounting: Rotation
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sagittal angle and obliquity (deg, contract section 1) from world-up in the sensor frame
    per sample and the pelvis <- sensor ``mounting``: with p = world-up in the pelvis frame,
    p = (sin s cos o, sin o, cos s cos o) for R = Rz(rot) Rx(obl) Ry(-sag), so they depend on
    the inclination alone (no heading)."""
    p = mounting.apply(np.asarray(up_world_in_sensor, dtype=float))
    sag = np.degrees(np.arctan2(p[:, 0], p[:, 2]))
    obl = np.degrees(np.arcsin(np.clip(p[:, 1], -1.0, 1.0)))
    return sag, obl
