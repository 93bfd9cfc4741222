"""Resilience scenarios on a private server that tests restart, kill and reconfigure (issue 6)."""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from django_pooled_mysql.base import DatabaseWrapper
from django_pooled_mysql.pool.registry import close_pools
from tests.support.helpers import (
    ROOT,
    FaultServer,
    eventually,
    in_forked_child,
    join_all,
    scalar,
    session_id,
)

WORKER = Path(__file__).with_name("worker.py")


@pytest.fixture
def faultdb(fault_server: FaultServer, django_db_blocker: Any) -> Iterator[str]:
    """A fresh database with a `hits` table on the fault server; its pools closed afterwards."""
    name = "faults_%d" % time.monotonic_ns()
    fault_server.query("CREATE DATABASE %s" % name)
    fault_server.query(
        "CREATE TABLE %s.hits (id INT AUTO_INCREMENT PRIMARY KEY, worker INT, n INT)" % name
    )
    with django_db_blocker.unblock():
        yield name
    close_pools(lambda key: str(key[0]).startswith("faults"))  # type: ignore[index]
    fault_server.query("DROP DATABASE IF EXISTS %s" % name)


def wrapper(server: FaultServer, name: str, alias: str = "faults", **pool: Any) -> Any:
    options = {"pool_size": 4, "max_overflow": 4, "timeout": 10, **pool}
    settings = server.settings(
        name,
        ENGINE="django_pooled_mysql",
        OPTIONS={"pool": options},
        CONN_MAX_AGE=0,
        CONN_HEALTH_CHECKS=False,
        AUTOCOMMIT=True,
        ATOMIC_REQUESTS=False,
        TIME_ZONE=None,
        TEST={},
    )
    return DatabaseWrapper(settings, alias)


def warm(server: FaultServer, name: str, count: int, **pool: Any) -> list[Any]:
    """Open `count` pooled connections at once (transactions), then give them all back."""
    holders = [wrapper(server, name, **pool) for _ in range(count)]
    for holder in holders:
        holder.set_autocommit(False)
        scalar(holder, "SELECT 1")
    for holder in holders:
        holder.commit()
        holder.set_autocommit(True)
    return holders


# -- 1. restart and crash under load ---------------------------------------------------------


@pytest.mark.parametrize("how", ["restart", "crash"])
def test_reconnects_after_server_restart_and_loses_no_acknowledged_commit(
    fault_server: FaultServer, faultdb: str, how: str
) -> None:
    acked: list[tuple[int, int]] = []
    failures: list[tuple[float, int]] = []  # (when the failed attempt started, error code)
    lock = threading.Condition()
    stop = threading.Event()
    back_at = [float("inf")]

    def worker(i: int) -> None:
        db = wrapper(fault_server, faultdb)
        n = 0
        while not stop.is_set():
            n += 1
            started = time.monotonic()
            try:
                db.set_autocommit(False)
                scalar(db, "SELECT 1")
                with db.cursor() as cursor:
                    cursor.execute("INSERT INTO hits (worker, n) VALUES (%s, %s)", [i, n])
                db.commit()
                with lock:
                    acked.append((i, n))
                    lock.notify_all()
            except OperationalError as exc:
                failures.append((started, exc.args[0]))
                try:
                    db.rollback()
                except OperationalError:
                    pass
                stop.wait(0.01)  # pacing while the server is down, not synchronisation
            finally:
                try:
                    db.set_autocommit(True)
                except OperationalError:
                    pass
        db.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    try:
        with lock:
            assert lock.wait_for(lambda: len(acked) >= 100, 30)
        if how == "restart":
            fault_server.restart()
        else:
            fault_server.kill()
            fault_server.start()
        back_at[0] = time.monotonic()  # the server answers again
        after_restart = len(acked)
        with lock:
            # Recovery without restarting this process: commits flow again.
            assert lock.wait_for(lambda: len(acked) >= after_restart + 100, 60)
    finally:
        stop.set()
        join_all(threads, 60)
    stored = set(fault_server.query("SELECT worker, n FROM %s.hits" % faultdb))
    assert set(acked) <= stored, "acknowledged commits were lost"
    # Statements in flight or started while the server was down fail with a clean
    # OperationalError (lost connection, cannot connect); none started after it was back.
    assert failures, "the restart should have interrupted something"
    assert {code for _, code in failures} <= {1927, 2002, 2003, 2006, 2013}
    assert [code for started, code in failures if started > back_at[0]] == []


# -- 2. killed and timed-out idle connections ---------------------------------------------------


