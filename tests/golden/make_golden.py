"""Regenerate the golden data that ``tests/test_golden.py`` compares against, bit for bit.

    PYTHONPATH=. .venv/bin/python tests/golden/make_golden.py            # every case
    PYTHONPATH=. .venv/bin/python tests/golden/make_golden.py CASE ...   # only these cases

DO NOT RE-RUN THIS CASUALLY. The stored data under ``tests/golden/data/`` pins what the code
produces today: the analysis tables of the demo sessions and of one short simulated session per
exercise family, the simulator's raw arrays and ground truth for fixed seeds, and the
``imu trends --format json`` output of a simulated month. Re-run it only deliberately, in a change
whose issue intends to change outputs, and review the diff of the stored data (``git diff
--stat tests/golden/data`` plus the failing items of ``pytest tests/test_golden.py`` from before
the re-run) so that every changed item is one the issue meant to change. A refactoring that is
supposed to keep behaviour must pass ``tests/test_golden.py`` WITHOUT re-running this script.

This module is also the test's library: ``tests/test_golden.py`` imports it and calls
:func:`compute_case`, so the test recomputes every item in-process through exactly the code path
used here. ALL imports of ``imu`` live in the one section below; when modules move, edit only
that section.

Layout of ``tests/golden/data/``: ``MANIFEST.json`` (every item id with its kind, and the library
versions the data was made with) and ``<case>/<item>`` files. Item kinds: ``parquet`` (a Parquet
file, compared as schema + values bit for bit + footer key-value metadata), ``json`` (compared as
parsed JSON; digests of big arrays live in such items), ``text`` (compared exactly), ``bytes``
(exactly). Parquet items are the files the code wrote (e.g. ``imu analyze``'s tables), stored
re-encoded with zstd and byte-stream-split floats to stay small: same schema, values and footer
metadata (checked when storing), so any Parquet reader can diff them against a new output.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.spatial.transform import Rotation

# ==== imu internals: the ONLY imports of imu in the golden suite ==============================
# imu itself only for imu.__file__; besides imu.analyze, imu.cli.main, imu.sim.simulate and
# imu.sim.month.simulate_month the suite uses only attributes of the objects they return:
# AnalysisResult.write(dir); SimSession.write(path), .raw (t_s, acc_g, gyr_dps, seq, meta),
# .recording (t_s, acc_counts, gyr_counts, true_acc_g, true_gyr_dps, acc_lsb_g, gyr_lsb_dps,
# acc_range_g, gyr_range_dps), .truth (summary, sets, reps, steps, pelvis), .mounting and
# .to_dataframe().
import imu
from imu import analyze
from imu.cli import main as imu_cli_main
from imu.sim import simulate
from imu.sim.month import simulate_month

# ===============================================================================================

ROOT = Path(__file__).resolve().parents[2]
"""The repository (worktree) this file belongs to."""
DATA = Path(__file__).resolve().parent / "data"
MANIFEST = DATA / "MANIFEST.json"
DEMO = ROOT / "fixtures" / "demo"

IMU_FILE = str(Path(imu.__file__).resolve())
"""Where the package under test was imported from (shown in failure messages)."""

VERSIONED = ("numpy", "scipy", "pandas", "pyarrow", "vqf")
"""Libraries whose version can change floating-point results; recorded in the manifest."""


@dataclass(frozen=True)
class Item:
    """One pinned output: ``kind`` is parquet (bytes), json (a JSON-able value), text or bytes."""

    kind: str
    data: Any


# ---- helpers ---------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (tuples -> lists, numpy scalars -> Python)."""
    return json.loads(json.dumps(value, default=_json_default, allow_nan=True))


def canonical_json(value: Any) -> str:
    """Canonical text of a JSON-able value: equal values, equal text (NaN included)."""
    return json.dumps(jsonable(value), sort_keys=True, allow_nan=True)


def _sig(x: float) -> float:
    """10 significant digits: summary numbers are for reading a diff, the digest is the pin."""
    return float(f"{x:.10g}")


