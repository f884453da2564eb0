"""Loader for the real recordings in ``../shared/realdata`` (read-only; never copied here).

The folder is described by its own README (``shared/realdata/README.md``): three datasets, each a
folder of ``NAME.raw.parquet`` (contract section 2), ``NAME.truth.json`` and ``index.json``.
This module turns them into typed objects and DataFrames that scripts and tests can share::

    from realdata import RealData
    rd = RealData()                          # $IMU_REALDATA, else <repository>/../shared/realdata
    for s in rd.sessions("walk"):            # Session objects, sorted by name
        s.name, s.subject, s.split           # "ipol_s01_t1", 1, "dev"
        s.truth.steps                        # DataFrame: step, side, contact_s, toe_off_s, ...
        s.truth.walk_windows_s               # ((start_s, end_s), (start_s, end_s))
        s.truth.cadence_spm                  # summary cadence of the reference
    raw, meta = rd.session("squat_s1_c0_set1").read_raw()

Datasets are named by their folder: ``squat``, ``walk``, ``run``. The development / held-out
split is fixed here once: walk subjects 1-4 / 5-7, run trials t00-t04 / t05-t09 (both variants
of a trial on the same side), squat subject 1 / subject 2.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

DATASETS = ("squat", "walk", "run")
ENV_VAR = "IMU_REALDATA"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO_ROOT.parent / "shared" / "realdata"
DEV, HELDOUT = "dev", "heldout"

Window = tuple[float, float]

REP_COLUMNS = (
    "set", "rep", "start_s", "end_s", "mid_s",
    "start_window_lo_s", "start_window_hi_s", "end_window_lo_s", "end_window_hi_s",
    "peak_gyro_dps", "row_start", "row_end",
)
STEP_COLUMNS = ("step", "side", "contact_s", "toe_off_s", "gct_ms", "phase")
SET_COLUMNS = ("set", "exercise", "start_s", "end_s", "reps")


class RealDataMissing(FileNotFoundError):
    """The realdata folder (or a file in it) is not where it should be."""


def default_root() -> Path:
    """``$IMU_REALDATA`` when set, else ``<repository>/../shared/realdata``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else DEFAULT_ROOT


def _window(w: Any) -> Window | None:
    return None if w is None else (float(w[0]), float(w[1]))


def _float(x: Any) -> float:
    return float("nan") if x is None else float(x)


@dataclass(frozen=True)
class Truth:
    """One session's truth file, with the parts the scoring needs typed and tabulated.

    ``reps`` / ``sets`` are empty unless squat, ``steps`` empty for squat. Times are on the
    session clock (for ``run/*_withstand`` the file's times, already shifted by
    ``time_offset_s``). ``data`` holds the whole JSON for anything else.
    """

    name: str
    suite: str
    data: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, path: Path) -> Truth:
        data = json.loads(path.read_text())
        return cls(name=str(data["name"]), suite=str(data["suite"]), data=data)

    # --- common -------------------------------------------------------------------------------
    @property
    def subject(self) -> int | None:
        s = self.data.get("subject")
        return None if s is None else int(s)

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.data.get("summary") or {})

    @property
    def cadence_spm(self) -> float:
        """Reference cadence (walk: straight parts only; run: force plate); NaN if none."""
        return _float(self.summary.get("cadence_spm"))

    @property
    def standing_start(self) -> bool:
        return bool(self.data.get("standing_start"))

    @property
    def synthetic_intervals_s(self) -> tuple[Window, ...]:
        spans = self.data.get("synthetic_intervals_s", [])
        return tuple((float(a), float(b)) for a, b, *_ in spans)

    @property
    def lost_samples(self) -> int:
        return int(self.data.get("lost_samples") or 0)

    # --- squat --------------------------------------------------------------------------------
    @cached_property
    def sets(self) -> pd.DataFrame:
        rows = [{k: s.get(k) for k in SET_COLUMNS} for s in self.data.get("sets", [])]
        return pd.DataFrame(rows, columns=list(SET_COLUMNS))

    @cached_property
    def reps(self) -> pd.DataFrame:
        """True reps: hand cuts ``start_s`` / ``end_s``, their middle ``mid_s`` and the
        boundary windows (``start_window_lo_s`` ... ``end_window_hi_s``)."""
        rows = []
        for r in self.data.get("reps", []):
            sw, ew = r["start_window_s"], r["end_window_s"]
            rows.append({
                "set": int(r["set"]), "rep": int(r["rep"]),
                "start_s": float(r["start_s"]), "end_s": float(r["end_s"]),
                "mid_s": 0.5 * (float(r["start_s"]) + float(r["end_s"])),
                "start_window_lo_s": float(sw[0]), "start_window_hi_s": float(sw[1]),
                "end_window_lo_s": float(ew[0]), "end_window_hi_s": float(ew[1]),
                "peak_gyro_dps": _float(r.get("peak_gyro_dps")),
                "row_start": int(r["rows"][0]) if r.get("rows") else -1,
                "row_end": int(r["rows"][1]) if r.get("rows") else -1,
            })
        return pd.DataFrame(rows, columns=list(REP_COLUMNS))

    @property
    def n_reps(self) -> int:
        return int(self.sets["reps"].sum()) if len(self.sets) else 0

    # --- walk and run -------------------------------------------------------------------------
    @cached_property
    def steps(self) -> pd.DataFrame:
        """True steps: ``contact_s``, ``toe_off_s`` / ``gct_ms`` (NaN where not given),
        ``side`` (``L`` / ``R``, empty where unknown), ``phase`` (walk; empty for run)."""
        rows = [{
            "step": int(s["step"]),
            "side": s.get("side") or "",
            "contact_s": float(s["contact_s"]),
            "toe_off_s": _float(s.get("toe_off_s")),
            "gct_ms": _float(s.get("gct_ms")),
            "phase": s.get("phase") or "",
        } for s in self.data.get("steps", [])]
        df = pd.DataFrame(rows, columns=list(STEP_COLUMNS))
        return df.astype({"step": "int64", "contact_s": "float64", "toe_off_s": "float64",
                          "gct_ms": "float64", "side": "object", "phase": "object"})

    @property
    def walk_windows_s(self) -> tuple[Window, ...]:
        return tuple(_window(w) for w in self.data.get("walk_windows_s", []))  # type: ignore[misc]

    @property
    def uturn_windows_s(self) -> tuple[Window, ...]:
        return tuple(_window(w) for w in self.data.get("uturn_windows_s", []))  # type: ignore[misc]

    @property
    def trial_window_s(self) -> Window | None:
        return _window(self.data.get("trial_window_s"))

    @property
    def run_window_s(self) -> Window | None:
        return _window(self.data.get("run_window_s"))

    @property
    def gct_ms(self) -> float:
        """Run: mean force-plate stance time (summary); NaN elsewhere."""
        return _float(self.summary.get("gct_ms"))

    @property
    def time_offset_s(self) -> float:
        return float(self.data.get("time_offset_s") or 0.0)


