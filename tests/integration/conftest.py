"""Every test under tests/integration carries the `integration` marker (it drives simulated devices through the real
adb server): `pytest -m "not integration"` runs the unit tests alone."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
