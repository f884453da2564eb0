"""Shared pytest configuration."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ble-address",
        action="store",
        default=None,
        help="address of a real sensor for the opt-in hardware tests",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Hardware tests run only when asked for with --ble-address; they are deselected, not skipped.
    if config.getoption("--ble-address"):
        return
    keep = [i for i in items if "hardware" not in i.keywords]
    dropped = [i for i in items if "hardware" in i.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
