"""Shared fixtures: raw admin access to the test server and private pooled wrappers.

The helpers they are built on live in tests/support/helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import driver  # noqa: F401  (before MySQLdb: may install PyMySQL as MySQLdb)
from tests.settings import MISSING_SERVER, SERVER_CONFIGURED
from tests.support.helpers import Admin, Scratch


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail (never skip) database tests when no test server is configured."""
    if not SERVER_CONFIGURED and "tests/unit/" not in str(item.path):
        pytest.fail(MISSING_SERVER, pytrace=False)


@pytest.fixture
def admin() -> Iterator[Admin]:
    """An Admin for one test."""
    helper = Admin()
    yield helper
    helper.conn.close()


@pytest.fixture
def scratch(admin: Admin, django_db_blocker: Any) -> Iterator[Scratch]:
    """A private database and pooled wrappers on it; pools closed and database dropped after."""
    with django_db_blocker.unblock():
        db = Scratch(admin)
        db.create()
        try:
            yield db
        finally:
            db.destroy()
