"""``imu trends DIR``: trends across every analysed session under DIR (docs/trends.md)."""

from __future__ import annotations

import argparse
import sys

from imu.commands.analyze import positive_int

FORMATS = ("table", "csv", "parquet", "json")
"""What :mod:`imu.trends.text` renders (table, CSV, JSON) or writes (also Parquet)."""

EPILOG = """\
examples:
  imu trends sessions/                          # weekly table, trends, flags in words
  imu trends sessions/ --weeks 4 --plot plots/  # the last 4 weeks, with one PNG per metric
  imu trends sessions/ --format csv --out trends.csv

A trend is flagged only when it is both statistically clear (95% CI of the weekly slope
excludes zero, Holm-corrected over all metrics) and large enough to matter (docs/trends.md).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trends",
        help="weekly training days, streaks, reps, tilt, tempo and run metrics with their trends",
        description="Trends across every session analysed into DIR: training days and streaks, "
        "reps,\nposterior tilt, form breaks, tempo, and run metrics, week by week.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="the --out folder of imu analyze")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (readable), csv or parquet (one row per ISO week and metric), json "
        "(default: table)",
    )
    p.add_argument("--weeks", type=positive_int, default=None, metavar="N",
                   help="only the last N ISO weeks, counted back from the latest session "
                   "(default: all)")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write here instead of printing (default: print; required for "
                   "parquet)")
    p.add_argument("--plot", metavar="DIR", default=None,
                   help="also write one trend plot (PNG) per metric into this folder "
                   "(default: none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from imu.core.errors import InputError
    from imu.io.catalog import UnreadableSessionWarning
    from imu.io.store import output_file, output_folder
    from imu.trends import compute_trends
    from imu.trends.text import render, write

    if args.format == "parquet" and args.out is None:
        raise InputError("--format parquet needs --out FILE")
    if args.out is not None:
        output_file(args.out, "--out")
    if args.plot is not None:
        output_folder(args.plot, "--plot")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableSessionWarning)
        report = compute_trends(args.dir, weeks=args.weeks)
    left_out = [w for w in caught if issubclass(w.category, UnreadableSessionWarning)]
    for w in left_out:  # one line each, then the count: the others were read
        print(f"imu: warning: {w.message}", file=sys.stderr)
    try:
        if args.out is not None:
            write(report, args.format, args.out)
        else:
            sys.stdout.write(render(report, args.format))
        if args.plot is not None:
            from imu.viz.trends import write_trend_plots

            paths = write_trend_plots(report, args.plot)
            print(f"wrote {len(paths)} plot(s) to {args.plot}", file=sys.stderr)
    except OSError as exc:
        what = exc.filename or args.out
        raise InputError(f"cannot write {what}: {exc.strerror or exc}") from None
    if left_out:
        print(f"imu: {len(left_out)} session folder(s) left out (see the warnings above)",
              file=sys.stderr)
    return 0