def digest(a: Any) -> dict[str, Any] | None:
    """SHA-256 of an array's exact bytes (C order) plus dtype, shape and a few summary numbers."""
    if a is None:
        return None
    arr = np.ascontiguousarray(np.asarray(a))
    out: dict[str, Any] = {
        "dtype": arr.dtype.str,
        "shape": list(arr.shape),
        "sha256": hashlib.sha256(arr.tobytes()).hexdigest(),
    }
    if arr.size and arr.dtype.kind in "fiub":
        f = arr.astype(np.float64)
        finite = f[np.isfinite(f)]
        out["n_nonfinite"] = int(f.size - finite.size)
        if finite.size:
            out |= {
                "min": _sig(finite.min()),
                "max": _sig(finite.max()),
                "mean": _sig(finite.mean()),
            }
    return out


def bits_table(table: pa.Table) -> pa.Table:
    """``table`` with every floating-point column replaced by its bit pattern (numpy ``.view``
    as unsigned integers, nulls kept): ``Table.equals`` on these is bit-for-bit equality, with
    NaN equal to the same NaN and -0.0 different from 0.0 (plain ``equals`` has neither)."""
    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_floating(col.type):
            arr = col.combine_chunks()
            valid = arr.is_valid().to_numpy(zero_copy_only=False)
            values = arr.fill_null(0).to_numpy(zero_copy_only=False)
            bits = values.view(f"u{values.dtype.itemsize}")
            cols.append(pa.array(bits, mask=~valid))
        else:
            cols.append(col)
    return pa.table(cols, names=table.column_names)


def footer_metadata(parquet: bytes) -> dict[bytes, bytes]:
    """The Parquet footer's key-value metadata (``imu`` provenance, ``ARROW:schema``, ...)."""
    return dict(pq.ParquetFile(io.BytesIO(parquet)).metadata.metadata or {})


def read_parquet(parquet: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(parquet))


def compact_parquet(parquet: bytes) -> bytes:
    """The same Parquet content re-encoded small for storage (zstd 19, byte-stream-split
    floats): same schema, same values bit for bit, same footer key-value metadata (checked;
    keys of the Parquet footer alone, such as a summary's ``imu.row``, carried over)."""
    table = read_parquet(parquet)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    others = [n for n in table.column_names if n not in floats]
    in_schema = set(table.schema.metadata or {}) | {b"ARROW:schema"}
    footer_only = {k.decode(): v.decode() for k, v in footer_metadata(parquet).items()
                   if k not in in_schema}
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, table.schema, compression="zstd", compression_level=19,
                          use_dictionary=others or False,
                          use_byte_stream_split=floats or False) as writer:
        writer.write_table(table)
        if footer_only:
            writer.add_key_value_metadata(footer_only)
    out = buf.getvalue()
    again = read_parquet(out)
    if not (
        again.schema.equals(table.schema, check_metadata=True)
        and bits_table(again).equals(bits_table(table))
        and footer_metadata(out) == footer_metadata(parquet)
    ):
        raise AssertionError("re-encoding changed the Parquet content")
    return out


def parquet_content_digest(parquet: bytes) -> dict[str, Any]:
    """Rows, columns and one SHA-256 over a Parquet file's content: schema, every column's
    values bit for bit (floats as bit patterns, nulls marked) and the footer key-value metadata
    (JSON values canonical). Independent of the file's encoding and compression."""
    table = bits_table(read_parquet(parquet))
    h = hashlib.sha256()
    h.update(canonical_json([[f.name, str(f.type), f.nullable] for f in table.schema]).encode())
    for name in table.column_names:
        col = table[name].combine_chunks()
        h.update(col.is_valid().to_numpy(zero_copy_only=False).tobytes())
        if pa.types.is_integer(col.type):
            h.update(col.fill_null(0).to_numpy(zero_copy_only=False).tobytes())
        else:
            h.update(json.dumps(col.to_pylist(), default=repr).encode())
    footer = {
        k.decode(): _maybe_json(v)
        for k, v in sorted(footer_metadata(parquet).items())
        if k != b"ARROW:schema"
    }
    h.update(canonical_json(footer).encode())
    return {"rows": table.num_rows, "columns": table.num_columns, "sha256": h.hexdigest()}


