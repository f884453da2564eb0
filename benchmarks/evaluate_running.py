"""Accuracy of the gait analysis on simulated runs the tests do not tune on (seeds >= 1000).

Four conditions of every run of a fixed set (random mountings, both hips and the sacrum, several
speeds and cadences, 100 / 200 / 400 Hz, fatigue drift, random impact transients, runs with
walking breaks):

* ``as simulated`` -- gyroscope and the opening quiet standing;
* ``no standing``  -- the opening standing (and the first second of walking) cut off;
* ``acc only``     -- the gyroscope columns dropped;
* ``acc only, no standing``.

Then one-hour runs (left hip, right hip, sacrum; with and without standing): pelvic drop per
side and the left/right contact-time balance against the truth. Step scoring: the running steps
reported (``gait == "run"``) against the truth's running steps with
:func:`imu.sim.running.score_steps` (nearest contact within 80 ms; precision over detections
within 0.6 s of a true running contact), plus a strict one-to-one match within 60 ms.
Walking and run starts: on the stepped-gait simulator (walking with step truth, restarts after
standing and after walking with a lead foot and half-steps, no standing start, no gyroscope,
50-1000 Hz): walking contacts one-to-one within 0.15 s, walking cadence, and per start the
first and second side, the half-step and what came before, matched within 0.25 s.

Prints every figure next to its bar. ``--quick``: 4 runs and no one-hour runs.
Run: ``.venv/bin/python benchmarks/evaluate_running.py [--quick]`` (~3-6 min on one core).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from imu.core.session import RawSession
from imu.pipeline.gait import GaitAnalysis
from imu.sim.gait_session import simulate_gait
from imu.sim.running import score_steps, simulate_run
from imu.sim.session import SimSession

CASES: list[tuple[Any, ...]] = [
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
HOUR_SEED0 = 1100
WALK_NOMINAL_SPM = 108.0  # imu.sim.running.WALK_STEP_HZ x 60

BARS: dict[str, tuple[str, float]] = {
    "recall_pct": (">=", 98.0),
    "precision_pct": (">=", 98.0),
    "side_pct": (">=", 98.0),
    "cadence_err_pct": ("<=", 1.0),
    "gct_mae_ms": ("<=", 15.0),
    "vo_mae_cm": ("<=", 1.0),
    "drop_mae_deg": ("<=", 1.5),
    "rotation_err_deg": ("<=", 2.0),
    "drift_err_deg": ("<=", 1.0),
}
STEP_BARS = ("recall_pct", "precision_pct", "cadence_err_pct")
"""The bars of the accelerometer-only and no-standing conditions (steps and cadence)."""
CONDITIONS = ("as simulated", "no standing", "acc only", "acc only, no standing")


def variant(raw: RawSession, cut_s: float, gyro: bool) -> RawSession:
    """The raw session without its first ``cut_s`` seconds and/or its gyroscope (times kept on
    the session clock)."""
    keep = raw.t_s >= raw.t_s[0] + cut_s
    return RawSession(
        t_s=raw.t_s[keep], acc_g=raw.acc_g[keep],
        gyr_dps=raw.gyr_dps[keep] if gyro and raw.gyr_dps is not None else None,
        seq=None if raw.seq is None else raw.seq[keep], meta=dict(raw.meta),
    )


def strict_match(tc: np.ndarray, ec: np.ndarray, tol: float = 0.06) -> tuple[float, float]:
    """One-to-one recall / precision within ``tol`` (closest pairs first), precision over the
    detections between the first and last true contact +- tol."""
    if tc.size == 0 or ec.size == 0:
        return float("nan"), float("nan")
    d = np.abs(tc[:, None] - ec[None, :])
    ii, jj = np.nonzero(d <= tol)
    order = np.argsort(d[ii, jj], kind="stable")
    used_t, used_e = np.zeros(tc.size, bool), np.zeros(ec.size, bool)
    for k in order:  # pairs within tol only
        if not used_t[ii[k]] and not used_e[jj[k]]:
            used_t[ii[k]] = used_e[jj[k]] = True
    inside = (ec >= tc.min() - tol) & (ec <= tc.max() + tol)
    return 100 * used_t.mean(), 100 * used_e[inside].sum() / max(inside.sum(), 1)


def score(sim: SimSession, res: GaitAnalysis) -> dict[str, float]:
    """Step, side and pelvis figures of one analysis against the simulator's truth."""
    truth = sim.truth.steps
    steps = res.steps_.to_pandas()  # the analysis' Arrow table, scored as the truth's frames
    run = steps[steps["gait"] == "run"].reset_index(drop=True)
    s = score_steps(truth, run)
    ts, es = sim.truth.summary, res.summary_
    r60, p60 = strict_match(truth["contact_s"].to_numpy(), run["contact_s"].to_numpy())
    out = {
        "recall_pct": 100 * s["recall"], "precision_pct": 100 * s["precision"],
        "recall60_pct": r60, "precision60_pct": p60,
        "side_pct": 100 * s["side_agreement"],
        "cadence_err_pct": 100 * abs(es["cadence_spm"] / ts["cadence_spm"] - 1),
        "gct_mae_ms": s["gct_mae_ms"], "contact_bias_ms": s["contact_bias_ms"],
        "vo_mae_cm": s["vo_mae_cm"], "drop_mae_deg": s["drop_mae_deg"],
        "drop_l_err_deg": es["pelvic_drop_left_deg"] - ts["pelvic_drop_left_deg"],
        "drop_r_err_deg": es["pelvic_drop_right_deg"] - ts["pelvic_drop_right_deg"],
        "balance_err_pct": es["gct_balance_left_pct"] - ts["gct_balance_left_pct"],
        "rotation_err_deg": abs(es["pelvic_rotation_deg"] - ts["pelvic_rotation_deg"]),
        "drift_err_deg": abs(es["drop_drift_deg"] - ts["drop_drift_deg"]),
        "braking_err_g": es["braking_peak_g"] - ts["brake_peak_g"],
        "walk_cadence_spm": es["walk_cadence_spm"],
        "placement_ok": float(res.placement_detected_ == sim.raw.meta["placement"]),
    }
    return out


