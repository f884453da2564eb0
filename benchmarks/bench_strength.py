"""Speed and memory of the strength analysis on a one-hour 200 Hz session.

The session is a simulated ~6-minute strength session (four exercises, one per set, no exercise
in the metadata) tiled to an hour on the time axis (the recording starts and ends standing still
with the same sensor, so the seams are quiet standing). Prints samples per second (wall time of
``StrengthAnalysis.analyze``, best of ``--repeat``), the analysis's peak traced memory
(tracemalloc, a separate run), and ``imu analyze`` as a separate process on the same session
written to a raw file (wall time of the whole command: start-up, reading, every stage, writing
the tables). Targets: >= 500,000 samples/s on one core, < 300 MB peak.

    .venv/bin/python benchmarks/bench_strength.py [--no-process]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from imu.core.session import RawSession
from imu.io.rawfile import write_raw
from imu.pipeline.strength import StrengthAnalysis
from imu.sim.strength import simulate_strength


def one_hour_session(rate_hz: float = 200.0, hours: float = 1.0) -> tuple[RawSession, int, int]:
    """The tiled session and its true numbers of sets and reps."""
    exercises = ["glute_bridge", "romanian_deadlift", "hip_thrust", "squat"]
    sim = simulate_strength(
        exercise=exercises, n_sets=4, sample_rate_hz=rate_hz, seed=7, rest_s=(30.0, 60.0)
    )
    r = sim.raw
    n = r.t_s.size
    reps = int(np.ceil(hours * 3600.0 * rate_hz / n))
    t = np.arange(n * reps) / rate_hz
    meta = dict(r.meta)
    meta.pop("exercise", None)
    raw = RawSession(
        t_s=t,
        acc_g=np.tile(r.acc_g, (reps, 1)),
        gyr_dps=np.tile(r.gyr_dps, (reps, 1)),
        seq=np.arange(n * reps, dtype=np.int64),
        meta=meta,
    )
    return raw, reps * len(sim.truth.sets), reps * len(sim.truth.reps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-process", action="store_true", help="skip the `imu analyze` run")
    args = ap.parse_args()
    raw, true_sets, true_reps = one_hour_session(args.rate, args.hours)
    n = raw.n_samples
    print(f"session: {n} samples, {n / args.rate / 3600:.2f} h at {args.rate:g} Hz")
    best = np.inf
    sa = StrengthAnalysis()
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        sa = StrengthAnalysis(placement=raw.meta["placement"]).analyze(raw, args.rate)
        best = min(best, time.perf_counter() - t0)
    print(f"analysis: {best:.3f} s  ->  {n / best:,.0f} samples/s   (target >= 500,000)")
    print(f"found {len(sa.sets_)} sets, {len(sa.reps_)} reps (true: {true_sets}, {true_reps})")
    tracemalloc.start()
    StrengthAnalysis(placement=raw.meta["placement"]).analyze(raw, args.rate)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak traced memory of the analysis: {peak / 1e6:.0f} MB   (target < 300 MB)")
    if not args.no_process:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_raw(Path(tmp) / "hour.raw.parquet", raw)
            env = dict(os.environ)
            root = str(Path(__file__).resolve().parents[1])
            env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "imu.cli", "analyze", str(path), "--out",
                            str(Path(tmp) / "out")], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
        print(f"imu analyze (a process, reading and writing included): {wall:.2f} s  ->  "
              f"{n / wall:,.0f} samples/s")


if __name__ == "__main__":
    main()
