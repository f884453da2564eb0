"""The session store: session=<id> folders written whole, provenance footers, reading back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from imu.core.errors import InputError
from imu.core.version import __version__
from imu.io.atomic import umask_mode
from imu.io.store import (
    SESSION_DIR_PREFIX,
    SessionTables,
    provenance,
    read_session,
    session_dir,
    write_session,
)


def _tables() -> dict[str, pd.DataFrame]:
    summary = pd.DataFrame([{"session_id": "s1", "activity": "strength", "n_reps": 2}])
    reps = pd.DataFrame({"set": [1, 1], "rep": [1, 2], "tilt_deg": [np.float64(1.5), -0.5]})
    return {"summary": summary, "reps": reps}


def test_write_and_read_back(tmp_path: Path) -> None:
    prov = provenance({"placement": "sacrum", "offset": np.array([0.1, 0.0, 0.0])},
                      {"session_id": "s1", "path": tmp_path})
    folder = write_session(tmp_path, "s1", _tables(), prov)
    assert folder == session_dir(tmp_path, "s1") == tmp_path / f"{SESSION_DIR_PREFIX}s1"
    assert sorted(p.name for p in folder.iterdir()) == ["reps.parquet", "summary.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert folder.stat().st_mode & 0o777 == umask_mode(0o777)
    for path in folder.iterdir():
        footer = pq.ParquetFile(path).metadata.metadata
        row_key = {b"imu.row"} if path.name == "summary.parquet" else set()
        assert set(footer) == {b"ARROW:schema", b"imu"} | row_key  # no pandas block
        meta = json.loads(footer[b"imu"])
        assert meta == {
            "package_version": __version__,
            "parameters": {"placement": "sacrum", "offset": [0.1, 0.0, 0.0]},
            "session": {"session_id": "s1", "path": str(tmp_path)},
        }
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    back = read_session(folder)
    assert isinstance(back, SessionTables)
    assert back.activity == "strength" and back.summary["n_reps"] == 2
    pd.testing.assert_frame_equal(back["reps"], _tables()["reps"])
    assert back["steps"].empty
    assert back.meta["parameters"]["placement"] == "sacrum"


def test_only_text_columns_are_dictionary_encoded(tmp_path: Path) -> None:
    """Measured numbers rarely repeat: a dictionary is tried on the text columns only (on an
    hour's 25 Hz series it tripled the writing time for the same file)."""
    folder = write_session(tmp_path, "s1", _tables(), provenance({}, {}))
    for stem, text in (("summary", {"session_id", "activity"}), ("reps", set())):
        meta = pq.ParquetFile(folder / f"{stem}.parquet").metadata
        for i in range(meta.num_columns):
            col = meta.row_group(0).column(i)
            assert col.has_dictionary_page == (col.path_in_schema in text), col.path_in_schema


def test_rewrite_replaces_the_folder_whole(tmp_path: Path) -> None:
    write_session(tmp_path, "s1", _tables(), provenance({}, {}))
    only_summary = {"summary": _tables()["summary"]}
    folder = write_session(tmp_path, "s1", only_summary, provenance({}, {}))
    assert [p.name for p in folder.iterdir()] == ["summary.parquet"]


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    bad = {"summary": _tables()["summary"], "reps": pd.DataFrame({"x": [object()]})}
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error type
        write_session(tmp_path, "s1", bad, provenance({}, {}))
    assert list(tmp_path.iterdir()) == []


def test_pandas_footer_block_kept_on_request(tmp_path: Path) -> None:
    folder = write_session(tmp_path, "s1", _tables(), provenance({}, {}),
                           keep_pandas_metadata=True)
    footer = pq.ParquetFile(folder / "reps.parquet").metadata.metadata
    assert set(footer) == {b"ARROW:schema", b"imu", b"pandas"}


def test_out_must_be_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="--out exists and is not a directory"):
        write_session(f, "s1", _tables(), provenance({}, {}))


def test_reading_a_non_session_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such session folder"):
        read_session(tmp_path / "nope")
    with pytest.raises(InputError, match="no summary.parquet"):
        read_session(tmp_path)
    (tmp_path / "summary.parquet").write_bytes(b"PAR1 junk")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_session(tmp_path)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; {code}; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True,
    )
    return set(out.stdout.split())


def test_top_level_api_is_lazy() -> None:
    loaded = _modules_after("import imu")
    assert not {"imu.analysis", "imu.io.store", "numpy", "pandas"} & loaded
    loaded = _modules_after("import imu; imu.read_session")
    assert "imu.io.store" in loaded and "imu.analysis" not in loaded


def test_cli_help_stays_light() -> None:
    loaded = _modules_after("import imu.cli; imu.cli.build_parser()")
    assert not {"pandas", "scipy", "pyarrow", "imu.analysis"} & loaded
