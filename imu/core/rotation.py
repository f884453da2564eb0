"""Rotations in numpy alone: the part of ``scipy.spatial.transform.Rotation`` the analysis uses.

Importing scipy's Rotation costs about 0.3 s (it pulls scipy.spatial, sparse and linalg), a
large share of the start-up of ``imu analyze``; this class is a drop-in for the subset the
analysis path needs, with scipy's conventions and its arithmetic:

* quaternions scalar last (``x, y, z, w``; ``scalar_first=True`` for VQF's order), stored as
  given after normalisation (no sign canonicalisation unless ``as_quat(canonical=True)``);
* one rotation ("single") or a stack of them; outputs have scipy's shapes (a single rotation
  applied to a (3,) vector gives (3,), to (N, 3) vectors (N, 3));
* each operation evaluates the same floating-point expressions in the same order as scipy's
  Cython backend (scipy 1.17), so results agree bit for bit with scipy's (tests/test_rotation.py
  checks most bit for bit, the rotation vectors and Euler angles to 1e-12); ``from_matrix``
  is Markley's method choosing the largest of the trace and the diagonal, as scipy's;
* a product with a scipy Rotation (either side) gives this class: the simulator and the tests
  may pass scipy rotations into the analysis (anything with ``as_quat()`` is accepted).

Not covered: N-d stacks of rotations, ``__setitem__``, Davenport/MRP conversions, ``random``,
``align_vectors``, ``__pow__``, ``reduce``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

_AXIS = {"x": 0, "y": 1, "z": 2}
_BLOCK = 8192
"""Rotations per block in the per-sample loops: a block's temporaries stay in the CPU cache."""
_CONJUGATE = np.array([-1.0, -1.0, -1.0, 1.0])


def _normalized(q: Array, out: Array | None = None) -> Array:
    """Rows of (N, 4) ``q`` over their norms, ``sqrt(x*x + y*y + z*z + w*w)`` summed left to
    right as scipy does (in blocks of the cache's size), into ``out`` (may be ``q``)."""
    n = len(q)
    out = np.empty((n, 4)) if out is None else out
    t, u = np.empty(min(n, _BLOCK)), np.empty(min(n, _BLOCK))
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        qb, ub = q[a:b], u[: b - a]
        norm = np.multiply(qb[:, 0], qb[:, 0], out=t[: b - a])
        for k in (1, 2, 3):
            norm += np.multiply(qb[:, k], qb[:, k], out=ub)
        np.sqrt(norm, out=norm)
        if not norm.all():
            raise ValueError("Found zero norm quaternions in `quat`.")
        np.divide(qb, norm[:, None], out=out[a:b])
    return out


def _compose(p: Array, q: Array) -> Array:
    """Hamilton products ``p * q`` of (N, 4) or (1, 4) scalar-last quaternions, in scipy's order
    of evaluation (``imu.core.frames.quat_mul`` is the simulator's, pinned by its golden data)."""
    p0, p1, p2, p3 = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    q0, q1, q2, q3 = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    n = max(len(p), len(q))
    out = np.empty((n, 4))
    out[:, 0] = p3 * q0 + q3 * p0 + (p1 * q2 - p2 * q1)
    out[:, 1] = p3 * q1 + q3 * p1 + (p2 * q0 - p0 * q2)
    out[:, 2] = p3 * q2 + q3 * p2 + (p0 * q1 - p1 * q0)
    out[:, 3] = p3 * q3 - p0 * q0 - p1 * q1 - p2 * q2
    return out


def _canonical(q: Array) -> Array:
    """Copy of ``q`` with each quaternion's sign chosen so that w > 0 (ties broken by x, y, z
    in turn), as scipy's ``as_quat(canonical=True)``."""
    x, y, z, w = np.ascontiguousarray(q.T)
    flip = (w < 0) | ((w == 0) & ((x < 0) | ((x == 0) & ((y < 0) | ((y == 0) & (z < 0))))))
    return np.where(flip[:, None], -q, q)


