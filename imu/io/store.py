"""The session store: reading a ``session=<id>`` folder back.

Minimal stand-in on this branch: ``SessionTables`` and ``read_session`` moved here unchanged
from ``imu.render.html`` (the full store, with the writer and provenance, replaces this file at
merge).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow.parquet as pq

from imu.core.errors import InputError

TABLE_STEMS: Final = ("summary", "sets", "reps", "steps", "minutes", "timeseries")


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
