"""``imu analyze RAW... --out DIR``: analyse raw sessions and write their tables.

One file prints its report; several files, a folder or a glob are analysed in a process pool
(``--jobs N``), with a progress line and one summary line per session; the exit status is
non-zero if any failed, and the others are still written. The per-file job is the plain
function :func:`analyze_one` (a path, the output folder and the options in, an
:class:`Outcome` out), so another scheduler (e.g. Dask, issue 12) can run it too.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imu.core.errors import EXIT_INPUT_ERROR, InputError
from imu.core.options import (
    DEFAULT_PLACEMENT,
    DEFAULT_TRUNK_LENGTH_M,
    OPTION_CHOICES,
    check_option,
)
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M

RAW_SUFFIX = ".raw.parquet"
"""What a folder argument is searched for (``imu record`` and ``imu simulate`` write these)."""
REPORT_NAME = "report.html"
"""The report ``imu report`` saves in a session folder by default; re-analysis redraws it."""
EXIT_FAILED = 1
"""Exit status when some session failed for a reason other than bad input (a bug: please
report it); bad input alone gives 2, as everywhere."""

EPILOG = f"""\
examples:
  imu analyze fixtures/demo/bridge_session.raw.parquet --out sessions/
  imu analyze recordings/ --out sessions/ --jobs 2        # every *.raw.parquet in the folder
  imu analyze 'runs/*.raw.parquet' --out sessions/ --placement right_hip

