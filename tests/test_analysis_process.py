"""The ``imu analyze FILE --out DIR`` process never imports pandas or scipy (issue 12: 0.3 s and
46 MB of start-up; docs/scale.md). Run as the user runs it, in a process of its own, with
``-X importtime``: every module the process imported is listed on stderr."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
HEAVY = ("pandas", "scipy")


def imported(stderr: str) -> set[str]:
    """Top-level packages named in ``-X importtime`` output."""
    out = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            out.add(name.split(".")[0])
    return out


@pytest.mark.parametrize("name", ["bridge_session", "run_session"])
def test_analyze_process_imports_no_pandas(tmp_path: Path, name: str) -> None:
    """A simulated strength session and a run: the report is printed, the tables written,
    and neither pandas nor scipy was ever imported."""
    raw = shutil.copy(DEMO / f"{name}.raw.parquet", tmp_path / f"{name}.raw.parquet")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "imu.cli", "analyze", str(raw),
         "--out", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrote" in proc.stdout and any(out.glob("session=*/summary.parquet"))
    names = imported(proc.stderr)
    assert "numpy" in names and "pyarrow" in names  # the listing is complete
    heavy = sorted(set(HEAVY) & names)
    assert not heavy, f"the imu analyze process imported {', '.join(heavy)}"


WRITE_AND_REPORT = """
import sys


class NoPandas:  # any import of pandas fails
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pandas":
            raise ImportError("pandas is not to be imported")


sys.meta_path.insert(0, NoPandas())
import pyarrow.parquet as pq
from imu.core import arrow
from imu.io.store import provenance, write_session
from imu.render.terminal import render_tables
stored = sys.argv[1]
tables = {}
for stem in ("sets", "reps", "steps"):
    t = pq.ParquetFile(f"{stored}/{stem}.parquet").read()
    # as a pipeline hands it on: NaN, not null
    tables[stem] = arrow.table({c: arrow.values(t.column(c)) for c in t.column_names})
row = {"session_id": "s1", "started_at": "2026-11-27T08:18:00+01:00", "activity": "mixed",
       "exercise": "glute_bridge", "duration_s": 276.0, "n_sets": len(tables["sets"]),
       "n_reps": len(tables["reps"]), "cadence_spm": 170.0, "note": "x", "gyro_present": True}
print(render_tables(row, tables))
from imu.io.store import row_table
tables["summary"] = row_table(row)
write_session(sys.argv[2], "s1", tables, provenance({}, {}))
print("ok" if "pandas" not in sys.modules else "pandas")
"""


def test_writing_and_the_report_need_no_pandas(tmp_path: Path) -> None:
    """The store writes Arrow tables and the terminal report reads them with pandas unable to
    load (the pipelines' part of the process is the test above)."""
    out = subprocess.run(
        [sys.executable, "-c", WRITE_AND_REPORT, str(DEMO.parent.parent / "tests" / "golden"
                                                      / "data" / "demo-bridge"), str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "STRENGTH" in out.stdout and "RUN" in out.stdout and out.stdout.endswith("ok\n")
    assert "2026-11-27 07:18 UTC" in out.stdout
    assert {p.name for p in (tmp_path / "session=s1").iterdir()} == {
        "sets.parquet", "reps.parquet", "steps.parquet", "summary.parquet"}
