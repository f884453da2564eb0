"""The plots of one analysed session (``imu report``; docs/trends.md).

Strength: pelvis angle over time with reps and sets marked, tempo bars per rep, lockout tilt per
rep against the posterior/anterior bands (+-3 deg, contract section 3). Runs: per-minute metrics
across the run and the left/right pelvic-drop distributions. Every plot has a title and axes
labelled with units (:func:`imu.viz.figure.check_figure`).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from imu.io.store import SessionTables
from imu.metrics.display import TYPICAL, shown, value_limits
from imu.metrics.gait import minutes_by_clock
from imu.metrics.strength import TILT_CLASS_THRESHOLD_DEG
from imu.viz.figure import new_figure, unit_of


def _rep_labels(reps: pd.DataFrame) -> list[str]:
    return [f"{int(s)}.{int(r)}" for s, r in zip(reps["set"], reps["rep"], strict=True)]


def pelvis_angle_figure(ts: pd.DataFrame, reps: pd.DataFrame, sets: pd.DataFrame) -> Any:
    """Sagittal pelvis angle over time; reps shaded, lockouts marked, sets labelled."""
    fig, ax = new_figure(figsize=(10, 3.8), layout="constrained")
    ax.plot(ts["t_s"], ts["sagittal_deg"], color="tab:blue", lw=1, label="sagittal angle")
    if not sets.empty:
        for i, row in enumerate(sets.itertuples(index=False)):
            ax.axvspan(row.start_s, row.end_s, color="tab:orange" if i % 2 else "gold", alpha=0.12)
            ax.annotate(
                f"set {int(row.set)}",
                (row.start_s, 1.0),
                xycoords=("data", "axes fraction"),
                va="top",
                fontsize=8,
            )
    if not reps.empty:
        for row in reps.itertuples(index=False):
            ax.axvspan(row.start_s, row.end_s, color="tab:gray", alpha=0.12, lw=0)
        lock_angle = np.interp(reps["lockout_s"], ts["t_s"], ts["sagittal_deg"])
        broke = reps["form_break"].fillna(False).to_numpy(bool) if "form_break" in reps else None
        ax.plot(reps["lockout_s"], lock_angle, "v", color="tab:green", ms=5, label="lockout")
        if broke is not None and broke.any():
            ax.plot(
                reps["lockout_s"][broke],
                lock_angle[broke],
                "x",
                color="tab:red",
                ms=8,
                label="form break",
            )
    ax.set_title("Pelvis angle over the session (reps shaded, sets labelled)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("sagittal pelvis angle (deg)")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def tempo_figure(reps: pd.DataFrame) -> Any:
    """Stacked bars per rep: concentric, top hold, eccentric durations."""
    fig, ax = new_figure(figsize=(10, 3.4), layout="constrained")
    x = np.arange(len(reps))
    bottom = np.zeros(len(reps))
    for col, color, name in (
        ("concentric_s", "tab:blue", "concentric"),
        ("top_hold_s", "tab:green", "top hold"),
        ("eccentric_s", "tab:purple", "eccentric"),
    ):
        v = reps[col].astype(float).fillna(0.0).to_numpy()
        ax.bar(x, v, bottom=bottom, color=color, label=name, width=0.8)
        bottom += v
    if "form_break" in reps and reps["form_break"].fillna(False).any():
        broke = reps["form_break"].fillna(False).to_numpy(bool)
        ax.plot(x[broke], bottom[broke] * 1.05, "x", color="tab:red", label="form break")
    ax.set_xticks(x, _rep_labels(reps), fontsize=7, rotation=90 if len(reps) > 30 else 0)
    ax.set_ylim(0, 1.35 * max(float(bottom.max(initial=0.0)), 0.1))  # room for the legend
    ax.set_title("Tempo per rep")
    ax.set_xlabel("rep (set.rep)")
    ax.set_ylabel("duration (s)")
    ax.legend(fontsize=8, ncols=4, loc="upper left")
    return fig


CLASS_COLOURS: Final = {"posterior": "tab:green", "neutral": "tab:gray", "anterior": "tab:red"}
"""Tilt classes and their colours in every plot."""


def tilt_figure(reps: pd.DataFrame) -> Any:
    """Lockout tilt per rep, one panel per set, each rep coloured by its class (posterior >= +3
    deg green, neutral grey, anterior <= -3 deg red); form breaks circled in red."""
    sets = sorted(int(v) for v in reps["set"].dropna().unique())
    n = max(len(sets), 1)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = new_figure(rows, cols, figsize=(2.6 * cols + 1.2, 2.6 * rows + 0.8),
                           layout="constrained", sharey=True, squeeze=False)
    thr = TILT_CLASS_THRESHOLD_DEG
    tilt_all = reps["tilt_deg"].astype(float).to_numpy()
    finite = tilt_all[np.isfinite(tilt_all)]
    lim = max(3 * thr, float(np.max(np.abs(finite))) + 2 if finite.size else 0)
    flat = list(np.ravel(axes))
    for ax, s in zip(flat, sets, strict=False):
        r = reps[reps["set"] == s].sort_values("rep")
        x = r["rep"].to_numpy(int)
        tilt = r["tilt_deg"].astype(float).to_numpy()
        ax.axhspan(thr, lim, color=CLASS_COLOURS["posterior"], alpha=0.12)
        ax.axhspan(-thr, thr, color=CLASS_COLOURS["neutral"], alpha=0.10)
        ax.axhspan(-lim, -thr, color=CLASS_COLOURS["anterior"], alpha=0.12)
        ax.axhline(0, color="black", lw=0.6)
        classes = r["tilt_class"].astype(str).to_numpy() if "tilt_class" in r else None
        for cls, colour in CLASS_COLOURS.items():
            sel = (classes == cls) if classes is not None else np.zeros(len(r), bool)
            if sel.any():
                ax.scatter(x[sel], tilt[sel], c=colour, edgecolors="black", s=36, zorder=3,
                           label=cls)
        ax.plot(x, tilt, "-", color="black", lw=0.6, alpha=0.5, zorder=2)
        if "form_break" in r and r["form_break"].fillna(False).any():
            broke = r["form_break"].fillna(False).to_numpy(bool)
            ax.scatter(x[broke], tilt[broke], s=150, facecolors="none", edgecolors="tab:red",
                       linewidths=1.5, zorder=4, label="form break")
        ex = r["exercise"].dropna().iloc[0] if "exercise" in r and r["exercise"].notna().any() \
            else ""
        ax.set_title(f"set {s}" + (f": {str(ex).replace('_', ' ')}" if ex else ""), fontsize=9)
        ax.set_xticks(x)
        ax.set_xlabel("rep (number)", fontsize=8)
        ax.set_ylabel("lockout tilt (deg)", fontsize=8)
        ax.set_ylim(-lim, lim)
    for ax in flat[len(sets):]:
        ax.set_visible(False)
    handles, labels = [], []
    for ax in flat[: len(sets)]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    fig.suptitle("Lockout tilt per rep, by set (+ posterior: the pelvis tucked under; "
                 f"classes cut at +-{thr:g} deg)", fontsize=10)
    return fig


MINUTE_INDEX_COLUMNS: Final = ("minute", "start_s", "end_s", "t_s", "steps", "n_steps")




def minutes_figure(minutes: pd.DataFrame) -> Any:
    """One panel per per-minute metric across the run, labelled in words, each value axis no
    narrower than the metric's resolution allows (a flat cadence stays flat)."""
    x_col = "minute" if "minute" in minutes.columns else None
    x = minutes[x_col].to_numpy(float) if x_col else np.arange(len(minutes), dtype=float)
    metrics = [
        c
        for c in minutes.columns
        if c not in MINUTE_INDEX_COLUMNS
        and pd.api.types.is_numeric_dtype(minutes[c])
        and unit_of(c) is not None
        and minutes[c].notna().any()
    ]
    if not metrics:
        return None
    fig, axes = new_figure(
        len(metrics), 1, figsize=(9, 1.7 * len(metrics) + 0.8), layout="constrained", sharex=True
    )
    axes = np.atleast_1d(axes)
    for ax, col in zip(axes, metrics, strict=True):
        sh = shown(col)
        y = minutes[col].astype(float)
        ax.plot(x, y, "o-", ms=3)
        band = TYPICAL.get(col)
        lo, hi = float(y.min()), float(y.max())
        if band is not None:
            ax.axhspan(band.low, band.high, color="tab:green", alpha=0.10, lw=0)
        ax.set_ylim(*value_limits(col, lo, hi))
        ax.set_title(sh.label[0].upper() + sh.label[1:], fontsize=9, loc="left")
        ax.set_ylabel(f"({sh.unit})", fontsize=8)
        ax.set_xlabel("minute of the session (min)", fontsize=8)
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("Per minute across the run (green band: typical range)")
    return fig