Options override what the raw file's metadata says; without either, the defaults apply
(--placement {DEFAULT_PLACEMENT}, --trunk-length-m {DEFAULT_TRUNK_LENGTH_M:g}).
Re-analysing a session replaces its tables and keeps any other file in its folder (a saved
report, your notes). See docs/formats.md for every output column, its unit and its sign.
"""


def parse_offset(text: str) -> tuple[float, float, float]:
    """``X,Y,Z`` in metres, pelvis frame (forward, left, up)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,Z in metres, got {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three numbers X,Y,Z, got {text!r}")
    return values  # type: ignore[return-value]


def positive_float(text: str) -> float:
    """A length in metres such as ``--trunk-length-m`` (rule: :func:`check_option`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    try:
        check_option("trunk_length_m", value)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {text!r}")
    return value


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``analyze`` and ``record`` (contract section 3)."""
    p.add_argument(
        "--activity", choices=OPTION_CHOICES["activity"], default="auto",
        help="what the session holds (default: auto, detected from the data; the raw file's "
        "metadata wins over auto)",
    )
    p.add_argument(
        "--exercise", choices=OPTION_CHOICES["exercise"], default=None, metavar="NAME",
        help="the exercise of every set (default: the metadata's, else recognised per set). "
        "One of: " + ", ".join(OPTION_CHOICES["exercise"]),
    )
    p.add_argument(
        "--placement", choices=OPTION_CHOICES["placement"], default=None,
        help=f"where the sensor is clipped (default: the metadata's, else {DEFAULT_PLACEMENT})."
        " A wrong side swaps left and right in run metrics",
    )
    p.add_argument(
        "--trunk-length-m", type=positive_float, default=None, metavar="M",
        help="shoulder joint to hip joint in metres, for the body line of bridges (default: "
        f"the metadata's, else {DEFAULT_TRUNK_LENGTH_M:g})",
    )
    p.add_argument(
        "--sensor-offset-m", type=parse_offset, default=None, metavar="X,Y,Z",
        help="sensor position from the pelvis centre in metres, pelvis frame (forward, left, "
        "up) (default from --placement: "
        + "; ".join(f"{k} {','.join(f'{v:g}' for v in xyz)}"
                    for k, xyz in DEFAULT_SENSOR_OFFSET_M.items())
        + ")",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse raw sessions (files, a folder or a glob) and write their tables",
        description="Analyse raw sessions (*.raw.parquet) and write one folder of Parquet "
        "tables per session, DIR/session=<id>/. One file: prints its report. Several: "
        "analyses them in parallel and prints one line per session.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "raw", metavar="RAW", nargs="+",
        help="raw session files, folders (every *.raw.parquet in them, recursively) or quoted "
        "globs such as 'runs/*.raw.parquet'",
    )
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder; created if missing (required)")
    add_analysis_options(p)
    p.add_argument(
        "--jobs", type=positive_int, default=None, metavar="N",
        help=f"sessions analysed at once (default: the number of cores, {os.cpu_count() or 1}"
        " here; 1 = one after another in this process)",
    )
    p.add_argument("--quiet", action="store_true",
                   help="no report, no progress line: only the summary lines and errors")
    p.set_defaults(func=run)


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


def summary_line(summary: dict[str, Any]) -> str:
    """One line per session: what it was and its headline numbers."""
    act = str(summary.get("activity") or "?")
    ex = summary.get("exercise")
    parts = [str(ex).replace("_", " ") if isinstance(ex, str) and ex else act]
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
    from imu.analysis import analyze
    from imu.io.store import session_dir, user_files

    t0 = time.perf_counter()
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
            from imu.render.html import write_report

            write_report(folder)
        text = ""
        if report:
            from imu.render.terminal import render

            text = render(result)
        summary = result.summary.iloc[0].to_dict()
        return Outcome(str(path), True, str(folder), summary_line(summary), replaced=existed,
                       kept=kept, report=text, warnings=list(result.warnings),
                       seconds=time.perf_counter() - t0)
    except InputError as exc:
        return Outcome(str(path), False, error=str(exc), seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - one bad session must not stop a batch
        return Outcome(str(path), False, error=f"{type(exc).__name__}: {exc}",
                       input_error=False, seconds=time.perf_counter() - t0)


# ---- inputs -----------------------------------------------------------------------------------


def expand_inputs(items: list[str]) -> list[Path]:
    """Files as given; folders -> their ``*.raw.parquet`` (recursively, sorted); globs -> their
    matches. InputError for an argument that names nothing. Duplicates are dropped."""
    out: list[Path] = []
    for item in items:
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


def _duplicate_ids(paths: list[Path]) -> dict[Path, Path]:
    """Files whose metadata names the same session id as an earlier file: the later one would
    silently replace the earlier one's results, so it is not analysed."""
    from imu.io.rawfile import read_metadata

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


# ---- the command ------------------------------------------------------------------------------


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return dict(
        activity=args.activity,
        exercise=args.exercise,
        placement=args.placement,
        trunk_length_m=args.trunk_length_m,
        sensor_offset_m=args.sensor_offset_m,
    )


def _progress(done: int, total: int, failed: int, started: float, enabled: bool) -> None:
    if not enabled:
        return
    width = 24
    filled = int(width * done / total)
    rate = done / max(time.perf_counter() - started, 1e-9)
    eta = (total - done) / rate if done else float("nan")
    tail = f" ~{eta:.0f} s left" if done and done < total else ""
    bar = "#" * filled + "." * (width - filled)
    sys.stderr.write(f"\r[{bar}] {done}/{total} sessions, {failed} failed{tail}   ")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _print_outcome(o: Outcome, root: str) -> None:
    if o.ok:
        extra = ""
        if o.replaced:
            extra = " (re-analysed: tables replaced" + _kept_words(o.kept) + ")"
        print(f"ok      {Path(o.path).name} -> {Path(o.session_dir).name}: {o.line}{extra}")
        for line in o.warnings:
            print(f"imu: warning: {Path(o.path).name}: {line}", file=sys.stderr)
    else:
        print(f"FAILED  {o.path}: {o.error}")


def run(args: argparse.Namespace) -> int:
    from imu.core.options import check_options

    options = _options(args)
    check_options(**options)  # a bad option fails before any file is read
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --out exists and is not a directory")
    paths = expand_inputs(args.raw)
    if len(paths) == 1 and len(args.raw) == 1 and not Path(args.raw[0]).is_dir():
        return _run_single(paths[0], out, options, args.quiet)
    return run_batch(paths, out, options, jobs=args.jobs, quiet=args.quiet)


def _run_single(path: Path, out: Path, options: dict[str, Any], quiet: bool) -> int:
    o = analyze_one(path, out, options, report=not quiet)
    if not o.ok:
        if o.input_error:
            raise InputError(o.error)
        print(f"imu: error: {o.error}", file=sys.stderr)
        return EXIT_FAILED
    for line in o.warnings:
        print(f"imu: warning: {line}", file=sys.stderr)
    if o.report:
        print(o.report)
    note = ""
    if o.replaced:
        note = " (re-analysed: tables replaced" + _kept_words(o.kept) + ")"
    print(f"\nwrote {o.session_dir}{note}")
    return 0


def run_batch(paths: list[Path], out: Path, options: dict[str, Any], jobs: int | None = None,
              quiet: bool = False) -> int:
    """Analyse ``paths`` into ``out`` with ``jobs`` processes; one line per session, a
    progress line on a terminal; 0 if all succeeded, else 2 (bad input) or 1."""
    total = len(paths)
    dup = _duplicate_ids(paths)
    todo = [p for p in paths if p not in dup]
    jobs = min(jobs or os.cpu_count() or 1, max(len(todo), 1))
    show = not quiet and sys.stderr.isatty()
    outcomes: list[Outcome] = [
        Outcome(str(p), False, error=f"same session id as {first}; not analysed (its results "
                "would replace the other's)")
        for p, first in dup.items()
    ]
    for o in outcomes:
        _print_outcome(o, str(out))
    started = time.perf_counter()
    failed = len(outcomes)
    _progress(len(outcomes), total, failed, started, show)
    out.mkdir(parents=True, exist_ok=True)
    if jobs <= 1:
        results = (analyze_one(p, out, options) for p in todo)
        for o in results:
            outcomes.append(o)
            failed += not o.ok
            _clear(show)
            _print_outcome(o, str(out))
            _progress(len(outcomes), total, failed, started, show)
    else:
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
                outcomes.append(o)
                failed += not o.ok
                _clear(show)
                _print_outcome(o, str(out))
                _progress(len(outcomes), total, failed, started, show)
    ok = total - failed
    took = time.perf_counter() - started
    print(f"\n{ok} of {total} sessions analysed into {out} in {took:.1f} s"
          + (f"; {failed} failed" if failed else ""))
    if not failed:
        return 0
    bugs = [o for o in outcomes if not o.ok and not o.input_error]
    return EXIT_FAILED if bugs else EXIT_INPUT_ERROR


def _kept_words(kept: list[str]) -> str:
    if not kept:
        return ""
    words = [f"{k} redrawn" if k == REPORT_NAME else k for k in kept]
    return "; kept " + ", ".join(words)


def _clear(enabled: bool) -> None:
    if enabled:
        sys.stderr.write("\r" + " " * 78 + "\r")
        sys.stderr.flush()
