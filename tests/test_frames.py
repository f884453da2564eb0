"""Frames and signs (contract section 1), defined once in imu.core.frames."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imu.core.frames import (
    pelvis_angles_deg,
    pelvis_rotation_from_angles_deg,
    quat_mul,
    quat_wxyz_to_rotation,
    rotation_to_quat_wxyz,
)
from imu.metrics.gait import pelvic_drop_deg
from imu.metrics.strength import tilt_class


def test_lying_on_the_back_is_plus_90_sagittal() -> None:
    # Lying supine, the pelvis's forward (anterior) axis points up.
    r = pelvis_rotation_from_angles_deg(0, 0, 90)
    np.testing.assert_allclose(r.apply([1, 0, 0]), [0, 0, 1], atol=1e-12)


def test_hip_hinge_forward_pitch_is_negative() -> None:
    r = pelvis_rotation_from_angles_deg(0, 0, -45)
    forward = r.apply([1, 0, 0])
    assert forward[2] < 0 and forward[0] > 0


def test_positive_obliquity_lifts_left_and_rotation_turns_left() -> None:
    assert pelvis_rotation_from_angles_deg(0, 10, 0).apply([0, 1, 0])[2] > 0
    assert pelvis_rotation_from_angles_deg(10, 0, 0).apply([1, 0, 0])[1] > 0


def test_rotation_order_is_rotation_obliquity_tilt() -> None:
    from scipy.spatial.transform import Rotation

    rz = Rotation.from_euler("z", 20, degrees=True)
    rx = Rotation.from_euler("x", 7, degrees=True)
    ry = Rotation.from_euler("y", -30, degrees=True)  # Ry(-sagittal), sagittal = +30
    expected = (rz * rx * ry).as_matrix()
    got = pelvis_rotation_from_angles_deg(20, 7, 30).as_matrix()
    np.testing.assert_allclose(got, expected, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-179, 179), st.floats(-80, 80), st.floats(-179, 179),
)
def test_decomposition_round_trips(rotation: float, obliquity: float, sagittal: float) -> None:
    r = pelvis_rotation_from_angles_deg(rotation, obliquity, sagittal)
    np.testing.assert_allclose(
        pelvis_angles_deg(r)[0], [rotation, obliquity, sagittal], atol=1e-7
    )


def test_pelvic_drop_is_contralateral() -> None:
    # Left stance with the right (opposite) side lower -> left side higher -> obliquity > 0.
    np.testing.assert_allclose(pelvic_drop_deg([4.0, 4.0], ["L", "R"]), [4.0, -4.0])


def test_tilt_class_bands() -> None:
    got = tilt_class([5.0, 3.0, 2.9, -2.9, -3.0, np.nan])
    assert list(got) == ["posterior", "posterior", "neutral", "neutral", "anterior", ""]


def test_vqf_quaternion_order_round_trips() -> None:
    q = np.array([[0.9, 0.1, -0.3, 0.2]])
    q /= np.linalg.norm(q)
    np.testing.assert_allclose(rotation_to_quat_wxyz(quat_wxyz_to_rotation(q)), q, atol=1e-12)


def test_fast_angle_rotation_equals_scipy_euler_definition() -> None:
    # The numpy quaternion product behind pelvis_rotation_from_angles_deg (used for millions of
    # simulated samples) against scipy's intrinsic Z-X-Y Euler rotation.
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(0)
    a, b, c = rng.uniform(-179, 179, (3, 500))
    b = b / 2.1
    reference = Rotation.from_euler("ZXY", np.stack([a, b, -c], axis=1), degrees=True)
    err = (pelvis_rotation_from_angles_deg(a, b, c).inv() * reference).magnitude()
    assert err.max() < 1e-9


def test_quat_mul_is_the_rotation_product() -> None:
    from scipy.spatial.transform import Rotation

    p = Rotation.random(200, random_state=1)
    q = Rotation.random(200, random_state=2)
    err = (Rotation.from_quat(quat_mul(p.as_quat(), q.as_quat())).inv() * (p * q)).magnitude()
    assert err.max() < 1e-12
    one = quat_mul(p[0].as_quat(), q.as_quat())  # broadcasting a single quaternion
    assert (Rotation.from_quat(one).inv() * (p[0] * q)).magnitude().max() < 1e-12
