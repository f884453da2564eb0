"""Frames, units and signs, defined once for the whole package (docs/formats.md says the same).

Sensor frame
    Right-handed x, y, z of the device; mounted in any orientation on the hip or sacrum.
Pelvis frame (anatomical)
    x forward (anterior), y left, z up. Neutral = the pelvis during the quiet standing that
    opens every session.
World frame
    x forward, y left, z up of the pelvis at neutral (heading fixed at the standing start),
    gravity along -z.
Pelvis angles (Baker 2001, rotation-obliquity-tilt order)
    R_world_pelvis = Rz(rotation) @ Rx(obliquity) @ Ry(-sagittal).
    sagittal > 0: posterior / hip-extension direction (lying on the back is +90 deg);
    obliquity > 0: the LEFT side is lifted; rotation > 0: turned to the left.
Pelvic drop
    Positive when the side opposite the stance leg is lower than in neutral:
    left stance -> drop = +obliquity; right stance -> drop = -obliquity
    (:func:`imu.metrics.gait.pelvic_drop_deg`).

Units: specific force in g (at rest a sensor reads +1 g upward), angular rate in deg/s,
angles in degrees, lengths in cm in outputs (metres inside the simulator), times in s or ms.
Quaternions follow scipy (scalar last) unless a name says ``wxyz`` (VQF's order).

References: Baker R (2001) Pelvic angles: a mathematically rigorous definition which is
consistent with a conventional clinical understanding of the terms. Gait Posture 13:1-6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imu.core.rotation import Rotation

if TYPE_CHECKING:
    from scipy.spatial.transform import Rotation as ScipyRotation

GRAVITY_M_S2: Final = 9.80665
"""Standard gravity; 1 g of specific force."""


def pelvis_rotation_from_angles_deg(
    rotation_deg: ArrayLike, obliquity_deg: ArrayLike, sagittal_deg: ArrayLike
) -> Rotation:
    """Rotation world <- pelvis from the Baker angles: Rz(rotation) Rx(obliquity) Ry(-sagittal).

    (:class:`imu.core.rotation.Rotation`, whose numbers are scipy's: the simulator uses it with
    scipy rotations.)"""
    rot, obl, sag = np.broadcast_arrays(
        np.asarray(rotation_deg, dtype=float),
        np.asarray(obliquity_deg, dtype=float),
        np.asarray(sagittal_deg, dtype=float),
    )
    # Quaternion product qz(a) qx(b) qy(c), c = -sagittal, in numpy: same as
    # Rotation.from_euler("ZXY", [a, b, c]) but several times faster for millions of samples.
    ha, hb, hc = np.radians(rot) / 2, np.radians(obl) / 2, -np.radians(sag) / 2
    ca, sa, cb, sb, cc, sc = np.cos(ha), np.sin(ha), np.cos(hb), np.sin(hb), np.cos(hc), np.sin(hc)
    x1, y1, z1, w1 = ca * sb, sa * sb, sa * cb, ca * cb  # qz(a) qx(b), scalar last
    q = np.stack(
        [x1 * cc - z1 * sc, w1 * sc + y1 * cc, z1 * cc + x1 * sc, w1 * cc - y1 * sc], axis=-1
    )
    return Rotation.from_quat(q)


def pelvis_angles_deg(r_world_pelvis: Rotation | ScipyRotation) -> NDArray[np.float64]:
    """Decompose world <- pelvis rotations into (rotation, obliquity, sagittal) degrees, (N, 3).

    Inverse of :func:`pelvis_rotation_from_angles_deg`; singular only at obliquity = +-90 deg.
    """
    m = r_world_pelvis.as_matrix().reshape(-1, 3, 3)
    obliquity = np.arcsin(np.clip(m[:, 2, 1], -1.0, 1.0))
    rotation = np.arctan2(-m[:, 0, 1], m[:, 1, 1])
    sagittal = -np.arctan2(-m[:, 2, 0], m[:, 2, 2])
    return np.degrees(np.stack([rotation, obliquity, sagittal], axis=-1))


def quat_mul(q1: ArrayLike, q2: ArrayLike) -> NDArray[np.float64]:
    """Hamilton product of scalar-last quaternions, broadcasting over leading axes (for long
    arrays several times faster than products of scipy Rotations). The simulator's; the sums
    run in another order than in :class:`imu.core.rotation.Rotation`'s product (scipy's), and
    the simulator's golden data pin this one."""
    x1, y1, z1, w1 = np.moveaxis(np.asarray(q1, dtype=float), -1, 0)
    x2, y2, z2, w2 = np.moveaxis(np.asarray(q2, dtype=float), -1, 0)
    return np.stack(
        [
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        ],
        axis=-1,
    )


def quat_wxyz_to_rotation(q_wxyz: NDArray[np.float64]) -> Rotation:
    """Rotation (:class:`imu.core.rotation.Rotation`) from scalar-first quaternions (VQF's
    order)."""
    return Rotation.from_quat(q_wxyz, scalar_first=True)


def rotation_to_quat_wxyz(r: Rotation | ScipyRotation) -> NDArray[np.float64]:
    """Scalar-first quaternions (VQF's order) from a rotation (this package's or scipy's)."""
    return r.as_quat(scalar_first=True)
