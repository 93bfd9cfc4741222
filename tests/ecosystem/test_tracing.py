"""Driver-level tracing sees every statement this ENGINE runs, as with the stock backend (issue 15).

OpenTelemetry's real SDK and instrumentors, both drivers, the main thread, threads and gevent:
tests/ecosystem/tracing_workload.py runs one workload (statement leases, a transaction lease
with a savepoint, a session lease) with each backend in one fresh process and reports each
job's spans; here they are compared span for span.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from django_pooled_mysql.driver.connect import SERVER_FACTS_SQL
from django_pooled_mysql.lease.previous import RESTORE_SESSION
from tests.support.helpers import ROOT, Scratch, run_script

WORKLOAD = ROOT / "tests" / "ecosystem" / "tracing_workload.py"
APM_WORKLOAD = ROOT / "tests" / "ecosystem" / "apm_workload.py"

# What each backend sends on its own when it opens a connection: Django's server-data query and
# init_connection_state() for the stock backend; for this ENGINE the pool's per-connection
# settings (connect.py) and, when a session lease starts, the Django connection's own
# LAST_INSERT_ID() (session-state.md). Neither is the application's statement.
STOCK_OWN = ("SELECT VERSION()", "SET SESSION TRANSACTION ISOLATION LEVEL")
ENGINE_OWN = (
    " ".join(SERVER_FACTS_SQL.split())[:20],
    "SET SESSION TRANSACTION ISOLATION LEVEL",
    "SET SQL_AUTO_IS_NULL",
    "SET SESSION session_track_state_change",
    RESTORE_SESSION,
)


def statement(span: dict[str, Any]) -> str:
    return " ".join(span["attributes"]["db.statement"].split())


def comparable(span: dict[str, Any]) -> dict[str, Any]:
    # Django names savepoints after the thread (greenlet) that makes them.
    attributes = dict(span["attributes"])
    attributes["db.statement"] = re.sub(r"`s\d+_x", "`s<thread>_x", statement(span))
    return {**span, "attributes": attributes}


def application_spans(spans: list[dict[str, Any]], own: tuple[str, ...]) -> list[dict[str, Any]]:
    return [comparable(span) for span in spans if not statement(span).startswith(own)]


def run_workload(scratch: Scratch, script: Path = WORKLOAD, **spec: str) -> dict[str, Any]:
    return run_script(script, {"db": scratch.name, **spec})[0]


@pytest.mark.parametrize("concurrency", ["main", "threads", "gevent"])
@pytest.mark.parametrize("instrumentor", ["driver", "dbapi"])
@pytest.mark.parametrize("driver", ["mysqlclient", "pymysql"])
def test_every_statement_is_traced_as_with_the_stock_backend(
    scratch: Scratch, driver: str, instrumentor: str, concurrency: str
) -> None:
    found = run_workload(scratch, driver=driver, instrumentor=instrumentor, concurrency=concurrency)
    stock, pooled = found["stock"], found["pooled"]
    assert sorted(pooled) == sorted(stock) and len(stock) == {"main": 1}.get(concurrency, 4)
    for job in stock:
        expected = application_spans(stock[job], STOCK_OWN)
        # 3 SELECTs, ORM insert and select, the transaction's UPDATE, SAVEPOINT, INSERT and
        # RELEASE, the session lease's SET and SELECT.
        assert len(expected) == 11, [statement(span) for span in stock[job]]
        assert application_spans(pooled[job], ENGINE_OWN) == expected, job
        # Same statement text, db.system, db.name, db.user and net.peer.* attributes, kind
        # and status: the application's spans are equal; what is left is the ENGINE's own,
        # each a real round trip: the session lease's LAST_INSERT_ID() restore (once per
        # job) and a new connection's settings.
        extra = [statement(span) for span in pooled[job] if statement(span).startswith(ENGINE_OWN)]
        assert extra.count(RESTORE_SESSION) == 1, extra
        attributes = expected[0]["attributes"]
        assert attributes["db.system"] == "mysql" and attributes["db.name"] == scratch.name
        assert {"net.peer.name", "net.peer.port", "db.user"} <= set(attributes)
    assert found["pool"]["max_open"] == 2 and found["pool"]["timeouts"] == 0
    proxy, behind = found["classes"]
    # The ENGINE leases the tracer's proxy; under gevent the mysqlclient connection behind it
    # still waits for the server on the hub.
    assert proxy == "TracedConnectionProxy"
    if concurrency == "gevent" and driver == "mysqlclient":
        assert behind == "CooperativeConnection"


@pytest.mark.parametrize("agent", ["ddtrace", "elastic-apm"])
@pytest.mark.parametrize("driver", ["mysqlclient", "pymysql"])
def test_apm_agents_see_every_statement_as_with_the_stock_backend(
    scratch: Scratch, driver: str, agent: str
) -> None:
    """Datadog's and Elastic's agents wrap the driver's connect(); 4 jobs in threads on a pool
    of 2 connections give the same spans as 4 stock connections, attribute for attribute."""

    def text(span: dict[str, Any]) -> str:
        return " ".join(span["statement"].split())

    def application(spans: list[dict[str, Any]], own: tuple[str, ...]) -> list[dict[str, Any]]:
        # Savepoints are named after the thread that makes them.
        return [
            {**span, "statement": re.sub(r"`s\d+_x", "`s<thread>_x", text(span))}
            for span in spans
            if not text(span).startswith(own)
        ]

    found = run_workload(
        scratch, APM_WORKLOAD, driver=driver, agent=agent.partition("-")[0], concurrency="threads"
    )
    stock, pooled = found["stock"], found["pooled"]
    assert sorted(pooled) == sorted(stock) and len(stock) == 4, (stock, pooled)
    for job in stock:
        expected = application(stock[job], STOCK_OWN)
        # The 11 statements of the workload (ddtrace adds a span for commit(); with PyMySQL
        # installed as MySQLdb it traces both names of the driver, twice each).
        assert len(expected) >= 11, [text(span) for span in stock[job]]
        assert application(pooled[job], ENGINE_OWN) == expected, job
        extra = [text(span) for span in pooled[job] if text(span).startswith(ENGINE_OWN)]
        assert RESTORE_SESSION in extra, extra
    assert found["pool"]["max_open"] == 2 and found["pool"]["timeouts"] == 0


def test_the_direct_path_is_left_only_while_something_instruments_the_driver(
    scratch: Scratch,
) -> None:
    import functools
    from unittest import mock

    import MySQLdb.cursors
    from opentelemetry.instrumentation.mysqlclient import MySQLClientInstrumentor

    from django_pooled_mysql.driver.execute import can_execute_directly, check_connection

    plain = MySQLdb.connect(**scratch.wrapper(False).get_connection_params())
    try:
        assert check_connection(plain, MySQLdb) is MySQLdb.cursors.Cursor
        assert can_execute_directly(plain)
        original = MySQLdb.cursors.Cursor.execute

        @functools.wraps(original)
        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            return original(self, *args, **kwargs)

        # An agent that patches the cursor class rather than connect(): seen at the next
        # connect (check_connection() runs there), and undone as soon as it is gone.
        with mock.patch.object(MySQLdb.cursors.Cursor, "execute", traced):
            assert check_connection(plain, MySQLdb) is None
            assert not can_execute_directly(plain)
        assert check_connection(plain, MySQLdb) is MySQLdb.cursors.Cursor
        connect = MySQLdb.connect

        @functools.wraps(connect)
        def traced_connect(*args: Any, **kwargs: Any) -> Any:
            return connect(*args, **kwargs)

        with mock.patch.object(MySQLdb, "connect", traced_connect):
            assert check_connection(plain, MySQLdb) is None
        check_connection(plain, MySQLdb)
        # A proxy around the connection (instrument_connection(), or what a wrapped connect()
        # returns) is never run directly, whatever its class pretends.
        proxy = MySQLClientInstrumentor.instrument_connection(plain)
        assert isinstance(proxy, MySQLdb.connections.Connection)
        assert not can_execute_directly(proxy)
        assert can_execute_directly(plain)
    finally:
        plain.close()
