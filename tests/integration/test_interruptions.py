"""Interrupted leases in threads (issue 24): an exception thrown at every driver step of every
lease path ends in a clean connection or a given-up one, never a guess.

A profile hook counts the driver's steps in the calling thread: each call of the driver's own
Python functions (PyMySQL, mysqlclient's cursors) and each entry to and return from its C
functions and socket reads and writes (mysqlclient's ``query()``, ``store_result()``,
``next_result()``, ...). A run throws ``Interrupted`` (a BaseException, as KeyboardInterrupt is)
at its nth step; runs go on with n + 1 until one completes. After each: the pool settles (no
place in use or being cancelled), every later statement gets its own answer (a connection handed
on with an unread answer gives the next statement the previous one's, or "Commands out of
sync"), and no descriptor is left behind. Runs under both drivers (tests/integration/
test_pymysql.py runs this folder again with PyMySQL). The same under gevent, at every
cooperative wait: test_gevent_interruptions.py.
"""

from __future__ import annotations

import gc
import io
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.driver import DRIVER
from tests.support.helpers import (
    ALTERNATING,
    Admin,
    PeakConnections,
    Scratch,
    eventually,
    scalar,
)

# A pool of one place plus one: the interrupted connection's place, and one to cancel with.
SMALL = {"pool_size": 1, "max_overflow": 1, "timeout": 5, "ping_after": 0, "min_idle": 0}
CAP = 2


class Interrupted(BaseException):
    """Thrown at a chosen driver step, as KeyboardInterrupt or an async exception would be."""


def _driver_files() -> tuple[str, ...]:
    import MySQLdb

    folder = Path(MySQLdb.__file__).parent
    return tuple(str(folder / name) for name in ("connections.py", "cursors.py"))


def _mysql_types() -> tuple[type, ...]:
    try:
        from MySQLdb import _mysql
    except ImportError:  # PyMySQL installed as MySQLdb
        return ()
    return (_mysql.connection, _mysql.result)


# The socket calls by which PyMySQL talks to the server.
_TALKS = frozenset({"recv", "recv_into", "read", "readinto", "send", "sendall", "write"})


