"""Connections given up in the middle of a command: their places stay counted until the server
session is gone.

A connection whose holder was interrupted mid-command (a ``gevent.Timeout``, a killed greenlet,
``KeyboardInterrupt``; wire.py) cannot be handed on, and closing our end of it is not enough: the
server goes on running the statement until it tries to answer (``SLEEP()``, a long scan, a big
result it is still sending), and the session counts against ``max_connections`` all that time.
Closing and reopening the place at once is how a timeout storm ends with more sessions on the
server than any pool allows (measured before this module: 21 and 58 sessions of one process
against a cap of 6, 60 greenlets interrupted beside 200 others).

So the place stays counted, and a worker (a thread; a greenlet under gevent) cancels the
session: with a connection of the same pool, taken ahead of any waiter, it sends ``KILL
CONNECTION <id>`` and reads ``information_schema.PROCESSLIST`` until the session is gone; only
then is the place given back. The killing connection is one of the pool's own places, so the
cancel adds no session. While no connection can be had, the worker watches the interrupted
socket instead (a zero-timeout ``poll()``, never a read): once it is readable the server has
answered (or closed), so the statement is over and closing our end ends the session.

Two cases cannot be watched: a server-side cursor's connection, closed at once (its result set,
freed whenever the cursor is, would otherwise read the rest of the stream in C), and a
connection the driver closed itself (PyMySQL closes its socket when interrupted mid-read). Their
sessions end as soon as the server writes to the closed socket, which a statement that produces
rows does promptly; a ``SLEEP()`` or a long scan does not. If every place of the pool is being
cancelled, so that no connection is left to kill with, the worker reconnects one of these places
and kills from there: for that one round trip the server counts one session more than the cap.
A connection a native thread still reads (gevent_support.off_the_hub()) is closed only once the
thread is done with it.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..driver.cooperative import native_reader_busy
from ..driver.errors import error_code
from ..driver.wire import STREAM

if TYPE_CHECKING:
    from .pool import ConnectionPool

logger = logging.getLogger("django_pooled_mysql")

# How long to wait, first in line, for a connection to kill with before looking at the
# interrupted sockets again.
_BORROW_WAIT = 0.05
# How long a killed session may take to leave the processlist before it is asked again.
_CONFIRM_FOR = 2.0
# Every place being cancelled, none watchable: how long before killing from one of them.
_STALLED_AFTER = 0.2
# A cancellation that cannot complete (the server unreachable, KILL refused) gives the place
# back after this long, with a WARNING: the session, if any, ends with the server's own timeouts.
_GIVE_UP_AFTER = 60.0
# At most one "still cancelling" WARNING per pool this often.
_WARN_EVERY = 10.0

_NO_SUCH_THREAD = 1094  # ER_NO_SUCH_THREAD: the session is gone already
_ANSWERED = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR


@dataclass(eq=False)
class _Entry:
    record: Any
    connection: Any
    thread_id: int | None
    since: float
    reason: str
    # Our end is closed: when the entry was made (a server-side cursor's connection), or once
    # the server answered on it (then ``answered``).
    closed: bool = False
    answered: bool = False


class GivenUp(Exception):
    """Why the pool closed a connection instead of handing it on (the reason its invalidate
    event and log line carry): a command still under way, dropped by the server while idle, a
    ping unanswered."""


class Cancellations:
    """One pool's places whose connections were given up mid-command (see the module doc)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._pending: list[_Entry] = []
        self._worker: threading.Thread | None = None
        self._warned_at = 0.0

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, record: Any, reason: BaseException | None) -> None:
        """Take over a checked-out record whose connection is in flight; its place stays counted
        until its server session is gone."""
        connection = record.dbapi_connection
        doing = connection.in_flight
        entry = _Entry(
            record,
            connection,
            record.info.get("thread_id"),
            time.monotonic(),
            "%s during %s" % (type(reason).__name__, doing),
        )
        logger.info(
            "pool %s: connection given up mid-command (%s); cancelling its session %s",
            self._pool.name,
            entry.reason,
            entry.thread_id,
        )
        if doing == STREAM:
            # The rows still to come are never read: close now (see the module docstring).
            # PyMySQL's server-side cursor would read them when it is freed, from the
            # connection's current result: there is none any more (private names of PyMySQL
            # 1.x, tested by tests/integration/test_interruptions.py).
            result = getattr(connection, "_result", None)
            if result is not None:
                result.unbuffered_active = False  # its own __del__ would read them too
                connection._result = None
            record.invalidate(reason)
            entry.closed = True
        with self._lock:
            self._pending.append(entry)
        if entry.thread_id is None:
            self._finish(entry)  # nothing to cancel it by (a driver that does not say)
            return
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="django-pooled-mysql-cancel", daemon=True
                )
                self._worker.start()

    # -- the worker --------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                entries = list(self._pending)
                if not entries:
                    self._worker = None
                    return
            entries = [entry for entry in entries if not self._gave_up(entry)]
            for entry in entries:
                self._close_if_answered(entry)
            if not entries:
                continue
            killer = self._borrow(_BORROW_WAIT)
            if killer is None and self._pool.places() <= len(self._pending):
                killer = self._when_every_place_is_cancelled(entries)
            if killer is None:
                self._report_waiting(entries)
                continue
            record, connection = killer
            try:
                gone = self._kill(connection, entries)
            except BaseException as exc:
                self._pool.invalidate(record, exc)
                if not isinstance(exc, Exception):
                    raise
                logger.info("pool %s: cancelling failed (%s)", self._pool.name, exc)
                continue
            self._pool.checkin(record)
            for entry in entries:
                if entry.thread_id in gone and not native_reader_busy(entry.connection):
                    self._finish(entry)

    def _take(self, entry: _Entry) -> bool:
        # Whoever takes an entry out of the pending ones gives its place back (once).
        with self._lock:
            if entry not in self._pending:
                return False
            self._pending.remove(entry)
            return True

    def _gave_up(self, entry: _Entry) -> bool:
        # The cancel is hopeless (the server unreachable, KILL refused): give the place back.
        if time.monotonic() - entry.since <= _GIVE_UP_AFTER:
            return False
        logger.warning(
            "pool %s: could not cancel session %s (%s) within %.0f s; its place is given back, "
            "and the session ends with the server's own timeouts.",
            self._pool.name,
            entry.thread_id,
            entry.reason,
            _GIVE_UP_AFTER,
        )
        self._finish(entry)
        return True

    def _close_if_answered(self, entry: _Entry) -> None:
        # The server answered (or closed) on the interrupted socket: its statement is over, and
        # closing our end makes it end the session. Its end is still confirmed in the
        # processlist (a transaction may take a while to roll back) while a connection can be
        # had to look with.
        if self._watchable(entry) and self._answered(entry):
            entry.record.invalidate(GivenUp("given up mid-command"))
            entry.closed = entry.answered = True

    @staticmethod
    def _watchable(entry: _Entry) -> bool:
        connection = entry.connection
        probe = entry.record.info.get("probe")
        return (
            not entry.closed
            and probe is not None
            # The driver closed its socket (PyMySQL, interrupted mid-read) and the pool has no
            # descriptor of its own on it (pool.py keeps one for PyMySQL).
            and (bool(getattr(connection, "open", True)) or "watch_fd" in entry.record.info)
            and not native_reader_busy(connection)
            # The client library closed the socket itself.
            and not any(event & select.POLLNVAL for _, event in probe.poll(0))
        )

    @staticmethod
    def _answered(entry: _Entry) -> bool:
        return any(event & _ANSWERED for _, event in entry.record.info["probe"].poll(0))

    def _when_every_place_is_cancelled(self, entries: list[_Entry]) -> tuple[Any, Any] | None:
        """No connection is left to kill or look with (see the module docstring): give back the
        places whose statements answered (their sessions end on their own), or else reconnect
        the place of the oldest unwatchable one to kill from. None: wait for an answer."""
        answered = [entry for entry in entries if entry.answered]
        if answered:
            for entry in answered:
                self._finish(entry)
            return None
        if any(self._watchable(entry) for entry in entries):
            return None  # a watched one ends when its statement does
        oldest = min(entries, key=lambda entry: entry.since)
        stalled = time.monotonic() - oldest.since >= _STALLED_AFTER
        if not stalled or native_reader_busy(oldest.connection) or not self._take(oldest):
            return None
        logger.info(
            "pool %s: every place is being cancelled; reconnecting one to cancel from",
            self._pool.name,
        )
        return self._reconnect(oldest.record)

    def _kill(self, connection: Any, entries: list[_Entry]) -> set[int | None]:
        """KILL each session, then wait until the processlist no longer shows it."""
        from ..driver.execute import is_driver_error, run_on

        ids = [entry.thread_id for entry in entries if entry.thread_id is not None]
        gone: set[int | None] = set()
        for thread_id in ids:
            try:
                run_on(connection, "execute", "KILL CONNECTION %d" % thread_id, None)
            except Exception as exc:
                if not is_driver_error(exc) or connection.in_flight is not None:
                    raise
                if error_code(exc) == _NO_SUCH_THREAD:
                    gone.add(thread_id)
                else:
                    logger.info(
                        "pool %s: KILL CONNECTION %d failed (%s)", self._pool.name, thread_id, exc
                    )
        self._pool.count("cancels", len(ids) - len(gone))
        deadline = time.monotonic() + _CONFIRM_FOR
        waiting = [thread_id for thread_id in ids if thread_id not in gone]
        while waiting:
            listed = run_on(
                connection,
                "execute",
                "SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN (%s)"
                % ", ".join(str(thread_id) for thread_id in waiting),
                None,
            )
            still = {row[0] for row in listed[0][0][1]}
            gone.update(thread_id for thread_id in waiting if thread_id not in still)
            waiting = [thread_id for thread_id in waiting if thread_id in still]
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.002)
        return gone

    def _finish(self, entry: _Entry) -> None:
        # The session is gone (or will be, or cannot be waited for): close the interrupted
        # connection and give its place back.
        if not self._take(entry) or self._pool.inherited:
            return
        record = entry.record
        try:
            if record.dbapi_connection is not None:
                record.invalidate(GivenUp("given up mid-command"))
        finally:
            self._pool.return_record(record)

    def _borrow(self, wait: float) -> tuple[Any, Any] | None:
        """A connection to cancel sessions with, within the cap: an idle one ahead of any
        waiter, a new one in a free place, or the next one handed back within wait seconds,
        first in line; None if there is none."""
        pool = self._pool
        record = pool.idle.take_any()
        if record is None:
            try:
                record = pool.open_record()
            except Exception:
                return None
            if record is not None:
                record.info.pop("fresh", None)
        if record is None:
            record = pool.idle.wait(wait, first=True)
            if record is None:
                return None
        try:
            return record, pool.checked_connection(record)
        except Exception:
            return None

    def _reconnect(self, record: Any) -> tuple[Any, Any] | None:
        """Reconnect the place of a connection given up mid-command to cancel from; None if
        the connect failed (the place is then given back)."""
        pool = self._pool
        try:
            if record.dbapi_connection is not None:
                record.invalidate(GivenUp("given up mid-command"))
            return record, pool.within_timeout(record.get_connection)
        except Exception:
            pool.return_record(record)
            return None

    def _report_waiting(self, entries: list[_Entry]) -> None:
        now = time.monotonic()
        oldest = min(entry.since for entry in entries)
        if now - oldest < 1.0 or now - self._warned_at < _WARN_EVERY:
            return
        self._warned_at = now
        logger.warning(
            "pool %s: %d interrupted statement(s) are still running on the server after "
            "%.1f s, and no connection of the pool is free to cancel them with; their places "
            "stay counted until they end. Interrupt statements less often, or raise "
            "OPTIONS['pool']['max_overflow'].",
            self._pool.name,
            len(entries),
            now - oldest,
        )
