"""``imu simulate``: write a simulated raw session (and optionally its ground truth)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imu.core.exercises import EXERCISES
from imu.core.vocabulary import PLACEMENTS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate a session with ground truth")
    p.add_argument("--activity", choices=("strength", "run"), default="strength")
    p.add_argument("--exercise", choices=EXERCISES, default="glute_bridge")
    p.add_argument("--sets", type=int, default=3, help="strength: number of sets")
    p.add_argument("--reps", type=int, default=None, help="strength: reps per set (default 5-15)")
    p.add_argument("--no-walking", action="store_true", help="strength: rests without walking")
    p.add_argument(
        "--mounting", choices=("random", "identity"), default="random",
        help="sensor orientation on the pelvis",
    )
    p.add_argument("--duration-s", type=float, default=600.0, help="run: running time")
    p.add_argument("--rate-hz", type=float, default=200.0)
    p.add_argument("--placement", choices=PLACEMENTS, default="left_hip")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="FILE.raw.parquet")
    p.add_argument("--truth", metavar="DIR", help="also write the ground-truth tables here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imu.core.options import check_positive
    from imu.io.atomic import write_parquet_atomic
    from imu.io.store import output_file, output_folder
    from imu.sim import simulate

    check_positive("--rate-hz", args.rate_hz)
    output_file(args.out, "--out")  # before the work: a folder or a file's child is refused
    if args.truth:
        output_folder(args.truth, "--truth")
    mounting = None if args.mounting == "identity" else "random"
    common = dict(
        sample_rate_hz=args.rate_hz, placement=args.placement, seed=args.seed, mounting=mounting
    )
    if args.activity == "strength":
        sim = simulate(
            "strength", exercise=args.exercise, n_sets=args.sets, reps_per_set=args.reps,
            walking=not args.no_walking, **common,
        )
    else:
        sim = simulate("run", duration_s=args.duration_s, **common)
    path = sim.write(args.out)
    print(f"wrote {path} ({sim.raw.n_samples} samples at {args.rate_hz:g} Hz)")
    if args.truth:
        import pyarrow as pa

        truth_dir = Path(args.truth)
        for name in ("reps", "sets", "steps"):
            df = getattr(sim.truth, name)
            if not df.empty:
                write_parquet_atomic(pa.Table.from_pandas(df), truth_dir / f"{name}.parquet")
        print(f"wrote ground truth to {truth_dir}")
    return 0
