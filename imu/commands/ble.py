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

PAIR_EPILOG = """\
examples:
  imu pair                          # the one sensor advertising as IMU-*
  imu pair --name IMU-3F2A
"""

RECOVER_EPILOG = """\
examples:
  imu recover recordings/           # after a kill, a crash or a full disk
  imu recover recordings/ && imu analyze recordings/ --out sessions/
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

    pr = sub.add_parser("pair", help="bond this computer with the sensor (encrypted control)",
                        epilog=PAIR_EPILOG, formatter_class=raw,
                        description="Bond this computer with the sensor (LE Secure Connections) "
                        "within 2 minutes of\nswitching it on; afterwards only bonded computers "
                        "can start, stop or set it up\n(docs/ble.md: the security model).")
    pick = pr.add_mutually_exclusive_group()
    pick.add_argument("--name", help="advertised name, e.g. IMU-3F2A (default: the one IMU-*)")
    pick.add_argument("--address", help="Bluetooth address (a UUID on macOS) (default: by name)")
    pr.add_argument("--scan-timeout-s", type=float, default=10.0, metavar="S",
                    help="how long to look for the sensor, in seconds (default: 10)")
    pr.add_argument("--virtual", choices=("bridge", "run"),
                    help="pair with a virtual sensor run in this process instead of the radio "
                    "(default: the radio)")
    pr.set_defaults(func=run_pair)

    rc = sub.add_parser("recover", help="merge interrupted recordings in DIR into raw files",
                        epilog=RECOVER_EPILOG, formatter_class=raw,
                        description="Merge the parts an interrupted `imu record` left in DIR "
                        "(killed, disk full)\ninto raw files; parts a running recorder still "
                        "writes are left alone.")
    rc.add_argument("dir", metavar="DIR", help="the --out folder of imu record")
    rc.set_defaults(func=run_recover)

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

    from imu.ble.discovery import scan

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
        print(_adapter_error(exc, "imu scan --virtual bridge"), file=sys.stderr)
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


def _adapter_error(exc: BaseException, instead: str) -> str:
    """The one line for a Bluetooth stack that is missing or failing (no adapter, no BlueZ
    or D-Bus, no permission), with the way to go on without a radio."""
    return (
        f"imu: error: no usable Bluetooth adapter ({_one_line(exc)}); "
        f"without a radio, try: {instead}"
    )


def run_record(args: argparse.Namespace) -> int:
    import asyncio

    from bleak.exc import BleakError

    from imu.ble.discovery import DeviceNotFoundError, SensorError
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
    except (DeviceNotFoundError, SensorError) as exc:
        print(f"imu: error: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    except (BleakError, OSError) as exc:  # write errors are InputErrors by now (one line, 2)
        print(_adapter_error(exc, f"imu record --virtual bridge --out {args.out}"),
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


def run_pair(args: argparse.Namespace) -> int:
    import asyncio

    from bleak.exc import BleakError

    from imu.ble.discovery import DeviceNotFoundError, SensorError
    from imu.ble.pairing import Paired, pair_sensor

    _positive("--scan-timeout-s", args.scan_timeout_s)

    async def go() -> Paired:
        kw = dict(name=args.name, address=args.address, scan_timeout_s=args.scan_timeout_s)
        if args.virtual:  # an in-process sensor (tests, demos): it is gone when this ends
            from imu.recording import RecordOptions, start_virtual, virtual_recording

            opts = RecordOptions(out_dir=Path("."), virtual=args.virtual)
            rec, _ = virtual_recording(opts)
            sensor, radio, _ = await start_virtual(rec, opts)
            try:
                return await pair_sensor(**kw, scanner_backend=radio.scanner_backend,
                                         client_backend=radio.client_backend)
            finally:
                await sensor.stop()
        return await pair_sensor(**kw)

    try:
        paired = asyncio.run(go())
    except (DeviceNotFoundError, SensorError) as exc:
        print(f"imu: error: {exc}", file=sys.stderr)
        return EXIT_DEVICE
    except (BleakError, OSError) as exc:
        print(_adapter_error(exc, "imu record --virtual bridge --out DIR"), file=sys.stderr)
        return EXIT_DEVICE
    print(f"bonded with {paired.name or 'the sensor'} {paired.address}; "
          f"record with: imu record --address {paired.address} --out DIR")
    return 0


def run_recover(args: argparse.Namespace) -> int:
    from imu.core.errors import InputError
    from imu.io.chunks import is_live, leftovers, recover_leftovers

    folder = Path(args.dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    try:
        done = recover_leftovers(folder)
    except OSError as exc:
        raise InputError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    for p in done:
        print(f"recovered {p}")
    live = [d for d in leftovers(folder) if is_live(d)]
    for d in live:
        print(f"imu: {d} is being recorded right now (left alone)", file=sys.stderr)
    if not done and not live:
        print(f"nothing to recover in {folder}")
    return 0


def run_deploy(args: argparse.Namespace) -> int:
    import os

    from imu.device import firmware as firmware_tools

    port = args.port
    a_path = port.startswith("/dev/") or os.sep in port  # COM3 on Windows is not a path
    if not args.dry_run and a_path and not os.path.exists(port):
        print(f"imu: error: no serial port {port} (is the board plugged in? its port is "
              "usually /dev/ttyACM0 on Linux, /dev/cu.usbmodem* on macOS)", file=sys.stderr)
        return EXIT_DEVICE
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
