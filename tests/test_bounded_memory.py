"""The blocked and chunked forms that bound the analysis's temporaries (issue 12) give the
numbers of the one-piece forms bit for bit: VQF in chunks, run events in blocks of steps,
pelvis angles in blocks, quaternions normalised in place, and the bouts' released signals."""

from __future__ import annotations

import numpy as np
import pytest
from vqf import BasicVQF

import imu.pipeline.gait_events as gait_events
import imu.pipeline.pelvis as pelvis
import imu.pipeline.running as running
from imu.core.frames import GRAVITY_M_S2
from imu.core.rotation import Rotation
from imu.pipeline.gait_bouts import GaitBouts
from imu.pipeline.gait_events import RunEvents
from imu.sim import simulate_run

FS = 200.0


@pytest.fixture(scope="module")
def run_raw():  # noqa: ANN201 - a RawSession
    return simulate_run(duration_s=60.0, sample_rate_hz=FS, seed=41, placement="left_hip").raw


def test_vqf_in_chunks_is_one_batch(run_raw, monkeypatch) -> None:  # noqa: ANN001
    acc, gyr = run_raw.acc_g, run_raw.gyr_dps
    bias = np.array([0.3, -0.2, 0.1])
    whole = BasicVQF(1.0 / FS).updateBatch(
        np.ascontiguousarray(np.radians(gyr - bias)),
        np.ascontiguousarray(acc * GRAVITY_M_S2))["quat6D"]
    monkeypatch.setattr(running, "VQF_CHUNK", 997)  # chunks that end anywhere
    r, _ = running.vqf_orientation(acc, gyr, FS, bias)
    expected = Rotation.from_quat(whole, scalar_first=True).as_quat()
    assert np.array_equal(r.as_quat(), expected)


def test_from_quat_in_place_only_when_asked() -> None:
    rng = np.random.default_rng(3)
    q = rng.normal(size=(50, 4))
    kept = q.copy()
    copied = Rotation.from_quat(q)
    assert np.array_equal(q, kept)  # the default copies
    inplace = Rotation.from_quat(q, copy=False)
    assert np.array_equal(inplace.as_quat(), copied.as_quat())
    assert np.array_equal(q, copied.as_quat())  # normalised where it was, not copied
    single = np.array([0.0, 0.0, 0.0, 2.0])
    assert np.array_equal(Rotation.from_quat(single, copy=False).as_quat(), [0, 0, 0, 1.0])


def test_run_events_in_blocks_of_steps(run_raw, monkeypatch) -> None:  # noqa: ANN001
    fv = GaitBouts().detect(run_raw.acc_g, FS).fv_
    mask = np.ones(fv.size, dtype=bool)
    one = RunEvents().segment(fv, FS, mask)
    monkeypatch.setattr(gait_events, "ROW_BLOCK", 7)
    blocked = RunEvents().segment(fv, FS, mask)
    assert one.peak_idx_.size > 3 * 7
    for name in ("peak_idx_", "ic_idx_", "to_idx_", "peak_g_", "base_before_g_",
                 "base_after_g_"):
        assert np.array_equal(getattr(one, name), getattr(blocked, name), equal_nan=True), name


def test_pelvis_angles_in_blocks(run_raw, monkeypatch) -> None:  # noqa: ANN001
    r, _ = running.vqf_orientation(run_raw.acc_g, run_raw.gyr_dps, FS)
    mounting = Rotation.from_euler("xyz", [10.0, -20.0, 95.0], degrees=True)
    ref = np.zeros(len(r), dtype=bool)
    ref[1000:7000] = True
    one = running.pelvis_angles(r, mounting, ref)
    # the sagittal angle as it was from the whole (N, 3) earth-up
    zr = running.z_row(r)
    m_inv = mounting.inv().as_matrix()
    assert np.array_equal(one[:, 2], -np.degrees(np.arctan2(-(zr @ m_inv[:, 0]), zr @ m_inv[:, 2])))
    monkeypatch.setattr(running, "ANGLE_BLOCK", 1001)
    assert np.array_equal(running.pelvis_angles(r, mounting, ref), one)
    none = np.zeros(len(r), dtype=bool)  # no reference: every sample is
    assert np.array_equal(running.pelvis_angles(r, mounting, none),
                          running.pelvis_angles(r, mounting, ~none))


def test_pelvis_orientation_angles_in_blocks(run_raw, monkeypatch) -> None:  # noqa: ANN001
    """The strength stages' 25 Hz angles without the orientation kept: block by block, the
    same numbers as from the whole orientation."""
    r, _ = running.vqf_orientation(run_raw.acc_g, run_raw.gyr_dps, FS)
    mounting = Rotation.from_euler("xyz", [10.0, -20.0, 95.0], degrees=True)
    whole = pelvis.PelvisOrientation().estimate(r, mounting, slice(100, 900), FS)
    assert whole.orientation_ is not None
    monkeypatch.setattr(pelvis, "ANGLE_BLOCK", 1001)  # many blocks and a short last one
    assert len(r) % 1001
    blocks = pelvis.PelvisOrientation(keep_orientation=False).estimate(
        r, mounting, slice(100, 900), FS)
    assert blocks.orientation_ is None
    assert np.array_equal(blocks.angles_deg_, whole.angles_deg_)
    assert blocks.heading_rad_ == whole.heading_rad_