def df_parquet(df: pd.DataFrame) -> bytes:
    """A DataFrame as Parquet bytes, without the pandas footer block (index dropped)."""
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _maybe_json(raw: bytes) -> Any:
    try:
        return {"json": json.loads(raw)}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"sha256": hashlib.sha256(raw).hexdigest()}


def _folder_items(out: Path) -> dict[str, Item]:
    """Every file of the single session folder under ``out``, plus the listing itself."""
    folders = sorted(p.name for p in out.iterdir())
    items = {
        "files.json": Item(
            "json",
            {
                "folders": folders,
                "files": {f: sorted(p.name for p in (out / f).iterdir()) for f in folders},
            },
        )
    }
    for f in folders:
        prefix = "" if len(folders) == 1 else f"{f}/"
        for p in sorted((out / f).iterdir()):
            kind = "parquet" if p.suffix == ".parquet" else "bytes"
            items[f"{prefix}{p.name}"] = Item(kind, p.read_bytes())
    return items


def _analysis_items(source: Any, scratch: Path, **options: Any) -> dict[str, Item]:
    """``imu.analyze(source, **options).write(dir)``: every file written, or the error raised."""
    out = scratch / "analysis"
    try:
        result = analyze(source, **options)
        result.write(out)
    except Exception as exc:  # pin what happens today, even an error
        return {"error.json": Item("json", {"type": type(exc).__name__, "message": str(exc)})}
    return _folder_items(out)


# ---- (a) the demo sessions -------------------------------------------------------------------


def _demo(name: str) -> Callable[[Path], dict[str, Item]]:
    def case(scratch: Path) -> dict[str, Item]:
        return _analysis_items(DEMO / f"{name}.raw.parquet", scratch)

    return case


# ---- (b) one short simulated session per exercise family, analysed the same way --------------

SHORT_STRENGTH: dict[str, Any] = {
    "n_sets": 2,
    "reps_per_set": [3, 4],
    "sample_rate_hz": 100.0,
    "rest_s": (5.0, 8.0),
    "standing_s": 4.0,
}
"""Two sets of 3 and 4 reps at 100 Hz with short rests: ~70-90 s sessions."""

SHORT_RUN: dict[str, Any] = {
    "duration_s": 60.0,
    "sample_rate_hz": 100.0,
    "warmup_walk_s": 5.0,
    "cooldown_walk_s": 4.0,
    "standing_s": 4.0,
}
"""60 s of running between short walks: a ~75 s session."""

EXERCISE_SEEDS: dict[str, int] = {
    "glute_bridge": 101,  # supine
    "hip_thrust": 102,  # supine (shoulders on a bench)
    "single_leg_bridge": 103,
    "quadruped_hip_extension": 104,  # prone
    "hip_hinge": 105,  # upright, rest at top
    "romanian_deadlift": 106,
    "single_leg_rdl": 107,
    "bulgarian_split_squat": 108,
    "squat": 109,
    "deadlift": 110,  # upright, rest at bottom
    "glute_ham_raise": 111,  # kneeling
}
"""Every exercise the simulator knows, each with its own fixed seed."""


def _sim_analysis(
    activity: str,
    base: dict[str, Any],
    *,
    strip_meta: tuple[str, ...] = (),
    via: str = "path",
    analyze_options: dict[str, Any] | None = None,
    **sim_options: Any,
) -> Callable[[Path], dict[str, Item]]:
    """Simulate, optionally drop metadata keys, write the raw file and analyse it (or analyse
    the session's DataFrame with ``via='dataframe'``)."""

    def case(scratch: Path) -> dict[str, Item]:
        sim = simulate(activity, **{**base, **sim_options})
        for key in strip_meta:
            sim.raw.meta.pop(key, None)
        if via == "dataframe":
            source: Any = sim.to_dataframe()
        else:
            source = sim.write(scratch / "session.raw.parquet")
        return _analysis_items(source, scratch, **(analyze_options or {}))

    return case


