"""The 25 Hz time series of a session (``imu.core.schema.TIMESERIES``): pelvis angles and the
pelvis-centre height, for plots.

Both return an Arrow table (:data:`imu.core.schema.TIMESERIES`); pandas is not needed to make
it (the analysis process runs without pandas, docs/scale.md).

Two definitions are in use today and kept apart under honest names (same results as before):
:func:`timeseries_interpolated` (strength: linear interpolation onto an exact 25 Hz grid) and
:func:`timeseries_nearest` (running: the nearest input sample to each 25 Hz tick).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from imu.core import arrow
from imu.core.schema import TIMESERIES, TIMESERIES_RATE_HZ


def _frame(
    t_s: NDArray[np.float64],
    sagittal: NDArray[np.float64],
    obliquity: NDArray[np.float64],
    rotation: NDArray[np.float64],
    height_cm: NDArray[np.float64],
) -> pa.Table:
    values = (t_s, sagittal, obliquity, rotation, height_cm)
    return arrow.table(dict(zip(TIMESERIES.names, values, strict=True)), TIMESERIES)


def empty_timeseries() -> pa.Table:
    """The time series without rows (float columns)."""
    return arrow.empty(TIMESERIES)


def timeseries_interpolated(
    t_s: NDArray[np.float64], angles_deg: NDArray[np.float64], height_m: NDArray[np.float64]
) -> pa.Table:
    """Angles (N, 3: rotation, obliquity, sagittal) and height linearly interpolated at
    ``t_s[0] + k / 25`` s, up to and including the last sample time. ``t_s`` increasing."""
    t_out = np.arange(t_s[0], t_s[-1] + 1e-9, 1.0 / TIMESERIES_RATE_HZ)
    return _frame(
        t_out,
        np.interp(t_out, t_s, angles_deg[:, 2]),
        np.interp(t_out, t_s, angles_deg[:, 1]),
        np.interp(t_out, t_s, angles_deg[:, 0]),
        np.interp(t_out, t_s, height_m) * 100.0,
    )


def timeseries_nearest(
    t_s: NDArray[np.float64],
    angles_deg: NDArray[np.float64],
    height_m: NDArray[np.float64],
    sampling_rate_hz: float,
    window: tuple[float, float, int, int, int, int] | None = None,
) -> pa.Table:
    """The input samples nearest to the ticks ``t_s[0] + k / 25`` s before the last sample time
    (no interpolation: ``t_s`` of the output are input sample times); the signals should be
    low-passed already. ``t_s`` uniform at ``sampling_rate_hz``.

    ``window``: the signals are a window of a longer session analysed in windows
    (docs/scale.md), ``(t0_s, t_last_s, n, first, a, b)``: the session's grid starts at
    ``t0_s``, ends at ``t_last_s`` and has ``n`` samples, the window's first is sample
    ``first``, and only the ticks whose nearest sample lies in ``[a, b)`` (its core) are
    given: the session's ticks and samples, window by window."""
    if window is None:
        t0, t_last, n, first, a, b = t_s[0], t_s[-1], t_s.size, 0, 0, t_s.size
    else:
        t0, t_last, n, first, a, b = window
    ts = np.arange(t0, t_last, 1.0 / TIMESERIES_RATE_HZ)
    i = np.clip(np.round((ts - t0) * sampling_rate_hz).astype(np.int64), 0, n - 1)
    if window is not None:
        i = i[(i >= a) & (i < b)] - first
    return _frame(
        t_s[i], angles_deg[i, 2], angles_deg[i, 1], angles_deg[i, 0], height_m[i] * 100.0
    )
