"""The raw DB-API connection (``connection.connection``) answers as the driver's would (issue 12).

Each test runs the same code on this ENGINE and on the stock backend (the same ENGINE class with
``OPTIONS["pool"] = False``) and compares what they see.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import MySQLdb
import MySQLdb.cursors
import pytest
from django.db import connections, transaction
from django.db.transaction import TransactionManagementError

from tests.driver import DRIVER
from tests.support.helpers import Scratch, eventually, join_all, session_id

ONE = {"pool_size": 1, "max_overflow": 0, "timeout": 10}


def both(scratch: Scratch, body: Callable[[Any], Any], pool: Any = ONE) -> tuple[Any, Any]:
    """(what body saw on this ENGINE, what it saw on stock), errors as (type name, code)."""
    seen = []
    for wrapper in (scratch.wrapper(pool), scratch.wrapper(False, alias="scratch_stock")):
        try:
            wrapper.ensure_connection()
            seen.append(body(wrapper))
        except Exception as exc:
            seen.append(error(exc))
        finally:
            wrapper.close()
    return seen[0], seen[1]


def error(exc: BaseException) -> tuple[str, Any]:
    cause = exc.__cause__ or exc
    return type(exc).__name__, getattr(cause, "args", (None,))[:1]


def in_use(db: Any) -> int:
    return int(db.pool_stats()["in_use"]) if db.pooled else -1


# -- cursor classes ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Cursor", "DictCursor"])
def test_a_buffered_cursor_class_gives_its_rows_without_pinning(
    scratch: Scratch, name: str
) -> None:
    cursorclass = getattr(MySQLdb.cursors, name)

    def body(db: Any) -> Any:
        cursor = db.connection.cursor(cursorclass)
        cursor.execute("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y'")
        seen = (cursor.fetchone(), cursor.fetchall(), [d[0] for d in cursor.description])
        cursor.close()
        return seen, in_use(db) in (0, -1)

    pooled, stock = both(scratch, body)
    assert pooled == stock
    if name == "DictCursor":
        assert pooled[0][0] == {"a": 1, "b": "x"}


@pytest.mark.parametrize("name", ["SSCursor", "SSDictCursor"])
def test_a_server_side_cursor_keeps_its_connection_until_the_rows_are_read(
    scratch: Scratch, name: str
) -> None:
    cursorclass = getattr(MySQLdb.cursors, name)
    db = scratch.wrapper(ONE)
    db.ensure_connection()
    stream = db.connection.cursor(cursorclass)
    stream.execute("SELECT seq AS n FROM seq_1_to_500")
    first = [stream.fetchone() for _ in range(10)]
    assert db.pool_stats()["in_use"] == 1
    # Another Django connection on the one-connection pool waits: the connection is never handed
    # on in the middle of the stream.
    other_done = threading.Event()
    other_result: list[Any] = []

    def other() -> None:
        peer = scratch.wrapper(ONE)
        with peer.cursor() as cursor:
            cursor.execute("SELECT 'other'")
            other_result.append(cursor.fetchone())
        peer.close()
        other_done.set()

    thread = threading.Thread(target=other)
    thread.start()
    eventually(lambda: db.pool_stats()["waiting"] == 1, what="the other caller to wait")
    assert not other_done.is_set()
    rest = stream.fetchall()
    join_all([thread], 10)
    assert other_result == [("other",)]
    assert db.pool_stats()["in_use"] == 0
    rows = first + list(rest)
    key = (lambda row: row["n"]) if name == "SSDictCursor" else (lambda row: row[0])
    assert [key(row) for row in rows] == list(range(1, 501))
    stream.close()

    def stock_rows(stock: Any) -> Any:
        cursor = stock.connection.cursor(cursorclass)
        cursor.execute("SELECT seq AS n FROM seq_1_to_500")
        return list(cursor.fetchall())

    pooled, stock = both(scratch, stock_rows)
    assert pooled == stock == rows


def test_closing_a_server_side_cursor_mid_stream_gives_the_connection_back(
    scratch: Scratch,
) -> None:
    db = scratch.wrapper(ONE)
    db.ensure_connection()
    with db.connection.cursor(MySQLdb.cursors.SSCursor) as stream:
        stream.execute("SELECT seq FROM seq_1_to_10000")
        assert stream.fetchone() == (1,)
        assert db.pool_stats()["in_use"] == 1
    assert db.pool_stats()["in_use"] == 0
    with db.cursor() as cursor:
        cursor.execute("SELECT 2")  # the connection is clean: not out of sync
        assert cursor.fetchone() == (2,)


# -- status of the previous statement -------------------------------------------------------------


def test_status_calls_answer_for_this_connections_previous_statement(scratch: Scratch) -> None:
    def body(db: Any) -> Any:
        seen = []
        with db.cursor() as cursor:
            cursor.execute("TRUNCATE testapp_counter")  # both sides see the same ids
        for sql in (
            "INSERT INTO testapp_counter (name, value) VALUES ('a', 1), ('b', 2), ('c', 3)",
            "UPDATE testapp_counter SET value = value + 1 WHERE name IN ('a', 'b', 'c')",
            "SELECT CAST('12abc' AS SIGNED)",
            "SELECT name FROM testapp_counter WHERE name IN ('a', 'b')",
        ):
            cursor = db.cursor()
            cursor.execute(sql)
            if db.pooled and db.pool_stats()["in_use"] == 0:
                # Another Django connection uses the pool's only physical connection in between
                # (after a statement with warnings the connection is kept for its diagnostics).
                meddle(scratch)
            seen.append([status(db.connection, name) for name in STATUS_CALLS])
            # Closing the cursor changes what the driver reports (mysqlclient: affected rows -1).
            cursor.close()
            seen.append([status(db.connection, name) for name in STATUS_CALLS])
        return seen

    pooled, stock = both(scratch, body)
    assert pooled == stock
    if DRIVER == "mysqlclient":
        assert pooled[0][:2] == [3, 1]  # three rows, the first generated id
        assert pooled[2][3] == "Rows matched: 3  Changed: 3  Warnings: 0"
        assert pooled[4][2] == 1  # the truncation warning


STATUS_CALLS = ("affected_rows", "insert_id", "warning_count", "info")


def status(conn: Any, name: str) -> Any:
    try:
        return getattr(conn, name)()
    except AttributeError:
        return "no %s()" % name  # PyMySQL has no warning_count() / info()


def meddle(scratch: Scratch) -> None:
    other = scratch.wrapper(ONE)
    with other.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_counter (name, value) VALUES (UUID(), 5)")
        cursor.execute("SELECT 1/0")
    other.close()


def test_get_autocommit_inside_a_transaction_before_its_first_statement(scratch: Scratch) -> None:
    def body(db: Any) -> Any:
        db.set_autocommit(False)
        before = db.connection.get_autocommit()
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
        during = db.connection.get_autocommit()
        db.commit()
        db.set_autocommit(True)
        return before, during, db.connection.get_autocommit()

    pooled, stock = both(scratch, body)
    assert pooled == stock == (False, False, True)


def test_session_facts_and_identity(scratch: Scratch) -> None:
    def body(db: Any) -> Any:
        conn = db.connection
        same = (conn.character_set_name(), conn.get_server_info(), conn.get_proto_info())
        no_pin = in_use(db) in (0, -1)
        first_id = session_id(db)
        thread_id = conn.thread_id()
        # After thread_id() the session is the caller's: the next statement runs on it.
        same_session = session_id(db) == thread_id
        return same, no_pin, same_session, isinstance(first_id, int)

    pooled, stock = both(scratch, body, pool={"pool_size": 2, "max_overflow": 0})
    assert pooled == stock
    assert pooled[1:] == (True, True, True)


def test_a_name_the_driver_does_not_have_raises_attribute_error(scratch: Scratch) -> None:
    def body(db: Any) -> Any:
        return hasattr(db.connection, "no_such_driver_attribute"), in_use(db) in (0, -1)

    pooled, stock = both(scratch, body)
    assert pooled == stock == (False, True)


def test_fileno_never_leases_a_connection_to_answer(scratch: Scratch) -> None:
    """Celery's Django fix-up runs ``os.close(conn.connection.fileno())`` in each forked child,
    ignoring OSError: here that must close nothing the pool holds."""
    import os
    import socket

    if DRIVER == "pymysql":  # PyMySQL's connection has no fileno(): as with stock
        pooled, stock = both(scratch, lambda db: db.connection.fileno())
        assert pooled == stock and pooled[0] == "AttributeError"
        return
    db = scratch.wrapper(ONE)
    db.ensure_connection()
    try:
        with pytest.raises(OSError, match="no socket between statements"):
            db.connection.fileno()
        assert in_use(db) == 0
        db.set_autocommit(False)
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
        # Inside a transaction it is the pinned connection's own socket, connected to the server.
        sock = socket.socket(fileno=os.dup(db.connection.fileno()))
        try:
            assert sock.getpeername()[1] == int(db.settings_dict["PORT"])
        finally:
            sock.close()
        db.rollback()
        db.set_autocommit(True)
        # What Celery does, outside a transaction: nothing is closed, the pool keeps working.
        try:
            os.close(db.connection.fileno())
        except (AttributeError, OSError, TypeError):
            pass
        with db.cursor() as cursor:
            cursor.execute("SELECT 2")
            assert cursor.fetchone() == (2,)
        assert db.pool_stats()["invalidations"] == 0 and in_use(db) == 0
    finally:
        db.close()


# -- errors where stock raises them ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=["default", "stock"])
@pytest.mark.parametrize("alias", ["default", "stock"])
def test_a_statement_after_close_inside_atomic(alias: str) -> None:
    connection = connections[alias]
    with pytest.raises(TransactionManagementError):
        with transaction.atomic(using=alias):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            connection.close()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 2")
    connection.close()


def multi_statement(cursor_of: Callable[[Any], Any], in_transaction: bool) -> Callable[[Any], Any]:
    def body(db: Any) -> Any:
        if in_transaction:
            db.set_autocommit(False)
        seen: list[Any] = []
        cursor = cursor_of(db)
        try:
            cursor.execute("SELECT 1; SELECT * FROM no_such_table; SELECT 3")
            seen.append(("rows", list(cursor.fetchall())))
            seen.append(("nextset", cursor.nextset()))
        except Exception as exc:
            seen.append(error(exc))
        cursor.close()
        with db.cursor() as again:
            again.execute("SELECT 4")  # the connection is usable afterwards
            seen.append(again.fetchall())
        if in_transaction:
            db.rollback()
            db.set_autocommit(True)
        return seen

    return body


@pytest.mark.parametrize("in_transaction", [False, True], ids=["statement", "transaction"])
@pytest.mark.parametrize(
    "path",
    ["django cursor", "driver cursor class"],
)
def test_results_before_a_failing_statement_are_returned_and_the_error_comes_at_nextset(
    scratch: Scratch, path: str, in_transaction: bool
) -> None:
    if path == "django cursor":
        cursor_of: Callable[[Any], Any] = lambda db: db.cursor()  # noqa: E731
    else:
        cursor_of = lambda db: db.connection.cursor(MySQLdb.cursors.Cursor)  # noqa: E731
    pooled, stock = both(scratch, multi_statement(cursor_of, in_transaction))
    assert pooled == stock
    if DRIVER == "mysqlclient":
        assert pooled[0] == ("rows", [(1,)])
        assert pooled[1][0] == "ProgrammingError" and pooled[1][1] == (1146,)


def test_setting_a_driver_attribute_is_refused_with_what_to_do_instead(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    db.ensure_connection()
    assert db.connection.cursorclass.__name__ == "Cursor"
    assert db.pool_stats()["in_use"] == 0  # reading it needs no pin
    with pytest.raises(AttributeError, match="OPTIONS"):
        db.connection.cursorclass = MySQLdb.cursors.DictCursor
    with pytest.raises(AttributeError, match="conv"):
        db.connection.encoders = {}
    # Nothing changed: the next cursor still gives tuples.
    with db.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