@dataclass(frozen=True)
class Session:
    """One recording: where its files are and what the index says about it."""

    name: str
    dataset: str
    raw_path: Path
    truth_path: Path
    index: dict[str, Any] = field(repr=False, compare=False)

    @property
    def subject(self) -> int | None:
        s = self.index.get("subject")
        return None if s is None else int(s)

    @property
    def trial(self) -> int | None:
        """Walk: the subject's trial number; run: the trial number NN of ``grf_tNN_...``."""
        if self.dataset == "run":
            m = re.search(r"_t(\d+)_", self.name)
            return int(m.group(1)) if m else None
        t = self.index.get("trial")
        return None if t is None else int(t)

    @property
    def variant(self) -> str:
        """Run: ``withstand`` (synthetic standing added) or ``as_recorded``; else ``""``."""
        if self.dataset != "run":
            return ""
        return "withstand" if self.name.endswith("_withstand") else "as_recorded"

    @property
    def split(self) -> str:
        """``dev`` or ``heldout`` (module docstring)."""
        if self.dataset == "walk":
            key, last_dev = self.subject, 4
        elif self.dataset == "run":
            key, last_dev = self.trial, 4
        else:
            key, last_dev = self.subject, 1
        if key is None:
            raise ValueError(f"{self.name}: no subject / trial to split on")
        return DEV if key <= last_dev else HELDOUT

    @property
    def standing_start(self) -> bool:
        return bool(self.index.get("standing_start"))

    @cached_property
    def truth(self) -> Truth:
        return Truth.from_json(self.truth_path)

    def read_meta(self) -> dict[str, Any]:
        """The raw file's ``imu`` metadata (contract section 2)."""
        md = pq.read_schema(self.raw_path).metadata or {}
        return json.loads(md[b"imu"]) if b"imu" in md else {}

    def read_raw(self) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The samples (``t_s``, ``acc_*_g``, optional ``gyr_*_dps``, ``seq``) and metadata."""
        table = pq.read_table(self.raw_path)
        md = table.schema.metadata or {}
        meta = json.loads(md[b"imu"]) if b"imu" in md else {}
        return table.to_pandas(), meta


class RealData:
    """The realdata folder: ``RealData(root=None)`` uses :func:`default_root`."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()

    def check(self) -> None:
        """Raise :class:`RealDataMissing` with a clear message unless every dataset is there."""
        missing = [d for d in DATASETS if not (self.root / d / "index.json").is_file()]
        if missing:
            raise RealDataMissing(
                f"real recordings not found: {self.root} lacks "
                + ", ".join(f"{d}/index.json" for d in missing)
                + f" (set ${ENV_VAR} or --realdata to the shared/realdata folder; it is expected "
                "beside the repository at ../shared/realdata)"
            )

    def index(self, dataset: str) -> pd.DataFrame:
        """``index.json`` of a dataset as a table, one row per session."""
        return pd.DataFrame(self._index_json(dataset)["sessions"])

    def sources(self, dataset: str) -> list[dict[str, Any]]:
        return list(self._index_json(dataset).get("sources", []))

    def sessions(self, dataset: str) -> list[Session]:
        folder = self.root / dataset
        out = []
        for row in self._index_json(dataset)["sessions"]:
            name = str(row["name"])
            raw, truth = folder / f"{name}.raw.parquet", folder / f"{name}.truth.json"
            for p in (raw, truth):
                if not p.is_file():
                    raise RealDataMissing(f"{p} is listed in {folder / 'index.json'} but missing")
            out.append(Session(name=name, dataset=dataset, raw_path=raw, truth_path=truth,
                               index=dict(row)))
        return sorted(out, key=lambda s: s.name)

    def all_sessions(self) -> Iterator[Session]:
        for d in DATASETS:
            yield from self.sessions(d)

    def session(self, name: str) -> Session:
        for d in DATASETS:
            if (self.root / d / f"{name}.truth.json").is_file():
                return next(s for s in self.sessions(d) if s.name == name)
        raise RealDataMissing(f"no session {name!r} under {self.root}")

    def _index_json(self, dataset: str) -> dict[str, Any]:
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; one of {', '.join(DATASETS)}")
        path = self.root / dataset / "index.json"
        if not path.is_file():
            self.check()
            raise RealDataMissing(f"{path} not found")
        return json.loads(path.read_text())