class InterruptAtStep:
    """Throws Interrupted in this thread at its nth driver step (see the module docstring)."""

    def __init__(self, n: int) -> None:
        self.n, self.steps, self.fired = n, 0, False
        self.where = "-"  # the step interrupted, for messages
        self.files = _driver_files()
        self.mysql_types = _mysql_types()
        self.io_types = (socket.socket, io.BufferedReader)

    def __enter__(self) -> InterruptAtStep:
        sys.setprofile(self._step)
        return self

    def __exit__(self, *exc_info: object) -> None:
        sys.setprofile(None)

    def _step(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            # mysqlclient's Python layer; PyMySQL is counted at its socket reads and writes
            # (below), where it talks to the server, not inside its packet parsing.
            counted = bool(self.mysql_types) and frame.f_code.co_filename in self.files
        elif event in ("c_call", "c_return"):
            # mysqlclient's C functions wherever called; socket calls the driver makes.
            owner = getattr(arg, "__self__", None)
            counted = isinstance(owner, self.mysql_types) or (
                isinstance(owner, self.io_types)
                and getattr(arg, "__name__", "") in _TALKS
                and frame.f_code.co_filename in self.files
            )
        else:
            return
        if counted:
            self.steps += 1
            if self.steps == self.n:
                name = getattr(arg, "__qualname__", None) or frame.f_code.co_qualname
                self.where = "%s %s" % (event, name)
                self.fired = True
                sys.setprofile(None)
                raise Interrupted


# -- the lease paths ---------------------------------------------------------------------------


def statement(db: Any) -> None:
    # ping_after=0: the checkout pings first.
    marker = random.randrange(1 << 30)
    assert scalar(db, "SELECT %s", [marker]) == marker


def transaction(db: Any) -> None:
    db.set_autocommit(False)
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('a', 1)")
        cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('b', 2)")
    db.commit()
    db.set_autocommit(True)


def stream(db: Any) -> None:
    import MySQLdb.cursors

    db.ensure_connection()
    cursor = db.connection.cursor(MySQLdb.cursors.SSCursor)
    cursor.execute("SELECT seq FROM seq_1_to_300")
    assert len(cursor.fetchall()) == 300
    cursor.close()
    db.close()


def later_results(db: Any) -> None:
    with db.cursor() as cursor:
        cursor.execute("CALL three_sets()")  # SELECT 1; SELECT 2, 3; SELECT 4
        while cursor.nextset():
            cursor.fetchall()


def reset(db: Any) -> None:
    scalar(db, "SELECT @left_behind := 1")
    db.close()  # the session is reset here


def connect(db: Any) -> None:
    db.get_pool().dispose()  # no idle connection: the checkout connects
    scalar(db, "SELECT 1")


PATHS: dict[str, Callable[[Any], None]] = {
    "statement": statement,
    "transaction": transaction,
    "stream": stream,
    "later_results": later_results,
    "reset": reset,
    "connect": connect,
}


def descriptors() -> int:
    """Open descriptors of this process beyond its pools' own (every pool's: the housekeeper
    may open another alias's min_idle connection meanwhile)."""
    from django_pooled_mysql.pool import registry

    gc.collect()  # see tests/gevent/interrupts.py's descriptors()
    return len(os.listdir("/proc/self/fd")) - sum(len(pool.fds) for _, pool in registry.items())


def left_behind(baseline: int) -> int:
    """Descriptors beyond the baseline that stay open (one that another thread is opening or
    closing, the housekeeper's for another pool, say, is given a second to settle)."""
    deadline = time.monotonic() + 1.0
    while True:
        left = descriptors() - baseline
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def own_answers(db: Any) -> list[str]:
    problems = []
    for _ in range(3):
        marker = random.randrange(1 << 30)
        try:
            got = scalar(db, "SELECT %s", [marker])
        except Exception as exc:
            problems.append("%s: %s" % (type(exc).__name__, exc))
            continue
        if got != marker:
            problems.append("asked for %d, got %r" % (marker, got))
    db.close()
    return problems


def settle(db: Any) -> None:
    def settled() -> bool:
        stats = db.pool_stats()
        return stats["in_use"] == 0 and stats.get("cancelling", 0) == 0

    eventually(settled, timeout=15, what=lambda: "the pool to settle: %r" % db.pool_stats())


@pytest.mark.parametrize("path", sorted(PATHS))
def test_an_interruption_at_every_driver_step_ends_clean(
    scratch: Scratch, admin: Admin, path: str
) -> None:
    scratch.admin.query(
        "CREATE PROCEDURE %s.three_sets() BEGIN SELECT 1; SELECT 2, 3; SELECT 4; END" % scratch.name
    )
    db = scratch.wrapper(SMALL, alias="interrupts")
    scalar(db, "SELECT 1")
    db.close()
    settle(db)
    baseline = descriptors()
    problems: list[str] = []
    fired = 0
    with PeakConnections(admin, scratch.name, interval=0.002) as seen:
        for n in range(1, 400):
            trigger = InterruptAtStep(n)
            # Kept without its traceback: the frames would keep what they held (a connection
            # half made by the driver, ...) open past the checks below.
            outcome: str | None = None
            interrupted = False
            try:
                with trigger:
                    PATHS[path](db)
            except Interrupted:
                interrupted = True
            except BaseException as exc:  # what the path made of the interruption
                outcome = repr(exc)
            try:
                db.close()
            except Exception as exc:
                problems.append("step %d: close() after the run raised %r" % (n, exc))
            if trigger.fired and not interrupted:
                problems.append("step %d: %s instead of the interruption" % (n, outcome))
            if not trigger.fired and outcome is not None:
                problems.append("step %d: uninterrupted run failed: %s" % (n, outcome))
            settle(db)
            problems.extend("step %d: %s" % (n, problem) for problem in own_answers(db))
            left = left_behind(baseline)
            if left:
                problems.append(
                    "step %d (%s): %d descriptor(s) left behind" % (n, trigger.where, left)
                )
            if not trigger.fired:
                break
            fired += 1
    assert fired >= 3, "the path %s has fewer driver steps than expected" % path
    assert problems == [], "\n".join(problems)
    assert seen.peak <= CAP, seen.at_peak


def test_a_server_side_cursor_left_half_read_is_not_handed_on(scratch: Scratch) -> None:
    # The case: a request reads 3 of 50 rows and ends while the cursor is still
    # referenced. The rest of the rows sit in the client library's buffer, where the
    # checkout's poll() cannot see them: the next request got "Commands out of sync".
    import MySQLdb.cursors

    pool = {"pool_size": 1, "max_overflow": 0, "timeout": 5, "min_idle": 0}
    db = scratch.wrapper(pool, alias="stream")
    db.ensure_connection()
    cursor = db.connection.cursor(MySQLdb.cursors.SSCursor)
    cursor.execute("SELECT seq FROM seq_1_to_50")
    assert [cursor.fetchone()[0] for _ in range(3)] == [1, 2, 3]
    db.close()  # the request ends; `cursor` is still referenced
    after = scratch.wrapper(pool, alias="stream")
    assert scalar(after, "SELECT 42") == 42
    assert scalar(after, "SELECT COUNT(*) FROM seq_1_to_7") == 7
    with pytest.raises(Exception, match=r"gone|closed"):
        cursor.fetchone()
    del cursor
    stats = after.pool_stats()
    assert (stats["in_use"], stats.get("cancelling", 0)) == (0, 0)


def test_the_watchdog_kills_this_connections_own_query(scratch: Scratch, admin: Admin) -> None:
    # SELECT CONNECTION_ID(), then KILL QUERY <id> from another connection when the next
    # statement runs too long: as with the stock backend, the id names the session the next
    # statement runs on (it used to name whichever session the lease had, killing another
    # request's statement while this one ran on).
    db = scratch.alternating()
    db.inc_thread_sharing()  # the request runs in the thread below
    bystander = scratch.wrapper(ALTERNATING, alias="alternating")
    outcome: dict[str, Any] = {}
    named = threading.Event()

    def slow() -> None:
        outcome["id"] = scalar(db, "SELECT CONNECTION_ID()")
        named.set()
        started = time.monotonic()
        try:
            outcome["value"] = scalar(db, "SELECT SLEEP(20)")
        except Exception as exc:  # 1317 where the server reports the kill as an error
            outcome["error"] = exc
        outcome["took"] = time.monotonic() - started

    def busy_on(thread_id: int) -> bool:
        return any(
            row[0] == thread_id and (row[2] or "").startswith("SELECT SLEEP")
            for row in admin.query("SELECT ID, DB, INFO FROM information_schema.PROCESSLIST")
        )

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert named.wait(10)
        own_id = outcome["id"]
        eventually(lambda: busy_on(own_id), timeout=10, what="the slow query on its session")
        admin.query("KILL QUERY %d" % own_id)
        bystander_answer = scalar(bystander, "SELECT 5")
    finally:
        thread.join(30)
    assert not thread.is_alive()
    assert outcome["took"] < 10, outcome
    assert outcome.get("value") == 1 or "error" in outcome, outcome
    assert bystander_answer == 5
    db.close()


@pytest.mark.skipif(DRIVER == "pymysql", reason="one driver is enough for the stock comparison")
def test_the_watchdog_idiom_is_the_same_with_the_stock_backend(scratch: Scratch) -> None:
    # The verdict the pooled ENGINE must agree with: CONNECTION_ID() names the session that
    # the next statement runs on.
    from django.db.backends.mysql.base import DatabaseWrapper as StockWrapper

    settings = {**scratch.settings(), "ENGINE": "django.db.backends.mysql", "OPTIONS": {}}
    stock = StockWrapper(settings, "stock")
    pooled = scratch.alternating()
    for db in (stock, pooled):
        first = scalar(db, "SELECT CONNECTION_ID()")
        assert [scalar(db, "SELECT CONNECTION_ID()") for _ in range(3)] == [first] * 3
        db.close()
