"""Options resolved once (option, then metadata, then default) and the one family of checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imu.core.errors import InputError
from imu.core.options import (
    DEFAULT_PLACEMENT,
    DEFAULT_TRUNK_LENGTH_M,
    SessionOptions,
    check_choice,
    check_metadata,
    check_option,
    check_positive,
    resolve,
)
from imu.core.session import RawSession


def _raw(**meta: object) -> RawSession:
    n = 50
    t = np.arange(n) / 100.0
    acc = np.tile([0.0, 0.0, 1.0], (n, 1))
    return RawSession(t, acc, None, None, dict(meta))


def _never(raw: RawSession) -> str:
    raise AssertionError("activity detection must not run")


def test_explicit_option_then_metadata_then_default() -> None:
    meta = {"activity": "strength", "exercise": "hip_thrust", "placement": "sacrum",
            "trunk_length_m": 0.6, "sample_rate_hz": 104.0}
    got = resolve(_raw(**meta), detect_activity=_never)
    assert (got.activity, got.exercise, got.placement, got.trunk_length_m) == (
        "strength", "hip_thrust", "sacrum", 0.6)
    assert got.sample_rate_hz == 104.0 and got.sensor_offset_m is None
    got = resolve(_raw(**meta), activity="run", exercise="squat", placement="left_hip",
                  trunk_length_m=0.45, sensor_offset_m=np.array([0.0, 0.1, 0.0]))
    assert (got.activity, got.exercise, got.placement, got.trunk_length_m) == (
        "run", "squat", "left_hip", 0.45)
    assert got.sensor_offset_m == (0.0, 0.1, 0.0)
    got = resolve(_raw(), detect_activity=lambda raw: "run")
    assert got.activity == "run" and got.exercise is None
    assert got.placement == DEFAULT_PLACEMENT and got.trunk_length_m == DEFAULT_TRUNK_LENGTH_M
    assert math.isclose(got.sample_rate_hz, 100.0)  # from the sample interval


def test_options_are_frozen_and_their_parameters_are_plain() -> None:
    got = resolve(_raw(activity="strength"), sensor_offset_m=(-0.12, 0, 0.02))
    assert isinstance(got, SessionOptions)
    with pytest.raises(AttributeError):
        got.placement = "sacrum"  # type: ignore[misc]
    params = got.parameters()
    assert params["sensor_offset_m"] == [-0.12, 0.0, 0.02]
    assert list(params) == ["activity", "exercise", "placement", "trunk_length_m",
                            "sensor_offset_m", "sample_rate_hz"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("activity", "swim", "unknown activity 'swim' (expected one of auto, strength, run)"),
        ("exercise", "curl", "unknown exercise 'curl' (expected one of glute_bridge,"),
        ("placement", "belt", "unknown placement 'belt' (expected one of left_hip,"),
        ("trunk_length_m", -1, "trunk length must be a positive number of metres, got -1"),
        ("trunk_length_m", math.inf, "trunk length must be a positive number of metres"),
        ("trunk_length_m", "long", "trunk length must be a positive number of metres"),
        ("sensor_offset_m", (1, 2), "sensor offset must be three finite numbers X,Y,Z in metres"),
        ("sensor_offset_m", (0, math.nan, 0), "sensor offset must be three finite numbers"),
        ("sensor_offset_m", "123", "sensor offset must be three finite numbers"),
    ],
)
def test_check_option_raises_input_error(name: str, value: object, message: str) -> None:
    with pytest.raises(InputError) as err:
        check_option(name, value)
    assert str(err.value).startswith(message)


def test_check_option_passes_and_normalises() -> None:
    assert check_option("placement", None) is None
    assert check_option("activity", "auto") == "auto"
    assert check_option("trunk_length_m", 1) == 1.0
    assert check_option("sensor_offset_m", np.array([0.1, 0.2, 0.3])) == (0.1, 0.2, 0.3)
    with pytest.raises(KeyError):
        check_option("colour", "red")


def test_metadata_values_are_checked_when_resolving() -> None:
    # A RawSession built in memory never went through imu.io.rawfile's checks.
    with pytest.raises(InputError, match="unknown placement 'belt'"):
        resolve(_raw(activity="run", placement="belt"))
    with pytest.raises(InputError, match="unknown activity 'swim'"):
        resolve(_raw(activity="swim"))
    with pytest.raises(InputError, match="trunk length"):
        resolve(_raw(activity="run", trunk_length_m=-0.5))


def test_positive_choice_and_metadata_checks() -> None:
    assert check_positive("--duration-s", None) is None
    assert check_positive("--duration-s", 2.0) == 2.0
    with pytest.raises(InputError, match="^--time-scale must be positive, got -1$"):
        check_positive("--time-scale", -1.0)
    with pytest.raises(InputError, match=r"unknown mode 'x' \(expected one of raw, tables\)"):
        check_choice("mode", "x", ("raw", "tables"))
    check_metadata({"placement": "sacrum", "sample_rate_hz": 104})
    with pytest.raises(InputError, match="^f.parquet: unknown exercise 'curl' in metadata"):
        check_metadata({"exercise": "curl"}, "f.parquet")
    with pytest.raises(InputError, match="metadata acc_range_g must be a positive number"):
        check_metadata({"acc_range_g": "8"})


def test_all_checks_are_value_errors_too() -> None:
    """InputError derives from ValueError: callers catching ValueError keep working."""
    with pytest.raises(ValueError):
        check_option("placement", "belt")
