"""``imu scan``, ``imu record`` and ``imu firmware deploy``: the sensor over Bluetooth LE.

See docs/ble.md. ``--virtual bridge|run|FILE.raw.parquet`` runs the sensor firmware in-process
(Bumble), so every command works without hardware.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imu.commands.analyze import positive_float
from imu.core.exercises import EXERCISES
from imu.core.options import DEFAULT_PLACEMENT, DEFAULT_TRUNK_LENGTH_M
from imu.core.vocabulary import ACTIVITIES, PLACEMENTS
from imu.device.facts import (
    ACC_RANGES_G,
    DEFAULT_ACC_RANGE_G,
    DEFAULT_GYR_RANGE_DPS,
    DEFAULT_RATE_HZ,
    GYR_RANGES_DPS,
    RATES_HZ,
)

EXIT_DEVICE = 1
"""Exit status when the sensor cannot be found or the link fails for good."""


SCAN_EPILOG = """\
examples:
  imu scan                       # sensors advertising as IMU-* within 5 s
  imu scan --timeout-s 15
  imu scan --virtual bridge      # no radio: a virtual sensor in this process (Bumble)
"""

RECORD_EPILOG = """\
examples:
  imu record --out recordings/ --placement right_hip --activity run
  imu record --out recordings/ --name IMU-3F2A --rate-hz 416 --duration-s 1800
  imu record --out recordings/ --virtual bridge --time-scale 10   # no radio needed

The raw file is written crash-safe as it arrives (recordings/<UTC time>-<id>.raw.parquet) and
analysed when recording stops (Ctrl-C or --duration-s), unless --no-analyze. Tell it where the
sensor is (--placement): stored in the file, it keeps left and right right in run metrics.
Exit status 1 when the sensor cannot be found or the link fails for good.
"""

DEPLOY_EPILOG = """\
examples:
  imu firmware deploy --port /dev/ttyACM0
  imu firmware deploy --port COM3 --dry-run      # print the mpremote commands only
