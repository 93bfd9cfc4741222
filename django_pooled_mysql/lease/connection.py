"""The DB-API connection object Django holds: it owns no socket, only leases.

Outside a transaction each statement leases a physical connection and gives it back before
returning. Turning autocommit off starts a *transaction lease*: the first statement pins a
connection, which stays pinned until autocommit is turned back on. A statement that leaves state
on the server session (sql/), or direct use of the raw connection, starts a *session
lease* that lasts until close(); that connection is then reset (closed and replaced) rather than
returned, because nobody else may see its state. ``hold()``/``unhold()`` pin explicitly.

A pinned lease whose owner is gone (its thread or greenlet ended, or this object was
garbage-collected, without close()) is recovered by the pool (pool/pinned.py, ownership.py);
the next use of this object, if any, finds the lease ended and treats it as a lost connection.
"""

from __future__ import annotations

import io
import logging
import weakref
from collections.abc import Callable
from typing import Any

import MySQLdb

from ..driver import cooperative
from ..driver.errors import error_code, is_disconnect, never_reached_server
from ..driver.execute import (
    INFO,
    LASTROWID,
    PENDING_ERROR,
    WARNINGS,
    StatementResult,
    is_driver_error,
    run_on,
)
from ..driver.wire import PING, STATEMENT
from ..exceptions import CommitInDoubt, ConnectionLostInTransaction
from ..pool import ConnectionPool, Lease, Watchers
from ..sql import NO_EFFECT, Verdict, classify, remembered_verdicts
from ..sql.assignments import CHARSET, assignments
from . import raw
from .cursor import PooledCursor, StreamingCursor, is_unbuffered
from .ownership import Owner
from .previous import (
    DIAGNOSTICS_READERS,
    INSERT_ID_READERS,
    PROBE_INSERT_ID,
    RESTORE_SESSION,
    InsertIdTracker,
    answer_from_capture,
    get_diagnostics_from_capture,
    keeps_diagnostics,
    restore_column_names,
    row_count,
    substitute,
)
from .variables import (
    EMPTY,
    State,
    answered_call,
    as_item,
    bring_to,
    call_key,
    merged,
    missing_baselines,
    read_baselines,
    remember_call,
)

