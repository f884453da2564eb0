"""Trends: reading the analyze layout, daily/weekly tables, OLS trends, flags and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

import imu
from imu.cli import main
from imu.core.errors import InputError
from imu.io.catalog import (
    CACHE_FILE,
    UnreadableSessionWarning,
    _conform,
    _one_row_from_statistics,
    _read_one,
    _read_tables,
    _rows_to_table,
    read_summaries,
)
from imu.sim.month import MonthTrends, simulate_month
from imu.trends import (
    METRICS,
    SESSION_SCHEMA,
    compute_trends,
    daily_table,
    fit_trend,
    holm,
    read_sessions,
    trends_from_tables,
    weekly_table,
)
from imu.viz.figure import check_figure
from imu.viz.trends import trend_figures


@pytest.fixture(scope="module")
def month_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("month")
    simulate_month(out, days=30, seed=1)
    return out


def write_summary(root: Path, sid: str, row: dict, schema: pa.Schema | None = None) -> None:
    d = root / f"session={sid}"
    d.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([row], schema=schema), d / "summary.parquet")


def test_fit_trend_exact_line_and_pure_noise() -> None:
    x = np.arange(20) / 7.0
    fit = fit_trend(x, 2.0 + 0.5 * x)
    assert fit.slope_per_week == pytest.approx(0.5)
    assert fit.ci_low == pytest.approx(0.5) and fit.ci_high == pytest.approx(0.5)
    assert fit.change == pytest.approx(0.5 * 19 / 7)
    rng = np.random.default_rng(0)
    noisy = fit_trend(x, rng.normal(0, 1, 20))
    assert noisy.ci_low < 0 < noisy.ci_high
    few = fit_trend(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    assert np.isnan(few.ci_low) and few.n == 2


def test_month_recovers_built_in_trends_and_flags_only_them(month_dir: Path) -> None:
    report = compute_trends(month_dir)
    t = report.trends.set_index("metric")
    expected = MonthTrends().expected()
    for name, slope in expected.items():
        if slope:
            assert t.loc[name, "slope_per_week"] == pytest.approx(slope, rel=0.2), name
            assert t.loc[name, "flagged"], name
    flagged = set(t.index[t["flagged"]])
    assert flagged == {k for k, v in expected.items() if v}
    assert len(report.flags) == 2
    assert any(f.startswith("left side sinking during right-leg stance rose ")
               for f in report.flags)
    assert "Keep the pelvis level as you tire." in report.advice
    # Rising posterior share is an improvement: no strength advice for it.
    assert not any("activation drills" in a for a in report.advice)
    assert report.sessions == 30 and report.longest_streak_days == 30


def test_no_built_in_change_no_flag(tmp_path: Path) -> None:
    flat = replace(MonthTrends(), posterior_tilt_pct_per_week=0.0,
                   pelvic_drop_right_deg_per_week=0.0)
    simulate_month(tmp_path, days=30, seed=2, trends=flat)
    report = compute_trends(tmp_path)
    assert report.flags == []
    assert report.advice == []


def test_deterioration_gets_strength_advice(tmp_path: Path) -> None:
    worse = replace(MonthTrends(), posterior_tilt_pct=80.0, posterior_tilt_pct_per_week=-12.0)
    simulate_month(tmp_path, days=30, seed=3, trends=worse)
    report = compute_trends(tmp_path)
    row = report.trends.set_index("metric").loc["posterior_tilt_pct"]
    assert row["flagged"] and row["worse"] and row["direction"] == "down"
    assert any("activation drills every day" in a for a in report.advice)


def test_significant_but_tiny_change_is_not_flagged() -> None:
    days = pd.date_range("2026-11-02", periods=28, freq="D", tz="UTC")
    summaries = pd.DataFrame(
        {
            "session_id": [f"r{i}" for i in range(28)],
            "started_at": days,
            "activity": "run",
            "exercise": None,
            "n_reps": 0.0,
            # +0.2 deg over 4 weeks, noise-free: the CI excludes zero but 0.2 < 1 deg.
            "pelvic_drop_right_deg": 5.0 + 0.05 * np.arange(28) / 7,
        }
    )
    report = trends_from_tables(summaries)
    row = report.trends.set_index("metric").loc["pelvic_drop_right_deg"]
    assert row["significant"] and not row["meaningful"] and not row["flagged"]


def test_streaks_and_iso_weeks() -> None:
    # Mon 2 Nov .. Thu 5 Nov, then Sat 7 Nov .. Mon 9 Nov, then Fri 13 Nov.
    dates = ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-07",
             "2026-11-08", "2026-11-09", "2026-11-13"]
    summaries = pd.DataFrame(
        {
            "session_id": [f"s{i}" for i in range(len(dates))],
            "started_at": pd.to_datetime(dates, utc=True) + pd.Timedelta(hours=7),
            "activity": "strength",
            "exercise": "glute_bridge",
            "n_reps": 20.0,
        }
    )
    weekly = weekly_table(daily_table(summaries))
    assert weekly["week"].tolist() == ["2026-W45", "2026-W46"]
    assert weekly["training_days"].tolist() == [6, 2]
    assert weekly["longest_streak_days"].tolist() == [4, 4]
    # Week 45 ends Sunday 8 Nov inside the 7-9 Nov streak (2 days so far); the data end on
    # Friday 13 Nov, a training day after a gap.
    assert weekly["current_streak_days"].tolist() == [2, 1]
    assert weekly["complete"].tolist() == [True, False]
    assert weekly["reps_per_day"].tolist() == [20.0, 20.0]


def test_reads_mixed_types_and_missing_columns(tmp_path: Path) -> None:
    write_summary(tmp_path, "a", {"session_id": "a", "started_at": "2026-11-02T07:00:00Z",
                                  "activity": "strength", "exercise": "glute_bridge",
                                  "n_reps": 12, "n_sets": 2, "duration_s": 100.0})
    ts = pa.schema([("session_id", pa.string()), ("started_at", pa.timestamp("us", tz="UTC")),
                    ("activity", pa.string()), ("cadence_spm", pa.float32())])
    write_summary(tmp_path, "b", {"session_id": "b", "started_at": pd.Timestamp(
        "2026-11-03T07:00:00Z").to_pydatetime(), "activity": "run", "cadence_spm": 171.0}, ts)
    (tmp_path / "not-a-session").mkdir()
    s = read_summaries(tmp_path).sort_values("session_id")
    assert s["session_id"].tolist() == ["a", "b"]
    assert s["started_at"].dt.day.tolist() == [2, 3]
    assert s["n_reps"].iloc[0] == 12 and np.isnan(s["cadence_spm"].iloc[0])
    assert s["cadence_spm"].iloc[1] == pytest.approx(171.0)
    assert s["session_dir"].tolist() == ["a", "b"]


def test_bad_folders_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        compute_trends(tmp_path / "missing")
    with pytest.raises(InputError, match="no session"):
        compute_trends(tmp_path)
    bad = tmp_path / "session=x"
    bad.mkdir()
    (bad / "summary.parquet").write_text("not parquet")
    # an unreadable session is left out with a warning (issue 10); none left: no sessions
    with pytest.warns(UnreadableSessionWarning, match="session=x"):
        with pytest.raises(InputError, match="no session"):
            compute_trends(tmp_path)


def test_trend_figures_have_titles_and_units(month_dir: Path) -> None:
    report = compute_trends(month_dir)
    figs = dict(trend_figures(report))
    assert {"trend_posterior_tilt_pct", "trend_pelvic_drop_right_deg", "trend_cadence_spm",
            "trend_training_days"} <= set(figs)
    for fig in figs.values():
        check_figure(fig)
    ax = figs["trend_pelvic_drop_right_deg"].get_axes()[0]
    assert ax.get_title() == "Left side sinking during right-leg stance: getting worse"
    assert ax.get_ylabel() == "left side sinking during right-leg stance (deg)"  # words, unit
    assert ax.get_xlabel() == "date (UTC)"
    # colour says better or worse: the worsening drop red, the improving tilt share green,
    # a metric without a clear trend grey
    from matplotlib.colors import to_hex

    from imu.viz.trends import BETTER, UNCLEAR, WORSE

    def fit_colour(stem: str) -> str:
        line = next(ln for ln in figs[stem].get_axes()[0].get_lines()
                    if ln.get_label().startswith("trend "))
        return to_hex(line.get_color())

    assert fit_colour("trend_pelvic_drop_right_deg") == to_hex(WORSE)
    assert fit_colour("trend_posterior_tilt_pct") == to_hex(BETTER)
    assert fit_colour("trend_cadence_spm") == to_hex(UNCLEAR)
    # readable dates: a handful of ticks, no long labels to overlap
    fig = figs["trend_cadence_spm"]
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.get_axes()[0].get_xticklabels() if t.get_text()]
    assert 2 <= len(labels) <= 8 and max(len(t) for t in labels) <= 6
    # the value axis is never tighter than the metric's resolution (10 steps of 1 spm)
    lo, hi = fig.get_axes()[0].get_ylim()
    assert hi - lo >= 10.0
    import matplotlib.pyplot as plt

    plt.close("all")


def test_trend_figures_draw_the_reported_fit(month_dir: Path) -> None:
    """Each plotted trend line is the report's own fit (nothing refitted): it starts and ends at
    the fitted values the trends table reports and carries the reported slope."""
    report = compute_trends(month_dir)
    t = report.trends.set_index("metric")
    figs = trend_figures(report)
    assert figs
    for stem, fig in figs:
        name = stem.removeprefix("trend_")
        ax = fig.get_axes()[0]
        lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("trend ")]
        if not np.isfinite(t.loc[name, "slope_per_week"]):
            assert lines == []
            continue
        (line,) = lines
        assert line.get_label().startswith(f"trend {t.loc[name, 'slope_per_week']:+.2f} ")
        y = np.asarray(line.get_ydata(), dtype=float)
        assert y[0] == pytest.approx(t.loc[name, "fitted_first"], rel=1e-9, abs=1e-9)
        assert y[-1] == pytest.approx(t.loc[name, "fitted_last"], rel=1e-9, abs=1e-9)


def test_fit_line_and_band() -> None:
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 4, 25))
    y = 1.0 + 0.7 * x + rng.normal(0, 0.5, x.size)
    fit = fit_trend(x, y)
    np.testing.assert_allclose(fit.line(x[[0, -1]]), [fit.first, fit.last])
    slope, intercept = np.polyfit(x, y, 1)
    assert fit.slope_per_week == pytest.approx(slope) and fit.intercept == pytest.approx(intercept)
    s = np.sqrt(np.sum((y - (intercept + slope * x)) ** 2) / (x.size - 2))
    sxx = np.sum((x - x.mean()) ** 2)
    half = stats.t.ppf(0.975, x.size - 2) * s * np.sqrt(1 / x.size + (x - x.mean()) ** 2 / sxx)
    np.testing.assert_allclose(fit.band(x), half)
    assert np.isnan(fit_trend(x[:2], y[:2]).band(x)).all()


def test_cli_formats_and_plots(month_dir: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trends", str(month_dir)]) == 0
    text = capsys.readouterr().out
    assert "What changed" in text and "Strength by ISO week" in text and "2026-W45" in text
    assert "Runs by ISO week" in text
    assert "! left side sinking during right-leg stance rose" in text  # worse, in words
    assert "+ share of bridge reps with posterior tilt rose" in text  # better
    assert max(len(line) for line in text.splitlines()) <= 110  # compact, rounded
    assert "0.0000" not in text

    assert main(["trends", str(month_dir), "--format", "json", "--out",
                 str(tmp_path / "t.json"), "--plot", str(tmp_path / "plots")]) == 0
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["sessions"] == 30 and len(doc["flags"]) == 2
    assert {r["metric"] for r in doc["trends"]} == {m.name for m in METRICS}
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert len(pngs) >= 10
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)

    assert main(["trends", str(month_dir), "--format", "csv", "--out",
                 str(tmp_path / "t.csv")]) == 0
    assert main(["trends", str(month_dir), "--format", "parquet", "--out",
                 str(tmp_path / "t.parquet")]) == 0
    csv = pd.read_csv(tmp_path / "t.csv")
    par = pd.read_parquet(tmp_path / "t.parquet")
    assert len(csv) == len(par) > 0
    row = par[(par["week"] == "2026-W45") & (par["metric"] == "training_days")]
    assert row["value"].item() == 7
    assert par.loc[par["metric"] == "pelvic_drop_right_deg", "flagged"].all()


def test_cli_bad_input_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "imu.cli", "trends", str(tmp_path / "nope")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("imu: error:") and proc.stderr.count("\n") == 1
    assert main(["trends", str(tmp_path), "--format", "parquet"]) == 2


def test_index_cache_reuses_and_refreshes(tmp_path: Path) -> None:
    simulate_month(tmp_path, days=9, seed=4)
    first = compute_trends(tmp_path)
    cache = tmp_path / CACHE_FILE
    assert cache.is_file()
    # The index is no session and does not change the results.
    assert read_summaries(tmp_path)["session_dir"].nunique() == 9
    again = compute_trends(tmp_path)
    pd.testing.assert_frame_equal(first.daily, again.daily)
    pd.testing.assert_frame_equal(first.daily, compute_trends(tmp_path, cache=False).daily)
    # A changed session is read again, a removed one disappears, an added one appears.
    victim = sorted(tmp_path.glob("session=*bridge*"))[0]
    s = pd.read_parquet(victim / "summary.parquet")
    s["n_reps"] = 999
    s.to_parquet(victim / "summary.parquet")
    gone = sorted(tmp_path.glob("session=*run*"))[0]
    for f in gone.iterdir():
        f.unlink()
    gone.rmdir()
    extra = tmp_path / "session=extra"
    extra.mkdir()
    pd.DataFrame([{"session_id": "extra", "started_at": "2026-11-20T07:00:00Z",
                   "activity": "strength", "exercise": "glute_bridge",
                   "n_reps": 7}]).to_parquet(extra / "summary.parquet")
    sessions = read_sessions(tmp_path)
    assert len(sessions) == 9
    assert 999 in sessions["n_reps"].tolist()
    assert "extra" in sessions["session_dir"].tolist()
    assert gone.name.split("=", 1)[1] not in sessions["session_dir"].tolist()
    pd.testing.assert_frame_equal(
        sessions.drop(columns=[c for c in sessions if c.endswith(("_size", "_mtime_ns"))]),
        read_sessions(tmp_path, cache=False).drop(
            columns=[c for c in sessions if c.endswith(("_size", "_mtime_ns"))]),
        check_dtype=False,
    )


def test_raw_month_end_to_end_small(tmp_path: Path) -> None:
    """simulate_month(mode='raw'): imu.sim -> imu.analyze -> write -> trends."""
    plan = simulate_month(tmp_path, days=3, seed=0, mode="raw", analyze=imu.analyze)
    assert plan["activity"].tolist() == ["strength", "strength", "run"]
    report = compute_trends(tmp_path)
    d = report.daily.set_index(report.daily["date"].dt.day)
    assert report.sessions == 3 and report.longest_streak_days == 3
    # Built in: 20 reps on day 0 and 20 + 5/7 on day 1 (the analysis may miss a rep).
    assert 15 <= d.loc[2, "reps_per_day"] <= 21 and 15 <= d.loc[3, "reps_per_day"] <= 21
    assert 0 <= d.loc[2, "posterior_tilt_pct"] <= 100
    assert abs(d.loc[4, "cadence_spm"] - 170) < 6
    assert abs(d.loc[4, "pelvic_drop_right_deg"] - (5.0 + 0.8 * 2 / 7)) < 1.5
    with pytest.raises(ValueError, match="posterior-tilt trend"):
        simulate_month(tmp_path / "x", days=3, mode="raw", trends=MonthTrends())
    with pytest.raises(ValueError, match="analyser"):
        simulate_month(tmp_path / "y", days=3, mode="raw")


def test_sessions_without_date_are_skipped_and_named(tmp_path: Path) -> None:
    simulate_month(tmp_path, days=5, seed=6)
    write_summary(tmp_path, "nodate", {"session_id": "nodate", "started_at": None,
                                       "activity": "strength", "n_reps": 5})
    report = compute_trends(tmp_path)
    assert report.sessions == 5 and report.skipped == ["nodate"]
    assert "skipped 1 session(s) without started_at" in report.to_text()
    only = tmp_path / "only"
    write_summary(only, "x", {"session_id": "x", "started_at": None, "activity": "run"})
    with pytest.raises(InputError, match="no session has a started_at"):
        compute_trends(only)


def test_holm_adjustment() -> None:
    adj = holm(np.array([0.01, 0.04, 0.03, np.nan]))
    np.testing.assert_allclose(adj[:3], [0.03, 0.06, 0.06])
    assert np.isnan(adj[3])
    assert np.isnan(holm(np.array([np.nan]))).all()


def test_summary_read_from_footer_statistics_equals_decoded_read(tmp_path: Path) -> None:
    """The metadata-only read of one-row summaries gives exactly what decoding gives."""
    rows = [
        dict(session_id="a", started_at="2026-11-01T07:00:00Z", activity="run", exercise=None,
             duration_s=np.nan, n_sets=0, n_reps=3, cadence_spm=171.5, gct_ms=-0.0,
             vo_cm=float("inf"), tempo_cv=np.nan, reps_seen=0.0, note="x" * 300),
        dict(session_id="b" * 100, started_at=None, activity="strength",
             exercise="glute_bridge", duration_s=1e300, n_sets=2, n_reps=0, cadence_spm=None),
    ]
    wanted = frozenset(SESSION_SCHEMA.names)
    for i, row in enumerate(rows):
        path = tmp_path / f"session={i}" / "summary.parquet"
        path.parent.mkdir()
        pq.write_table(pa.Table.from_pandas(pd.DataFrame([row]), preserve_index=False), path)
        assert _one_row_from_statistics(pq.read_metadata(path), wanted) is not None
        names = [c for c in pq.read_schema(path).names if c in wanted]
        decoded = _conform(pq.read_table(path, columns=names), SESSION_SCHEMA)
        assert _rows_to_table([_read_one(path, wanted)], SESSION_SCHEMA).equals(decoded)
    # Two rows: the statistics cannot tell the values apart -> decoded instead, and a mix of
    # both kinds of file comes back in file order.
    two = tmp_path / "session=two" / "summary.parquet"
    two.parent.mkdir()
    pq.write_table(pa.table({"session_id": ["c", "d"]}), two)
    assert _one_row_from_statistics(pq.read_metadata(two), wanted) is None
    files = [tmp_path / f"session={k}" / "summary.parquet" for k in ("0", "two", "1")]
    mixed = _read_tables(files, SESSION_SCHEMA)
    assert mixed.column("session_id").to_pylist() == ["a", "c", "d", "b" * 100]
    assert mixed.column("session_dir").to_pylist() == ["0", "two", "two", "1"]


def test_footer_read_of_typed_columns_equals_decoded_read(tmp_path: Path) -> None:
    """Numbers, text and timestamps of other writers' types: the footer read (physical values
    for plain numbers and text, pyarrow's logical conversion otherwise) equals decoding."""
    started = pd.Timestamp("2026-11-02T07:00:00Z").to_pydatetime()
    table = pa.table(
        {
            "session_id": ["é ünïcode ✓"],
            "started_at": pa.array([started], pa.timestamp("ms", tz="UTC")),
            "activity": pa.array(["run"]).dictionary_encode(),
            "n_sets": pa.array([2], pa.int8()),
            "n_reps": pa.array([5], pa.int32()),
            "duration_s": pa.array([1.5], pa.float32()),
            "cadence_spm": pa.array([171.25], pa.float64()),
            "reps_seen": pa.array([3], pa.uint16()),
            "tempo_cv": pa.array([True]),
        }
    )
    path = tmp_path / "session=t" / "summary.parquet"
    path.parent.mkdir()
    pq.write_table(table, path)
    wanted = frozenset(SESSION_SCHEMA.names)
    row = _one_row_from_statistics(pq.read_metadata(path), wanted)
    assert row is not None and row["session_id"] == "é ünïcode ✓" and row["started_at"] == started
    decoded = _conform(pq.read_table(path), SESSION_SCHEMA)
    footer = _rows_to_table([_read_one(path, wanted)], SESSION_SCHEMA)
    # A timestamp becomes ISO text either way (with the unit's fraction only when decoded);
    # both parse to the same time.
    same = [n for n in SESSION_SCHEMA.names if n != "started_at"]
    assert footer.select(same).equals(decoded.select(same))
    texts = [t.column("started_at")[0].as_py() for t in (footer, decoded)]
    assert pd.Timestamp(texts[0]) == pd.Timestamp(texts[1]) == started


