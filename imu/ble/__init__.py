"""Host side of the sensor link: the bleak client (``client``), the stream assembler
(``assembler``), the bleak backend over an in-process Bumble stack (``bumble_backend``) and the one
Bumble stack setup that every in-process party uses (``stack``).

See docs/ble.md for the architecture (queue-only notify callback, reconnect/resend state machine,
watchdog, crash-safe chunked file writing in :mod:`imu.io.chunks`).
"""