def _matrix_rows(q: Array, out: list[Array], t: Array) -> list[Array]:
    """Rotation matrix elements of (B, 4) unit quaternions into the nine (B,) arrays ``out``
    (element (i, j) in ``out[3 i + j]``; views allowed), with scipy's expressions in its order;
    ``t``: a (B,) scratch array."""
    x, y, z, w = np.ascontiguousarray(q.T)
    x2, y2, z2, w2 = x * x, y * y, z * z, w * w
    np.subtract(x2, y2, out=t)  # m00 = x2 - y2 - z2 + w2
    t -= z2
    np.add(t, w2, out=out[0])
    np.negative(x2, out=t)  # m11 = -x2 + y2 - z2 + w2
    t += y2
    t -= z2
    np.add(t, w2, out=out[4])
    np.negative(x2, out=t)  # m22 = -x2 - y2 + z2 + w2
    t -= y2
    t += z2
    np.add(t, w2, out=out[8])
    ab, cd = x2, y2  # the squares are no longer needed
    for a, b, c, d, plus, minus in (
        (x, y, z, w, 3, 1),  # m10 = 2 (xy + zw), m01 = 2 (xy - zw)
        (x, z, y, w, 2, 6),  # m02 = 2 (xz + yw), m20 = 2 (xz - yw)
        (y, z, x, w, 7, 5),  # m21 = 2 (yz + xw), m12 = 2 (yz - xw)
    ):
        np.multiply(a, b, out=ab)
        np.multiply(c, d, out=cd)
        np.add(ab, cd, out=t)
        np.multiply(t, 2, out=out[plus])
        np.subtract(ab, cd, out=t)
        np.multiply(t, 2, out=out[minus])
    return out


def _matrices(q: Array) -> Array:
    """(N, 3, 3) rotation matrices of (N, 4) scalar-last unit quaternions, as scipy's."""
    n = len(q)
    m = np.empty((n, 3, 3))
    t = np.empty(min(n, _BLOCK))
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        mb = m[a:b].reshape(b - a, 9)
        _matrix_rows(q[a:b], [mb[:, k] for k in range(9)], t[: b - a])
    return m


def _apply_many(q: Array, v: Array, inverse: bool) -> Array:
    """Each of (N, 4) quaternions applied to its row of (N, 3) vectors, or all to one (1, 3).

    Without the (N, 3, 3) matrices, in blocks, but with the sums of scipy's
    ``einsum("ijk,ik->ij", m, v)`` rounded as numpy's einsum rounds them, so that the results
    are scipy's bit for bit: (m_j0 v0 + m_j2 v2) + m_j1 v1 when both the matrices and the
    vectors are contiguous along k (scipy's matrices are, their transposes for ``inverse`` are
    not), else in order (tests/test_rotation.py checks both against scipy)."""
    n = len(q)
    pairwise = not inverse and v.strides[-1] == v.itemsize
    out = np.empty((n, 3))
    rows = np.empty((9, min(n, _BLOCK)))
    res = np.empty((3, min(n, _BLOCK)))  # the first two terms
    t = np.empty(min(n, _BLOCK))
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        m = _matrix_rows(q[a:b], list(rows[:, : b - a]), t[: b - a])
        vb = np.ascontiguousarray(v[a:b].T) if len(v) > 1 else v.T
        r, tb = res[:, : b - a], t[: b - a]
        for j in range(3):
            # element (j, k) of the matrices, or of their transposes
            mk = [m[k * 3 + j] if inverse else m[j * 3 + k] for k in range(3)]
            k0, k1, k2 = (0, 2, 1) if pairwise else (0, 1, 2)
            np.multiply(mk[k0], vb[k0], out=r[j])
            np.multiply(mk[k1], vb[k1], out=tb)
            r[j] += tb
            np.multiply(mk[k2], vb[k2], out=tb)
            np.add(r[j], tb, out=out[a:b, j])
    return out