def test_weeks_keeps_the_last_iso_weeks(month_dir: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    """`imu trends --weeks N`: the last N ISO weeks counted back from the latest session."""
    full = compute_trends(month_dir)
    two = compute_trends(month_dir, weeks=2)
    last = pd.Timestamp(full.last_day)
    monday = last - pd.Timedelta(days=last.day_of_week + 7)
    assert two.last_day == full.last_day and pd.Timestamp(two.first_day) == monday
    assert len(two.weekly) == 2 and two.sessions < full.sessions
    assert main(["trends", str(month_dir), "--weeks", "2"]) == 0
    assert f"{two.sessions} sessions" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["trends", str(month_dir), "--weeks", "0"])


def test_the_regression_is_scipys_bit_for_bit() -> None:
    """``imu.trends.stats.linregress`` and ``t_quantile`` (no scipy.stats import: 0.8 s of
    start-up) give scipy.stats' numbers exactly: slopes, intercepts, p-values, standard errors
    and the t quantiles of the confidence intervals."""
    from imu.trends.stats import linregress, t_quantile

    rng = np.random.default_rng(11)
    cases = [(np.arange(5.0), np.arange(5.0) * 2 + 1),  # an exact line: r = 1
             (np.arange(6.0), -np.arange(6.0)),  # r = -1
             (np.arange(4.0), np.full(4, 3.0)),  # flat: no spread in y
             (np.array([0.0, 1.0]), np.array([2.0, 5.0]))]  # two points
    for n in (3, 4, 7, 30, 400):
        for _ in range(40):
            x = np.sort(rng.uniform(0, 50, n))
            cases.append((x, rng.normal(size=n) * rng.uniform(0.01, 10) + rng.normal() * x))
    for x, y in cases:
        got, want = linregress(x, y), stats.linregress(x, y)
        for name in ("slope", "intercept", "pvalue", "stderr"):
            a, b = getattr(got, name), float(getattr(want, name))
            assert a == b or (a != a and b != b), (name, a, b)
    for df in (1, 2, 3, 10, 57, 1000):
        assert t_quantile(0.975, df) == stats.t.ppf(0.975, df)
