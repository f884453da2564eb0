"""Golden tests: today's outputs, pinned bit for bit (stored by tests/golden/make_golden.py).

Every stored item is one test case, ``<case>/<item>`` (e.g. ``demo-bridge/reps.parquet``); each
case also has a ``<case>/[items]`` test case: the recomputed case yields exactly the stored set
of items (e.g. the same Parquet files in the session folder). The items are recomputed in-process
with the generating functions of ``tests/golden/make_golden.py`` (the one place that imports
``imu``), so the code path is the one that made the data.

A failure means an output changed. In a change that must keep behaviour, that is a bug. In a
change whose issue intends to change outputs, re-run make_golden.py and review the data diff
(see the docstring there). This module never imports ``imu`` itself.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

_MAKE_GOLDEN = Path(__file__).parent / "golden" / "make_golden.py"


def _load_make_golden() -> Any:
    name = "imu_golden_make"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _MAKE_GOLDEN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


mg = _load_make_golden()
MANIFEST: dict[str, Any] = mg.read_manifest()
ITEMS: dict[str, str] = MANIFEST["items"]
STORED_CASES: set[str] = {item_id.split("/", 1)[0] for item_id in ITEMS}
CASES: list[str] = [c for c in mg.CASES if c in STORED_CASES] + sorted(STORED_CASES - set(mg.CASES))
"""Stored cases in the registry's order (heaviest first), then any the registry lost."""


@functools.cache
def _computed(case: str) -> dict[str, Any]:
    """Every item of ``case``, recomputed once per process."""
    return mg.compute_case(case)


def _context() -> str:
    now = mg.versions()
    then = MANIFEST.get("versions", {})
    lines = [f"imu under test: {mg.IMU_FILE}"]
    changed = {k: (then.get(k), v) for k, v in now.items() if then.get(k) != v}
    if changed:
        lines.append(
            "library versions differ from those the golden data was made with (may explain "
            "floating-point differences): "
            + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
        )
    return "\n".join(lines)


def _fail(item_id: str, what: str) -> None:
    __tracebackhide__ = True
    pytest.fail(f"{item_id}: {what}\n{_context()}", pytrace=False)


# ---- comparisons -----------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value!r} ({value.hex()})"
    return repr(value)


def _first_json_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """Where two JSON values first differ (``a`` stored, ``b`` recomputed), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b) and set(a) != set(b):
            return (
                f"{path}: keys differ: only stored {sorted(set(a) - set(b))}, "
                f"only new {sorted(set(b) - set(a))}"
            )
        for k in a:
            d = _first_json_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = _first_json_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            return f"{path}: length {len(a)} stored, {len(b)} new"
        return None
    if mg.canonical_json(a) != mg.canonical_json(b) or type(a) is not type(b):
        return f"{path}: stored {_show(a)}, new {_show(b)}"
    return None


def _compare_json(item_id: str, stored: Any, new: Any) -> None:
    __tracebackhide__ = True
    if mg.canonical_json(stored) != mg.canonical_json(new):
        _fail(item_id, f"JSON differs: {_first_json_difference(stored, new)}")


def _compare_text(item_id: str, stored: str, new: str) -> None:
    __tracebackhide__ = True
    if stored == new:
        return
    a, b = stored.splitlines(keepends=True), new.splitlines(keepends=True)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            _fail(item_id, f"text differs at line {i + 1}:\n  stored: {x!r}\n  new:    {y!r}")
    _fail(item_id, f"text differs in length: {len(a)} lines stored, {len(b)} new")


def _first_row_difference(name: str, a: pa.ChunkedArray, b: pa.ChunkedArray) -> str | None:
    """Column ``name``: the first row where ``a`` (stored) and ``b`` (new) differ, bit for bit."""
    if len(a) != len(b):
        return f"column {name!r}: {len(a)} rows stored, {len(b)} new"
    if pa.types.is_floating(a.type) and a.type == b.type:
        x, y = a.combine_chunks(), b.combine_chunks()
        vx = x.is_valid().to_numpy(zero_copy_only=False)
        vy = y.is_valid().to_numpy(zero_copy_only=False)
        fx = x.fill_null(0).to_numpy(zero_copy_only=False)
        fy = y.fill_null(0).to_numpy(zero_copy_only=False)
        ux, uy = fx.view(f"u{fx.dtype.itemsize}"), fy.view(f"u{fy.dtype.itemsize}")
        bad = (vx != vy) | (vx & (ux != uy))
        if not bad.any():
            return None
        i = int(np.argmax(bad))
        sx = float(fx[i]) if vx[i] else None
        sy = float(fy[i]) if vy[i] else None
        return (
            f"column {name!r} ({a.type}): first differing row {i} of {len(a)} "
            f"({int(bad.sum())} rows differ): stored {_show(sx)}, new {_show(sy)}"
        )
    if a.equals(b):
        return None
    xs, ys = a.to_pylist(), b.to_pylist()
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if mg.canonical_json(_plain(x)) != mg.canonical_json(_plain(y)):
            n = sum(
                mg.canonical_json(_plain(p)) != mg.canonical_json(_plain(q))
                for p, q in zip(xs, ys, strict=True)
            )
            return (
                f"column {name!r} ({a.type}): first differing row {i} of {len(a)} "
                f"({n} rows differ): stored {_show(x)}, new {_show(y)}"
            )
    return f"column {name!r} ({a.type}): values equal as Python objects but not in Arrow"


def _plain(value: Any) -> Any:
    """A cell as JSON-able text-exact data (floats as hex, so NaN and -0.0 count)."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return repr(value)


