"""``imu report SESSION_DIR``: one self-contained HTML page with the session's plots."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report of an analysed session")
    p.add_argument("session_dir", metavar="SESSION_DIR", help="a DIR/session=<id> folder")
    p.add_argument(
        "--out",
        metavar="FILE.html",
        default=None,
        help="output file (default SESSION_DIR/report.html)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imu.core.errors import InputError
    from imu.io.store import output_file
    from imu.render.html import write_report

    if args.out is not None:
        output_file(args.out, "--out")
    try:
        path = write_report(args.session_dir, args.out)
    except OSError as exc:
        what = exc.filename or args.out
        raise InputError(f"cannot write {what}: {exc.strerror or exc}") from None
    print(f"wrote {path}", file=sys.stderr)
    return 0
