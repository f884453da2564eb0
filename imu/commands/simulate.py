"""``imu simulate``: write a simulated raw session (and optionally its ground truth), or with
``--days N`` a whole simulated stretch of training, analysed and ready for ``imu trends``.

Every simulated session's id is unique per content (a hash of its samples), so different
exercises, options or seeds never share one; an existing output file is never replaced
without ``--force``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import textwrap
from pathlib import Path

from imu.commands.analyze import positive_int
from imu.core.errors import InputError
from imu.core.exercises import EXERCISES
from imu.core.vocabulary import PLACEMENTS

ACTIVITIES = ("strength", "run", "workout")
"""What one simulated session holds; ``workout`` is a mixed workout (imu.sim, issue 9)."""

EPILOG = """\
examples:
  imu simulate --out bridges.raw.parquet                       # 3 sets of glute bridges
  imu simulate --activity run --duration-s 300 --placement right_hip --out run.raw.parquet
  imu simulate --days 30 --out month/ && imu trends month/     # a month of training, trends

--days N writes N days of sessions (bridge days, a run every third day, with built-in trends:
more reps per day, right-side pelvic drop rising) as raw files under DIR/raw/, analyses them
into DIR/session=<id>/ and prints one line per session: `imu trends DIR` then works at once.
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a session (or --days N of training) with ground truth",
        description=textwrap.fill(
            "Simulate what the sensor would record, from a physical model of the pelvis and "
            "the sensor (docs/simulation.md), and write it as a raw session file that "
            "`imu analyze` reads; with --truth, also the true tables. With --days N, a stretch "
            "of daily sessions, analysed, for `imu trends`.", 88),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--activity", choices=ACTIVITIES, default="strength",
                   help="strength sets, a run, or a mixed workout (default: strength)")
    p.add_argument("--exercise", choices=EXERCISES, default="glute_bridge", metavar="NAME",
                   help="strength: the exercise of every set (default: glute_bridge). One of: "
                   + ", ".join(EXERCISES))
    p.add_argument("--sets", type=positive_int, default=3, metavar="N",
                   help="strength: number of sets (default: 3)")
    p.add_argument("--reps", type=positive_int, default=None, metavar="N",
                   help="strength: reps per set (default: 5 to 15, drawn per set)")
    p.add_argument("--no-walking", action="store_true",
                   help="strength: rest between sets without walking (default: walk)")
    p.add_argument(
        "--mounting", choices=("random", "identity"), default="random",
        help="sensor orientation on the pelvis: random (any, as people clip it) or identity "
        "(sensor axes = pelvis axes) (default: random)",
    )
    p.add_argument("--duration-s", type=float, default=600.0, metavar="S",
                   help="run: running time in seconds (default: 600)")
    p.add_argument("--rate-hz", type=float, default=200.0, metavar="HZ",
                   help="sample rate in Hz, 50 to 1000 (default: 200)")
    p.add_argument("--placement", choices=PLACEMENTS, default="left_hip",
                   help="where the simulated sensor is clipped (default: left_hip)")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="random seed: the same seed and options give the same session "
                   "(default: 0)")
    p.add_argument("--out", required=True, metavar="FILE.raw.parquet|DIR",
                   help="the raw file to write; with --days, the folder for the sessions")
    p.add_argument("--truth", metavar="DIR",
                   help="also write the ground-truth tables (reps, sets, steps) here "
                   "(default: none)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out file (default: refuse)")
    p.add_argument("--days", type=positive_int, default=None, metavar="N",
                   help="simulate N days of training, one session a day, and analyse them "
                   "into --out DIR (default: one session)")
    p.add_argument("--start-date", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="with --days: the first day (default: 2026-11-02, a Monday)")
    p.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                   help="with --days: sessions analysed at once (default: the number of cores)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imu.core.options import check_positive
    from imu.io.store import output_file, output_folder

    check_positive("--rate-hz", args.rate_hz)
    check_positive("--duration-s", args.duration_s)
    if args.truth:
        output_folder(args.truth, "--truth")
    if args.days is not None:
        return run_days(args)
    if args.start_date is not None:
        raise InputError("--start-date only applies with --days N")
    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name such as {out}/x.raw.parquet "
                         "(or use --days N to fill a folder)")
    output_file(out, "--out")  # before the work: a file's child is refused too
    if out.exists() and not args.force:
        raise InputError(f"{out}: exists; use --force to replace it, or another --out")
    sim = simulate_one(args)
    path = sim.write(out)
    print(f"wrote {path}: session {sim.raw.session_id}, {sim.raw.n_samples} samples at "
          f"{args.rate_hz:g} Hz")
    if args.truth:
        _write_truth(sim, Path(args.truth))
    print(f"next: imu analyze {path} --out sessions/")
    return 0


