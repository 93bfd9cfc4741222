"""Pinned leases whose thread ended without closing its Django connection (issue 12).

Each scenario pins a connection in a short-lived thread that ends without close(), as a finished
ThreadPoolExecutor or task-runner thread does. The pool must give the place back and close the
physical connection (rolling back, releasing locks) without waiting for a garbage collection:
the cyclic collector is switched off for these tests, so nothing may depend on it.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import OperationalError, connections

from django_pooled_mysql.exceptions import ConnectionLostInTransaction
from tests.support.helpers import Admin, Scratch, eventually, rows, run_threads, scalar

# The small pool: six places in all.
SMALL = {"pool_size": 4, "max_overflow": 2, "timeout": 3}
CAP = 6


@pytest.fixture
def no_garbage_collection() -> Iterator[None]:
    """Recovery must not depend on the cyclic garbage collector (it may not run under load)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def in_thread(body: Callable[[], Any]) -> Any:
    """Run body in a thread that ends without closing anything; return body's result."""
    return run_threads(1, lambda _: body(), timeout=30)[0]


def take_named_lock(db: Any, n: int) -> None:
    assert scalar(db, "SELECT GET_LOCK(%s, 0)", ["abandoned-%d" % n]) == 1


def set_user_variable(db: Any, n: int) -> None:
    rows(db, "SET @abandoned = %s", [n])


def touch_raw_connection(db: Any, n: int) -> None:
    db.ensure_connection()
    assert db.connection.thread_id()


def leave_transaction_open(db: Any, n: int) -> None:
    db.set_autocommit(False)
    rows(db, "INSERT INTO testapp_author (name, age) VALUES (%s, %s)", ["uncommitted", n])


def lock_table(db: Any, n: int) -> None:
    rows(db, "LOCK TABLES testapp_counter WRITE")


PINNERS = {
    "GET_LOCK": take_named_lock,
    "SET": set_user_variable,
    "raw attribute": touch_raw_connection,
    "open transaction": leave_transaction_open,
    "LOCK TABLES": lock_table,
}


@pytest.mark.parametrize("pin", list(PINNERS.values()), ids=list(PINNERS))
@pytest.mark.usefixtures("no_garbage_collection")
def test_seven_threads_that_end_pinned_do_not_exhaust_a_six_place_pool(
    scratch: Scratch, admin: Admin, pin: Callable[[Any, int], None]
) -> None:
    server_before = scratch.server_connections()
    for n in range(CAP + 1):
        # The Django connection is made in the thread, as Django makes one per thread.
        in_thread(lambda n=n: pin(scratch.wrapper(SMALL), n))
    main = scratch.wrapper(SMALL)
    # Before the fix this raised PoolTimeout "(in use 6, idle 0)" after the 3 s timeout.
    assert scalar(main, "SELECT 1") == 1
    eventually(lambda: main.pool_stats()["abandoned"] == CAP + 1, what="every recovery")
    stats = main.pool_stats()
    assert stats["in_use"] == 0 and stats["open"] <= CAP, stats
    eventually(
        lambda: scratch.server_connections() <= server_before + 1,
        what="the abandoned sessions to be closed on the server",
    )
    # What the abandoned sessions held is gone: locks are free, nothing was committed.
    assert admin.query("SELECT IS_FREE_LOCK('abandoned-0'), IS_FREE_LOCK('abandoned-6')") == [
        (1, 1)
    ]
    assert admin.query("SELECT COUNT(*) FROM %s.testapp_author" % scratch.name) == [(0,)]
    admin.query("INSERT INTO %s.testapp_counter (name, value) VALUES ('x', 1)" % scratch.name)


@pytest.mark.usefixtures("no_garbage_collection")
def test_every_place_of_the_pool_is_usable_once_and_only_once_after_recoveries(
    scratch: Scratch,
) -> None:
    for n in range(CAP):
        in_thread(lambda n=n: leave_transaction_open(scratch.wrapper(SMALL), n))
    eventually(lambda: scratch.wrapper(SMALL).pool_stats()["abandoned"] == CAP, what="recovery")
    holders = [scratch.wrapper(SMALL) for _ in range(CAP)]
    sessions = set()
    for holder in holders:
        holder.set_autocommit(False)
        sessions.add(scalar(holder, "SELECT CONNECTION_ID()"))
    # Each holder's transaction has a session of its own: no place was handed out twice.
    assert len(sessions) == CAP, sessions
    # All six places are held again; a seventh caller waits its timeout: the cap held and no
    # place was given back twice.
    late = scratch.wrapper(SMALL)
    assert late.pool_stats()["in_use"] == CAP
    with pytest.raises(OperationalError, match="exhausted"):
        scalar(late, "SELECT 1")
    for holder in holders:
        holder.rollback()
        holder.set_autocommit(True)
        holder.close()
    assert late.pool_stats()["in_use"] == 0


