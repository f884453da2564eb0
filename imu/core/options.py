"""A session's analysis options, resolved ONCE, and the one place that checks option values.

Precedence (contract section 2): an explicit option, else the raw file's metadata, else the
default. :func:`resolve` applies it and returns a frozen :class:`SessionOptions`; the
orchestrator passes its values to the algorithms, which do not look at the metadata again.

Every check of a user-given value raises :class:`~imu.core.errors.InputError` (one line, exit
status 2 on the command line) through this module's small family:

* :func:`check_option` -- an analysis option (``activity``, ``exercise``, ``placement``,
  ``trunk_length_m``, ``sensor_offset_m``);
* :func:`check_choice` -- a value from a fixed vocabulary (e.g. the simulator's activity);
* :func:`check_positive` -- a positive number given on the command line (``--duration-s`` ...);
* :func:`check_metadata` -- the enumerated and numeric fields of a raw file's metadata;
* :func:`check_identifier` -- a name that becomes part of a path (a ``session_id`` from a file,
  ``--session-name``): :data:`IDENTIFIER_RULE`, checked before it touches the file system.

Ranges are physiological, so a unit slip is an error rather than a confident wrong answer:
a trunk length of 50 "metres" is centimetres typed for metres.

Plain Python, no numpy: the command line checks its options with it at start-up.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from imu.core.errors import InputError
from imu.core.exercises import EXERCISES
from imu.core.vocabulary import ACTIVITIES, PLACEMENTS

if TYPE_CHECKING:
    from imu.core.session import RawSession

AUTO: Final = "auto"
"""``activity`` option: take the metadata's activity, else detect it from the signal."""
DEFAULT_PLACEMENT: Final = "left_hip"
DEFAULT_TRUNK_LENGTH_M: Final = 0.50
"""Shoulder to hip joint when neither option nor metadata gives it (bridge body-line term)."""

OPTION_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "activity": (AUTO, *ACTIVITIES),
    "exercise": EXERCISES,
    "placement": PLACEMENTS,
}
"""Allowed values of the enumerated analysis options."""
METADATA_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "placement": PLACEMENTS,
    "activity": ACTIVITIES,
    "exercise": EXERCISES,
}
"""Allowed values of the raw file's enumerated metadata fields (checked in this order)."""
METADATA_POSITIVE: Final = ("sample_rate_hz", "acc_range_g", "gyr_range_dps", "trunk_length_m")
"""Raw file metadata fields that must be positive numbers when present."""
TRUNK_LENGTH_RANGE_M: Final = (0.2, 1.2)
"""Plausible shoulder-to-hip-joint lengths (a small child to a very tall adult), metres."""
MAX_SENSOR_OFFSET_M: Final = 0.5
"""Largest plausible distance of the sensor from the pelvis centre (``sensor_offset_m``)."""
METADATA_RATE_RANGE_HZ: Final = (1.0, 100_000.0)
"""``sample_rate_hz`` in metadata outside this is not a sample rate at all (the plausibility
checks of :mod:`imu.core.plausibility` then compare it with ``t_s``)."""

IDENTIFIER_MAX_LEN: Final = 128
IDENTIFIER_RULE: Final = (
    "1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit, no '..'"
)
"""The documented rule for identifiers that become file or folder names (docs/formats.md)."""
_IDENTIFIER_RE: Final = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{IDENTIFIER_MAX_LEN - 1}}}")


# ---- checks -----------------------------------------------------------------------------------


def check_choice(name: str, value: str | None, allowed: Sequence[str]) -> str | None:
    """``value`` if it is one of ``allowed`` (None passes: not given)."""
    if value is not None and value not in allowed:
        raise InputError(f"unknown {name} {value!r} (expected one of {', '.join(allowed)})")
    return value


