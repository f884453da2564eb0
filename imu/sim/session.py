"""A simulated session: the raw recording a user would get plus its ground truth.

Activity simulators (``imu.sim.strength``, ``imu.sim.running``) build a pelvis :class:`Pose` on
a fine grid and the truth tables; :func:`assemble` renders the sensor and packs both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from imu.core.frames import pelvis_angles_deg
from imu.core.session import RawSession
from imu.core.version import __version__
from imu.core.vocabulary import DEFAULT_SENSOR_OFFSET_M
from imu.io.rawfile import write_raw
from imu.sim.sensor import ImuRecording, Pose, SensorModel, render_imu


@dataclass
class Truth:
    """Ground truth in the contract's terms (docs/formats.md), from the simulated pose."""

    summary: dict[str, Any] = field(default_factory=dict)
    sets: pd.DataFrame = field(default_factory=pd.DataFrame)
    reps: pd.DataFrame = field(default_factory=pd.DataFrame)
    steps: pd.DataFrame = field(default_factory=pd.DataFrame)
    pelvis: pd.DataFrame = field(default_factory=pd.DataFrame)
    """At the output rate: t_s, rotation_deg, obliquity_deg, sagittal_deg, height_m (centre)."""
    starts: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Run starts (sessions from :mod:`imu.sim.gait`): start, t_s, first_side, second_side,
    half_step (+ after, bout)."""
    mountings: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Sessions with re-seats (:mod:`imu.sim.handling`): one row per mounting."""
    bouts: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Stepping bouts (workouts and gait sessions): bout, start_s, end_s, gait (walk|run|mixed)."""
    quiet: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Quiet neutral standing (workouts and gait sessions): start_s, end_s, mounting."""


@dataclass
class SimSession:
    raw: RawSession
    recording: ImuRecording
    truth: Truth
    mounting: Rotation

    def write(self, path: str | Path) -> Path:
        """Write the raw session file (contract section 2)."""
        return write_raw(path, self.raw)

    def to_dataframe(self) -> pd.DataFrame:
        """The raw samples as a DataFrame with the metadata in ``.attrs['imu']``."""
        r = self.raw
        df = pd.DataFrame({"t_s": r.t_s})
        for i, axis in enumerate("xyz"):
            df[f"acc_{axis}_g"] = r.acc_g[:, i].astype(np.float32)
        if r.gyr_dps is not None:
            for i, axis in enumerate("xyz"):
                df[f"gyr_{axis}_dps"] = r.gyr_dps[:, i].astype(np.float32)
        if r.seq is not None:
            df["seq"] = r.seq
        df.attrs["imu"] = dict(r.meta)
        return df


def assemble(
    pose: Pose,
    factor: int,
    truth: Truth,
    *,
    placement: str,
    mounting: Rotation,
    model: SensorModel,
    rng: np.random.Generator,
    meta: dict[str, Any],
    offset_m: tuple[float, float, float] | None = None,
    with_gyro: bool = True,
) -> SimSession:
    """Render the sensor for ``pose`` (given at ``factor`` x the output rate) and pack a session."""
    offset = np.asarray(offset_m if offset_m is not None else DEFAULT_SENSOR_OFFSET_M[placement])
    rec = render_imu(pose, factor, mounting, offset, model, rng)
    return pack(rec, pose, factor, truth, placement=placement, mounting=mounting, model=model,
                rng=rng, meta=meta, with_gyro=with_gyro)


def pack(
    rec: ImuRecording,
    pose: Pose,
    factor: int,
    truth: Truth,
    *,
    placement: str,
    mounting: Rotation,
    model: SensorModel,
    rng: np.random.Generator,
    meta: dict[str, Any],
    with_gyro: bool = True,
) -> SimSession:
    """Pack a rendered recording, the truth pelvis (from ``pose``) and the metadata."""
    sample_rate_hz = pose.rate_hz / factor
    angles = pelvis_angles_deg(pose.orientation[::factor])
    truth.pelvis = pd.DataFrame(
        {
            "t_s": rec.t_s,
            "rotation_deg": angles[:, 0],
            "obliquity_deg": angles[:, 1],
            "sagittal_deg": angles[:, 2],
            "height_m": pose.position_m[::factor, 2],
        }
    )
    started = dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC) + dt.timedelta(
        seconds=int(rng.integers(0, 86400 * 30))
    )
    rng.integers(0, 2**63)  # formerly the session id: drawn still, so later draws stay put
    full_meta: dict[str, Any] = {
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "sample_rate_hz": float(sample_rate_hz),
        "device": "imu-sim",
        "firmware": f"imu.sim {__version__}",
        "placement": placement,
        "acc_range_g": int(model.acc_range_g),
        "gyr_range_dps": int(model.gyr_range_dps),
    }
    full_meta.update(meta)
    raw = RawSession(
        t_s=rec.t_s.astype(np.float64),
        acc_g=rec.acc_g.astype(np.float64),
        gyr_dps=rec.gyr_dps.astype(np.float64) if with_gyro else None,
        seq=np.arange(len(rec.t_s), dtype=np.int64),
        meta=full_meta,
    )
    if not raw.meta.get("session_id"):
        # Unique per content (the samples' hash, RawSession.session_id): different exercises,
        # options or seeds never share an id, and the same simulation always gets the same one.
        raw.meta = {"session_id": raw.session_id, **raw.meta}
    return SimSession(raw=raw, recording=rec, truth=truth, mounting=mounting)
