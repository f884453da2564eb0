"""The ``imu`` command line. Each subcommand lives in ``imu/commands/<name>.py`` and registers
itself through ``register(subparsers)``; heavy imports happen inside the handlers so that
``imu --help`` stays fast.

Errors in the user's input print one line ``imu: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from imu.core.errors import EXIT_INPUT_ERROR, InputError
from imu.core.version import __version__

DESCRIPTION = (
    "Companion for a hip-worn motion sensor: reps, tempo and lockout pelvic tilt of glute work;\n"
    "steps, contact time and pelvic drop of runs."
)

COMMAND_MODULES = (
    "imu.commands.analyze",
    "imu.commands.simulate",
    "imu.commands.ble",
    "imu.commands.trends",
    "imu.commands.report",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(EXIT_INPUT_ERROR, f"imu: error: {message}\n")


EPILOG = """\
start here (no sensor needed):
  imu analyze fixtures/demo/bridge_session.raw.parquet --out sessions/
  imu simulate --days 30 --out month/ && imu trends month/
  imu report sessions/session=<id>          # one HTML page with plots

`imu COMMAND --help` shows each command's options, defaults and examples. Bad input prints
one line `imu: error: ...` and exits with status 2.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imu",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imu {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command not built yet must not break the others
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"imu: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("imu: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `imu analyze ... | head`: the reader left, not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
