"""The package's layers (docs/architecture.md): imports point down only, no cycles.

Every ``import`` statement of every module counts, including those inside functions; a
function-level import of the package's own code is allowed only in ``imu.commands`` / ``imu.cli``
(start-up speed) and the lazy top-level API; of an outside library only for the optional heavy
ones listed in ``OPTIONAL_HEAVY``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "imu"

LAYERS: dict[str, int] = {
    "imu.core": 0,
    "imu.device": 1,
    "imu.io": 2,
    "imu.metrics": 3,
    "imu.pipeline": 4,
    "imu.sim": 4,
    "imu.ble": 4,
    "imu.virtual": 4,
    "imu.analysis": 5,
    "imu.trends": 5,
    "imu.viz": 5,
    "imu.render": 6,
    "imu.recording": 6,
    "imu.testing": 6,
    "imu.batch": 7,
    "imu.commands": 8,
    "imu.cli": 8,
    "imu": 9,
}
"""Rank of each layer; a module may import only from layers of LOWER rank, or from its own
package (folder). Packages of equal rank are siblings and may not import each other."""

ALLOWED_SIDEWAYS: set[tuple[str, str]] = {
    # The virtual sensor builds its Bumble device and drops its links with the one in-process
    # stack module (imu.ble.stack, bumble only), shared with the host's radio and the test
    # doubles, instead of a copy of it.
    ("imu.virtual", "imu.ble"),
}
"""The only imports between siblings of one rank: (importing layer, imported layer)."""

LAZY_OWN_IMPORTS_ALLOWED = ("imu.commands", "imu.cli", "imu.batch")
"""Where a function may import the package's own code (besides the lazy top-level API, ``imu``):
the command line (start-up speed) and the batch job (it redraws a saved HTML report, which
brings matplotlib, only for the sessions that have one)."""
OPTIONAL_HEAVY = {"matplotlib", "dask", "distributed", "bumble", "bleak", "mpremote", "vqf",
                  "pandas"}
"""Outside libraries a function may import: optional ones, and pandas, which the ``imu analyze``
process never loads (the DataFrames of the Python API and the readers of stored sessions import
it when they are used; tests/test_analysis_process.py)."""
MODULE_LIMIT_LINES = 600


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        rel = p.relative_to(ROOT.parent).with_suffix("")
        if rel.parts[:2] == ("imu", "firmware"):  # MicroPython sources, package data
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _layer(module: str) -> tuple[str, int]:
    best = max((k for k in LAYERS if module == k or module.startswith(k + ".")), key=len)
    return best, LAYERS[best]


def _imports(path: Path, module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_func: bool, in_type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            tc = in_type_checking or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            )
            if isinstance(child, ast.Import) and not tc:
                found.extend((a.name, child.lineno, in_func) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and not tc:
                if child.level:
                    base = module.split(".")
                    base = base if is_pkg else base[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    name = ".".join(base + ([child.module] if child.module else []))
                else:
                    name = child.module or ""
                found.append((name, child.lineno, in_func))
                for a in child.names:  # `from imu.x import y` may import module imu.x.y
                    found.append((f"{name}.{a.name}", child.lineno, in_func))
            visit(child, f, tc)

    visit(tree, False, False)
    return found


MODULES = _modules()


def _own(name: str) -> str | None:
    """The package module that ``name`` refers to (longest existing prefix), or None."""
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in MODULES:
            return cand
        parts.pop()
    return None


def _edges() -> list[tuple[str, str, int, bool]]:
    edges = []
    for mod, path in MODULES.items():
        for name, line, in_func in _imports(path, mod):
            if not name.startswith("imu"):
                continue
            target = _own(name)
            if target is None or target == mod:
                continue
            if name != target and f"{name}" not in MODULES and target == "imu":
                continue
            edges.append((mod, target, line, in_func))
    return edges


def test_imports_point_down_only() -> None:
    bad = []
    for src, dst, line, _ in _edges():
        (src_layer, src_rank), (dst_layer, dst_rank) = _layer(src), _layer(dst)
        if src_layer == dst_layer or (src_layer, dst_layer) in ALLOWED_SIDEWAYS:
            continue
        if dst_rank >= src_rank:
            bad.append(f"{src}:{line} imports {dst} ({src_layer} -> {dst_layer})")
    assert not bad, "upward or sideways imports:\n" + "\n".join(sorted(set(bad)))


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for src, dst, _, _ in _edges():
        if dst != "imu":
            graph[src].add(dst)
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_function_level_imports_only_where_allowed() -> None:
    bad = []
    for mod, path in MODULES.items():
        lazy_ok = any(mod == p or mod.startswith(p + ".") for p in LAZY_OWN_IMPORTS_ALLOWED)
        lazy_ok = lazy_ok or mod == "imu"
        for name, line, in_func in _imports(path, mod):
            if not in_func:
                continue
            top = name.split(".")[0]
            if top == "imu" and not lazy_ok:
                bad.append(f"{mod}:{line} imports {name} inside a function")
            elif top != "imu" and top not in OPTIONAL_HEAVY and not lazy_ok:
                bad.append(f"{mod}:{line} imports {name} inside a function")
    assert not bad, "\n".join(sorted(set(bad)))


def test_no_module_over_limit() -> None:
    sizes = {m: len(p.read_text().splitlines()) for m, p in MODULES.items()}
    long = {m: n for m, n in sizes.items() if n > MODULE_LIMIT_LINES}
    assert not long, f"modules over {MODULE_LIMIT_LINES} lines: {long}"


@pytest.mark.parametrize(
    "module", ["imu.device.protocol", "imu.device.chip", "imu.ble.client", "imu.ble.assembler"]
)
def test_light_modules_stay_light(module: str) -> None:
    """The wire protocol and the BLE client load without scipy, pandas, pyarrow, matplotlib."""
    code = (
        f"import sys, {module}; "
        "heavy = [m for m in ('scipy', 'pandas', 'pyarrow', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"


def test_analysis_process_imports_no_scipy() -> None:
    """``imu analyze FILE`` loads numpy, pyarrow and VQF only (issue 12, start-up):
    scipy (1 s of imports), matplotlib, scikit-learn and Dask stay out of the analysis
    process; the filters, peaks and rotations it needs are imu.pipeline.dsp / peaks and
    imu.core.rotation (tested against scipy in tests/test_dsp.py and tests/test_rotation.py)."""
    code = (
        "import sys, imu.cli, imu.analysis, imu.batch, imu.commands.analyze, imu.render.terminal; "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'scipy', 'matplotlib', 'sklearn', 'dask', 'distributed'}); print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the analysis process pulls in {out.stdout.strip()}"
