"""``imu report SESSION_DIR``: one self-contained HTML page with the session's verdicts, plots
and tables."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  imu report sessions/session=029fd8ff2ab8                 # -> that folder's report.html
  imu report sessions/session=029fd8ff2ab8 --out bridges.html
  imu analyze fixtures/demo/run_session.raw.parquet --out s/ && imu report s/session=*/

The page needs no internet and no other file (plots are embedded), so it can be mailed or
archived. A report.html inside the session folder is kept, and redrawn, when the session is
analysed again.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report of an analysed session",
        description="Write one HTML page for an analysed session: verdicts in plain words, "
        "plots and tables.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("session_dir", metavar="SESSION_DIR",
                   help="a DIR/session=<id> folder written by imu analyze")
    p.add_argument(
        "--out",
        metavar="FILE.html",
        default=None,
        help="output file (default: SESSION_DIR/report.html)",
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
