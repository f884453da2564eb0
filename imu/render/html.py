"""One self-contained HTML page per analysed session (``imu report SESSION_DIR``).

The page holds a summary table and PNG plots (matplotlib, Agg backend) embedded as base64
``data:`` URIs, so it can be mailed or archived as one file with no external resources.

Strength: pelvis angle over time with reps and sets marked, tempo bars per rep, lockout tilt per
rep against the posterior/anterior bands (+-3 deg, contract section 3). Runs: per-minute metrics
across the run and the left/right pelvic-drop distributions. Every plot has a title and axes
labelled with units; :func:`check_figure` enforces that before a figure is saved.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from imu.core.errors import InputError
from imu.metrics.strength import TILT_CLASS_THRESHOLD_DEG

UNIT_SUFFIXES: Final = {
    "_deg": "deg",
    "_cm": "cm",
    "_ms": "ms",
    "_spm": "steps/min",
    "_pct": "%",
    "_s": "s",
    "_hz": "Hz",
    "_g": "g",
    "_dps": "deg/s",
    "_m": "m",
}
TABLE_STEMS: Final = ("summary", "sets", "reps", "steps", "minutes", "timeseries")
_UNIT_IN_LABEL = re.compile(r"\(([^()]+)\)\s*$")


def unit_of(column: str) -> str | None:
    """Unit from a column's suffix (``gct_ms`` -> ``ms``), None if it has none."""
    for suffix, unit in UNIT_SUFFIXES.items():
        if column.endswith(suffix):
            return unit
    return None


def axis_label(column: str, unit: str | None = None) -> str:
    """``'gct_ms'`` -> ``'gct (ms)'``: the name without its suffix, the unit in brackets."""
    u = unit or unit_of(column) or "-"
    name = column
    for suffix in UNIT_SUFFIXES:
        if column.endswith(suffix):
            name = column[: -len(suffix)]
            break
    return f"{name.replace('_', ' ')} ({u})"


# --------------------------------------------------------------------------------------------
# Figures


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """A figure on an Agg canvas, outside pyplot (no global state, no backend switch; safe in
    servers, threads and notebooks), with ``subplots(nrows, ncols)``; kwargs as for Figure
    plus ``sharex``/``sharey``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    share = {k: kwargs.pop(k) for k in ("sharex", "sharey") if k in kwargs}
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **share)


def check_figure(fig: Any) -> None:
    """Raise ValueError unless every axes with content has a title and x/y labels with a unit
    in brackets at the end, e.g. ``'time (s)'``."""
    axes = [ax for ax in fig.get_axes() if ax.get_visible() and ax.has_data()]
    if not axes:
        raise ValueError("figure has no axes with data")
    for ax in axes:
        title = ax.get_title() or ax.get_title("left") or ax.get_title("right")
        if not title.strip():
            raise ValueError("an axes has no title")
        for which, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if not _UNIT_IN_LABEL.search(label or ""):
                raise ValueError(f"axes {title!r}: {which} label {label!r} lacks a (unit)")


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """Check and render a figure to PNG bytes."""
    check_figure(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_png(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    """Check and write a figure as a PNG file."""
    p = Path(path)
    p.write_bytes(figure_png(fig, dpi))
    return p


@dataclass
class SessionTables:
    """The tables of one ``session=<id>`` folder (missing ones are empty) and its metadata."""

    path: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, stem: str) -> pd.DataFrame:
        return self.tables.get(stem, pd.DataFrame())

    @property
    def summary(self) -> dict[str, Any]:
        s = self["summary"]
        return s.iloc[0].to_dict() if not s.empty else {}

    @property
    def activity(self) -> str:
        return str(self.summary.get("activity") or "strength")


def read_session(session_dir: str | Path) -> SessionTables:
    """Read a session folder written by ``imu analyze`` (needs ``summary.parquet``)."""
    p = Path(session_dir)
    if not p.is_dir():
        raise InputError(f"{p}: no such session folder")
    if not (p / "summary.parquet").is_file():
        raise InputError(f"{p}: no summary.parquet (expected a session=<id> folder of imu analyze)")
    out = SessionTables(path=p)
    for stem in TABLE_STEMS:
        f = p / f"{stem}.parquet"
        if not f.is_file():
            continue
        try:
            table = pq.read_table(f)
        except Exception as exc:  # any unreadable file is the user's input problem
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{f}: not a readable Parquet file ({first})") from None
        out.tables[stem] = table.to_pandas()
        if stem == "summary":
            raw = (table.schema.metadata or {}).get(b"imu")
            if raw:
                try:
                    out.meta = json.loads(raw)
                except json.JSONDecodeError:
                    out.meta = {}
    return out


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


def minutes_from_steps(steps: pd.DataFrame) -> pd.DataFrame:
    """Per-minute metrics from the steps table (used when minutes.parquet is absent)."""
    if steps.empty:
        return pd.DataFrame()
    m = (steps["contact_s"] // 60).astype(int)
    g = steps.assign(minute=m).groupby("minute")
    span = g["contact_s"].agg(lambda s: s.max() - s.min())
    count = g.size()
    out = pd.DataFrame({"steps": count})
    out["cadence_spm"] = ((count - 1) / span * 60).where(span > 0)
    out["gct_ms"] = g["gct_ms"].mean()
    out["vo_cm"] = g["vo_cm"].mean()
    for side, name in (("L", "left"), ("R", "right")):
        out[f"pelvic_drop_{name}_deg"] = (
            steps[steps["side"] == side]
            .assign(minute=m)
            .groupby("minute")["pelvic_drop_deg"]
            .mean()
        )
    return out.reset_index()


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
            minutes = minutes_from_steps(steps)
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


# --------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1060px;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.9em;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f3f3f3}
img{max-width:100%;height:auto}
figure{margin:1em 0}
figcaption{font-size:0.9em;color:#555}
.flag{color:#b00}
"""


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


