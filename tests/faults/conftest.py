"""Fixtures for fault tests: a private throwaway server that tests may kill, restart or reconfigure.

Never the main test server: changing global variables or restarting there would break other tests
(and with DJANGO_POOLED_MYSQL_TEST_URL pointing at a shared server, other people's work).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.helpers import FaultServer


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultServer]:
    """A durable private server for one test module."""
    base = tmp_path_factory.mktemp("fault-server")
    with FaultServer(max_connections=100, durable=True, basedir=str(base)) as server:
        yield server
