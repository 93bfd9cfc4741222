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

import atexit
import collections
import itertools
import logging
import os
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import queue as sa_queue

from . import housekeeping
from .disconnect import error_code, idle_probe, peer_has_spoken
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

logger = logging.getLogger("django_pooled_mysql")

Connector = Callable[[], Any]
# A holder's key and its weak references (see ConnectionPool.watchers_for()).
Watchers = tuple[int, tuple["weakref.ref[Any]", ...]]


class Lease:
    """One physical connection pinned to one holder until release(), reset() or invalidate().

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


class _Waiter:
    """A caller waiting for a record: blocked on its own lock until a put hands one over."""

    __slots__ = ("lock", "record")

    def __init__(self) -> None:
        self.record: Any = None
        self.lock = threading.Lock()
        self.lock.acquire()


class IdleQueue(sa_queue.QueueCommon[Any]):
    """QueuePool's queue of idle connection records: cheap when nobody waits, fair when some do.

    SQLAlchemy's own Queue takes an RLock and notifies a Condition on every get and put (~4 us a
    checkout+checkin here). Here, while nobody waits, taking and putting back are single deque
    operations, which are atomic. Callers that must wait queue up in arrival order, and a put
    hands its record straight to the first of them. Without that hand-off, a thread running
    statement after statement puts its connection back and takes it again before a woken waiter
    gets to run, and waiters time out while connections are returned all the time (measured: 8
    threads on a 1-connection pool, 16 PoolTimeouts in 6 s, one thread doing all the work).

    No lost hand-offs: a waiter registers (under the lock) before it looks at the deque, and a
    put looks for waiters after appending, so either the waiter's look finds the record or the
    put finds the waiter.
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self.queue: collections.deque[Any] = collections.deque()
        self._pop = self.queue.pop if use_lifo else self.queue.popleft
        # Looked up at construction so that gevent's monkey-patched locks are used when patched.
        self._lock = threading.Lock()
        self._waiters: collections.deque[_Waiter] = collections.deque()

    @property
    def waiting(self) -> int:
        """How many callers are waiting for a record (for pool_stats())."""
        return len(self._waiters)

    def qsize(self) -> int:
        return len(self.queue)

    def empty(self) -> bool:
        return not self.queue

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self.queue)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        # Two puts racing past the size check can leave one record more than maxsize idle: it
        # stays counted as overflow, so the pool's limit still holds.
        if 0 < self.maxsize <= len(self.queue) and not self._waiters:
            raise sa_queue.Full()
        self._append(item)

    def _append(self, item: Any) -> None:
        self.queue.append(item)
        if self._waiters:
            with self._lock:
                self._hand_off()

    def _hand_off(self) -> None:
        # Called with the lock held: idle records go to the longest-waiting callers.
        waiters, queue = self._waiters, self.queue
        while waiters and queue:
            try:
                record = self._pop()
            except IndexError:  # taken meanwhile by a non-waiting caller
                return
            waiter = waiters.popleft()
            waiter.record = record
            waiter.lock.release()

    def release_waiters(self) -> None:
        """End every wait with None (the pool is closing: no record will come)."""
        with self._lock:
            while self._waiters:
                self._waiters.popleft().lock.release()

    def take(self) -> Any:
        """An idle record, or None when there is none or others are already waiting for one."""
        if self._waiters:
            return None
        try:
            return self._pop()
        except IndexError:
            return None

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not block:
            try:
                return self._pop()
            except IndexError:
                raise sa_queue.Empty() from None
        record = self.take()
        if record is not None:
            return record
        return self._wait(timeout)

    def _wait(self, timeout: float | None) -> Any:
        waiter = _Waiter()
        with self._lock:
            self._waiters.append(waiter)
            self._hand_off()
        try:
            handed = waiter.lock.acquire(timeout=-1 if timeout is None else max(timeout, 0))
        except BaseException:
            # Interrupted while waiting (gevent.Timeout, KeyboardInterrupt): leave the line, and
            # pass on a record handed over meanwhile, or it would be lost to the pool.
            with self._lock:
                record, waiter.record = waiter.record, None
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if record is not None:
                self._append(record)
            raise
        if handed:
            return waiter.record
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                raise sa_queue.Empty()
        # Handed a record (or released by close()) just as the wait timed out.
        return waiter.record

    def wait_for_put(self, timeout: float) -> Any:
        """A record handed over within timeout (in turn with other waiters), or None (also when
        released by release_waiters())."""
        try:
            return self._wait(timeout)
        except sa_queue.Empty:
            return None


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
        reset_session: Callable[[Any], bool] | None = None,
    ) -> None:
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
                "server_refusals",
                "leak_warnings",
                "abandoned",
                "reset_reconnects",
            ),
            0,
        )
        # File descriptors of this pool's open sockets, for fork(): see _forget_pools_in_child.
        self._fds: set[int] = set()
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
        self._idle: IdleQueue = self._queue._pool  # type: ignore[assignment]
        # checkout()'s shortcut applies to the default health checks; other settings take the
        # full path through _healthy_connection().
        self._quick_checkout = options.pre_ping and options.recycle is None
        event.listen(self._queue, "close", self._on_close)
        event.listen(self._queue, "invalidate", self._on_invalidate)

    def __repr__(self) -> str:
        return "<ConnectionPool %s>" % self.name

    # -- connect / close events ---------------------------------------------------------------

    def _create(self, record: Any) -> Any:
        conn = self._connect()
        if not self.connection_attributes:
            self.connection_class = type(conn)
            self.connection_attributes = frozenset(dir(conn))
        probe, fd = idle_probe(conn)
        record.info["probe"] = probe
        record.info["fd"] = fd
        if fd >= 0:
            self._fds.add(fd)
        record.info["fresh"] = True
        self._last_refusal = None
        self._probe_backoff = 0.01
        self._count("connects")
        logger.debug("pool %s: connect (%d open)", self.name, self.open_count())
        return conn

    def _on_close(self, dbapi_connection: Any, record: Any) -> None:
        self._fds.discard(record.info.get("fd", -1))
        self._count("closes")
        logger.debug("pool %s: close", self.name)

    def _on_invalidate(self, dbapi_connection: Any, record: Any, exc: BaseException | None) -> None:
        self._count("invalidations")
        logger.info("pool %s: invalidate connection (%s)", self.name, _reason(exc))

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    # -- checkout / checkin -------------------------------------------------------------------

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

    def touch(self) -> None:
        """Check a connection out and straight back in (connects the pool's first connection)."""
        self.checkin(self.checkout()[0])

    def checkout(self) -> tuple[Any, Any]:
        """Check a healthy connection out: ``(record, connection)``, for checkin() or discard().

        The hot path (once per statement): an idle connection, a lock, a zero-timeout poll()
        and a clock read. Everything else (connecting, waiting, pinging, recycling, the server's
        connection limit) is on the slow path.
        """
        if self._last_refusal is None and not self.closed:
            record = self._idle.take()
            if record is not None:
                info = record.info
                connection = record.dbapi_connection
                probe = info.get("probe")
                if (
                    self._quick_checkout
                    and connection is not None
                    and probe is not None
                    and "fresh" not in info
                    and not probe.poll(0)
                    and time.monotonic() - info.get("idle_since", 0.0) <= self.options.ping_after
                ):
                    return record, connection
                return record, self._checked_connection(record)
        return self._checkout_slow()

    def _checkout_slow(self) -> tuple[Any, Any]:
        """checkout() when no connection is idle, the pool is closed, or the server is full.

        Waits up to ``timeout`` when all connections are in use. A server that refuses new
        connections for capacity (1040, 1203) is treated like a full pool: wait for one of this
        pool's connections to come back, or retry the connect with backoff, until ``timeout``.
        """
        idle = self._idle
        refusal = self._last_refusal
        if refusal is not None and not idle.queue:
            # The server was refusing connections a moment ago: queue up behind the one caller
            # that may try again, rather than each sending a connect the server will refuse.
            return self._acquire_despite_server_limit(refusal)
        try:
            return self._acquire_once()
        except Exception as exc:
            if error_code(exc) not in SERVER_FULL_CODES:
                raise
            self._note_refusal(exc)
            return self._acquire_despite_server_limit(exc)

    def _note_refusal(self, exc: Exception) -> None:
        # Called with the probe lock held, or by a first attempt: back off for everyone.
        self._last_refusal = exc
        self._count("server_refusals")
        self._next_probe_at = time.monotonic() + self._probe_backoff
        self._probe_backoff = min(self._probe_backoff * 2, _MAX_BACKOFF)

    def _acquire_despite_server_limit(self, refusal: Exception) -> tuple[Any, Any]:
        deadline = time.monotonic() + self.options.timeout
        idle = self._idle
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
            record = idle.wait_for_put(min(max(self._next_probe_at - now, 0.001), remaining))
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
                    # A returned place may have no connection (it was discarded): reconnecting
                    # it can be refused too.
                    return record, self._checked_connection(record)
                return self._acquire_once()
            except Exception as exc:
                if error_code(exc) not in SERVER_FULL_CODES:
                    raise
                refusal = exc
                self._note_refusal(exc)
            finally:
                if probing:
                    self._connect_probe.release()

    def _acquire_once(self) -> tuple[Any, Any]:
        if self.closed:
            self._raise_closed()
        queue = self._queue
        if not self._idle.queue and queue._overflow >= queue._max_overflow:
            record = self._wait_for_record()
        else:
            record = self._take_record()
        return record, self._checked_connection(record)

    def _checked_connection(self, record: Any) -> Any:
        try:
            return self._healthy_connection(record)
        except BaseException:
            # The record goes back (without a connection); the next checkout reconnects it.
            self._queue._do_return_conn(record)
            raise

    def _take_record(self) -> Any:
        try:
            record = self._queue._do_get()
        except sa_exc.TimeoutError:
            self._count("timeouts")
            from .exceptions import PoolTimeout

            raise PoolTimeout(self.exhausted_message()) from None
        if record is None:
            # Released from the wait by close().
            self._raise_closed()
        return record

    def _raise_closed(self) -> None:
        from .exceptions import PoolClosed

        raise PoolClosed("The connection pool %s was closed." % self.name)

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

    def _end(self, lease: Lease) -> bool:
        """Mark a pinned lease ended; False if it had already ended (e.g. it was recovered)."""
        if self._pinned.pop(lease.serial, None) is None:
            return False
        lease.connection = None
        lease.watchers = None
        return True

    def release(self, lease: Lease) -> None:
        """Check a pinned connection back in (see checkin())."""
        if self._end(lease):
            self.checkin(lease.record)

    def checkin(self, record: Any) -> None:
        """Check a clean connection back in (autocommit on, no transaction, no session state)."""
        if self.inherited:
            return
        record.info["idle_since"] = time.monotonic()
        if self.closed:
            record.close()
            return
        try:
            self._idle.put(record, False)
        except sa_queue.Full:
            # pool_size connections are idle already: QueuePool closes this overflow one.
            self._queue._do_return_conn(record)

    def count_session_pin(self) -> None:
        """Count a Django connection pinning a connection for session state."""
        self._count("session_pins")

    def reset(self, lease: Lease, reason: str) -> None:
        """Give back a connection that carries session state, as a fresh one.

        The session is reset in place where the driver can (COM_RESET_CONNECTION, then the
        pool's session settings again: connect.py); otherwise, or if that fails, the connection
        is closed and its place reconnects on next use.
        """
        if not self._end(lease) or self.inherited:
            return
        self._count("resets")
        record = lease.record
        connection = record.dbapi_connection
        if not self.closed and self._reset_session is not None and connection is not None:
            try:
                clean = self._reset_session(connection)
            except BaseException as exc:
                # Half reset: the session's state is unknown, so the connection goes.
                self._count("reset_reconnects")
                self._close_and_return(record)
                if not isinstance(exc, Exception):
                    raise
                logger.info("pool %s: reset failed (%s); reconnected", self.name, _reason(exc))
                return
            if clean:
                logger.debug("pool %s: reset session in place (%s)", self.name, reason)
                self.checkin(record)
                return
        logger.debug("pool %s: reset by reconnecting (%s)", self.name, reason)
        self._count("reset_reconnects")
        self._close_and_return(record)

    def _close_and_return(self, record: Any) -> None:
        try:
            record.close()
        finally:
            if not self.closed:
                self._queue._do_return_conn(record)

    def invalidate(self, lease: Lease, exc: BaseException | None = None) -> None:
        """Close a pinned connection that broke (see discard())."""
        if self._end(lease):
            self.discard(lease.record, exc)

    # -- abandoned leases -----------------------------------------------------------------------

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
        if not self.inherited:
            self._close_and_return(lease.record)

    def discard(self, record: Any, exc: BaseException | None = None) -> None:
        """Close a broken or dirty connection and give its place back to the pool."""
        if self.inherited:
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

    # -- leak warnings --------------------------------------------------------------------------

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
        # Callers waiting for a connection get PoolClosed now rather than PoolTimeout later.
        self._idle.release_waiters()


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
    # Runs in the child right after fork(). The parent's pools and sockets stay the parent's; the
    # child builds its own pools on first use. Each inherited socket descriptor is pointed at
    # /dev/null in the child, so that whatever the child does with the inherited objects (garbage
    # collection, interpreter exit in a Gunicorn worker) cannot send COM_QUIT or anything else on
    # a connection the parent is still using.
    global _registry_lock
    _registry_lock = threading.Lock()
    inherited = list(_registry.values())
    _registry.clear()
    if not inherited:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for pool in inherited:
            pool.closed = pool.inherited = True
            for fd in pool._fds:
                try:
                    os.dup2(devnull, fd)
                except OSError:
                    pass
    finally:
        os.close(devnull)


def _close_at_exit() -> None:
    # A clean COM_QUIT per connection at interpreter exit (Gunicorn worker exit included), so the
    # server does not count aborted clients.
    try:
        close_pools()
    except Exception:
        logger.debug("closing pools at exit failed", exc_info=True)


os.register_at_fork(after_in_child=_forget_pools_in_child)
atexit.register(_close_at_exit)
