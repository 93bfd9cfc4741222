"""The per-process pool registry around SQLAlchemy's QueuePool; knows nothing of Django.

A *lease* is one physical connection checked out by one holder. Leases are taken per statement,
so the checkout path is the hot path: it uses QueuePool's record-level hooks (``_do_get`` /
``_do_return_conn``, the methods QueuePool itself implements for Pool) instead of the public
``connect()``, which builds a proxy object, a weakref finalizer and event dispatch per checkout
(~17 us against ~5 us measured here). QueuePool still owns sizing, overflow, the wait with its
timeout, LIFO/FIFO order, reconnection and the close/invalidate events.

Event vocabulary used in code, logs and docs: connect, checkout, checkin, invalidate, close.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import queue as sa_queue

from .disconnect import idle_probe, peer_has_spoken
from .options import PoolOptions

logger = logging.getLogger("django_pooled_mysql")

Connector = Callable[[], Any]


class Lease:
    """One physical connection held by one holder until release() or invalidate()."""

    __slots__ = ("connection", "pool", "record", "taken_at")

    def __init__(self, pool: ConnectionPool, record: Any, connection: Any) -> None:
        self.pool = pool
        self.record = record
        # Set to None on release: any later use fails loudly instead of touching a connection
        # that someone else may hold by then.
        self.connection: Any = connection
        self.taken_at = time.monotonic()

    def __repr__(self) -> str:
        state = "released" if self.connection is None else "held"
        return "<Lease %s on pool %s>" % (state, self.pool.name)


class IdleQueue(sa_queue.QueueCommon[Any]):
    """QueuePool's queue of idle connection records, cheap when nobody has to wait.

    SQLAlchemy's own Queue takes an RLock and notifies a Condition on every get and put (~4 us a
    checkout+checkin here). QueuePool only ever puts without blocking, so a plain lock is enough
    unless the queue is empty; the Condition is used only by callers that really wait. It also
    knows how many callers are waiting, for pool_stats().
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self.queue: collections.deque[Any] = collections.deque()
        # Looked up at construction so that gevent's monkey-patched locks are used when patched.
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self.waiting = 0

    def qsize(self) -> int:
        return len(self.queue)

    def empty(self) -> bool:
        return not self.queue

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self.queue)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            if 0 < self.maxsize <= len(self.queue):
                raise sa_queue.Full()
            self.queue.append(item)
            if self.waiting:
                self._not_empty.notify()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        with self._lock:
            if not self.queue:
                if not block:
                    raise sa_queue.Empty()
                self._wait(timeout)
            return self.queue.pop() if self.use_lifo else self.queue.popleft()

    def _wait(self, timeout: float | None) -> None:
        # Called with the lock held.
        deadline = None if timeout is None else time.monotonic() + timeout
        self.waiting += 1
        try:
            while not self.queue:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise sa_queue.Empty()
                self._not_empty.wait(remaining)
        finally:
            self.waiting -= 1


class _LeaseQueuePool(QueuePool):
    _queue_class = IdleQueue


