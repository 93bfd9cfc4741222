"""Who holds the connections (pool/holders.py): the snapshot of a pool's pinned leases and
statement leases, its text, and the signal that has the housekeeper log it. No database: a fake
connection, the pool's clock a test clock."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from django_pooled_mysql.pool import ConnectionPool, Lease, holders, registry
from django_pooled_mysql.pool.pins import kind_of, statement_text, where
from tests.support.docs_pages import page_block
from tests.support.helpers import StepClock, fake_pool, join_all, new_holder


def test_holders_lists_pinned_leases_oldest_first_and_counts_statement_leases() -> None:
    pool = fake_pool(pool_size=4, max_overflow=0)
    clock = pool.clock
    assert isinstance(clock, StepClock)
    taken = threading.Event()
    done = threading.Event()
    leases: list[Lease] = []

    def worker() -> None:
        statement = "UPDATE t SET a = 'x' WHERE id = %s"
        leases.append(pool.pinned.pin(new_holder(pool), "transaction", statement))
        taken.set()
        assert done.wait(10)

    thread = threading.Thread(target=worker, name="worker-1")
    thread.start()
    try:
        assert taken.wait(10)
        clock.advance(7)
        mine = pool.pinned.pin(new_holder(pool), "raw connection attribute 'thread_id'")
        record, _ = pool.checkout()  # a statement lease under way
        clock.advance(1.5)
        report = holders.pool_report(pool, "default")
    finally:
        done.set()
        join_all([thread])
    assert report["alias"] == "default" and report["pool"] == "fake"
    assert report["pid"] == os.getpid()
    assert (report["in_use"], report["statement_leases"], report["max_open"]) == (3, 1, 4)
    assert leases[0].site is not None and mine.site is not None
    worker_site, my_site = where(leases[0].site), where(mine.site)
    assert worker_site.startswith(__file__) and worker_site.endswith(" in worker")
    assert report["pinned"] == [
        {
            "kind": "transaction",
            "reason": "transaction",
            "age": 8.5,
            "holder": "worker-1",
            "holder_id": thread.ident,
            "site": worker_site,
            "statement": "UPDATE t SET a = '?' WHERE id = %s",
            "stack": None,
        },
        {
            "kind": "raw_connection",
            "reason": "raw connection attribute 'thread_id'",
            "age": 1.5,
            "holder": threading.current_thread().name,
            "holder_id": threading.get_ident(),
            "site": my_site,
            "statement": None,
            "stack": None,
        },
    ]
    assert holders.summary(report) == "\n".join(
        [
            "holders in process %d: 3 of 4 connections in use (2 pinned, 1 by a statement), "
            "0 idle, 0 waiting, 0 cancelling" % os.getpid(),
            "  8.5 s transaction (transaction), worker-1 [%d], from %s: UPDATE t SET a = '?' "
            "WHERE id = %%s" % (thread.ident, worker_site),
            "  1.5 s raw_connection (raw connection attribute 'thread_id'), %s [%d], from %s"
            % (threading.current_thread().name, threading.get_ident(), my_site),
        ]
    )
    leases[0].checkin()
    mine.checkin()
    pool.checkin(record)
    after = holders.pool_report(pool, "default")
    assert (after["in_use"], after["statement_leases"], after["pinned"]) == (0, 0, [])


def test_with_leak_stacks_on_a_pinned_lease_shows_where_it_was_taken() -> None:
    pool = fake_pool(leak_warning_after=60)
    lease = pool.pinned.pin(new_holder(pool), "pinned()")
    [entry] = holders.pool_report(pool, "default")["pinned"]
    assert entry["stack"] == lease.stack and "in test_with_leak_stacks_on" in entry["stack"]
    text = holders.summary(holders.pool_report(pool, "default"))
    assert text.split("\n")[2] == "    taken at:"
    lease.checkin()


@pytest.fixture
def registered_pool() -> Iterator[ConnectionPool]:
    key = ("unit_holders", "fake")
    pool = registry.get_pool(key, lambda: fake_pool("'unit_holders'"))
    yield pool
    registry.close_pools(lambda found: found == key)


def test_report_covers_the_pools_of_an_alias_or_all(registered_pool: ConnectionPool) -> None:
    [entry] = holders.report("unit_holders")
    assert entry["alias"] == "unit_holders" and entry["pool"] == "'unit_holders'"
    assert holders.report("no_such_alias") == []
    assert "'unit_holders'" in [entry["pool"] for entry in holders.report()]


def test_a_signal_has_the_housekeeper_log_the_holders(registered_pool: ConnectionPool) -> None:
    lease = registered_pool.pinned.pin(new_holder(registered_pool), "pinned()")
    logged: list[logging.LogRecord] = []
    seen = threading.Event()

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "holders in process" in record.getMessage():
                logged.append(record)
                seen.set()

    logger = logging.getLogger("django_pooled_mysql")
    handler = Catch()
    logger.addHandler(handler)
    previous = holders.log_on_signal(signal.SIGUSR2, alias="unit_holders")
    try:
        os.kill(os.getpid(), signal.SIGUSR2)
        assert seen.wait(10), "no holders logged"
    finally:
        signal.signal(signal.SIGUSR2, previous)
        logger.removeHandler(handler)
        lease.checkin()
    [record] = logged
    assert record.levelno == logging.WARNING
    # Not in the signal handler, which may have interrupted a lock holder: in the housekeeper.
    assert record.threadName == "django-pooled-mysql-housekeeper"
    message = record.getMessage()
    assert message.startswith(
        "pool 'unit_holders': holders in process %d: 1 of 15 connections in use (1 pinned, 0 by "
        "a statement)" % os.getpid()
    )
    assert " pinned (pinned()), MainThread [" in message


def test_the_holders_shown_in_the_docs_are_what_log_holders_writes() -> None:
    block = page_block("monitoring.md", "text", "holders in process")

    def lease(age: float, reason: str, holder: str, ident: int, site: str, sql: str) -> Any:
        match = re.fullmatch(r"(.+):(\d+) in (\w+)", site)
        assert match is not None
        file, line, function = match.groups()
        return {
            "kind": kind_of(reason),
            "reason": reason,
            "age": age,
            "holder": holder,
            "holder_id": ident,
            "site": where((file, int(line), function)),
            "statement": statement_text(sql),
            "stack": None,
        }

    checkout = "SELECT id, total FROM shop_cart WHERE id = %s FOR UPDATE"
    views = "/srv/shop/shop/views.py:112 in checkout"
    entry = {
        "alias": "default",
        "pool": "'default' (shop@db.internal:3306/shop)",
        "pid": 4242,
        "max_open": 4,
        "open": 4,
        "in_use": 4,
        "idle": 0,
        "waiting": 6,
        "cancelling": 0,
        "statement_leases": 1,
        "pinned": [
            lease(
                1842.6,
                "GET_LOCK()",
                "ThreadPoolExecutor-0_3",
                140211538863808,
                "/srv/shop/shop/exports.py:41 in export_orders",
                "SELECT GET_LOCK(%s, 0)",
            ),
            lease(0.8, "transaction", "ThreadPoolExecutor-0_5", 140211505293056, views, checkout),
            lease(0.2, "transaction", "ThreadPoolExecutor-0_1", 140211496900352, views, checkout),
        ],
    }
    assert "pool %s: %s" % (entry["pool"], holders.summary(entry)) == block.body