def _table_html(df: pd.DataFrame, max_rows: int = 200) -> str:
    cols = list(df.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False):
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in rec)
        rows.append(f"<tr>{cells}</tr>")
    more = ""
    if len(df) > max_rows:
        more = f"<p>{len(df) - max_rows} more rows not shown.</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _kv_table(d: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in d.items()
    )
    return f"<table><tbody>{rows}</tbody></table>"


def form_break_reasons(reps: pd.DataFrame, meta: dict[str, Any]) -> pd.Series | None:
    """Why each rep is a form break, re-derived with the parameters the analysis used (from the
    file's provenance); None if the reps lack the columns the rule needs."""
    from imu.pipeline.form import REQUIRED_COLUMNS, FormBreakDetector

    if not set(REQUIRED_COLUMNS) <= set(reps.columns):
        return None
    params = (meta.get("parameters") or {}).get("form_break") or {}
    det = FormBreakDetector()
    try:
        det.set_params(**{k: v for k, v in params.items() if k in det.get_params()})
        det.detect(reps)
    except (ValueError, TypeError):
        return None
    return det.reasons_


def render_html(session: SessionTables) -> str:
    """The report page as one HTML5 string (plots embedded as base64 PNG data URIs)."""
    s = session.summary
    sid = str(s.get("session_id", session.path.name))
    title = f"imu session {sid}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(_fmt(s.get('activity')))} "
        f"{html.escape(_fmt(s.get('exercise')))}, started {html.escape(_fmt(s.get('started_at')))}"
        f", {html.escape(_fmt(s.get('duration_s')))} s.</p>",
        "<h2>Summary</h2>",
        _kv_table(s),
    ]
    figs = session_figures(session)
    if figs:
        parts.append("<h2>Plots</h2>")
    for key, caption, fig in figs:
        alt = fig.get_axes()[0].get_title() if fig.get_axes() else key
        data = base64.b64encode(figure_png(fig)).decode("ascii")
        parts.append(
            f'<figure id="fig-{key}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(alt)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
    if not figs:
        parts.append("<p>No plots: the session has no angle, rep or step data.</p>")
    reps = session["reps"]
    if session.activity != "run" and not reps.empty:
        cols = [
            c
            for c in (
                "set",
                "rep",
                "concentric_s",
                "top_hold_s",
                "eccentric_s",
                "tilt_deg",
                "tilt_class",
                "hip_travel_cm",
                "form_break",
            )
            if c in reps.columns
        ]
        broke = int(reps["form_break"].fillna(False).sum()) if "form_break" in reps else 0
        parts.append("<h2>Reps</h2>")
        table = reps[cols]
        if broke:
            parts.append(f'<p class="flag">{broke} rep(s) flagged as form breaks.</p>')
            reasons = form_break_reasons(reps, session.meta)
            if reasons is not None:
                table = table.assign(why=reasons.to_numpy())
        parts.append(_table_html(table))
    minutes = session["minutes"]
    if session.activity == "run":
        if minutes.empty:
            minutes = minutes_from_steps(session["steps"])
        if not minutes.empty:
            parts += ["<h2>Per minute</h2>", _table_html(minutes)]
    version = session.meta.get("package_version", "")
    parts += [
        "<footer><p>",
        html.escape(
            f"Written by imu {version} from {session.path.name}."
            if version
            else f"From {session.path.name}."
        ),
        "</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(session_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a session folder; default ``SESSION_DIR/report.html``."""
    session = read_session(session_dir)
    page = render_html(session)
    target = Path(out) if out is not None else Path(session_dir) / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
