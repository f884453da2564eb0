"""Activity of a session: ``run`` or ``strength`` (docs/running.md).

The bouts come from the one bout algorithm, :class:`imu.pipeline.gait_bouts.GaitBouts` (sensor
frame, accelerometer only): running is the only gait with a flight phase. A session is a run
when it holds at least ``min_running_s`` of running that is at least ``min_share`` of its gait
time, or 60 s of running whatever else it holds; otherwise it is a strength session (its
walking is still analysed as steps by :class:`imu.pipeline.gait.GaitAnalysis`).
"""

from __future__ import annotations

from imu.core.session import RawSession
from imu.pipeline.gait_bouts import GaitBouts


def activity_of_bouts(
    gait_bouts: GaitBouts,
    sampling_rate_hz: float,
    min_running_s: float = 20.0,
    min_share: float = 0.2,
) -> str:
    """'run' when the detected bouts hold running (>= ``min_running_s`` and >= ``min_share`` of
    the gait time, or >= 60 s), else 'strength' (module docstring)."""
    fs = float(sampling_rate_hz)
    running_s = float(gait_bouts.running_.sum()) / fs
    gait_s = float((gait_bouts.running_ | gait_bouts.walking_).sum()) / fs
    return activity_of_times(running_s, gait_s, min_running_s, min_share)


def activity_of_times(running_s: float, gait_s: float, min_running_s: float = 20.0,
                      min_share: float = 0.2) -> str:
    """:func:`activity_of_bouts` from the seconds of running and of gait (a session analysed in
    segments adds them up)."""
    if running_s >= 60.0 or (running_s >= min_running_s and running_s >= min_share * gait_s):
        return "run"
    return "strength"


def detect_activity(
    raw: RawSession,
    min_running_s: float = 20.0,
    min_share: float = 0.2,
    bouts: GaitBouts | None = None,
) -> str:
    """:func:`activity_of_bouts` of ``bouts`` (cloned before use; default ``GaitBouts()``) run
    on the raw session. Needs no orientation and no gyroscope. (``imu.analyze`` reads the
    bouts its gait stage found instead of detecting them twice.)"""
    fs = raw.sample_rate_hz
    gb = (bouts or GaitBouts()).clone().detect(raw.acc_g, fs, t_s=raw.t_s)
    return activity_of_bouts(gb, fs, min_running_s, min_share)
