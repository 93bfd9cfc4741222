"""Fixtures for fault tests: a private throwaway server that tests may kill, restart or reconfigure.

Never the main test server: changing global variables or restarting there would break other tests
(and with DJANGO_POOLED_MYSQL_TEST_URL pointing at a shared server, other people's work).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import MySQLdb
import pytest

from tests.support.mariadb_server import ThrowawayMariaDB


class FaultServer(ThrowawayMariaDB):
    """A throwaway server plus helpers for reconfiguring it from tests."""

    def admin(self) -> Any:
        """A fresh root connection, not pooled, for inspecting and reconfiguring the server."""
        return MySQLdb.connect(host=self.host, port=self.port, user=self.user, autocommit=True)

    def query(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement on a fresh admin connection and return its rows."""
        conn = self.admin()
        try:
            cursor = conn.cursor()
            cursor.execute(sql, args)
            return list(cursor.fetchall())
        finally:
            conn.close()

    def set_global(self, name: str, value: object) -> None:
        """SET GLOBAL name = value on this private server."""
        self.query("SET GLOBAL %s = %%s" % name, (value,))

    def settings(self, name: str, **extra: Any) -> dict[str, Any]:
        """A DATABASES entry pointing at this server."""
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": name,
            "HOST": self.host,
            "PORT": str(self.port),
            "USER": self.user,
            "PASSWORD": self.password,
            **extra,
        }


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultServer]:
    """A durable private server for one test module."""
    base = tmp_path_factory.mktemp("fault-server")
    with FaultServer(max_connections=100, durable=True, basedir=str(base)) as server:
        yield server
