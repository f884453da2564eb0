"""Fit the exercise recogniser (imu/pipeline/models/exercise_recognizer_v1.json) on simulated
sessions, and print its training and validation confusion.

Data: realistic workouts (``imu.sim.workout.simulate_workout``, seeds 3000-3119) and
single-exercise sessions (``imu.sim.strength.simulate_strength``, seeds 3500-3565): every
exercise, at 100 and 200 Hz, random placements and mountings. These seeds are disjoint from the
tests (< 1000), ``benchmarks/evaluate_strength.py`` (1000-1952, 5000-5952) and
``benchmarks/evaluate_workouts.py`` (10000+). Every session runs the strength stages up to the
rep candidates (:meth:`imu.pipeline.strength.StrengthAnalysis.s6_candidates`); each candidate
is labelled from the truth:

* exercises that rest at the top and lying exercises: the candidate nearest to a true rep's
  extreme (the bottom of a rest-at-top rep, the lockout of a lying one), within the rep, gets
  the set's exercise;
* deadlifts: the candidates are the bottoms; the bottom before each rep (and after the last)
  nearest within 2 s gets "deadlift";
* everything else is "none" (set-up and exit moves, fidgets, sitting down, getting up, extra
  humps inside a rep).

Model: one hidden layer (``--hidden`` tanh units), softmax over the 11 exercises and "none",
L2 penalty ``--l2``, fitted by L-BFGS (scipy) from a fixed seed; class weights balance the
exercises. Sessions whose seed ends in 0 or 5 are held out for validation, then the model is
refitted on everything and written. Candidate tables are cached (``--cache DIR``).

    .venv/bin/python benchmarks/train_recognizer.py [--cache DIR] [--jobs 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from imu.core.exercises import EXERCISES, REGISTRY
from imu.core.session import RawSession
from imu.pipeline.candidates import FEATURES
from imu.pipeline.recognition import CLASSES, MODEL_FILE, NONE
from imu.pipeline.strength import StrengthAnalysis

WORKOUT_SEEDS = range(3000, 3120)
STRENGTH_SEEDS = range(3500, 3566)
LOG_FEATURES = ("amp_deg", "travel_cm", "net_cm", "dur_s", "ext_hold_s", "peak_speed_dps",
                "gap_prev_s", "gap_next_s", "travel_per_deg")
VERSION = "1"
OUT = Path(__file__).resolve().parents[1] / "imu" / "pipeline" / "models" / MODEL_FILE


def simulate(kind: str, seed: int) -> Any:
    if kind == "workout":
        from imu.sim.workout import simulate_workout

        return simulate_workout(seed=seed, sample_rate_hz=(100.0, 200.0)[seed % 2])
    from imu.sim.strength import simulate_strength

    rng = np.random.default_rng(seed)
    ex = str(rng.choice(EXERCISES))
    return simulate_strength(exercise=ex, n_sets=3, sample_rate_hz=(100.0, 200.0)[seed % 2],
                             placement=str(rng.choice(["left_hip", "right_hip", "sacrum"])),
                             mounting="random", seed=seed)


def true_extremes(truth_reps: pd.DataFrame) -> pd.DataFrame:
    """Times where a rep's candidate should peak, with the exercise (module docstring)."""
    rows = []
    for (_, ex), g in truth_reps.groupby(["set", "exercise"], sort=False):
        g = g.sort_values("rep")
        e = REGISTRY[str(ex)]
        if e.rest_at_bottom and e.posture not in ("supine", "prone"):  # deadlift: bottoms
            st, en = g["start_s"].to_numpy(), g["end_s"].to_numpy()
            times = [st[0] - 0.3, *(0.5 * (en[:-1] + st[1:])), en[-1] + 0.5]
            for t in times:
                rows.append((t, str(ex), t - 2.0, t + 2.0))
        elif e.rest_at_bottom:
            for r in g.itertuples():
                rows.append((r.lockout_s, str(ex), r.start_s, r.end_s))
        else:
            for r in g.itertuples():
                mid = r.start_s + r.eccentric_s + 0.5 * (
                    r.end_s - r.concentric_s - r.start_s - r.eccentric_s)
                rows.append((mid, str(ex), r.start_s, r.end_s))
    return pd.DataFrame(rows, columns=["t", "exercise", "lo", "hi"])


