"""Batch `imu analyze` (several files, a folder, a glob; a process pool; one line per session;
non-zero exit when any failed, the others still written), `imu simulate` ids and --days, and
re-analysis keeping the user's files (issue 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from imu.batch import Outcome, analyze_one, expand_inputs
from imu.cli import main
from imu.core.errors import InputError
from imu.io.store import read_session

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = ROOT / "fixtures" / "demo" / "bridge_session.raw.parquet"


def _sim(tmp: Path, name: str, *extra: str) -> Path:
    out = tmp / f"{name}.raw.parquet"
    argv = ["simulate", "--sets", "1", "--reps", "4", "--no-walking", "--rate-hz", "100",
            "--seed", "7", "--out", str(out), *extra]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def raws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("raws")
    return {
        "bridge": _sim(tmp, "bridge"),
        "thrust": _sim(tmp, "thrust", "--exercise", "hip_thrust"),
        "run": _sim(tmp, "run", "--activity", "run", "--duration-s", "40", "--seed", "8"),
    }


def test_simulate_ids_are_unique_per_content_and_no_silent_overwrite(
    raws: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imu.io.rawfile import read_metadata

    ids = {k: read_metadata(p)["session_id"] for k, p in raws.items()}
    assert len(set(ids.values())) == 3  # same seed, different exercises: different ids
    again = _sim(tmp_path, "again")  # same options and seed: the same session, the same id
    assert read_metadata(again)["session_id"] == ids["bridge"]
    assert main(["simulate", "--out", str(again)]) == 2  # exists: refused, file untouched
    assert "exists; use --force" in capsys.readouterr().err
    assert read_metadata(again)["session_id"] == ids["bridge"]


def test_batch_of_files_folder_and_glob_with_one_bad_file(
    raws: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for p in raws.values():
        shutil.copy(p, folder / p.name)
    (folder / "broken.raw.parquet").write_bytes(b"not parquet at all")
    out = tmp_path / "out"
    status = main(["analyze", str(folder), "--out", str(out), "--jobs", "2"])
    text = capsys.readouterr().out
    assert status == 2  # one failed with bad input; the exit says so
    lines = [ln for ln in text.splitlines() if ln.startswith(("ok ", "FAILED "))]
    assert len(lines) == 4
    assert sum(ln.startswith("ok ") for ln in lines) == 3
    assert any(ln.startswith("FAILED") and "broken.raw.parquet" in ln for ln in lines)
    assert "3 of 4 sessions analysed" in text
    assert len(list(out.glob("session=*/summary.parquet"))) == 3  # the others are written
    assert not list(out.glob("session=*broken*"))
    run_line = next(ln for ln in lines if "run.raw.parquet" in ln)
    assert "steps/min" in run_line

    # a glob and explicit files (one listed twice): same sessions, in-process with --jobs 1
    out2 = tmp_path / "out2"
    pattern = str(folder / "[bt]*.raw.parquet")
    status = main(["analyze", pattern, str(raws["run"]), str(raws["run"]), "--out", str(out2),
                   "--jobs", "1", "--quiet"])
    text = capsys.readouterr().out
    assert status == 2  # broken.raw.parquet matches [bt]* too
    assert text.count("ok ") == 3 and "3 of 4 sessions" in text


def test_expand_inputs_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        expand_inputs([str(tmp_path / "nope.raw.parquet")])
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.raw.parquet")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no \\*.raw.parquet files"):
        expand_inputs([str(tmp_path / "empty")])


def test_duplicate_session_ids_are_not_silently_replaced(
    raws: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.raw.parquet"
    shutil.copy(raws["bridge"], copy)  # same metadata session id, another file
    status = main(["analyze", str(raws["bridge"]), str(copy), "--out", str(tmp_path / "o"),
                   "--jobs", "1"])
    text = capsys.readouterr().out
    assert status == 2
    assert "same session id as" in text and "1 of 2 sessions" in text


def test_analyze_one_is_a_plain_function_returning_an_outcome(tmp_path: Path) -> None:
    o = analyze_one(str(BRIDGE), str(tmp_path), {"exercise": "glute_bridge"})
    assert isinstance(o, Outcome) and o.ok and not o.replaced
    assert "glute bridge, 3 sets, 30 reps" in o.line
    bad = analyze_one(str(tmp_path / "missing.raw.parquet"), str(tmp_path), {})
    assert not bad.ok and bad.input_error and bad.error


def test_reanalysis_keeps_user_files_and_redraws_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s"
    assert main(["analyze", str(BRIDGE), "--out", str(out), "--quiet"]) == 0
    folder = next(out.glob("session=*"))
    assert main(["report", str(folder)]) == 0
    (folder / "notes.txt").write_text("felt strong")
    (folder / "report.html").write_text("old report")
    (folder / "starts.parquet").write_bytes(b"stale table of an older analysis")
    capsys.readouterr()
    assert main(["analyze", str(BRIDGE), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "re-analysed" in text and "notes.txt" in text and "report.html redrawn" in text
    assert (folder / "notes.txt").read_text() == "felt strong"
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert not (folder / "starts.parquet").exists()  # analysis-owned names are replaced
    assert read_session(folder).summary["n_reps"] == 30


def test_simulate_days_then_trends_in_two_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "month"
    assert main(["simulate", "--days", "3", "--start-date", "2027-03-01", "--seed", "5",
                 "--out", str(out), "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "3 of 3 sessions analysed" in text and f"imu trends {out}" in text
    folders = sorted(out.glob("session=*"))
    assert [f.name[8:16] for f in folders] == ["20270301", "20270302", "20270303"]
    assert main(["trends", str(out)]) == 0
    report = capsys.readouterr().out
    assert "3 sessions (2 strength, 1 runs)" in report
    assert "2027-03-01 to 2027-03-03" in report
    # the simulated raw files are there to try `imu analyze` on as well
    assert len(list((out / "raw").glob("*.raw.parquet"))) == 3


def test_simulate_bad_combinations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--start-date", "2027-01-01", "--out",
                 str(tmp_path / "x.raw.parquet")]) == 2
    assert "only applies with --days" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--days", "2", "--start-date", "2027-13-01", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_python_api_at_the_top_level(tmp_path: Path) -> None:
    import imu

    result = imu.analyze(BRIDGE)
    text = repr(result)
    assert len(text) < 400 and len(text.splitlines()) <= 4
    s = result.summary
    assert isinstance(s["started_at"].iloc[0], pd.Timestamp)
    assert str(s["started_at"].dtype) == "datetime64[us, UTC]"
    for col in ("n_sets", "n_reps", "n_samples", "lost_samples", "bridge_reps", "reps_seen"):
        assert s[col].dtype == "int64", col
    assert result.reps["set"].dtype == "int64" and result.reps["form_break"].dtype == bool
    assert "Glute bridge session" in imu.report(result)
    folder = result.write(tmp_path)
    back = imu.read_session(folder)
    assert len(repr(back)) < 400
    assert back["summary"].dtypes.equals(s.dtypes)  # the types survive the file
    sessions = imu.read_sessions(tmp_path)
    assert len(sessions) == 1 and str(sessions["started_at"].dtype).endswith("UTC]")
    report = imu.trends(tmp_path)
    assert report.sessions == 1 and len(repr(report)) < 400
    import imu.trends as trends_package  # the subpackage and the function are one object

    assert trends_package(tmp_path, weeks=1).sessions == 1