@pytest.mark.usefixtures("no_garbage_collection")
def test_a_transaction_whose_thread_ended_is_lost_not_committed(scratch: Scratch) -> None:
    # The DB-API connection outlives its thread (kept here), but the thread is gone: the pool
    # recovers the connection, the server rolls the transaction back, and the connection
    # reports the loss instead of committing nothing silently.
    kept = in_thread(lambda: _open_transaction(scratch))
    stats = scratch.wrapper(SMALL).pool_stats
    eventually(lambda: stats()["abandoned"] == 1, what="the recovery")
    with pytest.raises(ConnectionLostInTransaction, match="recovered this connection"):
        kept.commit()
    kept.rollback()
    kept.autocommit(True)
    assert scalar(scratch.wrapper(SMALL), "SELECT COUNT(*) FROM testapp_author") == 0


def _open_transaction(scratch: Scratch) -> Any:
    db = scratch.wrapper(SMALL)
    leave_transaction_open(db, 1)
    return db.connection


@pytest.mark.usefixtures("no_garbage_collection")
def test_a_connection_shared_with_other_threads_is_not_recovered_when_its_creator_ends(
    scratch: Scratch,
) -> None:
    def create_and_share() -> Any:
        db = scratch.wrapper(SMALL)
        db.inc_thread_sharing()
        db.set_autocommit(False)
        rows(db, "INSERT INTO testapp_author (name, age) VALUES ('shared', 1)")
        return db

    shared = in_thread(create_and_share)
    # The creating thread is gone, but the connection is shared: its transaction goes on.
    rows(shared, "INSERT INTO testapp_author (name, age) VALUES ('shared', 2)")
    shared.commit()
    shared.set_autocommit(True)
    assert scalar(shared, "SELECT COUNT(*) FROM testapp_author") == 2
    assert shared.pool_stats()["abandoned"] == 0
    shared.dec_thread_sharing()


def test_a_django_connection_dropped_without_close_is_recovered_when_collected(
    scratch: Scratch,
) -> None:
    pool_stats = scratch.wrapper(SMALL).pool_stats
    # Made and dropped by this (living) thread: only the garbage collector can tell it is gone.
    wrapper = scratch.wrapper(SMALL)
    scratch.wrappers.remove(wrapper)
    set_user_variable(wrapper, 1)
    assert pool_stats()["in_use"] == 1
    del wrapper
    gc.collect()
    eventually(lambda: pool_stats()["abandoned"] == 1, what="the recovery")
    assert pool_stats()["in_use"] == 0


@pytest.mark.usefixtures("no_garbage_collection")
def test_the_recovery_is_logged_with_where_the_lease_was_taken(
    scratch: Scratch, caplog: pytest.LogCaptureFixture
) -> None:
    options = {**SMALL, "leak_warning_after": 60}
    with caplog.at_level(logging.WARNING, logger="django_pooled_mysql"):
        in_thread(lambda: take_named_lock(scratch.wrapper(options), 1))
        eventually(lambda: scratch.wrapper(options).pool_stats()["abandoned"] == 1, what="it")
    [record] = [r for r in caplog.records if "abandoned" in r.getMessage()]
    message = record.getMessage()
    assert "GET_LOCK()" in message and "thread or greenlet ended" in message
    assert "take_named_lock" in message  # the stack where the lease was taken


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_garbage_collection")
def test_django_mysql_locks_taken_by_finished_threads_are_released() -> None:
    from django_mysql.locks import Lock

    cap = connections["default"].pool_options.max_connections

    def take_and_forget(n: int) -> None:
        # As a background job would: the lock is acquired and the thread ends.
        Lock("forgotten-%d" % n, acquire_timeout=1).acquire()

    for n in range(cap + 1):
        in_thread(lambda n=n: take_and_forget(n))
    assert scalar(connections["default"], "SELECT 1") == 1
    eventually(
        lambda: django_lock_is_free("forgotten-%d" % cap), what="the last lock to be released"
    )


def django_lock_is_free(name: str) -> bool:
    admin = Admin()
    try:
        return bool(admin.query("SELECT IS_FREE_LOCK(%s)", [name])[0][0])
    finally:
        admin.conn.close()