def _quat_from_orthogonal(m: Array) -> Array:
    """Unit quaternions of (N, 3, 3) orthogonal matrices: Markley's method (2008), the case of
    the largest of the diagonal elements and the trace (the first on ties), as scipy."""
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    decision = np.stack([m[:, 0, 0], m[:, 1, 1], m[:, 2, 2], trace], axis=1)
    choice = np.argmax(decision, axis=1)
    q = np.empty((len(m), 4))
    for i in range(3):  # the three diagonal cases (vectorised over their rotations)
        j, k = (i + 1) % 3, (i + 2) % 3
        s = choice == i
        ms = m[s]
        q[s, i] = 1 - trace[s] + 2 * ms[:, i, i]
        q[s, j] = ms[:, j, i] + ms[:, i, j]
        q[s, k] = ms[:, k, i] + ms[:, i, k]
        q[s, 3] = ms[:, k, j] - ms[:, j, k]
    s = choice == 3
    ms = m[s]
    q[s, 0] = ms[:, 2, 1] - ms[:, 1, 2]
    q[s, 1] = ms[:, 0, 2] - ms[:, 2, 0]
    q[s, 2] = ms[:, 1, 0] - ms[:, 0, 1]
    q[s, 3] = 1 + trace[s]
    return _normalized(q)


def _as_quat_of(r: Any) -> tuple[Array, bool]:
    """(N, 4) quaternions and the single flag of this class or anything with ``as_quat()``
    (a scipy Rotation)."""
    if isinstance(r, Rotation):
        return r._quat, r._single
    q = np.asarray(r.as_quat(), dtype=float)
    return np.atleast_2d(q), q.ndim == 1


