"""Host stand-ins for MicroPython modules, one set per virtual sensor (never global).

Each module here has ``make(env) -> types.ModuleType``; :class:`imu.virtual.loader.FirmwareEnv`
hands them to the firmware through its own ``__import__``, so the firmware runs unmodified and
several virtual sensors with different clocks can share one process.
"""