def label(cands: pd.DataFrame, t_peak: np.ndarray, truth_reps: pd.DataFrame) -> np.ndarray:
    """Class label per candidate: nearest one-to-one within each true rep, else none."""
    lab = np.full(len(cands), NONE, dtype=object)
    ext = true_extremes(truth_reps)
    if not len(ext) or not len(cands):
        return lab
    d = np.abs(t_peak[:, None] - ext["t"].to_numpy()[None, :])
    inside = (t_peak[:, None] >= ext["lo"].to_numpy()[None, :]) & (
        t_peak[:, None] <= ext["hi"].to_numpy()[None, :])
    d[~inside] = np.inf
    used_c, used_t = set(), set()
    for flat in np.argsort(d, axis=None):
        i, j = (int(x) for x in np.unravel_index(flat, d.shape))
        if not np.isfinite(d[i, j]):
            break
        if i in used_c or j in used_t:
            continue
        used_c.add(i)
        used_t.add(j)
        lab[i] = ext["exercise"].iloc[j]
    return lab


def crop(raw: RawSession, reps: pd.DataFrame, set_no: int, rng: np.random.Generator
         ) -> tuple[RawSession, pd.DataFrame]:
    """One set cut out as a recording of its own, the way real recordings come: starting 0-2.7 s
    before the first rep and ending 0.1-4 s after the last (no standing start)."""
    r = reps[reps["set"] == set_no]
    t0 = float(r["start_s"].min()) - rng.uniform(0.0, 2.7)
    t1 = float(r["end_s"].max()) + rng.uniform(0.1, 4.0)
    m = (raw.t_s >= t0) & (raw.t_s <= t1)
    gyr = None if raw.gyr_dps is None else raw.gyr_dps[m]
    seq = None if raw.seq is None else raw.seq[m]
    out = RawSession(t_s=raw.t_s[m] - t0, acc_g=raw.acc_g[m], gyr_dps=gyr, seq=seq,
                     meta=dict(raw.meta))
    r = r.copy()
    for c in ("start_s", "end_s", "lockout_s"):
        r[c] = r[c] - t0
    return out, r


def sim_cached(kind: str, seed: int, cache: str) -> tuple[RawSession, pd.DataFrame]:
    """The simulated session and its true reps (pickled in ``cache``)."""
    path = Path(cache) / f"sim-{kind}-{seed}.pkl"
    if path.exists():
        with open(path, "rb") as f:
            return pickle.load(f)
    sim = simulate(kind, seed)
    out = (sim.raw, sim.truth.reps)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(out, f)
    os.replace(tmp, path)
    return out


def candidates_of(raw: RawSession, reps: pd.DataFrame) -> pd.DataFrame:
    """The strength stages up to the candidates, labelled from the truth."""
    sa = StrengthAnalysis(placement=raw.meta["placement"])
    s = sa.s2_sensor(sa.s1_time_base(raw, raw.sample_rate_hz))
    b = sa.s3_bouts(s)
    cal = sa.s4_calibration(s, b)
    po = sa.s5_posture(s, b, cal)
    c = pd.DataFrame(sa.s6_candidates(s, b, cal, po).candidates_)
    t_peak = s.grid.t_s[0] + c["peak"].to_numpy() / s.fs
    c["label"] = label(c, t_peak, reps)
    c["t_s"] = t_peak
    return c


