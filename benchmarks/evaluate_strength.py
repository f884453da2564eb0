"""Accuracy of the strength pipeline on simulated sessions (prints every figure of the bars).

Fixed set of sessions: every exercise at 100, 200 and 400 Hz with random mountings and
placements, seeds 1000+ (the tests use seeds below 100), plus three mixed sessions at 200 Hz (one
exercise per set, none in the metadata: the pipeline names each set) and three with short rests
(3-8 s, no walking). Run:

    .venv/bin/python benchmarks/evaluate_strength.py [--quick] [--unknown-exercise] [--seed-base N]

``--unknown-exercise`` drops the exercise from the metadata, so the pipeline classifies each set
(best effort) and the figures include the classification's errors.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from imu.core.exercises import EXERCISES
from imu.pipeline.calibration import AccelerometerRefinement
from imu.pipeline.strength import StrengthAnalysis
from imu.sim.strength import simulate_strength

RATES = (100.0, 200.0, 400.0)
PLACEMENTS = ("left_hip", "right_hip", "sacrum")
REFINEMENT = None
BRIDGE_TILT = ("glute_bridge", "single_leg_bridge", "hip_thrust")


@dataclass
class Tally:
    sessions: int = 0
    sets_exact: int = 0
    set_counts: list[tuple[int, int]] = field(default_factory=list)
    pairs: list[pd.DataFrame] = field(default_factory=list)
    per_session: list[dict[str, object]] = field(default_factory=list)


def match_reps(est: pd.DataFrame, tru: pd.DataFrame, tol_s: float = 1.5) -> pd.DataFrame:
    """One-to-one matching of reps by lockout time (greedy on the nearest)."""
    if est.empty or tru.empty:
        return pd.DataFrame()
    d = np.abs(est["lockout_s"].to_numpy()[:, None] - tru["lockout_s"].to_numpy()[None, :])
    pairs = []
    used_e: set[int] = set()
    used_t: set[int] = set()
    for flat in np.argsort(d, axis=None):
        i, j = np.unravel_index(flat, d.shape)
        if d[i, j] > tol_s:
            break
        if i in used_e or j in used_t:
            continue
        used_e.add(int(i))
        used_t.add(int(j))
        pairs.append((int(i), int(j)))
    e = est.iloc[[p[0] for p in pairs]].reset_index(drop=True).add_prefix("e_")
    t = tru.iloc[[p[1] for p in pairs]].reset_index(drop=True).add_prefix("t_")
    return pd.concat([e, t], axis=1)


def set_counts(est_sets: pd.DataFrame, tru_sets: pd.DataFrame) -> list[tuple[int, int]]:
    """(true reps, estimated reps) per true set; the estimate is the set overlapping it most."""
    out = []
    for _, ts in tru_sets.iterrows():
        best, overlap = 0, 0.0
        for _, es in est_sets.iterrows():
            ov = min(ts["end_s"], es["end_s"]) - max(ts["start_s"], es["start_s"])
            if ov > overlap:
                best, overlap = int(es["reps"]), ov
        out.append((int(ts["reps"]), best))
    return out


def run(quick: bool, unknown: bool, seed_base: int = 1000) -> Tally:
    tally = Tally()
    exercises = EXERCISES[:4] if quick else EXERCISES
    k = 0
    for rate in RATES:
        for ex in exercises:
            seed = seed_base + k
            placement = PLACEMENTS[k % 3]
            k += 1
            sim = simulate_strength(
                exercise=ex,
                n_sets=3,
                sample_rate_hz=rate,
                placement=placement,
                mounting="random",
                seed=seed,
                trunk_length_m=0.45 + 0.01 * (k % 10),
            )
            raw = sim.raw
            if unknown:
                raw.meta.pop("exercise", None)
            sa = StrengthAnalysis(**_options(raw), refinement=REFINEMENT).analyze(raw, rate)
            _tally_session(tally, sa, sim, ex, rate, seed, placement)
    if not quick:
        # Mixed sessions (one exercise per set, none in the metadata): per-set classification.
        mixed = ["glute_bridge", "romanian_deadlift", "hip_thrust", "squat"]
        for i in range(3):
            seed = seed_base + 900 + i
            sim = simulate_strength(exercise=mixed, n_sets=4, sample_rate_hz=200.0, seed=seed)
            sa = StrengthAnalysis(**_options(sim.raw), refinement=REFINEMENT).analyze(
                sim.raw, 200.0
            )
            _tally_session(tally, sa, sim, "mixed", 200.0, seed, "left_hip")
        # Short rests (3-8 s, no walking): sets close together.
        for i, ex in enumerate(["romanian_deadlift", "squat", "glute_bridge"]):
            seed = seed_base + 950 + i
            sim = simulate_strength(
                exercise=ex,
                n_sets=3,
                sample_rate_hz=100.0,
                seed=seed,
                rest_s=(3.0, 8.0),
                walking=False,
            )
            sa = StrengthAnalysis(**_options(sim.raw), refinement=REFINEMENT).analyze(
                sim.raw, 100.0
            )
            _tally_session(tally, sa, sim, f"{ex} (short rests)", 100.0, seed, "left_hip")
    return tally


def _options(raw: Any) -> dict[str, object]:
    """Exercise, placement and trunk length from the recording's metadata (else the defaults),
    as ``imu.analyze`` resolves them: the algorithm itself does not read metadata."""
    meta = raw.meta
    return {
        "exercise": meta.get("exercise"),
        "placement": meta.get("placement") or "left_hip",
        "trunk_length_m": float(meta.get("trunk_length_m") or 0.50),
    }


def _tally_session(tally: Tally, sa, sim, ex: str, rate: float, seed: int, placement: str) -> None:  # type: ignore[no-untyped-def]
    tally.sessions += 1
    tally.sets_exact += int(len(sa.sets_) == len(sim.truth.sets))
    # the analysis' Arrow tables beside the simulator's truth (DataFrames)
    tally.set_counts += set_counts(sa.sets_.to_pandas(), sim.truth.sets)
    m = match_reps(sa.reps_.to_pandas(), sim.truth.reps)
    if not m.empty:
        m["rate"] = rate
        m["seed"] = seed
        tally.pairs.append(m)
    tally.per_session.append(
        {
            "exercise": ex,
            "rate": rate,
            "seed": seed,
            "placement": placement,
            "sets": f"{len(sa.sets_)}/{len(sim.truth.sets)}",
            "reps": f"{len(sa.reps_)}/{len(sim.truth.reps)}",
            "matched": len(m),
        }
    )


def report(t: Tally) -> None:
    pd.set_option("display.width", 200)
    print(pd.DataFrame(t.per_session).to_string(index=False))
    m = pd.concat(t.pairs, ignore_index=True)
    counts = np.asarray(t.set_counts)
    diff = counts[:, 1] - counts[:, 0]
    n_true_reps = int(counts[:, 0].sum())

    def err(col: str) -> np.ndarray:
        e = (m[f"e_{col}"] - m[f"t_{col}"]).to_numpy(dtype=float)
        return e[np.isfinite(e)]

    def line(name: str, value: float, bar: str) -> None:
        print(f"  {name:<48s} {value:10.3f}   (bar: {bar})")

    print(
        f"\nsessions: {t.sessions}, true sets: {len(counts)}, true reps: {n_true_reps}, "
        f"matched reps: {len(m)} ({100 * len(m) / max(n_true_reps, 1):.1f}%)"
    )
    line("sets counted exactly, % of sessions", 100 * t.sets_exact / t.sessions, ">= 95")
    line("reps per set exact, % of sets", 100 * np.mean(diff == 0), ">= 90")
    line("reps per set within +-1, % of sets", 100 * np.mean(np.abs(diff) <= 1), ">= 98")
    for col in ("start_s", "end_s"):
        line(f"rep {col} median |error| s", float(np.median(np.abs(err(col)))), "<= 0.15")
    for col in ("concentric_s", "top_hold_s", "eccentric_s"):
        e = np.abs(err(col))
        line(f"{col} median |error| s", float(np.median(e)), "<= 0.15")
        line(f"{col} p90 |error| s", float(np.percentile(e, 90)), "<= 0.3")
    line(
        "lockout pelvis angle RMSE deg",
        float(np.sqrt(np.mean(err("pelvis_angle_deg") ** 2))),
        "<= 3",
    )
    line("hip travel MAE cm", float(np.mean(np.abs(err("hip_travel_cm")))), "<= 2")
    br = m[m["t_exercise"].isin(BRIDGE_TILT)]
    if len(br):
        e = (br["e_tilt_deg"] - br["t_tilt_deg"]).to_numpy(dtype=float)
        line("bridge/thrust tilt RMSE deg", float(np.sqrt(np.nanmean(e**2))), "<= 3")
        big = br[np.abs(br["t_tilt_deg"]) >= 5.0]
        acc = float(np.mean(big["e_tilt_class"] == big["t_tilt_class"])) if len(big) else np.nan
        line("bridge tilt class right, % (|true tilt| >= 5)", 100 * acc, ">= 90")
    e_all = err("tilt_deg")
    line("tilt RMSE deg, all exercises", float(np.sqrt(np.mean(e_all**2))), "(info)")
    if "e_exercise" in m:
        line(
            "exercise right, % of matched reps",
            100 * float(np.mean(m["e_exercise"] == m["t_exercise"])),
            "(info)",
        )
    print("\nper exercise (matched reps): angle RMSE deg, travel MAE cm, start/end median s")
    for ex, g in m.groupby("t_exercise"):
        a = np.sqrt(np.mean((g["e_pelvis_angle_deg"] - g["t_pelvis_angle_deg"]) ** 2))
        tr = np.mean(np.abs(g["e_hip_travel_cm"] - g["t_hip_travel_cm"]))
        se = np.median(np.abs(g["e_start_s"] - g["t_start_s"]))
        ee = np.median(np.abs(g["e_end_s"] - g["t_end_s"]))
        print(f"  {ex:<26s} {a:6.2f} {tr:6.2f} {se:6.3f} {ee:6.3f}  n={len(g)}")
    print("\nper rate: angle RMSE deg, travel MAE cm")
    for rate, g in m.groupby("rate"):
        a = np.sqrt(np.mean((g["e_pelvis_angle_deg"] - g["t_pelvis_angle_deg"]) ** 2))
        tr = np.mean(np.abs(g["e_hip_travel_cm"] - g["t_hip_travel_cm"]))
        print(f"  {rate:6.0f} Hz {a:6.2f} {tr:6.2f}  n={len(g)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="four exercises only")
    ap.add_argument("--unknown-exercise", action="store_true", help="drop exercise metadata")
    ap.add_argument("--seed-base", type=int, default=1000, help="first seed (default 1000)")
    ap.add_argument("--no-refinement", action="store_true", help="no accelerometer refinement")
    args = ap.parse_args()
    if args.no_refinement:
        global REFINEMENT
        REFINEMENT = AccelerometerRefinement(enabled=False)
    t0 = time.perf_counter()
    tally = run(args.quick, args.unknown_exercise, args.seed_base)
    report(tally)
    print(f"\nelapsed {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
