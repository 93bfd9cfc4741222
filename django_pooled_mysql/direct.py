"""execute() on a mysqlclient connection without a driver cursor: the hot path of a statement lease.

A statement lease reads every result of a statement into memory before the connection goes back
to the pool, which is exactly what mysqlclient's default (buffered) cursor does on top of the
connection's C API: ``query()``, ``store_result()``, ``describe()``, ``fetch_row()``,
``affected_rows()``, ``insert_id()``, ``next_result()``. That API is ``MySQLdb._mysql``, which
mysqlclient's user guide documents as its interface to the MySQL C API (``next_result()`` and
``discard_result()`` are the calls its own cursor uses for further result sets). Calling it
directly saves the cursor object and its Python layers: about 5 us of the ~10 us of client CPU
per ORM statement this ENGINE added (measured, docs/performance.md).

The steps and their order are those of ``MySQLdb.cursors.Cursor.execute()`` (2.x): the query
text is encoded and the parameters quoted with ``connection.literal()``, a formatting error is a
``ProgrammingError``; the row count and insert id are read right after each result is stored.
tests/integration/test_direct.py holds both paths to identical results and errors. Used only
for mysqlclient connections that use the default cursor class; PyMySQL, executemany() and
callproc() go through the driver's cursor.
"""

from __future__ import annotations

from typing import Any

# (the C connection type, the default cursor class), or () where mysqlclient is not MySQLdb.
_mysqlclient: tuple[Any, ...] | None = None


def _mysqlclient_types() -> tuple[Any, ...]:
    global _mysqlclient
    if _mysqlclient is None:
        try:
            # Fails when PyMySQL is installed as MySQLdb: it has no _mysql module.
            from MySQLdb import _mysql
            from MySQLdb.cursors import Cursor
        except ImportError:
            _mysqlclient = ()
        else:
            _mysqlclient = (_mysql.connection, Cursor)
    return _mysqlclient


def can_execute_directly(connection: Any) -> bool:
    """Whether connection is a mysqlclient connection using the default cursor class."""
    types = _mysqlclient or _mysqlclient_types()
    return bool(types) and isinstance(connection, types[0]) and connection.cursorclass is types[1]


def execute_directly(connection: Any, query: Any, args: Any) -> tuple[Any, ...]:
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
    try:
        # As the driver's cursor does before each execute(): results that code with a raw
        # cursor on a pinned connection left unread are read and dropped (no round trip when
        # there are none).
        while connection.next_result() == 0:
            connection.discard_result()
        connection.query(query)
        first = _read_result(connection)
        # A result set has no insert id of its own: the driver would report the connection's
        # previous one, which here may be another user's.
        lastrowid = connection.insert_id() if first[0] is None else None
        sets = [first]
        pending = None
        try:
            while connection.next_result() == 0:
                sets.append(_read_result(connection))
        except Exception as exc:
            # A later statement failed: the driver's cursor returns the earlier results and
            # raises this from nextset(); PooledCursor.nextset() does the same.
            pending = exc
            _discard_quietly(connection)
        warnings = connection.warning_count()
        info = connection.info()
    except BaseException:
        _discard_quietly(connection)
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


def _discard_quietly(connection: Any) -> None:
    # As the driver's cursor does on close(): read and drop what the server may still send.
    # The statement's own error is the one worth reporting.
    try:
        while connection.next_result() == 0:
            connection.discard_result()
    except BaseException:
        pass