# callproc(): a procedure may do anything a CALL statement may.
_CALL = classify("CALL procedure()")
_verdict_of = remembered_verdicts.get
# What captures a statement's diagnostics before its connection goes back (_checkin_capturing()).
_SHOW_WARNINGS = "SHOW WARNINGS"
# Why a connection is pinned when the server's session-state tracker flagged a statement.
_TRACKED = "session state changed by the statement (server's session tracker)"
_NOTHING: Any = object()

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
        # Made at the first pin, for every pin of this object (pool.pinned.watchers_for()).
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
        # The session variables this Django connection set (variables.py): every connection
        # it leases is brought to them first.
        self._vars: State = EMPTY
        # The last replayable SET could not be read back from the text the driver sent.
        self._set_unread = False
        # The assignments the last replayable SET made, as recorded (_run_set()).
        self._set_items: Any = ()
        # This Django connection's own LAST_INSERT_ID() (previous.py).
        self._insert_id = InsertIdTracker()
        # The diagnostics (SHOW WARNINGS rows) of a statement that had warnings or failed on a
        # statement lease, read before its connection went back: (the result they belong to,
        # whether the statement failed, rows). See _captured().
        self._diagnostics: tuple[Any, bool, Any] | None = None
        # The lease that ran the previous statement, with nothing run on it since (None: it ran
        # on a statement lease, or something else ran there after it).
        self._previous_session: Lease | None = None
        # The result after which a statement failed (_last then is the one before the failure):
        # compared with _last, so that success needs no bookkeeping.
        self._failed_after: Any = _NOTHING
        self._last_select: StatementResult | None = None
        # (record, tracker answer) read before a LAST_INSERT_ID() probe replaced the status.
        self._probed: tuple[Any, bool] | None = None
        # Something of this backend ran on the session after the statement (a probe).
        self._session_touched = False
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
        self.select_lastrowid: Any = 0 if mysqlclient else None
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

    def _pin(
        self, reason: str | None = None, why: str = "pinned()", statement: Any = None
    ) -> Lease:
        if self.closed:
            raise MySQLdb.InterfaceError(0, "The connection is closed.")
        lease = self._pinned_lease()
        if lease is None:
            pool = self._current_pool()
            record, connection = pool.checkout()
            if connection.session_vars is not self._vars:
                record, connection = self._bring(pool, record, connection)
            lease = self._lease = pool.pinned.adopt(
                record, connection, self._watchers_for(pool), reason or why, statement
            )
        else:
            lease.note_reason(reason or why, statement)
        if reason is not None and self._session_pin is None:
            self._session_pin = reason
            lease.pool.count("session_pins")
            logger.debug("pool %s: pin for session state (%s)", lease.pool.name, reason)
        return lease

    def _begin(self, statement: Any = None) -> Lease:
        """Pin a connection for the open transaction and turn its autocommit off."""
        if self._lease is not None:
            self._pinned_lease()  # notices a pinned lease lost meanwhile (fork, recovery)
        if self._lost is not None:
            raise ConnectionLostInTransaction(
                "The connection of this transaction was lost (%s); roll back before using it "
                "again." % self._lost
            )
        lease = self._pin(why="transaction", statement=statement)
        if not self._begun:
            self._on_pinned(lease, lambda conn: conn.autocommit(False))
            self._begun = True
        return lease

    def _on_pinned(self, lease: Lease, action: Callable[[Any], Any], busy: str = STATEMENT) -> Any:
        """action(connection) on the pinned connection. A driver error ends the command; any
        other exception (an interruption) may stop it half-way: the connection is marked in
        flight (busy, wire.py) and the lease dropped, so that it is never read again."""
        connection = lease.connection
        try:
            return action(connection)
        except BaseException as exc:
            if not (isinstance(exc, Exception) and is_driver_error(exc)):
                connection.in_flight = busy
                self._drop_pinned(exc)
            elif is_disconnect(exc):
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

    def hold(self, why: str = "pinned()", statement: Any = None) -> None:
        """Pin a connection until the matching unhold() (nestable)."""
        self._pin(why=why, statement=statement)
        self._holds += 1

    def unhold(self) -> None:
        """End one hold(); the connection goes back unless something else still pins it."""
        if self._holds > 0:
            self._holds -= 1
        self._unpin_if_unneeded()

    # -- statements ----------------------------------------------------------------------------

    def note_session_effect(self, query: Any) -> None:
        """Pin for session state if query leaves some (for statements run outside run_statement)."""
        reason = classify(query).leaves
        if reason is not None:
            self._pin(reason, statement=query)

    def run_statement(
        self, method: str, query: Any, args: Any, cursorclass: Any = None
    ) -> StatementResult:
        """Run one statement on the pinned connection, or on a connection leased for it.

        This is the per-statement hot path: a statement whose text does nothing to the session
        (session_state.py remembers the verdict per text) runs here on a statement lease; the
        rest goes through _run_special(). Keep it flat: each call layer is measurable.
        """
        if self.closed:
            raise MySQLdb.InterfaceError(0, "The connection is closed.")
        # classify()'s remembered verdict, looked up inline (one call less per statement).
        if method == "callproc":
            verdict = _CALL
        else:
            verdict = (type(query) is str and _verdict_of(query)) or classify(query)
        if verdict is not NO_EFFECT or self._lease is not None or self._in_transaction:
            return self._run_special(verdict, method, query, args, cursorclass)
        pool = self._pool
        if pool.closed:
            pool = self._current_pool()
        record, connection = pool.checkout()
        if connection.session_vars is not self._vars:
            record, connection = self._bring(pool, record, connection)
        try:
            result = run_on(connection, method, query, args, cursorclass, True)
        except BaseException as exc:
            result = self._statement_failed(pool, record, exc, method, query, args, cursorclass)
        else:
            if result[PENDING_ERROR] is None and not result[WARNINGS]:
                pool.checkin(record)
            else:
                self._checkin_capturing(pool, record, connection, result, False)
        # What the next statement or a raw status call (affected_rows(), ...) may ask about.
        if self._diagnostics is not None:
            self._carry_diagnostics(query, result)
        self._last = result
        if result[LASTROWID] is not None:
            self._note_insert_id(result)
        else:
            self._last_select = result
        return result

    def _run_special(
        self, verdict: Verdict, method: str, query: Any, args: Any, cursorclass: Any
    ) -> StatementResult:
        """A statement on a pinned connection, or one that leaves session state, reads the
        previous statement's, or may change the session where its text does not show it."""
        if verdict.leaves is not None and not (
            method == "execute"
            and cursorclass is None
            and (
                verdict.replays is not None
                or (
                    verdict.tracked is not None and self._lease is None and not self._in_transaction
                )
            )
        ):
            lease: Lease | None = self._pin_for_session(verdict.leaves, query)
        elif self._lease is not None or self._in_transaction:
            lease = self._lease
            if lease is not None and (lease.connection is None or lease.pool.inherited):
                lease = self._pinned_lease()  # lost meanwhile (recovered, or fork)
            if self._in_transaction and not self._begun:
                # Also when a session lease is already pinned: its autocommit is still on.
                lease = self._begin(query)
        else:
            lease = None
        if lease is None:
            if verdict.replays is not None and method == "execute" and cursorclass is None:
                return self._set_on_lease(verdict, query, args)
            if verdict.tracked is not None and method == "execute" and cursorclass is None:
                return self._set_tracked(verdict, query, args)
            return self._run_leased(verdict, method, query, args, cursorclass)
        same_session = self._previous_session is lease
        try:
            # _on_pinned(), inline: this runs for every statement of a transaction.
            result: StatementResult = self._run_on(
                lease.connection,
                lease.record,
                verdict,
                method,
                query,
                args,
                cursorclass,
                same_session,
            )
        except BaseException as exc:
            connection = lease.connection
            if is_disconnect(exc) or (connection is not None and connection.in_flight is not None):
                self._drop_pinned(exc)
            self._failed_after = self._last
            # The error's diagnostics are on the pinned session, if it is still pinned.
            self._previous_session = self._lease
            self._diagnostics = None
            raise
        pending = result[PENDING_ERROR]
        if pending is not None and is_disconnect(pending):
            self._drop_pinned(pending)
        elif self._set_unread:
            self._set_unread = False
            self._pin(verdict.leaves)
        elif (
            verdict.hidden_effects
            and self._session_pin is None
            and self._changed_session(lease.record, verdict)
        ):
            self._pin(_TRACKED, statement=query)
        self._after(result, query)
        if not self._in_transaction:  # (inside one, nothing unpins)
            self._unpin_if_unneeded()
        return result

    def _run_leased(
        self, verdict: Verdict, method: str, query: Any, args: Any, cursorclass: Any
    ) -> StatementResult:
        # _run_special() on a statement lease.
        pool = self._current_pool()
        record, connection = pool.checkout()
        if connection.session_vars is not self._vars:
            record, connection = self._bring(pool, record, connection)
        try:
            result = self._run_on(
                connection, record, verdict, method, query, args, cursorclass, False
            )
        except BaseException as exc:
            result = self._statement_failed(
                pool, record, exc, method, query, args, cursorclass, verdict
            )
        else:
            if self._set_unread:
                # A SET whose sent text could not be read back: pinned, as before replaying.
                self._set_unread = False
                self._adopt(pool, record, connection, verdict.leaves or "SET")
                self._pin(verdict.leaves)
            elif self._changed_session(record, verdict):
                # The server reports state the text did not show (a trigger or stored function
                # set a user variable, ...): the connection stays with this Django connection.
                self._adopt(pool, record, connection, _TRACKED, query)
                self._pin(_TRACKED)
            elif result[PENDING_ERROR] is None and not result[WARNINGS]:
                pool.checkin(record)
            else:
                self._checkin_capturing(pool, record, connection, result, False)
        self._after(result, query)
        return result

    def _run_on(
        self,
        connection: Any,
        record: Any,
        verdict: Verdict,
        method: str,
        query: Any,
        args: Any,
        cursorclass: Any,
        same_session: bool,
    ) -> StatementResult:
        """Run one statement on a physical connection, serving what it reads of the previous
        statement's state from this Django connection's own (previous.py)."""
        if verdict.replays is not None and method == "execute":
            return self._run_set(connection, record, verdict.replays, query, args, cursorclass)
        values: dict[str, int] | None = None
        captured = None
        reads = verdict.reads_previous
        if reads:
            if reads & INSERT_ID_READERS or (reads & DIAGNOSTICS_READERS and not same_session):
                # This connection's own LAST_INSERT_ID(), and an empty diagnostics area: the
                # previous statement's, if it had any, were captured (_checkin_capturing()).
                run_on(connection, "execute", RESTORE_SESSION, [self._insert_id.value])
                same_session = False
                if reads & DIAGNOSTICS_READERS:
                    captured = self._captured()
                    if captured is not None and "GET DIAGNOSTICS" in reads:
                        rewritten = get_diagnostics_from_capture(
                            query, captured, row_count(self._last, self._failed_after is self._last)
                        )
                        if rewritten is not None:
                            query, args, captured = rewritten, None, None
            if not same_session and verdict.reader_spans and type(query) is str:
                values = self._previous_values()
                original, query = query, substitute(query, verdict.reader_spans, values)
        result = run_on(connection, method, query, args, cursorclass)
        if values:
            result = _with_description(result, verdict, original, values)
        if captured is not None:
            result = answer_from_capture(captured, query, result)
        if verdict.inserts and self._insert_id.after(verdict, query, args, result):
            # Read before the session's status is replaced by the probe's.
            changed = self._changed_session(record, verdict)
            probe = run_on(connection, "execute", PROBE_INSERT_ID, None)
            reported = result[LASTROWID]
            if reported is None and result[0][0][1]:
                first = result[0][0][1][0]
                reported = first[0] if isinstance(first, tuple) else None
            self._insert_id.record_probe(probe[0][0][1][0][0], reported)
            self._probed = (record, changed)
            # The probe's own ROW_COUNT() and FOUND_ROWS() are on the session now.
            self._session_touched = True
        return result

    def _changed_session(self, record: Any, verdict: Verdict) -> bool:
        """Whether the server flagged the last statement as changing the session (the
        session-state tracker, native.py): only asked for statements that may do so unseen."""
        if not verdict.hidden_effects:
            return False
        probed = self._probed
        if probed is not None:
            self._probed = None
            if probed[0] is record:
                return bool(probed[1])
        native = record.info.get("native")
        return native is not None and native.state_changed()

    def _run_set(
        self,
        connection: Any,
        record: Any,
        keys: tuple[str, ...],
        query: Any,
        args: Any,
        cursorclass: Any,
    ) -> StatementResult:
        """Run a replayable SET (variables.py) on connection and record its values there and
        for this Django connection: as the server's tracker reported them where it can be read
        (the server's own value wins over the text's: 'ansi' is REAL_AS_FLOAT,...,ANSI), else
        as the text gives them."""
        baselines = self._pool.session_baselines
        missing = missing_baselines(keys, connection.session_vars, baselines)
        if missing:
            read_baselines(connection, missing, baselines)
        result = run_on(connection, "execute", query, args, cursorclass)
        sent = result[2]
        try:
            text = sent.decode(connection.encoding) if isinstance(sent, bytes) else sent
            found = assignments(text) if isinstance(text, str) else None
        except (LookupError, UnicodeDecodeError):
            found = None
        if found is None:
            self._set_unread = True
            return result
        native = record.info.get("native")
        reported = native.tracked_variables() if native is not None else None
        if reported:
            found = tuple(
                (key, item)
                if key == CHARSET or key not in reported
                else as_item(key, reported[key])
                for key, item in found
            )
        self._set_items = found
        self._vars = merged(self._vars, found, baselines)
        connection.session_vars = merged(connection.session_vars, found, baselines)
        return result

    def _set_tracked(self, verdict: Verdict, query: Any, args: Any) -> StatementResult:
        """A SET of session variables to expressions on a statement lease: the values are those
        the server's tracker reports after it, replayed as any others (mysqlclient); where the
        tracker cannot be read (PyMySQL) or does not report one of them, the connection is
        pinned, as before replaying."""
        pool = self._current_pool()
        record, connection = pool.checkout()
        if connection.session_vars is not self._vars:
            record, connection = self._bring(pool, record, connection)
        keys = verdict.tracked or ()
        baselines = pool.session_baselines
        try:
            missing = missing_baselines(keys, connection.session_vars, baselines)
            if missing:
                read_baselines(connection, missing, baselines)
            result = run_on(connection, "execute", query, args, None)
        except BaseException as exc:
            result = self._statement_failed(
                pool, record, exc, "execute", query, args, None, verdict
            )
            self._after(result, query)
            return result
        native = record.info.get("native")
        reported = native.tracked_variables() if native is not None else None
        if (
            reported is None
            or result[PENDING_ERROR] is not None
            or any(key not in reported for key in keys)
        ):
            self._adopt(pool, record, connection, verdict.leaves or "SET", query)
            self._pin(verdict.leaves, statement=query)
        else:
            found = tuple(as_item(key, reported[key]) for key in keys)
            connection.session_vars = merged(connection.session_vars, found, baselines)
            self._vars = merged(self._vars, found, baselines)
            if result[WARNINGS]:
                self._checkin_capturing(pool, record, connection, result, False)
            else:
                pool.checkin(record)
        self._after(result, query)
        return result

    def _set_on_lease(self, verdict: Verdict, query: Any, args: Any) -> StatementResult:
        """A replayable SET on a statement lease: its values become this Django connection's.
        Like ProxySQL, which answers such a SET itself, a call answered before (same text,
        plain parameters, no warnings) is answered as the server answered it, without a
        connection: the next statement's lease brings its connection to the values."""
        pool = self._current_pool()
        key = call_key(pool.name, query, args)
        known = answered_call(key)
        if known is not None and all(name in pool.session_baselines for name, _ in known[0]):
            # The same SET answered before: nothing to run now. The next statement's lease
            # brings its connection to the values (or fails, if they cannot be set any more).
            # A pool that has not read their baselines yet (a new one after fork() or
            # close_pool()) runs the SET below, which reads them.
            found, answered = known
            self._vars = merged(self._vars, found, pool.session_baselines)
            result = tuple(list(answered))  # a result of its own: cursor.py tells them apart
            self._after(result, query)
            return result
        # On the leased connection as it is: its other values are no matter (_run_set() records
        # the SET on both states), the next statement's lease brings what it gets.
        record, connection = pool.checkout()
        try:
            result = self._run_set(connection, record, verdict.replays or (), query, args, None)
        except BaseException as exc:
            result = self._statement_failed(
                pool, record, exc, "execute", query, args, None, verdict
            )
            self._after(result, query)
            return result
        if self._set_unread:
            self._set_unread = False
            self._adopt(pool, record, connection, verdict.leaves or "SET", query)
            self._pin(verdict.leaves, statement=query)
        elif result[PENDING_ERROR] is None and not result[WARNINGS]:
            remember_call(key, self._set_items, result)
            pool.checkin(record)
        else:
            self._checkin_capturing(pool, record, connection, result, False)
        self._after(result, query)
        return result

    def _bring(self, pool: ConnectionPool, record: Any, connection: Any) -> tuple[Any, Any]:
        """Give a connection just checked out this Django connection's session variables
        (variables.py): an idle one that already has them if there is one, else one SET. A
        failed SET fails the statement and retires the connection; one that has a value whose
        baseline cannot be written back is replaced by another."""
        wanted = self._vars
        swap = pool.checkout_matching(
            lambda idle: getattr(idle.dbapi_connection, "session_vars", None) is wanted
        )
        if swap is not None:
            pool.checkin(record)
            record, connection = swap
            if connection.session_vars is wanted:
                return record, connection
        while True:
            try:
                replayed = bring_to(connection, self._vars, pool.session_baselines)
                if replayed is not None:
                    if replayed:
                        pool.count("variable_replays")
                    return record, connection
            except BaseException as exc:
                pool.invalidate(record, exc)
                raise
            # Ends: each turn retires one such connection, and a new one has none of them.
            pool.invalidate(record, None)
            record, connection = pool.checkout()

    def _previous_values(self) -> dict[str, int]:
        last = self._last
        failed = self._failed_after is last
        select = self._last_select
        return {
            "ROW_COUNT()": row_count(last, failed),
            "FOUND_ROWS()": len(select[0][-1][1]) if select is not None else 0,
            "@@WARNING_COUNT": int(last[WARNINGS]) if last is not None and not failed else 0,
            "@@ERROR_COUNT": 1 if failed else 0,
        }

    def _after(self, result: StatementResult, query: Any) -> None:
        # What the next statement or a raw status call (affected_rows(), ...) may ask about.
        if self._diagnostics is not None:
            self._carry_diagnostics(query, result)
        self._last = result
        self._previous_session = None if self._session_touched else self._lease
        self._session_touched = False
        if result[LASTROWID] is not None:
            self._note_insert_id(result)
        else:
            self._last_select = result

    def _note_insert_id(self, result: StatementResult) -> None:
        lastrowid = result[LASTROWID]
        if lastrowid is not None and result[0][0][0] is None:
            # An OK packet's insert id (a statement with a result set has none of its own).
            self._ok_insert_id = lastrowid
            if self.select_lastrowid is not None:
                self.select_lastrowid = lastrowid

    def _pin_for_session(self, reason: str, statement: Any) -> Lease:
        """Pin (or keep) a connection for a statement that leaves session state."""
        fresh = self._pinned_lease() is None
        if self._in_transaction:
            lease = self._begin(statement)
        else:
            lease = self._pin(why=reason, statement=statement)
        if fresh:
            # A session reused from the pool: give it this Django connection's own
            # LAST_INSERT_ID() and an empty diagnostics area before the state is made.
            own = self._insert_id.value
            self._on_pinned(lease, lambda conn: run_on(conn, "execute", RESTORE_SESSION, [own]))
        self._pin(reason, statement=statement)
        return lease

    def _adopt(
        self, pool: ConnectionPool, record: Any, connection: Any, reason: str, statement: Any = None
    ) -> Lease:
        # A statement lease's connection becomes this Django connection's pinned lease.
        lease = self._lease = pool.pinned.adopt(
            record, connection, self._watchers_for(pool), reason, statement
        )
        return lease

    def _watchers_for(self, pool: ConnectionPool) -> Watchers:
        # Made at the first pin, for every pin of this object (pool.pinned.watchers_for()).
        watchers = self._watchers
        if watchers is None or self._watched_pool is not pool:
            owner = self._owner() if self._owner is not None else None
            watchers = self._watchers = pool.pinned.watchers_for(self, owner)
            self._watched_pool = pool
        return watchers

    def _checkin_capturing(
        self, pool: ConnectionPool, record: Any, connection: Any, key: Any, failed: bool
    ) -> None:
        """Check in a statement lease's connection after a statement that had warnings or
        failed, reading its diagnostics first (SHOW WARNINGS, one round trip), so that the next
        statement's readers answer as on one session while nobody holds this one idle."""
        pending = key[PENDING_ERROR] if not failed else None
        if pending is not None and is_disconnect(pending):
            pool.invalidate(record, pending)
            return
        try:
            shown = run_on(connection, "execute", _SHOW_WARNINGS, None)
        except BaseException as exc:
            # Lost with the connection: the readers find no diagnostics.
            pool.invalidate(record, exc)
            if not isinstance(exc, Exception):
                raise
            logger.debug("pool %s: diagnostics not read (%s)", pool.name, exc)
            return
        self._diagnostics = (key, failed, shown[0][0][1])
        pool.checkin(record)

    def _captured(self) -> Any:
        """The captured diagnostics, if they are the previous statement's."""
        captured = self._diagnostics
        if captured is None or captured[0] is not self._last:
            return None
        return captured[2] if captured[1] == (self._failed_after is self._last) else None

    def _carry_diagnostics(self, query: Any, result: StatementResult) -> None:
        # Before result becomes _last: captured diagnostics stay the next statement's only if
        # the server would leave them in place after query (previous.py), or they are its own.
        captured = self._diagnostics
        assert captured is not None
        if captured[0] is result:
            return
        if (
            not result[WARNINGS]
            and result[PENDING_ERROR] is None
            and self._captured() is not None
            and keeps_diagnostics(query)
        ):
            self._diagnostics = (result, False, captured[2])
        else:
            self._diagnostics = None

    def _statement_failed(
        self,
        pool: ConnectionPool,
        record: Any,
        exc: BaseException,
        method: str,
        query: Any,
        args: Any,
        cursorclass: Any,
        verdict: Verdict = NO_EFFECT,
    ) -> StatementResult:
        """A statement lease's statement raised: capture the error's diagnostics and check the
        connection in, or discard it, and retry once on a fresh connection if the statement
        cannot have reached the server."""
        self._failed_after = self._last
        self._previous_session = None
        self._diagnostics = None
        connection = record.dbapi_connection
        if not is_disconnect(exc) and connection.in_flight is None:
            # SHOW ERRORS, SHOW WARNINGS and @@error_count of the next statement read this.
            self._checkin_capturing(pool, record, connection, self._last, True)
            raise exc
        pool.invalidate(record, exc)
        if not never_reached_server(exc):
            raise exc
        logger.info(
            "pool %s: statement not sent (%s); retrying on a fresh connection", pool.name, exc
        )
        record, connection = pool.checkout()
        if connection.session_vars is not self._vars:
            record, connection = self._bring(pool, record, connection)
        try:
            if verdict is NO_EFFECT:
                result = run_on(connection, method, query, args, cursorclass)
            else:
                result = self._run_on(
                    connection, record, verdict, method, query, args, cursorclass, False
                )
        except BaseException as again:
            if is_disconnect(again):
                pool.invalidate(record, again)
                raise
            return self._statement_failed(
                pool, record, again, method, query, args, cursorclass, verdict
            )
        if self._set_unread or (verdict.leaves is not None and verdict.replays is None):
            # A SET that could not be read back, or state the retried statement left.
            self._set_unread = False
            self._adopt(pool, record, connection, verdict.leaves or "SET")
            self._pin(verdict.leaves)
        elif result[PENDING_ERROR] is None and not result[WARNINGS]:
            pool.checkin(record)
        else:
            self._checkin_capturing(pool, record, connection, result, False)
        return result

    # -- what the cursors use (cursor.py's Host) ----------------------------------------------

    def result_released(self, result: StatementResult | None) -> None:
        """A cursor was closed or read past its last result set (see _released)."""
        self._released = result

    def pinned_connection(self) -> Any:
        """The physical connection pinned to this Django connection now, or None."""
        lease = self._lease
        return None if lease is None else lease.connection

    def has_pin(self) -> bool:
        """Whether a connection is still pinned here (not lost to a recovery or a fork)."""
        return self._pinned_lease() is not None

    def run_pinned(self, action: Callable[[Any], Any], busy: str) -> Any:
        """action(connection) on the pinned connection (see _on_pinned())."""
        lease = self._pinned_lease()
        assert lease is not None, "run_pinned() without a pin"
        return self._on_pinned(lease, action, busy)

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

    def fileno(self) -> int:
        """The socket of the connection pinned now. Between statements this Django connection
        has no socket, and leasing one to answer would be worse than no answer: the callers that
        ask (Celery's Django fix-up, after a fork) close the descriptor, which would leave a
        pooled connection writing to a closed, possibly reused, descriptor. So it raises
        io.UnsupportedOperation (an OSError), as a file object without a descriptor does."""
        lease = self._pinned_lease()
        if lease is not None:
            return int(lease.connection.fileno())
        pool = self._current_pool()
        if pool.connection_attributes and "fileno" not in pool.connection_attributes:
            raise AttributeError(
                "%r object has no attribute 'fileno'" % pool.connection_class.__name__
            )
        raise io.UnsupportedOperation(
            "fileno(): this pooled connection holds no socket between statements (only inside "
            "a transaction or another pin)"
        )

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
        if lease is None:
            return
        try:
            self._on_pinned(lease, lambda conn: conn.commit())
        except Exception as exc:
            if is_disconnect(exc) and not never_reached_server(exc):
                # The driver's error code first, as the stock backend raises it (2013).
                raise CommitInDoubt(
                    error_code(exc) or 2013,
                    "The connection was lost while COMMIT was on its way (%s): the server may "
                    "or may not have committed the transaction. Check its effects before "
                    "running it again." % exc,
                ) from exc
            raise

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
            # On the hub for a cooperative connection, whose ping() would block it in C.
            self._on_pinned(lease, cooperative.ping, busy=PING)
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

    cursorclass = raw.DriverSetting(
        "Pass the class to connection.connection.cursor(cursorclass), or set 'cursorclass' "
        "in DATABASES[alias]['OPTIONS']."
    )
    converter = raw.DriverSetting("Pass 'conv' in DATABASES[alias]['OPTIONS'].")
    decoders = raw.DriverSetting("Pass 'conv' in DATABASES[alias]['OPTIONS'].")
    encoding = raw.DriverSetting(
        "Set 'charset' in DATABASES[alias]['OPTIONS'] (SET NAMES on one session pins it)."
    )
    errorhandler = raw.DriverSetting("Handle the errors where the statements are run.")

    def _status(self, name: str) -> Any:
        # The previous statement's status, as the driver would report it now.
        last = self._last
        if name == "insert_id":
            if self.select_lastrowid is not None or last is None:
                # mysqlclient: the insert id of the last statement that had one.
                return self._ok_insert_id
            return last[LASTROWID]  # PyMySQL: None after a result set
        if last is None:
            return None if name == "info" else 0
        if name == "affected_rows":
            released = last is self._released and self.select_lastrowid is not None
            return -1 if released else last[0][-1][2]
        return last[WARNINGS] if name == "warning_count" else last[INFO]

    def __getattr__(self, name: str) -> Any:
        # See raw.py for the three kinds of names.
        if name.startswith("__"):
            raise AttributeError(name)
        pool = self._current_pool()
        if pool.connection_attributes and name not in pool.connection_attributes:
            raise AttributeError(
                "%r object has no attribute %r" % (pool.connection_class.__name__, name)
            )
        if name in raw.STATEMENT_STATUS:
            return lambda: self._status(name)
        if name in raw.SAME_ON_EVERY_CONNECTION:
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


def _with_description(
    result: StatementResult, verdict: Verdict, original: str, values: dict[str, int]
) -> StatementResult:
    # The first result set named as the original text would have named its columns.
    sets = result[0]
    description, rows, count = sets[0]
    description = restore_column_names(description, verdict.reader_spans, original, values)
    return ([(description, rows, count), *sets[1:]], *result[1:])