def test_killed_idle_connections_cause_no_error(fault_server: FaultServer, faultdb: str) -> None:
    warm(fault_server, faultdb, 4)
    victims = fault_server.connection_ids(faultdb)
    assert len(victims) == 4
    for victim in victims:
        fault_server.query("KILL CONNECTION %d" % victim)
    eventually(lambda: not fault_server.connection_ids(faultdb) & victims, what="the kills")
    db = wrapper(fault_server, faultdb)
    for n in range(20):
        with db.cursor() as cursor:
            cursor.execute("INSERT INTO hits (worker, n) VALUES (0, %s)", [n])
    assert scalar(db, "SELECT COUNT(*) FROM hits") == 20
    assert db.pool_stats()["invalidations"] >= 1


def test_wait_timeout_expiry_causes_no_error(fault_server: FaultServer, faultdb: str) -> None:
    fault_server.set_global("wait_timeout", 1)
    try:
        warm(fault_server, faultdb, 3, ping_after=60)
        opened = fault_server.connection_ids(faultdb)
        assert len(opened) == 3
        # The server drops them after wait_timeout; wait for that to have happened.
        eventually(lambda: not fault_server.connection_ids(faultdb) & opened, what="wait_timeout")
        db = wrapper(fault_server, faultdb, ping_after=60)
        for n in range(10):
            with db.cursor() as cursor:
                cursor.execute("INSERT INTO hits (worker, n) VALUES (0, %s)", [n])
        assert scalar(db, "SELECT COUNT(*) FROM hits") == 10
    finally:
        fault_server.set_global("wait_timeout", 28800)


# -- 3. the server's connection limit --------------------------------------------------------------


def run_workers(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def limited_user(fault_server: FaultServer, faultdb: str) -> Iterator[str]:
    fault_server.query("DROP USER IF EXISTS 'limited'@'%'")
    fault_server.query("CREATE USER 'limited'@'%' IDENTIFIED BY 'pw'")
    fault_server.query("GRANT ALL ON " + faultdb + ".* TO 'limited'@'%'")
    yield "limited"
    fault_server.query("DROP USER 'limited'@'%'")


@pytest.mark.parametrize("limit", ["max_user_connections", "max_connections"])
def test_server_connection_limit_is_waited_out_not_failed(
    fault_server: FaultServer, faultdb: str, limited_user: str, limit: str
) -> None:
    if limit == "max_user_connections":
        fault_server.query("ALTER USER 'limited'@'%' WITH MAX_USER_CONNECTIONS 6")
    else:
        fault_server.set_global("max_connections", 10)  # MariaDB's minimum
    settings = fault_server.settings(
        faultdb,
        ENGINE="django_pooled_mysql",
        USER=limited_user,
        PASSWORD="pw",
        OPTIONS={"pool": {"pool_size": 4, "max_overflow": 4, "timeout": 60}},
    )
    spec = {"settings": settings, "threads": 15, "statements": 20, "sql": "SELECT SLEEP(0.01)"}
    try:
        processes = [run_workers(spec) for _ in range(2)]
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        fault_server.set_global("max_connections", 100)
    results = []
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["error_count"] for r in results] == [0, 0], [r["errors"] for r in results]
    assert [r["ok"] for r in results] == [300, 300]
    # Two processes could open 16 connections, the server allowed fewer: the limit was hit.
    refusals = [r["stats"]["server_refusals"] for r in results]
    assert sum(refusals) > 0
    # One connect attempt at a time per process, with a shared backoff: no storm of refused
    # connects (one per waiting worker per turn was ~100-300 per process here).
    assert max(refusals) <= 50, refusals
    assert fault_server.query("SELECT COUNT(*) FROM %s.hits" % faultdb) == [(600,)]


def test_server_limit_timeout_says_what_the_server_refused(
    fault_server: FaultServer, faultdb: str, limited_user: str
) -> None:
    fault_server.query("ALTER USER 'limited'@'%' WITH MAX_USER_CONNECTIONS 1")
    settings = fault_server.settings(
        faultdb,
        ENGINE="django_pooled_mysql",
        USER=limited_user,
        PASSWORD="pw",
        OPTIONS={"pool": {"pool_size": 2, "max_overflow": 0, "timeout": 0.5}},
        CONN_MAX_AGE=0,
        CONN_HEALTH_CHECKS=False,
        AUTOCOMMIT=True,
        ATOMIC_REQUESTS=False,
        TIME_ZONE=None,
        TEST={},
    )
    holder = DatabaseWrapper(settings, "faults_limit")
    holder.set_autocommit(False)
    scalar(holder, "SELECT 1")  # the account's only allowed connection, pinned
    db = DatabaseWrapper(settings, "faults_limit")
    with pytest.raises(OperationalError) as caught:
        scalar(db, "SELECT 1")
    message = str(caught.value)
    assert "the server refused new connections" in message
    # MariaDB reports the account limit as 1226 (1203 for the global max_user_connections).
    assert "1226" in message or "1203" in message
    assert "max_user_connections=1" in message and "while this process held 1" in message
    assert "'faults_limit'" in message and "'pw'" not in message
    holder.rollback()
    holder.set_autocommit(True)
    assert scalar(db, "SELECT 2") == 2


