"""Subcommands of the ``imu`` command line, one module each with ``register(subparsers)``."""