def check_identifier(what: str, value: Any) -> str:
    """``value`` if it is a plain name (:data:`IDENTIFIER_RULE`), else :class:`InputError`.

    Such a name becomes part of a path (``session=<session_id>``, ``<session-name>.raw.parquet``),
    so a slash, ``..``, a leading dot, a NUL or any control character, spaces, non-ASCII
    letters and over-long names are refused before anything touches the file system.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a number written by another tool is a fine name
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {type(value).__name__}")
    if _IDENTIFIER_RE.fullmatch(value) and ".." not in value:
        return value
    shown = repr(value if len(value) <= 40 else value[:40] + "...")
    raise InputError(f"{what} {shown} is not a plain name ({IDENTIFIER_RULE})")


def _number(value: Any) -> float | None:
    """``value`` as a finite float, None for anything else (booleans included: ``true`` is not
    a length; numpy numbers are :class:`numbers.Real` too)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def check_option(name: str, value: Any) -> Any:
    """Check one analysis option and return it normalised (None passes: not given).

    ``activity``, ``exercise``, ``placement``: one of :data:`OPTION_CHOICES`;
    ``trunk_length_m``: a number of metres within :data:`TRUNK_LENGTH_RANGE_M` (returned as
    float); ``sensor_offset_m``: three finite numbers X, Y, Z in metres, pelvis frame, at most
    :data:`MAX_SENSOR_OFFSET_M` from the pelvis centre (returned as a tuple of floats).
    """
    if value is None:
        return None
    if name in OPTION_CHOICES:
        return check_choice(name, value, OPTION_CHOICES[name])
    if name == "trunk_length_m":
        v = _number(value)
        if v is None or v <= 0:
            raise InputError(f"trunk length must be a positive number of metres, got {value}")
        lo, hi = TRUNK_LENGTH_RANGE_M
        if not lo <= v <= hi:
            hint = " (centimetres? give metres, e.g. 0.5)" if 10 <= v <= 200 else ""
            raise InputError(
                f"trunk length must be {lo:g}-{hi:g} m (shoulder to hip joint), got {v:g}{hint}"
            )
        return v
    if name == "sensor_offset_m":
        try:
            if isinstance(value, (str, bytes)):
                raise TypeError
            numbers = [_number(v) for v in value]
        except TypeError:
            numbers = []
        if len(numbers) != 3 or any(v is None for v in numbers):
            raise InputError("sensor offset must be three finite numbers X,Y,Z in metres")
        offset = tuple(float(v) for v in numbers)  # type: ignore[arg-type]
        distance = math.hypot(*offset)
        if distance > MAX_SENSOR_OFFSET_M:
            hint = " (centimetres? give metres)" if distance >= 5 else ""
            raise InputError(
                f"sensor offset {','.join(f'{v:g}' for v in offset)} m is more than "
                f"{MAX_SENSOR_OFFSET_M:g} m from the pelvis centre{hint}"
            )
        return offset
    raise KeyError(f"no such option {name!r}")


def check_positive(name: str, value: float | None) -> float | None:
    """``value`` if it is a positive number (None passes: not given); ``name`` as the user
    typed it, e.g. ``--duration-s``."""
    if value is not None and not value > 0:
        raise InputError(f"{name} must be positive, got {value:g}")
    return value


def check_metadata(meta: Mapping[str, Any], name: str = "input") -> None:
    """Check a raw file's enumerated and numeric metadata fields (unknown values are an error,
    absent ones are fine); ``name`` is the file, for the message."""
    for key, allowed in METADATA_CHOICES.items():
        value = meta.get(key)
        if value is not None and value not in allowed:
            expected = ", ".join(allowed)
            raise InputError(f"{name}: unknown {key} {value!r} in metadata (expected {expected})")
    for key in METADATA_POSITIVE:
        value = meta.get(key)
        if value is None or key == "trunk_length_m":  # its own range check below
            continue
        v = _number(value)
        if v is None or v <= 0:
            raise InputError(f"{name}: metadata {key} must be a positive number, got {value!r}")
    rate = meta.get("sample_rate_hz")
    lo, hi = METADATA_RATE_RANGE_HZ
    if rate is not None and not lo <= float(rate) <= hi:
        raise InputError(f"{name}: metadata sample_rate_hz {rate!r} is not a sample rate")
    if meta.get("trunk_length_m") is not None:
        try:
            check_option("trunk_length_m", meta["trunk_length_m"])
        except InputError as exc:
            raise InputError(f"{name}: metadata {exc}") from None
    if meta.get("session_id") not in (None, ""):  # empty: none given (the samples' hash)
        check_identifier(f"{name}: metadata session_id", meta["session_id"])
    started = meta.get("started_at")
    if started is not None:
        try:
            dt.datetime.fromisoformat(started)
        except (TypeError, ValueError):
            raise InputError(
                f"{name}: metadata started_at {started!r} is not an ISO 8601 date and time"
            ) from None


