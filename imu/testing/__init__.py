"""Test doubles and harnesses shipped for tests and benchmarks (never used by the application):
the protocol-only mini sensor (``mini_sensor``), small recordings (``recordings``) and the one
Bumble harness (``harness``)."""