class ConnectionPool:
    """A bounded pool of physical connections for one set of connection parameters."""

    def __init__(
        self,
        name: str,
        connect: Connector,
        options: PoolOptions,
        *,
        timeout_hint: Callable[[], str] | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self.closed = False
        # True in a forked child for pools built by the parent: their sockets belong to the parent.
        self.inherited = False
        # Server facts (version, sql_mode, ...) cached once per pool by whoever connects.
        self.facts: dict[str, Any] = {}
        self._connect = connect
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(
            (
                "connects",
                "closes",
                "invalidations",
                "recycles",
                "timeouts",
                "wait_count",
                "session_pins",
                "resets",
            ),
            0,
        )
        self._wait_seconds = 0.0
        self._queue = _LeaseQueuePool(
            self._create,  # type: ignore[arg-type]
            pool_size=options.pool_size,
            max_overflow=options.max_overflow,
            timeout=options.timeout,
            use_lifo=options.use_lifo,
            # Recycling and pinging are done here, where they can be counted and kept off the
            # hot path; a reset on return would add a ROLLBACK round trip per statement.
            recycle=-1,
            pre_ping=False,
            reset_on_return=None,
        )
        event.listen(self._queue, "close", self._on_close)
        event.listen(self._queue, "invalidate", self._on_invalidate)

    def __repr__(self) -> str:
        return "<ConnectionPool %s>" % self.name

    # -- connect / close events ---------------------------------------------------------------

    def _create(self, record: Any) -> Any:
        conn = self._connect()
        record.info["probe"] = idle_probe(conn)
        record.info["fresh"] = True
        self._count("connects")
        logger.debug("pool %s: connect (%d open)", self.name, self.open_count())
        return conn

    def _on_close(self, dbapi_connection: Any, record: Any) -> None:
        self._count("closes")
        logger.debug("pool %s: close", self.name)

    def _on_invalidate(self, dbapi_connection: Any, record: Any, exc: BaseException | None) -> None:
        self._count("invalidations")
        logger.info("pool %s: invalidate connection (%s)", self.name, _reason(exc))

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    # -- checkout / checkin -------------------------------------------------------------------

    def acquire(self) -> Lease:
        """Check a healthy connection out; wait up to ``timeout`` when all are in use."""
        if self.closed:
            from .exceptions import PoolClosed

            raise PoolClosed("The connection pool %s was closed." % self.name)
        queue = self._queue
        idle: IdleQueue = queue._pool  # type: ignore[assignment]
        if not idle.queue and queue._overflow >= queue._max_overflow:
            record = self._wait_for_record()
        else:
            record = self._take_record()
        try:
            connection = self._healthy_connection(record)
        except BaseException:
            # The record goes back (without a connection); the next checkout reconnects it.
            queue._do_return_conn(record)
            raise
        return Lease(self, record, connection)

    def _take_record(self) -> Any:
        try:
            return self._queue._do_get()
        except sa_exc.TimeoutError:
            self._count("timeouts")
            from .exceptions import PoolTimeout

            raise PoolTimeout(self.exhausted_message()) from None

    def _wait_for_record(self) -> Any:
        self._count("wait_count")
        started = time.monotonic()
        try:
            return self._take_record()
        finally:
            waited = time.monotonic() - started
            with self._lock:
                self._wait_seconds += waited

    def _healthy_connection(self, record: Any) -> Any:
        options = self.options
        if (
            options.recycle is not None
            and record.dbapi_connection is not None
            and time.time() - record.starttime > options.recycle
        ):
            self._count("recycles")
            logger.debug("pool %s: recycle connection older than %ss", self.name, options.recycle)
            record.close()
        # get_connection() also reconnects a record whose connection was invalidated or closed.
        connection = record.dbapi_connection or record.get_connection()
        info = record.info
        if info.pop("fresh", False) or not options.pre_ping:
            return connection
        idle_for = time.monotonic() - info.get("idle_since", 0.0)
        if peer_has_spoken(info.get("probe")) or (
            idle_for > options.ping_after and not _ping(connection)
        ):
            record.invalidate(_StaleConnection("dropped by the server while idle"))
            connection = record.get_connection()
            info.pop("fresh", None)
        return connection

    def release(self, lease: Lease) -> None:
        """Check a clean connection back in (autocommit on, no transaction, no session state)."""
        record = lease.record
        lease.connection = None
        if self.inherited:
            _inherited_records.append(record)
            return
        record.info["idle_since"] = time.monotonic()
        if self.closed:
            record.close()
            return
        self._queue._do_return_conn(record)

    def count_session_pin(self) -> None:
        """Count a Django connection pinning a connection for session state."""
        self._count("session_pins")

    def reset(self, lease: Lease, reason: str) -> None:
        """Give back a connection that carries session state, as a fresh one.

        The connection is closed and its place reconnects on next use. Closing is the only reset
        that covers every kind of session state for both drivers (PyMySQL has no
        COM_CHANGE_USER), and its cost falls only on requests that created session state.
        """
        record = lease.record
        lease.connection = None
        if self.inherited:
            _inherited_records.append(record)
            return
        self._count("resets")
        logger.debug("pool %s: reset connection after session state (%s)", self.name, reason)
        try:
            record.close()
        finally:
            if not self.closed:
                self._queue._do_return_conn(record)

    def invalidate(self, lease: Lease, exc: BaseException | None = None) -> None:
        """Close a broken or dirty connection and give its place back to the pool."""
        record = lease.record
        lease.connection = None
        if self.inherited:
            _inherited_records.append(record)
            return
        try:
            record.invalidate(exc)
        finally:
            if not self.closed:
                self._queue._do_return_conn(record)

    # -- introspection and shutdown -----------------------------------------------------------

    def open_count(self) -> int:
        """Physical connections currently open."""
        with self._lock:
            return self._counts["connects"] - self._counts["closes"]

    def stats(self) -> dict[str, Any]:
        """Counters and gauges; key names are stable (documented in docs/reference.md)."""
        queue = self._queue
        with self._lock:
            counts = dict(self._counts)
            wait_seconds = self._wait_seconds
        waiting = queue._pool.waiting  # type: ignore[attr-defined]
        in_use = queue.checkedout()
        open_ = counts["connects"] - counts.pop("closes")
        return {
            "pool_size": self.options.pool_size,
            "max_overflow": self.options.max_overflow,
            "open": open_,
            "in_use": in_use,
            "idle": max(open_ - in_use, 0),
            "overflow": max(queue.overflow(), 0),
            "waiting": waiting,
            "wait_count": counts.pop("wait_count"),
            "wait_seconds": wait_seconds,
            **counts,
        }

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
        self._queue.dispose()


class _StaleConnection(Exception):
    """Reason recorded when a checkout finds a connection the server has dropped."""


def _reason(exc: BaseException | None) -> str:
    return "no reason given" if exc is None else "%s: %s" % (type(exc).__name__, exc)


def _ping(connection: Any) -> bool:
    try:
        connection.ping()
    except Exception:
        return False
    return True


# -- the registry: one pool per key per process ----------------------------------------------

_registry: dict[Hashable, ConnectionPool] = {}
_registry_lock = threading.Lock()
# Pools inherited from a parent process. They are kept referenced forever: if they were garbage
# collected, closing their connections would send COM_QUIT on sockets the parent still uses.
_inherited: list[ConnectionPool] = []
_inherited_records: list[Any] = []


def get_pool(key: Hashable, factory: Callable[[], ConnectionPool]) -> ConnectionPool:
    """The pool for key in this process, created by factory on first use."""
    pool = _registry.get(key)
    if pool is None:
        with _registry_lock:
            pool = _registry.get(key)
            if pool is None:
                pool = _registry[key] = factory()
    return pool


def pools() -> list[ConnectionPool]:
    """Every pool of this process."""
    with _registry_lock:
        return list(_registry.values())


def close_pools(match: Callable[[Hashable], bool] = lambda key: True) -> int:
    """Close and forget the pools whose key matches; returns how many were closed."""
    with _registry_lock:
        keys = [key for key in _registry if match(key)]
        closing = [_registry.pop(key) for key in keys]
    for pool in closing:
        pool.close()
    return len(closing)


def _forget_pools_in_child() -> None:
    # Runs in the child right after fork(): the parent's pools (and their sockets) stay with the
    # parent. The child builds its own on first use.
    global _registry_lock
    _registry_lock = threading.Lock()
    for pool in _registry.values():
        pool.closed = pool.inherited = True
        _inherited.append(pool)
    _registry.clear()


os.register_at_fork(after_in_child=_forget_pools_in_child)
