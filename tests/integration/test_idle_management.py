"""Idle and lifetime management on a real server (issue 17): the housekeeper closes idle
connections down to min_idle, keeps the floor alive, replaces what the server drops, and behaves
after fork(). The pools here use second-scale settings; the waits are on the pool's or the
server's state, each with a deadline."""

from __future__ import annotations

from django_pooled_mysql.pool import housekeeping
from tests.support.helpers import (
    Admin,
    Scratch,
    eventually,
    in_forked_child,
    run_threads,
    session_id,
)

FAST = {
    "pool_size": 2,
    "max_overflow": 6,
    "min_idle": 2,
    "idle_timeout": 1.0,
    "keepalive_time": 0.5,
    "max_lifetime": 3600,
}


def test_after_a_burst_open_connections_fall_to_the_floor(scratch: Scratch) -> None:
    make = scratch.factory(FAST)

    def burst(i: int) -> None:
        db = make()
        db.set_autocommit(False)  # hold a connection each, so that all eight open
        session_id(db)
        db.commit()
        db.set_autocommit(True)
        db.close()

    run_threads(8, burst)
    stats = make().pool_stats
    assert stats()["open"] > 2
    # Within idle_timeout plus a housekeeping period (0.25 s here), down to min_idle.
    eventually(lambda: stats()["open"] == 2, timeout=10, what="the pool to shrink to min_idle")
    eventually(lambda: scratch.server_connections() == 2, what="the server to see two")
    assert stats()["closed_idle"] >= 1
    # The housekeeper's keepalive ping (every 0.5 s here) holds a connection for a moment.
    eventually(lambda: stats()["in_use"] == 0, what="no connection in use")


def test_the_floor_is_kept_alive_and_replaced_when_the_server_drops_it(
    scratch: Scratch, admin: Admin
) -> None:
    db = scratch.wrapper(FAST)
    assert db.pool.warm_up() == 2
    stats = db.pool_stats
    eventually(lambda: stats()["keepalive_pings"] >= 2, what="keepalive pings of the floor")
    victims = admin.connection_ids(scratch.name)
    for victim in victims:
        admin.kill(victim)
    # The server sees a connection before the pool counts it open (its session set-up runs in
    # between): wait for both.
    eventually(
        lambda: len(admin.connection_ids(scratch.name) - victims) == 2 and stats()["open"] == 2,
        what="the housekeeper to reopen the floor",
    )
    # Nobody ran a statement: the next one finds a live connection at once.
    assert session_id(db) not in victims


def test_a_forked_child_looks_after_its_own_pool_only(scratch: Scratch, admin: Admin) -> None:
    db = scratch.wrapper(FAST)
    db.pool.warm_up()
    parent_ids = admin.connection_ids(scratch.name)
    parent_keeper = housekeeping.running

    def child() -> str:
        # The parent's housekeeper thread does not exist here; the child's pool gets its own.
        own = scratch.wrapper(FAST)
        own_id = session_id(own)
        return "%s %s" % (housekeeping.running is not parent_keeper, own_id not in parent_ids)

    assert in_forked_child(child) == "True True"
    # The parent's floor was not touched by the child (no close, no ping on its sockets).
    assert parent_ids <= admin.connection_ids(scratch.name)
    assert db.pool_stats()["open"] == 2