# ---- resolution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionOptions:
    """The options one analysis runs with, each resolved once (option, metadata, default)."""

    activity: str
    """``strength`` or ``run``: option, else metadata, else detected from the signal."""
    exercise: str | None
    """Option, else metadata, else None (the recogniser names each set)."""
    placement: str
    """Option, else metadata, else :data:`DEFAULT_PLACEMENT`."""
    trunk_length_m: float
    """Option, else metadata, else :data:`DEFAULT_TRUNK_LENGTH_M`."""
    sensor_offset_m: tuple[float, float, float] | None
    """Option only; None means the placement's default offset (the algorithms apply it)."""
    sample_rate_hz: float
    """Metadata, else from the median sample interval."""

    def parameters(self) -> dict[str, Any]:
        """The options as written into every output file's provenance (``parameters``)."""
        return {
            "activity": self.activity,
            "exercise": self.exercise,
            "placement": self.placement,
            "trunk_length_m": self.trunk_length_m,
            "sensor_offset_m": None if self.sensor_offset_m is None else list(self.sensor_offset_m),
            "sample_rate_hz": self.sample_rate_hz,
        }


def check_options(
    activity: str | None = AUTO,
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Check the explicit options (before any file is read) and return them normalised."""
    given = {
        "activity": activity,
        "exercise": exercise,
        "placement": placement,
        "trunk_length_m": trunk_length_m,
        "sensor_offset_m": sensor_offset_m,
    }
    return {name: check_option(name, value) for name, value in given.items()}


def resolve(
    raw: RawSession,
    *,
    activity: str | None = AUTO,
    exercise: str | None = None,
    placement: str | None = None,
    trunk_length_m: float | None = None,
    sensor_offset_m: Sequence[float] | None = None,
    detect_activity: Callable[[RawSession], str] | None = None,
) -> SessionOptions:
    """The session's options: each explicit option, else ``raw.meta``'s value, else the default.

    ``activity='auto'`` (or None) takes the metadata's activity, else ``detect_activity(raw)``
    (the orchestrator passes :func:`imu.pipeline.activity.detect_activity`). Every value is
    checked (:func:`check_option`): metadata too, since a :class:`RawSession` built in memory
    was never read through :mod:`imu.io.rawfile`.
    """
    given = check_options(activity, exercise, placement, trunk_length_m, sensor_offset_m)
    if not raw.checked:  # built in memory: the reader's checks have not run
        check_metadata(raw.meta)
        raw.ensure_plausible()
    meta = raw.meta
    act = given["activity"]
    if act in (None, AUTO):
        act = meta.get("activity")
        if act is None:
            if detect_activity is None:
                raise InputError("no activity in the options or the metadata; give activity=")
            act = detect_activity(raw)
    placement_ = given["placement"] or meta.get("placement") or DEFAULT_PLACEMENT
    exercise_ = given["exercise"] or meta.get("exercise")
    trunk = given["trunk_length_m"] or meta.get("trunk_length_m") or DEFAULT_TRUNK_LENGTH_M
    check_choice("activity", act, ACTIVITIES)
    return SessionOptions(
        activity=act,
        exercise=check_option("exercise", exercise_),
        placement=check_option("placement", placement_),
        trunk_length_m=check_option("trunk_length_m", trunk),
        sensor_offset_m=given["sensor_offset_m"],
        sample_rate_hz=raw.sample_rate_hz,
    )
