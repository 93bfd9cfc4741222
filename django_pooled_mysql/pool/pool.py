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

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool

from ..driver import cooperative
from ..driver.errors import error_code
from .backoff import SERVER_FULL_CODES, ServerFullBackoff
from .cancel import Cancellations, GivenUp
from .health import checked_connection, keepalive
from .idle_queue import IdleQueue
from .maintenance import IdleMaintenance
from .options import PoolOptions
from .pinned import PinnedLeases
from .records import close_quietly, forget_descriptors, note_connection
from .stats import Counters, snapshot
from .waits import Waits

# At most one slow-checkout WARNING per pool this often (a starved pool would otherwise log a
# line per waiter handed a connection, thousands a second); the next line says how many more.
_SLOW_CHECKOUT_REPORT_EVERY = 10.0

logger = logging.getLogger("django_pooled_mysql")

# Opens a physical connection; given the seconds its caller can still wait, or None.
Connector = Callable[[float | None], Any]


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
        self.reset_session = reset_session
        # Session variables' values after the pool's session setup, read by the lease layer
        # (lease/variables.py) to give a connection's replayed variables back.
        self.session_baselines: dict[str, Any] = {}
        self.idle = IdleQueue(use_lifo=options.use_lifo)
        # Places whose connections were given up mid-command, until their sessions are gone.
        self._cancellations = Cancellations(self)
        # Records in existence, idle or checked out: each is a place, at most max_connections.
        self._places = 0
        self._places_lock = threading.Lock()
        self.counters = Counters()
        # Checkouts, counted without a lock on the hot path (next() on a count is atomic).
        self._requests = self.counters.requests
        # Slow checkouts: waiting for a connection, or out the server's limit (waits.py).
        self.waits = Waits(self)
        # File descriptors of this pool's open sockets, for fork() (registry.py).
        # Each maps to the info of the record whose connection it is: a driver that closed its
        # socket itself (PyMySQL, interrupted) frees the number for a new connection.
        self.fds: dict[int, dict[str, Any]] = {}
        # Connections pinned to a holder across calls, and their recovery (pinned.py).
        self.pinned = PinnedLeases(self)
        # While the server refuses connections for capacity, one caller at a time tries to
        # connect after a shared backoff; the others wait for a connection to come back.
        self.backoff = ServerFullBackoff()
        # checkout()'s shortcut applies to the default health checks; other settings take the
        # full path through _healthy_connection().
        self._quick_checkout = options.pre_ping
        # The idle connections looked after by the housekeeper (maintenance.py); the clock of
        # the pool's decisions (monotonic; a test may set its own).
        self.maintenance = IdleMaintenance(self)
        self.clock = time.monotonic
        # The deadline of the caller whose checkout opens a connection (see _connect_record()):
        # per thread, or per greenlet when gevent has patched threading.local.
        self._connecting = threading.local()
        # How many idle records checkin keeps before closing an overflow one (no limit when the
        # housekeeper closes idle connections after idle_timeout).
        self.idle_limit = options.pool_size if options.idle_timeout is None else 1 << 30
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
        record = self.idle.take()
        if record is not None:
            return record
        record = self.open_record()
        if record is not None:
            return record
        return self.waits.for_record()

    def _do_return_conn(self, record: Any) -> None:
        """Take a checked-in record back: idle (closed later by the housekeeper once idle for
        idle_timeout), or, without an idle_timeout, closed when pool_size are idle already."""
        if self.closed:
            self.close_record(record, give_up_place=True)
        elif not self.idle.put_unless_full(record, self.idle_limit):
            # As QueuePool does: pool_size connections are idle already, so this overflow one
            # is closed and its place given up.
            self.count("closed_overflow")
            self.close_record(record, give_up_place=True)

    def dispose(self) -> None:
        """Close the idle connections; checked-out ones are unaffected (SQLAlchemy's contract)."""
        while True:
            record = self.idle.take_any()
            if record is None:
                return
            self.close_record(record, give_up_place=True)

    def recreate(self) -> ConnectionPool:
        """A new pool with the same parameters (SQLAlchemy's contract)."""
        return ConnectionPool(
            self.name, self._connect, self.options, reset_session=self.reset_session
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

    def claim_place(self) -> bool:
        """Take a free place, if any (at most max_connections records exist)."""
        with self._places_lock:
            if self._places >= self.options.max_connections:
                return False
            self._places += 1
            return True

    def give_up_place(self) -> None:
        """A place (record) goes: the pool may open another."""
        with self._places_lock:
            self._places -= 1

    def open_record(self) -> Any:
        """A new record with a new connection in a free place, or None when every place is
        taken. The connect is bounded by the caller's pool timeout; a failed one gives the
        place back."""
        if not self.claim_place():
            return None
        try:
            return self.within_timeout(self._create_connection)
        except BaseException:
            self.after_connect_failed(self.give_up_place)
            raise

    @staticmethod
    def after_connect_failed(release: Callable[[], object]) -> None:
        # A connect that failed gives its place back now; one interrupted while gevent's native
        # thread still connects, once that thread's connection is closed (a session on the
        # server until then).
        late = cooperative.take_late()
        if late is None:
            release()
        else:
            late.then(release)

    # -- connect / close events ---------------------------------------------------------------

    def _connect_record(self, connection_record: Any) -> Any:
        # The creator, called by SQLAlchemy's record with itself (Pool's creator signature).
        deadline = getattr(self._connecting, "deadline", None)
        remaining = None if deadline is None else max(deadline - self.clock(), 0.0)
        try:
            conn = self._connect(remaining)
        except Exception:
            self.count("connect_errors")
            raise
        info = connection_record.info
        try:
            note_connection(self, conn, info)
        except BaseException:
            # Interrupted before SQLAlchemy's record holds it: nothing else would close it
            # before a garbage collection.
            forget_descriptors(self, info)
            close_quietly(conn)
            raise
        self.backoff.connected()
        self.count("connects")
        logger.debug("pool %s: connect (%d open)", self.name, self.open_count())
        return conn

    def _on_close(self, dbapi_connection: Any, record: Any) -> None:
        forget_descriptors(self, record.info)
        self.count("closes")
        logger.debug("pool %s: close", self.name)

    def _on_invalidate(self, dbapi_connection: Any, record: Any, exc: BaseException | None) -> None:
        self.count("invalidations")
        logger.info("pool %s: invalidate connection (%s)", self.name, _reason(exc))

    def close_record(
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
            close_quietly(connection)  # interrupted: the socket goes all the same
            raise
        finally:
            if give_up_place:
                self.give_up_place()

    def count(self, key: str, n: int = 1) -> None:
        """Add n to one of the pool's counters (stats.py)."""
        self.counters.count(key, n)

    # -- checkout / checkin -------------------------------------------------------------------

    def checkout(self) -> tuple[Any, Any]:
        """Check a healthy connection out: ``(record, connection)``, for checkin() or invalidate().

        The hot path (once per statement): an idle connection, a zero-timeout poll() and a clock
        read, no lock. Everything else (connecting, waiting, pinging, recycling, the server's
        connection limit) is on the slow path.
        """
        next(self._requests)
        if self.backoff.refusal is None and not self.closed:
            record = self.idle.take()
            if record is not None:
                info = record.info
                connection = record.dbapi_connection
                probe = info.get("probe")
                now = self.clock()
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
                return record, self.checked_connection(record)
        return self._checkout_slow()

    def checkout_matching(self, match: Callable[[Any], bool]) -> tuple[Any, Any] | None:
        """checkout() of an idle connection whose record match() accepts, or None if none of the
        most recently returned ones does (the lease layer prefers a connection that already has
        a Django connection's session variables: lease/variables.py)."""
        if self.backoff.refusal is not None or self.closed:
            return None
        record = self.idle.take_matching(match)
        if record is None:
            return None
        next(self._requests)
        return record, self.checked_connection(record)

    def _checkout_slow(self) -> tuple[Any, Any]:
        """checkout() when no connection is idle, the pool is closed, or the server is full.

        Waits up to ``timeout`` when all connections are in use. A server that refuses new
        connections for capacity (1040, 1203) is treated like a full pool: wait for one of this
        pool's connections to come back, or retry the connect with backoff, until ``timeout``.
        """
        refusal = self.backoff.refusal
        if refusal is not None and not len(self.idle):
            # The server was refusing connections a moment ago: queue up behind the one caller
            # that may try again, rather than each sending a connect the server will refuse.
            return self.waits.despite_server_limit(refusal)
        try:
            return self._checkout_record()
        except Exception as exc:
            if error_code(exc) not in SERVER_FULL_CODES:
                raise
            self._note_refusal(exc)
            return self.waits.despite_server_limit(exc)

    def _checkout_record(self) -> tuple[Any, Any]:
        record = self._do_get()
        return record, self.checked_connection(record)

    def _note_refusal(self, exc: Exception) -> None:
        # Called by the caller holding the attempt, or by a first attempt.
        self.count("server_refusals")
        self.backoff.refused(exc, self.clock())

    def within_timeout(self, connect: Callable[[], Any]) -> Any:
        """Run connect() (which opens a connection) bounded by the caller's deadline: the one set
        by an outer wait, or ``timeout`` from now (driver/connect.py lowers connect_timeout to
        it)."""
        local = self._connecting
        if getattr(local, "deadline", None) is not None:
            return connect()
        local.deadline = self.clock() + self.options.timeout
        try:
            return connect()
        finally:
            local.deadline = None

    def _raise_closed(self) -> None:
        from ..exceptions import PoolClosed

        raise PoolClosed("The connection pool %s was closed." % self.name)

    def checked_connection(self, record: Any) -> Any:
        """The connection of a record taken from the idle queue (or handed over), after the
        health check (health.py): reconnected if needed; the checkout event fires."""
        return checked_connection(self, record)

    def checkin(self, record: Any) -> None:
        """Check a clean connection back in (autocommit on, no transaction, no session state).

        A connection with a command in flight (driver/wire.py) is never handed on: it is given
        up."""
        if self.inherited:
            return
        connection = record.dbapi_connection
        if connection is not None and connection.in_flight is not None:
            self.invalidate(record, GivenUp("checked in mid-command"))
            return
        info = record.info
        now = info["idle_since"] = self.clock()
        listeners = self._on_checkin
        if listeners.listeners or listeners.parent_listeners:
            listeners(record.dbapi_connection, record)
        if now >= info.get("retire_at", _NEVER):
            # Lifetime over: the record goes back without its connection (reconnects on use).
            self.count("closed_lifetime")
            try:
                record.close()
            except BaseException:
                self._do_return_conn(record)
                raise
        if self.closed or not self.idle.put_unless_full(record, self.idle_limit):
            if not self.closed:
                self.count("closed_overflow")
            self.close_record(record, give_up_place=True)

    def invalidate(self, record: Any, exc: BaseException | None = None) -> None:
        """Close a broken or dirty connection checked out by checkout(); its place stays (the
        record reconnects on a later checkout). One with a command in flight (driver/wire.py) is
        given to the cancellations: its place is back once its server session is gone."""
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

    def places(self) -> int:
        """Places (records) in existence: idle, checked out or being cancelled."""
        return self._places

    def cancelling(self) -> int:
        """Places whose connection was given up mid-command, until its session is gone."""
        return len(self._cancellations)

    def return_record(self, record: Any) -> None:
        """Take back a checked-out record whose connection was closed or given up (it reconnects
        on its next checkout)."""
        self._do_return_conn(record)

    def touch(self) -> None:
        """Check a connection out and straight back in (connects the pool's first connection)."""
        self.checkin(self.checkout()[0])

    def close_and_return(self, record: Any) -> None:
        """Close a record's connection; the record (the place) goes back and reconnects on next
        use."""
        try:
            record.close()
        finally:
            self._do_return_conn(record)

    # -- idle and lifetime management (maintenance.py) -----------------------------------------

    def warm_up(self) -> int:
        """Open connections up to min_idle now (e.g. in a Gunicorn post_fork hook); returns how
        many are open (maintenance.py)."""
        return self.maintenance.warm_up()

    def ping(self, connection: Any) -> bool:
        """A round trip that keeps an idle connection alive; False if it failed."""
        return keepalive(connection)

    # -- introspection and shutdown -----------------------------------------------------------

    def open_count(self) -> int:
        """Physical connections currently open."""
        return self.counters.opened()

    def stats(self) -> dict[str, Any]:
        """Counters and gauges; key names are stable (stats.py, docs/reference.md)."""
        return snapshot(self)

    def close(self) -> None:
        """Close idle connections now and checked-out ones when they come back."""
        self.closed = True
        self.dispose()
        # Callers waiting for a connection get PoolClosed now rather than PoolTimeout later.
        self.idle.release_waiters()


_NEVER = float("inf")


def _reason(exc: BaseException | None) -> str:
    return "no reason given" if exc is None else "%s: %s" % (type(exc).__name__, exc)
