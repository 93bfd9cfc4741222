"""The cursor Django gets: each execute runs on a leased connection, rows come from memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from ..driver.execute import ResultSet, StatementResult
from ..driver.wire import STREAM


class Host(Protocol):
    """What the cursors use of the Django connection's PooledConnection (connection.py)."""

    closed: bool
    # cursor.lastrowid after a result set, as the driver reports it.
    select_lastrowid: Any

    def run_statement(
        self, method: str, query: Any, args: Any, cursorclass: Any = None
    ) -> StatementResult: ...
    def result_released(self, result: StatementResult | None) -> None: ...
    def note_session_effect(self, query: Any) -> None: ...
    def hold(self, why: str = ..., statement: Any = ...) -> None: ...
    def unhold(self) -> None: ...
    def pinned_connection(self) -> Any: ...
    def has_pin(self) -> bool: ...
    def run_pinned(self, action: Callable[[Any], Any], busy: str) -> Any: ...


# Base classes of the drivers' server-side cursors: mysqlclient's mix-in, PyMySQL's SSCursor.
_STREAMING_BASES = frozenset({"CursorUseResultMixIn", "SSCursor"})


def is_unbuffered(cursorclass: Any) -> bool:
    """Whether a driver cursor class streams rows from the server (SSCursor and subclasses)."""
    # By name: with PyMySQL installed as MySQLdb, `MySQLdb.cursors` may be a second copy of
    # pymysql.cursors with classes of its own, so identity checks against one copy can miss.
    return isinstance(cursorclass, type) and any(
        base.__name__ in _STREAMING_BASES for base in cursorclass.__mro__
    )


