"""Firmware helpers: compile-check every firmware file with mpy-cross, deploy with mpremote.

``python -m imu.device.firmware check`` compiles each ``imu/firmware/**/*.py`` with the real
MicroPython compiler (mpy-cross) and exits non-zero if any file fails; ``deploy(port)`` copies
the firmware to a board's filesystem with mpremote and resets it. ``bench`` prints the speed
of the host's packet decoder.

The firmware is package data of ``imu`` (``imu/firmware/``, shipped in the wheel, not a Python
package of the host), found with :mod:`importlib.resources`, so the virtual sensor and
``imu firmware deploy`` work from an installed package as from a checkout.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np

from imu.device import protocol as P

FIRMWARE_DIR: Final[Path] = Path(str(resources.files("imu").joinpath("firmware")))
"""The MicroPython firmware of the installed (or checked-out) package: ``main.py`` and the
``imu_fw`` package (a file-system path: the package is installed unzipped)."""


def firmware_files(root: Path = FIRMWARE_DIR) -> list[Path]:
    """Every MicroPython source file of the firmware, sorted."""
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _tool(name: str) -> list[str]:
    """The command for a tool installed next to this Python (venv) or on PATH."""
    local = Path(sys.executable).with_name(name)
    if local.exists():
        return [str(local)]
    found = shutil.which(name)
    if found:
        return [found]
    return [sys.executable, "-m", name.replace("-", "_")]


def check(root: Path = FIRMWARE_DIR) -> list[tuple[Path, str]]:
    """Compile every firmware file with mpy-cross; returns (file, error) for each failure."""
    failures: list[tuple[Path, str]] = []
    files = firmware_files(root)
    if not files:
        return [(root, "no firmware files found")]
    with tempfile.TemporaryDirectory() as tmp:
        for i, f in enumerate(files):
            out = Path(tmp) / f"{i}.mpy"
            r = subprocess.run([*_tool("mpy-cross"), "-o", str(out), str(f)],
                               capture_output=True, text=True, check=False)
            if r.returncode != 0 or not out.exists():
                failures.append((f, (r.stderr or r.stdout).strip()))
    return failures


def deploy(port: str, root: Path = FIRMWARE_DIR, dry_run: bool = False) -> list[list[str]]:
    """Copy the firmware to the board on ``port`` (e.g. /dev/ttyACM0) with mpremote and reset.

    Returns the mpremote commands (all of them are run unless ``dry_run``).
    """
    failures = check(root)
    if failures:
        raise RuntimeError(f"firmware does not compile: {failures[0][0]}: {failures[0][1]}")
    base = [*_tool("mpremote"), "connect", port]
    cmds: list[list[str]] = []
    dirs = sorted({p.parent.relative_to(root) for p in firmware_files(root)} - {Path(".")})
    for d in dirs:
        cmds.append([*base, "fs", "mkdir", f":{d.as_posix()}"])
    for f in firmware_files(root):
        cmds.append([*base, "fs", "cp", str(f), f":{f.relative_to(root).as_posix()}"])
    cmds.append([*base, "reset"])
    if not dry_run:
        for c in cmds:
            r = subprocess.run(c, capture_output=True, text=True, check=False)
            if r.returncode != 0 and "mkdir" not in c and "EEXIST" not in r.stderr:
                raise RuntimeError(f"mpremote failed: {' '.join(c)}: {r.stderr.strip()}")
    return cmds


def bench_decoder(n_packets: int = 20000, samples_per_packet: int = 19, repeat: int = 5,
                  mixed: bool = False) -> float:
    """Throughput of :func:`imu.device.protocol.decode_stream` in MB/s of packet bytes (best of
    ``repeat``) on full MTU-247 packets; ``mixed`` adds a malformed packet, which takes the
    general (byte-mask) path instead of the equal-packets fast path."""
    rng = np.random.default_rng(0)
    counts = rng.integers(-32768, 32767, (n_packets, samples_per_packet, 6)).astype(np.int16)
    packets = [P.DataPacket(seq=i * samples_per_packet, ticks=i * 7300, acc_counts=c[:, :3],
                            gyr_counts=c[:, 3:], rate_hz=104).encode()
               for i, c in enumerate(counts)]
    if mixed:
        packets.append(b"\x10\x00")
    size = sum(map(len, packets))
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        P.decode_stream(packets)
        best = min(best, time.perf_counter() - t0)
    return size / best / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imu.device.firmware")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="compile every firmware file with mpy-cross")
    sub.add_parser("bench", help="measure the host packet decoder (MB/s)")
    d = sub.add_parser("deploy", help="copy the firmware to a board with mpremote")
    d.add_argument("--port", required=True)
    d.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    if args.cmd == "check":
        failures = check()
        for f, err in failures:
            print(f"FAIL {f}: {err}", file=sys.stderr)
        if not failures:
            print(f"ok: {len(firmware_files())} firmware files compile with mpy-cross")
        return 1 if failures else 0
    if args.cmd == "bench":
        print(f"decode_stream: {bench_decoder():.0f} MB/s (20000 packets of 19 samples), "
              f"{bench_decoder(mixed=True):.0f} MB/s with a malformed packet (general path)")
        return 0
    for c in deploy(args.port, dry_run=args.dry_run):
        if args.dry_run:
            print(" ".join(c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
