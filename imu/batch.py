"""Many sessions at once: the per-file job, a local process pool, or a Dask cluster.

``imu analyze RAW... --out DIR`` and :func:`analyze_many` share this module. The per-file job is
the plain function :func:`analyze_one` (a path, the output folder and the options in, an
:class:`Outcome` out; it never raises for the file's own problems), so any scheduler can run
it: this process (``jobs=1``), a pool of ``jobs`` local processes, or the workers of a
``dask.distributed`` cluster (``client=``; the optional extra ``pip install imu[dask]``,
docs/scale.md). Every route writes the same tables: each session's folder is written whole or
not at all by the worker that analysed it (:func:`imu.io.store.write_session`).
"""

from __future__ import annotations

import functools
import glob
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from imu.analysis import analyze
from imu.core.errors import InputError
from imu.core.options import check_options
from imu.io.chunks import RAW_SUFFIX
from imu.io.rawfile import read_metadata
from imu.io.store import REPORT_NAME, session_dir, user_files
from imu.render.terminal import render
from imu.render.verdicts import exercise_words

DASK_EXTRA = "pip install 'imu[dask]'"
"""How to get the optional Dask support (``dask[distributed]``, pinned in pyproject.toml)."""
LOCAL_CLUSTER = "local"
"""The ``--dask`` address that starts a Dask cluster on this machine instead of connecting."""

__all__ = [
    "DASK_EXTRA",
    "LOCAL_CLUSTER",
    "REPORT_NAME",
    "Outcome",
    "Progress",
    "analyze_many",
    "analyze_one",
    "dask_client",
    "duplicate_ids",
    "expand_inputs",
    "summary_line",
]


# ---- the per-file job -------------------------------------------------------------------------


@dataclass
class Outcome:
    """What :func:`analyze_one` did with one raw file."""

    path: str
    ok: bool
    session_dir: str = ""
    line: str = ""
    """One summary line ('glute bridge, 3 sets, 30 reps, 43% posterior tilt')."""
    error: str = ""
    input_error: bool = True
    """The failure was the input's (bad file or option), not a bug."""
    replaced: bool = False
    """An existing session folder was replaced (re-analysis)."""
    kept: list[str] = field(default_factory=list)
    """User files carried over from the replaced folder."""
    report: str = ""
    """The terminal report (when asked for)."""
    warnings: list[str] = field(default_factory=list)
    """What the analysis warns about (``AnalysisResult.warnings``), one line each."""
    seconds: float = 0.0
    worker: str = ""
    """Where it ran: ``pid <n>`` locally, the worker's address on a Dask cluster."""

    def replaced_note(self) -> str:
        """`` (re-analysed: tables replaced; kept report.html redrawn, notes.txt)`` for a
        re-analysed session, else empty."""
        if not self.replaced:
            return ""
        words = [f"{k} redrawn" if k == REPORT_NAME else k for k in self.kept]
        return " (re-analysed: tables replaced" + ("; kept " + ", ".join(words)
                                                    if words else "") + ")"


def summary_line(summary: dict[str, Any]) -> str:
    """One line per session: what it was and its headline numbers."""
    act = str(summary.get("activity") or "?")
    ex = summary.get("exercise")
    parts = [exercise_words(ex) or act]
    if summary.get("n_sets"):
        parts.append(f"{int(summary['n_sets'])} sets, {int(summary.get('n_reps') or 0)} reps")
        pct = summary.get("posterior_tilt_pct")
        if isinstance(pct, float) and pct == pct:
            parts.append(f"{pct:.0f}% posterior tilt")
        fb = summary.get("form_break_reps")
        if fb is not None and fb == fb:
            parts.append(f"{int(fb)} form breaks")
    cad = summary.get("cadence_spm")
    if isinstance(cad, float) and cad == cad:
        parts.append(f"{int(summary.get('n_steps') or 0)} steps, {cad:.0f} steps/min")
        for side, col in (("L", "pelvic_drop_left_deg"), ("R", "pelvic_drop_right_deg")):
            v = summary.get(col)
            if isinstance(v, float) and v == v:
                parts.append(f"drop in {side} stance {round(v * 2) / 2:.1f} deg")
    return ", ".join(parts)