def judge(df: pd.DataFrame, bars: dict[str, tuple[str, float]]) -> bool:
    ok_all = True
    for key, (op, bar) in bars.items():
        if key not in df or df[key].isna().all():
            print(f"  {key:18s} -")
            continue
        worst = df[key].min() if op == ">=" else df[key].max()
        ok = bool(worst >= bar if op == ">=" else worst <= bar)
        ok_all &= ok
        print(f"  {key:18s} worst {worst:8.3f}  mean {df[key].mean():8.3f}  bar {op} {bar:g}"
              f"  {'PASS' if ok else 'FAIL'}")
    return ok_all


def runs(numbers: list[int]) -> None:
    """Evaluate the runs ``CASES[k]`` for k in ``numbers`` (seed ``SEED0 + k``)."""
    rows: list[dict[str, Any]] = []
    for n_done, i in enumerate(numbers):
        placement, rate, speed, cadence, dur, *more = CASES[i]
        breaks = int(more[0]) if more else 0
        sim = simulate_run(
            duration_s=dur, sample_rate_hz=rate, placement=placement, seed=SEED0 + i,
            speed_m_s=speed, cadence_spm=cadence, drift_deg=float([-2, 0, 2.5][i % 3]),
            walk_breaks=breaks,
        )
        cut = float(sim.truth.summary.get("standing_s", 5.0)) + 1.0
        for cond in CONDITIONS:
            raw = variant(sim.raw, cut if "no standing" in cond else 0.0, "acc" not in cond)
            t0 = time.perf_counter()
            res = GaitAnalysis(placement=placement).analyze(raw, rate)
            row = {"condition": cond, "case": f"{placement}@{rate:g}Hz v{speed:g} c{cadence:g}"
                   + (f" b{breaks}" if breaks else ""), **score(sim, res),
                   "calibration": res.calibration_, "analysis_s": time.perf_counter() - t0}
            rows.append(row)
        show = pd.DataFrame(rows[-4:]).drop(columns=["walk_cadence_spm", "braking_err_g"])
        print(show.round(2).to_string(index=False, header=n_done == 0), flush=True)
    df = pd.DataFrame(rows)
    for cond in CONDITIONS:
        d = df[df["condition"] == cond]
        print(f"\n== {cond} ({len(d)} runs): bars, worst over the runs, and mean")
        bars = BARS if "acc" not in cond else {k: BARS[k] for k in STEP_BARS}
        ok = judge(d, bars)
        worst = {k: d[k].min() for k in ("recall60_pct", "precision60_pct", "side_pct")}
        worst |= {k: d[k].max() for k in ("gct_mae_ms", "vo_mae_cm")}
        print("  also (worst): " + ", ".join(f"{k} {v:.2f}" for k, v in worst.items()))
        print(f"  sensor side found from the gait: {100 * d['placement_ok'].mean():.0f} % of runs; "
              f"warm-up walking cadence {d['walk_cadence_spm'].min():.1f}-"
              f"{d['walk_cadence_spm'].max():.1f} spm (nominal {WALK_NOMINAL_SPM:g})")
        print(f"  {cond}: {'all bars PASS' if ok else 'some bars FAIL'}")


