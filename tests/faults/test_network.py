"""Networks that fail without a FIN (issue 16), through a TCP proxy that can go silent, reset,
delay, or accept connections it never answers (tests/support/tcp_proxy.py).

Every wait here is bounded: the statements carry driver timeouts or the pool's own, and each
test asserts how long the failure took to surface.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError

from django_pooled_mysql.base import DatabaseWrapper
from django_pooled_mysql.exceptions import CommitInDoubt, PoolTimeout
from django_pooled_mysql.pool.registry import close_pools
from tests.integration.test_gevent import CHECKS
from tests.support.helpers import FaultServer, join_all, run_script, scalar
from tests.support.tcp_proxy import TcpProxy

TIMEOUTS = {"read_timeout": 2, "write_timeout": 2, "connect_timeout": 2}


@pytest.fixture
def proxied(fault_server: FaultServer, django_db_blocker: Any) -> Iterator[tuple[TcpProxy, str]]:
    """A database on the fault server, reached through a proxy; pools closed afterwards."""
    name = "network_%d" % time.monotonic_ns()
    fault_server.query("CREATE DATABASE %s" % name)
    fault_server.query("CREATE TABLE %s.acks (id INT PRIMARY KEY)" % name)
    with TcpProxy(fault_server.host, fault_server.port) as proxy, django_db_blocker.unblock():
        yield proxy, name
        close_pools(lambda key: str(key[0]).startswith("network"))  # type: ignore[index]
    fault_server.query("DROP DATABASE IF EXISTS %s" % name)


def wrapper(
    fault_server: FaultServer, proxy: TcpProxy, name: str, pool: Any, **options: Any
) -> Any:
    settings = {
        **fault_server.settings(name),
        "ENGINE": "django_pooled_mysql",
        "HOST": proxy.host,
        "PORT": str(proxy.port),
        "OPTIONS": {**options, "pool": pool},
        "TIME_ZONE": None,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {},
    }
    return DatabaseWrapper(settings, "network")


def timed(action: Any) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        action()
    except BaseException as exc:  # what the application sees
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def cause(exc: BaseException | None) -> Any:
    return exc.__cause__ if exc is not None and exc.__cause__ is not None else exc


def test_a_silent_partition_fails_a_statement_at_read_timeout_and_recovery_is_fast(
    fault_server: FaultServer, proxied: tuple[TcpProxy, str]
) -> None:
    proxy, name = proxied
    db = wrapper(fault_server, proxy, name, {"pool_size": 2, "max_overflow": 0}, **TIMEOUTS)
    assert scalar(db, "SELECT 1") == 1
    proxy.set("blackhole")
    error, took = timed(lambda: scalar(db, "SELECT 2"))
    assert isinstance(error, OperationalError) and cause(error).args[0] == 2013
    assert 1.9 <= took <= 3.5, took
    proxy.set("forward")
    error, took = timed(lambda: scalar(db, "SELECT 3"))
    assert error is None and took < 1.0, (error, took)
    stats = db.pool_stats()
    assert stats["in_use"] == 0 and stats["open"] <= 2


def test_a_commit_cut_off_by_a_partition_is_reported_in_doubt_and_acked_commits_stay(
    fault_server: FaultServer, proxied: tuple[TcpProxy, str]
) -> None:
    proxy, name = proxied
    db = wrapper(fault_server, proxy, name, {"pool_size": 2, "max_overflow": 0}, **TIMEOUTS)
    acked = []
    for n in range(20):
        db.set_autocommit(False)
        with db.cursor() as cursor:
            cursor.execute("INSERT INTO acks (id) VALUES (%s)", [n])
        db.commit()
        db.set_autocommit(True)
        acked.append(n)
    db.set_autocommit(False)
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO acks (id) VALUES (100)")
    proxy.set("blackhole")
    error, took = timed(db.commit)
    assert isinstance(cause(error), CommitInDoubt), error
    assert cause(error).args[0] == 2013, "the driver's code, as the stock backend raises it"
    assert "may or may not have committed" in str(error) and took <= 3.5
    db.rollback()
    db.set_autocommit(True)
    proxy.set("forward")
    stored = {row[0] for row in fault_server.query("SELECT id FROM %s.acks" % name)}
    assert set(acked) <= stored, "an acknowledged commit was lost"


def test_a_server_gone_without_a_rst_leaves_the_commit_in_doubt_and_nothing_half_done(
    fault_server: FaultServer, proxied: tuple[TcpProxy, str]
) -> None:
    """half_open: the server ended the session (a crash, a failover) but the client hears
    nothing. The in-doubt COMMIT had in fact not committed, the session's named lock is free;
    once the link is back, every caller succeeds at once on new connections."""
    proxy, name = proxied
    pool = {"pool_size": 4, "max_overflow": 0}
    db = wrapper(fault_server, proxy, name, pool, **TIMEOUTS)
    assert scalar(db, "SELECT 1") == 1
    db.set_autocommit(False)
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO acks (id) VALUES (100)")
        cursor.execute("SELECT GET_LOCK(%s, 0)", [name])
    proxy.set("half_open")
    error, took = timed(db.commit)
    assert isinstance(cause(error), CommitInDoubt) and took <= 3.5, (error, took)
    db.rollback()
    db.set_autocommit(True)
    assert fault_server.query("SELECT id FROM %s.acks" % name) == []
    assert fault_server.query("SELECT IS_FREE_LOCK(%s)", (name,)) == [(1,)]
    proxy.set("forward")  # the pool's idle connections now hear a RST
    results: list[tuple[BaseException | None, float]] = []

    def client(n: int) -> None:
        mine = wrapper(fault_server, proxy, name, pool, **TIMEOUTS)
        results.append(timed(lambda: scalar(mine, "SELECT %s", [n])))
        mine.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    join_all(threads, 30)
    assert [error for error, _ in results] == [None] * 4, results
    assert max(took for _, took in results) < 1.0, results
    assert db.pool_stats()["in_use"] == 0


def test_a_commit_whose_answer_is_lost_is_in_doubt_though_it_committed(
    fault_server: FaultServer, proxied: tuple[TcpProxy, str]
) -> None:
    """drop_replies: the COMMIT reaches the server and commits; its OK never comes back. The
    error says the commit may have happened, and it did: no acknowledged write is claimed lost,
    no unacknowledged one is claimed undone."""
    proxy, name = proxied
    db = wrapper(fault_server, proxy, name, {"pool_size": 2, "max_overflow": 0}, **TIMEOUTS)
    db.set_autocommit(False)
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO acks (id) VALUES (200)")
    proxy.set("drop_replies")
    error, took = timed(db.commit)
    assert isinstance(cause(error), CommitInDoubt) and took <= 3.5, (error, took)
    assert "may or may not have committed" in str(error)
    db.rollback()
    db.set_autocommit(True)
    proxy.set("forward")
    assert fault_server.query("SELECT id FROM %s.acks" % name) == [(200,)]
    assert scalar(db, "SELECT 7") == 7


def test_a_server_that_never_answers_the_handshake_costs_at_most_the_pool_timeout(
    fault_server: FaultServer, proxied: tuple[TcpProxy, str]
) -> None:
    proxy, name = proxied
    # No connect_timeout of the driver's: the pool's timeout bounds the connect.
    db = wrapper(fault_server, proxy, name, {"pool_size": 1, "max_overflow": 0, "timeout": 3})
    assert scalar(db, "SELECT 1") == 1
    holder = wrapper(fault_server, proxy, name, {"pool_size": 1, "max_overflow": 0, "timeout": 3})
    holder.set_autocommit(False)
    scalar(holder, "SELECT 1")  # the pool's only place is held
    proxy.set("mute")
    results: list[tuple[BaseException | None, float]] = []

    def waiter() -> None:
        other = wrapper(
            fault_server, proxy, name, {"pool_size": 1, "max_overflow": 0, "timeout": 3}
        )
        results.append(timed(lambda: scalar(other, "SELECT 2")))

    thread = threading.Thread(target=waiter)
    thread.start()
    join_all([thread], 30)
    [(error, took)] = results
    assert isinstance(cause(error), PoolTimeout) and took <= 3.5, (error, took)
    # A new pool's first connect (the opener) is bounded by the same timeout.
    fresh = wrapper(fault_server, proxy, name, {"pool_size": 1, "max_overflow": 0, "timeout": 2})
    error, took = timed(fresh.ensure_connection)
    assert isinstance(error, OperationalError) and took <= 3.5, (error, took)
    # The holder's connection was only silenced: its bytes wait in the kernel's buffers.
    proxy.set("forward")
    holder.rollback()
    holder.set_autocommit(True)
    holder.close()
    assert scalar(db, "SELECT 3") == 3
    assert db.pool_stats()["in_use"] == 0


def test_resets_are_survived_and_a_slow_link_only_slows(
    fault_server: FaultServer, proxied: tuple[TcpProxy, str]
) -> None:
    proxy, name = proxied
    db = wrapper(fault_server, proxy, name, {"pool_size": 4, "max_overflow": 0}, **TIMEOUTS)
    errors = 0
    for n in range(500):
        if n % 50 == 25:
            proxy.set("reset")
        try:
            scalar(db, "SELECT %s", [n])
        except OperationalError:
            errors += 1
    # An idle connection reset by the network is found by the checkout's socket check.
    assert errors == 0
    # 20 ms each way: 8 threads share 4 connections, so 80 statements of one 40 ms round trip
    # each take at least 80 x 0.04 / 4 = 0.8 s (Little's law for a pool of 4), and not much more.
    proxy.set("forward", delay=0.02)
    peak = [0]

    def client() -> None:
        mine = wrapper(fault_server, proxy, name, {"pool_size": 4, "max_overflow": 0}, **TIMEOUTS)
        for _ in range(10):
            scalar(mine, "SELECT 1")
            peak[0] = max(peak[0], mine.pool_stats()["open"])
        mine.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    join_all(threads, 60)
    took = time.monotonic() - started
    assert 0.8 <= took <= 2.4 and peak[0] <= 4, (took, peak)


def test_pooled_sockets_carry_tcp_keepalive(
    fault_server: FaultServer, proxied: tuple[TcpProxy, str]
) -> None:
    import os
    import socket

    proxy, name = proxied
    db = wrapper(
        fault_server, proxy, name, {"pool_size": 1, "max_overflow": 0, "tcp_keepalive": 30}
    )
    scalar(db, "SELECT 1")
    [record] = list(db.pool.idle)
    sock = socket.socket(fileno=os.dup(record.info["fd"]))
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 5
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        # A request sent into a partition is given up after the same 45 s.
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 45_000
    finally:
        sock.close()


@pytest.mark.parametrize(
    "spec",
    [{"cooperative": True}, {"cooperative": False}, {"driver": "pymysql"}],
    ids=["mysqlclient-cooperative", "mysqlclient-blocking", "pymysql"],
)
@pytest.mark.parametrize("fault", ["blackhole", "half_open"])
def test_under_gevent_a_partition_fails_statements_at_read_timeout_without_blocking_the_hub(
    fault_server: FaultServer, proxied: tuple[TcpProxy, str], spec: dict[str, Any], fault: str
) -> None:
    _, name = proxied
    observed, _ = run_script(
        CHECKS,
        {
            "scenario": "partition",
            "db": name,
            "proxy_upstream": [fault_server.host, fault_server.port],
            "pool": {"pool_size": 4, "max_overflow": 0, "timeout": 5},
            "fault": fault,
            **spec,
        },
        env={"DJANGO_POOLED_MYSQL_TEST_URL": fault_server.url},
    )
    assert observed["codes"] == [2013] * 4, observed
    assert observed["longest"] <= 3.5, observed
    if spec.get("cooperative", True) or spec.get("driver") == "pymysql":
        # The four waits overlap and the hub kept running meanwhile.
        assert observed["elapsed"] <= 3.5 and observed["ticks"] > 100, observed
    assert observed["after"] == [[7]], observed


def test_with_no_driver_timeouts_tcp_keepalive_ends_a_statement_cut_off_by_a_dead_link() -> None:
    """A partition that drops packets in the kernel (tests/faults/kernel_partition.py: a private
    network namespace whose loopback goes down), each driver mode, no driver timeouts."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("kernel_partition.py")
    result = subprocess.run(
        ["unshare", "--net", sys.executable, str(script)],
        cwd=script.parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        "needs root and unshare(1) for a private network namespace: %s" % result.stderr[-3000:]
    )
    observed = json.loads(result.stdout.strip().splitlines()[-1])
    for mode, seen in observed.items():
        assert "error" not in seen, (mode, seen.get("error"))
        # tcp_keepalive=1: 1 s idle + 3 probes 1 s apart (TCP_USER_TIMEOUT 4 s) after the last
        # packet; the driver reports the lost connection as for any other network error.
        assert seen["kept_code"] == 2013 and seen["kept_after"] <= 6.0, (mode, seen)
        # Without keepalive the same statement still waits, though the server has finished it.
        assert seen["bare_stuck"] and seen["bare"] == 0, (mode, seen)
        # Once the link is back, every caller succeeds: the idle connections keepalive found
        # dead are replaced, never handed out; no place is lost.
        assert seen["after"] == [7] * 4 and seen["idle_before"] == 3, (mode, seen)
        assert seen["replaced"] >= 3 and seen["in_use"] == 0 and seen["open"] <= 4, (mode, seen)
    assert sorted(observed) == ["gevent", "pymysql", "threads"]
