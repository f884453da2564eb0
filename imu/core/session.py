"""The raw session in memory: contiguous float64 arrays plus the file's metadata.

Read and validated by :mod:`imu.io.rawfile`, produced by the simulator and the recorder, consumed
by every algorithm. Numpy only. Columns, units and frames: ``docs/formats.md`` (contract
section 2) and :mod:`imu.core.frames`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from imu.core.plausibility import check_plausible

RAIL_NEAR: Final = 0.99
"""A recording's largest magnitude is its rail when it reaches this fraction of full scale."""
RAIL_TOLERANCE: Final = 1e-6
"""Relative distance below the rail at which a sample is still on it."""


def rail_threshold(peak: float, full_scale: Any) -> float | None:
    """The magnitude from which a sample is on the rail (:meth:`RawSession.saturated_mask`),
    given a recording's largest magnitude; None when that is not within 1% of full scale."""
    return peak * (1 - RAIL_TOLERANCE) if peak >= RAIL_NEAR * float(full_scale) else None


def rail_floor(full_scale: Any) -> float:
    """The lowest :func:`rail_threshold` of any recording at this full scale: no sample below
    it can be saturated."""
    return RAIL_NEAR * float(full_scale) * (1 - RAIL_TOLERANCE)


def session_id_of(meta: Mapping[str, Any], samples: Iterable[np.ndarray]) -> str:
    """The metadata's ``session_id``, else the first 12 hex digits of a SHA-1 of the bytes of
    ``samples`` in turn: the time, then the acceleration (whole arrays or consecutive batches
    of rows; iterated only when the metadata has no id). The same recording always gets the
    same id."""
    if meta.get("session_id"):
        return str(meta["session_id"])
    digest = hashlib.sha1()
    for part in samples:
        digest.update(memoryview(np.ascontiguousarray(part)))  # no copy of the samples
    return digest.hexdigest()[:12]


def count_lost(jumps: np.ndarray) -> int:
    """Samples missing according to ``seq``'s differences (``np.diff(seq)``, or some of them)."""
    return int(np.sum(jumps[jumps > 1] - 1))


@dataclass
class RawSession:
    """A validated raw session: contiguous float64 arrays plus metadata."""

    t_s: np.ndarray
    acc_g: np.ndarray
    """(N, 3) specific force, sensor frame."""
    gyr_dps: np.ndarray | None
    """(N, 3) angular rate, sensor frame; None when the recording has no gyroscope."""
    seq: np.ndarray | None
    meta: dict[str, Any] = field(default_factory=dict)
    checked: bool = field(default=False, repr=False, compare=False)
    """Set once :meth:`ensure_plausible` accepted these samples (the reader calls it, and
    :func:`imu.core.options.resolve` for sessions built in memory)."""

    def ensure_plausible(self, name: str = "input") -> None:
        """Run :func:`imu.core.plausibility.check_plausible` once (InputError naming ``name``)."""
        if self.checked:
            return
        rate = self.meta.get("sample_rate_hz")
        check_plausible(self.t_s, self.acc_g, self.gyr_dps, self.seq,
                        None if rate is None else float(rate), name)
        self.checked = True

    @property
    def sample_rate_hz(self) -> float:
        """The metadata's rate, else the median sample interval's."""
        rate = self.meta.get("sample_rate_hz")
        if rate:
            return float(rate)
        return float(1.0 / np.median(np.diff(self.t_s)))

    @property
    def n_samples(self) -> int:
        return int(self.t_s.size)

    @property
    def session_id(self) -> str:
        """The metadata's ``session_id``, else the first 12 hex digits of a SHA-1 of the samples
        (time and acceleration): the same recording always gets the same id."""
        return session_id_of(self.meta, (self.t_s, self.acc_g))

    def saturated_mask(self) -> np.ndarray:
        """Samples with any axis on a rail of its full scale.

        The rail is the largest magnitude in the recording when that lies within 1% of the full
        scale (the chip clips there: e.g. 7.995 g for +-8 g, the int16 limit); every sample at it
        is saturated.
        """
        mask = np.zeros(self.n_samples, dtype=bool)
        for data, full_scale in (
            (self.acc_g, self.meta.get("acc_range_g")),
            (self.gyr_dps, self.meta.get("gyr_range_dps")),
        ):
            if data is None or not full_scale:
                continue
            magnitude = np.abs(data)
            threshold = rail_threshold(float(magnitude.max()), full_scale)
            if threshold is not None:
                mask |= (magnitude >= threshold).any(axis=1)
        return mask

    def facts(self) -> SampleFacts:
        """What the summary takes from the samples (:class:`SampleFacts`)."""
        return SampleFacts(
            meta=self.meta, session_id=self.session_id,
            duration_s=float(self.t_s[-1] - self.t_s[0]), n_samples=self.n_samples,
            gyro_present=self.gyr_dps is not None,
            saturated_samples=int(self.saturated_mask().sum()),
            lost_samples=self.lost_samples())

    def release(self) -> None:
        """Drop the samples (the metadata stays): for a pipeline that owns this session and
        is done with it as a whole, so that each array goes once its own last user has it no
        more (:func:`imu.analysis.analyze`; docs/scale.md). The session holds no samples
        after this."""
        self.t_s, self.acc_g = np.empty(0), np.empty((0, 3))
        self.gyr_dps = None if self.gyr_dps is None else np.empty((0, 3))
        self.seq = None

    def lost_samples(self) -> int:
        """Samples missing according to ``seq`` jumps (0 without ``seq``)."""
        if self.seq is None or self.seq.size < 2:
            return 0
        return count_lost(np.diff(self.seq))


@dataclass(frozen=True)
class SampleFacts:
    """What a session's summary takes from its samples (:meth:`RawSession.facts`): taken once,
    so that the samples can go as soon as the stages that need them have run (the analysis of
    a file: docs/scale.md)."""

    meta: dict[str, Any]
    session_id: str
    duration_s: float
    n_samples: int
    gyro_present: bool
    saturated_samples: int
    lost_samples: int
