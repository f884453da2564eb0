"""imu.core.rotation.Rotation against scipy's Rotation: the same numbers (to 1e-12, most bit for
bit), shapes, single/stack semantics and quaternion signs, for random rotations."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation as SR

from imu.core.rotation import Rotation

TOL = 1e-12
N = 500


def _quats(n: int = N, seed: int = 0) -> np.ndarray:
    """Random non-unit quaternions of both signs, with some special ones: identity, 180 deg
    turns (w = 0), tiny angles, negative w."""
    q = np.random.default_rng(seed).normal(size=(n, 4)) * 3.0
    q[0] = [0, 0, 0, 1]
    q[1] = [0, 0, 0, -2]
    q[2] = [1, 0, 0, 0]
    q[3] = [0, -1, 0, 0]
    q[4] = [0, 0, -1, 0]
    q[5] = [1e-5, -2e-5, 3e-6, 1]
    q[6] = [1e-5, -2e-5, 3e-6, -1]
    q[7] = [0.3, -0.2, 0.5, 0.0]
    return q


def _pair(q: np.ndarray) -> tuple[Rotation, SR]:
    return Rotation.from_quat(q), SR.from_quat(q)


def _same(a: np.ndarray, b: np.ndarray, tol: float = TOL) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=0, atol=tol)


@pytest.fixture(params=["stack", "single", "stack-of-one"])
def rots(request: pytest.FixtureRequest) -> tuple[Rotation, SR]:
    q = _quats()
    return _pair({"stack": q, "single": q[9], "stack-of-one": q[9:10]}[request.param])


def test_from_quat_as_quat(rots: tuple[Rotation, SR]) -> None:
    r, s = rots
    assert r.single == s.single
    np.testing.assert_array_equal(r.as_quat(), s.as_quat())  # bit for bit, the stored sign
    np.testing.assert_array_equal(r.as_quat(canonical=True), s.as_quat(canonical=True))
    np.testing.assert_array_equal(r.as_quat(scalar_first=True), s.as_quat(scalar_first=True))
    q = _quats()
    np.testing.assert_array_equal(
        Rotation.from_quat(q, scalar_first=True).as_quat(),
        SR.from_quat(q, scalar_first=True).as_quat(),
    )


def test_quaternion_sign_is_kept_and_canonical_flips() -> None:
    r = Rotation.from_quat([0.0, 0.0, 0.0, -1.0])
    np.testing.assert_array_equal(r.as_quat(), [0, 0, 0, -1])
    np.testing.assert_array_equal(r.as_quat(canonical=True), [0, 0, 0, 1])
    r = Rotation.from_quat([[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0]])
    np.testing.assert_array_equal(r.as_quat(canonical=True), [[0, 1, 0, 0], [0, 0, 1, 0]])


def test_as_matrix_as_rotvec_magnitude(rots: tuple[Rotation, SR]) -> None:
    r, s = rots
    np.testing.assert_array_equal(r.as_matrix(), s.as_matrix())
    _same(r.as_rotvec(), s.as_rotvec())
    _same(r.as_rotvec(degrees=True), s.as_rotvec(degrees=True), 1e-10)
    _same(r.magnitude(), s.magnitude())


@pytest.mark.parametrize("seq", ["xyz", "ZXY", "zyx", "XYZ", "zxz", "YXY"])
def test_euler(rots: tuple[Rotation, SR], seq: str) -> None:
    r, s = rots
    q = _quats()[8:]  # not the gimbal-locked specials
    r, s = _pair(q if not r.single else q[3])
    _same(r.as_euler(seq), s.as_euler(seq))
    _same(r.as_euler(seq, degrees=True), s.as_euler(seq, degrees=True), 1e-10)
    angles = np.random.default_rng(2).uniform(-3, 3, size=(N, 3))
    for a in (angles, angles[0], angles[:1]):
        got, ref = Rotation.from_euler(seq, a), SR.from_euler(seq, a)
        assert got.single == ref.single
        np.testing.assert_array_equal(got.as_quat(), ref.as_quat())


@pytest.mark.parametrize(
    "angles", [0.3, -2.0, [0.3], [[0.3], [1.2]], np.linspace(-3, 3, 7)[:, None]]
)
def test_from_euler_one_axis(angles: object) -> None:
    for seq in ("z", "X", "y"):
        got, ref = Rotation.from_euler(seq, angles), SR.from_euler(seq, angles)
        assert got.single == ref.single
        np.testing.assert_array_equal(got.as_quat(), ref.as_quat())
    got = Rotation.from_euler("zy", [30, 40], degrees=True)
    np.testing.assert_array_equal(
        got.as_quat(), SR.from_euler("zy", [30, 40], degrees=True).as_quat()
    )


def test_from_matrix_cases_and_signs() -> None:
    """Markley's cases (trace or each diagonal element largest), near-orthogonal matrices (the
    SVD step), single and stacked: the same quaternions, signs included."""
    q = _quats()
    m = SR.from_quat(q).as_matrix()
    m_noisy = m + np.random.default_rng(3).normal(scale=1e-9, size=m.shape)
    for mats in (m, m_noisy, m[0], m[2], m[3], m[4], m_noisy[10], m[:1]):
        got, ref = Rotation.from_matrix(mats), SR.from_matrix(mats)
        assert got.single == ref.single
        np.testing.assert_array_equal(got.as_quat(), ref.as_quat())
    for mats in (m, m[5]):
        np.testing.assert_array_equal(
            Rotation.from_matrix(mats, assume_valid=True).as_quat(),
            SR.from_matrix(mats, assume_valid=True).as_quat(),
        )
    with pytest.raises(ValueError, match="determinant"):
        Rotation.from_matrix(-np.eye(3))


def test_from_rotvec(rots: tuple[Rotation, SR]) -> None:
    _, s = rots
    v = s.as_rotvec()
    v_small = v * 1e-4  # the Taylor branch
    for vec in (v, v_small):
        got, ref = Rotation.from_rotvec(vec), SR.from_rotvec(vec)
        assert got.single == ref.single
        _same(got.as_quat(), ref.as_quat())
    _same(
        Rotation.from_rotvec(v, degrees=True).as_quat(), SR.from_rotvec(v, degrees=True).as_quat()
    )


@pytest.mark.parametrize("inverse", [False, True])
def test_apply_shapes_and_values(inverse: bool) -> None:
    q = _quats()
    r, s = _pair(q)
    v = np.random.default_rng(4).normal(size=(N, 3))
    cases = [
        (r, s, v),
        (r, s, v[0]),
        (r, s, v[:1]),
        (r, s, [0.0, 0.0, 1.0]),
        (r[3], s[3], v),
        (r[3], s[3], v[0]),
        (r[3], s[3], v[:1]),
        (r[3:4], s[3:4], v),
        (r[3:4], s[3:4], v[0]),
    ]
    for rr, ss, vv in cases:
        got, ref = rr.apply(vv, inverse=inverse), ss.apply(vv, inverse=inverse)
        assert got.shape == ref.shape
        np.testing.assert_array_equal(got, ref)
    with pytest.raises(ValueError):
        r.apply(v[:3])


@pytest.mark.parametrize("inverse", [False, True])
def test_long_arrays_in_blocks(inverse: bool) -> None:
    """More rotations than one block of the per-sample loops (and not a multiple of it): apply
    (many vectors, one vector) and as_matrix still scipy's bit for bit."""
    q = _quats(20_001, seed=9)
    r, s = _pair(q)
    v = np.random.default_rng(10).normal(size=(len(q), 3))
    np.testing.assert_array_equal(r.apply(v, inverse=inverse), s.apply(v, inverse=inverse))
    np.testing.assert_array_equal(
        r.apply([0.0, 0.0, 1.0], inverse=inverse), s.apply([0.0, 0.0, 1.0], inverse=inverse)
    )
    np.testing.assert_array_equal(r.as_matrix(), s.as_matrix())


