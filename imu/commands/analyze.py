"""``imu analyze RAW... --out DIR``: analyse raw sessions and write their tables.

One file prints its report; several files, a folder or a glob are analysed in a process pool
(``--jobs N``) or on a Dask cluster (``--dask ADDRESS``), with a progress line and one summary
line per session; the exit status is non-zero if any failed, and the others are still written.
The work itself is :mod:`imu.batch` (the per-file job :func:`imu.batch.analyze_one`, shared with
the Python API :func:`imu.analyze_many`); this module is the command line around it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imu.core.errors import EXIT_INPUT_ERROR, InputError
from imu.core.options import (
    DEFAULT_PLACEMENT,
    DEFAULT_TRUNK_LENGTH_M,
    OPTION_CHOICES,
    check_option,
)
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M

if TYPE_CHECKING:
    from imu.batch import Outcome

EXIT_FAILED = 1
"""Exit status when some session failed for a reason other than bad input (a bug: please
report it); bad input alone gives 2, as everywhere."""

EPILOG = f"""\
examples:
  imu analyze fixtures/demo/bridge_session.raw.parquet --out sessions/
  imu analyze recordings/ 'runs/*.raw.parquet' --out sessions/ --jobs 2  # folders, globs
  imu analyze study/raw/ --out study/sessions/ --dask tcp://scheduler:8786  # on a cluster

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
        " here; 1 = one after another in this process; with --dask local: its workers)",
    )
    p.add_argument(
        "--dask", metavar="ADDRESS", default=None,
        help="analyse on a Dask cluster instead: the scheduler's address (tcp://host:8786), "
        "or 'local' to start one on this machine with --jobs workers; the workers must see "
        "RAW and DIR at the same paths (default: none, local processes; needs "
        "pip install 'imu[dask]'; docs/scale.md)",
    )
    p.add_argument("--quiet", action="store_true",
                   help="no report, no progress line: only the summary lines and errors")
    p.set_defaults(func=run)


# ---- the command ------------------------------------------------------------------------------


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return dict(
        activity=args.activity,
        exercise=args.exercise,
        placement=args.placement,
        trunk_length_m=args.trunk_length_m,
        sensor_offset_m=args.sensor_offset_m,
    )


def _print_outcome(o: Outcome) -> None:
    if o.ok:
        print(f"ok      {Path(o.path).name} -> {Path(o.session_dir).name}: {o.line}"
              f"{o.replaced_note()}")
        for line in o.warnings:
            print(f"imu: warning: {Path(o.path).name}: {line}", file=sys.stderr)
    else:
        print(f"FAILED  {o.path}: {o.error}")


def run(args: argparse.Namespace) -> int:
    from imu.batch import expand_inputs
    from imu.core.options import check_options

    options = _options(args)
    check_options(**options)  # a bad option fails before any file is read
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --out exists and is not a directory")
    paths = expand_inputs(args.raw)
    if args.dask is not None:
        from imu.batch import dask_client

        with dask_client(args.dask, workers=args.jobs) as client:
            if not args.quiet:
                where = client.dashboard_link or client.scheduler.address
                print(f"Dask cluster: {len(client.scheduler_info()['workers'])} workers, "
                      f"dashboard {where}", file=sys.stderr)
            return run_batch(paths, out, options, quiet=args.quiet, client=client)
    if len(paths) == 1 and len(args.raw) == 1 and not Path(args.raw[0]).is_dir():
        return _run_single(paths[0], out, options, args.quiet)
    return run_batch(paths, out, options, jobs=args.jobs, quiet=args.quiet)


def _run_single(path: Path, out: Path, options: dict[str, Any], quiet: bool) -> int:
    from imu.batch import analyze_one

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
    print(f"\nwrote {o.session_dir}{o.replaced_note()}")
    return 0


def run_batch(paths: list[Path], out: Path, options: dict[str, Any], jobs: int | None = None,
              quiet: bool = False, client: Any = None) -> int:
    """Analyse ``paths`` into ``out`` (:func:`imu.batch.analyze_many`: ``jobs`` processes, or
    the Dask cluster of ``client``); one line per session, a progress line on a terminal; 0 if
    all succeeded, else 2 (bad input) or 1."""
    import time

    from imu.batch import analyze_many

    started = time.perf_counter()
    outcomes = analyze_many(paths, out, jobs=jobs, client=client, on_outcome=_print_outcome,
                            progress=not quiet and sys.stderr.isatty(), **options)
    total = len(outcomes)
    failed = sum(not o.ok for o in outcomes)
    took = time.perf_counter() - started
    print(f"\n{total - failed} of {total} sessions analysed into {out} in {took:.1f} s"
          + (f"; {failed} failed" if failed else ""))
    if not failed:
        return 0
    bugs = [o for o in outcomes if not o.ok and not o.input_error]
    return EXIT_FAILED if bugs else EXIT_INPUT_ERROR
