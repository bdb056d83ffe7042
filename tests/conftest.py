"""Shared pytest configuration: the --runslow flag for long soak variants."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run long soak variants")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="long soak variant: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
