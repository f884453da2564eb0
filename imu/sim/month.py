"""A simulated month of training with KNOWN built-in trends, written in the ``imu analyze`` output
layout (``DIR/session=<id>/*.parquet``), to check that :mod:`imu.trends` recovers them.

One session a day: bridge sessions on most days, a run every ``run_every`` days. Built in by
default: the share of bridge reps with posterior lockout tilt rises, right-side pelvic drop
(right-leg stance) rises; everything else (cadence, contact time, left drop, drift, reps per day,
tempo variability) is flat. :meth:`MonthTrends.expected` lists the slopes per week.

Two modes:

* ``mode="raw"`` (honest end to end): each day's raw session comes from the simulator and goes
  through the analyser given as ``analyze`` (normally :func:`imu.analyze`; the simulator sits
  below the analysis, so it is passed in, not imported) and its result's ``.write``; the day's
  trend values drive the simulator's parameters. Sessions are kept short so a month takes about
  a minute or two.
* ``mode="tables"``: the per-session tables are drawn directly (per-rep lockout tilt, per-session
  run means with day-to-day noise). Fast (a month in well under a second); used to test the
  statistics of :mod:`imu.trends` in isolation and for the 10,000-session read benchmark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from imu.io.store import provenance, write_session
from imu.metrics.strength import add_form_break, tilt_class
from imu.sim.running import simulate_run
from imu.sim.strength import simulate_strength

Analyzer = Callable[[pd.DataFrame], Any]
"""``analyze(raw_dataframe)`` -> a result with ``.write(out_dir)`` (e.g. :func:`imu.analyze`)."""

START_DAY = dt.date(2026, 11, 2)
"""A Monday: the month's ISO weeks start on its first day."""


@dataclass(frozen=True)
class MonthTrends:
    """Starting values and slopes per week of the simulated metrics (0 = flat)."""

    posterior_tilt_pct: float = 30.0
    posterior_tilt_pct_per_week: float = 12.0
    pelvic_drop_right_deg: float = 5.0
    pelvic_drop_right_deg_per_week: float = 0.8
    pelvic_drop_left_deg: float = 5.0
    pelvic_drop_left_deg_per_week: float = 0.0
    cadence_spm: float = 170.0
    cadence_spm_per_week: float = 0.0
    gct_ms: float = 240.0
    gct_ms_per_week: float = 0.0
    drop_drift_deg: float = 0.5
    drop_drift_deg_per_week: float = 0.0
    reps_per_day: float = 40.0
    reps_per_day_per_week: float = 0.0
    rep_duration_s: float = 3.0
    tempo_cv_pct: float = 8.0
    tilt_sd_deg: float = 2.5
    """Rep-to-rep spread of lockout tilt around the day's mean (tables mode)."""
    run_noise: float = 0.15
    """Day-to-day noise of a run's mean drop (deg); cadence and GCT noise scale from it."""

    def expected(self) -> dict[str, float]:
        """Built-in slope per week of every trended metric that the month exercises."""
        return {
            "posterior_tilt_pct": self.posterior_tilt_pct_per_week,
            "pelvic_drop_right_deg": self.pelvic_drop_right_deg_per_week,
            "pelvic_drop_left_deg": self.pelvic_drop_left_deg_per_week,
            "cadence_spm": self.cadence_spm_per_week,
            "gct_ms": self.gct_ms_per_week,
            "drop_drift_deg": self.drop_drift_deg_per_week,
            "reps_per_day": self.reps_per_day_per_week,
            "tempo_cv_pct": 0.0,
            "training_days": 0.0,
        }

    @classmethod
    def raw(cls) -> MonthTrends:
        """Defaults for ``mode='raw'``: the strength simulator draws lockout tilt itself, so the
        posterior-tilt share is not steered (no trend built in); reps per day rise instead."""
        return cls(
            posterior_tilt_pct=float("nan"),
            posterior_tilt_pct_per_week=0.0,
            reps_per_day=20.0,
            reps_per_day_per_week=5.0,
        )

    def at(self, name: str, day: int) -> float:
        """The built-in value of ``name`` on day ``day`` (0-based)."""
        return float(getattr(self, name) + getattr(self, f"{name}_per_week", 0.0) * day / 7.0)


