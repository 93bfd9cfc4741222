"""The pool's own invariants with a fake DB-API connection (no database; its socket lets the
pool's real idle check run, FakeConnection in tests/support/helpers.py): cap, overflow, hand-off
order, close with connections out, recycle, the idle check, events."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import event

from django_pooled_mysql.exceptions import PoolClosed, PoolTimeout
from django_pooled_mysql.pool import ConnectionPool
from django_pooled_mysql.pool.options import parse_pool_option
from tests.support.helpers import FakeConnection, eventually, join_all, run_threads


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


def test_waiters_are_served_in_arrival_order_and_the_returner_asking_again_goes_last() -> None:
    pool = make_pool(pool_size=1, max_overflow=0, timeout=30)
    record, _ = pool.checkout()
    order: list[int | str] = []
    threads = []
    for i in range(4):

        def wait(i: int = i) -> None:
            got, _ = pool.checkout()
            order.append(i)  # while holding the connection: the order is exact
            pool.checkin(got)

        thread = threading.Thread(target=wait)
        thread.start()
        threads.append(thread)
        eventually(lambda n=i + 1: pool.stats()["waiting"] == n, what="waiter %d" % i)
    # The caller that gives the connection back asks again at once, as a thread running
    # statement after statement does: it waits behind the others.
    pool.checkin(record)
    record, _ = pool.checkout()
    order.append("returner")
    pool.checkin(record)
    join_all(threads, 10)
    assert order == [0, 1, 2, 3, "returner"]
    assert pool.stats()["timeouts"] == 0


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
    clock = pool.clock = Clock()
    return pool, clock


def idle_for(pool: ConnectionPool, seconds: float, clock: Clock) -> None:
    for record in pool.idle:
        record.info["idle_since"] = clock.now - seconds


def test_overflow_connections_stay_while_load_comes_back_within_idle_timeout() -> None:
    pool, clock = managed_pool(pool_size=2, max_overflow=2, idle_timeout=60, min_idle=1)
    records = [pool.checkout()[0] for _ in range(4)]
    for record in records:
        pool.checkin(record)
    assert pool.stats()["open"] == 4  # none closed as they came back
    idle_for(pool, 30, clock)
    pool.maintenance.housekeep()
    assert pool.stats()["open"] == 4
    idle_for(pool, 61, clock)
    pool.maintenance.housekeep()
    stats = pool.stats()
    # Down to the floor, not below it; the closes are counted by cause.
    assert (stats["open"], stats["closed_idle"], stats["closed_overflow"]) == (1, 3, 0)
    assert stats["overflow"] == 0 and stats["in_use"] == 0


def test_the_floor_is_opened_and_kept_alive() -> None:
    pool, clock = managed_pool(pool_size=3, max_overflow=0, min_idle=2, keepalive_time=50)
    pool.warm_up()
    assert pool.stats()["open"] == 2
    idle_for(pool, 51, clock)
    pool.maintenance.housekeep()
    stats = pool.stats()
    assert (stats["open"], stats["keepalive_pings"]) == (2, 2)
    assert all(conn.pings == 1 for conn in FakeConnection.opened)
    # A connection the server dropped is replaced by the next round, keeping the floor.
    FakeConnection.opened[0].drop()
    pool.maintenance.housekeep()
    assert pool.stats()["open"] == 2 and pool.stats()["invalidations"] == 1


def test_lifetimes_are_spread_and_retired_connections_never_handed_out() -> None:
    pool, clock = managed_pool(pool_size=20, max_overflow=0, max_lifetime=100, min_idle=0)
    records = [pool.checkout()[0] for _ in range(20)]
    retire = sorted(record.info["retire_at"] - clock.now for record in records)
    assert 90 <= retire[0] and retire[-1] <= 100 and retire[-1] - retire[0] > 1  # spread
    for record in records:
        pool.checkin(record)
    clock.now += 95
    pool.maintenance.housekeep()
    stats = pool.stats()
    expired = sum(1 for value in retire if value <= 95)
    assert stats["closed_lifetime"] == expired and stats["open"] == 20 - expired


def test_the_housekeeping_job_stops_when_the_pool_has_nothing_to_look_after() -> None:
    pool, clock = managed_pool(pool_size=1, max_overflow=0, min_idle=0, idle_timeout=10)
    pool.checkin(pool.checkout()[0])
    idle_for(pool, 11, clock)
    assert pool.maintenance.housekeep() is False  # the last connection closed: nothing to do
    assert pool.stats()["open"] == 0
    pool.close()


def test_a_connect_is_bounded_by_the_callers_timeout() -> None:
    pool = make_pool(pool_size=1, max_overflow=0, timeout=2.5)
    record, conn = pool.checkout()
    # The connector is told how long the caller can still wait (connect.py turns it into the
    # driver's connect_timeout).
    assert conn.connect_timeout is not None and 2.4 <= conn.connect_timeout <= 2.5
    pool.checkin(record)


def test_stats_stay_right_while_a_pool_closes_with_connections_out() -> None:
    pool = make_pool(pool_size=2, max_overflow=2, timeout=30)

    def consistent(in_use: int) -> dict[str, Any]:
        # Every gauge agrees with the fake connections themselves, whatever the pool's state.
        stats = pool.stats()
        really_open = sum(not conn.closed for conn in FakeConnection.opened)
        assert stats["open"] == really_open == stats["connects"] - stats["closes"]
        assert stats["in_use"] == in_use
        assert stats["idle"] == stats["open"] - in_use
        assert 0 <= stats["overflow"] <= 2 and stats["waiting"] >= 0
        return stats

    # Four out: two statement leases, a pinned lease that will be reset, one to invalidate.
    first, second = pool.checkout()[0], pool.checkout()[0]
    watchers = pool.pinned.watchers_for(threading.current_thread(), None)
    lease = pool.pinned.pin(watchers, "session state")
    broken = pool.checkout()[0]
    consistent(in_use=4)
    # A fifth caller waits for one of them.
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            pool.checkout()
        except BaseException as exc:  # reported below
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    eventually(lambda: pool.stats()["waiting"] == 1, what="the waiter")

    pool.close()
    join_all([waiter], 10)
    assert [type(exc) for exc in outcome] == [PoolClosed]
    stats = consistent(in_use=4)
    assert (stats["waiting"], stats["wait_count"], stats["timeouts"]) == (0, 1, 0)

    # Each way of giving a connection back closes it; the counts follow, never below zero.
    pool.checkin(first)
    consistent(in_use=3)
    pool.invalidate(broken, RuntimeError("broken"))
    consistent(in_use=2)
    lease.reset("session state")
    consistent(in_use=1)
    lease.checkin()  # already ended: nothing happens twice
    consistent(in_use=1)
    pool.checkin(second)
    stats = consistent(in_use=0)
    assert (stats["open"], stats["closes"], stats["invalidations"]) == (0, 4, 1)
    with pytest.raises(PoolClosed):
        pool.checkout()
    assert consistent(in_use=0)["requests"] == 6


def test_a_checkout_that_waited_longer_than_the_threshold_is_logged_once_per_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = make_pool(pool_size=1, max_overflow=0, timeout=10, checkout_warning_after=0.05)
    held, _ = pool.checkout()

    def waited_checkout() -> None:
        record, _ = pool.checkout()
        pool.checkin(record)

    with caplog.at_level("WARNING", logger="django_pooled_mysql"):
        for _ in range(3):
            waiter = threading.Thread(target=waited_checkout)
            waiter.start()
            eventually(lambda: pool.stats()["waiting"] == 1, what="the waiter")
            # Long enough a wait to cross the threshold: what is measured, not a synchronisation.
            time.sleep(0.1)
            pool.checkin(held)
            join_all([waiter], 10)
            held, _ = pool.checkout()
    pool.checkin(held)
    (record,) = [r for r in caplog.records if "checkout waited" in r.getMessage()]
    message = record.getMessage()
    assert message.startswith("pool fake: checkout waited 0.")
    assert "for a connection to come back (checkout_warning_after=0.05; in use 1 of 1" in message
    assert "OPTIONS['pool']['pool_size']" in message
    # The next line, once the period is over, says how many were left out.
    pool.waits._slow_checkout_next = 0.0
    with caplog.at_level("WARNING", logger="django_pooled_mysql"):
        pool.waits.warn_slow_checkout(0.2, "for a connection to come back", "")
    assert "2 more such checkouts since the previous warning" in caplog.records[-1].getMessage()


def test_no_warning_for_checkouts_that_did_not_wait_or_with_the_threshold_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for threshold in (None, 0.5):
        pool = make_pool(pool_size=1, max_overflow=0, timeout=10, checkout_warning_after=threshold)
        with caplog.at_level("WARNING", logger="django_pooled_mysql"):
            for _ in range(20):
                record, _ = pool.checkout()
                pool.checkin(record)
        pool.close()
    assert not [r for r in caplog.records if "checkout waited" in r.getMessage()]


def test_a_failing_housekeeping_job_is_logged_under_its_pools_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from functools import partial

    from django_pooled_mysql.pool import housekeeping

    class Pool:
        name = "default (root@127.0.0.1:3306/app)"

        def round(self, which: str) -> None:
            raise RuntimeError("broken " + which)

    with caplog.at_level("ERROR", logger="django_pooled_mysql"):
        assert housekeeping._call(partial(Pool().round, "job")) is None
        assert housekeeping._call(lambda: 1 / 0) is None
    first, second = (record.getMessage() for record in caplog.records)
    assert first.startswith("pool default (root@127.0.0.1:3306/app): housekeeping job")
    assert second.startswith("housekeeping job <function")