def simulate_one(args: argparse.Namespace):  # -> imu.sim.SimSession
    from imu.sim import simulate

    mounting = None if args.mounting == "identity" else "random"
    common = dict(
        sample_rate_hz=args.rate_hz, placement=args.placement, seed=args.seed, mounting=mounting
    )
    if args.activity == "strength":
        return simulate(
            "strength", exercise=args.exercise, n_sets=args.sets, reps_per_set=args.reps,
            walking=not args.no_walking, **common,
        )
    if args.activity == "run":
        return simulate("run", duration_s=args.duration_s, **common)
    # A mixed workout: random exercise order, short sets, walk-in or standing start, rests,
    # a re-seated clip, maybe a warm-up jog (imu.sim.workout.simulate_workout).
    return simulate("workout", **common)


def _write_truth(sim, truth_dir: Path) -> None:  # noqa: ANN001 - imu.sim.SimSession
    import pyarrow as pa

    from imu.io.atomic import write_parquet_atomic

    for name in ("reps", "sets", "steps", "starts"):
        df = getattr(sim.truth, name)
        if not df.empty:
            write_parquet_atomic(pa.Table.from_pandas(df), truth_dir / f"{name}.parquet")
    print(f"wrote ground truth to {truth_dir}")


class _RawWriter:
    """Stands in for the analyser of :func:`imu.sim.month.simulate_month`: keeps each day's raw
    session as a file instead, so that the days are analysed afterwards, in parallel."""

    def __init__(self, raw_dir: Path, force: bool) -> None:
        self.raw_dir = raw_dir
        self.force = force
        self.paths: list[Path] = []

    def __call__(self, df):  # noqa: ANN001, ANN204 - the month's Analyzer protocol
        from imu.io.rawfile import from_dataframe, write_raw

        session = from_dataframe(df, dict(df.attrs.get("imu", {})))
        writer = self

        class _Written:
            def write(self, out: str | Path) -> Path:
                path = writer.raw_dir / f"{session.session_id}.raw.parquet"
                if path.exists() and not writer.force:
                    raise InputError(f"{path}: exists; use --force to replace it")
                writer.paths.append(write_raw(path, session))
                return path

        return _Written()


def run_days(args: argparse.Namespace) -> int:
    """``--days N``: simulate N days into DIR/raw/, analyse them into DIR, one line each."""
    from imu.commands.analyze import run_batch
    from imu.sim.month import simulate_month

    if args.truth:
        raise InputError("--truth applies to one session, not to --days")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder (--days needs a folder)")
    writer = _RawWriter(out / "raw", args.force)
    print(f"simulating {args.days} days of training into {out / 'raw'} ...")
    plan = simulate_month(
        out / "raw", days=args.days, seed=args.seed, mode="raw", analyze=writer,
        start_date=args.start_date,
    )
    first, last = plan["date"].iloc[0], plan["date"].iloc[-1]
    runs = int((plan["activity"] == "run").sum())
    print(f"{len(writer.paths)} sessions from {first} to {last} ({runs} runs); analysing ...")
    status = run_batch(writer.paths, out, {}, jobs=args.jobs)
    if status == 0:
        print(f"next: imu trends {out}    (or: imu report {out}/session=<id>)")
    return status
