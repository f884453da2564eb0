"""``imu ARGS`` run in the test's own process (fast), for the tests of bad input: the exit code
and what the command printed on stdout and stderr. Imported by the test modules as
``from cli_runner import cli`` (pytest puts ``tests/`` on the module path)."""

from __future__ import annotations

import contextlib
import io

from imu.cli import main


def cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``imu ARGS``; argparse's own errors exit from the parser."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()