@pytest.mark.parametrize("inverse", [False, True])
def test_apply_to_vectors_of_any_memory_layout(inverse: bool) -> None:
    """numpy's einsum (scipy's apply) sums in another order when the vectors are not contiguous
    along their last axis (a matrix column, a Fortran-ordered array): still scipy's bits."""
    r, s = _pair(_quats())
    big = np.random.default_rng(11).normal(size=(2 * N, 6))
    m = np.random.default_rng(12).normal(size=(3, 3))
    layouts = [
        big[:N, :3],
        big[::2, :3],
        big[:N, ::2],
        np.asfortranarray(big[:N, :3]),
        m[:, 1],
        m[1],
        np.broadcast_to(m[1], (N, 3)).copy(),
        big[:N, :3].astype(np.float32),
    ]
    for v in layouts:
        np.testing.assert_array_equal(r.apply(v, inverse=inverse), s.apply(v, inverse=inverse))
        np.testing.assert_array_equal(
            r[4].apply(v, inverse=inverse), s[4].apply(v, inverse=inverse)
        )


def test_inv_and_products() -> None:
    q1, q2 = _quats(seed=0), _quats(seed=1)
    (a, sa), (b, sb) = _pair(q1), _pair(q2)
    np.testing.assert_array_equal(a.inv().as_quat(), sa.inv().as_quat())
    assert a[2].inv().single
    combos = [
        (a, sa, b, sb),
        (a[5], sa[5], b, sb),
        (a, sa, b[7], sb[7]),
        (a[5], sa[5], b[7], sb[7]),
        (a[:1], sa[:1], b, sb),
        (a.inv(), sa.inv(), b, sb),
    ]
    for x, sx, y, sy in combos:
        got, ref = x * y, sx * sy
        assert got.single == ref.single
        np.testing.assert_array_equal(got.as_quat(), ref.as_quat())
    with pytest.raises(ValueError):
        a * b[:3]


