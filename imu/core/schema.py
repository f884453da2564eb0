"""The tables of the contract (section 2 and 3) and their columns, defined once.

Each table is a pyarrow schema: the contract's required columns first, in order, then the
project's extra columns. Column lists are derived from these schemas; so are empty frames.
``docs/formats.md`` documents every column.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

F64 = pa.float64()
I64 = pa.int64()
STR = pa.string()
BOOL = pa.bool_()
UTC_TIME = pa.timestamp("us", tz="UTC")
"""A moment in time: microseconds since the epoch, UTC (pandas ``datetime64[us, UTC]``)."""

# --- raw session file (contract section 2) ----------------------------------------------------
ACC_COLUMNS: Final = ("acc_x_g", "acc_y_g", "acc_z_g")
GYR_COLUMNS: Final = ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
REQUIRED_RAW_COLUMNS: Final = ("t_s", *ACC_COLUMNS)
"""Gyroscope columns and ``seq`` are optional (accelerometer-only sensors, no counter)."""
RAW: Final = pa.schema(
    [
        ("t_s", F64),
        *[(c, pa.float32()) for c in ACC_COLUMNS],
        *[(c, pa.float32()) for c in GYR_COLUMNS],
        ("seq", I64),
    ]
)
METADATA_KEY: Final = b"imu"
"""Parquet key-value metadata key of the session metadata (raw files) and provenance (outputs)."""

# --- output tables (contract section 3) -------------------------------------------------------
REPS: Final = pa.schema(
    [
        ("set", I64),
        ("rep", I64),
        ("start_s", F64),
        ("end_s", F64),
        ("lockout_s", F64),
        ("concentric_s", F64),
        ("top_hold_s", F64),
        ("eccentric_s", F64),
        ("pelvis_angle_deg", F64),
        ("hip_travel_cm", F64),
        ("tilt_deg", F64),
        ("tilt_class", STR),
        # extras
        ("exercise", STR),
        ("peak_speed_dps", F64),
        ("hip_rise_cm", F64),
        ("form_break", BOOL),
        ("form_reason", STR),
    ]
)
REPS_CONTRACT_COLUMNS: Final = tuple(REPS.names[:12])
REP_PHASE_COLUMNS: Final = tuple(REPS.names[:8])
"""What rep segmentation produces: set, rep, start, end, lockout and the phase durations."""

SETS: Final = pa.schema(
    [("set", I64), ("exercise", STR), ("start_s", F64), ("end_s", F64), ("reps", I64)]
)

STEPS: Final = pa.schema(
    [
        ("step", I64),
        ("gait", STR),
        ("side", STR),
        ("contact_s", F64),
        ("toe_off_s", F64),
        ("gct_ms", F64),
        ("vo_cm", F64),
        ("pelvic_drop_deg", F64),
        # extras
        ("flight_ms", F64),
        ("step_s", F64),
        ("bout", I64),
        ("bout_cadence_spm", F64),
    ]
)
STEPS_CONTRACT_COLUMNS: Final = tuple(STEPS.names[:8])

STARTS: Final = pa.schema(
    [
        ("start", I64),
        ("t_s", F64),
        ("first_side", STR),
        ("second_side", STR),
        ("half_step", BOOL),
        # extras
        ("first_step_s", F64),
        ("after", STR),
    ]
)
"""One row per start or restart of running (contract section 3); ``after`` is what came
before: ``standing`` (no steps) or ``walking``."""
STARTS_CONTRACT_COLUMNS: Final = tuple(STARTS.names[:5])

RUN_SUMMARY: Final = pa.schema(
    [
        ("cadence_spm", F64),
        ("gct_ms", F64),
        ("gct_balance_left_pct", F64),
        ("vo_cm", F64),
        ("pelvic_drop_left_deg", F64),
        ("pelvic_drop_right_deg", F64),
        ("pelvic_rotation_deg", F64),
        ("drop_drift_deg", F64),
    ]
)
"""The contract's run metrics of the summary (each one trended)."""
RUN_SUMMARY_COLUMNS: Final = tuple(RUN_SUMMARY.names)

GAIT_SUMMARY: Final = pa.schema(
    [
        ("gyro_present", BOOL),
        ("calibration", STR),
        ("walk_steps", I64),
        ("walk_cadence_spm", F64),
        ("run_start_lead_side", STR),
        ("run_start_consistency_pct", F64),
    ]
)
"""The contract's gait fields of the summary: ``gyro_present`` and ``calibration`` always (the
strength path may give the calibration), the walking fields with walking, the run-start fields
with running (docs/formats.md)."""
WALK_SUMMARY_COLUMNS: Final = ("walk_steps", "walk_cadence_spm")
WALK_EXTRA_COLUMNS: Final = (
    "walking_time_s", "placement_detected", "sensor_lateral_offset_cm", "side_source"
)
"""The gait extras a strength session with walking (and no running) adds to its summary; a
session with running adds every gait extra (docs/formats.md)."""
RUN_START_SUMMARY_COLUMNS: Final = ("run_start_lead_side", "run_start_consistency_pct")

SUMMARY: Final = pa.schema(
    [
        ("session_id", STR),
        ("started_at", UTC_TIME),
        ("activity", STR),
        ("exercise", STR),
        ("duration_s", F64),
        ("n_sets", I64),
        ("n_reps", I64),
        *RUN_SUMMARY,
    ]
)
"""The summary's contract columns (run metrics present for runs); extras follow them."""
SUMMARY_CORE_COLUMNS: Final = tuple(SUMMARY.names[:7])

SUMMARY_EXTRAS: Final = pa.schema(
    [
        ("sample_rate_hz", F64),
        ("n_samples", I64),
        ("saturated_samples", I64),
        ("lost_samples", I64),
        ("placement", STR),
        ("mounting_changes", I64),
        ("n_steps", I64),
        ("placement_detected", STR),
        ("side_source", STR),
        ("bridge_reps", I64),
        ("posterior_reps", I64),
        ("tempo_cv", F64),
        ("form_break_reps", I64),
        ("reps_seen", I64),
    ]
)
"""Types of the summary's extra columns that are not plain floats (counts, words, flags) where
present; every other extra is float64 or text as written. ``docs/formats.md`` lists them."""

MINUTES: Final = pa.schema(
    [
        ("minute", I64),
        ("start_s", F64),
        ("n_steps", I64),
        ("cadence_spm", F64),
        ("gct_ms", F64),
        ("gct_balance_left_pct", F64),
        ("vo_cm", F64),
        ("pelvic_drop_left_deg", F64),
        ("pelvic_drop_right_deg", F64),
    ]
)
"""Per-minute run metrics (an extra table)."""

TIMESERIES: Final = pa.schema(
    [
        ("t_s", F64),
        ("sagittal_deg", F64),
        ("obliquity_deg", F64),
        ("rotation_deg", F64),
        ("height_cm", F64),
    ]
)
"""Pelvis angles and centre height at :data:`TIMESERIES_RATE_HZ` (an extra table, for plots)."""
TIMESERIES_RATE_HZ: Final = 25.0

TABLES: Final[dict[str, pa.Schema]] = {
    "summary": pa.schema([*SUMMARY, *GAIT_SUMMARY, *SUMMARY_EXTRAS]),
    "sets": SETS,
    "reps": REPS,
    "steps": STEPS,
    "starts": STARTS,
    "minutes": MINUTES,
    "timeseries": TIMESERIES,
}
"""Every table a session folder may hold, by file stem, in the order they are written."""


def columns(schema: pa.Schema) -> tuple[str, ...]:
    """Column names of a table schema."""
    return tuple(schema.names)