def hour_runs() -> None:
    print("\n== one-hour runs (200 Hz): pelvic drop per side and contact-time balance")
    for j, placement in enumerate(("left_hip", "right_hip", "sacrum")):
        sim = simulate_run(duration_s=3600.0, sample_rate_hz=200.0, placement=placement,
                           seed=HOUR_SEED0 + j)
        for cond in ("as simulated", "no standing"):
            raw = variant(sim.raw, 6.0 if cond == "no standing" else 0.0, True)
            res = GaitAnalysis(placement=placement).analyze(raw, 200.0)
            s = score(sim, res)
            ok = max(abs(s["drop_l_err_deg"]), abs(s["drop_r_err_deg"])) <= 1.0
            print(f"  {placement:9s} {cond:13s} drop error L {s['drop_l_err_deg']:+.2f} R "
                  f"{s['drop_r_err_deg']:+.2f} deg (bar within 1: {'PASS' if ok else 'FAIL'}); "
                  f"balance error {s['balance_err_pct']:+.2f} points; GCT MAE "
                  f"{s['gct_mae_ms']:.1f} ms; recall {s['recall_pct']:.2f} % precision "
                  f"{s['precision_pct']:.2f} %; drift error {s['drift_err_deg']:.2f} deg",
                  flush=True)


GAIT_CASES: list[tuple[Any, ...]] = [
    # placement, rate, gyroscope, standing start (s): the stepped-gait simulator's default
    # pattern (walk, run, stop and stand, restart, walk break, restart, walk)
    ("left_hip", 200.0, True, 5.0), ("right_hip", 100.0, True, 0.0),
    ("sacrum", 400.0, False, 0.0), ("left_hip", 50.0, True, 5.0),
    ("right_hip", 200.0, False, 5.0), ("sacrum", 100.0, True, 0.0),
    ("left_hip", 1000.0, True, 0.0), ("right_hip", 400.0, True, 5.0),
    ("sacrum", 200.0, True, 5.0), ("left_hip", 100.0, False, 0.0),
    ("right_hip", 50.0, False, 0.0), ("sacrum", 50.0, True, 5.0),
]
GAIT_SEED0 = 1200


