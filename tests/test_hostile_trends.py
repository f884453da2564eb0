"""``imu trends`` over a folder with bad sessions in it (issue 10, finding 6): each corrupt,
empty or foreign session folder is left out with one warning, a count at the end, and the
others still make the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_runner import cli

from imu.io.catalog import UnreadableSessionWarning, read_summaries
from imu.sim.month import simulate_month
from imu.trends import compute_trends


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("month")
    simulate_month(root, seed=17, mode="tables")
    return root


def spoil(root: Path) -> dict[str, str]:
    """Five bad session folders next to the good ones; what each warning must say."""
    bad = {}
    (root / "session=corrupt").mkdir()
    (root / "session=corrupt" / "summary.parquet").write_bytes(b"PAR1 not really")
    bad["corrupt"] = "not a readable Parquet file"
    (root / "session=empty").mkdir()
    (root / "session=empty" / "summary.parquet").write_bytes(b"")
    bad["empty"] = "not a readable Parquet file"
    (root / "session=foreign").mkdir()
    pd.DataFrame({"x": [1.0], "y": ["z"]}).to_parquet(root / "session=foreign" / "summary.parquet")
    bad["foreign"] = "not an imu table"
    good = next(p for p in sorted(root.glob("session=*")) if p.name.count("-") == 2)
    two = pd.read_parquet(good / "summary.parquet")
    (root / "session=tworow").mkdir()
    pd.concat([two, two]).to_parquet(root / "session=tworow" / "summary.parquet")
    bad["tworow"] = "has 2 rows, expected 1"
    (root / "session=typed").mkdir()
    pq.write_table(pa.table({"session_id": ["t"], "n_reps": ["twelve"],
                             "started_at": ["2026-01-01T00:00:00Z"]}),
                   root / "session=typed" / "summary.parquet")
    bad["typed"] = "columns of other types"
    return bad


def test_bad_session_folders_are_left_out_one_warning_each(month: Path, tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    shutil.copytree(month, root)
    clean = compute_trends(root, cache=False)
    bad = spoil(root)
    code, out, err = cli("trends", str(root), "--format", "json")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("imu: warning:")]
    assert len(warnings) == len(bad)
    for name, why in bad.items():
        assert sum(f"session={name}" in w and why in w for w in warnings) == 1, (name, err)
    assert err.strip().splitlines()[-1] == (
        f"imu: {len(bad)} session folder(s) left out (see the warnings above)")
    assert json.loads(out) == json.loads(clean.to_json())  # the good sessions, all of them
    assert "Traceback" not in err


def test_a_started_at_that_is_no_date_does_not_block_trends(month: Path, tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    shutil.copytree(month, root)
    first = next(iter(sorted(root.glob("session=*"))))
    t = pq.read_table(first / "summary.parquet")
    i = t.schema.get_field_index("started_at")
    t = t.set_column(i, "started_at", pa.array([12345], pa.int64()))  # what analyze accepted
    pq.write_table(t, first / "summary.parquet")
    with pytest.warns(UnreadableSessionWarning, match="12345"):
        s = read_summaries(root)
    assert s.loc[s["session_dir"] == first.name.split("=", 1)[1], "started_at"].isna().all()
    code, out, err = cli("trends", str(root))
    assert code == 0, err
    assert "12345" in err and "without started_at" in out
