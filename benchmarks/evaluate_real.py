"""Accuracy of ``imu analyze`` on the real recordings in ``../shared/realdata``.

Measures the way a user runs it: ``imu analyze`` as a separate process (``sys.executable -m
imu.cli analyze``, this checkout's ``imu`` first on ``PYTHONPATH``) on every session, with the
options the realdata README prescribes, then reads the Parquet tables it wrote and scores them by
the README's "Scoring against these files" rules. A refused session (non-zero exit) counts as one
in which nothing was found; its one-line error is listed.

Runs (``--placement sacrum`` always):

* ``squat/prompted``   ``--activity strength --exercise squat``
* ``squat/unprompted`` ``--activity strength``, and the raw file's ``exercise`` metadata removed
  (a copy in a temporary folder): the user never names the exercise
* ``walk/auto``        no ``--activity`` (walking has no contract activity)
* ``walk/as_run``      ``--activity run`` (the README allows either)
* ``run/withstand``    ``--activity run`` on the ``_withstand`` variants (step accuracy)
* ``run/as_recorded``  ``--activity run`` on the recordings as they are: analysed, or refused
  cleanly (exit 2, one ``imu: error:`` line, nothing written), and the same figures if analysed

Every figure is printed for the development part, the held-out part and both (walk subjects
1-4 / 5-7, run trials t00-t04 / t05-t09, squat subject 1 / 2), next to its bar. Counts are
pooled over the sessions of a part (recall = all matched / all true). Where a bar is on a per-
session error ("cadence error <= x %"), it must hold for every session: the max is judged.
A session without a reported cadence scores a 100 % cadence error.

    make eval-real [IMU_REALDATA=DIR] [EVAL_REAL_ARGS="--per-session --json OUT.json"]
    .venv/bin/python benchmarks/evaluate_real.py [--realdata DIR] [--jobs 2] [--per-session]
        [--json OUT.json] [--datasets squat,walk,run] [--keep DIR] [--strict]

Shared pieces: ``benchmarks/realdata.py`` loads the recordings and their truth; the scoring
rules below are plain functions (tested in ``tests/test_realdata_eval.py``).

Exit status 0 when the evaluation ran (bars failing or not; ``--strict``: 1 if any bar fails),
2 when the recordings are missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from realdata import DEV, ENV_VAR, HELDOUT, REPO_ROOT, RealData, RealDataMissing, Truth

WALK_TOLERANCES_S = (0.10, 0.15, 0.25)
WALK_MAIN_TOL_S = 0.15
RUN_TOL_S = 0.060
EPS_S = 1e-9  # tolerances and ranges are inclusive; 10.15 - 10.0 > 0.15 in floating point
SPLITS = (DEV, HELDOUT, "all")
ONLY_ANALYSED = "over_analysed__"  # key prefix: run/as_recorded figures over analysed sessions
SPLIT_TITLES = {DEV: "dev", HELDOUT: "held-out", "all": "all"}
SPLIT_RULES = {
    "squat": "dev = subject 1, held-out = subject 2",
    "walk": "dev = subjects 1-4, held-out = subjects 5-7",
    "run": "dev = trials t00-t04, held-out = trials t05-t09",
}


# ================================================================================================
# Scoring rules (realdata README, "Scoring against these files"): pure functions
# ================================================================================================


def match_closest(true_t: Sequence[float], est_t: Sequence[float], tol_s: float
                  ) -> list[tuple[int, int]]:
    """One-to-one matching of event times within ``tol_s`` (inclusive), closest pairs first.

    Returns ``(true index, estimate index)`` pairs. Ties in distance go to the earlier true
    event, then the earlier estimate.
    """
    t = np.asarray(true_t, dtype=float)
    e = np.asarray(est_t, dtype=float)
    if t.size == 0 or e.size == 0:
        return []
    d = np.abs(t[:, None] - e[None, :])
    ii, jj = np.nonzero(d <= tol_s + EPS_S)
    order = np.lexsort((jj, ii, d[ii, jj]))
    used_t, used_e, out = set(), set(), []
    for k in order:
        i, j = int(ii[k]), int(jj[k])
        if i not in used_t and j not in used_e:
            used_t.add(i)
            used_e.add(j)
            out.append((i, j))
    return sorted(out)


def in_windows(t: Sequence[float], windows: Iterable[tuple[float, float]]) -> np.ndarray:
    """Boolean mask: which times lie inside any of the ``[start, end]`` windows (inclusive)."""
    x = np.asarray(t, dtype=float)
    m = np.zeros(x.size, dtype=bool)
    for a, b in windows:
        m |= (x >= a) & (x <= b)
    return m


def outside_s(x: float, window: tuple[float, float]) -> float:
    """How far ``x`` lies outside ``[lo, hi]``: 0 inside (edges included), else the distance."""
    lo, hi = window
    return float(max(lo - x, x - hi, 0.0))


def match_reps(est: pd.DataFrame, true: pd.DataFrame) -> list[tuple[int, int]]:
    """Squat rep matching, one-to-one: reported rep i matches true rep j when i's midpoint
    ``(start_s + end_s) / 2`` lies in ``[start_window_s[0], end_window_s[1]]`` of j (inclusive);
    the reported midpoint nearest to the true rep's middle (of its cut points) wins.
    Returns ``(reported position, true position)`` pairs."""
    if est.empty or true.empty:
        return []
    mid = 0.5 * (est["start_s"].to_numpy(float) + est["end_s"].to_numpy(float))
    lo = true["start_window_lo_s"].to_numpy(float)
    hi = true["end_window_hi_s"].to_numpy(float)
    tmid = true["mid_s"].to_numpy(float)
    cand = []
    for i, m in enumerate(mid):
        for j in range(len(true)):
            if lo[j] <= m <= hi[j]:
                cand.append((abs(m - tmid[j]), j, i))
    cand.sort()
    used_i, used_j, out = set(), set(), []
    for _, j, i in cand:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return sorted(out)


def best_set_reps(sets: pd.DataFrame, true_start_s: float, true_end_s: float) -> tuple[int, Any]:
    """``reps`` (and ``exercise``) of the reported set that overlaps the true set most;
    ``(0, None)`` when no set overlaps it by more than zero seconds."""
    if sets.empty:
        return 0, None
    ov = (np.minimum(sets["end_s"].to_numpy(float), true_end_s)
          - np.maximum(sets["start_s"].to_numpy(float), true_start_s))
    k = int(np.argmax(ov))
    if not ov[k] > 0:
        return 0, None
    row = sets.iloc[k]
    return int(row["reps"]), (row["exercise"] if "exercise" in sets.columns else None)


def cadence_error_pct(reported_spm: float, true_spm: float) -> float:
    """``|reported / true - 1|`` in %; a missing (NaN) or non-positive report counts 100 %."""
    if reported_spm is None or not np.isfinite(reported_spm) or reported_spm <= 0:
        return 100.0
    return float(100.0 * abs(reported_spm / true_spm - 1.0))


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def walk_cadence_spm(summary: dict[str, Any] | None) -> float:
    """Reported walking cadence: summary ``walk_cadence_spm``, else ``cadence_spm`` where the
    first is absent (no column, or NaN); NaN when neither is there."""
    if not summary:
        return float("nan")
    v = _num(summary.get("walk_cadence_spm"))
    return v if np.isfinite(v) else _num(summary.get("cadence_spm"))


def score_squat(truth: Truth, sets: pd.DataFrame, reps: pd.DataFrame) -> dict[str, Any]:
    """Per-session squat figures (one true set per session)."""
    tset = truth.sets.iloc[0]
    n_true = int(tset["reps"])
    best, exercise = best_set_reps(sets, float(tset["start_s"]), float(tset["end_s"]))
    tr = truth.reps
    pairs = match_reps(reps, tr)
    start_out, end_out, start_cut, end_cut = [], [], [], []
    for i, j in pairs:
        r, t = reps.iloc[i], tr.iloc[j]
        start_out.append(outside_s(float(r["start_s"]),
                                   (t["start_window_lo_s"], t["start_window_hi_s"])))
        end_out.append(outside_s(float(r["end_s"]), (t["end_window_lo_s"], t["end_window_hi_s"])))
        start_cut.append(float(r["start_s"]) - float(t["start_s"]))
        end_cut.append(float(r["end_s"]) - float(t["end_s"]))
    return {
        "n_sets": int(len(sets)), "reps_true": n_true, "reps_best_set": best,
        "best_set_exercise": None if exercise is None or exercise != exercise else str(exercise),
        "n_reported_reps": int(len(reps)), "n_true_reps": int(len(tr)), "matched": len(pairs),
        "start_out_s": start_out, "end_out_s": end_out,
        "start_cut_s": start_cut, "end_cut_s": end_cut,
    }


def score_walk(truth: Truth, steps: pd.DataFrame, summary: dict[str, Any] | None,
               tolerances: Sequence[float] = WALK_TOLERANCES_S,
               main_tol: float = WALK_MAIN_TOL_S) -> dict[str, Any]:
    """Per-session walk figures: contacts matched one-to-one to ALL true heel strikes; recall
    over true heel strikes inside ``walk_windows_s``, precision over reported contacts inside
    them. Timing, stance time and side from the matches at ``main_tol``."""
    ts = truth.steps
    tc = ts["contact_s"].to_numpy(float)
    ec = steps["contact_s"].to_numpy(float) if len(steps) else np.zeros(0)
    t_in = in_windows(tc, truth.walk_windows_s)
    e_in = in_windows(ec, truth.walk_windows_s)
    out: dict[str, Any] = {"n_true_in": int(t_in.sum()), "n_est_in": int(e_in.sum()),
                           "n_est": int(ec.size), "tol": {}}
    for tol in tolerances:
        pairs = match_closest(tc, ec, tol)
        mt = np.zeros(tc.size, bool)
        me = np.zeros(ec.size, bool)
        for i, j in pairs:
            mt[i] = me[j] = True
        out["tol"][f"{tol:.2f}"] = {"tp_true": int((mt & t_in).sum()),
                                    "tp_est": int((me & e_in).sum())}
    pairs = match_closest(tc, ec, main_tol)
    signed, gct_err, side_ok, side_given = [], [], 0, 0
    for i, j in pairs:
        signed.append(float(ec[j] - tc[i]))
        tg, eg = ts["gct_ms"].iat[i], _num(steps["gct_ms"].iat[j]) if "gct_ms" in steps else np.nan
        if np.isfinite(tg) and np.isfinite(eg):
            gct_err.append(float(eg - tg))
        es = steps["side"].iat[j] if "side" in steps else None
        es = es if isinstance(es, str) else ""
        if es in ("L", "R"):
            side_given += 1
            side_ok += int(es == ts["side"].iat[i])
    cad = walk_cadence_spm(summary)
    out.update({
        "matched_main": len(pairs), "signed_err_s": signed, "gct_err_ms": gct_err,
        "side_correct": side_ok, "side_given": side_given,
        "cadence_true_spm": truth.cadence_spm, "cadence_reported_spm": cad,
        "cadence_err_pct": cadence_error_pct(cad, truth.cadence_spm),
    })
    return out


def score_run(truth: Truth, steps: pd.DataFrame, summary: dict[str, Any] | None,
              tol: float = RUN_TOL_S) -> dict[str, Any]:
    """Per-session run figures: contacts matched one-to-one within ``tol``; precision over the
    reported contacts in ``[first true contact - tol, last true contact + tol]``."""
    ts = truth.steps
    tc = ts["contact_s"].to_numpy(float)
    ec = steps["contact_s"].to_numpy(float) if len(steps) else np.zeros(0)
    pairs = match_closest(tc, ec, tol)
    me = np.zeros(ec.size, bool)
    for _, j in pairs:
        me[j] = True
    if tc.size:
        e_in = (ec >= tc.min() - tol - EPS_S) & (ec <= tc.max() + tol + EPS_S)
    else:
        e_in = np.zeros(ec.size, bool)
    gct_err, signed = [], []
    for i, j in pairs:
        signed.append(float(ec[j] - tc[i]))
        eg = _num(steps["gct_ms"].iat[j]) if "gct_ms" in steps else np.nan
        if np.isfinite(eg) and np.isfinite(ts["gct_ms"].iat[i]):
            gct_err.append(float(eg - ts["gct_ms"].iat[i]))
    cad = _num((summary or {}).get("cadence_spm"))
    return {
        "n_true": int(tc.size), "n_est": int(ec.size), "n_est_in": int(e_in.sum()),
        "tp_true": len(pairs), "tp_est": int((me & e_in).sum()),
        "signed_err_s": signed, "gct_err_ms": gct_err,
        "cadence_true_spm": truth.cadence_spm, "cadence_reported_spm": cad,
        "cadence_err_pct": cadence_error_pct(cad, truth.cadence_spm),
    }


# ================================================================================================
# Running the analyses
# ================================================================================================


@dataclass(frozen=True)
class Variant:
    key: str  # "squat/prompted"
    dataset: str
    options: tuple[str, ...]
    title: str
    strip_exercise: bool = False
    select: Callable[[Any], bool] | None = field(default=None, compare=False)


def _only(variant: str) -> Callable[[Any], bool]:
    return lambda s: s.variant == variant


VARIANTS = (
    Variant("squat/prompted", "squat", ("--activity", "strength", "--exercise", "squat"),
            "squat, prompted"),
    Variant("squat/unprompted", "squat", ("--activity", "strength"),
            "squat, unprompted (no --exercise; exercise removed from the file's metadata)",
            strip_exercise=True),
    Variant("walk/auto", "walk", (), "walk, no --activity"),
    Variant("walk/as_run", "walk", ("--activity", "run"), "walk, --activity run"),
    Variant("run/withstand", "run", ("--activity", "run"),
            "run, _withstand variants (3 s synthetic standing)", select=_only("withstand")),
    Variant("run/as_recorded", "run", ("--activity", "run"), "run, as recorded",
            select=_only("as_recorded")),
)


def child_env() -> dict[str, str]:
    """The environment of the analyses: this checkout's ``imu`` first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    return env


