"""The DB-API connection object Django holds: it owns no socket, only leases.

Outside a transaction each statement leases a physical connection and gives it back before
returning. Turning autocommit off starts a *transaction lease*: the first statement pins a
connection, which stays pinned until autocommit is turned back on. A statement that leaves state
on the server session (session.py), or direct use of the raw connection, starts a *session
lease* that lasts until close(); that connection is then reset (closed and replaced) rather than
returned, because nobody else may see its state. ``hold()``/``unhold()`` pin explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import MySQLdb

from .cursor import LASTROWID, PooledCursor, StatementResult, run_statement
from .disconnect import is_disconnect, never_reached_server
from .exceptions import ConnectionLostInTransaction
from .pool import ConnectionPool, Lease
from .session import session_effect

# Read on a freshly pinned connection, these would see the previous user's values. LAST_INSERT_ID
# is restored from this Django connection's own last insert (as ProxySQL does); the others are
# cleared first, so they read 0 / -1 rather than someone else's numbers.
_CLEAR_STATEMENT_STATE = "SELECT 1 FROM DUAL WHERE 0"
_RESTORE_LAST_INSERT_ID = "SELECT LAST_INSERT_ID(%s)"

logger = logging.getLogger("django_pooled_mysql")


class PooledConnection:
    """Looks like a MySQLdb connection to Django; leases real ones from a ConnectionPool."""

    def __init__(self, get_pool: Callable[[], ConnectionPool]) -> None:
        self._get_pool = get_pool
        self._pool = get_pool()
        self._lease: Lease | None = None
        # Django turned autocommit off and has not turned it back on.
        self._in_transaction = False
        # The pinned lease has autocommit off on the server.
        self._begun = False
        # Why the lease is pinned outside a transaction (session state), or None.
        self._session_pin: str | None = None
        # Set when the connection of an open transaction broke; cleared by rollback().
        self._lost: BaseException | None = None
        # Nesting depth of explicit pins (django_pooled_mysql.pinned()).
        self._holds = 0
        # LAST_INSERT_ID() of this Django connection's statements run on statement leases.
        self._last_insert_id = 0
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else "pinned" if self._lease else "idle"
        return "<PooledConnection %s on pool %s>" % (state, self._pool.name)

    # -- leases -------------------------------------------------------------------------------

    def _current_pool(self) -> ConnectionPool:
        pool = self._pool
        if pool.closed:
            # close_pool() or fork(): continue on the pool that now serves these parameters.
            pool = self._pool = self._get_pool()
        return pool

    def _pinned_lease(self) -> Lease | None:
        lease = self._lease
        if lease is not None and lease.pool.inherited:
            # Pinned before fork(): the socket is the parent's. Forget it without touching it.
            lease.pool.release(lease)
            self._lease = None
            self._begun = False
            self._session_pin = None
            self._holds = 0
            if self._in_transaction:
                self._lost = ConnectionLostInTransaction(
                    "The transaction was open across fork(); its connection belongs to the parent."
                )
            return None
        return lease

    def _pin(self, reason: str | None = None) -> Lease:
        if self.closed:
            raise MySQLdb.InterfaceError(0, "The connection is closed.")
        lease = self._pinned_lease()
        if lease is None:
            lease = self._lease = self._current_pool().acquire()
            lease.pool.watch(lease)
        if reason is not None and self._session_pin is None:
            self._session_pin = reason
            lease.pool.count_session_pin()
            logger.debug("pool %s: pin for session state (%s)", lease.pool.name, reason)
        return lease

    def _begin(self) -> Lease:
        """Pin a connection for the open transaction and turn its autocommit off."""
        if self._lost is not None:
            raise ConnectionLostInTransaction(
                "The connection of this transaction was lost (%s); roll back before using it "
                "again." % self._lost
            )
        lease = self._pin()
        if not self._begun:
            self._on_pinned(lease, lambda conn: conn.autocommit(False))
            self._begun = True
        return lease

    def _on_pinned(self, lease: Lease, action: Callable[[Any], Any]) -> Any:
        try:
            return action(lease.connection)
        except BaseException as exc:
            if is_disconnect(exc):
                self._drop_pinned(exc)
            raise

    def _drop_pinned(self, exc: BaseException) -> None:
        lease = self._lease
        self._lease = None
        self._begun = False
        self._session_pin = None
        if self._in_transaction:
            self._lost = exc
        if lease is not None:
            lease.pool.invalidate(lease, exc)

    def _unpin(self) -> None:
        lease = self._lease
        if lease is None:
            return
        self._lease = None
        session_pin, begun = self._session_pin, self._begun
        self._session_pin = None
        self._begun = False
        self._holds = 0
        if session_pin is not None or begun:
            # Session state or an unfinished transaction: nobody else may inherit it.
            lease.pool.reset(lease, session_pin or "unfinished transaction")
        else:
            lease.pool.release(lease)

    def _unpin_if_unneeded(self) -> None:
        if (
            self._lease is not None
            and not self._in_transaction
            and self._session_pin is None
            and self._holds == 0
        ):
            self._unpin()

    def hold(self) -> None:
        """Pin a connection until the matching unhold() (nestable)."""
        self._pin()
        self._holds += 1

    def unhold(self) -> None:
        """End one hold(); the connection goes back unless something else still pins it."""
        if self._holds > 0:
            self._holds -= 1
        self._unpin_if_unneeded()

    def _run_with_session_state(
        self, reason: str, method: str, query: Any, args: Any
    ) -> StatementResult:
        fresh = self._pinned_lease() is None
        lease = self._begin() if self._in_transaction else self._pin()
        if fresh:
            if reason == "LAST_INSERT_ID()":
                restore: Any = (_RESTORE_LAST_INSERT_ID, [self._last_insert_id])
            else:
                restore = (_CLEAR_STATEMENT_STATE, None)
            self._on_pinned(lease, lambda conn: run_statement(conn, "execute", *restore))
        self._pin(reason)
        return self._on_pinned(lease, lambda conn: run_statement(conn, method, query, args))

    def run_statement(self, method: str, query: Any, args: Any) -> StatementResult:
        """Run one statement on the pinned connection, or on a connection leased for it.

        This is the per-statement hot path: keep it flat (each call layer is measurable).
        """
        if self.closed:
            raise MySQLdb.InterfaceError(0, "The connection is closed.")
        if method != "executemany" or isinstance(query, (str, bytes)):
            reason = session_effect(query if method != "callproc" else "CALL")
            if reason is not None:
                return self._run_with_session_state(reason, method, query, args)
        if self._lease is not None or self._in_transaction:
            return self._run_pinned(method, query, args)
        pool = self._pool
        if pool.closed:
            pool = self._current_pool()
        record, connection = pool.checkout()
        try:
            result = run_statement(connection, method, query, args)
        except BaseException as exc:
            result = self._statement_failed(pool, record, exc, method, query, args)
        else:
            pool.checkin(record)
        if result[LASTROWID]:
            self._last_insert_id = result[LASTROWID]
        return result

    def _run_pinned(self, method: str, query: Any, args: Any) -> StatementResult:
        lease = self._pinned_lease()
        if self._in_transaction and not self._begun:
            # Also when a session lease is already pinned: its autocommit is still on.
            lease = self._begin()
        if lease is None:
            # The pinned lease was inherited across fork() and is gone: lease afresh.
            return self.run_statement(method, query, args)
        return self._on_pinned(lease, lambda conn: run_statement(conn, method, query, args))

    def _statement_failed(
        self,
        pool: ConnectionPool,
        record: Any,
        exc: BaseException,
        method: str,
        query: Any,
        args: Any,
    ) -> StatementResult:
        """A statement lease's statement raised: give the connection back or discard it, and
        retry once on a fresh connection if the statement cannot have reached the server."""
        if not is_disconnect(exc):
            pool.checkin(record)
            raise exc
        pool.discard(record, exc)
        if not never_reached_server(exc):
            raise exc
        logger.info(
            "pool %s: statement not sent (%s); retrying on a fresh connection", pool.name, exc
        )
        record, connection = pool.checkout()
        try:
            result = run_statement(connection, method, query, args)
        except BaseException as again:
            if is_disconnect(again):
                pool.discard(record, again)
            else:
                pool.checkin(record)
            raise
        pool.checkin(record)
        return result

    # -- the DB-API connection interface Django uses --------------------------------------

    def cursor(self) -> PooledCursor:
        """A cursor whose statements lease connections from the pool."""
        if self.closed:
            raise MySQLdb.InterfaceError(0, "The connection is closed.")
        return PooledCursor(self)

    def autocommit(self, on: bool) -> None:
        """Off: later statements share one pinned connection. On: commit state ends, unpin."""
        if not on:
            # The connection is pinned lazily by the first statement: an atomic() block that
            # runs no query never takes one.
            self._in_transaction = True
            return
        self._in_transaction = False
        self._lost = None
        lease = self._pinned_lease()
        if lease is None:
            return
        if self._begun:
            self._on_pinned(lease, lambda conn: conn.autocommit(True))
            self._begun = False
        self._unpin_if_unneeded()

    def commit(self) -> None:
        """Commit the pinned transaction; fails if its connection was lost."""
        if self._lost is not None:
            raise ConnectionLostInTransaction(
                "Cannot commit: the connection of this transaction was lost (%s); nothing of "
                "the transaction was committed." % self._lost
            )
        lease = self._pinned_lease()
        if lease is not None:
            self._on_pinned(lease, lambda conn: conn.commit())

    def rollback(self) -> None:
        """Roll back the pinned transaction; a lost one was already rolled back by the server."""
        if self._lost is not None:
            self._lost = None
            return
        lease = self._pinned_lease()
        if lease is not None:
            self._on_pinned(lease, lambda conn: conn.rollback())

    def ping(self, *args: Any) -> bool:
        """Check the pinned connection, or that the pool can hand out a healthy one."""
        lease = self._pinned_lease()
        if lease is not None:
            self._on_pinned(lease, lambda conn: conn.ping())
            return True
        pool = self._current_pool()
        pool.release(pool.acquire())
        return True

    def close(self) -> None:
        """Give back whatever is pinned; an unfinished transaction is rolled back by discarding."""
        if self.closed:
            return
        self.closed = True
        self._in_transaction = False
        self._lost = None
        self._pinned_lease()
        # Ends session leases too: the request is over, and with it the session's state.
        self._unpin()

    # -- raw connection use -----------------------------------------------------------------

    def _with_connection(self, action: Callable[[Any], Any]) -> Any:
        """Run a local (no round trip) driver call on the pinned connection or a short lease."""
        lease = self._pinned_lease()
        if lease is not None:
            return action(lease.connection)
        pool = self._current_pool()
        lease = pool.acquire()
        try:
            return action(lease.connection)
        finally:
            pool.release(lease)

    def escape(self, value: Any, encoders: Any = None) -> Any:
        """Quote a value as the driver would (the schema editor's quote_value uses this)."""
        if encoders is None:
            return self._with_connection(lambda conn: conn.escape(value, conn.encoders))
        return self._with_connection(lambda conn: conn.escape(value, encoders))

    def literal(self, value: Any) -> Any:
        """The driver's SQL literal for value."""
        return self._with_connection(lambda conn: conn.literal(value))

    def string_literal(self, value: Any) -> Any:
        """The driver's quoted string literal for value."""
        return self._with_connection(lambda conn: conn.string_literal(value))

    @property
    def encoders(self) -> Any:
        """The driver's encoder map (identical on every pooled connection)."""
        return self._with_connection(lambda conn: conn.encoders)

    def __getattr__(self, name: str) -> Any:
        # Anything else on the raw connection may change or read session state: give the
        # caller a connection of its own until close(), and discard it afterwards.
        if name.startswith("__"):
            raise AttributeError(name)
        lease = self._pin("raw connection attribute %r" % name)
        return getattr(lease.connection, name)