def _schema_rows(schema: pa.Schema) -> list[tuple[str, str, bool, Any]]:
    return [(f.name, str(f.type), f.nullable, f.metadata) for f in schema]


def _compare_parquet(item_id: str, stored: bytes, new: bytes) -> None:
    __tracebackhide__ = True
    a, b = mg.read_parquet(stored), mg.read_parquet(new)
    # Schema: names, column order, types, nullability, field metadata.
    sa, sb = _schema_rows(a.schema), _schema_rows(b.schema)
    if sa != sb:
        for i, (x, y) in enumerate(zip(sa, sb, strict=False)):
            if x != y:
                _fail(item_id, f"schema differs at column {i}: stored {x}, new {y}")
        _fail(
            item_id,
            f"schema differs: {len(sa)} columns stored, {len(sb)} new "
            f"(stored {[r[0] for r in sa]}, new {[r[0] for r in sb]})",
        )
    if a.num_rows != b.num_rows:
        _fail(item_id, f"{a.num_rows} rows stored, {b.num_rows} new")
    # Values, column by column (first differing row), floats as their exact bits.
    for name in a.column_names:
        d = _first_row_difference(name, a[name], b[name])
        if d:
            _fail(item_id, d)
    if not mg.bits_table(a).equals(mg.bits_table(b)):
        _fail(item_id, "tables differ (Table.equals on the bit patterns) though no column did")
    # Footer key-value metadata: same keys; values equal as parsed JSON (e.g. the ``imu``
    # provenance), else as bytes. ARROW:schema is the serialized schema compared above.
    ma, mb = mg.footer_metadata(stored), mg.footer_metadata(new)
    if set(ma) != set(mb):
        _fail(item_id, f"footer metadata keys differ: stored {sorted(ma)}, new {sorted(mb)}")
    for key in sorted(ma):
        if key == b"ARROW:schema":
            continue
        try:
            ja, jb = json.loads(ma[key]), json.loads(mb[key])
        except (UnicodeDecodeError, json.JSONDecodeError):
            if ma[key] != mb[key]:
                _fail(item_id, f"footer metadata {key.decode()!r} differs (not JSON)")
            continue
        d = _first_json_difference(ja, jb, f"footer[{key.decode()}]")
        if d or mg.canonical_json(ja) != mg.canonical_json(jb):
            _fail(item_id, f"footer metadata differs: {d}")


# ---- tests -----------------------------------------------------------------------------------


def test_registry_matches_stored_cases() -> None:
    """Every case make_golden.py defines is stored, and nothing else is."""
    assert sorted(mg.CASES) == sorted(STORED_CASES), (
        "the cases in make_golden.py and the stored data differ; a new case needs a deliberate "
        "`python tests/golden/make_golden.py CASE` run"
    )


ITEMS_CHECK = "[items]"
PARAMS = [
    pid
    for case in CASES
    for pid in [f"{case}/{ITEMS_CHECK}", *sorted(k for k in ITEMS if k.split("/", 1)[0] == case)]
]
"""Case by case, so that pytest-xdist's batches of consecutive tests keep a case on one worker
(each worker computes a case once, when it first needs it)."""


def _check_items(case: str) -> None:
    """The recomputed case yields exactly the stored items (e.g. the same files per session
    folder, or an error where one was pinned)."""
    __tracebackhide__ = True
    stored = sorted(k.split("/", 1)[1] for k in ITEMS if k.split("/", 1)[0] == case)
    new = _computed(case)
    if sorted(new) != stored:
        err = new.get("error.json")
        extra = f"; new run raised {err.data}" if err is not None else ""
        _fail(
            case,
            f"items differ: only stored {sorted(set(stored) - set(new))}, "
            f"only new {sorted(set(new) - set(stored))}{extra}",
        )


@pytest.mark.parametrize("item_id", PARAMS, ids=PARAMS)
def test_golden(item_id: str) -> None:
    """``<case>/[items]``: the set of items; ``<case>/<item>``: one stored item."""
    case, name = item_id.split("/", 1)
    if name == ITEMS_CHECK:
        _check_items(case)
        return
    kind = ITEMS[item_id]
    stored = mg.load_item(item_id, kind)
    new_items = _computed(case)
    if name not in new_items:
        err = new_items.get("error.json")
        extra = f" (the new run raised {err.data})" if err is not None else ""
        _fail(item_id, f"not produced any more{extra}")
    new = new_items[name]
    if new.kind != kind:
        _fail(item_id, f"kind changed: stored {kind}, new {new.kind}")
    if kind == "parquet":
        _compare_parquet(item_id, stored.data, new.data)
    elif kind == "json":
        _compare_json(item_id, stored.data, new.data)
    elif kind == "text":
        _compare_text(item_id, stored.data, new.data)
    elif stored.data != new.data:
        _fail(item_id, f"bytes differ ({len(stored.data)} stored, {len(new.data)} new)")
