"""Cooperative mysqlclient under gevent: wait for the server's answer on the hub, not inside C.

mysqlclient's ``query()`` sends a statement and blocks in C until the answer arrives, so under
gevent a whole worker waits for every statement, one at a time. mysqlclient also offers
``send_query()``, ``read_query_result()`` and ``fileno()``: send, wait for the socket to become
readable with gevent's ``wait_read`` (other greenlets run meanwhile), then read the answer, which
is already there. Results, errors and warnings are read by the same C code as before. Further
result sets (multi-statements, procedures) are read in gevent's native thread pool, see below.

Used only when the process is monkey-patched by gevent and the driver is mysqlclient; otherwise
nothing here is imported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from .native import more_results_check


def gevent_patched() -> bool:
    """True if gevent has monkey-patched this process (its sockets are cooperative)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


def _cooperative_class(base: type) -> type:
    from gevent.socket import wait_read

    read_next: Callable[[Any], int] = base.next_result  # type: ignore[attr-defined]

    class CooperativeConnection(base):
        """A mysqlclient connection whose round trips yield to other greenlets."""

        cooperative = True
        # The driver applies read_timeout inside its blocking reads; the wait for an answer
        # happens in query(), on the hub, so it applies it there too (same error as the
        # driver). Set by cooperative_connect(), which makes connections of this class.
        _read_timeout: float | None = None

        def query(self, query: Any) -> None:
            if isinstance(query, bytearray):
                query = bytes(query)
            self.send_query(query)
            # gevent.Timeout or a kill raised here leaves an answer unread on the socket; the
            # pool invalidates the connection for any BaseException, so nobody reads it later.
            wait_read(self.fileno(), self._read_timeout, _LostDuringQuery)
            self.read_query_result()

        # Set by cooperative_connect(): asks the client library, without reading, whether a
        # further result set is coming (native.py).
        _more_results: Callable[[], int] | None = None

        def next_result(self) -> int:
            # A further result set is often in the client library's buffer already, where the
            # socket cannot tell about it, so waiting for the socket could wait forever; it is
            # read in gevent's native thread pool instead. Most calls (the driver asks before
            # and after every statement) find none and answer -1 at once, without a read.
            more = self._more_results
            if more is None or not more():
                return read_next(self)
            return int(_off_the_hub(read_next, self))

        def commit(self) -> None:
            self.query(b"COMMIT")

        def rollback(self) -> None:
            self.query(b"ROLLBACK")

        def autocommit(self, on: bool) -> None:
            on = bool(on)
            if self.get_autocommit() != on:
                self.query(b"SET autocommit=1" if on else b"SET autocommit=0")

    return CooperativeConnection


def _off_the_hub(call: Callable[[Any], Any], connection: Any) -> Any:
    """call(connection) in gevent's native thread pool (mysqlclient releases the GIL while it
    reads), so the hub serves other greenlets meanwhile; the driver's read_timeout applies in
    the thread as in any blocking read. Returns or raises only once the thread is done with the
    connection: a greenlet interrupted while it waits (gevent.Timeout, kill) shuts the socket
    down, which ends the thread's read at once, and the pool then closes the lost connection,
    never while C code still reads it."""
    import gevent

    def task() -> tuple[Any, BaseException | None]:
        try:
            return call(connection), None
        except Exception as exc:  # returned: gevent's pool would print a raised one
            return None, exc

    # Asked now: while the thread has it, mysqlclient refuses any other call on the connection.
    fd = connection.fileno()
    running = gevent.get_hub().threadpool.spawn(task)
    interrupted: BaseException | None = None
    while True:
        try:
            value, error = running.get()
            break
        except BaseException as exc:
            if interrupted is None:
                interrupted = exc
                _shut_down(fd)
    if interrupted is not None:
        raise interrupted
    if error is not None:
        raise error
    return value


def _shut_down(fd: int) -> None:
    # shutdown() acts on the socket, not the descriptor: the driver's blocked read sees EOF.
    import os
    import socket

    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


class _LostDuringQuery(Exception):
    """Raised by wait_read() at read_timeout; turned into the driver's own error."""

    def __new__(cls, *args: Any) -> Any:  # gevent raises the class it was given
        from MySQLdb import OperationalError

        # What mysqlclient raises when read_timeout passes in a blocking read (measured).
        return OperationalError(2013, "Lost connection to server during query")


_classes: dict[type, type] = {}


def cooperative_connect(database: Any, params: dict[str, Any]) -> Any:
    """Open a mysqlclient connection whose queries wait on the gevent hub.

    The connect itself (TCP, handshake, authentication) runs in gevent's native thread pool, so
    the hub keeps serving other greenlets while it happens; mysqlclient releases the GIL there.
    It goes through the driver's ``connect()``, so that a tracer that wraps it (OpenTelemetry,
    ddtrace, ...) returns its proxy as with any other connection; the driver's connection
    behind the proxy then becomes cooperative (a subclass that adds only methods).
    """
    import gevent

    base = _connection_class(database)
    cls = _classes.get(base)
    if cls is None:
        cls = _classes[base] = _cooperative_class(base)

    def connect() -> tuple[Any, BaseException | None]:
        # Returned, not raised: gevent's thread pool prints a traceback for every exception
        # that leaves a task, and a refused connect (1040 under load) is routine here.
        try:
            return database.connect(**params), None
        except Exception as exc:
            return None, exc

    conn, error = gevent.get_hub().threadpool.apply(connect)
    if error is not None:
        raise error
    driver_connection = conn
    # A tracer's proxy (wrapt's ObjectProxy and its copies) keeps the connection here.
    while type(driver_connection) is not base and hasattr(driver_connection, "__wrapped__"):
        driver_connection = driver_connection.__wrapped__
    if type(driver_connection) is base:
        driver_connection.__class__ = cls
        read_timeout = params.get("read_timeout")
        driver_connection._read_timeout = float(read_timeout) if read_timeout else None
        driver_connection._more_results = more_results_check(driver_connection)
    return conn


def _connection_class(database: Any) -> Any:
    # MySQLdb imports its `connections` submodule only on first connect.
    try:
        return importlib.import_module(database.__name__ + ".connections").Connection
    except (ImportError, AttributeError):
        return None


def is_mysqlclient(database: Any) -> bool:
    """True for mysqlclient (PyMySQL installed as MySQLdb is cooperative already)."""
    return hasattr(_connection_class(database), "send_query")


def ping(connection: Any) -> None:
    """A round trip on connection that waits on the hub for a cooperative connection (whose
    ping() would block the hub in C), with the driver's ping() otherwise."""
    if getattr(connection, "cooperative", False):
        connection.query(b"DO 0")
    else:
        connection.ping()
