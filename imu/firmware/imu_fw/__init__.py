"""Firmware of the hip-worn IMU sensor (MicroPython). Protocol: docs/protocol.md."""

VERSION = (0, 1)
VERSION_STR = "0.1.0"