def gait_sessions() -> None:
    """Walking steps, running steps and run starts on the stepped-gait simulator
    (:func:`imu.sim.gait_session.simulate_gait`: walking with step truth, restarts after
    standing and walking with a chosen lead foot and half-steps)."""
    print("\n== walking, running and run starts (stepped-gait simulator, "
          f"{len(GAIT_CASES)} sessions)")
    rows = []
    for i, (placement, rate, gyro, standing) in enumerate(GAIT_CASES):
        sim = simulate_gait(seed=GAIT_SEED0 + i, placement=placement, sample_rate_hz=rate,
                            with_gyro=gyro, standing_s=standing)
        res = GaitAnalysis(placement=placement).analyze(sim.raw, rate)
        tr, st = sim.truth.steps, res.steps_.to_pandas()  # Arrow, scored as the truth's
        run = score_steps(tr[tr["gait"] == "run"].reset_index(drop=True),
                          st[st["gait"] == "run"].reset_index(drop=True))
        wr, wp = strict_match(tr.loc[tr["gait"] == "walk", "contact_s"].to_numpy(),
                              st.loc[st["gait"] == "walk", "contact_s"].to_numpy(), 0.15)
        ar, ap = strict_match(tr["contact_s"].to_numpy(), st["contact_s"].to_numpy(), 0.15)
        ts, es = sim.truth.summary, res.summary_
        t_st, e_st = sim.truth.starts, res.starts_.to_pandas()
        d = np.abs(e_st["t_s"].to_numpy()[None, :] - t_st["t_s"].to_numpy()[:, None])
        k = d.argmin(axis=1) if d.size else np.zeros(0, int)
        found = d[np.arange(len(t_st)), k] <= 0.25 if d.size else np.zeros(len(t_st), bool)
        e = e_st.iloc[k[found]] if found.any() else e_st.iloc[:0]
        t = t_st[found]
        same = {c: float(np.mean(e[c].to_numpy() == t[c].to_numpy())) if len(t) else np.nan
                for c in ("first_side", "second_side", "half_step", "after")}
        rows.append({
            "case": f"{placement}@{rate:g}Hz" + ("" if gyro else " acc") + (
                " stand" if standing else ""),
            "run_recall_pct": 100 * run["recall"], "run_precision_pct": 100 * run["precision"],
            "run_side_pct": 100 * run["side_agreement"], "run_gct_mae_ms": run["gct_mae_ms"],
            "walk_recall_pct": wr, "walk_precision_pct": wp, "all_recall_pct": ar,
            "all_precision_pct": ap,
            "walk_cadence_err_pct": 100 * abs(es["walk_cadence_spm"] / ts["walk_cadence_spm"] - 1),
            "run_cadence_err_pct": 100 * abs(es["cadence_spm"] / ts["cadence_spm"] - 1),
            "starts": f"{int(found.sum())}/{len(t_st)}/{len(e_st)}",
            "start_found_pct": 100 * found.mean() if len(t_st) else np.nan,
            "first_side_pct": 100 * same["first_side"],
            "second_side_pct": 100 * same["second_side"],
            "half_step_pct": 100 * same["half_step"], "after_pct": 100 * same["after"],
            "lead_ok": float(es["run_start_lead_side"] == ts["run_start_lead_side"]),
        })
        print(pd.DataFrame(rows[-1:]).round(1).to_string(index=False, header=i == 0),
              flush=True)
    df = pd.DataFrame(rows)
    print("  worst / mean over the sessions (starts: matched within 0.25 s / true / reported):")
    for key in [c for c in df.columns if c.endswith("_pct") and "err" not in c]:
        print(f"  {key:22s} worst {df[key].min():6.1f}  mean {df[key].mean():6.1f}")
    for key in ("walk_cadence_err_pct", "run_cadence_err_pct", "run_gct_mae_ms"):
        print(f"  {key:22s} worst {df[key].max():6.2f}  mean {df[key].mean():6.2f}")
    print(f"  usual lead side right in {100 * df['lead_ok'].mean():.0f} % of the sessions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 runs, no one-hour runs")
    ap.add_argument("--cases", default="", help="comma-separated case numbers (0-13) only")
    ap.add_argument("--no-hour", action="store_true", help="skip the one-hour runs")
    args = ap.parse_args()
    t0 = time.perf_counter()
    numbers = [int(i) for i in args.cases.split(",")] if args.cases else list(
        range(4 if args.quick else len(CASES)))
    runs(numbers)
    if not args.cases:
        gait_sessions()
    if not (args.quick or args.no_hour or args.cases):
        hour_runs()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