def session_table(job: tuple[str, int, str]) -> pd.DataFrame:
    kind, seed, cache = job
    raw, reps = sim_cached(kind, seed, cache)
    tables = [candidates_of(raw, reps).assign(kind=kind, seed=seed)]
    if kind == "strength":  # every set also as a cropped recording of its own
        rng = np.random.default_rng(seed)
        for set_no in sorted(reps["set"].unique()):
            c_raw, c_reps = crop(raw, reps, int(set_no), rng)
            tables.append(candidates_of(c_raw, c_reps).assign(kind="cropped", seed=seed))
    return pd.concat(tables, ignore_index=True)


# ---- the network ---------------------------------------------------------------------------


def _unpack(theta: np.ndarray, d: int, h: int, k: int) -> tuple[np.ndarray, ...]:
    i = 0
    w1 = theta[i : i + d * h].reshape(d, h)
    i += d * h
    b1 = theta[i : i + h]
    i += h
    w2 = theta[i : i + h * k].reshape(h, k)
    i += h * k
    return w1, b1, w2, theta[i : i + k]


def fit_mlp(x: np.ndarray, y: np.ndarray, k: int, hidden: int, l2: float, seed: int,
            weights: np.ndarray) -> dict[str, np.ndarray]:
    n, d = x.shape
    rng = np.random.default_rng(seed)
    theta0 = np.concatenate([rng.normal(0, 1 / np.sqrt(d), d * hidden), np.zeros(hidden),
                             rng.normal(0, 1 / np.sqrt(hidden), hidden * k), np.zeros(k)])
    onehot = np.eye(k)[y]
    wsum = weights.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w1, b1, w2, b2 = _unpack(theta, d, hidden, k)
        a = np.tanh(x @ w1 + b1)
        z = a @ w2 + b2
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -np.sum(weights * np.log(np.sum(p * onehot, axis=1) + 1e-12)) / wsum
        reg = 0.5 * l2 * (np.sum(w1**2) + np.sum(w2**2))
        gz = (p - onehot) * weights[:, None] / wsum
        gw2 = a.T @ gz + l2 * w2
        gb2 = gz.sum(axis=0)
        ga = gz @ w2.T * (1 - a**2)
        gw1 = x.T @ ga + l2 * w1
        gb1 = ga.sum(axis=0)
        return nll + reg, np.concatenate([gw1.ravel(), gb1, gw2.ravel(), gb2])

    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    w1, b1, w2, b2 = _unpack(res.x, d, hidden, k)
    return {"W1": w1, "b1": b1, "W2": w2, "b2": b2}


def design(df: pd.DataFrame) -> np.ndarray:
    x = df[list(FEATURES)].to_numpy(dtype=float).copy()
    for j, name in enumerate(FEATURES):
        if name in LOG_FEATURES:
            x[:, j] = np.sign(x[:, j]) * np.log1p(np.abs(x[:, j]))
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


UPRIGHT = tuple(e for e in EXERCISES if REGISTRY[e].posture in ("standing", "kneeling"))