# ---- (c) simulated raw arrays and ground truth for fixed seeds -------------------------------


def _sim_raw(activity: str, **sim_options: Any) -> Callable[[Path], dict[str, Item]]:
    def case(scratch: Path) -> dict[str, Item]:
        sim = simulate(activity, **sim_options)
        raw, rec, truth = sim.raw, sim.recording, sim.truth
        arrays = {
            "raw.t_s": digest(raw.t_s),
            "raw.acc_g": digest(raw.acc_g),
            "raw.gyr_dps": digest(raw.gyr_dps),
            "raw.seq": digest(raw.seq),
            "recording.t_s": digest(rec.t_s),
            "recording.acc_counts": digest(rec.acc_counts),
            "recording.gyr_counts": digest(rec.gyr_counts),
            "recording.true_acc_g": digest(rec.true_acc_g),
            "recording.true_gyr_dps": digest(rec.true_gyr_dps),
            "recording.scales": {
                "acc_lsb_g": rec.acc_lsb_g,
                "gyr_lsb_dps": rec.gyr_lsb_dps,
                "acc_range_g": rec.acc_range_g,
                "gyr_range_dps": rec.gyr_range_dps,
            },
            "mounting.quat_xyzw": digest(sim.mounting.as_quat()),
            "mounting.quat_values": sim.mounting.as_quat().tolist(),
        }
        items = {
            "arrays.json": Item("json", arrays),
            "meta.json": Item("json", raw.meta),
            "truth-summary.json": Item("json", truth.summary),
            "truth-pelvis.json": Item(
                "json",
                {
                    "columns": list(truth.pelvis.columns),
                    **{c: digest(truth.pelvis[c].to_numpy()) for c in truth.pelvis.columns},
                },
            ),
        }
        for name in ("sets", "reps", "steps"):
            df = getattr(truth, name)
            if len(df.columns):
                items[f"truth-{name}.parquet"] = Item("parquet", df_parquet(df))
        # The raw session file as written (rawio): schema, column digests, footer metadata.
        path = sim.write(scratch / "session.raw.parquet")
        table = pq.read_table(path)
        footer = pq.ParquetFile(path).metadata.metadata or {}
        items["raw-file.json"] = Item(
            "json",
            {
                "schema": [[f.name, str(f.type), f.nullable] for f in table.schema],
                "num_rows": table.num_rows,
                "columns": {
                    c: {
                        "null_count": table[c].null_count,
                        **digest(table[c].to_numpy()),  # type: ignore[dict-item]
                    }
                    for c in table.column_names
                },
                "footer": {
                    k.decode(): _maybe_json(v)
                    for k, v in sorted(footer.items())
                    if k != b"ARROW:schema"
                },
            },
        )
        return items

    return case


# ---- (d) trends of a simulated month ---------------------------------------------------------

DIR_TOKEN = "$MONTH_DIR"
"""Replaces the month folder's absolute path wherever the CLI prints it (it prints none today)."""