"""


def register(sub: argparse._SubParsersAction) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("scan", help="list sensors in range (Bluetooth LE)", epilog=SCAN_EPILOG,
                       formatter_class=raw,
                       description="List the IMU sensors advertising nearby, with their "
                       "address\nand signal strength.")
    p.add_argument("--timeout-s", type=float, default=5.0, metavar="S",
                   help="how long to listen, in seconds (default: 5)")
    p.add_argument("--virtual", choices=("bridge", "run"),
                   help="scan a virtual sensor run in this process instead of the radio "
                   "(default: the radio)")
    p.set_defaults(func=run_scan)

    r = sub.add_parser("record", help="record a session from the sensor (crash-safe)",
                       epilog=RECORD_EPILOG, formatter_class=raw,
                       description="Stream a session from the sensor over Bluetooth LE into a "
                       "raw file, then analyse it.\nNo sample is lost across link losses or "
                       "sensor reboots (docs/ble.md).")
    r.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the raw file (and the analysis, in DIR/session=<id>/)")
    who = r.add_mutually_exclusive_group()
    who.add_argument("--name", help="advertised name, e.g. IMU-3F2A (default: the first IMU-*)")
    who.add_argument("--address", help="Bluetooth address (a UUID on macOS) (default: by name)")
    r.add_argument("--rate-hz", type=int, choices=RATES_HZ, default=DEFAULT_RATE_HZ,
                   help=f"sample rate in Hz (default: {DEFAULT_RATE_HZ})")
    r.add_argument("--acc-range-g", type=int, choices=ACC_RANGES_G, default=DEFAULT_ACC_RANGE_G,
                   help=f"accelerometer full scale in g (default: {DEFAULT_ACC_RANGE_G}); "
                   "sprints and jumps may need 16")
    r.add_argument("--gyr-range-dps", type=int, choices=GYR_RANGES_DPS,
                   default=DEFAULT_GYR_RANGE_DPS,
                   help=f"gyroscope full scale in deg/s (default: {DEFAULT_GYR_RANGE_DPS})")
    r.add_argument("--duration-s", type=float, metavar="S",
                   help="stop after this much session time in seconds (default: until Ctrl-C)")
    r.add_argument("--placement", choices=PLACEMENTS,
                   help="where the sensor is clipped, stored in the file (default: not stored; "
                   f"the analysis then assumes {DEFAULT_PLACEMENT})")
    r.add_argument("--activity", choices=ACTIVITIES,
                   help="what you will do, stored in the file (default: detected)")
    r.add_argument("--exercise", choices=EXERCISES, metavar="NAME",
                   help="the exercise of every set, stored in the file (default: recognised)")
    r.add_argument(
        "--trunk-length-m", type=positive_float, metavar="M",
        help="shoulder to hip joint in metres (bridge tilt); stored in the raw file's metadata "
        f"(default: not stored; the analysis then uses {DEFAULT_TRUNK_LENGTH_M:g})",
    )
    r.add_argument("--session-name", metavar="STEM",
                   help="file stem (default: UTC time + session id)")
    r.add_argument("--scan-timeout-s", type=float, default=10.0, metavar="S",
                   help="how long to look for the sensor, in seconds (default: 10)")
    r.add_argument(
        "--virtual", metavar="bridge|run|FILE.raw.parquet",
        help="no radio: run the sensor firmware in-process (Bumble) on a simulated session "
        "(bridge, run) or on a recorded raw file (default: the real sensor over the radio)",
    )
    r.add_argument("--time-scale", type=float, default=1.0, metavar="X",
                   help="--virtual: how many times faster than real time (default: 1)")
    r.add_argument("--seed", type=int, default=0, metavar="N",
                   help="--virtual bridge|run: simulation seed (default: 0)")
    r.add_argument("--no-analyze", action="store_true",
                   help="only write the raw file (default: analyse it when recording stops)")
    r.add_argument("--quiet", action="store_true",
                   help="no live line (rep count, samples, link state) while recording")
    r.set_defaults(func=run_record)

    f = sub.add_parser("firmware", help="sensor firmware tools",
                       description="Tools for the sensor's MicroPython firmware.")
    fsub = f.add_subparsers(dest="firmware_command", metavar="ACTION")
    fsub.required = True
    d = fsub.add_parser("deploy", help="copy the MicroPython firmware to a board over USB",
                        epilog=DEPLOY_EPILOG, formatter_class=raw,
                        description="Copy the firmware (shipped with this package) to a "
                        "MicroPython board\nover USB with mpremote, and restart it.")
    d.add_argument("--port", required=True,
                   help="serial port of the board, e.g. /dev/ttyACM0 or COM3 (required)")
    d.add_argument("--dry-run", action="store_true", help="print the mpremote commands only")
    d.set_defaults(func=run_deploy)


def _positive(name: str, value: float | None) -> None:
    from imu.core.errors import InputError

    if value is not None and not value > 0:
        raise InputError(f"{name} must be positive, got {value:g}")


def run_scan(args: argparse.Namespace) -> int:
    import asyncio

    from bleak.exc import BleakError

    from imu.ble.client import scan

    _positive("--timeout-s", args.timeout_s)

    async def go() -> list:
        if args.virtual:
            from imu.recording import RecordOptions, start_virtual, virtual_recording

            opts = RecordOptions(out_dir=Path("."), virtual=args.virtual)
            rec, _ = virtual_recording(opts)
            sensor, radio, _ = await start_virtual(rec, opts)
            try:
                return await scan(args.timeout_s, scanner_backend=radio.scanner_backend)
            finally:
                await sensor.stop()
        return await scan(args.timeout_s)

    try:
        found = asyncio.run(go())
    except (BleakError, OSError) as exc:
        print(f"imu: error: Bluetooth adapter unavailable: {_one_line(exc)}", file=sys.stderr)
        return EXIT_DEVICE
    if not found:
        print(f"no sensor found within {args.timeout_s:g} s", file=sys.stderr)
        return EXIT_DEVICE
    for device, ad in found:
        print(f"{device.address}  {ad.local_name or device.name or '?'}  rssi {ad.rssi} dBm")
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def run_record(args: argparse.Namespace) -> int:
    import asyncio

    from bleak.exc import BleakError

    from imu.ble.client import DeviceNotFoundError
    from imu.core.errors import InputError
    from imu.recording import RecordOptions, record

    _positive("--duration-s", args.duration_s)
    _positive("--time-scale", args.time_scale)
    _positive("--scan-timeout-s", args.scan_timeout_s)
    if args.time_scale != 1.0 and not args.virtual:
        raise InputError("--time-scale only applies with --virtual")
    if args.virtual and (args.name or args.address):
        raise InputError("--virtual runs its own sensor; drop --name/--address")
    opts = RecordOptions(
        out_dir=Path(args.out), name=args.name, address=args.address, rate_hz=args.rate_hz,
        acc_range_g=args.acc_range_g, gyr_range_dps=args.gyr_range_dps,
        duration_s=args.duration_s, placement=args.placement, activity=args.activity,
        exercise=args.exercise, trunk_length_m=args.trunk_length_m, virtual=args.virtual,
        time_scale=args.time_scale,
        scan_timeout_s=args.scan_timeout_s, analyze=not args.no_analyze,
        session_name=args.session_name, live=not args.quiet, seed=args.seed,
    )
    try:
        result = asyncio.run(record(opts))
    except DeviceNotFoundError as exc:
        print(f"imu: error: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    except (BleakError, OSError) as exc:
        print(f"imu: error: Bluetooth adapter unavailable or failing: {_one_line(exc)}",
              file=sys.stderr)
        return EXIT_DEVICE
    s = result.stats
    if result.path is None:
        print("imu: error: no samples were received", file=sys.stderr)
        return EXIT_DEVICE
    print(
        f"recorded {result.n_samples} samples to {result.path} "
        f"(lost {result.lost_samples}, link losses {s.link_losses}, reboots {s.reboots}, "
        f"malformed notifications {result.malformed})"
    )
    if result.analysis is not None:
        from imu.render.terminal import render

        print(render(result.analysis))
        print(f"wrote {result.analysis_dir}")
    for err in s.errors:
        print(f"imu: warning: {err}", file=sys.stderr)
    return 0 if not s.errors else EXIT_DEVICE


def run_deploy(args: argparse.Namespace) -> int:
    from imu.device import firmware as firmware_tools

    try:
        cmds = firmware_tools.deploy(port=args.port, dry_run=args.dry_run)
    except (RuntimeError, OSError) as exc:
        print(f"imu: error: firmware deploy failed: {_one_line(exc)}", file=sys.stderr)
        return EXIT_DEVICE
    if args.dry_run:
        for c in cmds:
            print(" ".join(c))
    else:
        print(f"deployed the firmware to {args.port} ({len(cmds)} mpremote steps)")
    return 0
