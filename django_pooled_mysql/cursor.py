"""The cursor Django gets: each execute runs on a leased connection, rows come from memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from .direct import can_execute_directly, execute_directly

if TYPE_CHECKING:
    from .connection import PooledConnection

# One result set: (description, rows, rowcount).
ResultSet = tuple[Any, Sequence[Any], int]

# Everything Django may ask of a cursor after execute(), read before the lease ended:
# (result sets, lastrowid, the executed query text, the driver method's return value).
# A plain tuple, as it is built once per statement on the hot path.
StatementResult = tuple[list[ResultSet], Any, Any, Any]
LASTROWID: Final = 1


def run_statement(connection: Any, method: str, query: Any, args: Any) -> StatementResult:
    """Run one execute/executemany/callproc on a driver cursor and detach its results.

    Every result set is read before returning, so that nothing of the statement is left on the
    connection when it goes back to the pool. On failure the driver cursor is closed, which
    makes the driver read and discard whatever the server still sends. A plain execute() on
    mysqlclient skips the cursor object (direct.py).
    """
    if method == "execute" and can_execute_directly(connection):
        return execute_directly(connection, query, args)
    return run_with_driver_cursor(connection, method, query, args)


def run_with_driver_cursor(connection: Any, method: str, query: Any, args: Any) -> StatementResult:
    """run_statement() through a driver cursor (any driver, any method)."""
    cursor = connection.cursor()
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
        lastrowid = cursor.lastrowid
        executed = cursor._executed
        while cursor.nextset():
            description = cursor.description
            rows = cursor.fetchall() if description is not None else ()
            sets.append((description, rows, cursor.rowcount))
    except BaseException:
        _close_quietly(cursor)
        raise
    # nextset() returned None: the driver has read the last result set, so the cursor has
    # nothing left to drain and is dropped without close() (which would only ask again).
    return sets, lastrowid, executed, return_value


def _close_quietly(cursor: Any) -> None:
    # The statement's own error is the one worth reporting; a broken connection may fail again
    # while the driver drains it.
    try:
        cursor.close()
    except BaseException:
        pass


class PooledCursor:
    """A DB-API cursor whose statements lease a connection and whose fetches never touch one."""

    # Class-level defaults: a cursor is made per Django cursor() call, so __init__ stays short.
    arraysize = 1
    description: Any = None
    rowcount = -1
    lastrowid: Any = None
    _executed: Any = None
    _rows: Sequence[Any] = ()
    _position = 0
    _more_sets: Sequence[ResultSet] = ()
    _closed = False

    def __init__(self, connection: PooledConnection) -> None:
        self.connection = connection

    # -- statements ---------------------------------------------------------------------------

    def execute(self, query: Any, args: Any = None) -> Any:
        """Run one statement; its rows are buffered on this cursor."""
        if self._closed:
            self._refuse_closed()
        return self._load(self.connection.run_statement("execute", query, args))

    def executemany(self, query: Any, args: Any) -> Any:
        """Run one statement for each parameter set (the driver batches INSERTs)."""
        if not args:
            # As the drivers do: nothing to run, so no connection is leased either.
            return None
        return self._load(self._run("executemany", query, args))

    def callproc(self, procname: str, args: Any = ()) -> Any:
        """Call a stored procedure; its result sets are available through nextset()."""
        return self._load(self._run("callproc", procname, args))

    def _run(self, method: str, query: Any, args: Any) -> StatementResult:
        if self._closed:
            self._refuse_closed()
        return self.connection.run_statement(method, query, args)

    @staticmethod
    def _refuse_closed() -> None:
        from MySQLdb import ProgrammingError

        raise ProgrammingError("Cursor is closed.")

    def _load(self, result: StatementResult) -> Any:
        sets, self.lastrowid, self._executed, return_value = result
        self.description, self._rows, self.rowcount = sets[0]
        self._position = 0
        self._more_sets = sets[1:] if len(sets) > 1 else ()
        return return_value

    # -- fetching from memory -----------------------------------------------------------------

    def nextset(self) -> bool | None:
        """Move to the next buffered result set; None when there is none."""
        sets = self._more_sets
        if not sets:
            return None
        self.description, self._rows, self.rowcount = sets[0]
        self._more_sets = sets[1:]
        self._position = 0
        return True

    def fetchone(self) -> Any:
        """The next row, or None."""
        position = self._position
        if position >= len(self._rows):
            return None
        self._position = position + 1
        return self._rows[position]

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """Up to size (default arraysize) next rows."""
        start = self._position
        end = start + (self.arraysize if size is None else size)
        self._position = min(end, len(self._rows))
        return self._rows[start:end]

    def fetchall(self) -> Sequence[Any]:
        """All remaining rows."""
        start = self._position
        self._position = len(self._rows)
        return self._rows[start:] if start else self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchone, None)

    def scroll(self, value: int, mode: str = "relative") -> None:
        """Move the row position, as the drivers' buffered cursors do."""
        position = value if mode == "absolute" else self._position + value
        if not 0 <= position <= len(self._rows):
            raise IndexError("out of range")
        self._position = position

    @property
    def rownumber(self) -> int:
        """Index of the next row fetchone() returns."""
        return self._position

    # -- DB-API odds and ends ---------------------------------------------------------------

    def close(self) -> None:
        """Drop the buffered rows; no connection is involved."""
        self._closed = True
        self._rows = ()
        self._more_sets = ()

    def setinputsizes(self, *args: Any) -> None:
        """Does nothing, as the DB-API allows."""

    def setoutputsizes(self, *args: Any) -> None:
        """Does nothing, as the DB-API allows."""

    def __enter__(self) -> PooledCursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
