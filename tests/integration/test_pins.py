"""Every pin visible (issue 26), against the server: pins and pinned seconds by kind, however a
pin ends, and the first pin of each kind from each call site logged once. The pool's clock is a
test clock, so the seconds are exact and nothing sleeps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.helpers import (
    Admin,
    Scratch,
    StepClock,
    eventually,
    join_all,
    scalar,
    session_id,
)


def clocked(scratch: Scratch, pool: Any = True) -> tuple[Any, StepClock]:
    """A Django connection whose pool runs on a StepClock from its first connection on."""
    db = scratch.wrapper(pool)
    clock = StepClock()
    db.pool.clock = clock
    return db, clock


def run(db: Any, sql: str) -> None:
    """One statement, its rows (if any) left unread."""
    with db.cursor() as cursor:
        cursor.execute(sql)


def pins(db: Any) -> tuple[dict[str, int], dict[str, float]]:
    stats = db.pool_stats()
    return stats["pins"], stats["pinned_seconds"]


# -- pins and pinned seconds by kind ---------------------------------------------------------------


def test_a_transaction_pin_is_counted_with_its_seconds_when_it_ends(scratch: Scratch) -> None:
    db, clock = clocked(scratch)
    db.set_autocommit(False)
    scalar(db, "SELECT 1")
    clock.advance(3)
    assert pins(db) == ({"transaction": 1}, {})  # seconds are counted when the pin ends
    db.commit()
    db.set_autocommit(True)
    assert pins(db) == ({"transaction": 1}, {"transaction": 3.0})
    # Statement leases are not pins.
    scalar(db, "SELECT 2")
    assert pins(db) == ({"transaction": 1}, {"transaction": 3.0})


def test_session_state_taken_in_a_transaction_counts_a_pin_of_each_kind_and_splits_the_time(
    scratch: Scratch,
) -> None:
    db, clock = clocked(scratch)
    db.set_autocommit(False)
    scalar(db, "SELECT 1")
    clock.advance(2)
    scalar(db, "SELECT @total := 5")  # held until close() now, past the transaction
    clock.advance(3)
    db.commit()
    db.set_autocommit(True)
    clock.advance(4)
    scalar(db, "SELECT GET_LOCK('pins-test', 0)")  # already held until close(): no new pin
    db.close()
    assert pins(db) == (
        {"transaction": 1, "session_state:user_variable": 1},
        {"transaction": 2.0, "session_state:user_variable": 7.0},
    )
    assert db.pool_stats()["session_pins"] == 1


def hold_with_pinned(db: Any) -> None:
    db.ensure_connection()
    db.connection.hold()  # what django_pooled_mysql.pinned() does
    scalar(db, "SELECT 1")


def unhold(db: Any) -> None:
    db.connection.unhold()


def touch_raw_connection(db: Any) -> None:
    db.ensure_connection()
    assert db.connection.thread_id()


def stream_rows(db: Any) -> Any:
    import MySQLdb.cursors

    db.ensure_connection()
    cursor = db.connection.cursor(MySQLdb.cursors.SSCursor)
    cursor.execute("SELECT 1 UNION ALL SELECT 2")
    return cursor


# kind -> (start the pin, end it)
PINS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], object]]] = {
    "pinned": (hold_with_pinned, lambda db, _: unhold(db)),
    "raw_connection": (touch_raw_connection, lambda db, _: db.close()),
    "server_side_cursor": (stream_rows, lambda db, cursor: cursor.fetchall()),
    "session_state:named_lock": (
        lambda db: scalar(db, "SELECT GET_LOCK('pins-test', 0)"),
        lambda db, _: db.close(),
    ),
    "session_state:temporary_table": (
        lambda db: run(db, "CREATE TEMPORARY TABLE pins_t (a int)"),
        lambda db, _: db.close(),
    ),
}


@pytest.mark.parametrize("kind", list(PINS))
def test_each_kind_of_pin_is_counted_under_its_own_name(scratch: Scratch, kind: str) -> None:
    start, end = PINS[kind]
    db, clock = clocked(scratch)
    started = start(db)
    assert db.pool_stats()["in_use"] == 1
    clock.advance(5)
    end(db, started)
    assert db.pool_stats()["in_use"] == 0
    assert pins(db) == ({kind: 1}, {kind: 5.0})


def test_statements_with_warnings_or_variables_pin_nothing(scratch: Scratch) -> None:
    # The idioms that used to hold a connection between statements (issue 26).
    db, clock = clocked(scratch)
    scalar(db, "SELECT CAST('x' AS SIGNED)")
    run(db, "SET time_zone = '+03:00'")
    clock.advance(1)
    assert scalar(db, "SHOW COUNT(*) WARNINGS") == 1  # SET leaves the warning in place
    assert db.pool_stats()["in_use"] == 0
    assert pins(db) == ({}, {})


def test_a_pin_ended_by_a_lost_connection_counts_its_seconds(
    scratch: Scratch, admin: Admin
) -> None:
    from django.db import OperationalError

    db, clock = clocked(scratch)
    db.set_autocommit(False)
    admin.kill(session_id(db))
    clock.advance(4)
    with pytest.raises(OperationalError):
        scalar(db, "SELECT 1")
    assert db.pool_stats()["in_use"] == 0
    assert pins(db) == ({"transaction": 1}, {"transaction": 4.0})


def test_a_pin_recovered_after_its_thread_ended_counts_its_seconds(scratch: Scratch) -> None:
    db, clock = clocked(scratch)

    def leave_open() -> None:
        mine = scratch.wrapper()  # same pool, made in the thread as Django makes them
        mine.set_autocommit(False)
        scalar(mine, "SELECT 1")
        clock.advance(6)

    thread = threading.Thread(target=leave_open)
    thread.start()
    join_all([thread])
    eventually(lambda: db.pool_stats()["abandoned"] == 1, what="the recovery")
    assert pins(db) == ({"transaction": 1}, {"transaction": 6.0})


# -- the first pin of each kind from each call site, logged once -------------------------------


def set_greeting(db: Any) -> None:
    with db.cursor() as cursor:
        cursor.execute("SELECT @greeting := 'hunter2', @param := %s", ["param-secret"])  # SITE A


def test_the_first_pin_of_each_kind_from_each_call_site_is_logged_once(
    scratch: Scratch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="django_pooled_mysql"):
        for _ in range(3):
            db = scratch.wrapper()
            set_greeting(db)
            db.close()
        db.set_autocommit(False)
        with db.cursor() as cursor:
            # A transaction, then a variable, from one line:
            cursor.execute("SELECT @another := 1")  # SITE B
        db.commit()
        db.set_autocommit(True)
        db.close()
    lines = [r.getMessage() for r in caplog.records if "first pin" in r.getMessage()]
    assert len(lines) == 3, lines
    site_a = "test_pins.py:%d in set_greeting" % line_of("# SITE A")
    site_b = "test_pins.py:%d in test_the_first_pin" % line_of("# SITE B")
    assert "first pin for session_state:user_variable (user variable assignment) from " in lines[0]
    assert site_a in lines[0]
    # The statement with its literals masked and its placeholder, never its parameters.
    assert "%s: SELECT @greeting := '?', @param := %%s (logged once" % site_a in lines[0]
    assert "first pin for transaction (transaction) from " in lines[1] and site_b in lines[1]
    assert "session_state:user_variable" in lines[2] and site_b in lines[2]
    for record in caplog.records:
        assert record.levelno == logging.INFO or "first pin" not in record.getMessage()
        assert "hunter2" not in record.getMessage() and "param-secret" not in record.getMessage()


def line_of(marker: str) -> int:
    """The line of this file that carries a marker comment."""
    with open(__file__) as source:
        for number, line in enumerate(source, 1):
            if line.rstrip().endswith(marker):
                return number
    raise AssertionError(marker)