def test_products_with_scipy_rotations() -> None:
    """The simulator and the tests hand scipy rotations to the analysis: either order works and
    gives this class, with scipy's numbers."""
    q1, q2 = _quats(seed=0), _quats(seed=1)
    (a, sa), (b, sb) = _pair(q1), _pair(q2)
    for got in (a * sb, sa * b):
        assert isinstance(got, Rotation)
    np.testing.assert_array_equal((a * sb).as_quat(), (sa * sb).as_quat())
    np.testing.assert_array_equal((sa * b).as_quat(), (sa * sb).as_quat())
    np.testing.assert_array_equal((sa[0] * b[1]).as_quat(), (sa[0] * sb[1]).as_quat())
    assert (sa[0] * b[1]).single


def test_indexing_and_len() -> None:
    q = _quats()
    r, s = _pair(q)
    assert len(r) == len(s) == N
    idx = np.random.default_rng(5).integers(0, N, 40)
    mask = np.random.default_rng(6).random(N) < 0.3
    for ix in (3, -1, np.int64(7), slice(10, 50), slice(None, None, 7), idx, mask, [1, 4]):
        got, ref = r[ix], s[ix]
        assert got.single == ref.single
        np.testing.assert_array_equal(got.as_quat(), ref.as_quat())
    with pytest.raises(TypeError):
        len(r[0])
    with pytest.raises(TypeError):
        r[0][0]
    assert len(r[:1]) == 1
    assert [x.as_quat().tolist() for x in r[:3]] == [x.as_quat().tolist() for x in s[:3]]


def test_indexing_a_strided_stack() -> None:
    """A stack over a column-major quaternion array (VQF's, reordered scalar-last) is indexed
    to the same rotations as a C-ordered one: every index kind."""
    q = _quats()
    strided = Rotation.from_quat(np.roll(q, 1, axis=1), scalar_first=True)
    assert not strided._quat.flags.c_contiguous  # the premise: np.take would copy it whole
    r = Rotation.from_quat(q)
    idx = np.random.default_rng(7).integers(0, N, 40)
    for ix in (idx, idx.astype(np.uint32), slice(5, 60, 3), np.arange(N) % 3 == 0, 11):
        np.testing.assert_array_equal(strided[ix].as_quat(), r[ix].as_quat())


def test_mean() -> None:
    q = _quats()[8:]
    r, s = _pair(q)
    for rr, ss in ((r, s), (r[:1], s[:1]), (r[:40], s[:40])):
        got, ref = rr.mean(), ss.mean()
        assert got.single and ref.single
        np.testing.assert_array_equal(got.as_quat(), ref.as_quat())  # the sign eigh gives
    w = np.random.default_rng(7).random(len(q))
    np.testing.assert_array_equal(r.mean(w).as_quat(), s.mean(w).as_quat())
    # a cluster about one orientation, as the analysis averages quiet samples
    c = (
        SR.from_rotvec(np.random.default_rng(8).normal(scale=0.05, size=(300, 3))) * s[3]
    ).as_quat()
    np.testing.assert_array_equal(
        Rotation.from_quat(c).mean().as_quat(), SR.from_quat(c).mean().as_quat()
    )
    with pytest.raises(ValueError):
        r[:0].mean()


def test_identity_concatenate_pickle() -> None:
    np.testing.assert_array_equal(Rotation.identity().as_quat(), SR.identity().as_quat())
    np.testing.assert_array_equal(Rotation.identity(3).as_quat(), SR.identity(3).as_quat())
    assert Rotation.identity().single and not Rotation.identity(3).single
    r, s = _pair(_quats())
    cat = Rotation.concatenate([r[:3], r[7], s[9:12]])
    np.testing.assert_array_equal(cat.as_quat(), SR.concatenate([s[:3], s[7], s[9:12]]).as_quat())
    back = pickle.loads(pickle.dumps(r[:5]))
    np.testing.assert_array_equal(back.as_quat(), r[:5].as_quat())
    assert pickle.loads(pickle.dumps(r[2])).single


def test_as_quat_is_a_copy() -> None:
    r = Rotation.from_quat(_quats())
    q = r.as_quat()
    q[:] = 0.0
    assert np.all(np.isfinite(r.as_matrix())) and r.as_quat()[0, 3] == 1.0


def test_the_analysis_does_not_import_scipy_spatial() -> None:
    code = (
        "import sys, imu.core.rotation, imu.core.frames, imu.pipeline.pelvis; "
        "print(sorted(m for m in sys.modules if m.startswith('scipy.spatial')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