def analyze_one(path: str | Path, out: str | Path, options: dict[str, Any],
                report: bool = False) -> Outcome:
    """Analyse one raw file into ``out`` with ``options`` (the keyword arguments of
    :func:`imu.analyze`); never raises for the file's own problems: the outcome says."""
    t0 = time.perf_counter()
    where = f"pid {os.getpid()}"
    try:
        result = analyze(str(path), **options)
        target = session_dir(out, result.session_id)
        existed = target.is_dir()
        kept = user_files(target)
        try:
            folder = result.write(out)
        except OSError as exc:
            raise InputError(f"cannot write to {out}: {exc.strerror or exc}") from None
        if REPORT_NAME in kept:  # the saved report would show the old analysis: redraw it
            # imported here: it brings matplotlib (26 MB, 0.3 s) that most jobs do not need
            from imu.render.html import write_report

            write_report(folder)
        text = render(result) if report else ""
        return Outcome(str(path), True, str(folder), summary_line(result.record), replaced=existed,
                       kept=kept, report=text, warnings=list(result.warnings),
                       seconds=time.perf_counter() - t0, worker=where)
    except InputError as exc:
        return Outcome(str(path), False, error=str(exc), seconds=time.perf_counter() - t0,
                       worker=where)
    except Exception as exc:  # noqa: BLE001 - one bad session must not stop a batch
        return Outcome(str(path), False, error=f"{type(exc).__name__}: {exc}",
                       input_error=False, seconds=time.perf_counter() - t0, worker=where)


def _analyze_on_worker(path: str, out: str, options: dict[str, Any]) -> Outcome:
    """:func:`analyze_one` as a Dask task: the outcome names the worker it ran on."""
    from distributed import get_worker

    o = analyze_one(path, out, options)
    try:
        o.worker = get_worker().address
    except ValueError:  # not on a worker (a client with ``set_as_default`` tricks)
        pass
    return o


# ---- inputs -----------------------------------------------------------------------------------


