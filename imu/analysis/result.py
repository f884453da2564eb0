"""The result of analysing one session: its tables, summary row and provenance
(:class:`AnalysisResult`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from imu.core import arrow
from imu.io.store import (
    conform,
    provenance,
    row_table,
    typed_table,
    utc,
    write_session,
)

if TYPE_CHECKING:
    import pandas as pd

STEMS = ("sets", "reps", "steps", "starts", "minutes", "timeseries")
"""The tables of a result besides the summary, by file stem."""


def empty_table(names: Sequence[str]) -> pa.Table:
    """An empty table with float columns: the tables an activity does not produce."""
    return arrow.table({c: np.empty(0) for c in names})


NONE = arrow.table({})
"""The table of a stem that does not apply (no columns)."""


@dataclass
class AnalysisResult:
    """Everything one session yields: the contract's tables plus extras, and their provenance.

    The tables are held as Arrow tables (:attr:`arrow`, as the pipelines made them) and the
    summary as one row (:attr:`row`); ``summary``, ``sets``, ``reps``, ``steps``, ``starts``,
    ``minutes`` and ``timeseries`` are DataFrames made on first use (pandas is imported only
    then), with the documented column types (docs/formats.md; :func:`imu.io.store.conform`):
    counts int64, ``started_at`` a UTC pandas Timestamp, flags bool. The terminal report is
    :func:`imu.render.terminal.render`; :meth:`write` stores the tables through
    :func:`imu.io.store.write_session`; neither needs pandas.
    """

    row: dict[str, Any]
    """The summary row (contract section 3), as the analysis made it."""
    arrow: dict[str, pa.Table] = field(default_factory=dict)
    """The other tables by stem (:data:`STEMS`); a missing one, or one without columns, is
    a table the session does not have."""
    session: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """One line each, for the user (``imu analyze`` prints ``imu: warning: ...`` on stderr)."""

    def __repr__(self) -> str:
        s = self.record
        started = s.get("started_at")
        when = started.strftime("%Y-%m-%d %H:%M UTC") if isinstance(started, datetime) else "-"
        what = str(s.get("activity", "?"))
        if isinstance(s.get("exercise"), str) and s.get("exercise"):
            what += f" ({s['exercise']})"
        head = f"<AnalysisResult session {s.get('session_id', '?')}: {what}, {when}"
        duration = s.get("duration_s")
        if isinstance(duration, float) and np.isfinite(duration):
            head += f", {duration / 60:.1f} min"
        counts = ", ".join(
            f"{name} {len(t)} rows" for name, t in self.arrow_tables().items() if name != "summary"
        )
        return "\n".join([head + ">", f"  tables: {counts}" if counts else "  tables: summary",
                          "  print(imu.report(result)) for the readable report; "
                          "result.write(DIR) stores the tables"])

    @property
    def record(self) -> dict[str, Any]:
        """The summary row with ``started_at`` as a UTC datetime (None when unknown)."""
        started = self.row.get("started_at")
        return self.row | {"started_at": None if started is None else utc(started)}

    @property
    def session_id(self) -> str:
        return str(self.row["session_id"])

    @property
    def activity(self) -> str:
        return str(self.row["activity"])

    def table(self, stem: str) -> pa.Table:
        """Table ``stem`` as an Arrow table (``summary``: its one typed row)."""
        if stem == "summary":
            return typed_table(row_table(self.row), "summary")
        return self.arrow.get(stem, NONE)

    def frame(self, stem: str) -> pd.DataFrame:
        """Table ``stem`` as a DataFrame with the documented column types (imports pandas)."""
        import pandas as pd

        if stem == "summary":
            return conform(pd.DataFrame([self.row]), "summary")
        t = self.table(stem)
        if not t.num_columns:
            return pd.DataFrame()
        return conform(t.to_pandas(), stem)

    summary = cached_property(lambda self: self.frame("summary"))
    sets = cached_property(lambda self: self.frame("sets"))
    reps = cached_property(lambda self: self.frame("reps"))
    steps = cached_property(lambda self: self.frame("steps"))
    minutes = cached_property(lambda self: self.frame("minutes"))
    """Per-minute metrics of a run (empty for strength)."""
    starts = cached_property(lambda self: self.frame("starts"))
    """Starts and restarts of running (empty without running)."""
    timeseries = cached_property(lambda self: self.frame("timeseries"))
    """Pelvis angles and height at 25 Hz, for plots."""

    def provenance(self) -> dict[str, Any]:
        return provenance(self.parameters, self.session)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The files this session writes, by stem, as DataFrames (:meth:`arrow_tables`)."""
        return {stem: getattr(self, stem) for stem in self.arrow_tables()}

    def arrow_tables(self) -> dict[str, pa.Table]:
        """The files this session writes, by stem, as Arrow tables; strength, gait and run
        tables as they apply (steps whenever the session has any, and for every run)."""
        out = {"summary": self.table("summary")}
        steps, starts, series = self.table("steps"), self.table("starts"), self.table("timeseries")
        if self.activity in ("strength", "mixed"):
            out |= {"sets": self.table("sets"), "reps": self.table("reps")}
        if self.activity != "strength" or steps.num_rows:
            out["steps"] = steps
        if starts.num_rows:
            out["starts"] = starts
        if self.activity != "strength":
            out["minutes"] = self.table("minutes")
        if series.num_rows:
            out["timeseries"] = series
        return out

    def write(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/session=<id>/*.parquet``; the folder appears whole or not at all."""
        return write_session(out_dir, self.session_id, self.arrow_tables(), self.provenance())

