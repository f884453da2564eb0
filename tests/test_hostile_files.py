"""Hostile and careless raw files (issue 10, findings 1, 2, 8 and 9): nothing is written outside
``--out``, memory stays bounded whatever the file claims, every problem is one line and exit
status 2, and unit slips are errors instead of confident nonsense.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_runner import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imu
from imu.core.errors import InputError
from imu.core.options import IDENTIFIER_MAX_LEN, check_identifier, check_option
from imu.core.plausibility import MAX_GAP_S, max_span_samples
from imu.core.session import RawSession
from imu.io.rawfile import from_dataframe, read_raw
from imu.io.store import inside, session_dir, write_session
from imu.pipeline.signals import uniform_grid
from imu.sim import simulate

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = ROOT / "fixtures" / "demo" / "bridge_session.raw.parquet"


def run_cli(*args: str, limit_as: int | None = None) -> subprocess.CompletedProcess[str]:
    """``imu ARGS``: in this process (fast), or in a child under an address-space limit."""
    if limit_as is None:
        code, out, err = cli(*args)
        return subprocess.CompletedProcess(args, code, out, err)

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))

    return subprocess.run([sys.executable, "-m", "imu.cli", *args], capture_output=True,
                          text=True, timeout=180, cwd=ROOT, preexec_fn=limits)


def one_line_exit_2(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imu: error:"), proc.stderr
    assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def bridge() -> pa.Table:
    return pq.read_table(BRIDGE)


def with_meta(table: pa.Table, path: Path, **changes: object) -> Path:
    meta = json.loads(table.schema.metadata[b"imu"])
    meta.update(changes)
    pq.write_table(table.replace_schema_metadata({b"imu": json.dumps(meta)}), path)
    return path


def with_frame(table: pa.Table, path: Path, df: pd.DataFrame) -> Path:
    out = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(out.replace_schema_metadata(table.schema.metadata), path)
    return path


# ---- finding 1: identifiers become paths --------------------------------------------------


@pytest.mark.parametrize(
    "session_id",
    ["x/../../victim", "../victim", "..", ".hidden", "a\x00b", "a" * 129, "a/b", "tab\there",
     "new\nline", "é", ""],
)
def test_session_id_from_a_file_never_escapes_out(
    bridge: pa.Table, tmp_path: Path, session_id: str
) -> None:
    out = tmp_path / "out"
    (out / "session=x").mkdir(parents=True)  # what made x/../../victim reach the victim
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep me")
    raw = with_meta(bridge, tmp_path / "evil.raw.parquet", session_id=session_id)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    proc = run_cli("analyze", str(raw), "--out", str(out), "--quiet")
    if session_id == "":  # empty: no id at all, the samples' hash names the folder
        assert proc.returncode == 0, proc.stderr
        assert [p.name for p in out.iterdir() if p.name != "session=x"][0].startswith("session=")
        return
    one_line_exit_2(proc, "session_id")
    assert (victim / "precious").read_text() == "keep me"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_session_name_of_imu_record_never_escapes_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("record", "--virtual", "bridge", "--out", str(out), "--session-name",
                   "../x", "--quiet")
    one_line_exit_2(proc, "--session-name")
    assert not (tmp_path / "x.raw.parquet").exists()
    assert not list(tmp_path.rglob("*.parquet"))


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=140))
def test_identifier_rule_accepts_only_plain_names(text: str) -> None:
    """Whatever the text: accepted names are plain (no separator, no dot start, no '..', the
    documented characters, bounded length) and their folder is a child of the root."""
    try:
        name = check_identifier("session id", text)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert name == text and 1 <= len(name) <= IDENTIFIER_MAX_LEN
    assert name[0].isalnum() and ".." not in name and "/" not in name and "\\" not in name
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    root = Path("/tmp/root")
    folder = session_dir(root, name)
    assert folder.parent == root and (root / folder.name).resolve().parent == root.resolve()


def test_store_refuses_a_symlinked_session_folder(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("x")
    (out / "session=s1").symlink_to(elsewhere)
    with pytest.raises(InputError, match="outside"):
        write_session(out, "s1", {"summary": pd.DataFrame({"a": [1]})}, {})
    assert (elsewhere / "keep").exists()
    with pytest.raises(InputError):
        inside(out, out / ".." / "x")


# ---- finding 2: a time jump must not allocate gigabytes ------------------------------------


def test_a_116_day_jump_is_one_line_within_bounded_memory(bridge: pa.Table,
                                                          tmp_path: Path) -> None:
    df = bridge.to_pandas()
    df.loc[len(df) // 2:, "t_s"] += 116 * 86400.0
    raw = with_frame(bridge, tmp_path / "jump.raw.parquet", df)
    assert raw.stat().st_size < 2_000_000
    # 1.5 GB of address space: the interpreter and the analysis fit, 23 GB of grid does not
    proc = run_cli("analyze", str(raw), "--out", str(tmp_path / "out"), "--quiet",
                   limit_as=1_500_000_000)
    one_line_exit_2(proc, "jumps by 116.0 days")
    assert not (tmp_path / "out").exists()


def test_many_small_gaps_cannot_add_up_to_a_huge_span(bridge: pa.Table) -> None:
    df = bridge.to_pandas().iloc[:4000].copy()
    df["t_s"] = np.arange(len(df)) * (MAX_GAP_S * 0.9)  # every gap allowed, the span not
    df.attrs["imu"] = {}
    with pytest.raises(InputError, match="not one session|gives"):
        from_dataframe(df)


def test_uniform_grid_is_bounded_by_the_sample_count() -> None:
    t = np.array([0.0, 0.005, 1e7])
    with pytest.raises(InputError, match="mostly gaps"):
        uniform_grid(t, np.zeros((3, 1)), 200.0)
    t = np.arange(1000) / 200.0
    t[500:] += 60.0  # a one-minute link loss is fine
    grid, x = uniform_grid(t, np.zeros((1000, 1)), 200.0)
    assert len(grid) <= max_span_samples(1000, 200.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gaps=st.lists(st.tuples(st.integers(1, 1998), st.floats(0.0, 1e9)), max_size=4))
def test_random_time_jumps_are_either_accepted_within_bounds_or_one_error(
    gaps: list[tuple[int, float]],
) -> None:
    n, rate = 2000, 100.0
    t = np.arange(n) / rate
    for i, jump in gaps:
        t[i:] += jump
    acc = np.tile([0.0, 0.0, 1.0], (n, 1)) + np.random.default_rng(1).normal(0, 0.002, (n, 3))
    df = pd.DataFrame({"t_s": t, "acc_x_g": acc[:, 0], "acc_y_g": acc[:, 1],
                       "acc_z_g": acc[:, 2]})
    df.attrs["imu"] = {"sample_rate_hz": rate}
    try:
        raw = from_dataframe(df)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    span = (raw.t_s[-1] - raw.t_s[0]) * rate
    assert span <= max_span_samples(n, rate)
    assert np.diff(raw.t_s).max() <= MAX_GAP_S


# ---- finding 8: tracebacks from files become one line --------------------------------------


def test_timestamp_typed_time_column(bridge: pa.Table, tmp_path: Path) -> None:
    df = bridge.to_pandas()
    df["t_s"] = pd.to_datetime(df["t_s"], unit="s")
    proc = run_cli("analyze", str(with_frame(bridge, tmp_path / "ts.raw.parquet", df)),
                   "--out", str(tmp_path / "out"))
    one_line_exit_2(proc, "t_s holds timestamps")


def test_non_utf8_and_deeply_nested_metadata(bridge: pa.Table, tmp_path: Path) -> None:
    bad = tmp_path / "bad.raw.parquet"
    pq.write_table(bridge.replace_schema_metadata({b"imu": b'{"session_id": "\xff\xfe"}'}), bad)
    one_line_exit_2(run_cli("analyze", str(bad), "--out", str(tmp_path / "o")), "not UTF-8")
    deep = tmp_path / "deep.raw.parquet"
    nested = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    pq.write_table(bridge.replace_schema_metadata({b"imu": nested}), deep)
    one_line_exit_2(run_cli("analyze", str(deep), "--out", str(tmp_path / "o")),
                    "nested too deeply")
    assert not (tmp_path / "o").exists()


def still(n: int = 3000, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {"t_s": np.arange(n) / 100.0}
    for i, a in enumerate("xyz"):
        cols[f"acc_{a}_g"] = float(i == 2) + rng.normal(0, noise, n)
        cols[f"gyr_{a}_dps"] = rng.normal(0, noise * 50, n)
    df = pd.DataFrame(cols)
    df.attrs["imu"] = {"sample_rate_hz": 100.0}
    return df


def test_a_perfectly_still_recording_is_one_line_and_a_noisy_one_analyses_to_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "still.raw.parquet"
    still().to_parquet(path)
    one_line_exit_2(run_cli("analyze", str(path), "--out", str(tmp_path / "o")),
                    "samples are identical")
    for activity in ("strength", "run", "auto"):
        result = imu.analyze(still(noise=0.002), activity=activity)
        assert int(result.summary["n_reps"].iloc[0]) == 0 and result.sets.empty
        assert result.steps.empty


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(noise=st.sampled_from([0.0, 1e-9, 1e-6, 1e-3]), seed=st.integers(0, 50),
       activity=st.sampled_from(["strength", "run", "auto"]))
def test_still_recordings_never_traceback(noise: float, seed: int, activity: str) -> None:
    try:
        result = imu.analyze(still(n=1500, noise=noise, seed=seed), activity=activity)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert int(result.summary["n_reps"].iloc[0]) == 0


def test_output_paths_that_are_folders_or_files(tmp_path: Path) -> None:
    folder, afile = tmp_path / "exists", tmp_path / "afile"
    folder.mkdir()
    afile.write_text("x")
    out = tmp_path / "sessions"
    assert run_cli("analyze", str(BRIDGE), "--out", str(out), "--quiet").returncode == 0
    session = next(out.glob("session=*"))
    one_line_exit_2(run_cli("report", str(session), "--out", str(folder)), "is a folder")
    one_line_exit_2(run_cli("trends", str(out), "--out", str(folder)), "is a folder")
    one_line_exit_2(run_cli("trends", str(out), "--plot", str(afile)), "is not a folder")
    one_line_exit_2(run_cli("simulate", "--out", str(folder)), "is a folder")
    one_line_exit_2(run_cli("simulate", "--out", str(afile / "x.raw.parquet")), "not a folder")
    assert not any(folder.iterdir()) and afile.read_text() == "x"


# ---- finding 9: confident nonsense becomes an error -----------------------------------------


def test_unit_slips_in_the_file_are_named(bridge: pa.Table, tmp_path: Path) -> None:
    df = bridge.to_pandas()
    cases = {
        "rate": (with_meta(bridge, tmp_path / "rate.raw.parquet", sample_rate_hz=100),
                 "sample_rate_hz 100 disagrees with t_s"),
        "ms": (with_frame(bridge, tmp_path / "ms.raw.parquet", df.assign(t_s=df.t_s * 1000)),
               "t_s looks like milliseconds"),
        "rad": (with_frame(bridge, tmp_path / "rad.raw.parquet", df.assign(
            gyr_x_dps=np.radians(df.gyr_x_dps), gyr_y_dps=np.radians(df.gyr_y_dps),
            gyr_z_dps=np.radians(df.gyr_z_dps))), "angular rate looks like rad/s"),
        "ms2": (with_frame(bridge, tmp_path / "ms2.raw.parquet", df.assign(
            acc_x_g=df.acc_x_g * 9.80665, acc_y_g=df.acc_y_g * 9.80665,
            acc_z_g=df.acc_z_g * 9.80665)), "acceleration looks like m/s^2"),
        "bool": (with_frame(bridge, tmp_path / "bool.raw.parquet", df.assign(
            acc_x_g=df.acc_x_g > 0, acc_y_g=df.acc_y_g > 0, acc_z_g=df.acc_z_g > 0)),
            "acc_x_g holds booleans"),
    }
    for path, needle in cases.values():
        one_line_exit_2(run_cli("analyze", str(path), "--out", str(tmp_path / "o"), "--quiet"),
                        needle)
    assert not (tmp_path / "o").exists()


def test_running_in_rad_per_s_is_named_too() -> None:
    sim = simulate("run", duration_s=20.0, seed=11, sample_rate_hz=100.0)
    raw = sim.raw
    bad = RawSession(raw.t_s, raw.acc_g, np.radians(raw.gyr_dps), raw.seq, dict(raw.meta))
    with pytest.raises(InputError, match="rad/s"):
        imu.analyze(bad)


def test_a_fast_run_is_not_refused_as_implausible() -> None:
    """Half of every stride in flight: the median |acceleration| of a fast run is far below
    1 g (0.29 g over 100 minutes at 5.1 m/s), its mean is not; and its ten-fold is m/s^2."""
    raw = simulate("run", duration_s=240.0, seed=12, placement="sacrum", speed_m_s=5.1,
                   warmup_walk_s=2.0, cooldown_walk_s=2.0, standing_s=1.0).raw
    magnitude = np.linalg.norm(raw.acc_g, axis=1)
    assert np.median(magnitude) < 0.5 < 0.9 < np.mean(magnitude)
    raw.ensure_plausible()  # no InputError
    tenfold = RawSession(raw.t_s, raw.acc_g * 9.80665, raw.gyr_dps, raw.seq, dict(raw.meta))
    with pytest.raises(InputError, match="m/s\\^2"):
        tenfold.ensure_plausible()


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--trunk-length-m", "50", "centimetres"),
        ("--trunk-length-m", "true", "expected a number"),
        ("--trunk-length-m", "1e308", "0.2-1.2 m"),
        ("--trunk-length-m", "0.05", "0.2-1.2 m"),
        ("--sensor-offset-m", "100,0,0", "more than 0.5 m"),
    ],
)
def test_option_ranges_on_the_command_line(option: str, value: str, needle: str,
                                           tmp_path: Path) -> None:
    proc = run_cli("analyze", str(BRIDGE), "--out", str(tmp_path / "o"), option, value)
    one_line_exit_2(proc, needle)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [("trunk_length_m", 50), ("trunk_length_m", True), ("trunk_length_m", 1e308),
     ("sensor_offset_m", (100, 0, 0)), ("sensor_offset_m", (True, 0, 0))],
)
def test_option_ranges_in_the_library_and_the_metadata(name: str, value: object,
                                                       bridge: pa.Table,
                                                       tmp_path: Path) -> None:
    with pytest.raises(InputError):
        check_option(name, value)
    with pytest.raises(InputError):
        imu.analyze(str(BRIDGE), **{name: value})
    if name == "trunk_length_m":
        path = with_meta(bridge, tmp_path / "t.raw.parquet", trunk_length_m=value)
        with pytest.raises(InputError, match="trunk length"):
            read_raw(path)


def test_started_at_must_be_a_date(bridge: pa.Table, tmp_path: Path) -> None:
    path = with_meta(bridge, tmp_path / "s.raw.parquet", started_at=12345)
    one_line_exit_2(run_cli("analyze", str(path), "--out", str(tmp_path / "o")),
                    "started_at 12345 is not an ISO 8601")


def test_the_real_recordings_and_the_fixtures_pass_every_check() -> None:
    """The checks must not refuse honest data: the demo fixtures and, when present beside the
    repository, every real recording (their units, rates, gaps and seq are all plausible)."""
    paths = sorted((ROOT / "fixtures" / "demo").glob("*.raw.parquet"))
    realdata = Path(os.environ.get("IMU_REALDATA", ROOT.parent / "shared" / "realdata"))
    paths += sorted(realdata.glob("*/*.raw.parquet"))
    assert paths
    for p in paths:
        read_raw(p)
