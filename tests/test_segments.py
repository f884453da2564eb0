"""A long workout cut in the middle of still rests into segments analysed alone
(imu/pipeline/segments.py, analysis.analyze_segmented; docs/scale.md): where the cuts go, the
segments cover the session once, and the tables are those of one piece."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imu.analysis import analyze, analyze_segmented
from imu.core.arrow import column
from imu.core.options import check_options
from imu.io.rawfile import read_raw, write_raw
from imu.io.rawscan import peek_raw
from imu.pipeline.segments import MIN_QUIET_S, Segmenter
from imu.sim import simulate

FS = 100


def _rows(seconds: list[tuple[float, bool]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows at ``FS``: stretches of (duration, still) -- still: noise only; else turning."""
    rng = np.random.default_rng(3)
    n = int(sum(d for d, _ in seconds) * FS)
    acc = np.tile([0.0, 0.0, 1.0], (n, 1)) + rng.normal(0, 0.002, (n, 3))
    gyr = rng.normal(0, 0.5, (n, 3))
    at = 0
    for d, still in seconds:
        m = int(d * FS)
        if not still:
            gyr[at : at + m, 0] += 60.0 * np.sin(np.arange(m) / FS * 2 * np.pi)
            acc[at : at + m, 2] += 0.3 * np.sin(np.arange(m) / FS * 2 * np.pi)
        at += m
    return np.arange(n) / FS, acc, gyr


def _cut(seconds: list[tuple[float, bool]], segment_s: float) -> tuple[list[int], list[int]]:
    t, acc, gyr = _rows(seconds)
    got: list[int] = []
    s = Segmenter(FS, t.size, segment_s, lambda tt, a, g: got.append(tt.size))
    for a in range(0, t.size, 997):  # batches of any size
        s.add(t[a : a + 997], acc[a : a + 997], gyr[a : a + 997])
    s.finish()
    assert sum(got) == t.size  # every row in one segment
    return s.cuts_, got


def test_cuts_go_in_the_middle_of_the_still_rest_nearest_each_multiple() -> None:
    moving, still = (False, True)
    plan = [(500, moving), (60, still), (520, moving), (40, still), (200, moving),
            (90, still), (700, moving)]
    cuts, sizes = _cut(plan, 600.0)
    # the rests: 500-560 s, 1080-1120 s, 1320-1410 s; multiples 600, 1200, 1800
    assert cuts == [530 * FS, 1100 * FS]
    assert len(sizes) == 3


def test_no_cut_without_a_long_enough_rest() -> None:
    plan = [(590, False), (MIN_QUIET_S - 5, True), (700, False)]
    cuts, sizes = _cut(plan, 600.0)
    assert cuts == [] and sizes == [sum(int(d * FS) for d, _ in plan)]


@pytest.fixture(scope="module")
def workout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-hour workout of all exercises at 100 Hz (2 segments of 30 min)."""
    sim = simulate("workout", preset="hour_all_exercises", seed=46, sample_rate_hz=100.0)
    path = tmp_path_factory.mktemp("segments") / "hour.raw.parquet"
    write_raw(path, sim.raw)
    return path


def test_a_long_workout_in_segments_gives_the_tables_of_one_piece(workout: Path) -> None:
    res = analyze(workout)  # from the file: in segments
    cuts = res.parameters["segments"]["cuts_s"]
    assert len(cuts) == 1 and abs(cuts[0] - 1800.0) <= 300.0
    one = analyze(read_raw(workout))  # in memory: one piece
    assert "segments" not in one.parameters
    for stem in ("sets", "reps"):
        assert res.arrow[stem].num_rows == one.arrow[stem].num_rows > 20, stem
    for c in ("exercise", "reps", "set"):
        assert np.array_equal(column(res.arrow["sets"], c), column(one.arrow["sets"], c)), c
    assert np.abs(column(res.arrow["sets"], "start_s", float)
                  - column(one.arrow["sets"], "start_s", float)).max() < 0.05
    assert np.array_equal(column(res.arrow["reps"], "set"), column(one.arrow["reps"], "set"))
    # the second segment goes on with the first's neutral: the same pelvis angles (its own
    # rests' neutral: a median 0.14 deg apart on this workout)
    a = column(res.arrow["reps"], "pelvis_angle_deg", float)
    b = column(one.arrow["reps"], "pelvis_angle_deg", float)
    assert np.nanmax(np.abs(a - b)) < 0.5 and np.nanmedian(np.abs(a - b)) < 0.1
    assert set(res.row) == set(one.row)
    for k in ("session_id", "n_sets", "n_reps", "activity", "mounting_changes", "placement",
              "calibration"):
        assert res.row[k] == one.row[k], k
    assert abs(res.row["walk_steps"] - one.row["walk_steps"]) <= 3
    for stem, table in one.arrow_tables().items():
        assert res.arrow_tables()[stem].schema == table.schema, stem


def test_a_workout_shorter_than_a_segment_is_one_piece(workout: Path) -> None:
    given = check_options("auto", None, None, None, None)
    assert analyze_segmented(workout, given, peek_raw(workout), segment_s=7200.0) is None


def test_a_carried_neutral_is_the_first_mountings() -> None:
    """``carried_up``: the first mounting's neutral, whatever the segment's own rests say;
    the later mountings keep theirs."""
    from imu.pipeline.bouts import Runs
    from imu.pipeline.neutral import NeutralCalibration

    fs, n = 50.0, 6000
    up = np.array([[0.0, 0.1, 0.995]])
    quiet = Runs(start=np.array([100]), end=np.array([400]), up=up / np.linalg.norm(up),
                 acc_norm_g=np.array([1.0]), spread_deg=np.array([0.5]),
                 gait=np.array([""], dtype=object))
    none = Runs()
    own = NeutralCalibration().calibrate(quiet, none, n, fs)
    carried = NeutralCalibration(carried_up=(0.0, 0.0, 1.0)).calibrate(quiet, none, n, fs)
    assert np.allclose(own.segments_.up[0], up[0] / np.linalg.norm(up[0]))
    assert np.allclose(carried.segments_.up[0], [0.0, 0.0, 1.0])
    assert carried.segments_.source[0] == own.segments_.source[0] != "none"


def test_a_fault_inside_a_segment_is_not_blamed_on_the_file(
        workout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The segments are analysed inside the file's scan, whose reader errors become "not a
    readable Parquet file": an Arrow error of the analysis must stay the analysis's."""
    import pyarrow as pa

    import imu.analysis as analysis
    from imu.core.errors import InputError

    def broken(*_: object, **__: object) -> None:
        raise pa.ArrowInvalid("a bug")

    monkeypatch.setattr(analysis.long, "s4_sensor", broken)
    with pytest.raises(RuntimeError, match="segment analysis failed") as err:
        analyze(workout)
    assert not isinstance(err.value, InputError)
