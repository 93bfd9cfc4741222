"""The pool itself: per-process keys, init once, exhaustion, broken connections, fork, stats."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import OperationalError, connections

import django_pooled_mysql
from django_pooled_mysql.driver import connect as pooled_connect
from tests.settings import PREFIX
from tests.support.helpers import (
    Admin,
    Scratch,
    eventually,
    in_forked_child,
    join_all,
    rows,
    scalar,
    session_id,
)

# -- one pool per process per set of parameters ------------------------------------------------


@pytest.mark.django_db(databases=["default", "other"], transaction=True)
def test_each_alias_has_its_own_pool_on_the_test_database() -> None:
    assert scalar(connections["default"], "SELECT DATABASE()") == "test_%s_default" % PREFIX
    assert scalar(connections["other"], "SELECT DATABASE()") == "test_%s_other" % PREFIX
    assert connections["default"].get_pool() is not connections["other"].get_pool()


def test_wrappers_with_equal_settings_share_one_pool(scratch: Scratch) -> None:
    assert scratch.wrapper().get_pool() is scratch.wrapper().get_pool()
    # A different pool size is a different pool.
    assert scratch.wrapper().get_pool() is not scratch.wrapper({"pool_size": 2}).get_pool()


def test_session_setup_runs_once_per_physical_connection(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    assert scalar(db, "SELECT @@SESSION.tx_isolation") == "READ-COMMITTED"
    assert scalar(db, "SELECT @@SESSION.sql_auto_is_null") == 0
    assert scalar(db, "SELECT @@SESSION.autocommit") == 1
    for _ in range(5):
        other = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
        scalar(other, "SELECT 1")
        other.close()
    assert db.pool_stats()["connects"] == 1


def test_server_facts_are_read_once_per_pool(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, admin: Admin
) -> None:
    server_version = admin.query("SELECT VERSION()")[0][0]
    calls = []
    real = pooled_connect.read_server_facts

    def counting(conn: Any) -> dict[str, Any]:
        calls.append(1)
        return real(conn)

    monkeypatch.setattr(pooled_connect, "read_server_facts", counting)
    for _ in range(10):
        db = scratch.wrapper({"pool_size": 2, "max_overflow": 0})
        assert db.mysql_is_mariadb == ("mariadb" in server_version.lower())
        assert db.mysql_version >= (10,)
        scalar(db, "SELECT 1")
        db.close()
    assert len(calls) == 1


def test_pooling_off_gives_a_stock_connection(scratch: Scratch) -> None:
    db = scratch.wrapper(False)
    db.ensure_connection()
    from django_pooled_mysql.lease.connection import PooledConnection

    assert not isinstance(db.connection, PooledConnection)
    assert db.connection.get_server_info()
    with pytest.raises(ValueError, match="does not use a pool"):
        db.pool_stats()
    db.close()


# -- exhaustion ---------------------------------------------------------------------------------


def test_exhausted_pool_raises_pool_timeout_with_the_numbers(scratch: Scratch) -> None:
    holder = scratch.wrapper({"pool_size": 1, "max_overflow": 1, "timeout": 0.2}, alias="tiny")
    second = scratch.wrapper({"pool_size": 1, "max_overflow": 1, "timeout": 0.2}, alias="tiny")
    waiter = scratch.wrapper({"pool_size": 1, "max_overflow": 1, "timeout": 0.2}, alias="tiny")
    for db in (holder, second):
        db.set_autocommit(False)
        scalar(db, "SELECT 1")  # both connections pinned by open transactions
    with pytest.raises(OperationalError) as caught:
        scalar(waiter, "SELECT 1")
    assert isinstance(caught.value.__cause__, django_pooled_mysql.PoolTimeout)
    message = str(caught.value)
    for part in ("'tiny'", "0.2 s", "pool_size=1", "max_overflow=1", "in use 2", "idle 0"):
        assert part in message
    assert "OPTIONS['pool']['pool_size']" in message
    stats = waiter.pool_stats()
    assert (stats["timeouts"], stats["wait_count"]) == (1, 1)
    assert stats["wait_seconds"] >= 0.2
    for db in (holder, second):
        db.rollback()
        db.set_autocommit(True)
    assert scalar(waiter, "SELECT 1") == 1


def test_waiting_worker_gets_the_connection_when_returned(scratch: Scratch) -> None:
    options = {"pool_size": 1, "max_overflow": 0, "timeout": 10}
    holder = scratch.wrapper(options)
    holder.set_autocommit(False)
    scalar(holder, "SELECT 1")
    got: list[int] = []
    waiting = threading.Event()

    def wait_for_it() -> None:
        db = scratch.wrapper(options)
        waiting.set()
        got.append(scalar(db, "SELECT 7"))
        db.close()

    thread = threading.Thread(target=wait_for_it)
    thread.start()
    assert waiting.wait(5)
    # A gauge: the event it stands for is inside the pool.
    eventually(lambda: holder.pool_stats()["waiting"] == 1, what="the worker to wait")
    holder.commit()
    holder.set_autocommit(True)
    join_all([thread], 10)
    assert got == [7]


def test_a_returned_connection_goes_to_the_waiters_in_arrival_order(scratch: Scratch) -> None:
    # Four workers wait, in a known order, for the one connection a holder has; the holder gives
    # it back and asks again at once, as a worker running statement after statement does. The
    # connection goes to each waiter in turn and the holder comes last. Without the hand-off,
    # the worker that returns a connection takes it straight back before a woken waiter runs,
    # and waiters time out while connections come back all the time. The server's
    # auto-increment records the order: one connection runs the inserts one after another.
    options = {"pool_size": 1, "max_overflow": 0, "timeout": 10}
    insert = "INSERT INTO testapp_author (name, age) VALUES (%s, %s)"
    holder = scratch.wrapper(options)
    holder.set_autocommit(False)
    scalar(holder, "SELECT 1")  # the transaction holds the only connection until commit

    def take_turn(i: int) -> None:
        db = scratch.wrapper(options)
        rows(db, insert, ["waiter", i])
        db.close()

    waiters = []
    for i in range(4):
        thread = threading.Thread(target=take_turn, args=(i,))
        thread.start()
        waiters.append(thread)
        eventually(
            lambda n=i + 1: holder.pool_stats()["waiting"] == n, what="waiter %d to wait" % i
        )
    holder.commit()
    holder.set_autocommit(True)
    rows(holder, insert, ["holder", 99])  # asks again at once
    join_all(waiters, 30)
    turns = [age for (age,) in rows(holder, "SELECT age FROM testapp_author ORDER BY id")]
    assert turns == [0, 1, 2, 3, 99]
    assert holder.pool_stats()["timeouts"] == 0


# -- broken connections -------------------------------------------------------------------------


def test_killed_idle_connection_is_replaced_without_error(scratch: Scratch, admin: Admin) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    first = session_id(db)
    admin.kill(first)
    # The server finishes a KILL asynchronously.
    eventually(lambda: first not in admin.connection_ids(scratch.name), what="the kill")
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('after kill', 1)")
    assert session_id(db) != first
    assert scalar(db, "SELECT COUNT(*) FROM testapp_author") == 1
    assert db.pool_stats()["invalidations"] == 1


def test_statement_killed_mid_flight_fails_cleanly_and_is_not_retried(
    scratch: Scratch, admin: Admin
) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    victim = session_id(db)
    started = threading.Event()

    def kill_when_running() -> None:
        assert started.wait(5), "the statement never started"
        eventually(
            lambda: bool(
                admin.query(
                    "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s AND INFO LIKE %s",
                    (victim, "%SLEEP%"),
                )
            ),
            what="the statement to run on the server",
        )
        Admin().kill(victim)

    killer = threading.Thread(target=kill_when_running)
    killer.start()
    with pytest.raises(OperationalError) as caught, db.cursor() as cursor:
        started.set()
        cursor.execute("SELECT SLEEP(30)")
    join_all([killer], 30)
    assert caught.value.args[0] == 2013
    assert db.pool_stats()["invalidations"] == 1
    assert session_id(db) != victim


def test_statement_that_never_reached_the_server_is_retried_once(scratch: Scratch) -> None:
    # Without pre_ping the checkout does not look at the socket, so the statement meets the
    # closed connection and fails before anything is sent.
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0, "pre_ping": False})
    first = session_id(db)
    pool = db.get_pool()
    record, physical = pool.checkout()
    physical.close()
    pool.checkin(record)
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('once', 1)")
    assert scalar(db, "SELECT COUNT(*) FROM testapp_author") == 1
    assert session_id(db) != first
    assert db.pool_stats()["invalidations"] == 1


class Interrupted(BaseException):
    """Stands for gevent.Timeout or KeyboardInterrupt arriving mid-statement."""


def test_base_exception_mid_statement_invalidates_the_connection(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_pooled_mysql.lease import connection as connection_module

    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    first = session_id(db)
    real = connection_module.run_on

    def interrupted(*args: Any) -> Any:
        real(*args)
        raise Interrupted

    monkeypatch.setattr(connection_module, "run_on", interrupted)
    with pytest.raises(Interrupted), db.cursor() as cursor:
        cursor.execute("SELECT 1")
    monkeypatch.setattr(connection_module, "run_on", real)
    assert session_id(db) != first
    assert db.pool_stats()["invalidations"] == 1


def test_lost_connection_inside_a_transaction_is_never_retried_or_committed(
    scratch: Scratch, admin: Admin
) -> None:
    db = scratch.wrapper({"pool_size": 2, "max_overflow": 0})
    db.set_autocommit(False)
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('lost', 1)")
        victim = session_id(db)
        admin.kill(victim)
        eventually(lambda: victim not in admin.connection_ids(scratch.name), what="the kill")
        with pytest.raises(OperationalError):
            cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('lost 2', 1)")
        # Later statements of the same transaction must not silently run in autocommit.
        with pytest.raises(OperationalError, match="lost"):
            cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('lost 3', 1)")
    with pytest.raises(OperationalError, match="nothing of the transaction was committed"):
        db.commit()
    db.rollback()
    db.set_autocommit(True)
    assert scalar(db, "SELECT COUNT(*) FROM testapp_author") == 0


# -- stats, close, fork --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_pool_stats_has_the_documented_keys() -> None:
    scalar(connections["default"], "SELECT 1")
    stats = django_pooled_mysql.pool_stats("default")
    assert set(stats) == {
        "pool_size",
        "max_overflow",
        "open",
        "in_use",
        "idle",
        "overflow",
        "waiting",
        "wait_count",
        "wait_seconds",
        "timeouts",
        "connects",
        "invalidations",
        "closed_idle",
        "closed_lifetime",
        "closed_overflow",
        "keepalive_pings",
        "min_idle",
        "session_pins",
        "pins",
        "pinned_seconds",
        "variable_replays",
        "resets",
        "server_refusals",
        "leak_warnings",
        "abandoned",
        "cancels",
        "cancelling",
        "reset_reconnects",
        "max_open",
        "requests",
        "closes",
        "connect_errors",
    }
    assert stats["open"] >= 1 and stats["in_use"] == 0


def test_recycle_replaces_old_connections(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0, "recycle": 0.05})
    first = session_id(db)
    threading.Event().wait(0.1)  # the connection must age past `recycle`
    assert session_id(db) != first
    assert db.pool_stats()["closed_lifetime"] >= 1


def test_close_pool_closes_idle_connections_and_later_use_reopens(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 2, "max_overflow": 0})
    scalar(db, "SELECT 1")
    assert scratch.server_connections() == 1
    assert db.close_pool() == 1
    eventually(lambda: scratch.server_connections() == 0, what="the server to drop it")
    assert scalar(db, "SELECT 2") == 2


def test_forked_child_builds_its_own_pool_and_parent_keeps_working(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    parent_id = session_id(db)
    child_id = int(
        in_forked_child(lambda: session_id(scratch.wrapper({"pool_size": 1, "max_overflow": 0})))
    )
    assert child_id not in (0, parent_id)
    # The child did not close or use the parent's socket.
    assert session_id(db) == parent_id


def test_password_never_appears_in_errors_names_reprs_or_logs(
    scratch: Scratch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t-Pa55word"
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0}, alias="secret", PASSWORD=secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(OperationalError) as caught:
        scalar(db, "SELECT 1")
    pool = db.get_pool()
    seen = [str(caught.value), repr(caught.value.__cause__), pool.name, repr(pool)]
    seen += [repr(db.connection), str(pool.stats()), caplog.text]
    assert caught.value.args[0] == 1045  # access denied: the password was sent and refused
    assert all(secret not in text for text in seen)


def test_wrong_credentials_fail_in_connect_like_the_stock_backend(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0}, alias="badpw", PASSWORD="wrong")
    with pytest.raises(OperationalError):
        db.ensure_connection()
    assert db.connection is None  # nothing half-made is kept
    db.settings_dict["PASSWORD"] = scratch.settings()["PASSWORD"]
    assert scalar(db, "SELECT 1") == 1


def test_is_usable_is_false_once_closed_and_costs_no_round_trip(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1, "max_overflow": 0})
    scalar(db, "SELECT 1")
    assert db.is_usable()
    db._close()  # as Django's own test emulates a connection closed by the database
    assert not db.is_usable()
