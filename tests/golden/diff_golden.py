"""How far today's outputs are from the golden data: a review tool, not a test.

    PYTHONPATH=. .venv/bin/python tests/golden/diff_golden.py [CASE ...] [--rtol 1e-9]

``tests/test_golden.py`` fails on the first bit that differs. When a change is meant to keep the
results but not their last bits (a filter computed another way, a reordered sum), this prints,
per item, the largest absolute and relative difference of every floating-point column or JSON
number, and every non-float difference (row counts, strings, integers, text lines) in full, so
that the re-run of ``make_golden.py`` can be reviewed: "floats within 1e-9, nothing else moved".
Exit status 1 when anything but floats within ``--rtol`` (relative to max(1, |stored|)) differs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

_MAKE = Path(__file__).with_name("make_golden.py")


def _make_golden() -> Any:
    spec = importlib.util.spec_from_file_location("imu_golden_make", _MAKE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["imu_golden_make"] = module
    spec.loader.exec_module(module)
    return module


def _floats(a: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False), dtype=np.float64)


def diff_parquet(mg: Any, stored: bytes, new: bytes) -> tuple[float, list[str]]:
    """(largest scaled float difference, non-float differences) of two Parquet items."""
    a, b = mg.read_parquet(stored), mg.read_parquet(new)
    if a.schema.names != b.schema.names or a.num_rows != b.num_rows:
        return math.inf, [f"columns {a.schema.names} x {a.num_rows} rows stored, "
                          f"{b.schema.names} x {b.num_rows} new"]
    worst, other = 0.0, []
    for name in a.column_names:
        x, y = a[name], b[name]
        if pa.types.is_floating(x.type) and pa.types.is_floating(y.type):
            fx, fy = _floats(x), _floats(y)
            nan_x, nan_y = np.isnan(fx), np.isnan(fy)
            if (nan_x != nan_y).any():
                other.append(f"{name}: NaN in {int((nan_x != nan_y).sum())} rows differs")
            ok = ~(nan_x | nan_y)
            if ok.any():
                d = np.abs(fx[ok] - fy[ok]) / np.maximum(1.0, np.abs(fx[ok]))
                worst = max(worst, float(d.max()))
        elif not x.equals(y):
            xs, ys = x.to_pylist(), y.to_pylist()
            rows = [i for i, (p, q) in enumerate(zip(xs, ys, strict=True)) if p != q]
            other.append(f"{name}: {len(rows)} rows differ, first row {rows[0]}: "
                         f"{xs[rows[0]]!r} -> {ys[rows[0]]!r}")
    return worst, other


def diff_json(a: Any, b: Any, path: str = "$") -> tuple[float, list[str]]:
    """(largest scaled number difference, other differences) of two JSON values."""
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or a is None:
        return 0.0, ([] if a == b else [f"{path}: {a!r} -> {b!r}"])
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return 0.0, ([] if a == b else [f"{path}: {a} -> {b}"])
        if math.isnan(a) or math.isnan(b):
            return 0.0, ([] if math.isnan(a) and math.isnan(b) else [f"{path}: {a} -> {b}"])
        return abs(a - b) / max(1.0, abs(a)), []
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return 0.0, [f"{path}: keys {sorted(set(a) ^ set(b))} differ"]
        parts = [diff_json(a[k], b[k], f"{path}.{k}") for k in sorted(a)]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return 0.0, [f"{path}: {len(a)} items -> {len(b)}"]
        parts = [diff_json(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True))]
    else:
        return 0.0, ([] if a == b else [f"{path}: {a!r} -> {b!r}"])
    return max([0.0, *(p[0] for p in parts)]), [m for p in parts for m in p[1]]


def diff_item(mg: Any, kind: str, stored: Any, new: Any) -> tuple[float, list[str]]:
    if kind == "parquet":
        return diff_parquet(mg, stored, new)
    if kind == "json":
        return diff_json(stored, new)
    if stored == new:
        return 0.0, []
    if kind == "text":
        pairs = zip(stored.splitlines(), new.splitlines(), strict=False)
        lines = [f"{p!r} -> {q!r}" for p, q in pairs if p != q]
        return 0.0, lines[:5] or ["line count differs"]
    return 0.0, ["bytes differ"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--rtol", type=float, default=1e-9)
    args = ap.parse_args(argv)
    mg = _make_golden()
    items: dict[str, str] = mg.read_manifest()["items"]
    cases = args.cases or list(mg.CASES)
    bad = 0
    for case in cases:
        new = mg.compute_case(case)
        stored_names = sorted(k.split("/", 1)[1] for k in items if k.split("/", 1)[0] == case)
        if sorted(new) != stored_names:
            print(f"{case}: items differ: stored {stored_names}, new {sorted(new)}")
            bad += 1
        for name in stored_names:
            if name not in new:
                continue
            kind = items[f"{case}/{name}"]
            old = mg.load_item(f"{case}/{name}", kind).data
            worst, other = diff_item(mg, kind, old, new[name].data)
            flag = "  " if not other and worst <= args.rtol else "!!"
            bad += flag == "!!"
            if worst > 0 or other:
                print(f"{flag} {case}/{name}: floats max scaled diff {worst:.3g}")
                for line in other[:8]:
                    print(f"     {line}")
        print(f"{case}: done", flush=True)
    print(json.dumps({"cases": len(cases), "items_beyond_tolerance": bad}))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
