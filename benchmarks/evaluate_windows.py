"""Windowed against one-piece analysis of long runs, both scored against the truth (seeds 7100+).

A run file longer than 32 minutes is analysed window by window (:func:`imu.analysis.analyze` on
a path: :mod:`imu.pipeline.gait_windows`, 30-min cores with 60 s of context either side, the
session's constants fitted on the first window); the same session given in memory
(``analyze(read_raw(path))``) is analysed in one piece. This script simulates long runs the
tests never use (:func:`imu.sim.running.simulate_run`, 40 / 65 / 100 min of running; left hip,
right hip, sacrum; 100 and 200 Hz; with and without the opening standing; one without
gyroscope; walking breaks; fatigue drift of the pelvic drop), writes each as a raw file
(metadata activity ``run``; the placement left out, so that both analyses find it from the
gait, except in one case), analyses it both ways and prints per case:

* against the truth, for each way: running-step recall and precision
  (:func:`imu.sim.running.score_steps`: nearest contact within 80 ms), contact-time, vertical
  oscillation and per-step drop MAE of the matched steps, and the summary's errors (cadence,
  pelvic drop left / right, drop drift, contact-time balance, pelvic rotation), as in the
  one-hour section of ``benchmarks/evaluate_running.py``;
* windowed against one-piece directly: steps of each, steps matched one-to-one within 5 ms,
  the unmatched ones and how many of them lie within 10 s of a window edge (the 30-min
  multiples), max |difference| of contact_s, gct_ms, pelvic_drop_deg, vo_cm over the matched
  steps, side / gait labels that differ, steps closer than 0.15 s (duplicates); the summary
  columns side by side (truth, one-piece, windowed, windowed - one-piece).

Bars, per case: the file is analysed in windows (``parameters['gait_windows']``); windowed
running-step recall and precision within 0.2 percentage points of one-piece (not lower); the
summary's pelvic-drop error per side no worse than one-piece + 0.1 deg; the same placement.
A file the reader rejects both ways (its plausibility checks; case #5, a 100-minute run at
5.1 m/s on the sacrum, was refused until the acceleration check took the mean magnitude
instead of the median, 0.29 g there) is reported, not scored; rejected
one way only, it fails. Exit status 1 when a bar is missed.
``--quick``: 3 cases (~20 s). Run: ``.venv/bin/python benchmarks/evaluate_windows.py
[--quick]`` (~1.5 min on one core).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from imu.analysis import AnalysisResult, analyze
from imu.core.errors import InputError
from imu.core.session import RawSession
from imu.io.rawfile import read_raw, write_raw
from imu.sim.running import score_steps, simulate_run
from imu.sim.session import SimSession


class Case(NamedTuple):
    placement: str
    rate_hz: float
    run_min: float
    """Running time (the file adds 5 s standing, 30 s warm-up, breaks, 30 s cool-down)."""
    standing: bool
    """False: the opening standing and the first second of walking cut off."""
    gyro: bool
    walk_breaks: int
    drift_deg: float
    placement_given: bool
    """True: the placement stays in the metadata (else both analyses find it from the gait)."""
    speed_m_s: float | None = None
    """None: drawn from the seed (2.5-5.5 m/s)."""


CASES = [
    Case("left_hip", 200.0, 40.0, True, True, 0, 2.5, False),
    Case("right_hip", 100.0, 40.0, False, True, 0, -2.0, False),
    Case("sacrum", 200.0, 65.0, True, True, 1, 3.0, False),
    Case("left_hip", 100.0, 65.0, False, True, 0, 2.0, False),
    Case("right_hip", 200.0, 100.0, True, True, 2, -1.5, False),
    Case("sacrum", 100.0, 100.0, False, True, 0, 2.5, False),
    Case("left_hip", 200.0, 40.0, True, False, 0, 2.0, False),
    Case("right_hip", 200.0, 65.0, False, True, 0, 3.0, True, 4.0),
    Case("sacrum", 100.0, 40.0, True, True, 0, -2.0, False),
    Case("left_hip", 100.0, 100.0, True, True, 1, -2.0, False),
    Case("sacrum", 100.0, 100.0, False, True, 0, 2.5, False, 3.5),  # #5 at a moderate speed
]
QUICK = (0, 3, 6)
SEED0 = 7100
MATCH_S = 0.005
"""Windowed and one-piece steps are the same step within 5 ms."""
EDGE_S = 10.0
"""An unmatched step within this of a window edge is counted as an edge step."""
DUPLICATE_S = 0.15
"""Consecutive contacts closer than this are duplicates (220 spm is 0.27 s a step)."""
SUMMARY = ("cadence_spm", "gct_ms", "gct_balance_left_pct", "vo_cm", "pelvic_drop_left_deg",
           "pelvic_drop_right_deg", "pelvic_rotation_deg", "drop_drift_deg")
SHORT = {"cadence_spm": "cad", "gct_ms": "gct", "gct_balance_left_pct": "bal_L%", "vo_cm": "vo",
         "pelvic_drop_left_deg": "dropL", "pelvic_drop_right_deg": "dropR",
         "pelvic_rotation_deg": "rot", "drop_drift_deg": "drift"}
RECALL_PTS, DROP_DEG = 0.2, 0.1


def variant(raw: RawSession, cut_s: float, gyro: bool, keep_placement: bool) -> RawSession:
    """The raw session without its first ``cut_s`` seconds and/or its gyroscope and/or the
    placement in its metadata (times kept on the session clock)."""
    keep = raw.t_s >= raw.t_s[0] + cut_s
    meta = dict(raw.meta)
    if not keep_placement:
        meta.pop("placement", None)
    return RawSession(
        t_s=raw.t_s[keep], acc_g=raw.acc_g[keep],
        gyr_dps=raw.gyr_dps[keep] if gyro and raw.gyr_dps is not None else None,
        seq=None if raw.seq is None else raw.seq[keep], meta=meta,
    )


def against_truth(sim: SimSession, res: AnalysisResult) -> dict[str, Any]:
    """Running steps and summary of one analysis against the simulator's truth."""
    truth, ts, es = sim.truth.steps, sim.truth.summary, res.row
    steps = res.steps
    run = steps[steps["gait"] == "run"].reset_index(drop=True)
    s = score_steps(truth, run)
    return {
        "steps": len(steps), "run_steps": len(run), "n_truth": s["n_truth"],
        "n_est": s["n_est"], "recall_pct": 100 * s["recall"],
        "precision_pct": 100 * s["precision"], "side_pct": 100 * s["side_agreement"],
        "gct_mae_ms": s["gct_mae_ms"], "vo_mae_cm": s["vo_mae_cm"],
        "drop_mae_deg": s["drop_mae_deg"],
        "cad_err_pct": 100 * (es["cadence_spm"] / ts["cadence_spm"] - 1),
        "gct_err_ms": es["gct_ms"] - ts["gct_ms"],
        "dropL_err": es["pelvic_drop_left_deg"] - ts["pelvic_drop_left_deg"],
        "dropR_err": es["pelvic_drop_right_deg"] - ts["pelvic_drop_right_deg"],
        "drift_err": es["drop_drift_deg"] - ts["drop_drift_deg"],
        "bal_err_pts": es["gct_balance_left_pct"] - ts["gct_balance_left_pct"],
        "rot_err": es["pelvic_rotation_deg"] - ts["pelvic_rotation_deg"],
        "placement": str(es.get("placement")),
    }