class PooledCursor:
    """A DB-API cursor whose statements lease a connection and whose fetches never touch one."""

    # Class-level defaults: a cursor is made per Django cursor() call, so __init__ stays short.
    arraysize = 1
    description: Any = None
    rowcount = -1
    lastrowid: Any = None
    warning_count = 0
    _executed: Any = None
    _rows: Sequence[Any] = ()
    _position = 0
    _more_sets: Sequence[ResultSet] = ()
    _pending: BaseException | None = None
    _result: StatementResult | None = None
    _closed = False

    def __init__(self, connection: Host, cursorclass: Any = None) -> None:
        self.connection = connection
        # A driver cursor class whose rows (dicts, ...) this cursor serves; None: the default.
        self._cursorclass = cursorclass

    # -- statements ---------------------------------------------------------------------------

    def execute(self, query: Any, args: Any = None) -> Any:
        """Run one statement; its rows are buffered on this cursor."""
        if self._closed:
            self._refuse_closed()
        return self._load(self.connection.run_statement("execute", query, args, self._cursorclass))

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
        return self.connection.run_statement(method, query, args, self._cursorclass)

    @staticmethod
    def _refuse_closed() -> None:
        from MySQLdb import ProgrammingError

        raise ProgrammingError("Cursor is closed.")

    def _load(self, result: StatementResult) -> Any:
        self._result = result
        sets, lastrowid, self._executed, return_value, self.warning_count, _, self._pending = result
        self.description, self._rows, self.rowcount = sets[0]
        # After a result set the driver reports the connection's previous insert id (or None).
        self.lastrowid = lastrowid if lastrowid is not None else self.connection.select_lastrowid
        self._position = 0
        self._more_sets = sets[1:] if len(sets) > 1 else ()
        return return_value

    # -- fetching from memory -----------------------------------------------------------------

    def nextset(self) -> bool | None:
        """Move to the next buffered result set; None when there is none."""
        sets = self._more_sets
        if not sets:
            pending = self._pending
            if pending is not None:
                self._pending = None
                self._rows = ()
                raise pending
            self.connection.result_released(self._result)
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
        # For the driver's affected_rows() after a close (see PooledConnection._released).
        self.connection.result_released(self._result)

    def setinputsizes(self, *args: Any) -> None:
        """Does nothing, as the DB-API allows."""

    def setoutputsizes(self, *args: Any) -> None:
        """Does nothing, as the DB-API allows."""

    def __enter__(self) -> PooledCursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class StreamingCursor:
    """A server-side driver cursor (``SSCursor`` and the like) on a pinned connection.

    Rows stream from the server as they are fetched, so the connection cannot go back to the pool
    before the last row (of the last result set) is read or the cursor is closed: until then it
    is pinned to the Django connection, and a statement run meanwhile on the same Django
    connection meets the unread rows, as with the driver ("Commands out of sync").
    """

    arraysize = 1
    _driver: Any = None

    def __init__(self, connection: Host, cursorclass: Any) -> None:
        self.connection = connection
        self._cursorclass = cursorclass

    def execute(self, query: Any, args: Any = None) -> Any:
        """Start streaming one statement's rows."""
        self._finish()
        pooled = self.connection
        if pooled.closed:
            from MySQLdb import InterfaceError

            raise InterfaceError(0, "The connection is closed.")
        pooled.note_session_effect(query)
        pooled.hold("server-side cursor", query)
        try:
            connection = pooled.pinned_connection()
            assert connection is not None
            self._driver = connection.cursor(self._cursorclass)
            self._driver.arraysize = self.arraysize
            result = self._call("execute", query, args)
        except BaseException:
            self._finish()
            raise
        # The rows still to come are the connection's protocol state until the stream ends.
        connection.in_flight = STREAM
        if self._driver is not None and self._driver.description is None:
            self._end_if_done()
        return result

    def _call(self, name: str, *args: Any) -> Any:
        driver = self._driver
        if driver is None:
            return None
        pooled = self.connection
        if not pooled.has_pin():
            self._driver = None
            from MySQLdb import InterfaceError

            raise InterfaceError(0, "The connection of this server-side cursor is gone.")
        return pooled.run_pinned(lambda conn: getattr(driver, name)(*args), STREAM)

    def _end_if_done(self) -> None:
        # The stream is over when the current result set is read and no other one follows.
        conn = self.connection.pinned_connection()
        if conn is None or not _more_results(conn):
            self._finish()

    def _finish(self) -> None:
        driver, self._driver = self._driver, None
        if driver is None:
            return
        pooled = self.connection
        try:
            connection = pooled.pinned_connection()
            if connection is not None and connection.in_flight in _OWN:
                # The driver reads and drops the rest of the stream (a connection given up
                # meanwhile is never read again: its lease is gone).
                pooled.run_pinned(lambda conn: driver.close(), STREAM)
                connection.in_flight = None
        finally:
            pooled.unhold()

    def fetchone(self) -> Any:
        """The next row from the server, or None."""
        row = self._call("fetchone")
        if row is None:
            self._end_if_done()
        return row

    def fetchmany(self, size: int | None = None) -> Any:
        """Up to size (default arraysize) next rows."""
        rows = self._call("fetchmany", self.arraysize if size is None else size)
        if not rows:
            self._end_if_done()
        return rows if rows is not None else ()

    def fetchall(self) -> Any:
        """All remaining rows of the current result set."""
        rows = self._call("fetchall")
        self._end_if_done()
        return rows if rows is not None else ()

    def nextset(self) -> Any:
        """Move to the next result set; None (and the connection goes back) when there is none."""
        more = self._call("nextset")
        if not more:
            self._finish()
        return more

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchone, None)

    def close(self) -> None:
        """Read and drop what is left of the stream; the pin ends."""
        self._finish()

    def __getattr__(self, name: str) -> Any:
        # description, rowcount, lastrowid, rownumber, ... of the driver cursor while it streams.
        driver = self.__dict__.get("_driver")
        if driver is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(driver, name)

    def setinputsizes(self, *args: Any) -> None:
        """Does nothing, as the DB-API allows."""

    def setoutputsizes(self, *args: Any) -> None:
        """Does nothing, as the DB-API allows."""

    def __enter__(self) -> StreamingCursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# A stream's connection is closed by its cursor when it is streaming or idle (the execute
# failed); any other state belongs to whoever set it.
_OWN = (STREAM, None)


def _more_results(conn: Any) -> bool:
    more = getattr(conn, "more_results", None)  # mysqlclient
    if more is not None:
        return bool(more())
    result = getattr(conn, "_result", None)  # PyMySQL keeps the streaming result here
    return bool(result is not None and result.has_next)
