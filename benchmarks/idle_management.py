"""Idle and lifetime management measured (issue 17): connects under bursty load, the shrink to
min_idle after the load stops, idle connections across the server's wait_timeout, and the
spread of lifetime expiries. Prints numbers; asserts nothing.

    python benchmarks/idle_management.py

Starts its own throwaway MariaDB (it changes the server's wait_timeout), with the pool's
settings scaled to seconds so that the run takes about a minute.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django
from django.conf import settings

from tests.support.helpers import FaultServer

WORKERS = 12
BURSTY = {"pool_size": 2, "max_overflow": 10, "timeout": 30}


def configure(server: FaultServer) -> None:
    def alias(pool: dict[str, Any]) -> dict[str, Any]:
        entry = server.settings("idle_bench", OPTIONS={"pool": pool})
        return {**entry, "ENGINE": "django_pooled_mysql"}

    settings.configure(
        DATABASES={
            # The defaults but for a shorter idle_timeout (the load's off phases are 2 s).
            "default": alias({**BURSTY, "idle_timeout": 5.0}),
            "queuepool": alias({**BURSTY, "idle_timeout": None}),  # QueuePool's rule
            "shrink": alias({**BURSTY, "idle_timeout": 2.0, "min_idle": 2}),
            "keepalive": alias({**BURSTY, "keepalive_time": 1.0, "idle_timeout": 60.0}),
            "no_keepalive": alias(
                {**BURSTY, "keepalive_time": None, "idle_timeout": None, "max_lifetime": None}
            ),
            "lifetime": alias(
                {"pool_size": 20, "max_overflow": 0, "max_lifetime": 10.0, "min_idle": 0}
            ),
        },
        INSTALLED_APPS=[],
    )
    django.setup()


def transaction_burst(alias: str, seconds: float) -> None:
    """WORKERS threads running short transactions (a 5 ms server wait each) for seconds."""
    from django.db import connections

    deadline = time.monotonic() + seconds

    def work() -> None:
        connection = connections[alias]
        while time.monotonic() < deadline:
            connection.set_autocommit(False)
            with connection.cursor() as cursor:
                cursor.execute("SELECT SLEEP(0.005)")
            connection.commit()
            connection.set_autocommit(True)
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def bursty(alias: str) -> int:
    """Connects during 4 on/off cycles after a first one (the steady phase)."""
    from django.db import connections

    transaction_burst(alias, 2.0)
    time.sleep(2.0)
    before = connections[alias].pool_stats()["connects"]
    for _ in range(4):
        transaction_burst(alias, 2.0)
        time.sleep(2.0)  # the off phase
    return int(connections[alias].pool_stats()["connects"] - before)


def shrink_time(alias: str) -> tuple[int, float]:
    """(peak open, seconds from the end of the load until open == min_idle)."""
    from django.db import connections

    transaction_burst(alias, 1.0)
    stats = connections[alias].pool_stats
    peak = stats()["open"]
    stopped = time.monotonic()
    while stats()["open"] > stats()["min_idle"] and time.monotonic() - stopped < 30:
        time.sleep(0.05)
    return int(peak), time.monotonic() - stopped


def across_wait_timeout(server: FaultServer, alias: str) -> tuple[int, int]:
    """(connects, invalidations) of the first requests after a quiet period of 5 s, with the
    server's wait_timeout at 3 s."""
    from django.db import connections

    transaction_burst(alias, 0.5)
    stats = connections[alias].pool_stats
    before = stats()
    time.sleep(5.0)  # quiet: longer than the server's wait_timeout
    transaction_burst(alias, 0.5)
    after = stats()
    return (
        int(after["connects"] - before["connects"]),
        int(after["invalidations"] - before["invalidations"]),
    )


def lifetime_spread(alias: str) -> tuple[float, float]:
    """(first, last) expiry of 20 connections opened together, seconds after they opened."""
    from django.db import connections
    from sqlalchemy import event

    pool = connections[alias].pool
    assert pool is not None
    closed_at: list[float] = []
    event.listen(pool, "close", lambda *args: closed_at.append(time.monotonic()))
    holders = [connections.create_connection(alias) for _ in range(20)]
    opened = time.monotonic()
    for holder in holders:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1")
    for holder in holders:
        holder.commit()
        holder.set_autocommit(True)
        holder.close()
    while len(closed_at) < 20 and time.monotonic() - opened < 30:
        time.sleep(0.05)
    return min(closed_at) - opened, max(closed_at) - opened


def main() -> None:
    with FaultServer(max_connections=200) as server:
        server.query("CREATE DATABASE idle_bench")
        configure(server)
        default_connects = bursty("default")
        queuepool_connects = bursty("queuepool")
        print("bursty load, %d threads, 4 cycles of 2 s on / 2 s off:" % WORKERS)
        print("  connects, idle_timeout=5 (kept for it)  %6d" % default_connects)
        print("  connects, idle_timeout=None (QueuePool) %6d" % queuepool_connects)
        peak, seconds = shrink_time("shrink")
        print(
            "after the load: %d open -> min_idle 2 in %.2f s (idle_timeout 2 s, housekeeping "
            "every 0.5 s)" % (peak, seconds)
        )
        server.set_global("wait_timeout", 3)
        kept = across_wait_timeout(server, "keepalive")
        dropped = across_wait_timeout(server, "no_keepalive")
        print("quiet 5 s with the server's wait_timeout at 3 s, then load again:")
        print("  keepalive_time=1: connects %d, invalidations %d" % kept)
        print("  no keepalive:     connects %d, invalidations %d" % dropped)
        server.set_global("wait_timeout", 28800)
        first, last = lifetime_spread("lifetime")
        print(
            "20 connections opened together, max_lifetime 10 s: expiries from %.2f s to %.2f s "
            "(window 9-10 s, housekeeping every 0.25 s)" % (first, last)
        )


if __name__ == "__main__":
    main()
