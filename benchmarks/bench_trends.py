"""Trends benchmark: speed at study scale, and recovery of built-in trends (docs/trends.md).

1. ``imu trends DIR --format json`` as a process (wall time including start-up, peak RSS) on
   10,000 and 100,000 session folders in the ``imu analyze`` layout: cold (no index yet),
   warm (the index ``.imu-trends-cache.parquet`` is current) and after 1 % of the sessions
   were written again (a partial re-analysis). Bar: 100,000 sessions in < 10 s.
   The folders are built fast: a bridge session's and a run's tables written once by the real
   ``imu.analyze(...).write``, then copied with each session's id and start time patched in
   place (the two columns are written uncompressed and without a dictionary, so their bytes
   sit verbatim in the data pages and the footer statistics; same length, so every offset
   stays valid), and so are they in the row the footer keeps (``imu.row``), whose hash of the
   data is written anew for each copy. 2 in 3 are bridge sessions with a reps table, 1 in 3
   runs, spread over three years.
2. A simulated month end to end (``simulate_month(mode="raw")``: imu.sim -> imu.analyze ->
   write -> imu.trends): every built-in slope recovered within 20 % and flagged, no flag where
   no trend was built in.
3. The same checks over several seeds of the table-level month (``mode="tables"``), which also
   carries a built-in rise of the posterior-tilt share.

Usage: ``python benchmarks/bench_trends.py [--sessions 10000 100000] [--raw-seeds 1]
[--table-seeds 10]``. Exit status 1 if a bar is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processes import imu_command, measure  # noqa: E402

from imu import analyze  # noqa: E402
from imu.core.schema import METADATA_KEY  # noqa: E402
from imu.io.footers import body_sha1, keyed_one_row, keyed_row  # noqa: E402
from imu.sim.month import MonthTrends, simulate_month  # noqa: E402
from imu.trends import CACHE_FILE, compute_trends  # noqa: E402

BAR_S = 10.0
BAR_SESSIONS = 100_000
TEMPLATE_ID = "t00000000000"
"""Session ids of the copies: the same length (12), so patching keeps every offset."""
TEMPLATE_START = np.datetime64("2024-01-01T07:00:00", "us")
PATCHED = ("session_id", "started_at")


def templates() -> dict[str, tuple[bytes, bytes | None]]:
    """A bridge session's and a run's ``summary.parquet`` (as bytes ready to patch) and the
    bridge's ``reps.parquet``, from real ``imu.analyze(...).write`` output: the real schema,
    footer statistics and provenance."""
    import imu
    from imu.sim import simulate

    out: dict[str, tuple[bytes, bytes | None]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        bridge = simulate("strength", exercise="glute_bridge", n_sets=2, reps_per_set=10,
                          sample_rate_hz=100, seed=1001)
        d = imu.analyze(bridge.to_dataframe()).write(tmp)
        out["bridge"] = (patchable(pq.read_table(d / "summary.parquet")),
                         (d / "reps.parquet").read_bytes())
        run = simulate("run", duration_s=60, sample_rate_hz=100, seed=1001, warmup_walk_s=5,
                       cooldown_walk_s=5)
        d = imu.analyze(run.to_dataframe()).write(tmp)
        out["run"] = (patchable(pq.read_table(d / "summary.parquet")), None)
    return out


def patchable(table: pa.Table) -> bytes:
    """The summary written as analysis writes it (zstd, the same footer metadata), except that
    id and start time are stored plainly (no compression, no dictionary) with the template's
    values, so that a copy patches them with ``bytes.replace``."""
    i = table.schema.get_field_index("session_id")
    table = table.set_column(i, table.schema.field(i), pa.array([TEMPLATE_ID], pa.string()))
    j = table.schema.get_field_index("started_at")
    field = table.schema.field(j)
    table = table.set_column(j, field, pa.array([TEMPLATE_START]).cast(field.type))

    def write(t: pa.Table, sink: pa.NativeFile, footer_metadata: dict | None) -> None:
        with pq.ParquetWriter(sink, t.schema, compression={
                c: "NONE" if c in PATCHED else "zstd" for c in t.column_names},
                use_dictionary=[c for c in t.column_names if c not in PATCHED]) as w:
            w.write_table(t)
            if footer_metadata:
                w.add_key_value_metadata(footer_metadata)

    data = keyed_one_row(table, write)  # the row in the footer too, as analysis writes it
    assert data.count(TEMPLATE_ID.encode()) >= 4  # the page, the footer statistics, the row
    assert data.count(_micros(TEMPLATE_START)) >= 3
    assert data.count(_iso(TEMPLATE_START)) == 1
    assert METADATA_KEY in data and keyed_row(data) is not None
    return data


def _iso(t: np.datetime64) -> bytes:
    """``t`` (UTC, the summary's microseconds) as the footer's row holds it."""
    return f"{np.datetime_as_string(t.astype('datetime64[us]'))}+00:00".encode()


def _micros(t: np.datetime64) -> bytes:
    return t.astype("datetime64[us]").astype("<i8").tobytes()


def write_many(root: Path, n: int, tpl: dict[str, tuple[bytes, bytes | None]]) -> float:
    """``n`` sessions (2 in 3 bridge sessions with a reps table, 1 in 3 runs) over three
    years, each with its own id and start time; returns the seconds it took."""
    t0 = time.perf_counter()
    tid, tstart, iso = TEMPLATE_ID.encode(), _micros(TEMPLATE_START), _iso(TEMPLATE_START)
    sha1 = {kind: body_sha1(summary).encode() for kind, (summary, _) in tpl.items()}
    span_s = 3 * 365 * 86400
    for i in range(n):
        kind = "run" if i % 3 == 2 else "bridge"
        sid = f"{kind[0]}{i:011d}"
        start = TEMPLATE_START + np.timedelta64(int(i * span_s / n), "s")
        summary, reps = tpl[kind]
        d = root / f"session={sid}"
        d.mkdir()
        data = (summary.replace(tid, sid.encode()).replace(tstart, _micros(start))
                .replace(iso, _iso(start)))
        (d / "summary.parquet").write_bytes(  # the row's hash of the patched bytes
            data.replace(sha1[kind], body_sha1(data).encode()))
        if reps is not None:
            (d / "reps.parquet").write_bytes(reps)
    return time.perf_counter() - t0


def bench_study(n: int, tpl: dict[str, tuple[bytes, bytes | None]]) -> tuple[bool, list[str]]:
    """Cold, warm and 1 %-changed runs of ``imu trends DIR --format json`` on ``n`` sessions."""
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        took = write_many(root, n, tpl)
        argv = [*imu_command(), "trends", str(root), "--format", "json"]
        cold, cold_mb, text = measure(argv)
        report = json.loads(text)
        assert (root / CACHE_FILE).is_file(), "the cold run writes the index"
        warm, warm_mb, again = measure(argv)
        assert again == text, "the cached run must print what the cold run printed"
        changed = sorted(root.glob("session=*"))[:: 100]
        for d in changed:  # re-written: new modification times
            f = d / "summary.parquet"
            f.write_bytes(f.read_bytes())
        part, part_mb, again = measure(argv)
        assert again == text
    weeks = len(report.get("weekly", []))
    good = {"cold": cold < BAR_S, "warm": warm < BAR_S}
    bar = n >= BAR_SESSIONS
    lines.append(f"[study {n:,d} sessions] built in {took:.0f} s; {weeks} ISO weeks")
    for label, wall, mb, key in (("cold (no index)", cold, cold_mb, "cold"),
                                 ("warm (index current)", warm, warm_mb, "warm"),
                                 (f"{len(changed):,d} sessions re-written", part, part_mb, "")):
        verdict = ""
        if bar and key:
            verdict = f"  bar < {BAR_S:.0f} s: {'ok' if good[key] else 'MISS'}"
        lines.append(f"  imu trends, {label:24s} {wall:6.2f} s wall, peak {mb:4.0f} MB, "
                     f"{1e6 * wall / n:5.0f} us per session{verdict}")
    return (all(good.values()) or not bar), lines


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
    ap.add_argument("--sessions", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--raw-seeds", type=int, default=1)
    ap.add_argument("--table-seeds", type=int, default=10)
    args = ap.parse_args()
    failed = False

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(files just written: in the page cache)", flush=True)
    tpl = templates() if args.sessions else {}
    for n in args.sessions:
        ok, lines = bench_study(n, tpl)
        failed |= not ok
        print("\n".join(lines), flush=True)

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