def _quaternions(n: int) -> np.ndarray:
    """Random quaternions and special ones (zeros and signed zeros in the matrices)."""
    q = np.random.default_rng(5).normal(size=(n, 4))
    special = [[0, 0, 0, 1], [1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, -0.0], [-0.0, 0, 0, -1],
               [0.5, 0.5, 0.5, 0.5], [-0.5, 0.5, -0.5, 0.5], [1e-170, 0, 1e-170, 1],
               [0, -0.0, -1, 0]]
    q[: len(special)] = special
    q[n // 2 : n // 2 + len(special)] = special
    return q


@pytest.mark.parametrize("n", [20, 8191, 8193, 70_001])
def test_earth_up_block_by_block(monkeypatch, n: int) -> None:  # noqa: ANN001
    """``Rotation.inverse_z`` and the blocked products give the bits of the whole (N, 3)
    earth-up ``z_row`` and of the products on it."""
    r = Rotation.from_quat(_quaternions(n))
    zr = running.z_row(r)
    assert r.inverse_z().tobytes() == zr.tobytes()
    assert r.inverse_z(slice(1, n - 1)).tobytes() == zr[1:-1].tobytes()
    rng = np.random.default_rng(6)
    acc = rng.normal(size=(n, 3))
    mask = rng.random(n) < 0.7
    mask[0] = True
    v = Rotation.from_euler("xyz", [10.0, -20.0, 95.0], degrees=True).as_matrix()[:, 1]
    for block in (65_536, 1001):
        monkeypatch.setattr(running, "ANGLE_BLOCK", block)
        assert running.z_dot(r, v).tobytes() == (zr @ v).tobytes()
        assert running.z_dot(r, v.copy()).tobytes() == (zr @ v.copy()).tobytes()
        fv, up = running.vertical_force(r, acc, mask)
        assert fv.tobytes() == np.einsum("ij,ij->i", zr, acc).tobytes()
        assert up.tobytes() == zr[mask].mean(axis=0).tobytes()
        lever = running.lever_vertical_m_s2(r, v, FS)
        rz = zr @ v
        old = np.empty_like(rz)
        old[1:-1] = (rz[2:] - 2.0 * rz[1:-1] + rz[:-2]) * FS * FS
        old[0], old[-1] = old[1], old[-2]
        if n >= 3:
            assert lever.tobytes() == old.tobytes()
            centre = running.pelvis_centre_fv(acc[:, 0], r, v, FS)
            assert centre.tobytes() == (acc[:, 0] - old / GRAVITY_M_S2).tobytes()


def test_double_integrate_in_place_as_before() -> None:
    from imu.pipeline.dsp import butter_sos, sosfiltfilt

    fv = 1.0 + 0.3 * np.sin(np.arange(20_000) / 15.0) + np.random.default_rng(2).normal(
        scale=0.05, size=20_000)
    sos = butter_sos(2, 0.5, "highpass", fs=FS)
    a = (fv - np.mean(fv)) * GRAVITY_M_S2
    v = sosfiltfilt(sos, np.cumsum(a) / FS)
    old = sosfiltfilt(sos, np.cumsum(v) / FS)
    kept = fv.copy()
    assert running.double_integrate(fv, FS, 0.5).tobytes() == old.tobytes()
    assert np.array_equal(fv, kept)


def test_grid_times_are_the_uniform_grid() -> None:
    from imu.pipeline.signals import grid_times, uniform_grid

    t = 1234.5678 + np.arange(10_000) / FS
    gaps = np.delete(t, np.r_[100:140, 5000:5003])
    for t_in in (t, gaps):
        grid, _ = uniform_grid(t_in, np.zeros((t_in.size, 1)), FS)
        assert grid.tobytes() == grid_times(float(t_in[0]), grid.size, FS).tobytes()


def test_gait_bouts_release_their_signals(run_raw) -> None:  # noqa: ANN001
    gb = GaitBouts().detect(run_raw.acc_g, FS)
    running_before = gb.running_.copy()
    assert gb.release_signals() is gb
    assert not hasattr(gb, "up_") and not hasattr(gb, "fv_")
    assert np.array_equal(gb.running_, running_before) and len(gb.bouts_)


def test_unwrap_in_place_is_numpys_unwrap() -> None:
    rng = np.random.default_rng(8)
    for trial in range(60):
        n = int(rng.integers(1, 2500))
        x = np.cumsum(rng.normal(scale=rng.choice([0.1, 1.0, 3.0]), size=n))
        x = np.mod(x + np.pi, 2 * np.pi) - np.pi
        if trial % 4 == 0:  # jumps of exactly +-pi: numpy's boundary rule
            x[rng.integers(0, n, n // 10)] = rng.choice([np.pi, -np.pi, 0.0])
        ref = np.unwrap(x)
        for block in (1, 2, 7, 100, 5000):
            y = x.copy()
            running.unwrap_in_place(y, block)
            assert y.tobytes() == ref.tobytes(), (trial, block)


def test_analysis_traces_under_200_bytes_a_sample() -> None:
    """The analysis's own memory (numpy data traced beyond the raw samples) at its peak, per
    sample of a 10-minute run at 200 Hz: 155 bytes today, 249 before the gait stage released
    its signals and blocked its temporaries (issue 12). Deterministic (no timing): a change
    that holds another few session-long signals at once fails here."""
    import tracemalloc

    from imu.analysis import analyze

    raw = simulate_run(duration_s=600.0, sample_rate_hz=FS, seed=41, placement="left_hip").raw
    tracemalloc.start()
    try:
        analyze(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / raw.n_samples < 200.0, f"{peak / raw.n_samples:.0f} bytes a sample"
