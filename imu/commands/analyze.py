"""``imu analyze RAW.parquet --out DIR``: analyse a raw session and write its tables."""

from __future__ import annotations

import argparse

from imu.core.errors import InputError
from imu.core.options import OPTION_CHOICES, check_option


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


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``analyze`` and ``record`` (contract section 3)."""
    p.add_argument("--activity", choices=OPTION_CHOICES["activity"], default="auto")
    p.add_argument("--exercise", choices=OPTION_CHOICES["exercise"], default=None)
    p.add_argument("--placement", choices=OPTION_CHOICES["placement"], default=None)
    p.add_argument("--trunk-length-m", type=positive_float, default=None, metavar="M")
    p.add_argument("--sensor-offset-m", type=parse_offset, default=None, metavar="X,Y,Z")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="analyse a raw session and write its Parquet tables")
    p.add_argument("raw", metavar="RAW.parquet")
    p.add_argument("--out", required=True, metavar="DIR")
    add_analysis_options(p)
    p.add_argument("--quiet", action="store_true", help="do not print the table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imu.analysis import analyze
    from imu.render.terminal import render

    result = analyze(
        args.raw,
        activity=args.activity,
        exercise=args.exercise,
        placement=args.placement,
        trunk_length_m=args.trunk_length_m,
        sensor_offset_m=args.sensor_offset_m,
    )
    try:
        folder = result.write(args.out)
    except OSError as exc:
        raise InputError(f"cannot write to {args.out}: {exc.strerror or exc}") from None
    if not args.quiet:
        print(render(result))
    print(f"\nwrote {folder}")
    return 0
