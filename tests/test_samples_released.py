"""The analysis of a file lets its 200 Hz samples go once the last stage that needs them has
run (issue 12, docs/scale.md): the strength stages run on their ~50 Hz grid, the summary on
the samples' facts (:class:`imu.core.session.SampleFacts`). The results are those of the same
session analysed in memory, bit for bit, including a detected run whose gait stage had been
cropped (it reads the file again)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import imu
import imu.analysis as analysis
from imu.io.rawfile import read_raw
from imu.sim.gait_session import simulate_gait
from imu.sim.workout import simulate_workout


def _same(a: analysis.AnalysisResult, b: analysis.AnalysisResult) -> None:
    assert a.row.keys() == b.row.keys()
    for k in a.row:
        x, y = a.row[k], b.row[k]
        assert x == y or (x != x and y != y), k  # NaN == NaN
    ta, tb = a.arrow_tables(), b.arrow_tables()
    assert ta.keys() == tb.keys()
    for stem in ta:  # bit for bit, NaN equal to NaN (Arrow's equals: NaN != NaN)
        assert ta[stem].schema == tb[stem].schema, stem
        for name in ta[stem].column_names:
            x, y = ta[stem].column(name).to_pylist(), tb[stem].column(name).to_pylist()
            if pa.types.is_floating(ta[stem].schema.field(name).type):
                x, y = (np.array([np.nan if v is None else v for v in z]) for z in (x, y))
                np.testing.assert_array_equal(x, y, err_msg=f"{stem}.{name}")
            else:
                assert x == y, f"{stem}.{name}"
    assert a.warnings == b.warnings


def _alive_when(monkeypatch: pytest.MonkeyPatch, arrays: tuple[str, ...], owner: Any,
                name: str) -> list[bool]:
    """Watch the loaded raw session's ``arrays``: the list gets, when ``owner.name`` is
    called (after a garbage collection), whether each is still held by anyone."""
    refs: list[weakref.ref[np.ndarray]] = []
    alive: list[bool] = []
    load, stage = analysis.s2_load, getattr(owner, name)

    def loaded(source: Any) -> Any:
        raw = load(source)
        refs.extend(weakref.ref(getattr(raw, a)) for a in arrays)
        return raw

    def watched(*args: Any) -> Any:
        gc.collect()
        alive.extend(r() is not None for r in refs)
        return stage(*args)

    monkeypatch.setattr(analysis, "s2_load", loaded)
    monkeypatch.setattr(owner, name, watched)
    return alive


@pytest.fixture(scope="module")
def workout_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = simulate_workout(seed=52, program=[("squat", 6), ("hip_thrust", 6)], start="quiet",
                           standing_s=5.0, warmup_jog_s=0.0, rest_activities=["walk"],
                           rest_s=(40.0, 50.0), sample_rate_hz=100.0, cooldown_walk_s=0.0,
                           reseats=0)
    return sim.write(tmp_path_factory.mktemp("w") / "workout.raw.parquet")


def test_strength_stages_run_without_the_raw_samples(
    workout_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the strength stages run, no one holds the file's 200 Hz arrays any more."""
    alive = _alive_when(monkeypatch, ("t_s", "acc_g", "gyr_dps"), analysis, "s6_strength")
    result = analysis.analyze(workout_file)
    assert result.activity == "strength" and result.row["n_sets"] == 2
    assert len(alive) == 3 and not any(alive)


def test_a_file_and_its_samples_in_memory_give_the_same_result(workout_file: Path) -> None:
    _same(imu.analyze(workout_file), imu.analyze(read_raw(workout_file)))


def test_a_detected_run_reads_its_file_again(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of 70 s, then long standing: the gait stage crops it, the strength stages find no
    set, so the gait stage runs again on every sample, read again from the file."""
    sim = simulate_gait(seed=5, sample_rate_hz=100.0, standing_s=5.0,
                        pattern=[("run", 70.0), ("stand", 200.0)])
    path = sim.write(tmp_path / "run.raw.parquet")
    loads: list[object] = []
    load = analysis.s2_load
    monkeypatch.setattr(analysis, "s2_load", lambda source: loads.append(source) or load(source))
    from_file = analysis.analyze(path)
    assert from_file.activity == "run" and loads == [path, path]
    assert from_file.row["n_samples"] == sim.raw.n_samples
    _same(from_file, imu.analyze(read_raw(path)))


def test_the_session_id_reads_the_samples_in_place() -> None:
    """Without a ``session_id`` in the metadata the id is the SHA-1 of the time and
    acceleration bytes (C order), now read in place: the same id as the joined copies gave."""
    import hashlib

    from imu.core.session import RawSession

    t = np.arange(500) / 100.0
    acc = np.random.default_rng(3).normal(size=(500, 3))
    for a in (acc, np.asfortranarray(acc)):
        want = hashlib.sha1(t.tobytes() + a.tobytes()).hexdigest()[:12]
        raw = RawSession(t, a, None, None, {})
        assert raw.session_id == want == raw.facts().session_id


def test_the_gait_stage_lets_the_gyroscope_go_after_the_side_cues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run from a file: the gait stage has the samples to itself (``release_samples``), so
    the time and the gyroscope are gone by the pelvis angles; the tables are those of the
    same samples analysed in memory (where the caller keeps them)."""
    from imu.pipeline.gait import GaitAnalysis
    from imu.sim.running import simulate_run

    path = simulate_run(duration_s=60.0, sample_rate_hz=100.0, seed=7).write(
        tmp_path / "run.raw.parquet")
    alive = _alive_when(monkeypatch, ("t_s", "gyr_dps"), GaitAnalysis, "_angles")
    from_file = analysis.analyze(path)
    assert from_file.activity == "run" and len(alive) == 2 and not any(alive)
    monkeypatch.undo()
    raw = read_raw(path)
    _same(from_file, imu.analyze(raw))
    assert raw.gyr_dps is not None and raw.gyr_dps.shape[0] == raw.n_samples > 0


def test_a_released_session_holds_no_samples() -> None:
    from imu.core.session import RawSession

    raw = RawSession(np.arange(10.0), np.zeros((10, 3)), np.zeros((10, 3)), np.arange(10),
                     {"session_id": "x"})
    raw.release()
    assert raw.n_samples == 0 and raw.acc_g.shape == (0, 3) and raw.seq is None
    assert raw.gyr_dps is not None and raw.gyr_dps.shape == (0, 3)  # still "has a gyroscope"
    assert raw.session_id == "x"