def _cli(argv: list[str], month_dir: Path) -> tuple[str, dict[str, Any]]:
    """Run ``imu ARGV`` in-process; stdout (path-normalised) and a record of the call."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = imu_cli_main(argv)

    def norm(s: str) -> str:
        return s.replace(str(month_dir), DIR_TOKEN)

    return norm(out.getvalue()), {
        "argv": [norm(a) for a in argv],
        "rc": rc,
        "stderr": norm(err.getvalue()),
    }


def _trends(**month_options: Any) -> Callable[[Path], dict[str, Item]]:
    def case(scratch: Path) -> dict[str, Item]:
        month = scratch / "month"
        plan = simulate_month(month, analyze=analyze, **month_options)
        items = {"plan.parquet": Item("parquet", df_parquet(plan))}
        # Every session folder the month wrote (analysis outputs in raw mode), as digests.
        items["sessions.json"] = Item(
            "json",
            {
                d.name: {
                    f.name: parquet_content_digest(f.read_bytes())
                    for f in sorted(d.iterdir())
                }
                for d in sorted(month.glob("session=*"))
            },
        )
        calls = []
        # 1st run reads every session and writes the trends cache; the 2nd reads the cache.
        for name in ("trends.json", "trends-cached.json"):
            text, call = _cli(["trends", str(month), "--format", "json"], month)
            items[name] = Item("text", text)
            calls.append(call)
        long_file = month / "long.parquet.out"
        text, call = _cli(
            ["trends", str(month), "--format", "parquet", "--out", str(long_file)], month
        )
        calls.append(call | {"stdout": text})
        items["trends-long.parquet"] = Item("parquet", long_file.read_bytes())
        items["cli.json"] = Item("json", calls)
        return items

    return case


# ---- the registry ----------------------------------------------------------------------------

CASES: dict[str, Callable[[Path], dict[str, Item]]] = {
    # (d) -- the heaviest cases come first: the test keeps this order, so pytest-xdist's
    # batches of consecutive tests give each of them to a single worker.
    "trends-month-raw": _trends(days=14, seed=2, mode="raw"),
    "trends-month-tables": _trends(days=30, seed=1, mode="tables"),
    # (a)
    "demo-bridge": _demo("bridge_session"),
    "demo-run": _demo("run_session"),
    # (b) every exercise, then variations of source, metadata, options, rate and placement
    **{
        f"sim-{ex}": _sim_analysis("strength", SHORT_STRENGTH, exercise=ex, seed=seed)
        for ex, seed in EXERCISE_SEEDS.items()
    },
    "sim-run": _sim_analysis("run", SHORT_RUN, seed=120),
    "sim-run-right_hip-200hz": _sim_analysis(
        "run", SHORT_RUN, seed=121, sample_rate_hz=200.0, placement="right_hip"
    ),
    "sim-run-sacrum-no-activity": _sim_analysis(
        "run", SHORT_RUN, seed=122, placement="sacrum", strip_meta=("activity",)
    ),
    "sim-mixed-no-exercise": _sim_analysis(
        "strength", SHORT_STRENGTH, seed=130, n_sets=3, reps_per_set=[3, 4, 3],
        exercise=["glute_bridge", "romanian_deadlift", "squat"],
    ),
    "sim-glute_bridge-no-exercise": _sim_analysis(
        "strength", SHORT_STRENGTH, seed=131, exercise="glute_bridge", strip_meta=("exercise",)
    ),
    "sim-hip_thrust-no-activity-no-exercise": _sim_analysis(
        "strength", SHORT_STRENGTH, seed=132, exercise="hip_thrust",
        strip_meta=("activity", "exercise"),
    ),
    "sim-glute_bridge-dataframe": _sim_analysis(
        "strength", SHORT_STRENGTH, seed=101, exercise="glute_bridge", via="dataframe"
    ),
    "sim-glute_bridge-no-gyro": _sim_analysis(
        "strength", SHORT_STRENGTH, seed=133, exercise="glute_bridge", with_gyro=False
    ),
    "sim-squat-right_hip-200hz": _sim_analysis(
        "strength", SHORT_STRENGTH, seed=134, exercise="squat", sample_rate_hz=200.0,
        placement="right_hip",
    ),
    "sim-deadlift-sacrum-options": _sim_analysis(
        "strength", SHORT_STRENGTH, seed=135, exercise="deadlift", placement="sacrum",
        trunk_length_m=0.55,
        analyze_options={"trunk_length_m": 0.55, "sensor_offset_m": (-0.12, 0.0, 0.02)},
    ),
    # (c)
    "raw-strength-glute_bridge-s11-100hz-left_hip-random": _sim_raw(
        "strength", exercise="glute_bridge", n_sets=2, reps_per_set=[3, 4],
        sample_rate_hz=100.0, placement="left_hip", mounting="random", seed=11,
        rest_s=(8.0, 12.0), standing_s=4.0,
    ),
    "raw-strength-deadlift-s12-200hz-right_hip-identity": _sim_raw(
        "strength", exercise="deadlift", n_sets=1, reps_per_set=4, sample_rate_hz=200.0,
        placement="right_hip", mounting=None, seed=12, standing_s=4.0,
    ),
    "raw-strength-mixed-s13-100hz-sacrum-fixed": _sim_raw(
        "strength", exercise=["hip_thrust", "bulgarian_split_squat"], n_sets=2,
        reps_per_set=[3, 3], sample_rate_hz=100.0, placement="sacrum",
        mounting=Rotation.from_euler("zyx", [30.0, -60.0, 100.0], degrees=True), seed=13,
        rest_s=(8.0, 12.0), standing_s=4.0, walking=False,
    ),
    "raw-strength-squat-s14-50hz-left_hip-random-nogyro": _sim_raw(
        "strength", exercise="squat", n_sets=1, reps_per_set=3, sample_rate_hz=50.0,
        placement="left_hip", mounting="random", seed=14, with_gyro=False, standing_s=4.0,
    ),
    "raw-run-s21-100hz-left_hip-random": _sim_raw(
        "run", duration_s=40.0, sample_rate_hz=100.0, placement="left_hip",
        mounting="random", seed=21, warmup_walk_s=6.0, cooldown_walk_s=4.0,
    ),
    "raw-run-s22-200hz-sacrum-identity": _sim_raw(
        "run", duration_s=30.0, sample_rate_hz=200.0, placement="sacrum", mounting=None,
        seed=22, warmup_walk_s=5.0, cooldown_walk_s=4.0, walk_breaks=1,
    ),
}


def compute_case(name: str) -> dict[str, Item]:
    """Recompute every item of case ``name`` (in a scratch folder that is removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix=f"golden-{name}-") as tmp:
        items = CASES[name](Path(tmp))
    return {k: Item(v.kind, jsonable(v.data)) if v.kind == "json" else v for k, v in items.items()}


