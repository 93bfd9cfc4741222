"""execute() without a driver cursor (direct.py) gives what the driver's cursor gives.

Each statement runs once through direct.execute_directly() and once through the driver's cursor
(cursor.run_with_driver_cursor()), on two raw connections made with Django's own connection
parameters, against twin tables; results (sets, lastrowid, executed text, return value) and
errors (type and arguments) must be identical.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import Any

import pytest

from django_pooled_mysql.driver.execute import (
    can_execute_directly,
    execute_directly,
    run_with_driver_cursor,
)
from tests.driver import DRIVER
from tests.support.helpers import Scratch

CASES: list[tuple[str, Any]] = [
    ("SELECT 1", None),
    ("SELECT %s, %s, %s", (1, "two", None)),
    ("SELECT %(a)s, %(b)s", {"a": decimal.Decimal("1.50"), "b": "x'y"}),
    ("SELECT '100%%'", ()),
    ("SELECT '100%%'", None),
    ("SELECT %s", ()),
    ("SELECT %s, %s", (1,)),
    ("SELECT %(missing)s", {}),
    ("SELEC 1", None),
    ("SELECT * FROM no_such_table", None),
    ("INSERT INTO {t} (id, name, created) VALUES (%s, %s, %s)", (1, "ünïcode", "2026-11-23")),
    ("INSERT INTO {t} (name) VALUES (%s), (%s)", ("a", "b")),
    ("INSERT INTO {t} (id, name) VALUES (1, 'duplicate')", None),
    ("UPDATE {t} SET name = CONCAT(name, '!') WHERE id > %s", (1,)),
    ("SELECT id, name, created, price, data FROM {t} ORDER BY id", None),
    ("SELECT * FROM {t} WHERE id < 0", None),
    ("DELETE FROM {t} WHERE id = %s", (2,)),
    ("SELECT 1; SELECT 2, 3", None),
    ("SELECT 1; SELECT * FROM no_such_table", None),
    ("DO 1", None),
    (b"SELECT 'bytes'", None),
]


@pytest.fixture
def connections(scratch: Scratch) -> Iterator[tuple[Any, Any]]:
    stock = scratch.wrapper(False)
    params = stock.get_connection_params()
    pair = (stock.get_new_connection(params), stock.get_new_connection(params))
    for conn, table in zip(pair, ("direct_t", "cursor_t"), strict=True):
        cursor = conn.cursor()
        cursor.execute(
            "CREATE TABLE %s (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40), "
            "created DATETIME NULL, price DECIMAL(8, 2) DEFAULT 9.99, data BLOB NULL)" % table
        )
        cursor.close()
    try:
        yield pair
    finally:
        for conn in pair:
            conn.close()


def outcome(run: Any, conn: Any, sql: Any, args: Any) -> tuple[str, Any]:
    try:
        *result, pending = run(conn, sql, args)
    except Exception as exc:
        return "error", (type(exc), exc.args)
    # An error of a later statement, raised by nextset(), compared by kind and arguments.
    return "result", (*result, pending and (type(pending), pending.args))


def test_direct_execute_matches_the_driver_cursor(connections: tuple[Any, Any]) -> None:
    direct_conn, cursor_conn = connections
    if DRIVER != "mysqlclient":
        # PyMySQL connections always go through the driver's cursor.
        assert not can_execute_directly(direct_conn)
        return
    assert can_execute_directly(direct_conn)
    for sql, args in CASES:
        if isinstance(sql, str):
            direct_sql, cursor_sql = sql.format(t="direct_t"), sql.format(t="cursor_t")
        else:
            direct_sql = cursor_sql = sql
        direct = outcome(execute_directly, direct_conn, direct_sql, args)
        by_cursor = outcome(
            lambda conn, q, a: run_with_driver_cursor(conn, "execute", q, a),
            cursor_conn,
            cursor_sql,
            args,
        )
        if direct[0] == "result" and isinstance(sql, str):
            # The executed text names each side's own table.
            sets, lastrowid, executed, *status = direct[1]
            executed = executed.replace(b"direct_t", b"cursor_t")
            direct = ("result", (sets, lastrowid, executed, *status))
        assert direct == by_cursor, sql
        # Both connections are clean afterwards, errors included.
        for conn in connections:
            assert execute_directly(conn, "SELECT 42", None)[0][0][1] == ((42,),)


def test_a_custom_cursor_class_goes_through_the_driver(scratch: Scratch) -> None:
    import MySQLdb.cursors

    stock = scratch.wrapper(False)
    params = {**stock.get_connection_params(), "cursorclass": MySQLdb.cursors.SSCursor}
    conn = stock.get_new_connection(params)
    try:
        assert not can_execute_directly(conn)
    finally:
        conn.close()


def _after_unread_raw_results(db: Any) -> tuple[str, Any]:
    # Code with a raw driver cursor that reads the first of two result sets and never closes
    # it; the next Django statement on that connection must still work (the driver's cursor
    # drains such results first).
    try:
        db.ensure_connection()
        conn = db.connection
        # This ENGINE's cursor() is its own; the driver's is reached as a raw attribute (which
        # pins the connection for the rest of the request).
        left_open = (conn.__getattr__("cursor") if db.pooled else conn.cursor)()
        left_open.execute("SELECT 1; SELECT 2")
        assert left_open.fetchall() == ((1,),)
        with db.cursor() as cursor:
            cursor.execute("SELECT 3")
            return "result", cursor.fetchall()
    except Exception as exc:
        return "error", type(exc).__name__
    finally:
        db.close()


def test_results_left_unread_on_the_raw_connection_are_drained_as_on_stock(
    scratch: Scratch,
) -> None:
    pooled = _after_unread_raw_results(scratch.wrapper({"pool_size": 1, "max_overflow": 0}))
    stock = _after_unread_raw_results(scratch.wrapper(False, alias="scratch_stock"))
    assert pooled == stock
    if DRIVER == "mysqlclient":
        assert pooled == ("result", ((3,),))