def mutual_nearest(a: np.ndarray, b: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) of the pairs a[i], b[j] (sorted arrays) that are each other's nearest
    and within ``tol``: a one-to-one match."""
    if a.size == 0 or b.size == 0:
        return np.zeros(0, int), np.zeros(0, int)

    def nearest(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        j = np.clip(np.searchsorted(y, x), 1, max(y.size - 1, 1))
        lo = np.maximum(j - 1, 0)
        return np.where(np.abs(y[lo] - x) <= np.abs(y[j] - x), lo, j) if y.size > 1 else (
            np.zeros(x.size, int))

    ja, ib = nearest(a, b), nearest(b, a)
    i = np.arange(a.size)
    ok = (ib[ja] == i) & (np.abs(a - b[ja]) <= tol)
    return i[ok], ja[ok]


def agreement(one: pd.DataFrame, win: pd.DataFrame, edges: np.ndarray) -> dict[str, Any]:
    """Windowed steps against one-piece steps (all gaits): matched within 5 ms, the unmatched
    and how many lie near a window edge, the largest differences of the matched steps."""
    co, cw = one["contact_s"].to_numpy(float), win["contact_s"].to_numpy(float)
    io, iw = mutual_nearest(co, cw, MATCH_S)
    lost = np.setdiff1d(np.arange(co.size), io)  # one-piece steps the windowed lacks
    extra = np.setdiff1d(np.arange(cw.size), iw)  # windowed steps the one-piece lacks

    def near_edge(t: np.ndarray) -> int:
        if edges.size == 0 or t.size == 0:
            return 0
        return int((np.abs(t[:, None] - edges[None, :]).min(axis=1) <= EDGE_S).sum())

    out: dict[str, Any] = {
        "n_one": co.size, "n_win": cw.size, "matched": io.size, "lost": lost.size,
        "extra": extra.size, "lost_edge": near_edge(co[lost]), "extra_edge": near_edge(cw[extra]),
        "lost_t": co[lost], "extra_t": cw[extra],
        "dup_one": int((np.diff(co) < DUPLICATE_S).sum()),
        "dup_win": int((np.diff(cw) < DUPLICATE_S).sum()),
        "win_sorted": bool(np.all(np.diff(cw) > 0)),
    }
    a, b = one.iloc[io].reset_index(drop=True), win.iloc[iw].reset_index(drop=True)
    for col, scale, name in (("contact_s", 1000.0, "d_contact_ms"), ("gct_ms", 1.0, "d_gct_ms"),
                             ("pelvic_drop_deg", 1.0, "d_drop_deg"), ("vo_cm", 1.0, "d_vo_cm")):
        d = np.abs(b[col].to_numpy(float) - a[col].to_numpy(float)) * scale
        out[name] = float(np.nanmax(d)) if np.isfinite(d).any() else float("nan")
        out[name + "_at"] = (float(a["contact_s"].iloc[int(np.nanargmax(d))])
                             if np.isfinite(d).any() else float("nan"))
        if col == "pelvic_drop_deg":
            out["drop_diff_steps"] = int((np.isfinite(d) & (d > 0.05)).sum())
    # per window core: where the matched steps differ, and whether by an offset
    core = np.searchsorted(edges, a["contact_s"].to_numpy(float), side="right")
    per = []
    for k in range(edges.size + 1):
        at = core == k
        dd = b["pelvic_drop_deg"].to_numpy(float)[at] - a["pelvic_drop_deg"].to_numpy(float)[at]
        dg = b["gct_ms"].to_numpy(float)[at] - a["gct_ms"].to_numpy(float)[at]
        fin = np.isfinite(dd)
        left = a["side"].to_numpy()[at] == "L"
        per.append({
            "core": k, "steps": int(at.sum()),
            "drop_L": float(dd[fin & left].mean()) if (fin & left).any() else np.nan,
            "drop_R": float(dd[fin & ~left].mean()) if (fin & ~left).any() else np.nan,
            "drop_max": float(np.abs(dd[fin]).max()) if fin.any() else np.nan,
            "drop_gt_0.05": int((np.abs(dd[fin]) > 0.05).sum()),
            "gct_mean": float(np.nanmean(dg)) if at.any() else np.nan,
            "gct_max": float(np.nanmax(np.abs(dg))) if at.any() else np.nan,
        })
    out["per_core"] = per
    out["side_differ"] = int((a["side"].to_numpy() != b["side"].to_numpy()).sum())
    out["gait_differ"] = int((a["gait"].to_numpy() != b["gait"].to_numpy()).sum())
    return out


def describe_times(t: np.ndarray, edges: np.ndarray, t0: float) -> str:
    """A few times (min from the file's start) and their distance to the nearest edge."""
    if t.size == 0:
        return ""
    shown = [f"{(x - t0) / 60:.2f}" + (
        f" ({x - edges[np.abs(edges - x).argmin()]:+.1f} s from edge)" if edges.size else "")
        for x in t[:4]]
    return ", ".join(shown) + (" ..." if t.size > 4 else "")


def drop_bar(w: float, o: float) -> tuple[bool, str]:
    """Windowed drop error no worse than one-piece + 0.1 deg; no drop from either (no
    gyroscope: no pelvis angles) passes only when neither reports one."""
    if not (np.isfinite(w) and np.isfinite(o)):
        return bool(np.isfinite(w) == np.isfinite(o)), f"w {w:.3f} o {o:.3f}"
    return bool(abs(w) <= abs(o) + DROP_DEG), f"|err| w {abs(w):.3f} o {abs(o):.3f}"


def run_case(k: int, case: Case, folder: Path) -> dict[str, Any]:
    seed = SEED0 + k
    t_sim = time.process_time()
    sim = simulate_run(duration_s=60.0 * case.run_min, sample_rate_hz=case.rate_hz,
                       placement=case.placement, seed=seed, drift_deg=case.drift_deg,
                       walk_breaks=case.walk_breaks, speed_m_s=case.speed_m_s)
    cut = 0.0 if case.standing else float(sim.truth.summary.get("standing_s", 5.0)) + 1.0
    raw = variant(sim.raw, cut, case.gyro, case.placement_given)
    path = write_raw(folder / f"run{seed}.parquet", raw)
    t0_file = float(raw.t_s[0])
    del raw
    sim_s = time.process_time() - t_sim

    label = (f"#{k} seed {seed} {case.placement} {case.rate_hz:g} Hz {case.run_min:g} min run"
             + (f" at {case.speed_m_s:g} m/s" if case.speed_m_s else "")
             + f"{'' if case.standing else ', no standing'}{'' if case.gyro else ', acc only'}"
             + (f", {case.walk_breaks} walk breaks" if case.walk_breaks else "")
             + f", drift {case.drift_deg:+g} deg"
             + (", placement given" if case.placement_given else ", placement found"))
    print(f"\n== {label}")
    errors: dict[str, str] = {}
    t = time.process_time()
    try:
        win = analyze(path)
    except InputError as exc:
        errors["windowed"] = str(exc)
    win_s = time.process_time() - t
    t = time.process_time()
    try:
        one = analyze(read_raw(path))
    except InputError as exc:
        errors["one-piece"] = str(exc)
    one_s = time.process_time() - t
    path.unlink()
    if errors:  # a file the reader rejects: no figures; a FAIL unless both ways reject it
        for way, msg in errors.items():
            print(f"   {way} REJECTED: {msg}")
        both = len(errors) == 2
        print("   rejected both ways (the reader's checks, not the windows): no bars" if both
              else "   bars: FAIL (only one way rejects the file)")
        return {"case": k, "rejected": both, "failed": not both, "error": next(iter(
            errors.values())), "times": (sim_s, win_s, one_s)}

    windows = win.parameters.get("gait_windows")
    w_s = float(windows["window_s"]) if windows else 0.0
    n_win = int(windows["windows"]) if windows else 1
    edges = t0_file + w_s * np.arange(1, n_win) if windows else np.zeros(0)
    so, sw = against_truth(sim, one), against_truth(sim, win)
    agree = agreement(one.steps, win.steps, edges)

    how = f"{n_win} windows of {w_s:g} s" if windows else "NOT WINDOWED"
    print(f"   {how}; "
          f"cpu: simulate+write {sim_s:.1f} s, windowed {win_s:.1f} s, one-piece {one_s:.1f} s")
    keys = ["run_steps", "recall_pct", "precision_pct", "side_pct", "gct_mae_ms", "vo_mae_cm",
            "drop_mae_deg", "cad_err_pct", "gct_err_ms", "dropL_err", "dropR_err", "drift_err",
            "bal_err_pts", "rot_err", "placement"]
    vs = pd.DataFrame([so, sw], index=["one-piece", "windowed"])[keys]
    print("   vs truth (errors are estimate - truth; recall/precision %):")
    print("   " + vs.rename(columns=lambda c: c.replace("_pct", "%")).round(3).to_string()
          .replace("\n", "\n   "))
    side = pd.DataFrame(
        [{c: sim.truth.summary.get(c, np.nan) for c in SUMMARY},
         {c: one.row.get(c, np.nan) for c in SUMMARY},
         {c: win.row.get(c, np.nan) for c in SUMMARY}],
        index=["truth", "one-piece", "windowed"]).astype(float)
    side.loc["w - o"] = side.loc["windowed"] - side.loc["one-piece"]
    side["placement"] = [case.placement, one.row.get("placement"), win.row.get("placement"),
                         "same" if one.row.get("placement") == win.row.get("placement")
                         else "DIFFER"]
    print("   summary side by side:")
    print("   " + side.rename(columns=SHORT).round(3).to_string().replace("\n", "\n   "))
    print(f"   steps (all gaits) one-piece {agree['n_one']} windowed {agree['n_win']}: matched "
          f"within 5 ms {agree['matched']}, lost {agree['lost']} ({agree['lost_edge']} near an "
          f"edge), extra {agree['extra']} ({agree['extra_edge']} near an edge); duplicates "
          f"(< {DUPLICATE_S} s) o {agree['dup_one']} w {agree['dup_win']}"
          + ("" if agree["win_sorted"] else "; windowed contacts NOT increasing"))
    def at(key: str) -> str:  # where the largest difference is: minute of the file
        return f" (min {(agree[key + '_at'] - t0_file) / 60:.1f})"

    print(f"   matched max |w - o|: contact {agree['d_contact_ms']:.2f} ms{at('d_contact_ms')}"
          f", gct {agree['d_gct_ms']:.2f} ms{at('d_gct_ms')}, drop {agree['d_drop_deg']:.3f} deg"
          f"{at('d_drop_deg')}, vo {agree['d_vo_cm']:.3f} cm; side differs "
          f"{agree['side_differ']}, gait differs "
          f"{agree['gait_differ']}; drop differs > 0.05 deg on {agree.get('drop_diff_steps', 0)}")
    for name in ("lost", "extra"):
        if agree[name]:
            print(f"   {name} at min {describe_times(agree[name + '_t'], edges, t0_file)}")
    if len(agree["per_core"]) > 1:
        print("   per window core, matched steps w - o: " + "; ".join(
            f"#{p['core']} {p['steps']} steps drop mean L {p['drop_L']:+.3f} R "
            f"{p['drop_R']:+.3f} max "
            f"{p['drop_max']:.3f} deg ({p['drop_gt_0.05']} > 0.05), gct mean "
            f"{p['gct_mean']:+.2f} max {p['gct_max']:.2f} ms" for p in agree["per_core"]))
    for w in sorted(set(win.warnings) ^ set(one.warnings)):
        print(f"   warning in {'windowed' if w in win.warnings else 'one-piece'} only: {w}")

    bars = {
        "windowed": (bool(windows), "analysed in windows" if windows else "one piece"),
        "recall": (sw["recall_pct"] >= so["recall_pct"] - RECALL_PTS,
                   f"w - o {sw['recall_pct'] - so['recall_pct']:+.3f} pt"),
        "precision": (sw["precision_pct"] >= so["precision_pct"] - RECALL_PTS,
                      f"w - o {sw['precision_pct'] - so['precision_pct']:+.3f} pt"),
        "drop L": drop_bar(sw["dropL_err"], so["dropL_err"]),
        "drop R": drop_bar(sw["dropR_err"], so["dropR_err"]),
        "placement": (sw["placement"] == so["placement"], f"{sw['placement']} / {so['placement']}"),
    }
    print("   bars: " + "; ".join(f"{k} {'PASS' if ok else 'FAIL'} ({why})"
                                  for k, (ok, why) in bars.items()), flush=True)
    return {"case": k, "rejected": False, "failed": False, "one": so, "win": sw,
            "agree": agree, "bars": bars, "times": (sim_s, win_s, one_s),
            "placement_true": case.placement}


def totals(all_rows: list[dict[str, Any]]) -> bool:
    rows = [r for r in all_rows if "bars" in r]
    print(f"\n== totals over {len(rows)} cases analysed both ways")
    for r in all_rows:
        if "bars" not in r:
            how = "rejected both ways" if r["rejected"] else "FAIL: rejected one way"
            print(f"  #{r['case']} {how}: {r['error']}")
    if not rows:
        return False
    for way in ("one", "win"):
        s = [r[way] for r in rows]
        n_t, n_e = sum(x["n_truth"] for x in s), sum(x["n_est"] for x in s)
        rec = sum(x["recall_pct"] * x["n_truth"] for x in s) / n_t
        prec = sum(x["precision_pct"] * x["n_est"] for x in s) / n_e

        def worst(key: str, s: list[dict[str, Any]] = s) -> float:
            return float(np.nanmax([abs(x[key]) for x in s]))

        right = sum(x["placement"] == r["placement_true"] for x, r in zip(s, rows, strict=True))
        print(f"  {'one-piece' if way == 'one' else 'windowed ':9s} recall {rec:.3f} % precision "
              f"{prec:.3f} % (pooled, {n_t:.0f} true running steps); worst |err|: gct MAE "
              f"{worst('gct_mae_ms'):.1f} ms, cadence {worst('cad_err_pct'):.3f} %, drop L "
              f"{worst('dropL_err'):.2f} R {worst('dropR_err'):.2f} deg, drift "
              f"{worst('drift_err'):.2f} deg, balance {worst('bal_err_pts'):.2f} pts, rotation "
              f"{worst('rot_err'):.2f} deg; placement right {right}/{len(rows)}")
    a = [r["agree"] for r in rows]

    def most(key: str) -> float:
        return float(np.nanmax([x[key] for x in a]))

    print(f"  agreement: steps one-piece {sum(x['n_one'] for x in a)} windowed "
          f"{sum(x['n_win'] for x in a)}, matched {sum(x['matched'] for x in a)}, lost "
          f"{sum(x['lost'] for x in a)} ({sum(x['lost_edge'] for x in a)} near an edge), extra "
          f"{sum(x['extra'] for x in a)} ({sum(x['extra_edge'] for x in a)} near an edge); max "
          f"|w - o| contact {most('d_contact_ms'):.2f} ms, gct {most('d_gct_ms'):.2f} ms, drop "
          f"{most('d_drop_deg'):.3f} deg, vo {most('d_vo_cm'):.3f} cm")
    sim_s, win_s, one_s = (sum(r["times"][i] for r in all_rows) for i in range(3))
    print(f"  cpu: simulate+write {sim_s:.0f} s, windowed {win_s:.1f} s, one-piece {one_s:.1f} s")
    ok_all = True
    for name in rows[0]["bars"]:
        failed = [r["case"] for r in rows if not r["bars"][name][0]]
        ok_all &= not failed
        verdict = "PASS" if not failed else "FAIL in #" + ", #".join(map(str, failed))
        print(f"  bar {name:10s} {verdict} ({len(rows) - len(failed)}/{len(rows)} cases)")
    ok_all &= not any(r["failed"] for r in all_rows)
    print(f"  {'all bars PASS' if ok_all else 'some bars FAIL'}")
    return ok_all


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"cases {QUICK} only")
    ap.add_argument("--cases", default="",
                    help=f"comma-separated case numbers (0-{len(CASES) - 1})")
    args = ap.parse_args()
    numbers = ([int(i) for i in args.cases.split(",")] if args.cases
               else list(QUICK) if args.quick else list(range(len(CASES))))
    t0, c0 = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="imu-windows-") as tmp:
        rows = [run_case(k, CASES[k], Path(tmp)) for k in numbers]
    ok = totals(rows)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s cpu")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