# ---- storage ---------------------------------------------------------------------------------


def read_manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def load_item(item_id: str, kind: str) -> Item:
    """The stored item ``case/name`` of ``kind``."""
    path = DATA / item_id
    if kind == "json":
        return Item(kind, json.loads(path.read_text(encoding="utf-8")))
    if kind == "text":
        return Item(kind, path.read_bytes().decode("utf-8"))
    return Item(kind, path.read_bytes())


def _store(path: Path, item: Item) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if item.kind == "json":
        text = json.dumps(item.data, indent=1, sort_keys=True, allow_nan=True) + "\n"
        path.write_text(text, encoding="utf-8")
    elif item.kind == "text":
        path.write_bytes(item.data.encode("utf-8"))
    elif item.kind == "parquet":
        path.write_bytes(compact_parquet(item.data))
    else:
        path.write_bytes(item.data)


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    out |= {name: importlib.metadata.version(name) for name in VERSIONED}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("cases", nargs="*", help=f"cases to regenerate (default all {len(CASES)})")
    args = parser.parse_args(argv)
    if not Path(IMU_FILE).is_relative_to(ROOT):
        print(f"refusing: imu imported from {IMU_FILE}, not from {ROOT} (set PYTHONPATH)")
        return 2
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}")
        return 2
    names = args.cases or list(CASES)
    manifest = read_manifest() if MANIFEST.exists() and args.cases else {"items": {}}
    if not args.cases and DATA.exists():
        shutil.rmtree(DATA)
    items_of: dict[str, str] = {
        k: v for k, v in manifest["items"].items() if k.split("/", 1)[0] in CASES
    }
    for name in names:
        shutil.rmtree(DATA / name, ignore_errors=True)
        items_of = {k: v for k, v in items_of.items() if k.split("/", 1)[0] != name}
        items = compute_case(name)
        for item_name, item in items.items():
            _store(DATA / name / item_name, item)
            items_of[f"{name}/{item_name}"] = item.kind
        note = " (ERROR pinned)" if "error.json" in items else ""
        print(f"{name}: {len(items)} items{note}")
    doc = {
        "note": "Generated by tests/golden/make_golden.py; re-run only deliberately (see there).",
        "versions": versions(),
        "items": dict(sorted(items_of.items())),
    }
    MANIFEST.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    print(f"{len(items_of)} items, {total / 1e6:.2f} MB in {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
