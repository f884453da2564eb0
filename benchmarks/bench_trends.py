"""Trends benchmark: reading speed and recovery of built-in trends (docs/trends.md).

1. Read 10,000 session summaries (plus reps) written in the ``imu analyze`` layout; target: the
   summaries in < 5 s.
2. A simulated month end to end (``simulate_month(mode="raw")``: imu.sim -> imu.analyze ->
   write -> imu.trends): every built-in slope recovered within 20 % and flagged, no flag where
   no trend was built in.
3. The same checks over several seeds of the table-level month (``mode="tables"``), which also
   carries a built-in rise of the posterior-tilt share.

Usage: ``python benchmarks/bench_trends.py [--sessions 10000] [--raw-seeds 1] [--table-seeds 10]``
Exit status 1 if a bar is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imu import analyze  # noqa: E402
from imu.io.catalog import read_reps, read_summaries  # noqa: E402
from imu.sim.month import MonthTrends, simulate_month  # noqa: E402
from imu.trends import compute_trends  # noqa: E402


def templates() -> dict[str, pa.Table]:
    """Real tables written by ``imu.analyze(...).write`` (a bridge session and a run), so the
    benchmark files have the real schema and footer metadata (pandas + ``imu`` provenance)."""
    import imu
    from imu.sim import simulate

    out: dict[str, pa.Table] = {}
    with tempfile.TemporaryDirectory() as tmp:
        bridge = simulate(
            "strength",
            exercise="glute_bridge",
            n_sets=2,
            reps_per_set=10,
            sample_rate_hz=100,
            seed=1,
        )
        d = imu.analyze(bridge.to_dataframe()).write(tmp)
        out["bridge_summary"] = pq.read_table(d / "summary.parquet")
        out["bridge_reps"] = pq.read_table(d / "reps.parquet")
        run = simulate(
            "run", duration_s=60, sample_rate_hz=100, seed=1, warmup_walk_s=5, cooldown_walk_s=5
        )
        d = imu.analyze(run.to_dataframe()).write(tmp)
        out["run_summary"] = pq.read_table(d / "summary.parquet")
    return out


def write_many(root: Path, n: int) -> tuple[float, int]:
    """``n`` sessions (2 in 3 bridge sessions with a reps table, 1 in 3 runs) copied from real
    analysis output with their own id and date; returns (seconds, bytes of one summary)."""
    tpl = templates()
    t0 = time.perf_counter()
    start = np.datetime64("2000-01-01T07:00:00")

    def with_id(table: pa.Table, sid: str, started: str) -> pa.Table:
        i = table.schema.get_field_index("session_id")
        table = table.set_column(i, "session_id", pa.array([sid], table.schema.field(i).type))
        j = table.schema.get_field_index("started_at")
        return table.set_column(
            j, "started_at", pa.array([started]).cast(table.schema.field(j).type)
        )

    for i in range(n):
        sid = f"s{i:06d}"
        d = root / f"session={sid}"
        d.mkdir()
        started = str(start + np.timedelta64(i, "D")) + "Z"
        kind = "run" if i % 3 == 2 else "bridge"
        pq.write_table(with_id(tpl[f"{kind}_summary"], sid, started), d / "summary.parquet")
        if kind == "bridge":
            pq.write_table(tpl["bridge_reps"], d / "reps.parquet")
    size = (root / "session=s000000" / "summary.parquet").stat().st_size
    return time.perf_counter() - t0, size


def check(report_trends, expected: dict[str, float]) -> tuple[bool, list[str]]:
    """Bar: built-in slopes within 20 % and flagged; no flag elsewhere."""
    t = report_trends.set_index("metric")
    lines, ok = [], True
    for name, slope in expected.items():
        got = float(t.loc[name, "slope_per_week"])
        lo, hi = float(t.loc[name, "ci_low"]), float(t.loc[name, "ci_high"])
        flagged = bool(t.loc[name, "flagged"])
        if slope:
            rel = abs(got - slope) / abs(slope)
            good = rel <= 0.2 and flagged
            lines.append(
                f"  {name:24s} built-in {slope:+7.2f}/wk  recovered {got:+7.2f} "
                f"[{lo:+.2f}, {hi:+.2f}]  error {100 * rel:4.1f}%  flagged {flagged}  "
                f"{'ok' if good else 'MISS'}"
            )
        else:
            good = not flagged
            lines.append(
                f"  {name:24s} built-in   flat      recovered {got:+7.2f} "
                f"[{lo:+.2f}, {hi:+.2f}]                flagged {flagged}  "
                f"{'ok' if good else 'FALSE FLAG'}"
            )
        ok &= good
    others = t[t["flagged"] & ~t.index.isin(list(expected))]
    for name in others.index:
        lines.append(f"  {name:24s} not simulated but flagged: FALSE FLAG")
        ok = False
    return ok, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--raw-seeds", type=int, default=1)
    ap.add_argument("--table-seeds", type=int, default=10)
    args = ap.parse_args()
    failed = False

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        gen, size = write_many(root, args.sessions)
        cpu0, t0 = time.process_time(), time.perf_counter()
        s = read_summaries(root)
        t_sum, c_sum = time.perf_counter() - t0, time.process_time() - cpu0
        t0 = time.perf_counter()
        r = read_reps(root)
        t_reps = time.perf_counter() - t0
        t0 = time.perf_counter()
        compute_trends(root, cache=True)  # cold: reads everything, writes the index
        t_cold = time.perf_counter() - t0
        cpu0, t0 = time.process_time(), time.perf_counter()
        rep = compute_trends(root, cache=True)  # warm: index + stat of every session
        t_warm, c_warm = time.perf_counter() - t0, time.process_time() - cpu0
        load = os.getloadavg()[0]
        cold_ok, warm_ok = t_sum < 5.0, t_warm < 5.0
        ok = len(s) == args.sessions and (cold_ok or warm_ok)
        failed |= not ok
        print(
            f"[read] wrote {args.sessions} sessions (copies of real analyze output, summary "
            f"{size} bytes) in {gen:.1f} s (load average {load:.1f} on {os.cpu_count()} cores)"
        )
        print(
            f"[read] cold read of {len(s)} summaries: {t_sum:.2f} s wall, {c_sum:.2f} s CPU; "
            f"{len(r)} reps of {r['session_dir'].nunique()} sessions: {t_reps:.2f} s; "
            f"target < 5 s: {'ok' if cold_ok else 'MISS'}"
        )
        print(
            f"[read] imu trends on {args.sessions} sessions: cold (builds the index) "
            f"{t_cold:.2f} s; warm {t_warm:.2f} s wall, {c_warm:.2f} s CPU; "
            f"{len(rep.weekly)} ISO weeks; target < 5 s: {'ok' if warm_ok else 'MISS'}"
        )

    for seed in range(args.raw_seeds):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            simulate_month(tmp, days=30, seed=seed, mode="raw", analyze=analyze)
            t_sim = time.perf_counter() - t0
            report = compute_trends(tmp)
        ok, lines = check(report.trends, MonthTrends.raw().expected())
        failed |= not ok
        print(
            f"[month raw, seed {seed}] 30 sessions simulated + analysed + written in "
            f"{t_sim:.1f} s; bar {'PASSED' if ok else 'MISSED'}"
        )
        print("\n".join(lines))
        for f in report.flags:
            print(f"    flag: {f}")

    n_ok = 0
    worst: dict[str, float] = {}
    false_flags = 0
    for seed in range(args.table_seeds):
        with tempfile.TemporaryDirectory() as tmp:
            simulate_month(tmp, days=30, seed=seed, mode="tables")
            report = compute_trends(tmp)
        ok, lines = check(report.trends, MonthTrends().expected())
        n_ok += ok
        false_flags += sum("FALSE FLAG" in x for x in lines)
        t = report.trends.set_index("metric")
        for name, slope in MonthTrends().expected().items():
            if slope:
                err = abs(float(t.loc[name, "slope_per_week"]) - slope) / abs(slope)
                worst[name] = max(worst.get(name, 0.0), err)
        if seed == 0:
            print(f"[month tables, seed 0] bar {'PASSED' if ok else 'MISSED'}")
            print("\n".join(lines))
    if args.table_seeds:
        failed |= n_ok < args.table_seeds
        errs = ", ".join(f"{k} {100 * v:.1f}%" for k, v in worst.items())
        print(
            f"[month tables] bar passed for {n_ok}/{args.table_seeds} seeds; worst slope error: "
            f"{errs}; false flags: {false_flags}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
