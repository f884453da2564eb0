"""Many sessions through :func:`imu.analyze_many` (issue 12): locally and on a Dask cluster the
same job writes the same tables, byte for byte; a failed session is an outcome, not a crash;
without Dask, ``--dask`` is one line naming the extra."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster

import imu
from imu.batch import Outcome, dask_client
from imu.cli import main
from imu.core.errors import InputError
from imu.sim import simulate

N_SESSIONS = 20


@pytest.fixture(scope="module")
def raws(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """20 short sessions of every kind: bridges, hip thrusts, deadlifts, runs (seeds < 1000)."""
    folder = tmp_path_factory.mktemp("raw")
    paths = []
    for k in range(N_SESSIONS):
        if k % 4 == 3:
            sim = simulate("run", duration_s=25, sample_rate_hz=100, seed=300 + k,
                           warmup_walk_s=4, cooldown_walk_s=4)
        else:
            exercise = ("glute_bridge", "hip_thrust", "deadlift")[k % 4]
            sim = simulate("strength", exercise=exercise, n_sets=1, reps_per_set=3,
                           sample_rate_hz=100, seed=300 + k, walking=False, rest_s=(5, 6))
        paths.append(sim.write(folder / f"s{k:02d}.raw.parquet"))
    return paths


def _tables(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.glob("session=*/*.parquet"))}


def test_dask_cluster_writes_the_tables_of_the_local_run(raws: list[Path], tmp_path: Path) -> None:
    local, remote = tmp_path / "local", tmp_path / "dask"
    here = imu.analyze_many(raws, local, jobs=1)
    assert [o.path for o in here] == [str(p) for p in raws]  # input order
    assert all(o.ok for o in here), [o.error for o in here if not o.ok]

    seen: list[Outcome] = []
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        there = imu.analyze_many(raws, remote, client=client, on_outcome=seen.append)
    assert all(o.ok for o in there), [o.error for o in there if not o.ok]
    assert [o.path for o in there] == [str(p) for p in raws]
    assert len(seen) == N_SESSIONS  # each reported as it completed
    workers = {o.worker for o in there}
    assert len(workers) == 2 and all(w.startswith("tcp://") for w in workers)
    assert [o.line for o in there] == [o.line for o in here]

    a, b = _tables(local), _tables(remote)
    assert len({k.split("/")[0] for k in a}) == N_SESSIONS
    assert any(k.endswith("reps.parquet") for k in a) and any(k.endswith("steps.parquet")
                                                              for k in a)
    assert a.keys() == b.keys()
    for name in a:
        x, y = pq.ParquetFile(a[name]), pq.ParquetFile(b[name])
        # the footers: provenance (version, parameters, session metadata), schema, statistics
        assert x.schema_arrow.metadata == y.schema_arrow.metadata, name
        assert x.metadata.to_dict() == y.metadata.to_dict(), name
        assert x.read().equals(y.read(), check_metadata=True), name
        assert a[name].read_bytes() == b[name].read_bytes(), name


def test_a_failed_session_is_an_outcome_and_the_others_are_written(
    raws: list[Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.raw.parquet"
    broken.write_bytes(b"not parquet")
    with LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        outs = imu.analyze_many([raws[0], broken, raws[3]], tmp_path / "out", client=client)
    assert [o.ok for o in outs] == [True, False, True]
    assert outs[1].input_error and "broken.raw.parquet" in outs[1].path and outs[1].error
    assert len(list((tmp_path / "out").glob("session=*/summary.parquet"))) == 2


def test_cli_dask_local(raws: list[Path], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert main(["analyze", *map(str, raws[:2]), "--out", str(out), "--dask", "local",
                 "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert "Dask cluster: 1 workers" in captured.err
    assert captured.out.count("ok ") == 2 and "2 of 2 sessions analysed" in captured.out


def test_without_dask_the_option_names_the_extra(
    raws: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    status = main(["analyze", str(raws[0]), "--out", str(tmp_path / "o"), "--dask", "local"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("imu: error: --dask needs")
    assert "pip install 'imu[dask]'" in err
    assert not (tmp_path / "o").exists()


def test_unreachable_scheduler_is_an_input_error() -> None:
    with pytest.raises(InputError, match="--dask tcp://127.0.0.1:9: cannot reach a Dask"):
        with dask_client("tcp://127.0.0.1:9", timeout="1s"):
            pass


def test_bad_options_fail_before_any_work(raws: list[Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="placement"):
        imu.analyze_many(raws, tmp_path / "o", placement="knee")
    assert not (tmp_path / "o").exists()