def analyze_command(raw: str, out: str, options: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "imu.cli", "analyze", raw, "--out", out,
            "--placement", "sacrum", *options]


def _read_table(folder: Path, name: str) -> pd.DataFrame | None:
    p = folder / f"{name}.parquet"
    return pd.read_parquet(p) if p.is_file() else None


def _error_line(stderr: str, rc: int) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errs = [ln for ln in lines if ln.startswith("imu: error:")]
    if errs:
        return errs[-1]
    return f"crash (exit {rc}): {lines[-1] if lines else 'no message'}"


def copy_without_exercise(src: str | Path, dst: str | Path) -> Path:
    """Copy a raw session file with ``exercise`` removed from its ``imu`` metadata (the file
    would otherwise name the exercise: options fall back to the metadata, contract section 2)."""
    table = pq.read_table(src)
    md = dict(table.schema.metadata or {})
    meta = json.loads(md.get(b"imu", b"{}"))
    meta.pop("exercise", None)
    md[b"imu"] = json.dumps(meta).encode()
    pq.write_table(table.replace_schema_metadata(md), dst, compression="zstd")
    return Path(dst)


def run_analysis(job: dict[str, Any]) -> dict[str, Any]:
    """Run one ``imu analyze`` process and read what it wrote (runs in a pool worker)."""
    work = Path(job["workdir"])
    work.mkdir(parents=True, exist_ok=True)
    raw = job["raw"]
    if job["strip_exercise"]:
        raw = str(copy_without_exercise(raw, work / Path(raw).name))
    out = work / "out"
    cmd = analyze_command(raw, str(out), job["options"])
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=job["env"],
                              timeout=job["timeout_s"], check=False)
        rc, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired:
        rc, stderr = -1, f"(evaluation) killed after a timeout of {job['timeout_s']:g} s"
    elapsed = time.perf_counter() - t0
    written = sorted(p for p in out.rglob("*") if p.is_file()) if out.exists() else []
    res: dict[str, Any] = {"key": job["key"], "name": job["name"], "rc": rc,
                           "elapsed_s": elapsed, "error": "", "clean_refusal": False,
                           "tables": {}, "summary": None}
    if rc != 0:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        res["error"] = _error_line(stderr, rc)
        res["clean_refusal"] = (rc == 2 and len(lines) == 1
                                and lines[0].startswith("imu: error:") and not written)
        res["written_on_refusal"] = [str(p.relative_to(out)) for p in written]
        return res
    folders = sorted(out.glob("session=*"))
    if len(folders) != 1:
        res["error"] = f"(evaluation) expected one session folder, found {len(folders)}"
        return res
    for name in ("sets", "reps", "steps"):
        df = _read_table(folders[0], name)
        if df is not None:
            res["tables"][name] = df
    summ = _read_table(folders[0], "summary")
    if summ is not None and len(summ):
        res["summary"] = {k: (v.item() if hasattr(v, "item") else v)
                          for k, v in summ.iloc[0].to_dict().items()}
    return res


