"""Speed and memory of the gait analysis on a one-hour 200 Hz run (one core), and of
``imu analyze`` on it as a separate process (reading, analysis, writing, start-up).

Bars (issue): >= 500,000 samples/s and < 300 MB peak for the analysis. Peak memory is measured
with tracemalloc (numpy reports its buffers to it) over the analysis alone, the raw arrays being
the input; the process figure is its wall time.
Run: ``.venv/bin/python benchmarks/bench_running.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from imu.pipeline.gait import GaitAnalysis  # noqa: E402
from imu.sim.running import simulate_run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main(duration_s: float = 3600.0, rate_hz: float = 200.0) -> None:
    t0 = time.perf_counter()
    sim = simulate_run(duration_s=duration_s, sample_rate_hz=rate_hz, seed=7)
    t_sim = time.perf_counter() - t0
    raw = sim.raw
    n = raw.n_samples
    print(f"simulated {n} samples ({n / rate_hz / 60:.1f} min at {rate_hz:g} Hz) in {t_sim:.1f} s")
    placement = raw.meta["placement"]
    GaitAnalysis(placement=placement).analyze(raw, rate_hz)  # warm-up (imports, caches)
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        res = GaitAnalysis(placement=placement).analyze(raw, rate_hz)
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    GaitAnalysis(placement=placement).analyze(raw, rate_hz)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rate = n / best
    print(f"analysis: {best:.2f} s -> {rate:,.0f} samples/s (bar >= 500,000: "
          f"{'PASS' if rate >= 5e5 else 'FAIL'})")
    print(f"peak memory of the analysis: {peak / 1e6:.0f} MB (bar < 300 MB: "
          f"{'PASS' if peak < 300e6 else 'FAIL'})")
    s = res.summary_
    print(f"steps: {s['n_steps']} running, {s['walk_steps']} walking; cadence "
          f"{s['cadence_spm']:.1f} spm")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.raw.parquet"
        sim.write(path)
        del sim, raw
        path_var = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
        env = {**os.environ, "PYTHONPATH": path_var}
        cmd = [sys.executable, "-m", "imu.cli", "analyze", str(path), "--out", str(Path(tmp) / "o"),
               "--quiet"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr}"
        print(f"imu analyze (process: start-up, read, analyse, write): {wall:.1f} s wall, "
              f"{n / wall:,.0f} samples/s ({status})")


if __name__ == "__main__":
    main()
