"""Pinned leases: connections a holder keeps across calls, and the recovery of abandoned ones.

A statement lease is a ``(record, connection)`` pair checked out and back in within one call.
A *pinned* lease (a transaction, session state, ``pinned()``, a raw-connection attribute) lives
across calls, so the pool tracks it here until it ends, and watches its holder: each lease keeps
weak references to its holder (the Django connection's PooledConnection) and to its owner's
token (lease/ownership.py). If either goes while the lease is still pinned (a thread or greenlet
ended, or the holder was garbage-collected, without ``close()``), the lease is *abandoned*: the
housekeeper closes its connection, so that the server rolls back an open transaction and
releases named and table locks, and gives the place back. Weak-reference callbacks run wherever
the interpreter drops the last reference (a dying thread, the gevent hub, a garbage collection),
so they only hand the work to the housekeeper (housekeeping.py).

Ending a lease pops it from the table first, so that of two parties ending the same lease (its
holder and the recovery) only one gives the connection back.

Every pin is counted by kind (pins.py) when it starts, and when a lease gains a reason to be held
longer (``Lease.note_reason()``); the seconds it was pinned for a kind are counted when that
reason is replaced or the lease ends, however it ends (checkin, reset, invalidate, recovery), so
they cost nothing while the lease is held, and nothing at all to a statement lease.
"""

from __future__ import annotations

import itertools
import logging
import traceback
import weakref
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.pool import PoolResetState

from . import housekeeping
from .cancel import GivenUp
from .pins import PinSites, Site, current_holder, kind_of, outlasts

if TYPE_CHECKING:
    from .pool import ConnectionPool

logger = logging.getLogger("django_pooled_mysql")

# A holder's key and its weak references (see PinnedLeases.watchers_for()).
Watchers = tuple[int, tuple["weakref.ref[Any]", ...]]

# What the reset event reports for an in-place session reset (SQLAlchemy's PoolEvents.reset).
_RESET_STATE = PoolResetState(transaction_was_reset=True, terminate_only=False, asyncio_safe=True)