class Rotation:
    """Rotations in 3-d, one or a stack of them (module docstring). Build with the ``from_``
    methods, :meth:`identity` or :meth:`concatenate`; immutable."""

    __slots__ = ("_quat", "_single")

    def __init__(self, quat: Array, single: bool) -> None:
        # Internal: (N, 4) unit quaternions, taken as they are.
        self._quat = quat
        self._single = single

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_quat(
        cls, quat: ArrayLike, *, scalar_first: bool = False, copy: bool = True
    ) -> Rotation:
        """From (4,) or (N, 4) quaternions (scalar last unless ``scalar_first``); normalised.
        ``copy=False``: a float64 (N, 4) scalar-last array is normalised in place and kept (no
        second copy of a long recording's orientation)."""
        q = np.asarray(quat, dtype=float)
        if q.ndim not in (1, 2) or q.shape[-1] != 4:
            raise ValueError(f"Expected `quat` to have shape (4,) or (N, 4), got {q.shape}.")
        single = q.ndim == 1
        q = np.atleast_2d(q)
        if scalar_first:  # the reordered copy is this rotation's own: normalised in place
            q = q[:, [1, 2, 3, 0]]
            return cls(_normalized(q, out=q) if len(q) else q, single)
        if not copy and len(q) and q is quat and q.flags.writeable:
            return cls(_normalized(q, out=q), single)
        return cls(_normalized(q) if len(q) else q.copy(), single)

    @classmethod
    def from_matrix(cls, matrix: ArrayLike, *, assume_valid: bool = False) -> Rotation:
        """From (3, 3) or (N, 3, 3) rotation matrices; as scipy, a matrix whose Gram matrix is
        not the identity within 1e-12 is first made orthogonal (U V^T of its SVD); a
        non-positive determinant is an error."""
        m = np.array(matrix, dtype=float)
        if m.ndim not in (2, 3) or m.shape[-2:] != (3, 3):
            raise ValueError(f"Expected `matrix` to have shape (3, 3) or (N, 3, 3), got {m.shape}.")
        single = m.ndim == 2
        m = m.reshape(-1, 3, 3)
        if not assume_valid:
            dets = np.linalg.det(m)
            if np.any(dets <= 0):
                ind = int(np.flatnonzero(dets <= 0)[0])
                raise ValueError(
                    "Non-positive determinant (left-handed or null coordinate frame) in "
                    f"rotation matrix {ind}: {m[ind]}."
                )
            gram = m @ np.transpose(m, (0, 2, 1))
            bad = np.flatnonzero(~np.all(np.isclose(gram, np.eye(3), atol=1e-12), axis=(1, 2)))
            if len(bad):
                u, _, vt = np.linalg.svd(m[bad])
                m[bad] = u @ vt
        return cls(_quat_from_orthogonal(m), single)

    @classmethod
    def from_rotvec(cls, rotvec: ArrayLike, degrees: bool = False) -> Rotation:
        """From (3,) or (N, 3) rotation vectors (axis times angle, radians unless ``degrees``)."""
        v = np.asarray(rotvec, dtype=float)
        if degrees:
            v = np.deg2rad(v)
        if v.ndim not in (1, 2) or v.shape[-1] != 3:
            raise ValueError(f"Expected `rot_vec` to have shape (3,) or (N, 3), got {v.shape}.")
        single = v.ndim == 1
        v = np.atleast_2d(v)
        angle = np.sqrt(v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1] + v[:, 2] * v[:, 2])
        small = angle <= 1e-3
        angle2 = angle * angle
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(
                small, 0.5 - angle2 / 48 + angle2 * angle2 / 3840, np.sin(angle / 2) / angle
            )
        q = np.empty((len(v), 4))
        q[:, :3] = scale[:, None] * v
        q[:, 3] = np.cos(angle / 2)
        return cls(q, single)

    @classmethod
    def from_euler(cls, seq: str, angles: ArrayLike, degrees: bool = False) -> Rotation:
        """From Euler angles about 1 to 3 axes: ``seq`` lower case for extrinsic (fixed axes),
        upper case for intrinsic rotations, as scipy; ``angles`` scalar, (k,), or (N, k)."""
        n_axes = len(seq)
        if not 1 <= n_axes <= 3:
            raise ValueError(
                f"Expected axis specification to be a non-empty string of upto 3 "
                f"characters, got {seq}"
            )
        intrinsic = re.match(r"^[XYZ]{1,3}$", seq) is not None
        if not (intrinsic or re.match(r"^[xyz]{1,3}$", seq) is not None):
            raise ValueError(
                f"Expected axes from `seq` to be from ['x', 'y', 'z'] or ['X', 'Y', 'Z'], got {seq}"
            )
        if any(seq[i] == seq[i + 1] for i in range(n_axes - 1)):
            raise ValueError(f"Expected consecutive axes to be different, got {seq}")
        a = np.asarray(angles, dtype=float)
        if a.ndim > 2:
            raise ValueError("Expected `angles` of at most 2 dimensions.")
        if degrees:
            a = np.deg2rad(a)
        single = a.ndim < 2
        a = np.atleast_2d(a)
        if a.shape[1] != n_axes:
            raise ValueError(
                "Expected last dimension of `angles` to match number of sequence "
                f"axes specified, got {a.shape[1]}."
            )

        def elementary(axis: str, angle: Array) -> Array:
            q = np.zeros((len(angle), 4))
            q[:, 3] = np.cos(angle / 2)
            q[:, _AXIS[axis]] = np.sin(angle / 2)
            return q

        seq = seq.lower()
        q = elementary(seq[0], a[:, 0])
        for i in range(1, n_axes):
            e = elementary(seq[i], a[:, i])
            q = _compose(q, e) if intrinsic else _compose(e, q)
        return cls(q[:1] if single else q, single)

    @classmethod
    def identity(cls, num: int | None = None) -> Rotation:
        """The identity, single (``num`` None) or ``num`` of them."""
        q = np.zeros((1 if num is None else num, 4))
        q[:, 3] = 1.0
        return cls(q, num is None)

    @classmethod
    def concatenate(cls, rotations: Rotation | Iterable[Any]) -> Rotation:
        """One stack of the given rotations (single or stacks), in order."""
        if isinstance(rotations, Rotation):
            return cls(rotations._quat.copy(), False)
        return cls(np.concatenate([_as_quat_of(r)[0] for r in rotations]), False)

    # -- representations ------------------------------------------------------------------------
    def _out(self, a: Array) -> Array:
        return a[0] if self._single else a

    def as_quat(self, canonical: bool = False, *, scalar_first: bool = False) -> Array:
        """Quaternions (scalar last unless ``scalar_first``), as stored unless ``canonical``
        (w >= 0); (4,) or (N, 4)."""
        q = _canonical(self._quat) if canonical else self._quat.copy()
        if scalar_first:
            q = q[:, [3, 0, 1, 2]]
        return self._out(q)

    def as_matrix(self) -> Array:
        """Rotation matrices, (3, 3) or (N, 3, 3)."""
        return self._out(_matrices(self._quat))

    def as_rotvec(self, degrees: bool = False) -> Array:
        """Rotation vectors (angle in [0, pi] times the axis; radians unless ``degrees``)."""
        q = _canonical(self._quat)
        norm3 = np.sqrt(q[:, 0] * q[:, 0] + q[:, 1] * q[:, 1] + q[:, 2] * q[:, 2])
        angle = 2 * np.arctan2(norm3, q[:, 3])
        small = angle <= 1e-3
        angle2 = angle * angle
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(
                small, 2 + angle2 / 12 + 7 * angle2 * angle2 / 2880, angle / np.sin(angle / 2)
            )
        v = scale[:, None] * q[:, :3]
        if degrees:
            v = np.rad2deg(v)
        return self._out(v)

    def as_euler(self, seq: str, degrees: bool = False) -> Array:
        """Euler angles for a 3-axis ``seq`` (lower case extrinsic, upper case intrinsic), as
        scipy (Bernardes and Viollet 2022); at gimbal lock the third angle is set to zero and a
        warning issued."""
        if len(seq) != 3:
            raise ValueError(f"Expected 3 axes, got {seq}.")
        extrinsic = re.match(r"^[xyz]{1,3}$", seq) is not None
        if not (extrinsic or re.match(r"^[XYZ]{1,3}$", seq) is not None):
            raise ValueError(
                f"Expected axes from `seq` to be from ['x', 'y', 'z'] or ['X', 'Y', 'Z'], got {seq}"
            )
        if any(seq[i] == seq[i + 1] for i in range(2)):
            raise ValueError(f"Expected consecutive axes to be different, got {seq}")
        seq = seq.lower()
        if not extrinsic:
            seq = seq[::-1]
        i, j, k = _AXIS[seq[0]], _AXIS[seq[1]], _AXIS[seq[2]]
        symmetric = i == k
        if symmetric:
            k = 3 - i - j
        sign = (i - j) * (j - k) * (k - i) // 2
        q = self._quat
        if symmetric:
            a, b, c, d = q[:, 3], q[:, i], q[:, j], q[:, k] * sign
        else:
            a = q[:, 3] - q[:, j]
            b = q[:, i] + q[:, k] * sign
            c = q[:, j] + q[:, 3]
            d = q[:, k] * sign - q[:, i]
        first, third = (0, 2) if extrinsic else (2, 0)
        angles = np.empty((len(q), 3))
        angles[:, 1] = 2 * np.arctan2(np.hypot(c, d), np.hypot(a, b))
        case = np.where(
            np.abs(angles[:, 1]) <= 1e-7, 1, np.where(np.abs(angles[:, 1] - np.pi) <= 1e-7, 2, 0)
        )
        half_sum, half_diff = np.arctan2(b, a), np.arctan2(d, c)
        angles[:, first] = half_sum - half_diff
        angles[:, third] = half_sum + half_diff
        degenerate = case != 0
        angles[degenerate, 2] = 0.0
        angles[case == 1, 0] = 2 * half_sum[case == 1]
        angles[case == 2, 0] = 2 * half_diff[case == 2] * (-1 if extrinsic else 1)
        if not symmetric:
            angles[:, third] *= sign
            angles[:, 1] -= np.pi / 2
        angles = np.where(
            angles < -np.pi,
            angles + 2 * np.pi,
            np.where(angles > np.pi, angles - 2 * np.pi, angles),
        )
        if degenerate.any():
            warnings.warn(
                "Gimbal lock detected. Setting third angle to zero since it is not "
                "possible to uniquely determine all angles.",
                stacklevel=2,
            )
        if degrees:
            angles = np.rad2deg(angles)
        return self._out(angles)

    def magnitude(self) -> Any:
        """Rotation angles in [0, pi] (radians): a numpy float for a single rotation, else (N,)."""
        q = self._quat
        norm3 = np.sqrt(q[:, 0] * q[:, 0] + q[:, 1] * q[:, 1] + q[:, 2] * q[:, 2])
        return self._out(2 * np.arctan2(norm3, np.abs(q[:, 3])))

    # -- operations -------------------------------------------------------------------------------
    def apply(self, vectors: ArrayLike, inverse: bool = False) -> Array:
        """Rotate (3,) or (N, 3) ``vectors`` (by the inverse rotations if ``inverse``); one
        rotation and many vectors, many and one, or as many of each. A single rotation and a
        (3,) vector give (3,), anything else (N, 3)."""
        v = np.asarray(vectors, dtype=float)
        if v.ndim not in (1, 2) or v.shape[-1] != 3:
            raise ValueError(f"Expected input of shape (3,) or (N, 3), got {v.shape}.")
        single_vector = v.ndim == 1
        v = np.atleast_2d(v)
        n_v, n_r = len(v), len(self._quat)
        if n_v != 1 and n_r != 1 and n_v != n_r:
            raise ValueError(f"Cannot broadcast {n_r} rotations to {n_v} vectors.")
        if n_r > 1:
            out = _apply_many(self._quat, v, inverse)
        else:
            m = _matrices(self._quat)
            if inverse:
                m = np.swapaxes(m, -1, -2)
            if n_v == 1:
                out = np.matmul(m, v[0])
            else:
                # scipy's call (a matmul with these axes), so that the sums round as scipy's do
                out = np.matmul(m, v, axes=[(-2, -1), (-1, -2), (-1, -2)])[0]
        return out[0] if self._single and single_vector else out

    def inverse_z(self, rows: slice = slice(None)) -> Array:
        """``apply([0, 0, 1], inverse=True)`` of (the ``rows`` of) a stack of rotations, (N, 3):
        the bottom rows of the matrices, bit for bit, computed alone (not the nine elements)."""
        q = self._quat[rows]
        n = len(q)
        out = np.empty((n, 3))
        t, u = np.empty(min(n, _BLOCK)), np.empty(min(n, _BLOCK))
        for a in range(0, n, _BLOCK):
            b = min(a + _BLOCK, n)
            x, y, z, w = (q[a:b, k] for k in range(4))
            o, tb, ub = out[a:b], t[: b - a], u[: b - a]
            np.multiply(x, z, out=tb)  # m20 = 2 (xz - yw)
            tb -= np.multiply(y, w, out=ub)
            np.multiply(tb, 2, out=o[:, 0])
            np.multiply(y, z, out=tb)  # m21 = 2 (yz + xw)
            tb += np.multiply(x, w, out=ub)
            np.multiply(tb, 2, out=o[:, 1])
            np.multiply(x, x, out=tb)  # m22 = -x2 - y2 + z2 + w2
            np.negative(tb, out=tb)
            tb -= np.multiply(y, y, out=ub)
            tb += np.multiply(z, z, out=ub)
            np.add(tb, np.multiply(w, w, out=ub), out=o[:, 2])
            # apply adds the other rows times zero first: the same bits but where an element
            # is zero (its sign) or NaN; those rows (or a product underflowing) as apply does
            np.multiply(o[:, 0], o[:, 1], out=tb)
            tb *= o[:, 2]
            odd = np.flatnonzero(~(np.abs(tb, out=tb) > 0.0))
            if odd.size:
                o[odd] = _apply_many(q[a:b][odd], np.array([[0.0, 0.0, 1.0]]), True)
        return out

    def inv(self) -> Rotation:
        """The inverse rotations."""
        return Rotation(self._quat * _CONJUGATE, self._single)

    def __mul__(self, other: Any) -> Rotation:
        """Composition ``self * other`` (``other`` first, then ``self``): one and many
        broadcast; ``other`` may be a scipy Rotation."""
        if not (isinstance(other, Rotation) or hasattr(other, "as_quat")):
            return NotImplemented
        q, single = _as_quat_of(other)
        return _product(self._quat, self._single, q, single)

    def __rmul__(self, other: Any) -> Rotation:
        """``other * self`` for a scipy Rotation ``other`` (whose product declines this class)."""
        if not hasattr(other, "as_quat"):
            return NotImplemented
        q, single = _as_quat_of(other)
        return _product(q, single, self._quat, self._single)

    def mean(self, weights: ArrayLike | None = None) -> Rotation:
        """The (weighted) mean rotation: the eigenvector of the largest eigenvalue of
        sum w q q^T (Markley et al. 2007), with the sign numpy's eigh gives, as scipy."""
        q = self._quat
        if len(q) == 0:
            raise ValueError("Mean of an empty rotation set is undefined.")
        if weights is None:
            w = np.ones(len(q))
        else:
            w = np.asarray(weights)
            if np.any(w < 0):
                raise ValueError("`weights` must be non-negative.")
            if w.ndim != 1:
                raise ValueError(f"Expected `weights` to be 1 dimensional, got {w.shape}.")
            if w.shape[0] != len(q):
                raise ValueError(
                    "Expected `weights` to have number of values equal to number "
                    f"of rotations, got {w.shape[0]} values and {len(q)} rotations."
                )
        k = np.dot(w * q.T, q)
        _, vecs = np.linalg.eigh(k)
        return Rotation(vecs[:, -1][None, :], True)

    # -- container ------------------------------------------------------------------------------
    @property
    def single(self) -> bool:
        """Whether this is one rotation (not a stack, even of one)."""
        return self._single

    def __len__(self) -> int:
        if self._single:
            raise TypeError("Single rotation has no len().")
        return len(self._quat)

    def __getitem__(self, indexer: Any) -> Rotation:
        """An int gives a single rotation; a slice, an int or bool array a stack (views where
        numpy gives them: rotations are immutable)."""
        if self._single:
            raise TypeError("Single rotation is not subscriptable.")
        if (isinstance(indexer, np.ndarray) and indexer.dtype.kind in "iu"
                and self._quat.flags.c_contiguous):  # np.take copies a strided array whole
            q = np.take(self._quat, indexer, axis=0)
        else:
            q = self._quat[indexer]
        return Rotation(q[None, :], True) if q.ndim == 1 else Rotation(q, False)

    def __repr__(self) -> str:
        return f"Rotation.from_quat({self.as_quat()!r})".replace("\n", "")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Rotation, (self._quat, self._single))


def _product(p: Array, p_single: bool, q: Array, q_single: bool) -> Rotation:
    if not (len(p) == 1 or len(q) == 1 or len(p) == len(q)):
        raise ValueError(
            f"Expected equal number of rotations in both or a single rotation in "
            f"either object, got {len(p)} rotations in first and {len(q)} "
            "rotations in second object."
        )
    return Rotation(_normalized(_compose(p, q)), p_single and q_single)
