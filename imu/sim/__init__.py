"""Physically faithful simulation of a hip-worn IMU: pelvis pose -> specific force and angular
rate in the sensor frame -> sensor errors -> int16 counts, with ground truth for every output.

``imu.sim.sensor``: physics and the error model. ``imu.sim.session``: packing a session.
``imu.sim.strength`` (with its script, ``imu.sim.plans``) and ``imu.sim.running``: the
activities; ``imu.sim.gait`` (stepped walking and running) with ``imu.sim.gait_session``
(walking / running sessions with restarts); ``imu.sim.workout`` (whole workouts, with
``imu.sim.workout_plan`` and the re-seated clip of ``imu.sim.handling``); ``imu.sim.month``: a
month of sessions with known trends. :func:`simulate` is the front door.
"""

from __future__ import annotations

from typing import Any

from imu.sim.gait_session import simulate_gait
from imu.sim.running import simulate_run
from imu.sim.session import SimSession, Truth
from imu.sim.strength import simulate_strength
from imu.sim.workout import simulate_workout

__all__ = ["SimSession", "Truth", "simulate"]


def simulate(activity: str = "strength", **options: Any) -> SimSession:
    """Simulate a session: ``activity='strength'`` (see :func:`imu.sim.strength.simulate_strength`),
    ``'run'`` (:func:`imu.sim.running.simulate_run`), ``'workout'`` (a realistic workout:
    :func:`imu.sim.workout.simulate_workout`) or ``'gait'`` (walking and running with restarts:
    :func:`imu.sim.gait_session.simulate_gait`)."""
    if activity == "strength":
        return simulate_strength(**options)
    if activity == "run":
        return simulate_run(**options)
    if activity == "workout":
        return simulate_workout(**options)
    if activity == "gait":
        return simulate_gait(**options)
    raise ValueError(f"unknown activity {activity!r} (expected strength, run, workout or gait)")
