"""Host side of the sensor link: bleak client, Bumble backend for in-process tests, recorder.

See docs/ble.md for the architecture (queue-only notify callback, reconnect/resend state machine,
watchdog, crash-safe chunked file writing).
"""