class Lease:
    """One physical connection pinned to one holder until checkin(), reset() or invalidate()."""

    __slots__ = (
        "connection",
        "holder",
        "holder_id",
        "kind",
        "kind_since",
        "pool",
        "reason",
        "record",
        "serial",
        "site",
        "stack",
        "statement",
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
        # Why it is pinned (transaction, session state, pinned(), ...), for logs, and its kind
        # (pins.py) since kind_since: set by PinnedLeases, which counts them.
        self.reason = reason
        self.kind = ""
        self.kind_since = self.taken_at = pool.clock()
        # Where the pin of that kind was asked for and the statement that asked, for holders().
        self.site: Site | None = None
        self.statement: Any = None
        # The thread (greenlet) that took the lease.
        self.holder, self.holder_id = current_holder()
        self.serial = 0
        # Where the lease was taken, when leak warnings are on.
        self.stack: str | None = None
        self.warned = False
        self.watchers: tuple[weakref.ref[Any], ...] | None = None

    def __repr__(self) -> str:
        state = "ended" if self.connection is None else "pinned (%s)" % self.reason
        return "<Lease %s on pool %s>" % (state, self.pool.name)

    def note_reason(self, reason: str, statement: Any = None) -> None:
        """A further reason to keep this connection (session state on a transaction's
        connection, ...): counted as a pin of its kind if it holds the connection longer than
        the current reason does (pins.outlasts())."""
        if outlasts(kind_of(reason), self.kind):
            self.pool.pinned.pinned_for(self, reason, statement)

    def checkin(self) -> None:
        """End the lease: the connection is clean (no transaction, no session state)."""
        pool = self.pool
        if pool.pinned.end(self):
            pool.checkin(self.record)

    def reset(self, reason: str) -> None:
        """End the lease of a connection that carries session state: reset it before reuse."""
        self.pool.pinned.reset(self, reason)

    def invalidate(self, exc: BaseException | None = None) -> None:
        """End the lease of a connection that broke: it is closed, its place kept."""
        pool = self.pool
        if pool.pinned.end(self):
            pool.invalidate(self.record, exc)


class PinnedLeases:
    """One pool's pinned leases by serial number (see the module docstring)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._leases: dict[int, Lease] = {}
        self._serials = itertools.count(1)
        # The call sites that pinned, for the first pin of each kind logged once (pins.py).
        self.sites = PinSites(pool.name)

    def __len__(self) -> int:
        return len(self._leases)

    def watchers_for(self, holder: object, owner: object | None) -> Watchers:
        """A holder's key and weak references to it and its owner, for its pins.

        Made once per holder: a holder pins at most one lease at a time, so the key names its
        current lease. While a lease is pinned it keeps the weak references alive (a callback
        runs only while its weak reference lives, and the holder's own die with the holder).
        """
        key = next(self._serials)
        refs = [weakref.ref(holder, partial(self._on_gone, key, "holder"))]
        if owner is not None:
            refs.append(weakref.ref(owner, partial(self._on_gone, key, "owner")))
        return key, tuple(refs)

    def pin(self, watchers: Watchers, reason: str, statement: Any = None) -> Lease:
        """Check a connection out for a holder that keeps it across calls; ``statement``, if
        given, is the statement that pins (for logs and holders(), never its parameters)."""
        record, connection = self._pool.checkout()
        return self.adopt(record, connection, watchers, reason, statement)

    def adopt(
        self, record: Any, connection: Any, watchers: Watchers, reason: str, statement: Any = None
    ) -> Lease:
        """Make a connection checked out of the pool a pinned lease."""
        pool = self._pool
        lease = Lease(pool, record, connection, reason)
        lease.serial, lease.watchers = watchers
        self._leases[lease.serial] = lease
        self.pinned_for(lease, reason, statement)
        # Recovery runs in the housekeeper: make sure it runs before anything can be abandoned.
        if housekeeping.running is None:
            housekeeping.housekeeper()
        limit = pool.options.leak_warning_after
        if limit is not None:
            lease.stack = "".join(traceback.format_stack(limit=25)[:-2])
            housekeeping.housekeeper().every(
                ("leaks", id(self)), min(limit / 2, 5.0), self._warn_of_leaks
            )
        return lease

    def pinned_for(self, lease: Lease, reason: str, statement: Any) -> None:
        """Count a pin of the reason's kind on a lease (new, or held longer: note_reason()); the
        time it was pinned for its previous kind is counted now."""
        pool = self._pool
        kind = kind_of(reason)
        if lease.kind:
            now = pool.clock()
            pool.counters.unpinned(lease.kind, now - lease.kind_since)
            lease.kind_since = now
        lease.kind, lease.reason, lease.statement = kind, reason, statement
        pool.counters.pinned(kind)
        lease.site = self.sites.note(kind, reason, statement)

    def end(self, lease: Lease) -> bool:
        """Mark a pinned lease ended; False if it had already ended (e.g. it was recovered)."""
        if self._leases.pop(lease.serial, None) is None:
            return False
        lease.connection = None
        lease.watchers = None
        self._pool.counters.unpinned(lease.kind, self._pool.clock() - lease.kind_since)
        return True

    def leases(self) -> list[Lease]:
        """The leases pinned now (for holders())."""
        return list(self._leases.values())

    def reset(self, lease: Lease, reason: str) -> None:
        """End a lease whose connection carries session state, resetting it before reuse.

        The session is reset in place where the driver can (COM_RESET_CONNECTION, then the
        pool's session settings again: driver/connect.py); otherwise, or if that fails, the
        connection is closed and its place reconnects on next use. A connection with a command
        under way (a stream still open, ...) is never read again: it is given up.
        """
        pool = self._pool
        if not self.end(lease) or pool.inherited:
            return
        pool.count("resets")
        record = lease.record
        connection = record.dbapi_connection
        if connection is not None and connection.in_flight is not None:
            pool.invalidate(record, GivenUp("reset mid-command (%s)" % reason))
            return
        reset_session = pool.reset_session
        if not pool.closed and reset_session is not None and connection is not None:
            try:
                clean = reset_session(connection)
            except BaseException as exc:
                # Half reset: the session's state is unknown, so the connection goes.
                pool.count("reset_reconnects")
                pool.invalidate(record, exc)
                if not isinstance(exc, Exception):
                    raise
                logger.info("pool %s: reset failed (%s); reconnecting", pool.name, exc)
                return
            if clean:
                connection.session_vars = ()  # back to the pool's setup (lease/variables.py)
                logger.debug("pool %s: reset session in place (%s)", pool.name, reason)
                if pool.dispatch.reset:
                    pool.dispatch.reset(connection, record, _RESET_STATE)
                pool.checkin(record)
                return
        logger.debug("pool %s: reset by reconnecting (%s)", pool.name, reason)
        pool.count("reset_reconnects")
        pool.close_and_return(record)

    def _on_gone(self, serial: int, which: str, _ref: object) -> None:
        # A weakref callback: only hands the work to the housekeeper (module docstring).
        if serial in self._leases and not self._pool.inherited:
            housekeeping.submit(partial(self._recover, serial, which))

    def _recover(self, serial: int, which: str) -> None:
        """Close a pinned connection whose holder or owner is gone and give its place back."""
        pool = self._pool
        lease = self._leases.get(serial)
        if lease is None or lease.watchers is None:
            return
        holder = lease.watchers[0]()
        if which == "owner" and holder is not None and getattr(holder, "shared", False):
            # The owning thread ended but the Django connection is shared with other threads
            # (inc_thread_sharing(), e.g. LiveServerTestCase): it is still in use.
            return
        reason = lease.reason
        if not self.end(lease):
            return
        try:
            record = lease.record
            connection = record.dbapi_connection
            if connection is not None and connection.in_flight is not None:
                pool.invalidate(record, GivenUp("abandoned mid-command"))
            elif not pool.inherited:
                pool.close_and_return(record)
        finally:
            # Counted once the place is back: whoever sees the count sees the place returned.
            pool.count("abandoned")
        logger.warning(
            "pool %s: recovered a connection abandoned while pinned (%s): %s without closing "
            "its Django connection. The connection was closed (an open transaction rolls back, "
            "locks are released) and its place returned to the pool.%s",
            pool.name,
            reason,
            "its thread or greenlet ended" if which == "owner" else "it was garbage-collected",
            " Taken at:\n%s" % lease.stack if lease.stack else "",
        )

    def _warn_of_leaks(self) -> bool:
        """Warn once for each lease pinned longer than ``leak_warning_after`` (a periodic job)."""
        pool = self._pool
        limit = pool.options.leak_warning_after
        if pool.closed or limit is None:
            return False
        now = pool.clock()
        for lease in list(self._leases.values()):
            if not lease.warned and now - lease.taken_at > limit:
                lease.warned = True
                pool.count("leak_warnings")
                logger.warning(
                    "pool %s: a connection has been held for %.0f s (leak_warning_after=%s): "
                    "an open transaction or a session pin that never ended? Taken at:\n%s",
                    pool.name,
                    now - lease.taken_at,
                    limit,
                    lease.stack,
                )
        return True
