"""The pool's own invariants with a fake DB-API connection (no database): cap, overflow,
hand-off order, close with connections out, recycle, the idle check, events."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from django_pooled_mysql.exceptions import PoolClosed, PoolTimeout
from django_pooled_mysql.options import parse_pool_option
from django_pooled_mysql.pool import ConnectionPool
from tests.support.helpers import eventually, run_threads


class FakeConnection:
    """A DB-API connection with a real socket, so the pool's idle check (poll()) works; the
    far end stands for the server."""

    opened: list[FakeConnection] = []

    def __init__(self, timeout: float | None = None) -> None:
        # timeout: the seconds the pool's caller can still wait for the connect.
        self.connect_timeout = timeout
        self._sock, self.server_side = socket.socketpair()
        self.closed = False
        self.pings = 0
        FakeConnection.opened.append(self)

    def fileno(self) -> int:
        return self._sock.fileno()

    def ping(self) -> None:
        self.pings += 1
        if self.closed:
            raise OSError("closed")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._sock.close()
            self.server_side.close()

    def drop(self) -> None:
        """The server closes this connection (KILL, wait_timeout): EOF on the client side."""
        self.server_side.close()


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    FakeConnection.opened = []
    yield
    for conn in FakeConnection.opened:
        conn.close()


def make_pool(**options: Any) -> ConnectionPool:
    parsed = parse_pool_option("fake", {"timeout": 5, **options})
    assert parsed is not None
    return ConnectionPool("fake", FakeConnection, parsed)


def test_never_more_than_pool_size_plus_max_overflow_connections() -> None:
    pool = make_pool(pool_size=2, max_overflow=1, timeout=10)
    peak = [0]
    lock = threading.Lock()

    def work(_: int) -> None:
        for _ in range(200):
            record, _conn = pool.checkout()
            with lock:
                peak[0] = max(peak[0], pool.stats()["in_use"])
            pool.checkin(record)

    run_threads(12, work)
    assert peak[0] <= 3
    stats = pool.stats()
    assert stats["connects"] <= 3 and stats["in_use"] == 0 and stats["requests"] == 2400


def test_without_idle_timeout_overflow_connections_are_closed_as_they_come_back() -> None:
    pool = make_pool(pool_size=2, max_overflow=2, idle_timeout=None)
    records = [pool.checkout()[0] for _ in range(4)]
    assert pool.stats()["overflow"] == 2
    for record in records:
        pool.checkin(record)
    stats = pool.stats()
    assert (stats["open"], stats["idle"], stats["overflow"], stats["in_use"]) == (2, 2, 0, 0)
    assert stats["closed_overflow"] == 2
    assert sum(conn.closed for conn in FakeConnection.opened) == 2


def test_a_caller_waits_for_a_returned_connection_then_times_out_with_the_numbers() -> None:
    pool = make_pool(pool_size=1, max_overflow=0, timeout=0.2)
    record, _ = pool.checkout()
    with pytest.raises(PoolTimeout, match=r"pool_size=1, max_overflow=0; in use 1, idle 0"):
        pool.checkout()
    stats = pool.stats()
    assert (stats["timeouts"], stats["wait_count"]) == (1, 1)
    assert stats["wait_seconds"] >= 0.2
    pool.checkin(record)


def test_waiters_are_served_in_arrival_order() -> None:
    pool = make_pool(pool_size=1, max_overflow=0, timeout=30)
    record, _ = pool.checkout()
    order: list[int] = []
    threads = []
    for i in range(4):

        def wait(i: int = i) -> None:
            got, _ = pool.checkout()
            order.append(i)
            pool.checkin(got)

        thread = threading.Thread(target=wait)
        thread.start()
        threads.append(thread)
        eventually(lambda n=i + 1: pool.stats()["waiting"] == n, what="waiter %d" % i)
    pool.checkin(record)
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3]


def test_closing_with_connections_checked_out_keeps_the_counts_right() -> None:
    pool = make_pool(pool_size=3, max_overflow=0)
    records = [pool.checkout()[0] for _ in range(3)]
    pool.close()
    # QueuePool's dispose() reset its count here and reported "in use 0, idle 3".
    stats = pool.stats()
    assert (stats["in_use"], stats["idle"], stats["open"]) == (3, 0, 3)
    with pytest.raises(PoolClosed):
        pool.checkout()
    for record in records:
        pool.checkin(record)  # closed as they come back
    stats = pool.stats()
    assert (stats["in_use"], stats["idle"], stats["open"]) == (0, 0, 0)
    assert all(conn.closed for conn in FakeConnection.opened)


def test_dispose_closes_idle_connections_and_the_pool_stays_usable() -> None:
    pool = make_pool(pool_size=2, max_overflow=0)
    out = pool.checkout()[0]
    pool.checkin(pool.checkout()[0])
    pool.dispose()
    stats = pool.stats()
    assert (stats["in_use"], stats["open"]) == (1, 1)
    pool.checkin(out)
    record, conn = pool.checkout()
    assert not conn.closed
    pool.checkin(record)


def test_a_connection_the_server_dropped_is_replaced_at_checkout() -> None:
    pool = make_pool(pool_size=1, max_overflow=0)
    record, first = pool.checkout()
    pool.checkin(record)
    first.drop()
    record, second = pool.checkout()
    assert second is not first and first.closed
    assert pool.stats()["invalidations"] == 1
    pool.checkin(record)


def test_a_connection_idle_longer_than_ping_after_is_pinged_once() -> None:
    pool = make_pool(pool_size=1, max_overflow=0, ping_after=0)
    record, conn = pool.checkout()
    pool.checkin(record)
    record, again = pool.checkout()
    assert again is conn and conn.pings == 1
    pool.checkin(record)


def test_a_connection_older_than_recycle_is_replaced() -> None:
    pool = make_pool(pool_size=1, max_overflow=0, recycle=60)
    record, first = pool.checkout()
    pool.checkin(record)
    record.info["retire_at"] -= 61  # as if it had been opened a minute ago
    record, second = pool.checkout()
    assert second is not first and first.closed
    assert pool.stats()["closed_lifetime"] == 1
    pool.checkin(record)


def test_sqlalchemy_pool_events_fire_with_this_pool() -> None:
    pool = make_pool(pool_size=1, max_overflow=0)
    seen: list[str] = []
    for name in ("connect", "checkout", "checkin", "invalidate", "close"):
        event.listen(pool, name, lambda *args, name=name: seen.append(name))
    record, _ = pool.checkout()
    pool.checkin(record)
    record, _ = pool.checkout()
    pool.invalidate(record, RuntimeError("broken"))
    pool.close()
    assert seen == ["connect", "checkout", "checkin", "checkout", "invalidate", "close"]


def test_a_failed_connect_gives_its_place_back() -> None:
    attempts = [0]

    def flaky(timeout: float | None) -> FakeConnection:
        attempts[0] += 1
        if attempts[0] == 1:
            raise OSError("cannot connect")
        return FakeConnection(timeout)

    parsed = parse_pool_option("fake", {"pool_size": 1, "max_overflow": 0, "timeout": 0.2})
    assert parsed is not None
    pool = ConnectionPool("fake", flaky, parsed)
    with pytest.raises(OSError):
        pool.checkout()
    record, _ = pool.checkout()  # the place is free again: no PoolTimeout
    stats = pool.stats()
    assert (stats["connect_errors"], stats["connects"], stats["in_use"]) == (1, 1, 1)
    pool.checkin(record)


# -- idle and lifetime management (the housekeeper's round, run here by hand with a fake clock) --


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def managed_pool(**options: Any) -> tuple[ConnectionPool, Clock]:
    pool = make_pool(**options)
    clock = pool._clock = Clock()
    return pool, clock


def idle_for(pool: ConnectionPool, seconds: float, clock: Clock) -> None:
    for record in pool._idle:
        record.info["idle_since"] = clock.now - seconds


def test_overflow_connections_stay_while_load_comes_back_within_idle_timeout() -> None:
    pool, clock = managed_pool(pool_size=2, max_overflow=2, idle_timeout=60, min_idle=1)
    records = [pool.checkout()[0] for _ in range(4)]
    for record in records:
        pool.checkin(record)
    assert pool.stats()["open"] == 4  # none closed as they came back
    idle_for(pool, 30, clock)
    pool._housekeep()
    assert pool.stats()["open"] == 4
    idle_for(pool, 61, clock)
    pool._housekeep()
    stats = pool.stats()
    # Down to the floor, not below it; the closes are counted by cause.
    assert (stats["open"], stats["closed_idle"], stats["closed_overflow"]) == (1, 3, 0)
    assert stats["overflow"] == 0 and stats["in_use"] == 0


def test_the_floor_is_opened_and_kept_alive() -> None:
    pool, clock = managed_pool(pool_size=3, max_overflow=0, min_idle=2, keepalive_time=50)
    pool.warm_up()
    assert pool.stats()["open"] == 2
    idle_for(pool, 51, clock)
    pool._housekeep()
    stats = pool.stats()
    assert (stats["open"], stats["keepalive_pings"]) == (2, 2)
    assert all(conn.pings == 1 for conn in FakeConnection.opened)
    # A connection the server dropped is replaced by the next round, keeping the floor.
    FakeConnection.opened[0].drop()
    pool._housekeep()
    assert pool.stats()["open"] == 2 and pool.stats()["invalidations"] == 1


def test_lifetimes_are_spread_and_retired_connections_never_handed_out() -> None:
    pool, clock = managed_pool(pool_size=20, max_overflow=0, max_lifetime=100, min_idle=0)
    records = [pool.checkout()[0] for _ in range(20)]
    retire = sorted(record.info["retire_at"] - clock.now for record in records)
    assert 90 <= retire[0] and retire[-1] <= 100 and retire[-1] - retire[0] > 1  # spread
    for record in records:
        pool.checkin(record)
    clock.now += 95
    pool._housekeep()
    stats = pool.stats()
    expired = sum(1 for value in retire if value <= 95)
    assert stats["closed_lifetime"] == expired and stats["open"] == 20 - expired


def test_the_housekeeping_job_stops_when_the_pool_has_nothing_to_look_after() -> None:
    pool, clock = managed_pool(pool_size=1, max_overflow=0, min_idle=0, idle_timeout=10)
    pool.checkin(pool.checkout()[0])
    idle_for(pool, 11, clock)
    assert pool._housekeep() is False  # the last connection closed: nothing to do
    assert pool.stats()["open"] == 0
    pool.close()


def test_a_connect_is_bounded_by_the_callers_timeout() -> None:
    pool = make_pool(pool_size=1, max_overflow=0, timeout=2.5)
    record, conn = pool.checkout()
    # The connector is told how long the caller can still wait (connect.py turns it into the
    # driver's connect_timeout).
    assert conn.connect_timeout is not None and 2.4 <= conn.connect_timeout <= 2.5
    pool.checkin(record)