def _bridge_tables(
    sid: str, started: str, day: int, tr: MonthTrends, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    n_reps = max(10, round(tr.at("reps_per_day", day) + rng.normal(0, 4)))
    set_size = 10
    n_sets = int(np.ceil(n_reps / set_size))
    sets_of = np.minimum(set_size, n_reps - set_size * np.arange(n_sets))
    set_no = np.repeat(np.arange(1, n_sets + 1), sets_of)
    rep_no = np.concatenate([np.arange(1, k + 1) for k in sets_of])
    dur = tr.rep_duration_s * (1 + tr.tempo_cv_pct / 100 * rng.standard_normal(n_reps))
    conc, hold = 0.3 * dur, 0.3 * dur
    gap = 1.5 + 60.0 * (np.diff(set_no, prepend=1) > 0)
    start = 3.0 + np.cumsum(np.r_[0.0, (dur + gap)[:-1]])
    share = np.clip(tr.at("posterior_tilt_pct", day) / 100.0, 0.02, 0.98)
    mu = 3.0 - tr.tilt_sd_deg * stats.norm.ppf(1 - share)  # P(tilt >= 3) = share
    # Latin-hypercube draw of the day's tilt distribution N(mu, sd): one rep per probability
    # stratum, shuffled, so the day's posterior share is the built-in one up to 1/n_reps
    # (variance reduction; the trend under test is the built-in one, not binomial noise).
    strata = (rng.permutation(n_reps) + rng.uniform(0, 1, n_reps)) / n_reps
    tilt = mu + tr.tilt_sd_deg * stats.norm.ppf(strata)
    angle = 90 + 15 + tilt
    reps = pd.DataFrame(
        {
            "set": set_no,
            "rep": rep_no,
            "start_s": start,
            "end_s": start + dur,
            "lockout_s": start + conc + hold / 2,
            "concentric_s": conc,
            "top_hold_s": hold,
            "eccentric_s": dur - conc - hold,
            "pelvis_angle_deg": angle,
            "hip_travel_cm": 20 + rng.normal(0, 1, n_reps),
            "tilt_deg": tilt,
            "tilt_class": tilt_class(tilt).astype(str),
            "exercise": "glute_bridge",
        }
    )
    reps = add_form_break(reps).drop(columns=["form_reason"])
    g = reps.groupby("set")
    sets = pd.DataFrame(
        {
            "set": np.arange(1, n_sets + 1),
            "exercise": "glute_bridge",
            "start_s": g["start_s"].min().to_numpy(),
            "end_s": g["end_s"].max().to_numpy(),
            "reps": sets_of,
        }
    )
    summary = pd.DataFrame(
        [
            {
                "session_id": sid,
                "started_at": started,
                "activity": "strength",
                "exercise": "glute_bridge",
                "duration_s": float(reps["end_s"].max() + 3.0),
                "n_sets": n_sets,
                "n_reps": n_reps,
            }
        ]
    )
    return {"summary": summary, "sets": sets, "reps": reps}


def _run_tables(
    sid: str, started: str, day: int, tr: MonthTrends, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    noise = tr.run_noise
    summary = pd.DataFrame(
        [
            {
                "session_id": sid,
                "started_at": started,
                "activity": "run",
                "exercise": None,
                "duration_s": 1200.0,
                "n_sets": 0,
                "n_reps": 0,
                "cadence_spm": tr.at("cadence_spm", day) + rng.normal(0, 4 * noise),
                "gct_ms": tr.at("gct_ms", day) + rng.normal(0, 12 * noise),
                "gct_balance_left_pct": 50.0 + rng.normal(0, 0.5),
                "vo_cm": 8.0 + rng.normal(0, 0.2),
                "pelvic_drop_left_deg": tr.at("pelvic_drop_left_deg", day) + rng.normal(0, noise),
                "pelvic_drop_right_deg": tr.at("pelvic_drop_right_deg", day) + rng.normal(0, noise),
                "pelvic_rotation_deg": 10.0 + rng.normal(0, 0.5),
                "drop_drift_deg": tr.at("drop_drift_deg", day) + rng.normal(0, noise),
            }
        ]
    )
    return {"summary": summary}


def _raw_day(
    out: Path,
    sid: str,
    started: str,
    activity: str,
    day: int,
    tr: MonthTrends,
    rng: np.random.Generator,
    analyze: Analyzer,
) -> None:
    """Simulate the day's raw session with its built-in values (imu.sim), analyse it with
    ``analyze`` and write it in the analyze layout: the same path a user's data takes."""
    seed = int(rng.integers(0, 2**31))
    if activity == "run":
        noise = tr.run_noise
        session = simulate_run(
            duration_s=RAW_RUN_S,
            sample_rate_hz=RAW_RATE_HZ,
            seed=seed,
            warmup_walk_s=10.0,
            cooldown_walk_s=10.0,
            cadence_spm=tr.at("cadence_spm", day) + rng.normal(0, 4 * noise),
            speed_m_s=3.2,
            drop_left_deg=tr.at("pelvic_drop_left_deg", day) + rng.normal(0, noise),
            drop_right_deg=tr.at("pelvic_drop_right_deg", day) + rng.normal(0, noise),
            drift_deg=tr.at("drop_drift_deg", day) + rng.normal(0, noise),
        )
    else:
        n_reps = max(5, round(tr.at("reps_per_day", day)))
        n_sets = int(np.ceil(n_reps / 15))
        per_set = [n_reps // n_sets + (k < n_reps % n_sets) for k in range(n_sets)]
        session = simulate_strength(
            exercise="glute_bridge",
            n_sets=n_sets,
            reps_per_set=per_set,
            sample_rate_hz=RAW_RATE_HZ,
            seed=seed,
            rest_s=(10.0, 20.0),
        )
    session.raw.meta.update({"session_id": sid, "started_at": started})
    analyze(session.to_dataframe()).write(out)


RAW_RATE_HZ = 100.0
"""Sample rate of the raw-mode sessions (kept modest so a month takes about a minute)."""
RAW_RUN_S = 150.0
"""Running time of a raw-mode run (plus 10 s walking either side)."""


def month_plan(
    days: int = 30, run_every: int = 3, start_date: dt.date | None = None
) -> pd.DataFrame:
    """The month's schedule: ``day`` (0-based), ``date`` (from ``start_date``, default
    :data:`START_DAY`), ``activity``."""
    d = np.arange(days)
    first = start_date or START_DAY
    return pd.DataFrame(
        {
            "day": d,
            "date": [first + dt.timedelta(days=int(i)) for i in d],
            "activity": np.where(d % run_every == run_every - 1, "run", "strength"),
        }
    )


def simulate_month(
    out_dir: str | Path,
    days: int = 30,
    seed: int = 0,
    trends: MonthTrends | None = None,
    *,
    run_every: int = 3,
    mode: str = "tables",
    analyze: Analyzer | None = None,
    start_date: dt.date | None = None,
) -> pd.DataFrame:
    """Simulate ``days`` days (a session a day, from ``start_date``, default
    :data:`START_DAY`) into ``out_dir``; returns the plan with each day's ``session_id`` and
    built-in values. See the module docstring for ``mode``; ``mode="raw"`` needs ``analyze``
    (e.g. ``imu.analyze``), which ``mode="tables"`` ignores."""
    tr = trends or (MonthTrends.raw() if mode == "raw" else MonthTrends())
    if mode not in ("tables", "raw"):
        raise ValueError(f"unknown mode {mode!r} (expected tables or raw)")
    if mode == "raw" and tr.posterior_tilt_pct_per_week != 0:
        raise ValueError(
            "raw mode cannot build in a posterior-tilt trend (imu.sim.strength draws lockout "
            "tilt itself); use MonthTrends.raw() or mode='tables'"
        )
    if mode == "raw" and analyze is None:
        raise ValueError("mode='raw' needs the analyser: simulate_month(..., analyze=imu.analyze)")
    rng = np.random.default_rng(seed)
    plan = month_plan(days, run_every, start_date)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids = []
    for row in plan.itertuples(index=False):
        minute = int(rng.integers(0, 120))
        started_dt = dt.datetime.combine(row.date, dt.time(6, 0), tzinfo=dt.UTC)
        started_dt += dt.timedelta(minutes=minute)
        started = started_dt.isoformat().replace("+00:00", "Z")
        kind = "run" if row.activity == "run" else "bridge"
        sid = f"{row.date:%Y%m%d}-{kind}-s{seed}"
        meta = {
            "session_id": sid,
            "started_at": started,
            "activity": row.activity,
            "device": "imu-sim",
            "simulated": asdict(tr),
        }
        if mode == "raw":
            _raw_day(out, sid, started, row.activity, int(row.day), tr, rng, analyze)
        else:
            maker = _run_tables if row.activity == "run" else _bridge_tables
            write_session(
                out, sid, maker(sid, started, int(row.day), tr, rng),
                provenance({"simulated": "imu.sim.month"}, meta), keep_pandas_metadata=True,
            )
        ids.append(sid)
    plan["session_id"] = ids
    for name in (
        "posterior_tilt_pct",
        "pelvic_drop_right_deg",
        "pelvic_drop_left_deg",
        "cadence_spm",
    ):
        plan[name] = [tr.at(name, int(d)) for d in plan["day"]]
    return plan
