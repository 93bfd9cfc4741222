"""Run one statement on a physical connection and detach every result from it.

A statement lease reads everything Django may still ask of a statement (rows, ``description``,
``rowcount``, ``lastrowid``, further result sets, the warning count) into memory before the
connection goes back to the pool, so that nothing of the statement is left on the connection.
That is what the drivers' buffered cursors do; for a plain ``execute()`` on mysqlclient this
module does it on the connection's C API directly (see execute_directly()), and everything else
goes through a driver cursor (run_with_driver_cursor()), as does every statement on a connection
that a tracer instruments (check_connection()).

mysqlclient's C API is ``MySQLdb._mysql``, which mysqlclient's user guide documents as its
interface to the MySQL C API: ``query()``, ``store_result()``, ``describe()``, ``fetch_row()``,
``affected_rows()``, ``insert_id()``, ``next_result()`` and ``discard_result()`` (the calls its own
cursor uses). Calling them directly saves the cursor object and its Python layers: about 5 us of
the ~10 us of client CPU per ORM statement this ENGINE added (docs/dev/performance.md). The steps
and their order are those of ``MySQLdb.cursors.Cursor.execute()`` (2.x): the query text is
encoded and the parameters quoted with ``connection.literal()``, a formatting error is a
``ProgrammingError``; the row count and insert id are read right after each result is stored.
tests/integration/test_direct.py holds both paths to identical results and errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from .wire import STATEMENT

# One result set: (description, rows, rowcount).
ResultSet = tuple[Any, Sequence[Any], int]

# Everything Django may ask of a cursor after execute(), read before the lease ended:
# (result sets, lastrowid, the executed query text, the driver method's return value, the
# warning count and info string of the last statement, the error of a later statement of a
# multi-statement text that nextset() raises, as the driver does). lastrowid is None when the
# first result is a result set (it has no insert id of its own). A plain tuple, as it is built
# once per statement on the hot path.
StatementResult = tuple[list[ResultSet], Any, Any, Any, int, Any, "BaseException | None"]
LASTROWID: Final = 1
WARNINGS: Final = 4
INFO: Final = 5
PENDING_ERROR: Final = 6


def run_on(
    connection: Any,
    method: str,
    query: Any,
    args: Any,
    cursorclass: Any = None,
    from_pool: bool = False,
) -> StatementResult:
    """Run one execute/executemany/callproc on a physical connection and detach its results.

    Every result set is read before returning, so that nothing of the statement is left on the
    connection when it goes back to the pool. On failure the driver cursor is closed, which
    makes the driver read and discard whatever the server still sends. A plain execute() on
    mysqlclient skips the cursor object (execute_directly()), unless the connection is
    instrumented (check_connection()). from_pool: the connection was just checked out of the
    pool, which holds only connections with every result read.
    """
    if method == "execute" and cursorclass is None:
        # can_execute_directly(), inline: this runs once per statement.
        direct = _direct_cursorclass.get(type(connection), _UNSEEN)
        if direct is _UNSEEN:
            direct = check_connection(connection)
        if direct is not None and connection.cursorclass is direct:
            return execute_directly(connection, query, args, from_pool)
    return run_with_driver_cursor(connection, method, query, args, cursorclass)


def run_with_driver_cursor(
    connection: Any, method: str, query: Any, args: Any, cursorclass: Any = None
) -> StatementResult:
    """run_statement() through a driver cursor (any driver, any method, any cursor class)."""
    cursor = connection.cursor() if cursorclass is None else connection.cursor(cursorclass)
    pending = None
    try:
        if method == "execute":
            return_value = cursor.execute(query, args)
        else:
            return_value = getattr(cursor, method)(query, args)
        description = cursor.description
        # A statement without a result set has no rows to fetch; an executemany() over an empty
        # iterator never executed at all, and fetchall() would raise there.
        rows = cursor.fetchall() if description is not None else ()
        sets = [(description, rows, cursor.rowcount)]
        lastrowid = cursor.lastrowid if description is None else None
        executed = cursor._executed
        try:
            while cursor.nextset():
                description = cursor.description
                rows = cursor.fetchall() if description is not None else ()
                sets.append((description, rows, cursor.rowcount))
        except Exception as exc:
            # A later statement of a multi-statement text failed: the driver raises it from
            # nextset(), after the earlier results; so does PooledCursor.nextset().
            pending = exc
        if pending is not None and not (is_driver_error(pending) and _closed_quietly(cursor)):
            raise pending  # the rest could not be read: the connection stays in flight
        warnings, info = statement_status(connection)
    except BaseException as exc:
        # A driver error ends the command (the driver read the error packet, or gave the
        # connection up); the cursor's close() reads what may follow. Anything else (an
        # interruption, a converter's TypeError, ...) may have stopped the read half-way: the
        # connection is marked in flight, and the pool never reads it again (wire.py).
        if not (exc is not pending and is_driver_error(exc) and _closed_quietly(cursor)):
            connection.in_flight = STATEMENT
        raise
    # nextset() returned None: the driver has read the last result set, so the cursor has
    # nothing left to drain and is dropped without close() (which would only ask again).
    return sets, lastrowid, executed, return_value, warnings, info, pending


def _closed_quietly(cursor: Any) -> bool:
    # The statement's own error is the one worth reporting; a broken connection may fail again
    # while the driver drains it. True if the drain completed. Only an Exception is caught:
    # an interruption while draining propagates, with the connection still in flight.
    try:
        cursor.close()
    except Exception:
        return False
    return True


_driver_error: Any = None


def is_driver_error(exc: BaseException) -> bool:
    """Whether exc was raised by the driver for a command it finished (an error packet read, a
    format error before sending, or the connection given up), not by an interruption or by
    other code in the middle of reading an answer."""
    global _driver_error
    if _driver_error is None:
        # Imported late: PyMySQL may be installed as MySQLdb after this module is imported.
        import MySQLdb

        _driver_error = MySQLdb.Error
    return isinstance(exc, _driver_error)


# Per connection class: the driver cursor class whose plain execute()s may skip the cursor
# object (mysqlclient's default ``Cursor``), or None where every statement must go through the
# driver's cursor. Decided by check_connection() when a class is first seen and again at every
# connect, so the per-statement test is one dict lookup and an identity check.
_direct_cursorclass: dict[type, Any] = {}
# Where the functions of an uninstrumented mysqlclient (and this package's cooperative
# connection, gevent_support.py) are defined.
_OWN_PACKAGES = frozenset({"MySQLdb", "django_pooled_mysql"})


_UNSEEN = object()


def can_execute_directly(connection: Any) -> bool:
    """Whether connection is a plain mysqlclient connection using the default cursor class."""
    try:
        cursorclass = _direct_cursorclass[type(connection)]
    except KeyError:
        cursorclass = check_connection(connection)
    return cursorclass is not None and connection.cursorclass is cursorclass


def check_connection(connection: Any, database: Any = None) -> Any:
    """Decide, for the class of a (new) physical connection, whether statements may skip the
    driver's cursor; returns the cursor class that may, or None.

    The direct path calls mysqlclient's C API, which no tracer sees: OpenTelemetry's mysqlclient
    and DB-API instrumentors, Datadog's ddtrace, New Relic and Elastic APM wrap
    ``MySQLdb.connect()`` and trace the cursors of the proxy it returns (docs/tracing.md). So
    a connection that is a proxy (its type is not mysqlclient's), or whose ``connect()``,
    connection or cursor methods are wrapped or replaced, goes through the driver cursor for
    every statement, as the stock backend does. Called at every connect (connect.py), where
    it costs nothing that matters; a class seen before is answered from _direct_cursorclass.
    """
    cls = type(connection)
    cursorclass = None
    try:
        # Fails when PyMySQL is installed as MySQLdb: it has no _mysql module.
        import MySQLdb
        from MySQLdb import _mysql
        from MySQLdb.cursors import BaseCursor, Cursor
    except ImportError:
        pass
    else:
        if database is None:
            database = MySQLdb
        if issubclass(cls, _mysql.connection) and not any(
            _instrumented(function)
            for function in (
                getattr(database, "connect", None),
                getattr(cls, "query", None),
                getattr(cls, "cursor", None),
                getattr(Cursor, "execute", None),
                getattr(Cursor, "_query", None),
                getattr(BaseCursor, "execute", None),
            )
        ):
            cursorclass = Cursor
    _direct_cursorclass[cls] = cursorclass
    return cursorclass


def _instrumented(function: Any) -> bool:
    # wrapt's FunctionWrapper (OpenTelemetry, ddtrace, New Relic and Elastic APM use wrapt or a
    # copy of it) and functools.wraps set __wrapped__; a plain replacement is defined in a
    # module that is not the driver's.
    if function is None or hasattr(function, "__wrapped__"):
        return function is not None
    module = getattr(function, "__module__", None)
    # C methods (mysqlclient's _mysql.connection.query) have no module of their own.
    return module is not None and module.partition(".")[0] not in _OWN_PACKAGES


def execute_directly(
    connection: Any, query: Any, args: Any, from_pool: bool = False
) -> tuple[Any, ...]:
    """Run one statement; return a StatementResult (cursor.py) with the executed bytes."""
    if isinstance(query, str):
        query = query.encode(connection.encoding)
    if args is not None:
        if isinstance(args, dict):
            encoding = connection.encoding
            args = {
                (key.encode(encoding) if isinstance(key, str) else key): connection.literal(item)
                for key, item in args.items()
            }
        else:
            args = tuple(map(connection.literal, args))
        try:
            query = query % args
        except TypeError as exc:
            from MySQLdb import ProgrammingError

            raise ProgrammingError(str(exc)) from exc
    pending = None
    try:
        # As the driver's cursor does before each execute(): results that code with a raw
        # cursor on a pinned connection left unread are read and dropped (no round trip when
        # there are none). A connection from the pool has none.
        if not from_pool:
            while connection.next_result() == 0:
                connection.discard_result()
        connection.query(query)
        # _read_result(), inline for the first result (every statement has one).
        stored = connection.store_result()
        if stored is None:
            first = None, (), connection.affected_rows()
        else:
            description = stored.describe()
            rowcount = connection.affected_rows()
            first = description, stored.fetch_row(0), rowcount
        # A result set has no insert id of its own: the driver would report the connection's
        # previous one, which here may be another user's.
        lastrowid = connection.insert_id() if first[0] is None else None
        sets = [first]
        try:
            while connection.next_result() == 0:
                sets.append(_read_result(connection))
        except Exception as exc:
            # A later statement failed: the driver's cursor returns the earlier results and
            # raises this from nextset(); PooledCursor.nextset() does the same.
            pending = exc
        if pending is not None and not _discarded_quietly(connection):
            raise pending  # the rest could not be read: the connection stays in flight
        warnings = connection.warning_count()
        # Only statements without a result set have an info string (mysql_info()).
        info = connection.info() if sets[-1][0] is None else None
    except BaseException as exc:
        # The client library refuses next_result() while a result is half-read ("Commands out
        # of sync"), so a drain that completes proves the connection idle, whatever the
        # Exception was: a driver error, or a converter's error on rows already stored. An
        # interruption (not an Exception) marks it in flight (wire.py).
        if not (
            isinstance(exc, Exception) and exc is not pending and _discarded_quietly(connection)
        ):
            connection.in_flight = STATEMENT
        raise
    return sets, lastrowid, query, first[2], warnings, info, pending


def statement_status(connection: Any) -> tuple[int, Any]:
    """(warning count, info string) of the statement that just ran on connection."""
    warning_count = getattr(connection, "warning_count", None)
    if warning_count is not None:  # mysqlclient
        return warning_count(), connection.info()
    result = getattr(connection, "_result", None)  # PyMySQL keeps its last result here
    if result is None:
        return 0, None
    return result.warning_count or 0, result.message or None


def _read_result(connection: Any) -> tuple[Any, Any, int]:
    result = connection.store_result()
    if result is None:
        return None, (), connection.affected_rows()
    description = result.describe()
    rowcount = connection.affected_rows()
    return description, result.fetch_row(0), rowcount


def _discarded_quietly(connection: Any) -> bool:
    # As the driver's cursor does on close(): read and drop what the server may still send.
    # The statement's own error is the one worth reporting. True if the drain completed.
    try:
        while connection.next_result() == 0:
            connection.discard_result()
    except Exception:
        return False
    return True
