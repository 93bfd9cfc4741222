"""The pool's unit tests: each starts with no fake connection made and ends with the ones it
made closed (FakeConnection in tests/support/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.helpers import FakeConnection


@pytest.fixture(autouse=True)
def fake_connections() -> Iterator[None]:
    """Count the test's own fake connections; close them afterwards."""
    FakeConnection.close_all()
    yield
    FakeConnection.close_all()