def augment(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Real people vary more than the simulator (measured on the development subject of the
    real squats only): one extra copy of every upright rep candidate done faster (tempo x
    0.55-1: durations, holds and spacing shorter, peak speed higher) and without coming fully
    upright between reps (rest and extreme tilt + 0-20 deg); squats also with a larger pelvis
    tilt (the excursion x 1-2.5: a deep trunk lean). Lying reps, deadlifts (their rest at the
    bottom is what tells them from a squat) and "none" are not copied."""
    rng = np.random.default_rng(seed)
    up = df[df["label"].isin(UPRIGHT) & (df["label"] != "deadlift")].copy()
    n = len(up)
    f = rng.uniform(0.55, 1.0, n)
    for c in ("dur_s", "ext_hold_s", "gap_prev_s", "gap_next_s"):
        up[c] = up[c] * f
    up["peak_speed_dps"] = up["peak_speed_dps"] / f
    off = rng.uniform(0.0, 20.0, n)
    up["tilt_rest_deg"] += off
    up["tilt_ext_deg"] += off
    sq = (up["label"] == "squat").to_numpy()
    k = rng.uniform(1.0, 2.5, n)
    for c in ("amp_deg", "dtilt_deg"):
        up.loc[sq, c] = up.loc[sq, c] * k[sq]
    up.loc[sq, "tilt_ext_deg"] = up.loc[sq, "tilt_rest_deg"] + up.loc[sq, "dtilt_deg"]
    up["travel_per_deg"] = np.abs(up["travel_cm"]) / np.maximum(up["amp_deg"], 1.0)
    up["kind"] = "augmented"
    return pd.concat([df, up], ignore_index=True)


def train(df: pd.DataFrame, hidden: int, l2: float) -> dict[str, Any]:
    x = design(df)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    y = np.array([CLASSES.index(c) for c in df["label"]])
    counts = np.bincount(y, minlength=len(CLASSES)).astype(float)
    cw = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(CLASSES), 0.0)
    cw = np.sqrt(cw)  # soften: keep "none" frequent enough to stay likely
    net = fit_mlp((x - mean) / std, y, len(CLASSES), hidden, l2, seed=0, weights=cw[y])
    return {"mean": mean, "std": std, **net}


def predict(model: dict[str, Any], df: pd.DataFrame) -> np.ndarray:
    x = (design(df) - model["mean"]) / model["std"]
    z = np.tanh(x @ model["W1"] + model["b1"]) @ model["W2"] + model["b2"]
    return np.argmax(z, axis=1)


def confusion(df: pd.DataFrame, pred: np.ndarray) -> pd.DataFrame:
    return pd.crosstab(df["label"], pd.Series(np.asarray(CLASSES)[pred], index=df.index,
                                              name="predicted"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/tmp/imu-recognizer-cache")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    Path(args.cache).mkdir(parents=True, exist_ok=True)
    jobs = [("workout", s, args.cache) for s in WORKOUT_SEEDS] + [
        ("strength", s, args.cache) for s in STRENGTH_SEEDS]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            tables = list(ex.map(session_table, jobs))
    else:
        tables = [session_table(j) for j in jobs]
    df = pd.concat(tables, ignore_index=True)
    df.to_parquet(Path(args.cache) / "candidates.parquet")
    print(f"{len(tables)} sessions, {len(df)} candidates in {time.perf_counter() - t0:.0f} s")
    print(df["label"].value_counts().to_string())
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)
    val = (df["seed"] % 5) == 0
    model = train(augment(df[~val]), args.hidden, args.l2)
    pred = predict(model, df[val])
    acc = float(np.mean(np.asarray(CLASSES)[pred] == df.loc[val, "label"].to_numpy()))
    print(f"\nvalidation (seeds ending in 0 or 5): {val.sum()} candidates, accuracy {acc:.3f}")
    print(confusion(df[val], pred).to_string())
    model = train(augment(df), args.hidden, args.l2)
    pred = predict(model, df)
    print(f"\ntraining, all: accuracy "
          f"{float(np.mean(np.asarray(CLASSES)[pred] == df['label'].to_numpy())):.3f}")
    out = {
        "version": VERSION,
        "description": "exercise recogniser per rep candidate: one-hidden-layer tanh network, "
                       "softmax over the contract exercises and none (benchmarks/"
                       "train_recognizer.py)",
        "trained_on": {"workout_seeds": [WORKOUT_SEEDS.start, WORKOUT_SEEDS.stop - 1],
                       "strength_seeds": [STRENGTH_SEEDS.start, STRENGTH_SEEDS.stop - 1],
                       "candidates": int(len(df)), "hidden": args.hidden, "l2": args.l2},
        "classes": list(CLASSES),
        "features": list(FEATURES),
        "log_features": list(LOG_FEATURES),
        **{k: np.round(np.asarray(v), 7).tolist() for k, v in model.items()},
    }
    if not args.no_write:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=0) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
