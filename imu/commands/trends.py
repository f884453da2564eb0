"""``imu trends DIR``: trends across every analysed session under DIR (docs/trends.md)."""

from __future__ import annotations

import argparse
import sys

FORMATS = ("table", "csv", "parquet", "json")
"""What :mod:`imu.trends.text` renders (table, CSV, JSON) or writes (also Parquet)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trends",
        help="weekly training days, streaks, reps, tilt, tempo and run metrics with their trends",
    )
    p.add_argument("dir", metavar="DIR", help="the --out folder of imu analyze")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (readable), csv/parquet (one row per ISO week and metric), json",
    )
    p.add_argument("--out", metavar="FILE", default=None, help="write here instead of stdout")
    p.add_argument("--plot", metavar="DIR", default=None, help="write trend plots (PNG) here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imu.core.errors import InputError
    from imu.trends import compute_trends
    from imu.trends.text import render, write

    if args.format == "parquet" and args.out is None:
        raise InputError("--format parquet needs --out FILE")
    report = compute_trends(args.dir)
    if args.out is not None:
        write(report, args.format, args.out)
    else:
        sys.stdout.write(render(report, args.format))
    if args.plot is not None:
        from imu.viz.trends import write_trend_plots

        paths = write_trend_plots(report, args.plot)
        print(f"wrote {len(paths)} plot(s) to {args.plot}", file=sys.stderr)
    return 0