def drop_distribution_figure(steps: pd.DataFrame) -> Any:
    """Histograms of per-step pelvic drop in left and right stance, means marked."""
    fig, ax = new_figure(figsize=(8, 3.4), layout="constrained")
    drop = steps["pelvic_drop_deg"].astype(float)
    finite = drop[np.isfinite(drop)]
    bins = np.linspace(float(finite.min()) - 0.5, float(finite.max()) + 0.5, 30)
    for side, color, name in (
        ("L", "tab:blue", "left-leg stance: right side sinks"),
        ("R", "tab:orange", "right-leg stance: left side sinks"),
    ):
        d = drop[steps["side"] == side].dropna()
        if d.empty:
            continue
        ax.hist(d, bins=bins, color=color, alpha=0.5, label=f"{name} (mean {d.mean():.1f} deg)")
        ax.axvline(d.mean(), color=color, lw=2)
    ax.set_title("Pelvic drop per step: how far the side opposite the stance leg sinks")
    ax.set_xlabel("pelvic drop (deg)")
    ax.set_ylabel("steps (count)")
    ax.legend(fontsize=8)
    return fig


def session_figures(session: SessionTables) -> list[tuple[str, str, Any]]:
    """(key, caption, figure) for every plot the session's tables allow: strength plots when it
    has reps, run plots when it has running steps (both for a mixed session)."""
    figs: list[tuple[str, str, Any]] = []
    reps, sets, ts = session["reps"], session["sets"], session["timeseries"]
    steps, minutes = session["steps"], session["minutes"]
    if not reps.empty or not sets.empty:
        if not ts.empty and {"t_s", "sagittal_deg"} <= set(ts.columns):
            figs.append(
                (
                    "angle",
                    "Sagittal pelvis angle; grey spans are reps, coloured spans sets, triangles "
                    "lockouts, crosses form breaks.",
                    pelvis_angle_figure(ts, reps, sets),
                )
            )
        if "exercise" not in reps.columns and {"set", "exercise"} <= set(sets.columns):
            reps = reps.assign(exercise=reps["set"].map(sets.set_index("set")["exercise"]))
        if not reps.empty and reps["tilt_deg"].notna().any():
            figs.append(
                ("tilt", "Lockout tilt of every rep, set by set, coloured by its class.",
                 tilt_figure(reps))
            )
        if not reps.empty:
            figs.append(
                ("tempo", "Up (concentric), hold and down (eccentric) time per rep.",
                 tempo_figure(reps))
            )
    if "gait" in steps.columns:  # run plots for running steps, not a walk between sets
        steps = steps[steps["gait"] == "run"]
    if not steps.empty:
        if minutes.empty:
            minutes = minutes_by_clock(steps)
        if not minutes.empty:
            fig = minutes_figure(minutes)
            if fig is not None:
                figs.append(("minutes", "Each minute of the run against the typical range.",
                             fig))
        if "pelvic_drop_deg" in steps and steps["pelvic_drop_deg"].notna().any():
            figs.append(
                (
                    "drop",
                    "Pelvic drop of every step, left-leg and right-leg stance.",
                    drop_distribution_figure(steps),
                )
            )
    return figs