# ================================================================================================
# Aggregation and printing
# ================================================================================================

EMPTY = {
    "sets": pd.DataFrame(columns=["set", "exercise", "start_s", "end_s", "reps"]),
    "reps": pd.DataFrame(columns=["set", "rep", "start_s", "end_s"]),
    "steps": pd.DataFrame(columns=["step", "side", "contact_s", "toe_off_s", "gct_ms"]),
}


def _table(res: dict[str, Any], name: str) -> pd.DataFrame:
    return res["tables"].get(name, EMPTY[name])


def _pct(num: float, den: float) -> float:
    return float(100.0 * num / den) if den else float("nan")


def _q(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def aggregate_squat(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    cat = lambda k: [x for r in rows for x in r[k]]  # noqa: E731
    so, eo = cat("start_out_s"), cat("end_out_s")
    sc, ec = np.abs(cat("start_cut_s")), np.abs(cat("end_cut_s"))
    matched = sum(r["matched"] for r in rows)
    true_reps = sum(r["n_true_reps"] for r in rows)
    reported = sum(r["n_reported_reps"] for r in rows)
    return {
        "sessions": n,
        "analysed": sum(r["rc"] == 0 for r in rows),
        "one_set_pct": _pct(sum(r["n_sets"] == 1 for r in rows), n),
        "reps_exact_pct": _pct(sum(r["reps_best_set"] == r["reps_true"] for r in rows), n),
        "reps_within1_pct": _pct(sum(abs(r["reps_best_set"] - r["reps_true"]) <= 1
                                     for r in rows), n),
        "rep_recall_pct": _pct(matched, true_reps),
        "rep_precision_pct": _pct(matched, reported),
        "matched": matched, "true_reps": true_reps, "reported_reps": reported,
        "start_out_median_s": _q(so, 50), "start_out_p90_s": _q(so, 90),
        "end_out_median_s": _q(eo, 50), "end_out_p90_s": _q(eo, 90),
        "start_cut_median_s": _q(sc, 50), "start_cut_p90_s": _q(sc, 90),
        "end_cut_median_s": _q(ec, 50), "end_cut_p90_s": _q(ec, 90),
        "set_exercise_squat_pct": _pct(sum(r["best_set_exercise"] == "squat" for r in rows), n),
    }


def aggregate_walk(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    out: dict[str, Any] = {"sessions": n, "analysed": sum(r["rc"] == 0 for r in rows)}
    n_true = sum(r["n_true_in"] for r in rows)
    n_est = sum(r["n_est_in"] for r in rows)
    for tol in WALK_TOLERANCES_S:
        k = f"{tol:.2f}"
        out[f"recall_{k}_pct"] = _pct(sum(r["tol"][k]["tp_true"] for r in rows), n_true)
        out[f"precision_{k}_pct"] = _pct(sum(r["tol"][k]["tp_est"] for r in rows), n_est)
    signed = [x for r in rows for x in r["signed_err_s"]]
    gct = [x for r in rows for x in r["gct_err_ms"]]
    cad = [r["cadence_err_pct"] for r in rows]
    matched = sum(r["matched_main"] for r in rows)
    out.update({
        "true_contacts_in_windows": n_true, "reported_contacts_in_windows": n_est,
        "signed_err_median_s": _q(signed, 50),
        "cadence_err_mean_pct": float(np.mean(cad)) if cad else float("nan"),
        "cadence_err_max_pct": float(np.max(cad)) if cad else float("nan"),
        "cadence_reported_sessions": sum(np.isfinite(r["cadence_reported_spm"]) for r in rows),
        "stance_mae_ms": float(np.mean(np.abs(gct))) if gct else float("nan"),
        "stance_bias_ms": float(np.mean(gct)) if gct else float("nan"),
        "stance_n": len(gct),
        "side_accuracy_pct": _pct(sum(r["side_correct"] for r in rows), matched),
        "side_given": sum(r["side_given"] for r in rows), "matched_main": matched,
    })
    return out


def aggregate_run(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    gct = [x for r in rows for x in r["gct_err_ms"]]
    signed = [x for r in rows for x in r["signed_err_s"]]
    cad = [r["cadence_err_pct"] for r in rows]
    return {
        "sessions": n, "analysed": sum(r["rc"] == 0 for r in rows),
        "clean_refusals": sum(bool(r["clean_refusal"]) for r in rows),
        "analysed_or_clean_pct": _pct(sum(r["rc"] == 0 or bool(r["clean_refusal"])
                                          for r in rows), n),
        "recall_pct": _pct(sum(r["tp_true"] for r in rows), sum(r["n_true"] for r in rows)),
        "precision_pct": _pct(sum(r["tp_est"] for r in rows), sum(r["n_est_in"] for r in rows)),
        "true_contacts": sum(r["n_true"] for r in rows),
        "reported_contacts_in_range": sum(r["n_est_in"] for r in rows),
        "gct_mae_ms": float(np.mean(np.abs(gct))) if gct else float("nan"),
        "gct_bias_ms": float(np.mean(gct)) if gct else float("nan"), "gct_n": len(gct),
        "contact_err_median_s": _q(signed, 50),
        "cadence_err_mean_pct": float(np.mean(cad)) if cad else float("nan"),
        "cadence_err_max_pct": float(np.max(cad)) if cad else float("nan"),
    }


# (figure label, key(s) in the aggregate, format, bar (op, value) or None, bar judged on key)
Row = tuple[str, tuple[str, ...], str, tuple[str, float] | None]
SQUAT_ROWS: list[Row] = [
    ("sessions analysed (exit 0)", ("analysed", "sessions"), "count", None),
    ("sets reported = 1 (share of sessions)", ("one_set_pct",), "pct", (">=", 95.0)),
    ("reps exact (set overlapping the truth most)", ("reps_exact_pct",), "pct", (">=", 85.0)),
    ("reps within 1", ("reps_within1_pct",), "pct", None),
    ("rep recall (midpoint rule)", ("rep_recall_pct", "matched", "true_reps"), "pctn", None),
    ("rep precision", ("rep_precision_pct", "matched", "reported_reps"), "pctn", None),
    ("start outside window, median / p90", ("start_out_median_s", "start_out_p90_s"), "s2", None),
    ("end outside window, median / p90", ("end_out_median_s", "end_out_p90_s"), "s2", None),
    ("|start - cut|, median / p90", ("start_cut_median_s", "start_cut_p90_s"), "s2", None),
    ("|end - cut|, median / p90", ("end_cut_median_s", "end_cut_p90_s"), "s2", None),
]
SQUAT_UNPROMPTED_EXTRA: list[Row] = [
    ("best set recognised as squat", ("set_exercise_squat_pct",), "pct", None),
]
WALK_ROWS: list[Row] = [
    ("sessions analysed (exit 0)", ("analysed", "sessions"), "count", None),
    *[row for tol in WALK_TOLERANCES_S for row in (
        (f"contact recall @{tol:.2f} s", (f"recall_{tol:.2f}_pct",), "pct",
         (">=", 90.0) if tol == WALK_MAIN_TOL_S else None),
        (f"contact precision @{tol:.2f} s", (f"precision_{tol:.2f}_pct",), "pct",
         (">=", 90.0) if tol == WALK_MAIN_TOL_S else None),
    )],
    ("signed contact error median (@0.15 s)", ("signed_err_median_s",), "s", None),
    ("cadence error per session mean / max", ("cadence_err_max_pct", "cadence_err_mean_pct"),
     "pct_mean_max", ("<=", 4.0)),
    ("sessions with a walking cadence", ("cadence_reported_sessions", "sessions"), "count", None),
    ("stance time MAE (matched @0.15 s)", ("stance_mae_ms", "stance_n"), "msn", None),
    ("side accuracy (matched @0.15 s)", ("side_accuracy_pct", "side_given", "matched_main"),
     "pct_side", None),
]
RUN_STEP_ROWS: list[Row] = [
    ("contact recall @60 ms", ("recall_pct", "true_contacts"), "pct", (">=", 95.0)),
    ("contact precision @60 ms", ("precision_pct", "reported_contacts_in_range"), "pct",
     (">=", 95.0)),
    ("GCT MAE (matched)", ("gct_mae_ms", "gct_n"), "msn", ("<=", 30.0)),
    ("contact error median (reported - true)", ("contact_err_median_s",), "s", None),
    ("cadence error per session mean / max", ("cadence_err_max_pct", "cadence_err_mean_pct"),
     "pct_mean_max", ("<=", 2.0)),
]
RUN_WITHSTAND_ROWS: list[Row] = [
    ("sessions analysed (exit 0)", ("analysed", "sessions"), "count", None), *RUN_STEP_ROWS]
RUN_RECORDED_ROWS: list[Row] = [
    ("analysed or refused cleanly", ("analysed_or_clean_pct",), "pct", (">=", 100.0)),
    ("analysed / cleanly refused", ("analysed", "clean_refusals"), "pair", None),
]


def format_cell(agg: dict[str, Any], row: Row) -> tuple[str, bool | None]:
    label, keys, kind, bar = row
    if keys and keys[0].startswith(ONLY_ANALYSED) and agg.get(ONLY_ANALYSED + "none"):
        return "- (none analysed)", None  # all refused cleanly or not: judged on its own row
    v = [agg.get(k, float("nan")) for k in keys]
    if kind == "count":
        text = f"{v[0]}/{v[1]}"
    elif kind == "pair":
        text = f"{v[0]} / {v[1]}"
    elif kind == "pct":
        text = "-" if not math.isfinite(v[0]) else f"{v[0]:.1f} %"
    elif kind == "pctn":
        text = ("-" if not math.isfinite(v[0]) else f"{v[0]:.1f} %") + f" ({v[1]}/{v[2]})"
    elif kind == "pct_side":
        text = ("-" if not math.isfinite(v[0]) else f"{v[0]:.1f} %") + f" ({v[1]}/{v[2]} sided)"
    elif kind == "pct_mean_max":
        text = "-" if not math.isfinite(v[0]) else f"{v[1]:.2f} / {v[0]:.2f} %"
    elif kind == "s":
        text = "-" if not math.isfinite(v[0]) else f"{v[0]:+.3f} s"
    elif kind == "s2":
        text = "-" if not math.isfinite(v[0]) else f"{v[0]:.3f} / {v[1]:.3f} s"
    elif kind == "msn":
        text = ("-" if not math.isfinite(v[0]) else f"{v[0]:.1f} ms") + f" (n {v[1]})"
    else:  # pragma: no cover
        raise ValueError(kind)
    ok = None
    if bar is not None:
        op, value = bar
        x = v[0]
        ok = bool(math.isfinite(x) and (x >= value if op == ">=" else x <= value))
    return text, ok


def _bar_text(bar: tuple[str, float] | None, kind: str) -> str:
    if bar is None:
        return ""
    op, value = bar
    unit = " ms" if kind == "msn" else " %"
    what = "max " if kind == "pct_mean_max" else ""
    return f"{what}{op} {value:g}{unit}"


LABEL_W, CELL_W = 45, 26


def print_block(title: str, command: str, split_rule: str, aggs: dict[str, dict[str, Any]],
                rows: list[Row], verdicts: list[dict[str, Any]]) -> None:
    print(f"\n== {title}")
    print(f"   imu analyze RAW --out DIR --placement sacrum {command}".rstrip())
    print(f"   sessions: dev {aggs[DEV]['sessions']}, held-out {aggs[HELDOUT]['sessions']} "
          f"({split_rule})")
    head = "   " + "figure".ljust(LABEL_W) + "".join(SPLIT_TITLES[s].ljust(CELL_W) for s in SPLITS)
    print(head + "bar")
    for row in rows:
        if row[2] == "header":
            print("   " + row[0])
            continue
        cells = []
        for s in SPLITS:
            text, ok = format_cell(aggs[s], row)
            if ok is not None:
                text += "  PASS" if ok else "  FAIL"
                verdicts.append({"block": title, "figure": row[0].strip(), "split": s,
                                 "value": text, "bar": _bar_text(row[3], row[2]), "pass": ok})
            cells.append(text.ljust(CELL_W))
        print("   " + row[0].ljust(LABEL_W) + "".join(cells) + _bar_text(row[3], row[2]))


def print_refusals(results: list[dict[str, Any]]) -> None:
    errs = Counter(r["error"] for r in results if r["rc"] != 0 or r["error"])
    if not errs:
        return
    n_bad = sum(errs.values())
    print(f"   not analysed: {n_bad} of {len(results)}")
    for msg, k in errs.most_common():
        print(f"     {k:3d} x {msg}")


def _f(x: float, spec: str) -> str:
    return format(x, spec) if x is not None and math.isfinite(x) else "-"


def per_session_line(dataset: str, res: dict[str, Any], sc: dict[str, Any], split: str) -> str:
    head = f"   {res['name']:34s} {SPLIT_TITLES[split]:8s} exit {res['rc']:>2} "
    if res["rc"] == 0:
        head += f"{sc.get('activity') or '-':8s} "
    if dataset == "squat":
        so, eo = _q(sc["start_out_s"], 50), _q(sc["end_out_s"], 50)
        body = (f"sets {sc['n_sets']}  reps {sc['reps_best_set']}/{sc['reps_true']}  "
                f"matched {sc['matched']}/{sc['n_true_reps']} of {sc['n_reported_reps']} "
                f"reported  outside median start {_f(so, '.3f')} end {_f(eo, '.3f')} s")
        if sc.get("best_set_exercise"):
            body += f"  exercise {sc['best_set_exercise']}"
    elif dataset == "walk":
        k = f"{WALK_MAIN_TOL_S:.2f}"
        body = (f"contacts {sc['n_est']}  recall@{k} {sc['tol'][k]['tp_true']}/{sc['n_true_in']}"
                f"  precision {sc['tol'][k]['tp_est']}/{sc['n_est_in']}  cadence "
                f"{_f(sc['cadence_reported_spm'], '.1f')}/{sc['cadence_true_spm']:.1f} spm "
                f"({sc['cadence_err_pct']:.1f} %)")
    else:
        gct = np.mean(np.abs(sc["gct_err_ms"])) if sc["gct_err_ms"] else float("nan")
        body = (f"contacts {sc['n_est']}  matched {sc['tp_true']}/{sc['n_true']}  precision "
                f"{sc['tp_est']}/{sc['n_est_in']}  GCT MAE {_f(gct, '.1f')} ms  cadence "
                f"{_f(sc['cadence_reported_spm'], '.1f')}/{sc['cadence_true_spm']:.1f} spm "
                f"({sc['cadence_err_pct']:.1f} %)")
    if res["rc"] != 0 or res["error"]:
        body += f"  | {res['error']}"
    return head + body


def score_result(dataset: str, truth: Truth, res: dict[str, Any]) -> dict[str, Any]:
    if dataset == "squat":
        sc = score_squat(truth, _table(res, "sets"), _table(res, "reps"))
    elif dataset == "walk":
        sc = score_walk(truth, _table(res, "steps"), res["summary"])
    else:
        sc = score_run(truth, _table(res, "steps"), res["summary"])
    sc.update({"name": res["name"], "rc": res["rc"], "error": res["error"],
               "activity": (res["summary"] or {}).get("activity"),
               "clean_refusal": res["clean_refusal"], "elapsed_s": res["elapsed_s"]})
    return sc


AGGREGATE = {"squat": aggregate_squat, "walk": aggregate_walk, "run": aggregate_run}


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def imu_under_test(env: dict[str, str]) -> str:
    code = "import imu, sys; print(imu.__version__, imu.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=False)
    return proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--realdata", default=None,
                    help=f"the shared/realdata folder (default ${ENV_VAR}, else "
                         "../shared/realdata beside the repository)")
    ap.add_argument("--jobs", type=int, default=2, help="analyses run in parallel (default 2)")
    ap.add_argument("--per-session", action="store_true", help="one line per session")
    ap.add_argument("--json", metavar="OUT", default=None, help="write all figures as JSON")
    ap.add_argument("--datasets", default="squat,walk,run",
                    help="comma-separated subset of squat,walk,run")
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="keep the analyses' outputs under DIR (default: a temporary folder)")
    ap.add_argument("--timeout", type=float, default=300.0, help="per analysis, seconds")
    ap.add_argument("--strict", action="store_true", help="exit 1 if any bar fails")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    rd = RealData(args.realdata)
    try:
        rd.check()
    except RealDataMissing as exc:
        print(f"evaluate_real: {exc}", file=sys.stderr)
        return 2
    wanted = [d.strip() for d in args.datasets.split(",") if d.strip()]
    variants = [v for v in VARIANTS if v.dataset in wanted]
    env = child_env()
    under_test = imu_under_test(env)
    print(f"real recordings: {rd.root}")
    print(f"imu under test: {under_test}  ({sys.executable} -m imu.cli analyze)")

    work_root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="imu-eval-real-"))
    sessions = {d: rd.sessions(d) for d in {v.dataset for v in variants}}
    jobs, owners = [], {}
    for v in variants:
        for s in sessions[v.dataset]:
            if v.select is not None and not v.select(s):
                continue
            jobs.append({"key": v.key, "name": s.name, "raw": str(s.raw_path),
                         "options": list(v.options), "strip_exercise": v.strip_exercise,
                         "workdir": str(work_root / v.key.replace("/", "_") / s.name),
                         "env": env, "timeout_s": args.timeout})
            owners[(v.key, s.name)] = s
    # Longest files first keeps both workers busy to the end.
    jobs.sort(key=lambda j: -os.path.getsize(j["raw"]))
    print(f"{len(jobs)} analyses, {args.jobs} in parallel ...", flush=True)
    t_an = time.perf_counter()
    try:
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(run_analysis, jobs))
    finally:
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
    t_an = time.perf_counter() - t_an
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = cpu.ru_utime + cpu.ru_stime

    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_key.setdefault(r["key"], []).append(r)
    report: dict[str, Any] = {"realdata": str(rd.root), "imu": under_test,
                              "python": sys.executable, "jobs": args.jobs, "variants": {}}
    verdicts: list[dict[str, Any]] = []
    for v in variants:
        res = sorted(by_key.get(v.key, []), key=lambda r: r["name"])
        scored = []
        for r in res:
            s = owners[(v.key, r["name"])]
            sc = score_result(v.dataset, s.truth, r)
            sc["split"] = s.split
            scored.append(sc)
        agg = AGGREGATE[v.dataset]
        aggs = {DEV: agg([x for x in scored if x["split"] == DEV]),
                HELDOUT: agg([x for x in scored if x["split"] == HELDOUT]),
                "all": agg(scored)}
        if v.dataset == "squat":
            rows = SQUAT_ROWS + (SQUAT_UNPROMPTED_EXTRA if v.strip_exercise else [])
        elif v.dataset == "walk":
            rows = WALK_ROWS
        elif v.key == "run/withstand":
            rows = RUN_WITHSTAND_ROWS
        else:
            analysed = [x for x in scored if x["rc"] == 0]
            for s in SPLITS:
                part = [x for x in analysed if s == "all" or x["split"] == s]
                aggs[s].update({ONLY_ANALYSED + k: val for k, val in agg(part).items()})
                aggs[s][ONLY_ANALYSED + "none"] = not part
            rows = [*RUN_RECORDED_ROWS, ("over the analysed sessions only:", (), "header", None),
                    *[("  " + label, tuple(ONLY_ANALYSED + k for k in keys), kind, bar)
                      for label, keys, kind, bar in RUN_STEP_ROWS]]
        print_block(v.title, " ".join(v.options), SPLIT_RULES[v.dataset], aggs, rows, verdicts)
        print_refusals(res)
        if args.per_session:
            for r, sc in zip(res, scored, strict=True):
                print(per_session_line(v.dataset, r, sc, sc["split"]))
        report["variants"][v.key] = {
            "title": v.title,
            "command": analyze_command("RAW", "DIR", v.options)[3:],
            "figures": aggs, "sessions": scored,
        }
    failed = [x for x in verdicts if not x["pass"]]
    wall = time.perf_counter() - t_start
    n_bars = len(verdicts)
    print(f"\nbars: {n_bars - len(failed)} of {n_bars} pass (dev, held-out and all counted "
          "separately)")
    print(f"analyses {t_an:.0f} s ({len(jobs)} processes, {args.jobs} in parallel, "
          f"{cpu_s:.0f} s CPU); total wall time {wall:.0f} s")
    report.update({"bars": verdicts, "analyses_s": t_an, "analyses_cpu_s": cpu_s,
                   "wall_s": wall})
    if args.json:
        Path(args.json).write_text(json.dumps(_jsonable(report), indent=1) + "\n")
        print(f"wrote {args.json}")
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
