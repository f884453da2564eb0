"""Help that helps (issue 11): every option says what it is with its default (and unit where it
has one), every command ends with two or three examples, and `imu --help` stays fast: it
imports neither numpy nor pandas."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imu.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    out: dict[str, argparse.ArgumentParser] = {}

    def walk(p: argparse.ArgumentParser, prefix: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                        walk(sub, f"{prefix}{name} ")
                    else:
                        out[f"{prefix}{name}"] = sub

    walk(parser, "")
    return out


COMMANDS = _commands()


def test_every_command_is_covered() -> None:
    assert {"analyze", "simulate", "scan", "record", "firmware deploy", "trends",
            "report"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_documented_with_its_default(name: str) -> None:
    parser = COMMANDS[name]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        label = "/".join(action.option_strings) or action.dest
        assert action.help and action.help != argparse.SUPPRESS, f"{name} {label}: no help"
        flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        if action.option_strings and not flag and not action.required:
            assert "default" in action.help, f"{name} {label}: help does not give the default"
        if re.search(r"(_s|_m|_hz|_dps|_g)$", action.dest):
            assert re.search(r"seconds|metres|Hz|deg/s|\bg\b|real time", action.help), (
                f"{name} {label}: help does not name the unit"
            )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_ends_with_examples(name: str) -> None:
    text = COMMANDS[name].format_help()
    assert "examples:" in text, f"imu {name} --help has no examples"
    after = text.split("examples:", 1)[1]
    examples = [ln for ln in after.splitlines() if ln.startswith("  imu ")]
    assert 2 <= len(examples) <= 3, examples
    for ln in examples:
        assert f"imu {name}" in ln


def test_top_level_help_points_a_newcomer_somewhere() -> None:
    text = build_parser().format_help()
    assert "imu analyze fixtures/demo/bridge_session.raw.parquet" in text
    assert "imu simulate --days 30" in text


def test_help_imports_no_numpy_or_pandas() -> None:
    """`imu --help` builds every command's parser without the analysis stack."""
    code = (
        "import sys, contextlib, io\n"
        "from imu.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for argv in (['--help'], ['analyze', '--help'], ['trends', '--help']):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "heavy = [m for m in ('numpy', 'pandas', 'pyarrow', 'scipy', 'matplotlib', 'dask',"
        " 'distributed', 'imu.batch', 'imu.analysis') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "", f"imu --help imported {out.stdout.strip()}"
