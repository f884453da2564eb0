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

from imu.io.store import SessionTables
from imu.metrics.gait import minutes_by_clock
from imu.metrics.strength import TILT_CLASS_THRESHOLD_DEG
from imu.viz.figure import axis_label, new_figure, unit_of


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


def tilt_figure(reps: pd.DataFrame) -> Any:
    """Lockout tilt per rep against the posterior (>= +3 deg) and anterior (<= -3 deg) bands."""
    fig, ax = new_figure(figsize=(10, 3.4), layout="constrained")
    x = np.arange(len(reps))
    tilt = reps["tilt_deg"].astype(float).to_numpy()
    thr = TILT_CLASS_THRESHOLD_DEG
    finite = tilt[np.isfinite(tilt)]
    lim = max(3 * thr, float(np.max(np.abs(finite))) + 2 if finite.size else 0)
    ax.axhspan(thr, lim, color="tab:green", alpha=0.15, label=f"posterior (>= +{thr:g} deg)")
    ax.axhspan(-thr, thr, color="tab:gray", alpha=0.12, label="neutral")
    ax.axhspan(-lim, -thr, color="tab:red", alpha=0.15, label=f"anterior (<= -{thr:g} deg)")
    colors = np.where(tilt >= thr, "tab:green", np.where(tilt <= -thr, "tab:red", "tab:gray"))
    ax.scatter(x, tilt, c=colors.tolist(), edgecolors="black", zorder=3, s=30)
    if "form_break" in reps and reps["form_break"].fillna(False).any():
        broke = reps["form_break"].fillna(False).to_numpy(bool)
        ax.scatter(
            x[broke],
            tilt[broke],
            s=140,
            facecolors="none",
            edgecolors="tab:red",
            linewidths=1.5,
            zorder=4,
            label="form break",
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylim(-lim, lim)
    ax.set_xticks(x, _rep_labels(reps), fontsize=7, rotation=90 if len(reps) > 30 else 0)
    ax.set_title("Lockout tilt per rep (relative to the body line; + = posterior)")
    ax.set_xlabel("rep (set.rep)")
    ax.set_ylabel("lockout tilt (deg)")
    ax.legend(fontsize=8, loc="lower left", ncols=3)
    return fig


MINUTE_INDEX_COLUMNS: Final = ("minute", "start_s", "end_s", "t_s", "steps", "n_steps")




def minutes_figure(minutes: pd.DataFrame) -> Any:
    """One panel per per-minute metric across the run."""
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
        len(metrics), 1, figsize=(9, 1.9 * len(metrics) + 0.6), layout="constrained", sharex=True
    )
    axes = np.atleast_1d(axes)
    for ax, col in zip(axes, metrics, strict=True):
        ax.plot(x, minutes[col].astype(float), "o-", ms=3)
        ax.set_title(col.replace("_", " ").rsplit(" ", 1)[0] + " per minute", fontsize=9)
        ax.set_ylabel(axis_label(col), fontsize=8)
        ax.set_xlabel("minute of the run (min)", fontsize=8)
    fig.suptitle("Per-minute metrics across the run")
    return fig


def drop_distribution_figure(steps: pd.DataFrame) -> Any:
    """Histograms of per-step pelvic drop in left and right stance, means marked."""
    fig, ax = new_figure(figsize=(8, 3.4), layout="constrained")
    drop = steps["pelvic_drop_deg"].astype(float)
    finite = drop[np.isfinite(drop)]
    bins = np.linspace(float(finite.min()) - 0.5, float(finite.max()) + 0.5, 30)
    for side, color, name in (
        ("L", "tab:blue", "left stance"),
        ("R", "tab:orange", "right stance"),
    ):
        d = drop[steps["side"] == side].dropna()
        if d.empty:
            continue
        ax.hist(d, bins=bins, color=color, alpha=0.5, label=f"{name} (mean {d.mean():.1f} deg)")
        ax.axvline(d.mean(), color=color, lw=2)
    ax.set_title("Pelvic drop per step, left vs right stance")
    ax.set_xlabel("pelvic drop (deg)")
    ax.set_ylabel("steps (count)")
    ax.legend(fontsize=8)
    return fig


def session_figures(session: SessionTables) -> list[tuple[str, str, Any]]:
    """(key, caption, figure) for every plot that applies to the session's data."""
    figs: list[tuple[str, str, Any]] = []
    reps, sets, ts = session["reps"], session["sets"], session["timeseries"]
    if session.activity == "run":
        steps = session["steps"]
        minutes = session["minutes"]
        if minutes.empty:
            minutes = minutes_by_clock(steps)
        if not minutes.empty:
            fig = minutes_figure(minutes)
            if fig is not None:
                figs.append(("minutes", "Per-minute metrics across the run.", fig))
        if not steps.empty and steps["pelvic_drop_deg"].notna().any():
            figs.append(
                (
                    "drop",
                    "Left and right pelvic drop distributions.",
                    drop_distribution_figure(steps),
                )
            )
        return figs
    if not ts.empty and {"t_s", "sagittal_deg"} <= set(ts.columns):
        figs.append(
            (
                "angle",
                "Sagittal pelvis angle; grey spans are reps, coloured spans sets, triangles "
                "lockouts.",
                pelvis_angle_figure(ts, reps, sets),
            )
        )
    if not reps.empty:
        figs.append(
            ("tempo", "Concentric, top hold and eccentric time per rep.", tempo_figure(reps))
        )
        if reps["tilt_deg"].notna().any():
            figs.append(
                ("tilt", "Lockout tilt per rep against the +-3 deg bands.", tilt_figure(reps))
            )
    return figs