# -- 4. fork ---------------------------------------------------------------------------------------


def test_forked_child_never_closes_or_uses_the_parents_sockets(
    fault_server: FaultServer, faultdb: str
) -> None:
    holders = warm(fault_server, faultdb, 2)
    before = fault_server.connection_ids(faultdb)
    assert len(before) == 2

    def child() -> int:
        # As a Gunicorn worker forked after --preload queries.
        child_id = session_id(wrapper(fault_server, faultdb))
        # Drop every inherited object and collect: connection objects finalised here must not
        # send COM_QUIT on the parent's sockets.
        for holder in holders:
            holder.connection = None
        holders.clear()
        gc.collect()
        close_pools()
        return int(child_id)

    child_id = int(in_forked_child(child))
    assert child_id and child_id not in before
    eventually(lambda: child_id not in fault_server.connection_ids(faultdb), what="child exit")
    # The parent's two connections are untouched and still serve the parent.
    assert fault_server.connection_ids(faultdb) == before
    db = wrapper(fault_server, faultdb)
    assert session_id(db) in before
    assert db.pool_stats()["invalidations"] == 0


# -- 6. leak warnings ------------------------------------------------------------------------------


class _WarningSeen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.seen.set()


def test_long_held_transaction_logs_a_warning_with_its_stack(
    fault_server: FaultServer, faultdb: str
) -> None:
    handler = _WarningSeen()
    logger = logging.getLogger("django_pooled_mysql")
    logger.addHandler(handler)
    try:
        db = wrapper(fault_server, faultdb, leak_warning_after=0.2)
        db.set_autocommit(False)
        scalar(db, "SELECT 1")  # the transaction lease starts here and is never ended
        assert handler.seen.wait(10)
        db.rollback()
        db.set_autocommit(True)
    finally:
        logger.removeHandler(handler)
    message = handler.messages[0]
    assert "held for" in message and "leak_warning_after=0.2" in message
    assert "test_long_held_transaction_logs_a_warning_with_its_stack" in message
    assert db.pool_stats()["leak_warnings"] == 1


# -- 7. shutdown -----------------------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["mysqlclient", "pymysql"])
def test_normal_process_exit_closes_connections_cleanly(
    fault_server: FaultServer, faultdb: str, driver: str
) -> None:
    aborted = fault_server.global_status("Aborted_clients")
    settings = fault_server.settings(
        faultdb, ENGINE="django_pooled_mysql", OPTIONS={"pool": {"pool_size": 4}}
    )
    spec = {"settings": settings, "threads": 6, "statements": 5, "driver": driver}
    out, err = run_workers(spec).communicate(timeout=120)
    assert json.loads(out.strip().splitlines()[-1])["error_count"] == 0, err[-2000:]
    eventually(lambda: not fault_server.connection_ids(faultdb), what="connections to close")
    after = fault_server.global_status("Aborted_clients")
    assert after == aborted


def test_a_replay_that_fails_fails_its_statement_and_retires_the_connection(
    fault_server: FaultServer, faultdb: str
) -> None:
    # A session variable replayed on each lease (docs/session-state.md) whose value the server
    # no longer takes: the storage engine it names is uninstalled meanwhile.
    from django.db import DatabaseError

    fault_server.query("INSTALL SONAME 'ha_blackhole'")
    try:
        mine = wrapper(fault_server, faultdb, alias="faults_replay", pool_size=1, max_overflow=0)
        theirs = wrapper(fault_server, faultdb, alias="faults_replay", pool_size=1, max_overflow=0)
        with mine.cursor() as cursor:
            cursor.execute("SET default_storage_engine = 'BLACKHOLE'")
        # The only connection goes back to the pool's value for the other user...
        assert scalar(theirs, "SELECT @@SESSION.default_storage_engine") == "InnoDB"
        session = session_id(theirs)
        fault_server.query("UNINSTALL SONAME 'ha_blackhole'")
        before = mine.pool_stats()["invalidations"]
        # ... so this user's next statement replays the value, which fails: so does the
        # statement, and the connection, whose session may be half set, is closed.
        with pytest.raises(DatabaseError) as raised:
            scalar(mine, "SELECT 1")
        assert raised.value.args[0] == 1286, raised.value  # Unknown storage engine
        assert mine.pool_stats()["invalidations"] == before + 1
        assert session not in fault_server.connection_ids(faultdb)
        # The other user goes on, on a new connection.
        assert scalar(theirs, "SELECT @@SESSION.default_storage_engine") == "InnoDB"
        assert session_id(theirs) != session
    finally:
        installed = fault_server.query(
            "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'BLACKHOLE'"
        )
        if installed[0][0]:
            fault_server.query("UNINSTALL SONAME 'ha_blackhole'")