def expand_inputs(items: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders -> their ``*.raw.parquet`` (recursively, sorted); globs -> their
    matches. InputError for an argument that names nothing. Duplicates are dropped."""
    out: list[Path] = []
    for item in items:
        item = str(item)
        p = Path(item)
        if p.is_dir():
            found = sorted(p.rglob(f"*{RAW_SUFFIX}"))
            if not found:
                raise InputError(f"{item}: no *{RAW_SUFFIX} files in this folder")
            out += found
        elif p.exists():
            out.append(p)
        elif glob.has_magic(item):
            found = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if not found:
                raise InputError(f"{item}: no file matches")
            out += found
        else:
            raise InputError(f"{item}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def duplicate_ids(paths: list[Path]) -> dict[Path, Path]:
    """Files whose metadata names the same session id as an earlier file: the later one would
    silently replace the earlier one's results, so it is not analysed."""
    first: dict[str, Path] = {}
    dup: dict[Path, Path] = {}
    for p in paths:
        try:
            sid = read_metadata(p).get("session_id")
        except Exception:  # noqa: BLE001 - the analysis reports unreadable files itself
            continue
        if not sid:
            continue  # the id comes from the samples' hash: unique per content
        if sid in first:
            dup[p] = first[sid]
        else:
            first[sid] = p
    return dup


# ---- progress ---------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar (``[####....] 12/20 sessions, 1 failed ~8 s left``) redrawn on
    a terminal; :meth:`clear` before printing a line of one's own."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.started = time.perf_counter()

    def add(self, o: Outcome) -> None:
        self.done += 1
        self.failed += not o.ok
        self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        eta = (self.total - self.done) / rate if self.done else float("nan")
        tail = f" ~{eta:.0f} s left" if self.done and self.done < self.total else ""
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(
            f"\r[{bar}] {self.done}/{self.total} sessions, {self.failed} failed{tail}   "
        )
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()


# ---- many sessions ----------------------------------------------------------------------------


def analyze_many(
    paths: str | Path | Iterable[str | Path],
    out: str | Path,
    *,
    jobs: int | None = None,
    client: Any = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    progress: bool = False,
    **options: Any,
) -> list[Outcome]:
    """Analyse many raw sessions into ``out``; one :class:`Outcome` per input, in input order.

    ``paths``: files, folders (their ``*.raw.parquet``, recursively) or globs, one or a list.
    ``options`` are those of :func:`imu.analyze` (``activity``, ``exercise``, ``placement``,
    ``trunk_length_m``, ``sensor_offset_m``), checked before any file is read (InputError).
    Where it runs: ``client`` (a ``dask.distributed.Client``) sends each file to the cluster's
    workers, which must see the files and ``out`` at the same absolute paths (a shared file
    system) and import the same ``imu``; else ``jobs`` local processes (default: the cores;
    ``1`` = one after another in this process). A failed session (bad file, a bug, a worker
    that died) is an outcome with ``ok=False`` and its error; the others are still written.
    Files naming the same session id as an earlier file are not analysed (their results would
    replace the other's). ``on_outcome`` is called with each outcome as it completes;
    ``progress`` draws a progress line on stderr.
    """
    given = check_options(**options)
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files = expand_inputs(items)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --out exists and is not a directory")
    dup = duplicate_ids(files)
    todo = [p for p in files if p not in dup]
    index = {str(p): i for i, p in enumerate(files)}
    results: list[Outcome | None] = [None] * len(files)
    bar = Progress(len(files), enabled=progress)

    def done(o: Outcome) -> None:
        results[index[o.path]] = o
        bar.clear()
        if on_outcome is not None:
            on_outcome(o)
        bar.add(o)

    for p, first in dup.items():
        done(Outcome(str(p), False, error=f"same session id as {first}; not analysed (its "
                     "results would replace the other's)"))
    bar.draw()
    out.mkdir(parents=True, exist_ok=True)
    if client is not None:
        outcomes: Iterator[Outcome] = _on_dask(client, todo, out, given)
    elif min(jobs or os.cpu_count() or 1, max(len(todo), 1)) <= 1:
        outcomes = (analyze_one(p, out, given) for p in todo)
    else:
        outcomes = _in_pool(todo, out, given, min(jobs or os.cpu_count() or 1, len(todo)))
    for o in outcomes:
        done(o)
    return [o for o in results if o is not None]


def _in_pool(todo: list[Path], out: Path, options: dict[str, Any],
             jobs: int) -> Iterator[Outcome]:
    """Outcomes of a pool of ``jobs`` local processes, as they complete."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")  # no fork of a process holding threads (pyarrow)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {pool.submit(analyze_one, str(p), str(out), options): p for p in todo}
        for fut in as_completed(futures):
            try:
                o = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (memory, signal)
                o = Outcome(str(futures[fut]), False, error=f"worker failed: {exc}",
                            input_error=False)
            o.path = str(futures[fut])
            yield o


def _on_dask(client: Any, todo: list[Path], out: Path,
             options: dict[str, Any]) -> Iterator[Outcome]:
    """Outcomes of the Dask cluster behind ``client``, as they complete. Paths go out absolute
    (a worker's working folder is not ours); each outcome comes back with the path as given."""
    from distributed import as_completed

    if not todo:
        return
    job = functools.partial(_analyze_on_worker, out=str(out.absolute()), options=options)
    # pure=False: a re-analysis after a pipeline update must run again, not reuse a result
    futures = client.map(job, [str(p.absolute()) for p in todo], pure=False)
    given = {f.key: str(p) for f, p in zip(futures, todo, strict=True)}
    try:
        for fut in as_completed(futures):
            try:
                o = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: it ran out of memory
                o = Outcome(given[fut.key], False, error=f"worker failed: {type(exc).__name__}: "
                            f"{exc}", input_error=False)
            o.path = given[fut.key]
            fut.release()
            yield o
    finally:
        client.cancel([f for f in futures if not f.done()])


@contextmanager
def dask_client(address: str, workers: int | None = None,
                timeout: str = "10s") -> Iterator[Any]:
    """A ``dask.distributed.Client`` connected to the scheduler at ``address``
    (``tcp://host:8786``), or, for ``address == "local"``, to a new cluster on this machine
    (``workers`` processes of one thread each; default: the cores), closed afterwards.
    InputError naming the extra when Dask is not installed, or when no scheduler answers."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(f"--dask needs the optional Dask support: {DASK_EXTRA}") from None
    if address == LOCAL_CLUSTER:
        n = workers or os.cpu_count() or 1
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--dask {address}: cannot reach a Dask scheduler there "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                         ) from None
    with client:
        yield client
