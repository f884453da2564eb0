"""Physically faithful simulation of a hip-worn IMU: pelvis pose -> specific force and angular
rate in the sensor frame -> sensor errors -> int16 counts, with ground truth for every output.

``imu.sim.sensor``: physics and the error model. ``imu.sim.session``: packing a session.
``imu.sim.strength`` (with its script, ``imu.sim.plans``) and ``imu.sim.running``: the
activities; ``imu.sim.month``: a month of sessions with known trends. :func:`simulate` is the
front door.
"""

from __future__ import annotations

from typing import Any

from imu.sim.running import simulate_run
from imu.sim.session import SimSession, Truth
from imu.sim.strength import simulate_strength

__all__ = ["SimSession", "Truth", "simulate"]


def simulate(activity: str = "strength", **options: Any) -> SimSession:
    """Simulate a session: ``activity='strength'`` (see :func:`imu.sim.strength.simulate_strength`)
    or ``'run'`` (see :func:`imu.sim.running.simulate_run`)."""
    if activity == "strength":
        return simulate_strength(**options)
    if activity == "run":
        return simulate_run(**options)
    raise ValueError(f"unknown activity {activity!r} (expected strength or run)")
