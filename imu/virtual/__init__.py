"""The virtual sensor: the unmodified firmware on the host (Bumble BLE, emulated LSM6DSOX)."""

from __future__ import annotations

from imu.virtual.sensor import VirtualSensor

__all__ = ["VirtualSensor"]
