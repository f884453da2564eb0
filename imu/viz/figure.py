"""Figures on an Agg canvas, outside pyplot, and the rule every figure passes before it is
saved: a title and axes labelled with units (:func:`check_figure`)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Final

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from imu.io.atomic import write_bytes_atomic

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


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A figure on an Agg canvas, outside pyplot (no global state, no backend switch; safe in
    servers, threads and notebooks), with ``subplots(nrows, ncols)``; kwargs as for Figure
    plus ``sharex``/``sharey``."""
    share = {k: kwargs.pop(k) for k in ("sharex", "sharey", "squeeze") if k in kwargs}
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
    """Check and write a figure as a PNG file (atomically)."""
    return write_bytes_atomic(figure_png(fig, dpi), path)
