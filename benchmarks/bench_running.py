"""Speed and memory of the running analysis on a one-hour 200 Hz run (one core).

Bars (issue): >= 500,000 samples/s and < 300 MB peak. Peak memory is measured with tracemalloc
(numpy reports its buffers to it) over the analysis alone, the raw arrays being the input.
Run: ``.venv/bin/python benchmarks/bench_running.py``.
"""

from __future__ import annotations

import os
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from imu.pipeline.running import RunAnalysis  # noqa: E402
from imu.sim.running import simulate_run  # noqa: E402


def main(duration_s: float = 3600.0, rate_hz: float = 200.0) -> None:
    t0 = time.perf_counter()
    sim = simulate_run(duration_s=duration_s, sample_rate_hz=rate_hz, seed=7)
    t_sim = time.perf_counter() - t0
    raw = sim.raw
    n = raw.n_samples
    print(f"simulated {n} samples ({n / rate_hz / 60:.1f} min at {rate_hz:g} Hz) in {t_sim:.1f} s")
    del sim
    RunAnalysis(placement=raw.meta["placement"]).analyze(raw, rate_hz)  # warm-up (imports, caches)
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        res = RunAnalysis(placement=raw.meta["placement"]).analyze(raw, rate_hz)
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    RunAnalysis(placement=raw.meta["placement"]).analyze(raw, rate_hz)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rate = n / best
    print(f"analysis: {best:.2f} s -> {rate:,.0f} samples/s (bar >= 500,000: "
          f"{'PASS' if rate >= 5e5 else 'FAIL'})")
    print(f"peak memory of the analysis: {peak / 1e6:.0f} MB (bar < 300 MB: "
          f"{'PASS' if peak < 300e6 else 'FAIL'})")
    print(f"steps: {res.summary_['n_steps']}, cadence {res.summary_['cadence_spm']:.1f} spm")


if __name__ == "__main__":
    main()
