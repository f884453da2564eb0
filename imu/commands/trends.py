"""``imu trends DIR``: trends across every analysed session under DIR (docs/trends.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("table", "csv", "parquet", "json")


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
    from imu.trends import compute_trends, write_trend_plots

    if args.format == "parquet" and args.out is None:
        raise InputError("--format parquet needs --out FILE")
    report = compute_trends(args.dir)
    if args.format == "table":
        text = report.to_text()
    elif args.format == "json":
        text = report.to_json() + "\n"
    elif args.format == "csv":
        text = report.long_table().to_csv(index=False, date_format="%Y-%m-%d")
    else:
        text = None
    if args.out is not None:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        if text is None:
            report.long_table().to_parquet(tmp, index=False)
        else:
            tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    else:
        sys.stdout.write(text or "")
    if args.plot is not None:
        paths = write_trend_plots(report, args.plot)
        print(f"wrote {len(paths)} plot(s) to {args.plot}", file=sys.stderr)
    return 0
