"""The DB-API connection object Django holds: it owns no socket, only leases.

Outside a transaction each statement leases a physical connection and gives it back before
returning. Turning autocommit off starts a *transaction lease*: the first statement pins a
connection, which stays pinned until autocommit is turned back on. A statement that leaves state
on the server session (session.py), or direct use of the raw connection, starts a *session
lease* that lasts until close(); that connection is then reset (closed and replaced) rather than
returned, because nobody else may see its state. ``hold()``/``unhold()`` pin explicitly.

A pinned lease whose owner is gone (its thread or greenlet ended, or this object was
garbage-collected, without close()) is recovered by the pool (pool.py, ownership.py); the next
use of this object, if any, finds the lease ended and treats it as a lost connection.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

import MySQLdb

from . import raw_api
from .cursor import PooledCursor, StreamingCursor, is_unbuffered
from .disconnect import is_disconnect, never_reached_server
from .exceptions import ConnectionLostInTransaction
from .execute import INFO, LASTROWID, PENDING_ERROR, WARNINGS, StatementResult, run_on
from .ownership import Owner
from .pool import ConnectionPool, Lease, Watchers
from .session import session_effect

# Read on a freshly pinned connection, these would see the previous user's values. LAST_INSERT_ID
# is restored from this Django connection's own last insert (as ProxySQL does); the others are
# cleared first, so they read 0 / -1 rather than someone else's numbers.
_CLEAR_STATEMENT_STATE = "SELECT 1 FROM DUAL WHERE 0"
_RESTORE_LAST_INSERT_ID = "SELECT LAST_INSERT_ID(%s)"

logger = logging.getLogger("django_pooled_mysql")


class PooledConnection:
    """Looks like a MySQLdb connection to Django; leases real ones from a ConnectionPool."""

    def __init__(
        self,
        get_pool: Callable[[], ConnectionPool],
        owner: weakref.ref[Owner] | None = None,
        is_shared: Callable[[], bool] | None = None,
    ) -> None:
        self._get_pool = get_pool
        self._pool = get_pool()
        # The token of the thread (greenlet) whose Django connection this is: when it goes, a
        # lease still pinned here is recovered by the pool.
        self._owner = owner
        self._is_shared = is_shared
        # Made at the first pin, for every pin of this object (pool.watchers_for()).
        self._watchers: Watchers | None = None
        self._watched_pool: ConnectionPool | None = None
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
        # The previous statement's result (its status answers affected_rows(), insert_id(), ...)
        # and the insert id of the previous statement that had one (an OK packet).
        self._last: StatementResult | None = None
        # The result whose cursor was closed or read past its last result set: mysqlclient's
        # cursor then asks the server for a further result, which resets the connection's
        # affected-row count to -1; affected_rows() reports the same.
        self._released: StatementResult | None = None
        self._ok_insert_id = 0
        # cursor.lastrowid after a result set: mysqlclient reports the connection's previous
        # insert id (here: this Django connection's), PyMySQL None.
        mysqlclient = "send_query" in self._pool.connection_attributes
        self._select_lastrowid: Any = 0 if mysqlclient else None
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

    @property
    def shared(self) -> bool:
        """Whether the Django connection is shared between threads (inc_thread_sharing())."""
        return self._is_shared is not None and self._is_shared()

    def _pinned_lease(self) -> Lease | None:
        lease = self._lease
        if lease is None or (lease.connection is not None and not lease.pool.inherited):
            return lease
        if lease.connection is None:
            # Recovered by the pool: the owning thread ended (or was taken for ended) while
            # this object lived on. Its connection was closed; a transaction on it is lost.
            why = "The pool recovered this connection after the thread that owned it ended."
        else:
            # Pinned before fork(): the socket is the parent's. Forget it without touching it.
            lease.checkin()
            why = "The transaction was open across fork(); its connection belongs to the parent."
        self._lease = None
        self._begun = False
        self._session_pin = None
        self._holds = 0
        if self._in_transaction:
            self._lost = ConnectionLostInTransaction(why)
        return None

    def _pin(self, reason: str | None = None, why: str = "pinned()") -> Lease:
        if self.closed:
            raise MySQLdb.InterfaceError(0, "The connection is closed.")
        lease = self._pinned_lease()
        if lease is None:
            pool = self._current_pool()
            watchers = self._watchers
            if watchers is None or self._watched_pool is not pool:
                owner = self._owner() if self._owner is not None else None
                watchers = self._watchers = pool.watchers_for(self, owner)
                self._watched_pool = pool
            lease = self._lease = pool.pin(watchers, reason or why)
        if reason is not None and self._session_pin is None:
            self._session_pin = reason
            lease.reason = reason
            lease.pool.count_session_pin()
            logger.debug("pool %s: pin for session state (%s)", lease.pool.name, reason)
        return lease

    def _begin(self) -> Lease:
        """Pin a connection for the open transaction and turn its autocommit off."""
        if self._lease is not None:
            self._pinned_lease()  # notices a pinned lease lost meanwhile (fork, recovery)
        if self._lost is not None:
            raise ConnectionLostInTransaction(
                "The connection of this transaction was lost (%s); roll back before using it "
                "again." % self._lost
            )
        lease = self._pin(why="transaction")
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
            lease.invalidate(exc)

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
            lease.reset(session_pin or "unfinished transaction")
        else:
            lease.checkin()

    def _unpin_if_unneeded(self) -> None:
        if (
            self._lease is not None
            and not self._in_transaction
            and self._session_pin is None
            and self._holds == 0
        ):
            self._unpin()

    def hold(self, why: str = "pinned()") -> None:
        """Pin a connection until the matching unhold() (nestable)."""
        self._pin(why=why)
        self._holds += 1

    def unhold(self) -> None:
        """End one hold(); the connection goes back unless something else still pins it."""
        if self._holds > 0:
            self._holds -= 1
        self._unpin_if_unneeded()

    def _run_with_session_state(
        self, reason: str, method: str, query: Any, args: Any, cursorclass: Any
    ) -> StatementResult:
        fresh = self._pinned_lease() is None
        lease = self._begin() if self._in_transaction else self._pin(why=reason)
        if fresh:
            if reason == "LAST_INSERT_ID()":
                restore: Any = (_RESTORE_LAST_INSERT_ID, [self._last_insert_id])
            else:
                restore = (_CLEAR_STATEMENT_STATE, None)
            sql, sql_args = restore
            self._on_pinned(lease, lambda conn: run_on(conn, "execute", sql, sql_args))
        self._pin(reason)
        return self._run_on_lease(lease, method, query, args, cursorclass)

    def note_session_effect(self, query: Any) -> None:
        """Pin for session state if query leaves some (for statements run outside run_statement)."""
        reason = session_effect(query)
        if reason is not None:
            self._pin(reason)

    def run_statement(
        self, method: str, query: Any, args: Any, cursorclass: Any = None
    ) -> StatementResult:
        """Run one statement on the pinned connection, or on a connection leased for it.

        This is the per-statement hot path: keep it flat (each call layer is measurable).
        """
        if self.closed:
            raise MySQLdb.InterfaceError(0, "The connection is closed.")
        if method != "executemany" or isinstance(query, (str, bytes)):
            reason = session_effect(query if method != "callproc" else "CALL")
            if reason is not None:
                return self._run_with_session_state(reason, method, query, args, cursorclass)
        if self._lease is not None or self._in_transaction:
            return self._run_pinned(method, query, args, cursorclass)
        pool = self._pool
        if pool.closed:
            pool = self._current_pool()
        record, connection = pool.checkout()
        try:
            result = run_on(connection, method, query, args, cursorclass)
        except BaseException as exc:
            result = self._statement_failed(pool, record, exc, method, query, args, cursorclass)
        else:
            if result[PENDING_ERROR] is None:
                pool.checkin(record)
            else:
                self._later_result_failed(pool, record, result[PENDING_ERROR])
        # What the next statement or a raw status call (affected_rows(), ...) may ask about.
        self._last = result
        if result[LASTROWID] is not None:
            self._note_insert_id(result)
        return result

    def _note_insert_id(self, result: StatementResult) -> None:
        lastrowid = result[LASTROWID]
        if lastrowid is not None and result[0][0][0] is None:
            # An OK packet's insert id (a statement with a result set has none of its own).
            self._ok_insert_id = lastrowid
            if self._select_lastrowid is not None:
                self._select_lastrowid = lastrowid
            if lastrowid:
                self._last_insert_id = lastrowid

    @staticmethod
    def _later_result_failed(pool: ConnectionPool, record: Any, exc: BaseException) -> None:
        # The statements before it ran and their results are returned; the error is raised by
        # nextset(), as the driver does. A broken connection must not go back.
        if is_disconnect(exc):
            pool.invalidate(record, exc)
        else:
            pool.checkin(record)

    def _run_pinned(
        self, method: str, query: Any, args: Any, cursorclass: Any = None
    ) -> StatementResult:
        lease = self._pinned_lease()
        if self._in_transaction and not self._begun:
            # Also when a session lease is already pinned: its autocommit is still on.
            lease = self._begin()
        if lease is None:
            # The pinned lease ended under us (inherited across fork(), or recovered).
            return self.run_statement(method, query, args, cursorclass)
        return self._run_on_lease(lease, method, query, args, cursorclass)

    def _run_on_lease(
        self, lease: Lease, method: str, query: Any, args: Any, cursorclass: Any
    ) -> StatementResult:
        result: StatementResult = self._on_pinned(
            lease, lambda conn: run_on(conn, method, query, args, cursorclass)
        )
        pending = result[PENDING_ERROR]
        if pending is not None and is_disconnect(pending):
            self._drop_pinned(pending)
        self._last = result
        if result[LASTROWID] is not None:
            self._note_insert_id(result)
        return result

    def _statement_failed(
        self,
        pool: ConnectionPool,
        record: Any,
        exc: BaseException,
        method: str,
        query: Any,
        args: Any,
        cursorclass: Any,
    ) -> StatementResult:
        """A statement lease's statement raised: give the connection back or discard it, and
        retry once on a fresh connection if the statement cannot have reached the server."""
        if not is_disconnect(exc):
            pool.checkin(record)
            raise exc
        pool.invalidate(record, exc)
        if not never_reached_server(exc):
            raise exc
        logger.info(
            "pool %s: statement not sent (%s); retrying on a fresh connection", pool.name, exc
        )
        record, connection = pool.checkout()
        try:
            result = run_on(connection, method, query, args, cursorclass)
        except BaseException as again:
            if is_disconnect(again):
                pool.invalidate(record, again)
            else:
                pool.checkin(record)
            raise
        if result[PENDING_ERROR] is None:
            pool.checkin(record)
        else:
            self._later_result_failed(pool, record, result[PENDING_ERROR])
        return result

    # -- the DB-API connection interface Django uses --------------------------------------

    def cursor(self, cursorclass: Any = None) -> Any:
        """A cursor whose statements lease connections from the pool.

        With a driver cursor class (``MySQLdb.cursors.DictCursor``, ...), rows come as that
        class makes them; a server-side class (``SSCursor``, ``SSDictCursor``) streams rows on a
        connection pinned until the rows are read or the cursor is closed. As with the driver,
        a cursor can be made on a closed connection; its statements fail.
        """
        if cursorclass is None:
            return PooledCursor(self)
        if is_unbuffered(cursorclass):
            return StreamingCursor(self, cursorclass)
        return PooledCursor(self, cursorclass)

    def get_autocommit(self) -> bool:
        """Autocommit as Django set it: off from atomic()/set_autocommit(False) until it is on
        again, even before the first statement pins a connection (as with the driver)."""
        if self._in_transaction:
            return False
        lease = self._pinned_lease()
        if lease is not None:
            return bool(lease.connection.get_autocommit())
        return True

    def show_warnings(self) -> Any:
        """The previous statement's warnings (``SHOW WARNINGS``), as the driver returns them."""
        cursor = self.cursor()
        cursor.execute("SHOW WARNINGS")
        return cursor.fetchall()

    def __enter__(self) -> PooledConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
        lease = self._pinned_lease()
        if self._lost is not None:
            raise ConnectionLostInTransaction(
                "Cannot commit: the connection of this transaction was lost (%s); nothing of "
                "the transaction was committed." % self._lost
            )
        if lease is not None:
            self._on_pinned(lease, lambda conn: conn.commit())

    def rollback(self) -> None:
        """Roll back the pinned transaction; a lost one was already rolled back by the server."""
        lease = self._pinned_lease()
        if self._lost is not None:
            self._lost = None
            return
        if lease is not None:
            self._on_pinned(lease, lambda conn: conn.rollback())

    def ping(self, *args: Any) -> bool:
        """Check the pinned connection, or that the pool can hand out a healthy one."""
        lease = self._pinned_lease()
        if lease is not None:
            self._on_pinned(lease, lambda conn: conn.ping())
            return True
        self._current_pool().touch()
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
        record, connection = pool.checkout()
        try:
            return action(connection)
        finally:
            pool.checkin(record)

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

    @encoders.setter
    def encoders(self, value: Any) -> None:
        raise AttributeError(
            "Setting connection.connection.encoders is not supported with a pooled connection; "
            "pass 'conv' in DATABASES[alias]['OPTIONS'] instead."
        )

    cursorclass = raw_api.DriverSetting(
        "Pass the class to connection.connection.cursor(cursorclass), or set 'cursorclass' "
        "in DATABASES[alias]['OPTIONS']."
    )
    converter = raw_api.DriverSetting("Pass 'conv' in DATABASES[alias]['OPTIONS'].")
    decoders = raw_api.DriverSetting("Pass 'conv' in DATABASES[alias]['OPTIONS'].")
    encoding = raw_api.DriverSetting(
        "Set 'charset' in DATABASES[alias]['OPTIONS'] (SET NAMES on one session pins it)."
    )
    errorhandler = raw_api.DriverSetting("Handle the errors where the statements are run.")

    def _status(self, name: str) -> Any:
        # The previous statement's status, as the driver would report it now.
        last = self._last
        if name == "insert_id":
            if self._select_lastrowid is not None or last is None:
                # mysqlclient: the insert id of the last statement that had one.
                return self._ok_insert_id
            return last[LASTROWID]  # PyMySQL: None after a result set
        if last is None:
            return None if name == "info" else 0
        if name == "affected_rows":
            released = last is self._released and self._select_lastrowid is not None
            return -1 if released else last[0][-1][2]
        return last[WARNINGS] if name == "warning_count" else last[INFO]

    def __getattr__(self, name: str) -> Any:
        # See raw_api.py for the three kinds of names.
        if name.startswith("__"):
            raise AttributeError(name)
        pool = self._current_pool()
        if pool.connection_attributes and name not in pool.connection_attributes:
            raise AttributeError(
                "%r object has no attribute %r" % (pool.connection_class.__name__, name)
            )
        if name in raw_api.STATEMENT_STATUS:
            return lambda: self._status(name)
        if name in raw_api.SAME_ON_EVERY_CONNECTION:
            value = self._with_connection(lambda conn: getattr(conn, name))
            if not callable(value) or isinstance(value, type):
                return value
            # Called on a connection leased for the call: a method bound to this one would
            # outlive its short lease.
            return lambda *args, **kwargs: self._with_connection(
                lambda conn: getattr(conn, name)(*args, **kwargs)
            )
        # Anything else may change or read session state: give the caller a connection of its
        # own until close(), and reset it afterwards.
        lease = self._pin("raw connection attribute %r" % name)
        value = getattr(lease.connection, name)
        if not callable(value) or isinstance(value, type):
            return value
        return lambda *args, **kwargs: self._call_pinned(name, args, kwargs)

    def _call_pinned(self, name: str, args: Any, kwargs: Any) -> Any:
        # A raw method taken while pinned, called later: it must still find that pin.
        lease = self._pinned_lease()
        if lease is None or self._session_pin is None:
            raise MySQLdb.InterfaceError(0, "The connection is closed.")
        return self._on_pinned(lease, lambda conn: getattr(conn, name)(*args, **kwargs))
