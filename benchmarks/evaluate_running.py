"""Accuracy of the running analysis on simulated runs the tests do not tune on.

Fixed set of runs: random mountings, both hips and the sacrum, several speeds and cadences,
100 / 200 / 400 Hz, fatigue drift, random impact transients, two runs with walking breaks.
Prints per-run figures and the issue's bars, then figures without gyroscope.
Run: ``.venv/bin/python benchmarks/evaluate_running.py`` (about 10-60 s on one core).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from imu.pipeline.running import RunAnalysis
from imu.sim.running import score_steps, simulate_run

CASES: list[tuple[object, ...]] = [
    # placement, rate, speed, cadence, running time[, walking breaks]
    ("left_hip", 200.0, 3.0, 160.0, 300.0),
    ("right_hip", 200.0, 4.5, 180.0, 300.0),
    ("sacrum", 200.0, 3.5, 170.0, 300.0),
    ("left_hip", 100.0, 5.5, 190.0, 300.0),
    ("right_hip", 100.0, 2.5, 150.0, 300.0),
    ("sacrum", 100.0, 4.0, 175.0, 300.0),
    ("left_hip", 400.0, 3.8, 165.0, 240.0),
    ("right_hip", 400.0, 5.0, 185.0, 240.0),
    ("sacrum", 400.0, 2.8, 155.0, 240.0),
    ("left_hip", 200.0, 2.2, 145.0, 300.0),
    ("right_hip", 200.0, 6.0, 198.0, 300.0),
    ("sacrum", 200.0, 4.2, 142.0, 300.0),
    # with walking breaks (2 and 3) inside the run
    ("left_hip", 200.0, 3.6, 172.0, 300.0, 2),
    ("sacrum", 100.0, 4.4, 182.0, 300.0, 3),
]
SEED0 = 1000

BARS = {
    "recall_pct": (">=", 98.0),
    "precision_pct": (">=", 98.0),
    "side_pct": (">=", 98.0),
    "cadence_err_pct": ("<=", 1.0),
    "gct_mae_ms": ("<=", 20.0),
    "vo_mae_cm": ("<=", 1.0),
    "drop_mae_deg": ("<=", 1.5),
    "rotation_err_deg": ("<=", 2.0),
    "drift_err_deg": ("<=", 1.0),
}


def main() -> None:
    rows = []
    t_start = time.perf_counter()
    for i, (placement, rate, speed, cadence, dur, *more) in enumerate(CASES):
        breaks = int(more[0]) if more else 0
        sim = simulate_run(
            duration_s=dur, sample_rate_hz=rate, placement=placement, seed=SEED0 + i,
            speed_m_s=speed, cadence_spm=cadence, drift_deg=float([-2, 0, 2.5][i % 3]),
            walk_breaks=breaks,
        )
        t0 = time.perf_counter()
        res = RunAnalysis(placement=placement).analyze(sim.raw, sim.raw.sample_rate_hz)
        t_an = time.perf_counter() - t0
        s = score_steps(sim.truth.steps, res.steps_)
        ts, es = sim.truth.summary, res.summary_
        rows.append({
            "case": f"{placement}@{rate:g}Hz v{speed:g} c{cadence:g}"
            + (f" breaks{breaks}" if breaks else ""),
            "recall_pct": 100 * s["recall"],
            "precision_pct": 100 * s["precision"],
            "side_pct": 100 * s["side_agreement"],
            "n_outside": s["n_outside"],
            "cadence_err_pct": 100 * abs(es["cadence_spm"] / ts["cadence_spm"] - 1),
            "gct_mae_ms": s["gct_mae_ms"],
            "contact_bias_ms": s["contact_bias_ms"],
            "vo_mae_cm": s["vo_mae_cm"],
            "drop_mae_deg": s["drop_mae_deg"],
            "drop_l_err_deg": es["pelvic_drop_left_deg"] - ts["pelvic_drop_left_deg"],
            "drop_r_err_deg": es["pelvic_drop_right_deg"] - ts["pelvic_drop_right_deg"],
            "rotation_err_deg": abs(es["pelvic_rotation_deg"] - ts["pelvic_rotation_deg"]),
            "drift_err_deg": abs(es["drop_drift_deg"] - ts["drop_drift_deg"]),
            "braking_err_g": es["braking_peak_g"] - ts["brake_peak_g"],
            "analysis_s": t_an,
        })
        print(pd.DataFrame(rows[-1:]).round(2).to_string(index=False, header=i == 0), flush=True)
    df = pd.DataFrame(rows)
    print("\nBars (worst case over the runs, and mean):")
    ok_all = True
    for key, (op, bar) in BARS.items():
        worst = df[key].min() if op == ">=" else df[key].max()
        ok = worst >= bar if op == ">=" else worst <= bar
        ok_all &= bool(ok)
        print(f"  {key:18s} worst {worst:8.3f}  mean {df[key].mean():8.3f}  bar {op} {bar:g}"
              f"  {'PASS' if ok else 'FAIL'}")
    print("  pelvic drop per side, |summary error| max over runs and sides: "
          f"{np.nanmax(np.abs(df[['drop_l_err_deg', 'drop_r_err_deg']].to_numpy())):.3f} deg")
    print(f"all bars: {'PASS' if ok_all else 'FAIL'}")
    print("\nWithout gyroscope (informative; angles are not available, VO is the sensor's):")
    for j, placement in enumerate(("left_hip", "right_hip", "sacrum")):
        sim = simulate_run(duration_s=240.0, sample_rate_hz=200.0, placement=placement,
                           seed=SEED0 + 100 + j, with_gyro=False)
        res = RunAnalysis(placement=placement).analyze(sim.raw, sim.raw.sample_rate_hz)
        s = score_steps(sim.truth.steps, res.steps_)
        cad = 100 * abs(res.summary_["cadence_spm"] / sim.truth.summary["cadence_spm"] - 1)
        print(f"  {placement:9s} recall {100 * s['recall']:.1f} % precision "
              f"{100 * s['precision']:.1f} % side {100 * s['side_agreement']:.1f} % cadence err "
              f"{cad:.2f} % GCT MAE {s['gct_mae_ms']:.1f} ms VO MAE {s['vo_mae_cm']:.2f} cm")
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
