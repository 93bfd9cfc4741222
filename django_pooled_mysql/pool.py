"""The connection pool: a SQLAlchemy ``Pool`` for a lease per statement; knows nothing of Django.

``ConnectionPool`` subclasses ``sqlalchemy.pool.Pool`` and implements the two methods SQLAlchemy
leaves to pool implementations, ``_do_get()`` and ``_do_return_conn()``, as ``QueuePool`` does.
SQLAlchemy owns the connection records (``_create_connection()``, a record's
``get_connection()``, ``invalidate()`` and ``close()``), the ``connect``, ``invalidate`` and
``close`` events and ``dispose()``; this module owns what ``QueuePool`` cannot give a pool that
hands out a connection per statement: the idle queue with its fair hand-off (idle_queue.py),
the count of places (records in existence) that enforces ``pool_size + max_overflow``, health
checks that cost no round trip on the hot path, pinned leases and their recovery, and the
server's connection limit treated as a capacity signal. tests/unit/test_sqlalchemy_hooks.py
fails if a SQLAlchemy hook this relies on changes.

A statement lease checks a ``(record, connection)`` pair out and back in without a proxy object
(``Pool.connect()`` builds one per checkout, with a weakref finalizer and event dispatch: ~17 us
against ~1 us here). A *pinned* lease (a transaction, session state, ``pinned()``) is a
``Lease`` object that the pool tracks until it ends.

Event vocabulary, the same in code, logs, stats and docs: connect, checkout, checkin,
invalidate, reset, close.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool, PoolResetState

from . import gevent_support, housekeeping
from .cancel import Cancellations
from .disconnect import error_code, idle_probe, peer_has_spoken, set_tcp_keepalive
from .idle_queue import IdleQueue
from .native import native_for
from .options import PoolOptions

# The server refused a new connection for capacity: wait for one of ours to come back instead.
SERVER_FULL_CODES = frozenset(
    {
        1040,  # ER_CON_COUNT_ERROR: Too many connections (max_connections)
        1203,  # ER_TOO_MANY_USER_CONNECTIONS: the account's max_user_connections
        1226,  # ER_USER_LIMIT_REACHED: the account's MAX_CONNECTIONS_PER_HOUR and similar
    }
)
_MAX_BACKOFF = 0.5
# At most one slow-checkout WARNING per pool this often (a starved pool would otherwise log a
# line per waiter handed a connection, thousands a second); the next line says how many more.
_SLOW_CHECKOUT_REPORT_EVERY = 10.0

logger = logging.getLogger("django_pooled_mysql")

# Opens a physical connection; given the seconds its caller can still wait, or None.
Connector = Callable[[float | None], Any]
# A holder's key and its weak references (see ConnectionPool.watchers_for()).
Watchers = tuple[int, tuple["weakref.ref[Any]", ...]]

# Counters of pool_stats() (docs/reference.md). Gauges are computed when asked.
COUNTERS = (
    "connects",
    "connect_errors",
    "closes",
    "invalidations",
    "closed_idle",
    "closed_lifetime",
    "closed_overflow",
    "keepalive_pings",
    "timeouts",
    "wait_count",
    "session_pins",
    "resets",
    "reset_reconnects",
    "server_refusals",
    "leak_warnings",
    "abandoned",
    "cancels",
)


class Lease:
    """One physical connection pinned to one holder until checkin(), reset() or invalidate().

    While pinned, the pool keeps the lease in its table of pinned leases, and the lease keeps weak
    references to its holder (the Django connection's PooledConnection) and to its owner's token
    (ownership.py). If either goes away while the lease is still pinned, the pool recovers the
    connection (see ConnectionPool.pin()).
    """

    __slots__ = (
        "connection",
        "pool",
        "reason",
        "record",
        "serial",
        "stack",
        "taken_at",
        "warned",
        "watchers",
    )

    def __init__(self, pool: ConnectionPool, record: Any, connection: Any, reason: str) -> None:
        self.pool = pool
        self.record = record
        # Set to None when the lease ends: any later use fails loudly instead of touching a
        # connection that someone else may hold by then.
        self.connection: Any = connection
        # Why it is pinned (transaction, session state, pinned(), ...), for logs.
        self.reason = reason
        self.serial = 0
        self.taken_at = time.monotonic()
        # Where the lease was taken, when leak warnings are on.
        self.stack: str | None = None
        self.warned = False
        self.watchers: tuple[weakref.ref[Any], ...] | None = None

    def __repr__(self) -> str:
        state = "ended" if self.connection is None else "pinned (%s)" % self.reason
        return "<Lease %s on pool %s>" % (state, self.pool.name)

    def checkin(self) -> None:
        """End the lease: the connection is clean (no transaction, no session state)."""
        pool = self.pool
        if pool._end(self):
            pool.checkin(self.record)

    def reset(self, reason: str) -> None:
        """End the lease of a connection that carries session state: reset it before reuse."""
        self.pool._reset(self, reason)

    def invalidate(self, exc: BaseException | None = None) -> None:
        """End the lease of a connection that broke: it is closed, its place kept."""
        pool = self.pool
        if pool._end(self):
            pool.invalidate(self.record, exc)


class ConnectionPool(Pool):
    """A bounded pool of physical connections for one set of connection parameters."""

    def __init__(
        self,
        name: str,
        connect: Connector,
        options: PoolOptions,
        *,
        reset_session: Callable[[Any], bool] | None = None,
    ) -> None:
        super().__init__(
            self._connect_record,  # type: ignore[arg-type]  # SQLAlchemy's creator(record) form
            # Recycling and pinging are done here, where they are counted and kept off the hot
            # path; a reset on return would add a ROLLBACK round trip per statement.
            recycle=-1,
            pre_ping=False,
            reset_on_return=None,
            logging_name=name,
        )
        self.name = name
        self.options = options
        self.closed = False
        # True in a forked child for pools built by the parent: their sockets belong to the parent.
        self.inherited = False
        # Server facts (version, sql_mode, ...) cached once per pool by whoever connects.
        self.facts: dict[str, Any] = {}
        # The driver's connection class and the names its connections have (the raw-connection
        # interface answers AttributeError for others, as the driver would).
        self.connection_class: type = type(None)
        self.connection_attributes: frozenset[str] = frozenset()
        self._connect = connect
        # Resets a physical connection's session for reuse (True) or says it cannot (False).
        self._reset_session = reset_session
        self._idle = IdleQueue(use_lifo=options.use_lifo)
        # Places whose connections were given up mid-command, until their sessions are gone.
        self._cancellations = Cancellations(self)
        # Records in existence, idle or checked out: each is a place, at most max_connections.
        self._places = 0
        self._places_lock = threading.Lock()
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)
        # Checkouts, counted without a lock on the hot path (next() on a count is atomic).
        self._requests = itertools.count()
        self._wait_seconds = 0.0
        # File descriptors of this pool's open sockets, for fork() (registry.py).
        self.fds: set[int] = set()
        # Pinned leases by serial number. Ending a lease pops it here first, so that of two
        # parties ending the same lease (its holder and the recovery of an abandoned one) only
        # one gives the connection back.
        self._pinned: dict[int, Lease] = {}
        self._serials = itertools.count(1)
        # While the server refuses connections, one caller at a time tries to connect; the
        # others wait for a connection to come back instead of adding to the refusals.
        self._connect_probe = threading.Lock()
        # The server's last refusal, until a connect succeeds again, and the shared backoff
        # before the next connect attempt (10 ms doubling to _MAX_BACKOFF).
        self._last_refusal: Exception | None = None
        self._probe_backoff = 0.01
        self._next_probe_at = 0.0
        # checkout()'s shortcut applies to the default health checks; other settings take the
        # full path through _healthy_connection().
        self._quick_checkout = options.pre_ping
        # The housekeeping job of this pool is scheduled (see _housekeep()); the clock of its
        # decisions (monotonic; a test may set its own).
        self._housekeeping = False
        self._clock = time.monotonic
        # The deadline of the caller whose checkout opens a connection (see _connect_record()):
        # per thread, or per greenlet when gevent has patched threading.local.
        self._connecting = threading.local()
        # How many idle records checkin keeps before closing an overflow one (no limit when the
        # housekeeper closes idle connections after idle_timeout).
        self._idle_limit = options.pool_size if options.idle_timeout is None else 1 << 30
        event.listen(self, "close", self._on_close)
        event.listen(self, "invalidate", self._on_invalidate)
        # The checkout and checkin listener collections, made once so that the hot path tests
        # them with two attribute reads (SQLAlchemy replaces an empty collection on first use).
        self._on_checkout = self.dispatch.checkout.for_modify(self.dispatch)
        self._on_checkin = self.dispatch.checkin.for_modify(self.dispatch)

    def __repr__(self) -> str:
        return "<ConnectionPool %s>" % self.name

    # -- SQLAlchemy's extension points for pool implementations ---------------------------------

    def _do_get(self) -> Any:
        """A record: an idle one, a new one while there is room, else one handed back within
        ``timeout`` (PoolTimeout otherwise; PoolClosed if the pool closes meanwhile)."""
        if self.closed:
            self._raise_closed()
        record = self._idle.take()
        if record is not None:
            return record
        if self._claim_place():
            try:
                return self._within_timeout(self._create_connection)
            except BaseException:
                self._after_connect_failed(self._give_up_place)
                raise
        return self._wait_for_record()

    def _do_return_conn(self, record: Any) -> None:
        """Take a checked-in record back: idle (closed later by the housekeeper once idle for
        idle_timeout), or, without an idle_timeout, closed when pool_size are idle already."""
        if self.closed:
            self._close_record(record, give_up_place=True)
        elif not self._idle.put_unless_full(record, self._idle_limit):
            # As QueuePool does: pool_size connections are idle already, so this overflow one
            # is closed and its place given up.
            self._count("closed_overflow")
            self._close_record(record, give_up_place=True)

    def dispose(self) -> None:
        """Close the idle connections; checked-out ones are unaffected (SQLAlchemy's contract)."""
        while True:
            record = self._idle.take_any()
            if record is None:
                return
            self._close_record(record, give_up_place=True)

    def recreate(self) -> ConnectionPool:
        """A new pool with the same parameters (SQLAlchemy's contract)."""
        return ConnectionPool(
            self.name, self._connect, self.options, reset_session=self._reset_session
        )

    def status(self) -> str:
        """A one-line summary (SQLAlchemy's contract)."""
        stats = self.stats()
        return "Pool %s: open %d, in use %d, idle %d, waiting %d (max %d)" % (
            self.name,
            stats["open"],
            stats["in_use"],
            stats["idle"],
            stats["waiting"],
            stats["max_open"],
        )

    # -- places ---------------------------------------------------------------------------------

    def _claim_place(self) -> bool:
        with self._places_lock:
            if self._places >= self.options.max_connections:
                return False
            self._places += 1
            return True

    def _give_up_place(self) -> None:
        with self._places_lock:
            self._places -= 1

    @staticmethod
    def _after_connect_failed(release: Callable[[], object]) -> None:
        # A connect that failed gives its place back now; one interrupted while gevent's native
        # thread still connects, once that thread's connection is closed (a session on the
        # server until then).
        late = gevent_support.take_late()
        if late is None:
            release()
        else:
            late.then(release)

    # -- connect / close events ---------------------------------------------------------------

    def _connect_record(self, connection_record: Any) -> Any:
        # The creator, called by SQLAlchemy's record with itself (Pool's creator signature).
        deadline = getattr(self._connecting, "deadline", None)
        remaining = None if deadline is None else max(deadline - self._clock(), 0.0)
        try:
            conn = self._connect(remaining)
        except Exception:
            self._count("connect_errors")
            raise
        info = connection_record.info
        try:
            self._note_connection(conn, info)
        except BaseException:
            # Interrupted before SQLAlchemy's record holds it: nothing else would close it
            # before a garbage collection.
            self.fds.discard(info.get("fd", -1))
            _close_quietly(conn)
            raise
        self._last_refusal = None
        self._probe_backoff = 0.01
        self._count("connects")
        logger.debug("pool %s: connect (%d open)", self.name, self.open_count())
        return conn

    def _note_connection(self, conn: Any, info: dict[str, Any]) -> None:
        # What the pool keeps about a new connection in its record's info.
        if not self.connection_attributes:
            self.connection_class = type(conn)
            self.connection_attributes = frozenset(dir(conn))
        conn.in_flight = None  # wire.py: idle, nothing unread
        # The server's id of the session, to cancel it if a command is interrupted (cancel.py).
        thread_id = getattr(conn, "thread_id", None)
        info["thread_id"] = thread_id() if thread_id is not None else None
        probe, fd = idle_probe(conn)
        info["probe"] = probe
        info["fd"] = fd
        if fd >= 0:
            self.fds.add(fd)
            if self.options.tcp_keepalive is not None:
                set_tcp_keepalive(fd, self.options.tcp_keepalive)
        info["fresh"] = True
        lifetime = self.options.lifetime
        if lifetime is not None:
            # max_lifetime less a random 0-10 %, so that connections opened together do not all
            # expire together; recycle is exact.
            spread = 1.0 if self.options.recycle is not None else random.uniform(0.9, 1.0)
            info["retire_at"] = self._clock() + lifetime * spread
        if not self._housekeeping and not self.inherited:
            self._schedule_housekeeping()
            self._warn_about_wait_timeout()
        # The server's session-state tracker for this connection, where it can be read.
        native = native_for(conn)
        if native is not None and native.tracks_state:
            native.watch_status()
            info["native"] = native
        else:
            info["native"] = None

    def _on_close(self, dbapi_connection: Any, record: Any) -> None:
        self.fds.discard(record.info.get("fd", -1))
        self._count("closes")
        logger.debug("pool %s: close", self.name)

    def _on_invalidate(self, dbapi_connection: Any, record: Any, exc: BaseException | None) -> None:
        self._count("invalidations")
        logger.info("pool %s: invalidate connection (%s)", self.name, _reason(exc))

    def _close_record(
        self, record: Any, invalid: Exception | None = None, give_up_place: bool = False
    ) -> None:
        # Close (or invalidate) a record's connection; give_up_place: the record goes too. The
        # place goes even if the close is interrupted, or it would be lost to the pool.
        connection = record.dbapi_connection
        try:
            if invalid is None:
                record.close()
            else:
                record.invalidate(invalid)
        except BaseException:
            _close_quietly(connection)  # interrupted: the socket goes all the same
            raise
        finally:
            if give_up_place:
                self._give_up_place()

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    count = _count

    # -- checkout / checkin -------------------------------------------------------------------

    def checkout(self) -> tuple[Any, Any]:
        """Check a healthy connection out: ``(record, connection)``, for checkin() or invalidate().

        The hot path (once per statement): an idle connection, a zero-timeout poll() and a clock
        read, no lock. Everything else (connecting, waiting, pinging, recycling, the server's
        connection limit) is on the slow path.
        """
        next(self._requests)
        if self._last_refusal is None and not self.closed:
            record = self._idle.take()
            if record is not None:
                info = record.info
                connection = record.dbapi_connection
                probe = info.get("probe")
                now = self._clock()
                if (
                    self._quick_checkout
                    and connection is not None
                    and probe is not None
                    and "fresh" not in info
                    and not probe.poll(0)
                    and now - info.get("idle_since", 0.0) <= self.options.ping_after
                    and now < info.get("retire_at", _NEVER)
                ):
                    listeners = self._on_checkout
                    if listeners.listeners or listeners.parent_listeners:
                        listeners(connection, record, None)
                    return record, connection
                return record, self._checked_connection(record)
        return self._checkout_slow()

    def _checkout_slow(self) -> tuple[Any, Any]:
        """checkout() when no connection is idle, the pool is closed, or the server is full.

        Waits up to ``timeout`` when all connections are in use. A server that refuses new
        connections for capacity (1040, 1203) is treated like a full pool: wait for one of this
        pool's connections to come back, or retry the connect with backoff, until ``timeout``.
        """
        refusal = self._last_refusal
        if refusal is not None and not len(self._idle):
            # The server was refusing connections a moment ago: queue up behind the one caller
            # that may try again, rather than each sending a connect the server will refuse.
            return self._checkout_despite_server_limit(refusal)
        try:
            return self._checkout_record()
        except Exception as exc:
            if error_code(exc) not in SERVER_FULL_CODES:
                raise
            self._note_refusal(exc)
            return self._checkout_despite_server_limit(exc)

    def _checkout_record(self) -> tuple[Any, Any]:
        record = self._do_get()
        return record, self._checked_connection(record)

    def _note_refusal(self, exc: Exception) -> None:
        # Called with the probe lock held, or by a first attempt: back off for everyone.
        self._last_refusal = exc
        self._count("server_refusals")
        self._next_probe_at = time.monotonic() + self._probe_backoff
        self._probe_backoff = min(self._probe_backoff * 2, _MAX_BACKOFF)

    def _checkout_despite_server_limit(self, refusal: Exception) -> tuple[Any, Any]:
        deadline = time.monotonic() + self.options.timeout
        self._connecting.deadline = deadline  # the connects below share this caller's deadline
        try:
            return self._keep_trying(refusal, deadline)
        finally:
            self._connecting.deadline = None

    def _keep_trying(self, refusal: Exception, deadline: float) -> tuple[Any, Any]:
        started = deadline - self.options.timeout
        while True:
            if self.closed:
                self._raise_closed()
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                self._count("timeouts")
                from .exceptions import PoolTimeout

                raise PoolTimeout(self.server_full_message(refusal)) from refusal
            # Handed a connection when another holder returns one; otherwise woken at the time
            # the pool's shared backoff allows the next connect attempt.
            record = self._idle.wait(min(max(self._next_probe_at - now, 0.001), remaining))
            probing = False
            if record is None:
                # Nothing came back: one waiter, once the backoff has passed, may try the server.
                if time.monotonic() < self._next_probe_at:
                    continue
                probing = self._connect_probe.acquire(blocking=False)
                if not probing:
                    continue
            try:
                if record is not None:
                    # A returned place may have no connection (it was invalidated): reconnecting
                    # it can be refused too.
                    checked_out = record, self._checked_connection(record)
                else:
                    checked_out = self._checkout_record()
            except Exception as exc:
                if error_code(exc) not in SERVER_FULL_CODES:
                    raise
                refusal = exc
                self._note_refusal(exc)
                continue
            finally:
                if probing:
                    self._connect_probe.release()
            limit = self.options.checkout_warning_after
            waited = time.monotonic() - started
            if limit is not None and waited > limit:
                self._warn_slow_checkout(
                    waited,
                    "while the server refused new connections (%s)" % refusal,
                    "The pools of all processes add up to more than the server's "
                    "max_connections or the account's max_user_connections allow: lower "
                    "OPTIONS['pool']['pool_size'] + ['max_overflow'] or raise the server's limit "
                    "(manage.py pool_budget shows the sum).",
                )
            return checked_out

    def _wait_for_record(self) -> Any:
        self._count("wait_count")
        started = time.monotonic()
        try:
            record = self._idle.wait(self.options.timeout)
        finally:
            waited = time.monotonic() - started
            with self._lock:
                self._wait_seconds += waited
        if record is not None:
            limit = self.options.checkout_warning_after
            if limit is not None and waited > limit:
                self._warn_slow_checkout(
                    waited,
                    "for a connection to come back",
                    "Raise OPTIONS['pool']['pool_size'] or ['max_overflow'] (within the server's "
                    "max_connections), or hold connections for less time (each open transaction "
                    "keeps one).",
                )
            return record
        if self.closed:
            self._raise_closed()
        self._count("timeouts")
        from .exceptions import PoolTimeout

        raise PoolTimeout(self.exhausted_message())

    def _within_timeout(self, connect: Callable[[], Any]) -> Any:
        """Run connect() (which opens a connection) bounded by the caller's deadline: the one set
        by an outer wait, or ``timeout`` from now (connect.py lowers connect_timeout to it)."""
        local = self._connecting
        if getattr(local, "deadline", None) is not None:
            return connect()
        local.deadline = self._clock() + self.options.timeout
        try:
            return connect()
        finally:
            local.deadline = None

    # When the next slow-checkout WARNING may be logged, and how many were left out since the
    # last one (class defaults: see _warn_slow_checkout()).
    _slow_checkout_next = 0.0
    _slow_checkouts_unreported = 0

    def _warn_slow_checkout(self, waited: float, why: str, advice: str) -> None:
        """Log a WARNING for a checkout that waited longer than ``checkout_warning_after``."""
        now = time.monotonic()
        with self._lock:
            if now < self._slow_checkout_next:
                self._slow_checkouts_unreported += 1
                return
            self._slow_checkout_next = now + _SLOW_CHECKOUT_REPORT_EVERY
            more, self._slow_checkouts_unreported = self._slow_checkouts_unreported, 0
        stats = self.stats()
        logger.warning(
            "pool %s: checkout waited %.2f s %s (checkout_warning_after=%s; in use %d of %d, "
            "waiting %d%s). %s",
            self.name,
            waited,
            why,
            self.options.checkout_warning_after,
            stats["in_use"],
            stats["max_open"],
            stats["waiting"],
            "; %d more such checkouts since the previous warning" % more if more else "",
            advice,
        )

    def _raise_closed(self) -> None:
        from .exceptions import PoolClosed

        raise PoolClosed("The connection pool %s was closed." % self.name)

    def _checked_connection(self, record: Any) -> Any:
        try:
            connection = self._healthy_connection(record)
        except BaseException as exc:
            stuck = record.dbapi_connection
            if stuck is not None and stuck.in_flight is not None:
                # The health check's ping was interrupted: its answer is unread.
                self.invalidate(record, exc)
            else:
                # The record goes back (without a connection); the next checkout reconnects it.
                self._after_connect_failed(partial(self._do_return_conn, record))
            raise
        listeners = self._on_checkout
        if listeners.listeners or listeners.parent_listeners:
            listeners(connection, record, None)
        return connection

    def _healthy_connection(self, record: Any) -> Any:
        options = self.options
        if record.dbapi_connection is not None and self._clock() >= record.info.get(
            "retire_at", _NEVER
        ):
            self._count("closed_lifetime")
            logger.debug("pool %s: close connection at the end of its lifetime", self.name)
            record.close()
        # get_connection() also reconnects a record whose connection was invalidated or closed.
        connection = record.dbapi_connection or self._within_timeout(record.get_connection)
        info = record.info
        if info.pop("fresh", False) or not options.pre_ping:
            return connection
        idle_for = self._clock() - info.get("idle_since", 0.0)
        if peer_has_spoken(info.get("probe")) or (
            idle_for > options.ping_after and not _ping(connection)
        ):
            record.invalidate(_StaleConnection("dropped by the server while idle"))
            connection = self._within_timeout(record.get_connection)
            info.pop("fresh", None)
        return connection

    def checkin(self, record: Any) -> None:
        """Check a clean connection back in (autocommit on, no transaction, no session state).

        A connection with a command in flight (wire.py) is never handed on: it is given up."""
        if self.inherited:
            return
        connection = record.dbapi_connection
        if connection is not None and connection.in_flight is not None:
            self.invalidate(record, _StaleConnection("checked in mid-command"))
            return
        info = record.info
        now = info["idle_since"] = self._clock()
        listeners = self._on_checkin
        if listeners.listeners or listeners.parent_listeners:
            listeners(record.dbapi_connection, record)
        if now >= info.get("retire_at", _NEVER):
            # Lifetime over: the record goes back without its connection (reconnects on use).
            self._count("closed_lifetime")
            try:
                record.close()
            except BaseException:
                self._do_return_conn(record)
                raise
        if self.closed or not self._idle.put_unless_full(record, self._idle_limit):
            if not self.closed:
                self._count("closed_overflow")
            self._close_record(record, give_up_place=True)

    def invalidate(self, record: Any, exc: BaseException | None = None) -> None:
        """Close a broken or dirty connection checked out by checkout(); its place stays (the
        record reconnects on a later checkout). One with a command in flight (wire.py) is given
        to the cancellations: its place is back once its server session is gone."""
        if self.inherited:
            return
        connection = record.dbapi_connection
        if connection is not None and getattr(connection, "in_flight", None) is not None:
            self._cancellations.add(record, exc)
            return
        try:
            record.invalidate(exc)
        finally:
            self._do_return_conn(record)

    def close_given_up(self, record: Any) -> None:
        """Close a connection given up mid-command whose session is gone (cancel.py), and give
        its place back."""
        if self.inherited:
            return
        try:
            if record.dbapi_connection is not None:
                record.invalidate(_StaleConnection("given up mid-command"))
        finally:
            self._do_return_conn(record)

    def reconnect_for_cancel(self, record: Any) -> tuple[Any, Any] | None:
        """Reconnect the place of a connection given up mid-command, to cancel sessions from
        (cancel.py): the record is the caller's, to check in afterwards; None if the connect
        failed (the place is then given back)."""
        try:
            if record.dbapi_connection is not None:
                record.invalidate(_StaleConnection("given up mid-command"))
            return record, self._within_timeout(record.get_connection)
        except Exception:
            self._do_return_conn(record)
            return None

    def places(self) -> int:
        """Places (records) in existence: idle, checked out or being cancelled."""
        return self._places

    def borrow_for_cancel(self, wait: float) -> tuple[Any, Any] | None:
        """A connection to cancel other sessions with, within the cap (cancel.py): an idle one
        ahead of any waiter, a new one in a free place, or the next one returned within wait
        seconds, first in line; None if there is none."""
        record = self._idle.take_any()
        if record is None and self._claim_place():
            try:
                record = self._within_timeout(self._create_connection)
            except BaseException as exc:
                self._after_connect_failed(self._give_up_place)
                if not isinstance(exc, Exception):
                    raise
                return None
            record.info.pop("fresh", None)
        if record is None:
            record = self._idle.wait(wait, first=True)
            if record is None:
                return None
        try:
            return record, self._checked_connection(record)
        except Exception:
            return None

    def touch(self) -> None:
        """Check a connection out and straight back in (connects the pool's first connection)."""
        self.checkin(self.checkout()[0])

    # -- pinned leases --------------------------------------------------------------------------

    def watchers_for(self, holder: object, owner: object | None) -> Watchers:
        """A holder's key and weak references to it and its owner, for its pins (see pin()).

        Made once per holder: a holder pins at most one lease at a time, so the key names its
        current lease.
        """
        key = next(self._serials)
        refs = [weakref.ref(holder, partial(self._on_gone, key, "holder"))]
        if owner is not None:
            refs.append(weakref.ref(owner, partial(self._on_gone, key, "owner")))
        return key, tuple(refs)

    def pin(self, watchers: Watchers, reason: str) -> Lease:
        """Check a connection out for a holder that keeps it across calls (a pinned lease).

        The lease is recovered if it is still pinned when its holder is garbage-collected or its
        owner's token goes (the thread or greenlet that owns the Django connection ended): the
        connection is then closed, so that the server rolls back an open transaction and
        releases named and table locks, and its place goes back to the pool. While it is pinned
        the lease keeps the weak references alive (a callback runs only while its weak
        reference lives, and the holder's own references die with the holder).
        """
        record, connection = self.checkout()
        return self.adopt(record, connection, watchers, reason)

    def adopt(self, record: Any, connection: Any, watchers: Watchers, reason: str) -> Lease:
        """Make a connection checked out by checkout() a pinned lease (see pin())."""
        lease = Lease(self, record, connection, reason)
        lease.serial, lease.watchers = watchers
        self._pinned[lease.serial] = lease
        # Recovery runs in the housekeeper: make sure it runs before anything can be abandoned.
        if housekeeping.running is None:
            housekeeping.housekeeper()
        limit = self.options.leak_warning_after
        if limit is not None:
            lease.stack = "".join(traceback.format_stack(limit=25)[:-2])
            housekeeping.housekeeper().every(
                ("leaks", id(self)), min(limit / 2, 5.0), self._warn_of_leaks
            )
        return lease

    def count_session_pin(self) -> None:
        """Count a Django connection pinning a connection for session state."""
        self._count("session_pins")

    def _end(self, lease: Lease) -> bool:
        """Mark a pinned lease ended; False if it had already ended (e.g. it was recovered)."""
        if self._pinned.pop(lease.serial, None) is None:
            return False
        lease.connection = None
        lease.watchers = None
        return True

    def _reset(self, lease: Lease, reason: str) -> None:
        """End a lease whose connection carries session state, resetting it before reuse.

        The session is reset in place where the driver can (COM_RESET_CONNECTION, then the
        pool's session settings again: connect.py); otherwise, or if that fails, the connection
        is closed and its place reconnects on next use.
        """
        if not self._end(lease) or self.inherited:
            return
        self._count("resets")
        record = lease.record
        connection = record.dbapi_connection
        if connection is not None and connection.in_flight is not None:
            # Something is under way on it (a stream still open, ...): never read it again.
            self.invalidate(record, _StaleConnection("reset mid-command (%s)" % reason))
            return
        if not self.closed and self._reset_session is not None and connection is not None:
            try:
                clean = self._reset_session(connection)
            except BaseException as exc:
                # Half reset: the session's state is unknown, so the connection goes.
                self._count("reset_reconnects")
                self.invalidate(record, exc)
                if not isinstance(exc, Exception):
                    raise
                logger.info("pool %s: reset failed (%s); reconnecting", self.name, _reason(exc))
                return
            if clean:
                logger.debug("pool %s: reset session in place (%s)", self.name, reason)
                if self.dispatch.reset:
                    self.dispatch.reset(connection, record, _RESET_STATE)
                self.checkin(record)
                return
        logger.debug("pool %s: reset by reconnecting (%s)", self.name, reason)
        self._reconnect_later(record)

    def _reconnect_later(self, record: Any) -> None:
        # Close the connection; its record (the place) goes back and reconnects on next use.
        self._count("reset_reconnects")
        try:
            record.close()
        finally:
            self._do_return_conn(record)

    def _on_gone(self, serial: int, which: str, _ref: object) -> None:
        # A weakref callback: may run in a dying thread, in the gevent hub or inside a garbage
        # collection, so it only hands the work to the housekeeper.
        if serial in self._pinned and not self.inherited:
            housekeeping.submit(partial(self._recover, serial, which))

    def _recover(self, serial: int, which: str) -> None:
        """Close a pinned connection whose holder or owner is gone and give its place back."""
        lease = self._pinned.get(serial)
        if lease is None or lease.watchers is None:
            return
        holder = lease.watchers[0]()
        if which == "owner" and holder is not None and getattr(holder, "shared", False):
            # The owning thread ended but the Django connection is shared with other threads
            # (inc_thread_sharing(), e.g. LiveServerTestCase): it is still in use.
            return
        reason = lease.reason
        if not self._end(lease):
            return
        try:
            record = lease.record
            connection = record.dbapi_connection
            if connection is not None and connection.in_flight is not None:
                self.invalidate(record, _StaleConnection("abandoned mid-command"))
            elif not self.inherited:
                try:
                    record.close()
                finally:
                    self._do_return_conn(record)
        finally:
            # Counted once the place is back: whoever sees the count sees the place returned.
            self._count("abandoned")
        logger.warning(
            "pool %s: recovered a connection abandoned while pinned (%s): %s without closing "
            "its Django connection. The connection was closed (an open transaction rolls back, "
            "locks are released) and its place returned to the pool.%s",
            self.name,
            reason,
            "its thread or greenlet ended" if which == "owner" else "it was garbage-collected",
            " Taken at:\n%s" % lease.stack if lease.stack else "",
        )

    def _warn_of_leaks(self) -> bool:
        """Warn once for each lease pinned longer than ``leak_warning_after`` (a periodic job)."""
        limit = self.options.leak_warning_after
        if self.closed or limit is None:
            return False
        now = time.monotonic()
        for lease in list(self._pinned.values()):
            if not lease.warned and now - lease.taken_at > limit:
                lease.warned = True
                self._count("leak_warnings")
                logger.warning(
                    "pool %s: a connection has been held for %.0f s (leak_warning_after=%s): "
                    "an open transaction or a session pin that never ended? Taken at:\n%s",
                    self.name,
                    now - lease.taken_at,
                    limit,
                    lease.stack,
                )
        return True

    # -- idle and lifetime management (run by the housekeeper) -------------------------------

    def _schedule_housekeeping(self) -> None:
        # From a connect (an ordinary code path, never a callback): the job runs while the pool
        # has connections to look after, and unschedules itself when it has none.
        self._housekeeping = True
        housekeeping.housekeeper().every(
            ("idle", id(self)), self.options.housekeeping_period, self._housekeep
        )

    def _warn_about_wait_timeout(self) -> None:
        # The server closes connections idle longer than wait_timeout: the pool's idle
        # connections survive only if they are pinged (or closed) sooner. Checked when the pool
        # has its first connection's server facts; checks.py's W002 applies the same rule.
        wait_timeout = self.facts.get("wait_timeout")
        if not wait_timeout:
            return
        limit = self.options.idle_limit
        if limit is not None and limit < wait_timeout:
            return
        logger.warning(
            "pool %s: the server closes connections idle for %s s (wait_timeout), but idle "
            "pooled connections are pinged or closed %s. Set OPTIONS['pool']['keepalive_time'] "
            "(or idle_timeout) below the server's wait_timeout; connections it drops are "
            "otherwise found at checkout and replaced.",
            self.name,
            wait_timeout,
            "never" if limit is None else "only after %s s" % limit,
        )

    def _housekeep(self) -> bool:
        """One round over the idle connections: close those idle longer than idle_timeout
        (down to min_idle) and those past their lifetime, ping those idle longer than
        keepalive_time, replace broken ones, and open connections up to min_idle.

        Each connection is taken out of the idle queue while it is looked at, so no checkout
        can get it meanwhile; what stays goes back behind the connections that were idle
        less long. Returns False (the job stops) once the pool is closed or holds nothing.
        """
        if self.closed or self.inherited:
            self._housekeeping = False
            return False
        options = self.options
        now = self._clock()
        for record in list(self._idle):
            if not self._idle.remove(record):
                continue  # checked out meanwhile
            self._look_after(record, now, options)
        self._open_floor()
        with self._places_lock:
            keep = self._places > 0 or options.min_idle > 0
        if not keep:
            self._housekeeping = False
        return keep

    def _look_after(self, record: Any, now: float, options: PoolOptions) -> None:
        # One idle record, out of the idle queue: close it, ping it, or put it back.
        info = record.info
        connection = record.dbapi_connection
        if connection is None:
            self._give_up_place()  # a place without a connection: the floor reopens one
            return
        if peer_has_spoken(info.get("probe")):
            # Dropped by the server while idle: found here instead of by the next checkout.
            self._close_record(
                record, _StaleConnection("dropped by the server while idle"), give_up_place=True
            )
            return
        idle_for = now - info.get("idle_since", now)
        cause = None
        if now >= info.get("retire_at", _NEVER):
            cause = "closed_lifetime"
        elif (
            options.idle_timeout is not None
            and idle_for > options.idle_timeout
            and self.open_count() > options.min_idle
        ):
            cause = "closed_idle"
        if cause is not None:
            self._count(cause)
            logger.debug("pool %s: close idle connection (%s)", self.name, cause)
            self._close_record(record, give_up_place=True)
            return
        quiet_for = now - max(info.get("idle_since", now), info.get("pinged_at", 0.0))
        if options.keepalive_time is not None and quiet_for > options.keepalive_time:
            self._count("keepalive_pings")
            try:
                alive = keepalive(connection)
            except BaseException as exc:
                self.invalidate(record, exc)  # interrupted: the ping's answer is unread
                raise
            if alive:
                # Not idle_since: a ping keeps the connection alive, not busy.
                info["pinged_at"] = now
            else:
                self._close_record(
                    record,
                    _StaleConnection("did not answer the keepalive ping"),
                    give_up_place=True,
                )
                return
        self._idle.put_back(record)

    def _open_floor(self) -> None:
        """Open connections until min_idle are open (not while the server refuses them)."""
        while (
            not self.closed
            and self._last_refusal is None
            and self.open_count() < self.options.min_idle
            and self._claim_place()
        ):
            try:
                record = self._within_timeout(self._create_connection)
            except BaseException as exc:
                self._after_connect_failed(self._give_up_place)
                if not isinstance(exc, Exception):
                    raise
                if error_code(exc) in SERVER_FULL_CODES:
                    self._note_refusal(exc)
                logger.info("pool %s: could not open an idle connection (%s)", self.name, exc)
                return
            record.info.pop("fresh", None)
            self.checkin(record)

    def warm_up(self) -> int:
        """Open connections up to min_idle now (e.g. in a Gunicorn post_fork hook); returns how
        many are open. A server refusing connections for capacity ends the warm-up early, and
        the housekeeper tries again later with the pool's backoff."""
        if not self._housekeeping:
            self._schedule_housekeeping()
        self._open_floor()
        return self.open_count()

    # -- introspection and shutdown -----------------------------------------------------------

    def open_count(self) -> int:
        """Physical connections currently open."""
        with self._lock:
            return self._counts["connects"] - self._counts["closes"]

    def stats(self) -> dict[str, Any]:
        """Counters and gauges; key names are stable (documented in docs/reference.md)."""
        with self._lock:
            counts = dict(self._counts)
            wait_seconds = self._wait_seconds
        places = self._places
        idle_records = len(self._idle)
        cancelling = len(self._cancellations)
        in_use = max(places - idle_records - cancelling, 0)
        open_ = counts["connects"] - counts["closes"]
        options = self.options
        return {
            "pool_size": options.pool_size,
            "max_overflow": options.max_overflow,
            "max_open": options.max_connections,
            "min_idle": options.min_idle,
            "open": open_,
            "in_use": in_use,
            "idle": max(open_ - in_use - cancelling, 0),
            "overflow": max(places - options.pool_size, 0),
            "waiting": self._idle.waiting,
            "cancelling": cancelling,
            "requests": _value(self._requests),
            "wait_seconds": wait_seconds,
            **counts,
        }

    def server_full_message(self, refusal: Exception) -> str:
        """Why a connect kept failing on the server's connection limit, and what to change."""
        limits = ", ".join(
            "%s=%s" % (name, self.facts[name])
            for name in ("max_connections", "max_user_connections")
            if name in self.facts
        )
        return (
            "Connection pool %s could not get a connection within %.1f s: the server refused "
            "new connections (%s)%s while this process held %d. Raise the server's "
            "max_connections (or the account's max_user_connections), or lower "
            "OPTIONS['pool']['pool_size'] + ['max_overflow'] so that processes x that sum fits "
            "under the server's limit."
            % (
                self.name,
                self.options.timeout,
                refusal,
                "; server limits: %s" % limits if limits else "",
                self.open_count(),
            )
        )

    def exhausted_message(self) -> str:
        """Why a checkout timed out, with the numbers and the settings to change."""
        stats = self.stats()
        return (
            "Connection pool %s is exhausted: no connection was returned within %.1f s "
            "(pool_size=%d, max_overflow=%d; in use %d, idle %d, waiting %d). "
            "Raise OPTIONS['pool']['pool_size'] or ['max_overflow'] (and the server's "
            "max_connections to match), raise ['timeout'] to wait longer, or hold connections "
            "for less time (each open transaction keeps one)."
            % (
                self.name,
                self.options.timeout,
                stats["pool_size"],
                stats["max_overflow"],
                stats["in_use"],
                stats["idle"],
                stats["waiting"],
            )
        )

    def close(self) -> None:
        """Close idle connections now and checked-out ones when they come back."""
        self.closed = True
        self.dispose()
        # Callers waiting for a connection get PoolClosed now rather than PoolTimeout later.
        self._idle.release_waiters()


_NEVER = float("inf")


class _StaleConnection(Exception):
    """Reason recorded when a checkout finds a connection the server has dropped."""


# What the reset event reports for an in-place session reset (SQLAlchemy's PoolEvents.reset).
_RESET_STATE = PoolResetState(transaction_was_reset=True, terminate_only=False, asyncio_safe=True)


def _reason(exc: BaseException | None) -> str:
    return "no reason given" if exc is None else "%s: %s" % (type(exc).__name__, exc)


def keepalive(connection: Any) -> bool:
    """A round trip that keeps an idle connection alive; False if it failed."""
    try:
        gevent_support.ping(connection)
    except Exception:
        return False
    return True


def _ping(connection: Any) -> bool:
    # The checkout's health check: on the hub for a cooperative connection (gevent_support).
    return keepalive(connection)


def _close_quietly(connection: Any) -> None:
    # A close that SQLAlchemy's record did not complete (interrupted): close the connection
    # itself, so that its socket does not wait for a garbage collection.
    if connection is None:
        return
    try:
        connection.close()
    except Exception:
        # PyMySQL refuses a second close() once its first began ("Already closed") and may
        # have been stopped before its socket was: its own last step closes that.
        force_close = getattr(connection, "_force_close", None)
        if force_close is not None:
            try:
                force_close()
            except Exception:
                pass


def _value(counter: itertools.count[int]) -> int:
    # The next number a count will give, i.e. how many it gave: its repr is "count(n)".
    return int(repr(counter)[6:-1])
